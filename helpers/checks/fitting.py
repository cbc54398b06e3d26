"""Checks on training: learning curves (from ``model.fit``'s History) and one-batch probes
of the gradients, the ReLU units and the optimizer's learning rate.

History checks read the per-epoch lists ``fit`` records (``loss``, ``val_loss``,
``accuracy``, ...). They accept a ``keras.callbacks.History`` or a plain dict of lists.
Model checks look at one bounded batch of rows; they never update the weights (variables
a forward pass may touch, such as BatchNormalization's moving statistics, are put back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from helpers import _datasets, _keras, _validate
from helpers._keras import BINARY_LOSSES, CATEGORICAL_LOSSES, _activation_name, model_outputs
from helpers._targets import is_regression, target_kind
from helpers._validate import as_history  # the one home of history validation
from helpers.checks import check, rule

NB_CURVES = "book/fitting/01-underfitting-or-overfitting.ipynb"
NB_TOO_BIG = "book/fitting/02-too-big-for-the-data.ipynb"
NB_OPTIMIZER = "book/fitting/03-does-the-optimizer-matter.ipynb"
NB_SIGMOID = "book/fitting/04-deep-sigmoid-stops-learning.ipynb"
NB_UNSEEN = "book/fitting/05-data-the-model-never-saw.ipynb"
NB_PIPELINE = "book/fitting/13-tf-data-order.ipynb"
NB_BOUNCES = "book/fitting/14-loss-bounces-units-die.ipynb"

STILL_IMPROVING = rule(
    "fitting.still-improving", severity="warning",
    title="Training stopped while the loss was still falling",
    detects="The monitored loss (validation loss when recorded, else training loss) is at "
            "its best in the last epoch and still falling at a good fraction of its average "
            "pace: the curve has not flattened, and more epochs would still help.",
    fix="Train for more epochs (or raise the learning rate a little), with "
        "keras.callbacks.EarlyStopping(monitor='val_loss', restore_best_weights=True) to "
        "decide when to stop.",
    doc=NB_CURVES,
)
OVERFITTING = rule(
    "fitting.overfitting", severity="warning",
    title="Validation loss rises while training loss falls",
    detects="The validation loss reached its minimum several epochs before the end and has "
            "risen clearly since, while the training loss kept falling: the model is "
            "memorizing the training set. The finding names the epoch it started.",
    fix="Keep the weights from the best epoch with EarlyStopping(restore_best_weights=True); "
        "if the best validation score is still poor, use a smaller model, more data, or L2 "
        "and dropout. (Expected, and harmless, when EarlyStopping already restored the best "
        "weights.)",
    doc=NB_TOO_BIG,
)
UNDERFITTING = rule(
    "fitting.underfitting", severity="warning",
    title="Training accuracy is near the majority-class baseline",
    detects="At the end of training the model is barely more accurate on its own training "
            "data than always predicting the most common class of y: it has learned almost "
            "nothing (too small, too few epochs, a learning rate far off, or vanishing "
            "gradients).",
    fix="Check the learning curves and the learning rate first, then give the model more "
        "epochs or capacity; see the gradient checks if the network is deep.",
    doc=NB_CURVES,
)
DIVERGENCE = rule(
    "fitting.divergence", severity="error",
    title="The loss diverged (NaN, infinite or exploding)",
    detects="A NaN or infinite loss, or a training loss that ends far above its best value "
            "and above where it started. The weights are garbage from that point on.",
    fix="Lower the learning rate (ten times is a good first step), scale the inputs, and "
        "look for NaN in the data; gradient clipping (clipnorm=1.0) helps with rare spikes.",
    doc=NB_OPTIMIZER,
)
OSCILLATION = rule(
    "fitting.oscillation", severity="warning",
    title="The training loss goes up and down from epoch to epoch",
    detects="The epoch-average training loss rises by more than 10% from one epoch to the "
            "next repeatedly. Healthy training falls almost every epoch; a loss that bounces "
            "means the steps overshoot (learning rate too high for the batch size).",
    fix="Lower the learning rate (or use a schedule that decays it), or use larger batches.",
    doc=NB_BOUNCES,
)
VANISHING = rule(
    "fitting.vanishing-gradients", severity="warning",
    title="Gradients vanish before they reach the first layers",
    detects="On one batch, the gradient per weight of the first layer is more than a "
            "hundred times smaller than that of the last layer, so the early layers barely "
            "learn. Typical of deep stacks of sigmoid or tanh layers.",
    fix="Use relu (or gelu) hidden layers with He initialization, add BatchNormalization, "
        "or make the network shallower.",
    doc=NB_SIGMOID,
)
EXPLODING = rule(
    "fitting.exploding-gradients", severity="warning",
    title="Gradients grow towards the first layers",
    detects="On one batch, the gradient per weight of the first layer is more than a "
            "hundred times larger than that of the last layer, or some gradient is not finite. "
            "The early layers then take steps out of proportion with the rest (the weights "
            "of the layers are badly out of scale with each other), or training is about to "
            "produce NaN.",
    fix="Scale the inputs, use the default Glorot/He initializers, add BatchNormalization, "
        "or clip gradients (clipnorm=1.0).",
    doc=NB_BOUNCES,
)
DEAD_RELU = rule(
    "fitting.dead-relu", severity="warning",
    title="Many ReLU units output zero for every input",
    detects="In a relu layer, at least half of the units output exactly 0 on every row of "
            "the batch. A dead unit gets no gradient and never recovers; it is usually "
            "killed by a learning rate that is too high.",
    fix="Lower the learning rate, use He initialization, or use leaky_relu / gelu.",
    doc=NB_BOUNCES,
)
LEARNING_RATE = rule(
    "fitting.learning-rate", severity="warning",
    title="Learning rate outside the usual range for the optimizer",
    detects="The optimizer's learning rate is far outside the range where it usually works "
            "(Adam, AdamW, Nadam, Adamax, RMSprop: 1e-5 to 0.03; SGD and Adagrad: 1e-4 to "
            "1; Lion: 1e-6 to 3e-3). Too high diverges or bounces, too low stalls.",
    fix="Start from the optimizer's default (Adam and RMSprop 1e-3, SGD 0.01 with momentum "
        "0.9) and tune by factors of three on a validation set.",
    doc=NB_OPTIMIZER,
)

SHUFFLE_AFTER_BATCH = rule(
    "fitting.shuffle-after-batch", severity="warning",
    title="Batches shuffled, rows never mixed",
    detects="A tf.data pipeline that shuffles after batch(): every pass gives the same "
            "batches, only in another order, so the rows that share a batch never change. "
            "On a file sorted by class every batch holds one class, forever.",
    fix="Shuffle rows before batching: dataset.shuffle(buffer).batch(n), with a buffer as "
        "large as the dataset if it fits in memory.",
    doc=NB_PIPELINE,
)
CLASS_SORTED = rule(
    "fitting.class-sorted-batches", severity="warning",
    title="Training batches that come in runs of one class",
    detects="Along one pass over a tf.data pipeline, a row's neighbour has the same label "
            "far more often than in a random order: the data is sorted (or grouped) by "
            "class and not shuffled, or shuffled with a buffer much smaller than the runs "
            "of one class. The model is pulled to one class after another and ends each "
            "epoch biased to the last one.",
    fix="Shuffle the rows once before writing them, or shuffle with a buffer at least as "
        "large as the dataset (or interleave class-wise files) before batching.",
    doc=NB_PIPELINE,
)
SPLIT_RESHUFFLES = rule(
    "fitting.split-reshuffles", severity="error",
    title="Validation rows drawn again on every pass",
    detects="The validation dataset holds other rows on each pass, and rows the training "
            "dataset also gives: a take()/skip() split of a dataset that reshuffles each "
            "iteration (Dataset.shuffle's default). Over the epochs the model trains on "
            "every validation row, so validation scores are too good.",
    fix="Split before shuffling (take/skip on a fixed order, then shuffle the training part "
        "only), or shuffle with reshuffle_each_iteration=False before the split, or split "
        "the arrays with train_test_split.",
    doc=NB_PIPELINE,
)
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

#: Learning-rate ranges outside which an optimizer is very unlikely to work well.
LR_RANGES = {
    "Adam": (1e-5, 0.03), "AdamW": (1e-5, 0.03), "Nadam": (1e-5, 0.03),
    "Adamax": (1e-5, 0.03), "RMSprop": (1e-5, 0.03), "SGD": (1e-4, 1.0),
    "Adagrad": (1e-4, 1.0), "Lion": (1e-6, 3e-3),
}
ACCURACY_KEYS = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy",
                 "sparse_categorical_accuracy")


# ---------------------------------------------------------------------------------------
# Learning curves
# ---------------------------------------------------------------------------------------

def _stopped_early(history, h: dict) -> bool:
    params = getattr(history, "params", None) or {}
    planned = params.get("epochs") if isinstance(params, Mapping) else None
    return isinstance(planned, (int, np.integer)) and len(h["loss"]) < planned


def _monitored(h: dict) -> tuple[str, np.ndarray]:
    return ("val_loss", h["val_loss"]) if "val_loss" in h else ("loss", h["loss"])


def _tail(values: np.ndarray, k: int) -> float:
    return float(np.mean(values[-k:]))


@check(DIVERGENCE.id, OSCILLATION.id)
def check_training_stability(history, *, explode: float = 10.0, rise: float = 0.10,
                             max_rises: int = 2) -> list:
    """Divergence (non-finite loss, or a training loss that ends ``explode`` times above
    its best and above its start) and oscillation (``max_rises`` or more epoch-to-epoch
    rises of the training loss by more than ``rise``, relative)."""
    h = as_history(history)
    if not (isinstance(explode, (int, float)) and explode > 1):
        raise ValueError(f"explode must be a number above 1, got {explode!r}")
    if not (isinstance(rise, (int, float)) and rise > 0):
        raise ValueError(f"rise must be a positive number, got {rise!r}")
    for key in ("loss", "val_loss"):
        values = h.get(key)
        if values is not None and not np.isfinite(values).all():
            epoch = int(np.argmax(~np.isfinite(values))) + 1
            return [DIVERGENCE.finding(
                f"{key} is {values[epoch - 1]} from epoch {epoch} of {len(values)} on.",
                metric=key, epoch=epoch, epochs=len(values))]
    loss = h["loss"]
    n = len(loss)
    if n < 3:
        return []
    best = float(loss.min())
    last = float(loss[-1])
    if last > explode * max(best, 1e-12) and last > loss[0]:
        return [DIVERGENCE.finding(
            f"The training loss ended at {last:.3g}, {last / max(best, 1e-12):.0f} times its "
            f"best value {best:.3g} (epoch {int(loss.argmin()) + 1}) and above its first-epoch "
            f"value {loss[0]:.3g}.",
            metric="loss", last=last, best=best, first=float(loss[0]),
            best_epoch=int(loss.argmin()) + 1, epochs=n)]
    change = np.diff(loss) / np.maximum(np.abs(loss[:-1]), 1e-12)
    rises = np.flatnonzero(change > rise)
    if len(rises) >= max(max_rises, 0.2 * (n - 1)):
        return [OSCILLATION.finding(
            f"The training loss rose by more than {rise:.0%} between consecutive epochs "
            f"{len(rises)} times in {n} epochs (largest rise {change.max():.0%}, after epoch "
            f"{int(change.argmax()) + 1}).",
            rises=len(rises), epochs=n, largest_rise=float(change.max()),
            rise_epochs=[int(i) + 2 for i in rises])]
    return []


@check(STILL_IMPROVING.id, OVERFITTING.id)
def check_learning_curves(history, *, min_improvement: float = 0.01,
                          min_pace: float = 0.25, min_rise: float = 0.10,
                          patience: int = 3) -> list:
    """Still improving at the last epoch, or overfitting.

    *Still improving*: the monitored loss (``val_loss`` if recorded, else ``loss``) is at
    its minimum in the last epoch, fell by more than ``min_improvement`` (relative) over
    the last ``k = max(2, n // 5)`` epochs, and was still falling at least ``min_pace``
    times as fast per epoch there as over the whole run (a flattened curve is converged
    even if it still creeps down).
    *Overfitting* (needs ``val_loss``): the validation minimum is at least ``patience``
    epochs before the end, the mean of the last ``patience`` validation losses is more
    than ``min_rise`` (relative) above that minimum, and the training loss kept falling.

    A run that a callback stopped early (a ``History`` whose ``params["epochs"]`` is more
    than the epochs recorded) is not reported as overfitting: EarlyStopping ends a run
    exactly when the validation loss has risen for ``patience`` epochs, and with
    ``restore_best_weights=True`` the model is the one from the best epoch. A plain dict
    carries no ``params``, so it is judged on the curve alone.
    """
    h = as_history(history)
    stopped_early = _stopped_early(history, h)
    if not (isinstance(patience, (int, np.integer)) and patience >= 1):
        raise ValueError(f"patience must be a positive integer, got {patience!r}")
    key, monitored = _monitored(h)
    n = len(monitored)
    if n < 3 or not np.isfinite(monitored).all() or not np.isfinite(h["loss"]).all():
        return []  # too short to read, or diverged (check_training_stability reports that)
    found = []
    k = min(max(2, n // 5), n - 1)
    best_epoch = int(np.argmin(monitored))
    before, last = float(monitored[-1 - k]), float(monitored[-1])
    improvement = (before - last) / max(abs(before), 1e-12)
    pace = ((before - last) / k) / max((float(monitored[0]) - last) / (n - 1), 1e-12)
    if best_epoch == n - 1 and improvement > min_improvement and pace >= min_pace:
        found.append(STILL_IMPROVING.finding(
            f"{key} was still falling at the last epoch: {before:.4g} -> "
            f"{last:.4g} ({improvement:.1%}) over the last {k} of {n} epochs, at "
            f"{pace:.0%} of its average pace over the whole run.",
            metric=key, improvement=improvement, pace=pace, window=k, epochs=n))
    if ("val_loss" in h and not stopped_early and n >= patience + 2
            and best_epoch <= n - 1 - patience):
        val, train = h["val_loss"], h["loss"]
        best = float(val[best_epoch])
        end = _tail(val, patience)
        risen = (end - best) / max(abs(best), 1e-12)
        train_fell = _tail(train, patience) < float(train[best_epoch])
        if risen > min_rise and train_fell:
            found.append(OVERFITTING.finding(
                f"val_loss was lowest at epoch {best_epoch + 1} ({best:.4g}) and averaged "
                f"{end:.4g} over the last {patience} of {n} epochs ({risen:.0%} higher), while "
                f"the training loss fell from {train[best_epoch]:.4g} to {train[-1]:.4g}.",
                best_epoch=best_epoch + 1, started_epoch=best_epoch + 2, best_val_loss=best,
                final_val_loss=float(val[-1]), rise=risen, epochs=n))
    return found


def _majority_share(y: np.ndarray) -> float | None:
    kind = target_kind(y)
    if kind in ("continuous", "multi-label"):
        return None  # no single majority class to compare with
    labels = y.argmax(axis=1) if kind == "one-hot" else y
    _, counts = np.unique(labels, return_counts=True)
    return float(counts.max() / counts.sum())


@check(UNDERFITTING.id)
def check_underfitting(history, y=None, *, min_gain: float = 0.1) -> list:
    """Training accuracy that closed less than ``min_gain`` of the gap between the
    majority-class baseline and 100%.

    The baseline is the share of the most common class in ``y`` (the training labels).
    Without ``y`` there is no baseline to compare with (an accuracy of 0.9 is excellent on
    balanced classes and worthless on a 90/10 split), so the check returns no finding; the
    same for regression or multi-label targets. It also needs an accuracy metric in the
    history (``metrics=["accuracy"]``).
    """
    h = as_history(history)
    if not (isinstance(min_gain, (int, float)) and 0 < min_gain < 1):
        raise ValueError(f"min_gain must be a number in (0, 1), got {min_gain!r}")
    if y is None:
        return []
    labels = _validate.as_labels(y, "y")
    key = next((k for k in ACCURACY_KEYS if k in h), None)
    if key is None or not np.isfinite(h[key]).all():
        return []
    baseline = _majority_share(labels)
    if baseline is None or baseline >= 1:
        return []
    accuracy = _tail(h[key], min(3, len(h[key])))
    gain = (accuracy - baseline) / (1 - baseline)
    if gain >= min_gain:
        return []
    return [UNDERFITTING.finding(
        f"Training {key} over the last epochs is {accuracy:.1%}; always predicting the most "
        f"common class of y would score {baseline:.1%}. The model closed {max(gain, 0):.0%} "
        "of the gap to a perfect fit of its own training data.",
        metric=key, accuracy=accuracy, baseline=baseline, gain=gain)]


# ---------------------------------------------------------------------------------------
# One-batch probes of the model
# ---------------------------------------------------------------------------------------

def _rows(inputs, n: int):
    if isinstance(inputs, dict):
        return {k: v[:n] for k, v in inputs.items()}
    if isinstance(inputs, list):
        return [v[:n] for v in inputs]
    return inputs[:n]


def _kernels(model) -> list:
    return [w for w in model.trainable_weights if w.path.split("/")[-1] == "kernel"]


class LossError(ValueError):
    """The compiled loss can't be computed on the given labels (shape or type mismatch)."""


def layer_gradient_norms(model, x, y, *, max_rows: int = 256) -> list[tuple[str, float]]:
    """RMS gradient of the loss per kernel weight, first layer to last, on one batch.

    The batch is the first ``max_rows`` rows of ``x`` and ``y``. The model is run in
    training mode (dropout on, BatchNormalization on batch statistics, as in ``fit``);
    every non-trainable variable is restored afterwards and no weight is updated.
    """
    import keras
    import tensorflow as tf

    _validate.as_model(model, compiled=True)
    inputs, n = _validate.as_inputs(x, "x", model)
    labels = _validate.as_labels(y, "y")
    _validate.same_length(x=n, y=len(labels))
    if not (isinstance(max_rows, (int, np.integer)) and max_rows >= 1):
        raise ValueError(f"max_rows must be a positive integer, got {max_rows!r}")
    inputs, labels = _rows(inputs, max_rows), labels[:max_rows]
    if labels.dtype.kind in "USO":
        raise TypeError("y must be numeric to compute the loss, got values of type "
                        f"{labels.dtype} such as {labels.ravel()[0]!r}")
    kernels = _kernels(model)
    if not kernels:
        return []
    saved = [v.numpy() for v in model.non_trainable_variables]
    try:
        with tf.GradientTape() as tape:
            predicted = model(inputs, training=True)
            loss = model.compute_loss(x=inputs, y=labels, y_pred=predicted, training=True)
        grads = tape.gradient(loss, kernels)
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as exc:
        raise LossError(f"y: the model's loss could not be computed on these labels "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    finally:
        for v, value in zip(model.non_trainable_variables, saved):
            v.assign(value)
    out = []
    for w, g in zip(kernels, grads):
        if g is None:
            continue
        g = keras.ops.convert_to_numpy(g).astype(float)
        out.append((w.path.rsplit("/", 1)[0], float(np.sqrt(np.mean(g ** 2)))))
    return out


@check(VANISHING.id, EXPLODING.id, compiled=True, single_output=True)
def check_gradients(model, x, y, *, ratio: float = 100.0, max_rows: int = 256) -> list:
    """Compare the first layer's RMS gradient per weight with the last layer's, on one
    batch of at most ``max_rows`` rows (see :func:`layer_gradient_norms`).

    Vanishing: first / last < 1 / ``ratio``. Exploding: first / last > ``ratio``, or any
    gradient that is not finite. Models with fewer than three kernel layers are skipped,
    and so are labels the loss can't use (strings, or a shape the loss rejects: the label
    checks report those), so ``helpers.diagnose`` never stops here.
    """
    if not (isinstance(ratio, (int, float)) and ratio > 1):
        raise ValueError(f"ratio must be a number above 1, got {ratio!r}")
    _validate.as_model(model, compiled=True)
    _validate.as_inputs(x, "x", model)
    if y is not None and _validate.as_labels(y, "y").dtype.kind in "USO":
        return []
    try:
        norms = layer_gradient_norms(model, x, y, max_rows=max_rows)
    except LossError:
        return []
    if len(norms) < 3:
        return []
    (first_layer, first), (last_layer, last) = norms[0], norms[-1]
    evidence = dict(first_layer=first_layer, last_layer=last_layer, first=first, last=last,
                    layers=len(norms), norms={name: value for name, value in norms})
    if not all(np.isfinite(v) for _, v in norms):
        bad = [name for name, v in norms if not np.isfinite(v)]
        return [EXPLODING.finding(f"The gradients of {bad} are not finite on one batch.",
                                  ratio=float("nan"), **evidence)]
    if last == 0:
        return []  # nothing to compare with (e.g. a dead output); other checks cover it
    r = first / last
    where = (f"RMS gradient per weight: {first:.2e} in the first layer {first_layer!r}, "
             f"{last:.2e} in the last layer {last_layer!r}")
    if r < 1 / ratio:
        return [VANISHING.finding(
            f"{where}: the first layer gets {1 / max(r, 1e-300):.3g} times less "
            f"({len(norms)} layers).", ratio=r, **evidence)]
    if r > ratio:
        return [EXPLODING.finding(
            f"{where}: the first layer gets {r:.3g} times more ({len(norms)} layers).",
            ratio=r, **evidence)]
    return []


def _tap(model, tensors, inputs, max_rows: int):
    """The values of graph ``tensors`` of ``model`` on (at most ``max_rows`` of) ``inputs``,
    in inference mode, as a list; None for a model without a graph (subclassed)."""
    import keras

    try:
        graph_inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        probe = keras.Model(graph_inputs, tensors)
    except (AttributeError, ValueError, TypeError):
        return None
    outputs = probe(_rows(inputs, max_rows), training=False)
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _relu_layers(model) -> list:
    import keras

    found = []
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.Model):  # a nested model's tensors are not in this graph
            continue
        if type(layer).__name__ == "ReLU":
            found.append(layer)
        elif hasattr(layer, "activation") and _activation_name(layer.activation) == "relu":
            found.append(layer)
    return found


@check(DEAD_RELU.id)
def check_dead_relu(model, x, *, max_share: float = 0.5, max_rows: int = 512) -> list:
    """Share of units in each relu layer that output exactly 0 on every one of the first
    ``max_rows`` rows of ``x``; flagged when it reaches ``max_share``. Units of
    convolutional layers count per channel; units whose outputs are NaN (diverged
    weights) are left out of the count."""
    import keras

    _validate.as_model(model)
    if not (isinstance(max_share, (int, float)) and 0 < max_share <= 1):
        raise ValueError(f"max_share must be a number in (0, 1], got {max_share!r}")
    inputs, _ = _validate.as_inputs(x, "x", model)
    layers = _relu_layers(model)
    if not layers:
        return []
    outputs = _tap(model, [layer.output for layer in layers], inputs, max_rows)
    if outputs is None:
        return []  # subclassed models have no graph to tap
    found = []
    for layer, out in zip(layers, outputs):
        out = keras.ops.convert_to_numpy(out)
        per_unit = out.reshape(-1, out.shape[-1])
        # NaN outputs mean diverged weights, not dead units (check_training_stability).
        finite = np.isfinite(per_unit).all(axis=0)
        if not finite.any():
            continue
        dead = ~(per_unit[:, finite] > 0).any(axis=0)
        share = float(dead.mean())
        if share >= max_share:
            found.append(DEAD_RELU.finding(
                f"Layer {layer.name!r}: {int(dead.sum())} of {dead.size} relu units ({share:.0%}) "
                f"output 0 on all {len(out)} rows.",
                layer=layer.name, dead=int(dead.sum()), units=int(dead.size), share=share,
                rows=len(out)))
    return found


def learning_rate(optimizer) -> float:
    """The optimizer's current learning rate as a float (schedules at the current step)."""
    import keras

    value = getattr(optimizer, "_learning_rate", None)
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        value = value(optimizer.iterations)
    else:
        value = optimizer.learning_rate
    return float(value.numpy() if hasattr(value, "numpy") else value)


@check(LEARNING_RATE.id, compiled=True)
def check_learning_rate(model) -> list:
    """The compiled optimizer's learning rate against :data:`LR_RANGES` (wide ranges: only
    clear mistakes fire). Optimizers not in the table are not judged."""
    _validate.as_model(model, compiled=True)
    optimizer = getattr(model, "optimizer", None)
    name = type(optimizer).__name__
    if optimizer is None or name not in LR_RANGES:
        return []
    lr = learning_rate(optimizer)
    low, high = LR_RANGES[name]
    if low <= lr <= high:
        return []
    side = "above" if lr > high else "below"
    return [LEARNING_RATE.finding(
        f"{name} has learning_rate={lr:.3g}, {side} the usual range {low:g} to {high:g}.",
        optimizer=name, learning_rate=lr, low=low, high=high)]


# ---------------------------------------------------------------------------------------
# tf.data pipelines
# ---------------------------------------------------------------------------------------

def _same_neighbour_rate(ids: np.ndarray) -> tuple[float, float, float]:
    """Share of rows whose neighbour has the same label, what a random order gives, and
    the null standard error of the first."""
    n = len(ids)
    counts = np.bincount(ids).astype(float)
    expected = float((counts * (counts - 1)).sum() / (n * (n - 1)))
    rate = float((ids[1:] == ids[:-1]).mean())
    se = float(np.sqrt(max(expected * (1 - expected), 1e-12) / (n - 1)))
    return rate, expected, se


@check(SHUFFLE_AFTER_BATCH.id, CLASS_SORTED.id, SPLIT_RESHUFFLES.id)
def check_input_pipeline(x, *, validation=None, max_rows: int = 10000, min_gap: float = 0.2,
                         z: float = 5.0) -> list:
    """Read the training dataset ``x`` (and ``validation``) pass by pass, as ``fit`` does.

    ``x`` is a ``tf.data.Dataset`` of ``(features, labels)`` batches (arrays give no
    finding: ``fit`` shuffles them itself). Each pass reads at most ``max_rows`` rows;
    the checks that compare whole passes need complete ones. Fires:

    - ``fitting.shuffle-after-batch`` when two passes give the same batches (as sets of
      rows) in a different order;
    - ``fitting.class-sorted-batches`` when, along one pass, a row's neighbour has the
      same class more often than a random order gives by at least ``min_gap`` and by
      ``z`` null standard errors;
    - ``fitting.split-reshuffles`` when ``validation`` gives a different set of rows on
      its second pass than on its first; the message says how many of its rows the
      training passes also gave.
    """
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 2:
        raise ValueError(f"max_rows must be an integer of at least 2, got {max_rows!r}")
    for name, value in (("min_gap", min_gap), ("z", z)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not _datasets.is_dataset(x):
        return []
    if validation is not None and not _datasets.is_dataset(validation):
        raise TypeError("validation must be a tf.data.Dataset, got "
                        f"{_validate.describe(validation)}")
    first, second = (_datasets.one_pass(x, "x", max_rows=max_rows) for _ in range(2))
    found = []
    whole = [b for b in first.batches if len(b) > 1]
    if (first.complete and second.complete and len(whole) >= 2
            and first.batches != second.batches
            and sorted(map(sorted, first.batches)) == sorted(map(sorted, second.batches))):
        found.append(SHUFFLE_AFTER_BATCH.finding(
            f"Two passes over x give the same {len(first.batches)} batches in another order: "
            "no row ever changes batch, so the batches' mix of classes never changes.",
            batches=len(first.batches), rows=first.rows))
    ids = _datasets.class_ids(first.labels)
    if ids is not None and len(ids) >= 20 and len(np.unique(ids)) >= 2:
        rate, expected, se = _same_neighbour_rate(ids)
        if rate - expected >= min_gap and (rate - expected) / se > z:
            ends = np.cumsum([len(b) for b in first.batches])
            pure = float(np.mean([len(np.unique(ids[e - len(b):e])) == 1
                                  for b, e in zip(first.batches, ends) if len(b) > 1]
                                 or [0.0]))
            found.append(CLASS_SORTED.finding(
                f"Along one pass of {len(ids)} rows, {rate:.1%} of neighbouring rows share "
                f"their class, against {expected:.1%} in a random order; {pure:.1%} of the "
                "batches hold a single class.",
                rows=len(ids), same_neighbour=rate, expected=expected,
                single_class_batches=pure))
    if validation is not None:
        v1, v2 = (_datasets.one_pass(validation, "validation", max_rows=max_rows)
                  for _ in range(2))
        if v1.complete and v2.complete and set(v1.keys) != set(v2.keys):
            changed = 1 - len(set(v1.keys) & set(v2.keys)) / max(len(set(v1.keys)), 1)
            seen = set(first.keys) | set(second.keys)
            overlap = float(np.mean([k in seen for k in v2.keys]))
            found.append(SPLIT_RESHUFFLES.finding(
                f"Two passes over the validation data share only {1 - changed:.1%} of their "
                f"{len(v1.keys)} rows, and {overlap:.1%} of the rows of the second pass "
                "also came out of two passes over x: the model trains on validation rows.",
                rows=len(v1.keys), share_changed=changed, share_in_training=overlap))
    return found

# ---------------------------------------------------------------------------------------
# Did the model learn?
# ---------------------------------------------------------------------------------------

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
    import keras

    optimizer = getattr(model, "optimizer", None)
    steps = optimizer_steps(model)
    factor = None if optimizer is None else _step_bound(optimizer)
    kernels = _kernels(model)
    if factor is None or not steps or not kernels:
        return None
    rate = learning_rate(optimizer)
    schedule = getattr(optimizer, "_learning_rate", None)
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
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
                   min_per_class: int = 10, max_rows: int = 2048) -> Learning:
    """Did ``model`` learn from ``x, y``? See :class:`Learning` for the answers.

    1. Trained at all (:func:`training_state`)? If not: ``"untrained"``.
    2. On at most ``max_rows`` rows (evenly spaced), are the predictions better than an
       input-independent baseline, whatever way the classes are coded? Binary: the ROC-AUC
       of the class score is more than ``z`` null standard errors from 0.5 (either side:
       a model that ranks the classes backwards learned them, coded the other way).
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

    from helpers.checks.labels import auc_with_bound

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
        inputs, n = _validate.as_inputs(x, "x", model)
    except (ValueError, TypeError):
        return Learning("unknown")
    if len(outputs) != 1 or labels.dtype.kind in "USO" or len(labels) != n:
        return Learning("unknown")
    out = outputs[0]
    rows = np.arange(n) if n <= max_rows else np.linspace(0, n - 1, max_rows).astype(int)
    if isinstance(inputs, dict):
        inputs = {k: v[rows] for k, v in inputs.items()}
    elif isinstance(inputs, list):
        inputs = [v[rows] for v in inputs]
    else:
        inputs = inputs[rows]
    p = _keras.predict(model, inputs)[0]
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
    kind = target_kind(labels)
    if kind not in ("binary", "class-ids", "one-hot"):
        return Learning("unknown")
    ids = labels.argmax(axis=1) if kind == "one-hot" else labels.astype(np.int64)
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
def check_learned(model, x, y, history=None) -> list:
    """Did ``model`` learn from ``x, y``? (:func:`learning_state`.)

    Returns ``fitting.untrained`` (a note) for a model whose optimizer has taken no step,
    ``fitting.not-learned`` for a trained model no better than an input-independent
    baseline, and nothing otherwise. ``helpers.diagnose`` runs it before the outcome
    checks, withholds those for a model that did not learn, and names the findings that
    explain it.
    """
    state = learning_state(model, x, y, history)
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
                                max_rows: int = 2048) -> list:
    """Divergence seen in the predictions, with or without a History: NaN or infinite
    predictions on (at most ``max_rows`` rows of) ``x``, or, for a regression ``y``,
    predictions whose root mean square distance from the mean of y is more than
    ``explode`` times y's standard deviation. When a History already shows the divergence
    (:func:`check_training_stability`), this check stays silent so it is reported once.
    """
    _validate.as_model(model)
    if isinstance(explode, bool) or not isinstance(explode, (int, float)) or explode <= 1:
        raise ValueError(f"explode must be a number above 1, got {explode!r}")
    if history is not None and check_training_stability(history):
        return []
    inputs, n = _validate.as_inputs(x, "x", model)
    # Several outputs: the NaN test only (a list of targets has no one mean and spread).
    labels = None if y is None or len(model.outputs or ()) != 1 else _validate.as_labels(y, "y")
    if labels is not None:
        _validate.same_length(x=n, y=len(labels))
    if n > max_rows:
        inputs = _rows(inputs, max_rows)
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
# Validation rows taken from the end of y (validation_split on sorted data)
# ---------------------------------------------------------------------------------------

NB_VALIDATION_SPLIT = "book/fitting/10-validation-split-takes-the-last-rows.ipynb"

VALIDATION_SPLIT_SORTED = rule(
    "fitting.validation-split-sorted", severity="warning",
    title="The last rows of y are all one class, and fit recorded validation metrics",
    detects="y is ordered by class and its last rows (at least 5%) are all the same class, "
            "while the History has val_ metrics. fit(validation_split=f) takes the LAST f "
            "of the rows as they are, before any shuffling: on sorted data it validates on "
            "one class only and removes that class's rows from training, so the validation "
            "scores describe one class (often 0% or 100%) and the model may never see it.",
    fix="Shuffle x and y together before fit (sklearn.utils.shuffle(x, y)), or hold out a "
        "stratified validation set with train_test_split(..., stratify=y) and pass "
        "validation_data=(x_val, y_val).",
    doc=NB_VALIDATION_SPLIT,
)


def _class_ids(labels: np.ndarray) -> np.ndarray | None:
    """Class id per row for class-id, binary, one-hot and string labels; None otherwise."""
    kind = target_kind(labels)
    if kind in ("continuous", "multi-label"):
        return None
    if kind == "one-hot":
        return labels.argmax(axis=1)
    return np.unique(labels, return_inverse=True)[1].ravel()


@check(VALIDATION_SPLIT_SORTED.id)
def check_validation_split(history, y, *, min_share: float = 0.05, min_rows: int = 10) -> list:
    """y ordered by class, with validation metrics in the History.

    Fires when ``history`` records validation metrics (a ``val_`` key) and the last rows
    of ``y`` form one unbroken run of a single class covering at least ``min_share`` of
    the rows (and ``min_rows`` rows), with other classes before it. In shuffled data that
    run is a few rows long. ``y`` is the label array as it was passed to ``fit``.
    Regression and multi-label targets are not judged.
    """
    h = as_history(history)
    if not (isinstance(min_share, (int, float)) and 0 < min_share < 1):
        raise ValueError(f"min_share must be a number in (0, 1), got {min_share!r}")
    labels = _validate.as_labels(y, "y")
    if not any(k.startswith("val_") for k in h):
        return []
    ids = _class_ids(labels)
    if ids is None or len(np.unique(ids)) < 2:
        return []
    last = ids[-1]
    changes = np.flatnonzero(ids != last)
    run = len(ids) - (int(changes[-1]) + 1)
    share = run / len(ids)
    if share < min_share or run < min_rows:
        return []
    name = labels[-1] if target_kind(labels) != "one-hot" else int(last)
    name = name.item() if hasattr(name, "item") else name
    of_class = int((ids == last).sum())
    val = {k: float(v[-1]) for k, v in h.items() if k.startswith("val_") and len(v)}
    return [VALIDATION_SPLIT_SORTED.finding(
        f"The last {run} of {len(ids)} rows of y ({share:.0%}) are all class {name!r} "
        f"({run} of its {of_class} rows). With validation_split up to {share:.2g} the "
        f"validation set is class {name!r} alone; last-epoch validation metrics: "
        + ", ".join(f"{k}={v:.3g}" for k, v in val.items()) + ".",
        last_class=name, run=run, share=share, rows=len(ids), class_rows=of_class,
        runs=int(np.count_nonzero(np.diff(ids))) + 1, validation=val)]


# ---------------------------------------------------------------------------------------
# Checks before training: the loss at initialisation, the output bias, and two short
# training probes on a copy of the model (helpers.preflight runs all four)
# ---------------------------------------------------------------------------------------

NB_PREFLIGHT = "book/fitting/12-checks-before-you-train.ipynb"

INITIAL_LOSS = rule(
    "fitting.initial-loss", severity="warning",
    title="Before training, the loss is far above what a model that knows nothing scores",
    detects="On an untrained classifier the cross-entropy is more than twice -log(1/C) "
            "(log 2 for a binary output), the loss of predicting every class as equally "
            "likely, or not finite. Random initial weights should predict roughly that; a "
            "loss far above it means confident wrong outputs from the start: unscaled "
            "inputs, an output activation that doesn't match the loss, or labels in the "
            "wrong format.",
    fix="Scale the inputs (a Normalization layer), check that the output activation and "
        "from_logits match the loss, and check the labels' format; the loss at step 0 "
        "should be near -log(1/C).",
    doc=NB_PREFLIGHT,
)
OUTPUT_BIAS_PRIOR = rule(
    "fitting.output-bias-prior", severity="info",
    title="Imbalanced classes, and the output bias starts at 0 instead of the class prior",
    detects="The classes are imbalanced (the rarest class has less than a quarter of the "
            "rows of the most common one) and the untrained output layer's bias is more than "
            "1 (in logits) away from the log of the class shares. The first epochs are then "
            "spent learning the class shares, and the loss curve starts with a drop that "
            "says nothing about the inputs.",
    fix="Initialise the output bias to the prior: for a sigmoid output "
        "bias_initializer=keras.initializers.Constant(np.log(p / (1 - p))) with p the "
        "positive share; for softmax, Constant(np.log(class_shares)).",
    doc=NB_PREFLIGHT,
)
CANNOT_OVERFIT = rule(
    "fitting.cannot-overfit-batch", severity="error",
    title="The model cannot fit one small batch",
    detects="A copy of the model, trained with its own optimizer and loss on one batch of "
            "32 rows for 100 steps, does not halve the loss on that batch. Any working "
            "network memorises 32 rows; one that can't has a bug between the loss and the "
            "weights: a wrong output activation for the loss, frozen layers, a learning "
            "rate near zero, or labels the loss misreads.",
    fix="Fix the setup until one batch can be fitted (loss near 0) before training on the "
        "full data: check the output activation against the loss, layer.trainable, the "
        "learning rate and the labels' format.",
    doc=NB_PREFLIGHT,
)
IGNORES_INPUTS = rule(
    "fitting.ignores-inputs", severity="warning",
    title="The model learns no more from the inputs than from zeros",
    detects="Two copies of the model, trained briefly on the same rows, one on the real "
            "inputs and one on inputs set to zero, reach the same loss on held-out rows. "
            "The zero-input copy can only learn the class shares, so the model found nothing "
            "in the inputs: labels out of step with the rows, inputs that carry no signal, "
            "or a model that can't read them.",
    fix="Check that x and y rows line up (shuffle them together), that the inputs reach "
        "the model as intended, and compare with a simple model (logistic regression) on "
        "the same data.",
    doc=NB_PREFLIGHT,
)

PREFLIGHT_LOSSES = ("binary_crossentropy", "categorical_crossentropy",
                    "sparse_categorical_crossentropy")


def _untrained(model) -> bool:
    iterations = getattr(getattr(model, "optimizer", None), "iterations", None)
    if iterations is None:
        return False
    return int(np.asarray(iterations.numpy() if hasattr(iterations, "numpy") else iterations)) == 0


def _loss_value(loss, y_true, y_pred) -> float:
    """Mean of ``loss`` (a compiled loss: string, function or object) on the rows given."""
    import keras

    fn = keras.losses.get(loss) if isinstance(loss, str) else loss
    return float(np.mean(keras.ops.convert_to_numpy(fn(y_true, y_pred))))


def _class_shares(labels: np.ndarray, kind: str, units: int) -> np.ndarray | None:
    """Share of each class for a classification loss, or None if the labels don't fit."""
    target = target_kind(labels)
    if kind == "binary_crossentropy":
        if units != 1 or target != "binary":
            return None
        p = float(np.mean(labels))
        return np.array([1 - p, p])
    if kind == "sparse_categorical_crossentropy" and target in ("binary", "class-ids"):
        ids = labels.astype(int)
        if ids.min() < 0 or ids.max() >= units:
            return None
        return np.bincount(ids, minlength=units) / len(ids)
    if kind == "categorical_crossentropy" and target == "one-hot" and labels.shape[1] == units:
        return labels.mean(axis=0)
    return None


def _output_bias(model, units: int):
    for layer in reversed(model.layers):
        bias = getattr(layer, "bias", None)
        if bias is not None:
            value = np.asarray(bias.numpy(), dtype=float).ravel()
            return (layer.name, value) if value.size == units else None
    return None


def clone_for_probe(model):
    """A copy of ``model`` with its current weights, compiled with a fresh copy of its
    optimizer and its loss; training the copy never touches ``model``."""
    import keras

    try:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
    except Exception as exc:  # subclassed models without get_config, custom layers...
        raise ValueError(f"model could not be copied for a training probe "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None
    optimizer = model.optimizer
    copy.compile(optimizer=type(optimizer).from_config(optimizer.get_config()),
                 loss=model.loss)
    return copy


def _fit_probe(copy, inputs, labels, *, epochs: int, batch_size: int) -> None:
    """``epochs`` passes over the rows as ONE epoch of ``fit`` (the rows repeated, in a
    fixed shuffled order per pass): the per-epoch overhead of ``fit`` is most of the time
    on a few dozen rows."""
    rng = np.random.default_rng(0)
    order = np.concatenate([rng.permutation(len(labels)) for _ in range(epochs)])
    copy.fit(_validate.take_rows(inputs, order), labels[order], epochs=1, batch_size=batch_size,
             shuffle=False, verbose=0)


def _probe_loss(model, inputs, labels) -> float:
    """The compiled loss of ``model`` on its predictions (not ``evaluate``: Keras computes a
    cross-entropy from the logits behind a sigmoid or softmax, which hides an output that
    can't move, such as softmax over one unit)."""
    from helpers import _keras

    predicted = _keras.predict(model, inputs)[0]
    truth = labels
    if truth.dtype.kind in "iub":
        truth = truth.astype("float32")
    if truth.ndim == 1 and predicted.ndim == 2 and predicted.shape[1] == 1:
        truth = truth.reshape(predicted.shape)
    return _loss_value(model.loss, truth, predicted)


def _zeros_like(inputs):
    if isinstance(inputs, dict):
        return {k: np.zeros_like(v, dtype="float32") for k, v in inputs.items()}
    if isinstance(inputs, list):
        return [np.zeros_like(v, dtype="float32") for v in inputs]
    return np.zeros_like(inputs, dtype="float32")


@check(INITIAL_LOSS.id, OUTPUT_BIAS_PRIOR.id, CANNOT_OVERFIT.id, IGNORES_INPUTS.id,
       compiled=True, single_output=True)
def check_before_training(model, x, y, *, probes: bool = False, max_rows: int = 1024,
                          batch_rows: int = 32, steps: int = 100, epochs: int = 10,
                          seed: int = 0) -> list:
    """The checks to run before a long training run.

    Without ``probes`` (as ``helpers.diagnose`` runs it) it looks only at a model whose
    optimizer has taken no step yet, and only reads it: the cross-entropy on up to
    ``max_rows`` rows against -log(1/C) (``fitting.initial-loss``), and the output bias
    against the log class shares (``fitting.output-bias-prior``). With ``probes=True`` (as
    :func:`helpers.preflight` runs it) it also trains copies of the model: one batch of
    ``batch_rows`` rows for ``steps`` steps (``fitting.cannot-overfit-batch``), and, on up
    to ``max_rows`` rows, ``epochs`` epochs on the real inputs against the same on zeros,
    compared on a held-out quarter (``fitting.ignores-inputs``). Rows are drawn with
    ``seed``, so class-sorted data still give every class. The model's weights, optimizer
    and the inputs are never changed.
    """
    from helpers import _keras

    _validate.as_model(model, compiled=True)
    inputs, n = _validate.as_inputs(x, "x", model)
    labels = _validate.as_labels(y, "y")
    _validate.same_length(x=n, y=len(labels))
    for name, value, low in (("max_rows", max_rows, 8), ("batch_rows", batch_rows, 2),
                             ("steps", steps, 1), ("epochs", epochs, 1)):
        if not (isinstance(value, (int, np.integer)) and value >= low):
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    untrained = _untrained(model)
    if not probes and not untrained:
        return []
    if labels.dtype.kind in "USO":
        return []  # the label checks report string labels; no loss can be computed
    output = _keras.model_outputs(model)[0]
    kind = output.loss.kind if output.loss else None
    rows = np.random.default_rng(seed).permutation(n)[:max_rows]
    sample, sample_labels = _validate.take_rows(inputs, rows), labels[rows]
    found = []

    shares = None
    if kind in PREFLIGHT_LOSSES and output.units:
        shares = _class_shares(labels, kind, output.units)
    if shares is not None:
        try:
            initial = _probe_loss(model, sample, sample_labels)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"y: the model's loss could not be computed on these labels "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") \
                from None
        classes = len(shares)
        uniform = float(np.log(classes))
        seen = shares[shares > 0]
        prior = float(-(seen * np.log(seen)).sum())
        if untrained and not (np.isfinite(initial) and initial <= 2 * uniform):
            found.append(INITIAL_LOSS.finding(
                f"The untrained model's {kind} on {len(rows)} rows is {initial:.3g}; "
                f"predicting all {classes} classes as equally likely scores -log(1/{classes}) "
                f"= {uniform:.3g} ({initial / uniform:.1f} times less), and the class shares "
                f"alone {prior:.3g}.",
                initial_loss=initial, uniform_loss=uniform, prior_loss=prior,
                classes=classes, rows=len(rows)))
        bias = _output_bias(model, output.units)
        if (untrained and bias is not None and seen.size == classes
                and shares.min() < 0.25 * shares.max()):
            layer, b = bias
            if kind == "binary_crossentropy":
                wanted = np.array([np.log(shares[1] / shares[0])])
                off = float(np.abs(b - wanted).max())
            else:
                wanted = np.log(shares)
                off = float(np.abs((b - b.mean()) - (wanted - wanted.mean())).max())
            if off > 1.0 and output.activation in ("sigmoid", "softmax", "linear"):
                found.append(OUTPUT_BIAS_PRIOR.finding(
                    f"The rarest class has {shares.min():.1%} of the rows and the most common "
                    f"{shares.max():.1%}. The bias of output layer {layer!r} is "
                    f"{np.round(b, 2).tolist()}; the class shares call for "
                    f"{np.round(wanted, 2).tolist()} (up to {off:.2g} logits away). The loss "
                    f"with that bias would start near {prior:.3g} instead of {initial:.3g}.",
                    layer=layer, bias=b.tolist(), prior_bias=wanted.tolist(), off=off,
                    shares=shares.tolist(), initial_loss=initial, prior_loss=prior))
    if not probes:
        return found

    # Probe 1: fit one small batch.
    batch = rows[:batch_rows]
    xb, yb = _validate.take_rows(inputs, batch), labels[batch]
    copy = clone_for_probe(model)
    try:
        before = _probe_loss(copy, xb, yb)
        _fit_probe(copy, xb, yb, epochs=steps, batch_size=len(batch))
        after = _probe_loss(copy, xb, yb)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"y: the model could not be trained on these labels "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None
    if not (np.isfinite(after) and after <= 0.5 * before):
        found.append(CANNOT_OVERFIT.finding(
            f"Trained for {steps} steps on one batch of {len(batch)} rows, a copy of the "
            f"model took the loss on that batch from {before:.4g} to {after:.4g} "
            f"({after / before if before else float('nan'):.0%} of where it started).",
            loss_before=before, loss_after=after, steps=steps, rows=len(batch)))

    # Probe 2: the same short training on real inputs and on zeros, judged on held-out rows.
    if len(rows) >= 16:
        cut = int(len(rows) * 0.75)
        fit_rows, held_rows = rows[:cut], rows[cut:]
        x_held, y_held = _validate.take_rows(inputs, held_rows), labels[held_rows]
        losses = {}
        for name, source in (("real inputs", inputs), ("zeros", _zeros_like(inputs))):
            copy = clone_for_probe(model)
            _fit_probe(copy, _validate.take_rows(source, fit_rows), labels[fit_rows], epochs=epochs,
                       batch_size=min(32, cut))
            held = x_held if name == "real inputs" else _zeros_like(x_held)
            losses[name] = _probe_loss(copy, held, y_held)
        real, zeros = losses["real inputs"], losses["zeros"]
        if not (np.isfinite(real) and real < 0.9 * zeros):
            found.append(IGNORES_INPUTS.finding(
                f"After {epochs} epochs on {cut} rows, the held-out loss ({len(held_rows)} "
                f"rows) is {real:.4g} with the real inputs and {zeros:.4g} with every input "
                "set to zero: the inputs did not help.",
                loss_real=real, loss_zeros=zeros, epochs=epochs, rows=cut,
                held_out=len(held_rows)))
    return found


# ---------------------------------------------------------------------------------------
# Training and inference mode: Dropout and BatchNormalization
# ---------------------------------------------------------------------------------------

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
                         tolerance: float = 1e-3) -> list:
    """Predictions that change from call to call, or with the other rows in the batch.

    On the first ``max_rows`` rows of ``x``. Without ``predict`` (as ``helpers.diagnose``
    runs it) the model is called as ``model(x)`` twice, and on the first half of the rows
    alone: different answers mean a layer inside the model was built in training mode
    (``Dropout(rate)(h, training=True)``), which ``model(x)`` obeys and ``model.predict``
    overrides. With ``predict``, a function that takes ``x``
    and returns predictions (yours, e.g. ``lambda x: model(x, training=True)``), it is
    called twice and compared with ``model(x, training=False)``. Differences below
    ``tolerance`` (relative to the outputs' size) are rounding, not a finding.
    """
    import keras

    from helpers import _keras

    _validate.as_model(model)
    inputs, n = _validate.as_inputs(x, "x", model)
    if predict is not None and not callable(predict):
        raise TypeError(f"predict must be a function of x, got {_validate.describe(predict)}")
    if not (isinstance(max_rows, (int, np.integer)) and max_rows >= 2):
        raise ValueError(f"max_rows must be an integer >= 2, got {max_rows!r}")
    if n < 2:
        return []
    rows = _rows(inputs, max_rows)
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
        first, second, alone = direct(rows), direct(rows), direct(_rows(rows, half))
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


def _batchnorm_layers(model) -> list:
    import keras

    return [layer for layer in getattr(model, "layers", [])
            if isinstance(layer, keras.layers.BatchNormalization)]


@check(BATCHNORM_STATISTICS.id)
def check_batchnorm_statistics(model, x, *, max_rows: int = 1024, max_shift: float = 0.5,
                               max_ratio: float = 4.0) -> list:
    """Each BatchNormalization layer's moving mean and variance against the statistics
    of its inputs on up to ``max_rows`` rows of ``x``.

    Per channel: the shift ``|moving_mean - mean| / sqrt(var + epsilon)`` and the ratio
    ``moving_variance / var``; a layer is flagged when the median shift is above
    ``max_shift`` or the median ratio is outside ``[1 / max_ratio, max_ratio]``. A layer
    whose statistics are still exactly at their start (mean 0, variance 1) in a model that
    has never been trained is skipped: training sets them. BatchNormalization layers inside
    a nested model are not reached.
    """
    import keras

    _validate.as_model(model)
    inputs, n = _validate.as_inputs(x, "x", model)
    if not (isinstance(max_shift, (int, float)) and max_shift > 0):
        raise ValueError(f"max_shift must be a positive number, got {max_shift!r}")
    if not (isinstance(max_ratio, (int, float)) and max_ratio > 1):
        raise ValueError(f"max_ratio must be a number above 1, got {max_ratio!r}")
    layers = _batchnorm_layers(model)
    if not layers or n < 2:
        return []
    trained = not _untrained(model) if getattr(model, "optimizer", None) is not None else None
    outputs = _tap(model, [layer.input for layer in layers], inputs, max_rows)
    if outputs is None:
        return []  # subclassed models have no graph to tap
    found = []
    for layer, out in zip(layers, outputs):
        moving_mean = np.asarray(layer.moving_mean.numpy(), dtype=float)
        moving_var = np.asarray(layer.moving_variance.numpy(), dtype=float)
        if (not trained and np.all(moving_mean == 0) and np.all(moving_var == 1)):
            continue
        out = np.asarray(keras.ops.convert_to_numpy(out), dtype=float)
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


TRAINABLE_CHANGED = rule(
    "fitting.trainable-changed-after-compile", severity="warning",
    title="Layers frozen or unfrozen after training started, without compiling again",
    detects="The optimizer was built (by the first fit or evaluate) for another set of "
            "trainable weights than the model has now: `trainable` was changed, e.g. "
            "`base.trainable = True` to fine-tune, after the model was compiled and used. "
            "Keras 3 keeps the training step it traced, so fit goes on with the old flags: "
            "weights unfrozen since then stay frozen, and weights frozen since then (with "
            "BatchNormalization's moving statistics) can still change. Keras 3.15 has a "
            "warning for this, but it is never reached.",
    fix="Call model.compile(...) again after every change of `trainable`, before the next "
        "fit.",
    doc=NB_MODES,
)


def _layer_names(variables) -> list:
    names = {str(getattr(v, "path", v.name)).rsplit("/", 1)[0] for v in variables}
    return sorted(names)


@check(TRAINABLE_CHANGED.id)
def check_trainable_state(model) -> list:
    """Trainable flags changed since the optimizer was built, without a new compile.

    Compares the weights the compiled optimizer was built for (at the first ``fit``,
    ``evaluate`` or ``train_on_batch``) with ``model.trainable_variables`` now. A model
    that is not compiled, or whose optimizer has not been built yet, gives nothing: its
    next ``fit`` uses the flags as they are then.
    """
    _validate.as_model(model)
    optimizer = getattr(model, "optimizer", None)
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)   # LossScaleOptimizer
    built_for = getattr(optimizer, "_trainable_variables", None)
    if not getattr(optimizer, "built", False) or not built_for:
        return []
    now = list(model.trainable_variables)
    tracked, current = {id(v) for v in built_for}, {id(v) for v in now}
    unfrozen = [v for v in now if id(v) not in tracked]
    frozen = [v for v in built_for if id(v) not in current]
    if not unfrozen and not frozen:
        return []
    parts = []
    if unfrozen:
        parts.append(f"{len(unfrozen)} weights of {_layer_names(unfrozen)} are trainable now "
                     "but were not when the optimizer was built: fit keeps them frozen")
    if frozen:
        parts.append(f"{len(frozen)} weights of {_layer_names(frozen)} are frozen now but "
                     "were trainable when the optimizer was built: fit can still update "
                     "them")
    return [TRAINABLE_CHANGED.finding(
        "; ".join(parts) + ", until the model is compiled again.",
        unfrozen=_layer_names(unfrozen), frozen=_layer_names(frozen),
        n_unfrozen=len(unfrozen), n_frozen=len(frozen))]


