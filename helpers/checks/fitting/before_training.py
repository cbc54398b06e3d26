"""Checks before training: the loss at initialisation, the output bias, and two short
training probes on a copy of the model (``helpers.preflight`` runs all four)."""

from __future__ import annotations

import numpy as np

from helpers import _validate
from helpers._outputs import checked_inputs
from helpers._targets import target_kind
from helpers.checks import check, rule

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


def _probe_loss(model, inputs, labels, predicted=None) -> float:
    """The compiled loss of ``model`` on its predictions (not ``evaluate``: Keras computes a
    cross-entropy from the logits behind a sigmoid or softmax, which hides an output that
    can't move, such as softmax over one unit); ``predicted``: already made."""
    from helpers import _keras

    if predicted is None:
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
                          seed: int = 0, forward=None) -> list:
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
    and the inputs are never changed. Without ``probes``, ``forward`` (``diagnose``'s
    outputs) supplies the predictions, on rows evenly spaced over its sample.
    """
    from helpers import _keras

    _validate.as_model(model, compiled=True)
    forward = None if probes else forward
    inputs, n = checked_inputs(model, x, forward)
    labels = _validate.as_labels(y, "y")
    _validate.same_length(x=n, y=len(labels))
    for name, value, low in (("max_rows", max_rows, 8), ("batch_rows", batch_rows, 2),
                             ("steps", steps, 1), ("epochs", epochs, 1)):
        _validate.check_scalar(value, name, int, min_val=low)
    untrained = _untrained(model)
    if not probes and not untrained:
        return []
    if labels.dtype.kind in "USO":
        return []  # the label checks report string labels; no loss can be computed
    output = _keras.model_outputs(model)[0]
    kind = output.loss.kind if output.loss else None
    rows = forward.index(max_rows, "even") if forward is not None else \
        np.random.default_rng(seed).permutation(n)[:max_rows]
    sample, sample_labels = _validate.take_rows(inputs, rows), labels[rows]
    found = []

    shares = None
    if kind in PREFLIGHT_LOSSES and output.units:
        shares = _class_shares(labels, kind, output.units)
    if shares is not None:
        try:
            initial = _probe_loss(model, sample, sample_labels, predicted=None if forward is None
                                  else forward.predictions(max_rows, "even")[0])
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
