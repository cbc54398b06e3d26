"""Predictions against labels: classes swapped or permuted, labels out of step with the rows,
and evaluation data reshuffled between passes."""

from __future__ import annotations

import numpy as np

from helpers import _datasets, _keras, _validate
from helpers._keras import (
    SQUASHING,
)
from helpers._targets import class_ids
from helpers.checks import check, rule
from helpers.checks.labels.values import NB_EVAL_ORDER, NB_OPPOSITE, NB_ROWS

INVERTED = rule(
    "labels.inverted-predictions", severity="error",
    title="Predictions ranked the opposite way to the labels",
    detects="On the given data the model's scores rank the examples in reverse: the AUC is "
            "well below 0.5 and its confidence bound excludes chance. The model learned the "
            "other class as 'positive': the labels it was trained on were coded the other way "
            "round (0 as the class of interest, or an encoder that sorted names "
            "alphabetically).",
    fix="Store one explicit class mapping with the model (a dict saved beside it, or a "
        "StringLookup with a fixed vocabulary) and use it both to encode training labels "
        "and to read predictions; don't just flip the outputs.",
    doc=NB_OPPOSITE,
)
PERMUTED = rule(
    "labels.permuted-classes", severity="error",
    title="Predicted classes match the labels only after renaming them",
    detects="On the given data the predicted class ids agree with the labels far better "
            "after a relabelling (class 0 predicted where the label says 2, and so on) than "
            "as they are. The labels were encoded with a different class order than at "
            "training, e.g. a LabelEncoder, StringLookup or pandas Categorical fitted again on "
            "other data.",
    fix="Fit the class encoding once, on the training data, save it with the model and reuse "
        "it at prediction time; never refit it on new data.",
    doc=NB_ROWS,
)
MISALIGNED = rule(
    "labels.misaligned-rows", severity="warning",
    title="Labels look unrelated to the features",
    detects="Simple models (logistic regression, k-nearest neighbours, cross-validated) "
            "rank y no better than chance (ROC-AUC near 0.5, whatever the class balance). "
            "Either the "
            "model learns nothing either, or it scores well only by memorising these rows. "
            "The usual cause is features and labels shuffled, sorted or filtered separately.",
    fix="Shuffle and split x and y together (one permutation index, or "
        "sklearn.model_selection.train_test_split(x, y)); check that row i of x is the "
        "example whose label is y[i].",
    doc=NB_ROWS,
)

RESHUFFLED_EVAL = rule(
    "labels.reshuffled-evaluation-data", severity="warning",
    title="Evaluation data that comes in a new order on every pass",
    detects="A tf.data.Dataset that gives its rows in a different order each time it is "
            "iterated: image_dataset_from_directory and text_dataset_from_directory shuffle "
            "by default, and Dataset.shuffle reshuffles on every pass. evaluate() is right, "
            "because it reads each batch's labels with its images, but predict() on the "
            "dataset compared with labels collected in another pass pairs predictions with "
            "other rows' labels, and accuracy falls to chance.",
    fix="Build evaluation data with shuffle=False, or collect the labels in the same pass "
        "as the predictions (for images, labels in dataset: ... model(images) ...).",
    doc=NB_EVAL_ORDER,
)


# --- predictions against labels ------------------------------------------------------------

def _predict(model, x, max_rows: int, y=None, forward=None):
    """Predictions on up to ``max_rows`` rows (an evenly spaced subset, deterministic; of
    ``diagnose``'s sample when ``forward`` is given), the rows and their inputs."""
    if forward is not None:
        p = forward.predictions(max_rows, "even")[0]
        return (p.reshape(len(p), -1), forward.index(max_rows, "even"),
                forward.inputs(max_rows, "even"))
    inputs, n = _validate.as_inputs(x, "x", model)
    if y is not None:
        _validate.same_length(x=n, y=len(y))
    rows = np.arange(n) if n <= max_rows else np.linspace(0, n - 1, max_rows).astype(int)
    if n > max_rows:
        inputs = _validate.take_rows(inputs, rows)
    p = _keras.predict(model, inputs)[0]
    return p.reshape(len(p), -1), rows, inputs


