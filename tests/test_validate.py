"""helpers._validate.check_scalar, the one validator of numeric options."""

import numpy as np
import pytest

from helpers._validate import check_scalar


@pytest.mark.parametrize("value, kind, expected", [
    (3, int, 3), (np.int64(3), int, 3), (2, float, 2.0), (np.float32(0.5), float, 0.5)])
def test_numbers_of_the_kind_pass_and_come_back_as_python_numbers(value, kind, expected):
    result = check_scalar(value, "n", kind, min_val=0)
    assert result == expected and type(result) is kind


@pytest.mark.parametrize("value, kind", [
    (True, int), (np.bool_(True), int), (False, float), (2.0, int), ("3", int), ("0.5", float),
    (None, float), ([1], float)])
def test_a_bool_or_another_type_is_a_type_error_naming_argument_and_value(value, kind):
    with pytest.raises(TypeError, match=r"^max_rows must be (an integer|a number), got "):
        check_scalar(value, "max_rows", kind)


@pytest.mark.parametrize("value, bounds, words", [
    (0, dict(min_val=0, include_boundaries="neither"), "a positive number"),
    (1, dict(min_val=1, include_boundaries="neither"), "a number above 1"),
    (1, dict(min_val=2), "a number of at least 2"),
    (1, dict(min_val=0, max_val=1, include_boundaries="left"), r"a number in \[0, 1\)"),
    (0, dict(min_val=0, max_val=1, include_boundaries="right"), r"a number in \(0, 1\]"),
    (2, dict(max_val=1), "a number of at most 1"),
    (float("nan"), dict(), "a finite number"),
    (float("inf"), dict(min_val=0), "a finite number")])
def test_out_of_range_is_a_value_error_saying_the_range_and_the_value(value, bounds, words):
    with pytest.raises(ValueError, match=rf"^z must be {words}, got {value!r}$"):
        check_scalar(value, "z", float, **bounds)


def test_boundaries_are_included_as_asked():
    assert check_scalar(0, "z", min_val=0, max_val=1) == 0.0
    assert check_scalar(1, "z", min_val=0, max_val=1, include_boundaries="right") == 1.0
    with pytest.raises(ValueError):
        check_scalar(1, "z", min_val=0, max_val=1, include_boundaries="left")
