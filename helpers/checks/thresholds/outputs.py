"""Reading the outputs: argmax on one unit, the wrong column of two, and multi-label
thresholds."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax

from helpers import _keras, _validate
from helpers._keras import BINARY_LOSSES
from helpers._targets import target_kind
from helpers.checks import check, rule
from helpers.checks.labels import auc_with_bound
from helpers.checks.thresholds.scores import _subset

NB_READING = "book/thresholds/07-argmax-on-one-unit.ipynb"
NB_MULTILABEL = "book/thresholds/08-multi-label-thresholds.ipynb"


ARGMAX_ONE_UNIT = rule(
    "thresholds.argmax-one-unit", severity="error",
    title="argmax over a single output unit",
    detects="Class decisions that are 0 for every row from a model with one (sigmoid) "
            "output unit whose scores are above the threshold for many rows: "
            "np.argmax(p, axis=1) over one column is always 0, so every example gets class "
            "0 and accuracy equals the share of class 0.",
    fix="Threshold the single column: (p[:, 0] > 0.5).astype(int), or a threshold chosen "
        "on validation data; argmax is for one unit per class.",
    doc=NB_READING,
)
WRONG_COLUMN = rule(
    "thresholds.wrong-column", severity="error",
    title="Decisions read from the wrong column",
    detects="Binary class decisions that rank the rows the opposite way to the model's "
            "class-1 score: the threshold was applied to column 0 of a two-unit softmax "
            "(the probability of class 0), or a one-unit score was compared the wrong way "
            "round. Nearly every decision is then the other class.",
    fix="For a two-unit softmax take p.argmax(axis=1), or threshold p[:, 1] (the "
        "probability of class 1); for one sigmoid unit use p[:, 0] > threshold.",
    doc=NB_READING,
)
MULTILABEL_MISSED = rule(
    "thresholds.multilabel-labels-missed", severity="warning",
    title="Multi-label outputs that almost never cross the threshold",
    detects="On multi-label targets, one or more labels with positives in y are predicted "
            "for fewer than 1/20 as many rows as have them at the threshold in use (0.5 by "
            "default, one for all labels). Rare labels rarely reach 0.5, and binary "
            "accuracy stays high because predicting no label at all is right for most "
            "cells.",
    fix="Tune one threshold per label on validation data (for example for the best F1, "
        "helpers.checks.thresholds.tune_label_thresholds), apply them to the test "
        "probabilities, and report per-label recall, precision and F1 rather than "
        "binary accuracy.",
    doc=NB_MULTILABEL,
)
MULTILABEL_ONE_THRESHOLD = rule(
    "thresholds.multilabel-one-threshold", severity="info",
    title="Per-label thresholds would score much higher",
    detects="On multi-label targets, a threshold chosen for each label gives a clearly "
            "higher macro-averaged F1 on the given rows than the thresholds in use. A note: "
            "measured on the same rows it flatters the tuned thresholds a little.",
    fix="Choose each label's threshold on validation data, never on the test set, and "
        "keep them with the model.",
    doc=NB_MULTILABEL,
)


# ----------------------------------------------------------------------------- decisions

def _probabilities(model, x, max_rows, forward=None):
    """The single output's values on (a fixed subset of) ``x``, sigmoid/softmax applied when
    the loss says logits; and the rows used."""
    _validate.as_model(model)
    max_rows = _validate.check_scalar(max_rows, "max_rows", int, min_val=10)
    output = _keras.single_output(model)
    if forward is not None:  # evenly spaced over diagnose's sample
        forward.validate()
        n, rows = forward.n, forward.index(max_rows, "even")
        raw = forward.predictions(max_rows, "even")[0]
    else:
        inputs, n = _validate.as_inputs(x, "x", model)
        rows = _subset(n, max_rows)
        raw = _keras.predict(model, _validate.take_rows(inputs, rows))[0]
    raw = raw.reshape(len(raw), -1)
    loss = output.loss
    if loss is not None and loss.from_logits:
        binary = raw.shape[1] == 1 or loss.kind in BINARY_LOSSES
        raw = expit(raw) if binary else softmax(raw, axis=1)
    return raw, rows, n


@check(ARGMAX_ONE_UNIT.id, WRONG_COLUMN.id, single_output=True)
def check_decisions(model, x, *, predicted=None, threshold: float = 0.5,
                    max_rows: int = 2048, forward=None) -> list:
    """Do the class decisions your code made (``predicted``) follow the model's scores?

    ``predicted`` holds one class id per row of ``x``, as your code computed them from
    ``model.predict(x)``; ``diagnose`` can't see that code, so without ``predicted`` the
    check gives no finding. Fires ``thresholds.argmax-one-unit`` when a one-unit model's
    decisions are all 0 while at least 5% of its scores are above ``threshold``, and
    ``thresholds.wrong-column`` when binary decisions rank the rows in reverse of the
    class-1 score (AUC of the score for the decisions below 0.05).
    """
    if predicted is None:
        return []
    decided = _validate.as_labels(predicted, "predicted")
    if decided.ndim != 1 or target_kind(decided) not in ("binary", "class-ids"):
        raise ValueError("predicted must hold one class id per row (integers >= 0), got "
                         f"{_validate.describe(predicted)}")
    threshold = _validate.check_scalar(threshold, "threshold", float, min_val=0, max_val=1,
                                       include_boundaries="neither")
    raw, rows, n = _probabilities(model, x, max_rows, forward)
    _validate.same_length(x=n, predicted=len(decided))
    decided = decided.astype(np.int64) if rows is None else decided[rows].astype(np.int64)
    units = raw.shape[1]
    if units > 2:
        return []
    score = raw[:, 0] if units == 1 else raw[:, 1]
    above = float((score > threshold).mean())
    if units == 1 and not decided.any() and above >= 0.05:
        return [ARGMAX_ONE_UNIT.finding(
            f"predicted is 0 for all {len(decided)} rows, yet the model's single output is "
            f"above {threshold:g} for {above:.1%} of them: argmax over one column is "
            "always 0.",
            rows=len(decided), share_above_threshold=above)]
    if set(np.unique(decided).tolist()) != {0, 1}:
        return []
    auc = auc_with_bound(decided, score, 0.0)[0]
    if auc < 0.05:
        agree = float((decided == (score > threshold)).mean())
        column = "column 1 (class 1)" if units == 2 else "the output"
        return [WRONG_COLUMN.finding(
            f"The decisions in predicted rank the rows against the model's score in "
            f"{column}: its AUC for them is {auc:.3f}. They agree with "
            f"score > {threshold:g} on {agree:.1%} of {len(decided)} rows.",
            rows=len(decided), auc=auc, agreement=agree)]
    return []


# ----------------------------------------------------------------------------- multi-label

def tune_label_thresholds(y, probabilities) -> np.ndarray:
    """One threshold per label, each the one with the best F1 for its label on these rows.

    ``y`` is a 0/1 array (rows x labels) and ``probabilities`` the model's outputs on the
    same rows. Use *validation* rows, then apply the thresholds to new data as
    ``probabilities > thresholds``. A label with no positive keeps 0.5.
    """
    labels = _validate.as_array(y, "y", ndim=(2,))
    p = _validate.as_array(probabilities, "probabilities", ndim=(2,)).astype(float)
    if labels.shape != p.shape:
        raise ValueError(f"y and probabilities must have the same shape, got {labels.shape} "
                         f"and {p.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("y must hold 0/1 values")
    n, k = p.shape
    thresholds = np.full(k, 0.5)
    for j in range(k):
        order = np.argsort(-p[:, j], kind="stable")
        score, truth = p[order, j], labels[order, j]
        positives = truth.sum()
        if positives == 0:
            continue
        f1 = 2 * np.cumsum(truth) / (np.arange(1, n + 1) + positives)
        boundary = np.append(score[:-1] > score[1:], True)  # cut only between distinct scores
        best = int(np.argmax(np.where(boundary, f1, -1.0)))
        low = score[best + 1] if best + 1 < n else max(score[best] - 1e-6, 0.0)
        thresholds[j] = (score[best] + low) / 2
    return thresholds


def _f1_per_label(labels, decided):
    tp = (decided & (labels == 1)).sum(axis=0)
    return 2 * tp / np.maximum(decided.sum(axis=0) + labels.sum(axis=0), 1)


@check(MULTILABEL_MISSED.id, MULTILABEL_ONE_THRESHOLD.id, single_output=True)
def check_multilabel(model, x, y, *, threshold=0.5, min_positives: int = 10,
                     max_gap: float = 0.05, max_rows: int = 2048, forward=None) -> list:
    """Multi-label outputs turned into decisions with ``threshold`` (a number, or one per
    label), judged label by label.

    Only for multi-label ``y`` (0/1 rows that may hold several 1s) and an output with one
    probability per label. Fires ``thresholds.multilabel-labels-missed`` when a label with
    at least ``min_positives`` positives is predicted for fewer than 1/20 as many rows as
    have it, and the note ``thresholds.multilabel-one-threshold`` when per-label
    F1-optimal thresholds on these rows raise the macro F1 by more than ``max_gap``.
    """
    labels = _validate.as_labels(y, "y")
    min_positives = _validate.check_scalar(min_positives, "min_positives", int, min_val=1)
    max_gap = _validate.check_scalar(max_gap, "max_gap", float, min_val=0, max_val=1,
                                     include_boundaries="neither")
    if target_kind(labels) != "multi-label":
        return []
    raw, rows, n = _probabilities(model, x, max_rows, forward)
    _validate.same_length(x=n, y=len(labels))
    labels = (labels if rows is None else labels[rows]).astype(np.int64)
    k = labels.shape[1]
    if raw.shape[1] != k or ((raw < -1e-3) | (raw > 1 + 1e-3)).any():
        return []  # not one probability per label: the activation chapter's rules
    t = np.asarray(threshold, dtype=float)
    if t.ndim == 0:
        t = np.full(k, _validate.check_scalar(float(t), "threshold", float, min_val=0, max_val=1,
                                              include_boundaries="neither"))
    elif t.shape != (k,) or not ((t > 0) & (t < 1)).all():
        raise ValueError(f"threshold must be a number in (0, 1) or {k} of them, one per "
                         f"label, got {_validate.describe(threshold)}")
    decided = raw > t
    positives, predicted = labels.sum(axis=0), decided.sum(axis=0)
    missed = np.flatnonzero((positives >= min_positives) & (predicted < 0.05 * positives))
    found = []
    if len(missed):
        shown = ", ".join(f"label {j} ({positives[j]} positive, {predicted[j]} predicted)"
                          for j in missed[:5])
        accuracy = float((decided == labels).mean())
        none = float((labels == 0).mean())
        empty, empty_true = float((~decided.any(axis=1)).mean()), float(
            (labels.sum(axis=1) == 0).mean())
        found.append(MULTILABEL_MISSED.finding(
            f"On {len(labels)} rows, {len(missed)} of {k} labels are (almost) never "
            f"predicted at the thresholds in use: {shown}"
            f"{', ...' if len(missed) > 5 else ''}. {empty:.1%} of the rows get no label "
            f"at all (in y: {empty_true:.1%}). Binary accuracy is {accuracy:.1%}, and "
            f"predicting no label anywhere would score {none:.1%}.",
            rows=len(labels), labels_missed=missed.tolist(), binary_accuracy=accuracy,
            all_zero_accuracy=none, share_no_label=empty, share_no_label_true=empty_true))
    judged = positives >= min_positives
    if judged.any():
        current = _f1_per_label(labels, decided)[judged].mean()
        tuned = tune_label_thresholds(labels, raw)
        best = _f1_per_label(labels, raw > tuned)[judged].mean()
        if best - current > max_gap:
            found.append(MULTILABEL_ONE_THRESHOLD.finding(
                f"Macro F1 over the {int(judged.sum())} labels with at least "
                f"{min_positives} positives is {current:.3f} at the thresholds in use and "
                f"{best:.3f} with one F1-optimal threshold per label on these rows.",
                macro_f1=float(current), macro_f1_tuned=float(best),
                tuned_thresholds=tuned.tolist()))
    return found
