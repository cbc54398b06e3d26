"""Streaming statistics of a data set, per feature, in one pass.

:func:`feature_stats` reads its data in one streaming pass and keeps a fixed amount of memory
per feature (count, mean and variance merged with Chan's parallel update of Welford's method,
min, max, NaN and infinity counts, and whether every value is a whole number). It accepts
numpy arrays, pandas DataFrames, iterables of batches and batched ``tf.data.Dataset``
objects, so data that doesn't fit in memory can be summarised too. :func:`skew_table`
compares a training and a serving summary feature by feature. The preprocessing checks
(``helpers.checks.preprocessing``) are built on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from helpers import _validate

_CHUNK_VALUES = 1 << 20  # values per streamed chunk when batch_size is not given


@dataclass(frozen=True, eq=False)
class FeatureStats:
    """Per-feature summary of a data set, from :func:`feature_stats`.

    ``count`` is the number of finite values per feature; ``mean``, ``var`` (population
    variance), ``min`` and ``max`` are over those. ``nan`` and ``inf`` count the rest.
    ``integer`` says every finite value is a whole number; ``zeros`` counts exact zeros
    (sparse features are mostly zero). ``outside`` counts finite values
    outside the ``bounds`` given to :func:`feature_stats` (None when none were given).
    """

    names: tuple
    rows: int
    count: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    min: np.ndarray
    max: np.ndarray
    nan: np.ndarray
    inf: np.ndarray
    integer: np.ndarray
    zeros: np.ndarray | None = None
    outside: np.ndarray | None = None
    skipped: tuple = ()  # non-numeric DataFrame columns that were not summarized

    @property
    def n_features(self) -> int:
        return len(self.names)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.var)

    @property
    def rms(self) -> np.ndarray:
        """Typical magnitude of each feature: sqrt(mean**2 + variance)."""
        return np.sqrt(self.mean ** 2 + self.var)

    def to_frame(self):
        import pandas as pd

        data = {"count": self.count, "mean": self.mean, "std": self.std, "min": self.min,
                "max": self.max, "nan": self.nan, "inf": self.inf, "integer": self.integer}
        if self.outside is not None:
            data["outside"] = self.outside
        return pd.DataFrame(data, index=pd.Index(self.names, name="feature"))


class _Accumulator:
    """Chan et al.'s pairwise merge of count, mean and sum of squared deviations."""

    def __init__(self, n_features: int, bounds):
        d = n_features
        self.rows = 0
        self.count = np.zeros(d)
        self.mean = np.zeros(d)
        self.m2 = np.zeros(d)
        self.min = np.full(d, np.inf)
        self.max = np.full(d, -np.inf)
        self.nan = np.zeros(d, dtype=np.int64)
        self.inf = np.zeros(d, dtype=np.int64)
        self.integer = np.ones(d, dtype=bool)
        self.zeros = np.zeros(d, dtype=np.int64)
        self.bounds = bounds
        self.outside = None if bounds is None else np.zeros(d, dtype=np.int64)

    def update(self, b: np.ndarray) -> None:
        rows = b.shape[0]
        if rows == 0:
            return
        self.rows += rows
        is_float = b.dtype.kind == "f"
        finite = np.isfinite(b) if is_float else None
        if finite is None or finite.all():
            n_b = np.full(b.shape[1], float(rows))
            mean_b = b.mean(axis=0, dtype=np.float64)
            dev = b - mean_b  # float64
            m2_b = np.einsum("ij,ij->j", dev, dev)
            low, high = b.min(axis=0), b.max(axis=0)
            values = b
        else:
            nan = np.isnan(b)
            self.nan += nan.sum(axis=0)
            self.inf += (~finite).sum(axis=0) - nan.sum(axis=0)
            n_b = finite.sum(axis=0).astype(float)
            values = np.where(finite, b, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_b = np.where(n_b > 0, values.sum(axis=0) / np.maximum(n_b, 1), 0.0)
            dev = np.where(finite, b - mean_b, 0.0)
            m2_b = np.einsum("ij,ij->j", dev, dev)
            low = np.where(finite, b, np.inf).min(axis=0)
            high = np.where(finite, b, -np.inf).max(axis=0)
        self._merge(n_b, mean_b, m2_b)
        self.zeros += np.count_nonzero(values == 0, axis=0)
        if finite is not None and not finite.all():  # the zeros put in for NaN/inf
            self.zeros -= (~finite).sum(axis=0)
        np.minimum(self.min, low, out=self.min)
        np.maximum(self.max, high, out=self.max)
        if is_float and self.integer.any():
            columns = np.flatnonzero(self.integer)
            part = values if len(columns) == values.shape[1] else values[:, columns]
            self.integer[columns] = (part == np.rint(part)).all(axis=0)
        if self.outside is not None:
            lo, hi = self.bounds
            self.outside += ((values < lo) | (values > hi)).sum(axis=0)
            if finite is not None and not finite.all():  # zeros put in for NaN/inf
                self.outside -= ((~finite) & ((0 < lo) | (0 > hi))).sum(axis=0)

    def _merge(self, n_b, mean_b, m2_b) -> None:
        n_a = self.count
        n = n_a + n_b
        safe = np.maximum(n, 1)
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / safe)
        self.m2 = self.m2 + m2_b + delta ** 2 * (n_a * n_b / safe)
        self.count = n

    def result(self, names, skipped=()) -> FeatureStats:
        empty = self.count == 0
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(empty, np.nan, self.m2 / np.maximum(self.count, 1))
        mean = np.where(empty, np.nan, self.mean)
        low = np.where(empty, np.nan, self.min)
        high = np.where(empty, np.nan, self.max)
        return FeatureStats(tuple(names), self.rows, self.count.astype(np.int64), mean,
                            np.maximum(var, 0.0), low, high, self.nan.copy(), self.inf.copy(),
                            self.integer & ~empty, self.zeros.copy(),
                            None if self.outside is None else self.outside.copy(),
                            tuple(skipped))


