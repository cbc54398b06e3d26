"""Label values the output layer can produce: -1/1 labels, targets outside the output's
range, class ids beyond the units, fractional ids and one-hot rows that don't sum to 1."""

from __future__ import annotations

import numpy as np

from helpers import _keras, _validate
from helpers._keras import (
    ACTIVATION_RANGE,
    BINARY_LOSSES,
    REGRESSION_LOSSES,
    SQUASHING,
)
from helpers._targets import is_regression, show_values, target_kind
from helpers.checks import check, rule

NB_OPPOSITE = "book/labels/01-predicts-the-opposite.ipynb"
NB_FORMAT = "book/labels/02-labels-in-the-wrong-format.ipynb"
NB_ROWS = "book/labels/03-right-labels-wrong-rows.ipynb"
NB_EVAL_ORDER = "book/labels/05-evaluation-data-shuffled.ipynb"
NB_FOLDERS = "book/labels/06-class-folders-out-of-order.ipynb"
NB_RANGE = "book/labels/04-targets-outside-the-output-range.ipynb"


MINUS_ONE = rule(
    "labels.minus-one-labels", severity="error",
    title="Labels coded -1/1 for a sigmoid output",
    detects="Binary labels coded -1 and 1 (the SVM convention) for a sigmoid output or a "
            "binary cross-entropy loss, which expect 0 and 1. Keras trains without a word: the "
            "loss becomes unbounded below (it turns negative), the -1 examples count extra and "
            "the predicted probabilities are too low.",
    fix="Map the labels to 0/1 before training, e.g. y01 = (y == 1).astype(int).",
    doc=NB_FORMAT,
)
OUTSIDE_RANGE = rule(
    "labels.outside-output-range", severity="error",
    title="Label values the output layer can never produce",
    detects="Targets outside the range of the output: below 0 or above 1 for a sigmoid, "
            "softmax or a cross-entropy loss, outside [-1, 1] for tanh, negative for relu or "
            "softplus. The model can't reach them, so it is trained towards the nearest bound. "
            "A common cause is scaling the label column together with the features. "
            "Regression targets (numbers under a regression loss) are the activation "
            "chapter's activation.bounded-regression-output.",
    fix="Scale only the features; keep class labels as 0/1 or class ids, and for a regression "
        "target use an output activation whose range covers it (linear if unsure).",
    doc=NB_RANGE,
)
CLASS_IDS = rule(
    "labels.class-ids-out-of-range", severity="error",
    title="Class ids the output layer has no unit for",
    detects="More classes in the labels than units in the output: class ids at or above the "
            "number of units (often 1-based ids, 1..K, for K units), negative ids, one-hot "
            "labels with more columns than units, or three or more classes on one sigmoid "
            "unit. On CPU Keras stops with a low-level InvalidArgumentError; on other devices "
            "the loss can silently be wrong.",
    fix="Number the classes 0..K-1 (e.g. sklearn LabelEncoder fitted once, or y - 1 for 1-based "
        "ids) and give the output layer one unit per class.",
    doc=NB_FORMAT,
)
FRACTIONAL_IDS = rule(
    "labels.non-integer-class-ids", severity="error",
    title="Fractional class ids on a sparse categorical loss",
    detects="sparse_categorical_crossentropy with labels that are not whole numbers. Keras "
            "casts them to integers (0.5 becomes 0, 1.8 becomes 1) without a warning, so "
            "classes merge and the model can never predict some of them. A common cause is a "
            "scaler fitted on a table that still holds the label column.",
    fix="Keep the class ids as integers 0..K-1: split the label column off before scaling.",
    doc=NB_FORMAT,
)
ONE_HOT_ROWS = rule(
    "labels.one-hot-rows", severity="warning",
    title="One-hot target rows that don't sum to 1",
    detects="Targets for categorical cross-entropy whose rows don't sum to 1: all-zero rows "
            "(a class the encoder didn't know) contribute a loss of exactly 0 and are ignored "
            "in training; fractional rows that don't sum to 1 are weighted up or down.",
    fix="Encode every row with exactly one 1 (or probabilities summing to 1); drop or fix rows "
        "whose class is unknown instead of encoding them as all zeros.",
    doc=NB_FORMAT,
)


_TOL = 1e-6


@check(MINUS_ONE.id, OUTSIDE_RANGE.id, CLASS_IDS.id, FRACTIONAL_IDS.id, ONE_HOT_ROWS.id,
       single_output=True)
