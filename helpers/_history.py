"""A History (or a dict of per-epoch lists) checked once: the one home of history
validation, re-exported by :mod:`helpers._validate`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def describe(value) -> str:
    from helpers._validate import describe as _describe  # here: _validate imports this module

    return _describe(value)


class CheckedHistory(dict):
    """A history :func:`as_history` has already validated: its curves as float arrays, and
    the ``params`` of the original History (or None). ``as_history`` returns it as it is,
    so ``diagnose`` validates a History once for all its checks."""

    def __init__(self, curves: Mapping, params=None):
        super().__init__(curves)
        self.params = params

    @property
    def history(self):
        return self


def as_history(history, name: str = "history") -> dict[str, np.ndarray]:
    """A ``keras.callbacks.History`` or a dict of per-epoch lists as ``{metric: float array}``,
    checked: the one place a history is validated (``diagnose``, the fitting checks and
    ``plots.learning_curves`` all use it).

    NaN and infinite values are kept (they are evidence of divergence); values that are not
    single numbers, lists of different lengths, no epochs and no ``'loss'`` raise errors
    that name ``name``.
    """
    if isinstance(history, CheckedHistory):
        return history
    data = getattr(history, "history", history)
    if not isinstance(data, Mapping):
        raise TypeError(f"{name} must be a keras History or a dict of per-epoch lists, got "
                        f"{describe(history)}")
    out = {}
    for key, values in data.items():
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__len__"):
            raise TypeError(f"{name}[{key!r}] must be a list of numbers, got "
                            f"{describe(values)}")
        numbers = []
        for epoch, value in enumerate(values):
            try:
                numbers.append(_one_number(value))
            except (TypeError, ValueError, OverflowError, RecursionError):
                raise TypeError(f"{name}[{key!r}] must be a list of numbers (one per epoch); "
                                f"item {epoch} is {describe(value)}") from None
        out[str(key)] = np.array(numbers, dtype=float)
    if not out or not any(len(v) for v in out.values()):
        raise ValueError(f"{name} is empty: it has no epochs recorded")
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        raise ValueError(f"{name} has metrics with different numbers of epochs: "
                         + ", ".join(f"{k}={len(v)}" for k, v in out.items()))
    if "loss" not in out:
        raise ValueError(f"{name} has no 'loss' entry; got keys {sorted(out)}")
    return out


def _one_number(value) -> float:
    """``float(value)`` for a single real number (a 0-d or one-element array too), else raise:
    a bool, a vector or a complex number is not one epoch's metric."""
    if isinstance(value, (bool, np.bool_)) or np.ndim(value) > 1 or np.size(value) != 1:
        raise TypeError("not a single number")
    return float(np.asarray(value).reshape(()))
