"""Every activation rule fires on its broken case and stays silent on the fixed twin."""

import keras
import numpy as np
import pandas as pd
import pytest

import helpers
from helpers.checks import activation as act

from builders import dense_model, rule_ids

# --- softmax on one unit ------------------------------------------------------------------

def test_softmax_single_unit_fires_and_fix_is_silent():
    broken = dense_model(activation="softmax")
    found = act.check_softmax_single_unit(broken)
    assert rule_ids(found) == {"activation.softmax-single-unit"}
    assert found[0].evidence["units"] == 1 and "dense" in found[0].message
    assert act.check_softmax_single_unit(dense_model(activation="sigmoid")) == []
    assert act.check_softmax_single_unit(dense_model(units=3, activation="softmax",
                                                     loss="categorical_crossentropy")) == []


def test_softmax_single_unit_message_says_what_training_did():
    """Binary cross-entropy reads the logit behind the softmax (TensorFlow backend): the
    weights may be fine. Other losses learn nothing usable; uncompiled models get neither."""
    with_bce = act.check_softmax_single_unit(dense_model(activation="softmax"))[0]
    assert "logit behind the softmax" in with_bce.message and "retrain" not in with_bce.message
    focal = dense_model(activation="softmax", loss=keras.losses.BinaryFocalCrossentropy())
    assert "retrain" in act.check_softmax_single_unit(focal)[0].message
    bare = act.check_softmax_single_unit(dense_model(activation="softmax", compile=False))[0]
    assert "logit" not in bare.message and "retrain" not in bare.message


