"""Tests for helpers.checks.preprocessing: streaming statistics, the skew, pixel-scale,
unscaled-input and column checks, each firing on the broken case and silent on the fix."""

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import helpers  # noqa: F401  (quiets TensorFlow first)
from helpers import stats
from helpers.checks import CHECKS, RULES
from helpers.checks import preprocessing as pp

from builders import model_with

SKEW, PIXEL = "preprocessing.serving-skew", "preprocessing.pixel-scale"
UNSCALED, COLUMNS = "preprocessing.unscaled-inputs", "preprocessing.column-mismatch"


@pytest.fixture(scope="module")
def cancer():
    return helpers.data.breast_cancer(seed=0)


@pytest.fixture(scope="module")
def standardized(cancer):
    mean, std = cancer.x_train.mean(axis=0), cancer.x_train.std(axis=0)
    return (cancer.x_train - mean) / std, (cancer.x_test - mean) / std


@pytest.fixture(scope="module")
def digits():
    d = helpers.data.digits(seed=0)
    return d.x_train / 16, d.x_test / 16, np.rint(d.x_test * 255 / 16)


# --- registry ------------------------------------------------------------------------------

def test_rules_and_checks_are_registered():
    for rule_id in (SKEW, PIXEL, UNSCALED, COLUMNS):
        assert rule_id in RULES and RULES[rule_id].doc.startswith("book/preprocessing/")
    assert set(CHECKS["check_serving_skew"].rules) == {SKEW, PIXEL}
    assert CHECKS["check_serving_skew"].needs == ("x", "x_serve")
    assert CHECKS["check_unscaled_inputs"].needs == ("model", "x")
    assert CHECKS["check_column_mismatch"].needs == ("x", "x_serve")


# --- feature_stats -------------------------------------------------------------------------

def test_feature_stats_matches_numpy_in_any_chunking():
    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, (5003, 7)).astype(np.float32)
    for batch_size in (1, 97, 5003, None):
        s = stats.feature_stats(x, batch_size=batch_size)
        np.testing.assert_allclose(s.mean, x.astype(float).mean(axis=0), rtol=1e-10)
        np.testing.assert_allclose(s.var, x.astype(float).var(axis=0), rtol=1e-8)
        np.testing.assert_array_equal(s.min, x.min(axis=0))
        np.testing.assert_array_equal(s.max, x.max(axis=0))
        assert s.rows == 5003 and (s.count == 5003).all() and not s.integer.any()


def test_feature_stats_is_numerically_stable_far_from_zero():
    rng = np.random.default_rng(1)
    x = 1e8 + rng.standard_normal((20000, 3))
    s = stats.feature_stats(x, batch_size=1000)
    np.testing.assert_allclose(s.var, x.var(axis=0), rtol=1e-6)


def test_feature_stats_counts_nan_inf_zeros_integers_and_outside():
    x = np.array([[0.0, 1.5, 2.0], [np.nan, 2.5, 3.0], [np.inf, 0.0, -1.0], [4.0, 1.0, 5.0]])
    s = stats.feature_stats(x, batch_size=2, bounds=([0, 0, 0], [1, 2, 4]))
    assert s.nan.tolist() == [1, 0, 0] and s.inf.tolist() == [1, 0, 0]
    assert s.count.tolist() == [2, 4, 4]
    np.testing.assert_allclose(s.mean, [2.0, 1.25, 2.25])
    assert s.zeros.tolist() == [1, 1, 0]
    assert s.integer.tolist() == [True, False, True]
    assert s.outside.tolist() == [1, 1, 2]  # 4 > 1; 2.5 > 2; -1 < 0 and 5 > 4


def test_feature_stats_reads_dataframes_batches_generators_and_datasets():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1000, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(city="x")
    want = x.mean(axis=0)
    by_frame = stats.feature_stats(frame, batch_size=64)
    assert by_frame.names == ("a", "b", "c") and by_frame.skipped == ("city",)
    dataset = tf.data.Dataset.from_tensor_slices((x, np.zeros(1000))).batch(128)
    for data in (by_frame, stats.feature_stats([x[:300], x[300:]]),
                 stats.feature_stats(b for b in np.array_split(x, 7)),
                 stats.feature_stats(dataset), stats.feature_stats(x.tolist())):
        np.testing.assert_allclose(data.mean, want)
        assert data.rows == 1000


