import keras
import numpy as np
import pytest

import helpers

from builders import dense_model


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    return x, (x[:, 0] > 0).astype(int)


def test_callback_reports_each_finding_once_and_never_changes_training():
    x, y = _data()
    cb = helpers.DiagnoseCallback(x, y, every=1, verbose=False)
    broken = dense_model(activation=None)
    twin = dense_model(activation=None)
    twin.set_weights(broken.get_weights())
    helpers.seed(0)
    broken.fit(x, y, epochs=3, batch_size=64, shuffle=False, verbose=0, callbacks=[cb])
    helpers.seed(0)
    twin.fit(x, y, epochs=3, batch_size=64, shuffle=False, verbose=0)
    assert all(np.allclose(a, b) for a, b in zip(broken.get_weights(), twin.get_weights()))
    assert "activation.unbounded-output" in cb.report.rules
    assert len(cb.report) == len({(f.rule, f.evidence.get("output")) for f in cb.report})
    assert cb.report_epochs["activation.unbounded-output"] == 1
    assert 0 < cb.seconds < 30  # three diagnoses, timed


def test_callback_silent_on_a_sound_model(capsys):
    x, y = _data()
    cb = helpers.DiagnoseCallback(x, y)
    dense_model(activation="sigmoid").fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert not cb.report.errors
    assert "check" in capsys.readouterr().out  # the summary is printed with verbose=True


@pytest.mark.parametrize("every, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                          (True, TypeError), ("2", TypeError)])
def test_callback_bad_every(every, error):
    with pytest.raises(error, match="every must be"):
        helpers.DiagnoseCallback(every=every)


def test_callback_names_the_epoch_overfitting_started():
    """Pure-noise labels and a wide network: validation loss turns up, training loss keeps
    falling, and the finding reported during training carries the epoch it started."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(60, 10)), rng.integers(0, 2, 60)
    x_val, y_val = rng.normal(size=(200, 10)), rng.integers(0, 2, 200)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    cb = helpers.DiagnoseCallback(every=10, verbose=False)
    model.fit(x, y, validation_data=(x_val, y_val), epochs=20, batch_size=60, verbose=0,
              callbacks=[cb])
    finding = next(f for f in cb.report if f.rule == "fitting.overfitting")
    started = finding.evidence["best_epoch"]
    assert 1 <= started < 20 and f"epoch {started}" in finding.message
    assert cb.report_epochs["fitting.overfitting"] in (10, 20)
    assert [f.rule for f in cb.report].count("fitting.overfitting") == 1


def test_a_metric_with_one_value_per_class_is_left_out_once_and_fit_survives():
    """F1Score(average=None) logs a vector each epoch; float() of it used to crash fit."""
    x, y = _data()
    model = dense_model(units=2, activation="softmax", loss="categorical_crossentropy",
                        metrics=[keras.metrics.F1Score(average=None)])
    cb = helpers.DiagnoseCallback(x, keras.utils.to_categorical(y, 2), every=1, verbose=False)
    with pytest.warns(UserWarning, match="f1_score: left out of the history") as caught:
        history = model.fit(x, keras.utils.to_categorical(y, 2), epochs=3, verbose=0,
                            callbacks=[cb])
    assert sum("f1_score" in str(w.message) for w in caught) == 1  # said once
    assert len(history.history["loss"]) == 3 and "f1_score" in history.history
    assert "f1_score" in cb.report.checks_skipped
    assert "check_learning_curves" in cb.report.checks_run  # the loss curve was still read


def test_a_diagnosis_that_fails_is_recorded_and_training_goes_on():
    x, y = _data()
    cb = helpers.DiagnoseCallback(x[:, :2], y, verbose=False)  # x that doesn't fit the model
    with pytest.warns(UserWarning, match="DiagnoseCallback: diagnose"):
        history = dense_model().fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert len(history.history["loss"]) == 2
    assert not cb.report.ok
    assert "x has rows of shape (2,)" in cb.report.could_not_check["diagnose"]
