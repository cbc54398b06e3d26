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
