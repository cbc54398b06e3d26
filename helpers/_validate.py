"""Input checks at the boundary, in scikit-learn's ``check_array`` habit: every message
names the argument and says what was received. Nothing here modifies its input."""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping

import numpy as np

from helpers._history import CheckedHistory, as_history  # noqa: F401 - their home is _history

#: At most this many rows are read from a ``tf.data.Dataset`` or ``keras.utils.PyDataset``
#: (whole batches), or densified from a scipy sparse matrix. The checks subsample anyway.
MAX_STREAMED_ROWS = 20_000
#: At most this many values of a sparse matrix are densified (rows are sampled evenly).
MAX_DENSE_VALUES = 1 << 22


class NotApplicable(ValueError):
    """The data is valid but of a kind a check does not handle (regression targets for a
    classification check, sequence targets for a per-row one). ``diagnose`` lists the check
    as skipped, quietly, instead of as a check that could not use the data."""


def describe(value) -> str:
    """A short description of ``value`` for error messages."""
    if value is None:
        return "None"
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} of shape {tuple(shape)}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '...' if len(text) > 60 else text}"


def check_scalar(value, name: str, kind: type = float, *, min_val=None, max_val=None,
                 include_boundaries: str = "both"):
    """``value`` as one ``int`` or ``float`` in range, in scikit-learn's ``check_scalar`` habit:
    the one validator of the numeric options of every function in helpers.

    ``kind=int`` takes Python and numpy integers; ``kind=float`` takes any real number. A
    bool is neither (``True`` is not 1 row). ``include_boundaries`` ("both", "left", "right"
    or "neither") says whether ``min_val`` and ``max_val`` themselves are allowed. A wrong
    type raises ``TypeError``; NaN, infinity or a value out of range ``ValueError``. Both
    messages name the argument and the value received.
    """
    if include_boundaries not in ("both", "left", "right", "neither"):
        raise ValueError("include_boundaries must be 'both', 'left', 'right' or 'neither', got "
                         f"{include_boundaries!r}")
    types_ok = (int, np.integer) if kind is int else (int, float, np.integer, np.floating)
    what = "an integer" if kind is int else "a number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, types_ok):
        raise TypeError(f"{name} must be {what}, got {describe(value)}")
    if kind is not int and not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    left = include_boundaries in ("both", "left")
    right = include_boundaries in ("both", "right")
    too_low = min_val is not None and (value < min_val if left else value <= min_val)
    too_high = max_val is not None and (value > max_val if right else value >= max_val)
    if too_low or too_high:
        raise ValueError(f"{name} must be {_scalar_range(what, min_val, max_val, left, right)}, "
                         f"got {value!r}")
    return int(value) if kind is int else float(value)


def _scalar_range(what: str, low, high, left: bool, right: bool) -> str:
    """The allowed range in words ("a number above 1"), for :func:`check_scalar`'s message."""
    if low is not None and high is not None:
        return f"{what} in {'[' if left else '('}{low}, {high}{']' if right else ')'}"
    if low is not None:
        if low == 0 and not left:
            return f"a positive {what.split()[-1]}"
        return f"{what} of at least {low}" if left else f"{what} above {low}"
    if high is not None:
        return f"{what} of at most {high}" if right else f"{what} below {high}"
    return what


def as_model(model, name: str = "model", *, compiled: bool = False):
    """Return ``model`` if it is a Keras model (compiled, when asked), else raise."""
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"{name} must be a keras.Model, got {describe(model)}")
    if compiled and not getattr(model, "compiled", False):
        raise ValueError(
            f"{name} is not compiled, so it has no loss to check; call "
            f"{name}.compile(loss=...) first (or load it with compile=True)"
        )
    return model


def is_sparse(value) -> bool:
    """A scipy sparse matrix or array (without importing scipy for everything else)."""
    return type(value).__module__.startswith("scipy.sparse")


def is_dataset(value) -> bool:
    """A ``tf.data.Dataset`` or a ``keras.utils.PyDataset``: data Keras reads in batches,
    and that can be read again without being used up."""
    for cls in type(value).__mro__:
        if (cls.__name__ == "DatasetV2" and "tensorflow" in cls.__module__) or (
                cls.__name__ == "PyDataset" and "keras" in cls.__module__):
            return True
    return False


