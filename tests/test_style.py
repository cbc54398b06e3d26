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
