"""helpers.diagnose on realistic faulty setups, each with its fixed twin.

Every case returns two setups of one small problem: one with a fault a reader could really
make (softmax on one unit, labels 1..K, a scaler forgotten at serving time, ...) and its
fixed twin. ``helpers.diagnose`` must report an error or warning of the case's chapter (and
its rule) on the faulty setup, and no error at all on the fixed twin (warnings are recorded).
The setups vary the way real code does: Sequential and functional models, several inputs,
Conv2D on images; losses as strings, functions and objects; labels as ints, floats, strings,
one-hot; inputs as numpy arrays, lists and DataFrames. Faults in the model's structure are
diagnosed before training, as a reader would before a long fit; fixed twins, and faults that
show only in predictions or learning curves, train for a few epochs on a few hundred rows
(or the curves are a plain dict). Healthy models that several cases share are trained once
per process.

Each case writes one JSON line to ``_build/diagnose-suite/``; ``tests/conftest.py`` prints
recall and false alarms per chapter at the end of the run (also under pytest-xdist).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
import pytest

import helpers
from helpers import data

from suite_table import record_diagnose_case

# Keras itself warns when a faulty model applies softmax to one unit; that is the fault.
# Keras also warns about from_logits=True after a softmax (loss.from-logits-after-squashing).
pytestmark = [pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1"),
              pytest.mark.filterwarnings("ignore:.*received `from_logits=True`")]


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """pytest-xdist runs one worker per core. With two OpenBLAS / OpenMP threads in each
    worker (numpy, scipy and scikit-learn's), the threads spin-wait for each other on these
    small arrays and this file took twice as long; one thread each is faster."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@dataclass(frozen=True)
class Case:
    id: str
    chapter: str
    rule: str
    build: Callable  # build() -> (faulty setup, fixed setup), each a dict for diagnose


CASES: dict[str, Case] = {}


def case(id: str, rule: str):
    """Register ``build()``, which returns the (faulty, fixed) setups, as a case whose fault
    is ``rule`` (its chapter is the rule's prefix)."""
    def register(build):
        assert id not in CASES, id
        assert id.split("-", 1)[0] == rule.split(".", 1)[0], (id, rule)
        CASES[id] = Case(id, rule.split(".", 1)[0], rule, build)
        return build
    return register


# --- small shared pieces -----------------------------------------------------------------

def mlp(n_features, units, activation, loss, *, hidden=(16,), optimizer=None,
        metrics=("accuracy",), functional=False, normalize=None, hidden_activation="relu",
        initializer="glorot_uniform"):
    """A small dense network; ``normalize`` is training data to adapt a Normalization layer."""
    inputs = keras.Input((n_features,))
    norm = None
    if normalize is not None:
        norm = keras.layers.Normalization()
        norm.adapt(np.asarray(normalize, dtype="float32"))
    if functional:
        h = norm(inputs) if norm is not None else inputs
        for width in hidden:
            h = keras.layers.Dense(width, activation=hidden_activation,
                                   kernel_initializer=initializer)(h)
        model = keras.Model(inputs, keras.layers.Dense(units, activation=activation)(h))
    else:
        layers = [inputs] + ([norm] if norm is not None else [])
        layers += [keras.layers.Dense(w, activation=hidden_activation,
                                      kernel_initializer=initializer) for w in hidden]
        model = keras.Sequential(layers + [keras.layers.Dense(units, activation=activation)])
    model.compile(optimizer=optimizer or keras.optimizers.Adam(0.01), loss=loss,
                  metrics=list(metrics) if metrics else None)
    return model


def train(model, x, y, epochs=8, batch_size=None, **kwargs):
    """``model.fit``, quietly. By default the batches are of equal size, about 40 rows: a
    smaller last batch makes TensorFlow trace the training step a second time, which costs
    more than all the epochs of these small models."""
    if batch_size is None:
        n = len(y)
        if "validation_split" in kwargs:
            n = int(n * (1 - kwargs["validation_split"]))
        divisors = [b for b in range(16, 65) if n % b == 0]
        batch_size = min(divisors, key=lambda b: abs(b - 40)) if divisors else 32
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, **kwargs)


def setup(model, x, y, x_serve=None, history=None):
    return dict(model=model, x=x, y=y, x_serve=x_serve, history=history)


def binary(n=400, n_features=4, separation=3.0, positive_fraction=0.5):
    return data.gaussian_binary(n, n, n_features=n_features, separation=separation,
                                positive_fraction=positive_fraction, seed=0)


def multiclass(n=450, n_classes=3, n_features=4, separation=4.0):
    return data.gaussian_multiclass(n, n, n_classes=n_classes, n_features=n_features,
                                    separation=separation, seed=0)


def one_hot(y, k=None):
    return keras.utils.to_categorical(y, k)


def standardize(train, *others):
    mean, sd = train.mean(axis=0), train.std(axis=0)
    return [(a - mean) / sd for a in (train,) + others]


def images(n=600):
    """Digits 0-9 as 8x8x1 images of whole numbers 0..255 (raw pixels), and their classes:
    ``n`` training and ``n`` new images."""
    ds = data.digits(seed=0)

    def raw(x):
        return np.round(x[:n] * 255 / 16).reshape(-1, 8, 8, 1)

    return raw(ds.x_train), ds.y_train[:n], raw(ds.x_test), ds.y_test[:n]


def cnn(units, activation, loss, metrics=("accuracy",)):
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(units, activation=activation),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss, metrics=list(metrics))
    return model


def cancer_frame():
    """Breast cancer as DataFrames (400 rows to train on), 1 = malignant (sklearn codes
    1 = benign)."""
    ds = data.breast_cancer(as_frame=True, seed=0)
    return ds.x_train.iloc[:400], 1 - ds.y_train[:400], ds.x_test, 1 - ds.y_test


def shared(build):
    """A trained model that several cases use as it is (as a fixed twin, or where the fault
    is in the data it is given): trained once per process, since ``diagnose`` never changes
    a model. It is built from seed 0 and leaves the random state at seed 0, so every case
    gets the same numbers whichever case asked first."""
    cached = functools.cache(build)

    @functools.wraps(build)
    def get():
        if not cached.cache_info().currsize:
            helpers.seed(0)
        result = cached()
        helpers.seed(0)
        return result

    return get


@shared
def good_binary():
    ds = binary()
    model = mlp(4, 1, "sigmoid", "binary_crossentropy")
    history = train(model, ds.x_train, ds.y_train, validation_data=(ds.x_test, ds.y_test))
    return ds, model, history


@shared
def good_multiclass():
    ds = multiclass()
    model = mlp(4, 3, "softmax", "sparse_categorical_crossentropy")
    return ds, model, train(model, ds.x_train, ds.y_train)


