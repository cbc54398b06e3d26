"""Checks on decisions and metrics: is the model better than a constant, is accuracy the
right yardstick, is 0.5 the right threshold, are the probabilities honest?

The checks that need predictions run the model once, on at most ``max_rows`` rows of ``x``
(default 2048), by direct calls on chunks of 512 rows (the numbers ``model.predict`` gives,
without its per-model tracing). When ``x`` has more rows, they use a fixed random subset
(the same one every time, so results are reproducible and sorted data can't bias it). Binary models
(one sigmoid unit, or two softmax units) are turned into decisions with ``threshold``
(default 0.5: pass the threshold you really use). Multi-class models use argmax.
Multi-label targets are judged by ``check_multilabel`` only, label by label.
"""

# The submodules register their rules and checks on import, in this order (the order
# diagnose runs them in), so the imports are not sorted.
# isort: off
from helpers.checks.thresholds.scores import (
    ACCURACY_NAMES,
    expected_calibration_error,
)
from helpers.checks.thresholds.binary import (
    NB_THRESHOLD,
    NB_PARADOX,
    NB_CALIBRATION,
    NO_BETTER_THAN_MAJORITY,
    ACCURACY_ONLY,
    COLLAPSED,
    THRESHOLD_NOT_F1,
    POORLY_CALIBRATED,
    check_against_majority,
    compiled_metrics,
    check_imbalance_metrics,
    check_threshold,
    check_calibration,
)
from helpers.checks.thresholds.outputs import (
    NB_READING,
    NB_MULTILABEL,
    ARGMAX_ONE_UNIT,
    WRONG_COLUMN,
    MULTILABEL_MISSED,
    MULTILABEL_ONE_THRESHOLD,
    check_decisions,
    tune_label_thresholds,
    check_multilabel,
)
# isort: on

__all__ = [
    "ACCURACY_NAMES",
    "expected_calibration_error",
    "NB_THRESHOLD",
    "NB_PARADOX",
    "NB_CALIBRATION",
    "NO_BETTER_THAN_MAJORITY",
    "ACCURACY_ONLY",
    "COLLAPSED",
    "THRESHOLD_NOT_F1",
    "POORLY_CALIBRATED",
    "check_against_majority",
    "compiled_metrics",
    "check_imbalance_metrics",
    "check_threshold",
    "check_calibration",
    "NB_READING",
    "NB_MULTILABEL",
    "ARGMAX_ONE_UNIT",
    "WRONG_COLUMN",
    "MULTILABEL_MISSED",
    "MULTILABEL_ONE_THRESHOLD",
    "check_decisions",
    "tune_label_thresholds",
    "check_multilabel",
]
