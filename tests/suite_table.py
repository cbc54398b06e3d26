"""The diagnose suite's and corpus's end-of-run table (tests/test_diagnose_suite.py,
tests/test_diagnose_corpus.py): each case writes one JSON file with
:func:`record_diagnose_case`; xdist workers share no memory, so conftest's hooks clear the
folder at the start and read the files back at the end of the run."""

import json


def diagnose_suite_dir(config):
    return config.rootpath / "_build" / "diagnose-suite"


def _brief(findings):
    return sorted({f"{f.severity}:{f.rule}" for f in findings})


def _errors_and_warnings(result):
    """A Report's errors and warnings as "severity:rule" strings; an exception that
    ``diagnose`` raised in place of a Report counts as an error."""
    if isinstance(result, BaseException):
        return [f"raised {type(result).__name__}: {str(result)[:160]}"], []
    return _brief(result.errors), _brief(result.warnings)


def record_diagnose_case(config, case, chapter, rules, faulty, fixed, suite="suite"):
    """Write one row of the end-of-run table for a case: ``faulty`` and ``fixed`` are what
    ``diagnose`` returned (a Report) or raised (the exception) on the faulty setup and on
    its fixed twin. The fault is detected when the faulty report has an error or warning of
    ``chapter`` (or one of ``rules``), and its rule found when one of ``rules`` is reported.
    Returns the row."""
    rules = [rules] if isinstance(rules, str) else list(rules)
    findings = [] if isinstance(faulty, BaseException) else faulty.errors + faulty.warnings
    hits = [f for f in findings if f.chapter == chapter or f.rule in rules]
    fixed_errors, fixed_warnings = _errors_and_warnings(fixed)
    row = {
        "suite": suite, "case": case, "chapter": chapter, "rule": " | ".join(rules),
        "detected": bool(hits), "rule_found": any(f.rule in rules for f in hits),
        "fixed_error": bool(fixed_errors),
        "faulty_findings": sum(_errors_and_warnings(faulty), []),
        "fixed_errors": fixed_errors, "fixed_warnings": fixed_warnings,
    }
    out = diagnose_suite_dir(config) / suite
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{case}.json").write_text(json.dumps(row) + "\n")
    return row


TITLES = {"suite": "helpers.diagnose suite: faulty setups and fixed twins",
          "corpus": "helpers.diagnose corpus: programs as askers write them, and their fixes"}


def write_table(terminalreporter, suite, rows):
    write = terminalreporter.write_line
    terminalreporter.write_sep("=", TITLES.get(suite, suite))
    write(f"{'chapter':14} {'cases':>5} {'detected':>8} {'recall':>6} {'rule found':>10} "
          "  false alarms (errors on fixed twin)")
    chapters = sorted({r["chapter"] for r in rows})
    for name, group in [(c, [r for r in rows if r["chapter"] == c]) for c in chapters] + \
            [("all", rows)]:
        n = len(group)
        detected = sum(r["detected"] for r in group)
        found = sum(r["rule_found"] for r in group)
        alarms = sum(r["fixed_error"] for r in group)
        write(f"{name:14} {n:5d} {detected:8d} {detected / n:6.0%} {found:10d}   {alarms}")
    for r in rows:
        if not r["detected"] or not r["rule_found"]:
            write(f"  missed: {r['case']} ({r['rule']}); found {r['faulty_findings']}")
        if r["fixed_error"]:
            write(f"  false alarm: {r['case']}: {r['fixed_errors']}")
    warned = [r for r in rows if r["fixed_warnings"]]
    if warned:
        write("Warnings on fixed twins (allowed, recorded):")
        for r in warned:
            write(f"  {r['case']}: {', '.join(r['fixed_warnings'])}")
