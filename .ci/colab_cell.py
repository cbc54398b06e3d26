"""Stamp the install cell that opens every notebook, from ``repository.url`` in _config.yml.

    python .ci/colab_cell.py          # rewrite the first cell of every notebook under book/
    python .ci/colab_cell.py --check  # exit 1 if any notebook's first cell is out of date

A notebook opened in Colab (or any Jupyter without this repository installed) has no
``helpers``. The cell installs it from the book's repository when it is missing, and does
nothing where ``helpers`` is installed, as it is after the README's commands. Until
``repository.url`` is set there is nothing to install from, so the cell says how to get
``helpers`` instead. Run this script again after setting the URL (tests/test_book.py checks
that every notebook carries the cell for the configured URL).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MARKER = "# Install the book's helpers package if it is missing"

TEMPLATE = '''\
# Install the book's helpers package if it is missing (as in Colab); elsewhere this cell
# does nothing.
import importlib.util
import subprocess
import sys

BOOK_REPOSITORY = {url!r}  # repository.url in the book's _config.yml
if importlib.util.find_spec("helpers") is None:
    if not BOOK_REPOSITORY:
        raise ModuleNotFoundError(
            "This notebook needs the book's helpers package: in a copy of the book, run "
            "`pip install -r requirements.txt` as its README says, then restart the kernel.")
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet",
                           f"git+{{BOOK_REPOSITORY}}"])
    importlib.invalidate_caches()  # so the next cell's `import helpers` sees the new package'''


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return ((config.get("repository") or {}).get("url") or "").rstrip("/")


def cell_source(url: str | None = None) -> str:
    return TEMPLATE.format(url=repository_url() if url is None else url)


def notebooks() -> list[Path]:
    return sorted(p for p in (ROOT / "book").rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def first_code_cell(notebook: dict) -> dict | None:
    return next((c for c in notebook["cells"] if c["cell_type"] == "code"), None)


def stamp(path: Path, source: str) -> bool:
    """Put the install cell first in ``path``; return True if the file changed."""
    notebook = json.loads(path.read_text())
    cell = first_code_cell(notebook)
    if cell is not None and "".join(cell["source"]) == source:
        return False
    new = {"cell_type": "code", "execution_count": None, "id": "install-helpers", "outputs": [],
           "metadata": {"tags": ["remove-cell"]}, "source": source.splitlines(keepends=True)}
    if cell is not None and "".join(cell["source"]).startswith(MARKER):
        notebook["cells"][notebook["cells"].index(cell)] = new
    else:
        at = notebook["cells"].index(cell) if cell is not None else len(notebook["cells"])
        notebook["cells"].insert(at, new)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return True


def main(argv: list[str]) -> int:
    source = cell_source()
    if "--check" in argv:
        stale = [p for p in notebooks()
                 if "".join((first_code_cell(json.loads(p.read_text())) or {})
                            .get("source", [])) != source]
        for path in stale:
            print(f"{path.relative_to(ROOT)}: install cell missing or out of date")
        return 1 if stale else 0
    for path in notebooks():
        if stamp(path, source):
            print(f"stamped {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
