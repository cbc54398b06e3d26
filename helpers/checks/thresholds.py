"""Checks on decisions and metrics: is the model better than a constant, is accuracy the
right yardstick, is 0.5 the right threshold, are the probabilities honest?

The checks that need predictions run the model once, on at most ``max_rows`` rows of ``x``
(default 2048), by direct calls on chunks of 512 rows (the numbers ``model.predict`` gives,
without its per-model tracing). When ``x`` has more rows, they use a fixed random subset
(the same one every time, so results are reproducible and sorted data can't bias it). Binary models
(one sigmoid unit, or two softmax units) are turned into decisions with ``threshold``
(default 0.5: pass the threshold you really use). Multi-class models use argmax.
Multi-label targets are judged by ``check_multilabel`` only, label by label.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax
from scipy.stats import beta

from helpers import _keras, _validate
from helpers._keras import BINARY_LOSSES, model_outputs
from helpers._targets import target_kind
from helpers.checks import check, rule
from helpers.checks.labels import auc_with_bound

NB_THRESHOLD = "book/thresholds/01-half-is-not-a-law.ipynb"
NB_PARADOX = "book/thresholds/02-accuracy-paradox.ipynb"
NB_CALIBRATION = "book/thresholds/03-are-these-probabilities-real.ipynb"
NB_READING = "book/thresholds/07-argmax-on-one-unit.ipynb"
NB_MULTILABEL = "book/thresholds/08-multi-label-thresholds.ipynb"

NO_BETTER_THAN_MAJORITY = rule(
    "thresholds.no-better-than-majority", severity="warning",
    title="Accuracy no better than always predicting the majority class",
    detects="The model's accuracy is not clearly above that of a constant that always "
            "predicts the most common class (a one-sided 95% confidence bound on the gain, "
            "paired on the same rows), and the model predicts the majority class at least "
            "as often as it occurs. High accuracy on imbalanced data then means nothing.",
    fix="Compare against the majority-class baseline, not against 100%; judge the model "
        "with recall, precision, F1 or PR-AUC on the rare class, and if it finds too few "
        "of them, move the threshold or weight the classes.",
    doc=NB_PARADOX,
)
ACCURACY_ONLY = rule(
    "thresholds.accuracy-only-metrics", severity="warning",
    title="Heavily imbalanced classes judged by accuracy alone",
    detects="The labels are heavily imbalanced (the rarest class is at most 1/9 as common "
            "as the most common one) and every metric the model was compiled with is an "
            "accuracy. Accuracy rewards predicting the common class, so training looks "
            "good while the rare class is missed.",
    fix="Compile with metrics that see the rare class, e.g. keras.metrics.Precision(), "
        "keras.metrics.Recall() and keras.metrics.AUC(curve='PR'), and compare accuracy "
        "with the majority-class baseline.",
    doc=NB_PARADOX,
)
COLLAPSED = rule(
    "thresholds.collapsed-predictions", severity="error",
    title="Predictions collapsed to one class",
    detects="The model predicts (almost) a single class: the other classes, which make up "
            "at least 10 rows of y, get fewer than 1/20 as many predictions as they have "
            "rows.",
    fix="Check the threshold against the predicted probabilities (on imbalanced data the "
        "best one is often far below 0.5); weight the classes (class_weight) or resample; "
        "make sure the model trained at all (learning rate, epochs, scaled inputs).",
    doc=NB_PARADOX,
)
THRESHOLD_NOT_F1 = rule(
    "thresholds.threshold-far-from-f1-optimal", severity="info",
    title="Decision threshold far from the F1-optimal one",
    detects="On the given (validation) data, another threshold on the predicted "
            "probability gives a clearly higher F1 score for the positive class than the "
            "threshold in use (default 0.5). A note, not a fault: 0.5 is right when you want "
            "the most accurate decisions and both errors cost the same.",
    fix="Choose the threshold on validation data, never on the test set: from the "
        "precision-recall curve, with scikit-learn's TunedThresholdClassifierCV, or from "
        "the costs of the two errors; then apply it to predict()'s probabilities.",
    doc=NB_THRESHOLD,
)
POORLY_CALIBRATED = rule(
    "thresholds.poorly-calibrated", severity="warning",
    title="Predicted probabilities are poorly calibrated",
    detects="The expected calibration error (ECE: the average gap between predicted "
            "probability and observed frequency, over 10 equal-width bins) is above the "
            "bound (default 0.05) and above what a perfectly calibrated model would show on "
            "this many rows. The probabilities can't be read as chances.",
    fix="Calibrate on held-out data (temperature scaling, Platt or isotonic, e.g. "
        "scikit-learn's CalibratedClassifierCV), or remove what distorts them (MSE loss, "
        "class weights or resampling: correct for the changed prior).",
    doc=NB_CALIBRATION,
)

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

ACCURACY_NAMES = frozenset({
    "accuracy", "acc", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
})


# ----------------------------------------------------------------------------- helpers

def _check_option(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {_validate.describe(value)}")
    value = float(value)
    if not (np.isfinite(value) and low < value < high):
        raise ValueError(f"{name} must be in ({low}, {high}), got {value!r}")
    return value


def _check_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {_validate.describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _class_ids(y, name: str = "y") -> np.ndarray | None:
    """Class ids from binary labels, class ids or one-hot rows; None for multi-label."""
    labels = _validate.as_labels(y, name)
    kind = target_kind(labels)
    if kind == "multi-label":
        return None
    if kind == "strings":
        raise TypeError(f"{name} must hold numeric class labels (0/1, class ids or one-hot), "
                        f"got strings such as {labels.ravel()[0]!r}; encode them first")
    if kind == "continuous":  # a regression target: these checks don't apply
        raise _validate.NotApplicable(
            f"{name} must hold class labels (0/1, class ids or one-hot), got non-integer "
            f"values such as {labels.ravel()[0]!r}")
    if kind == "one-hot":
        return labels.argmax(axis=1)
    ids = labels.astype(np.int64)
    if (ids < 0).any():
        raise ValueError(f"{name} must hold class ids >= 0, got {int(ids.min())}")
    return ids


def _subset(n: int, max_rows: int) -> np.ndarray | None:
    """A fixed random subset of ``max_rows`` row indices (sorted), or None for all rows."""
    if n <= max_rows:
        return None
    return np.sort(np.random.default_rng(0).choice(n, size=max_rows, replace=False))


class _Predictions:
    """One model's predictions on (a bounded subset of) x, with its labels."""

    def __init__(self, model, x, y, *, max_rows: int, threshold: float, forward=None):
        _validate.as_model(model)
        max_rows = _check_count(max_rows, "max_rows", 10)
        self.threshold = _check_option(threshold, "threshold", 0, 1)
        outputs = model_outputs(model)
        if len(outputs) != 1:
            raise ValueError(f"model: these checks handle single-output models; the model has "
                             f"{len(outputs)} outputs. Call them on one output's sub-model.")
        self.output = outputs[0]
        if forward is not None:
            forward.validate()
            n = forward.n
        else:
            inputs, n = _validate.as_inputs(x, "x", model)
        ids = _class_ids(y)
        _validate.same_length(x=n, y=len(ids) if ids is not None else len(
            _validate.as_labels(y, "y")))
        self.usable = ids is not None
        if not self.usable:
            return
        if forward is not None:  # evenly spaced over diagnose's sample
            rows, raw = forward.index(max_rows, "even"), forward.predictions(max_rows, "even")[0]
        else:
            rows = _subset(n, max_rows)
            raw = _keras.predict(model, _validate.take_rows(inputs, rows))[0]
        self.y = ids if rows is None else ids[rows]
        raw = raw.reshape(len(raw), -1)
        self.units = raw.shape[1]
        if self.units == 1 and not set(np.unique(self.y).tolist()) <= {0, 1}:
            raise ValueError("y must hold 0/1 labels for a model with one output unit, got "
                             f"class ids {np.unique(self.y)[:5].tolist()}")
        if self.units > 1 and self.y.max() >= self.units:
            raise ValueError(f"y has class id {int(self.y.max())}, but the model has only "
                             f"{self.units} output units")
        loss = self.output.loss
        if loss is not None and loss.from_logits:
            raw = expit(raw) if self.units == 1 else softmax(raw, axis=1)
        self.raw = raw
        tolerance = 1e-3
        in_range = bool(((raw >= -tolerance) & (raw <= 1 + tolerance)).all())
        sums_to_one = self.units == 1 or bool(np.abs(raw.sum(axis=1) - 1).max() <= tolerance)
        # Probabilities we can judge: in [0, 1] and, for several units, a distribution.
        self.probabilistic = in_range and sums_to_one

    @property
    def binary(self) -> bool:
        return self.units == 1 or (self.units == 2 and self.probabilistic)

    @property
    def positive(self) -> np.ndarray:
        """The positive-class score of a binary model."""
        return self.raw[:, 0] if self.units == 1 else self.raw[:, 1]

    def decisions(self) -> np.ndarray:
        if self.binary:
            return (self.positive > self.threshold).astype(np.int64)
        return self.raw.argmax(axis=1)

    @property
    def rows(self) -> int:
        return len(self.y)


