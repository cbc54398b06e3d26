"""One seed for the whole book: python, numpy, Keras weights and helpers' data sets."""

from __future__ import annotations

import os

_current: int | None = None


def _parse(value, name: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a non-negative integer, got {value!r}")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}") from None
    if not isinstance(value, int) and not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be a non-negative integer, got "
                        f"{type(value).__name__} {value!r}")
    value = int(value)
    if value < 0 or value >= 2**32:
        raise ValueError(f"{name} must be a non-negative integer below 2**32, got {value}")
    return value


def current() -> int:
    """The seed in force: the last one given to :func:`seed`, else ``BOOK_SEED``, else 0."""
    if _current is not None:
        return _current
    env = os.environ.get("BOOK_SEED", "").strip()
    return _parse(env, "the BOOK_SEED environment variable") if env else 0


def resolve(seed) -> int:
    """``seed`` checked, or the book's seed when it is None."""
    return current() if seed is None else _parse(seed, "seed")


def seed(n: int | None = None) -> int:
    """Seed python, numpy and Keras (and TensorFlow) and return the seed used.

    ``n`` defaults to the ``BOOK_SEED`` environment variable, else 0, so one notebook
    runs under another seed with ``BOOK_SEED=2 pytest`` and no edits.
    """
    global _current
    import keras

    env = os.environ.get("BOOK_SEED", "").strip()
    if n is None:
        value = _parse(env, "the BOOK_SEED environment variable") if env else 0
    else:
        value = _parse(n, "n")
    keras.utils.set_random_seed(value)
    _current = value
    return value
