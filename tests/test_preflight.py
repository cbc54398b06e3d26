"""helpers.preflight: each check before training fires on its broken setup and stays silent
on the fixed one; the model, x and y it is given are never changed."""

import keras
import numpy as np
import pytest

import helpers
from helpers.checks import fitting as fit

pytestmark = pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1")


@pytest.fixture(scope="module")
def data():
    ds = helpers.data.gaussian_binary(300, 10, n_features=4, separation=4.0, seed=0)
    return ds.x_train, ds.y_train


def model_for(output="sigmoid", units=1, loss="binary_crossentropy", learning_rate=1e-2,
              bias=0.0):
    helpers.seed(0)
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(units, activation=output,
                           bias_initializer=keras.initializers.Constant(bias)),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    return model


def test_preflight_is_silent_on_a_working_setup(data):
    x, y = data
    report = helpers.preflight(model_for(), x, y)
    assert report.ok and not report.rules, report
    ids = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)   # three classes
    report = helpers.preflight(model_for("softmax", 3, "sparse_categorical_crossentropy"), x, ids)
    assert not report.rules, report


def test_softmax_on_one_unit_fails_initial_loss_and_one_batch(data):
    x, y = data
    report = helpers.preflight(model_for("softmax"), x, y)
    assert {"fitting.initial-loss", "fitting.cannot-overfit-batch"} <= report.rules
    assert report.errors[0].rule == "fitting.cannot-overfit-batch"
    loss = next(f for f in report if f.rule == "fitting.initial-loss").evidence
    assert loss["initial_loss"] > 2 * loss["uniform_loss"]


def test_learning_rate_near_zero_cannot_fit_one_batch(data):
    x, y = data
    assert "fitting.cannot-overfit-batch" in helpers.preflight(
        model_for(learning_rate=1e-7), x, y).rules


def test_labels_shuffled_apart_from_rows_learn_nothing_from_the_inputs(data):
    x, y = data
    shuffled = np.random.default_rng(1).permutation(y)
    report = helpers.preflight(model_for(), x, shuffled)
    assert "fitting.ignores-inputs" in report.rules
    assert "fitting.cannot-overfit-batch" not in report.rules   # 32 rows can be memorised


def test_output_bias_prior_on_imbalanced_labels(data):
    x, _ = data
    y = (x[:, 0] > 2.0).astype(int)
    p = y.mean()
    assert p < 0.2
    found = fit.check_before_training(model_for(), x, y)   # as diagnose runs it
    assert {f.rule for f in found} == {"fitting.output-bias-prior"}
    assert found[0].severity == "info"
    assert not fit.check_before_training(model_for(bias=np.log(p / (1 - p))), x, y)


def test_preflight_changes_neither_model_nor_inputs(data):
    x, y = data
    model = model_for()
    weights = [w.copy() for w in model.get_weights()]
    x_before, y_before = x.copy(), y.copy()
    helpers.preflight(model, x, y)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert int(model.optimizer.iterations.numpy()) == 0
    assert np.array_equal(x, x_before) and np.array_equal(y, y_before)


def test_diagnose_reads_untrained_models_only_and_trains_nothing(data):
    x, y = data
    untrained = model_for("softmax")
    rules = helpers.diagnose(untrained, x, y).rules
    assert "fitting.initial-loss" in rules
    assert "fitting.cannot-overfit-batch" not in rules     # probes only in preflight
    trained = model_for()
    trained.fit(x, y, epochs=2, verbose=0)
    assert not fit.check_before_training(trained, x, y)
    # On a trained model, preflight still runs its probes on copies.
    assert helpers.preflight(trained, x, y).ok


def test_preflight_rejects_bad_input(data):
    x, y = data
    with pytest.raises(TypeError, match="model"):
        helpers.preflight("model.keras", x, y)
    uncompiled = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="not compiled"):
        helpers.preflight(uncompiled, x, y)
    with pytest.raises(ValueError, match="same number of rows"):
        helpers.preflight(model_for(), x, y[:-1])
    with pytest.raises(ValueError, match="steps"):
        helpers.preflight(model_for(), x, y, steps=0)
    with pytest.raises(ValueError, match="x has rows of shape"):
        helpers.preflight(model_for(), x[:, :3], y)
    inputs = keras.Input((4,))
    two = keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)])
    two.compile(optimizer="adam", loss=["mse", "mse"])
    with pytest.raises(ValueError, match="one output"):
        helpers.preflight(two, x, y)
