"""Is the model better than the majority class, is accuracy the right yardstick, is 0.5
the right threshold, are the probabilities calibrated?"""

from __future__ import annotations

import numpy as np
from scipy.stats import beta

from helpers import _keras, _validate
from helpers._keras import model_outputs
from helpers.checks import check, rule
from helpers.checks.thresholds.scores import (
    ACCURACY_NAMES,
    _binary_f1,
    _checked_class_ids,
    _ece,
    _Predictions,
)

NB_THRESHOLD = "book/thresholds/01-half-is-not-a-law.ipynb"
NB_PARADOX = "book/thresholds/02-accuracy-paradox.ipynb"
NB_CALIBRATION = "book/thresholds/03-are-these-probabilities-real.ipynb"


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
    specs = _keras.compiled_metric_specs(model)
    if specs is None:
        return []
    metrics, weighted = specs
    return _metric_names(metrics) + _metric_names(weighted)


@check(ACCURACY_ONLY.id, compiled=True)
def check_imbalance_metrics(model, y, *, imbalance_ratio: float = 9.0) -> list:
    """Heavily imbalanced ``y`` (most common class at least ``imbalance_ratio`` times the
    rarest) while every compiled metric is an accuracy. No prediction is made."""
    _validate.as_model(model, compiled=True)
    ratio_bound = _validate.check_scalar(imbalance_ratio, "imbalance_ratio", float, min_val=1,
                                         include_boundaries="neither")
    if len(model_outputs(model)) != 1:
        raise _validate.NotApplicable("y: this check handles single-output models; the model "
                                      f"has {len(model_outputs(model))} outputs")
    ids = _checked_class_ids(y)
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

    max_gap = _validate.check_scalar(max_gap, "max_gap", float, min_val=0, max_val=1,
                                     include_boundaries="neither")
    min_positives = _validate.check_scalar(min_positives, "min_positives", int, min_val=1)
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
    max_ece = _validate.check_scalar(max_ece, "max_ece", float, min_val=0, max_val=1,
                                     include_boundaries="neither")
    bins = _validate.check_scalar(bins, "bins", int, min_val=2)
    min_rows = _validate.check_scalar(min_rows, "min_rows", int, min_val=1)
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
