"""``diagnose``: run every registered check that the given inputs allow."""

from __future__ import annotations

from dataclasses import replace

from helpers import _outputs, _validate
from helpers.checks import CHECKS, RULES
from helpers.checks.fitting import (
    NOT_LEARNED,
    UNTRAINED,
    Learning,
    check_learned,
    learning_state,
)
from helpers.report import COULD_NOT_USE, Report

#: Consequence rule -> the rules it follows from when both are found. Only direct
#: mechanisms: the consequence is what the cause does to training or to the outputs.
CONSEQUENCES = {
    "activation.not-probabilities": ("activation.unbounded-output",),
    "fitting.divergence": ("fitting.learning-rate", "preprocessing.unscaled-inputs",
                           "activation.unscaled-regression-target"),
    "fitting.oscillation": ("fitting.learning-rate",),
    "fitting.dead-relu": ("fitting.learning-rate", "preprocessing.unscaled-inputs"),
    "fitting.exploding-gradients": ("preprocessing.unscaled-inputs",),
}

#: Findings that can't explain why a model did not learn: they are about serving data,
#: metrics, or they are the same symptom seen in the History.
_NOT_EXPLANATIONS = frozenset({
    "preprocessing.serving-skew", "preprocessing.pixel-scale", "preprocessing.column-mismatch",
    "loss.binary-accuracy-multiclass", "thresholds.accuracy-only-metrics",
    "fitting.overfitting", "fitting.underfitting", NOT_LEARNED.id, UNTRAINED.id,
})


def _explains_not_learning(finding) -> bool:
    return (finding.severity != "info" and finding.chapter != "thresholds"
            and finding.rule not in _NOT_EXPLANATIONS)


def _link_consequences(findings: list) -> list:
    """Mark each consequence with the causes of :data:`CONSEQUENCES` found beside it. A
    learning rate *below* its range stalls training; it does not make it diverge."""
    causes = set()
    for f in findings:
        if f.rule == "fitting.learning-rate" and f.evidence.get("learning_rate", 0) < \
                f.evidence.get("low", 0):
            continue
        causes.add(f.rule)
    linked = []
    for f in findings:
        found = tuple(r for r in CONSEQUENCES.get(f.rule, ()) if r in causes)
        linked.append(replace(f, follows_from=f.follows_from + found) if found else f)
    return linked


