"""The few figures the book repeats. Each draws on a matplotlib Axes and returns it."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3.2))
        return ax
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {_describe(ax)}")
    return ax


def _describe(value) -> str:
    from helpers._validate import describe

    return describe(value)


def _values(value, name: str) -> np.ndarray:
    """Finite numbers to plot, as a flat float array; raise naming ``name`` otherwise."""
    from helpers import _validate

    arr = _validate.as_array(value, name, finite=False).ravel().astype(float)
    finite = arr[np.isfinite(arr)]
    if not len(finite):
        raise ValueError(f"{name} has no finite values to plot, got {_describe(value)}")
    return finite


def _label(value, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {_describe(value)}")
    return value


def output_distribution(outputs: Mapping[str, np.ndarray], *, ax=None, bins: int = 40,
                        valid=(0.0, 1.0)):
    """Histograms of model outputs, one per model, with the valid probability range shaded.

    ``outputs`` maps a label ("linear output", "sigmoid output") to predictions.
    """
    if not isinstance(outputs, Mapping) or not outputs:
        raise TypeError("outputs must be a non-empty dict of label -> predictions, got "
                        f"{type(outputs).__name__}")
    from helpers._validate import check_scalar

    check_scalar(bins, "bins", int, min_val=1)
    if valid is not None:
        given = valid
        try:
            valid = tuple(float(v) for v in valid)
        except (TypeError, ValueError):
            valid = ()
        if len(valid) != 2 or not (np.isfinite(valid).all() and valid[0] < valid[1]):
            raise ValueError(f"valid must be None or a (low, high) pair with low < high, got "
                             f"{given!r:.60}")
    # NaN/inf outputs are a result (a diverged model), but a histogram can't place them.
    arrays = {str(k): _values(v, f"outputs[{k!r}]") for k, v in outputs.items()}
    ax = _axes(ax)
    span = valid or (np.inf, -np.inf)
    low = min(span[0], *(a.min() for a in arrays.values()))
    high = max(span[1], *(a.max() for a in arrays.values()))
    if low == high:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    if valid is not None:
        ax.axvspan(*valid, color="0.9", zorder=0, label="valid probabilities")
    for label, values in arrays.items():
        ax.hist(values, bins=edges, alpha=0.6, label=label)
    ax.set_xlabel("model output")
    ax.set_ylabel("test examples")
    ax.legend(frameon=False)
    return ax


def threshold_curves(y_true, scores, *, marks: Mapping[str, float] | None = None, ax=None):
    """Precision, recall and F1 of the positive class against the decision threshold.

    ``y_true`` holds 0/1 labels and ``scores`` the predicted probabilities of class 1.
    The curves come from scikit-learn's ``precision_recall_curve``; ``marks`` maps a
    label ("0.5", "tuned on validation") to a threshold drawn as a vertical line.
    """
    from sklearn.metrics import precision_recall_curve

    from helpers import _validate

    y = _validate.as_array(y_true, "y_true", ndim=(1, 2)).ravel()
    s = _validate.as_array(scores, "scores", ndim=(1, 2)).ravel().astype(float)
    _validate.same_length(y_true=len(y), scores=len(s))
    if not set(np.unique(y).tolist()) <= {0, 1} or len(np.unique(y)) < 2:
        raise ValueError("y_true must hold both 0 and 1 labels, got values "
                         f"{np.unique(y)[:5].tolist()}")
    if marks is not None and not isinstance(marks, Mapping):
        raise TypeError(f"marks must be a dict of label -> threshold, got {_describe(marks)}")
    styles = ("--", ":", "-.", (0, (5, 1)))
    if marks and len(marks) > len(styles):
        raise ValueError(f"marks can hold at most {len(styles)} thresholds, got {len(marks)}")
    for label, value in (marks or {}).items():
        _validate.check_scalar(value, f"marks[{label!r}]", float, min_val=0, max_val=1)
    ax = _axes(ax)
    precision, recall, thresholds = precision_recall_curve(y, s)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    ax.plot(thresholds, precision[:-1], label="precision")
    ax.plot(thresholds, recall[:-1], label="recall")
    ax.plot(thresholds, f1[:-1], label="F1", linewidth=2.5)
    for (label, value), style in zip((marks or {}).items(), styles):
        ax.axvline(float(value), color="0.3", linestyle=style, label=f"{label} ({value:.2f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("threshold on the predicted probability")
    ax.set_ylabel("score (positive class)")
    ax.legend(frameon=False, fontsize="small", loc="center right")
    return ax


def learning_curves(history, metric: str = "loss", *, label: str | None = None, ax=None,
                    mark_best: bool = True):
    """Training (dashed) and validation (solid) ``metric`` per epoch from ``model.fit``.

    ``history`` is a ``keras.callbacks.History`` or a dict of per-epoch lists. Call it once
    per run on the same ``ax`` to compare runs; each run gets one colour and its ``label``.
    With ``mark_best`` the epoch with the lowest validation loss (highest validation
    score for other metrics) is marked with a dot.
    """
    from helpers._validate import as_history

    h = as_history(history)
    _label(metric, "metric")
    if label is not None:
        _label(label, "label")
    if metric not in h:
        raise ValueError(f"metric {metric!r} is not in history; it has {sorted(h)}")
    ax = _axes(ax)
    epochs = np.arange(1, len(h[metric]) + 1)
    name = f"{label}: " if label else ""
    val = h.get(f"val_{metric}")
    if val is not None:
        (line,) = ax.plot(epochs, val, label=f"{name}validation")
        colour = line.get_color()
        ax.plot(epochs, h[metric], color=colour, linestyle="--", alpha=0.8,
                label=f"{name}training")
        if mark_best and np.isfinite(val).any():
            best = int(np.nanargmin(val) if "loss" in metric else np.nanargmax(val))
            ax.plot(epochs[best], val[best], "o", color=colour)
    else:
        ax.plot(epochs, h[metric], linestyle="--", label=f"{name}training")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.legend(frameon=False, fontsize="small")
    return ax
