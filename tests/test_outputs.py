"""``diagnose``'s one forward pass (helpers/_outputs.py) and the generic runner: rows sized
by compute, checks that read the shared outputs find what they find on their own, a probe
that fails skips its check, and the registry's declarations hold on direct calls."""

import time

import keras
import numpy as np
import pytest

import helpers
from helpers import _keras, _outputs, _validate
from helpers.checks import CHECKS, fitting

from builders import dense_model


def conv_net(size=32, filters=32, *, batchnorm=False, dropout=False):
    inputs = keras.Input((size, size, 1))
    h = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(inputs)
    if batchnorm:
        h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    if dropout:
        h = keras.layers.Dropout(0.5)(h)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def mlp_with_batchnorm():
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.BatchNormalization(),
                              keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return model


def test_cost_per_row_and_budget_give_a_cnn_fewer_rows_than_an_mlp():
    macs, widest, total = _keras.cost_per_row(conv_net(64, 64))
    # Two 3x3 convolutions at 64x64 positions, 1 -> 64 -> 64 channels, dominate.
    assert macs >= 64 * 64 * (9 * 64 * 64)
    assert widest == 64 * 64 * 64 and total > 2 * widest
    cnn = _outputs.row_budget(conv_net(64, 64))
    mlp = _outputs.row_budget(dense_model())
    assert _outputs.MIN_ROWS <= cnn < mlp == _outputs.MAX_ROWS
    assert cnn == int(_outputs.MACS_BUDGET // macs)
    rows, batch = _outputs.gradient_batches(conv_net(64, 64), 256)
    assert 2 <= rows < 256 and 1 <= batch <= rows
    assert _outputs.gradient_batches(dense_model(), 256) == (256, 256)
    # A cheap model on large images: the sample is bounded by the memory its inputs take.
    inputs = keras.Input((224, 224, 3))
    cheap = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(
        inputs)))
    assert _outputs.row_budget(cheap) == _outputs.MAX_ROWS
    forward = _outputs.Forward(cheap, None, 10_000)
    assert forward.budget == int(_outputs.SAMPLE_BYTES // (4 * 224 * 224 * 3)) < 1000
    assert len(forward.rows) == forward.budget and forward.rows[-1] == 9999


@pytest.mark.parametrize("build", [mlp_with_batchnorm, lambda: conv_net(8, 8, batchnorm=True)])
def test_checks_given_the_shared_outputs_find_what_they_find_alone(build, rng):
    model = build()
    shape = model.inputs[0].shape[1:]
    x = rng.normal(size=(300, *shape)).astype("float32") * 3 + 1
    y = rng.integers(0, 2, size=300)
    model.fit(x, y, epochs=1, verbose=0)
    forward = _outputs.Forward(model, x, len(x))
    compared = 0
    for name, spec in CHECKS.items():
        if not spec.forward or "x_serve" in spec.needs:
            continue
        kwargs = {k: v for k, v in (("model", model), ("x", x), ("y", y))
                  if k in spec.needs + spec.optional}
        try:
            alone = spec.function(**kwargs)
        except (ValueError, TypeError):
            with pytest.raises((ValueError, TypeError)):
                spec.function(**kwargs, forward=forward)
            continue
        shared = spec.function(**kwargs, forward=forward)
        assert [f.rule for f in shared] == [f.rule for f in alone], name
        for a, b in zip(alone, shared):
            for key, value in a.evidence.items():
                if isinstance(value, float):
                    assert b.evidence[key] == pytest.approx(value, rel=1e-4, abs=1e-6), (name,
                                                                                       key)
        compared += 1
    assert compared >= 10


def test_summaries_of_conv_layers_match_their_full_values(rng):
    """Dead units and BatchNorm statistics from per-row summaries equal those from every
    value of the layers (a layer with dead channels, and moving statistics far off)."""
    model = conv_net(8, 8, batchnorm=True)
    conv = model.layers[1]
    kernel, bias = conv.get_weights()
    conv.set_weights([kernel, np.where(np.arange(len(bias)) < 6, -100.0, bias)])  # 6 dead
    bn = model.layers[2]
    bn.moving_mean.assign(np.full(bn.moving_mean.shape, 5.0))
    model.optimizer.iterations.assign(10)
    x = rng.uniform(0, 1, size=(200, 8, 8, 1)).astype("float32")
    forward = _outputs.Forward(model, x, len(x))
    for check, key in ((fitting.check_dead_relu, "dead"),
                       (fitting.check_batchnorm_statistics, "shift")):
        alone = check(model, x, max_share=0.1) if key == "dead" else check(model, x)
        shared = (check(model, x, max_share=0.1, forward=forward) if key == "dead"
                  else check(model, x, forward=forward))
        assert alone and [f.rule for f in alone] == [f.rule for f in shared]
        for a, b in zip(alone, shared):
            assert b.evidence[key] == pytest.approx(a.evidence[key], rel=1e-4)
            assert b.evidence["rows"] == a.evidence["rows"]
    variance = fitting.check_batchnorm_statistics(model, x, forward=forward)[0]
    alone = fitting.check_batchnorm_statistics(model, x)[0]
    assert variance.evidence["variance_ratio"] == pytest.approx(
        alone.evidence["variance_ratio"], rel=1e-3)


def test_gradient_probe_in_batches_averages_to_the_one_batch_gradient(rng, monkeypatch):
    model = keras.Sequential([keras.Input((5,))] + [keras.layers.Dense(8, activation="tanh")
                                                    for _ in range(3)]
                             + [keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    x = rng.normal(size=(100, 5)).astype("float32")
    y = rng.integers(0, 2, size=100)
    whole = fitting.layer_gradient_norms(model, x, y, max_rows=100)
    monkeypatch.setattr(_outputs, "GRADIENT_BYTES", 4 * 30 * 7)  # 30 values a row: 7 a batch
    assert _outputs.gradient_batches(model, 100)[1] < 10
    batched = fitting.layer_gradient_norms(model, x, y, max_rows=100)
    assert [name for name, _ in batched] == [name for name, _ in whole]
    for (_, a), (_, b) in zip(whole, batched):
        assert b == pytest.approx(a, rel=1e-4)


def test_the_rows_each_check_read_are_in_the_report(rng, monkeypatch):
    model = dense_model(n_features=3)
    x = rng.normal(size=(6000, 3))
    y = (x[:, 0] > 0).astype(int)
    model.fit(x, y, epochs=1, verbose=0)
    report = helpers.diagnose(model, x, y)
    read = report.rows_read
    assert read["check_predicted_probabilities"] == 2048
    assert read["check_inverted_predictions"] == _outputs.MAX_ROWS
    assert read["check_dead_relu"] == 512 and read["check_gradients"] == 256
    assert "check_predicted_probabilities 2048" in str(report)
    assert report.to_dict()["rows_read"] == read
    big = conv_net(64, 64)
    monkeypatch.setattr(_outputs, "MACS_BUDGET", 20 * _keras.cost_per_row(big)[0])
    images = rng.uniform(0, 1, size=(40, 64, 64, 1)).astype("float32")
    labels = rng.integers(0, 3, size=40)
    report = helpers.diagnose(big, images, labels, history={"loss": [1.1, 1.0]})
    budget = _outputs.row_budget(big)
    assert budget == 20
    assert max(report.rows_read.values()) == budget, report.rows_read


class Boom(keras.layers.Layer):
    """Fails whenever it runs on real numbers (not while the graph is built)."""

    calls = 0
    armed = False  # JAX traces ``call`` on abstract values to build the graph

    def call(self, inputs):
        if Boom.armed:
            Boom.calls += 1
            raise RuntimeError("out of memory in a probe")
        return inputs


def test_a_probe_that_fails_skips_its_checks_and_says_why(rng):
    inputs = keras.Input((3,))
    h = Boom()(keras.layers.Dense(4, activation="relu")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))
    model.compile("adam", "binary_crossentropy")
    x, y = rng.normal(size=(50, 3)), rng.integers(0, 2, size=50)
    Boom.armed = True
    try:
        report = helpers.diagnose(model, x, y, history={"loss": [0.7, 0.6]})
    finally:
        Boom.armed = False
    why = report.could_not_check
    assert "RuntimeError: out of memory in a probe" in why["check_predicted_probabilities"]
    assert "check_gradients" in why and not report.ok
    assert "check_softmax_single_unit" in report.checks_run
    # The shared pass failed once; the other checks (the gradient probe too, which reads
    # its rows from the pass) got the same error without running the model again.
    assert Boom.calls == 1


def test_model_calls_in_training_mode_are_skipped_only_for_models_that_ignore_it(rng):
    x = rng.uniform(0, 1, size=(20, 8, 8, 1)).astype("float32")
    plain, dropout = conv_net(8, 8), conv_net(8, 8, dropout=True)
    assert _keras.ignores_training(plain) and not _keras.ignores_training(dropout)
    assert not _keras.ignores_training(mlp_with_batchnorm())
    forward = _outputs.Forward(plain, x, len(x))
    forward.reader = "check_inference_mode"
    assert fitting.check_inference_mode(plain, x, forward=forward) == []
    assert "check_inference_mode" not in forward.rows_read  # the model did not run for it


def test_registry_declarations_hold_when_a_check_is_called_alone(rng):
    x, y = np.zeros((4, 3)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="model is not compiled"):
        CHECKS["check_predicted_probabilities"].function(dense_model(compile=False), x)
    inputs = keras.Input((3,))
    two = keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)])
    two.compile("adam", ["mse", "mse"])
    single = [name for name, spec in CHECKS.items() if spec.single_output]
    assert len(single) >= 10
    for name in single:
        kwargs = {k: v for k, v in (("model", two), ("x", x), ("y", y))
                  if k in CHECKS[name].needs}
        with pytest.raises(ValueError, match="model: this check handles single-output"):
            CHECKS[name].function(**kwargs)
    # The wrapper keeps the function's name, signature and documentation.
    assert fitting.check_gradients.__name__ == "check_gradients"
    assert "forward" in CHECKS["check_gradients"].function.__wrapped__.__code__.co_varnames
    assert CHECKS["check_column_mismatch"].unfit_serving


