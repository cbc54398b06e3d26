"""Checks on the labels: values the output layer can produce, and predictions that match
the labels only after swapping classes or rows.

The loss chapter owns loss-versus-label *format* (integer labels with categorical
cross-entropy, one-hot labels with the sparse loss, a regression loss on class targets);
the checks here look at label *values* and at how predictions line up with them.
"""

from __future__ import annotations

import numpy as np

from helpers import _datasets, _keras, _validate
from helpers._keras import (
    ACTIVATION_RANGE,
    BINARY_LOSSES,
    REGRESSION_LOSSES,
    SQUASHING,
    model_outputs,
)
from helpers._targets import is_regression, target_kind
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
NAMES_AS_TEXT = rule(
    "labels.class-names-sorted-as-text", severity="warning",
    title="Numbered class folders sorted as text",
    detects="Class names that are numbers but are not in numeric order, such as "
            "'1', '10', '2', ...: directory loaders (image_dataset_from_directory, "
            "flow_from_directory) sort folder names as text, so class id i is not the "
            "number i. Code that reads a predicted id as the number (or the number minus "
            "one) names the wrong class.",
    fix="Pass class_names= in the order you mean (e.g. sorted(names, key=int)) when "
        "loading, or turn ids into names with the loader's class_names list, saved with "
        "the model.",
    doc=NB_FOLDERS,
)
NAMES_DIFFER = rule(
    "labels.class-names-differ", severity="error",
    title="Training and evaluation data number their classes differently",
    detects="The class names behind the ids of the data you evaluate or predict on differ "
            "from those of the training data: a class folder missing from the test folder, "
            "an extra or renamed one. Directory loaders number the folders they find, so "
            "every id after the difference means another class.",
    fix="Save the training class_names with the model; load other folders with "
        "class_names= set to that list (Keras then fails loudly on a folder it doesn't "
        "know), or map each loader's ids to the training ids by name.",
    doc=NB_FOLDERS,
)

_TOL = 1e-6


def _single_output(model):
    outputs = model_outputs(model)
    if len(outputs) != 1:
        raise ValueError(f"model: this check handles single-output models; the model has "
                         f"{len(outputs)} outputs. Call it on one output's sub-model.")
    return outputs[0]


def _fmt(values, limit: int = 6) -> str:
    values = list(values)
    shown = ", ".join(f"{v:g}" for v in values[:limit])
    return f"{shown}, ..." if len(values) > limit else shown


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
    out = _single_output(model)
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
            f"y holds {len(distinct)} class ids ({_fmt(distinct)}), but {where} has a single "
            "unit, which can tell two classes apart at most.",
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
            f"{fractional:.0%} of the labels are not whole numbers (values {_fmt(distinct)}); "
            f"{'the sparse loss' if loss else 'a sparse loss'} reads them as "
            f"{_fmt(merged)}, so {len(distinct)} distinct labels become {len(merged)} classes.",
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


def _class_ids(labels: np.ndarray):
    """Integer class ids from 1-D ids or one-hot rows, else None (strings, continuous...)."""
    kind = target_kind(labels)
    if kind == "one-hot":
        return labels.argmax(axis=1)
    if kind in ("binary", "class-ids") and labels.ndim == 1:
        return labels.astype(np.int64)
    return None


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
    ``min_per_class`` rows make the binary test skip. Uses at most ``max_rows`` rows.
    """
    _validate.as_model(model)
    labels = _validate.as_labels(y, "y")
    for name, value, low in (("z", z, 0), ("max_auc", max_auc, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= low:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if max_auc >= 0.5:
        raise ValueError(f"max_auc must be below 0.5, got {max_auc!r}")
    out = _single_output(model)
    p, rows, _ = _predict(model, x, max_rows, labels, forward)
    ids = _class_ids(labels)
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
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValueError(f"{name} must be an integer of at least 2, got {value!r}")
    if isinstance(z, bool) or not isinstance(z, (int, float)) or z <= 0:
        raise ValueError(f"z must be a positive number, got {z!r}")
    out = _single_output(model)
    p, rows, inputs = _predict(model, x, max_rows, labels, forward)
    ids = _class_ids(labels)
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
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 2:
        raise ValueError(f"max_rows must be an integer of at least 2, got {max_rows!r}")
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


def _class_names(value):
    """The class names behind a loader's label ids, or None (arrays, DataFrames...)."""
    names = getattr(value, "class_names", None) if not isinstance(value, (list, tuple)) \
        else value
    indices = getattr(value, "class_indices", None)  # flow_from_directory: {name: id}
    if names is None and isinstance(indices, dict):
        names = sorted(indices, key=indices.get)
    if isinstance(names, (list, tuple)) and names and all(isinstance(v, str) for v in names):
        return list(names)
    return None


def _numbers(names) -> list[int] | None:
    try:
        return [int(n) for n in names]
    except ValueError:
        return None


