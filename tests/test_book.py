"""The book's structure: toc and files agree, notebooks are stored clean and assert claims."""

import json
import re
import runpy
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
colab_cell = SimpleNamespace(**runpy.run_path(str(ROOT / ".ci" / "colab_cell.py")))


def toc_files():
    def walk(entries):
        for entry in entries:
            if "file" in entry:
                yield entry["file"]
            yield from walk(entry.get("sections", []))
            yield from walk(entry.get("chapters", []))

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"], *walk(toc.get("parts", [])), *walk(toc.get("chapters", []))]


def resolve(entry):
    for suffix in (".md", ".ipynb"):
        if (ROOT / (entry + suffix)).exists():
            return ROOT / (entry + suffix)
    return None


def notebooks():
    return sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def stored(path):
    """The notebook as git stores it (CI's nbmake run writes outputs into the work tree)."""
    rel = path.relative_to(ROOT).as_posix()
    shown = subprocess.run(["git", "show", f":{rel}"], cwd=ROOT, capture_output=True, text=True)
    return json.loads(shown.stdout if shown.returncode == 0 else path.read_text())


def test_every_toc_entry_exists():
    missing = [e for e in toc_files() if resolve(e) is None]
    assert not missing, f"_toc.yml lists missing files: {missing}"


def test_every_notebook_and_page_is_in_the_toc():
    listed = {resolve(e) for e in toc_files()}
    pages = set(notebooks()) | {p for p in BOOK.rglob("*.md")}
    orphans = sorted(str(p.relative_to(ROOT)) for p in pages - listed)
    assert not orphans, f"not in _toc.yml: {orphans}"


def test_chapters_have_an_index():
    # book/reference holds reference pages (one of them a notebook), not a chapter.
    for chapter in {p.parent for p in notebooks()} - {BOOK / "reference"}:
        assert (chapter / "index.md").exists(), f"{chapter} has no index.md"


def test_stored_notebooks_have_no_outputs():
    dirty = [p.name for p in notebooks()
             if any(c.get("outputs") or c.get("execution_count")
                    for c in stored(p)["cells"] if c["cell_type"] == "code")]
    assert not dirty, f"strip outputs from: {dirty}"


def code_of(nb, skip_install_cell=False):
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    if skip_install_cell and cells and "".join(cells[0]["source"]).startswith(
            colab_cell.MARKER):
        cells = cells[1:]
    return "\n".join("".join(c["source"]) for c in cells)


def test_each_notebook_opens_with_the_install_cell_for_the_configured_repository():
    """The first code cell installs helpers where it is missing (Colab) and is a no-op here."""
    expected = colab_cell.cell_source()
    stale = [p.name for p in notebooks()
             if "".join(colab_cell.first_code_cell(stored(p))["source"]) != expected]
    assert not stale, f"run `python .ci/colab_cell.py` to stamp the install cell: {stale}"


def test_install_cell_is_a_no_op_here_and_installs_where_helpers_is_missing(monkeypatch):
    import importlib.util
    import subprocess as sp

    calls = []
    monkeypatch.setattr(sp, "check_call", lambda command: calls.append(command))
    exec(colab_cell.cell_source("https://github.com/owner/book"), {})
    assert not calls  # helpers is installed: nothing happens

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    exec(colab_cell.cell_source("https://github.com/owner/book"), {})
    assert calls and calls[0][-1] == "git+https://github.com/owner/book"
    with pytest.raises(ModuleNotFoundError, match="requirements.txt"):
        exec(colab_cell.cell_source(""), {})


def test_each_notebook_seeds_asserts_and_imports_helpers_first():
    for path in notebooks():
        nb = stored(path)
        code = code_of(nb, skip_install_cell=True)
        assert "helpers.seed(" in code, f"{path.name} never calls helpers.seed"
        assert re.search(r"^\s*assert ", code, re.M), f"{path.name} asserts nothing"
        first_import = re.search(r"^(import|from) (\w+)", code, re.M)
        assert first_import and first_import.group(2) == "helpers", \
            f"{path.name}: import helpers before keras (it quiets TensorFlow's logs)"
        assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", path.name


def test_notebook_titles_and_takeaways():
    for path in notebooks():
        cells = stored(path)["cells"]
        assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith(
            "# "), f"{path.name} must open with a '# title' markdown cell"
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        assert "## Takeaways" in text, f"{path.name} has no Takeaways section"