def _not_an_array(value, name: str):
    """The error for an object Keras may stream but a check can't hold as one array."""
    if isinstance(value, (types.GeneratorType, Iterator)):
        return TypeError(
            f"{name} is a {type(value).__name__}: reading it would use it up, so it can't be "
            f"checked without changing it. Pass arrays instead (e.g. {name} = "
            "np.concatenate([batch for batch in ...]) over a few batches), or a tf.data.Dataset, "
            "which can be read again.")
    if is_dataset(value):
        return TypeError(
            f"{name} is a {type(value).__name__}; this check takes arrays. Pass it to "
            f"helpers.diagnose, which reads up to {MAX_STREAMED_ROWS} rows of it, or pass "
            "arrays (e.g. np.concatenate over a few batches).")
    return TypeError(f"{name} must be array-like (a numpy array, list or DataFrame), got "
                     f"{describe(value)}")


def _to_numpy(value, name: str, copy: bool = True) -> np.ndarray:
    if value is None:
        raise TypeError(f"{name} must be array-like, got None")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be array-like, got a {type(value).__name__} {value!r:.40}")
    if isinstance(value, Mapping):
        raise TypeError(f"{name} must be array-like, got a dict; pass one array")
    if is_sparse(value):
        size = int(np.prod(value.shape))
        if size > MAX_DENSE_VALUES:
            raise ValueError(f"{name} is a sparse matrix of shape {value.shape}, too large to "
                             f"densify here; pass a sample of its rows, e.g. "
                             f"{name}[:1000].toarray()")
        return np.asarray(value.toarray())
    if is_dataset(value) or isinstance(value, (types.GeneratorType, Iterator)):
        raise _not_an_array(value, name)
    to_numpy = getattr(value, "to_numpy", None)  # pandas DataFrame / Series
    if callable(to_numpy):
        value = to_numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # eager tensors
        value = value.numpy()
    try:
        # np.array copies, so later in-place work can never touch the caller's data
        # (``copy=False``: only read, e.g. to check shapes; no copy of a large image array).
        arr = np.array(value) if copy else np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be read as an array ({exc}); "
                         f"got {describe(value)}") from None
    if arr.ndim == 0 and arr.dtype == object:  # an object numpy can't see into
        raise _not_an_array(value, name)
    return arr


def as_array(value, name: str, *, ndim: tuple[int, ...] | None = None,
             numeric: bool = True, finite: bool = True, min_rows: int = 1,
             copy: bool = True) -> np.ndarray:
    """A numpy copy of ``value``, checked. Raises ``TypeError``/``ValueError`` naming ``name``.
    ``copy=False``: the array itself when it is one (for reading only)."""
    arr = _to_numpy(value, name, copy)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar "
                         f"{arr.item()!r:.40}")
    if ndim is not None and arr.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {want}, got {arr.ndim}-D with shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s), got shape {arr.shape}")
    if numeric:
        if arr.dtype.kind in "US":  # Keras refuses strings too, even "0.5"
            raise TypeError(f"{name} must be numeric, got strings such as "
                            f"{str(arr.ravel()[0])!r:.40}; convert them to numbers first")
        if arr.dtype == object or arr.dtype.kind == "V":
            try:
                arr = arr.astype(float)
            except (ValueError, TypeError):
                raise TypeError(f"{name} must be numeric, got values of type {arr.dtype} "
                                f"such as {arr.ravel()[0]!r}") from None
        if arr.dtype.kind == "b":
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).sum())
            raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")
    return arr


def as_labels(value, name: str = "y", *, min_rows: int = 1, max_ndim: int = 2) -> np.ndarray:
    """Labels: 1-D or 2-D (up to ``max_ndim``), numbers or strings, no NaN. Returns a numpy
    copy. Sequence targets (3-D) raise :class:`NotApplicable` with the default ``max_ndim``:
    Keras accepts them, the per-row label checks don't handle them."""
    arr = _to_numpy(value, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar "
                         f"{arr.item()!r:.40}")
    if arr.ndim > max_ndim:
        raise NotApplicable(f"{name} must be 1-D or 2-D for this check (one label per row), "
                            f"got {arr.ndim}-D targets of shape {arr.shape}")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s), got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(arr)).sum())} NaN or "
                         "infinite value(s)")
    if arr.dtype == object:
        if any(v is None or (isinstance(v, float) and not np.isfinite(v)) for v in arr.ravel()):
            raise ValueError(f"{name} contains missing values (None or NaN)")
    return arr


