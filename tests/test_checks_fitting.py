"""Every fitting rule fires on its broken case and stays silent on the fixed twin."""

import copy

import keras
import numpy as np
import pytest

import helpers
from helpers.checks import fitting as fit

from builders import dense_model, rule_ids


def curve(start, end, n, noise=0.0, seed=0):
    """A smoothly decaying loss curve from ``start`` to ``end``."""
    t = np.linspace(0, 1, n)
    values = end + (start - end) * np.exp(-4 * t)
    return (values * (1 + noise * np.random.default_rng(seed).standard_normal(n))).tolist()


def healthy(n=30):
    """Converged: both losses flatten out, validation a little above training."""
    return {"loss": curve(0.7, 0.30, n), "val_loss": curve(0.7, 0.33, n),
            "accuracy": curve(0.5, 0.88, n), "val_accuracy": curve(0.5, 0.86, n)}


def overfit(n=40, best=10):
    train = curve(0.7, 0.05, n)
    val = [0.7 - 0.03 * i for i in range(best)] + [0.43 + 0.02 * i for i in range(n - best)]
    return {"loss": train, "val_loss": val}


def y_balanced(n=200):
    return np.array([0, 1] * (n // 2))


# --- history input ----------------------------------------------------------------------------

class FakeHistory:
    def __init__(self, history, epochs=None):
        self.history = history
        self.params = {"epochs": epochs or len(history["loss"]), "verbose": 0}


def test_as_history_accepts_history_objects_and_dicts():
    h = fit.as_history(FakeHistory(healthy()))
    assert set(h) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert fit.as_history({"loss": np.array([1.0, 0.5])})["loss"].tolist() == [1.0, 0.5]


@pytest.mark.parametrize("bad, error, words", [
    (None, TypeError, "history must be a keras History"),
    ("loss", TypeError, "history must be a keras History"),
    ([0.5, 0.4], TypeError, "history must be a keras History"),
    ({}, ValueError, "history is empty"),
    ({"loss": []}, ValueError, "history is empty"),
    ({"loss": "0.5"}, TypeError, "history['loss']"),
    ({"loss": 0.5}, TypeError, "history['loss']"),
    ({"loss": ["a", "b"]}, TypeError, "history['loss']"),
    ({"loss": [1.0, 0.5], "val_loss": [1.0]}, ValueError, "different numbers of epochs"),
    ({"accuracy": [0.5, 0.6]}, ValueError, "no 'loss'"),
])
@pytest.mark.parametrize("function", [fit.check_learning_curves, fit.check_training_stability,
                                      fit.check_underfitting])
def test_history_checks_reject_bad_history(function, bad, error, words):
    with pytest.raises(error, match="history"):
        function(bad)
    with pytest.raises(error) as info:
        function(bad)
    assert words in str(info.value)


def test_history_checks_do_not_modify_input():
    h = overfit()
    h["loss"][3] = float("nan")
    before = copy.deepcopy(h)
    fit.check_learning_curves(h)
    fit.check_training_stability(h)
    fit.check_underfitting(h, y_balanced())
    assert h.keys() == before.keys()
    assert all(np.array_equal(h[k], before[k], equal_nan=True) for k in h)


def test_history_checks_silent_on_healthy_curves():
    for n in (10, 30, 100):
        h = healthy(n)
        assert fit.check_learning_curves(h) == []
        assert fit.check_training_stability(h) == []
        assert fit.check_underfitting(h, y_balanced()) == []


def test_history_checks_silent_on_noisy_converged_curves():
    """Epoch-to-epoch noise of a few percent is normal and must not raise alarms."""
    for seed in range(20):
        h = {"loss": curve(0.7, 0.3, 50, noise=0.02, seed=seed),
             "val_loss": curve(0.7, 0.33, 50, noise=0.03, seed=seed + 100)}
        assert fit.check_training_stability(h) == [], seed
        assert "fitting.overfitting" not in rule_ids(fit.check_learning_curves(h)), seed


def test_short_histories_are_not_judged():
    assert fit.check_learning_curves({"loss": [1.0, 0.5], "val_loss": [1.0, 0.6]}) == []
    assert fit.check_training_stability({"loss": [1.0, 50.0]}) == []


# --- still improving ----------------------------------------------------------------------------

def test_still_improving_fires_when_cut_short_and_silent_when_converged():
    cut = {"loss": [0.69, 0.6, 0.52, 0.45, 0.40], "val_loss": [0.69, 0.62, 0.55, 0.5, 0.46]}
    found = fit.check_learning_curves(cut)
    assert rule_ids(found) == {"fitting.still-improving"}
    assert found[0].evidence["metric"] == "val_loss"
    assert found[0].evidence["improvement"] > 0.1 and "0.46" in found[0].message
    assert fit.check_learning_curves(healthy()) == []


def test_still_improving_uses_training_loss_without_validation():
    found = fit.check_learning_curves({"loss": [0.69, 0.6, 0.52, 0.45, 0.40]})
    assert found[0].evidence["metric"] == "loss"
    assert fit.check_learning_curves({"loss": healthy()["loss"]}) == []


# --- overfitting --------------------------------------------------------------------------------

def test_overfitting_fires_with_the_epoch_it_started():
    found = fit.check_learning_curves(overfit(best=10))
    assert rule_ids(found) == {"fitting.overfitting"}
    assert found[0].evidence["best_epoch"] == 10
    assert found[0].evidence["started_epoch"] == 11
    assert "epoch 10" in found[0].message


def test_overfitting_needs_training_loss_to_fall():
    """Both losses rising is not overfitting (it is something worse, reported elsewhere)."""
    h = overfit()
    h["loss"] = h["val_loss"][:]  # training loss rises too
    assert "fitting.overfitting" not in rule_ids(fit.check_learning_curves(h))


def test_overfitting_silent_when_early_stopping_ended_the_run():
    stopped = FakeHistory(overfit(n=16, best=10), epochs=200)
    assert fit.check_learning_curves(stopped) == []
    assert rule_ids(fit.check_learning_curves(FakeHistory(overfit(n=16, best=10)))) == {
        "fitting.overfitting"}


# --- divergence and oscillation -------------------------------------------------------------------

@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_divergence_fires_on_non_finite_loss(bad):
    h = healthy()
    h["loss"][7:] = [bad] * (len(h["loss"]) - 7)
    found = fit.check_training_stability(h)
    assert rule_ids(found) == {"fitting.divergence"}
    assert found[0].evidence["epoch"] == 8
    assert fit.check_learning_curves(h) == []  # curves of a diverged run are not read


def test_divergence_fires_on_exploding_loss():
    h = {"loss": [0.7, 0.5, 0.4, 3.0, 40.0, 900.0]}
    found = fit.check_training_stability(h)
    assert rule_ids(found) == {"fitting.divergence"}
    assert found[0].evidence["best_epoch"] == 3


def test_oscillation_fires_on_bouncing_loss_and_not_on_a_smooth_one():
    h = {"loss": [0.7, 0.5, 0.65, 0.45, 0.62, 0.5, 0.7, 0.48, 0.66, 0.5]}
    found = fit.check_training_stability(h)
    assert rule_ids(found) == {"fitting.oscillation"}
    assert found[0].evidence["rises"] == 4
    assert fit.check_training_stability({"loss": curve(0.7, 0.4, 10)}) == []


# --- underfitting ---------------------------------------------------------------------------------

def test_underfitting_fires_near_majority_baseline():
    y = np.array([0] * 90 + [1] * 10)
    h = {"loss": [0.4, 0.33, 0.33, 0.33], "accuracy": [0.85, 0.9, 0.9, 0.9]}
    found = fit.check_underfitting(h, y)
    assert rule_ids(found) == {"fitting.underfitting"}
    assert found[0].evidence["baseline"] == pytest.approx(0.9)
    h["accuracy"] = [0.85, 0.95, 0.97, 0.98]
    assert fit.check_underfitting(h, y) == []


def test_underfitting_accepts_one_hot_and_string_labels():
    h = {"loss": [1.0, 1.0, 1.0], "categorical_accuracy": [0.34, 0.35, 0.34]}
    onehot = np.eye(3)[np.arange(300) % 3]
    assert rule_ids(fit.check_underfitting(h, onehot)) == {"fitting.underfitting"}
    h = {"loss": [1.0, 1.0, 1.0], "accuracy": [0.5, 0.5, 0.5]}
    assert rule_ids(fit.check_underfitting(h, np.array(["a", "b"] * 5))) == {
        "fitting.underfitting"}


def test_underfitting_without_y_or_accuracy_is_silent():
    h = {"loss": [0.69, 0.69, 0.69], "accuracy": [0.5, 0.5, 0.5]}
    assert fit.check_underfitting(h) == []
    assert fit.check_underfitting({"loss": [0.69, 0.69, 0.69]}, y_balanced()) == []


def test_underfitting_silent_on_regression_and_multilabel_targets():
    h = {"loss": [0.69, 0.69, 0.69], "accuracy": [0.5, 0.5, 0.5]}
    assert fit.check_underfitting(h, np.array([[0.5, 0.2], [0.1, 0.3]])) == []
    assert fit.check_underfitting(h, np.array([[1, 1], [0, 1], [1, 0]])) == []


@pytest.mark.parametrize("bad, error", [
    ("abc", TypeError), (np.array([0.0, np.nan]), ValueError),
    (np.zeros((2, 2, 2)), ValueError),
])
def test_underfitting_rejects_bad_y(bad, error):
    h = {"loss": [0.69, 0.69, 0.69], "accuracy": [0.5, 0.5, 0.5]}
    with pytest.raises(error, match="y"):
        fit.check_underfitting(h, bad)


# --- gradients ------------------------------------------------------------------------------------

def deep_model(activation, depth=10, initializer="glorot_uniform", batchnorm=False,
               n_features=8):
    layers = [keras.Input((n_features,))]
    for _ in range(depth):
        layers.append(keras.layers.Dense(32, activation=None if batchnorm else activation,
                                         kernel_initializer=initializer))
        if batchnorm:
            layers += [keras.layers.BatchNormalization(), keras.layers.Activation(activation)]
    layers.append(keras.layers.Dense(1, activation="sigmoid"))
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


@pytest.fixture
def xy(rng):
    x = rng.standard_normal((300, 8))
    return x, (x[:, 0] + x[:, 1] > 0).astype(int)


def test_vanishing_gradients_fire_on_deep_sigmoid_not_on_fixed_twins(xy):
    x, y = xy
    found = fit.check_gradients(deep_model("sigmoid"), x, y)
    assert rule_ids(found) == {"fitting.vanishing-gradients"}
    assert found[0].evidence["ratio"] < 1e-3 and found[0].evidence["layers"] == 11
    assert fit.check_gradients(deep_model("relu", initializer="he_normal"), x, y) == []
    assert fit.check_gradients(deep_model("sigmoid", batchnorm=True), x, y) == []
    assert fit.check_gradients(dense_model(n_features=8), x, y) == []  # too shallow to judge


def test_exploding_gradients_fire_on_layers_out_of_scale(xy):
    x, y = xy
    model = deep_model("relu", depth=4, initializer="he_normal")
    first = model.layers[0].kernel
    first.assign(first.numpy() * 1e-4)  # the first layer's weights far smaller than the rest
    found = fit.check_gradients(model, x, y)
    assert rule_ids(found) == {"fitting.exploding-gradients"}
    assert found[0].evidence["ratio"] > 100


def test_exploding_gradients_fire_on_non_finite_gradients(xy):
    x, y = xy
    model = deep_model("relu", depth=3)
    model.layers[1].kernel.assign(np.full((32, 32), np.inf))
    found = fit.check_gradients(model, x, y)
    assert rule_ids(found) == {"fitting.exploding-gradients"}


def test_gradient_probe_changes_no_weights_and_no_inputs(xy):
    x, y = xy
    model = deep_model("sigmoid", depth=3, batchnorm=True)
    before = [v.numpy().copy() for v in model.variables]
    x0, y0 = x.copy(), y.copy()
    fit.check_gradients(model, x, y)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.variables))
    assert np.array_equal(x, x0) and np.array_equal(y, y0)


