"""Input checks at the boundary, in scikit-learn's ``check_array`` habit: every message
names the argument and says what was received. Nothing here modifies its input."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


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


def _to_numpy(value, name: str) -> np.ndarray:
    if value is None:
        raise TypeError(f"{name} must be array-like, got None")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be array-like, got a {type(value).__name__} {value!r:.40}")
    if isinstance(value, Mapping):
        raise TypeError(f"{name} must be array-like, got a dict; pass one array")
    to_numpy = getattr(value, "to_numpy", None)  # pandas DataFrame / Series
    if callable(to_numpy):
        value = to_numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # eager tensors
        value = value.numpy()
    try:
        # np.array copies, so later in-place work can never touch the caller's data.
        return np.array(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be read as an array ({exc}); "
                         f"got {describe(value)}") from None


def as_array(value, name: str, *, ndim: tuple[int, ...] | None = None,
             numeric: bool = True, finite: bool = True, min_rows: int = 1) -> np.ndarray:
    """A numpy copy of ``value``, checked. Raises ``TypeError``/``ValueError`` naming ``name``."""
    arr = _to_numpy(value, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar {arr!r}")
    if ndim is not None and arr.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {want}, got {arr.ndim}-D with shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s), got shape {arr.shape}")
    if numeric:
        if arr.dtype == object or arr.dtype.kind in "USV":
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


def as_labels(value, name: str = "y", *, min_rows: int = 1) -> np.ndarray:
    """Labels: 1-D or 2-D, numbers or strings, no NaN. Returns a numpy copy."""
    arr = _to_numpy(value, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar {arr!r}")
    if arr.ndim > 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got {arr.ndim}-D with shape {arr.shape}")
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


def as_inputs(value, name: str, model=None, *, finite: bool = True):
    """Model inputs: one array, or a list/dict of arrays for a multi-input model.

    Returns ``(inputs_for_predict, n_rows)``; each array is a checked copy. ``finite=False``
    lets NaN/inf through (data checks report them; prediction checks need them out).
    """
    n_inputs = len(model.inputs) if model is not None and getattr(model, "inputs", None) else 1
    if isinstance(value, Mapping):
        arrays = {k: as_array(v, f"{name}[{k!r}]", finite=finite) for k, v in value.items()}
        lengths = {len(a) for a in arrays.values()}
        out = arrays
    elif isinstance(value, (list, tuple)) and n_inputs > 1:
        if len(value) != n_inputs:
            raise ValueError(f"{name} must hold {n_inputs} arrays, one per model input, "
                             f"got {len(value)}")
        out = [as_array(v, f"{name}[{i}]", finite=finite) for i, v in enumerate(value)]
        lengths = {len(a) for a in out}
    else:
        out = as_array(value, name, finite=finite)
        lengths = {len(out)}
        if model is not None and n_inputs == 1 and model.inputs:
            want = tuple(model.inputs[0].shape[1:])
            got = out.shape[1:]
            if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
                raise ValueError(f"{name} has rows of shape {got}, but the model expects "
                                 f"{tuple(None if w is None else int(w) for w in want)}")
    if len(lengths) != 1:
        raise ValueError(f"the arrays in {name} have different numbers of rows: {sorted(lengths)}")
    return out, lengths.pop()


def same_length(**arrays) -> int:
    lengths = {k: n for k, n in arrays.items() if n is not None}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"inputs must have the same number of rows: {detail}")
    return next(iter(lengths.values()))
