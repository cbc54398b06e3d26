"""Checks on the loss: does it fit the task, the labels' format and the output activation?

``from_logits=False`` after a linear output is the activation chapter's
``activation.unbounded-output``; label *values* (class ids out of range, -1/1 labels) are
the labels chapter's. This module owns the loss against the task and against the labels'
*format* (one-hot or class ids), and the accuracy metric Keras ends up computing.
"""

from __future__ import annotations

import numpy as np

from helpers import _keras, _validate
from helpers._keras import (
    BINARY_LOSSES,
    CATEGORICAL_LOSSES,
    REGRESSION_LOSSES,
    SQUASHING,
    model_outputs,
)
from helpers._targets import show_values, target_kind
from helpers.checks import check, rule

NB_MSE = "book/loss/01-mse-for-classifiers.ipynb"
NB_FORMAT = "book/loss/02-sparse-or-categorical.ipynb"
NB_LOGITS = "book/loss/03-from-logits.ipynb"

SPARSE_LOSSES = frozenset({"sparse_categorical_crossentropy"})
ONE_HOT_LOSSES = CATEGORICAL_LOSSES - SPARSE_LOSSES

REGRESSION_ON_CLASSES = rule(
    "loss.regression-loss-on-classes", severity="warning",
    title="Regression loss on a classification target",
    detects="A regression loss (mean squared or absolute error, Huber, ...) on labels that "
            "are clearly classes (0/1, one-hot, or class ids with a softmax output). Training "
            "still works, but slower, and the outputs are poorer probabilities than "
            "cross-entropy gives.",
    fix="Use binary_crossentropy with a sigmoid output (two classes or multi-label), or "
        "categorical / sparse_categorical_crossentropy with a softmax output (one class per "
        "example).",
    doc=NB_MSE,
)
BINARY_ON_MULTICLASS = rule(
    "loss.binary-crossentropy-multiclass", severity="warning",
    title="Binary cross-entropy on a multi-class softmax output",
    detects="binary_crossentropy on a softmax output of three or more units. It scores each "
            "unit as a separate yes/no question instead of one class out of several: the "
            "model still learns, but slower under plain SGD, and its loss values can't be "
            "compared with categorical cross-entropy's (nor, in older Keras, its 'accuracy'). "
            "Three or more class ids on one sigmoid unit is the labels chapter's "
            "labels.class-ids-out-of-range.",
    fix="Use categorical_crossentropy (one-hot labels) or sparse_categorical_crossentropy "
        "(integer class ids) with the softmax output.",
    doc=NB_FORMAT,
)
CATEGORICAL_WITH_IDS = rule(
    "loss.categorical-with-class-ids", severity="error",
    title="categorical_crossentropy with integer class ids",
    detects="categorical_crossentropy expects one-hot rows, one column per class, but the "
            "labels are integer class ids. Keras stops with a shape or rank error, or, if the "
            "shapes happen to broadcast, trains on nonsense.",
    fix="Compile with sparse_categorical_crossentropy (keeps the integer labels), or one-hot "
        "encode them with keras.utils.to_categorical(y, num_classes).",
    doc=NB_FORMAT,
)
BINARY_TWO_UNITS_WITH_IDS = rule(
    "loss.binary-crossentropy-two-units-ids", severity="error",
    title="Binary cross-entropy on a two-unit output, with one 0/1 label per row",
    detects="binary_crossentropy on an output of two units (a two-class softmax, as in "
            "examples written for several classes) while the labels are one 0/1 value per "
            "row. Binary cross-entropy compares each output unit with a label column of its "
            "own, so it wants two label columns; Keras 3 stops with 'target and output must "
            "have the same rank' (labels of shape (n,)) or '... the same shape' ((n, 1)).",
    fix="Keep the two-unit softmax and compile with sparse_categorical_crossentropy (the 0/1 "
        "labels are class ids), or use one sigmoid unit with binary_crossentropy. One-hot "
        "labels (keras.utils.to_categorical(y, 2)) also work with the two-unit softmax.",
    doc=NB_FORMAT,
)
SPARSE_WITH_ONE_HOT = rule(
    "loss.sparse-with-one-hot", severity="error",
    title="sparse_categorical_crossentropy with one-hot labels",
    detects="sparse_categorical_crossentropy expects one integer class id per example, but the "
            "labels are one-hot (or multi-hot) rows. Keras stops with a rank error.",
    fix="Compile with categorical_crossentropy (keeps the one-hot labels), or pass "
        "y.argmax(axis=1) as integer class ids.",
    doc=NB_FORMAT,
)
LOGITS_AFTER_SQUASHING = rule(
    "loss.from-logits-after-squashing", severity="warning",
    title="from_logits=True on an output that is already a probability",
    detects="A cross-entropy compiled with from_logits=True while the output already applies "
            "softmax or sigmoid. Keras's TensorFlow backend warns and quietly uses the logits "
            "behind the activation when the activation produces the output directly; with any "
            "layer in between (Reshape, Dropout, Rescaling, ...) it squashes a second time, "
            "without a warning, and the model's probabilities come out overconfident.",
    fix="Either drop the output activation (keep from_logits=True and apply softmax/sigmoid "
        "after predict), or keep the activation and use from_logits=False.",
    doc=NB_LOGITS,
)
BOUNDED_LOGITS = rule(
    "loss.from-logits-bounded-output", severity="warning",
    title="from_logits=True on an output whose activation limits its range",
    detects="A cross-entropy compiled with from_logits=True on a relu, tanh or other "
            "range-limiting output activation. Logits must be free to take any value: relu "
            "logits can't go below 0, so a one-unit binary model can't give any example a "
            "probability below 0.5, and multi-class probabilities come out poorer. Keras "
            "says nothing.",
    fix="Remove the activation from the output layer (a linear output) when the loss uses "
        "from_logits=True.",
    doc=NB_LOGITS,
)
BINARY_ACCURACY_MULTICLASS = rule(
    "loss.binary-accuracy-multiclass", severity="warning",
    title="Binary accuracy reported on a multi-class problem",
    detects="A binary accuracy metric (metrics=['binary_accuracy'], BinaryAccuracy(), or "
            "'accuracy' resolved to it) on single-label labels with three or more classes. "
            "It scores every class column as a separate yes/no, so with k classes a model that "
            "predicts nothing at all already scores (k-1)/k.",
    fix="Use metrics=['accuracy'] (Keras 3 resolves it from the label and output shapes) or "
        "name it: 'categorical_accuracy' for one-hot labels, 'sparse_categorical_accuracy' for "
        "class ids.",
    doc=NB_FORMAT,
)