def test_softmax_single_unit_ignores_layer_names():
    """A layer *named* softmax that applies sigmoid is fine; the reverse is not."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid",
                                                                    name="softmax")])
    assert act.check_softmax_single_unit(model) == []
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, name="sigmoid_out"),
                              keras.layers.Activation("softmax", name="probability")])
    assert rule_ids(act.check_softmax_single_unit(model)) == {"activation.softmax-single-unit"}


def test_softmax_single_unit_functional_and_ops_and_nested():
    inputs = keras.Input((3,))
    out = keras.ops.softmax(keras.layers.Dense(1)(inputs))
    assert rule_ids(act.check_softmax_single_unit(keras.Model(inputs, out)))
    inner = dense_model(activation="softmax", compile=False)
    outer_in = keras.Input((3,))
    outer = keras.Model(outer_in, keras.layers.Flatten()(inner(outer_in)))
    assert rule_ids(act.check_softmax_single_unit(outer)) == {"activation.softmax-single-unit"}


# --- unbounded outputs with probabilistic losses --------------------------------------------

@pytest.mark.parametrize("activation", [None, "linear", "relu", "tanh"])
@pytest.mark.parametrize("loss", ["binary_crossentropy", keras.losses.binary_crossentropy,
                                  keras.losses.BinaryCrossentropy()])
def test_unbounded_output_fires_for_strings_functions_and_objects(activation, loss):
    found = act.check_output_matches_loss(dense_model(activation=activation, loss=loss))
    assert rule_ids(found) == {"activation.unbounded-output"}


@pytest.mark.parametrize("activation, loss", [
    ("sigmoid", "binary_crossentropy"),
    (None, keras.losses.BinaryCrossentropy(from_logits=True)),
    (None, "mse"),  # a regression: linear is right
])
def test_unbounded_output_silent_on_fixed_twins(activation, loss):
    assert "activation.unbounded-output" not in rule_ids(
        act.check_output_matches_loss(dense_model(activation=activation, loss=loss)))


def test_unbounded_output_multiclass_and_multi_output():
    model = dense_model(units=4, activation=None, loss="sparse_categorical_crossentropy")
    assert rule_ids(act.check_output_matches_loss(model)) == {"activation.unbounded-output"}
    inputs = keras.Input((3,))
    h = keras.layers.Dense(4, activation="relu")(inputs)
    good = keras.layers.Dense(1, activation="sigmoid", name="good")(h)
    bad = keras.layers.Dense(3, name="bad")(h)
    model = keras.Model(inputs, [good, bad])
    model.compile(loss=["binary_crossentropy", "categorical_crossentropy"])
    found = act.check_output_matches_loss(model)
    assert [f.evidence["output"] for f in found] == ["bad"]
    model.compile(loss={"good": "binary_crossentropy",
                        "bad": keras.losses.CategoricalCrossentropy(from_logits=True)})
    assert rule_ids(act.check_output_matches_loss(model)) == {"activation.logits-output"}


def test_logits_output_is_info_only():
    model = dense_model(activation=None, loss=keras.losses.BinaryCrossentropy(from_logits=True))
    report = helpers.diagnose(model)
    assert report.ok and report.rules == {"activation.logits-output"}
    assert report.infos[0].severity == "info"


# --- sigmoid on single-label multi-class --------------------------------------------------

def test_sigmoid_single_label_from_loss_and_from_labels():
    broken = dense_model(units=3, activation="sigmoid", loss="categorical_crossentropy")
    assert "activation.sigmoid-single-label" in rule_ids(act.check_output_matches_loss(broken))
    fixed = dense_model(units=3, activation="softmax", loss="categorical_crossentropy")
    assert act.check_output_matches_loss(fixed) == []
    ids = np.array([0, 1, 2, 1, 0])
    uncompiled = dense_model(units=3, activation="sigmoid", compile=False)
    assert rule_ids(act.check_output_matches_labels(uncompiled, ids)) == {
        "activation.sigmoid-single-label"}
    assert act.check_output_matches_labels(dense_model(units=3, activation="softmax",
                                                       compile=False), ids) == []


def test_sigmoid_with_multilabel_targets_is_fine():
    y = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 0]])
    model = dense_model(units=3, activation="sigmoid", loss="binary_crossentropy")
    assert act.check_output_matches_labels(model, y) == []
    report = helpers.diagnose(model, np.zeros((3, 3)), y)
    assert not [r for r in report.rules if r.startswith("activation.")]


# --- softmax on multi-label ---------------------------------------------------------------

def test_softmax_multilabel_fires_and_fix_is_silent():
    y = pd.DataFrame([[1, 1, 0], [0, 1, 0], [1, 0, 1], [0, 0, 1]])
    broken = dense_model(units=3, activation="softmax", loss="categorical_crossentropy")
    found = act.check_output_matches_labels(broken, y)
    assert rule_ids(found) == {"activation.softmax-multilabel"}
    assert found[0].evidence["share_multi"] == pytest.approx(0.5)
    fixed = dense_model(units=3, activation="sigmoid", loss="binary_crossentropy")
    assert act.check_output_matches_labels(fixed, y) == []
    one_hot = np.eye(3)[[0, 1, 2, 1]]
    assert act.check_output_matches_labels(broken, one_hot) == []


# --- predictions that should be probabilities ---------------------------------------------

def _set_output_bias(model, value):
    layer = model.layers[-1]
    kernel, bias = layer.get_weights()
    layer.set_weights([np.zeros_like(kernel), np.full_like(bias, value)])
    return model


def test_not_probabilities_fires_on_out_of_range_outputs():
    broken = _set_output_bias(dense_model(activation=None), 1.7)
    found = act.check_predicted_probabilities(broken, np.zeros((10, 3)))
    assert rule_ids(found) == {"activation.not-probabilities"}
    assert found[0].evidence["max"] == pytest.approx(1.7)
    assert found[0].evidence["share_outside"] == 1.0
    fixed = _set_output_bias(dense_model(activation="sigmoid"), 1.7)
    assert act.check_predicted_probabilities(fixed, np.zeros((10, 3))) == []


def test_not_probabilities_row_sums_and_logit_models_skipped():
    x = np.random.default_rng(0).normal(size=(20, 3))
    sig = dense_model(units=3, activation="sigmoid", loss="categorical_crossentropy")
    found = act.check_predicted_probabilities(sig, x)
    assert found and found[0].evidence["max_sum_error"] > 0.1
    soft = dense_model(units=3, activation="softmax", loss="categorical_crossentropy")
    assert act.check_predicted_probabilities(soft, x) == []
    logits = dense_model(activation=None,
                         loss=keras.losses.BinaryCrossentropy(from_logits=True))
    assert act.check_predicted_probabilities(_set_output_bias(logits, 5.0), x) == []


def test_not_probabilities_bounds_rows_predicted():
    model = _set_output_bias(dense_model(activation=None), -0.5)
    found = act.check_predicted_probabilities(model, np.zeros((5000, 3)), max_rows=100)
    assert found[0].evidence["rows"] == 100


# --- bad input ----------------------------------------------------------------------------

CHECKS = [act.check_softmax_single_unit, act.check_output_matches_loss]


@pytest.mark.parametrize("fn", CHECKS + [lambda m: act.check_output_matches_labels(m, [0, 1]),
                                         lambda m: act.check_predicted_probabilities(
                                             m, np.zeros((2, 3)))])
@pytest.mark.parametrize("not_a_model", [None, "model.keras", np.zeros(3), {"loss": "mse"}])
def test_not_a_model(fn, not_a_model):
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        fn(not_a_model)


@pytest.mark.parametrize("fn", [act.check_output_matches_loss,
                                lambda m: act.check_predicted_probabilities(m, np.zeros((2, 3)))])
def test_uncompiled_model_for_loss_checks(fn):
    with pytest.raises(ValueError, match="model is not compiled"):
        fn(dense_model(compile=False))


@pytest.mark.parametrize("y, error, word", [
    (None, TypeError, "y must be array-like"),
    ("0,1,1", TypeError, "y must be array-like"),
    ([], ValueError, "y must have at least 1 row"),
    (np.array([0.0, np.nan]), ValueError, "y contains 1 NaN"),
    (np.zeros((2, 2, 2)), ValueError, "y must be 1-D or 2-D"),
])
def test_labels_bad_input(y, error, word):
    with pytest.raises(error, match=word):
        act.check_output_matches_labels(dense_model(), y)


@pytest.mark.parametrize("x, error, word", [
    (None, TypeError, "x must be array-like"),
    (np.zeros((0, 3)), ValueError, "x must have at least 1 row"),
    (np.full((2, 3), np.inf), ValueError, "x contains 6 NaN or infinite"),
    (np.zeros((2, 5)), ValueError, r"x has rows of shape \(5,\)"),
    ([["a", "b", "c"]], TypeError, "x must be numeric"),
])
def test_predictions_bad_input(x, error, word):
    with pytest.raises(error, match=word):
        act.check_predicted_probabilities(dense_model(), x)


def test_tolerance_validated():
    with pytest.raises(ValueError, match="tolerance"):
        act.check_predicted_probabilities(dense_model(), np.zeros((2, 3)), tolerance=2)


def test_checks_do_not_modify_inputs():
    x = np.random.default_rng(1).normal(size=(8, 3))
    y = pd.Series([0, 1, 2, 1, 0, 2, 1, 0])
    x_copy, y_copy = x.copy(), y.copy()
    model = dense_model(units=3, activation="sigmoid", loss="sparse_categorical_crossentropy")
    weights = [w.copy() for w in model.get_weights()]
    helpers.diagnose(model, x, y)
    assert np.array_equal(x, x_copy) and y.equals(y_copy)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))


# --- regression outputs ---------------------------------------------------------------------

@pytest.mark.parametrize("activation, y", [
    ("sigmoid", np.linspace(25, 346, 40)),
    ("tanh", np.linspace(-3, 3, 40)),
    ("relu", np.linspace(-2, 2, 40)),
])
def test_bounded_output_on_regression_targets_fires_and_linear_is_silent(activation, y):
    found = act.check_regression_output(dense_model(activation=activation, loss="mse"), y)
    assert rule_ids(found) == {"activation.bounded-regression-output"}
    assert found[0].evidence["share_outside"] > 0
    scaled = (y - y.mean()) / y.std()
    assert act.check_regression_output(dense_model(activation=None, loss="mse"), scaled) == []


def test_targets_in_range_or_class_labels_are_not_regression_faults():
    sigmoid = dense_model(activation="sigmoid", loss="mse")
    assert act.check_regression_output(sigmoid, np.linspace(0, 1, 40)) == []
    assert act.check_regression_output(sigmoid, np.array([0, 1] * 20)) == []   # classes
    assert act.check_regression_output(
        dense_model(activation="sigmoid"), np.linspace(0, 5, 40)) == []      # BCE: labels'


def test_unscaled_regression_target_fires_on_dollars_not_on_scaled():
    model = dense_model(activation=None, loss="mse")
    price = np.linspace(100_000, 400_000, 40)
    found = act.check_regression_output(model, price)
    assert rule_ids(found) == {"activation.unscaled-regression-target"}
    assert found[0].evidence["scale"] > 1e5
    assert act.check_regression_output(model, price / 100_000) == []
    # Scale-free losses don't care.
    assert act.check_regression_output(dense_model(activation=None, loss="mape"), price) == []
    with pytest.raises(ValueError, match="max_scale"):
        act.check_regression_output(model, price, max_scale=0)


@pytest.mark.parametrize("activation, fires", [("softmax", True), ("sigmoid", False)])
def test_softmax_single_unit_is_found_inside_time_distributed(activation, fires):
    model = keras.Sequential([
        keras.Input((5, 3)), keras.layers.LSTM(4, return_sequences=True),
        keras.layers.TimeDistributed(keras.layers.Dense(1, activation=activation))])
    found = {f.rule for f in act.check_softmax_single_unit(model)}
    assert ("activation.softmax-single-unit" in found) == fires
