"""Write book/reference/execution.md from the last test run's notebook timings.

    pytest                                 # writes _build/execution-times.json
    python .ci/execution_report.py       # rewrites the execution report page

CI runs both before building the book.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # .ci/ -> the repository
SOURCE = ROOT / "_build" / "execution-times.json"
PAGE = ROOT / "book" / "reference" / "execution.md"

HEADER = """# Execution report

Every notebook in this book is executed from scratch, and its `assert` cells checked,
each time the book is built. This page lists how long each one took in the run that
produced this build.
"""


def render(data: dict) -> str:
    rows = []
    for path, info in data["notebooks"].items():
        rel = Path(path).relative_to("book").with_suffix("")
        rows.append(f"| {{doc}}`/{Path('book', rel).as_posix()}` | {info['seconds']:.1f} | "
                    f"{info['outcome']} |")
    total = sum(i["seconds"] for i in data["notebooks"].values())
    slowest = max(data["notebooks"].values(), key=lambda i: i["seconds"])["seconds"]
    workers = data.get("workers") or 1
    return HEADER + f"""
Run finished {data['finished']} with `BOOK_SEED={data['seed']}`, Python {data['python']},
on {data['cpus']} CPU cores ({workers} notebooks at a time). {len(rows)} notebooks,
{total:.0f} s of notebook time in all; the slowest took {slowest:.1f} s.

| notebook | seconds | result |
| --- | ---: | --- |
""" + "\n".join(rows) + "\n"


def main() -> int:
    if not SOURCE.exists():
        print(f"no {SOURCE.relative_to(ROOT)}: run pytest first", file=sys.stderr)
        return 1
    PAGE.write_text(render(json.loads(SOURCE.read_text())))
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