def input_names(model) -> list[str]:
    """The names Keras matches the keys of a dict of inputs against, in input order."""
    return [t.name for t in (getattr(model, "inputs", None) or ())]


def _input_shapes(model) -> list[tuple]:
    return [tuple(t.shape[1:]) for t in (getattr(model, "inputs", None) or ())]


def _fit_input(arr: np.ndarray, want: tuple | None, name: str) -> np.ndarray:
    """``arr`` shaped for an input of row shape ``want``: a 1-D array for a one-feature
    input becomes a column, as Keras does. Raises if the rows can't fit."""
    if want is None:
        return arr
    if arr.ndim == 1 and len(want) == 1 and want[0] in (1, None):
        arr = arr.reshape(-1, 1)
    got = arr.shape[1:]
    if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
        raise ValueError(f"{name} has rows of shape {got}, but the model expects "
                         f"{tuple(None if w is None else int(w) for w in want)}")
    return arr


def _select_keys(value: Mapping, model, name: str) -> dict:
    """The entries of a dict of inputs that the model reads, in input order. Keys that name
    no input raise a ``ValueError`` listing the expected ones (Keras ignores extra keys)."""
    names = input_names(model)
    if not names:
        return dict(value)
    missing = [k for k in names if k not in value]
    if missing and len(names) == 1 and len(value) == 1:
        return {names[0]: next(iter(value.values()))}  # Keras takes a lone entry as the input
    if missing:
        raise ValueError(f"{name} is a dict with keys {sorted(map(str, value))}, but the model's "
                         f"inputs are named {names}: no entry for {missing}. Key the dict by "
                         "the names given to keras.Input(name=...).")
    return {k: value[k] for k in names}


def as_inputs(value, name: str, model=None, *, finite: bool = True, copy: bool = True):
    """Model inputs: one array, or a list/dict of arrays for a multi-input model.

    Returns ``(inputs_for_predict, n_rows)``; each array is a checked copy (``copy=False``:
    the caller's arrays where they are arrays, for reading only). ``finite=False``
    lets NaN/inf through (data checks report them; prediction checks need them out). As in
    Keras, a 1-D array feeds a one-feature input as a column, and a dict is keyed by the
    names of the model's inputs.
    """
    n_inputs = len(model.inputs) if model is not None and getattr(model, "inputs", None) else 1
    shapes = _input_shapes(model) if model is not None else []
    if isinstance(value, Mapping):
        if model is not None:
            value = _select_keys(value, model, name)
            names = input_names(model)
            want = dict(zip(names, shapes)) if len(value) == len(names) else {}
        else:
            want = {}
        arrays = {k: _fit_input(as_array(v, f"{name}[{k!r}]", finite=finite, copy=copy),
                                want.get(k),
                                f"{name}[{k!r}]") for k, v in value.items()}
        lengths = {len(a) for a in arrays.values()}
        out = arrays
    elif isinstance(value, (list, tuple)) and n_inputs > 1:
        if len(value) != n_inputs:
            raise ValueError(f"{name} must hold {n_inputs} arrays, one per model input, "
                             f"got {len(value)}")
        out = [_fit_input(as_array(v, f"{name}[{i}]", finite=finite, copy=copy),
                          shapes[i] if shapes else None, f"{name}[{i}]")
               for i, v in enumerate(value)]
        lengths = {len(a) for a in out}
    else:
        out = as_array(value, name, finite=finite, copy=copy)
        if model is not None and n_inputs == 1 and shapes:
            out = _fit_input(out, shapes[0], name)
        lengths = {len(out)}
    if len(lengths) != 1:
        raise ValueError(f"the arrays in {name} have different numbers of rows: {sorted(lengths)}")
    return out, lengths.pop()


def same_length(**arrays) -> int:
    lengths = {k: n for k, n in arrays.items() if n is not None}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"inputs must have the same number of rows: {detail}")
    return next(iter(lengths.values()))


# --- data as Keras accepts it, made into what the checks read --------------------------------

def _batch_to_numpy(part):
    if isinstance(part, Mapping):
        return {k: np.asarray(v) for k, v in part.items()}
    if isinstance(part, (list, tuple)):
        return [np.asarray(v) for v in part]
    return np.asarray(part)


def _concat(parts):
    first = parts[0]
    if isinstance(first, dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in first}
    if isinstance(first, list):
        return [np.concatenate([p[i] for p in parts]) for i in range(len(first))]
    return np.concatenate(parts)


