"""Checks on the output layer: is its activation the one the loss and the labels need?"""

from __future__ import annotations

import numpy as np

from helpers import _keras, _validate
from helpers._keras import (
    ACTIVATION_RANGE,
    CATEGORICAL_LOSSES,
    REGRESSION_LOSSES,
    SQUASHING,
    model_outputs,
)
from helpers._outputs import checked_inputs
from helpers._targets import is_regression, target_kind
from helpers.checks import check, rule

NB_RANGE = "book/activation/01-outputs-outside-0-1.ipynb"
NB_SOFTMAX = "book/activation/02-softmax-and-sigmoid.ipynb"
NB_LOGITS = "book/activation/03-logits-or-classes.ipynb"
NB_REGRESSION = "book/activation/04-regression-stuck-between-0-and-1.ipynb"

SOFTMAX_SINGLE_UNIT = rule(
    "activation.softmax-single-unit", severity="error",
    title="Softmax on a single output unit",
    detects="An output layer that applies softmax to one unit. Softmax over one number is "
            "always 1.0, so predict() says 'positive' for every input. Training may still have "
            "worked: on TensorFlow, binary cross-entropy computes its loss from the logit "
            "behind the softmax when it receives the activation's own output, so the weights "
            "learn exactly as a sigmoid model's would. With any layer between the softmax and "
            "the loss, or with another loss, they learn nothing usable.",
    fix="Use activation='sigmoid' on the one unit (binary), or give the layer one unit per "
        "class with softmax. A model trained with binary cross-entropy and nothing between "
        "the softmax and the loss needs no retraining: copy its weights into the same "
        "model with a sigmoid output.",
    doc=NB_SOFTMAX,
)
UNBOUNDED_OUTPUT = rule(
    "activation.unbounded-output", severity="error",
    title="Unbounded output with a loss that expects probabilities",
    detects="A linear, relu or other unbounded output activation while the loss is a "
            "cross-entropy with from_logits=False. Keras clips the outputs into (0, 1) before "
            "taking logs, so out-of-range predictions get no gradient and the model stalls.",
    fix="Put sigmoid (binary) or softmax (multi-class) on the output layer, or keep the "
        "linear output and compile with from_logits=True.",
    doc=NB_RANGE,
)
SIGMOID_SINGLE_LABEL = rule(
    "activation.sigmoid-single-label", severity="warning",
    title="Sigmoid outputs trained as single-label multi-class",
    detects="Several sigmoid output units trained with categorical cross-entropy, whose "
            "targets say each example has exactly one class. The outputs don't sum to 1, so "
            "they are not the class probabilities the loss assumes.",
    fix="Use activation='softmax' for one-class-per-example problems; keep sigmoid only for "
        "multi-label targets, with binary cross-entropy.",
    doc=NB_SOFTMAX,
)
SOFTMAX_MULTILABEL = rule(
    "activation.softmax-multilabel", severity="error",
    title="Softmax outputs on multi-label targets",
    detects="A softmax output whose targets have rows with several 1s. Softmax makes the "
            "classes compete for one unit of probability, so two true labels can't both be "
            "predicted with confidence.",
    fix="Use activation='sigmoid' on the output and binary cross-entropy, one independent "
        "probability per label.",
    doc=NB_SOFTMAX,
)
NOT_PROBABILITIES = rule(
    "activation.not-probabilities", severity="error",
    title="Predictions that should be probabilities are not",
    detects="The loss says predict() returns probabilities (a cross-entropy with "
            "from_logits=False), but on the given inputs some predictions fall outside [0, 1] "
            "or multi-class rows don't sum to 1.",
    fix="Make the output activation match the loss: sigmoid for binary or multi-label, "
        "softmax for one class per example.",
    doc=NB_RANGE,
)
LOGITS_OUTPUT = rule(
    "activation.logits-output", severity="info",
    title="predict() returns logits, not probabilities",
    detects="A linear output trained with from_logits=True. That is a sound way to train, "
            "but predict() returns raw scores (logits); reading them as probabilities, or "
            "thresholding them at 0.5, is wrong.",
    fix="Threshold logits at 0, take argmax, or turn them into probabilities with "
        "keras.activations.sigmoid / softmax (or wrap the model with an activation layer "
        "for serving).",
    doc=NB_LOGITS,
)
BOUNDED_REGRESSION = rule(
    "activation.bounded-regression-output", severity="error",
    title="Regression targets outside the range of the output activation",
    detects="A regression (numeric targets under a regression loss, or non-integer targets "
            "for an uncompiled model) whose output activation can't reach the targets: "
            "sigmoid stays in [0, 1], tanh in [-1, 1], relu and softplus above 0. The "
            "predictions pile up at the bound and the model can't fit the rest. Class "
            "labels outside the output's range are the labels chapter's "
            "labels.outside-output-range.",
    fix="Use a linear output (activation=None) for a regression; if the target must stay "
        "in a range, scale it into that range first and undo the scaling after predict().",
    doc=NB_REGRESSION,
)
UNSCALED_TARGET = rule(
    "activation.unscaled-regression-target", severity="warning",
    title="Regression targets on a scale the output layer starts far from",
    detects="A regression loss (mean squared or absolute error, Huber, log-cosh) on targets "
            "whose typical size (root mean square) is far above 1, such as prices in "
            "dollars. A freshly initialised output layer predicts values near 0, so the first "
            "errors and gradients are huge: with SGD the loss explodes to NaN, with Adam the "
            "output layer needs thousands of steps to climb to the targets' scale.",
    fix="Standardize the target with its mean and standard deviation on the training rows "
        "and undo that after predict(), or express it in a round unit (prices in $100k).",
    doc=NB_REGRESSION,
)