@check(BINARY_ON_MULTICLASS.id, LOGITS_AFTER_SQUASHING.id, BOUNDED_LOGITS.id, compiled=True)
def check_loss_matches_output(model) -> list:
    """Compare each output's loss with its activation and units (no data needed)."""
    _validate.as_model(model, compiled=True)
    found = []
    for o in model_outputs(model):
        loss = o.loss
        if loss is None or not loss.probabilistic:
            continue
        if loss.kind in BINARY_LOSSES and o.activation == "softmax" and (o.units or 0) >= 3:
            found.append(BINARY_ON_MULTICLASS.finding(
                f"Output {o.name!r} applies softmax over {o.units} units (layer {o.layer!r}) "
                f"but is trained with {loss.given}, which treats each unit as a separate "
                "yes/no question.",
                output=o.name, layer=o.layer, units=o.units, loss=loss.kind))
        if loss.from_logits and o.activation in SQUASHING:
            found.append(LOGITS_AFTER_SQUASHING.finding(
                f"Output {o.name!r} already applies {o.activation} (layer {o.layer!r}), and "
                f"the loss {loss.given} applies it again.",
                output=o.name, layer=o.layer, activation=o.activation, loss=loss.kind))
        elif loss.from_logits and o.activation not in ("linear", "custom") + tuple(SQUASHING):
            found.append(BOUNDED_LOGITS.finding(
                f"Output {o.name!r} applies {o.activation} (layer {o.layer!r}), which limits "
                f"the range of the logits that {loss.given} expects.",
                output=o.name, layer=o.layer, activation=o.activation, loss=loss.kind))
    return found


@check(REGRESSION_ON_CLASSES.id, CATEGORICAL_WITH_IDS.id, BINARY_TWO_UNITS_WITH_IDS.id,
       SPARSE_WITH_ONE_HOT.id, BINARY_ACCURACY_MULTICLASS.id, compiled=True,
       single_output=True)
