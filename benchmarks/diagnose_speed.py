"""Benchmark: ``helpers.diagnose`` on large data and on CNNs; ``DiagnoseCallback``'s overhead.

    python benchmarks/diagnose_speed.py [--cases mlp,cnn,vgg64] [--rows 100000]
                                        [--features 50] [--fit-rows 20000] [--no-fit]

Each case prints ``diagnose``'s time as a ratio to one ``model.predict`` of the same rows
(the faster of two predicts), and the rows each check read (``report.rows_read``).

Cases: ``mlp`` (below), ``cnn`` (a small Conv2D net trained 3 epochs on scikit-learn's
digits, 1,797 8x8 images), ``vgg64`` (``keras.applications.VGG16(weights=None,
input_shape=(64, 64, 3), classes=10)`` on 64 random images) and ``vgg224`` (the same at
224 x 224 with 32 images; slow, so not in the default list). The VGG16s are compiled and
given a two-epoch History, so ``diagnose`` treats them as trained and runs every check
that reads predictions.

1. ``diagnose`` on ``rows`` x ``features`` float32 inputs with a 3-layer MLP (64-32-1),
   labels and an equally large serving set. Nothing is trained. The model runs once, over
   an evenly spaced sample of 5,000 rows that every check reads from (at most 2,048 of
   them for most checks, 5,000 for the inverted-labels test, 512 for the dead-unit probe,
   2,000 for the label-alignment model); the gradient probe reads 256; the
   training-vs-serving statistics are one streaming pass over every row. The first call
   includes one-off start-up costs (building the probe, warming TensorFlow's kernels);
   the second does not.
2. A 20-epoch ``fit`` on ``fit-rows`` rows (batch 32), once without and once with
   ``DiagnoseCallback`` (diagnosis at the end of training only, the default), on fresh
   models with the same seed, each timed; the overhead is the relative difference. Each
   fit is run twice and the faster time kept, to damp the noise of a shared machine; the
   time the callback itself spent (``callback.seconds``) is printed too, as a measure
   that such noise can't blur.

Not a test (tests/test_diagnose.py checks the 5 s budget for part 1): timings depend on
the machine and its load.
"""

from __future__ import annotations

import argparse
import time

import helpers  # first: it quiets TensorFlow's start-up logs
import keras
import numpy as np