@check(SOFTMAX_SINGLE_UNIT.id)
def check_softmax_single_unit(model) -> list:
    """Flag output layers that apply softmax to a single unit."""
    _validate.as_model(model)
    return [
        SOFTMAX_SINGLE_UNIT.finding(
            f"The {_where(o)} applies softmax to 1 unit, so every prediction is 1.0 (to float "
            "precision) whatever the input." + _softmax_single_unit_training(o),
            output=o.name, layer=o.layer, units=o.units)
        for o in model_outputs(model) if o.activation == "softmax" and o.units == 1
    ]


def _softmax_single_unit_training(o) -> str:
    """What training did to the weights behind a one-unit softmax, as far as the loss tells."""
    if o.loss is None or o.loss.kind == "custom":
        return ""
    if o.loss.kind == "binary_crossentropy":
        return (f" Its loss, {o.loss.given}, may have trained the weights all the same: "
                "Keras on TensorFlow computes it from the logit behind the softmax when "
                "nothing sits between them, and then a sigmoid output with the same weights "
                "predicts correctly.")
    return (f" With its loss, {o.loss.given}, the weights behind it did not learn a usable "
            "logit: retrain after the fix.")


@check(UNBOUNDED_OUTPUT.id, SIGMOID_SINGLE_LABEL.id, LOGITS_OUTPUT.id, compiled=True)
def check_output_matches_loss(model) -> list:
    """Compare each output's activation with its loss and ``from_logits`` flag."""
    _validate.as_model(model, compiled=True)
    found = []
    for o in model_outputs(model):
        loss = o.loss
        if loss is None or not loss.probabilistic or o.activation == "custom":
            continue
        if not loss.from_logits and o.activation not in SQUASHING:
            found.append(UNBOUNDED_OUTPUT.finding(
                f"The {_where(o)} uses activation {o.activation!r}, but the loss "
                f"{loss.given} expects probabilities in (0, 1) (from_logits=False).",
                output=o.name, layer=o.layer, activation=o.activation, loss=loss.kind))
        elif loss.from_logits and o.activation == "linear":
            found.append(LOGITS_OUTPUT.finding(
                f"The {_where(o)} is linear and the loss {loss.given} uses from_logits=True: "
                "predict() returns logits.",
                output=o.name, layer=o.layer, loss=loss.kind))
        if (loss.kind in CATEGORICAL_LOSSES and not loss.from_logits
                and o.activation == "sigmoid" and (o.units or 0) > 1):
            found.append(SIGMOID_SINGLE_LABEL.finding(
                f"The {_where(o)} has {o.units} sigmoid units trained with {loss.given}, which "
                "treats each example as having exactly one class.",
                output=o.name, layer=o.layer, units=o.units, loss=loss.kind))
    return found


def _where(o) -> str:
    """Name an output for a message: "output layer 'dense_1'" or "output 'y' (layer 'act')"."""
    if o.name == o.layer:
        return f"output layer {o.layer!r}"
    return f"output {o.name!r} (layer {o.layer!r})"


@check(SOFTMAX_MULTILABEL.id, SIGMOID_SINGLE_LABEL.id, single_output=True)
def check_output_matches_labels(model, y) -> list:
    """Compare the output activation with what the labels ``y`` say about the task."""
    _validate.as_model(model)
    labels = _validate.as_labels(y, "y")
    out = _keras.single_output(model)
    kind = target_kind(labels)
    found = []
    if kind == "multi-label" and out.activation == "softmax":
        several = float((labels.sum(axis=1) > 1).mean())
        found.append(SOFTMAX_MULTILABEL.finding(
            f"{several:.0%} of the rows of y have more than one 1, but the {_where(out)} "
            "applies softmax, which can give only one label high probability.",
            output=out.name, share_multi=several))
    already = out.loss is not None and out.loss.kind in CATEGORICAL_LOSSES
    if (kind in ("one-hot", "class-ids", "binary") and out.activation == "sigmoid"
            and (out.units or 0) > 1 and not already):
        found.append(SIGMOID_SINGLE_LABEL.finding(
            f"Every row of y has exactly one class, but the {_where(out)} has {out.units} "
            "independent sigmoid units, so its outputs don't form a probability distribution.",
            output=out.name, units=out.units))
    return found


