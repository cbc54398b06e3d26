"""Every loss rule fires on its broken case and stays silent on the fixed twin."""

import sys

import keras
import numpy as np
import pandas as pd
import pytest

import helpers
from helpers.checks import CHECKS
from helpers.checks import loss as lc

from builders import dense_model, rule_ids

IDS = np.array([0, 1, 2, 3, 1, 2, 0, 3])
ONE_HOT = np.eye(4)[IDS]
BINARY = np.array([0, 1, 1, 0, 1, 0, 0, 1])
X = np.zeros((8, 3))


def loss_rules(model, *args):
    """The loss rules ``helpers.diagnose`` reports, with only this chapter's checks
    registered: diagnose's plumbing (needs, compiled, single_output) is exercised, and other
    chapters' checks, which may refuse the broken label formats these tests use, are not."""
    mine = {name: spec for name, spec in CHECKS.items()
            if spec.function.__module__ == lc.__name__}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys.modules["helpers.diagnose"], "CHECKS", mine)
        return {r for r in helpers.diagnose(model, *args).rules if r.startswith("loss.")}


def multiclass(loss="categorical_crossentropy", activation="softmax", units=4, metrics=None):
    return dense_model(units=units, activation=activation, loss=loss, metrics=metrics)


# --- regression loss on classes -----------------------------------------------------------

@pytest.mark.parametrize("loss", ["mse", "mean_absolute_error", keras.losses.mean_squared_error,
                                  keras.losses.MeanSquaredError(), keras.losses.Huber()])
def test_regression_loss_on_binary_labels_fires_for_every_spelling(loss):
    found = lc.check_loss_matches_labels(dense_model(loss=loss), BINARY)
    assert rule_ids(found) == {"loss.regression-loss-on-classes"}
    assert found[0].evidence["target"] == "binary"
    assert loss_rules(dense_model(loss=loss), X, BINARY) == {"loss.regression-loss-on-classes"}


def test_regression_loss_fixed_twin_and_real_regression_are_silent():
    assert lc.check_loss_matches_labels(dense_model(loss="binary_crossentropy"), BINARY) == []
    regression = dense_model(activation=None, loss="mse")
    assert lc.check_loss_matches_labels(regression, np.linspace(-3, 5, 8)) == []
    # Integer targets on a linear output may be counts: not flagged ...
    assert lc.check_loss_matches_labels(regression, np.arange(8)) == []
    # ... but class ids on a softmax output are classes.
    found = lc.check_loss_matches_labels(multiclass(loss="mse"), IDS)
    assert rule_ids(found) == {"loss.regression-loss-on-classes"}


def test_regression_loss_on_one_hot_through_diagnose():
    assert loss_rules(multiclass(loss="mse"), X, ONE_HOT) == {"loss.regression-loss-on-classes"}
    assert loss_rules(multiclass(), X, ONE_HOT) == set()


# --- binary cross-entropy on multi-class --------------------------------------------------

@pytest.mark.parametrize("loss", ["binary_crossentropy", keras.losses.binary_crossentropy,
                                  keras.losses.BinaryCrossentropy(),
                                  keras.losses.BinaryFocalCrossentropy()])
def test_binary_crossentropy_on_softmax_fires(loss):
    found = lc.check_loss_matches_output(multiclass(loss=loss))
    assert rule_ids(found) == {"loss.binary-crossentropy-multiclass"}
    assert found[0].evidence["units"] == 4
    assert lc.check_loss_matches_output(multiclass()) == []


def test_binary_crossentropy_two_unit_softmax_and_multilabel_are_silent():
    """With two softmax units BCE equals CCE; sigmoid multi-label is BCE's proper use."""
    two = dense_model(units=2, activation="softmax", loss="binary_crossentropy")
    assert lc.check_loss_matches_output(two) == []
    assert lc.check_loss_matches_labels(two, np.eye(2)[BINARY]) == []
    multi = dense_model(units=3, activation="sigmoid", loss="binary_crossentropy")
    y = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 0, 1]])
    assert loss_rules(multi, X[:4], y) == set()


def test_many_class_ids_on_one_unit_is_left_to_the_labels_chapter():
    found = lc.check_loss_matches_labels(dense_model(), IDS)
    assert found == []
    from helpers.checks import labels
    found = rule_ids(labels.check_label_values(dense_model(), IDS))
    assert "labels.class-ids-out-of-range" in found


def test_binary_crossentropy_softmax_through_diagnose():
    found = loss_rules(multiclass(loss="binary_crossentropy"), X, ONE_HOT)
    assert found == {"loss.binary-crossentropy-multiclass"}
    assert loss_rules(multiclass(), X, ONE_HOT) == set()


# --- label format: one-hot vs class ids ---------------------------------------------------

@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
@pytest.mark.parametrize("y", [BINARY, BINARY[:, None], list(BINARY), pd.Series(BINARY)],
                         ids=["1-D", "column", "list", "Series"])