@shared
def good_one_hot():
    ds = multiclass(n_classes=4)
    model = mlp(4, 4, "softmax", keras.losses.CategoricalCrossentropy())
    return ds, one_hot(ds.y_train), model, train(model, ds.x_train, one_hot(ds.y_train))


@shared
def good_iris_one_hot():
    ds = data.iris(as_frame=True, seed=0)
    y = one_hot(ds.y_train)
    model = mlp(4, 3, "softmax", keras.losses.CategoricalCrossentropy(), normalize=ds.x_train)
    return ds, y, model, train(model, ds.x_train, y, epochs=12, batch_size=16)


@shared
def good_logits():
    ds = binary()
    model = mlp(4, 1, None, keras.losses.BinaryCrossentropy(from_logits=True))
    return ds, model, train(model, ds.x_train, ds.y_train.astype(float))


@shared
def good_cancer():
    x, y, x_new, y_new = cancer_frame()
    model = mlp(30, 1, "sigmoid", "binary_crossentropy", normalize=x)
    return x, y, x_new, y_new, model, train(model, x, y)


# --- activation --------------------------------------------------------------------------

@case("activation-softmax-one-unit-functional", "activation.softmax-single-unit")
def _():
    ds = binary()

    def build(activation):
        inputs = keras.Input((4,))
        h = keras.layers.Dense(16, activation="relu")(inputs)
        model = keras.Model(inputs, keras.layers.Dense(1, activation=activation)(h))
        model.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.binary_crossentropy, metrics=["accuracy"])
        return model

    faulty, fixed = build("softmax"), build("sigmoid")
    history = train(fixed, ds.x_train, ds.y_train, validation_split=0.2)
    return (setup(faulty, ds.x_train, ds.y_train, ds.x_test),      # checked before training
            setup(fixed, ds.x_train, ds.y_train, ds.x_test, history))


@case("activation-softmax-one-unit-conv2d-string-labels", "activation.softmax-single-unit")
def _():
    x, digit, x_new, digit_new = images()
    keep, keep_new = np.flatnonzero(digit < 2)[:96], digit_new < 2
    names = np.array(["zero", "one"])[digit[keep]]     # the labels as the user has them
    x, x_new = x[keep] / 255, x_new[keep_new] / 255
    faulty = cnn(1, "softmax", keras.losses.BinaryCrossentropy())
    fixed = cnn(1, "sigmoid", keras.losses.BinaryCrossentropy())
    history = train(fixed, x, (names == "one").astype(int), epochs=5)
    return setup(faulty, x, names, x_new), setup(fixed, x, names, x_new, history)


@case("activation-linear-output-bce-float-labels", "activation.unbounded-output")
def _():
    ds, fixed, history = good_logits()              # linear, from_logits=True
    y = ds.y_train.astype(float)
    faulty = mlp(4, 1, None, "binary_crossentropy")
    return setup(faulty, ds.x_train, y, ds.x_test), setup(fixed, ds.x_train, y, ds.x_test,
                                                          history)


@case("activation-relu-output-categorical-list-inputs", "activation.unbounded-output")
def _():
    ds = multiclass()
    x, x_new, y = ds.x_train.tolist(), ds.x_test.tolist(), one_hot(ds.y_train)
    faulty = mlp(4, 3, "relu", "categorical_crossentropy")
    fixed = mlp(4, 3, "softmax", "categorical_crossentropy")
    history = train(fixed, np.array(x), y)
    return setup(faulty, x, y, x_new), setup(fixed, x, y, x_new, history)


@case("activation-softmax-multilabel-dataframes", "activation.softmax-multilabel")
def _():
    ds = data.multilabel(400, 400, n_labels=3, seed=0)
    columns = ["x0", "x1", "x2", "x3"]
    x, x_new = (pd.DataFrame(a, columns=columns) for a in (ds.x_train, ds.x_test))
    y = pd.DataFrame(ds.y_train, columns=["sports", "politics", "tech"])
    faulty = mlp(4, 3, "softmax", "binary_crossentropy", metrics=["binary_accuracy"])
    fixed = mlp(4, 3, "sigmoid", "binary_crossentropy", metrics=["binary_accuracy"])
    history = train(fixed, x, y)
    return setup(faulty, x, y, x_new), setup(fixed, x, y, x_new, history)


@case("activation-sigmoid-units-categorical-object", "activation.sigmoid-single-label")
def _():
    ds, y, fixed, history = good_one_hot()              # softmax
    faulty = mlp(4, 4, "sigmoid", keras.losses.CategoricalCrossentropy())
    return setup(faulty, ds.x_train, y, ds.x_test), setup(fixed, ds.x_train, y, ds.x_test,
                                                          history)


@case("activation-sigmoid-units-get-dummies-bce", "activation.sigmoid-single-label")
def _():
    ds = data.wine(as_frame=True, seed=0)
    y = pd.get_dummies(pd.Series(ds.y_train).map(dict(enumerate(ds.class_names))))
    faulty = mlp(13, 3, "sigmoid", "binary_crossentropy", normalize=ds.x_train,
                 functional=True)
    fixed = mlp(13, 3, "softmax", "categorical_crossentropy", normalize=ds.x_train,
                functional=True)
    history = train(fixed, ds.x_train, y.astype("float32"), epochs=12, batch_size=16)
    return (setup(faulty, ds.x_train, y, ds.x_test),
            setup(fixed, ds.x_train, y, ds.x_test, history))


@case("activation-tanh-shifted-not-halved-ops", "activation.not-probabilities")
def _():
    ds = binary()

    def build(halve):
        inputs = keras.Input((4,))
        h = keras.layers.Dense(16, activation="relu")(inputs)
        p = keras.ops.add(keras.layers.Dense(1, activation="tanh")(h), 1.0)  # (tanh + 1) / 2
        model = keras.Model(inputs, keras.ops.multiply(p, 0.5) if halve else p)
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                      metrics=["accuracy"])
        return model

    faulty, fixed = build(False), build(True)
    history = train(fixed, ds.x_train, ds.y_train)
    return (setup(faulty, ds.x_train, ds.y_train, ds.x_test),
            setup(fixed, ds.x_train, ds.y_train, ds.x_test, history))


def regression(n=400, n_features=5, seed=0):
    """A linear regression problem with targets like the diabetes set's (mean 150, sd 75):
    standardized features, ``n`` rows to train on and ``n`` new ones."""
    from sklearn.datasets import make_regression

    x, y = make_regression(2 * n, n_features, n_informative=n_features, noise=20.0,
                           random_state=seed)
    y = 150 + 75 * (y - y.mean()) / y.std()
    return x[:n], y[:n], x[n:], y[n:]


@case("activation-sigmoid-output-on-regression-targets", "activation.bounded-regression-output")
def _():
    x, y, x_new, _ = regression()
    faulty = mlp(5, 1, "sigmoid", "mse", metrics=None)       # "outputs should be bounded"
    fixed = mlp(5, 1, None, "mse", metrics=None)
    mean, sd = y.mean(), y.std()
    return (setup(faulty, x, y, x_new, train(faulty, x, y)),
            setup(fixed, x, (y - mean) / sd, x_new, train(fixed, x, (y - mean) / sd)))


