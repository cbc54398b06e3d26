"""``preflight``: the checks to run before training, in one call."""

from __future__ import annotations

from helpers import _validate
from helpers.checks.fitting import check_before_training
from helpers.report import Report


def preflight(model, x, y, *, max_rows: int = 1024, batch_rows: int = 32, steps: int = 100,
              epochs: int = 10, seed: int = 0) -> Report:
    """Check a compiled, single-output model and its training data before a long run.

    Four findings, each measured (see :func:`helpers.checks.fitting.check_before_training`):
    the loss at initialisation against -log(1/C) (``fitting.initial-loss``), the output
    bias against the class shares on imbalanced data (``fitting.output-bias-prior``),
    whether the model can fit one batch of ``batch_rows`` rows in ``steps`` steps
    (``fitting.cannot-overfit-batch``), and whether a short training on the real inputs
    beats the same training on inputs set to zero (``fitting.ignores-inputs``).

    The training probes run on copies of the model (``keras.models.clone_model`` with the
    current weights and a fresh copy of its optimizer), so ``model`` is unchanged; so are
    ``x`` and ``y``. On a thousand rows of a small network it takes a few seconds.
    """
    _validate.as_model(model, compiled=True)
    n_outputs = len(model.outputs or ())
    if n_outputs != 1:
        raise ValueError(f"model must have one output for preflight, got {n_outputs}")
    findings = check_before_training(model, x, y, probes=True, max_rows=max_rows,
                                     batch_rows=batch_rows, steps=steps, epochs=epochs,
                                     seed=seed)
    return Report(findings, checks_run=["check_before_training"])