TRAINING_FALSE_OVERRIDDEN = rule(
    "fitting.training-false-overridden", severity="warning",
    title="training=False in the model's graph does not hold inside fit",
    detects="A layer or nested model (a pretrained base) was called with training=False "
            "when the functional model was built, and holds BatchNormalization layers that "
            "are trainable. Keras 3 passes fit's training=True to every layer of the graph, "
            "replacing the value written in it (keras-team/keras#20285; measured on Keras "
            "3.15), so those layers normalise with each batch's statistics and overwrite "
            "their moving statistics while the model trains: the fine-tuning recipe of older "
            "Keras guides no longer keeps them in inference mode.",
    fix="Set trainable = False on the BatchNormalization layers of the base (a frozen "
        "BatchNormalization layer runs in inference mode whatever training says), then "
        "compile again.",
    doc=NB_MODES,
)


@check(TRAINING_FALSE_OVERRIDDEN.id)
def check_training_false_overridden(model) -> list:
    """Trainable BatchNormalization layers inside a call written with ``training=False``.

    Reads the functional graph only (Sequential and subclassed models can't pass
    ``training`` to one layer); nothing is run.
    """
    import keras

    _validate.as_model(model)
    found, seen = [], set()
    for nodes in getattr(model, "_nodes_by_depth", {}).values():
        for node in nodes:
            arguments = getattr(node, "arguments", None)
            if getattr(arguments, "kwargs", {}).get("training") is not False:
                continue
            operation = node.operation
            if id(operation) in seen or not hasattr(operation, "_flatten_layers"):
                continue
            seen.add(id(operation))
            training_bn = [layer.name for layer in operation._flatten_layers()
                           if isinstance(layer, keras.layers.BatchNormalization)
                           and layer.trainable]
            if training_bn:
                found.append(TRAINING_FALSE_OVERRIDDEN.finding(
                    f"{operation.name!r} is called with training=False, but "
                    f"{len(training_bn)} BatchNormalization layer(s) in it are trainable "
                    f"({training_bn[:3]}): fit will run them in training mode and update "
                    "their moving statistics.",
                    layer=operation.name, batchnorm_layers=training_bn))
    return found