def _binary_f1(y, predicted) -> float:
    tp = float(((predicted == 1) & (y == 1)).sum())
    fp = float(((predicted == 1) & (y == 0)).sum())
    fn = float(((predicted == 0) & (y == 1)).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def expected_calibration_error(y_true, probability, *, bins: int = 10) -> float:
    """ECE over ``bins`` equal-width bins: sum over bins of (share of rows) x |observed
    frequency - mean predicted probability|.

    ``y_true`` is 0/1 and ``probability`` the predicted probability of 1 (for a multi-class
    model pass ``correct`` and the top-class confidence). Same bins as scikit-learn's
    ``calibration_curve(..., strategy="uniform")``.
    """
    y = _validate.as_array(y_true, "y_true", ndim=(1,)).astype(float)
    p = _validate.as_array(probability, "probability", ndim=(1,)).astype(float)
    bins = _check_count(bins, "bins", 1)
    _validate.same_length(y_true=len(y), probability=len(p))
    if ((p < 0) | (p > 1)).any():
        raise ValueError(f"probability must lie in [0, 1], got values from {p.min():.3g} "
                         f"to {p.max():.3g}")
    if not set(np.unique(y).tolist()) <= {0.0, 1.0}:
        raise ValueError("y_true must hold 0/1 values")
    return _ece(y, p, bins)


def _ece(y, p, bins):
    index = np.minimum((p * bins).astype(int), bins - 1)
    counts = np.bincount(index, minlength=bins)
    gap = np.abs(np.bincount(index, weights=y, minlength=bins)
                 - np.bincount(index, weights=p, minlength=bins))
    return float(gap.sum() / counts.sum())


# ----------------------------------------------------------------------------- checks

@check(NO_BETTER_THAN_MAJORITY.id, COLLAPSED.id, single_output=True, outcome=True)
def check_against_majority(model, x, y, *, threshold: float = 0.5,
                           max_rows: int = 2048, forward=None) -> list:
    """Compare the model's decisions on ``x`` with always predicting the majority class.

    Fires ``thresholds.collapsed-predictions`` when the model predicts (almost) one class,
    and ``thresholds.no-better-than-majority`` when its accuracy is not clearly above the
    majority baseline (one-sided 95% Clopper-Pearson bound on the paired gain, i.e. an
    exact sign test on the rows where the two disagree) while it leans on the majority
    class at least as much as the data does. The baseline is the most common class of
    ``y`` itself, the most generous constant there is.
    """
    pred = _Predictions(model, x, y, max_rows=max_rows, threshold=threshold, forward=forward)
    if not pred.usable:
        return []
    labels, predicted = pred.y, pred.decisions()
    n = pred.rows
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        return []  # one class in y: no baseline to beat, no collapse to see
    majority = int(classes[np.argmax(counts)])
    found = []

    top_predicted = int(np.bincount(predicted).argmax())
    others_true = int((labels != top_predicted).sum())
    others_predicted = int((predicted != top_predicted).sum())
    if others_true >= 10 and others_predicted < 0.05 * others_true:
        share = 1 - others_predicted / n
        found.append(COLLAPSED.finding(
            f"On {n} rows, the model predicts class {top_predicted} for {share:.1%} of them: "
            f"the other classes have {others_true} rows in y but get {others_predicted} "
            f"prediction(s)" + (f" at threshold {pred.threshold:g}." if pred.binary else "."),
            predicted_class=top_predicted, share_predicted=share, rows=n,
            other_rows_true=others_true, other_rows_predicted=others_predicted))

    accuracy = float((predicted == labels).mean())
    baseline = float((labels == majority).mean())
    wins = int(((predicted == labels) & (labels != majority)).sum())    # model right only
    losses = int(((predicted != labels) & (labels == majority)).sum())  # baseline right only
    disagree = wins + losses
    # One-sided 95% lower bound on P(model right | they disagree) -> bound on the gain.
    q_low = float(beta.ppf(0.05, wins, losses + 1)) if wins > 0 else 0.0
    gain_low = disagree / n * (2 * q_low - 1)
    leans = float((predicted == majority).mean()) >= baseline
    if gain_low <= 0 and leans:
        found.append(NO_BETTER_THAN_MAJORITY.finding(
            f"Accuracy {accuracy:.1%} on {n} rows, against {baseline:.1%} for always "
            f"predicting class {majority}: the 95% lower bound on the gain is "
            f"{gain_low:+.1%}, so the accuracy shows no skill beyond the class frequencies. "
            f"The model predicts class {majority} for {(predicted == majority).mean():.1%} "
            "of the rows.",
            accuracy=accuracy, baseline=baseline, majority_class=majority,
            gain=accuracy - baseline, gain_lower_bound=gain_low, rows=n))
    return found


def _metric_names(spec) -> list[tuple[str, bool]]:
    """Flatten a compile() metrics spec into (name, is_accuracy) pairs."""
    import keras

    accuracy_types = (keras.metrics.Accuracy, keras.metrics.BinaryAccuracy,
                      keras.metrics.CategoricalAccuracy, keras.metrics.SparseCategoricalAccuracy,
                      keras.metrics.TopKCategoricalAccuracy,
                      keras.metrics.SparseTopKCategoricalAccuracy)
    if spec is None:
        return []
    if isinstance(spec, dict):
        return [pair for value in spec.values() for pair in _metric_names(value)]
    if isinstance(spec, (list, tuple)):
        return [pair for value in spec for pair in _metric_names(value)]
    if isinstance(spec, str):
        return [(spec, spec in ACCURACY_NAMES)]
    if isinstance(spec, keras.metrics.Metric):
        return [(spec.name, isinstance(spec, accuracy_types))]
    name = getattr(spec, "__name__", type(spec).__name__)
    return [(name, name in ACCURACY_NAMES)]


def compiled_metrics(model) -> list[tuple[str, bool]]:
    """The metrics ``model`` was compiled with, as (name, is_accuracy) pairs.

    Reads what was passed to ``compile(metrics=..., weighted_metrics=...)`` and classifies
    metric objects by their class, not their name.
    """
    _validate.as_model(model, compiled=True)
    container = getattr(model, "_compile_metrics", None)
    if container is None:
        return []
    return (_metric_names(getattr(container, "_user_metrics", None))
            + _metric_names(getattr(container, "_user_weighted_metrics", None)))


@check(ACCURACY_ONLY.id, compiled=True)
def check_imbalance_metrics(model, y, *, imbalance_ratio: float = 9.0) -> list:
    """Heavily imbalanced ``y`` (most common class at least ``imbalance_ratio`` times the
    rarest) while every compiled metric is an accuracy. No prediction is made."""
    _validate.as_model(model, compiled=True)
    ratio_bound = _check_option(imbalance_ratio, "imbalance_ratio", 1, np.inf)
    if len(model_outputs(model)) != 1:
        raise _validate.NotApplicable("y: this check handles single-output models; the model "
                                      f"has {len(model_outputs(model))} outputs")
    ids = _class_ids(y)
    if ids is None:
        return []
    classes, counts = np.unique(ids, return_counts=True)
    if len(classes) < 2:
        return []
    ratio = counts.max() / counts.min()
    metrics = compiled_metrics(model)
    if ratio < ratio_bound or not metrics or not all(is_acc for _, is_acc in metrics):
        return []
    rare = int(classes[np.argmin(counts)])
    share = counts.min() / counts.sum()
    names = ", ".join(repr(name) for name, _ in metrics)
    return [ACCURACY_ONLY.finding(
        f"Class {rare} is {share:.1%} of the {counts.sum()} labels (the most common class is "
        f"{ratio:.0f} times as frequent), and the model's only metrics are {names}: always "
        f"predicting the most common class already scores {counts.max() / counts.sum():.1%}.",
        rare_class=rare, rare_share=float(share), imbalance_ratio=float(ratio),
        metrics=[name for name, _ in metrics])]


@check(THRESHOLD_NOT_F1.id, single_output=True, outcome=True)
def check_threshold(model, x, y, *, threshold: float = 0.5, max_gap: float = 0.05,
                    min_positives: int = 30, max_rows: int = 2048, forward=None) -> list:
    """Is ``threshold`` far from the F1-optimal threshold on these (validation) rows?

    Binary models only. Fires when the best F1 over all thresholds beats F1 at
    ``threshold`` by more than ``max_gap``. The best threshold is found on the same rows,
    which flatters it a little, so rows with fewer than ``min_positives`` positives are not
    judged. Pass validation data: a threshold tuned on the test set is a leak.
    """
    from sklearn.metrics import precision_recall_curve

    max_gap = _check_option(max_gap, "max_gap", 0, 1)
    min_positives = _check_count(min_positives, "min_positives", 1)
    pred = _Predictions(model, x, y, max_rows=max_rows, threshold=threshold, forward=forward)
    if not pred.usable or not pred.binary or not pred.probabilistic:
        return []
    labels, score = pred.y, pred.positive
    positives = int(labels.sum())
    if positives < min_positives or positives == len(labels):
        return []
    precision, recall, thresholds = precision_recall_curve(labels, score)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1]))
    # precision_recall_curve predicts 1 when score >= t; our decisions use score > t.
    best_threshold = float(thresholds[best])
    best_f1 = _binary_f1(labels, (score >= best_threshold).astype(int))
    current_f1 = _binary_f1(labels, (score > pred.threshold).astype(int))
    if best_f1 - current_f1 <= max_gap:
        return []
    return [THRESHOLD_NOT_F1.finding(
        f"At threshold {pred.threshold:g} the F1 score on these {pred.rows} rows "
        f"({positives} positive) is {current_f1:.3f}; threshold {best_threshold:.3g} gives "
        f"{best_f1:.3f} (recall {recall[best]:.1%}, precision {precision[best]:.1%}).",
        threshold=pred.threshold, f1=current_f1, best_threshold=best_threshold,
        best_f1=best_f1, rows=pred.rows, positives=positives)]


