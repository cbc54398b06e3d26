"""Every thresholds rule fires on its broken case and stays silent on the fixed twin.

The models are not trained: a one-layer model whose weights are set to the Bayes posterior
of ``helpers.data.gaussian_binary`` is a perfectly calibrated classifier, and changing its
bias or scale breaks it in a known way.
"""

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve

import helpers
from helpers import _keras
from helpers.checks import thresholds as th

from builders import dense_model, rule_ids


def posterior_model(data, *, shift=0.0, scale=1.0, metrics=None, logits=False):
    """Sigmoid(scale * (Bayes logit) + shift): scale=1, shift=0 is the Bayes posterior."""
    pi = float(np.mean(data.y_train))
    delta = np.full(data.n_features, 2.0 / np.sqrt(data.n_features))  # separation 2
    model = keras.Sequential([keras.Input(shape=(data.n_features,)),
                              keras.layers.Dense(1, activation=None if logits else "sigmoid")])
    model.layers[0].set_weights([scale * delta[:, None],
                                 np.array([scale * np.log(pi / (1 - pi)) + shift])])
    loss = keras.losses.BinaryCrossentropy(from_logits=logits)
    model.compile(loss=loss, metrics=metrics)
    return model


def multiclass_model(data, *, bias=None):
    """Softmax over the Bayes scores of ``gaussian_multiclass`` (separation 3, 3 classes)."""
    means = np.eye(3, data.n_features).T * 3.0 / np.sqrt(2)  # (features, classes)
    b = -0.5 * (means ** 2).sum(axis=0) + np.log(np.full(3, 1 / 3)) if bias is None else bias
    model = keras.Sequential([keras.Input(shape=(data.n_features,)),
                              keras.layers.Dense(3, activation="softmax")])
    model.layers[0].set_weights([means, np.asarray(b, dtype=float)])
    model.compile(loss="sparse_categorical_crossentropy")
    return model


@pytest.fixture(scope="module")
def rare():  # 2% positives
    return helpers.data.gaussian_binary(n_train=2000, n_test=3000, positive_fraction=0.02,
                                        seed=0)


@pytest.fixture(scope="module")
def tenth():  # 10% positives
    return helpers.data.gaussian_binary(n_train=2000, n_test=3000, positive_fraction=0.1,
                                        seed=0)


@pytest.fixture(scope="module")
def balanced():
    return helpers.data.gaussian_binary(n_train=1000, n_test=2000, seed=0)


@pytest.fixture(scope="module")
def three():
    return helpers.data.gaussian_multiclass(n_train=300, n_test=1500, seed=0)


# --- collapsed predictions and the majority baseline ----------------------------------------

def test_collapsed_model_fires_both_rules(tenth):
    broken = posterior_model(tenth, shift=-20.0)  # always "0"
    found = th.check_against_majority(broken, tenth.x_test, tenth.y_test)
    assert rule_ids(found) == {"thresholds.collapsed-predictions",
                            "thresholds.no-better-than-majority"}
    collapsed = next(f for f in found if f.rule == "thresholds.collapsed-predictions")
    assert collapsed.evidence["predicted_class"] == 0
    assert collapsed.evidence["other_rows_predicted"] == 0
    assert collapsed.severity == "error" and "100.0%" in collapsed.message


def test_collapse_onto_the_rare_class_is_caught(tenth):
    broken = posterior_model(tenth, shift=20.0)  # always "1"
    found = th.check_against_majority(broken, tenth.x_test, tenth.y_test)
    assert "thresholds.collapsed-predictions" in rule_ids(found)
    assert found[0].evidence["predicted_class"] == 1


def test_majority_rules_silent_on_a_model_with_skill(balanced):
    good = posterior_model(balanced)
    assert th.check_against_majority(good, balanced.x_test, balanced.y_test) == []


def test_accuracy_paradox_fires_without_collapse(rare):
    """The Bayes posterior at 0.5 on 98/2 data: not collapsed, but its accuracy can't be
    told from the constant's."""
    model = posterior_model(rare)
    found = th.check_against_majority(model, rare.x_test, rare.y_test)
    assert rule_ids(found) == {"thresholds.no-better-than-majority"}
    f = found[0]
    assert f.evidence["gain_lower_bound"] <= 0 < f.evidence["baseline"]
    assert f"{f.evidence['accuracy']:.1%}" in f.message


