"""Read a ``tf.data.Dataset`` the way ``fit``, ``evaluate`` and ``predict`` do, one pass at a
time, to see what each pass gives: which rows, in which order, in which batches.

The dataset is never changed; iterating it is what Keras does too. A pass stops after
``max_rows`` rows, so an endless (``repeat()``) pipeline is read in bounded time. A row is
identified by the bytes of its features, so two passes can be compared row by row.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from helpers import _validate


def is_dataset(value) -> bool:
    """True for a ``tf.data.Dataset`` (TensorFlow is not imported to find out)."""
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(value, tf.data.Dataset)


@dataclass(frozen=True)
class Pass:
    """One pass over a dataset: a key per row (its features' bytes), its label or None, and
    the rows of each batch as a tuple of keys (each row is its own batch if unbatched)."""

    keys: tuple
    labels: np.ndarray | None
    batches: tuple
    complete: bool  # False when the pass stopped at max_rows

    @property
    def rows(self) -> int:
        return len(self.keys)


def _batched(dataset) -> bool:
    import tensorflow as tf

    spec = dataset.element_spec
    features = spec[0] if isinstance(spec, tuple) else spec
    leaves = tf.nest.flatten(features)
    return bool(leaves) and all(
        s.shape.rank is not None and s.shape.rank >= 1 and s.shape[0] is None for s in leaves)


def _numpy(tensor) -> np.ndarray:
    return np.asarray(tensor.numpy() if hasattr(tensor, "numpy") else tensor)


def _row_keys(features, n: int, batched: bool) -> list:
    if isinstance(features, Mapping):
        parts = [_numpy(features[k]) for k in sorted(features)]
    elif isinstance(features, (list, tuple)):
        parts = [_numpy(f) for f in features]
    else:
        parts = [_numpy(features)]
    if not batched:
        return [hash(b"".join(np.ascontiguousarray(p).tobytes() for p in parts))]
    return [hash(b"".join(np.ascontiguousarray(p[i]).tobytes() for p in parts))
            for i in range(n)]


def _length(features, batched: bool) -> int:
    if not batched:
        return 1
    first = (next(iter(features.values())) if isinstance(features, Mapping)
             else features[0] if isinstance(features, (list, tuple)) else features)
    return int(_numpy(first).shape[0])


def one_pass(dataset, name: str = "x", *, max_rows: int = 5000) -> Pass:
    """Iterate ``dataset`` once (at most ``max_rows`` rows) and record what it gave."""
    if not is_dataset(dataset):
        raise TypeError(f"{name} must be a tf.data.Dataset, got {_validate.describe(dataset)}")
    batched = _batched(dataset)
    keys, labels, batches, complete = [], [], [], True
    has_labels = isinstance(dataset.element_spec, tuple) and len(dataset.element_spec) >= 2
    for element in dataset:
        features = element[0] if has_labels else element
        n = _length(features, batched)
        batch = _row_keys(features, n, batched)
        keys += batch
        batches.append(tuple(batch))
        if has_labels:
            y = _numpy(element[1])
            labels.append(y.reshape(n, -1) if batched else y.reshape(1, -1))
        if len(keys) >= max_rows:
            complete = False
            break
    y = None
    if has_labels and labels:
        y = np.concatenate(labels)
        y = y[:, 0] if y.shape[1] == 1 else y
    return Pass(tuple(keys), y, tuple(batches), complete)


def class_ids(labels) -> np.ndarray | None:
    """Class ids from integer labels or one-hot rows of a pass; None for anything else."""
    if labels is None or len(labels) == 0:
        return None
    if labels.ndim == 2:
        is01 = np.isin(labels, (0, 1)).all() and np.all(labels.sum(axis=1) == 1)
        return labels.argmax(axis=1) if is01 else None
    if labels.dtype.kind in "SUO":
        return np.unique(labels, return_inverse=True)[1]
    if labels.dtype.kind in "iub" or np.all(np.mod(labels, 1) == 0):
        return labels.astype(np.int64)
    return None
