"""Findings and reports: what a check says, in text, HTML and JSON."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

SEVERITIES = ("error", "warning", "info")
CHAPTERS = ("activation", "loss", "preprocessing", "fitting", "labels", "thresholds")

#: Where the published book lives. When set (by ``_config.yml``'s repository URL or by a
#: reader), HTML reports link each finding to its page; otherwise they show the path.
BOOK_URL: str | None = None


@dataclass(frozen=True)
class Finding:
    """One thing a check found.

    ``rule`` is a stable id such as ``"activation.softmax-single-unit"``; ``severity`` is
    ``"error"`` (predictions will be wrong), ``"warning"`` (likely hurts) or ``"info"``;
    ``message`` carries the measured evidence, and ``evidence`` the same numbers as data,
    so code (and the book's own asserts) can use them without parsing text.
    ``follows_from`` names the rules of findings in the same report that this one is a
    consequence of (a diverged loss after a learning rate far too high): fix those first.
    """

    rule: str
    severity: str
    chapter: str
    title: str
    message: str
    fix: str
    doc: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    follows_from: tuple[str, ...] = ()

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if self.chapter not in CHAPTERS:
            raise ValueError(f"chapter must be one of {CHAPTERS}, got {self.chapter!r}")
        if isinstance(self.follows_from, str):
            object.__setattr__(self, "follows_from", (self.follows_from,))
        object.__setattr__(self, "follows_from", tuple(self.follows_from))

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "chapter": self.chapter,
            "title": self.title,
            "message": self.message,
            "fix": self.fix,
            "doc": self.doc,
            "evidence": _jsonable(dict(self.evidence)),
            "follows_from": list(self.follows_from),
        }

    def __str__(self) -> str:
        return (
            f"{self.severity.upper():8}{self.rule}  [{self.chapter}]\n"
            f"        {self.title}\n"
            f"        {self.message}\n"
            + (f"        Follows from: {', '.join(self.follows_from)}\n" if self.follows_from
               else "")
            + f"        Fix: {self.fix}\n"
            f"        See: {self.doc}"
        )


def _jsonable(value):
    """Numbers from numpy become plain Python so ``json.dumps`` never trips on them."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


_ORDER = {s: i for i, s in enumerate(SEVERITIES)}

#: How ``diagnose`` starts the reason of a check that was given data it could not use (NaN
#: where it must predict, labels it can't read...), as opposed to an input not given or a
#: check that does not apply to this kind of model or data.
COULD_NOT_USE = "could not use these inputs: "

#: Findings that say whether the rest of a report can be read as it stands lead it: when
#: the model has not learned from the data (or was never trained), that is the first thing
#: to know, and its message names the findings that explain it.
LEADING_RULES = ("fitting.not-learned", "fitting.untrained")


def _rank(findings: list[Finding]) -> list[Finding]:
    """Order findings so causes come before their consequences (see :class:`Report`)."""
    present = {f.rule for f in findings}
    # A finding follows only from causes that are in this report.
    findings = [f if not f.follows_from else replace(
        f, follows_from=tuple(r for r in f.follows_from if r in present and r != f.rule))
        for f in findings]
    # A cause is at least as severe as the worst consequence it leads to: the cause is what
    # to fix, so it must not be out-ranked by what it leads to, and a consequence that makes
    # predictions wrong (a diverged loss) stays an error.
    worst = {}
    for f in findings:
        for r in f.follows_from:
            worst[r] = min(worst.get(r, len(SEVERITIES)), _ORDER[f.severity])
    capped = []
    for f in findings:
        if _ORDER[f.severity] > worst.get(f.rule, len(SEVERITIES)):
            f = replace(f, severity=SEVERITIES[worst[f.rule]])
        capped.append(f)
    by_rule: dict[str, list[Finding]] = {}
    for f in capped:
        by_rule.setdefault(f.rule, []).append(f)

    def key(f: Finding, seen: frozenset = frozenset()) -> tuple:
        own = (_ORDER[f.severity], f.chapter, f.rule)
        causes = [c for r in f.follows_from if r not in seen for c in by_rule[r]]
        if not causes:
            return (0 if f.rule in LEADING_RULES else 1, *own)
        # Right after its (last-ranked) cause.
        return max(key(c, seen | {f.rule}) for c in causes) + own

    return sorted(capped, key=key)


class Report(Sequence):
    """The findings of a diagnosis, causes first, plus what was checked and what was not.

    Order: a finding that says the model has not learned from the data (or was never
    trained, see :data:`LEADING_RULES`) comes first; then the other findings by severity
    (errors, warnings, notes), chapter and rule, except that a consequence (a finding whose
    ``follows_from`` names rules found in the same report) comes right after its cause.
    A cause is at least as severe as the worst of its consequences: a warning-level cause
    of an error (unscaled inputs behind a diverged loss) is reported as an error, so the
    cause is never out-ranked and the report keeps its error.
    ``follows_from`` keeps only the causes present in the report.

    ``report.ok`` is True when there is no error, no warning and no check that could not
    use the data it was given (``could_not_check``; the first line of the text says how
    many and why). ``report.rules`` is the set of rule ids found, handy in asserts.
    ``checks_run`` names the checks that ran and ``checks_skipped`` maps the others to the
    reason (usually a missing input, which leaves the report ok). ``rows_read`` maps each
    check that ran the model (through ``diagnose``'s shared outputs) to the rows of ``x``
    it read.
    """

    def __init__(self, findings=(), checks_run=(), checks_skipped=None, rows_read=None):
        findings = list(findings)
        for f in findings:
            if not isinstance(f, Finding):
                raise TypeError(f"findings must hold Finding objects, got {type(f).__name__}")
        self._findings = _rank(findings)
        self.checks_run = tuple(checks_run)
        self.checks_skipped = dict(checks_skipped or {})
        self.rows_read = dict(rows_read or {})

    def __getitem__(self, i):
        return self._findings[i]

    def __len__(self):
        return len(self._findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self._findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self._findings if f.severity == "warning"]

    @property
    def infos(self) -> list[Finding]:
        return [f for f in self._findings if f.severity == "info"]

    @property
    def could_not_check(self) -> dict[str, str]:
        """The checks that were given data but could not use it, with the reason."""
        return {name: why.removeprefix(COULD_NOT_USE)
                for name, why in self.checks_skipped.items() if why.startswith(COULD_NOT_USE)}

    @property
    def ok(self) -> bool:
        return not self.errors and not self.warnings and not self.could_not_check

    @property
    def rules(self) -> set[str]:
        return {f.rule for f in self._findings}

    def summary(self) -> str:
        def n(count, word):
            return f"{count} {word}{'' if count == 1 else 's'}"

        head = ", ".join([n(len(self.errors), "error"), n(len(self.warnings), "warning"),
                          n(len(self.infos), "note")])
        counts = (f"{head} ({n(len(self.checks_run), 'check')} ran, "
                  f"{len(self.checks_skipped)} skipped)")
        unusable = self.could_not_check
        if not unusable:
            return counts
        reasons = list(dict.fromkeys(unusable.values()))
        why = "; ".join(reasons[:2]) + (f"; and {len(reasons) - 2} more" if len(reasons) > 2
                                        else "")
        return (f"INCOMPLETE: {n(len(unusable), 'check')} could not use the data given ({why}). "
                + counts)

    def __str__(self) -> str:
        lines = [self.summary()]
        if not self._findings:
            lines.append("No problems found by the checks that ran.")
        lines += [str(f) for f in self._findings]
        if self.checks_skipped:
            lines.append("Skipped:")
            lines += [f"  {name}: {why}" for name, why in self.checks_skipped.items()]
        if self.rows_read:
            lines.append("Rows of x read by the checks that ran the model: " + ", ".join(
                f"{name} {rows}" for name, rows in self.rows_read.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Report: {self.summary()}>"

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "counts": {s: sum(f.severity == s for f in self._findings) for s in SEVERITIES},
            "findings": [f.to_dict() for f in self._findings],
            "checks_run": list(self.checks_run),
            "checks_skipped": dict(self.checks_skipped),
            "could_not_check": self.could_not_check,
            "rows_read": dict(self.rows_read),
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def _repr_html_(self) -> str:
        colours = {"error": "#b00020", "warning": "#9a6700", "info": "#0b5394"}
        rows = []
        for f in self._findings:
            doc = html.escape(f.doc)
            if BOOK_URL:
                target = BOOK_URL.rstrip("/") + "/" + f.doc.removeprefix("book/").replace(
                    ".ipynb", ".html")
                doc = f'<a href="{html.escape(target)}">{doc}</a>'
            rows.append(
                "<tr>"
                f'<td style="color:{colours[f.severity]};font-weight:bold">{f.severity}</td>'
                f"<td><code>{html.escape(f.rule)}</code><br>{html.escape(f.title)}</td>"
                f"<td>{html.escape(f.message)}"
                + (f"<br><b>Follows from:</b> {html.escape(', '.join(f.follows_from))}"
                   if f.follows_from else "")
                + f"<br><b>Fix:</b> {html.escape(f.fix)}"
                f"<br><small>{doc}</small></td>"
                "</tr>"
            )
        if not rows:
            rows.append('<tr><td colspan="3">No problems found by the checks that ran.</td></tr>')
        skipped = ""
        if self.checks_skipped:
            items = "".join(f"<li><code>{html.escape(k)}</code>: {html.escape(v)}</li>"
                            for k, v in self.checks_skipped.items())
            skipped = f"<details><summary>Skipped checks</summary><ul>{items}</ul></details>"
        return (
            f'<div class="helpers-report"><p><b>{html.escape(self.summary())}</b></p>'
            '<table><thead><tr><th>severity</th><th>rule</th><th>evidence and fix</th></tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>{skipped}</div>'
        )
