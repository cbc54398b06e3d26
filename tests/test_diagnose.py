import time

import keras
import numpy as np
import pandas as pd
import pytest

import helpers

from builders import dense_model, two_output_model


def test_diagnose_runs_what_inputs_allow():
    model = dense_model(activation="softmax")
    report = helpers.diagnose(model)
    assert "activation.softmax-single-unit" in report.rules
    assert report.checks_skipped["check_output_matches_labels"] == "needs y"
    full = helpers.diagnose(model, np.zeros((4, 3)), [0, 1, 0, 1])
    for name in ("check_output_matches_labels", "check_predicted_probabilities"):
        assert name in full.checks_run


def test_uncompiled_model_skips_loss_checks_but_runs_the_rest():
    report = helpers.diagnose(dense_model(activation="softmax", compile=False),
                              np.zeros((4, 3)), [0, 1, 0, 1])
    assert "activation.softmax-single-unit" in report.rules
    assert "not compiled" in report.checks_skipped["check_output_matches_loss"]


def test_accepts_lists_dataframes_and_series():
    model = dense_model(units=3, activation="softmax", loss="categorical_crossentropy")
    x = pd.DataFrame(np.zeros((4, 3)), columns=list("abc"))
    y = pd.DataFrame([[1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 0, 1]])
    assert "activation.softmax-multilabel" in helpers.diagnose(model, x, y).rules
    assert "activation.softmax-multilabel" in helpers.diagnose(
        model, x.values.tolist(), y.values.tolist()).rules


def test_functional_multi_input_model():
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    h = keras.layers.Concatenate()([a, b])
    model = keras.Model([a, b], keras.layers.Dense(1)(h))
    model.compile(loss="binary_crossentropy")
    x = [np.zeros((5, 2)), np.ones((5, 3))]
    report = helpers.diagnose(model, x, np.array([0, 1, 0, 1, 1]))
    assert {"activation.unbounded-output", "activation.not-probabilities"} <= report.rules
    report = helpers.diagnose(model, {"a": x[0], "b": x[1]}, np.array([0, 1, 0, 1, 1]))
    assert "activation.not-probabilities" in report.rules


def test_conv_model_on_images():
    model = keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
        keras.layers.Flatten(), keras.layers.Dense(1, activation="softmax")])
    model.compile(loss="binary_crossentropy")
    report = helpers.diagnose(model, np.zeros((3, 8, 8, 1)), [0, 1, 1])
    assert "activation.softmax-single-unit" in report.rules


def test_history_accepted_as_object_or_dict():
    model = dense_model()
    x, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    history = model.fit(x, y, epochs=1, verbose=0)
    helpers.diagnose(model, x, y, history=history)
    helpers.diagnose(model, x, y, history=history.history)


@pytest.mark.parametrize("kwargs, error, word", [
    ({"model": None}, TypeError, "model must be a keras.Model"),
    ({"model": "model.keras"}, TypeError, "model must be a keras.Model"),
    ({"x": np.zeros((4, 3)), "y": [0, 1]}, ValueError, "x has 4, y has 2"),
    ({"x": np.zeros((4, 2))}, ValueError, "x has rows of shape"),
    ({"x": "data.csv"}, TypeError, "x must be array-like"),
    ({"x": np.zeros((0, 3))}, ValueError, "x must have at least 1 row"),
    ({"y": [0, None, 1]}, ValueError, "y contains missing values"),
    ({"x_serve": np.zeros((2, 4))}, ValueError, "x_serve has rows of shape"),
    ({"history": [0.1, 0.2]}, TypeError, "history must be"),
    ({"history": {}}, ValueError, "history is empty"),
    ({"history": {"loss": 0.5}}, TypeError, r"history\['loss'\]"),
])
def test_bad_input_names_the_argument(kwargs, error, word):
    kwargs.setdefault("model", dense_model())
    with pytest.raises(error, match=word):
        helpers.diagnose(**kwargs)


def test_nan_in_data_is_a_finding_not_a_usage_error():
    x = np.zeros((4, 3))
    x[0, 0] = np.nan
    report = helpers.diagnose(dense_model(), x, [0, 1, 0, 1])
    assert "NaN" in report.checks_skipped["check_predicted_probabilities"]


def test_a_check_that_cannot_use_the_inputs_is_skipped_with_its_reason(monkeypatch):
    from helpers.checks import CHECKS, CheckSpec

    def check_always_confused(model, y):
        raise ValueError("y must be something else")

    spec = CheckSpec("check_always_confused", check_always_confused, (), ("model", "y"), ())
    monkeypatch.setitem(CHECKS, "check_always_confused", spec)
    report = helpers.diagnose(dense_model(activation="softmax"), y=[0, 1])
    assert "activation.softmax-single-unit" in report.rules
    assert report.checks_skipped["check_always_confused"] == (
        "could not use these inputs: y must be something else")


