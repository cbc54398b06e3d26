"""Checks on training: learning curves (from ``model.fit``'s History) and one-batch probes
of the gradients, the ReLU units and the optimizer's learning rate.

History checks read the per-epoch lists ``fit`` records (``loss``, ``val_loss``,
``accuracy``, ...). They accept a ``keras.callbacks.History`` or a plain dict of lists.
Model checks look at one bounded batch of rows; they never update the weights (variables
a forward pass may touch, such as BatchNormalization's moving statistics, are put back).
"""

# The submodules register their rules and checks on import, in this order (the order
# diagnose runs them in), so the imports are not sorted.
# isort: off
from helpers.checks.fitting.curves import (
    NB_CURVES,
    NB_TOO_BIG,
    NB_OPTIMIZER,
    NB_SIGMOID,
    NB_UNSEEN,
    NB_PIPELINE,
    NB_BOUNCES,
    STILL_IMPROVING,
    OVERFITTING,
    UNDERFITTING,
    DIVERGENCE,
    OSCILLATION,
    ACCURACY_KEYS,
    check_training_stability,
    check_learning_curves,
    check_underfitting,
)
from helpers.checks.fitting.gradients import (
    VANISHING,
    EXPLODING,
    DEAD_RELU,
    LEARNING_RATE,
    LR_RANGES,
    LossError,
    layer_gradient_norms,
    check_gradients,
    check_dead_relu,
    learning_rate,
    check_learning_rate,
)
from helpers.checks.fitting.pipeline import (
    SHUFFLE_AFTER_BATCH,
    CLASS_SORTED,
    SPLIT_RESHUFFLES,
    check_input_pipeline,
)
from helpers.checks.fitting.learned import (
    NOT_LEARNED,
    UNTRAINED,
    Learning,
    optimizer_steps,
    training_state,
    weight_drift_bound,
    learning_state,
    check_learned,
    check_prediction_divergence,
)
from helpers.checks.fitting.validation_split import (
    NB_VALIDATION_SPLIT,
    VALIDATION_SPLIT_SORTED,
    check_validation_split,
)
from helpers.checks.fitting.before_training import (
    NB_PREFLIGHT,
    INITIAL_LOSS,
    OUTPUT_BIAS_PRIOR,
    CANNOT_OVERFIT,
    IGNORES_INPUTS,
    PREFLIGHT_LOSSES,
    clone_for_probe,
    check_before_training,
)
from helpers.checks.fitting.inference import (
    NB_MODES,
    TRAINING_MODE_INFERENCE,
    BATCHNORM_STATISTICS,
    check_inference_mode,
    check_batchnorm_statistics,
)
from helpers.checks.fitting.fine_tuning import (
    TRAINABLE_CHANGED,
    TRAINING_FALSE_OVERRIDDEN,
    check_trainable_state,
    check_training_false_overridden,
)
from helpers._validate import as_history  # the one home of history validation
# isort: on

__all__ = [
    "as_history",
    "NB_CURVES",
    "NB_TOO_BIG",
    "NB_OPTIMIZER",
    "NB_SIGMOID",
    "NB_UNSEEN",
    "NB_PIPELINE",
    "NB_BOUNCES",
    "STILL_IMPROVING",
    "OVERFITTING",
    "UNDERFITTING",
    "DIVERGENCE",
    "OSCILLATION",
    "ACCURACY_KEYS",
    "check_training_stability",
    "check_learning_curves",
    "check_underfitting",
    "VANISHING",
    "EXPLODING",
    "DEAD_RELU",
    "LEARNING_RATE",
    "LR_RANGES",
    "LossError",
    "layer_gradient_norms",
    "check_gradients",
    "check_dead_relu",
    "learning_rate",
    "check_learning_rate",
    "SHUFFLE_AFTER_BATCH",
    "CLASS_SORTED",
    "SPLIT_RESHUFFLES",
    "check_input_pipeline",
    "NOT_LEARNED",
    "UNTRAINED",
    "Learning",
    "optimizer_steps",
    "training_state",
    "weight_drift_bound",
    "learning_state",
    "check_learned",
    "check_prediction_divergence",
    "NB_VALIDATION_SPLIT",
    "VALIDATION_SPLIT_SORTED",
    "check_validation_split",
    "NB_PREFLIGHT",
    "INITIAL_LOSS",
    "OUTPUT_BIAS_PRIOR",
    "CANNOT_OVERFIT",
    "IGNORES_INPUTS",
    "PREFLIGHT_LOSSES",
    "clone_for_probe",
    "check_before_training",
    "NB_MODES",
    "TRAINING_MODE_INFERENCE",
    "BATCHNORM_STATISTICS",
    "check_inference_mode",
    "check_batchnorm_statistics",
    "TRAINABLE_CHANGED",
    "TRAINING_FALSE_OVERRIDDEN",
    "check_trainable_state",
    "check_training_false_overridden",
]
