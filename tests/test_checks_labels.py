"""Every labels rule fires on its broken case and stays silent on the fixed twin."""

import keras
import numpy as np
import pandas as pd
import pytest

import helpers
from helpers.checks import labels as lab

from builders import dense_model, rule_ids


def scorer(n_features=3, units=1, activation="sigmoid", loss="binary_crossentropy"):
    """An untrained model whose predictions follow the features exactly.

    One unit: sigmoid(4 * x0). Several units: softmax(4 * x[:, :units]), so the predicted
    class is the argmax of the first ``units`` features.
    """
    model = keras.Sequential([keras.Input(shape=(n_features,)),
                              keras.layers.Dense(units, activation=activation)])
    weights = np.zeros((n_features, units), dtype="float32")
    weights[np.arange(units), np.arange(units)] = 4.0
    model.layers[-1].set_weights([weights, np.zeros(units, dtype="float32")])
    model.compile(loss=loss)
    return model


# --- label values ------------------------------------------------------------------------

@pytest.mark.parametrize("model", [
    dense_model(),                                                         # sigmoid + BCE
    dense_model(compile=False),                                            # sigmoid, no loss
    dense_model(activation=None, loss=keras.losses.BinaryCrossentropy(from_logits=True)),
])
def test_minus_one_labels_fire_and_fix_is_silent(model):
    y = np.array([-1, 1] * 10)
    found = lab.check_label_values(model, y)
    assert rule_ids(found) == {"labels.minus-one-labels"}
    assert found[0].evidence["share_minus_one"] == 0.5
    assert lab.check_label_values(model, (y == 1).astype(int)) == []


@pytest.mark.parametrize("activation, loss", [("tanh", "mse"), (None, "hinge"),
                                              (None, "mse")])
def test_minus_one_labels_are_fine_where_they_belong(activation, loss):
    model = dense_model(activation=activation, loss=loss)
    assert lab.check_label_values(model, np.array([-1, 1] * 10)) == []


@pytest.mark.parametrize("activation, loss, y", [
    ("sigmoid", "binary_crossentropy", np.linspace(0, 5, 20)),
    (None, keras.losses.BinaryCrossentropy(from_logits=True), np.linspace(-0.5, 0.5, 20)),
    ("sigmoid", "binary_crossentropy", np.array([0, 3] * 10)),
])
def test_outside_output_range_fires(activation, loss, y):
    found = lab.check_label_values(dense_model(activation=activation, loss=loss), y)
    assert rule_ids(found) == {"labels.outside-output-range"}
    assert found[0].evidence["min"] == pytest.approx(y.min())


@pytest.mark.parametrize("activation, loss, y", [
    ("sigmoid", "mse", np.linspace(0, 100, 20)),
    ("relu", "mse", np.linspace(-3, 3, 20)),
    ("tanh", "mae", np.linspace(-2, 2, 20)),
    ("sigmoid", "mse", np.arange(25, 65)),               # whole-number targets, many values
    ("sigmoid", None, np.linspace(-2, 2, 20)),           # uncompiled, non-integer targets
])
def test_regression_targets_belong_to_the_activation_rule(activation, loss, y):
    """Numbers to predict out of the output's reach are the activation's fault, reported
    once, by activation.bounded-regression-output."""
    from helpers.checks import activation as act

    model = dense_model(activation=activation, loss=loss or "mse", compile=loss is not None)
    assert lab.check_label_values(model, y) == []
    assert rule_ids(act.check_regression_output(model, y)) == {
        "activation.bounded-regression-output"}
    report = helpers.diagnose(model, y=y)
    assert "activation.bounded-regression-output" in report.rules
    assert "labels.outside-output-range" not in report.rules