@case("activation-regression-target-in-dollars-adam", "activation.unscaled-regression-target")
def _():
    x, y, x_new, _ = regression()
    price = 1000 * y                                        # dollars, mean about $150k

    def build(target):
        model = mlp(5, 1, None, "mse", metrics=None, optimizer=keras.optimizers.Adam())
        return setup(model, x, target, x_new, train(model, x, target))

    return build(price), build((price - price.mean()) / price.std())


# --- loss --------------------------------------------------------------------------------

@case("activation-softmax-one-unit-one-feature-1d-x", "activation.softmax-single-unit")
def _():
    """One feature, passed as a 1-D array to a model with Input(shape=(1,)): Keras takes it."""
    rng = np.random.default_rng(0)
    hours = rng.uniform(0, 10, 400)                       # hours studied
    passed = (hours + rng.normal(0, 1.5, 400) > 5).astype(int)

    def build(activation):
        model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Rescaling(0.1),
                                  keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(1, activation=activation)])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                      metrics=["accuracy"])
        return model

    faulty, fixed = build("softmax"), build("sigmoid")
    history = train(fixed, hours, passed, epochs=10)
    return setup(faulty, hours, passed), setup(fixed, hours, passed, history=history)


@case("loss-mse-on-binary-labels", "loss.regression-loss-on-classes")
def _():
    ds, fixed, history = good_binary()
    faulty = mlp(4, 1, "sigmoid", "mse")
    return setup(faulty, ds.x_train, ds.y_train, ds.x_test), setup(fixed, ds.x_train,
                                                                   ds.y_train, ds.x_test,
                                                                   history)


@case("loss-mae-object-on-one-hot-iris", "loss.regression-loss-on-classes")
def _():
    ds, y, fixed, history = good_iris_one_hot()     # CategoricalCrossentropy()
    faulty = mlp(4, 3, "softmax", keras.losses.MeanAbsoluteError(), normalize=ds.x_train)
    return setup(faulty, ds.x_train, y, ds.x_test), setup(fixed, ds.x_train, y, ds.x_test,
                                                          history)


@case("loss-bce-function-on-softmax-multiclass", "loss.binary-crossentropy-multiclass")
def _():
    ds = multiclass(n_classes=4)
    y = one_hot(ds.y_train)
    faulty = mlp(4, 4, "softmax", keras.losses.binary_crossentropy, functional=True)
    fixed = mlp(4, 4, "softmax", keras.losses.categorical_crossentropy, functional=True)
    history = train(fixed, ds.x_train, y)
    return setup(faulty, ds.x_train, y, ds.x_test), setup(fixed, ds.x_train, y, ds.x_test,
                                                          history)


@case("loss-two-unit-softmax-bce-on-ids", "loss.binary-crossentropy-two-units-ids")
def _():
    ds, fixed, history = good_binary()              # one sigmoid unit
    faulty = mlp(4, 2, "softmax", "binary_crossentropy")  # Keras refuses to fit it
    y = ds.y_train[:, None]
    return setup(faulty, ds.x_train, y, ds.x_test), setup(fixed, ds.x_train, y, ds.x_test,
                                                          history)


@case("loss-categorical-with-int-list-labels", "loss.categorical-with-class-ids")
def _():
    ds, fixed, history = good_multiclass()          # sparse_categorical_crossentropy
    faulty = mlp(4, 3, "softmax", "categorical_crossentropy")  # Keras refuses to fit it
    y = ds.y_train.tolist()
    return setup(faulty, ds.x_train, y, ds.x_test), setup(fixed, ds.x_train, y, ds.x_test,
                                                          history)


@case("loss-categorical-with-ids-dict-inputs", "loss.categorical-with-class-ids")
def _():
    """Two named inputs fed as a dict (keys in another order, plus a column the model doesn't
    read, which Keras ignores); class ids with categorical cross-entropy."""
    ds = multiclass(n_features=5)
    x = {"id": np.arange(len(ds.y_train)), "labs": ds.x_train[:, 2:],
         "vitals": ds.x_train[:, :2]}

    def build(loss):
        a, b = keras.Input((2,), name="vitals"), keras.Input((3,), name="labs")
        h = keras.layers.Dense(16, activation="relu")(keras.layers.Concatenate()([a, b]))
        model = keras.Model([a, b], keras.layers.Dense(3, activation="softmax")(h))
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss, metrics=["accuracy"])
        return model

    faulty, fixed = build("categorical_crossentropy"), build("sparse_categorical_crossentropy")
    history = train(fixed, x, ds.y_train)
    return setup(faulty, x, ds.y_train), setup(fixed, x, ds.y_train, history=history)


@case("loss-sparse-with-get-dummies-labels", "loss.sparse-with-one-hot")
def _():
    ds, _, fixed, history = good_iris_one_hot()     # CategoricalCrossentropy()
    y = pd.get_dummies(pd.Series(ds.y_train).map(dict(enumerate(ds.class_names))))
    faulty = mlp(4, 3, "softmax", keras.losses.SparseCategoricalCrossentropy(),
                 normalize=ds.x_train)                          # Keras refuses to fit it
    return setup(faulty, ds.x_train, y, ds.x_test), setup(fixed, ds.x_train, y, ds.x_test,
                                                          history)


