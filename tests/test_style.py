"""Code hygiene, enforced: ruff on helpers, tests and every notebook (same config as the
pre-commit hook in .pre-commit-config.yaml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.fail("ruff is not installed: pip install -r requirements.txt")
    result = subprocess.run([ruff, "check", "--no-cache", "helpers", "tests", "book", ".ci",
                             "conftest.py"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_in_helpers_is_over_550_lines():
    """A module past 550 lines holds more than one topic: split it (see CONTRIBUTING.md)."""
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "helpers").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 550}
    assert not long, f"split these modules by topic: {long}"


def test_keras_private_attributes_are_read_only_in_helpers_keras():
    """A Keras upgrade that renames an internal breaks one file, helpers/_keras.py."""
    import re

    private = re.compile(r"""getattr\([^,]+,\s*["']_[a-z]|\b(?:model|layer|optimizer|metric|"""
                         r"""container|compiled|op|tensor)\._[a-z]""")
    readers = [str(p.relative_to(ROOT)) for p in (ROOT / "helpers").rglob("*.py")
               if p.name != "_keras.py" and private.search(p.read_text())]
    assert not readers, f"read Keras internals through helpers/_keras.py: {readers}"