def _is_text(value) -> bool:
    """True for arrays (or tensors) of strings, which carry no numeric scale."""
    if _is_dataframe(value) or isinstance(value, (str, bytes)) or value is None:
        return False
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return False
    kind = getattr(dtype, "kind", None)
    if kind is None:  # a TensorFlow dtype
        return getattr(dtype, "name", "") == "string"
    if kind == "O":
        flat = np.asarray(value).ravel()
        return bool(flat.size) and isinstance(flat[0], (str, bytes))
    return kind in "SU"


def _is_dataframe(value) -> bool:
    return hasattr(value, "columns") and hasattr(value, "iloc") and hasattr(value, "dtypes")


def _is_tf_dataset(value) -> bool:
    return hasattr(value, "element_spec") and type(value).__module__.startswith("tensorflow")


def _numeric_2d(batch, name: str, where: str) -> np.ndarray:
    """One batch as a 2-D numeric array (rows x features), without copying when possible."""
    if isinstance(batch, (tuple, list)) and batch and not np.isscalar(batch[0]) and \
            hasattr(batch[0], "shape") and where == "batch":
        batch = batch[0]  # (x, y) or (x, y, sample_weight) from a dataset or generator
    if isinstance(batch, Mapping):
        raise TypeError(f"{name} yields dicts (one entry per model input); pass one input's "
                        "data at a time")
    if _is_dataframe(batch):
        batch = batch.select_dtypes(include=["number", "bool"]).to_numpy(dtype=np.float64,
                                                                          na_value=np.nan)
    elif hasattr(batch, "numpy") and not isinstance(batch, np.ndarray):
        batch = batch.numpy()
    arr = np.asarray(batch)
    if arr.dtype == object or arr.dtype.kind in "USV":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            sample = arr.ravel()[0] if arr.size else None
            raise TypeError(f"{name} must be numeric, got values of type {arr.dtype} such as "
                            f"{sample!r:.40} in a {where}") from None
    if arr.dtype.kind == "b":
        arr = arr.astype(np.float64)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype} in a {where}")
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar {arr!r}")
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim > 2:
        arr = arr.reshape(arr.shape[0], -1)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    return arr