def test_diagnose_on_100k_rows_takes_under_5_seconds():
    """The issue's budget: 100,000 x 50 rows, a 3-layer MLP, no training (see benchmarks/)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100_000, 50)).astype("float32")
    y = (x[:, :5].sum(axis=1) > 0).astype("int64")
    model = keras.Sequential([keras.Input(shape=(50,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    start = time.perf_counter()
    report = helpers.diagnose(model, x, y, x_serve=x[::-1])
    assert time.perf_counter() - start < 5
    assert len(report.checks_run) >= 15


def test_serving_frame_with_a_missing_dummy_column_is_a_finding_not_an_error():
    """get_dummies on a serving batch that lacks a category gives one column fewer: the
    model can't take it, and the report says which column is missing."""
    train = pd.get_dummies(pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0],
                                         "colour": ["red", "blue", "green", "red"]}),
                           dtype=float)
    serve = pd.get_dummies(pd.DataFrame({"size": [2.0, 5.0], "colour": ["red", "blue"]}),
                           dtype=float)
    model = dense_model(n_features=train.shape[1])
    report = helpers.diagnose(model, train, [0, 1, 0, 1], x_serve=serve)
    finding = next(f for f in report if f.rule == "preprocessing.column-mismatch")
    assert finding.evidence["missing"] == ["colour_green"]
    assert "check_column_mismatch" in report.checks_run
    assert report.checks_skipped["check_serving_skew"].startswith("x_serve does not fit")
    with pytest.raises(ValueError, match="x_serve"):  # no names to explain it: still an error
        helpers.diagnose(model, train.to_numpy(), [0, 1, 0, 1], x_serve=serve.to_numpy())


# --- never clean when nothing was checked; data that is itself the fault ----------------------

def test_nan_in_x_is_an_error_finding_and_the_report_says_what_it_could_not_check():
    x = np.random.default_rng(0).normal(size=(20, 3))
    x[[2, 5], 1] = np.nan
    report = helpers.diagnose(dense_model(), x, np.arange(20) % 2)
    finding = next(f for f in report if f.rule == "preprocessing.non-finite-inputs")
    assert finding.severity == "error" and finding.evidence["nan"] == 2
    assert finding.evidence["rows"] == 2 and "feature(s) 1" in finding.message
    assert not report.ok and "check_predicted_probabilities" in report.could_not_check
    assert str(report).startswith("INCOMPLETE")


def test_nan_in_a_dataframe_names_the_column():
    x = pd.DataFrame(np.zeros((6, 3)), columns=["age", "income", "height"])
    x.loc[1, "income"] = np.inf
    finding = next(f for f in helpers.diagnose(dense_model(), x)
                   if f.rule == "preprocessing.non-finite-inputs")
    assert "'income' (1)" in finding.message and finding.evidence["inf"] == 1


def test_string_labels_and_a_single_class_are_findings():
    x = np.random.default_rng(0).normal(size=(20, 3))
    strings = helpers.diagnose(dense_model(), x, np.where(np.arange(20) % 2, "yes", "no"))
    assert "labels.string-labels" in strings.rules and not strings.ok
    assert strings.could_not_check  # the outcome checks can't read names
    single = helpers.diagnose(dense_model(), x, np.ones(20, int))
    assert "labels.single-class" in single.rules and not single.ok


def test_single_class_is_not_reported_for_a_regression_target():
    model = dense_model(activation=None, loss="mse")
    report = helpers.diagnose(model, np.zeros((10, 3)), np.ones(10))
    assert "labels.single-class" not in report.rules


def test_regression_targets_skip_the_threshold_checks_quietly():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    # A linear model set to the answer by hand (so it counts as one that learned, and the
    # outcome checks are not withheld as they are for an untrained model).
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.set_weights([np.array([[1.0], [2.0], [3.0]]), np.array([0.1])])
    report = helpers.diagnose(model, x, x @ [1.0, 2.0, 3.0] + 0.1)
    assert report.checks_skipped["check_against_majority"].startswith("does not apply")
    assert not report.could_not_check


# --- accept what Keras accepts (each measured against model.fit/predict in Keras 3.15) ----

def _one_feature_model():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="softmax")])
    model.compile(loss="binary_crossentropy")
    return model


@pytest.mark.parametrize("make_x", [
    lambda x: x, lambda x: x.tolist(), lambda x: pd.Series(x, name="hours")])
