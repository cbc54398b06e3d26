"""``diagnose``: run every registered check that the given inputs allow."""

from __future__ import annotations

from helpers import _validate
from helpers.checks import CHECKS
from helpers.checks.preprocessing import check_column_mismatch
from helpers.report import Report


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
        Findings ranked errors first. Nothing is trained and no input is modified. A check
        that can't use the data it was given (say, a thresholds check given -1/1 labels)
        is listed in ``report.checks_skipped`` with its reason instead of stopping the
        others, and in ``report.could_not_check``: such a report is not ``ok`` and its
        first line says so. Checks skipped because an input was not given, or because
        they don't apply (threshold checks on a regression target), leave it ok.
        ``report.ok`` is True when there is also no error and no warning.
    """
    _validate.as_model(model)
    # Validate up front so a bad argument fails with its name. Data in a form Keras accepts
    # but the checks don't read (a dataset, a sparse matrix, a 1-D x for one feature) is made
    # into arrays; otherwise each check gets the caller's own objects: DataFrame column names
    # matter to some checks, and NaN in the data is a finding (preprocessing), not a usage error.
    given = {"model": model}
    early, unusable_serve = [], None
    try:
        x, y, x_serve, _ = _validate.model_data(model, x, y, x_serve)
    except ValueError as exc:
        if x_serve is None or "x_serve" not in str(exc):
            raise
        # Serving columns that differ from training (get_dummies on a batch that lacks a
        # category) can't be fed to the model; say which columns, if the names tell.
        early = [] if x is None else check_column_mismatch(x, x_serve)
        if not early:
            raise
        unusable_serve = f"x_serve does not fit the model: {exc}"
        x, y, _, _ = _validate.model_data(model, x, y)
        x_serve = None
    for key, value in (("x", x), ("y", y), ("x_serve", x_serve)):
        if value is not None:
            given[key] = value
    if history is not None:
        _validate.as_history(history)  # validate; checks get the original (a History keeps params)
        given["history"] = history

    compiled = bool(getattr(model, "compiled", False))
    n_outputs = len(model.outputs or ())
    run, skipped, findings = [], {}, list(early)
    for name, spec in CHECKS.items():
        if early and spec.function is check_column_mismatch:
            run.append(name)
            continue
        missing = [k for k in spec.needs if k not in given]
        if missing:
            skipped[name] = (unusable_serve if unusable_serve and missing == ["x_serve"]
                             else "needs " + " and ".join(missing))
            continue
        if spec.compiled and not compiled:
            skipped[name] = "the model is not compiled, so it has no loss to compare"
            continue
        if spec.single_output and n_outputs != 1:
            skipped[name] = f"handles single-output models; this one has {n_outputs} outputs"
            continue
        kwargs = {k: given[k] for k in spec.needs + spec.optional if k in given}
        try:
            findings.extend(spec.function(**kwargs))
        except _validate.NotApplicable as exc:
            skipped[name] = f"does not apply: {exc}"
            continue
        except (ValueError, TypeError) as exc:
            skipped[name] = f"could not use these inputs: {exc}"
            continue
        run.append(name)
    return Report(findings, checks_run=run, checks_skipped=skipped)
