"""Read what a Keras model really does: each output's activation and units, and the loss
attached to it with its ``from_logits`` flag. We look at the activation *functions* and loss
*functions*, never at layer names (a layer called "softmax" may hold anything)."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

PROBABILISTIC_LOSSES = frozenset({
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "sparse_categorical_crossentropy",
})
CATEGORICAL_LOSSES = frozenset({
    "categorical_crossentropy", "categorical_focal_crossentropy",
    "sparse_categorical_crossentropy",
})
BINARY_LOSSES = frozenset({"binary_crossentropy", "binary_focal_crossentropy"})
REGRESSION_LOSSES = frozenset({
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "huber", "log_cosh",
})
#: Names under which Keras records a classifier's accuracy (as given to compile, and as
#: History keys), in the order a History is searched for one.
ACCURACY_METRICS = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy",
                    "sparse_categorical_accuracy")
#: Top-k accuracies: accuracy metrics too, but not comparable with a majority-class share.
TOP_K_ACCURACY_METRICS = ("top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy")
#: Activations whose outputs are already in [0, 1].
SQUASHING = frozenset({"sigmoid", "softmax", "hard_sigmoid"})
#: The values each output activation can produce (lower, upper), closed or open alike.
ACTIVATION_RANGE = {
    "sigmoid": (0.0, 1.0), "hard_sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0),
    "sparse_sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "hard_tanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0), "relu": (0.0, np.inf), "softplus": (0.0, np.inf),
    "exponential": (0.0, np.inf), "relu6": (0.0, 6.0), "elu": (-1.0, np.inf),
    "selu": (-1.7581, np.inf),
}

_LOSS_NAMES = {}
for _name in ("binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
              "categorical_focal_crossentropy", "sparse_categorical_crossentropy",
              "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
              "mean_squared_logarithmic_error", "huber", "log_cosh", "hinge", "squared_hinge",
              "categorical_hinge", "kl_divergence", "poisson", "cosine_similarity"):
    _LOSS_NAMES[getattr(keras.losses, _name)] = _name


@dataclass(frozen=True)
class LossInfo:
    """A loss as Keras will apply it: canonical ``kind`` ("custom" when unknown)."""

    kind: str
    from_logits: bool
    given: str  # how the user wrote it, for messages

    @property
    def probabilistic(self) -> bool:
        return self.kind in PROBABILISTIC_LOSSES


@dataclass(frozen=True)
class OutputInfo:
    index: int
    name: str
    units: int | None
    activation: str  # "sigmoid", "softmax", "linear", "relu", ... or "custom"
    layer: str       # the layer (or op) that applies it, for messages
    loss: LossInfo | None


def loss_info(loss) -> LossInfo | None:
    """Normalize a loss given as a string, a function or a ``keras.losses.Loss`` object."""
    if loss is None:
        return None
    given = repr(loss) if isinstance(loss, str) else getattr(loss, "__name__", None) or \
        type(loss).__name__
    fn, kwargs = loss, {}
    if isinstance(loss, str):
        try:
            fn = keras.losses.get(loss)
        except ValueError:
            return LossInfo("custom", False, given)
    if isinstance(fn, keras.losses.Loss):
        kwargs = dict(getattr(fn, "_fn_kwargs", {}) or {})
        if hasattr(fn, "from_logits"):
            kwargs.setdefault("from_logits", fn.from_logits)
        given = f"{type(fn).__name__}(from_logits={bool(kwargs.get('from_logits', False))})"
        fn = getattr(fn, "fn", fn)
    kind = _LOSS_NAMES.get(fn)
    if kind is None and isinstance(fn, keras.losses.Loss):
        kind = "custom"
    return LossInfo(kind or "custom", bool(kwargs.get("from_logits", False)), given)


_ACTIVATIONS = {}
for _name in dir(keras.activations):
    _fn = getattr(keras.activations, _name)
    if callable(_fn) and not _name.startswith("_") and _name not in ("get", "serialize",
                                                                      "deserialize"):
        _ACTIVATIONS.setdefault(_fn, _name)

_LAYER_ACTIVATIONS = {"Softmax": "softmax", "ReLU": "relu", "LeakyReLU": "leaky_relu",
                      "ELU": "elu", "PReLU": "prelu"}
_OP_ACTIVATIONS = {"Softmax": "softmax", "Sigmoid": "sigmoid", "Relu": "relu",
                   "LogSoftmax": "log_softmax", "Tanh": "tanh", "HardSigmoid": "hard_sigmoid"}
# Layers that pass values through unchanged (in range), so the activation is further back.
_PASS_THROUGH = ("Reshape", "Flatten", "Dropout", "Identity", "Permute", "GaussianDropout",
                 "AlphaDropout", "SpatialDropout1D", "SpatialDropout2D", "ActivityRegularization")


def activation_name(fn) -> str:
    """The canonical name of an activation function: "linear" for None, "custom" when unknown."""
    if fn is None:
        return "linear"
    if fn in _ACTIVATIONS:
        return _ACTIVATIONS[fn]
    name = getattr(fn, "__name__", "").removesuffix("_v2")
    return name if name in _ACTIVATIONS.values() else "custom"


_activation_name = activation_name  # its former, private name


# --- Keras internals: every private attribute helpers reads is read here, and only here ---

def learning_rate_schedule(optimizer):
    """The optimizer's ``LearningRateSchedule``, or None when its learning rate is a constant."""
    value = getattr(optimizer, "_learning_rate", None)
    return value if isinstance(value, keras.optimizers.schedules.LearningRateSchedule) else None