def test_gradient_norms_use_at_most_max_rows(xy):
    x, y = xy
    norms = fit.layer_gradient_norms(deep_model("relu", depth=3), x, y, max_rows=5)
    assert len(norms) == 4 and all(v > 0 for _, v in norms)


@pytest.mark.parametrize("x, y, error, name", [
    (None, [0, 1], TypeError, "x"),
    ("abc", [0, 1], TypeError, "x"),
    (np.zeros((0, 8)), [], ValueError, "x"),
    (np.full((2, 8), np.nan), [0, 1], ValueError, "x"),
    (np.zeros((2, 3)), [0, 1], ValueError, "x"),
    (np.zeros((4, 8)), [0, 1], ValueError, "x has 4"),
    (np.zeros((2, 8)), None, TypeError, "y"),
    (np.zeros((2, 8)), [[0, 1, 1], [1, 0, 0]], ValueError, "y: the model's loss"),
])
def test_gradients_reject_bad_input(x, y, error, name):
    with pytest.raises(error, match=name):
        fit.layer_gradient_norms(deep_model("relu", depth=3), x, y)
    if error is not ValueError or "loss" not in name:
        with pytest.raises(error, match=name):
            fit.check_gradients(deep_model("relu", depth=3), x, y)


def test_gradients_skip_labels_the_loss_cannot_use(xy):
    """diagnose must not stop on string labels or a label-shape bug (other checks report it)."""
    x, _ = xy
    model = deep_model("sigmoid")
    assert fit.check_gradients(model, x[:2], ["a", "b"]) == []
    assert fit.check_gradients(model, x[:2], [[0, 1, 1], [1, 0, 0]]) == []
    report = helpers.diagnose(model, x[:2], ["a", "b"])
    assert "check_gradients" in report.checks_run


