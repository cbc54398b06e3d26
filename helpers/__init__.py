"""helpers: synthetic data and diagnostic checks for Keras models that predict nonsense.

    import helpers
    helpers.seed()                                  # python, numpy, Keras; BOOK_SEED aware
    report = helpers.diagnose(model, x, y)          # every check the inputs allow
    print(report)                                   # errors first, each with its fix

Importing helpers imports TensorFlow and Keras with TensorFlow's C++ start-up log lines
silenced (see ``helpers._quiet``); Python warnings stay visible (in IPython, each once and
without the path of the file that raised it). In IPython, numpy scalars display as plain
numbers (see ``helpers._display``).
"""

from helpers._quiet import quiet_tensorflow, warnings_once_without_paths

warnings_once_without_paths()
quiet_tensorflow()

from helpers._display import plain_numpy_scalars  # noqa: E402

plain_numpy_scalars()

from helpers import checks, data, plots, sweep  # noqa: E402
from helpers._seed import seed  # noqa: E402
from helpers.callback import DiagnoseCallback  # noqa: E402
from helpers.checks import RULES, Rule  # noqa: E402
from helpers.diagnose import diagnose  # noqa: E402
from helpers.preflight import preflight  # noqa: E402
from helpers.report import Finding, Report  # noqa: E402

__version__ = "0.1.0"
__all__ = ["seed", "diagnose", "DiagnoseCallback", "Finding", "Report", "Rule", "RULES",
           "checks", "data", "plots", "preflight", "sweep"]