@case("loss-from-logits-after-softmax", "loss.from-logits-after-squashing")
def _():
    ds, fixed, history = good_multiclass()
    faulty = mlp(4, 3, "softmax", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return (setup(faulty, ds.x_train, ds.y_train, ds.x_test),
            setup(fixed, ds.x_train, ds.y_train, ds.x_test, history))


@case("loss-from-logits-relu-output", "loss.from-logits-bounded-output")
def _():
    ds, fixed, history = good_logits()              # linear output
    faulty = mlp(4, 1, "relu", keras.losses.BinaryCrossentropy(from_logits=True),
                 functional=True)
    return (setup(faulty, ds.x_train, ds.y_train, ds.x_test),
            setup(fixed, ds.x_train, ds.y_train, ds.x_test, history))


@case("loss-binary-accuracy-metric-multiclass", "loss.binary-accuracy-multiclass")
def _():
    ds, y, fixed, history = good_one_hot()          # metrics=["accuracy"]
    faulty = mlp(4, 4, "softmax", keras.losses.CategoricalCrossentropy(),
                 metrics=["binary_accuracy"])
    return setup(faulty, ds.x_train, y, ds.x_test), setup(fixed, ds.x_train, y, ds.x_test,
                                                          history)


# --- preprocessing -----------------------------------------------------------------------

@case("preprocessing-scaler-forgotten-at-serving", "preprocessing.serving-skew")
def _():
    from sklearn.preprocessing import StandardScaler

    x, y, x_new, _ = cancer_frame()
    scaler = StandardScaler().fit(x)
    model = mlp(30, 1, "sigmoid", "binary_crossentropy")
    history = train(model, scaler.transform(x), y)
    return (setup(model, scaler.transform(x), y, x_new.to_numpy(), history),
            setup(model, scaler.transform(x), y, scaler.transform(x_new), history))


@case("preprocessing-pixels-not-divided-conv2d", "preprocessing.pixel-scale")
def _():
    x, y, x_new, _ = images()
    model = cnn(10, "softmax", "sparse_categorical_crossentropy")
    history = train(model, x / 255, y, epochs=5)
    return (setup(model, x / 255, y, x_new, history),
            setup(model, x / 255, y, x_new / 255, history))


@case("preprocessing-unscaled-dataframe-no-normalization", "preprocessing.unscaled-inputs")
def _():
    x, y, x_new, _, fixed, history = good_cancer()  # starts with a Normalization layer
    faulty = mlp(30, 1, "sigmoid", "binary_crossentropy")
    return setup(faulty, x, y, x_new), setup(fixed, x, y, x_new, history)


@case("preprocessing-unscaled-dataframe-from-csv", "preprocessing.unscaled-inputs")
def _():
    """A table read with pandas.read_csv, as most tabular programs start: raw incomes and
    ages, the label a column of the same file."""
    import io

    rng = np.random.default_rng(0)
    income = rng.lognormal(10.8, 0.4, 400).round(-2)
    age = rng.integers(18, 80, 400)
    bought = (np.log(income) - 10.8 + (age - 48) / 30 + rng.normal(0, 0.3, 400) > 0)
    text = "income,age,bought\n" + "\n".join(
        f"{i:.0f},{a},{int(b)}" for i, a, b in zip(income, age, bought))
    table = pd.read_csv(io.StringIO(text))
    x, y = table.drop(columns="bought"), table["bought"]
    faulty = mlp(2, 1, "sigmoid", "binary_crossentropy")
    fixed = mlp(2, 1, "sigmoid", "binary_crossentropy", normalize=x)
    history = train(fixed, x, y, epochs=10)
    return setup(faulty, x, y), setup(fixed, x, y, history=history)


@case("preprocessing-columns-reordered-at-serving", "preprocessing.column-mismatch")
def _():
    x, y, x_new, _, model, history = good_cancer()
    return (setup(model, x, y, x_new[sorted(x_new.columns)], history),
            setup(model, x, y, x_new[x.columns], history))


@case("preprocessing-get-dummies-padded-at-the-end", "preprocessing.column-mismatch")
def _():
    rng = np.random.default_rng(0)
    n = 400
    city = rng.choice(["Austin", "Boston", "Chicago"], n)
    size = rng.normal(0, 1, n)
    y = ((size + (city == "Boston") * 1.5 + rng.normal(0, 0.5, n)) > 0.5).astype(int)
    x = pd.get_dummies(pd.DataFrame({"size": size, "city": city}), dtype=float)
    # A serving batch of eight rows happens to have no Austin, so get_dummies makes one
    # column fewer; the user pads the missing column at the end.
    batch = pd.DataFrame({"size": rng.normal(0, 1, 8), "city": ["Boston", "Chicago"] * 4})
    padded = pd.get_dummies(batch, dtype=float).assign(city_Austin=0.0)
    aligned = pd.get_dummies(batch, dtype=float).reindex(columns=x.columns, fill_value=0.0)
    model = mlp(4, 1, "sigmoid", "binary_crossentropy")
    history = train(model, x, y)
    return setup(model, x, y, padded, history), setup(model, x, y, aligned, history)


@case("preprocessing-get-dummies-column-missing", "preprocessing.column-mismatch")
def _():
    rng = np.random.default_rng(1)
    n = 400
    plan = rng.choice(["basic", "plus", "pro"], n)
    usage = rng.gamma(2.0, 1.0, n)
    y = ((usage / 2 + (plan == "pro") - 1 + rng.normal(0, 0.5, n)) > 0).astype(int)
    x = pd.get_dummies(pd.DataFrame({"usage": usage, "plan": plan}), dtype=float)
    # A serving batch without a "plus" customer: get_dummies makes one column fewer, which
    # the model can't take; the report names the missing column instead of a shape error.
    batch = pd.DataFrame({"usage": rng.gamma(2.0, 1.0, 6), "plan": ["basic", "pro"] * 3})
    model = mlp(4, 1, "sigmoid", "binary_crossentropy", functional=True, normalize=x)
    history = train(model, x, y)
    return (setup(model, x, y, pd.get_dummies(batch, dtype=float), history),
            setup(model, x, y, pd.get_dummies(batch, dtype=float).reindex(
                columns=x.columns, fill_value=0.0), history))


@case("preprocessing-multi-input-one-input-unscaled", "preprocessing.serving-skew")
def _():
    rng = np.random.default_rng(0)
    n = 400
    vitals = rng.normal([120, 80], [15, 10], (2 * n, 2))
    labs = rng.lognormal(3, 0.5, (2 * n, 3))
    y = ((vitals[:, 0] - 120) / 15 + np.log(labs[:, 0]) - 3 > 0).astype(int)[:n]
    vitals, vitals_new = standardize(vitals[:n], vitals[n:])
    labs_raw = labs[n:]
    labs, labs_new = standardize(labs[:n], labs[n:])
    a, b = keras.Input((2,), name="vitals"), keras.Input((3,), name="labs")
    h = keras.layers.Dense(16, activation="relu")(keras.layers.Concatenate()([a, b]))
    model = keras.Model([a, b], keras.layers.Dense(1, activation="sigmoid")(h))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    x = {"vitals": vitals, "labs": labs}
    history = train(model, x, y)
    return (setup(model, x, y, {"vitals": vitals_new, "labs": labs_raw}, history),
            setup(model, x, y, {"vitals": vitals_new, "labs": labs_new}, history))


@case("preprocessing-missing-values-at-serving-lists", "preprocessing.serving-skew")
def _():
    ds, model, history = good_binary()
    x_serve = ds.x_test.copy()
    missing = np.random.default_rng(0).random(len(x_serve)) < 0.2
    x_serve[missing, 2] = np.nan                       # the imputer ran in training only
    imputed = x_serve.copy()
    imputed[missing, 2] = ds.x_train[:, 2].mean()
    x, y = ds.x_train.tolist(), ds.y_train.tolist()
    return (setup(model, x, y, x_serve.tolist(), history),
            setup(model, x, y, imputed.tolist(), history))



@case("preprocessing-split-duplicates-oversampled-before-split",
      "preprocessing.split-duplicates")
def _():
    from imblearn.over_sampling import RandomOverSampler
    from sklearn.model_selection import train_test_split

    ds = binary(n=600, separation=2.0, positive_fraction=0.1)

    def build(x_fit, y_fit, x_held):
        model = mlp(4, 1, "sigmoid", "binary_crossentropy")
        return setup(model, x_fit, y_fit, x_held, train(model, x_fit, y_fit, epochs=5))

    x_over, y_over = RandomOverSampler(random_state=0).fit_resample(ds.x_train, ds.y_train)
    x_a, x_b, y_a, _ = train_test_split(x_over, y_over, test_size=0.25, random_state=0)
    x_c, x_d, y_c, _ = train_test_split(ds.x_train, ds.y_train, test_size=0.25,
                                        random_state=0)
    x_c, y_c = RandomOverSampler(random_state=0).fit_resample(x_c, y_c)
    return build(x_a, y_a, x_b), build(x_c, y_c, x_d)


def coloured_digits():
    """images() coloured orange on blue, as 0..255 RGB, with a little sensor noise (a
    background pixel that is exactly constant in training trips the serving-skew check)."""
    x, y, x_new, y_new = images()
    rng = np.random.default_rng(0)
    stroke, ground = np.array([230.0, 140.0, 40.0]), np.array([30.0, 60.0, 150.0])

    def colour(ink):
        rgb = ink * stroke + (1 - ink) * ground
        return np.clip(np.round(rgb + rng.normal(0, 4, rgb.shape)), 0, 255)

    return colour(x / 255), y, colour(x_new / 255), y_new


@case("preprocessing-rescaled-twice-rescaling-inside", "preprocessing.rescaled-twice")
def _():
    x, y, x_new, _ = coloured_digits()
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = train(model, x, y, epochs=5)
    # The reader's pipeline divides by 255 as well, before the model:
    return setup(model, x / 255, y, x_new / 255), setup(model, x, y, x_new, history)


@case("preprocessing-channels-swapped-bgr-serving", "preprocessing.channels-swapped")
def _():
    x, y, x_new, _ = coloured_digits()
    model = keras.Sequential([keras.Input((8, 8, 3)),
                              keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = train(model, x / 255, y, epochs=5)
    return (setup(model, x / 255, y, x_new[..., ::-1] / 255, history),     # read with OpenCV
            setup(model, x / 255, y, x_new / 255, history))

# --- fitting -----------------------------------------------------------------------------

def curves(n, val_min_epoch=None):
    """Learning curves as a dict: the training loss falls; the validation loss levels off,
    or bottoms out at ``val_min_epoch`` and rises after it."""
    epochs = np.arange(n)
    loss = 0.2 + 0.5 * np.exp(-epochs / 5)
    val = 0.3 + 0.45 * np.exp(-epochs / 5)
    if val_min_epoch is not None:
        val = val + 0.02 * np.maximum(epochs - val_min_epoch, 0)
    accuracy = 0.95 - 0.4 * np.exp(-epochs / 5)
    return {"loss": loss.tolist(), "val_loss": val.tolist(), "accuracy": accuracy.tolist()}


@case("fitting-overfitting-history-dict", "fitting.overfitting")
def _():
    ds, model, _ = good_binary()
    return (setup(model, ds.x_train, ds.y_train, ds.x_test, curves(30, val_min_epoch=8)),
            setup(model, ds.x_train, ds.y_train, ds.x_test, curves(30)))


@case("fitting-divergence-regression-unscaled-target", "fitting.divergence")
def _():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (800, 3))
    price = 250_000 + x @ [60_000, 30_000, -20_000] + rng.normal(0, 20_000, 800)

    def build(target, optimizer):
        model = mlp(3, 1, None, "mse", optimizer=optimizer, metrics=None)
        history = train(model, x[:400], target[:400], epochs=5)
        return setup(model, x[:400], target[:400], x[400:], history)

    return (build(price, keras.optimizers.SGD(0.01)),            # prices in dollars
            build(price / 100_000, keras.optimizers.SGD(0.01)))  # in units of $100k


@case("fitting-divergence-seen-in-predictions-no-history", "fitting.divergence")
def _():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (800, 3))
    price = 250_000 + x @ [60_000, 30_000, -20_000] + rng.normal(0, 20_000, 800)

    def build(target):
        model = mlp(3, 1, None, "mse", optimizer=keras.optimizers.SGD(0.01), metrics=None)
        train(model, x[:400], target[:400], epochs=5)
        return setup(model, x[:400], target[:400], x[400:])    # the History was not kept

    return build(price), build((price - 250_000) / 60_000)


@case("fitting-not-learned-train-on-batch-unscaled", "fitting.not-learned")
def _():
    x, y, x_new, _ = cancer_frame()

    def build(normalize, steps):
        model = mlp(30, 1, "sigmoid", "binary_crossentropy", normalize=normalize,
                    optimizer=keras.optimizers.SGD(0.01))
        # On JAX, train_on_batch refuses a DataFrame (fit accepts one): askers pass arrays.
        rows = x.to_numpy() if keras.backend.backend() == "jax" else x
        for _ in range(steps):                                  # a hand-written loop
            for start in range(0, 400, 40):
                model.train_on_batch(rows[start:start + 40], y[start:start + 40])
        return setup(model, x, y, x_new)

    return build(None, 3), build(x, 8)


@case("fitting-learning-rate-adam-too-high", "fitting.learning-rate")
def _():
    ds, fixed, history = good_binary()                 # Adam(0.01)
    faulty = mlp(4, 1, "sigmoid", "binary_crossentropy", optimizer=keras.optimizers.Adam(0.5))
    return setup(faulty, ds.x_train, ds.y_train, ds.x_test), setup(fixed, ds.x_train,
                                                                   ds.y_train, ds.x_test,
                                                                   history)


@case("fitting-learning-rate-sgd-too-low", "fitting.learning-rate")
def _():
    ds, fixed, history = good_multiclass()          # Adam(0.01)
    faulty = mlp(4, 3, "softmax", "sparse_categorical_crossentropy",
                 optimizer=keras.optimizers.SGD(1e-6, momentum=0.9))
    return (setup(faulty, ds.x_train, ds.y_train, ds.x_test,
                  train(faulty, ds.x_train, ds.y_train)),
            setup(fixed, ds.x_train, ds.y_train, ds.x_test, history))


@case("fitting-underfitting-linear-on-circles", "fitting.underfitting")
def _():
    from sklearn.datasets import make_circles

    x, y = make_circles(800, noise=0.1, factor=0.5, random_state=0)
    ring = np.array(["outer", "inner"])[y[:400]]        # the labels as the user has them

    def build(hidden):
        model = mlp(2, 1, "sigmoid", "binary_crossentropy", hidden=hidden,
                    optimizer=keras.optimizers.Adam(0.03))
        history = train(model, x[:400], (ring == "inner").astype(int), epochs=10)
        return setup(model, x[:400], ring, x[400:], history)

    return build(()), build((32,))


@case("fitting-vanishing-gradients-deep-sigmoid", "fitting.vanishing-gradients")
def _():
    ds = binary(n_features=8)
    faulty = mlp(8, 1, "sigmoid", "binary_crossentropy", hidden=(32,) * 8,
                 hidden_activation="sigmoid", optimizer=keras.optimizers.Adam(0.001))
    fixed = mlp(8, 1, "sigmoid", "binary_crossentropy", hidden=(32,) * 8,
                initializer="he_normal", optimizer=keras.optimizers.Adam(0.001))
    history = train(fixed, ds.x_train, ds.y_train, epochs=5)
    return (setup(faulty, ds.x_train, ds.y_train, ds.x_test),
            setup(fixed, ds.x_train, ds.y_train, ds.x_test, history))


@case("fitting-dead-relu-unscaled-inputs", "fitting.dead-relu")
def _():
    x, y, x_new, _ = cancer_frame()
    x, x_new = x.to_numpy(), x_new.to_numpy()
    faulty = mlp(30, 1, "sigmoid", "binary_crossentropy", hidden=(32, 32),
                 optimizer=keras.optimizers.Adam(0.03))
    fixed = mlp(30, 1, "sigmoid", "binary_crossentropy", hidden=(32, 32), normalize=x,
                optimizer=keras.optimizers.Adam(0.003))
    return (setup(faulty, x, y, x_new, train(faulty, x, y, epochs=5)),
            setup(fixed, x, y, x_new, train(fixed, x, y, epochs=5)))


@case("fitting-oscillation-history-dict", "fitting.oscillation")
def _():
    ds, model, history = good_binary()
    # On these well-separated classes even a high learning rate settles, so the bouncing
    # curve comes as a dict, the way a user pastes one from another run.
    bouncing = {"loss": [0.69, 0.52, 0.61, 0.45, 0.57, 0.43, 0.55, 0.41, 0.52, 0.44],
                "accuracy": [0.55, 0.74, 0.68, 0.80, 0.73, 0.82, 0.76, 0.83, 0.78, 0.82]}
    return (setup(model, ds.x_train, ds.y_train, ds.x_test, bouncing),
            setup(model, ds.x_train, ds.y_train, ds.x_test, history))


@case("fitting-still-improving-too-few-epochs", "fitting.still-improving")
def _():
    ds, fixed, history = good_binary()              # Adam(0.01), 8 epochs
    faulty = mlp(4, 1, "sigmoid", "binary_crossentropy", optimizer=keras.optimizers.Adam(0.002))
    short = train(faulty, ds.x_train, ds.y_train, epochs=4,
                  validation_data=(ds.x_test, ds.y_test))
    return (setup(faulty, ds.x_train, ds.y_train, ds.x_test, short),
            setup(fixed, ds.x_train, ds.y_train, ds.x_test, history))



@case("fitting-validation-split-on-class-sorted-rows", "fitting.validation-split-sorted")
def _():
    ds = multiclass()
    order = np.argsort(ds.y_train, kind="stable")      # one file per class, concatenated
    x_sorted, y_sorted = ds.x_train[order], ds.y_train[order]
    mixed = np.random.default_rng(0).permutation(len(order))

    def build(x, y):
        model = mlp(4, 3, "softmax", "sparse_categorical_crossentropy")
        return setup(model, x, y, ds.x_test, train(model, x, y, validation_split=0.2))

    return build(x_sorted, y_sorted), build(x_sorted[mixed], y_sorted[mixed])


@case("fitting-batchnorm-input-layer-too-few-steps", "fitting.batchnorm-statistics")
def _():
    x, y, x_new, _ = cancer_frame()           # raw features, some in the hundreds

    def build(momentum, epochs, batch_size):
        model = keras.Sequential([keras.Input((30,)),
                                  keras.layers.BatchNormalization(momentum=momentum),
                                  keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy",
                      metrics=["accuracy"])
        return setup(model, x, y, x_new, train(model, x, y, epochs=epochs,
                                               batch_size=batch_size))

    # 25 steps moving 1% of the way per step, against 100 steps moving 10%: features with
    # variances near 1e-4 need the moving variance to forget its starting 1 almost entirely.
    return build(0.99, 5, 80), build(0.9, 10, 40)


@case("fitting-training-mode-dropout-built-in", "fitting.training-mode-inference")
def _():
    ds = binary()

    def build(training):
        inputs = keras.Input((4,))
        h = keras.layers.Dense(32, activation="relu")(inputs)
        h = keras.layers.Dropout(0.5)(h, training=training)  # copied from an MC-dropout demo
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                      metrics=["accuracy"])
        return setup(model, ds.x_train, ds.y_train, ds.x_test,
                     train(model, ds.x_train, ds.y_train))

    return build(True), build(None)


@case("fitting-unfrozen-base-not-recompiled", "fitting.trainable-changed-after-compile")
def _():
    ds = binary()

    def build(recompile):
        base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16),
                                 keras.layers.BatchNormalization(),
                                 keras.layers.Activation("relu")], name="base")
        base.trainable = False                  # stage 1: a new head on the frozen base
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(base(inputs)))
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                      metrics=["accuracy"])
        train(model, ds.x_train, ds.y_train, epochs=4)
        base.trainable = True                   # stage 2: fine-tune everything
        if recompile:
            model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                          metrics=["accuracy"])
        elif keras.backend.backend() == "jax":  # JAX stops the fit; the asker asks why
            with pytest.raises(ValueError, match="optimizer_variables"):
                train(model, ds.x_train, ds.y_train, epochs=4)
            return setup(model, ds.x_train, ds.y_train, ds.x_test)
        return setup(model, ds.x_train, ds.y_train, ds.x_test,
                     train(model, ds.x_train, ds.y_train, epochs=4))

    return build(False), build(True)


