"""Train many small dense networks at once, for the book's sweeps over seeds and regimes.

A verdict such as "L2 and dropout together beat either alone" needs many trainings (data
sizes times seeds times variants), and a notebook has seconds, not minutes. Fitting each
network on its own pays Keras' per-step overhead every time; here ``n_models`` networks
are one Keras model whose layers hold a separate weight matrix per network
(``keras.layers.EinsumDense``), fed a stack of ``n_models`` data sets of the same length.

The networks share nothing but the order of the batches: the loss is the *sum* of their
losses, so each network's gradient is its own, and a per-weight optimizer (Adam, SGD,
RMSprop; not ``global_clipnorm``) takes the same steps it would take alone. Weights start
like ``keras.layers.Dense``'s (Glorot uniform, zero bias), counted per network.

    model = helpers.sweep.dense_stack(n_models=20, n_features=8, hidden=(32,))
    model.compile("adam", loss=helpers.sweep.per_model("binary_crossentropy"))
    model.fit(helpers.sweep.stack(xs), helpers.sweep.stack(ys), epochs=20, verbose=0)
    p = model.predict(helpers.sweep.stack(xs_test), verbose=0)  # (rows, n_models, outputs)
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import numpy as np

from helpers._validate import check_scalar, describe


def dense_stack(n_models: int, n_features: int, hidden: Sequence[int] = (32,), *,
                activation: str = "relu", outputs: int = 1,
                output_activation: str | Sequence[str | None] | None = None,
                dropout: float = 0.0, l2: float = 0.0):
    """``n_models`` independent dense networks as one Keras model.

    Each network is ``n_features`` inputs, the ``hidden`` layers (``activation``, each
    followed by ``Dropout(dropout)`` when it is positive, and with ``L2(l2)`` on every
    kernel when it is positive), then ``outputs`` units with ``output_activation``: one
    activation for every network (None: linear), or a list of ``n_models``, one per
    network, to compare output layers side by side. The model maps
    ``(rows, n_models, n_features)`` to ``(rows, n_models, outputs)``.

    With a list, a ``sigmoid`` network hands the loss its probability, not its logit, so
    ``binary_crossentropy`` clips it into [1e-7, 1 - 1e-7] as it does any output it can't
    trace back to a logit; a network trained alone (or a stack with one ``"sigmoid"`` for
    all) differs from it only on outputs saturated beyond that.
    """
    import keras

    n_models = check_scalar(n_models, "n_models", int, min_val=1)
    n_features = check_scalar(n_features, "n_features", int, min_val=1)
    units_list = [check_scalar(u, "hidden", int, min_val=1) for u in hidden]
    outputs = check_scalar(outputs, "outputs", int, min_val=1)
    check_scalar(dropout, "dropout", float, min_val=0, max_val=1, include_boundaries="left")
    check_scalar(l2, "l2", float, min_val=0)
    per_network = not (output_activation is None or isinstance(output_activation, str))
    if per_network:
        output_activation = list(output_activation)
        if len(output_activation) != n_models:
            raise ValueError(f"output_activation must be one activation or a list of "
                             f"n_models={n_models}, got a list of {len(output_activation)}")

    x = keras.Input(shape=(n_models, n_features))
    h, fan_in = x, n_features
    for depth, units in enumerate([*units_list, outputs]):
        last = depth == len(units_list)
        limit = float(np.sqrt(6.0 / (fan_in + units)))  # Glorot uniform of one network
        h = keras.layers.EinsumDense(
            "bmi,miu->bmu", output_shape=(n_models, units), bias_axes="mu",
            activation=(None if per_network else output_activation) if last else activation,
            kernel_initializer=keras.initializers.RandomUniform(-limit, limit),
            kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
        )(h)
        if not last and dropout:
            h = keras.layers.Dropout(dropout)(h)
        fan_in = units
    if per_network:
        h = _per_network_activation(h, output_activation)
    return keras.Model(x, h)


def _per_network_activation(z, names):
    """Activation ``names[k]`` on network ``k`` of ``z`` ``(rows, n_models, outputs)``.

    Each activation sees only its own networks (gathered, then put back in order), so a
    network's output and gradient are exactly those of its activation alone.
    """
    import keras

    groups: dict = {}
    for slot, name in enumerate(names):
        groups.setdefault(name, []).append(slot)
    parts = [keras.layers.Activation(name)(keras.ops.take(z, slots, axis=1))
             for name, slots in groups.items()]
    order = [slot for slots in groups.values() for slot in slots]
    return keras.ops.take(keras.ops.concatenate(parts, axis=1), np.argsort(order), axis=1)


def per_model(loss, **options):
    """A Keras loss for a stack: ``loss`` for each network, summed over the networks.

    ``loss`` is a name or function of Keras' functional losses
    (``"binary_crossentropy"``, ``"mse"``, ``"categorical_crossentropy"``, ...); it is
    applied to the last axis, which leaves one value per row and network. ``options``
    are its keyword arguments, such as ``from_logits=True`` for networks with a linear
    output.
    """
    import keras

    fn = keras.losses.get(loss)
    if not callable(fn):
        raise ValueError(f"loss must name a Keras loss, got {describe(loss)}")
    if isinstance(fn, keras.losses.Loss):
        raise TypeError("loss must be a functional loss such as 'binary_crossentropy', not "
                        f"a Loss object ({type(fn).__name__}), whose reduction would mix "
                        "the networks")
    try:
        inspect.signature(fn).bind(None, None, **options)
    except TypeError as error:
        raise TypeError(f"options must be keyword arguments of {getattr(fn, '__name__', fn)},"
                        f" got {sorted(options)} ({error})") from None

    def summed(y_true, y_pred):
        return keras.ops.sum(fn(y_true, y_pred, **options), axis=-1)

    summed.__name__ = f"per_model_{getattr(fn, '__name__', 'loss')}"
    return summed


def stack(arrays) -> np.ndarray:
    """Stack per-network arrays of the same length along a new axis 1 (float32).

    1-D label arrays become ``(rows, n_models, 1)``, the shape a one-output stack predicts.
    """
    arrays = [np.asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("arrays must hold at least one array, got none")
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"arrays must all have the same number of rows, got {sorted(lengths)}")
    arrays = [a[:, None] if a.ndim == 1 else a for a in arrays]
    return np.stack(arrays, axis=1).astype("float32")
