"""helpers._targets.class_ids, the one reader of class labels."""

import numpy as np
import pytest

from helpers._targets import class_ids


@pytest.mark.parametrize("y, expected", [
    (np.array([0, 1, 1]), [0, 1, 1]),
    (np.array([2.0, 0.0, 1.0]), [2, 0, 1]),
    (np.array([[0, 1, 0], [1, 0, 0]]), [1, 0])])
def test_class_ids_of_binary_ids_and_one_hot(y, expected):
    assert class_ids(y).tolist() == expected


def test_no_class_ids_for_targets_that_are_not_one_class_per_row():
    assert class_ids(np.array([0.5, 1.5])) is None
    assert class_ids(np.array([[1, 1, 0], [0, 1, 1]])) is None
    assert class_ids(np.array(["b", "a"])) is None
    assert class_ids(np.array(["b", "a", "b"]), strings=True).tolist() == [1, 0, 1]
