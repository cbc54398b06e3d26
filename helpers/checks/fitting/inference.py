"""Training and inference mode: Dropout and BatchNormalization."""

from __future__ import annotations

import numpy as np

from helpers import _keras, _validate
from helpers._outputs import checked_inputs
from helpers.checks import check, rule
from helpers.checks.fitting.before_training import _untrained
from helpers.checks.fitting.gradients import _hidden

NB_MODES = "book/fitting/11-batchnorm-and-dropout-at-inference.ipynb"

TRAINING_MODE_INFERENCE = rule(
    "fitting.training-mode-inference", severity="error",
    title="Predictions are made in training mode (Dropout on, BatchNorm on batch statistics)",
    detects="The same rows get different predictions from one call to the next, or a row's "
            "prediction depends on which other rows are in the batch, or the predictions "
            "differ from model.predict. That is model(x, training=True) at inference, or a "
            "layer built with training=True inside the model (model(x) obeys it, "
            "model.predict overrides it): Dropout drops units at random and "
            "BatchNormalization normalises with the batch's own statistics.",
    fix="Predict with model.predict(x) or model(x, training=False); build the model with "
        "plain Dropout(rate)(h), without training=True (unless you want Monte Carlo dropout "
        "and average many calls on purpose).",
    doc=NB_MODES,
)
BATCHNORM_STATISTICS = rule(
    "fitting.batchnorm-statistics", severity="warning",
    title="BatchNormalization's moving statistics don't match the data",
    detects="For a BatchNormalization layer, the moving mean and variance it uses at "
            "inference are far from the mean and variance of its inputs on the data given "
            "(median over channels: mean off by more than half a standard deviation, or "
            "variance off by more than 4 times). The moving averages move by 1% per training "
            "step (momentum=0.99), so a few dozen steps (small data, large batches, few "
            "epochs) leave them near their start, 0 and 1; the model then sees different "
            "numbers at inference than in training.",
    fix="Train for more steps (smaller batches or more epochs), or use "
        "BatchNormalization(momentum=0.9) on small data sets; check training accuracy "
        "with model.evaluate, which uses the moving statistics, not fit's running figure.",
    doc=NB_MODES,
)


def _same(a: np.ndarray, b: np.ndarray) -> float:
    """Largest absolute difference, scaled by the outputs' size (NaN counts as different)."""
    if a.shape != b.shape:
        return float("inf")
    scale = max(1.0, float(np.nanmax(np.abs(b))) if np.isfinite(b).any() else 1.0)
    diff = np.abs(a - b)
    return float("inf") if np.isnan(diff).any() else float(diff.max()) / scale