@case("fitting-fine-tuned-batchnorm-training-false", "fitting.training-false-overridden")
def _():
    ds = binary()

    def build(freeze_batchnorm):
        base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16),
                                 keras.layers.BatchNormalization(),
                                 keras.layers.Activation("relu")], name="base")
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(
            base(inputs, training=False)))      # the Keras 2 fine-tuning recipe
        base.layers[1].trainable = not freeze_batchnorm
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                      metrics=["accuracy"])
        return setup(model, ds.x_train, ds.y_train, ds.x_test,
                     train(model, ds.x_train, ds.y_train, epochs=4))

    return build(False), build(True)

# --- labels ------------------------------------------------------------------------------

@case("labels-minus-one-svm-labels", "labels.minus-one-labels")
def _():
    ds, fixed, history = good_binary()
    faulty = mlp(4, 1, "sigmoid", "binary_crossentropy")
    y_svm = 2 * ds.y_train - 1
    return (setup(faulty, ds.x_train, y_svm, ds.x_test),
            setup(fixed, ds.x_train, ds.y_train, ds.x_test, history))


@case("labels-one-based-class-ids-sparse", "labels.class-ids-out-of-range")
def _():
    ds = data.wine(seed=0)
    faulty = mlp(13, 3, "softmax", "sparse_categorical_crossentropy", normalize=ds.x_train)
    fixed = mlp(13, 3, "softmax", "sparse_categorical_crossentropy", normalize=ds.x_train)
    history = train(fixed, ds.x_train, ds.y_train, epochs=12, batch_size=16)
    # The UCI file numbers the cultivars 1..3; Keras stops when fitting on them.
    return (setup(faulty, ds.x_train, ds.y_train + 1, ds.x_test),
            setup(fixed, ds.x_train, ds.y_train, ds.x_test, history))


