import inspect
import json
import re
from pathlib import Path

import pytest

from helpers import checks
from helpers.checks import CHECKS, INPUTS, RULES
from helpers.report import CHAPTERS, SEVERITIES

ROOT = Path(__file__).resolve().parents[1]


def test_every_rule_is_well_formed_and_documented():
    assert RULES, "no rules registered"
    for rule in RULES.values():
        assert re.fullmatch(r"[a-z]+\.[a-z0-9-]+", rule.id), rule.id
        assert rule.chapter in CHAPTERS and rule.severity in SEVERITIES
        assert rule.title and rule.detects and rule.fix
        assert rule.doc.startswith(f"book/{rule.chapter}/"), rule.doc
        assert (ROOT / rule.doc).exists(), f"{rule.id} points at missing {rule.doc}"


def test_every_rule_has_a_check_and_every_check_owns_rules():
    owned = {r for spec in CHECKS.values() for r in spec.rules}
    assert owned == set(RULES), f"rules with no check: {set(RULES) - owned}"


def test_check_signatures_use_the_input_vocabulary():
    for spec in CHECKS.values():
        params = inspect.signature(spec.function).parameters
        for name, p in params.items():
            assert name in INPUTS or p.default is not inspect.Parameter.empty, (spec.name, name)
        assert spec.needs, f"{spec.name} needs no input at all"
        assert spec.function.__doc__, f"{spec.name} has no docstring"


def test_chapter_modules_match_rule_chapters():
    """A check lives in its chapter's module, helpers.checks.<chapter>, or in a submodule of
    its chapter's package, helpers.checks.<chapter>.<topic>."""
    for spec in CHECKS.values():
        module = spec.function.__module__.split(".")
        assert module[:2] == ["helpers", "checks"], spec.name
        assert all(r.startswith(module[2] + ".") for r in spec.rules), spec.name


def test_registering_twice_or_badly_fails():
    with pytest.raises(ValueError, match="twice"):
        checks.rule("activation.softmax-single-unit", severity="error", title="t", detects="d",
                    fix="f", doc="d")
    with pytest.raises(ValueError, match="rule id"):
        checks.rule("nochapter", severity="error", title="t", detects="d", fix="f", doc="d")
    with pytest.raises(ValueError, match="severity"):
        checks.rule("activation.new-one", severity="bad", title="t", detects="d", fix="f",
                    doc="d")
    with pytest.raises(ValueError, match="unregistered"):
        checks.check("activation.does-not-exist")(lambda model: [])


def test_notebooks_cite_only_existing_rules():
    pattern = re.compile(r"\b((?:%s)\.[a-z0-9]+(?:-[a-z0-9]+)+)\b" % "|".join(CHAPTERS))  # noqa: UP031
    cited = set()
    for page in [*(ROOT / "book").rglob("*.ipynb"), *(ROOT / "book").rglob("*.md")]:
        if "_build" in page.parts or ".ipynb_checkpoints" in page.parts:
            continue
        text = page.read_text()
        if page.suffix == ".ipynb":  # the sources: CI runs this after writing outputs in
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        cited |= set(pattern.findall(text))
    unknown = cited - set(RULES)
    assert not unknown, f"notebooks cite rules that don't exist: {unknown}"