@pytest.mark.parametrize("activation, loss, y", [
    ("sigmoid", "binary_crossentropy", np.linspace(0, 1, 20)),  # soft labels are legitimate
    (None, "mse", np.linspace(0, 100, 20)),
    ("tanh", "mae", np.linspace(-1, 1, 20)),
    ("relu", "mse", np.linspace(0, 3, 20)),
    ("sigmoid", "poisson", np.linspace(0, 9, 20)),  # a loss we don't judge
])
def test_outside_output_range_silent_on_fixed(activation, loss, y):
    assert lab.check_label_values(dense_model(activation=activation, loss=loss), y) == []


def test_outside_range_for_one_hot_targets():
    model = dense_model(units=3, activation="softmax", loss="categorical_crossentropy")
    y = np.eye(3)[[0, 1, 2, 0]] * 2
    assert "labels.outside-output-range" in rule_ids(lab.check_label_values(model, y))


@pytest.mark.parametrize("y, one_based", [(np.array([1, 2, 3] * 5), True),
                                          (np.array([0, 1, 2, 3] * 5), False),
                                          (np.array([-1, 0, 1, 2] * 5), False)])
def test_class_ids_out_of_range_fire(y, one_based):
    model = dense_model(units=3, activation="softmax", loss="sparse_categorical_crossentropy")
    found = lab.check_label_values(model, y)
    assert rule_ids(found) == {"labels.class-ids-out-of-range"}
    assert found[0].evidence["one_based"] is one_based
    assert ("subtract 1" in found[0].message) is one_based
    assert lab.check_label_values(model, np.array([0, 1, 2] * 5)) == []


def test_class_ids_out_of_range_uncompiled_softmax():
    model = dense_model(units=3, activation="softmax", compile=False)
    assert rule_ids(lab.check_label_values(model, np.array([0, 1, 2, 3]))) == {
        "labels.class-ids-out-of-range"}
    assert lab.check_label_values(model, np.array([0, 1, 2, 2])) == []


def test_three_classes_on_one_sigmoid_unit():
    found = lab.check_label_values(dense_model(), np.array([0, 1, 2] * 5))
    assert rule_ids(found) == {"labels.class-ids-out-of-range"}
    assert found[0].evidence["n_classes"] == 3


def test_one_hot_with_more_columns_than_units():
    model = dense_model(units=3, activation="softmax", loss="categorical_crossentropy")
    found = lab.check_label_values(model, np.eye(4)[[0, 1, 2, 3]])
    assert rule_ids(found) == {"labels.class-ids-out-of-range"}
    assert found[0].evidence == {"columns": 4, "units": 3}


def test_fractional_class_ids_fire_and_integers_are_silent():
    model = dense_model(units=3, activation="softmax", loss="sparse_categorical_crossentropy")
    found = lab.check_label_values(model, np.array([0.0, 0.5, 1.0] * 5))
    assert rule_ids(found) == {"labels.non-integer-class-ids"}
    assert found[0].evidence["n_classes_seen"] == 2
    assert lab.check_label_values(model, np.array([0.0, 1.0, 2.0] * 5)) == []
    standardized = lab.check_label_values(model, np.array([-1.2, 0.1, 1.4] * 5))
    assert rule_ids(standardized) == {"labels.non-integer-class-ids",
                                   "labels.class-ids-out-of-range"}


def test_one_hot_rows_fire_on_zero_and_soft_rows():
    model = dense_model(units=3, activation="softmax", loss="categorical_crossentropy")
    y = np.eye(3)[[0, 1, 2, 0, 1]]
    y[0] = 0
    found = lab.check_label_values(model, y)
    assert rule_ids(found) == {"labels.one-hot-rows"}
    assert found[0].evidence["share_zero"] == pytest.approx(0.2)
    soft = np.array([[0.2, 0.2, 0.2], [0.1, 0.8, 0.1]])
    assert rule_ids(lab.check_label_values(model, soft)) == {"labels.one-hot-rows"}
    assert lab.check_label_values(model, np.eye(3)[[0, 1, 2, 0, 1]]) == []
    assert lab.check_label_values(model, np.array([[0.1, 0.8, 0.1]] * 3)) == []