def test_gradients_need_a_compiled_keras_model(xy):
    x, y = xy
    with pytest.raises(TypeError, match="model"):
        fit.check_gradients("model", x, y)
    with pytest.raises(ValueError, match="not compiled"):
        fit.check_gradients(dense_model(n_features=8, compile=False), x, y)


# --- dead relu ------------------------------------------------------------------------------------

def relu_model(dead_bias=None):
    model = keras.Sequential([keras.Input((8,)),
                              keras.layers.Dense(32, activation="relu", name="hidden"),
                              keras.layers.Dense(1, activation="sigmoid")])
    if dead_bias is not None:
        model.get_layer("hidden").bias.assign(np.full(32, dead_bias))
    return model


def test_dead_relu_fires_when_units_never_activate(xy):
    x, _ = xy
    found = fit.check_dead_relu(relu_model(dead_bias=-100.0), x)
    assert rule_ids(found) == {"fitting.dead-relu"}
    assert found[0].evidence == {"layer": "hidden", "dead": 32, "units": 32, "share": 1.0,
                                 "rows": 300}
    assert fit.check_dead_relu(relu_model(), x) == []
    assert fit.check_dead_relu(deep_model("relu", initializer="he_normal"), x) == []


def test_dead_relu_finds_relu_layers_and_activation_layers(xy):
    x, _ = xy
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16),
                              keras.layers.ReLU(), keras.layers.Dense(16),
                              keras.layers.Activation("relu"), keras.layers.Dense(1)])
    model.layers[2].bias.assign(np.full(16, -100.0))  # kills the Activation("relu") layer
    found = fit.check_dead_relu(model, x)
    assert [f.evidence["layer"] for f in found] == [model.layers[3].name]
    model.layers[0].bias.assign(np.full(16, -100.0))  # kills the ReLU layer (and all after)
    assert [f.evidence["layer"] for f in fit.check_dead_relu(model, x)] == [
        model.layers[1].name, model.layers[3].name]