def test_feature_stats_flattens_images():
    images = np.arange(2 * 4 * 4 * 1, dtype=np.uint8).reshape(2, 4, 4, 1)
    s = stats.feature_stats(images)
    assert s.n_features == 16 and s.integer.all() and s.max.max() == 31


# --- serving skew --------------------------------------------------------------------------

def test_skew_fires_on_unscaled_serving_and_names_the_worst_features(cancer, standardized):
    x_std, _ = standardized
    found = pp.check_serving_skew(x_std, cancer.x_test, feature_names=cancer.feature_names)
    assert [f.rule for f in found] == [SKEW]
    f = found[0]
    assert f.evidence["n_flagged"] >= 25 and f.evidence["max_shift"] > 100
    worst = f.evidence["worst"][0]["feature"]
    assert "area" in worst and worst in f.message


def test_skew_silent_on_fixed_twin_and_legit_splits(standardized):
    x_std, x_test_std = standardized
    assert pp.check_serving_skew(x_std, x_test_std) == []
    for seed in (0, 1, 2):
        for name in ("breast_cancer", "digits", "wine", "iris"):
            d = getattr(helpers.data, name)(seed=seed)
            for rows in (1, 10, 30, len(d.x_test)):
                assert pp.check_serving_skew(d.x_train, d.x_test[:rows]) == [], (name, seed, rows)


def test_skew_silent_on_random_splits_of_mostly_zero_pixels():
    """Rare non-zero pixels: 9 against 1 non-zero values in 300 rows happen by chance, and
    the spread test once flagged them on 13% of random splits of the same images."""
    d = helpers.data.digits(seed=0)
    pool = np.concatenate([d.x_train, d.x_test]) / 16
    rng = np.random.default_rng(0)
    alarms = 0
    for _ in range(40):
        order = rng.permutation(len(pool))
        alarms += bool(pp.check_serving_skew(pool[order[:300]], pool[order[300:600]]))
    assert alarms == 0


def test_skew_catches_a_one_sd_shift_on_one_feature():
    d = helpers.data.gaussian_binary(n_features=8, seed=0)
    moved = d.x_test + np.r_[1.0, np.zeros(7)]
    found = pp.check_serving_skew(d.x_train, moved)
    assert [f.rule for f in found] == [SKEW]
    assert found[0].evidence["worst"][0]["feature"] == "x0"
    assert found[0].evidence["n_flagged"] == 1


def test_skew_catches_spread_outside_and_one_sided_nan():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2000, 3))
    serve = rng.standard_normal((500, 3))
    wide = serve * [1, 5, 1]
    assert pp.check_serving_skew(x, wide)[0].evidence["reasons"]["spread"] == 1
    squashed = serve * [1, 1, 0]  # a scaler refitted on one-row batches gives zeros
    assert pp.check_serving_skew(x, squashed)[0].evidence["reasons"]["spread"] == 1
    holes = serve.copy()
    holes[::50, 2] = np.nan
    found = pp.check_serving_skew(x, holes)
    assert found[0].evidence["reasons"]["nan/inf"] == 1
    assert found[0].evidence["worst"][0]["nan_serve"] == 10


def test_pixel_scale_fires_on_raw_pixels_and_not_on_rescaled(digits):
    x01, test01, test255 = digits
    found = pp.check_serving_skew(x01, test255)
    assert [f.rule for f in found] == [PIXEL]
    assert found[0].evidence["serve_max"] == 255 and "255" in found[0].message
    assert pp.check_serving_skew(x01, test255 / 255) == []
    assert pp.check_serving_skew(x01, test01) == []


def test_skew_handles_dict_inputs(standardized, cancer):
    x_std, x_test_std = standardized
    found = pp.check_serving_skew({"a": x_std}, {"a": cancer.x_test})
    assert [f.rule for f in found] == [SKEW] and "'a'" in found[0].message
    assert pp.check_serving_skew({"a": x_std}, {"a": x_test_std}) == []


# --- unscaled inputs -----------------------------------------------------------------------

def test_unscaled_fires_without_normalization(cancer):
    found = pp.check_unscaled_inputs(model_with(30), cancer.x_train)
    assert [f.rule for f in found] == [UNSCALED]
    assert found[0].evidence["max_rms"] > 100


def test_unscaled_detects_layers_by_class_not_name(cancer):
    fake = model_with(30, keras.layers.Dense(4, name="normalization"))
    assert [f.rule for f in pp.check_unscaled_inputs(fake, cancer.x_train)] == [UNSCALED]
    norm = keras.layers.Normalization(name="whatever")
    norm.adapt(cancer.x_train)
    assert pp.check_unscaled_inputs(model_with(30, norm), cancer.x_train) == []


