"""The rule registry and the checks, one module per chapter.

A *rule* is a named fault the book teaches (id, severity, chapter, the notebook that
explains it). A *check* is a plain function that looks at a model and/or data and returns
a list of :class:`~helpers.report.Finding` for the rules it owns. Both live in one
registry, so ``helpers.diagnose`` and the book's rule catalogue can't drift apart.

A check's parameters come from a fixed vocabulary, ``model, x, y, x_serve, history``;
``diagnose`` calls every check whose required parameters it was given. A check that runs
the model may also take ``forward``, the outputs ``diagnose`` computes once for all checks
(:class:`helpers._outputs.Forward`); called on its own, it computes them itself.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from helpers import _keras, _validate
from helpers.report import CHAPTERS, SEVERITIES, Finding

INPUTS = ("model", "x", "y", "x_serve", "history")
#: What ``diagnose`` computes once and hands to the checks that take it.
PROVIDED = ("forward",)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    chapter: str
    title: str
    detects: str
    fix: str
    doc: str

    def finding(self, message: str, **evidence) -> Finding:
        return Finding(rule=self.id, severity=self.severity, chapter=self.chapter,
                       title=self.title, message=message, fix=self.fix, doc=self.doc,
                       evidence=evidence)


@dataclass(frozen=True)
class CheckSpec:
    name: str
    function: Callable
    rules: tuple[str, ...]
    needs: tuple[str, ...]
    optional: tuple[str, ...]
    compiled: bool = False       # needs model.compile(...) (it reads the loss)
    single_output: bool = False  # handles one model output only
    outcome: bool = False        # judges predictions against y: needs a model that learned
    forward: bool = False        # takes the shared outputs (keyword ``forward``)
    unfit_serving: bool = False  # explains an x_serve that does not fit the model


RULES: dict[str, Rule] = {}
CHECKS: dict[str, CheckSpec] = {}


def rule(id: str, *, severity: str, title: str, detects: str, fix: str, doc: str) -> Rule:
    """Register a rule. Its chapter is the part of ``id`` before the dot."""
    chapter = id.split(".", 1)[0]
    if chapter not in CHAPTERS or "." not in id:
        raise ValueError(f"rule id must look like '<chapter>.<name>', got {id!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
    if id in RULES:
        raise ValueError(f"rule {id!r} is registered twice")
    RULES[id] = Rule(id, severity, chapter, title, detects, fix, doc)
    return RULES[id]


def require(model, name: str, *, compiled: bool = False, single_output: bool = False) -> None:
    """Raise when ``model`` is not what check ``name`` declares it handles: not a Keras
    model, not compiled (``compiled``), several outputs (``single_output``)."""
    _validate.as_model(model, compiled=compiled)
    if single_output:
        try:
            outputs = len(model.outputs or ())
        except (AttributeError, ValueError):
            return  # a subclassed model that was never called: nothing to count
        if outputs > 1:
            _keras.single_output(model)  # the one guard: raises, naming the argument


def check(*rule_ids: str, compiled: bool = False, single_output: bool = False,
          outcome: bool = False, unfit_serving: bool = False):
    """Register a check function as the owner of ``rule_ids``.

    ``compiled=True``: the check reads the loss, so ``diagnose`` skips it for an
    uncompiled model. ``single_output=True``: it handles single-output models only.
    ``outcome=True``: it blames labels or thresholds for how predictions line up with y,
    which means something only for a model that learned from the data, so ``diagnose``
    runs it only then (an untrained network ranks two classes backwards half the time).
    ``unfit_serving=True``: it can explain an ``x_serve`` that does not fit the model (it
    reads names, not values), so ``diagnose`` runs it when that happens instead of raising.
    ``compiled`` and ``single_output`` also hold when the check is called on its own: a
    model that is not what it handles gets a ``ValueError`` naming ``model``.
    """

    def register(function):
        unknown = [r for r in rule_ids if r not in RULES]
        if unknown:
            raise ValueError(f"{function.__name__} names unregistered rules {unknown}")
        signature = inspect.signature(function)
        needs, optional = [], []
        for name, p in signature.parameters.items():
            if name not in INPUTS:
                continue  # keyword options with defaults, e.g. thresholds
            (optional if p.default is not inspect.Parameter.empty else needs).append(name)
        checked = function
        if (compiled or single_output) and "model" in signature.parameters:
            @functools.wraps(function)
            def checked(*args, **kwargs):
                model = signature.bind_partial(*args, **kwargs).arguments.get("model")
                require(model, function.__name__, compiled=compiled,
                        single_output=single_output)
                return function(*args, **kwargs)
        CHECKS[function.__name__] = CheckSpec(
            function.__name__, checked, tuple(rule_ids), tuple(needs), tuple(optional),
            compiled, single_output, outcome, "forward" in signature.parameters,
            unfit_serving)
        return checked

    return register


def _load_chapter_modules() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_load_chapter_modules()
