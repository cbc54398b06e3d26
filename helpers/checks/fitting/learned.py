"""Did the model learn? Its training state (untrained, trained, loaded) and ``check_learned``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from helpers import _keras, _validate
from helpers._keras import BINARY_LOSSES, CATEGORICAL_LOSSES, model_outputs
from helpers._outputs import checked_inputs
from helpers._targets import class_ids, is_regression
from helpers._validate import as_history  # the one home of history validation
from helpers.checks import check, rule
from helpers.checks.fitting.curves import (
    DIVERGENCE,
    NB_CURVES,
    NB_SIGMOID,
    check_training_stability,
)
from helpers.checks.fitting.gradients import _kernels, learning_rate

NOT_LEARNED = rule(
    "fitting.not-learned", severity="warning",
    title="The model has not learned from this data",
    detects="A trained model whose predictions on the given rows are no better than an "
            "input-independent baseline: its scores rank the classes no better than chance "
            "(ROC-AUC within 3 standard errors of 0.5; for several classes, predicted and "
            "true classes independent by a chi-square test), a regression's squared error is "
            "not clearly below that of predicting the mean of y, the predictions are NaN, or "
            "the History shows a training loss that barely fell. The checks that blame labels "
            "or thresholds for the predictions are withheld (their causes mean nothing for "
            "such a model); the finding names the findings of the same report that explain "
            "it.",
    fix="Fix the findings it names first (unscaled inputs, the learning rate, the output "
        "activation or the loss); if there are none, train longer and check that row i of x "
        "is the example labelled y[i].",
    doc=NB_SIGMOID,
)
UNTRAINED = rule(
    "fitting.untrained", severity="info",
    title="The model has not been trained yet",
    detects="The compiled optimizer has taken no step (optimizer.iterations is 0 and every "
            "bias is still at its initial 0), or so few steps of a step-bounded optimizer "
            "(Adam, RMSprop, ...) that no weight can have moved by 5% of the weights' size, "
            "and no History was given. The checks of the "
            "model, its compile settings and the data ran; the checks that judge predictions "
            "against y (inverted or permuted labels, thresholds, calibration) wait for "
            "training, because an untrained network ranks two classes backwards about half "
            "the time.",
    fix="Nothing to fix when you check the setup before fit(). Run diagnose again after "
        "training (pass history= if the weights were loaded into a freshly compiled model).",
    doc=NB_CURVES,
)


@dataclass(frozen=True)
class Learning:
    """Did a model learn from (x, y)? ``state`` is one of

    * ``"untrained"``: the optimizer has taken no step (see :func:`training_state`);
    * ``"not-learned"``: trained, but no better than an input-independent baseline;
    * ``"learned"``: trained (or of unknown history) and clearly better than that baseline;
    * ``"unknown"``: the data can't tell (no x or y, several outputs, strings or
      multi-label targets, fewer than ``min_per_class`` rows in a class).

    ``message`` states the evidence; ``evidence`` holds the same numbers.
    """

    state: str
    message: str = ""
    evidence: dict = field(default_factory=dict)


def _value(variable) -> np.ndarray:
    """A Keras variable's value as numpy (``.numpy()``: numpy 2 warns on ``np.array(v)``)."""
    return np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)


