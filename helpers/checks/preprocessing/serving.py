"""Training against serving data: shifted or rescaled features, pixels on another scale, and
inputs far from unit scale with nothing in the model to standardize them."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from helpers import _keras, _validate
from helpers.checks import check, rule
from helpers.stats import _is_text, feature_stats, skew_table

NB_GARBAGE = "book/preprocessing/01-garbage-on-new-data.ipynb"
NB_COLUMNS = "book/preprocessing/03-the-columns-moved.ipynb"
NB_INSIDE = "book/preprocessing/04-preprocessing-inside-the-model.ipynb"


SERVING_SKEW = rule(
    "preprocessing.serving-skew", severity="error",
    title="Serving inputs are not distributed like the training inputs",
    detects="Features whose serving values sit far from what the model was trained on: the "
            "mean moved by more than half a training standard deviation, the spread grew or "
            "shrank more than threefold, many values fall outside the training range, or NaN "
            "or infinite values appear on one side only. The usual cause is preprocessing "
            "applied in training and forgotten (or done differently) at prediction time.",
    fix="Apply exactly the transformation fitted on the training data (the same fitted "
        "scaler, encoder and imputer) before predict(), or move it into the model as Keras "
        "preprocessing layers so it can't be forgotten.",
    doc=NB_GARBAGE,
)
PIXEL_SCALE = rule(
    "preprocessing.pixel-scale", severity="error",
    title="Raw 0-255 pixels served to a model trained on 0-1 inputs",
    detects="Every training value lies in [0, 1] while the serving inputs are whole numbers "
            "up to 255: images were divided by 255 for training but not for prediction.",
    fix="Divide serving images by 255 the way the training images were, or put "
        "keras.layers.Rescaling(1/255) at the start of the model and feed it raw pixels "
        "in training and serving alike.",
    doc=NB_GARBAGE,
)
UNSCALED_INPUTS = rule(
    "preprocessing.unscaled-inputs", severity="warning",
    title="Inputs far from unit scale and no normalization in the model",
    detects="Numeric inputs whose typical magnitude (root mean square) is tens or thousands, "
            "fed to a model with no Normalization, Rescaling or batch/layer normalization "
            "layer. Large inputs make the first layer's gradients dominate and training slow "
            "or unstable, and whoever serves the model has to remember the scaling.",
    fix="Add keras.layers.Normalization() as the first layer and call its adapt() on the "
        "training inputs (or Rescaling for pixels), so the model standardizes its own inputs.",
    doc=NB_INSIDE,
)


#: Layer classes that standardize or rescale what comes in, or encode raw categories.
NORMALIZING_LAYERS = ("Normalization", "Rescaling", "BatchNormalization", "LayerNormalization",
                      "GroupNormalization", "UnitNormalization", "Discretization",
                      "CategoryEncoding", "StringLookup", "IntegerLookup", "Hashing",
                      "HashedCrossing", "TextVectorization")


def _number(v: float, scale: float = 0.0) -> str:
    """A number for messages; round-off next to ``scale`` (e.g. 1e-16 for a mean) shows as 0."""
    if not np.isfinite(v):
        return "inf"
    return "0" if abs(v) < 1e-9 * max(abs(scale), 1e-300) else f"{v:.3g}"


def _skew_findings(x, x_serve, *, max_shift, max_spread, max_outside, min_rows, z,
                   batch_size, label, names):
    train = feature_stats(x, batch_size=batch_size, name=f"x{label}")
    serve = feature_stats(x_serve, batch_size=batch_size, bounds=(train.min, train.max),
                          name=f"x_serve{label}")
    if train.n_features != serve.n_features:
        raise ValueError(f"x_serve{label} has {serve.n_features} features per row but "
                         f"x{label} has {train.n_features}")
    feature_names = list(names) if names is not None else list(train.names)
    if len(feature_names) != train.n_features:
        raise ValueError(f"feature_names has {len(feature_names)} names for "
                         f"{train.n_features} features")
    table = skew_table(train, serve)
    table.index = [f"{label.strip('[]')}:{n}" if label else str(n) for n in feature_names]

    # Pixels: training in [0, 1], serving whole numbers up to 255.
    t_ok, s_ok = train.count > 0, serve.count > 0
    if (t_ok.any() and s_ok.any() and np.nanmin(train.min[t_ok]) >= 0
            and np.nanmax(train.max[t_ok]) <= 1 + 1e-6 and serve.integer[s_ok].all()
            and np.nanmin(serve.min[s_ok]) >= 0 and 1.5 < np.nanmax(serve.max[s_ok]) <= 255):
        share = float(serve.outside.sum() / max(serve.count.sum(), 1))
        return [PIXEL_SCALE.finding(
            f"All {train.n_features} training features{label} lie in [0, 1], but the serving "
            f"inputs are whole numbers up to {np.nanmax(serve.max):.0f}; {share:.0%} of "
            f"serving values are above the training maximum and the mean pixel moved from "
            f"{np.nanmean(train.mean):.3g} to {np.nanmean(serve.mean):.3g}.",
            train_max=float(np.nanmax(train.max)), serve_max=float(np.nanmax(serve.max)),
            share_outside=share, train_mean=float(np.nanmean(train.mean)),
            serve_mean=float(np.nanmean(serve.mean)))], table

    n_t, n_s = np.maximum(train.count, 1), np.maximum(serve.count, 1)
    shift = table["shift"].to_numpy()
    spread = table["spread"].to_numpy()
    outside = table["outside"].to_numpy()
    enough = (serve.count >= min_rows) & t_ok
    with np.errstate(invalid="ignore", divide="ignore"):
        # Each change must be large *and* beyond what sampling noise explains (z standard
        # errors), so small serving batches and sparse features don't raise false alarms.
        diff = np.abs(serve.mean - train.mean)
        # Standard error under "same distribution", from the pooled variance of both sides
        # (a 1-row batch has no variance of its own; a feature constant in training may not).
        pooled = (train.count * train.var + serve.count * serve.var
                  + train.count * serve.count / (n_t + n_s) * diff ** 2) / (n_t + n_s)
        mean_se = np.sqrt(pooled * (1 / n_s + 1 / n_t))
        # The normal approximation fails for small batches of heavy-tailed or mostly-zero
        # features; there we use Hoeffding's bound for values inside the training range.
        train_range = train.max - train.min
        kurtosis = np.clip((train_range / train.std) ** 2, 3.0, np.inf)
        normal_ok = n_s * 10 >= kurtosis
        delta = math.erfc(z / math.sqrt(2))
        hoeffding = train_range * np.sqrt(math.log(2 / delta) / (2 * n_s))
        mean_limit = np.where(normal_ok, z * mean_se, hoeffding)
        # A feature constant in training shifts only if serving is constant elsewhere too;
        # scattered values outside its one training value are the "outside" rule's business.
        constant = train_range == 0
        mean_limit = np.where(constant & ~((serve.var == 0) & (serve.count >= 2)), np.inf,
                              mean_limit)
        # The spread's standard error needs the kurtosis; (range / sd)**2 bounds it, which
        # keeps mostly-constant features (rare non-zero pixels) from looking unstable.
        kurtosis = np.clip(kurtosis, 3.0, 1e12)
        log_se = np.sqrt((kurtosis - 1) / 4 * (1 / n_s + 1 / n_t))
        log_spread = np.log(spread)
        # For a mostly-zero feature (rare non-zero pixels, one-hot columns) the spread is
        # set by a handful of non-zero values, far too few for that normal approximation:
        # 9 against 1 non-zero values in 300 rows happens by chance. Test the spread only
        # when both sides can expect at least 20 non-zero values.
        nonzero_share = 1 - table["zeros_train"].to_numpy()
        spread_testable = (n_s >= 2 * kurtosis) & (np.minimum(n_s, n_t) * nonzero_share >= 20)
        # Same distribution: about 2/(n+1) of the values fall outside the training range;
        # allow Poisson noise on that count, with a margin for ties in discrete features.
        expected_out = n_s * 2.0 / (train.count + 1)
        out_limit = np.maximum(max_outside,
                               (expected_out + z * np.sqrt(expected_out) + z * z / 2) / n_s)
        # A serving feature that is all zeros is no surprise when training was mostly zeros.
        all_zero = serve.zeros == serve.count
        plausible_zero = all_zero & (table["zeros_train"].to_numpy() ** n_s > 1e-6)
    one_sided = ((table["nan_train"] > 0) != (table["nan_serve"] > 0)).to_numpy()
    reasons = {
        "shift": s_ok & t_ok & (shift > max_shift) & (diff > mean_limit),
        "spread": enough & (np.abs(log_spread) > np.log(max_spread))
                  & (((np.abs(log_spread) > z * log_se) & spread_testable)
                     | ((serve.var == 0) & ~plausible_zero)),
        "outside": enough & (outside > out_limit),
        "nan/inf": one_sided,
    }
    flagged = np.zeros(len(table), dtype=bool)
    for mask in reasons.values():
        flagged |= mask
    if not flagged.any():
        return [], table
    severity = np.nan_to_num(np.maximum.reduce([
        shift / max_shift, np.maximum(spread, 1 / np.maximum(spread, 1e-300)) / max_spread,
        outside / max_outside, one_sided * 1.0]), nan=0.0, posinf=1e300)
    order = [i for i in np.argsort(-severity, kind="stable") if flagged[i]]
    worst = []
    for i in order[:3]:
        row = table.iloc[i]
        sd = row.train_std if row.train_std > 0 else 1.0
        parts = [f"mean {_number(row.serve_mean, sd)} vs {_number(row.train_mean, sd)} in training "
                 f"({_number(row['shift'], 1.0)} training SDs away)",
                 f"spread x{_number(row.spread)}"]
        if row.outside > 0:
            parts.append(f"{row.outside:.0%} of values outside the training range")
        if one_sided[i]:
            parts.append(f"NaN/inf: {int(row.nan_train)} in training, "
                         f"{int(row.nan_serve)} in serving")
        worst.append(f"{table.index[i]!r}: " + ", ".join(parts))
    counts = {k: int(v.sum()) for k, v in reasons.items()}
    n_flag = int(flagged.sum())
    message = (f"{n_flag} of {train.n_features} features{label} differ between x "
               f"({train.rows} rows) and x_serve ({serve.rows} rows). Worst: "
               + "; ".join(worst) + ".")
    evidence_rows = [{"feature": str(table.index[i]), "shift": float(shift[i]),
                      "spread": float(spread[i]), "outside": float(outside[i]),
                      "nan_train": int(table["nan_train"].iloc[i]),
                      "nan_serve": int(table["nan_serve"].iloc[i])} for i in order[:10]]
    return [SERVING_SKEW.finding(
        message, n_flagged=n_flag, n_features=train.n_features, reasons=counts,
        worst=evidence_rows, max_shift=float(np.nanmax(np.where(flagged, shift, 0))),
        rows_train=train.rows, rows_serve=serve.rows)], table


@check(SERVING_SKEW.id, PIXEL_SCALE.id)
def check_serving_skew(x, x_serve, model=None, *, max_shift: float = 0.5,
                       max_spread: float = 3.0, max_outside: float = 0.05,
                       min_rows: int = 20, z: float = 4.0, feature_names=None,
                       batch_size: int | None = None) -> list:
    """Compare the training inputs ``x`` with the serving inputs ``x_serve``, feature by feature.

    A feature is flagged when its serving mean is more than ``max_shift`` training standard
    deviations from the training mean (and ``z`` standard errors, so small samples don't
    raise false alarms), when its spread changes by more than a factor ``max_spread``, when
    more than ``max_outside`` of its serving values fall outside the training range (these
    two need ``min_rows`` serving rows; the spread test also needs enough rows for its
    standard error, and at least 20 expected non-zero values on each side, so rare non-zero
    pixels don't trip it), or when NaN/inf values appear on one side only.
    Training data in [0, 1] served as whole numbers up to 255 is reported as
    ``preprocessing.pixel-scale`` instead.

    ``x`` and ``x_serve`` may be arrays, DataFrames, iterables of batches or batched
    ``tf.data.Dataset`` objects (see :func:`feature_stats`); each is read once. ``model`` is
    only used to tell a list of per-input arrays (multi-input model) from a list of batches.
    """
    max_shift = _validate.check_scalar(max_shift, "max_shift", float, min_val=0,
                                       include_boundaries="neither")
    max_spread = _validate.check_scalar(max_spread, "max_spread", float, min_val=1,
                                        include_boundaries="neither")
    max_outside = _validate.check_scalar(max_outside, "max_outside", float, min_val=0, max_val=1,
                                         include_boundaries="neither")
    z = _validate.check_scalar(z, "z", float, min_val=0, include_boundaries="neither")
    _validate.check_scalar(min_rows, "min_rows", int, min_val=1)
    options = dict(max_shift=max_shift, max_spread=max_spread, max_outside=max_outside,
                   min_rows=int(min_rows), z=z, batch_size=batch_size)
    if isinstance(x, Mapping) or isinstance(x_serve, Mapping):
        if not (isinstance(x, Mapping) and isinstance(x_serve, Mapping)):
            raise TypeError("x and x_serve must both be dicts (one entry per model input) or "
                            f"both not; got {_validate.describe(x)} and "
                            f"{_validate.describe(x_serve)}")
        if set(x) != set(x_serve):
            raise ValueError(f"x_serve has inputs {sorted(x_serve)} but x has {sorted(x)}")
        pairs = [(f"[{k!r}]", x[k], x_serve[k]) for k in x]
    elif (model is not None and len(getattr(model, "inputs", None) or ()) > 1
          and isinstance(x, (list, tuple)) and isinstance(x_serve, (list, tuple))):
        pairs = [(f"[{i}]", a, b) for i, (a, b) in enumerate(zip(x, x_serve))]
    else:
        pairs = [("", x, x_serve)]
    found = []
    for label, a, b in pairs:
        names = feature_names if not label else None
        findings, _ = _skew_findings(a, b, label=label, names=names, **options)
        found.extend(findings)
    return found


# ---------------------------------------------------------------------------------------
# Inputs far from unit scale
# ---------------------------------------------------------------------------------------

def normalizing_layers(model) -> list[str]:
    """Names of the layers in ``model`` (nested models included) that normalize, rescale or
    encode inputs, found by class (see ``NORMALIZING_LAYERS``), never by name."""
    import keras

    classes = tuple(getattr(keras.layers, c) for c in NORMALIZING_LAYERS
                    if hasattr(keras.layers, c))
    found, seen = [], set()

    def visit(layer, depth):
        if id(layer) in seen or depth > 50:
            return
        seen.add(id(layer))
        if isinstance(layer, classes):
            found.append(f"{layer.name} ({type(layer).__name__})")
        for sub in getattr(layer, "layers", None) or ():
            visit(sub, depth + 1)
        for sub in _keras.tracked_layers(layer):  # layers tracked by custom layers
            if isinstance(sub, keras.layers.Layer):
                visit(sub, depth + 1)

    for layer in model.layers:
        visit(layer, 0)
    return found


@check(UNSCALED_INPUTS.id)
def check_unscaled_inputs(model, x, *, max_scale: float = 20.0,
                          batch_size: int | None = None) -> list:
    """Flag numeric inputs whose typical magnitude exceeds ``max_scale`` when the model has
    no layer that normalizes or rescales them. Multi-input models are checked per input
    only when ``x`` is a dict or list with one entry per input; a model containing any
    normalizing layer is not flagged."""
    _validate.as_model(model)
    max_scale = _validate.check_scalar(max_scale, "max_scale", float, min_val=0,
                                       include_boundaries="neither")
    if isinstance(x, Mapping):
        parts = [(f"[{k!r}]", v) for k, v in x.items()]
    elif len(getattr(model, "inputs", None) or ()) > 1 and isinstance(x, (list, tuple)):
        parts = [(f"[{i}]", v) for i, v in enumerate(x)]
    else:
        parts = [("", x)]
    stats = []
    for label, value in parts:
        if label and _is_text(value):
            continue  # a string input (for StringLookup and friends) has no scale
        stats.append((label, feature_stats(value, batch_size=batch_size, name=f"x{label}")))
    if normalizing_layers(model):
        return []
    found = []
    for label, s in stats:
        rms = np.nan_to_num(s.rms, nan=0.0)
        big = np.flatnonzero(rms > max_scale)
        if not len(big):
            continue
        worst = big[np.argsort(-rms[big])][:3]
        detail = "; ".join(f"{s.names[i]!r}: mean {_number(s.mean[i])}, std {_number(s.std[i])}"
                           for i in worst)
        found.append(UNSCALED_INPUTS.finding(
            f"{len(big)} of {s.n_features} input features{label} have a typical magnitude "
            f"above {max_scale:g} (largest {_number(rms[worst[0]])}), and model {model.name!r} "
            f"has no Normalization, Rescaling or other normalizing layer. Worst: {detail}.",
            n_large=int(len(big)), n_features=s.n_features, max_rms=float(rms[worst[0]]),
            features=[s.names[i] for i in worst]))
    return found