@check(TRAINING_MODE_INFERENCE.id)
def check_inference_mode(model, x, *, predict=None, max_rows: int = 256,
                         tolerance: float = 1e-3, forward=None) -> list:
    """Predictions that change from call to call, or with the other rows in the batch.

    On the first ``max_rows`` rows of ``x``. Without ``predict`` (as ``helpers.diagnose``
    runs it) the model is called as ``model(x)`` twice, and on the first half of the rows
    alone: different answers mean a layer inside the model was built in training mode
    (``Dropout(rate)(h, training=True)``), which ``model(x)`` obeys and ``model.predict``
    overrides. With ``predict``, a function that takes ``x``
    and returns predictions (yours, e.g. ``lambda x: model(x, training=True)``), it is
    called twice and compared with ``model(x, training=False)``. Differences below
    ``tolerance`` (relative to the outputs' size) are rounding, not a finding.
    ``forward`` (``diagnose``'s outputs): the first rows of its sample, as many as a third
    of its budget buys (the model runs two and a half more times); a Sequential or
    functional model none of whose layers takes ``training`` is not run at all.
    """
    import keras

    _validate.as_model(model)
    inputs, n = checked_inputs(model, x, forward)
    if predict is not None and not callable(predict):
        raise TypeError(f"predict must be a function of x, got {_validate.describe(predict)}")
    _validate.check_scalar(max_rows, "max_rows", int, min_val=2)
    if n < 2:
        return []
    if forward is not None:
        if predict is None and _keras.ignores_training(model):
            return []  # model(x) runs exactly what model(x, training=False) runs
        max_rows = max(2, min(max_rows, forward.budget // 3))
        rows, reference = forward.inputs(max_rows), forward.predictions(max_rows)[0]
    else:
        rows = _validate.take_rows(inputs, slice(max_rows))
        reference = _keras.predict(model, rows)[0]
    half = len(reference) // 2
    if predict is not None:
        def call():
            out = predict(rows)
            out = out[0] if isinstance(out, (list, tuple)) else out
            return np.asarray(keras.ops.convert_to_numpy(out), dtype=float)
        first, second = call(), call()
        alone = reference[:half]
        where = "your predict function"
    else:
        # model(x) without a training argument: a layer built with training=True runs in
        # training mode there (predict and training=False override it).
        def direct(batch):
            out = model(batch)
            out = out[0] if isinstance(out, (list, tuple)) else \
                next(iter(out.values())) if isinstance(out, dict) else out
            return np.asarray(keras.ops.convert_to_numpy(out), dtype=float)
        first, second = direct(rows), direct(rows)
        alone = direct(_validate.take_rows(rows, slice(half)))
        where = "model(x) (called without training=False)"
    repeat = _same(first, second)
    versus = _same(first, reference) if predict is not None else _same(first[:half], alone)
    if repeat <= tolerance and versus <= tolerance:
        return []
    changed = float("nan")
    if first.shape == reference.shape and first.ndim == 2:
        pick = (lambda p: p.argmax(axis=1)) if first.shape[1] > 1 else (lambda p: p[:, 0] > 0.5)
        changed = float(np.mean(pick(first) != pick(reference)))
    if predict is not None:
        what = (f"differ from model(x, training=False) by up to {versus:.3g} "
                f"(relative), and between two calls by {repeat:.3g}")
    else:
        what = (f"differ between two calls by up to {repeat:.3g}, and for the first "
                f"{half} rows predicted alone by {versus:.3g} (relative)")
    share = "" if np.isnan(changed) else \
        f"; {changed:.0%} of the rows get a different class than model.predict gives"
    return [TRAINING_MODE_INFERENCE.finding(
        f"On {len(reference)} rows, the outputs of {where} {what}{share}.",
        between_calls=repeat, versus_reference=versus, changed_class=changed,
        rows=len(reference), source="predict" if predict is not None else "model")]


@check(BATCHNORM_STATISTICS.id)
def check_batchnorm_statistics(model, x, *, max_rows: int = 1024, max_shift: float = 0.5,
                               max_ratio: float = 4.0, forward=None) -> list:
    """Each BatchNormalization layer's moving mean and variance against the statistics
    of its inputs on up to ``max_rows`` rows of ``x``.

    Per channel: the shift ``|moving_mean - mean| / sqrt(var + epsilon)`` and the ratio
    ``moving_variance / var``; a layer is flagged when the median shift is above
    ``max_shift`` or the median ratio is outside ``[1 / max_ratio, max_ratio]``. A layer
    whose statistics are still exactly at their start (mean 0, variance 1) in a model that
    has never been trained is skipped: training sets them. BatchNormalization layers inside
    a nested model are not reached.
    """
    _validate.as_model(model)
    inputs, n = checked_inputs(model, x, forward)
    _validate.check_scalar(max_shift, "max_shift", float, min_val=0, include_boundaries="neither")
    _validate.check_scalar(max_ratio, "max_ratio", float, min_val=1, include_boundaries="neither")
    layers = _keras.batchnorm_layers(model)
    if not layers or n < 2:
        return []
    trained = not _untrained(model) if getattr(model, "optimizer", None) is not None else None
    # Per row and channel: the values, or their mean and variance (shared pass).
    tapped = _hidden(model, "batchnorm", layers, inputs if forward is None else None,
                     max_rows, forward)
    if tapped is None:
        return []  # subclassed models have no graph to tap
    found = []
    for layer, summaries in tapped:
        moving_mean = np.asarray(layer.moving_mean.numpy(), dtype=float)
        moving_var = np.asarray(layer.moving_variance.numpy(), dtype=float)
        if (not trained and np.all(moving_mean == 0) and np.all(moving_var == 1)):
            continue
        out = np.asarray(summaries[0], dtype=float)
        if len(summaries) == 2:  # per-row means and variances: pooled (total variance)
            row_var = np.asarray(summaries[1], dtype=float)
            if not (np.isfinite(out).all() and np.isfinite(row_var).all()):
                continue
            mean, var = out.mean(axis=0), row_var.mean(axis=0) + out.var(axis=0)
            values = out
        else:
            axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
            values = np.moveaxis(out, axis, -1).reshape(-1, out.shape[axis])
            if not np.isfinite(values).all():
                continue  # diverged weights: check_training_stability reports those
            mean, var = values.mean(axis=0), values.var(axis=0)
        shift = float(np.median(np.abs(moving_mean - mean) / np.sqrt(var + layer.epsilon)))
        ratio = float(np.median((moving_var + layer.epsilon) / (var + layer.epsilon)))
        if shift > max_shift or not (1 / max_ratio <= ratio <= max_ratio):
            found.append(BATCHNORM_STATISTICS.finding(
                f"Layer {layer.name!r} (momentum={layer.momentum}): on {len(out)} rows its "
                f"inputs' mean is {shift:.2g} standard deviations from its moving mean, and "
                f"its moving variance is {ratio:.3g} times their variance (medians over "
                f"{values.shape[1]} channels).",
                layer=layer.name, shift=shift, variance_ratio=ratio,
                channels=int(values.shape[1]), rows=len(out), momentum=float(layer.momentum)))
    return found