def test_each_chapter_notebook_says_which_backend_it_runs_on():
    """Backend-neutral, or why it needs TensorFlow, with a link to the backend page. The
    neutral ones are held to it on JAX by .ci/run-seeds."""
    for path in notebooks():
        if path.parent.name == "reference":
            continue
        title = "".join(stored(path)["cells"][0]["source"])
        said = [p for p in title.split("\n\n") if p.startswith("**Backend:**")]
        assert len(said) == 1, f"{path.name}: its title cell needs one '**Backend:**' paragraph"
        neutral = said[0].startswith("**Backend:** runs unchanged on TensorFlow and JAX")
        needs_tf = said[0].startswith(("**Backend:** needs TensorFlow. ",
                                       "**Backend:** measured on TensorFlow. "))
        assert neutral or needs_tf, f"{path.name}: {said[0][:80]}"
        assert neutral or "(../reference/backends.ipynb)" in said[0], \
            f"{path.name} needs TensorFlow: say why and link the backend page"


def test_no_deprecated_keras_idioms():
    for path in notebooks():
        code = code_of(stored(path))
        assert "input_shape=" not in code, f"{path.name}: use keras.Input(shape=...)"
        assert "from tensorflow import keras" not in code, path.name
        # A chapter module imported as `checks` hides the package helpers.checks.
        assert not re.search(r"import \w+ as checks\b", code), \
            f"{path.name}: import the chapter's checks under the chapter's name"
        assert "helpers.__main__" not in code, f"{path.name}: import the CLI from helpers.cli"


def test_glue_names_are_unique_across_the_book():
    seen = {}
    for path in notebooks():
        for name in re.findall(r"glue\(\s*[\"']([^\"']+)[\"']", code_of(stored(path))):
            assert name not in seen or seen[name] == path.name, \
                f"glue name {name!r} used in {seen.get(name)} and {path.name}"
            seen[name] = path.name


def test_glued_names_used_in_prose_exist():
    for path in notebooks():
        nb = stored(path)
        defined = set(re.findall(r"glue\(\s*[\"']([^\"']+)[\"']", code_of(nb)))
        prose = "\n".join("".join(c["source"]) for c in nb["cells"]
                          if c["cell_type"] == "markdown")
        used = set(re.findall(r"\{glue:\w+\}`([^`:]+)", prose))
        assert used <= defined, f"{path.name} uses unglued names {used - defined}"


def test_triage_links_resolve():
    text = (BOOK / "triage.md").read_text()
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert links, "triage.md links to nothing"
    for link in links:
        assert (BOOK / link).exists(), f"triage.md links to missing {link}"


def test_triage_covers_every_rule():
    from helpers.checks import RULES

    text = (BOOK / "triage.md").read_text()
    missing = [r for r in RULES if f"`{r}`" not in text]
    assert not missing, f"book/triage.md has no row for {missing}"


def test_github_workflow_runs_ci_and_publishes_pages():
    workflow = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    assert any(s.get("run") == "bash .ci/run" for s in steps)
    assert any(s.get("with", {}).get("path") == "_build/html" for s in steps)
    assert workflow["jobs"]["deploy"]["needs"] == "build"


def test_launch_buttons_only_with_a_real_repository():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = (config.get("repository") or {}).get("url", "")
    buttons = config.get("launch_buttons") or {}
    if not url:
        assert not buttons.get("colab_url") and not buttons.get("binderhub_url"), \
            "launch buttons need repository.url in _config.yml"
    else:
        assert url.startswith("https://github.com/") and "example" not in url
        assert buttons.get("colab_url") == "https://colab.research.google.com", \
            "with a repository configured, offer the Colab launch button"


def test_cross_page_glue_has_a_format():
    """`{glue:text}`path::key`` without `:format` is read as key "path:" with format "key"
    (myst-nb splits at the last colon), a build warning; integers take `:d`."""
    for page in BOOK.rglob("*.md"):
        bare = re.findall(r"\{glue:\w+\}`[^`]*::[^`:]+`", page.read_text())
        assert not bare, f"{page.name}: add a format (e.g. :d) to {bare}"


def test_pages_glue_only_numbers_their_notebooks_define():
    """Cross-page glue (`{glue:text}`path.ipynb::key``) must name an existing notebook and key."""
    for page in BOOK.rglob("*.md"):
        for path, key in re.findall(r"\{glue:\w+\}`([^`:]+\.ipynb)::([^`:]+)", page.read_text()):
            # Sphinx reads a leading "/" as the book's root, otherwise relative to the page.
            notebook = (ROOT / path.lstrip("/")) if path.startswith("/") else page.parent / path
            assert notebook.exists(), f"{page.name} glues from missing {path}"
            defined = set(re.findall(r"glue\(\s*[\"']([^\"']+)[\"']", code_of(stored(notebook))))
            assert key in defined, f"{page.name}: {path} defines no glue {key!r}"