def optimizer_steps(model) -> int | None:
    """How many steps the compiled optimizer has taken; None without an optimizer."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    try:
        return int(_value(optimizer.iterations))
    except (AttributeError, TypeError, ValueError):
        return None


def _at_initial_values(model) -> bool:
    """Do the weights look as initialised? Every bias initialised to zeros is still exactly
    0, and no randomly initialised kernel has more than 1% exact zeros (a random draw
    practically never gives 0; weights set by hand, e.g. ``[[4], [0], [0]]``, do)."""
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        stack.extend(getattr(layer, "layers", []))
        for name in ("bias", "kernel"):
            init = type(getattr(layer, f"{name}_initializer", None)).__name__
            try:
                value = getattr(layer, name, None)
            except (AttributeError, ValueError):
                continue
            if value is None or not hasattr(value, "shape") or init == "NoneType":
                continue
            value = _value(value)
            if name == "bias" and init == "Zeros" and np.any(value != 0):
                return False
            if name == "kernel" and init not in ("Zeros", "Constant", "Ones", "Identity") \
                    and value.size and np.mean(value == 0) > 0.01:
                return False
    return True


def training_state(model, history=None) -> str:
    """ "trained", "untrained" or "unknown", from what the model and History tell.

    A History (or dict of curves) means trained. Otherwise the compiled optimizer's step
    count decides (``fit`` and ``train_on_batch`` both advance it, and a model saved to
    .keras with its optimizer keeps it); a count of 0 with biases no longer at their zero
    initial values (or kernels with exact zeros) means weights loaded or set by hand into
    a freshly compiled model: unknown. A few steps of a step-bounded optimizer that can't
    have moved any weight by 5% of the weights' size (:func:`weight_drift_bound`) count as
    untrained. An uncompiled model (or one loaded with ``compile=False``) has no
    optimizer: unknown.
    """
    if history is not None:
        return "trained"
    steps = optimizer_steps(model)
    if steps is None:
        return "unknown"
    if steps > 0:
        moved = weight_drift_bound(model)
        return "trained" if moved is None or moved[0] >= 0.05 * moved[1] else "untrained"
    return "untrained" if _at_initial_values(model) else "unknown"


def _step_bound(optimizer) -> float | None:
    """How many learning rates one step can move a weight at most, whatever the gradient;
    None for optimizers without such a bound (SGD's step grows with the gradient)."""
    name = type(optimizer).__name__
    if name in ("Adam", "AdamW", "Nadam"):
        beta_1 = float(getattr(optimizer, "beta_1", 0.9))
        beta_2 = float(getattr(optimizer, "beta_2", 0.999))
        return max(1.0, (1 - beta_1) / np.sqrt(1 - beta_2))
    if name == "RMSprop":
        rho = float(getattr(optimizer, "rho", 0.9))
        momentum = float(getattr(optimizer, "momentum", 0.0) or 0.0)
        return 1 / np.sqrt(1 - rho) / (1 - momentum) if momentum < 1 else None
    if name in ("Adamax", "Adagrad", "Lion"):
        return 1.0
    return None


def weight_drift_bound(model) -> tuple[float, float] | None:
    """``(bound, size)``: how far any weight can have moved from its initial value in the
    optimizer's steps so far (steps x largest learning rate x the optimizer's step bound:
    about 3.2 learning rates per step for Adam at its defaults), and the root mean square
    of the kernel weights. None when the optimizer's step is not bounded (SGD) or there
    is no kernel. Used by :func:`training_state`: a model whose weights can't have moved
    by 5% of their size (one ``train_on_batch`` step at Adam's default rate) is as good as
    untrained."""
    optimizer = getattr(model, "optimizer", None)
    steps = optimizer_steps(model)
    factor = None if optimizer is None else _step_bound(optimizer)
    kernels = _kernels(model)
    if factor is None or not steps or not kernels:
        return None
    rate = learning_rate(optimizer)
    schedule = _keras.learning_rate_schedule(optimizer)
    if schedule is not None:
        rate = max(rate, float(_value(schedule(0))))
    squares = [np.square(_value(k).astype(float)) for k in kernels]
    size = float(np.sqrt(sum(q.sum() for q in squares) / sum(q.size for q in squares)))
    return float(factor * rate * steps), size


def _entropy(ids: np.ndarray) -> float:
    """Cross-entropy of always predicting the class shares of ``ids`` (their entropy)."""
    shares = np.unique(ids, return_counts=True)[1] / len(ids)
    return float(-(shares * np.log(shares)).sum())


def _history_progress(history) -> bool | None:
    """Did the training loss fall by 5% or more? None when the History can't tell (fewer
    than 2 epochs). A NaN loss is no progress."""
    loss = as_history(history)["loss"]
    if not np.isfinite(loss).all():
        return False
    if len(loss) < 2:
        return None
    return bool(loss[-1] < 0.95 * loss[0])


def _probabilities(p: np.ndarray, out) -> np.ndarray | None:
    """Predictions as class probabilities (from logits when the loss says so), else None."""
    from scipy.special import expit, softmax

    if out.loss is not None and out.loss.from_logits:
        p = expit(p) if p.shape[1] == 1 else softmax(p, axis=1)
    if ((p < -1e-3) | (p > 1 + 1e-3)).any():
        return None
    if p.shape[1] > 1 and np.abs(p.sum(axis=1) - 1).max() > 1e-3:
        return None
    return np.clip(p, 1e-7, 1 - 1e-7)


def learning_state(model, x=None, y=None, history=None, *, z: float = 3.0,
                   min_per_class: int = 10, max_rows: int = 2048,
                   forward=None) -> Learning:
    """Did ``model`` learn from ``x, y``? See :class:`Learning` for the answers.

    1. Trained at all (:func:`training_state`)? If not: ``"untrained"``.
    2. On at most ``max_rows`` rows (evenly spaced), are the predictions better than an
       input-independent baseline, whatever way the classes are coded? Binary: the ROC-AUC
       of the class score is more than ``z`` null standard errors from 0.5 (either side:
       a model that ranks the classes backwards learned them, coded the other way, unless
       it predicts one class for every row: then it diverged or saturated).
       Several classes: a chi-square test of independence of predicted and true classes,
       at the two-sided level of ``z``. Regression: the squared error is below that of
       predicting the mean of y by more than ``z`` standard errors (paired, per row).
       NaN or infinite predictions: not learned.
    3. A model whose classes look separated while the History shows a training loss that
       did not fall by 5%, and whose cross-entropy on these rows is not below half that of
       a constant prediction of the class shares, is not learned: its ranking comes from
       its random initial weights (a random network separates well-separated classes, in
       either direction, about as well as a weakly trained one). A model trained to
       convergence and then fitted again (a flat History) passes on the second condition.
    """
    from scipy.stats import chi2_contingency, norm

    from helpers.checks.labels import auc_with_bound, predicts_one_class

    _validate.as_model(model)
    trained = training_state(model, history)
    if trained == "untrained":
        steps = optimizer_steps(model)
        if not steps:
            return Learning("untrained", "The optimizer has taken no step (model.optimizer."
                            "iterations is 0), every bias is still 0, and no History was "
                            "given.", {"steps": 0})
        bound, size = weight_drift_bound(model)
        return Learning("untrained", f"The optimizer ({type(model.optimizer).__name__}) has "
                        f"taken {steps} step(s) and no History was given: no weight can have "
                        f"moved more than {bound:.2g} from its initial value, "
                        f"{bound / size:.1%} of the weights' typical size ({size:.2g}).",
                        {"steps": steps, "drift_bound": bound, "weight_size": size})
    if x is None or y is None:
        return Learning("unknown")
    try:
        outputs = model_outputs(model)
        labels = _validate.as_labels(y, "y")
        inputs, n = checked_inputs(model, x, forward)
    except (ValueError, TypeError):
        return Learning("unknown")
    if len(outputs) != 1 or labels.dtype.kind in "USO" or len(labels) != n:
        return Learning("unknown")
    out = outputs[0]
    if forward is not None:  # diagnose's sample, evenly spaced within it
        rows = forward.index(max_rows, "even")
        p = forward.predictions(max_rows, "even")[0]
    else:
        rows = _validate.sample_rows(n, max_rows)
        p = _keras.predict(model, _validate.take_rows(inputs, rows))[0]
    p = p.reshape(len(p), -1)
    labels = labels[rows]
    m = len(rows)
    if not np.isfinite(p).all():
        share = float((~np.isfinite(p)).any(axis=1).mean())
        return Learning("not-learned", f"{share:.0%} of its predictions on {m} rows are NaN "
                        "or infinite: the weights diverged.", {"rows": m,
                                                                "share_not_finite": share})
    loss = out.loss.kind if out.loss is not None else None
    if is_regression(labels, loss, out.units):
        target = labels.astype(float).reshape(m, -1)
        if target.shape != p.shape:
            return Learning("unknown")
        gain = ((target - target.mean(axis=0)) ** 2 - (target - p) ** 2).sum(axis=1)
        se = float(gain.std(ddof=1) / np.sqrt(m)) if m > 1 else float("inf")
        r2 = 1 - float(((target - p) ** 2).sum() / max(((target - target.mean(axis=0)) ** 2)
                                                        .sum(), 1e-300))
        evidence = {"rows": m, "r2": r2, "gain": float(gain.mean()), "gain_se": se}
        if gain.mean() > z * se:
            return Learning("learned", f"R^2 {r2:.3f} on {m} rows.", evidence)
        return Learning("not-learned", f"On {m} rows its squared error is no better than "
                        f"always predicting the mean of y (R^2 {r2:.3f}; gain per row "
                        f"{gain.mean():.3g} +/- {se:.3g}).", evidence)
    ids = class_ids(labels)
    if ids is None:
        return Learning("unknown")
    classes, counts = np.unique(ids, return_counts=True)
    if len(classes) < 2 or counts.min() < min_per_class:
        return Learning("unknown")
    units = p.shape[1]
    if len(classes) == 2:
        if units == 1:
            score = p[:, 0]
        elif classes.min() >= 0 and classes.max() < units:
            score = p[:, classes[1]] - p[:, classes[0]]
        else:
            return Learning("unknown")
        y01 = (ids == classes[1]).astype(int)
        auc, _ = auc_with_bound(y01, score, z)
        n1, n0 = int(y01.sum()), int(m - y01.sum())
        null_se = float(np.sqrt((m + 1) / (12 * n1 * n0)))
        informative = abs(auc - 0.5) > z * null_se
        evidence = {"rows": m, "auc": auc, "chance_se": null_se}
        summary = f"ROC-AUC {auc:.3f} on {m} rows (chance: 0.5 +/- {null_se:.3f})"
        if informative and auc < 0.5 and predicts_one_class(score, units):
            predicted = classes[int(score[0] >= (0.5 if units == 1 else 0.0))]
            return Learning("not-learned", f"It predicts class {predicted:g} for every row, "
                            f"and its scores rank the classes backwards: {summary}.", evidence)
    else:
        if classes.min() < 0 or classes.max() >= units or units < 3:
            return Learning("unknown")
        predicted = p.argmax(axis=1)
        table = np.zeros((units, units))
        np.add.at(table, (predicted, ids), 1)
        table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
        p_value = 1.0 if table.shape[0] < 2 else float(
            chi2_contingency(table, correction=False)[1])
        informative = p_value < 2 * norm.sf(z)
        accuracy = float((predicted == ids).mean())
        majority = float(counts.max() / m)
        evidence = {"rows": m, "accuracy": accuracy, "majority": majority, "p_value": p_value}
        summary = (f"accuracy {accuracy:.1%} on {m} rows against {majority:.1%} for the "
                   f"most common class; predicted and true classes independent by a "
                   f"chi-square test (p = {p_value:.2g})")
    if not informative:
        return Learning("not-learned", f"Its scores separate the classes no better than "
                        f"chance: {summary}.", evidence)
    if history is not None and (out.loss is None or loss in BINARY_LOSSES | CATEGORICAL_LOSSES):
        baseline = _entropy(ids)
        if _history_progress(history) is False:
            proba = _probabilities(p, out)
            model_loss = None
            if proba is not None:
                picked = proba[:, 0] if units == 1 else proba[np.arange(m), np.minimum(
                    ids, units - 1)]
                picked = np.where(ids == 1, picked, 1 - picked) if units == 1 else picked
                model_loss = float(-np.log(picked).mean())
            if model_loss is None or model_loss >= 0.5 * baseline:
                evidence.update(constant_loss=baseline, model_loss=model_loss)
                shown = "" if model_loss is None else f" (cross-entropy {model_loss:.3g}; "
                shown += "" if model_loss is None else f"a constant gets {baseline:.3g})"
                return Learning("not-learned", "The History shows a training loss that fell "
                                "by less than 5%, so the way its scores line up with y "
                                f"({summary}{shown}) comes from its random initial "
                                "weights.", evidence)
    return Learning("learned", summary + ".", evidence)


@check(NOT_LEARNED.id, UNTRAINED.id)
def check_learned(model, x, y, history=None, *, forward=None) -> list:
    """Did ``model`` learn from ``x, y``? (:func:`learning_state`.)

    Returns ``fitting.untrained`` (a note) for a model whose optimizer has taken no step,
    ``fitting.not-learned`` for a trained model no better than an input-independent
    baseline, and nothing otherwise. ``helpers.diagnose`` runs it before the outcome
    checks, withholds those for a model that did not learn, and names the findings that
    explain it.
    """
    state = learning_state(model, x, y, history, forward=forward)
    if state.state == "untrained":
        return [UNTRAINED.finding(
            state.message + " Checks that judge predictions against y wait for training.",
            **state.evidence)]
    if state.state == "not-learned":
        return [NOT_LEARNED.finding(
            "The model has not learned from this data. " + state.message
            + " Checks that blame labels or thresholds for its predictions were not run.",
            **state.evidence)]
    return []


@check(DIVERGENCE.id)
def check_prediction_divergence(model, x, y=None, history=None, *, explode: float = 100.0,
                                max_rows: int = 2048, forward=None) -> list:
    """Divergence seen in the predictions, with or without a History: NaN or infinite
    predictions on (at most ``max_rows`` rows of) ``x``, or, for a regression ``y``,
    predictions whose root mean square distance from the mean of y is more than
    ``explode`` times y's standard deviation. When a History already shows the divergence
    (:func:`check_training_stability`), this check stays silent so it is reported once.
    """
    _validate.as_model(model)
    _validate.check_scalar(explode, "explode", float, min_val=1, include_boundaries="neither")
    if history is not None and check_training_stability(history):
        return []
    inputs, n = checked_inputs(model, x, forward)
    # Several outputs: the NaN test only (a list of targets has no one mean and spread).
    labels = None if y is None or len(model.outputs or ()) != 1 else _validate.as_labels(y, "y")
    if labels is not None:
        _validate.same_length(x=n, y=len(labels))
    if forward is not None:
        predictions = forward.predictions(max_rows)
        labels = None if labels is None else labels[forward.index(max_rows)]
    else:
        if n > max_rows:
            inputs = _validate.take_rows(inputs, slice(max_rows))
        predictions = _keras.predict(model, inputs)
    bad = [float((~np.isfinite(p.reshape(len(p), -1))).any(axis=1).mean()) for p in predictions]
    if max(bad) > 0:
        return [DIVERGENCE.finding(
            f"{max(bad):.0%} of the predictions on {len(predictions[0])} rows of x are NaN or "
            "infinite: the weights diverged in training.",
            share_not_finite=max(bad), rows=len(predictions[0]))]
    outputs = model_outputs(model)
    if labels is None or len(outputs) != 1 or labels.dtype.kind in "USO":
        return []
    out = outputs[0]
    if not is_regression(labels, out.loss.kind if out.loss else None, out.units):
        return []
    target = labels.astype(float)[:len(predictions[0])].reshape(len(predictions[0]), -1)
    p = predictions[0].reshape(len(target), -1)
    spread = float(target.std()) or 1.0
    distance = float(np.sqrt(np.mean((p - target.mean()) ** 2)))
    if distance > explode * spread:
        return [DIVERGENCE.finding(
            f"The predictions on {len(p)} rows lie {distance:.3g} from the mean of y on "
            f"average, {distance / spread:.3g} times y's standard deviation "
            f"({spread:.3g}): training exploded.",
            distance=distance, std=spread, ratio=distance / spread, rows=len(p))]
    return []
