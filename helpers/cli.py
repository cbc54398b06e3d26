"""Command line: ``python -m helpers diagnose model.keras --data train.npz``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
import zipfile

EXAMPLE = """\
example:
  # in Python, once:
  #   model.save("model.keras")
  #   np.savez("train.npz", x=x_train, y=y_train)
  #   np.savez("serve.npz", x=x_from_production)
  python -m helpers diagnose model.keras --data train.npz --serve serve.npz
  python -m helpers diagnose model.keras --data train.npz --json > report.json

exit status:
  0  no errors found, and every check that the inputs allow ran
  1  errors found
  2  the inputs could not be read (the message names the file)
  3  no errors found, but some checks could not use the data given (NaN in x, labels
     that are strings...): the report's first line says how many and why
Files are loaded safely: models with safe_mode=True (no Lambda code runs), .npz files
with allow_pickle=False (no Python objects are unpickled).
"""


class InputError(Exception):
    """A file the user gave can't be used; the message says why."""


def _load_model(path: str):
    import keras

    if not os.path.exists(path):
        raise InputError(f"model file not found: {path}")
    try:
        with warnings.catch_warnings():
            # Optimizer state is irrelevant to a diagnosis; Keras warns when it can't restore it.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            return keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # keras raises ValueError, OSError, zipfile errors...
        text = str(exc)
        if "safe_mode" in text or "Lambda" in text:
            raise InputError(
                f"refused to load {path}: it contains code (such as a Lambda layer) that "
                "would run on loading, and helpers loads models with safe_mode=True. If you "
                "trust the file, load it yourself with keras.saving.load_model(path, "
                "safe_mode=False) and call helpers.diagnose(model, x, y).") from None
        raise InputError(f"could not load a Keras model from {path}: "
                         f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
                         " (save it with model.save('model.keras'))") from None


def _load_npz(path: str, option: str, required=("x",)):
    import numpy as np

    if not os.path.exists(path):
        raise InputError(f"{option} file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise InputError(f"could not read {path}: it is not an .npz archive. Save one with "
                         "np.savez(path, x=inputs, y=labels).")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise InputError(f"refused to read {path}: it stores Python objects, which could "
                             "run code when unpickled. Save plain numeric or string arrays "
                             "with np.savez.") from None
        raise InputError(f"could not read {path} as an .npz archive: {exc}") from None
    except Exception as exc:
        raise InputError(f"could not read {path} as an .npz archive: {exc}") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise InputError(f"{path} has no array named {' or '.join(map(repr, missing))}; it "
                         f"holds {sorted(arrays) or 'nothing'}. Save it with "
                         "np.savez(path, x=inputs, y=labels).")
    return arrays


def _load_history(path: str):
    if not os.path.exists(path):
        raise InputError(f"--history file not found: {path}")
    try:
        with open(path) as fh:
            history = json.load(fh)
    except (OSError, ValueError) as exc:
        raise InputError(f"could not read {path} as JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"could not read {path} as JSON: it is nested too deeply to be a "
                         "history") from None
    if not isinstance(history, dict):
        raise InputError(f"{path} holds a JSON {type(history).__name__.replace('NoneType', 'null')}"
                         ", not a history: save model.fit(...).history, a dict of per-epoch "
                         'lists such as {"loss": [0.7, 0.6]}, with json.dump')
    return history


#: Which file an argument of ``helpers.diagnose`` came from, for error messages.
_SOURCES = {"x_serve": "serve", "x": "data", "y": "data", "history": "history"}


def _source(message: str, args) -> str:
    """The file (option and path) that a diagnose error message is about, if it tells."""
    word = message.split("[", 1)[0].split(" ", 1)[0]
    if message.startswith(("inputs must have", "the arrays in")):
        word = "x"
    option = _SOURCES.get(word)
    path = getattr(args, option, None) if option else None
    return f"--{option} {path}: " if path else ""


def _rules(args) -> int:
    from helpers.checks import RULES

    if args.json:
        print(json.dumps([vars(r) for r in RULES.values()], indent=2))
    else:
        for r in RULES.values():
            print(f"{r.severity:8}{r.id}\n        {r.title}\n        {r.doc}")
    return 0


def _diagnose(args) -> int:
    import helpers

    model = _load_model(args.model)
    data = _load_npz(args.data, "--data") if args.data else {}
    serve = _load_npz(args.serve, "--serve") if args.serve else {}
    history = _load_history(args.history) if args.history else None
    try:
        report = helpers.diagnose(model, data.get("x"), data.get("y"),
                                  x_serve=serve.get("x"), history=history)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InputError(_source(str(exc), args) + str(exc)) from None
    print(report.to_json(indent=2) if args.json else report)
    if report.errors:
        return 1
    return 3 if report.could_not_check else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers",
        description="Find the faults that make Keras models predict nonsense.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLE)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("diagnose", help="run every check the inputs allow on a saved model",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLE)
    d.add_argument("model", help="a model saved with model.save('model.keras')")
    d.add_argument("--data", help=".npz with arrays x and (optionally) y: training or "
                                  "evaluation data")
    d.add_argument("--serve", help=".npz with an array x of inputs as seen at prediction time")
    d.add_argument("--history", help="JSON of model.fit(...).history (a dict of lists)")
    d.add_argument("--json", action="store_true", help="print the report as JSON")
    r = sub.add_parser("rules", help="list every rule the checks know")
    r.add_argument("--json", action="store_true", help="print the rules as JSON")
    args = parser.parse_args(argv)
    try:
        return _rules(args) if args.command == "rules" else _diagnose(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