def _rows(part) -> int:
    if isinstance(part, dict):
        return len(next(iter(part.values())))
    if isinstance(part, list):
        return len(part[0])
    return len(part) if np.ndim(part) else 0


def read_dataset(data, name: str, model=None, *, max_rows: int = MAX_STREAMED_ROWS):
    """Up to ``max_rows`` rows (whole batches) of a batched ``tf.data.Dataset`` or a
    ``keras.utils.PyDataset``, as ``(x, y)`` numpy arrays (``y`` None when the batches hold
    inputs only). Neither object is changed: both can be read again."""
    if hasattr(data, "element_spec"):  # tf.data
        batches = iter(data)
    else:  # keras.utils.PyDataset: indexable batches
        def batches_of(ds):
            try:
                count = len(ds)
            except TypeError:
                count = None
            i = 0
            while count is None or i < count:
                try:
                    yield ds[i]
                except IndexError:
                    return
                i += 1
        batches = batches_of(data)
    xs, ys, n = [], [], 0
    for batch in batches:
        if isinstance(batch, tuple):
            bx = batch[0]
            by = batch[1] if len(batch) > 1 else None
        else:
            bx, by = batch, None
        bx = _batch_to_numpy(bx)
        if not xs:
            first = next(iter(bx.values())) if isinstance(bx, dict) else \
                bx[0] if isinstance(bx, list) else bx
            shapes = _input_shapes(model) if model is not None else []
            if (shapes and not isinstance(bx, (dict, list)) and len(shapes) == 1
                    and np.ndim(first) == len(shapes[0]) and shapes[0] not in ((1,), (None,))):
                raise ValueError(
                    f"{name} is a {type(data).__name__} of single rows (shape "
                    f"{np.shape(first)}), and Keras reads batches: pass {name}.batch(32)")
        xs.append(bx)
        if by is not None:
            ys.append(_batch_to_numpy(by))
        n += _rows(bx)
        if n >= max_rows:
            break
    if not xs:
        raise ValueError(f"{name} is an empty {type(data).__name__}: it yielded no batches")
    if ys and len(ys) != len(xs):
        raise ValueError(f"some batches of {name} hold targets and some don't")
    try:
        return _concat(xs), (_concat(ys) if ys else None)
    except ValueError as exc:  # batches padded to different lengths, say
        raise ValueError(f"the batches of {name} don't stack into one array ({exc}); pass "
                         "arrays of equal row shapes instead") from None