def diagnose(model, x=None, y=None, *, x_serve=None, history=None) -> Report:
    """Examine ``model`` with every check that the given inputs make possible.

    Parameters
    ----------
    model : keras.Model
        Compiled or not; checks that need the loss are skipped (and listed in
        ``report.checks_skipped``) for an uncompiled model.
    x, y : array-like, optional
        Data the model was (or will be) trained or evaluated on, in the forms
        ``model.fit`` takes: numpy arrays, lists, pandas objects or scipy sparse matrices
        (a sample of rows is densified when large); a 1-D ``x`` for a one-feature input;
        for several inputs a list, or a dict keyed by the inputs' names; for several
        outputs a list or dict of targets; sequence targets (checks that judge one label
        per row skip them, saying why). ``x`` may be a batched ``tf.data.Dataset`` or a
        ``keras.utils.PyDataset`` holding the targets (``y`` None): up to 20,000 rows are
        read. Python generators are refused, since reading one would use it up.
    x_serve : array-like, optional
        Inputs as they arrive at prediction time, for training-vs-serving checks. If they
        don't fit the model and ``x`` and ``x_serve`` are DataFrames whose columns differ,
        the report names the columns (``preprocessing.column-mismatch``) instead of raising.
    history : keras.callbacks.History or dict of lists, optional
        The result of ``model.fit``, for the checks that read learning curves.

    Returns
    -------
    Report
        Findings ranked causes first (see :class:`~helpers.report.Report`). Nothing is
        trained and no input is modified. A check that can't use the data it was given
        (say, a thresholds check given -1/1 labels) is listed in ``report.checks_skipped``
        with its reason instead of stopping the others, and in ``report.could_not_check``:
        such a report is not ``ok`` and its first line says so. Checks skipped because an
        input was not given, because they don't apply (threshold checks on a regression
        target), or because they wait for a model that learned, leave it ok. A check
        whose model run fails (out of memory, an op the data breaks) is skipped the same
        way, with the error. ``report.ok`` is True when there is also no error and no
        warning. ``report.rows_read`` says how many rows of ``x`` each check that ran the
        model read.

    Notes
    -----
    The checks run in this order: (1)-(2) the model, its compile settings, the data and
    the learning curves; (3) did the model learn from ``x, y``
    (:func:`helpers.checks.fitting.learning_state`): a model whose optimizer has taken no
    step gets the note ``fitting.untrained``, a trained one that is no better than an
    input-independent baseline gets ``fitting.not-learned``, which leads the report and
    names the findings that explain it; (4) only for a model that learned (or one the data
    can't judge, e.g. several outputs): the outcome checks that blame labels or
    thresholds (inverted or permuted labels, collapsed predictions, the threshold,
    calibration). Withheld outcome checks are listed in ``report.checks_skipped`` with the
    reason. A finding that is a consequence of another found beside it
    (:data:`CONSEQUENCES`, e.g. a diverged loss after a learning rate far too high) says
    so in ``follows_from`` and comes right after its cause.

    The model runs once over one sample of ``x`` (:class:`helpers._outputs.Forward`), in
    batches, and every check that reads its outputs (or the relu and BatchNormalization
    layers' values) reads them from that pass. The sample's size follows the model's cost
    per row: every row up to 5,000 for a small network, a few dozen images for a VGG16 at
    64x64, eight at 224x224; larger ``x`` is sampled evenly. The gradient probe runs on a
    few of those rows (up to 256), in batches sized for memory.
    """
    _validate.as_model(model)
    # Validate up front so a bad argument fails with its name. Data in a form Keras accepts
    # but the checks don't read (a dataset, a sparse matrix, a 1-D x for one feature) is made
    # into arrays; otherwise each check gets the caller's own objects: DataFrame column names
    # matter to some checks, and NaN in the data is a finding (preprocessing), not a usage error.
    given = {"model": model}
    early, unusable_serve, explained = [], None, []
    try:
        x, y, x_serve, counts = _validate.model_data(model, x, y, x_serve)
    except ValueError as exc:
        if x_serve is None or "x_serve" not in str(exc):
            raise
        # Serving columns that differ from training (get_dummies on a batch that lacks a
        # category) can't be fed to the model; say which columns, if the names tell.
        explained = [name for name, spec in CHECKS.items() if spec.unfit_serving]
        early = [] if x is None else [f for name in explained
                                      for f in CHECKS[name].function(x, x_serve)]
        if not early:
            raise
        unusable_serve = f"x_serve does not fit the model: {exc}"
        x, y, _, counts = _validate.model_data(model, x, y)
        x_serve = None
    for key, value in (("x", x), ("y", y), ("x_serve", x_serve)):
        if value is not None:
            given[key] = value
    if history is not None:  # validated once; the checks get it with the History's params
        given["history"] = _validate.CheckedHistory(_validate.as_history(history),
                                                    getattr(history, "params", None))
    # The model's outputs on one sample of x, computed once (on first use) for every check.
    forward = _outputs.Forward(model, x, counts["x"]) if x is not None else None

    compiled = bool(getattr(model, "compiled", False))
    n_outputs = len(model.outputs or ())
    run, skipped, findings = [], {}, list(early)

    def usable(name, spec) -> bool:
        missing = [k for k in spec.needs if k not in given]
        if missing:
            skipped[name] = (unusable_serve if unusable_serve and missing == ["x_serve"]
                             else "needs " + " and ".join(missing))
        elif spec.compiled and not compiled:
            skipped[name] = "the model is not compiled, so it has no loss to compare"
        elif spec.single_output and n_outputs != 1:
            skipped[name] = f"handles single-output models; this one has {n_outputs} outputs"
        else:
            return True
        return False

    def run_check(name, spec) -> None:
        kwargs = {k: given[k] for k in spec.needs + spec.optional if k in given}
        if spec.forward and forward is not None:
            kwargs["forward"] = forward
            forward.reader = name
        try:
            findings.extend(spec.function(**kwargs))
        except _validate.NotApplicable as exc:
            skipped[name] = f"does not apply: {exc}"
            return
        except (ValueError, TypeError) as exc:
            skipped[name] = COULD_NOT_USE + str(exc)
            return
        except Exception as exc:  # noqa: BLE001 - a probe that fails skips its check only
            skipped[name] = f"{COULD_NOT_USE}the model failed on it ({_outputs.failure(exc)})"
            return
        run.append(name)

    # (1)-(2): the model, its compile settings, the data, the curves.
    outcome = {}
    for name, spec in CHECKS.items():
        if early and name in explained:
            run.append(name)
        elif spec.function is check_learned:
            continue
        elif spec.outcome:
            outcome[name] = spec
        elif usable(name, spec):
            run_check(name, spec)
    # (3): did the model learn from this data? Outcome checks need one that did.
    if "x" in given and "y" in given:
        forward.reader = check_learned.__name__
        try:
            state = learning_state(model, given["x"], given["y"], given.get("history"),
                                   forward=forward)
        except Exception as exc:  # noqa: BLE001 - as in run_check
            state = Learning("unknown")
            skipped[check_learned.__name__] = COULD_NOT_USE + (
                str(exc) if isinstance(exc, (ValueError, TypeError))
                else f"the model failed on it ({_outputs.failure(exc)})")
        else:
            findings.extend(_learning_findings(state, findings))
            run.append(check_learned.__name__)
    else:
        state = learning_state(model, history=given.get("history"))  # untrained or unknown
        skipped[check_learned.__name__] = "needs " + " and ".join(
            k for k in ("x", "y") if k not in given)
    # (4): only a model that learned (or one the data can't judge) gets label and
    # threshold causes.
    withheld = {"untrained": "waits for training: the model has not been trained yet "
                             f"({UNTRAINED.id})",
                "not-learned": "the model has not learned from this data "
                               f"({NOT_LEARNED.id}), so labels and thresholds can't be "
                               "blamed for its predictions"}.get(state.state)
    for name, spec in outcome.items():
        if usable(name, spec):
            if withheld:
                skipped[name] = withheld
            else:
                run_check(name, spec)
    return Report(_link_consequences(findings), checks_run=run, checks_skipped=skipped,
                  rows_read=forward.rows_read if forward is not None else None)


def _learning_findings(state, findings) -> list:
    """The finding for a model that was never trained (a note: outcome checks wait) or did
    not learn (naming the findings of the report that explain it)."""
    if state.state == "untrained":
        return [UNTRAINED.finding(
            state.message + " The checks of the model, its settings and the data ran; "
            "the checks that judge predictions against y wait for training.",
            **state.evidence)]
    if state.state != "not-learned":
        return []
    causes = sorted({f.rule for f in findings if _explains_not_learning(f)},
                    key=lambda r: (RULES[r].severity != "error", r))
    if causes:
        why = ("Findings in this report that explain it: " + ", ".join(causes) + ".")
    else:
        why = ("No check found a cause: train for more epochs, try the optimizer's default "
               "learning rate, and check that row i of x is the example labelled y[i].")
    return [NOT_LEARNED.finding(
        "The model has not learned from this data. " + state.message + " " + why
        + " Label and threshold checks were not run: their causes mean nothing for a model "
        "that learned nothing.", explained_by=causes, **state.evidence)]
