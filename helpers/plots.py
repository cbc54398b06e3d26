"""The few figures the book repeats. Each draws on a matplotlib Axes and returns it."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3.2))
    return ax


def output_distribution(outputs: Mapping[str, np.ndarray], *, ax=None, bins: int = 40,
                        valid=(0.0, 1.0)):
    """Histograms of model outputs, one per model, with the valid probability range shaded.

    ``outputs`` maps a label ("linear output", "sigmoid output") to predictions.
    """
    if not isinstance(outputs, Mapping) or not outputs:
        raise TypeError("outputs must be a non-empty dict of label -> predictions, got "
                        f"{type(outputs).__name__}")
    ax = _axes(ax)
    arrays = {k: np.asarray(v, dtype=float).ravel() for k, v in outputs.items()}
    low = min(valid[0], *(a.min() for a in arrays.values()))
    high = max(valid[1], *(a.max() for a in arrays.values()))
    edges = np.linspace(low, high, bins + 1)
    if valid is not None:
        ax.axvspan(*valid, color="0.9", zorder=0, label="valid probabilities")
    for label, values in arrays.items():
        ax.hist(values, bins=edges, alpha=0.6, label=label)
    ax.set_xlabel("model output")
    ax.set_ylabel("test examples")
    ax.legend(frameon=False)
    return ax
