"""helpers on each Keras backend: the one part of helpers with a path per backend, the gradient
probe (``_keras.loss_gradients``), gives the same numbers on TensorFlow and on JAX."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers.checks.fitting.gradients import layer_gradient_norms


def gradient_norms() -> dict:
    """Per-layer RMS gradients of three models with the same fixed weights on any backend:
    deep sigmoids, BatchNormalization in training mode, an L2 penalty in the loss."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    models = {
        "deep sigmoid": ([keras.layers.Dense(16, activation="sigmoid") for _ in range(6)]
                         + [keras.layers.Dense(1, activation="sigmoid")],
                         "binary_crossentropy", y),
        "batchnorm": ([keras.layers.Dense(16), keras.layers.BatchNormalization(),
                       keras.layers.Activation("relu"),
                       keras.layers.Dense(3, activation="softmax")],
                      "sparse_categorical_crossentropy", y),
        "l2 penalty": ([keras.layers.Dense(8, activation="relu",
                                           kernel_regularizer=keras.regularizers.L2(0.1)),
                        keras.layers.Dense(1)], "mse", x[:, 0]),
    }
    norms = {}
    for name, (layers, loss, target) in models.items():
        model = keras.Sequential([keras.Input((6,)), *layers])
        weights = np.random.default_rng(1)
        model.set_weights([
            (weights.normal(size=v.shape) * 0.5).astype("float32") if len(v.shape) > 1
            else np.full(v.shape, 1.0 if v.path.endswith(("gamma", "moving_variance")) else 0.0,
                         "float32")
            for v in model.weights])
        model.compile("adam", loss)
        norms[name] = [g for _, g in layer_gradient_norms(model, x, target)]
    return norms


def test_gradient_probe_agrees_on_tensorflow_and_jax():
    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import test_backends; "
            "print(json.dumps(test_backends.gradient_norms()))")
    run = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)],
                         env={**os.environ, "KERAS_BACKEND": other, "TF_CPP_MIN_LOG_LEVEL": "3"},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    theirs, ours = json.loads(run.stdout.splitlines()[-1]), gradient_norms()
    assert theirs.keys() == ours.keys()
    for name in ours:
        assert len(ours[name]) == len(theirs[name]) > 1, name
        # float32 on two compilers: equal to about 1e-7; a wrong path is off by far more.
        assert np.allclose(ours[name], theirs[name], rtol=1e-4, atol=0), name


@pytest.mark.skipif(keras.backend.backend() in ("tensorflow", "jax"),
                    reason="the gradient probe has paths for TensorFlow and JAX")
def test_other_backends_say_the_probe_could_not_run():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    with pytest.raises(NotImplementedError, match="TensorFlow and JAX"):
        layer_gradient_norms(model, np.zeros((8, 4)), np.zeros(8))
