import keras
import numpy as np
import pytest

import helpers


@pytest.fixture(autouse=True)
def _seeded():
    helpers.seed(0)


def dense_model(n_features=3, units=1, activation="sigmoid", loss="binary_crossentropy",
                hidden=4, compile=True, metrics=None):
    """A tiny untrained Sequential model; checks look at structure, not skill."""
    model = keras.Sequential([
        keras.Input(shape=(n_features,)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(units, activation=activation),
    ])
    if compile:
        model.compile(optimizer="adam", loss=loss, metrics=metrics)
    return model


@pytest.fixture
def rng():
    return np.random.default_rng(0)
