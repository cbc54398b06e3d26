"""Plain display of numpy scalars in IPython.

NumPy 2 writes ``np.float64(0.5)`` as the text form of a scalar. myst-nb's ``glue`` formats
numbers in prose from that text (``{glue:text}`name:.1%```) and can't parse it, and a
reader gains nothing from the wrapper either. In an IPython session, helpers registers
text formatters that show numpy scalars as the plain Python number. Nothing changes
outside IPython, and the values themselves are untouched.
"""

from __future__ import annotations

import numpy as np


def plain_numpy_scalars() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["text/plain"]
    # Concrete types: IPython registers some of them (np.float64) itself, and an exact
    # type match wins over a base class such as np.floating.
    for kind, plain in (("f", float), ("iu", int), ("b", bool)):
        for scalar in {np.dtype(c).type for c in np.typecodes["All"]
                       if np.dtype(c).kind in kind}:
            formatter.for_type(scalar, lambda x, printer, cycle, plain=plain:
                               printer.text(repr(plain(x))))
