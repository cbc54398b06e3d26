import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import plots  # noqa: E402


def test_output_distribution_draws_one_histogram_per_model():
    outputs = {"linear": np.array([-0.5, 0.2, 1.7]), "sigmoid": np.array([0.1, 0.5, 0.9])}
    before = {k: v.copy() for k, v in outputs.items()}
    ax = plots.output_distribution(outputs)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["valid probabilities", "linear", "sigmoid"]
    assert ax.get_xlim()[0] <= -0.5 and ax.get_xlim()[1] >= 1.7
    assert all(np.array_equal(before[k], outputs[k]) for k in outputs)


@pytest.mark.parametrize("bad", [None, {}, [1, 2]])
def test_output_distribution_bad_input(bad):
    with pytest.raises(TypeError, match="outputs must be"):
        plots.output_distribution(bad)
