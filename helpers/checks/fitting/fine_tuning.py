"""Fine-tuning: trainable flags changed after the training step was built, and
``training=False`` written around layers that ``fit`` runs in training mode anyway."""

from __future__ import annotations

import keras

from helpers import _keras, _validate
from helpers.checks import check, rule
from helpers.checks.fitting.inference import NB_MODES

TRAINABLE_CHANGED = rule(
    "fitting.trainable-changed-after-compile", severity="warning",
    title="Layers frozen or unfrozen after training started, without compiling again",
    detects="The optimizer was built (by the first fit or evaluate) for another set of "
            "trainable weights than the model has now: `trainable` was changed, e.g. "
            "`base.trainable = True` to fine-tune, after the model was compiled and used. "
            "On TensorFlow, Keras 3 keeps the training step it traced, so fit goes on with "
            "the old flags: weights unfrozen since then stay frozen, and weights frozen "
            "since then (with BatchNormalization's moving statistics) can still change. "
            "Keras 3.15 has a warning for this, but it is never reached. On JAX, fit stops "
            "instead with a ValueError about `optimizer_variables` (measured on Keras "
            "3.15).",
    fix="Call model.compile(...) again after every change of `trainable`, before the next "
        "fit.",
    doc=NB_MODES,
)


def _layer_names(variables) -> list:
    names = {str(getattr(v, "path", v.name)).rsplit("/", 1)[0] for v in variables}
    return sorted(names)


@check(TRAINABLE_CHANGED.id)
def check_trainable_state(model) -> list:
    """Trainable flags changed since the optimizer was built, without a new compile.

    Compares the weights the compiled optimizer was built for (at the first ``fit``,
    ``evaluate`` or ``train_on_batch``) with ``model.trainable_variables`` now. A model
    that is not compiled, or whose optimizer has not been built yet, gives nothing: its
    next ``fit`` uses the flags as they are then.
    """
    _validate.as_model(model)
    built_for = _keras.optimizer_built_for(getattr(model, "optimizer", None))
    if not built_for:
        return []
    now = list(model.trainable_variables)
    tracked, current = {id(v) for v in built_for}, {id(v) for v in now}
    unfrozen = [v for v in now if id(v) not in tracked]
    frozen = [v for v in built_for if id(v) not in current]
    if not unfrozen and not frozen:
        return []
    # What the next fit does with stale flags depends on the backend (measured, Keras 3.15).
    refuses = _keras.backend() == "jax"
    parts = []
    if unfrozen:
        parts.append(f"{len(unfrozen)} weights of {_layer_names(unfrozen)} are trainable now "
                     "but were not when the optimizer was built" +
                     ("" if refuses else ": fit keeps them frozen"))
    if frozen:
        parts.append(f"{len(frozen)} weights of {_layer_names(frozen)} are frozen now but "
                     "were trainable when the optimizer was built" +
                     ("" if refuses else ": fit can still update them"))
    consequence = (", so the next fit stops with a ValueError about `optimizer_variables` "
                   "until the model is compiled again." if refuses else
                   ", until the model is compiled again.")
    return [TRAINABLE_CHANGED.finding(
        "; ".join(parts) + consequence,
        unfrozen=_layer_names(unfrozen), frozen=_layer_names(frozen),
        n_unfrozen=len(unfrozen), n_frozen=len(frozen))]


TRAINING_FALSE_OVERRIDDEN = rule(
    "fitting.training-false-overridden", severity="warning",
    title="training=False in the model's graph does not hold inside fit",
    detects="A layer or nested model (a pretrained base) was called with training=False "
            "when the functional model was built, and holds BatchNormalization layers that "
            "are trainable. Keras 3 passes fit's training=True to every layer of the graph, "
            "replacing the value written in it (keras-team/keras#20285; measured on Keras "
            "3.15), so those layers normalise with each batch's statistics and overwrite "
            "their moving statistics while the model trains: the fine-tuning recipe of older "
            "Keras guides no longer keeps them in inference mode.",
    fix="Set trainable = False on the BatchNormalization layers of the base (a frozen "
        "BatchNormalization layer runs in inference mode whatever training says), then "
        "compile again.",
    doc=NB_MODES,
)


@check(TRAINING_FALSE_OVERRIDDEN.id)
def check_training_false_overridden(model) -> list:
    """Trainable BatchNormalization layers inside a call written with ``training=False``.

    Reads the functional graph only (Sequential and subclassed models can't pass
    ``training`` to one layer); nothing is run.
    """
    _validate.as_model(model)
    found, seen = [], set()
    for operation, kwargs in _keras.graph_calls(model):
        if kwargs.get("training") is not False or id(operation) in seen:
            continue
        seen.add(id(operation))
        training_bn = [layer.name for layer in _keras.all_layers(operation)
                       if isinstance(layer, keras.layers.BatchNormalization)
                       and layer.trainable]
        if training_bn:
            found.append(TRAINING_FALSE_OVERRIDDEN.finding(
                f"{operation.name!r} is called with training=False, but "
                f"{len(training_bn)} BatchNormalization layer(s) in it are trainable "
                f"({training_bn[:3]}): fit will run them in training mode and update "
                "their moving statistics.",
                layer=operation.name, batchnorm_layers=training_bn))
    return found
