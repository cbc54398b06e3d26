"""Validation rows taken from the end of y (``validation_split`` on sorted data)."""

from __future__ import annotations

import numpy as np

from helpers import _validate
from helpers._targets import class_ids, target_kind
from helpers._validate import as_history  # the one home of history validation
from helpers.checks import check, rule

NB_VALIDATION_SPLIT = "book/fitting/10-validation-split-takes-the-last-rows.ipynb"

VALIDATION_SPLIT_SORTED = rule(
    "fitting.validation-split-sorted", severity="warning",
    title="The last rows of y are all one class, and fit recorded validation metrics",
    detects="y is ordered by class and its last rows (at least 5%) are all the same class, "
            "while the History has val_ metrics. fit(validation_split=f) takes the LAST f "
            "of the rows as they are, before any shuffling: on sorted data it validates on "
            "one class only and removes that class's rows from training, so the validation "
            "scores describe one class (often 0% or 100%) and the model may never see it.",
    fix="Shuffle x and y together before fit (sklearn.utils.shuffle(x, y)), or hold out a "
        "stratified validation set with train_test_split(..., stratify=y) and pass "
        "validation_data=(x_val, y_val).",
    doc=NB_VALIDATION_SPLIT,
)


@check(VALIDATION_SPLIT_SORTED.id)
def check_validation_split(history, y, *, min_share: float = 0.05, min_rows: int = 10) -> list:
    """y ordered by class, with validation metrics in the History.

    Fires when ``history`` records validation metrics (a ``val_`` key) and the last rows
    of ``y`` form one unbroken run of a single class covering at least ``min_share`` of
    the rows (and ``min_rows`` rows), with other classes before it. In shuffled data that
    run is a few rows long. ``y`` is the label array as it was passed to ``fit``.
    Regression and multi-label targets are not judged.
    """
    h = as_history(history)
    _validate.check_scalar(min_share, "min_share", float, min_val=0, max_val=1,
                           include_boundaries="neither")
    labels = _validate.as_labels(y, "y")
    if not any(k.startswith("val_") for k in h):
        return []
    ids = class_ids(labels, strings=True)
    if ids is None or len(np.unique(ids)) < 2:
        return []
    last = ids[-1]
    changes = np.flatnonzero(ids != last)
    run = len(ids) - (int(changes[-1]) + 1)
    share = run / len(ids)
    if share < min_share or run < min_rows:
        return []
    name = labels[-1] if target_kind(labels) != "one-hot" else int(last)
    name = name.item() if hasattr(name, "item") else name
    of_class = int((ids == last).sum())
    val = {k: float(v[-1]) for k, v in h.items() if k.startswith("val_") and len(v)}
    return [VALIDATION_SPLIT_SORTED.finding(
        f"The last {run} of {len(ids)} rows of y ({share:.0%}) are all class {name!r} "
        f"({run} of its {of_class} rows). With validation_split up to {share:.2g} the "
        f"validation set is class {name!r} alone; last-epoch validation metrics: "
        + ", ".join(f"{k}={v:.3g}" for k, v in val.items()) + ".",
        last_class=name, run=run, share=share, rows=len(ids), class_rows=of_class,
        runs=int(np.count_nonzero(np.diff(ids))) + 1, validation=val)]
