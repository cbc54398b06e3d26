"""One-batch probes of the model: gradient norms per layer, dead ReLU units (through the
graph tap ``_tap``) and the optimizer's learning rate."""

from __future__ import annotations

import numpy as np

from helpers import _keras, _validate
from helpers._outputs import checked_inputs, gradient_batches
from helpers.checks import check, rule
from helpers.checks.fitting.curves import NB_BOUNCES, NB_OPTIMIZER, NB_SIGMOID

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


#: Learning-rate ranges outside which an optimizer is very unlikely to work well.
LR_RANGES = {
    "Adam": (1e-5, 0.03), "AdamW": (1e-5, 0.03), "Nadam": (1e-5, 0.03),
    "Adamax": (1e-5, 0.03), "RMSprop": (1e-5, 0.03), "SGD": (1e-4, 1.0),
    "Adagrad": (1e-4, 1.0), "Lion": (1e-6, 3e-3),
}


def _kernels(model) -> list:
    return [w for w in model.trainable_weights if w.path.split("/")[-1] == "kernel"]


class LossError(ValueError):
    """The compiled loss can't be computed on the given labels (shape or type mismatch)."""


def layer_gradient_norms(model, x, y, *, max_rows: int = 256) -> list[tuple[str, float]]:
    """RMS gradient of the loss per kernel weight, first layer to last, on the first rows.

    The rows are the first ``max_rows`` of ``x`` and ``y``, fewer for a model that is dear
    per row (:func:`helpers._outputs.gradient_batches`: a VGG16 gets two), in batches
    small enough for memory; the gradient is their average. The model is run in
    training mode (dropout on, BatchNormalization on batch statistics, as in ``fit``);
    every non-trainable variable is restored afterwards and no weight is updated.
    """
    import keras

    _validate.as_model(model, compiled=True)
    inputs, n = _validate.as_inputs(x, "x", model)
    labels = _validate.as_labels(y, "y")
    _validate.same_length(x=n, y=len(labels))
    _validate.check_scalar(max_rows, "max_rows", int, min_val=1)
    max_rows, batch = gradient_batches(model, max_rows)
    inputs, labels = _validate.take_rows(inputs, slice(max_rows)), labels[:max_rows]
    if labels.dtype.kind in "USO":
        raise TypeError("y must be numeric to compute the loss, got values of type "
                        f"{labels.dtype} such as {labels.ravel()[0]!r}")
    kernels = _kernels(model)
    if not kernels:
        return []
    grads = [None] * len(kernels)
    try:
        for start in range(0, len(labels), batch):
            part = slice(start, start + batch)
            xb, yb = _validate.take_rows(inputs, part), labels[part]
            share = len(yb) / len(labels)  # the loss is a mean over the batch
            grads = [g if new is None else new * share if g is None else g + new * share
                     for g, new in zip(grads, _keras.loss_gradients(model, xb, yb, kernels))]
    except (ValueError, TypeError, *_keras.backend_errors()) as exc:
        raise LossError(f"y: the model's loss could not be computed on these labels "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    out = []
    for w, g in zip(kernels, grads):
        if g is None:
            continue
        g = keras.ops.convert_to_numpy(g).astype(float)
        out.append((w.path.rsplit("/", 1)[0], float(np.sqrt(np.mean(g ** 2)))))
    return out


@check(VANISHING.id, EXPLODING.id, compiled=True, single_output=True)
def check_gradients(model, x, y, *, ratio: float = 100.0, max_rows: int = 256,
                    forward=None) -> list:
    """Compare the first layer's RMS gradient per weight with the last layer's, on at
    most ``max_rows`` rows (see :func:`layer_gradient_norms`; with ``forward``, the first
    rows of ``diagnose``'s sample).

    Vanishing: first / last < 1 / ``ratio``. Exploding: first / last > ``ratio``, or any
    gradient that is not finite. Models with fewer than three kernel layers are skipped,
    and so are labels the loss can't use (strings, or a shape the loss rejects: the label
    checks report those), so ``helpers.diagnose`` never stops here.
    """
    _validate.check_scalar(ratio, "ratio", float, min_val=1, include_boundaries="neither")
    _validate.as_model(model, compiled=True)
    if forward is None:
        _validate.as_inputs(x, "x", model)
    if y is not None and _validate.as_labels(y, "y").dtype.kind in "USO":
        return []
    if forward is not None:
        rows = min(max_rows, gradient_batches(model, max_rows)[0])
        x, y = forward.inputs(rows), forward.take(_validate.as_labels(y, "y"), rows)
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
    outputs = probe(_validate.take_rows(inputs, slice(max_rows)), training=False)
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _hidden(model, kind: str, layers: list, inputs, max_rows: int, forward=None):
    """Per layer of ``layers``, (layer, [values]) on the rows: from ``diagnose``'s shared
    pass when given (``kind``: "relu" reads outputs, "batchnorm" inputs), else from one
    pass of our own; None for a model without a graph to tap (subclassed)."""
    import keras

    if forward is not None:
        return forward.hidden(kind, max_rows)
    tensors = [layer.output if kind == "relu" else layer.input for layer in layers]
    outputs = _tap(model, tensors, inputs, max_rows)
    return None if outputs is None else [
        (layer, [keras.ops.convert_to_numpy(out)]) for layer, out in zip(layers, outputs)]


@check(DEAD_RELU.id)
def check_dead_relu(model, x, *, max_share: float = 0.5, max_rows: int = 512,
                    forward=None) -> list:
    """Share of units in each relu layer that output exactly 0 on every one of the first
    ``max_rows`` rows of ``x`` (with ``forward``, of ``diagnose``'s sample); flagged when
    it reaches ``max_share``. Units of convolutional layers count per channel; units whose
    outputs are NaN (diverged weights) are left out of the count."""
    _validate.as_model(model)
    _validate.check_scalar(max_share, "max_share", float, min_val=0, max_val=1,
                           include_boundaries="right")
    inputs, _ = checked_inputs(model, x, forward)
    layers = _keras.relu_layers(model)
    if not layers:
        return []
    # Per row and unit: the outputs (own pass), or the largest one and a NaN flag (shared).
    tapped = _hidden(model, "relu", layers, inputs if forward is None else None, max_rows,
                     forward)
    if tapped is None:
        return []  # subclassed models have no graph to tap
    found = []
    for layer, values in tapped:
        out = values[0]
        per_unit = out.reshape(-1, out.shape[-1])
        # NaN outputs mean diverged weights, not dead units (check_training_stability).
        finite = np.isfinite(values[-1].reshape(-1, out.shape[-1])).all(axis=0)
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
    schedule = _keras.learning_rate_schedule(optimizer)
    value = schedule(optimizer.iterations) if schedule is not None else optimizer.learning_rate
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