def test_unscaled_finds_normalization_inside_nested_model(cancer):
    norm = keras.layers.Normalization()
    norm.adapt(cancer.x_train)
    inner = keras.Sequential([keras.Input(shape=(30,)), norm, keras.layers.Dense(4)])
    inputs = keras.Input(shape=(30,))
    outer = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inner(inputs)))
    assert pp.normalizing_layers(outer)
    assert pp.check_unscaled_inputs(outer, cancer.x_train) == []
    rescaled = model_with(64, keras.layers.Rescaling(1 / 255))
    assert pp.check_unscaled_inputs(rescaled, np.full((5, 64), 200.0)) == []


def test_unscaled_silent_on_scaled_inputs(standardized, digits):
    assert pp.check_unscaled_inputs(model_with(30), standardized[0]) == []
    assert pp.check_unscaled_inputs(model_with(64), digits[0]) == []


# --- columns -------------------------------------------------------------------------------

def test_column_mismatch_fires_on_get_dummies_built_separately():
    train = pd.get_dummies(pd.DataFrame({"city": ["a", "b", "c", "a"], "n": [1, 2, 3, 4]}))
    serve = pd.get_dummies(pd.DataFrame({"city": ["b", "c", "d"], "n": [5, 6, 7]}))
    found = pp.check_column_mismatch(train, serve)
    assert [f.rule for f in found] == [COLUMNS]
    assert found[0].evidence["missing"] == ["city_a"] and found[0].evidence["extra"] == ["city_d"]
    assert "position" in found[0].message  # same count: silently misread
    fixed = serve.reindex(columns=train.columns, fill_value=False)
    assert pp.check_column_mismatch(train, fixed) == []


def test_column_mismatch_fires_on_reordered_columns_only_for_frames():
    train = pd.DataFrame({"a": [1.0], "b": [2.0]})
    found = pp.check_column_mismatch(train, train[["b", "a"]])
    assert found and found[0].evidence["reordered"] and not found[0].evidence["missing"]
    assert pp.check_column_mismatch(train.to_numpy(), train[["b", "a"]].to_numpy()) == []


# --- through diagnose ----------------------------------------------------------------------

def test_diagnose_reports_skew_and_unscaled(cancer, standardized):
    x_std, x_test_std = standardized
    plain = model_with(30)
    broken = helpers.diagnose(plain, x_std, cancer.y_train, x_serve=cancer.x_test)
    assert SKEW in broken.rules and UNSCALED not in broken.rules
    fixed = helpers.diagnose(plain, x_std, cancer.y_train, x_serve=x_test_std)
    assert not ({SKEW, PIXEL, UNSCALED, COLUMNS} & fixed.rules)
    raw = helpers.diagnose(plain, cancer.x_train, cancer.y_train)
    assert UNSCALED in raw.rules
    norm = keras.layers.Normalization()
    norm.adapt(cancer.x_train)
    assert UNSCALED not in helpers.diagnose(model_with(30, norm), cancer.x_train).rules


def test_diagnose_reports_pixel_scale(digits):
    x01, test01, test255 = digits
    model = model_with(64)
    assert PIXEL in helpers.diagnose(model, x01, x_serve=test255).rules
    assert PIXEL not in helpers.diagnose(model, x01, x_serve=test01).rules


def test_diagnose_reports_column_mismatch():
    train = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 3.0]})
    model = model_with(2)
    assert COLUMNS in helpers.diagnose(model, train, x_serve=train[["b", "a"]]).rules


def test_diagnose_reports_nan_only_at_serving():
    x = np.random.default_rng(0).standard_normal((200, 2))
    serve = x.copy()
    serve[::10, 0] = np.nan
    assert SKEW in helpers.diagnose(model_with(2), x, x_serve=serve).rules


# --- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("bad, error", [
    (None, TypeError), ("abc", TypeError), (np.empty((0, 3)), ValueError),
    (np.float64(3.0), ValueError), ([["a", "b"]], TypeError), ({"a": 1}, TypeError),
    (42, TypeError), (pd.DataFrame({"s": ["a"]}), TypeError), (iter([]), ValueError),
])
def test_feature_stats_bad_input_names_the_argument(bad, error):
    with pytest.raises(error, match="x_serve"):
        stats.feature_stats(bad, name="x_serve")


