"""Records how long each notebook took under nbmake, for the book's execution report.

After a run that executed notebooks, ``_build/execution-times.json`` holds each notebook's
wall time and outcome, the seed and the machine; ``.ci/execution_report.py`` turns it into
the page ``book/reference/execution.md``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

_times: dict[str, dict] = {}


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb") and report.when == "call":
        _times[path] = {"seconds": round(report.duration, 2), "outcome": report.outcome}


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput") or not _times:
        return  # xdist workers report to the controller, which writes the file once
    out = Path(session.config.rootpath) / "_build" / "execution-times.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "seed": os.environ.get("BOOK_SEED", "0") or "0",
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "workers": getattr(session.config.option, "numprocesses", None),
        "python": platform.python_version(),
        "notebooks": dict(sorted(_times.items())),
    }, indent=2))
