"""What kind of target array a user passed: binary, class ids, one-hot, multi-label..."""

from __future__ import annotations

import numpy as np


def target_kind(y: np.ndarray) -> str:
    """One of "binary", "class-ids", "one-hot", "multi-label", "continuous", "strings".

    ``y`` is a checked numpy array (see ``helpers._validate.as_labels``).
    """
    if y.dtype.kind in "USO":
        return "strings"
    if y.ndim == 1:
        values = np.unique(y)
        if not np.all(np.equal(np.mod(values, 1), 0)):
            return "continuous"
        return "binary" if len(values) <= 2 and set(values.tolist()) <= {0, 1} else "class-ids"
    is01 = np.isin(y, (0, 1)).all()
    if not is01:
        return "continuous"
    return "one-hot" if np.all(y.sum(axis=1) == 1) else "multi-label"


def class_ids(y: np.ndarray, *, strings: bool = False) -> np.ndarray | None:
    """One integer class id per row, the one reader of class labels in helpers.

    The argmax of one-hot rows, or the labels themselves for 0/1 labels and class ids;
    with ``strings=True``, text labels numbered in sorted order. None for targets that are
    not one class per row: continuous values, multi-label rows (and text unless
    ``strings``). ``y`` is a checked numpy array (see ``helpers._validate.as_labels``).
    """
    kind = target_kind(y)
    if kind == "one-hot":
        return y.argmax(axis=1)
    if kind in ("binary", "class-ids"):
        return y.astype(np.int64)
    if kind == "strings" and strings:
        return np.unique(y, return_inverse=True)[1].ravel()
    return None


#: Distinct whole-number targets above which a regression loss's targets are read as
#: numbers (counts, prices in whole dollars) rather than as class ids.
MANY_VALUES = 10


def is_regression(y: np.ndarray, loss: str | None, units: int | None) -> bool:
    """Are ``y``'s values numbers to predict (a regression), not class labels?

    Yes for non-integer targets under a regression loss or no loss at all, and for
    integer targets with more than :data:`MANY_VALUES` distinct values under a regression
    loss on one output unit. ``loss`` is a canonical loss name (``helpers._keras``) or
    None for an uncompiled model. Class labels under a regression loss (0/1, a few ids, -1/1)
    are the labels and loss chapters' business.
    """
    from helpers._keras import REGRESSION_LOSSES

    kind = target_kind(y)
    if kind == "continuous":
        return loss is None or loss in REGRESSION_LOSSES
    if kind == "class-ids" and loss in REGRESSION_LOSSES and (units or 1) == 1:
        return len(np.unique(y)) > MANY_VALUES
    return False


def show_values(values, limit: int = 6) -> str:
    """Label values for a message: the first ``limit`` as numbers, then "..." if more."""
    values = list(values)
    shown = ", ".join(f"{v:g}" for v in values[:limit])
    return f"{shown}, ..." if len(values) > limit else shown