def check_loss_matches_labels(model, y) -> list:
    """Compare the loss and the accuracy metric with what the labels ``y`` say.

    A two-column one-hot target with binary cross-entropy or binary accuracy is left
    alone: with two classes they give the same numbers as the categorical versions.
    """
    _validate.as_model(model, compiled=True)
    labels = _validate.as_labels(y, "y")
    outputs = model_outputs(model)
    if len(outputs) != 1:
        raise ValueError(f"model: this check handles single-output models; the model has "
                         f"{len(outputs)} outputs. Call it on one output's sub-model.")
    out = outputs[0]
    kind = target_kind(labels)
    n_classes = _n_classes(labels, kind)
    units = out.units or 0
    loss = out.loss
    found = []
    if loss is not None and loss.kind in REGRESSION_LOSSES:
        classes = kind in ("binary", "one-hot", "multi-label") or (
            kind == "class-ids" and out.activation == "softmax" and units > 1)
        if classes:
            found.append(REGRESSION_ON_CLASSES.finding(
                f"y looks like {_describe_kind(kind, n_classes, labels)}, but output "
                f"{out.name!r} is trained with the regression loss {loss.given}.",
                output=out.name, loss=loss.kind, target=kind, n_classes=n_classes))
    if loss is not None and loss.kind in ONE_HOT_LOSSES and labels.ndim == 1 \
            and kind in ("binary", "class-ids") and units > 1:
        found.append(CATEGORICAL_WITH_IDS.finding(
            f"y is one integer class id per row (shape {labels.shape}, values "
            f"{show_values(np.unique(labels))}), but {loss.given} expects one-hot rows of "
            f"{units} columns.",
            output=out.name, loss=loss.kind, y_shape=labels.shape, units=units))
    one_label_per_row = labels.ndim == 1 or (labels.ndim == 2 and labels.shape[1] == 1)
    if loss is not None and loss.kind in BINARY_LOSSES and units == 2 and one_label_per_row \
            and np.isin(labels, (0, 1)).all():
        found.append(BINARY_TWO_UNITS_WITH_IDS.finding(
            f"y is one 0/1 label per row (shape {labels.shape}), but output {out.name!r} has "
            f"2 units ({out.activation}) and {loss.given} wants a label column for each unit.",
            output=out.name, loss=loss.kind, y_shape=labels.shape, units=units,
            activation=out.activation))
    if loss is not None and loss.kind in SPARSE_LOSSES and kind in ("one-hot", "multi-label"):
        found.append(SPARSE_WITH_ONE_HOT.finding(
            f"y is {kind} rows of {labels.shape[1]} columns (shape {labels.shape}), but "
            f"{loss.given} expects one integer class id per row.",
            output=out.name, loss=loss.kind, y_shape=labels.shape))
    single_label = kind in ("one-hot", "class-ids", "binary")
    if single_label and n_classes >= 3 and units > 1:
        for name in binary_accuracy_metrics(model):
            found.append(BINARY_ACCURACY_MULTICLASS.finding(
                f"The metric {name!r} computes binary accuracy, but y has {n_classes} classes with "
                f"one class per row: a model that predicts no class at all scores "
                f"{(n_classes - 1) / n_classes:.0%} on it.",
                output=out.name, metric=name, n_classes=n_classes,
                floor=(n_classes - 1) / n_classes))
    return found


def _n_classes(labels: np.ndarray, kind: str) -> int:
    if kind in ("one-hot", "multi-label"):
        return int(labels.shape[1])
    if kind in ("binary", "class-ids"):
        return int(len(np.unique(labels)))
    return 0


def _describe_kind(kind: str, n_classes: int, labels: np.ndarray) -> str:
    if kind == "binary":
        return f"binary 0/1 classes (values {show_values(np.unique(labels))})"
    if kind == "one-hot":
        return f"one-hot classes ({n_classes} columns, one 1 per row)"
    if kind == "multi-label":
        return f"multi-label 0/1 targets ({n_classes} columns)"
    return f"{n_classes} integer class ids (values {show_values(np.unique(labels))})"




# --- which accuracy does the model compute? ------------------------------------------------

def binary_accuracy_metrics(model) -> list[str]:
    """Names of the model's metrics that compute binary accuracy, however they were given.

    After a first ``fit``/``evaluate`` the resolved metric objects are read; before it, the
    metrics passed to ``compile`` are resolved the way Keras 3 will (``"accuracy"`` and
    ``"acc"`` become binary accuracy only on a one-unit output).
    """
    import keras

    built = _keras.built_metrics(model)
    if built is not None:
        return [metric.name for metric in built if _is_binary_accuracy(metric)]
    specs = _keras.compiled_metric_specs(model)
    if specs is None:
        config = model.get_compile_config() or {}
        specs = [config.get("metrics"), config.get("weighted_metrics")]
    units = [o.units for o in model_outputs(model)]
    names = []
    for spec in specs:
        for metric in keras.tree.flatten(spec) if spec is not None else []:
            if isinstance(metric, dict):  # a serialized metric from a compile config
                try:
                    metric = keras.metrics.deserialize(metric)
                except (TypeError, ValueError):
                    continue
            if isinstance(metric, str) and metric.lower() in ("accuracy", "acc"):
                if units == [1]:
                    names.append(metric)
                continue
            try:
                resolved = keras.metrics.get(metric) if isinstance(metric, str) else metric
            except (TypeError, ValueError):
                continue
            if _is_binary_accuracy(resolved):
                names.append(metric if isinstance(metric, str) else
                             getattr(resolved, "name", None) or resolved.__name__)
    return names


def _is_binary_accuracy(metric) -> bool:
    import keras

    if isinstance(metric, keras.metrics.BinaryAccuracy):
        return True
    if metric is keras.metrics.binary_accuracy:
        return True
    return _keras.metric_function(metric) is keras.metrics.binary_accuracy