@check(NOT_PROBABILITIES.id, compiled=True)
def check_predicted_probabilities(model, x, *, tolerance: float = 1e-3,
                                  max_rows: int = 2048, forward=None) -> list:
    """Predict on (up to ``max_rows`` of) ``x`` and check that probabilities look like it.

    Only outputs whose loss promises probabilities (a cross-entropy with
    ``from_logits=False``) are judged; rows of a categorical output must sum to 1 within
    ``tolerance``. ``forward``: the outputs ``diagnose`` computed once
    (:class:`helpers._outputs.Forward`).
    """
    _validate.as_model(model, compiled=True)
    _validate.check_scalar(tolerance, "tolerance", float, min_val=0, max_val=1,
                           include_boundaries="neither")
    inputs, n = checked_inputs(model, x, forward)
    outputs = [o for o in model_outputs(model) if o.loss and o.loss.probabilistic
               and not o.loss.from_logits]
    if not outputs:
        return []
    if forward is not None:
        predictions = forward.predictions(max_rows)
    else:
        if n > max_rows:
            inputs = _validate.take_rows(inputs, slice(0, max_rows))
        predictions = _keras.predict(model, inputs)
    found = []
    for o in outputs:
        p = np.asarray(predictions[o.index], dtype=float)
        # One row per prediction: per example, or per time step of a sequence output.
        p = p.reshape(-1, p.shape[-1]) if p.ndim > 2 else p.reshape(len(p), -1)
        low, high = float(p.min()), float(p.max())
        outside = float(((p < -tolerance) | (p > 1 + tolerance)).any(axis=1).mean())
        problems = []
        if outside > 0:
            problems.append(f"{outside:.1%} of rows have values outside [0, 1] "
                            f"(min {low:.3g}, max {high:.3g})")
        sum_error = 0.0
        if o.loss.kind in CATEGORICAL_LOSSES and p.shape[1] > 1:
            sum_error = float(np.abs(p.sum(axis=1) - 1).max())
            if sum_error > tolerance:
                problems.append(f"row sums differ from 1 by up to {sum_error:.3g}")
        if problems:
            found.append(NOT_PROBABILITIES.finding(
                f"The {_where(o)} is trained with {o.loss.given}, yet on {len(p)} rows of x "
                + " and ".join(problems) + ".",
                output=o.name, min=low, max=high, share_outside=outside,
                max_sum_error=sum_error, rows=len(p)))
    return found




#: Regression losses whose size grows with the targets' scale (not MAPE or MSLE).
SCALED_LOSSES = REGRESSION_LOSSES - {"mean_absolute_percentage_error",
                                     "mean_squared_logarithmic_error"}


@check(BOUNDED_REGRESSION.id, UNSCALED_TARGET.id, single_output=True)
def check_regression_output(model, y, *, max_scale: float = 50.0) -> list:
    """For a regression, compare the targets ``y`` with what the output layer can reach.

    A regression is numeric targets under a regression loss, or non-integer targets for an
    uncompiled model (:func:`helpers._targets.is_regression`). Fires
    ``activation.bounded-regression-output`` when targets fall outside the output
    activation's range, and ``activation.unscaled-regression-target`` when the loss grows
    with the targets' scale and their root mean square exceeds ``max_scale``. Class labels
    are left to the labels chapter, so a target is never reported twice.
    """
    _validate.as_model(model)
    labels = _validate.as_labels(y, "y")
    _validate.check_scalar(max_scale, "max_scale", float, min_val=0, include_boundaries="neither")
    out = _keras.single_output(model)
    loss = out.loss.kind if out.loss is not None else None
    if labels.dtype.kind in "USO" or not is_regression(labels, loss, out.units):
        return []
    values = labels.astype(float)
    low, high = float(values.min()), float(values.max())
    span = ACTIVATION_RANGE.get(out.activation)
    if span is not None and out.activation != "softmax":
        tol = 1e-6
        outside = float(((values < span[0] - tol) | (values > span[1] + tol)).mean())
        if outside > 0:
            return [BOUNDED_REGRESSION.finding(
                f"The {_where(out)} applies {out.activation}, which only produces values in "
                f"[{span[0]:g}, {span[1]:g}], but y runs from {low:.4g} to {high:.4g}: "
                f"{outside:.1%} of the targets are out of its reach.",
                output=out.name, activation=out.activation, min=low, max=high,
                low=span[0], high=span[1], share_outside=outside)]
    scale = float(np.sqrt(np.mean(values ** 2)))
    if loss in SCALED_LOSSES and scale > max_scale:
        return [UNSCALED_TARGET.finding(
            f"y has a root mean square of {scale:.4g} (mean {values.mean():.4g}, standard "
            f"deviation {values.std():.4g}) under {out.loss.given}: the {_where(out)} starts "
            "near 0, far from these targets.",
            output=out.name, scale=scale, mean=float(values.mean()),
            std=float(values.std()), max_scale=float(max_scale), loss=loss)]
    return []