@case("labels-three-classes-one-sigmoid", "labels.class-ids-out-of-range")
def _():
    ds, y, fixed, history = good_iris_one_hot()     # softmax over 3 units, one-hot labels
    faulty = mlp(4, 1, "sigmoid", "binary_crossentropy", normalize=ds.x_train)  # Keras fits it
    return (setup(faulty, ds.x_train, ds.y_train, ds.x_test),
            setup(fixed, ds.x_train, y, ds.x_test, history))


@case("labels-label-column-min-max-scaled", "labels.non-integer-class-ids")
def _():
    from sklearn.preprocessing import MinMaxScaler

    ds = multiclass()
    table = pd.DataFrame(ds.x_train, columns=["a", "b", "c", "d"]).assign(grade=ds.y_train)
    scaled = MinMaxScaler().fit_transform(table)          # the scaler saw the label column
    x = MinMaxScaler().fit_transform(table.drop(columns="grade"))
    y = table["grade"].to_numpy()
    faulty = mlp(4, 3, "softmax", "sparse_categorical_crossentropy")
    fixed = mlp(4, 3, "softmax", "sparse_categorical_crossentropy")
    history = train(fixed, x, y)
    return setup(faulty, scaled[:, :4], scaled[:, 4]), setup(fixed, x, y, history=history)