def test_binary_crossentropy_two_units_with_one_label_per_row_fires(activation, y):
    """Keras 3 refuses fit on every one of these (a rank or a shape error)."""
    two = dense_model(units=2, activation=activation, loss="binary_crossentropy")
    found = lc.check_loss_matches_labels(two, y)
    assert rule_ids(found) == {"loss.binary-crossentropy-two-units-ids"}
    assert found[0].evidence["units"] == 2


def test_binary_crossentropy_two_units_fixed_twins_are_silent():
    two = dense_model(units=2, activation="softmax", loss="binary_crossentropy")
    assert lc.check_loss_matches_labels(two, np.eye(2)[BINARY]) == []       # one-hot labels
    sparse = dense_model(units=2, activation="softmax", loss="sparse_categorical_crossentropy")
    assert lc.check_loss_matches_labels(sparse, BINARY) == []
    assert lc.check_loss_matches_labels(dense_model(), BINARY) == []         # one sigmoid unit
    assert loss_rules(two, X, BINARY) == {"loss.binary-crossentropy-two-units-ids"}
    assert loss_rules(sparse, X, BINARY) == set()


@pytest.mark.parametrize("loss", ["categorical_crossentropy", keras.losses.categorical_crossentropy,
                                  keras.losses.CategoricalCrossentropy(from_logits=False)])
@pytest.mark.parametrize("y", [IDS, IDS[:, None], list(IDS), pd.Series(IDS)])
def test_categorical_with_class_ids_fires(loss, y):
    found = lc.check_loss_matches_labels(multiclass(loss=loss), y)
    assert rule_ids(found) == {"loss.categorical-with-class-ids"}
    assert found[0].evidence["units"] == 4


def test_categorical_with_class_ids_fixed_twins():
    assert lc.check_loss_matches_labels(multiclass(), ONE_HOT) == []
    assert lc.check_loss_matches_labels(multiclass("sparse_categorical_crossentropy"), IDS) == []
    assert loss_rules(multiclass(), X, IDS) == {"loss.categorical-with-class-ids"}
    assert loss_rules(multiclass(), X, ONE_HOT) == set()


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy",
                                  keras.losses.sparse_categorical_crossentropy,
                                  keras.losses.SparseCategoricalCrossentropy()])
def test_sparse_with_one_hot_fires(loss):
    found = lc.check_loss_matches_labels(multiclass(loss=loss), ONE_HOT)
    assert rule_ids(found) == {"loss.sparse-with-one-hot"}
    assert found[0].evidence["y_shape"] == (8, 4)
    assert lc.check_loss_matches_labels(multiclass(loss=loss), IDS) == []
    assert loss_rules(multiclass(loss=loss), X, ONE_HOT) == {"loss.sparse-with-one-hot"}
    assert loss_rules(multiclass(loss=loss), X, IDS) == set()


# --- from_logits=True after softmax / sigmoid -----------------------------------------------

@pytest.mark.parametrize("activation, units, loss", [
    ("softmax", 4, keras.losses.CategoricalCrossentropy(from_logits=True)),
    ("softmax", 4, keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
    ("sigmoid", 1, keras.losses.BinaryCrossentropy(from_logits=True)),
])
def test_from_logits_after_squashing_fires_and_fix_is_silent(activation, units, loss):
    broken = dense_model(units=units, activation=activation, loss=loss)
    found = lc.check_loss_matches_output(broken)
    assert rule_ids(found) == {"loss.from-logits-after-squashing"}
    assert found[0].evidence["activation"] == activation
    assert "loss.from-logits-after-squashing" in helpers.diagnose(broken).rules
    fixed = dense_model(units=units, activation=None, loss=loss)
    assert lc.check_loss_matches_output(fixed) == []
    assert "loss.from-logits-after-squashing" not in helpers.diagnose(fixed).rules


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus"])
def test_from_logits_on_bounded_output_fires_and_linear_is_silent(activation):
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    found = lc.check_loss_matches_output(multiclass(loss=loss, activation=activation))
    assert rule_ids(found) == {"loss.from-logits-bounded-output"}
    assert found[0].evidence["activation"] == activation
    assert loss_rules(multiclass(loss=loss, activation=activation)) == {
        "loss.from-logits-bounded-output"}
    assert lc.check_loss_matches_output(multiclass(loss=loss, activation=None)) == []
    # Without from_logits a relu output is the activation chapter's unbounded-output.
    assert lc.check_loss_matches_output(multiclass(activation=activation)) == []


def test_from_logits_after_separate_softmax_layer():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
                              keras.layers.Softmax()])
    model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    assert rule_ids(lc.check_loss_matches_output(model)) == {"loss.from-logits-after-squashing"}


def test_from_logits_false_after_linear_is_the_activation_rule():
    """Not duplicated here: activation.unbounded-output owns it."""
    model = multiclass(activation=None)
    assert lc.check_loss_matches_output(model) == []
    assert "activation.unbounded-output" in helpers.diagnose(model).rules


