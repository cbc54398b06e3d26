"""Checks on the labels: values the output layer can produce, and predictions that match
the labels only after swapping classes or rows.

The loss chapter owns loss-versus-label *format* (integer labels with categorical
cross-entropy, one-hot labels with the sparse loss, a regression loss on class targets);
the checks here look at label *values* and at how predictions line up with them.
"""

# The submodules register their rules and checks on import, in this order (the order
# diagnose runs them in), so the imports are not sorted.
# isort: off
from helpers.checks.labels.values import (
    NB_OPPOSITE,
    NB_FORMAT,
    NB_ROWS,
    NB_EVAL_ORDER,
    NB_FOLDERS,
    NB_RANGE,
    MINUS_ONE,
    OUTSIDE_RANGE,
    CLASS_IDS,
    FRACTIONAL_IDS,
    ONE_HOT_ROWS,
    check_label_values,
)
from helpers.checks.labels.rows import (
    INVERTED,
    PERMUTED,
    MISALIGNED,
    RESHUFFLED_EVAL,
    auc_with_bound,
    predicts_one_class,
    check_inverted_predictions,
    check_label_alignment,
    check_evaluation_order,
)
from helpers.checks.labels.names import (
    NAMES_AS_TEXT,
    NAMES_DIFFER,
    check_class_names,
    STRING_LABELS,
    SINGLE_CLASS,
    check_label_classes,
)
# isort: on

__all__ = [
    "NB_OPPOSITE",
    "NB_FORMAT",
    "NB_ROWS",
    "NB_EVAL_ORDER",
    "NB_FOLDERS",
    "NB_RANGE",
    "MINUS_ONE",
    "OUTSIDE_RANGE",
    "CLASS_IDS",
    "FRACTIONAL_IDS",
    "ONE_HOT_ROWS",
    "check_label_values",
    "INVERTED",
    "PERMUTED",
    "MISALIGNED",
    "RESHUFFLED_EVAL",
    "auc_with_bound",
    "predicts_one_class",
    "check_inverted_predictions",
    "check_label_alignment",
    "check_evaluation_order",
    "NAMES_AS_TEXT",
    "NAMES_DIFFER",
    "check_class_names",
    "STRING_LABELS",
    "SINGLE_CLASS",
    "check_label_classes",
]
