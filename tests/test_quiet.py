import contextlib
import io
import sys
import warnings

import pytest

from helpers import _quiet


@contextlib.contextmanager
def shown_in_a_notebook(monkeypatch):
    """Warnings as a notebook shows them once helpers is imported, written to a string.

    A context manager, not a fixture: pytest restores warnings.showwarning after setup."""
    monkeypatch.setattr(_quiet, "_shown", set())
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # Python's own once-per-line memory is not the test
        warnings.showwarning = _quiet._show_once_without_path
        yield sys.stderr


def test_a_warning_shows_once_as_category_and_message_without_its_path(monkeypatch):
    with shown_in_a_notebook(monkeypatch) as out:
        for shape in ["(None, 1)", "(32, 1)", "(8, 1)"]:
            warnings.warn(f"You are using a softmax over axis -1 of a tensor of shape {shape}.",
                          stacklevel=1)
        warnings.warn("Another warning.", DeprecationWarning, stacklevel=1)
    assert out.getvalue().splitlines() == [
        "UserWarning: You are using a softmax over axis -1 of a tensor of shape (None, 1).",
        "DeprecationWarning: Another warning."]


def test_warnings_that_differ_in_words_all_show(monkeypatch):
    with shown_in_a_notebook(monkeypatch) as out:
        warnings.warn("Layer dense received an unknown argument.", stacklevel=1)
        warnings.warn("Layer dense received an unknown keyword.", stacklevel=1)
    assert len(out.getvalue().splitlines()) == 2


@pytest.mark.parametrize("in_ipython", [False, True])
def test_installed_in_ipython_only(monkeypatch, in_ipython):
    pytest.importorskip("IPython")
    monkeypatch.setattr("IPython.get_ipython", lambda: object() if in_ipython else None)
    with warnings.catch_warnings():
        before = warnings.showwarning
        _quiet.warnings_once_without_paths()
        installed = warnings.showwarning is _quiet._show_once_without_path
    assert installed == in_ipython
    assert in_ipython or warnings.showwarning is before