def check_label_values(model, y) -> list:
    """Compare the values in ``y`` with what the model's output (and loss) can produce.

    Works on compiled and uncompiled models: with a loss it judges the targets the loss
    expects (probabilities for cross-entropies, class ids for the sparse loss), without
    one it uses the range of the output activation. Hinge and custom losses are skipped.
    """
    _validate.as_model(model)
    labels = _validate.as_labels(y, "y")
    out = _keras.single_output(model)
    kind = target_kind(labels)
    if kind == "strings":
        return []
    values = labels.astype(float)
    units = out.units or 1
    loss = out.loss.kind if out.loss is not None else None
    where = f"output {out.name!r} ({out.activation}, {units} unit{'s' * (units != 1)}" + (
        f", loss {out.loss.given})" if out.loss is not None else ")")
    distinct = np.unique(values)
    low, high = float(values.min()), float(values.max())
    integer = bool(np.all(np.mod(distinct, 1) == 0))

    if loss == "sparse_categorical_crossentropy" or (
            loss is None and out.activation == "softmax" and labels.ndim == 1 and units > 1):
        if labels.ndim != 1:
            return []  # one-hot labels with the sparse loss: the loss chapter's rule
        return _class_id_findings(values, distinct, integer, units, where, loss)
    if loss in ("categorical_crossentropy", "categorical_focal_crossentropy") or (
            loss is None and out.activation == "softmax"):
        if labels.ndim != 2:
            return []  # integer labels with the categorical loss: the loss chapter's rule
        return _one_hot_findings(values, units, where)
    if loss in BINARY_LOSSES or (loss is None and out.activation in SQUASHING):
        span = (0.0, 1.0)
    elif loss is None or loss in REGRESSION_LOSSES:
        span = ACTIVATION_RANGE.get(out.activation)
        if span is None:
            return []
        if loss is not None and kind == "class-ids" and units > 1:
            return []  # a regression loss on class ids: the loss chapter's rule
    else:
        return []  # hinge, poisson, custom...: we don't know what the targets should be
    if is_regression(labels, loss, units):
        # Numbers to predict, not labels: the activation can't reach them, and the fix is
        # the activation's (activation.bounded-regression-output), not the labels'.
        return []

    if set(distinct.tolist()) == {-1.0, 1.0} and span == (0.0, 1.0):
        share = float((values == -1).mean())
        return [MINUS_ONE.finding(
            f"y holds only -1 and 1 ({share:.0%} are -1), but {where} predicts values in "
            "[0, 1]. Binary cross-entropy with a -1 target has no minimum: training pushes "
            "those outputs towards 0 without end and the loss turns negative.",
            output=out.name, share_minus_one=share, values=[-1, 1])]
    if (labels.ndim == 1 and integer and span == (0.0, 1.0) and units == 1 and low >= 0
            and len(distinct) > 2):
        return [CLASS_IDS.finding(
            f"y holds {len(distinct)} class ids ({show_values(distinct)}), but {where} has a "
            "single unit, which can tell two classes apart at most.",
            output=out.name, n_classes=len(distinct), units=units, min=low, max=high)]
    below = float((values < span[0] - _TOL).mean())
    above = float((values > span[1] + _TOL).mean())
    if below or above:
        return [OUTSIDE_RANGE.finding(
            f"{below + above:.1%} of the values in y fall outside [{span[0]:g}, {span[1]:g}], "
            f"the range {where} can produce: y runs from {low:.4g} to {high:.4g}.",
            output=out.name, min=low, max=high, low=span[0], high=span[1],
            share_below=below, share_above=above)]
    return []


def _class_id_findings(values, distinct, integer, units, where, loss) -> list:
    found = []
    if not integer:
        fractional = float((np.mod(values, 1) != 0).mean())
        merged = np.unique(np.trunc(values))
        found.append(FRACTIONAL_IDS.finding(
            f"{fractional:.0%} of the labels are not whole numbers (values "
            f"{show_values(distinct)}); {'the sparse loss' if loss else 'a sparse loss'} reads "
            f"them as {show_values(merged)}, so {len(distinct)} distinct labels become "
            f"{len(merged)} classes.",
            share_fractional=fractional, n_values=len(distinct), n_classes_seen=len(merged)))
        values = np.trunc(values)
    low, high = float(values.min()), float(values.max())
    if low < 0 or high >= units:
        one_based = low >= 1 and high == units
        found.append(CLASS_IDS.finding(
            f"y holds class ids from {low:g} to {high:g}, but {where} has units for ids 0 to "
            f"{units - 1} only." + (" The ids look 1-based: subtract 1." if one_based else ""),
            n_classes=len(np.unique(values)), units=units, min=low, max=high,
            one_based=one_based))
    return found


def _one_hot_findings(values, units, where) -> list:
    found = []
    if values.shape[1] != units:
        found.append(CLASS_IDS.finding(
            f"y has {values.shape[1]} columns (classes) but {where} has {units} units.",
            columns=values.shape[1], units=units))
    low, high = float(values.min()), float(values.max())
    if low < -_TOL or high > 1 + _TOL:
        found.append(OUTSIDE_RANGE.finding(
            f"y holds values from {low:.4g} to {high:.4g}, but {where} predicts "
            "probabilities in [0, 1].", min=low, max=high, low=0.0, high=1.0,
            share_below=float((values < -_TOL).mean()),
            share_above=float((values > 1 + _TOL).mean())))
        return found
    sums = values.sum(axis=1)
    multi_hot = np.all(np.isin(values, (0, 1)), axis=1) & (sums > 1)  # the activation chapter's
    bad = (np.abs(sums - 1) > 1e-3) & ~multi_hot
    if bad.any():
        zero = float((sums[bad] == 0).sum() / len(sums))
        share = float(bad.mean())
        found.append(ONE_HOT_ROWS.finding(
            f"{share:.1%} of the rows of y don't sum to 1 ({zero:.1%} are all zeros and add "
            f"nothing to the loss); row sums range from {sums.min():.3g} to {sums.max():.3g}.",
            share_bad=share, share_zero=zero, min_sum=float(sums.min()),
            max_sum=float(sums.max())))
    return found