def test_multi_hot_rows_are_left_to_the_activation_chapter():
    model = dense_model(units=3, activation="softmax", loss="categorical_crossentropy")
    y = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 1]])
    assert lab.check_label_values(model, y) == []
    assert "activation.softmax-multilabel" in helpers.diagnose(model, y=y).rules


@pytest.mark.parametrize("units, activation, loss, y", [
    (3, "softmax", "categorical_crossentropy", np.array([0, 1, 2])),        # integer + CCE
    (3, "softmax", "sparse_categorical_crossentropy", np.eye(3)),           # one-hot + sparse
    (3, "softmax", "mse", np.array([0, 1, 2])),                             # regression loss
])
def test_loss_format_mismatches_are_left_to_the_loss_chapter(units, activation, loss, y):
    model = dense_model(units=units, activation=activation, loss=loss)
    assert lab.check_label_values(model, y) == []


def test_string_labels_are_skipped():
    assert lab.check_label_values(dense_model(), np.array(["yes", "no"])) == []


# --- inverted predictions and permuted classes ---------------------------------------------

def test_inverted_predictions_fire_and_fix_is_silent(rng):
    x = rng.standard_normal((200, 3))
    model = scorer()
    right = (x[:, 0] > 0).astype(int)
    found = lab.check_inverted_predictions(model, x, 1 - right)
    assert rule_ids(found) == {"labels.inverted-predictions"}
    ev = found[0].evidence
    assert ev["auc"] < 0.05 and ev["auc_upper"] < 0.5 and ev["auc_flipped"] > 0.95
    assert lab.check_inverted_predictions(model, x, right) == []


def test_inverted_predictions_silent_when_every_row_gets_one_class(rng):
    """Scores ranked backwards but all on one side of 0.5: a diverged or saturated model,
    not flipped labels (a model trained on flipped labels predicts both classes)."""
    from helpers.checks import fitting as fit

    x = rng.standard_normal((200, 3))
    model = scorer()
    kernel, _ = model.layers[-1].get_weights()
    model.layers[-1].set_weights([kernel, np.array([-20.0], "float32")])  # all below 0.5
    flipped = 1 - (x[:, 0] > 0).astype(int)
    assert lab.check_inverted_predictions(model, x, flipped) == []
    state = fit.learning_state(model, x, flipped)
    assert state.state == "not-learned" and "for every row" in state.message
    assert state.evidence["auc"] < 0.05              # the ranking itself is backwards
    # The twin that predicts both classes is what flipped labels give: reported.
    assert rule_ids(lab.check_inverted_predictions(scorer(), x, flipped)) == {
        "labels.inverted-predictions"}
    assert fit.learning_state(scorer(), x, flipped).state != "not-learned"


def test_inverted_predictions_two_unit_softmax_and_one_hot_labels(rng):
    x = rng.standard_normal((200, 3))
    model = scorer(units=2, activation="softmax", loss="categorical_crossentropy")
    right = (x[:, 1] > x[:, 0]).astype(int)
    assert rule_ids(lab.check_inverted_predictions(model, x, np.eye(2)[1 - right])) == {
        "labels.inverted-predictions"}
    assert lab.check_inverted_predictions(model, x, np.eye(2)[right]) == []


def test_inverted_predictions_quiet_on_noise_and_small_classes(rng):
    x = rng.standard_normal((300, 3))
    model = scorer()
    fired = sum(bool(lab.check_inverted_predictions(model, x, rng.integers(0, 2, 300)))
                for _ in range(50))
    assert fired == 0
    y = np.zeros(300, dtype=int)
    y[np.argsort(x[:, 0])[:5]] = 1  # perfectly inverted, but only 5 positives
    assert lab.check_inverted_predictions(model, x, y) == []
    assert lab.check_inverted_predictions(model, x, y, min_per_class=5) != []


