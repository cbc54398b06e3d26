"""Learning curves: checks on the per-epoch lists ``model.fit`` records in its History."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from helpers import _keras, _validate
from helpers._targets import class_ids
from helpers._validate import as_history  # the one home of history validation
from helpers.checks import check, rule

NB_CURVES = "book/fitting/01-underfitting-or-overfitting.ipynb"
NB_TOO_BIG = "book/fitting/02-too-big-for-the-data.ipynb"
NB_OPTIMIZER = "book/fitting/03-does-the-optimizer-matter.ipynb"
NB_SIGMOID = "book/fitting/04-deep-sigmoid-stops-learning.ipynb"
NB_UNSEEN = "book/fitting/05-data-the-model-never-saw.ipynb"
NB_PIPELINE = "book/fitting/13-tf-data-order.ipynb"
NB_BOUNCES = "book/fitting/14-loss-bounces-units-die.ipynb"


STILL_IMPROVING = rule(
    "fitting.still-improving", severity="warning",
    title="Training stopped while the loss was still falling",
    detects="The monitored loss (validation loss when recorded, else training loss) is at "
            "its best in the last epoch and still falling at a good fraction of its average "
            "pace: the curve has not flattened, and more epochs would still help.",
    fix="Train for more epochs (or raise the learning rate a little), with "
        "keras.callbacks.EarlyStopping(monitor='val_loss', restore_best_weights=True) to "
        "decide when to stop.",
    doc=NB_CURVES,
)
OVERFITTING = rule(
    "fitting.overfitting", severity="warning",
    title="Validation loss rises while training loss falls",
    detects="The validation loss reached its minimum several epochs before the end and has "
            "risen clearly since, while the training loss kept falling: the model is "
            "memorizing the training set. The finding names the epoch it started.",
    fix="Keep the weights from the best epoch with EarlyStopping(restore_best_weights=True); "
        "if the best validation score is still poor, use a smaller model, more data, or L2 "
        "and dropout. (Expected, and harmless, when EarlyStopping already restored the best "
        "weights.)",
    doc=NB_TOO_BIG,
)
UNDERFITTING = rule(
    "fitting.underfitting", severity="warning",
    title="Training accuracy is near the majority-class baseline",
    detects="At the end of training the model is barely more accurate on its own training "
            "data than always predicting the most common class of y: it has learned almost "
            "nothing (too small, too few epochs, a learning rate far off, or vanishing "
            "gradients).",
    fix="Check the learning curves and the learning rate first, then give the model more "
        "epochs or capacity; see the gradient checks if the network is deep.",
    doc=NB_CURVES,
)
DIVERGENCE = rule(
    "fitting.divergence", severity="error",
    title="The loss diverged (NaN, infinite or exploding)",
    detects="A NaN or infinite loss, or a training loss that ends far above its best value "
            "and above where it started. The weights are garbage from that point on.",
    fix="Lower the learning rate (ten times is a good first step), scale the inputs, and "
        "look for NaN in the data; gradient clipping (clipnorm=1.0) helps with rare spikes.",
    doc=NB_OPTIMIZER,
)
OSCILLATION = rule(
    "fitting.oscillation", severity="warning",
    title="The training loss goes up and down from epoch to epoch",
    detects="The epoch-average training loss rises by more than 10% from one epoch to the "
            "next repeatedly. Healthy training falls almost every epoch; a loss that bounces "
            "means the steps overshoot (learning rate too high for the batch size).",
    fix="Lower the learning rate (or use a schedule that decays it), or use larger batches.",
    doc=NB_BOUNCES,
)


ACCURACY_KEYS = _keras.ACCURACY_METRICS


def _stopped_early(history, h: dict) -> bool:
    params = getattr(history, "params", None) or {}
    planned = params.get("epochs") if isinstance(params, Mapping) else None
    return isinstance(planned, (int, np.integer)) and len(h["loss"]) < planned


def _monitored(h: dict) -> tuple[str, np.ndarray]:
    return ("val_loss", h["val_loss"]) if "val_loss" in h else ("loss", h["loss"])


def _tail(values: np.ndarray, k: int) -> float:
    return float(np.mean(values[-k:]))


@check(DIVERGENCE.id, OSCILLATION.id)
def check_training_stability(history, *, explode: float = 10.0, rise: float = 0.10,
                             max_rises: int = 2) -> list:
    """Divergence (non-finite loss, or a training loss that ends ``explode`` times above
    its best and above its start) and oscillation (``max_rises`` or more epoch-to-epoch
    rises of the training loss by more than ``rise``, relative)."""
    h = as_history(history)
    _validate.check_scalar(explode, "explode", float, min_val=1, include_boundaries="neither")
    _validate.check_scalar(rise, "rise", float, min_val=0, include_boundaries="neither")
    for key in ("loss", "val_loss"):
        values = h.get(key)
        if values is not None and not np.isfinite(values).all():
            epoch = int(np.argmax(~np.isfinite(values))) + 1
            return [DIVERGENCE.finding(
                f"{key} is {values[epoch - 1]} from epoch {epoch} of {len(values)} on.",
                metric=key, epoch=epoch, epochs=len(values))]
    loss = h["loss"]
    n = len(loss)
    if n < 3:
        return []
    best = float(loss.min())
    last = float(loss[-1])
    if last > explode * max(best, 1e-12) and last > loss[0]:
        return [DIVERGENCE.finding(
            f"The training loss ended at {last:.3g}, {last / max(best, 1e-12):.0f} times its "
            f"best value {best:.3g} (epoch {int(loss.argmin()) + 1}) and above its first-epoch "
            f"value {loss[0]:.3g}.",
            metric="loss", last=last, best=best, first=float(loss[0]),
            best_epoch=int(loss.argmin()) + 1, epochs=n)]
    change = np.diff(loss) / np.maximum(np.abs(loss[:-1]), 1e-12)
    rises = np.flatnonzero(change > rise)
    if len(rises) >= max(max_rises, 0.2 * (n - 1)):
        return [OSCILLATION.finding(
            f"The training loss rose by more than {rise:.0%} between consecutive epochs "
            f"{len(rises)} times in {n} epochs (largest rise {change.max():.0%}, after epoch "
            f"{int(change.argmax()) + 1}).",
            rises=len(rises), epochs=n, largest_rise=float(change.max()),
            rise_epochs=[int(i) + 2 for i in rises])]
    return []


@check(STILL_IMPROVING.id, OVERFITTING.id)
def check_learning_curves(history, *, min_improvement: float = 0.01,
                          min_pace: float = 0.25, min_rise: float = 0.10,
                          patience: int = 3) -> list:
    """Still improving at the last epoch, or overfitting.

    *Still improving*: the monitored loss (``val_loss`` if recorded, else ``loss``) is at
    its minimum in the last epoch, fell by more than ``min_improvement`` (relative) over
    the last ``k = max(2, n // 5)`` epochs, and was still falling at least ``min_pace``
    times as fast per epoch there as over the whole run (a flattened curve is converged
    even if it still creeps down).
    *Overfitting* (needs ``val_loss``): the validation minimum is at least ``patience``
    epochs before the end, the mean of the last ``patience`` validation losses is more
    than ``min_rise`` (relative) above that minimum, and the training loss kept falling.

    A run that a callback stopped early (a ``History`` whose ``params["epochs"]`` is more
    than the epochs recorded) is not reported as overfitting: EarlyStopping ends a run
    exactly when the validation loss has risen for ``patience`` epochs, and with
    ``restore_best_weights=True`` the model is the one from the best epoch. A plain dict
    carries no ``params``, so it is judged on the curve alone.
    """
    h = as_history(history)
    stopped_early = _stopped_early(history, h)
    _validate.check_scalar(patience, "patience", int, min_val=1)
    key, monitored = _monitored(h)
    n = len(monitored)
    if n < 3 or not np.isfinite(monitored).all() or not np.isfinite(h["loss"]).all():
        return []  # too short to read, or diverged (check_training_stability reports that)
    found = []
    k = min(max(2, n // 5), n - 1)
    best_epoch = int(np.argmin(monitored))
    before, last = float(monitored[-1 - k]), float(monitored[-1])
    improvement = (before - last) / max(abs(before), 1e-12)
    pace = ((before - last) / k) / max((float(monitored[0]) - last) / (n - 1), 1e-12)
    if best_epoch == n - 1 and improvement > min_improvement and pace >= min_pace:
        found.append(STILL_IMPROVING.finding(
            f"{key} was still falling at the last epoch: {before:.4g} -> "
            f"{last:.4g} ({improvement:.1%}) over the last {k} of {n} epochs, at "
            f"{pace:.0%} of its average pace over the whole run.",
            metric=key, improvement=improvement, pace=pace, window=k, epochs=n))
    if ("val_loss" in h and not stopped_early and n >= patience + 2
            and best_epoch <= n - 1 - patience):
        val, train = h["val_loss"], h["loss"]
        best = float(val[best_epoch])
        end = _tail(val, patience)
        risen = (end - best) / max(abs(best), 1e-12)
        train_fell = _tail(train, patience) < float(train[best_epoch])
        if risen > min_rise and train_fell:
            found.append(OVERFITTING.finding(
                f"val_loss was lowest at epoch {best_epoch + 1} ({best:.4g}) and averaged "
                f"{end:.4g} over the last {patience} of {n} epochs ({risen:.0%} higher), while "
                f"the training loss fell from {train[best_epoch]:.4g} to {train[-1]:.4g}.",
                best_epoch=best_epoch + 1, started_epoch=best_epoch + 2, best_val_loss=best,
                final_val_loss=float(val[-1]), rise=risen, epochs=n))
    return found


def _majority_share(y: np.ndarray) -> float | None:
    ids = class_ids(y, strings=True)
    if ids is None:
        return None  # no single majority class to compare with
    _, counts = np.unique(ids, return_counts=True)
    return float(counts.max() / counts.sum())


@check(UNDERFITTING.id)
def check_underfitting(history, y=None, *, min_gain: float = 0.1) -> list:
    """Training accuracy that closed less than ``min_gain`` of the gap between the
    majority-class baseline and 100%.

    The baseline is the share of the most common class in ``y`` (the training labels).
    Without ``y`` there is no baseline to compare with (an accuracy of 0.9 is excellent on
    balanced classes and worthless on a 90/10 split), so the check returns no finding; the
    same for regression or multi-label targets. It also needs an accuracy metric in the
    history (``metrics=["accuracy"]``).
    """
    h = as_history(history)
    _validate.check_scalar(min_gain, "min_gain", float, min_val=0, max_val=1,
                           include_boundaries="neither")
    if y is None:
        return []
    labels = _validate.as_labels(y, "y")
    key = next((k for k in ACCURACY_KEYS if k in h), None)
    if key is None or not np.isfinite(h[key]).all():
        return []
    baseline = _majority_share(labels)
    if baseline is None or baseline >= 1:
        return []
    accuracy = _tail(h[key], min(3, len(h[key])))
    gain = (accuracy - baseline) / (1 - baseline)
    if gain >= min_gain:
        return []
    return [UNDERFITTING.finding(
        f"Training {key} over the last epochs is {accuracy:.1%}; always predicting the most "
        f"common class of y would score {baseline:.1%}. The model closed {max(gain, 0):.0%} "
        "of the gap to a perfect fit of its own training data.",
        metric=key, accuracy=accuracy, baseline=baseline, gain=gain)]
