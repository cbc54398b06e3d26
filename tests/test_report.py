import json

import pytest

import helpers
from helpers.report import Finding, Report


def finding(rule="activation.x", severity="error", chapter="activation", message="m"):
    return Finding(rule=rule, severity=severity, chapter=chapter, title="t", message=message,
                   fix="f", doc="book/activation/index.md", evidence={"value": 1.5})


def test_report_orders_errors_first_and_counts():
    r = Report([finding(severity="info"), finding(severity="warning"), finding()],
               checks_run=["a", "b"], checks_skipped={"c": "needs y"})
    assert [f.severity for f in r] == ["error", "warning", "info"]
    assert len(r.errors) == len(r.warnings) == len(r.infos) == 1
    assert not r.ok and r.rules == {"activation.x"}
    assert r.summary() == "1 error, 1 warning, 1 note (2 checks ran, 1 skipped)"


def test_ok_means_no_error_and_no_warning():
    assert Report([finding(severity="info")]).ok
    assert not Report([finding(severity="warning")]).ok
    assert Report([]).ok


def test_text_html_and_json_forms():
    r = Report([finding(message="layer 'dense' <b>")], checks_skipped={"c": "needs y"})
    text = str(r)
    assert "ERROR" in text and "layer 'dense' <b>" in text and "Fix: f" in text
    assert "c: needs y" in text
    html = r._repr_html_()
    assert "&lt;b&gt;" in html and "<b>" not in html.split("</b>", 1)[1].replace("<b>Fix:</b>", "")
    data = json.loads(r.to_json())
    assert data["counts"] == {"error": 1, "warning": 0, "info": 0}
    assert data["findings"][0]["evidence"] == {"value": 1.5}
    assert data["checks_skipped"] == {"c": "needs y"} and data["ok"] is False


def test_empty_report_says_so():
    assert "No problems found" in str(Report([]))
    assert "No problems found" in Report([])._repr_html_()


def test_numpy_evidence_is_json_serializable():
    import numpy as np

    f = Finding("activation.x", "error", "activation", "t", "m", "f", "d",
                evidence={"a": np.float32(0.5), "b": np.arange(2)})
    assert json.loads(json.dumps(f.to_dict()))["evidence"] == {"a": 0.5, "b": [0, 1]}


def test_bad_findings():
    with pytest.raises(ValueError, match="severity"):
        finding(severity="fatal")
    with pytest.raises(ValueError, match="chapter"):
        finding(chapter="misc")
    with pytest.raises(TypeError, match="Finding"):
        Report(["not a finding"])


def test_html_links_to_book_when_url_set(monkeypatch):
    monkeypatch.setattr(helpers.report, "BOOK_URL", "https://example.org/book")
    html = Report([finding()])._repr_html_()
    assert 'href="https://example.org/book/activation/index.md"' in html


def test_checks_that_could_not_use_the_data_make_the_report_not_ok_and_lead_it():
    """Skipped for a missing input: quiet. Given data it could not use: not ok, first line."""
    quiet = Report([], checks_run=["a"], checks_skipped={"b": "needs y",
                                                         "c": "does not apply: regression"})
    assert quiet.ok and not quiet.could_not_check
    r = Report([], checks_run=["a"], checks_skipped={
        "b": "needs y", "c": "could not use these inputs: x contains 2 NaN or infinite value(s)",
        "d": "could not use these inputs: x contains 2 NaN or infinite value(s)"})
    assert not r.ok
    assert r.could_not_check == {"c": "x contains 2 NaN or infinite value(s)",
                                 "d": "x contains 2 NaN or infinite value(s)"}
    first = str(r).splitlines()[0]
    assert first.startswith("INCOMPLETE: 2 checks could not use the data given (x contains 2")
    data = json.loads(r.to_json())
    assert data["ok"] is False and set(data["could_not_check"]) == {"c", "d"}
    assert "INCOMPLETE" in r._repr_html_()
# --- causes before consequences -------------------------------------------------------------

def test_consequence_comes_right_after_its_cause_which_is_raised_to_its_severity():
    cause = finding(rule="fitting.learning-rate", severity="warning", chapter="fitting")
    consequence = Finding("fitting.divergence", "error", "fitting", "t", "m", "f", "d",
                          follows_from=("fitting.learning-rate",))
    other = finding(rule="activation.softmax-single-unit")
    r = Report([consequence, other, cause])
    assert [f.rule for f in r] == ["activation.softmax-single-unit", "fitting.learning-rate",
                                   "fitting.divergence"]
    # The cause is what to fix, so it is never out-ranked: a warning that leads to an error
    # is reported as an error, and the error stays an error (the CLI exits 1).
    assert r[1].severity == "error" and r.errors[-1].rule == "fitting.divergence"
    assert r[2].severity == "error" and r[2].follows_from == ("fitting.learning-rate",)
    assert "Follows from: fitting.learning-rate" in str(r)
    assert "Follows from:</b> fitting.learning-rate" in r._repr_html_()
    assert r.to_dict()["findings"][2]["follows_from"] == ["fitting.learning-rate"]


def test_causes_not_in_the_report_are_dropped():
    alone = Finding("fitting.divergence", "error", "fitting", "t", "m", "f", "d",
                    follows_from=("fitting.learning-rate",))
    r = Report([alone])
    assert r[0].follows_from == () and r[0].severity == "error"
    assert "Follows from" not in str(r)


def test_not_learned_leads_the_report():
    r = Report([finding(), finding(rule="fitting.not-learned", severity="warning",
                                   chapter="fitting")])
    assert r[0].rule == "fitting.not-learned" and len(r.errors) == 1
