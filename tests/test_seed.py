import numpy as np
import pytest

import helpers


def test_seed_defaults_to_book_seed(monkeypatch):
    monkeypatch.setenv("BOOK_SEED", "7")
    assert helpers.seed() == 7
    monkeypatch.delenv("BOOK_SEED")
    assert helpers.seed() == 0


def test_seed_makes_numpy_and_keras_repeatable():
    import keras

    helpers.seed(1)
    a = np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,)))
    helpers.seed(1)
    b = np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,)))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("bad, error", [(-1, ValueError), ("abc", ValueError), (1.5, TypeError),
                                        (True, TypeError), (2**40, ValueError)])
def test_seed_bad_input(bad, error):
    with pytest.raises(error, match="n must be"):
        helpers.seed(bad)


def test_bad_book_seed_env(monkeypatch):
    monkeypatch.setenv("BOOK_SEED", "one")
    with pytest.raises(ValueError, match="BOOK_SEED"):
        helpers.seed()
