"""Leakage across the split: the same rows, groups or times on both sides."""

from __future__ import annotations

import numpy as np

from helpers import _validate
from helpers.checks import check, rule

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
            shown = f"{newest:.6g}" if isinstance(newest, (float, np.floating)) else str(newest)
            found.append(SPLIT_TIME.finding(
                f"{older:.0%} of the held-out rows are older than the newest training row "
                f"({shown}).", share_older=older, newest_train=str(newest)))
    return found