@case("labels-binary-target-standardized", "labels.outside-output-range")
def _():
    from sklearn.preprocessing import StandardScaler

    ds = binary(positive_fraction=0.3)
    scaled = StandardScaler().fit_transform(np.column_stack([ds.x_train, ds.y_train]))
    x = StandardScaler().fit_transform(ds.x_train)
    faulty = mlp(4, 1, "sigmoid", "binary_crossentropy")
    fixed = mlp(4, 1, "sigmoid", "binary_crossentropy")
    y = ds.y_train.astype("float32")
    history = train(fixed, x, y)
    return setup(faulty, scaled[:, :4], scaled[:, 4]), setup(fixed, x, y, history=history)


@case("labels-one-hot-encoder-missing-class", "labels.one-hot-rows")
def _():
    from sklearn.preprocessing import OneHotEncoder

    ds, _, fixed, history = good_one_hot()
    names = np.array(["cat", "dog", "fox", "owl"])[ds.y_train].reshape(-1, 1)

    def encode(known):
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(known)
        return encoder.transform(names)

    y_old = encode(names[names[:, 0] != "owl"])           # fitted on an older extract
    faulty = mlp(4, 3, "softmax", keras.losses.CategoricalCrossentropy())
    return (setup(faulty, ds.x_train, y_old, ds.x_test),
            setup(fixed, ds.x_train, encode(names), ds.x_test, history))


@case("labels-inverted-evaluation-labels", "labels.inverted-predictions")
def _():
    _, _, x_new, y_new, model, history = good_cancer()  # trained with malignant = 1
    names = np.where(y_new == 1, "malignant", "benign")
    # Evaluation labels from a mapping the other way round (sklearn's: benign = 1):
    return (setup(model, x_new, (names == "benign").astype(int), history=history),
            setup(model, x_new, (names == "malignant").astype(int), history=history))


@case("labels-permuted-classes-encoded-by-frequency", "labels.permuted-classes")
def _():
    from sklearn.preprocessing import LabelEncoder

    ds = data.gaussian_multiclass(450, 450, n_classes=3, n_features=4, separation=4.0,
                                  class_weights=[0.2, 0.3, 0.5], seed=0)
    names = np.array(["setosa", "versicolor", "virginica"])
    encoder = LabelEncoder().fit(names[ds.y_train])        # alphabetical
    model = mlp(4, 3, "softmax", "sparse_categorical_crossentropy")
    history = train(model, ds.x_train, encoder.transform(names[ds.y_train]))
    new = pd.Series(names[ds.y_test])
    # The evaluation script numbers the classes by frequency instead of reusing the encoder:
    by_frequency = {name: i for i, name in enumerate(new.value_counts().index)}
    return (setup(model, ds.x_test, new.map(by_frequency), history=history),
            setup(model, ds.x_test, encoder.transform(new), history=history))


@case("labels-misaligned-rows-dataframe-shuffled-alone", "labels.misaligned-rows")
def _():
    x, y, x_new, _, fixed, history = good_cancer()
    shuffled = x.sample(frac=1, random_state=0)   # y keeps the old order; Keras ignores index
    faulty = mlp(30, 1, "sigmoid", "binary_crossentropy", normalize=x)
    return (setup(faulty, shuffled, y, x_new, train(faulty, shuffled, y)),
            setup(fixed, x, y, x_new, history))


@case("labels-eval-dataset-reshuffled-labels-collected-apart", "labels.misaligned-rows")
def _():
    # Test data as a tf.data pipeline that shuffles; images collected in one pass and labels
    # in another (as with image_dataset_from_directory's default shuffle=True).
    import tensorflow as tf

    ds = data.digits(seed=0)
    model = mlp(64, 10, "softmax", "sparse_categorical_crossentropy", hidden=(32,))
    history = train(model, ds.x_train / 16, ds.y_train, epochs=10)

    def passes(reshuffle):
        pipeline = tf.data.Dataset.from_tensor_slices((ds.x_test / 16, ds.y_test)).shuffle(
            len(ds.y_test), seed=1, reshuffle_each_iteration=reshuffle).batch(32)
        x = np.concatenate([images for images, _ in pipeline])
        y = np.concatenate([labels for _, labels in pipeline])
        return x, y

    return setup(model, *passes(True)), setup(model, *passes(False), history=history)


@case("labels-class-folders-sorted-as-text", "labels.permuted-classes")
def _():
    # Classes numbered 1..10 in folders; a directory loader numbers them in the text order
    # of the names ("1", "10", "2", ...). The evaluation labels are the numbers minus one.
    ds = data.digits(seed=0)
    names = [str(d + 1) for d in range(10)]
    as_text = {name: i for i, name in enumerate(sorted(names))}  # what the loader does
    loader_ids = np.array([as_text[str(d + 1)] for d in ds.y_train])

    def trained(y):
        model = mlp(64, 10, "softmax", "sparse_categorical_crossentropy", hidden=(32,))
        return model, train(model, ds.x_train / 16, y, epochs=10)

    faulty, _ = trained(loader_ids)
    fixed, history = trained(ds.y_train)  # class_names= given in numeric order
    return (setup(faulty, ds.x_test / 16, ds.y_test),
            setup(fixed, ds.x_test / 16, ds.y_test, history=history))