@pytest.mark.parametrize("argument", ["x", "x_serve"])
@pytest.mark.parametrize("bad, error", [
    (None, TypeError), ("text", TypeError), (np.empty((0, 3)), ValueError),
    ([["a", "b", "c"]], TypeError),
])
def test_skew_bad_input_names_the_argument(argument, bad, error):
    good = np.ones((5, 3))
    kwargs = {"x": good, "x_serve": good, argument: bad}
    with pytest.raises(error, match=argument):
        pp.check_serving_skew(**kwargs)


def test_skew_rejects_mismatched_widths_and_bad_options():
    x = np.zeros((10, 3))
    with pytest.raises(ValueError, match="x_serve has 2 features per row"):
        pp.check_serving_skew(x, np.zeros((10, 2)))
    with pytest.raises(ValueError, match="different numbers of features"):
        stats.feature_stats([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="max_shift"):
        pp.check_serving_skew(x, x, max_shift=-1)
    with pytest.raises(ValueError, match="min_rows"):
        pp.check_serving_skew(x, x, min_rows=0)
    with pytest.raises(ValueError, match="batch_size"):
        stats.feature_stats(x, batch_size=0)
    with pytest.raises(ValueError, match="feature_names"):
        pp.check_serving_skew(x, x, feature_names=["a"])
    with pytest.raises(TypeError, match="x and x_serve"):
        pp.check_serving_skew({"a": x}, x)


def test_skew_accepts_nan_without_error():
    x = np.ones((30, 2))
    x[0, 0] = np.nan
    assert pp.check_serving_skew(x, x) == []


def test_unscaled_bad_input():
    with pytest.raises(TypeError, match="model"):
        pp.check_unscaled_inputs("not a model", np.ones((3, 2)))
    with pytest.raises(TypeError, match="x"):
        pp.check_unscaled_inputs(model_with(2), None)
    with pytest.raises(ValueError, match="max_scale"):
        pp.check_unscaled_inputs(model_with(2), np.ones((3, 2)), max_scale=0)


def test_column_mismatch_bad_input():
    with pytest.raises(TypeError, match="x_serve"):
        pp.check_column_mismatch(pd.DataFrame({"a": [1]}), None)
    with pytest.raises(TypeError, match="x"):
        pp.check_column_mismatch("abc", pd.DataFrame({"a": [1]}))


def test_inputs_are_unchanged(cancer, standardized):
    x_std, _ = standardized
    x, serve = x_std.copy(), cancer.x_test.copy()
    serve[0, 0] = np.nan
    frame = pd.DataFrame(serve, columns=cancer.feature_names)
    before = (x.copy(), serve.copy(), frame.copy())
    pp.check_serving_skew(x, serve)
    pp.check_serving_skew(x, frame)
    pp.check_unscaled_inputs(model_with(30), serve)
    pp.check_column_mismatch(frame, frame.iloc[:, ::-1])
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(serve, before[1])
    pd.testing.assert_frame_equal(frame, before[2])


def test_unscaled_skips_string_inputs_of_multi_input_models():
    text = keras.Input(shape=(1,), dtype="string", name="city")
    number = keras.Input(shape=(1,), name="income")
    lookup = keras.layers.StringLookup(vocabulary=["a", "b"], output_mode="one_hot")
    joined = keras.layers.Concatenate()([lookup(text), number])
    model = keras.Model({"city": text, "income": number}, keras.layers.Dense(1)(joined))
    x = {"city": np.array([["a"], ["b"]], dtype=object), "income": np.array([[5e4], [6e4]])}
    assert pp.check_unscaled_inputs(model, x) == []  # StringLookup is a preprocessing layer
    plain_in = {"city": keras.Input(shape=(1,), dtype="string", name="city"),
                "income": keras.Input(shape=(1,), name="income")}
    plain = keras.Model(plain_in, keras.layers.Dense(1)(plain_in["income"]))
    found = pp.check_unscaled_inputs(plain, x)
    assert [f.rule for f in found] == [UNSCALED] and "'income'" in found[0].message


# --- leakage across the split -------------------------------------------------------------

def rows_of(findings):
    return {f.rule for f in findings}


def test_split_duplicates_fire_on_copies_and_not_on_fresh_rows(rng):
    x = rng.normal(size=(200, 5))
    test = np.vstack([x[:10], rng.normal(size=(40, 5))])      # 10 copied rows of 50
    found = pp.check_split_leakage(x, test)
    assert rows_of(found) == {"preprocessing.split-duplicates"}
    assert found[0].evidence["copies"] == 10
    assert not pp.check_split_leakage(x, rng.normal(size=(50, 5)))


def test_split_duplicates_silent_on_integer_data_where_equal_rows_are_expected(rng):
    one_hot = np.eye(4)[rng.integers(0, 4, 200)]
    assert not pp.check_split_leakage(one_hot, one_hot[:50])


def test_split_groups_and_time(rng):
    x, test = rng.normal(size=(100, 3)), rng.normal(size=(40, 3))
    groups, shared = np.repeat(np.arange(20), 5), np.repeat([3, 50, 51, 52], 10)
    found = pp.check_split_leakage(x, test, groups=groups, groups_serve=shared)
    assert rows_of(found) == {"preprocessing.split-groups"}
    assert found[0].evidence["shared_groups"] == 1
    assert not pp.check_split_leakage(x, test, groups=groups, groups_serve=shared + 100)
    times = np.arange(100)
    assert rows_of(pp.check_split_leakage(x, test, times=times, times_serve=rng.integers(
        0, 140, 40))) == {"preprocessing.split-time"}
    assert not pp.check_split_leakage(x, test, times=times, times_serve=np.arange(100, 140))
    dates = pd.date_range("2024-01-01", periods=100).to_numpy()
    later = pd.date_range("2024-05-01", periods=40).to_numpy()
    assert not pp.check_split_leakage(x, test, times=dates, times_serve=later)
    assert pp.check_split_leakage(x, test, times=dates, times_serve=dates[:40])


def test_split_leakage_rejects_bad_input_and_changes_nothing(rng):
    x, test = rng.normal(size=(30, 3)), rng.normal(size=(10, 3))
    with pytest.raises(ValueError, match="groups_serve"):
        pp.check_split_leakage(x, test, groups=np.arange(30))
    with pytest.raises(ValueError, match="groups"):
        pp.check_split_leakage(x, test, groups=np.arange(29), groups_serve=np.arange(10))
    with pytest.raises(TypeError, match="x_serve"):
        pp.check_split_leakage(x, "test.csv")
    before = x.copy(), test.copy()
    pp.check_split_leakage(x, test, groups=np.arange(30), groups_serve=np.arange(10))
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(test, before[1])


# --- image preprocessing beyond /255 --------------------------------------------------------

def rescaling_cnn(nested=False):
    inner = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 127.5, offset=-1),
                              keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    if not nested:
        return inner
    return keras.Sequential([keras.Input((8, 8, 3)), inner])


