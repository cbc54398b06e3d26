"""Silence TensorFlow's C++ start-up log lines at their source.

TensorFlow 2.21 writes its oneDNN, CUDA and CPU-feature lines from C++ (through absl)
straight to file descriptor 2 while it is imported and while it first looks for devices,
before ``TF_CPP_MIN_LOG_LEVEL`` is read. Nothing at the Python level can catch them, so we
point descriptor 2 at /dev/null for exactly that window, then give it back. Python warnings
raised in the window are recorded and re-issued afterwards, so real warnings stay visible;
warnings Keras raises later (for example softmax on one unit) are untouched.

In a notebook, ``warnings_once_without_paths`` shows each warning as ``UserWarning: message``:
once, and without the file and line of the library that raised it (a path such as
``.../site-packages/keras/src/ops/nn.py:960`` means nothing to a reader and differs on every
machine). The warnings themselves are neither filtered nor changed.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings

_done = False
_shown: set[tuple] = set()


@contextlib.contextmanager
def _stderr_fd_silenced():
    try:
        sys.stderr.flush()
    except Exception:  # pragma: no cover - a closed or odd stderr
        pass
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no descriptor 2 (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_tensorflow() -> None:
    """Import Keras, and TensorFlow when it is Keras's backend, with their C++ log lines
    suppressed (idempotent). On another backend TensorFlow is not imported: it costs seconds,
    and Keras imports it itself if it is handed a tf.data pipeline."""
    global _done
    if _done:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with warnings.catch_warnings(record=True) as caught:
        with _stderr_fd_silenced():
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                # First device lookup is where cuInit complains on machines with no GPU.
                tf.config.list_physical_devices()
                tf.get_logger().setLevel("ERROR")
            keras.ops.convert_to_tensor([0.0])
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    _done = True


def _show_once_without_path(message, category, filename, lineno, file=None, line=None):
    """A ``warnings.showwarning`` that prints ``Category: message`` once per warning.

    Keras repeats a warning with the numbers in it changed (the softmax warning names the
    tensor's shape: (None, 1) while building, (32, 1) for each batch), and a warning that
    points at the caller comes from a new file in every notebook cell; so two warnings of one
    category whose texts differ only in their numbers (or a shape's None) count as one.
    """
    text = str(message)
    key = (category, re.sub(r"\d+|\bNone\b", "#", text))
    if key in _shown:
        return
    _shown.add(key)
    stream = sys.stderr if file is None else file
    if stream is None:  # pythonw and some embedded interpreters have no stderr
        return
    try:
        stream.write(f"{category.__name__}: {text}\n")
    except OSError:  # pragma: no cover - a closed stream, as warnings.showwarning allows
        pass


def warnings_once_without_paths() -> None:
    """In IPython (a notebook), show each warning once and without machine paths."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is not None:
        warnings.showwarning = _show_once_without_path