def test_inverted_predictions_needs_a_clear_effect(rng):
    """A slight anti-correlation on many rows is significant, but not 'the opposite'."""
    x = rng.standard_normal((4000, 3))
    y = (x[:, 0] + rng.standard_normal(4000) * 6 < 0).astype(int)  # AUC about 0.45
    found = lab.check_inverted_predictions(scorer(), x, y)
    assert found == []


def test_permuted_classes_fire_and_fix_is_silent(rng):
    x = rng.standard_normal((300, 3))
    model = scorer(units=3, activation="softmax", loss="sparse_categorical_crossentropy")
    right = x.argmax(axis=1)
    found = lab.check_inverted_predictions(model, x, (right + 1) % 3)
    assert rule_ids(found) == {"labels.permuted-classes"}
    assert sorted(found[0].evidence["mapping"]) == [(0, 1), (1, 2), (2, 0)]
    assert found[0].evidence["accuracy"] == 0 and found[0].evidence["accuracy_renamed"] == 1
    assert lab.check_inverted_predictions(model, x, right) == []
    assert lab.check_inverted_predictions(model, x, rng.integers(0, 3, 300)) == []


# --- misaligned rows ----------------------------------------------------------------------

def test_misaligned_rows_fire_when_nothing_learns(rng):
    x = rng.standard_normal((300, 3))
    model = scorer(units=3, activation="softmax", loss="sparse_categorical_crossentropy")
    right = x.argmax(axis=1)
    shuffled = right[rng.permutation(300)]
    found = lab.check_label_alignment(model, x, shuffled)
    assert rule_ids(found) == {"labels.misaligned-rows"}
    assert "learned nothing" in found[0].message
    assert lab.check_label_alignment(model, x, right) == []


def test_misaligned_rows_fire_on_memorised_labels(rng):
    """A model that fits labels no simple model can predict: memorisation."""
    inputs = keras.Input((3,))
    wiggle = keras.ops.sigmoid(10 * keras.ops.sin(500 * inputs[:, :1]))
    model = keras.Model(inputs, wiggle)
    model.compile(loss="binary_crossentropy")
    x = rng.standard_normal((400, 3))
    y = (np.sin(500 * x[:, 0]) > 0).astype(int)
    found = lab.check_label_alignment(model, x, y)
    assert rule_ids(found) == {"labels.misaligned-rows"}
    assert "memorised" in found[0].message and found[0].evidence["model_accuracy"] > 0.95


# --- through diagnose ---------------------------------------------------------------------

def test_diagnose_reports_the_label_value_rules(monkeypatch):
    """Through diagnose, with only this chapter's checks registered: other chapters' checks
    may refuse -1/1 or fractional labels, which is exactly what these rules are about."""
    import sys

    from helpers.checks import CHECKS

    monkeypatch.setattr(sys.modules["helpers.diagnose"], "CHECKS", {
        k: v for k, v in CHECKS.items() if v.function.__module__.startswith(lab.__name__ + ".")})
    assert "labels.minus-one-labels" in helpers.diagnose(dense_model(), y=[-1, 1] * 5).rules
    assert "labels.outside-output-range" in helpers.diagnose(
        dense_model(), y=np.linspace(0, 3, 10)).rules
    sparse = dense_model(units=3, activation="softmax", loss="sparse_categorical_crossentropy")
    assert "labels.class-ids-out-of-range" in helpers.diagnose(sparse, y=[1, 2, 3]).rules
    assert "labels.non-integer-class-ids" in helpers.diagnose(sparse, y=[0, 0.5, 1]).rules
    cce = dense_model(units=3, activation="softmax", loss="categorical_crossentropy")
    assert "labels.one-hot-rows" in helpers.diagnose(cce, y=[[0, 0, 0], [0, 1, 0]]).rules
    assert not helpers.diagnose(dense_model(), y=[0, 1] * 5).rules


