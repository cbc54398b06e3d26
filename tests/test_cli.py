import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from helpers.cli import main

from builders import dense_model


@pytest.fixture
def files(tmp_path):
    broken = dense_model(activation="softmax")
    broken.save(tmp_path / "broken.keras")
    fixed = dense_model(activation="sigmoid")
    fixed.save(tmp_path / "fixed.keras")
    x = np.random.default_rng(0).normal(size=(30, 3))
    np.savez(tmp_path / "train.npz", x=x, y=np.arange(30) % 2)
    np.savez(tmp_path / "no_x.npz", features=x)
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}], dtype=object))
    (tmp_path / "history.json").write_text(json.dumps({"loss": [0.7, 0.6]}))
    return tmp_path


def test_errors_exit_1_and_clean_exits_0(files, capsys):
    assert main(["diagnose", str(files / "broken.keras"), "--data",
                 str(files / "train.npz")]) == 1
    assert "activation.softmax-single-unit" in capsys.readouterr().out
    assert main(["diagnose", str(files / "fixed.keras"), "--data", str(files / "train.npz"),
                 "--serve", str(files / "train.npz"),
                 "--history", str(files / "history.json")]) == 0


def test_json_output(files, capsys):
    assert main(["diagnose", str(files / "broken.keras"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["findings"][0]["rule"] == "activation.softmax-single-unit"


@pytest.mark.parametrize("args, message", [
    (["diagnose", "nope.keras"], "model file not found: nope.keras"),
    (["diagnose", "{d}/train.npz"], "could not load a Keras model"),
    (["diagnose", "{d}/fixed.keras", "--data", "{d}/missing.npz"], "--data file not found"),
    (["diagnose", "{d}/fixed.keras", "--data", "{d}/no_x.npz"], "has no array named 'x'"),
    (["diagnose", "{d}/fixed.keras", "--data", "{d}/objects.npz"], "refused to read"),
    (["diagnose", "{d}/fixed.keras", "--serve", "{d}/history.json"], "could not read"),
    (["diagnose", "{d}/fixed.keras", "--history", "{d}/train.npz"], "could not read"),
])
def test_unusable_inputs_exit_2_with_a_clear_message(files, capsys, args, message):
    assert main([a.format(d=files) for a in args]) == 2
    assert message in capsys.readouterr().err


def test_lambda_models_are_refused_not_executed(files, capsys):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.save(files / "lambda.keras")
    assert main(["diagnose", str(files / "lambda.keras")]) == 2
    err = capsys.readouterr().err
    assert "safe_mode=True" in err and "refused" in err


def test_data_that_does_not_fit_the_model(files, capsys):
    np.savez(files / "wide.npz", x=np.zeros((4, 7)))
    assert main(["diagnose", str(files / "fixed.keras"), "--data",
                 str(files / "wide.npz")]) == 2
    assert "x has rows of shape (7,)" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [
    ("null", "holds a JSON null, not a history"),
    ("[0.7, 0.6]", "holds a JSON list, not a history"),
    ('{"loss": [0.7, "n/a"]}', r"history['loss'] must be a list of numbers"),
    ('{"loss": []}', "history is empty"),
    ('{"loss": [0.7, 0.6], "val_loss": [0.7]}', "different numbers of epochs"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_bad_history_files_exit_2_naming_the_file(files, capsys, content, message):
    path = files / "bad_history.json"
    path.write_text(content)
    assert main(["diagnose", str(files / "fixed.keras"), "--history", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err and "Traceback" not in err


def test_bad_arrays_exit_2_naming_the_file(files, capsys):
    np.savez(files / "text.npz", x=np.array([["a", "b", "c"]] * 4))
    assert main(["diagnose", str(files / "fixed.keras"), "--data",
                 str(files / "text.npz")]) == 2
    err = capsys.readouterr().err
    assert f"--data {files / 'text.npz'}: x must be numeric" in err


def test_data_the_checks_could_not_use_exits_3(files, capsys):
    """No error found, but checks were given labels they could not read: not a clean exit."""
    x = np.random.default_rng(0).normal(size=(30, 3))
    np.savez(files / "names.npz", x=x, y=np.where(np.arange(30) % 2, "yes", "no"))
    assert main(["diagnose", str(files / "fixed.keras"), "--data",
                 str(files / "names.npz")]) == 3
    out = capsys.readouterr().out
    assert out.startswith("INCOMPLETE: ") and "could not use the data" in out
    x[0, 0] = np.nan  # NaN in x is the fault itself: an error, exit 1
    np.savez(files / "nan.npz", x=x, y=np.arange(30) % 2)
    assert main(["diagnose", str(files / "fixed.keras"), "--data",
                 str(files / "nan.npz")]) == 1
    assert "preprocessing.non-finite-inputs" in capsys.readouterr().out


def test_rules_listing(capsys):
    assert main(["rules", "--json"]) == 0
    ids = {r["id"] for r in json.loads(capsys.readouterr().out)}
    assert "activation.softmax-single-unit" in ids


def test_help_shows_a_worked_example():
    out = subprocess.run([sys.executable, "-m", "helpers", "diagnose", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "python -m helpers diagnose model.keras --data train.npz" in out
    assert "exit status" in out
    for code in ("0  no errors found", "1  errors found", "2  the inputs could not be read",
                 "3  no errors found, but some checks could not use the data"):
        assert code in out
