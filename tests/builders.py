"""What the unit tests build: small models and the rule ids of findings. Import from here
(``from builders import dense_model``), not from conftest, which keeps pytest's fixtures
and hooks only."""

import keras


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


def model_with(n_features, *layers):
    """An uncompiled Sequential model: ``layers`` (e.g. a Normalization), then one sigmoid
    unit."""
    return keras.Sequential([keras.Input(shape=(n_features,)), *layers,
                             keras.layers.Dense(1, activation="sigmoid")])


def two_output_model():
    """Inputs of 3 features; outputs "first" (one sigmoid unit, binary cross-entropy) and
    "second" (two linear units, mean squared error)."""
    inputs = keras.Input((3,))
    first = keras.layers.Dense(1, activation="sigmoid", name="first")(inputs)
    second = keras.layers.Dense(2, name="second")(inputs)
    model = keras.Model(inputs, [first, second])
    model.compile(loss=["binary_crossentropy", "mse"])
    return model


def rule_ids(findings):
    """The set of rule ids among ``findings``."""
    return {f.rule for f in findings}
