"""Checks on the data a model sees: is it prepared the same way at serving time as in training?

The statistics behind the checks come from the streaming engine in :mod:`helpers.stats`
(:func:`~helpers.stats.feature_stats`, :func:`~helpers.stats.skew_table`), which reads numpy
arrays, DataFrames, iterables of batches and batched ``tf.data.Dataset`` objects in one pass,
so data that doesn't fit in memory can be checked too.
"""

# The submodules register their rules and checks on import, in this order (the order
# diagnose runs them in), so the imports are not sorted.
# isort: off
from helpers.checks.preprocessing.serving import (
    NB_GARBAGE,
    NB_COLUMNS,
    NB_INSIDE,
    SERVING_SKEW,
    PIXEL_SCALE,
    UNSCALED_INPUTS,
    NORMALIZING_LAYERS,
    check_serving_skew,
    normalizing_layers,
    check_unscaled_inputs,
)
from helpers.checks.preprocessing.columns import (
    COLUMN_MISMATCH,
    check_column_mismatch,
    NON_FINITE,
    check_finite_inputs,
)
from helpers.checks.preprocessing.leakage import (
    NB_LEAKAGE,
    SPLIT_DUPLICATES,
    SPLIT_GROUPS,
    SPLIT_TIME,
    check_split_leakage,
)
from helpers.checks.preprocessing.images import (
    NB_IMAGES,
    RESCALED_TWICE,
    CHANNELS_SWAPPED,
    check_rescaled_twice,
    check_channels_swapped,
)
from helpers.stats import FeatureStats, feature_stats, skew_table  # the engine's old home
# isort: on

__all__ = [
    "FeatureStats",
    "feature_stats",
    "skew_table",
    "NB_GARBAGE",
    "NB_COLUMNS",
    "NB_INSIDE",
    "SERVING_SKEW",
    "PIXEL_SCALE",
    "UNSCALED_INPUTS",
    "NORMALIZING_LAYERS",
    "check_serving_skew",
    "normalizing_layers",
    "check_unscaled_inputs",
    "COLUMN_MISMATCH",
    "check_column_mismatch",
    "NON_FINITE",
    "check_finite_inputs",
    "NB_LEAKAGE",
    "SPLIT_DUPLICATES",
    "SPLIT_GROUPS",
    "SPLIT_TIME",
    "check_split_leakage",
    "NB_IMAGES",
    "RESCALED_TWICE",
    "CHANNELS_SWAPPED",
    "check_rescaled_twice",
    "check_channels_swapped",
]