def _chunks(data, name: str, batch_size):
    """Yield (names, skipped) once, then 2-D float chunks of ``data``."""
    if data is None:
        raise TypeError(f"{name} must be an array, a DataFrame, an iterable of batches or a "
                        "tf.data.Dataset, got None")
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{name} must be array-like, got a {type(data).__name__} {data!r:.40}")
    if isinstance(data, Mapping):
        raise TypeError(f"{name} must be one array, got a dict (one entry per model input?); "
                        "pass one input's data at a time")
    if _is_dataframe(data):
        numeric = data.select_dtypes(include=["number", "bool"])
        skipped = [str(c) for c in data.columns if c not in numeric.columns]
        if numeric.shape[1] == 0:
            raise TypeError(f"{name} is a DataFrame with no numeric columns (columns "
                            f"{list(map(str, data.columns))[:5]}); encode them first")
        if len(numeric) == 0:
            raise ValueError(f"{name} must have at least 1 row, got an empty DataFrame")
        yield [str(c) for c in numeric.columns], skipped
        step = batch_size or max(1, _CHUNK_VALUES // numeric.shape[1])
        for start in range(0, len(numeric), step):
            yield numeric.iloc[start:start + step].to_numpy(dtype=np.float64, na_value=np.nan)
        return
    if hasattr(data, "to_numpy") and getattr(data, "ndim", 2) == 1:  # pandas Series
        data = data.to_numpy()
    if isinstance(data, (list, tuple)) and data and (hasattr(data[0], "shape") or
                                                     _is_dataframe(data[0])) and \
            getattr(data[0], "ndim", 2) >= 2:
        data = iter(data)  # a list of batches
    elif isinstance(data, (list, tuple)):
        try:
            data = np.asarray(data)
        except ValueError as exc:
            raise ValueError(f"{name} could not be read as an array ({exc}); got "
                             f"{_validate.describe(data)}") from None
    if isinstance(data, np.ndarray) or (hasattr(data, "shape") and hasattr(data, "dtype")
                                        and not _is_tf_dataset(data)):
        arr = data if isinstance(data, np.ndarray) else np.asarray(
            data.numpy() if hasattr(data, "numpy") else data)
        if arr.ndim == 0:
            raise ValueError(f"{name} must have at least one dimension, got a scalar {arr!r}")
        if arr.shape[0] == 0:
            raise ValueError(f"{name} must have at least 1 row, got shape {arr.shape}")
        width = int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1
        first = _numeric_2d(arr[:1], name, "array")  # type check before announcing names
        yield [f"x{i}" for i in range(first.shape[1])], []
        step = batch_size or max(1, _CHUNK_VALUES // max(width, 1))
        for start in range(0, arr.shape[0], step):
            yield _numeric_2d(arr[start:start + step], name, "array")
        return
    if _is_tf_dataset(data):
        data = data.as_numpy_iterator()
    if not isinstance(data, Iterable):
        raise TypeError(f"{name} must be an array, a DataFrame, an iterable of batches or a "
                        f"tf.data.Dataset, got {_validate.describe(data)}")
    announced = False
    for batch in data:
        if _is_dataframe(batch) and not announced:
            numeric = batch.select_dtypes(include=["number", "bool"])
            yield [str(c) for c in numeric.columns], [str(c) for c in batch.columns
                                                      if c not in numeric.columns]
            announced = True
        arr = _numeric_2d(batch, name, "batch")
        if not announced:
            yield [f"x{i}" for i in range(arr.shape[1])], []
            announced = True
        yield arr
    if not announced:
        raise ValueError(f"{name} is empty: it yielded no batches")


def feature_stats(data, *, batch_size: int | None = None, bounds=None,
                  name: str = "data") -> FeatureStats:
    """Summarize each feature of ``data`` in one streaming pass.

    Parameters
    ----------
    data : array-like, DataFrame, iterable of batches, or tf.data.Dataset
        Rows are examples; anything after the first axis is flattened into features (an
        8x8 image has 64). DataFrames contribute their numeric columns. Iterables and
        datasets yield batches (arrays, DataFrames, tensors, or ``(x, y)`` tuples whose
        first element is used), as Keras's ``fit`` expects.
    batch_size : int, optional
        Rows per chunk for arrays and DataFrames; by default about a million values.
        Memory use is a few chunks plus a few numbers per feature, whatever the row count.
    bounds : (low, high) arrays, optional
        When given, ``outside`` counts the finite values below ``low`` or above ``high``.

    Returns
    -------
    FeatureStats
    """
    if batch_size is not None:
        _validate.check_scalar(batch_size, "batch_size", int, min_val=1)
    stream = _chunks(data, name, batch_size)
    names, skipped = next(stream)
    acc = None
    for chunk in stream:
        if acc is None:
            if bounds is not None:
                lo, hi = (np.asarray(b, dtype=float) for b in bounds)
                if lo.size not in (1, chunk.shape[1]) or hi.size not in (1, chunk.shape[1]):
                    raise ValueError(f"{name} has {chunk.shape[1]} features per row, but the "
                                     f"bounds (from the training data) are for {lo.size}")
                bounds = (np.broadcast_to(lo.ravel(), (chunk.shape[1],)),
                          np.broadcast_to(hi.ravel(), (chunk.shape[1],)))
            acc = _Accumulator(chunk.shape[1], bounds)
            if len(names) != chunk.shape[1]:
                names = [f"x{i}" for i in range(chunk.shape[1])]
        elif chunk.shape[1] != len(acc.mean):
            raise ValueError(f"the batches of {name} have different numbers of features: "
                             f"{len(acc.mean)} then {chunk.shape[1]}")
        acc.update(chunk)
    if acc is None or acc.rows == 0:
        raise ValueError(f"{name} must have at least 1 row, got none")
    return acc.result(names, skipped)


def skew_table(train: FeatureStats, serve: FeatureStats):
    """Per-feature comparison of training and serving statistics, as a DataFrame.

    ``shift``: distance between the means in training standard deviations; ``spread``:
    serving std / training std; ``outside``: share of serving values outside the training
    range (``serve`` must come from ``feature_stats(..., bounds=(train.min, train.max))``).
    """
    import pandas as pd

    if train.n_features != serve.n_features:
        raise ValueError(f"training data has {train.n_features} features but serving data "
                         f"has {serve.n_features}")
    sd_t, sd_s = train.std, serve.std
    diff = np.abs(serve.mean - train.mean)
    scale = np.maximum(np.abs(train.mean), 1.0) * 1e-9  # a constant feature has sd ~ 0
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(sd_t > scale, diff / sd_t, np.where(diff > scale, np.inf, 0.0))
        spread = np.where(sd_t > scale, sd_s / sd_t, np.where(sd_s > scale, np.inf, 1.0))
        outside = (serve.outside / np.maximum(serve.count, 1) if serve.outside is not None
                   else np.full(serve.n_features, np.nan))
    return pd.DataFrame({
        "train_mean": train.mean, "serve_mean": serve.mean, "train_std": sd_t,
        "serve_std": sd_s, "shift": shift, "spread": spread, "outside": outside,
        "nan_train": train.nan + train.inf, "nan_serve": serve.nan + serve.inf,
        "zeros_train": train.zeros / np.maximum(train.count, 1),
    }, index=pd.Index(train.names, name="feature"))
