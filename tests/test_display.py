import numpy as np
import pytest


def test_numpy_scalars_display_as_plain_numbers_in_ipython():
    globalipapp = pytest.importorskip("IPython.testing.globalipapp")
    shell = globalipapp.start_ipython()
    from helpers._display import plain_numpy_scalars

    plain_numpy_scalars()
    text = shell.display_formatter.formatters["text/plain"]
    assert text(np.float64(0.25)) == "0.25"
    assert text(np.float32(0.5)) == "0.5"
    assert text(np.int64(3)) == "3" and text(np.uint8(7)) == "7"
    assert text(np.bool_(True)) == "True"
    assert text(np.arange(2)) == "array([0, 1])"  # arrays are left alone
