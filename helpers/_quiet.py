"""Silence TensorFlow's C++ start-up log lines at their source.

TensorFlow 2.21 writes its oneDNN, CUDA and CPU-feature lines from C++ (through absl)
straight to file descriptor 2 while it is imported and while it first looks for devices,
before ``TF_CPP_MIN_LOG_LEVEL`` is read. Nothing at the Python level can catch them, so we
point descriptor 2 at /dev/null for exactly that window, then give it back. Python warnings
raised in the window are recorded and re-issued afterwards, so real warnings stay visible;
warnings Keras raises later (for example softmax on one unit) are untouched.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

_done = False


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
    """Import TensorFlow and Keras with their C++ log lines suppressed (idempotent)."""
    global _done
    if _done:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with warnings.catch_warnings(record=True) as caught:
        with _stderr_fd_silenced():
            import tensorflow as tf

            # First device lookup is where cuInit complains on machines with no GPU.
            tf.config.list_physical_devices()
            import keras

            keras.ops.convert_to_tensor([0.0])
            tf.get_logger().setLevel("ERROR")
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    _done = True