def test_one_dimensional_x_for_a_one_feature_input(make_x):
    x = np.linspace(0, 10, 30)
    report = helpers.diagnose(_one_feature_model(), make_x(x), (x > 5).astype(int))
    assert "activation.softmax-single-unit" in report.rules
    assert "check_predicted_probabilities" in report.checks_run
    assert "check_unscaled_inputs" in report.checks_run


def test_dict_keyed_by_input_names_in_any_order_and_with_extra_keys():
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    h = keras.layers.Concatenate()([a, b])
    model = keras.Model([a, b], keras.layers.Dense(1)(h))
    model.compile(loss="binary_crossentropy")
    x = {"b": np.ones((5, 3)), "row_id": np.arange(5), "a": np.zeros((5, 2))}
    report = helpers.diagnose(model, x, np.array([0, 1, 0, 1, 1]))
    assert "activation.not-probabilities" in report.rules
    with pytest.raises(ValueError, match=r"inputs are named \['a', 'b'\]"):
        helpers.diagnose(model, {"A": x["a"], "B": x["b"]})


def test_multi_output_targets_as_a_list_or_a_dict():
    model = two_output_model()
    x, rng = np.zeros((8, 3)), np.random.default_rng(0)
    for y in ([np.arange(8) % 2, rng.normal(size=(8, 2))],
              {"first": np.arange(8) % 2, "second": rng.normal(size=(8, 2))}):
        report = helpers.diagnose(model, x, y)
        assert not report.could_not_check, report


def test_sequence_targets_run_what_applies_and_skip_the_rest_with_the_reason():
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.LSTM(4, return_sequences=True),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    y = keras.utils.to_categorical(rng.integers(0, 3, (12, 5)), 3)       # (12, 5, 3)
    report = helpers.diagnose(model, rng.normal(size=(12, 5, 2)), y)
    assert "check_predicted_probabilities" in report.checks_run
    assert not report.errors  # softmax rows per time step sum to 1
    assert "3-D" in report.checks_skipped["check_label_values"]
    assert not report.could_not_check


def test_tf_data_and_py_dataset_are_read_not_used_up():
    import tensorflow as tf

    x = np.random.default_rng(0).normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(int)
    model = dense_model(activation="softmax")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    report = helpers.diagnose(model, ds, x_serve=ds)
    assert "activation.softmax-single-unit" in report.rules
    assert "check_label_values" in report.checks_run and "check_serving_skew" in report.checks_run
    assert sum(len(b[0]) for b in ds) == 40  # still whole

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return x[8 * i:8 * i + 8], y[8 * i:8 * i + 8]

    assert "check_label_values" in helpers.diagnose(model, Batches()).checks_run


def test_an_endless_dataset_is_read_up_to_a_bound():
    import tensorflow as tf

    from helpers import _validate

    ds = tf.data.Dataset.from_tensor_slices(np.zeros((64, 3))).batch(32).repeat()
    x, y = _validate.read_dataset(ds, "x", max_rows=100)
    assert x.shape == (128, 3) and y is None


def test_sparse_matrices_are_densified_and_large_ones_sampled_with_their_labels(monkeypatch):
    import scipy.sparse

    from helpers import _validate

    x = scipy.sparse.random(1000, 3, density=0.5, format="csr", random_state=0)
    y = np.arange(1000) % 2
    model = dense_model(activation="softmax")
    assert "activation.softmax-single-unit" in helpers.diagnose(model, x, y).rules
    monkeypatch.setattr(_validate, "MAX_DENSE_VALUES", 300)  # 100 rows of 3 columns
    dense, y_sample, _, rows = _validate.model_data(model, x, y)
    assert dense.shape == (100, 3) and rows == {"x": 100, "y": 100}
    assert np.array_equal(dense, x.toarray()[np.linspace(0, 999, 100).astype(int)])
    assert np.array_equal(y_sample, y[np.linspace(0, 999, 100).astype(int)])


def test_generators_are_refused_with_what_to_pass_instead_and_left_unread():
    batches = (np.zeros((4, 3)) for _ in range(3))
    with pytest.raises(TypeError, match="x is a generator.*Pass arrays instead"):
        helpers.diagnose(dense_model(), batches)
    assert len(list(batches)) == 3


def test_history_is_validated_in_one_place():
    from helpers import _validate
    from helpers.checks import fitting

    assert fitting.as_history is _validate.as_history
    with pytest.raises(TypeError, match=r"history\['loss'\].*item 1 is str"):
        helpers.diagnose(dense_model(), history={"loss": [0.5, "n/a"]})


def _keras_takes(model, x) -> bool:
    try:
        model.predict(x, verbose=0)
    except ValueError:
        return False
    return True


