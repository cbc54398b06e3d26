"""``DiagnoseCallback``: run ``helpers.diagnose`` while a model trains."""

from __future__ import annotations

import time

import keras

from helpers.diagnose import diagnose
from helpers.report import Finding, Report


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
    """

    def __init__(self, x=None, y=None, *, x_serve=None, every: int | None = None,
                 verbose: bool = True):
        super().__init__()
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                                  or every < 1):
            raise ValueError(f"every must be a positive integer or None, got {every!r}")
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
        self.seconds = 0.0

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self._history.setdefault(key, []).append(float(value))
        if self.every and (epoch + 1) % self.every == 0:
            self._diagnose(epoch + 1)

    def on_train_end(self, logs=None):
        self._diagnose(len(next(iter(self._history.values()), [])))
        self.report = Report(self._found.values(), checks_run=self._run,
                             checks_skipped=self._skipped)
        if self.verbose:
            print(self.report)

    def _diagnose(self, epoch: int) -> None:
        start = time.perf_counter()
        report = diagnose(self.model, self.x, self.y, x_serve=self.x_serve,
                          history=self._history or None)
        self.seconds += time.perf_counter() - start
        self._run, self._skipped = report.checks_run, report.checks_skipped
        for finding in report:
            key = (finding.rule, str(finding.evidence.get("output", "")))
            if key not in self._found:
                self._found[key] = finding
                self.report_epochs.setdefault(finding.rule, epoch)