@check(POORLY_CALIBRATED.id, single_output=True, outcome=True)
def check_calibration(model, x, y, *, max_ece: float = 0.05, bins: int = 10,
                      min_rows: int = 200, max_rows: int = 2048, forward=None) -> list:
    """Expected calibration error of the predicted probabilities on ``x``.

    Binary models: ECE of the positive-class probability. Multi-class (softmax) models:
    ECE of the top-class confidence against "the top class is right". Fires when the ECE
    is above ``max_ece`` *and* above the 99th percentile of the ECE a perfectly calibrated
    model would get on the same probabilities and row count (labels redrawn from the
    predicted probabilities, 200 times, fixed seed), so small samples don't raise false
    alarms. Outputs that are not probabilities, and fewer than ``min_rows`` rows, are not
    judged.
    """
    max_ece = _check_option(max_ece, "max_ece", 0, 1)
    bins = _check_count(bins, "bins", 2)
    min_rows = _check_count(min_rows, "min_rows", 1)
    pred = _Predictions(model, x, y, max_rows=max_rows, threshold=0.5, forward=forward)
    if not pred.usable or not pred.probabilistic or pred.rows < min_rows:
        return []
    rng = np.random.default_rng(0)
    if pred.binary:
        p = np.clip(pred.positive, 0, 1)
        outcome = pred.y.astype(float)
        what = "probability of class 1"

        def redraw():
            return (rng.random(len(p)) < p).astype(float)
    else:
        probs = np.clip(pred.raw, 0, 1)
        top = probs.argmax(axis=1)
        p = probs[np.arange(len(top)), top]
        outcome = (top == pred.y).astype(float)
        what = "top-class confidence"
        cumulative = np.cumsum(probs, axis=1)

        def redraw():
            drawn = (rng.random((len(p), 1)) > cumulative).sum(axis=1)
            return (np.minimum(drawn, probs.shape[1] - 1) == top).astype(float)
    ece = _ece(outcome, p, bins)
    if ece <= max_ece:
        return []
    noise = float(np.quantile([_ece(redraw(), p, bins) for _ in range(200)], 0.99))
    if ece <= noise:
        return []
    mean_p, observed = float(p.mean()), float(outcome.mean())
    return [POORLY_CALIBRATED.finding(
        f"Expected calibration error {ece:.3f} on {pred.rows} rows ({what}, {bins} bins), "
        f"above the bound {max_ece:g}; a perfectly calibrated model would stay below "
        f"{noise:.3f} here 99% of the time. Mean predicted {mean_p:.3f}, observed "
        f"{observed:.3f}.",
        ece=ece, max_ece=max_ece, noise_bound=noise, rows=pred.rows,
        mean_predicted=mean_p, observed=observed)]


