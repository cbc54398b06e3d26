"""helpers.sweep: stacked networks train exactly as the same networks alone."""

import keras
import numpy as np
import pytest

import helpers
from helpers import sweep


def _alone(stacked, slot, n_features, hidden, output_activation):
    """A plain Keras network with the weights of one slot of a stacked model."""
    layers = [keras.Input(shape=(n_features,))]
    layers += [keras.layers.Dense(u, activation="relu") for u in hidden]
    layers.append(keras.layers.Dense(1, activation=output_activation))
    model = keras.Sequential(layers)
    dense = [layer for layer in stacked.layers if isinstance(layer, sweep.StackedDense)]
    for plain, stack_layer in zip(model.layers, dense):
        plain.set_weights([stack_layer.kernel.numpy()[slot], stack_layer.bias.numpy()[slot]])
    return model


@pytest.mark.parametrize("output_activation", ["sigmoid", None])
def test_each_slot_trains_as_the_network_would_alone(output_activation):
    helpers.seed(0)
    sets = [helpers.data.gaussian_binary(n_train=64, n_test=8, n_features=3, seed=k)
            for k in range(3)]
    stacked = sweep.stacked_classifier(3, 3, hidden=(5,), output_activation=output_activation)
    alone = [_alone(stacked, i, 3, (5,), output_activation) for i in range(3)]
    x = sweep.stack([d.x_train for d in sets])
    y = np.stack([d.y_train for d in sets], axis=1)
    stacked.compile(optimizer=keras.optimizers.Adam(0.01), loss=sweep.summed_loss())
    stacked.fit(x, y, epochs=3, batch_size=64, shuffle=False, verbose=0)
    for i, (model, d) in enumerate(zip(alone, sets)):
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
        model.fit(d.x_train, d.y_train, epochs=3, batch_size=64, shuffle=False, verbose=0)
        np.testing.assert_allclose(sweep.predict(stacked, x)[:, i],
                                   model.predict(d.x_train, verbose=0).ravel(),
                                   rtol=1e-4, atol=1e-5)


def test_slots_start_from_different_weights():
    helpers.seed(0)
    stacked = sweep.stacked_classifier(4, 2, hidden=(8,))
    kernel = stacked.layers[1].kernel.numpy()
    assert not np.allclose(kernel[0], kernel[1])
    assert np.abs(kernel).max() <= np.sqrt(6 / (2 + 8))  # Glorot uniform of one network


def test_per_network_activations_and_class_weights():
    helpers.seed(0)
    stacked = sweep.stacked_classifier(2, 2, hidden=(), output_activation=["sigmoid", None])
    x = sweep.stack([np.array([[5.0, 5.0]]), np.array([[5.0, 5.0]])])
    out = sweep.predict(stacked, x)[0]
    assert 0 <= out[0] <= 1
    y = np.array([[1.0, 0.0]], dtype="float32")
    p = np.array([[0.5, 0.5]], dtype="float32")
    plain = float(sweep.summed_loss()(y, p)[0])
    weighted = float(sweep.summed_loss(positive_weight=[3.0, 3.0])(y, p)[0])
    assert weighted == pytest.approx(plain * 2, rel=1e-5)  # 3x on the positive, 1x on the negative


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="arrays"):
        sweep.stack([np.zeros((3, 2)), np.zeros((4, 2))])
    with pytest.raises(ValueError, match="arrays"):
        sweep.stack([])
    with pytest.raises(ValueError, match="output_activation"):
        sweep.stacked_classifier(3, 2, output_activation=["sigmoid"])
