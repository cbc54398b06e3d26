"""Measure ``diagnose``'s did-the-model-learn decision: how often outcome errors (labels
or thresholds blamed) still fire on models that have not learned, and how often models
that did learn are wrongly called ``fitting.not-learned``.

    python benchmarks/learned_decision.py [--seeds 20]

Per seed: separable synthetic data (two Gaussian classes 3 standard deviations apart, or
three classes 4 apart, 400 rows, 4 features) and a 16-unit relu network, diagnosed
(1) untrained, right after compile; (2) "barely trained": one train_on_batch step at Adam's
default learning rate, no History; (3) trained for 8 epochs with Adam(0.01), with its
History. Plus a regression (linear output, standardized target) trained the same way.
Run it with PYTHONPATH pointing at another checkout to compare.
"""

from __future__ import annotations

import argparse
from collections import Counter

import helpers  # first: it quiets TensorFlow's start-up logs
import keras
import numpy as np

OUTCOME = {"labels.inverted-predictions", "labels.permuted-classes",
           "thresholds.collapsed-predictions", "thresholds.no-better-than-majority",
           "thresholds.threshold-far-from-f1-optimal", "thresholds.poorly-calibrated"}


def network(units, activation, loss, optimizer):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(units, activation=activation)])
    model.compile(optimizer=optimizer, loss=loss)
    return model


def problems(seed):
    binary = helpers.data.gaussian_binary(400, 400, n_features=4, separation=3.0, seed=seed)
    three = helpers.data.gaussian_multiclass(400, 400, n_classes=3, n_features=4,
                                             separation=4.0, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, 4))
    target = x @ rng.normal(size=4) + 0.3 * rng.normal(size=400)
    return {
        "binary": (binary.x_train, binary.y_train, 1, "sigmoid", "binary_crossentropy"),
        "3 classes": (three.x_train, three.y_train, 3, "softmax",
                      "sparse_categorical_crossentropy"),
        "regression": (x, (target - target.mean()) / target.std(), 1, None, "mse"),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    tally = Counter()
    for seed in range(args.seeds):
        for name, (x, y, units, activation, loss) in problems(seed).items():
            for stage in ("untrained", "one step", "trained"):
                if name == "regression" and stage != "trained":
                    continue
                helpers.seed(seed)
                model = network(units, activation, loss, keras.optimizers.Adam(
                    0.01 if stage == "trained" else 0.001))
                history = None
                if stage == "one step":
                    model.train_on_batch(x[:32], y[:32])
                elif stage == "trained":
                    history = model.fit(x, y, epochs=8, batch_size=40, verbose=0)
                report = helpers.diagnose(model, x, y, history=history)
                key = (name, stage)
                tally[key, "runs"] += 1
                errors = {f.rule for f in report.errors} & OUTCOME
                tally[key, "outcome error"] += bool(errors)
                tally[key, "any outcome finding"] += bool(OUTCOME & report.rules)
                tally[key, "not-learned"] += "fitting.not-learned" in report.rules
                tally[key, "untrained note"] += "fitting.untrained" in report.rules
    print(f"{'data':11}{'stage':11}{'runs':>5}{'outcome error':>15}{'any outcome':>13}"
          f"{'not-learned':>13}{'untrained':>11}")
    for name in ("binary", "3 classes", "regression"):
        for stage in ("untrained", "one step", "trained"):
            key = (name, stage)
            if not tally[key, "runs"]:
                continue
            print(f"{name:11}{stage:11}{tally[key, 'runs']:>5}{tally[key, 'outcome error']:>15}"
                  f"{tally[key, 'any outcome finding']:>13}{tally[key, 'not-learned']:>13}"
                  f"{tally[key, 'untrained note']:>11}")


if __name__ == "__main__":
    main()