# ----------------------------------------------------------------------------- decisions

def _probabilities(model, x, max_rows, forward=None):
    """The single output's values on (a fixed subset of) ``x``, sigmoid/softmax applied when
    the loss says logits; and the rows used."""
    _validate.as_model(model)
    max_rows = _check_count(max_rows, "max_rows", 10)
    outputs = model_outputs(model)
    if len(outputs) != 1:
        raise ValueError(f"model: these checks handle single-output models; the model has "
                         f"{len(outputs)} outputs. Call them on one output's sub-model.")
    if forward is not None:  # evenly spaced over diagnose's sample
        forward.validate()
        n, rows = forward.n, forward.index(max_rows, "even")
        raw = forward.predictions(max_rows, "even")[0]
    else:
        inputs, n = _validate.as_inputs(x, "x", model)
        rows = _subset(n, max_rows)
        raw = _keras.predict(model, _validate.take_rows(inputs, rows))[0]
    raw = raw.reshape(len(raw), -1)
    loss = outputs[0].loss
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
    threshold = _check_option(threshold, "threshold", 0, 1)
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
    min_positives = _check_count(min_positives, "min_positives", 1)
    max_gap = _check_option(max_gap, "max_gap", 0, 1)
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
        t = np.full(k, _check_option(float(t), "threshold", 0, 1))
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