def test_dead_relu_does_not_count_nan_units_as_dead(xy):
    x, _ = xy
    model = relu_model()
    model.get_layer("hidden").kernel.assign(np.full((8, 32), np.nan))
    assert fit.check_dead_relu(model, x) == []


def test_dead_relu_rejects_bad_input():
    with pytest.raises(TypeError, match="model"):
        fit.check_dead_relu(None, np.zeros((2, 8)))
    with pytest.raises(ValueError, match="x"):
        fit.check_dead_relu(relu_model(), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="max_share"):
        fit.check_dead_relu(relu_model(), np.zeros((2, 8)), max_share=0)


# --- learning rate --------------------------------------------------------------------------------

def compiled(optimizer):
    model = dense_model(compile=False)
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model


@pytest.mark.parametrize("optimizer", [keras.optimizers.Adam(1.0), keras.optimizers.Adam(1e-7),
                                       keras.optimizers.RMSprop(0.5), keras.optimizers.SGD(10.0)])
def test_learning_rate_fires_outside_range(optimizer):
    found = fit.check_learning_rate(compiled(optimizer))
    assert rule_ids(found) == {"fitting.learning-rate"}
    assert found[0].evidence["optimizer"] == type(optimizer).__name__


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd", keras.optimizers.Adam(0.01),
                                       keras.optimizers.SGD(0.1, momentum=0.9),
                                       keras.optimizers.Adadelta(1.0)])
def test_learning_rate_silent_on_usual_values(optimizer):
    assert fit.check_learning_rate(compiled(optimizer)) == []


def test_learning_rate_reads_schedules():
    schedule = keras.optimizers.schedules.ExponentialDecay(5.0, decay_steps=100,
                                                           decay_rate=0.5)
    found = fit.check_learning_rate(compiled(keras.optimizers.Adam(schedule)))
    assert found and found[0].evidence["learning_rate"] == pytest.approx(5.0)


def test_learning_rate_needs_compiled_model():
    with pytest.raises(ValueError, match="not compiled"):
        fit.check_learning_rate(dense_model(compile=False))
    with pytest.raises(TypeError, match="model"):
        fit.check_learning_rate(object())


