"""``DiagnoseCallback``: run ``helpers.diagnose`` while a model trains."""

from __future__ import annotations

import time
import warnings

import keras

from helpers._validate import check_scalar, describe
from helpers.diagnose import diagnose
from helpers.report import COULD_NOT_USE, Finding, Report


class DiagnoseCallback(keras.callbacks.Callback):
    """Diagnose the model during ``fit``: at the end, and every ``every`` epochs if given.

    ``x``, ``y`` and ``x_serve`` are passed to :func:`helpers.diagnose` together with the
    history so far, so the learning-curve checks run too. Each finding is reported once,
    at the first epoch it appeared (``report_epochs[rule]``); the finished report is in
    ``callback.report`` and is printed at the end when ``verbose`` is true. The callback
    only reads: it never changes the weights, the optimizer or the training loop. The time
    it spent diagnosing is in ``callback.seconds`` (about 0.3 s per diagnosis for a small
    MLP: the checks look at no more than a few thousand rows).

        cb = helpers.DiagnoseCallback(x_train, y_train, every=5)
        model.fit(x_train, y_train, epochs=20, callbacks=[cb])
        cb.report

    It never breaks ``fit``: a metric that is not one number per epoch (such as
    ``keras.metrics.F1Score(average=None)``, one value per class) is left out of the history
    the checks read, and a diagnosis that fails (say, on inputs it can't use) is recorded;
    each is said once, in a warning and in ``callback.report.checks_skipped``, and the
    report of a failed diagnosis is not ``ok``.
    """

    def __init__(self, x=None, y=None, *, x_serve=None, every: int | None = None,
                 verbose: bool = True):
        super().__init__()
        if every is not None:
            check_scalar(every, "every", int, min_val=1)
        self.x, self.y, self.x_serve = x, y, x_serve
        self.every, self.verbose = every, verbose
        self.report = Report([])
        self.report_epochs: dict[str, int] = {}
        self._found: dict[tuple, Finding] = {}
        self._history: dict[str, list[float]] = {}
        self._run, self._skipped = (), {}
        self.seconds = 0.0

    def on_train_begin(self, logs=None):
        self._history, self._found, self.report_epochs = {}, {}, {}
        self._left_out: dict[str, str] = {}
        self._run, self._skipped = (), {}
        self.seconds = 0.0

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if key in self._left_out:
                continue
            try:
                number = float(keras.ops.convert_to_numpy(value).reshape(()))
            except (TypeError, ValueError, AttributeError):
                self._leave_out(key, f"left out of the history: not one number per epoch "
                                     f"(got {describe(value)})")
                continue
            self._history.setdefault(key, []).append(number)
        if self.every and (epoch + 1) % self.every == 0:
            self._diagnose(epoch + 1)

    def on_train_end(self, logs=None):
        self._diagnose(len(self._history.get("loss", ())))
        self.report = Report(self._found.values(), checks_run=self._run,
                             checks_skipped={**self._skipped, **self._left_out})
        if self.verbose:
            print(self.report)

    def _leave_out(self, key: str, why: str) -> None:
        self._left_out[key] = why
        self._history.pop(key, None)
        warnings.warn(f"DiagnoseCallback: {key}: {why}", stacklevel=2)

    def _diagnose(self, epoch: int) -> None:
        start = time.perf_counter()
        # Metrics logged on some epochs only (validation_freq > 1) can't line up with loss.
        epochs = len(self._history.get("loss", ()))
        history = {k: v for k, v in self._history.items() if len(v) == epochs} or None
        try:
            report = diagnose(self.model, self.x, self.y, x_serve=self.x_serve,
                              history=history)
        except Exception as exc:  # never break fit; say it once and keep training
            if "diagnose" not in self._left_out:
                self._leave_out("diagnose", f"{COULD_NOT_USE}at epoch {epoch}, "
                                            f"{type(exc).__name__}: {exc}")
            return
        finally:
            self.seconds += time.perf_counter() - start
        self._run, self._skipped = report.checks_run, report.checks_skipped
        for finding in report:
            key = (finding.rule, str(finding.evidence.get("output", "")))
            if key not in self._found:
                self._found[key] = finding
                self.report_epochs.setdefault(finding.rule, epoch)