def test_multi_output_models():
    inputs = keras.Input((3,))
    h = keras.layers.Dense(4, activation="relu")(inputs)
    good = keras.layers.Dense(1, activation="sigmoid", name="good")(h)
    bad = keras.layers.Dense(3, activation="softmax", name="bad")(h)
    model = keras.Model(inputs, [good, bad])
    model.compile(loss={"good": "binary_crossentropy", "bad": "binary_crossentropy"})
    found = lc.check_loss_matches_output(model)
    assert [f.evidence["output"] for f in found] == ["bad"]
    with pytest.raises(ValueError, match="single-output"):
        lc.check_loss_matches_labels(model, BINARY)


# --- binary accuracy on multi-class -------------------------------------------------------

@pytest.mark.parametrize("metric", ["binary_accuracy", keras.metrics.BinaryAccuracy(),
                                    keras.metrics.binary_accuracy])
@pytest.mark.parametrize("trained", [False, True])
def test_binary_accuracy_fires_however_given(metric, trained):
    model = multiclass(metrics=[metric])
    if trained:  # after a first call Keras has resolved the metric objects
        model.fit(X, ONE_HOT, epochs=1, verbose=0)
    found = lc.check_loss_matches_labels(model, ONE_HOT)
    assert rule_ids(found) == {"loss.binary-accuracy-multiclass"}
    assert found[0].evidence["floor"] == pytest.approx(0.75)


@pytest.mark.parametrize("trained", [False, True])
def test_accuracy_string_resolves_to_categorical_and_is_silent(trained):
    model = multiclass(loss="binary_crossentropy", metrics=["accuracy"])
    if trained:
        model.fit(X, ONE_HOT, epochs=1, verbose=0)
    assert lc.binary_accuracy_metrics(model) == []
    fixed = multiclass(metrics=["categorical_accuracy"])
    assert lc.check_loss_matches_labels(fixed, ONE_HOT) == []


def test_binary_accuracy_silent_on_binary_and_two_class_targets():
    model = dense_model(metrics=["binary_accuracy", "accuracy"])
    assert lc.binary_accuracy_metrics(model) == ["binary_accuracy", "accuracy"]
    assert lc.check_loss_matches_labels(model, BINARY) == []
    two = dense_model(units=2, activation="softmax", loss="categorical_crossentropy",
                      metrics=["binary_accuracy"])
    assert lc.check_loss_matches_labels(two, np.eye(2)[BINARY]) == []


@pytest.mark.filterwarnings("ignore:Skipping variable loading")  # untrained optimizer
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # Keras saving
def test_binary_accuracy_after_save_and_load(tmp_path):
    model = multiclass(metrics=["binary_accuracy"])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    found = lc.check_loss_matches_labels(loaded, ONE_HOT)
    assert rule_ids(found) == {"loss.binary-accuracy-multiclass"}
    found = lc.check_loss_matches_labels(loaded, IDS)
    assert "loss.binary-accuracy-multiclass" in rule_ids(found)


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [lc.check_loss_matches_output,
                                lambda m: lc.check_loss_matches_labels(m, BINARY)])
@pytest.mark.parametrize("not_a_model", [None, "model.keras", np.zeros(3), {"loss": "mse"}])
def test_not_a_model(fn, not_a_model):
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        fn(not_a_model)


@pytest.mark.parametrize("fn", [lc.check_loss_matches_output,
                                lambda m: lc.check_loss_matches_labels(m, BINARY)])
def test_uncompiled_model(fn):
    with pytest.raises(ValueError, match="model is not compiled"):
        fn(dense_model(compile=False))


def test_unbuilt_model():
    model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy")
    with pytest.raises(ValueError, match="model has no defined outputs"):
        lc.check_loss_matches_output(model)


@pytest.mark.parametrize("y, error, word", [
    (None, TypeError, "y must be array-like"),
    ("0,1,1", TypeError, "y must be array-like"),
    ({"y": [0, 1]}, TypeError, "y must be array-like"),
    ([], ValueError, "y must have at least 1 row"),
    (np.array([0.0, np.nan]), ValueError, "y contains 1 NaN"),
    (np.zeros((2, 2, 2)), ValueError, "y must be 1-D or 2-D"),
    ([[0, 1], [1]], ValueError, "y could not be read"),
])
def test_labels_bad_input(y, error, word):
    with pytest.raises(error, match=word):
        lc.check_loss_matches_labels(dense_model(), y)


def test_mismatched_lengths_through_diagnose():
    with pytest.raises(ValueError, match="same number of rows"):
        helpers.diagnose(dense_model(loss="mse"), np.zeros((5, 3)), BINARY)


def test_string_labels_are_not_judged():
    assert lc.check_loss_matches_labels(dense_model(loss="mse"), ["cat", "dog", "cat"]) == []


def test_checks_do_not_modify_inputs():
    y = pd.Series(IDS)
    y_copy = y.copy()
    one_hot = ONE_HOT.copy()
    model = multiclass(loss="binary_crossentropy", metrics=["binary_accuracy"])
    weights = [w.copy() for w in model.get_weights()]
    lc.check_loss_matches_labels(model, y)
    lc.check_loss_matches_labels(model, one_hot)
    lc.check_loss_matches_output(model)
    assert y.equals(y_copy) and np.array_equal(one_hot, ONE_HOT)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert model.get_compile_config()["metrics"] == ["binary_accuracy"]