# --- through helpers.diagnose ---------------------------------------------------------------------

def test_diagnose_runs_the_fitting_checks(xy):
    x, y = xy
    broken = deep_model("sigmoid")
    broken.compile(optimizer=keras.optimizers.Adam(1.0), loss="binary_crossentropy")
    h = {"loss": [0.69] * 5, "accuracy": [0.5] * 5}
    report = helpers.diagnose(broken, x, y, history=h)
    assert {"fitting.vanishing-gradients", "fitting.learning-rate",
            "fitting.underfitting"} <= report.rules
    assert "fitting.overfitting" in helpers.diagnose(broken, history=overfit()).rules
    assert "fitting.divergence" in helpers.diagnose(
        broken, history={"loss": [0.7, float("nan"), float("nan")]}).rules
    assert "fitting.dead-relu" in helpers.diagnose(relu_model(dead_bias=-100.0), x).rules

    fixed = deep_model("relu", initializer="he_normal")
    fixed.fit(x, y, epochs=5, batch_size=60, verbose=0)  # a model that learned, and its curve
    good = {"loss": [0.6, 0.4, 0.3, 0.29, 0.288], "accuracy": [0.7, 0.85, 0.9, 0.9, 0.9]}
    report = helpers.diagnose(fixed, x, y, history=good)
    assert not any(r.startswith("fitting.") for r in report.rules), report


# --- tf.data pipelines ---------------------------------------------------------------------

def _sorted_rows(n=600, classes=2, seed=0):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = np.repeat(np.arange(classes), n // classes)
    return tf.data.Dataset.from_tensor_slices((x, y)), n


def test_class_sorted_and_shuffle_after_batch_fire():
    base, n = _sorted_rows()
    unshuffled = fit.check_input_pipeline(base.batch(32))
    assert rule_ids(unshuffled) == {"fitting.class-sorted-batches"}
    after = fit.check_input_pipeline(base.batch(32).shuffle(20, seed=1))
    assert rule_ids(after) == {"fitting.shuffle-after-batch", "fitting.class-sorted-batches"}
    small = fit.check_input_pipeline(base.shuffle(50, seed=1).batch(32))
    assert rule_ids(small) == {"fitting.class-sorted-batches"}
    assert small[0].evidence["same_neighbour"] > small[0].evidence["expected"] + 0.2


@pytest.mark.parametrize("classes", [2, 5])
def test_pipeline_fixed_twin_is_silent(classes):
    base, n = _sorted_rows(classes=classes)
    assert fit.check_input_pipeline(base.shuffle(n, seed=1).batch(32)) == []
    assert fit.check_input_pipeline(base.shuffle(n, seed=1).batch(32).repeat(),
                                    max_rows=400) == []
    assert fit.check_input_pipeline(np.zeros((10, 4))) == []  # fit shuffles arrays itself


def test_take_skip_of_a_reshuffling_dataset_fires():
    base, n = _sorted_rows()
    leaky = base.shuffle(n, seed=3)
    found = fit.check_input_pipeline(leaky.take(480).batch(32),
                                     validation=leaky.skip(480).batch(32))
    assert rule_ids(found) == {"fitting.split-reshuffles"}
    assert found[0].evidence["share_in_training"] > 0.5
    fixed = base.shuffle(n, seed=3, reshuffle_each_iteration=False)
    assert fit.check_input_pipeline(fixed.take(480).batch(32),
                                    validation=fixed.skip(480).batch(32)) == []


def test_pipeline_bad_options():
    base, _ = _sorted_rows()
    with pytest.raises(TypeError, match="validation"):
        fit.check_input_pipeline(base.batch(8), validation=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="min_gap"):
        fit.check_input_pipeline(base.batch(8), min_gap=0)
# --- did the model learn? -------------------------------------------------------------------

def separable(rng, n=300, n_features=3):
    x = rng.standard_normal((n, n_features))
    return x, (x[:, 0] > 0).astype(int)


def test_training_state_reads_the_optimizer_and_the_history(tmp_path, rng):
    x, y = separable(rng)
    model = dense_model()
    assert fit.training_state(model) == "untrained"
    assert fit.training_state(model, history={"loss": [0.7, 0.5]}) == "trained"
    assert fit.training_state(dense_model(compile=False)) == "unknown"   # no optimizer
    model.train_on_batch(x[:32], y[:32])              # one step of Adam at 0.001 moves no
    assert fit.training_state(model) == "untrained"   # weight by more than 0.0032
    state = fit.learning_state(model, x, y)
    assert state.state == "untrained" and state.evidence["drift_bound"] == pytest.approx(
        0.001 * 0.1 / np.sqrt(0.001))
    for start in range(0, 300, 30):                   # a hand-written loop
        model.train_on_batch(x[start:start + 30], y[start:start + 30])
    assert fit.training_state(model) == "trained"
    sgd = dense_model()
    sgd.compile(optimizer=keras.optimizers.SGD(0.01), loss="binary_crossentropy")
    sgd.train_on_batch(x[:32], y[:32])                # SGD's step has no bound
    assert fit.training_state(sgd) == "trained"
    model.save(tmp_path / "m.keras")
    assert fit.training_state(keras.models.load_model(tmp_path / "m.keras")) == "trained"
    assert fit.training_state(keras.models.load_model(tmp_path / "m.keras",
                                                      compile=False)) == "unknown"
    fresh = dense_model()
    fresh.set_weights(model.get_weights())   # trained weights, optimizer at step 0
    assert fit.training_state(fresh) == "unknown"


def test_learning_state_learned_vs_not(rng):
    x, y = separable(rng)
    model = dense_model(hidden=8)
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="binary_crossentropy")
    model.fit(x, y, epochs=10, batch_size=30, verbose=0)
    state = fit.learning_state(model, x, y)
    assert state.state == "learned" and state.evidence["auc"] > 0.9
    # Learned, with the labels coded the other way round: still learned (labels' business).
    assert fit.learning_state(model, x, 1 - y).state == "learned"
    # Trained, but the labels have nothing to do with x.
    assert fit.learning_state(model, x, rng.integers(0, 2, len(y))).state == "not-learned"
    assert fit.learning_state(dense_model(), x, y).state == "untrained"
    assert fit.learning_state(model).state == "unknown"