def test_every_check_that_runs_the_model_reads_the_shared_outputs():
    """A check that predicts, taps hidden layers or takes gradients must take ``forward``,
    or diagnose would run the model once more for it."""
    import inspect

    runs_model = ("_keras.predict(", "_tap(", "_predict(", "_Predictions(", "_probabilities(",
                  "layer_gradient_norms(", "learning_state(")
    for name, spec in CHECKS.items():
        source = inspect.getsource(spec.function.__dict__.get("__wrapped__", spec.function))
        if any(call in source for call in runs_model):
            assert spec.forward, name


def test_a_history_is_validated_once(rng):
    class CountingHistory:
        params = {"epochs": 3}
        reads = 0

        @property
        def history(self):
            CountingHistory.reads += 1
            return {"loss": [0.7, 0.6, 0.55], "val_loss": [0.7, 0.62, 0.6]}

    model = dense_model()
    x, y = rng.normal(size=(60, 3)), rng.integers(0, 2, size=60)
    report = helpers.diagnose(model, x, y, history=CountingHistory())
    assert CountingHistory.reads == 1
    assert "check_learning_curves" in report.checks_run
    checked = _validate.CheckedHistory({"loss": np.array([1.0])}, {"epochs": 1})
    assert _validate.as_history(checked) is checked and checked.params == {"epochs": 1}


