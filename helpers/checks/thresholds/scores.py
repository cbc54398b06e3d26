"""What the threshold checks share: option validation, class ids, the fixed row subset,
predictions turned into decisions, F1 and the expected calibration error."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax

from helpers import _keras, _validate
from helpers._outputs import checked_inputs
from helpers._targets import class_ids, target_kind

ACCURACY_NAMES = frozenset(_keras.ACCURACY_METRICS + _keras.TOP_K_ACCURACY_METRICS)


# ----------------------------------------------------------------------------- helpers

def _checked_class_ids(y, name: str = "y") -> np.ndarray | None:
    """Class ids (:func:`helpers._targets.class_ids`) of labels these checks can judge, or
    None for multi-label rows; text, continuous or negative labels raise."""
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
    ids = class_ids(labels)
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
        max_rows = _validate.check_scalar(max_rows, "max_rows", int, min_val=10)
        self.threshold = _validate.check_scalar(threshold, "threshold", float, min_val=0, max_val=1,
                                                include_boundaries="neither")
        self.output = _keras.single_output(model)
        inputs, n = checked_inputs(model, x, forward)
        ids = _checked_class_ids(y)
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
    bins = _validate.check_scalar(bins, "bins", int, min_val=1)
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
