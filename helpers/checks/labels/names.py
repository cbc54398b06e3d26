"""Class names (loaders whose ids differ between training and serving) and labels that are
themselves the fault (text labels, a single class)."""

from __future__ import annotations

import numpy as np

from helpers import _keras, _validate
from helpers._keras import (
    SQUASHING,
)
from helpers._targets import class_ids, target_kind
from helpers.checks import check, rule
from helpers.checks.labels.values import NB_FOLDERS, NB_FORMAT

NAMES_AS_TEXT = rule(
    "labels.class-names-sorted-as-text", severity="warning",
    title="Numbered class folders sorted as text",
    detects="Class names that are numbers but are not in numeric order, such as "
            "'1', '10', '2', ...: directory loaders (image_dataset_from_directory, "
            "flow_from_directory) sort folder names as text, so class id i is not the "
            "number i. Code that reads a predicted id as the number (or the number minus "
            "one) names the wrong class.",
    fix="Pass class_names= in the order you mean (e.g. sorted(names, key=int)) when "
        "loading, or turn ids into names with the loader's class_names list, saved with "
        "the model.",
    doc=NB_FOLDERS,
)
NAMES_DIFFER = rule(
    "labels.class-names-differ", severity="error",
    title="Training and evaluation data number their classes differently",
    detects="The class names behind the ids of the data you evaluate or predict on differ "
            "from those of the training data: a class folder missing from the test folder, "
            "an extra or renamed one. Directory loaders number the folders they find, so "
            "every id after the difference means another class.",
    fix="Save the training class_names with the model; load other folders with "
        "class_names= set to that list (Keras then fails loudly on a folder it doesn't "
        "know), or map each loader's ids to the training ids by name.",
    doc=NB_FOLDERS,
)


def _class_names(value):
    """The class names behind a loader's label ids, or None (arrays, DataFrames...)."""
    names = getattr(value, "class_names", None) if not isinstance(value, (list, tuple)) \
        else value
    indices = getattr(value, "class_indices", None)  # flow_from_directory: {name: id}
    if names is None and isinstance(indices, dict):
        names = sorted(indices, key=indices.get)
    if isinstance(names, (list, tuple)) and names and all(isinstance(v, str) for v in names):
        return list(names)
    return None


def _numbers(names) -> list[int] | None:
    try:
        return [int(n) for n in names]
    except ValueError:
        return None


@check(NAMES_AS_TEXT.id, NAMES_DIFFER.id)
def check_class_names(x, x_serve=None) -> list:
    """Compare the class names behind the label ids of ``x`` (and of ``x_serve``).

    ``x`` is a dataset from a directory loader (anything with a ``class_names`` list, as
    ``image_dataset_from_directory`` returns before ``map`` or ``prefetch``, or the
    ``class_indices`` dict of ``flow_from_directory``), or the list of names itself;
    ``x_serve`` likewise for the data you evaluate or predict on. Arrays carry no class
    names and give no finding. Fires ``labels.class-names-sorted-as-text`` when the
    names are numbers out of numeric order, and ``labels.class-names-differ`` when the two
    lists differ, naming the ids whose class changes.
    """
    names = _class_names(x)
    if names is None:
        return []
    found = []
    numbers = _numbers(names)
    if numbers is not None and numbers != sorted(numbers):
        wrong = [(i, n) for i, n in enumerate(names) if numbers[i] != sorted(numbers)[i]]
        shown = ", ".join(f"id {i} is {n!r}" for i, n in wrong[:4])
        found.append(NAMES_AS_TEXT.finding(
            f"The {len(names)} class names are numbers sorted as text "
            f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}): {shown}. "
            f"{len(wrong)} of {len(names)} ids differ from the position of their number.",
            class_names=names, ids_out_of_place=len(wrong)))
    serve = _class_names(x_serve) if x_serve is not None else None
    if serve is not None and serve != names:
        changed = [i for i in range(max(len(names), len(serve)))
                   if i >= len(names) or i >= len(serve) or names[i] != serve[i]]
        missing = [n for n in names if n not in serve]
        extra = [n for n in serve if n not in names]
        shown = ", ".join(
            f"id {i}: {names[i] if i < len(names) else '-'!r} -> "
            f"{serve[i] if i < len(serve) else '-'!r}" for i in changed[:4])
        found.append(NAMES_DIFFER.finding(
            f"x_serve numbers its {len(serve)} classes differently from the {len(names)} of "
            f"x: {len(changed)} ids change class ({shown}"
            f"{', ...' if len(changed) > 4 else ''})."
            + (f" Missing from x_serve: {missing}." if missing else "")
            + (f" Not in x: {extra}." if extra else ""),
            ids_changed=changed, missing=missing, extra=extra))
    return found
# --- labels that are themselves the fault ----------------------------------------------------

STRING_LABELS = rule(
    "labels.string-labels", severity="warning",
    title="Labels are strings; the loss and the output take numbers",
    detects="y holds class names (strings). Keras losses compute on numbers, so model.fit "
            "stops with 'Invalid dtype', and no check can compare the model's outputs with "
            "names without knowing which output unit stands for which name.",
    fix="Encode the names once, with a mapping you save beside the model (a fitted "
        "LabelEncoder, or a dict such as {'benign': 0, 'malignant': 1}), train on the codes "
        "and diagnose with the same codes.",
    doc=NB_FORMAT,
)
SINGLE_CLASS = rule(
    "labels.single-class", severity="warning",
    title="Every label is the same class",
    detects="A classification target in which one class holds every row. A model trained on "
            "it learns to predict that class for every input (the loss falls to 0 and "
            "accuracy reads 100%), and no check can tell a good ranking of classes from a bad "
            "one. Usual causes: filtering the rows by the label, a label column read from "
            "the wrong file, or a batch drawn from sorted data.",
    fix="Check the label counts (np.unique(y, return_counts=True)) before fitting; shuffle "
        "before splitting, and split with stratify=y so every part holds every class.",
    doc=NB_FORMAT,
)


@check(STRING_LABELS.id, SINGLE_CLASS.id, single_output=True)
def check_label_classes(model, y) -> list:
    """Labels that can't train or judge a classifier: strings, or a single class.

    Only for classifiers: a classification loss, or (uncompiled) a sigmoid or softmax
    output. Strings are reported for any model, since no Keras loss takes them.
    """
    _validate.as_model(model)
    labels = _validate.as_labels(y, "y")
    out = _keras.single_output(model)
    kind = target_kind(labels)
    n = len(labels)
    if kind == "strings":
        names = np.unique(labels.astype(str))
        return [STRING_LABELS.finding(
            f"y holds {len(names)} distinct strings ({', '.join(map(repr, names[:4]))}"
            f"{', ...' if len(names) > 4 else ''}) in {n} rows; {out.name!r} outputs numbers, "
            "so the checks that compare predictions with labels could not run.",
            output=out.name, classes=names[:20].tolist())]
    loss = out.loss.kind if out.loss is not None else None
    classifier = (loss in _keras.PROBABILISTIC_LOSSES if loss is not None
                  else out.activation in SQUASHING)
    ids = class_ids(labels)
    if not classifier or ids is None:
        return []
    distinct = np.unique(ids)
    if len(distinct) != 1:
        return []
    return [SINGLE_CLASS.finding(
        f"all {n} labels in y are class {distinct[0]:g}: a model trained on them predicts "
        "that class for everything, and predictions can't be judged against them.",
        output=out.name, n_rows=n, label=float(distinct[0]))]
