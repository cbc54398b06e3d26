"""Bad inputs to ``helpers.diagnose``, as a new user passes them (the fuzz list of issue 14).

Each case must end in one of three honest outcomes: a ``TypeError``/``ValueError`` that names
the argument, a finding that names the fault in the data, or a report that is not ok and
says what it could not check. Never a clean report, never a traceback from deep inside
numpy or Keras, and the caller's objects are never changed (a generator is not read).
"""

from __future__ import annotations

import copy
import functools

import keras
import numpy as np
import pandas as pd
import pytest

import helpers

from builders import dense_model, two_output_model

ROWS = 40


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 3))
    return x, (x[:, 0] > 0).astype(int)


@functools.cache
def _two_inputs():
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    h = keras.layers.Concatenate()([a, b])
    model = keras.Model([a, b], keras.layers.Dense(1, activation="sigmoid")(h))
    model.compile(loss="binary_crossentropy")
    return model


@functools.cache
def _two_outputs():
    return two_output_model()


def _with(x=None, y=None, **kwargs):
    return dict(x=x, y=y, **kwargs)


def _nan_x():
    x, y = _data()
    x[3, 1] = np.nan
    return _with(x, y)


def _inf_x():
    x, y = _data()
    x[:5, 0] = np.inf
    return _with(x, y)


def _nan_frame():
    x, y = _data()
    frame = pd.DataFrame(x, columns=["age", "income", "height"])
    frame.loc[2, "income"] = np.nan
    return _with(frame, y)


def _generator():
    x, y = _data()
    return _with(x[i:i + 8] for i in range(0, ROWS, 8))


def _dataset(batched=True, with_y=False):
    import tensorflow as tf

    x, y = _data()
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    return _with(ds.batch(8) if batched else ds, y if with_y else None)


def _empty_dataset():
    import tensorflow as tf

    return _with(tf.data.Dataset.from_tensor_slices(np.zeros((0, 3))).batch(8))