def test_diagnose_on_a_small_cnn_costs_a_few_predicts(rng):
    """The shared forward pass: on a CNN whose predict dominates, diagnose (every check
    that reads predictions running, through a History) stays within 5 predicts of the
    same rows (measured 1.5x to 3.6x on a loaded 2-core machine, oneDNN on or off; before
    it, eight checks ran their own passes: 8x to 18x). Best of two timings each.

    On JAX the same pass costs 8x a predict on an idle machine: the time is in computing the
    probe's outputs (the hidden-layer summaries included), not in extra passes; compiling
    the probe with jax.jit did not change it. The bound there is 12x."""
    model = conv_net(32, 64)
    x = rng.uniform(0, 1, size=(1000, 32, 32, 1)).astype("float32")
    y = rng.integers(0, 3, size=1000)
    history = {"loss": [1.1, 1.0]}
    assert _outputs.row_budget(model) >= len(x)  # every row is read once

    def timed(fn):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    helpers.diagnose(model, x, y, history=history)  # warm up
    predict, diagnose = [], []
    for _ in range(2):
        predict.append(timed(lambda: model.predict(x, verbose=0)))
        diagnose.append(timed(lambda: helpers.diagnose(model, x, y, history=history)))
    bound = 12 if keras.backend.backend() == "jax" else 5
    assert min(diagnose) < bound * min(predict), (diagnose, predict)
