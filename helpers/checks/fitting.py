"""Checks on training: learning curves (from ``model.fit``'s History) and one-batch probes
of the gradients, the ReLU units and the optimizer's learning rate.

History checks read the per-epoch lists ``fit`` records (``loss``, ``val_loss``,
``accuracy``, ...). They accept a ``keras.callbacks.History`` or a plain dict of lists.
Model checks look at one bounded batch of rows; they never update the weights (variables
a forward pass may touch, such as BatchNormalization's moving statistics, are put back).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from helpers import _datasets, _validate
from helpers._keras import _activation_name
from helpers._targets import target_kind
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

def as_history(history, name: str = "history") -> dict[str, np.ndarray]:
    """A History or a dict of per-epoch lists as ``{metric: float array}``, checked.

    NaN and infinite values are kept (they are evidence of divergence); lists of
    different lengths, strings and empty histories raise errors that name ``name``.
    """
    data = getattr(history, "history", history)
    if not isinstance(data, Mapping):
        raise TypeError(f"{name} must be a keras History or a dict of per-epoch lists, got "
                        f"{_validate.describe(history)}")
    out = {}
    for key, values in data.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise TypeError(f"{name}[{key!r}] must be a list of numbers, got "
                            f"{_validate.describe(values)}")
        try:
            arr = np.array([float(v) for v in values], dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"{name}[{key!r}] must be a list of numbers, got "
                            f"{_validate.describe(values)}") from None
        out[str(key)] = arr
    if not out or not any(len(v) for v in out.values()):
        raise ValueError(f"{name} is empty: it has no epochs recorded")
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        raise ValueError(f"{name} has metrics with different numbers of epochs: "
                         + ", ".join(f"{k}={len(v)}" for k, v in out.items()))
    if "loss" not in out:
        raise ValueError(f"{name} has no 'loss' entry; got keys {sorted(out)}")
    return out


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
    try:
        graph_inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        probe = keras.Model(graph_inputs, [layer.output for layer in layers])
    except (AttributeError, ValueError, TypeError):
        return []  # subclassed models have no graph to tap
    outputs = probe(_rows(inputs, max_rows), training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
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