def test_constant_predictions_are_not_learned_even_after_steps(rng):
    x, y = separable(rng)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        3, activation="softmax", kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    ids = np.digitize(x[:, 0], [-0.5, 0.5])
    model.train_on_batch(x, ids)                                         # a step of size 0
    state = fit.learning_state(model, x, ids)
    assert state.state == "not-learned" and state.evidence["p_value"] == 1.0
    found = fit.check_learned(model, x, ids)
    assert rule_ids(found) == {"fitting.not-learned"}


def test_a_flat_history_overrules_a_ranking_from_random_weights(rng):
    x, y = separable(rng)
    model = dense_model(hidden=16)
    model.compile(optimizer=keras.optimizers.SGD(1e-7), loss="binary_crossentropy")
    history = model.fit(x, y, epochs=3, batch_size=50, verbose=0)
    assert fit.learning_state(model, x, y, history).state == "not-learned"
    assert fit.learning_state(model, x, y, {"loss": [0.9, 0.5, 0.2]}).state != "not-learned"


def test_regression_learned_vs_not(rng):
    x = rng.standard_normal((300, 3))
    y = x @ [1.0, -2.0, 0.5] + 0.1 * rng.standard_normal(300)
    model = dense_model(activation=None, loss="mse", hidden=8)
    model.fit(x, y, epochs=30, batch_size=30, verbose=0)
    assert fit.learning_state(model, x, y).state == "learned"
    assert fit.learning_state(model, x, 100 + 50 * y).state == "not-learned"


def test_prediction_divergence_without_history(rng):
    x = rng.standard_normal((100, 3))
    y = x.sum(axis=1)
    model = dense_model(activation=None, loss="mse")
    assert fit.check_prediction_divergence(model, x, y) == []
    kernel = model.layers[-1].kernel
    kernel.assign(np.full(kernel.shape, 1e7))                  # exploded weights
    found = fit.check_prediction_divergence(model, x, y)
    assert rule_ids(found) == {"fitting.divergence"} and found[0].evidence["ratio"] > 100
    kernel.assign(np.full(kernel.shape, np.nan))
    found = fit.check_prediction_divergence(model, x)
    assert rule_ids(found) == {"fitting.divergence"}
    assert found[0].evidence["share_not_finite"] == 1.0
    assert fit.learning_state(model, x, y, {"loss": [1.0, 0.5]}).state == "not-learned"
    # Reported once: the History already shows it.
    assert fit.check_prediction_divergence(
        model, x, y, history={"loss": [1.0, float("nan")]}) == []
# --- validation_split on class-sorted rows -------------------------------------------------

def val_history(n=5):
    return {"loss": curve(1.0, 0.2, n), "accuracy": curve(0.5, 0.95, n),
            "val_loss": curve(3.0, 6.0, n), "val_accuracy": [0.0] * n}


