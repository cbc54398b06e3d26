"""tf.data input pipelines: shuffling after batching, class-sorted batches and a split that
reshuffles between passes."""

from __future__ import annotations

import numpy as np

from helpers import _datasets, _validate
from helpers.checks import check, rule
from helpers.checks.fitting.curves import NB_PIPELINE

SHUFFLE_AFTER_BATCH = rule(
    "fitting.shuffle-after-batch", severity="warning",
    title="Batches shuffled, rows never mixed",
    detects="A tf.data pipeline that shuffles after batch(): every pass gives the same "
            "batches, only in another order, so the rows that share a batch never change. "
            "On a file sorted by class every batch holds one class, forever.",
    fix="Shuffle rows before batching: dataset.shuffle(buffer).batch(n), with a buffer as "
        "large as the dataset if it fits in memory.",
    doc=NB_PIPELINE,
)
CLASS_SORTED = rule(
    "fitting.class-sorted-batches", severity="warning",
    title="Training batches that come in runs of one class",
    detects="Along one pass over a tf.data pipeline, a row's neighbour has the same label "
            "far more often than in a random order: the data is sorted (or grouped) by "
            "class and not shuffled, or shuffled with a buffer much smaller than the runs "
            "of one class. The model is pulled to one class after another and ends each "
            "epoch biased to the last one.",
    fix="Shuffle the rows once before writing them, or shuffle with a buffer at least as "
        "large as the dataset (or interleave class-wise files) before batching.",
    doc=NB_PIPELINE,
)
SPLIT_RESHUFFLES = rule(
    "fitting.split-reshuffles", severity="error",
    title="Validation rows drawn again on every pass",
    detects="The validation dataset holds other rows on each pass, and rows the training "
            "dataset also gives: a take()/skip() split of a dataset that reshuffles each "
            "iteration (Dataset.shuffle's default). Over the epochs the model trains on "
            "every validation row, so validation scores are too good.",
    fix="Split before shuffling (take/skip on a fixed order, then shuffle the training part "
        "only), or shuffle with reshuffle_each_iteration=False before the split, or split "
        "the arrays with train_test_split.",
    doc=NB_PIPELINE,
)


def _same_neighbour_rate(ids: np.ndarray) -> tuple[float, float, float]:
    """Share of rows whose neighbour has the same label, what a random order gives, and
    the null standard error of the first."""
    n = len(ids)
    counts = np.bincount(ids).astype(float)
    expected = float((counts * (counts - 1)).sum() / (n * (n - 1)))
    rate = float((ids[1:] == ids[:-1]).mean())
    se = float(np.sqrt(max(expected * (1 - expected), 1e-12) / (n - 1)))
    return rate, expected, se


@check(SHUFFLE_AFTER_BATCH.id, CLASS_SORTED.id, SPLIT_RESHUFFLES.id)
def check_input_pipeline(x, *, validation=None, max_rows: int = 10000, min_gap: float = 0.2,
                         z: float = 5.0) -> list:
    """Read the training dataset ``x`` (and ``validation``) pass by pass, as ``fit`` does.

    ``x`` is a ``tf.data.Dataset`` of ``(features, labels)`` batches (arrays give no
    finding: ``fit`` shuffles them itself). Each pass reads at most ``max_rows`` rows;
    the checks that compare whole passes need complete ones. Fires:

    - ``fitting.shuffle-after-batch`` when two passes give the same batches (as sets of
      rows) in a different order;
    - ``fitting.class-sorted-batches`` when, along one pass, a row's neighbour has the
      same class more often than a random order gives by at least ``min_gap`` and by
      ``z`` null standard errors;
    - ``fitting.split-reshuffles`` when ``validation`` gives a different set of rows on
      its second pass than on its first; the message says how many of its rows the
      training passes also gave.
    """
    _validate.check_scalar(max_rows, "max_rows", int, min_val=2)
    for name, value in (("min_gap", min_gap), ("z", z)):
        _validate.check_scalar(value, name, float, min_val=0, include_boundaries="neither")
    if not _datasets.is_dataset(x):
        return []
    if validation is not None and not _datasets.is_dataset(validation):
        raise TypeError("validation must be a tf.data.Dataset, got "
                        f"{_validate.describe(validation)}")
    first, second = (_datasets.one_pass(x, "x", max_rows=max_rows) for _ in range(2))
    found = []
    whole = [b for b in first.batches if len(b) > 1]
    if (first.complete and second.complete and len(whole) >= 2
            and first.batches != second.batches
            and sorted(map(sorted, first.batches)) == sorted(map(sorted, second.batches))):
        found.append(SHUFFLE_AFTER_BATCH.finding(
            f"Two passes over x give the same {len(first.batches)} batches in another order: "
            "no row ever changes batch, so the batches' mix of classes never changes.",
            batches=len(first.batches), rows=first.rows))
    ids = _datasets.class_ids(first.labels)
    if ids is not None and len(ids) >= 20 and len(np.unique(ids)) >= 2:
        rate, expected, se = _same_neighbour_rate(ids)
        if rate - expected >= min_gap and (rate - expected) / se > z:
            ends = np.cumsum([len(b) for b in first.batches])
            pure = float(np.mean([len(np.unique(ids[e - len(b):e])) == 1
                                  for b, e in zip(first.batches, ends) if len(b) > 1]
                                 or [0.0]))
            found.append(CLASS_SORTED.finding(
                f"Along one pass of {len(ids)} rows, {rate:.1%} of neighbouring rows share "
                f"their class, against {expected:.1%} in a random order; {pure:.1%} of the "
                "batches hold a single class.",
                rows=len(ids), same_neighbour=rate, expected=expected,
                single_class_batches=pure))
    if validation is not None:
        v1, v2 = (_datasets.one_pass(validation, "validation", max_rows=max_rows)
                  for _ in range(2))
        if v1.complete and v2.complete and set(v1.keys) != set(v2.keys):
            changed = 1 - len(set(v1.keys) & set(v2.keys)) / max(len(set(v1.keys)), 1)
            seen = set(first.keys) | set(second.keys)
            overlap = float(np.mean([k in seen for k in v2.keys]))
            found.append(SPLIT_RESHUFFLES.finding(
                f"Two passes over the validation data share only {1 - changed:.1%} of their "
                f"{len(v1.keys)} rows, and {overlap:.1%} of the rows of the second pass "
                "also came out of two passes over x: the model trains on validation rows.",
                rows=len(v1.keys), share_changed=changed, share_in_training=overlap))
    return found