@check(NAMES_AS_TEXT.id, NAMES_DIFFER.id)
def check_class_names(x, x_serve=None) -> list:
    """Compare the class names behind the label ids of ``x`` (and of ``x_serve``).

    ``x`` is a dataset from a directory loader (anything with a ``class_names`` list, as
    ``image_dataset_from_directory`` returns before ``map`` or ``prefetch``, or the
    ``class_indices`` dict of ``flow_from_directory``), or the list of names itself;
    ``x_serve`` likewise for the data you evaluate or predict on. Arrays carry no class
    names and give no finding. Fires ``labels.class-names-sorted-as-text`` when the
    names are numbers out of numeric order, and ``labels.class-names-differ`` when the two
    lists differ, naming the ids whose class changes.
    """
    names = _class_names(x)
    if names is None:
        return []
    found = []
    numbers = _numbers(names)
    if numbers is not None and numbers != sorted(numbers):
        wrong = [(i, n) for i, n in enumerate(names) if numbers[i] != sorted(numbers)[i]]
        shown = ", ".join(f"id {i} is {n!r}" for i, n in wrong[:4])
        found.append(NAMES_AS_TEXT.finding(
            f"The {len(names)} class names are numbers sorted as text "
            f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}): {shown}. "
            f"{len(wrong)} of {len(names)} ids differ from the position of their number.",
            class_names=names, ids_out_of_place=len(wrong)))
    serve = _class_names(x_serve) if x_serve is not None else None
    if serve is not None and serve != names:
        changed = [i for i in range(max(len(names), len(serve)))
                   if i >= len(names) or i >= len(serve) or names[i] != serve[i]]
        missing = [n for n in names if n not in serve]
        extra = [n for n in serve if n not in names]
        shown = ", ".join(
            f"id {i}: {names[i] if i < len(names) else '-'!r} -> "
            f"{serve[i] if i < len(serve) else '-'!r}" for i in changed[:4])
        found.append(NAMES_DIFFER.finding(
            f"x_serve numbers its {len(serve)} classes differently from the {len(names)} of "
            f"x: {len(changed)} ids change class ({shown}"
            f"{', ...' if len(changed) > 4 else ''})."
            + (f" Missing from x_serve: {missing}." if missing else "")
            + (f" Not in x: {extra}." if extra else ""),
            ids_changed=changed, missing=missing, extra=extra))
    return found
# --- labels that are themselves the fault ----------------------------------------------------

STRING_LABELS = rule(
    "labels.string-labels", severity="warning",
    title="Labels are strings; the loss and the output take numbers",
    detects="y holds class names (strings). Keras losses compute on numbers, so model.fit "
            "stops with 'Invalid dtype', and no check can compare the model's outputs with "
            "names without knowing which output unit stands for which name.",
    fix="Encode the names once, with a mapping you save beside the model (a fitted "
        "LabelEncoder, or a dict such as {'benign': 0, 'malignant': 1}), train on the codes "
        "and diagnose with the same codes.",
    doc=NB_FORMAT,
)
SINGLE_CLASS = rule(
    "labels.single-class", severity="warning",
    title="Every label is the same class",
    detects="A classification target in which one class holds every row. A model trained on "
            "it learns to predict that class for every input (the loss falls to 0 and "
            "accuracy reads 100%), and no check can tell a good ranking of classes from a bad "
            "one. Usual causes: filtering the rows by the label, a label column read from "
            "the wrong file, or a batch drawn from sorted data.",
    fix="Check the label counts (np.unique(y, return_counts=True)) before fitting; shuffle "
        "before splitting, and split with stratify=y so every part holds every class.",
    doc=NB_FORMAT,
)


@check(STRING_LABELS.id, SINGLE_CLASS.id, single_output=True)
def check_label_classes(model, y) -> list:
    """Labels that can't train or judge a classifier: strings, or a single class.

    Only for classifiers: a classification loss, or (uncompiled) a sigmoid or softmax
    output. Strings are reported for any model, since no Keras loss takes them.
    """
    _validate.as_model(model)
    labels = _validate.as_labels(y, "y")
    out = _single_output(model)
    kind = target_kind(labels)
    n = len(labels)
    if kind == "strings":
        names = np.unique(labels.astype(str))
        return [STRING_LABELS.finding(
            f"y holds {len(names)} distinct strings ({', '.join(map(repr, names[:4]))}"
            f"{', ...' if len(names) > 4 else ''}) in {n} rows; {out.name!r} outputs numbers, "
            "so the checks that compare predictions with labels could not run.",
            output=out.name, classes=names[:20].tolist())]
    loss = out.loss.kind if out.loss is not None else None
    classifier = (loss in _keras.PROBABILISTIC_LOSSES if loss is not None
                  else out.activation in SQUASHING)
    if not classifier or kind not in ("binary", "class-ids", "one-hot"):
        return []
    ids = labels.argmax(axis=1) if kind == "one-hot" else labels
    distinct = np.unique(ids)
    if len(distinct) != 1:
        return []
    return [SINGLE_CLASS.finding(
        f"all {n} labels in y are class {distinct[0]:g}: a model trained on them predicts "
        "that class for everything, and predictions can't be judged against them.",
        output=out.name, n_rows=n, label=float(distinct[0]))]
