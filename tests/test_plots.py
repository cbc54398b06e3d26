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


@pytest.mark.parametrize("call, error, words", [
    (lambda: plots.output_distribution({"a": ["x", "y"]}), TypeError, r"outputs\['a'\] must be"),
    (lambda: plots.output_distribution({"a": []}), ValueError, r"outputs\['a'\] must have"),
    (lambda: plots.output_distribution({"a": [np.nan]}), ValueError, "no finite values"),
    (lambda: plots.output_distribution({"a": [0.1]}, bins=0), ValueError, "bins must be"),
    (lambda: plots.output_distribution({"a": [0.1]}, valid=(1, 0)), ValueError,
     "valid must be"),
    (lambda: plots.output_distribution({"a": [0.1]}, ax="left"), TypeError,
     "ax must be a matplotlib Axes"),
    (lambda: plots.threshold_curves([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6], marks=[0.5]),
     TypeError, "marks must be a dict"),
    (lambda: plots.threshold_curves([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6], marks={"a": "half"}),
     TypeError, r"marks\['a'\] must be a number"),
    (lambda: plots.threshold_curves([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6], marks={"a": 1.5}),
     ValueError, r"marks\['a'\] must be a number in \[0, 1\]"),
    (lambda: plots.learning_curves({"loss": [1.0, 0.5]}, metric=3), TypeError,
     "metric must be a string"),
    (lambda: plots.learning_curves({"loss": [1.0, 0.5]}, label=3), TypeError,
     "label must be a string"),
    (lambda: plots.learning_curves({"loss": [1.0, "a"]}), TypeError, r"history\['loss'\]"),
])
def test_bad_plot_arguments_fail_at_the_boundary_naming_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_output_distribution_without_a_valid_range():
    ax = plots.output_distribution({"regression": np.array([-3.0, 0.5, 12.0])}, valid=None)
    assert ax.get_xlim()[0] <= -3 and ax.get_xlim()[1] >= 12