def test_majority_rule_silent_when_the_model_leans_on_the_rare_class(rare):
    """Threshold moving trades accuracy for recall on purpose: not the paradox."""
    model = posterior_model(rare)
    found = th.check_against_majority(model, rare.x_test, rare.y_test, threshold=0.1)
    assert found == []


def test_majority_rules_multiclass(three):
    assert th.check_against_majority(multiclass_model(three), three.x_test,
                                     three.y_test) == []
    collapsed = multiclass_model(three, bias=[30.0, 0.0, 0.0])
    one_hot = np.eye(3)[three.y_test]
    assert rule_ids(th.check_against_majority(collapsed, three.x_test, one_hot)) == {
        "thresholds.collapsed-predictions", "thresholds.no-better-than-majority"}


def test_majority_rules_quiet_on_one_class_or_multilabel(balanced):
    model = posterior_model(balanced)
    assert th.check_against_majority(model, balanced.x_test[:50], np.zeros(50)) == []
    multi = dense_model(n_features=2, units=3, compile=False)
    y = np.array([[1, 1, 0], [0, 1, 1]] * 10)
    assert th.check_against_majority(multi, np.zeros((20, 2)), y) == []


def test_max_rows_bounds_the_prediction(balanced, monkeypatch):
    seen = []
    predict = _keras.predict

    def counting(model, inputs, **kwargs):
        seen.append(len(inputs))
        return predict(model, inputs, **kwargs)

    monkeypatch.setattr(_keras, "predict", counting)
    model = posterior_model(balanced)
    th.check_against_majority(model, balanced.x_test, balanced.y_test, max_rows=300)
    assert seen == [300]


def test_predictions_match_model_predict(balanced):
    model = posterior_model(balanced)
    direct = _keras.predict(model, balanced.x_test, chunk=700)
    assert np.allclose(direct[0], model.predict(balanced.x_test, verbose=0), atol=1e-6)
    inputs = keras.Input((2,))
    listed = keras.Model(inputs, [keras.layers.Dense(1, activation="sigmoid")(inputs),
                                  keras.layers.Dense(3, activation="softmax")(inputs)])
    assert [p.shape for p in _keras.predict(listed, balanced.x_test[:10])] == [(10, 1),
                                                                                (10, 3)]


# --- accuracy as the only metric on imbalanced labels ---------------------------------------

@pytest.mark.parametrize("metrics", [["accuracy"], ["acc"], [keras.metrics.BinaryAccuracy()],
                                     {"dense": ["accuracy"]}])
def test_accuracy_only_fires_on_imbalanced_labels(rare, metrics):
    model = dense_model(n_features=2, metrics=None)
    model.compile(loss="binary_crossentropy", metrics=metrics)
    found = th.check_imbalance_metrics(model, rare.y_test)
    assert rule_ids(found) == {"thresholds.accuracy-only-metrics"}
    assert found[0].evidence["rare_class"] == 1 and found[0].evidence["imbalance_ratio"] > 40


@pytest.mark.parametrize("metrics", [None, ["accuracy", keras.metrics.Recall()],
                                     [keras.metrics.AUC(curve="PR", name="accuracy")]])
def test_accuracy_only_silent_on_fixed_twins(rare, metrics):
    """No metrics (judged by the loss), a rare-class metric, or an AUC *named* accuracy."""
    model = dense_model(n_features=2, metrics=metrics)
    assert th.check_imbalance_metrics(model, rare.y_test) == []


def test_accuracy_only_silent_on_balanced_labels(balanced):
    model = dense_model(n_features=2, metrics=["accuracy"])
    assert th.check_imbalance_metrics(model, balanced.y_test) == []


@pytest.mark.filterwarnings("ignore:Skipping variable loading:UserWarning")
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_compiled_metrics_survive_saving(tmp_path, rare):
    model = dense_model(n_features=2, metrics=["accuracy"])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert rule_ids(th.check_imbalance_metrics(loaded, rare.y_test)) == {
        "thresholds.accuracy-only-metrics"}


# --- threshold far from the F1 optimum -------------------------------------------------------