def test_validation_split_fires_on_class_sorted_labels_and_names_the_class():
    y = np.repeat(np.arange(5), 40)
    found = fit.check_validation_split(val_history(), y)
    assert rule_ids(found) == {"fitting.validation-split-sorted"}
    assert found[0].evidence["last_class"] == 4 and found[0].evidence["run"] == 40
    names = np.repeat(["cat", "dog"], 50)
    one_hot = keras.utils.to_categorical(y)
    assert fit.check_validation_split(val_history(), names)[0].evidence["last_class"] == "dog"
    assert rule_ids(fit.check_validation_split(FakeHistory(val_history()), one_hot))


def test_validation_split_silent_on_shuffled_labels_or_without_validation_metrics():
    y = np.repeat(np.arange(5), 40)
    for seed in range(20):
        shuffled = np.random.default_rng(seed).permutation(y)
        assert not fit.check_validation_split(val_history(), shuffled)
    assert not fit.check_validation_split({"loss": [1.0, 0.5]}, y)
    assert not fit.check_validation_split(val_history(), np.linspace(0, 1, 200))  # regression
    assert not fit.check_validation_split(val_history(), np.zeros(200))           # one class


def test_validation_split_rejects_bad_input_and_leaves_it_alone():
    y = np.repeat(np.arange(3), 30)
    h = val_history()
    before = copy.deepcopy(h), y.copy()
    fit.check_validation_split(h, y)
    assert h == before[0] and np.array_equal(y, before[1])
    with pytest.raises(TypeError, match="history"):
        fit.check_validation_split([1, 2], y)
    with pytest.raises(ValueError, match="y"):
        fit.check_validation_split(h, np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="min_share"):
        fit.check_validation_split(h, y, min_share=2)


def test_diagnose_reports_validation_split_on_sorted_labels(xy):
    x, _ = xy
    y = np.repeat([0, 1], len(x) // 2)
    model = dense_model(n_features=8)
    assert "fitting.validation-split-sorted" in helpers.diagnose(
        model, x, y, history=val_history()).rules
    shuffled = np.random.default_rng(0).permutation(y)
    assert "fitting.validation-split-sorted" not in helpers.diagnose(
        model, x, shuffled, history=val_history()).rules


# --- training and inference mode ----------------------------------------------------------

def bn_model(momentum=0.99, first=True, dropout_training=None):
    helpers.seed(0)
    inputs = keras.Input((8,))
    h = keras.layers.BatchNormalization(momentum=momentum)(inputs) if first else inputs
    h = keras.layers.Dense(16, activation="relu")(h)
    h = keras.layers.Dropout(0.5)(h, training=dropout_training)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    return model


def test_inference_mode_fires_on_training_true_predictions_and_not_on_predict(xy):
    x, y = xy
    model = bn_model()
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    found = fit.check_inference_mode(model, x, predict=lambda v: model(v, training=True))
    assert rule_ids(found) == {"fitting.training-mode-inference"}
    assert found[0].evidence["source"] == "predict"
    assert not fit.check_inference_mode(model, x, predict=lambda v: model.predict(v, verbose=0))
    assert not fit.check_inference_mode(model, x)


def test_inference_mode_fires_on_dropout_built_with_training_true(xy):
    x, _ = xy
    found = fit.check_inference_mode(bn_model(first=False, dropout_training=True), x)
    assert rule_ids(found) == {"fitting.training-mode-inference"}
    assert found[0].evidence["between_calls"] > 0
    assert not fit.check_inference_mode(bn_model(first=False), x)


def test_inference_mode_rejects_bad_input(xy):
    x, _ = xy
    with pytest.raises(TypeError, match="predict"):
        fit.check_inference_mode(bn_model(), x, predict="model.predict")
    with pytest.raises(ValueError, match="x has rows"):
        fit.check_inference_mode(bn_model(), x[:, :3])


def test_batchnorm_statistics_fire_after_too_few_steps_and_not_after_enough(rng):
    x = rng.normal(300, 40, (256, 8))       # raw features, far from mean 0 and variance 1
    y = (x[:, 0] > 300).astype(int)
    few = bn_model(momentum=0.99)
    few.fit(x, y, epochs=2, batch_size=64, verbose=0)       # 8 steps
    found = fit.check_batchnorm_statistics(few, x)
    assert rule_ids(found) == {"fitting.batchnorm-statistics"}
    assert found[0].evidence["variance_ratio"] < 0.25   # moved 8% of the way from 1
    enough = bn_model(momentum=0.9)
    enough.fit(x, y, epochs=8, batch_size=32, verbose=0)    # 64 steps at momentum 0.9
    assert not fit.check_batchnorm_statistics(enough, x)
    x_before = x.copy()
    fit.check_batchnorm_statistics(few, x)
    assert np.array_equal(x, x_before)


def test_batchnorm_statistics_skip_untrained_models_and_models_without_batchnorm(rng):
    x = rng.normal(300, 40, (64, 8))
    assert not fit.check_batchnorm_statistics(bn_model(), x)              # never trained
    assert not fit.check_batchnorm_statistics(bn_model(first=False), x)   # no BatchNorm
    with pytest.raises(ValueError, match="max_ratio"):
        fit.check_batchnorm_statistics(bn_model(), x, max_ratio=1)


# --- trainable flags changed after compile --------------------------------------------------

def base_and_head():
    helpers.seed(0)
    base = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8),
                             keras.layers.BatchNormalization()], name="base")
    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(base(inputs)))
    return base, model