def _sequence_model():
    model = keras.Sequential([keras.Input((None, 2)), keras.layers.LSTM(3),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy")
    return model


def _ragged_batches():
    import tensorflow as tf

    spec = (tf.TensorSpec((None, None, 2), tf.float64), tf.TensorSpec((None,), tf.int64))
    return _with(tf.data.Dataset.from_generator(
        lambda: ((np.ones((2, steps, 2)), np.array([0, 1])) for steps in (3, 4)),
        output_signature=spec))


def _deep(depth):
    value = 0.5
    for _ in range(depth):
        value = [value]
    return value


X, Y = _data()
ERROR, FINDING, INCOMPLETE = "error", "finding", "incomplete"

# (id, model factory, inputs factory, expected outcome, detail)
#   ERROR: (exception type, regex that must match: it names the argument)
#   FINDING: the rule that must be reported
#   INCOMPLETE: a phrase of the reason given in the report's first line
CASES = [
    # --- x ---
    ("x-nan", dense_model, _nan_x, FINDING, "preprocessing.non-finite-inputs"),
    ("x-inf", dense_model, _inf_x, FINDING, "preprocessing.non-finite-inputs"),
    ("x-nan-dataframe", dense_model, _nan_frame, FINDING, "preprocessing.non-finite-inputs"),
    ("x-strings", dense_model, lambda: _with(X.astype(str).astype(object) + "a", Y), ERROR,
     (TypeError, "x must be numeric")),
    ("x-numeric-strings", dense_model, lambda: _with(X.astype(str), Y), ERROR,
     (TypeError, "x must be numeric, got strings such as '0.1")),
    ("x-generator", dense_model, _generator, ERROR, (TypeError, "x is a generator.*Pass arrays")),
    ("x-iterator", dense_model, lambda: _with(iter(list(X)), Y), ERROR,
     (TypeError, "x is a list_iterator")),
    ("x-dataset-unbatched", dense_model, lambda: _dataset(batched=False), ERROR,
     (ValueError, r"x is a .*Dataset of single rows.*\.batch")),
    ("x-dataset-and-y", dense_model, lambda: _dataset(with_y=True), ERROR,
     (ValueError, "y must be None when x is a dataset")),
    ("x-dataset-empty", dense_model, _empty_dataset, ERROR, (ValueError, "x is an empty")),
    ("x-dataset-ragged-batches", _sequence_model, _ragged_batches, ERROR,
     (ValueError, "the batches of x don't stack into one array")),
    ("x-object", dense_model, lambda: _with(object(), Y), ERROR,
     (TypeError, "x must be array-like")),
    ("x-set", dense_model, lambda: _with({1.0, 2.0}), ERROR, (TypeError, "x must be array-like")),
    ("x-scalar", dense_model, lambda: _with(3.0), ERROR,
     (ValueError, "x must have at least one dimension, got a scalar 3.0$")),
    ("x-wrong-width", dense_model, lambda: _with(X[:, :2], Y), ERROR,
     (ValueError, r"x has rows of shape \(2,\)")),
    ("x-1d-for-three-features", dense_model, lambda: _with(X[:, 0], Y), ERROR,
     (ValueError, r"x has rows of shape \(\)")),
    ("x-3d-for-dense", dense_model, lambda: _with(X.reshape(ROWS, 3, 1), Y), ERROR,
     (ValueError, "x has rows of shape")),
    ("x-empty", dense_model, lambda: _with(np.zeros((0, 3))), ERROR,
     (ValueError, "x must have at least 1 row")),
    ("x-dict-wrong-keys", _two_inputs, lambda: _with({"p": X[:, :2], "q": X}, Y), ERROR,
     (ValueError, r"x is a dict with keys \['p', 'q'\].*named \['a', 'b'\]")),
    ("x-dict-key-missing", _two_inputs, lambda: _with({"a": X[:, :2]}, Y), ERROR,
     (ValueError, r"no entry for \['b'\]")),
    ("x-dict-wrong-width", _two_inputs, lambda: _with({"a": X, "b": X}, Y), ERROR,
     (ValueError, r"x\['a'\] has rows of shape \(3,\)")),
    ("x-list-wrong-count", _two_inputs, lambda: _with([X[:, :2]], Y), ERROR,
     (ValueError, "x must hold 2 arrays")),
    ("x-list-unequal-rows", _two_inputs, lambda: _with([X[:, :2], X[:20]], None), ERROR,
     (ValueError, "the arrays in x have different numbers of rows")),
    ("x-sparse-wrong-width", dense_model, lambda: _with(_sparse(X[:, :2]), Y), ERROR,
     (ValueError, r"x has rows of shape \(2,\)")),
    # --- y ---
    ("y-strings", dense_model, lambda: _with(X, np.where(Y == 1, "yes", "no")), FINDING,
     "labels.string-labels"),
    ("y-strings-incomplete", dense_model, lambda: _with(X, np.where(Y == 1, "yes", "no")),
     INCOMPLETE, "strings"),
    ("y-single-class", dense_model, lambda: _with(X, np.zeros(ROWS, int)), FINDING,
     "labels.single-class"),
    ("y-single-class-one-hot", lambda: dense_model(units=2, activation="softmax",
                                                   loss="categorical_crossentropy"),
     lambda: _with(X, np.tile([0.0, 1.0], (ROWS, 1))), FINDING, "labels.single-class"),
    ("y-single-class-strings", dense_model, lambda: _with(X, np.array(["cat"] * ROWS)),
     FINDING, "labels.string-labels"),
    ("y-nan", dense_model, lambda: _with(X, np.where(Y == 1, 1.0, np.nan)), ERROR,
     (ValueError, "y contains")),
    ("y-none-values", dense_model, lambda: _with(X, [0, None] * (ROWS // 2)), ERROR,
     (ValueError, "y contains missing values")),
    ("y-wrong-length", dense_model, lambda: _with(X, Y[:10]), ERROR,
     (ValueError, "x has 40, y has 10")),
    ("y-3d-for-dense", dense_model, lambda: _with(X, Y.reshape(ROWS, 1, 1)), ERROR,
     (ValueError, r"y has shape \(40, 1, 1\)")),
    ("y-dict-for-one-output", dense_model, lambda: _with(X, {"y": Y}), ERROR,
     (TypeError, "y must be array-like, got a dict")),
    ("y-scalar", dense_model, lambda: _with(X, 1), ERROR, (ValueError, "y must have at least")),
    ("y-list-wrong-count", _two_outputs, lambda: _with(X, [Y, Y, Y]), ERROR,
     (ValueError, "y must hold 2 arrays")),
    ("y-dict-wrong-keys", _two_outputs, lambda: _with(X, {"p": Y, "second": X[:, :2]}), ERROR,
     (ValueError, r"outputs are named \['first', 'second'\]")),
    # --- x_serve ---
    ("x-serve-generator", dense_model, lambda: _with(X, Y, x_serve=(r for r in X)), ERROR,
     (TypeError, "x_serve is a generator")),
    ("x-serve-wrong-width", dense_model, lambda: _with(X, Y, x_serve=X[:, :2]), ERROR,
     (ValueError, "x_serve has rows of shape")),
    ("x-serve-nan-only-at-serving", dense_model,
     lambda: _with(X, Y, x_serve=np.where(X > 1, np.nan, X)), FINDING,
     "preprocessing.serving-skew"),
    # --- history ---
    ("history-list", dense_model, lambda: _with(history=[0.5, 0.4]), ERROR,
     (TypeError, "history must be a keras History")),
    ("history-empty-dict", dense_model, lambda: _with(history={}), ERROR,
     (ValueError, "history is empty")),
    ("history-empty-lists", dense_model, lambda: _with(history={"loss": [], "val_loss": []}),
     ERROR, (ValueError, "history is empty")),
    ("history-unequal-lists", dense_model,
     lambda: _with(history={"loss": [0.7, 0.6, 0.5], "val_loss": [0.7]}), ERROR,
     (ValueError, "history has metrics with different numbers of epochs")),
    ("history-string-value", dense_model, lambda: _with(history={"loss": [0.7, "0.6x"]}), ERROR,
     (TypeError, r"history\['loss'\].*item 1 is str")),
    ("history-none-value", dense_model, lambda: _with(history={"loss": [0.7, None]}), ERROR,
     (TypeError, r"history\['loss'\].*item 1 is None")),
    ("history-vector-value", dense_model,
     lambda: _with(history={"loss": [0.7, 0.6], "f1": [np.ones(2), np.ones(2)]}), ERROR,
     (TypeError, r"history\['f1'\].*item 0 is ndarray")),
    ("history-huge-int", dense_model, lambda: _with(history={"loss": [10 ** 400, 1]}), ERROR,
     (TypeError, r"history\['loss'\].*item 0")),
    ("history-complex", dense_model, lambda: _with(history={"loss": [1j, 0.5]}), ERROR,
     (TypeError, r"history\['loss'\].*item 0")),
    ("history-bool", dense_model, lambda: _with(history={"loss": [True, False]}), ERROR,
     (TypeError, r"history\['loss'\].*item 0")),
    ("history-number", dense_model, lambda: _with(history={"loss": 0.5}), ERROR,
     (TypeError, r"history\['loss'\] must be a list")),
    ("history-dict-value", dense_model, lambda: _with(history={"loss": {"a": 1.0}}), ERROR,
     (TypeError, r"history\['loss'\] must be a list")),
    ("history-no-loss", dense_model, lambda: _with(history={"accuracy": [0.5, 0.6]}), ERROR,
     (ValueError, "history has no 'loss' entry")),
    ("history-deeply-nested", dense_model, lambda: _with(history={"loss": [_deep(300)]}), ERROR,
     (TypeError, r"history\['loss'\].*item 0")),
    ("history-nan-loss", dense_model, lambda: _with(history={"loss": [0.7, np.nan, np.nan]}),
     FINDING, "fitting.divergence"),
    # --- model ---
    ("model-none", lambda: None, lambda: _with(X, Y), ERROR,
     (TypeError, "model must be a keras.Model")),
    ("model-path", lambda: "model.keras", lambda: _with(X, Y), ERROR,
     (TypeError, "model must be a keras.Model")),
]


def _sparse(a):
    import scipy.sparse

    return scipy.sparse.csr_matrix(a)


def _snapshot(value):
    """A deep copy to compare with after the call (None for objects that can't be copied)."""
    try:
        return copy.deepcopy(value)
    except Exception:  # tf.data datasets, generators
        return None


def _same(a, b) -> bool:
    if isinstance(a, pd.DataFrame | pd.Series):
        return a.equals(b)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(
            a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    if hasattr(a, "toarray"):
        return np.array_equal(a.toarray(), b.toarray())
    return True  # datasets, generators: checked below by reading them


@pytest.mark.parametrize("case_id, make_model, make_inputs, outcome, detail", CASES,
                         ids=[c[0] for c in CASES])
def test_bad_input_is_never_a_clean_report(case_id, make_model, make_inputs, outcome, detail):
    model, inputs = make_model(), make_inputs()
    before = {k: _snapshot(v) for k, v in inputs.items()}
    generators = {k: v for k, v in inputs.items() if hasattr(v, "__next__")}
    kwargs = {k: v for k, v in inputs.items() if k in ("x_serve", "history")}
    call = functools.partial(helpers.diagnose, model, inputs["x"], inputs["y"], **kwargs)
    if outcome == ERROR:
        error, words = detail
        with pytest.raises(error, match=words):
            call()
    else:
        report = call()
        assert not report.ok, f"a clean report for {case_id}:\n{report}"
        if outcome == FINDING:
            assert detail in report.rules, report
        else:
            assert report.could_not_check, report
            assert report.summary().startswith("INCOMPLETE") and detail in report.summary()
            assert str(report).splitlines()[0] == report.summary()
    for key, value in inputs.items():
        if before[key] is not None:
            assert _same(before[key], value), f"{key} was modified"
    for key, gen in generators.items():
        assert next(gen) is not None, f"{key}, a generator, was read"


def test_cases_cover_every_kind_of_outcome():
    outcomes = [c[3] for c in CASES]
    assert len(CASES) >= 50
    assert {ERROR, FINDING, INCOMPLETE} == set(outcomes)