def compiled_metric_specs(model) -> tuple | None:
    """What was passed to ``compile`` as ``(metrics, weighted_metrics)``, as given (strings,
    functions, Metric objects, lists or dicts of them); None when the model holds no compiled
    metrics container (never compiled, or restored without one)."""
    container = getattr(model, "_compile_metrics", None)
    if container is None:
        return None
    return (getattr(container, "_user_metrics", None),
            getattr(container, "_user_weighted_metrics", None))


def built_metrics(model) -> list | None:
    """The metric objects ``compile`` resolved its metrics to (weighted ones included), once a
    first ``fit``/``evaluate`` has built them; None before that."""
    container = getattr(model, "_compile_metrics", None)
    if container is None or not getattr(container, "built", False):
        return None
    groups = list(getattr(container, "_flat_metrics", None) or []) + \
        list(getattr(container, "_flat_weighted_metrics", None) or [])
    return [metric for group in groups for metric in getattr(group, "metrics", None) or []]


def metric_function(metric):
    """The function a function-backed metric (``MeanMetricWrapper``) computes, else None."""
    return getattr(metric, "_fn", None)


def tracked_layers(layer) -> tuple:
    """The layers a custom layer tracks as attributes (not listed in ``layer.layers``)."""
    return tuple(getattr(layer, "_layers", None) or ())


