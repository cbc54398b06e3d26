"""Checks on the data a model sees: is it prepared the same way at serving time as in training?

The statistics behind the checks come from :func:`feature_stats`, which reads its data in one
streaming pass and keeps a fixed amount of memory per feature (count, mean and variance merged
with Chan's parallel update of Welford's method, min, max, NaN and infinity counts, and whether
every value is a whole number). It accepts numpy arrays, pandas DataFrames, iterables of
batches and batched ``tf.data.Dataset`` objects, so data that doesn't fit in memory can be
checked too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from helpers import _validate
from helpers.checks import check, rule

NB_GARBAGE = "book/preprocessing/01-garbage-on-new-data.ipynb"
NB_COLUMNS = "book/preprocessing/03-the-columns-moved.ipynb"
NB_INSIDE = "book/preprocessing/04-preprocessing-inside-the-model.ipynb"

SERVING_SKEW = rule(
    "preprocessing.serving-skew", severity="error",
    title="Serving inputs are not distributed like the training inputs",
    detects="Features whose serving values sit far from what the model was trained on: the "
            "mean moved by more than half a training standard deviation, the spread grew or "
            "shrank more than threefold, many values fall outside the training range, or NaN "
            "or infinite values appear on one side only. The usual cause is preprocessing "
            "applied in training and forgotten (or done differently) at prediction time.",
    fix="Apply exactly the transformation fitted on the training data (the same fitted "
        "scaler, encoder and imputer) before predict(), or move it into the model as Keras "
        "preprocessing layers so it can't be forgotten.",
    doc=NB_GARBAGE,
)
PIXEL_SCALE = rule(
    "preprocessing.pixel-scale", severity="error",
    title="Raw 0-255 pixels served to a model trained on 0-1 inputs",
    detects="Every training value lies in [0, 1] while the serving inputs are whole numbers "
            "up to 255: images were divided by 255 for training but not for prediction.",
    fix="Divide serving images by 255 the way the training images were, or put "
        "keras.layers.Rescaling(1/255) at the start of the model and feed it raw pixels "
        "in training and serving alike.",
    doc=NB_GARBAGE,
)
UNSCALED_INPUTS = rule(
    "preprocessing.unscaled-inputs", severity="warning",
    title="Inputs far from unit scale and no normalization in the model",
    detects="Numeric inputs whose typical magnitude (root mean square) is tens or thousands, "
            "fed to a model with no Normalization, Rescaling or batch/layer normalization "
            "layer. Large inputs make the first layer's gradients dominate and training slow "
            "or unstable, and whoever serves the model has to remember the scaling.",
    fix="Add keras.layers.Normalization() as the first layer and call its adapt() on the "
        "training inputs (or Rescaling for pixels), so the model standardizes its own inputs.",
    doc=NB_INSIDE,
)
COLUMN_MISMATCH = rule(
    "preprocessing.column-mismatch", severity="error",
    title="Serving columns differ from the training columns",
    detects="DataFrames whose column names differ between training and serving: columns "
            "missing, extra, or in another order. A model reads columns by position, so a "
            "one-hot column built separately on the serving data (pandas.get_dummies with a "
            "category absent or new) silently feeds one feature's values into another's weights.",
    fix="Build the encoding once on the training data and reuse it: "
        "serving.reindex(columns=training_columns, fill_value=0), a fitted OneHotEncoder("
        "handle_unknown='ignore'), or StringLookup/IntegerLookup layers inside the model.",
    doc=NB_COLUMNS,
)

#: Layer classes that standardize or rescale what comes in, or encode raw categories.
NORMALIZING_LAYERS = ("Normalization", "Rescaling", "BatchNormalization", "LayerNormalization",
                      "GroupNormalization", "UnitNormalization", "Discretization",
                      "CategoryEncoding", "StringLookup", "IntegerLookup", "Hashing",
                      "HashedCrossing", "TextVectorization")

_CHUNK_VALUES = 1 << 20  # values per streamed chunk when batch_size is not given


# ---------------------------------------------------------------------------------------
# Streaming statistics
# ---------------------------------------------------------------------------------------

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
    if batch_size is not None and (isinstance(batch_size, bool) or
                                   not isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
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


# ---------------------------------------------------------------------------------------
# Training vs serving
# ---------------------------------------------------------------------------------------

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


def _fmt(v: float, scale: float = 0.0) -> str:
    """A number for messages; round-off next to ``scale`` (e.g. 1e-16 for a mean) shows as 0."""
    if not np.isfinite(v):
        return "inf"
    return "0" if abs(v) < 1e-9 * max(abs(scale), 1e-300) else f"{v:.3g}"


def _skew_findings(x, x_serve, *, max_shift, max_spread, max_outside, min_rows, z,
                   batch_size, label, names):
    train = feature_stats(x, batch_size=batch_size, name=f"x{label}")
    serve = feature_stats(x_serve, batch_size=batch_size, bounds=(train.min, train.max),
                          name=f"x_serve{label}")
    if train.n_features != serve.n_features:
        raise ValueError(f"x_serve{label} has {serve.n_features} features per row but "
                         f"x{label} has {train.n_features}")
    feature_names = list(names) if names is not None else list(train.names)
    if len(feature_names) != train.n_features:
        raise ValueError(f"feature_names has {len(feature_names)} names for "
                         f"{train.n_features} features")
    table = skew_table(train, serve)
    table.index = [f"{label.strip('[]')}:{n}" if label else str(n) for n in feature_names]

    # Pixels: training in [0, 1], serving whole numbers up to 255.
    t_ok, s_ok = train.count > 0, serve.count > 0
    if (t_ok.any() and s_ok.any() and np.nanmin(train.min[t_ok]) >= 0
            and np.nanmax(train.max[t_ok]) <= 1 + 1e-6 and serve.integer[s_ok].all()
            and np.nanmin(serve.min[s_ok]) >= 0 and 1.5 < np.nanmax(serve.max[s_ok]) <= 255):
        share = float(serve.outside.sum() / max(serve.count.sum(), 1))
        return [PIXEL_SCALE.finding(
            f"All {train.n_features} training features{label} lie in [0, 1], but the serving "
            f"inputs are whole numbers up to {np.nanmax(serve.max):.0f}; {share:.0%} of "
            f"serving values are above the training maximum and the mean pixel moved from "
            f"{np.nanmean(train.mean):.3g} to {np.nanmean(serve.mean):.3g}.",
            train_max=float(np.nanmax(train.max)), serve_max=float(np.nanmax(serve.max)),
            share_outside=share, train_mean=float(np.nanmean(train.mean)),
            serve_mean=float(np.nanmean(serve.mean)))], table

    n_t, n_s = np.maximum(train.count, 1), np.maximum(serve.count, 1)
    shift = table["shift"].to_numpy()
    spread = table["spread"].to_numpy()
    outside = table["outside"].to_numpy()
    enough = (serve.count >= min_rows) & t_ok
    with np.errstate(invalid="ignore", divide="ignore"):
        # Each change must be large *and* beyond what sampling noise explains (z standard
        # errors), so small serving batches and sparse features don't raise false alarms.
        diff = np.abs(serve.mean - train.mean)
        # Standard error under "same distribution", from the pooled variance of both sides
        # (a 1-row batch has no variance of its own; a feature constant in training may not).
        pooled = (train.count * train.var + serve.count * serve.var
                  + train.count * serve.count / (n_t + n_s) * diff ** 2) / (n_t + n_s)
        mean_se = np.sqrt(pooled * (1 / n_s + 1 / n_t))
        # The normal approximation fails for small batches of heavy-tailed or mostly-zero
        # features; there we use Hoeffding's bound for values inside the training range.
        train_range = train.max - train.min
        kurtosis = np.clip((train_range / train.std) ** 2, 3.0, np.inf)
        normal_ok = n_s * 10 >= kurtosis
        delta = math.erfc(z / math.sqrt(2))
        hoeffding = train_range * np.sqrt(math.log(2 / delta) / (2 * n_s))
        mean_limit = np.where(normal_ok, z * mean_se, hoeffding)
        # A feature constant in training shifts only if serving is constant elsewhere too;
        # scattered values outside its one training value are the "outside" rule's business.
        constant = train_range == 0
        mean_limit = np.where(constant & ~((serve.var == 0) & (serve.count >= 2)), np.inf,
                              mean_limit)
        # The spread's standard error needs the kurtosis; (range / sd)**2 bounds it, which
        # keeps mostly-constant features (rare non-zero pixels) from looking unstable.
        kurtosis = np.clip(kurtosis, 3.0, 1e12)
        log_se = np.sqrt((kurtosis - 1) / 4 * (1 / n_s + 1 / n_t))
        log_spread = np.log(spread)
        # For a mostly-zero feature (rare non-zero pixels, one-hot columns) the spread is
        # set by a handful of non-zero values, far too few for that normal approximation:
        # 9 against 1 non-zero values in 300 rows happens by chance. Test the spread only
        # when both sides can expect at least 20 non-zero values.
        nonzero_share = 1 - table["zeros_train"].to_numpy()
        spread_testable = (n_s >= 2 * kurtosis) & (np.minimum(n_s, n_t) * nonzero_share >= 20)
        # Same distribution: about 2/(n+1) of the values fall outside the training range;
        # allow Poisson noise on that count, with a margin for ties in discrete features.
        expected_out = n_s * 2.0 / (train.count + 1)
        out_limit = np.maximum(max_outside,
                               (expected_out + z * np.sqrt(expected_out) + z * z / 2) / n_s)
        # A serving feature that is all zeros is no surprise when training was mostly zeros.
        all_zero = serve.zeros == serve.count
        plausible_zero = all_zero & (table["zeros_train"].to_numpy() ** n_s > 1e-6)
    one_sided = ((table["nan_train"] > 0) != (table["nan_serve"] > 0)).to_numpy()
    reasons = {
        "shift": s_ok & t_ok & (shift > max_shift) & (diff > mean_limit),
        "spread": enough & (np.abs(log_spread) > np.log(max_spread))
                  & (((np.abs(log_spread) > z * log_se) & spread_testable)
                     | ((serve.var == 0) & ~plausible_zero)),
        "outside": enough & (outside > out_limit),
        "nan/inf": one_sided,
    }
    flagged = np.zeros(len(table), dtype=bool)
    for mask in reasons.values():
        flagged |= mask
    if not flagged.any():
        return [], table
    severity = np.nan_to_num(np.maximum.reduce([
        shift / max_shift, np.maximum(spread, 1 / np.maximum(spread, 1e-300)) / max_spread,
        outside / max_outside, one_sided * 1.0]), nan=0.0, posinf=1e300)
    order = [i for i in np.argsort(-severity, kind="stable") if flagged[i]]
    worst = []
    for i in order[:3]:
        row = table.iloc[i]
        sd = row.train_std if row.train_std > 0 else 1.0
        parts = [f"mean {_fmt(row.serve_mean, sd)} vs {_fmt(row.train_mean, sd)} in training "
                 f"({_fmt(row['shift'], 1.0)} training SDs away)",
                 f"spread x{_fmt(row.spread)}"]
        if row.outside > 0:
            parts.append(f"{row.outside:.0%} of values outside the training range")
        if one_sided[i]:
            parts.append(f"NaN/inf: {int(row.nan_train)} in training, "
                         f"{int(row.nan_serve)} in serving")
        worst.append(f"{table.index[i]!r}: " + ", ".join(parts))
    counts = {k: int(v.sum()) for k, v in reasons.items()}
    n_flag = int(flagged.sum())
    message = (f"{n_flag} of {train.n_features} features{label} differ between x "
               f"({train.rows} rows) and x_serve ({serve.rows} rows). Worst: "
               + "; ".join(worst) + ".")
    evidence_rows = [{"feature": str(table.index[i]), "shift": float(shift[i]),
                      "spread": float(spread[i]), "outside": float(outside[i]),
                      "nan_train": int(table["nan_train"].iloc[i]),
                      "nan_serve": int(table["nan_serve"].iloc[i])} for i in order[:10]]
    return [SERVING_SKEW.finding(
        message, n_flagged=n_flag, n_features=train.n_features, reasons=counts,
        worst=evidence_rows, max_shift=float(np.nanmax(np.where(flagged, shift, 0))),
        rows_train=train.rows, rows_serve=serve.rows)], table


def _number(value, name, low, high=np.inf):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not (low < float(value) < high):
        raise ValueError(f"{name} must be a number in ({low}, {high}), got {value!r}")
    return float(value)


@check(SERVING_SKEW.id, PIXEL_SCALE.id)
def check_serving_skew(x, x_serve, model=None, *, max_shift: float = 0.5,
                       max_spread: float = 3.0, max_outside: float = 0.05,
                       min_rows: int = 20, z: float = 4.0, feature_names=None,
                       batch_size: int | None = None) -> list:
    """Compare the training inputs ``x`` with the serving inputs ``x_serve``, feature by feature.

    A feature is flagged when its serving mean is more than ``max_shift`` training standard
    deviations from the training mean (and ``z`` standard errors, so small samples don't
    raise false alarms), when its spread changes by more than a factor ``max_spread``, when
    more than ``max_outside`` of its serving values fall outside the training range (these
    two need ``min_rows`` serving rows; the spread test also needs enough rows for its
    standard error, and at least 20 expected non-zero values on each side, so rare non-zero
    pixels don't trip it), or when NaN/inf values appear on one side only.
    Training data in [0, 1] served as whole numbers up to 255 is reported as
    ``preprocessing.pixel-scale`` instead.

    ``x`` and ``x_serve`` may be arrays, DataFrames, iterables of batches or batched
    ``tf.data.Dataset`` objects (see :func:`feature_stats`); each is read once. ``model`` is
    only used to tell a list of per-input arrays (multi-input model) from a list of batches.
    """
    max_shift = _number(max_shift, "max_shift", 0)
    max_spread = _number(max_spread, "max_spread", 1)
    max_outside = _number(max_outside, "max_outside", 0, 1)
    z = _number(z, "z", 0)
    if isinstance(min_rows, bool) or not isinstance(min_rows, (int, np.integer)) or min_rows < 1:
        raise ValueError(f"min_rows must be a positive integer, got {min_rows!r}")
    options = dict(max_shift=max_shift, max_spread=max_spread, max_outside=max_outside,
                   min_rows=int(min_rows), z=z, batch_size=batch_size)
    if isinstance(x, Mapping) or isinstance(x_serve, Mapping):
        if not (isinstance(x, Mapping) and isinstance(x_serve, Mapping)):
            raise TypeError("x and x_serve must both be dicts (one entry per model input) or "
                            f"both not; got {_validate.describe(x)} and "
                            f"{_validate.describe(x_serve)}")
        if set(x) != set(x_serve):
            raise ValueError(f"x_serve has inputs {sorted(x_serve)} but x has {sorted(x)}")
        pairs = [(f"[{k!r}]", x[k], x_serve[k]) for k in x]
    elif (model is not None and len(getattr(model, "inputs", None) or ()) > 1
          and isinstance(x, (list, tuple)) and isinstance(x_serve, (list, tuple))):
        pairs = [(f"[{i}]", a, b) for i, (a, b) in enumerate(zip(x, x_serve))]
    else:
        pairs = [("", x, x_serve)]
    found = []
    for label, a, b in pairs:
        names = feature_names if not label else None
        findings, _ = _skew_findings(a, b, label=label, names=names, **options)
        found.extend(findings)
    return found


# ---------------------------------------------------------------------------------------
# Inputs far from unit scale
# ---------------------------------------------------------------------------------------

def normalizing_layers(model) -> list[str]:
    """Names of the layers in ``model`` (nested models included) that normalize, rescale or
    encode inputs, found by class (see ``NORMALIZING_LAYERS``), never by name."""
    import keras

    classes = tuple(getattr(keras.layers, c) for c in NORMALIZING_LAYERS
                    if hasattr(keras.layers, c))
    found, seen = [], set()

    def visit(layer, depth):
        if id(layer) in seen or depth > 50:
            return
        seen.add(id(layer))
        if isinstance(layer, classes):
            found.append(f"{layer.name} ({type(layer).__name__})")
        for sub in getattr(layer, "layers", None) or ():
            visit(sub, depth + 1)
        for sub in getattr(layer, "_layers", None) or ():  # layers tracked by custom layers
            if isinstance(sub, keras.layers.Layer):
                visit(sub, depth + 1)

    for layer in model.layers:
        visit(layer, 0)
    return found


@check(UNSCALED_INPUTS.id)
def check_unscaled_inputs(model, x, *, max_scale: float = 20.0,
                          batch_size: int | None = None) -> list:
    """Flag numeric inputs whose typical magnitude exceeds ``max_scale`` when the model has
    no layer that normalizes or rescales them. Multi-input models are checked per input
    only when ``x`` is a dict or list with one entry per input; a model containing any
    normalizing layer is not flagged."""
    _validate.as_model(model)
    max_scale = _number(max_scale, "max_scale", 0)
    if isinstance(x, Mapping):
        parts = [(f"[{k!r}]", v) for k, v in x.items()]
    elif len(getattr(model, "inputs", None) or ()) > 1 and isinstance(x, (list, tuple)):
        parts = [(f"[{i}]", v) for i, v in enumerate(x)]
    else:
        parts = [("", x)]
    stats = []
    for label, value in parts:
        if label and _is_text(value):
            continue  # a string input (for StringLookup and friends) has no scale
        stats.append((label, feature_stats(value, batch_size=batch_size, name=f"x{label}")))
    if normalizing_layers(model):
        return []
    found = []
    for label, s in stats:
        rms = np.nan_to_num(s.rms, nan=0.0)
        big = np.flatnonzero(rms > max_scale)
        if not len(big):
            continue
        worst = big[np.argsort(-rms[big])][:3]
        detail = "; ".join(f"{s.names[i]!r}: mean {_fmt(s.mean[i])}, std {_fmt(s.std[i])}"
                           for i in worst)
        found.append(UNSCALED_INPUTS.finding(
            f"{len(big)} of {s.n_features} input features{label} have a typical magnitude "
            f"above {max_scale:g} (largest {_fmt(rms[worst[0]])}), and model {model.name!r} "
            f"has no Normalization, Rescaling or other normalizing layer. Worst: {detail}.",
            n_large=int(len(big)), n_features=s.n_features, max_rms=float(rms[worst[0]]),
            features=[s.names[i] for i in worst]))
    return found


# ---------------------------------------------------------------------------------------
# Columns
# ---------------------------------------------------------------------------------------

@check(COLUMN_MISMATCH.id, unfit_serving=True)
def check_column_mismatch(x, x_serve) -> list:
    """Compare the column names of two DataFrames (training ``x`` and serving ``x_serve``).

    Arrays carry no names, so they are not checked (an empty list is returned)."""
    for value, name in ((x, "x"), (x_serve, "x_serve")):
        if value is None:
            raise TypeError(f"{name} must be a DataFrame or array-like, got None")
        if isinstance(value, (str, bytes)):
            raise TypeError(f"{name} must be a DataFrame or array-like, got a "
                            f"{type(value).__name__} {value!r:.40}")
    if not (_is_dataframe(x) and _is_dataframe(x_serve)):
        return []
    train_cols = [str(c) for c in x.columns]
    serve_cols = [str(c) for c in x_serve.columns]
    if train_cols == serve_cols:
        return []
    missing = [c for c in train_cols if c not in set(serve_cols)]
    extra = [c for c in serve_cols if c not in set(train_cols)]
    common_t = [c for c in train_cols if c in set(serve_cols)]
    common_s = [c for c in serve_cols if c in set(train_cols)]
    moved = [c for i, c in enumerate(common_s) if i < len(common_t) and common_t[i] != c]
    # Which training columns would receive another column's values when read by position.
    shifted = [f"{t!r} <- {s!r}" for t, s in zip(train_cols, serve_cols) if t != s]
    parts = []
    if missing:
        parts.append(f"missing from serving: {missing[:5]}" + (" ..." if len(missing) > 5
                                                               else ""))
    if extra:
        parts.append(f"only in serving: {extra[:5]}" + (" ..." if len(extra) > 5 else ""))
    if moved:
        parts.append(f"{len(moved)} shared columns in another order")
    if len(train_cols) == len(serve_cols):
        where = (f"Same number of columns ({len(train_cols)}), so a model reading by position "
                 f"gets the wrong values without any error: " + ", ".join(shifted[:3])
                 + (" ..." if len(shifted) > 3 else ""))
    else:
        where = (f"Training has {len(train_cols)} columns and serving {len(serve_cols)}, so "
                 "predict() fails or, after padding, reads the wrong columns")
    return [COLUMN_MISMATCH.finding(
        "Column names differ between x and x_serve: " + "; ".join(parts) + ". " + where + ".",
        missing=missing, extra=extra, reordered=moved, n_train=len(train_cols),
        n_serve=len(serve_cols))]


# ---------------------------------------------------------------------------------------
# Values the model can't compute with
# ---------------------------------------------------------------------------------------

NON_FINITE = rule(
    "preprocessing.non-finite-inputs", severity="error",
    title="NaN or infinite values in the inputs",
    detects="Inputs holding NaN or inf. Keras does not complain: one NaN in a training batch "
            "makes the loss NaN and every weight it reaches NaN, and at prediction time the "
            "row gets a NaN or an arbitrary output. Usual causes: missing values never imputed, "
            "a division by a zero standard deviation, log of 0.",
    fix="Impute missing values before the model sees them (sklearn SimpleImputer fitted on "
        "the training rows, plus an is-missing indicator if missingness means something), "
        "and guard divisions: scale with a standard deviation that can't be 0.",
    doc=NB_COLUMNS,
)


@check(NON_FINITE.id)
def check_finite_inputs(model, x) -> list:
    """NaN or infinite values in ``x`` (every input of a multi-input model)."""
    inputs, n = _validate.as_inputs(x, "x", model, finite=False)
    if isinstance(inputs, Mapping):
        parts = [(f"x[{k!r}]", v) for k, v in inputs.items()]
    elif isinstance(inputs, list):
        parts = [(f"x[{i}]", v) for i, v in enumerate(inputs)]
    else:
        parts = [("x", inputs)]
    names = list(x.columns) if _is_dataframe(x) else None
    found = []
    for label, arr in parts:
        if arr.dtype.kind != "f":
            continue
        bad = ~np.isfinite(arr.reshape(len(arr), -1))
        if not bad.any():
            continue
        rows, per_feature = int(bad.any(axis=1).sum()), bad.sum(axis=0)
        worst = [int(i) for i in np.argsort(-per_feature)[:3] if per_feature[i] > 0]
        named = names if names and len(names) == len(per_feature) else range(len(per_feature))
        where = ", ".join(f"{named[i]!r} ({int(per_feature[i])})" for i in worst)
        found.append(NON_FINITE.finding(
            f"{label} holds {int(np.isnan(arr).sum())} NaN and {int(np.isinf(arr).sum())} "
            f"infinite value(s) in {rows} of {n} rows; most in feature(s) {where}. The "
            "checks that run the model skip this data.",
            input=label, rows=rows, n_rows=n, nan=int(np.isnan(arr).sum()),
            inf=int(np.isinf(arr).sum()), features=[named[i] for i in worst]))
    return found
# Leakage across the split: the same rows, groups or times on both sides
# ---------------------------------------------------------------------------------------

NB_LEAKAGE = "book/preprocessing/08-leakage-through-the-split.ipynb"

SPLIT_DUPLICATES = rule(
    "preprocessing.split-duplicates", severity="warning",
    title="Rows of the held-out or serving data are copies of training rows",
    detects="At least 2% of the rows of x_serve (a test set, or serving data) occur exactly "
            "in x as well, on data with continuous features where rows don't coincide by "
            "chance. Duplicated records, or oversampling and augmentation done before the "
            "split, put copies of training rows in the test set, and a model that memorises "
            "scores well on them: the test score is inflated.",
    fix="Drop duplicates before splitting (df.drop_duplicates()), split first and then "
        "oversample or augment the training part only (imblearn's RandomOverSampler inside "
        "an imblearn Pipeline does that per fold).",
    doc=NB_LEAKAGE,
)
SPLIT_GROUPS = rule(
    "preprocessing.split-groups", severity="warning",
    title="The same groups (patients, users, sessions) are on both sides of the split",
    detects="Given group labels for both sides (groups= and groups_serve=), some groups of "
            "the held-out rows also have rows in training. Rows of one group share traits "
            "the model can recognise, so a random split scores the model on people it has "
            "already seen, not on new ones.",
    fix="Split by group: sklearn GroupShuffleSplit or GroupKFold (StratifiedGroupKFold for "
        "imbalanced classes), so every group is entirely in training or entirely held out.",
    doc=NB_LEAKAGE,
)
SPLIT_TIME = rule(
    "preprocessing.split-time", severity="warning",
    title="Held-out rows are older than training rows",
    detects="Given timestamps for both sides (times= and times_serve=), at least 5% of the "
            "held-out rows are older than the newest training row. A model used on the "
            "future must be tested on the future: a random split lets it learn from what "
            "came after the rows it is scored on.",
    fix="Split by time: train on the past, test on what comes after (sklearn "
        "TimeSeriesSplit for cross-validation).",
    doc=NB_LEAKAGE,
)


def _row_keys(data, name: str, decimals: int) -> tuple[np.ndarray, bool]:
    """A 64-bit hash per row (of its values rounded to ``decimals``), and whether any column
    holds non-integer values in the first 2000 rows (continuous data, where equal rows are
    copies, not chance).
    Vectorised: equal rows get equal hashes; different rows collide with odds near 2**-64."""
    arr = _validate.as_array(data, name, finite=False)
    arr = arr.reshape(len(arr), -1).astype(float)
    head = arr[:2000]
    continuous = bool(np.any(np.isfinite(head) & (np.mod(head, 1) != 0)))
    rounded = np.round(arr, decimals)
    rounded[rounded == 0] = 0.0   # -0.0 and 0.0 are the same value
    bits = np.ascontiguousarray(rounded).view(np.uint64)
    bits = bits ^ (bits >> np.uint64(29))
    weights = (np.arange(1, bits.shape[1] + 1, dtype=np.uint64)
               * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    with np.errstate(over="ignore"):
        keys = (bits * weights).sum(axis=1, dtype=np.uint64)
    return keys, continuous


def _paired(value, other, name: str, other_name: str, n: int, n_other: int):
    if (value is None) != (other is None):
        given, missing = (name, other_name) if value is not None else (other_name, name)
        raise ValueError(f"{given} was given without {missing}: pass both sides' labels")
    if value is None:
        return None, None
    a = _validate.as_labels(value, name)
    b = _validate.as_labels(other, other_name)
    _validate.same_length(**{"x": n, name: len(a)})
    _validate.same_length(**{"x_serve": n_other, other_name: len(b)})
    return a, b


@check(SPLIT_DUPLICATES.id, SPLIT_GROUPS.id, SPLIT_TIME.id)
def check_split_leakage(x, x_serve, *, groups=None, groups_serve=None, times=None,
                        times_serve=None, min_share: float = 0.02, min_rows: int = 3,
                        decimals: int = 6) -> list:
    """Leakage between training rows ``x`` and held-out (or serving) rows ``x_serve``.

    Duplicates: the share of ``x_serve`` rows equal to some ``x`` row (after rounding to
    ``decimals``), flagged from ``min_share`` and ``min_rows`` rows on, only when some
    column of ``x`` has non-integer values (on all-integer data, such as one-hot
    categories, equal rows are expected). Groups (``groups``, ``groups_serve``: one label
    per row of each side): any held-out group that also has training rows. Times
    (``times``, ``times_serve``: numbers or datetimes per row): at least 5% of the held-out
    rows older than the newest training row. Arrays only; nothing is modified.
    """
    train_keys, continuous = _row_keys(x, "x", decimals)
    serve_keys, _ = _row_keys(x_serve, "x_serve", decimals)
    groups, groups_serve = _paired(groups, groups_serve, "groups", "groups_serve",
                                   len(train_keys), len(serve_keys))
    times, times_serve = _paired(times, times_serve, "times", "times_serve",
                                 len(train_keys), len(serve_keys))
    found = []
    copied = np.isin(serve_keys, train_keys)
    share = float(copied.mean()) if len(copied) else 0.0
    if continuous and share >= min_share and copied.sum() >= min_rows:
        found.append(SPLIT_DUPLICATES.finding(
            f"{int(copied.sum())} of the {len(copied)} rows of x_serve ({share:.1%}) are "
            f"exact copies of rows in x.",
            copies=int(copied.sum()), rows=len(copied), share=share))
    if groups is not None:
        shared = np.intersect1d(np.unique(groups), np.unique(groups_serve))
        if len(shared):
            rows = float(np.isin(groups_serve, shared).mean())
            found.append(SPLIT_GROUPS.finding(
                f"{len(shared)} of the {len(np.unique(groups_serve))} groups in the held-out "
                f"rows also have training rows; they hold {rows:.0%} of the held-out rows "
                f"(for example {shared[:3].tolist()}).",
                shared_groups=len(shared), serve_groups=int(len(np.unique(groups_serve))),
                share_of_rows=rows))
    if times is not None:
        try:
            newest = np.max(times)
            older = float(np.mean(times_serve < newest))
        except TypeError:
            raise TypeError("times and times_serve must be comparable (numbers or "
                            f"datetimes), got {times.dtype} and {times_serve.dtype}") from None
        if older >= 0.05:
            found.append(SPLIT_TIME.finding(
                f"{older:.0%} of the held-out rows are older than the newest training row "
                f"({newest}).", share_older=older, newest_train=str(newest)))
    return found


# ---------------------------------------------------------------------------------------
# Image preprocessing beyond /255: rescaled twice, channels swapped
# ---------------------------------------------------------------------------------------

NB_IMAGES = "book/preprocessing/07-image-preprocessing-beyond-255.ipynb"

RESCALED_TWICE = rule(
    "preprocessing.rescaled-twice", severity="error",
    title="The model rescales pixels itself, and the inputs are already rescaled",
    detects="The model contains a Rescaling layer that expects pixels in 0..255 (scale of "
            "1/50 or less, such as 1/255 or 1/127.5; EfficientNet and many keras.io "
            "examples build it in), while x is already within [-1.5, 1.5]: /255 or a "
            "preprocess_input was applied before the model, so the network sees values "
            "within about 0.01 of one number.",
    fix="Apply the scaling once: pass raw 0..255 pixels to a model that rescales inside, "
        "or remove its Rescaling layer if you keep preprocess_input outside.",
    doc=NB_IMAGES,
)
CHANNELS_SWAPPED = rule(
    "preprocessing.channels-swapped", severity="warning",
    title="The colour channels of the serving images are in the reverse order (BGR vs RGB)",
    detects="Images (last axis of 3 channels) whose per-channel means differ between x and "
            "x_serve, and match once the channel order of x_serve is reversed. OpenCV reads "
            "images as BGR, PIL and Keras as RGB; caffe-style preprocess_input (ResNet50, "
            "VGG16) also flips RGB to BGR, so using it on one side only swaps the channels.",
    fix="Convert the serving images to the training order (image[..., ::-1], or "
        "cv2.cvtColor(image, cv2.COLOR_BGR2RGB)), and apply the same preprocess_input "
        "on both sides.",
    doc=NB_IMAGES,
)


def _rescaling_layers(model) -> list:
    import keras

    found = []
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.Model):
            found.extend(_rescaling_layers(layer))
        elif isinstance(layer, keras.layers.Rescaling):
            found.append(layer)
    return found


@check(RESCALED_TWICE.id)
def check_rescaled_twice(model, x, *, max_scale: float = 1 / 50,
                         scaled_range: float = 1.5) -> list:
    """A Rescaling layer for 0..255 pixels (scale at most ``max_scale``) inside the model
    (nested models included), while every value of ``x`` is within ``scaled_range`` of 0
    and ``x`` is not constant. Array inputs only; a model without such a layer is not
    judged."""
    _validate.as_model(model)
    layers = [layer for layer in _rescaling_layers(model)
              if np.all(np.abs(np.asarray(layer.scale, dtype=float)) <= max_scale)]
    if not layers:
        return []
    arr = _validate.as_array(x, "x", finite=False)
    values = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr.astype(float)
    if values.size == 0 or np.ptp(values) == 0:
        return []
    low, high = float(values.min()), float(values.max())
    if max(abs(low), abs(high)) > scaled_range:
        return []
    layer = layers[0]
    scale = np.asarray(layer.scale, dtype=float).ravel()[0]
    offset = np.asarray(layer.offset, dtype=float).ravel()[0]
    seen = (low * scale + offset, high * scale + offset)
    return [RESCALED_TWICE.finding(
        f"Layer {layer.name!r} computes x * {scale:.4g} + {offset:.4g}, but x is already in "
        f"[{low:.3g}, {high:.3g}]: the layers after it see values in [{seen[0]:.3g}, "
        f"{seen[1]:.3g}].",
        layer=layer.name, scale=float(scale), offset=float(offset), x_min=low, x_max=high)]


@check(CHANNELS_SWAPPED.id)
def check_channels_swapped(x, x_serve, *, max_rows: int = 2000, min_gap: float = 0.25) -> list:
    """Per-channel means of images ``x`` and ``x_serve`` (arrays of shape (n, ..., 3)).

    Fires when some channel's serving mean is off by more than ``min_gap`` training
    standard deviations, the training channels differ among themselves by more than that,
    and reversing the serving channels brings every channel within a quarter of the
    original gap. Anything but 3-channel images with at least 2 axes besides the rows is
    not judged."""
    a = _validate.as_array(x, "x", finite=False)
    b = _validate.as_array(x_serve, "x_serve", finite=False)
    if a.ndim < 3 or b.ndim != a.ndim or a.shape[-1] != 3 or b.shape[-1] != 3:
        return []
    a = a[:max_rows].reshape(-1, 3).astype(float)
    b = b[:max_rows].reshape(-1, 3).astype(float)
    mean_a, sd = np.nanmean(a, axis=0), np.nanstd(a, axis=0)
    mean_b = np.nanmean(b, axis=0)
    unit = max(float(np.mean(sd)), 1e-12)
    as_is = np.abs(mean_b - mean_a) / unit
    flipped = np.abs(mean_b[::-1] - mean_a) / unit
    spread = float(np.ptp(mean_a)) / unit
    if as_is.max() <= min_gap or spread <= min_gap or flipped.max() > 0.25 * as_is.max():
        return []
    return [CHANNELS_SWAPPED.finding(
        f"Channel means of x are {np.round(mean_a, 3).tolist()}, of x_serve "
        f"{np.round(mean_b, 3).tolist()}: off by up to {as_is.max():.2g} standard deviations "
        f"as they are, and by {flipped.max():.2g} with the serving channels reversed.",
        train_means=mean_a.tolist(), serve_means=mean_b.tolist(), gap=float(as_is.max()),
        gap_reversed=float(flipped.max()))]