def test_diagnose_reports_the_prediction_rules(rng):
    x = rng.standard_normal((300, 3))
    binary = scorer()
    right = (x[:, 0] > 0).astype(int)
    assert "labels.inverted-predictions" in helpers.diagnose(binary, x, 1 - right).rules
    three = scorer(units=3, activation="softmax", loss="sparse_categorical_crossentropy")
    assert "labels.permuted-classes" in helpers.diagnose(three, x, (x.argmax(1) + 1) % 3).rules
    assert "labels.misaligned-rows" in helpers.diagnose(
        three, x, x.argmax(1)[rng.permutation(300)]).rules
    for model, y in [(binary, right), (three, x.argmax(1))]:
        report = helpers.diagnose(model, x, y)
        assert not {r for r in report.rules if r.startswith("labels.")}, report


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("bad, error, words", [
    (None, TypeError, "y must be array-like"),
    ([], ValueError, "y must have at least 1 row"),
    ([0.0, np.nan], ValueError, "y contains 1 NaN"),
    (np.zeros((2, 2, 2)), ValueError, "y must be 1-D or 2-D"),
    ("yes", TypeError, "y must be array-like"),
    (5, ValueError, "y must have at least one dimension"),
])
def test_bad_labels_name_the_argument(bad, error, words):
    with pytest.raises(error, match=words):
        lab.check_label_values(dense_model(), bad)


def test_bad_model_and_multi_output_model():
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        lab.check_label_values("model", [0, 1])
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        lab.check_inverted_predictions(None, np.zeros((4, 3)), [0, 1, 0, 1])
    inputs = keras.Input((3,))
    two = keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)])
    with pytest.raises(ValueError, match="model: this check handles single-output"):
        lab.check_label_values(two, [0, 1])


@pytest.mark.parametrize("check", [lab.check_inverted_predictions, lab.check_label_alignment])
def test_bad_x_names_the_argument(check):
    model = scorer()
    with pytest.raises(TypeError, match="x must be array-like"):
        check(model, None, [0, 1])
    with pytest.raises(ValueError, match="x has rows of shape"):
        check(model, np.zeros((4, 5)), [0, 1, 0, 1])
    with pytest.raises(TypeError, match="x must be numeric"):
        check(model, np.array([["a", "b", "c"]] * 4), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="x contains"):
        check(model, np.full((4, 3), np.nan), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="x has 4, y has 3"):
        check(model, np.zeros((4, 3)), [0, 1, 0])
    with pytest.raises(ValueError, match="y must have at least 1 row"):
        check(model, np.zeros((4, 3)), [])


def test_bad_options():
    x, y = np.zeros((4, 3)), [0, 1, 0, 1]
    with pytest.raises(ValueError, match=r"max_auc must be a number in \(0, 0.5\)"):
        lab.check_inverted_predictions(scorer(), x, y, max_auc=0.6)
    with pytest.raises(ValueError, match="z must be a positive number"):
        lab.check_inverted_predictions(scorer(), x, y, z=-1)
    with pytest.raises(ValueError, match="folds must be an integer"):
        lab.check_label_alignment(scorer(), x, y, folds=1)
    with pytest.raises(TypeError, match="max_rows must be an integer"):
        lab.check_label_alignment(scorer(), x, y, max_rows="many")


def test_inputs_are_not_modified(rng):
    x = rng.standard_normal((200, 3))
    y = pd.Series((x[:, 0] < 0).astype(int))
    x_before, y_before = x.copy(), y.copy()
    model = scorer()
    weights = [w.copy() for w in model.get_weights()]
    lab.check_inverted_predictions(model, x, y)
    lab.check_label_alignment(model, x, y)
    lab.check_label_values(model, y)
    helpers.diagnose(model, x, y)
    assert np.array_equal(x, x_before) and y.equals(y_before)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))


