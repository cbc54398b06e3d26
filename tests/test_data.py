import numpy as np
import pytest
from scipy.stats import norm

from helpers import data


def test_gaussian_binary_shapes_and_determinism():
    a = data.gaussian_binary(n_train=100, n_test=50, n_features=3, seed=5)
    b = data.gaussian_binary(n_train=100, n_test=50, n_features=3, seed=5)
    c = data.gaussian_binary(n_train=100, n_test=50, n_features=3, seed=6)
    assert a.x_train.shape == (100, 3) and a.x_test.shape == (50, 3)
    assert a.y_train.shape == (100,) and set(np.unique(a.y_train)) == {0, 1}
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_seed_none_follows_book_seed(monkeypatch):
    import helpers

    helpers.seed(3)
    assert np.array_equal(data.gaussian_binary(seed=None).x_train,
                          data.gaussian_binary(seed=3).x_train)


def test_gaussian_binary_bayes_accuracy_matches_theory():
    d = data.gaussian_binary(n_train=10, n_test=200_000, separation=2.0, seed=1)
    assert d.bayes_accuracy_expected == pytest.approx(norm.cdf(1.0))
    assert d.bayes_accuracy == pytest.approx(d.bayes_accuracy_expected, abs=0.005)
    # and no simple rule does better: the Bayes decision beats a shifted threshold
    score = d.x_test.sum(axis=1)
    assert ((score > 0.3) == d.y_test).mean() < d.bayes_accuracy


def test_gaussian_binary_imbalance_is_exact():
    d = data.gaussian_binary(n_train=1000, n_test=500, positive_fraction=0.02, seed=0)
    assert d.y_train.sum() == 20 and d.y_test.sum() == 10
    assert d.majority_accuracy == pytest.approx(0.98)
    # with a 98/2 prior the Bayes rule rarely says "positive", and still beats the majority
    assert d.bayes_accuracy >= d.majority_accuracy


def test_gaussian_multiclass_bayes():
    d = data.gaussian_multiclass(n_classes=4, n_features=2, separation=2.5, seed=0)
    assert d.n_classes == 4 and set(np.unique(d.y_train)) == {0, 1, 2, 3}
    p = d.bayes_proba(d.x_test)
    assert np.allclose(p.sum(axis=1), 1)
    assert 0.5 < d.bayes_accuracy < 1
    assert d.bayes_accuracy == pytest.approx((d.bayes_predict(d.x_test) == d.y_test).mean())


def test_gaussian_multiclass_simplex_layout_and_weights():
    d = data.gaussian_multiclass(n_classes=3, n_features=5, class_weights=[0.6, 0.3, 0.1],
                                 n_train=1000, seed=0)
    assert d.x_train.shape == (1000, 5)
    assert np.bincount(d.y_train).tolist() == [600, 300, 100]


def test_multilabel_has_rows_with_several_labels():
    d = data.multilabel(n_labels=3, seed=0)
    assert d.task == "multilabel" and d.y_train.shape[1] == 3
    assert (d.y_train.sum(axis=1) >= 2).mean() > 0.2
    assert 0.6 < d.bayes_accuracy < 1


@pytest.mark.parametrize("loader, n_classes", [(data.breast_cancer, 2), (data.digits, 10),
                                               (data.wine, 3), (data.iris, 3)])
def test_bundled_sets_load_offline_and_stratify(loader, n_classes):
    d = loader(seed=0)
    assert d.n_classes == n_classes
    assert len(d.feature_names) == d.x_train.shape[1]
    assert set(np.unique(d.y_test)) == set(range(n_classes))
    assert d.bayes_proba is None and d.bayes_accuracy is None
    with pytest.raises(ValueError, match="Bayes"):
        d.bayes_predict(d.x_test)


def test_breast_cancer_coding_is_documented():
    d = data.breast_cancer()
    assert list(d.class_names) == ["malignant", "benign"]


def test_bundled_as_frame():
    d = data.wine(as_frame=True)
    assert hasattr(d.x_train, "columns")


@pytest.mark.parametrize("kwargs, error, word", [
    ({"n_train": 1}, ValueError, "n_train"),
    ({"n_train": 10.5}, TypeError, "n_train"),
    ({"n_features": 0}, ValueError, "n_features"),
    ({"separation": -1}, ValueError, "separation"),
    ({"separation": "big"}, TypeError, "separation"),
    ({"positive_fraction": 1.0}, ValueError, "positive_fraction"),
    ({"positive_fraction": float("nan")}, ValueError, "positive_fraction"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": "x"}, ValueError, "seed"),
])
def test_gaussian_binary_bad_input(kwargs, error, word):
    with pytest.raises(error, match=word):
        data.gaussian_binary(**kwargs)


def test_multiclass_bad_weights():
    with pytest.raises(ValueError, match="class_weights"):
        data.gaussian_multiclass(n_classes=3, class_weights=[0.5, 0.5])
    with pytest.raises(ValueError, match="n_classes"):
        data.gaussian_multiclass(n_classes=1)


def test_bundled_bad_test_size():
    with pytest.raises(ValueError, match="test_size"):
        data.iris(test_size=1.5)


def test_write_image_folders_writes_what_the_directory_loader_reads(tmp_path):
    import keras

    images = np.arange(3 * 8 * 8).reshape(3, 8, 8) % 17
    data.write_image_folders(tmp_path, images, [0, 2, 2], class_names=["a", "b", "c"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "c"]  # no image, no folder
    ds = keras.utils.image_dataset_from_directory(tmp_path, image_size=(16, 16),
                                                  color_mode="grayscale", shuffle=False,
                                                  verbose=False)
    pixels = np.concatenate([x for x, _ in ds])
    assert ds.class_names == ["a", "c"] and pixels.shape == (3, 16, 16, 1)
    assert pixels.max() == 255 and images.max() == 16  # stretched; the input is unchanged
    with pytest.raises(ValueError, match="labels must index class_names"):
        data.write_image_folders(tmp_path, images, [0, 1, 3], class_names=["a", "b"])