def test_trainable_state_fires_when_flags_change_after_training_and_not_after_compile(rng):
    x = rng.normal(size=(64, 8))
    y = (x[:, 0] > 0).astype(int)
    base, model = base_and_head()
    base.trainable = False
    model.compile(optimizer="adam", loss="binary_crossentropy")
    assert not fit.check_trainable_state(model)           # optimizer not built yet
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert not fit.check_trainable_state(model)
    base.trainable = True                                 # unfrozen, compile forgotten
    found = fit.check_trainable_state(model)
    assert rule_ids(found) == {"fitting.trainable-changed-after-compile"}
    assert found[0].evidence["n_unfrozen"] == 4 and found[0].evidence["n_frozen"] == 0
    kernel = keras.ops.convert_to_numpy(base.layers[0].kernel).copy()
    if keras.backend.backend() == "jax":                  # what the finding says: fit stops
        assert "fit stops" in found[0].message
        with pytest.raises(ValueError, match="optimizer_variables"):
            model.fit(x, y, epochs=1, batch_size=32, verbose=0)
        # The refused fit leaves this model unusable on JAX (Keras 3.15): start again.
        base, model = base_and_head()
    else:                                                 # what the finding says: still frozen
        assert "fit keeps them frozen" in found[0].message
        model.fit(x, y, epochs=1, batch_size=32, verbose=0)
        assert np.array_equal(keras.ops.convert_to_numpy(base.layers[0].kernel), kernel)
        assert rule_ids(helpers.diagnose(model, x, y)) >= {
            "fitting.trainable-changed-after-compile"}
    model.compile(optimizer="adam", loss="binary_crossentropy")
    assert not fit.check_trainable_state(model)
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert not fit.check_trainable_state(model)
    base.trainable = False                                # frozen after training
    found = fit.check_trainable_state(model)
    assert found and found[0].evidence["n_frozen"] == 4


def test_trainable_state_skips_uncompiled_models_and_rejects_non_models():
    base, model = base_and_head()
    base.trainable = False
    assert not fit.check_trainable_state(model)
    with pytest.raises(TypeError, match="model"):
        fit.check_trainable_state("model.keras")


def test_training_false_overridden_fires_on_trainable_batchnorm_in_a_training_false_call(rng):
    base, _ = base_and_head()
    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(
        base(inputs, training=False)))
    found = fit.check_training_false_overridden(model)
    assert rule_ids(found) == {"fitting.training-false-overridden"}
    assert found[0].evidence["layer"] == "base"
    # What the finding says: fit moves the moving statistics despite training=False.
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = rng.normal(3, 2, (64, 8))
    bn = base.layers[1]
    model.fit(x, (x[:, 0] > 3).astype(int), epochs=1, batch_size=32, verbose=0)
    assert float(np.abs(bn.moving_mean.numpy()).max()) > 0.01
    bn.trainable = False                       # the fix
    assert not fit.check_training_false_overridden(model)
    base.trainable = False                     # a frozen base runs BatchNorm in inference mode
    assert not fit.check_training_false_overridden(model)


def test_training_false_overridden_silent_without_training_false_and_rejects_non_models():
    base, model = base_and_head()                        # base(inputs) without training
    assert not fit.check_training_false_overridden(model)
    assert not fit.check_training_false_overridden(base)  # Sequential
    inputs = keras.Input((8,))
    direct = keras.Model(inputs, keras.layers.BatchNormalization()(inputs, training=False))
    assert rule_ids(fit.check_training_false_overridden(direct)) == {
        "fitting.training-false-overridden"}
    with pytest.raises(TypeError, match="model"):
        fit.check_training_false_overridden([1, 2])