def test_threshold_fires_at_half_and_is_silent_at_the_tuned_threshold(tenth):
    model = posterior_model(tenth)
    found = th.check_threshold(model, tenth.x_test, tenth.y_test)
    assert rule_ids(found) == {"thresholds.threshold-far-from-f1-optimal"}
    e = found[0].evidence
    assert e["best_f1"] > e["f1"] + 0.05 and e["best_threshold"] < 0.5
    assert th.check_threshold(model, tenth.x_test, tenth.y_test,
                              threshold=e["best_threshold"]) == []


def test_threshold_reads_logits(tenth):
    """A linear output trained with from_logits=True is turned into probabilities first."""
    model = posterior_model(tenth, logits=True)
    found = th.check_threshold(model, tenth.x_test, tenth.y_test)
    assert rule_ids(found) == {"thresholds.threshold-far-from-f1-optimal"}
    assert 0 < found[0].evidence["best_threshold"] < 0.5


def test_threshold_needs_enough_positives_and_a_binary_model(tenth, three):
    model = posterior_model(tenth)
    assert th.check_threshold(model, tenth.x_test, tenth.y_test, min_positives=10_000) == []
    assert th.check_threshold(multiclass_model(three), three.x_test, three.y_test) == []


# --- calibration -----------------------------------------------------------------------------

def test_calibration_silent_on_the_bayes_posterior(tenth, balanced, three):
    for data in (tenth, balanced):
        assert th.check_calibration(posterior_model(data), data.x_test, data.y_test) == []
    assert th.check_calibration(multiclass_model(three), three.x_test, three.y_test) == []


@pytest.mark.parametrize("shift, scale", [(np.log(9.0), 1.0), (0.0, 3.0), (0.0, 0.3)])
def test_calibration_fires_on_shifted_or_rescaled_probabilities(tenth, shift, scale):
    """Class weights shift the log-odds; over- and under-confidence rescale them."""
    model = posterior_model(tenth, shift=shift, scale=scale)
    found = th.check_calibration(model, tenth.x_test, tenth.y_test)
    assert rule_ids(found) == {"thresholds.poorly-calibrated"}
    e = found[0].evidence
    assert e["ece"] > max(e["max_ece"], e["noise_bound"])
    assert f"{e['ece']:.3f}" in found[0].message


def test_calibration_fires_on_an_overconfident_multiclass_model(three):
    means = np.eye(3, three.n_features).T * 3.0 / np.sqrt(2)
    model = multiclass_model(three)
    model.layers[0].set_weights([means * 4, -0.5 * 4 * (means ** 2).sum(axis=0)])
    assert rule_ids(th.check_calibration(model, three.x_test, three.y_test)) == {
        "thresholds.poorly-calibrated"}


def test_calibration_does_not_judge_small_samples_or_non_probabilities(tenth):
    model = posterior_model(tenth, shift=np.log(9.0))
    assert th.check_calibration(model, tenth.x_test[:100], tenth.y_test[:100]) == []
    linear = dense_model(n_features=2, activation=None, loss="mse")
    linear.layers[-1].set_weights([np.full((4, 1), 5.0), np.array([3.0])])
    assert th.check_calibration(linear, tenth.x_test, tenth.y_test) == []


def test_ece_matches_scikit_learn_calibration_curve(tenth):
    p = tenth.bayes_proba(tenth.x_test)
    observed, predicted = calibration_curve(tenth.y_test, p, n_bins=10, strategy="uniform")
    counts = np.bincount(np.minimum((p * 10).astype(int), 9), minlength=10)
    expected = float(np.sum(counts[counts > 0] / len(p) * np.abs(observed - predicted)))
    assert th.expected_calibration_error(tenth.y_test, p) == pytest.approx(expected)