def auc_with_bound(y01: np.ndarray, score: np.ndarray, z: float) -> tuple[float, float]:
    """AUC (Mann-Whitney, ties count half) and its upper confidence bound ``auc + z*se``.

    ``se`` is Hanley & McNeil's (1982) normal approximation, which at AUC = 0.5 equals the
    exact null standard error of the Mann-Whitney statistic, (n1 + n2 + 1) / (12 n1 n2).
    """
    from scipy.stats import rankdata

    pos, neg = int(y01.sum()), int(len(y01) - y01.sum())
    ranks = rankdata(score)
    auc = float((ranks[y01 == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (pos - 1) * (q1 - auc ** 2) + (neg - 1) * (q2 - auc ** 2)) / (
        pos * neg)
    return auc, auc + z * float(np.sqrt(max(var, 0.0)))


def predicts_one_class(score: np.ndarray, units: int) -> bool:
    """Does a binary score (a one-unit probability, or p1 - p0 of two units) put every row
    on one side of the decision? A model trained on flipped labels predicts both classes;
    one that predicts a single class with its scores ranked backwards diverged or
    saturated."""
    predicted_1 = score >= (0.5 if units == 1 else 0.0)
    return bool(predicted_1.all() or not predicted_1.any())


@check(INVERTED.id, PERMUTED.id, single_output=True, outcome=True)
def check_inverted_predictions(model, x, y, *, z: float = 3.72, max_auc: float = 0.4,
                               min_per_class: int = 10, max_rows: int = 5000,
                               forward=None) -> list:
    """Predict on ``x`` and look for predictions that match ``y`` the wrong way round.

    Binary (one output unit, or two): fires when the AUC of the class-1 score is at most
    ``max_auc`` *and* its upper confidence bound (``z`` standard errors, default one-sided
    99.99%) is below 0.5. On 36,000 simulated random scorers (20 to 400 rows, 5% to 95%
    positives) it fired 24 times (0.07%). Multi-class: fires when renaming the predicted
    classes (the best one-to-one assignment) raises accuracy by at least 0.2 and a
    McNemar-style z of the rows that change exceeds 5 (no false alarm in 20,000 simulated
    random classifiers with 3 to 10 classes and 20 to 300 rows). Classes with fewer than
    ``min_per_class`` rows make the binary test skip, and so does a model that predicts one
    class for every row (collapsed predictions are reported by the threshold checks). Uses
    at most ``max_rows`` rows.
    """
    _validate.as_model(model)
    labels = _validate.as_labels(y, "y")
    _validate.check_scalar(z, "z", float, min_val=0, include_boundaries="neither")
    _validate.check_scalar(max_auc, "max_auc", float, min_val=0, max_val=0.5,
                           include_boundaries="neither")
    out = _keras.single_output(model)
    p, rows, _ = _predict(model, x, max_rows, labels, forward)
    ids = class_ids(labels)
    if ids is None:
        return []
    ids = ids[rows]
    units = p.shape[1]
    if units <= 2:
        distinct = np.unique(ids)
        if len(distinct) != 2:
            return []
        y01 = (ids == distinct[1]).astype(int)
        if min(y01.sum(), len(y01) - y01.sum()) < min_per_class:
            return []
        score = p[:, 0] if units == 1 else p[:, 1] - p[:, 0]
        if predicts_one_class(score, units):  # reading it the other way round fixes nothing
            return []
        auc, upper = auc_with_bound(y01, score, z)
        if auc <= max_auc and upper < 0.5:
            return [INVERTED.finding(
                f"On {len(y01)} rows the scores of output {out.name!r} rank class "
                f"{distinct[1]:g} below class {distinct[0]:g}: AUC {auc:.3f}, upper "
                f"confidence bound {upper:.3f} (< 0.5). Read the other way round, the AUC "
                f"would be {1 - auc:.3f}.",
                output=out.name, auc=auc, auc_upper=upper, auc_flipped=1 - auc,
                rows=len(y01), positives=int(y01.sum()))]
        return []
    return _permutation_findings(p.argmax(axis=1), ids, units, out.name)


def _permutation_findings(predicted, ids, units, output) -> list:
    from scipy.optimize import linear_sum_assignment

    if ids.min() < 0 or ids.max() >= units:
        return []  # check_label_values reports ids without a unit
    n = len(ids)
    counts = np.zeros((units, units))
    np.add.at(counts, (predicted, ids), 1)
    pred_rows, true_cols = linear_sum_assignment(counts, maximize=True)
    moved = pred_rows != true_cols
    gained = float(counts[pred_rows[moved], true_cols[moved]].sum())
    lost = float(counts[pred_rows[moved], pred_rows[moved]].sum())
    accuracy = float(np.trace(counts) / n)
    renamed = accuracy + (gained - lost) / n
    z_score = (gained - lost) / np.sqrt(gained + lost) if gained + lost else 0.0
    if renamed - accuracy >= 0.2 and z_score > 5:
        pairs = [(int(a), int(b)) for a, b in zip(pred_rows[moved], true_cols[moved])]
        shown = ", ".join(f"{a}->{b}" for a, b in pairs[:8])
        return [PERMUTED.finding(
            f"On {n} rows the predicted classes of output {output!r} agree with y "
            f"{accuracy:.1%} of the time as they are, but {renamed:.1%} after renaming "
            f"predicted -> label {shown}.",
            output=output, accuracy=accuracy, accuracy_renamed=renamed, mapping=pairs,
            rows=n)]
    return []


@check(MISALIGNED.id, single_output=True)
def check_label_alignment(model, x, y, *, max_rows: int = 2000, max_features: int = 2000,
                          folds: int = 5, z: float = 2.0, forward=None) -> list:
    """Can anything simple predict ``y`` from ``x``? If not, the rows may be misaligned.

    Cheap and bounded: at most ``max_rows`` rows (an evenly spaced subset) and
    ``max_features`` flattened features (skipped above that, and for multi-input models),
    ``folds``-fold stratified cross-validation of a standardized logistic regression and a
    5-nearest-neighbour classifier (well under a second on 2000 rows x 30 features). Their
    out-of-fold probabilities are scored by ROC-AUC (one-vs-rest for several classes), which
    is 0.5 for no signal whatever the class balance, so heavy imbalance alone never fires
    it. Fires when the better AUC is within ``z`` null standard errors of 0.5 (the
    Hanley-McNeil error for the smallest class against the rest). The message then says
    whether the model does better on the same rows (memorised labels) or not (it learned
    nothing either). On data with real but very weak signal it fires too; then the
    features don't predict y at the size given.
    """
    _validate.as_model(model)
    labels = _validate.as_labels(y, "y")
    for name, value in (("max_rows", max_rows), ("max_features", max_features),
                        ("folds", folds)):
        _validate.check_scalar(value, name, int, min_val=2)
    _validate.check_scalar(z, "z", float, min_val=0, include_boundaries="neither")
    out = _keras.single_output(model)
    p, rows, inputs = _predict(model, x, max_rows, labels, forward)
    ids = class_ids(labels)
    if ids is None or isinstance(inputs, (dict, list)):
        return []
    ids = ids[rows]
    features = inputs.reshape(len(inputs), -1).astype(float)
    _, counts = np.unique(ids, return_counts=True)
    if len(counts) < 2 or counts.min() < folds or features.shape[1] > max_features:
        return []
    n = len(ids)
    smallest = int(counts.min())
    null_se = float(np.sqrt((n + 1) / (12 * smallest * (n - smallest))))
    simple = _simple_auc(features, ids, folds, enough=0.5 + z * null_se)
    if max(simple.values()) > 0.5 + z * null_se:
        return []
    if p.shape[1] == 1:
        logits = out.loss is not None and out.loss.from_logits and \
            out.activation not in SQUASHING
        predicted = (p[:, 0] > (0.0 if logits else 0.5)).astype(int)
    else:
        predicted = p.argmax(axis=1)
    model_acc = float((predicted == ids).mean())
    majority = float(counts.max() / n)
    detail = ", ".join(f"{k} {v:.3f}" for k, v in simple.items())
    if model_acc >= majority + 0.1:
        verdict = (f"Yet the model gets {model_acc:.1%} of the same rows right (majority "
                   f"class {majority:.1%}): it has memorised labels that don't follow from "
                   "their features.")
    else:
        verdict = (f"The model does no better ({model_acc:.1%} right, majority class "
                   f"{majority:.1%}): it learned nothing either.")
    return [MISALIGNED.finding(
        f"On {n} rows, cross-validated simple models rank y no better than chance "
        f"(ROC-AUC: {detail}; chance is 0.5 +/- {null_se:.3f}). {verdict} Check that row i "
        "of x is the example labelled y[i].",
        output=out.name, rows=n, majority=majority, model_accuracy=model_acc,
        simple_auc=simple, null_se=null_se)]


def _simple_auc(features, ids, folds, enough=1.0) -> dict:
    """Out-of-fold ROC-AUC of each simple model, stopping at the first above ``enough``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    split = StratifiedKFold(folds, shuffle=True, random_state=0)
    models = {
        "logistic regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)),
        "5-nearest neighbours": make_pipeline(StandardScaler(), KNeighborsClassifier(5)),
    }
    scores = {}
    for name, m in models.items():
        # One BLAS thread: on a busy machine (parallel tests, several notebooks) OpenBLAS
        # threads spin-wait on these small arrays; measured 127 s instead of 1.6 s on
        # 450 rows x 256 pixels.
        with threadpool_limits(limits=1):
            proba = cross_val_predict(m, features, ids, cv=split, method="predict_proba")
        scores[name] = float(roc_auc_score(ids, proba[:, 1]) if proba.shape[1] == 2
                             else roc_auc_score(ids, proba, multi_class="ovr"))
        if scores[name] > enough:
            break
    return scores


# --- tf.data pipelines and class folders ---------------------------------------------------

@check(RESHUFFLED_EVAL.id)
def check_evaluation_order(x, *, max_rows: int = 5000) -> list:
    """Does the evaluation dataset ``x`` give its rows in the same order on every pass?

    ``x`` is the ``tf.data.Dataset`` you predict on (arrays have one order, so they give no
    finding). The check iterates it twice, at most ``max_rows`` rows each, and compares
    the rows position by position (by the bytes of their features). It fires when they
    differ: ``predict(x)`` then follows one order, and labels gathered in another pass
    another. Nothing about the model is needed, and the dataset is not changed.
    """
    _validate.check_scalar(max_rows, "max_rows", int, min_val=2)
    if not _datasets.is_dataset(x):
        return []
    first, second = (_datasets.one_pass(x, "x", max_rows=max_rows) for _ in range(2))
    n = min(first.rows, second.rows)
    moved = float(np.mean([a != b for a, b in zip(first.keys[:n], second.keys[:n])])) \
        if n else 0.0
    if moved == 0:
        return []
    detail = ""
    a, b = _datasets.class_ids(first.labels), _datasets.class_ids(second.labels)
    agree = None
    if a is not None and b is not None:
        agree = float((a[:n] == b[:n]).mean())
        detail = (f" Labels collected in one pass agree with the other pass's labels on "
                  f"{agree:.1%} of the positions, so that is about the accuracy a perfect "
                  "model would be given.")
    return [RESHUFFLED_EVAL.finding(
        f"Two passes over x put {moved:.1%} of the first {n} rows in different positions: "
        "the dataset reshuffles each time it is read. predict(x) follows one order; labels "
        f"collected with another pass (e.g. np.concatenate([y for _, y in x])) follow "
        f"another.{detail}",
        rows=n, share_moved=moved, label_agreement=agree)]