@pytest.mark.filterwarnings("ignore:The structure of `inputs`")
def test_diagnose_takes_inputs_exactly_when_keras_predict_does():
    """The forms of issue 14, each run through model.predict (Keras 3.15) and diagnose."""
    import scipy.sparse
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3))

    def one():
        return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="sigmoid")])

    def two():
        a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
        return keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))

    three = dense_model
    forms = [
        (one, x[:, 0]), (three, x[:, 0]), (three, scipy.sparse.csr_matrix(x)),
        (three, tf.data.Dataset.from_tensor_slices(x).batch(4)),
        (three, tf.data.Dataset.from_tensor_slices(x)),                  # not batched
        (two, {"b": x, "a": x[:, :2], "extra": x}), (two, {"A": x[:, :2], "B": x}),
        (two, [x[:, :2], x]),
    ]
    # A new model for each call: on JAX, a predict that refuses its input leaves a model
    # that was never called unusable (Keras 3.15), so Keras's answer can't share one.
    for build, data in forms:
        try:
            helpers.diagnose(build(), data)
            ours = True
        except ValueError:
            ours = False
        assert ours == _keras_takes(build(), data), (build.__name__,
                                                     helpers._validate.describe(data))
    two = two()
    assert _keras_takes(two, [x[:, :2], x])     # once in the right order, as a reader would
    # One deliberate difference: Keras runs a list of inputs in the wrong order when the
    # layers after them don't mind (here a Concatenate), feeding each input the other's
    # columns; diagnose refuses it and names the input.
    assert _keras_takes(two, [x, x[:, :2]])
    with pytest.raises(ValueError, match=r"x\[0\] has rows of shape \(3,\)"):
        helpers.diagnose(two, [x, x[:, :2]])
# --- did the model learn, and causes before consequences -----------------------------------

OUTCOME_RULES = {"labels.inverted-predictions", "labels.permuted-classes",
                 "thresholds.collapsed-predictions", "thresholds.no-better-than-majority",
                 "thresholds.threshold-far-from-f1-optimal", "thresholds.poorly-calibrated"}


@pytest.mark.parametrize("seed", range(4))
def test_untrained_model_gets_static_checks_and_a_note_but_no_outcome_causes(seed):
    helpers.seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((300, 3)) * [1, 1, 1]
    y = (x[:, 0] > 0).astype(int)
    report = helpers.diagnose(dense_model(activation="softmax"), x, y)
    assert "activation.softmax-single-unit" in report.rules          # static checks ran
    assert not OUTCOME_RULES & report.rules
    assert "fitting.untrained" in report.rules and report[0].rule == "fitting.untrained"
    assert "waits for training" in report.checks_skipped["check_inverted_predictions"]
    # Untrained, with no data: nothing was withheld, so no note.
    assert "fitting.untrained" not in helpers.diagnose(dense_model()).rules


def test_not_learned_leads_and_names_what_explains_it():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    y = (x[:, 0] > 0).astype(int)
    model = dense_model(hidden=16)
    model.compile(optimizer=keras.optimizers.SGD(1e-7), loss="binary_crossentropy")
    history = model.fit(x, y, epochs=3, batch_size=50, verbose=0)
    report = helpers.diagnose(model, x, y, history=history)
    assert report[0].rule == "fitting.not-learned"
    assert "fitting.learning-rate" in report[0].message
    assert report[0].evidence["explained_by"] == ["fitting.learning-rate"]
    assert not OUTCOME_RULES & report.rules
    assert "not learned" in report.checks_skipped["check_against_majority"]


def test_a_model_that_learned_still_gets_label_causes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    y = (x[:, 0] > 0).astype(int)
    model = dense_model(hidden=8)
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="binary_crossentropy")
    model.fit(x, y, epochs=10, batch_size=30, verbose=0)
    report = helpers.diagnose(model, x, 1 - y)
    assert "labels.inverted-predictions" in report.rules
    assert "fitting.not-learned" not in report.rules


def test_consequence_follows_its_cause():
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((8,)),
                              keras.layers.Dense(32, activation="relu", name="hidden"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.get_layer("hidden").bias.assign(np.full(32, -100.0))
    model.compile(optimizer=keras.optimizers.Adam(1.0), loss="binary_crossentropy")
    report = helpers.diagnose(model, rng.standard_normal((100, 8)))
    rules = [f.rule for f in report]
    assert rules.index("fitting.learning-rate") + 1 == rules.index("fitting.dead-relu")
    dead = report[rules.index("fitting.dead-relu")]
    assert dead.follows_from == ("fitting.learning-rate",)
