"""One forward pass per ``diagnose`` call, sized by compute.

:class:`Forward` holds the model's outputs on one sample of the rows of ``x``, with per-row
summaries of the hidden values the probes read (relu outputs, BatchNormalization inputs)
from the same multi-output pass, computed once, in batches, on first use. ``diagnose``
hands one to every check that takes the keyword ``forward``; called on its own, a check
computes its own outputs as before.

How many rows: a budget of compute, not a fixed count. About ``MACS_BUDGET``
multiply-adds at the model's estimated cost per row (:func:`helpers._keras.cost_per_row`),
between ``MIN_ROWS`` and ``MAX_ROWS`` rows, and no more than ``SAMPLE_BYTES`` of inputs:
every row of a few thousand for an MLP, a few dozen images for a VGG16 at 64x64, eight at
224x224. Beyond that the sample is evenly spaced over ``x``
(:func:`helpers._validate.sample_rows`), so data sorted by class still gives every class.
A batch is sized so that its largest layer output stays under
``BATCH_BYTES``, and only per-row summaries of hidden layers are kept, never their values.
"""

from __future__ import annotations

import re

import numpy as np

from helpers import _keras, _validate

MAX_ROWS = 5000
MIN_ROWS = 8
#: Multiply-adds for the shared forward pass: about 2 s on two idle cores.
MACS_BUDGET = 1e11
#: Forward multiply-adds of the gradient probe's rows (its backward pass costs twice that).
GRADIENT_MACS = 3e9
BATCH_BYTES = 2e8
#: The sample of inputs held at once (a cheap model on large images gets fewer rows).
SAMPLE_BYTES = 5e8
GRADIENT_BYTES = 5e8


