"""Columns that moved between training and serving, and values the model can't compute with."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from helpers import _validate
from helpers.checks import check, rule
from helpers.checks.preprocessing.serving import NB_COLUMNS
from helpers.stats import _is_dataframe

COLUMN_MISMATCH = rule(
    "preprocessing.column-mismatch", severity="error",
    title="Serving columns differ from the training columns",
    detects="DataFrames whose column names differ between training and serving: columns "
            "missing, extra, or in another order. A model reads columns by position, so a "
            "one-hot column built separately on the serving data (pandas.get_dummies with a "
            "category absent or new) silently feeds one feature's values into another's weights.",
    fix="Build the encoding once on the training data and reuse it: "
        "serving.reindex(columns=training_columns, fill_value=0), a fitted OneHotEncoder("
        "handle_unknown='ignore'), or StringLookup/IntegerLookup layers inside the model.",
    doc=NB_COLUMNS,
)


@check(COLUMN_MISMATCH.id, unfit_serving=True)
def check_column_mismatch(x, x_serve) -> list:
    """Compare the column names of two DataFrames (training ``x`` and serving ``x_serve``).

    Arrays carry no names, so they are not checked (an empty list is returned)."""
    for value, name in ((x, "x"), (x_serve, "x_serve")):
        if value is None:
            raise TypeError(f"{name} must be a DataFrame or array-like, got None")
        if isinstance(value, (str, bytes)):
            raise TypeError(f"{name} must be a DataFrame or array-like, got a "
                            f"{type(value).__name__} {value!r:.40}")
    if not (_is_dataframe(x) and _is_dataframe(x_serve)):
        return []
    train_cols = [str(c) for c in x.columns]
    serve_cols = [str(c) for c in x_serve.columns]
    if train_cols == serve_cols:
        return []
    missing = [c for c in train_cols if c not in set(serve_cols)]
    extra = [c for c in serve_cols if c not in set(train_cols)]
    common_t = [c for c in train_cols if c in set(serve_cols)]
    common_s = [c for c in serve_cols if c in set(train_cols)]
    moved = [c for i, c in enumerate(common_s) if i < len(common_t) and common_t[i] != c]
    # Which training columns would receive another column's values when read by position.
    shifted = [f"{t!r} <- {s!r}" for t, s in zip(train_cols, serve_cols) if t != s]
    parts = []
    if missing:
        parts.append(f"missing from serving: {missing[:5]}" + (" ..." if len(missing) > 5
                                                               else ""))
    if extra:
        parts.append(f"only in serving: {extra[:5]}" + (" ..." if len(extra) > 5 else ""))
    if moved:
        parts.append(f"{len(moved)} shared columns in another order")
    if len(train_cols) == len(serve_cols):
        where = (f"Same number of columns ({len(train_cols)}), so a model reading by position "
                 f"gets the wrong values without any error: " + ", ".join(shifted[:3])
                 + (" ..." if len(shifted) > 3 else ""))
    else:
        where = (f"Training has {len(train_cols)} columns and serving {len(serve_cols)}, so "
                 "predict() fails or, after padding, reads the wrong columns")
    return [COLUMN_MISMATCH.finding(
        "Column names differ between x and x_serve: " + "; ".join(parts) + ". " + where + ".",
        missing=missing, extra=extra, reordered=moved, n_train=len(train_cols),
        n_serve=len(serve_cols))]


# ---------------------------------------------------------------------------------------
# Values the model can't compute with
# ---------------------------------------------------------------------------------------

NON_FINITE = rule(
    "preprocessing.non-finite-inputs", severity="error",
    title="NaN or infinite values in the inputs",
    detects="Inputs holding NaN or inf. Keras does not complain: one NaN in a training batch "
            "makes the loss NaN and every weight it reaches NaN, and at prediction time the "
            "row gets a NaN or an arbitrary output. Usual causes: missing values never imputed, "
            "a division by a zero standard deviation, log of 0.",
    fix="Impute missing values before the model sees them (sklearn SimpleImputer fitted on "
        "the training rows, plus an is-missing indicator if missingness means something), "
        "and guard divisions: scale with a standard deviation that can't be 0.",
    doc=NB_COLUMNS,
)


@check(NON_FINITE.id)
def check_finite_inputs(model, x) -> list:
    """NaN or infinite values in ``x`` (every input of a multi-input model)."""
    inputs, n = _validate.as_inputs(x, "x", model, finite=False)
    if isinstance(inputs, Mapping):
        parts = [(f"x[{k!r}]", v) for k, v in inputs.items()]
    elif isinstance(inputs, list):
        parts = [(f"x[{i}]", v) for i, v in enumerate(inputs)]
    else:
        parts = [("x", inputs)]
    names = list(x.columns) if _is_dataframe(x) else None
    found = []
    for label, arr in parts:
        if arr.dtype.kind != "f":
            continue
        bad = ~np.isfinite(arr.reshape(len(arr), -1))
        if not bad.any():
            continue
        rows, per_feature = int(bad.any(axis=1).sum()), bad.sum(axis=0)
        worst = [int(i) for i in np.argsort(-per_feature)[:3] if per_feature[i] > 0]
        named = names if names and len(names) == len(per_feature) else range(len(per_feature))
        where = ", ".join(f"{named[i]!r} ({int(per_feature[i])})" for i in worst)
        found.append(NON_FINITE.finding(
            f"{label} holds {int(np.isnan(arr).sum())} NaN and {int(np.isinf(arr).sum())} "
            f"infinite value(s) in {rows} of {n} rows; most in feature(s) {where}. The "
            "checks that run the model skip this data.",
            input=label, rows=rows, n_rows=n, nan=int(np.isnan(arr).sum()),
            inf=int(np.isinf(arr).sum()), features=[named[i] for i in worst]))
    return found