# --- thresholds --------------------------------------------------------------------------

@case("thresholds-rare-class-never-predicted", "thresholds.collapsed-predictions")
def _():
    # Overlapping classes, 6% positives: a model that learned them (ROC-AUC about 0.76)
    # still puts almost no row above 0.5. (With Adam(0.001) for 5 epochs neither model
    # learned at all, and that is fitting.not-learned, not a threshold fault.)
    ds = binary(n=600, separation=1.0, positive_fraction=0.06)

    def build(metrics, class_weight):
        model = mlp(4, 1, "sigmoid", "binary_crossentropy", metrics=metrics)
        history = train(model, ds.x_train, ds.y_train, class_weight=class_weight)
        return setup(model, ds.x_train, ds.y_train, ds.x_test, history)

    return (build(["accuracy"], None),
            build([keras.metrics.Recall(), keras.metrics.AUC(curve="PR")],
                  {0: 1.0, 1: 0.94 / 0.06}))


@case("thresholds-accuracy-only-on-imbalanced", "thresholds.accuracy-only-metrics")
def _():
    ds = binary(n=600, separation=4.0, positive_fraction=0.05)
    faulty = mlp(4, 1, "sigmoid", "binary_crossentropy", metrics=["accuracy"])
    fixed = mlp(4, 1, "sigmoid", "binary_crossentropy",
                metrics=["accuracy", keras.metrics.Recall(), keras.metrics.AUC(curve="PR")])
    history = train(fixed, ds.x_train, ds.y_train, epochs=5)
    return (setup(faulty, ds.x_train, ds.y_train, ds.x_test),
            setup(fixed, ds.x_train, ds.y_train, ds.x_test, history))


@case("thresholds-class-weight-miscalibrated", "thresholds.poorly-calibrated")
def _():
    ds = binary(n=600, separation=2.5, positive_fraction=0.15)

    def build(class_weight):
        model = mlp(4, 1, "sigmoid", "binary_crossentropy",
                    metrics=[keras.metrics.AUC(curve="PR")])
        history = train(model, ds.x_train, ds.y_train, class_weight=class_weight)
        return setup(model, ds.x_test, ds.y_test, history=history)  # judged on held-out rows

    return build({0: 1.0, 1: 10.0}), build(None)


@case("thresholds-multilabel-rare-labels-at-one-half", "thresholds.multilabel-labels-missed")
def _():
    from sklearn.datasets import make_multilabel_classification

    from helpers.checks.thresholds import tune_label_thresholds

    x, y = make_multilabel_classification(n_samples=2800, n_features=20, n_classes=10,
                                          n_labels=1, allow_unlabeled=True, random_state=0)
    x_train, y_train, x_val, y_val = x[:1500], y[:1500], x[1500:2000], y[1500:2000]
    x_test, y_test = x[2000:], y[2000:]
    model = mlp(20, 10, "sigmoid", "binary_crossentropy", hidden=(32,), normalize=x_train,
                optimizer=keras.optimizers.Adam(1e-3), metrics=["binary_accuracy"])
    history = train(model, x_train, y_train, epochs=10, batch_size=60)
    # The fix: one threshold per label, tuned on validation rows and folded into the output
    # so that 0.5 on the new output means the tuned threshold on the old one.
    t = tune_label_thresholds(y_val, model.predict(x_val, verbose=0)).astype("float32")
    inputs = keras.Input((20,))
    p = keras.ops.clip(model(inputs), 1e-7, 1 - 1e-7)
    folded = keras.Model(inputs, keras.ops.sigmoid(
        keras.ops.log(p / (1 - p)) - keras.ops.log(t / (1 - t))))
    folded.compile(loss="binary_crossentropy")
    return setup(model, x_test, y_test), setup(folded, x_test, y_test, history=history)


# --- the test ----------------------------------------------------------------------------

def _diagnose(setup):
    return helpers.diagnose(setup["model"], setup.get("x"), setup.get("y"),
                            x_serve=setup.get("x_serve"), history=setup.get("history"))


@pytest.mark.parametrize("case_id", list(CASES))
def test_fault_is_found_and_fixed_twin_is_clean(case_id, request):
    c = CASES[case_id]
    faulty_setup, fixed_setup = c.build()
    faulty, fixed = _diagnose(faulty_setup), _diagnose(fixed_setup)

    row = record_diagnose_case(request.config, c.id, c.chapter, c.rule, faulty, fixed)

    assert row["detected"], f"no {c.chapter} error or warning on the faulty setup:\n{faulty}"
    assert row["rule_found"], f"{c.rule} not reported:\n{faulty}"
    assert not fixed.errors, f"errors on the fixed twin:\n{fixed}"


#: Rules that ``diagnose`` can't fire, by design: their checks need what ``diagnose`` is
#: never given (a tf.data pipeline or loader itself, your own decisions, group ids or time
#: stamps, training probes). Each has unit tests of its own check instead.
STANDALONE = {
    "fitting.cannot-overfit-batch": "helpers.preflight trains a copy of the model",
    "fitting.ignores-inputs": "helpers.preflight trains a copy of the model",
    "fitting.class-sorted-batches": "check_input_pipeline reads the tf.data pipeline",
    "fitting.shuffle-after-batch": "check_input_pipeline reads the tf.data pipeline",
    "fitting.split-reshuffles": "check_input_pipeline reads both tf.data pipelines",
    "labels.reshuffled-evaluation-data": "check_evaluation_order iterates the dataset twice",
    "labels.class-names-differ": "check_class_names reads the loaders' class names",
    "labels.class-names-sorted-as-text": "check_class_names reads the loader's class names",
    "preprocessing.split-groups": "check_split_leakage needs the group ids",
    "preprocessing.split-time": "check_split_leakage needs the time stamps",
    "thresholds.argmax-one-unit": "check_decisions needs the decisions your code made",
    "thresholds.wrong-column": "check_decisions needs the decisions your code made",
}


def test_suite_covers_every_chapter_and_most_rules():
    chapters = {c.chapter for c in CASES.values()}
    assert chapters == set(helpers.report.CHAPTERS)
    assert len(CASES) >= 30
    assert set(STANDALONE) <= set(helpers.RULES)
    judged = {r.id for r in helpers.RULES.values()
              if r.severity != "info" and r.id not in STANDALONE}
    covered = {c.rule for c in CASES.values()}
    assert covered <= judged
    assert len(covered) >= 0.75 * len(judged), sorted(judged - covered)