def coloured(rng, n=64):
    ink = rng.random((n, 8, 8, 1))
    return np.round(ink * [230.0, 140.0, 40.0] + (1 - ink) * [30.0, 60.0, 150.0])


@pytest.mark.parametrize("nested", [False, True])
def test_rescaled_twice_fires_on_prescaled_inputs_and_not_on_raw_pixels(rng, nested):
    raw = coloured(rng)
    model = rescaling_cnn(nested)
    for prescaled in (raw / 255, raw / 127.5 - 1):
        found = pp.check_rescaled_twice(model, prescaled)
        assert [f.rule for f in found] == ["preprocessing.rescaled-twice"]
        assert abs(found[0].evidence["scale"] - 1 / 127.5) < 1e-9
    assert not pp.check_rescaled_twice(model, raw)
    assert not pp.check_rescaled_twice(model_with(3), rng.random((10, 3)))   # no Rescaling


def test_channels_swapped_fires_on_bgr_and_not_on_rgb_or_other_data(rng):
    rgb, more_rgb = coloured(rng), coloured(rng)
    found = pp.check_channels_swapped(rgb, more_rgb[..., ::-1])
    assert [f.rule for f in found] == ["preprocessing.channels-swapped"]
    assert found[0].evidence["gap_reversed"] < 0.25 * found[0].evidence["gap"]
    assert not pp.check_channels_swapped(rgb, more_rgb)
    assert not pp.check_channels_swapped(rgb, more_rgb / 255)               # scale, not order
    assert not pp.check_channels_swapped(rng.random((30, 5)), rng.random((30, 5)))  # tabular
    grey = np.repeat(coloured(rng)[..., :1], 3, axis=-1)
    assert not pp.check_channels_swapped(grey, grey[..., ::-1])             # equal channels
    before = rgb.copy()
    pp.check_channels_swapped(rgb, more_rgb)
    np.testing.assert_array_equal(rgb, before)
    with pytest.raises(TypeError, match="x_serve"):
        pp.check_channels_swapped(rgb, None)