def take_rows(value, rows):
    """The rows ``rows`` (indices, a mask or a slice; None: all) of an array, a DataFrame,
    or a list or dict of them (a multi-input model's inputs). The one row-taker of helpers."""
    if value is None or rows is None:
        return value
    if isinstance(value, Mapping):
        return {k: take_rows(v, rows) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [take_rows(v, rows) for v in value]
    iloc = getattr(value, "iloc", None)
    if iloc is not None:
        return iloc[rows]
    return np.asarray(value)[rows]


def sample_rows(n: int, max_rows: int) -> np.ndarray:
    """The row indices a check reads when it reads at most ``max_rows`` of ``n`` rows: all
    of them in order, or ``max_rows`` evenly spaced ones (deterministic, and data sorted by
    class still gives every class)."""
    if n <= max_rows:
        return np.arange(n)
    return np.linspace(0, n - 1, max_rows).astype(int)


def _dense_sample(x, name: str):
    """A scipy sparse ``x`` as a dense array; rows sampled evenly when it is large."""
    n, columns = x.shape
    keep = max(1, MAX_DENSE_VALUES // max(columns, 1))
    rows = None if n <= keep else np.linspace(0, n - 1, keep).astype(int)
    dense = np.asarray((x if rows is None else x.tocsr()[rows]).toarray())
    return dense, rows


def _labels_for(model, y, name: str) -> int:
    """Validate ``y`` as Keras would take it for ``model``; returns its number of rows.
    One array for a single output; a list (one per output) or a dict keyed by output names
    for several; sequence targets (3-D and up) where the output has time steps."""
    outputs = list(getattr(model, "outputs", None) or ())
    per_output = isinstance(y, Mapping) or (
        isinstance(y, (list, tuple)) and len(y) > 0 and np.ndim(y[0]) > 0)
    if len(outputs) > 1 and per_output:
        names = list(getattr(model, "output_names", None) or [])
        if isinstance(y, Mapping):
            unknown = [k for k in y if names and k not in names]
            if unknown:
                raise ValueError(f"{name} is a dict with keys {sorted(map(str, y))}, but the "
                                 f"model's outputs are named {names}: {unknown} name no output")
            items = list(y.items())
        else:
            if len(y) != len(outputs):
                raise ValueError(f"{name} must hold {len(outputs)} arrays, one per model "
                                 f"output, got {len(y)}")
            items = list(enumerate(y))
        rank = max(2, *(len(o.shape) for o in outputs))
        rows = {len(as_labels(v, f"{name}[{k!r}]", max_ndim=rank)) for k, v in items}
        if len(rows) != 1:
            raise ValueError(f"the arrays in {name} have different numbers of rows: "
                             f"{sorted(rows)}")
        return rows.pop()
    rank = len(outputs[0].shape) if len(outputs) == 1 else 2
    try:
        return len(as_labels(y, name, max_ndim=max(2, rank)))
    except NotApplicable:
        shape = tuple(outputs[0].shape) if len(outputs) == 1 else None
        raise ValueError(f"{name} has shape {np.shape(y)}, more dimensions than the model's "
                         f"output {shape} can be compared with") from None


def model_data(model, x=None, y=None, x_serve=None):
    """``x``, ``y`` and ``x_serve`` in every form ``model.fit``/``predict`` accept, checked and
    made into what the checks read: arrays, DataFrames, or lists/dicts of them.

    A batched ``tf.data.Dataset`` or ``keras.utils.PyDataset`` is read (up to
    ``MAX_STREAMED_ROWS`` rows; its targets become ``y``); a scipy sparse matrix is densified
    (rows sampled evenly beyond ``MAX_DENSE_VALUES`` values, ``y`` sampled alike); a 1-D
    ``x`` for a one-feature input becomes a column; a dict is keyed by input names (extra
    keys dropped). Python generators are refused: reading one would use it up. DataFrames
    and other objects the checks read as they are come back unchanged (the same object),
    so column names survive. Returns ``(x, y, x_serve, rows)`` with ``rows`` the row counts.
    """
    rows = {}

    def prepare(value, name, with_targets):
        targets = None
        if is_dataset(value):
            value, targets = read_dataset(value, name, model)
            if not with_targets:
                targets = None
        elif isinstance(value, (types.GeneratorType, Iterator)):
            raise _not_an_array(value, name)
        sample = None
        if is_sparse(value):
            value, sample = _dense_sample(value, name)
        value = _reshape_one_feature(value, model)
        if isinstance(value, Mapping):
            value = _select_keys(value, model, name)
            if len(input_names(model)) == 1:  # the one input's array, as Keras would take it
                value = _reshape_one_feature(next(iter(value.values())), model)
        # Raise with the argument's name; read only, so no copy of a large image array.
        n = as_inputs(value, name, model, finite=False, copy=False)[1]
        return value, targets, sample, n

    if x is not None:
        x, targets, sample, rows["x"] = prepare(x, "x", True)
        if targets is not None:
            if y is not None:
                raise ValueError("y must be None when x is a dataset: Keras takes the targets "
                                 "from its batches (as here), so pass one or the other")
            y = targets
        if sample is not None and y is not None:
            y = take_rows(y, sample)
    if y is not None:
        rows["y"] = _labels_for(model, y, "y")
    if x_serve is not None:
        x_serve = prepare(x_serve, "x_serve", False)[0]
    if rows:
        same_length(**rows)
    return x, y, x_serve, rows


def _reshape_one_feature(value, model):
    """A 1-D array, list or Series for a model whose one input takes one feature: a column
    (a one-column DataFrame for a Series, so its name stays)."""
    shapes = _input_shapes(model)
    if len(shapes) != 1 or len(shapes[0]) != 1 or shapes[0][0] not in (1, None):
        return value
    if isinstance(value, Mapping) or isinstance(value, (str, bytes)):
        return value
    to_frame = getattr(value, "to_frame", None)
    if callable(to_frame) and getattr(value, "ndim", 2) == 1:
        return to_frame()
    if np.ndim(value) == 1 and not isinstance(value, (list, tuple)) or (
            isinstance(value, (list, tuple)) and value and np.ndim(value[0]) == 0):
        return np.asarray(value).reshape(-1, 1)
    return value
