"""Train many small independent networks in one ``fit``: the book's seed and regime sweeps.

A sweep over seeds, separations or feature counts trains the same small architecture
dozens of times. For networks this small Keras spends its time on per-model overhead
(building and tracing a training step, one Python round trip per batch), not arithmetic.
So a sweep stacks its ``k`` networks side by side in one Keras model:

- :class:`StackedDense` holds ``k`` independent Dense layers (its kernel is
  ``(k, inputs, units)``), each started from Keras's default Glorot-uniform distribution;
- slot ``i`` of the input ``(rows, k, features)`` is data set ``i``, slot ``i`` of the
  output ``(rows, k)`` is network ``i``'s prediction;
- the loss is the **sum** over slots of each network's own loss, so every network gets
  exactly the gradient it would get trained alone, and an element-wise optimizer (SGD,
  momentum, RMSprop, Adam) updates it exactly as it would alone.

The networks share only the order of the rows in each batch. (Optimizers that look at all
weights at once, such as gradient clipping by global norm, would couple them: don't.)
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from helpers import _validate


@keras.saving.register_keras_serializable(package="helpers")
class StackedDense(keras.layers.Layer):
    """``k`` independent Dense layers: ``(rows, k, inputs) -> (rows, k, units)``."""

    def __init__(self, units: int, activation=None, kernel_l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.kernel_l2 = float(kernel_l2)

    def build(self, input_shape):
        k, inputs = int(input_shape[-2]), int(input_shape[-1])
        limit = float(np.sqrt(6.0 / (inputs + self.units)))  # Glorot uniform, per network
        self.kernel = self.add_weight(
            shape=(k, inputs, self.units), name="kernel",
            initializer=keras.initializers.RandomUniform(-limit, limit),
            regularizer=keras.regularizers.L2(self.kernel_l2) if self.kernel_l2 else None)
        self.bias = self.add_weight(shape=(k, self.units), name="bias", initializer="zeros")

    def call(self, x):
        return self.activation(keras.ops.einsum("rki,kiu->rku", x, self.kernel) + self.bias)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "kernel_l2": self.kernel_l2}


@keras.saving.register_keras_serializable(package="helpers")
class PerNetworkActivation(keras.layers.Layer):
    """Apply activation ``names[i]`` (None for linear) to slot ``i`` of ``(rows, k)``."""

    def __init__(self, names: Sequence, **kwargs):
        super().__init__(**kwargs)
        self.names = [None if n is None else str(n) for n in names]

    def call(self, z):
        columns = [z[:, i] if name is None else keras.activations.get(name)(z[:, i])
                   for i, name in enumerate(self.names)]
        return keras.ops.stack(columns, axis=1)

    def get_config(self):
        return {**super().get_config(), "names": self.names}


def stacked_classifier(n_models: int, n_features: int, *, hidden: Sequence[int] = (16,),
                       activation: str = "relu", output_activation=None,
                       l2: float = 0.0, dropout: float = 0.0) -> keras.Model:
    """``n_models`` independent binary classifiers ``n_features -> hidden... -> 1``.

    Input ``(rows, n_models, n_features)`` (see :func:`stack`), output ``(rows,
    n_models)``. ``output_activation`` is one activation for all networks (None: linear)
    or a list with one per network. ``l2`` penalizes every kernel as
    ``keras.regularizers.L2(l2)`` would in each network alone; ``dropout`` follows each
    hidden layer. Compile it with :func:`summed_loss`.

    Unlike ``Dense(1, activation="sigmoid")``, a sigmoid here hands the loss its
    probability, not its logit: the loss clips it into [1e-7, 1 - 1e-7], which only
    matters for outputs saturated beyond that.
    """
    n_models = int(n_models)
    per_network = not (output_activation is None or isinstance(output_activation, str))
    if per_network and len(output_activation) != n_models:
        raise ValueError(f"output_activation must be one activation or a list of "
                         f"n_models={n_models}, got a list of {len(output_activation)}")
    inputs = keras.Input(shape=(n_models, int(n_features)))
    h = inputs
    for units in hidden:
        h = StackedDense(units, activation=activation, kernel_l2=l2)(h)
        if dropout:
            h = keras.layers.Dropout(dropout)(h)
    last = None if per_network else output_activation
    out = keras.layers.Reshape((n_models,))(StackedDense(1, activation=last, kernel_l2=l2)(h))
    if per_network:
        out = PerNetworkActivation(output_activation)(out)
    return keras.Model(inputs, out)


def summed_loss(*, from_logits: bool = False, positive_weight=None):
    """Binary cross-entropy summed over the stacked networks (each gets its own gradient).

    ``positive_weight``: one number per network (or one for all), the weight of a positive
    row in that network's loss, as ``class_weight={0: 1, 1: w}`` does in ``fit``.
    """
    weight = None if positive_weight is None else np.asarray(positive_weight, dtype="float32")

    def loss(y_true, y_pred):
        y_true = keras.ops.cast(y_true, y_pred.dtype)
        per_network = keras.losses.binary_crossentropy(
            y_true[..., None], y_pred[..., None], from_logits=from_logits)  # (rows, k)
        if weight is not None:
            per_network = per_network * (1.0 + (weight - 1.0) * y_true)
        return keras.ops.sum(per_network, axis=-1)

    return loss


def stack(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Data sets of the same shape ``(rows, features)`` as one ``(rows, k, features)`` array
    (slot ``i`` is ``arrays[i]``), the input of a :func:`stacked_classifier`."""
    arrays = [np.asarray(a, dtype="float32") for a in arrays]
    if not arrays:
        raise ValueError("arrays must hold at least one data set, got none")
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1 or arrays[0].ndim != 2:
        raise ValueError("arrays must all be 2-D with the same shape (rows, features), got "
                         f"shapes {sorted(shapes)}")
    return np.stack(arrays, axis=1)


def predict(model, x) -> np.ndarray:
    """``(rows, k)`` outputs of a stacked model, in inference mode, as numpy."""
    _validate.as_model(model)
    return keras.ops.convert_to_numpy(model(x, training=False))