def row_budget(model, macs: float | None = None, *, low: int = MIN_ROWS,
               high: int = MAX_ROWS, cost=None) -> int:
    """Rows that ``macs`` (default ``MACS_BUDGET``) multiply-adds buy on ``model``, between
    ``low`` and ``high`` (``cost``: :func:`helpers._keras.cost_per_row`, if known)."""
    per_row = (cost or _keras.cost_per_row(model))[0]
    return int(min(high, max(low, (macs or MACS_BUDGET) // per_row)))


def gradient_batches(model, max_rows: int) -> tuple[int, int]:
    """(rows, rows per batch) for a gradient probe of at most ``max_rows`` rows: rows from
    ``GRADIENT_MACS``, batches small enough that every layer's output on a batch (kept
    for the backward pass) fits in ``GRADIENT_BYTES``."""
    cost = _keras.cost_per_row(model)
    rows = row_budget(model, GRADIENT_MACS, low=min(2, max_rows), high=max_rows, cost=cost)
    values = cost[2]
    return rows, int(max(1, min(rows, GRADIENT_BYTES // (4 * values))))


def checked_inputs(model, x, forward=None):
    """``x`` checked against ``model`` as a check reads it: (inputs, rows). With
    ``diagnose``'s shared pass the pass holds the inputs (None here) and raises what reading
    ``x`` raises, as a check on its own would."""
    if forward is not None:
        forward.validate()
        return None, forward.n
    return _validate.as_inputs(x, "x", model)


def _input_size(model) -> float:
    """Values per row of the model's inputs (1 when the graph doesn't say)."""
    try:
        shapes = [tuple(t.shape[1:]) for t in model.inputs]
    except (AttributeError, TypeError, ValueError):
        return 1.0
    return max(1.0, float(sum(np.prod([d or 1 for d in shape]) for shape in shapes)))


def _summaries(kind: str, layer):
    """The tensors a probe keeps per row for ``layer``: its values when they are one vector
    per row, else per-channel summaries over the other axes (relu: the largest value and
    a NaN flag, ``sum(v * 0)``; BatchNormalization: mean and variance)."""
    import keras

    tensor = layer.output if kind == "relu" else layer.input
    rank = len(tensor.shape)
    axis = -1 if kind == "relu" else layer.axis if isinstance(layer.axis, int) else \
        layer.axis[0]
    axis %= rank
    if rank == 2 and axis == 1:
        return [tensor]
    axes = tuple(a for a in range(1, rank) if a != axis)
    if kind == "relu":
        return [keras.ops.max(tensor, axis=axes), keras.ops.sum(tensor * 0, axis=axes)]
    return [keras.ops.mean(tensor, axis=axes), keras.ops.var(tensor, axis=axes)]


class Forward:
    """The model's outputs on one sample of ``x`` (``n`` rows), computed once on first use.

    Checks read slices of it: ``max_rows`` rows, the first ones of the sample
    (``how="first"``) or evenly spaced over it (``how="even"``). What each check read is
    recorded in ``rows_read`` under ``reader`` (set by ``diagnose`` before each check).
    """

    def __init__(self, model, x, n: int, *, max_rows: int | None = None):
        self.model, self.x, self.n = model, x, n
        self.cost = _keras.cost_per_row(model)
        self.budget = max_rows or min(row_budget(model, cost=self.cost),
                                      max(MIN_ROWS, int(SAMPLE_BYTES // (4 * _input_size(model)))))
        self.rows = np.arange(n) if n <= self.budget else \
            _validate.sample_rows(n, self.budget)
        self.reader = None
        self.rows_read: dict[str, int] = {}
        self._inputs = self._predictions = self._error = None
        self._hidden = {}
        self._layers = {"relu": _keras.relu_layers(model),
                        "batchnorm": _keras.batchnorm_layers(model)}

    # --- what a check reads -------------------------------------------------------------

    def validate(self) -> None:
        """Raise what reading ``x`` raises (NaN in it, say), as a check on its own would."""
        self._run()

    def positions(self, max_rows: int | None = None, how: str = "first") -> np.ndarray:
        m = len(self.rows)
        if max_rows is None or m <= max_rows:
            return np.arange(m)
        if how == "first":
            return np.arange(max_rows)
        return _validate.sample_rows(m, max_rows)

    def index(self, max_rows: int | None = None, how: str = "first") -> np.ndarray:
        """The rows of ``x`` (indices) that a check reading ``max_rows`` rows gets."""
        return self.rows[self.positions(max_rows, how)]

    def take(self, value, max_rows: int | None = None, how: str = "first"):
        """``value`` (labels, another array aligned with ``x``) at those rows."""
        where = self.index(max_rows, how)
        self._read(len(where))
        return _validate.take_rows(value, where)

    def inputs(self, max_rows: int | None = None, how: str = "first"):
        """The inputs (checked arrays) at those rows."""
        self._run()
        where = self.positions(max_rows, how)
        self._read(len(where))
        return _validate.take_rows(self._inputs, where)

    def predictions(self, max_rows: int | None = None, how: str = "first") -> list:
        """The model's outputs (float arrays, one per output) on those rows."""
        self._run()
        where = self.positions(max_rows, how)
        self._read(len(where))
        return [p[where] for p in self._predictions]

    def hidden(self, kind: str, max_rows: int | None = None):
        """``[(layer, summaries)]`` for the relu layers (``kind="relu"``) or
        BatchNormalization layers (``"batchnorm"``) on the first ``max_rows`` rows, the
        summaries of :func:`_summaries` as arrays; None for a model without a graph."""
        self._run()
        if kind not in self._hidden:
            self._hidden.update(self._pass(taps_only=True)[1])
        found = self._hidden[kind]
        if found is None:
            return None
        where = self.positions(max_rows, "first")
        self._read(len(where))
        return [(layer, [v[where] for v in values]) for layer, values in found]

    # --- the pass -----------------------------------------------------------------------

    def _read(self, rows: int) -> None:
        if self.reader is not None:
            self.rows_read[self.reader] = max(rows, self.rows_read.get(self.reader, 0))

    def _run(self) -> None:
        if self._error is not None:
            raise self._error
        if self._predictions is not None:
            return
        try:
            sample = self.x
            if len(self.rows) < self.n and not (
                    isinstance(self.x, (list, tuple)) and len(self.model.inputs or ()) < 2):
                sample = _validate.take_rows(self.x, self.rows)  # no copy of all of x
            inputs, _ = _validate.as_inputs(sample, "x", self.model)
            if sample is self.x and len(self.rows) < self.n:
                inputs = _validate.take_rows(inputs, self.rows)
        except (ValueError, TypeError) as exc:
            self._error = exc
            raise
        self._inputs = inputs
        try:
            single = len(self.model.outputs) == 1
        except (AttributeError, TypeError, ValueError):
            single = False
        try:
            if single:
                self._predictions, hidden = self._pass(taps_only=False)
                self._hidden.update(hidden)
            else:  # several outputs: in the order predict gives them; hidden values on demand
                self._predictions = _keras.predict(self.model, inputs, chunk=self._chunk())
        except Exception as exc:  # noqa: BLE001 - failed once, fails for every check alike
            self._error = exc
            raise

    def _chunk(self) -> int:
        return int(max(1, min(512, BATCH_BYTES // (4 * self.cost[1]))))

    def _pass(self, taps_only: bool):
        """Predictions (unless ``taps_only``) and hidden summaries, from one pass in
        batches. Without layers to tap, or without a graph, the outputs come from
        :func:`helpers._keras.predict` and the summaries are None."""
        import keras

        chunk = self._chunk()
        wanted = [(kind, layer) for kind, layers in self._layers.items() for layer in layers]
        probe = None
        if wanted:
            try:
                graph_inputs = self.model.inputs[0] if len(self.model.inputs) == 1 else \
                    self.model.inputs
                tensors = [_summaries(kind, layer) for kind, layer in wanted]
                heads = [] if taps_only else [self.model.outputs[0]]
                probe = keras.Model(graph_inputs, heads + [t for ts in tensors for t in ts])
            except (AttributeError, ValueError, TypeError):
                probe = None
        if probe is None:
            hidden = {kind: None for kind in self._layers if kind not in self._hidden}
            hidden.update({kind: [] for kind, layers in self._layers.items() if not layers})
            return (None if taps_only else
                    _keras.predict(self.model, self._inputs, chunk=chunk)), hidden
        parts = []
        for start in range(0, len(self.rows), chunk):
            batch = _validate.take_rows(self._inputs, slice(start, start + chunk))
            out = probe(batch, training=False)
            out = list(out) if isinstance(out, (list, tuple)) else [out]
            parts.append([np.asarray(keras.ops.convert_to_numpy(o), dtype=float) for o in out])
        columns = [np.concatenate(c) for c in zip(*parts)]
        predictions = None if taps_only else [columns.pop(0)]
        hidden = {kind: [] for kind in self._layers}
        for (kind, layer), summaries in zip(wanted, tensors):
            hidden[kind].append((layer, [columns.pop(0) for _ in summaries]))
        return predictions, hidden


def failure(exc: BaseException) -> str:
    """What went wrong in a probe, in one line: Keras wraps a layer's error in lines of
    its own (and terminal colours), with the cause on a later line."""
    lines = []
    for line in re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines():
        if line.strip().startswith("Arguments received"):
            break
        if line.strip() and not line.startswith("Exception encountered when calling"):
            lines.append(line.strip())
    text = " ".join(lines)
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__