def optimizer_built_for(optimizer) -> list | None:
    """The variables a built optimizer tracks (the trainable weights when it was built),
    or None before its first ``fit``/``evaluate``/``train_on_batch``."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)   # LossScaleOptimizer
    if not getattr(optimizer, "built", False):
        return None
    return list(getattr(optimizer, "_trainable_variables", None) or ()) or None


def graph_calls(model):
    """Each call in a functional model's graph: (the layer or model called, the keyword
    arguments written in the call). Empty for Sequential and subclassed models."""
    for nodes in getattr(model, "_nodes_by_depth", {}).values():
        for node in nodes:
            arguments = getattr(node, "arguments", None)
            yield node.operation, dict(getattr(arguments, "kwargs", None) or {})


def all_layers(layer) -> list:
    """``layer`` and every layer nested in it, at any depth."""
    flatten = getattr(layer, "_flatten_layers", None)
    return list(flatten()) if flatten is not None else [layer]


def _producer(tensor):
    history = getattr(tensor, "_keras_history", None)
    return None if history is None else history.operation, history


def _input_of(op, history):
    try:
        node = op._inbound_nodes[history.node_index]
        tensors = node.input_tensors
    except (AttributeError, IndexError):
        return None
    return tensors[0] if len(tensors) == 1 else None


def _output_activation(tensor, depth: int = 0) -> tuple[str, str]:
    op, history = _producer(tensor)
    if op is None or depth > 20:
        return "custom", "?"
    cls = type(op).__name__
    if isinstance(op, keras.Model):  # a nested model: look inside at its own output
        inner = op.outputs[history.tensor_index] if op.outputs else None
        return _output_activation(inner, depth + 1) if inner is not None else ("custom", op.name)
    if isinstance(op, keras.layers.Layer) and cls in _LAYER_ACTIVATIONS:
        return _LAYER_ACTIVATIONS[cls], op.name
    if cls == "TimeDistributed":  # applies its inner layer at every step: that one decides
        inner = op.layer
        if type(inner).__name__ in _LAYER_ACTIVATIONS:
            return _LAYER_ACTIVATIONS[type(inner).__name__], op.name
        return (activation_name(inner.activation), op.name) if hasattr(inner, "activation") \
            else ("custom", op.name)
    if isinstance(op, keras.layers.Layer) and hasattr(op, "activation"):
        return activation_name(op.activation), op.name
    if cls in _PASS_THROUGH:
        upstream = _input_of(op, history)
        return _output_activation(upstream, depth + 1) if upstream is not None else ("custom",
                                                                                     op.name)
    if not isinstance(op, keras.layers.Layer) and cls in _OP_ACTIVATIONS:
        return _OP_ACTIVATIONS[cls], f"keras.ops.{_OP_ACTIVATIONS[cls]}"
    return "custom", op.name


def _losses_per_output(model, n_outputs: int) -> list:
    loss = getattr(model, "loss", None) if getattr(model, "compiled", False) else None
    if isinstance(loss, dict):
        names = list(getattr(model, "output_names", []) or [])
        return [loss.get(n) for n in names] + [None] * (n_outputs - len(names))
    if isinstance(loss, (list, tuple)):
        return list(loss) + [None] * (n_outputs - len(loss))
    return [loss] * n_outputs


def model_outputs(model) -> list[OutputInfo]:
    """One :class:`OutputInfo` per model output."""
    try:
        tensors = list(model.outputs)
    except (AttributeError, ValueError):
        tensors = []
    if not tensors:
        raise ValueError("model has no defined outputs yet; build it first, e.g. start a "
                         "Sequential model with keras.Input(shape=...)")
    names = list(getattr(model, "output_names", None) or [])
    losses = _losses_per_output(model, len(tensors))
    infos = []
    for i, t in enumerate(tensors):
        activation, layer = _output_activation(t)
        units = t.shape[-1] if len(t.shape) > 1 else 1
        infos.append(OutputInfo(i, names[i] if i < len(names) else layer,
                                None if units is None else int(units), activation, layer,
                                loss_info(losses[i])))
    return infos


def single_output(model, argument: str = "model") -> OutputInfo:
    """The model's one output, for the checks that handle single-output models only (the
    ``@check(single_output=True)`` flag); a ValueError naming ``argument`` otherwise."""
    outputs = model_outputs(model)
    if len(outputs) != 1:
        raise ValueError(f"{argument}: this check handles single-output models; the model "
                         f"has {len(outputs)} outputs. Call it on one output's sub-model.")
    return outputs[0]


def predict(model, inputs, chunk: int = 512) -> list[np.ndarray]:
    """The model's outputs on ``inputs`` as float arrays, one per output, in output order.

    The numbers ``model.predict`` gives, from direct calls (``training=False``) on chunks of
    ``chunk`` rows: ``model.predict`` traces a function per model (a fixed cost that
    dominates on the few thousand rows a check looks at) and defaults to batches of 32.
    ``inputs`` is an array, or a list or dict of arrays for a multi-input model.
    """
    first = next(iter(inputs.values())) if isinstance(inputs, dict) else \
        inputs[0] if isinstance(inputs, list) else inputs
    parts = []
    for start in range(0, len(first), chunk):
        rows = slice(start, start + chunk)
        batch = {k: v[rows] for k, v in inputs.items()} if isinstance(inputs, dict) else \
            [v[rows] for v in inputs] if isinstance(inputs, list) else inputs[rows]
        out = model(batch, training=False)
        if isinstance(out, dict):
            out = list(out.values())
        elif not isinstance(out, (list, tuple)):
            out = [out]
        parts.append([np.asarray(keras.ops.convert_to_numpy(o), dtype=float) for o in out])
    return [np.concatenate(column) for column in zip(*parts)]


def leaf_layers(model) -> list:
    """The layers of ``model`` that hold no layers themselves, nested models opened."""
    found, stack = [], list(reversed(getattr(model, "layers", None) or []))
    while stack:
        layer = stack.pop()
        inner = getattr(layer, "layers", None)
        if inner:
            stack.extend(reversed(inner))
        else:
            found.append(layer)
    return found


def _known_shape(layer, which: str):
    """``layer.output.shape`` (or ``.input``), None when the layer has no single one (a
    subclassed model's layers, a layer called on several inputs or used twice)."""
    try:
        shape = getattr(layer, which).shape
    except (AttributeError, ValueError, TypeError):
        return None
    return tuple(shape) if shape is not None else None


def _per_position(shape) -> float:
    """Positions per row (steps, pixels) of a (batch, ..., features) shape."""
    return float(np.prod([d or 1 for d in shape[1:-1]])) if shape and len(shape) > 2 else 1.0


def cost_per_row(model) -> tuple[float, float, float]:
    """An estimate of what one row costs ``model``: (multiply-adds, values in the largest
    layer output, values in all layer outputs).

    A layer's multiply-adds are its weights times the positions (pixels, steps) it applies
    them at; recurrent layers apply theirs at every input step; an Embedding only looks
    rows up. Layers whose shapes the graph doesn't say (subclassed models) are charged at
    every position of the model's input, which errs on the dear side.
    """
    try:
        inputs = [tuple(t.shape) for t in (model.inputs or ())]
    except (AttributeError, ValueError):
        inputs = []
    positions_in = max([_per_position(s) for s in inputs if s] or [1.0])
    macs = widest = total = 0.0
    for layer in leaf_layers(model):
        params = float(sum(np.prod(w.shape) for w in layer.weights))
        out = _known_shape(layer, "output")
        if type(layer).__name__ == "Embedding":
            params = 0.0
        if out is None:
            positions = positions_in
        elif hasattr(layer, "cell"):  # recurrent: the weights are used at every step
            positions = _per_position(_known_shape(layer, "input") or out)
        else:
            positions = _per_position(out)
        macs += params * positions
        if out is not None:
            size = float(np.prod([d or 1 for d in out[1:]]))
            widest, total = max(widest, size), total + size
    for shape in inputs:
        size = float(np.prod([d or 1 for d in shape[1:]]))
        widest, total = max(widest, size), total + size
    return max(macs, float(model.count_params()), 1.0), max(widest, 1.0), max(total, 1.0)


def layers_with_training_arg(model) -> list:
    """The leaf layers whose ``call`` takes ``training`` (Dropout, BatchNormalization,
    noise layers, recurrent layers, custom layers that ask for it): the only ones that can
    behave differently in training mode. Dense and EinsumDense take it and ignore it."""
    return [layer for layer in leaf_layers(model)
            if getattr(layer, "_call_has_training_arg", True)
            and type(layer).__name__ not in ("Dense", "EinsumDense")]


def ignores_training(model) -> bool:
    """A Sequential or functional model none of whose layers takes ``training``: calling
    it in training mode runs the same computation as in inference mode."""
    return type(model).__name__ in ("Sequential", "Functional") and \
        not layers_with_training_arg(model)


def relu_layers(model) -> list:
    """The layers of ``model`` (not of nested models, whose tensors are not in its graph)
    that apply relu: a ReLU layer or a layer whose activation is relu."""
    found = []
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.Model):
            continue
        if type(layer).__name__ == "ReLU":
            found.append(layer)
        elif hasattr(layer, "activation") and activation_name(layer.activation) == "relu":
            found.append(layer)
    return found


