"""Benchmark: ``helpers.diagnose`` on a large data set, and ``DiagnoseCallback``'s overhead.

    python benchmarks/diagnose_speed.py [--rows 100000] [--features 50] [--fit-rows 20000]

1. ``diagnose`` on ``rows`` x ``features`` float32 inputs with a 3-layer MLP (64-32-1),
   labels and an equally large serving set. Nothing is trained. The checks bound their own
   work: predictions use at most 2,048 rows (5,000 for the inverted-labels test), gradient
   probes 256 rows, the dead-unit probe 512 and the label-alignment model 2,000; the
   training-vs-serving statistics are one streaming pass over every row. The first call
   includes one-off start-up costs (building the probes, warming TensorFlow's kernels);
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--fit-rows", type=int, default=20_000)
    args = parser.parse_args()

    helpers.seed(0)
    x, y = data(args.rows, args.features)
    x_serve, _ = data(args.rows, args.features, seed=1)
    model = mlp(args.features)
    report, first = timed(lambda: helpers.diagnose(model, x, y, x_serve=x_serve))
    _, second = timed(lambda: helpers.diagnose(model, x, y, x_serve=x_serve))
    print(f"diagnose, {args.rows:,} x {args.features} rows, 3-layer MLP, with serving data:")
    print(f"  first call {first:.2f} s, second call {second:.2f} s "
          f"({len(report.checks_run)} checks ran, {len(report)} findings)")

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