def test_large_inputs_are_subsampled(rng):
    x = rng.standard_normal((6000, 3))
    right = (x[:, 0] > 0).astype(int)
    found = lab.check_inverted_predictions(scorer(), x, 1 - right, max_rows=500)
    assert found[0].evidence["rows"] == 500


# --- tf.data evaluation order and class folders ---------------------------------------------

def _rows(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)).astype("float32"), rng.integers(0, 3, n)


def test_reshuffled_evaluation_dataset_fires_and_fixed_order_is_silent():
    import tensorflow as tf

    x, y = _rows()
    base = tf.data.Dataset.from_tensor_slices((x, y))
    found = lab.check_evaluation_order(base.shuffle(len(y), seed=1).batch(32))
    assert rule_ids(found) == {"labels.reshuffled-evaluation-data"}
    assert found[0].evidence["share_moved"] > 0.9
    assert found[0].evidence["label_agreement"] < 0.6  # three classes: about 1/3 by chance
    assert lab.check_evaluation_order(base.batch(32)) == []
    once = base.shuffle(len(y), seed=1, reshuffle_each_iteration=False).batch(32)
    assert lab.check_evaluation_order(once) == []
    assert lab.check_evaluation_order(x) == []  # arrays keep their order


def test_evaluation_order_reads_features_only_datasets_and_bounds_rows():
    import tensorflow as tf

    x, _ = _rows(500)
    found = lab.check_evaluation_order(
        tf.data.Dataset.from_tensor_slices(x).shuffle(500, seed=2).batch(50), max_rows=100)
    assert rule_ids(found) == {"labels.reshuffled-evaluation-data"}
    assert found[0].evidence["rows"] == 100 and found[0].evidence["label_agreement"] is None
    with pytest.raises(ValueError, match="max_rows"):
        lab.check_evaluation_order(x, max_rows=1)


class _Loaded:
    """What image_dataset_from_directory returns carries its class_names."""

    def __init__(self, class_names):
        self.class_names = class_names


def test_numbered_folders_sorted_as_text_fire_and_numeric_order_is_silent():
    as_text = sorted(str(k) for k in range(1, 11))  # '1', '10', '2', ...
    found = lab.check_class_names(_Loaded(as_text))
    assert rule_ids(found) == {"labels.class-names-sorted-as-text"}
    assert found[0].evidence["ids_out_of_place"] == 9
    assert lab.check_class_names(_Loaded([str(k) for k in range(1, 11)])) == []
    assert lab.check_class_names(["cat", "dog"]) == []
    assert lab.check_class_names(np.zeros((4, 2))) == []


def test_class_names_that_differ_between_train_and_test_fire():
    train = [str(k) for k in range(10)]
    test = [n for n in train if n != "3"]
    found = lab.check_class_names(_Loaded(train), _Loaded(test))
    assert rule_ids(found) == {"labels.class-names-differ"}
    assert found[0].evidence["missing"] == ["3"]
    assert found[0].evidence["ids_changed"] == list(range(3, 10))
    assert lab.check_class_names(_Loaded(train), _Loaded(list(train))) == []
    assert lab.check_class_names(train, train) == []


def test_class_indices_of_flow_from_directory_are_read():
    legacy = type("DirectoryIterator", (), {"class_indices": {"10": 1, "1": 0, "2": 2}})()
    assert rule_ids(lab.check_class_names(legacy)) == {"labels.class-names-sorted-as-text"}


def test_dataset_checks_do_not_change_what_they_read():
    import tensorflow as tf

    x, y = _rows(64)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    before = [b.numpy().tolist() for _, b in ds]
    lab.check_evaluation_order(ds)
    assert [b.numpy().tolist() for _, b in ds] == before


def test_class_names_ignore_dataframes_and_arrays():
    frame = pd.DataFrame({"class_names": ["1", "10", "2"], "x": [0.0, 1.0, 2.0]})
    assert lab.check_class_names(frame, frame) == []
    assert lab.check_class_names(np.array(["1", "10", "2"])) == []