def batchnorm_layers(model) -> list:
    """The BatchNormalization layers of ``model`` (not of nested models)."""
    return [layer for layer in getattr(model, "layers", [])
            if isinstance(layer, keras.layers.BatchNormalization)]


# --- per-backend paths ------------------------------------------------------------------------
# Everything else in helpers runs the model through Keras's own API (``model(x)``,
# ``keras.ops``), which is the same on every backend. Gradients are not: each backend has its
# own autodiff.

def backend() -> str:
    """The Keras backend in use: "tensorflow", "jax" or "torch"."""
    return keras.backend.backend()


def backend_errors() -> tuple:
    """The backend's own exception types for an operation on inputs of the wrong shape or
    type (TensorFlow raises InvalidArgumentError; JAX raises ValueError or TypeError)."""
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        return (tf.errors.InvalidArgumentError,)
    return ()


def loss_gradients(model, x, y, weights: list) -> list:
    """Gradients of the compiled loss on ``(x, y)``, the model in training mode (dropout on,
    BatchNormalization on batch statistics), with respect to ``weights`` (trainable variables
    of ``model``); None for a weight the loss does not reach. Moving statistics that the
    training-mode call updates are put back, so the model is left as it was."""
    name = backend()
    if name == "jax":
        return _jax_gradients(model, x, y, weights)
    if name != "tensorflow":  # PyTorch's CPU wheel could not be installed here to test one
        raise NotImplementedError(f"helpers computes gradients on the TensorFlow and JAX "
                                  f"backends, not on {name!r}")
    import tensorflow as tf

    saved = [v.numpy() for v in model.non_trainable_variables]
    try:
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True), training=True)
        return tape.gradient(loss, weights)
    finally:
        for v, value in zip(model.non_trainable_variables, saved):
            v.assign(value)


def _jax_gradients(model, x, y, weights: list) -> list:
    import jax

    x = keras.tree.map_structure(lambda v: keras.ops.convert_to_tensor(np.asarray(v)), x)
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    metric_values = [v.value for v in model.metrics_variables]
    kwargs = {"training": True} if model._call_has_training_arg else {}

    def loss_of(trainable):  # stateless: no variable of the model is written
        predicted, _ = model.stateless_call(trainable, non_trainable, x, **kwargs)
        loss, _ = model.stateless_compute_loss(trainable, non_trainable, metric_values,
                                               x=x, y=y, y_pred=predicted, training=True)
        return loss

    grads = jax.grad(loss_of)(trainable)
    position = {id(v): i for i, v in enumerate(model.trainable_variables)}
    return [grads[position[id(w)]] for w in weights]