def test_ece_bad_inputs():
    with pytest.raises(ValueError, match="probability"):
        th.expected_calibration_error([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError, match="y_true"):
        th.expected_calibration_error([0, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="y_true.*probability|same number"):
        th.expected_calibration_error([0, 1, 1], [0.5, 0.5])


# --- through helpers.diagnose -----------------------------------------------------------------

def test_diagnose_reports_the_broken_model_and_not_the_fixed_one(tenth):
    broken = posterior_model(tenth, shift=-20.0, metrics=["accuracy"])
    report = helpers.diagnose(broken, tenth.x_test, tenth.y_test)
    assert {"thresholds.collapsed-predictions", "thresholds.no-better-than-majority",
            "thresholds.accuracy-only-metrics", "thresholds.poorly-calibrated"} <= report.rules
    fixed = posterior_model(tenth, metrics=["accuracy", keras.metrics.AUC(curve="PR")])
    report = helpers.diagnose(fixed, tenth.x_test, tenth.y_test)
    # At 0.5 the calibrated model is still F1-suboptimal: the threshold rule is expected.
    assert report.rules == {"thresholds.threshold-far-from-f1-optimal"}
    balanced = helpers.data.gaussian_binary(n_train=500, n_test=2000, seed=1)
    assert not any(r.startswith("thresholds.")
                   for r in helpers.diagnose(posterior_model(balanced), balanced.x_test,
                                             balanced.y_test).rules)


def test_diagnose_skips_metric_check_on_uncompiled_models(rare):
    model = dense_model(n_features=2, compile=False)
    report = helpers.diagnose(model, rare.x_test, rare.y_test)
    assert "check_imbalance_metrics" in report.checks_skipped


# --- bad input ----------------------------------------------------------------------------------

PREDICTING = [th.check_against_majority, th.check_threshold, th.check_calibration]


@pytest.mark.parametrize("check", PREDICTING)
@pytest.mark.parametrize("model", [None, "model.keras", object()])
def test_non_models_are_refused(check, model):
    with pytest.raises(TypeError, match="model"):
        check(model, np.zeros((4, 2)), np.array([0, 1, 0, 1]))


@pytest.mark.parametrize("check", PREDICTING)
@pytest.mark.parametrize("x, error", [
    (None, TypeError), ("abc", TypeError), (np.zeros((0, 2)), ValueError),
    (np.full((4, 2), np.nan), ValueError), (np.zeros((4, 3)), ValueError),
    (np.zeros(4), ValueError), ([["a", "b"]] * 4, TypeError),
])
def test_bad_x(check, x, error):
    with pytest.raises(error, match="x"):
        check(posterior_model_2d(), x, np.array([0, 1, 0, 1]))


@pytest.mark.parametrize("check", PREDICTING)
@pytest.mark.parametrize("y, error, word", [
    (None, TypeError, "y"), ("0101", TypeError, "y"), (np.array([]), ValueError, "y"),
    (np.array([0, 1, np.nan, 1]), ValueError, "y"), (np.zeros((4, 1, 1)), ValueError, "y"),
    (np.array(["a", "b", "a", "b"]), TypeError, "y"), (np.array([0, 1, 0]), ValueError, "y"),
    (np.array([0.2, 0.5, 0.1, 0.7]), ValueError, "y"), (np.array([0, 1, 2, 1]), ValueError, "y"),
])
def test_bad_y(check, y, error, word):
    with pytest.raises(error, match=word):
        check(posterior_model_2d(), np.zeros((4, 2)), y)


def test_mismatched_lengths_name_both_arguments():
    with pytest.raises(ValueError, match="x has 5.*y has 4"):
        th.check_against_majority(posterior_model_2d(), np.zeros((5, 2)), [0, 1, 0, 1])


@pytest.mark.parametrize("kwargs, word", [
    ({"threshold": 1.5}, "threshold"), ({"threshold": "0.5"}, "threshold"),
    ({"max_rows": 0}, "max_rows"), ({"max_rows": 2.5}, "max_rows"),
])
def test_bad_options(kwargs, word):
    with pytest.raises((TypeError, ValueError), match=word):
        th.check_against_majority(posterior_model_2d(), np.zeros((4, 2)), [0, 1, 0, 1],
                                  **kwargs)


def test_bad_options_of_the_other_checks():
    model, x, y = posterior_model_2d(), np.zeros((4, 2)), [0, 1, 0, 1]
    with pytest.raises(ValueError, match="max_gap"):
        th.check_threshold(model, x, y, max_gap=0)
    with pytest.raises(ValueError, match="max_ece"):
        th.check_calibration(model, x, y, max_ece=2)
    with pytest.raises(TypeError, match="bins"):
        th.check_calibration(model, x, y, bins=None)
    with pytest.raises(ValueError, match="imbalance_ratio"):
        th.check_imbalance_metrics(model, y, imbalance_ratio=0.5)


def test_metric_check_needs_a_compiled_model_and_labels():
    with pytest.raises(ValueError, match="model is not compiled"):
        th.check_imbalance_metrics(dense_model(n_features=2, compile=False), [0, 1])
    with pytest.raises(TypeError, match="model"):
        th.check_imbalance_metrics("model", [0, 1])
    with pytest.raises(TypeError, match="y"):
        th.check_imbalance_metrics(dense_model(n_features=2), None)


def test_multi_output_models_are_refused():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, [keras.layers.Dense(1, activation="sigmoid")(inputs),
                                 keras.layers.Dense(1, activation="sigmoid")(inputs)])
    with pytest.raises(ValueError, match="model.*2 outputs"):
        th.check_calibration(model, np.zeros((4, 2)), [0, 1, 0, 1])


def posterior_model_2d():
    model = keras.Sequential([keras.Input(shape=(2,)),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy")
    return model


# --- inputs are never changed, pandas works ----------------------------------------------------

def test_inputs_are_unchanged_and_pandas_is_accepted(tenth):
    model = posterior_model(tenth, shift=np.log(9.0), metrics=["accuracy"])
    x = pd.DataFrame(tenth.x_test, columns=tenth.feature_names)
    y = pd.Series(tenth.y_test)
    x_before, y_before = x.copy(), y.copy()
    weights_before = [w.copy() for w in model.get_weights()]
    report = helpers.diagnose(model, x, y)
    assert "thresholds.poorly-calibrated" in report.rules
    for check in PREDICTING:
        check(model, x, y)
    th.check_imbalance_metrics(model, y)
    pd.testing.assert_frame_equal(x, x_before)
    pd.testing.assert_series_equal(y, y_before)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights_before))


# --- the chapter's plot ---------------------------------------------------------------------

def test_threshold_curves_draws_precision_recall_f1_and_marks(tenth):
    import matplotlib

    matplotlib.use("Agg")
    from helpers import plots

    p = tenth.bayes_proba(tenth.x_test)
    before = p.copy()
    ax = plots.threshold_curves(tenth.y_test, p, marks={"0.5": 0.5, "tuned": 0.3})
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["precision", "recall", "F1"] and labels[3].startswith("0.5")
    assert len(ax.lines) == 5 and np.array_equal(p, before)


@pytest.mark.parametrize("y, scores, word", [
    (None, [0.1, 0.9], "y_true"), ([0, 1], "ab", "scores"), ([0, 0], [0.1, 0.9], "y_true"),
    ([0, 1, 1], [0.1, 0.9], "y_true.*scores|same number"), ([0, 2], [0.1, 0.9], "y_true"),
])
def test_threshold_curves_bad_input(y, scores, word):
    from helpers import plots

    with pytest.raises((TypeError, ValueError), match=word):
        plots.threshold_curves(y, scores)


# --- decisions read from the outputs -------------------------------------------------------

def test_argmax_over_one_unit_fires_and_a_threshold_is_silent(balanced):
    model = posterior_model(balanced)
    p = model.predict(balanced.x_test, verbose=0)
    found = th.check_decisions(model, balanced.x_test, predicted=p.argmax(axis=1))
    assert rule_ids(found) == {"thresholds.argmax-one-unit"}
    assert found[0].evidence["share_above_threshold"] > 0.3
    assert th.check_decisions(model, balanced.x_test,
                              predicted=(p[:, 0] > 0.5).astype(int)) == []
    assert th.check_decisions(model, balanced.x_test) == []  # nothing to judge: diagnose


def test_all_zero_decisions_are_right_when_no_score_crosses_the_threshold(balanced):
    model = posterior_model(balanced, shift=-20.0)  # every score far below 0.5
    assert th.check_decisions(model, balanced.x_test,
                              predicted=np.zeros(len(balanced.y_test), int)) == []


def two_unit_model(data):
    """Softmax over (0, Bayes logit): column 1 is the Bayes probability of class 1."""
    pi = float(np.mean(data.y_train))
    delta = np.full(data.n_features, 2.0 / np.sqrt(data.n_features))
    model = keras.Sequential([keras.Input(shape=(data.n_features,)),
                              keras.layers.Dense(2, activation="softmax")])
    model.layers[0].set_weights([np.stack([np.zeros_like(delta), delta], axis=1),
                                 np.array([0.0, np.log(pi / (1 - pi))])])
    model.compile(loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_thresholding_column_zero_of_a_softmax_fires(balanced, threshold):
    model = two_unit_model(balanced)
    p = model.predict(balanced.x_test, verbose=0)
    wrong = (p[:, 0] > threshold).astype(int)
    found = th.check_decisions(model, balanced.x_test, predicted=wrong, threshold=threshold)
    assert rule_ids(found) == {"thresholds.wrong-column"}
    assert found[0].evidence["auc"] < 0.05
    for right in (p.argmax(axis=1), (p[:, 1] > threshold).astype(int)):
        assert th.check_decisions(model, balanced.x_test, predicted=right,
                                  threshold=threshold) == []


def test_decisions_bad_input(balanced):
    model = posterior_model(balanced)
    with pytest.raises(ValueError, match="predicted"):
        th.check_decisions(model, balanced.x_test, predicted=np.full(len(balanced.y_test), 0.5))
    with pytest.raises(ValueError, match="same number of rows"):
        th.check_decisions(model, balanced.x_test, predicted=np.zeros(3, int))


# --- multi-label thresholds ----------------------------------------------------------------

def rare_labels(n, seed):
    """Three independent labels, label k ~ Bernoulli(sigmoid(x_k - 3.5)): about 5% positive,
    and the true probability is above 0.5 for well under 1% of rows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = (rng.random((n, 3)) < 1 / (1 + np.exp(-(x[:, :3] - 3.5)))).astype(int)
    return x, y


def posterior_multilabel():
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="sigmoid")])
    model.layers[0].set_weights([np.eye(4, 3), np.full(3, -3.5)])
    model.compile(loss="binary_crossentropy")
    return model


def test_rare_labels_at_one_half_fire_and_tuned_thresholds_are_silent():
    model = posterior_multilabel()
    x_val, y_val = rare_labels(4000, 1)
    x_test, y_test = rare_labels(4000, 2)
    found = th.check_multilabel(model, x_test, y_test)
    assert rule_ids(found) == {"thresholds.multilabel-labels-missed",
                            "thresholds.multilabel-one-threshold"}
    missed = found[0] if found[0].rule.endswith("missed") else found[1]
    assert missed.evidence["labels_missed"] == [0, 1, 2]
    assert missed.evidence["binary_accuracy"] >= missed.evidence["all_zero_accuracy"] - 0.01
    tuned = th.tune_label_thresholds(y_val, model.predict(x_val, verbose=0))
    assert (tuned < 0.4).all()
    assert th.check_multilabel(model, x_test, y_test, threshold=tuned) == []


def test_multilabel_check_leaves_other_targets_alone(balanced):
    model = posterior_model(balanced)
    assert th.check_multilabel(model, balanced.x_test, balanced.y_test) == []
    multilabel = posterior_multilabel()
    x, y = rare_labels(50, 0)
    with pytest.raises(ValueError, match="threshold"):
        th.check_multilabel(multilabel, x, y, threshold=[0.5, 0.5])


def test_tune_label_thresholds_finds_the_best_f1_cut():
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    p = np.array([[0.9, 0.2], [0.4, 0.1], [0.3, 0.6], [0.1, 0.7]])
    t = th.tune_label_thresholds(y, p)
    assert ((p[:, 0] > t[0]) == [1, 1, 0, 0]).all()
    assert 0.3 < t[0] < 0.4
    with pytest.raises(ValueError, match="same shape"):
        th.tune_label_thresholds(y, p[:, :1])


def test_multilabel_logits_are_read_with_a_sigmoid():
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3)])
    model.layers[0].set_weights([np.eye(4, 3), np.full(3, -3.5)])
    model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True))
    x, y = rare_labels(4000, 2)
    found = th.check_multilabel(model, x, y)
    assert "thresholds.multilabel-labels-missed" in rule_ids(found)
    lower = th.check_multilabel(model, x, y, threshold=np.full(3, 0.2))
    assert "thresholds.multilabel-labels-missed" not in rule_ids(lower)
