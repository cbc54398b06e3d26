"""helpers.sweep: networks trained side by side learn exactly what they would learn alone."""

import keras
import numpy as np
import pytest

from helpers import sweep


def _alone(stacked, k, output_activation="sigmoid"):
    """Network ``k`` of a one-hidden-layer stack, as an ordinary Sequential with its weights."""
    (k1, b1), (k2, b2) = [layer.get_weights() for layer in stacked.layers
                          if isinstance(layer, keras.layers.EinsumDense)]
    model = keras.Sequential([keras.Input(shape=(k1.shape[1],)),
                              keras.layers.Dense(k1.shape[2], activation="relu"),
                              keras.layers.Dense(k2.shape[2], activation=output_activation)])
    model.layers[0].set_weights([k1[k], b1[k]])
    model.layers[1].set_weights([k2[k], b2[k]])
    return model


@pytest.mark.parametrize("optimizer, output_activations, options", [
    ("sgd", ["sigmoid"] * 3, {}),
    ("adam", ["sigmoid"] * 3, {}),
    ("adam", [None] * 3, {"from_logits": True}),  # logits, as the loss is told
    ("adam", ["sigmoid", "hard_sigmoid", "sigmoid"], {}),  # one output activation each
])
def test_side_by_side_training_equals_training_each_network_alone(rng, optimizer,
                                                                  output_activations,
                                                                  options):
    xs = [rng.normal(size=(64, 3)) for _ in range(3)]
    ys = [(x[:, 0] + 0.3 * rng.normal(size=64) > 0).astype(int) for x in xs]
    one = len(set(output_activations)) == 1
    stacked = sweep.dense_stack(3, 3, (5,), output_activation=output_activations[0] if one
                                else output_activations)
    alone = [_alone(stacked, k, output_activations[k]) for k in range(3)]
    start = [model.get_weights() for model in alone]
    make = {"sgd": lambda: keras.optimizers.SGD(0.5), "adam": lambda: keras.optimizers.Adam(0.05)}
    stacked.compile(make[optimizer](), loss=sweep.per_model("binary_crossentropy", **options))
    stacked.fit(sweep.stack(xs), sweep.stack(ys), epochs=5, batch_size=16, shuffle=False,
                verbose=0)
    for k, model in enumerate(alone):
        model.compile(make[optimizer](), loss=keras.losses.BinaryCrossentropy(**options))
        model.fit(xs[k], ys[k].astype("float32"), epochs=5, batch_size=16, shuffle=False,
                  verbose=0)
        trained_together = _alone(stacked, k)
        for w_alone, w_together in zip(model.get_weights(), trained_together.get_weights()):
            assert np.allclose(w_alone, w_together, atol=1e-4)
        # the weights moved, so agreeing after training means something
        assert not np.allclose(model.get_weights()[0], start[k][0], atol=1e-2)


def test_each_network_gets_its_own_output_activation(rng):
    names = ["relu", "sigmoid", None, "sigmoid", "tanh"]
    mixed = sweep.dense_stack(5, 3, (4,), output_activation=names)
    linear = sweep.dense_stack(5, 3, (4,))
    linear.set_weights(mixed.get_weights())
    x = sweep.stack([3 * rng.normal(size=(20, 3)) for _ in names])
    z = linear.predict(x, verbose=0)
    assert np.ptp(z) > 1  # outputs on both sides of 0, where the activations differ
    expected = np.stack([np.maximum(z[:, 0], 0), 1 / (1 + np.exp(-z[:, 1])), z[:, 2],
                         1 / (1 + np.exp(-z[:, 3])), np.tanh(z[:, 4])], axis=1)
    np.testing.assert_allclose(mixed.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_weights_start_like_dense_whatever_the_number_of_networks():
    few = sweep.dense_stack(2, 20, (30,)).layers[1].get_weights()[0]
    many = sweep.dense_stack(200, 20, (30,)).layers[1].get_weights()[0]
    limit = np.sqrt(6 / (20 + 30))
    for kernel in (few, many):
        assert np.abs(kernel).max() <= limit
        assert abs(kernel.std() - limit / np.sqrt(3)) < 0.05 * limit
        assert not np.allclose(kernel[0], kernel[1])  # each network starts from its own draw


def test_dropout_and_l2_are_built_in():
    plain = sweep.dense_stack(2, 4, (8, 8))
    both = sweep.dense_stack(2, 4, (8, 8), dropout=0.5, l2=0.01)
    assert not plain.losses and len(both.losses) == 3
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in both.layers) == 2
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in plain.layers)


def test_prediction_shape_and_stack_of_labels():
    model = sweep.dense_stack(4, 3, (5,), outputs=2, output_activation="softmax")
    x = sweep.stack([np.zeros((7, 3))] * 4)
    assert x.shape == (7, 4, 3) and x.dtype == np.float32
    assert model.predict(x, verbose=0).shape == (7, 4, 2)
    assert sweep.stack([np.arange(7)] * 4).shape == (7, 4, 1)


@pytest.mark.parametrize("call, error, match", [
    (lambda: sweep.dense_stack(0, 3), ValueError, "n_models"),
    (lambda: sweep.dense_stack(2, 3.5), TypeError, "n_features"),
    (lambda: sweep.dense_stack(2, 3, dropout=1.0), ValueError, "dropout"),
    (lambda: sweep.dense_stack(2, 3, l2=-1), ValueError, "l2"),
    (lambda: sweep.dense_stack(3, 2, output_activation=["sigmoid"]), ValueError,
     "output_activation"),
    (lambda: sweep.per_model(keras.losses.BinaryCrossentropy()), TypeError, "functional"),
    (lambda: sweep.per_model("no_such_loss"), ValueError, "no_such_loss"),
    (lambda: sweep.per_model("mse", from_logits=True), TypeError, "from_logits"),
    (lambda: sweep.stack([np.zeros(3), np.zeros(4)]), ValueError, "same number of rows"),
    (lambda: sweep.stack([]), ValueError, "at least one"),
])
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