def mlp(n_features: int) -> keras.Model:
    model = keras.Sequential([keras.Input(shape=(n_features,)),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def data(rows: int, features: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype("float32")
    y = (x[:, :5].sum(axis=1) + rng.normal(size=rows) > 0).astype("int64")
    return x, y


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def fit_seconds(x, y, callback=None, repeats: int = 2) -> tuple[float, float]:
    """Best wall time of ``repeats`` 20-epoch fits, and the callback's own share of it."""
    best, inside = float("inf"), 0.0
    for _ in range(repeats):
        helpers.seed(0)
        model = mlp(x.shape[1])
        cb = callback() if callback else None
        start = time.perf_counter()
        model.fit(x, y, epochs=20, batch_size=32, verbose=0, validation_split=0.2,
                  callbacks=[cb] if cb else [])
        seconds = time.perf_counter() - start
        if seconds < best:
            best, inside = seconds, cb.seconds if cb else 0.0
    return best, inside


def small_cnn() -> keras.Model:
    model = keras.Sequential([keras.Input(shape=(8, 8, 1)),
                              keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
                              keras.layers.MaxPooling2D(),
                              keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
                              keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def digits_cnn():
    """A small Conv2D net trained 3 epochs on digits (pixels / 16), its inputs, labels
    and History."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target.astype("int64")
    helpers.seed(0)
    model = small_cnn()
    history = model.fit(x, y, epochs=3, batch_size=32, verbose=0)
    return model, x, y, history


def vgg16(size: int, rows: int):
    """An untrained VGG16 (10 classes) on ``rows`` random images, with random labels and
    a two-epoch History (so it counts as trained)."""
    helpers.seed(0)
    model = keras.applications.VGG16(weights=None, input_shape=(size, size, 3), classes=10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(rows, size, size, 3)).astype("float32")
    y = rng.integers(0, 10, size=rows)
    return model, x, y, {"loss": [2.31, 2.30]}


def ratio_to_predict(name: str, model, x, y, history=None, x_serve=None) -> None:
    """``diagnose`` twice and ``model.predict`` twice on the same rows; print the ratio."""
    predict = min(timed(lambda: model.predict(x, verbose=0))[1] for _ in range(2))
    report, first = timed(lambda: helpers.diagnose(model, x, y, x_serve=x_serve,
                                                   history=history))
    _, second = timed(lambda: helpers.diagnose(model, x, y, x_serve=x_serve,
                                               history=history))
    print(f"{name}:")
    print(f"  one predict {predict:.2f} s; diagnose first call {first:.2f} s "
          f"({first / predict:.1f}x), second call {second:.2f} s ({second / predict:.1f}x); "
          f"{len(report.checks_run)} checks ran, {len(report.checks_skipped)} skipped, "
          f"{len(report)} findings")
    rows = getattr(report, "rows_read", None)
    if rows:
        print("  rows read: " + ", ".join(f"{k} {v}" for k, v in rows.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="mlp,cnn,vgg64",
                        help="comma-separated: mlp, cnn, vgg64, vgg224")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--fit-rows", type=int, default=20_000)
    parser.add_argument("--no-fit", action="store_true",
                        help="skip the DiagnoseCallback overhead part of the mlp case")
    args = parser.parse_args()
    cases = args.cases.split(",")

    if "cnn" in cases:
        ratio_to_predict("diagnose, small Conv2D net on digits (1,797 8x8 images)",
                         *digits_cnn())
    if "vgg64" in cases:
        ratio_to_predict("diagnose, VGG16 at 64x64, 64 images", *vgg16(64, 64))
    if "vgg224" in cases:
        ratio_to_predict("diagnose, VGG16 at 224x224, 32 images", *vgg16(224, 32))
    if "mlp" not in cases:
        return

    helpers.seed(0)
    x, y = data(args.rows, args.features)
    x_serve, _ = data(args.rows, args.features, seed=1)
    model = mlp(args.features)
    report, first = timed(lambda: helpers.diagnose(model, x, y, x_serve=x_serve))
    _, second = timed(lambda: helpers.diagnose(model, x, y, x_serve=x_serve))
    predict = min(timed(lambda: model.predict(x, verbose=0))[1] for _ in range(2))
    print(f"diagnose, {args.rows:,} x {args.features} rows, 3-layer MLP, with serving data:")
    print(f"  first call {first:.2f} s, second call {second:.2f} s "
          f"({len(report.checks_run)} checks ran, {len(report)} findings); one predict of "
          f"the same rows {predict:.2f} s (second call {second / predict:.1f}x)")
    rows = getattr(report, "rows_read", None)
    if rows:
        print("  rows read: " + ", ".join(f"{k} {v}" for k, v in rows.items()))
    if args.no_fit:
        return

    x_fit, y_fit = data(args.fit_rows, args.features, seed=2)
    plain, _ = fit_seconds(x_fit, y_fit)
    diagnosed, inside = fit_seconds(
        x_fit, y_fit, lambda: helpers.DiagnoseCallback(x_fit, y_fit, verbose=False))
    print(f"20-epoch fit on {args.fit_rows:,} rows, batch 32:")
    print(f"  without callback {plain:.2f} s, with DiagnoseCallback {diagnosed:.2f} s: "
          f"overhead {(diagnosed - plain) / plain:+.1%} by wall time; the callback itself "
          f"spent {inside:.2f} s ({inside / plain:.1%} of the plain fit)")


if __name__ == "__main__":
    main()
