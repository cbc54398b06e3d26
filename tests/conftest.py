import json
import shutil

import numpy as np
import pytest

import helpers

from suite_table import diagnose_suite_dir, write_table


@pytest.fixture(autouse=True)
def _seeded():
    helpers.seed(0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# --- the diagnose suite's table (tests/suite_table.py) -----------------------------------

@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist)
        shutil.rmtree(diagnose_suite_dir(session.config), ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput"):
        return
    folder = diagnose_suite_dir(config)
    for suite in sorted(p.name for p in folder.glob("*") if p.is_dir()):
        rows = [json.loads(p.read_text()) for p in sorted((folder / suite).glob("*.json"))]
        if rows:
            write_table(terminalreporter, suite, rows)


