"""Data sets with known right answers.

Synthetic sets come with their Bayes-optimal predictor, so a notebook can say "the fixed
model is within 2 points of the best any model could do" instead of quoting a bare number.
Bundled sets are scikit-learn's (breast_cancer, digits, wine, iris); nothing is downloaded.

Every function takes ``seed``; ``None`` means the book's seed (``helpers.seed()``), so
``BOOK_SEED=2 pytest`` changes the data as well as the weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, softmax
from scipy.stats import norm

from helpers import _seed
from helpers._validate import check_scalar


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split and what makes it teachable.

    ``bayes_proba(x)`` (synthetic sets only) returns the true class probabilities, and
    ``bayes_accuracy`` is the accuracy of the Bayes-optimal decision on *this* test set:
    no model can beat it on average. For multi-label sets accuracy is per label.
    """

    name: str
    task: str  # "binary", "multiclass" or "multilabel"
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: Sequence[str]
    class_names: Sequence[str]
    description: str = ""
    bayes_proba: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    bayes_accuracy: float | None = None
    bayes_accuracy_expected: float | None = None

    @property
    def n_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def majority_accuracy(self) -> float:
        """Test accuracy of always predicting the most common training class."""
        if self.task == "multilabel":
            majority = (self.y_train.mean(axis=0) >= 0.5).astype(int)
            return float((self.y_test == majority).mean())
        values, counts = np.unique(self.y_train, return_counts=True)
        return float((self.y_test == values[np.argmax(counts)]).mean())

    def bayes_predict(self, x: np.ndarray) -> np.ndarray:
        """The Bayes-optimal decisions for ``x`` (synthetic sets only)."""
        if self.bayes_proba is None:
            raise ValueError(f"the {self.name!r} data set has no known Bayes-optimal predictor")
        p = self.bayes_proba(np.asarray(x, dtype=float))
        if self.task == "multiclass":
            return p.argmax(axis=1)
        return (p > 0.5).astype(int)


def _rng(seed):
    return np.random.default_rng(_seed.resolve(seed))


def _class_counts(n: int, weights: np.ndarray) -> np.ndarray:
    """Exact class counts for ``n`` rows (largest remainder), each class at least 1."""
    raw = weights * n
    counts = np.floor(raw).astype(int)
    for i in np.argsort(raw - counts)[::-1][: n - counts.sum()]:
        counts[i] += 1
    while (counts == 0).any():
        counts[np.argmin(counts)] += 1
        counts[np.argmax(counts)] -= 1
    return counts


def _gaussian_classes(rng, n, means, weights):
    counts = _class_counts(n, weights)
    y = np.repeat(np.arange(len(means)), counts)
    rng.shuffle(y)
    x = means[y] + rng.standard_normal((n, means.shape[1]))
    return x, y


def gaussian_binary(n_train: int = 1000, n_test: int = 2000, *, n_features: int = 2,
                    separation: float = 2.0, positive_fraction: float = 0.5,
                    seed: int | None = None) -> Dataset:
    """Two Gaussian classes with identity covariance, means ``separation`` apart.

    The signal is spread evenly over all ``n_features``. ``positive_fraction`` sets the
    share of class 1 (0.02 gives a 98/2 imbalance). The Bayes posterior is the logistic
    function of a linear score, so a logistic regression can reach the Bayes accuracy.
    """
    n_train = check_scalar(n_train, "n_train", int, min_val=2)
    n_test = check_scalar(n_test, "n_test", int, min_val=2)
    n_features = check_scalar(n_features, "n_features", int, min_val=1)
    separation = check_scalar(separation, "separation", float, min_val=0,
                              include_boundaries="neither")
    pi = check_scalar(positive_fraction, "positive_fraction", float, min_val=0, max_val=1,
                      include_boundaries="neither")
    rng = _rng(seed)
    delta = np.full(n_features, separation / np.sqrt(n_features))
    means = np.stack([-delta / 2, delta / 2])
    weights = np.array([1 - pi, pi])
    x_train, y_train = _gaussian_classes(rng, n_train, means, weights)
    x_test, y_test = _gaussian_classes(rng, n_test, means, weights)
    prior_logit = np.log(pi / (1 - pi))

    def bayes_proba(x):
        return expit(x @ delta + prior_logit)

    d, t = separation, -prior_logit  # decide 1 when delta.x > t
    expected = pi * norm.sf((t - d * d / 2) / d) + (1 - pi) * norm.cdf((t + d * d / 2) / d)
    bayes_acc = float(((bayes_proba(x_test) > 0.5) == y_test).mean())
    return Dataset(
        name="gaussian_binary", task="binary",
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        feature_names=[f"x{i}" for i in range(n_features)], class_names=["0", "1"],
        description=(f"Two Gaussian classes, {n_features} features, means {separation:g} "
                     f"apart, {pi:.0%} positive."),
        bayes_proba=bayes_proba, bayes_accuracy=bayes_acc,
        bayes_accuracy_expected=float(expected),
    )


def gaussian_multiclass(n_train: int = 1500, n_test: int = 3000, *, n_classes: int = 3,
                        n_features: int = 2, separation: float = 3.0,
                        class_weights: Sequence[float] | None = None,
                        seed: int | None = None) -> Dataset:
    """``n_classes`` Gaussian classes with identity covariance; neighbouring class means
    are ``separation`` apart. ``class_weights`` (summing to 1) sets the class shares."""
    n_train = check_scalar(n_train, "n_train", int, min_val=2)
    n_test = check_scalar(n_test, "n_test", int, min_val=2)
    n_classes = check_scalar(n_classes, "n_classes", int, min_val=2)
    n_features = check_scalar(n_features, "n_features", int, min_val=2)
    separation = check_scalar(separation, "separation", float, min_val=0,
                              include_boundaries="neither")
    if class_weights is None:
        weights = np.full(n_classes, 1 / n_classes)
    else:
        weights = np.array(class_weights, dtype=float)
        if weights.shape != (n_classes,) or (weights <= 0).any() or \
                not np.isclose(weights.sum(), 1):
            raise ValueError(f"class_weights must be {n_classes} positive numbers summing to "
                             f"1, got {list(class_weights)}")
    if n_train < n_classes or n_test < n_classes:
        raise ValueError(f"n_train and n_test must be at least n_classes={n_classes}, "
                         f"got {n_train} and {n_test}")
    rng = _rng(seed)
    means = np.zeros((n_classes, n_features))
    if n_classes <= n_features:  # corners of a simplex: every pair `separation` apart
        means[:, :n_classes] = np.eye(n_classes) * separation / np.sqrt(2)
    else:  # on a circle: neighbours `separation` apart
        radius = separation / (2 * np.sin(np.pi / n_classes))
        angles = 2 * np.pi * np.arange(n_classes) / n_classes
        means[:, 0], means[:, 1] = radius * np.cos(angles), radius * np.sin(angles)
    x_train, y_train = _gaussian_classes(rng, n_train, means, weights)
    x_test, y_test = _gaussian_classes(rng, n_test, means, weights)
    bias = -0.5 * (means ** 2).sum(axis=1) + np.log(weights)

    def bayes_proba(x):
        return softmax(x @ means.T + bias, axis=1)

    bayes_acc = float((bayes_proba(x_test).argmax(axis=1) == y_test).mean())
    return Dataset(
        name="gaussian_multiclass", task="multiclass",
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        feature_names=[f"x{i}" for i in range(n_features)],
        class_names=[str(k) for k in range(n_classes)],
        description=(f"{n_classes} Gaussian classes, {n_features} features, neighbouring "
                     f"means {separation:g} apart."),
        bayes_proba=bayes_proba, bayes_accuracy=bayes_acc,
    )


def multilabel(n_train: int = 1500, n_test: int = 3000, *, n_labels: int = 3,
               n_features: int = 4, separation: float = 4.0,
               seed: int | None = None) -> Dataset:
    """Multi-label targets: each label is an independent coin whose log-odds are a linear
    function of the features (norm ``separation``). Rows often have several 1s.
    ``bayes_accuracy`` is the per-label accuracy of the true probabilities thresholded at 0.5.
    """
    n_train = check_scalar(n_train, "n_train", int, min_val=2)
    n_test = check_scalar(n_test, "n_test", int, min_val=2)
    n_labels = check_scalar(n_labels, "n_labels", int, min_val=2)
    n_features = check_scalar(n_features, "n_features", int, min_val=1)
    separation = check_scalar(separation, "separation", float, min_val=0,
                              include_boundaries="neither")
    rng = _rng(seed)
    weights = rng.standard_normal((n_features, n_labels))
    weights *= separation / np.linalg.norm(weights, axis=0)

    def bayes_proba(x):
        return expit(x @ weights)

    def sample(n):
        x = rng.standard_normal((n, n_features))
        return x, (rng.random((n, n_labels)) < bayes_proba(x)).astype(int)

    x_train, y_train = sample(n_train)
    x_test, y_test = sample(n_test)
    bayes_acc = float(((bayes_proba(x_test) > 0.5) == y_test).mean())
    return Dataset(
        name="multilabel", task="multilabel",
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        feature_names=[f"x{i}" for i in range(n_features)],
        class_names=[f"label{k}" for k in range(n_labels)],
        description=f"{n_labels} independent labels, {n_features} features.",
        bayes_proba=bayes_proba, bayes_accuracy=bayes_acc,
    )


def _bundled(name: str, loader, *, test_size: float, seed, as_frame: bool) -> Dataset:
    from sklearn.model_selection import train_test_split

    test_size = check_scalar(test_size, "test_size", float, min_val=0, max_val=1,
                             include_boundaries="neither")
    bunch = loader(as_frame=as_frame)
    x, y = bunch.data, bunch.target
    if not as_frame:
        x = np.asarray(x, dtype=float)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=_seed.resolve(seed))
    n_classes = len(np.unique(y))
    return Dataset(
        name=name, task="binary" if n_classes == 2 else "multiclass",
        x_train=x_train, y_train=np.asarray(y_train), x_test=x_test, y_test=np.asarray(y_test),
        feature_names=list(bunch.feature_names),
        class_names=[str(c) for c in getattr(bunch, "target_names", range(n_classes))],
        description=bunch.DESCR.strip().splitlines()[0] if getattr(bunch, "DESCR", "") else "",
    )


def breast_cancer(*, test_size: float = 0.25, seed: int | None = None,
                  as_frame: bool = False) -> Dataset:
    """scikit-learn's Wisconsin breast cancer set (569 rows, 30 features on very different
    scales). Note its coding: 0 = malignant, 1 = benign."""
    from sklearn.datasets import load_breast_cancer
    return _bundled("breast_cancer", load_breast_cancer, test_size=test_size, seed=seed,
                    as_frame=as_frame)


def digits(*, test_size: float = 0.25, seed: int | None = None,
           as_frame: bool = False) -> Dataset:
    """scikit-learn's 8x8 digits (1797 rows, pixel values 0-16, 10 classes)."""
    from sklearn.datasets import load_digits
    return _bundled("digits", load_digits, test_size=test_size, seed=seed, as_frame=as_frame)


def wine(*, test_size: float = 0.25, seed: int | None = None,
         as_frame: bool = False) -> Dataset:
    """scikit-learn's wine set (178 rows, 13 features, 3 classes)."""
    from sklearn.datasets import load_wine
    return _bundled("wine", load_wine, test_size=test_size, seed=seed, as_frame=as_frame)


def iris(*, test_size: float = 0.25, seed: int | None = None,
         as_frame: bool = False) -> Dataset:
    """scikit-learn's iris set (150 rows, 4 features, 3 classes)."""
    from sklearn.datasets import load_iris
    return _bundled("iris", load_iris, test_size=test_size, seed=seed, as_frame=as_frame)


def write_image_folders(directory, images, labels, *, class_names: Sequence[str],
                        scale: int = 2) -> str:
    """Write ``images`` as PNG files in one sub-folder per class, the layout that
    ``keras.utils.image_dataset_from_directory`` reads: ``directory/<class name>/<i>.png``.

    ``images`` are 2-D grayscale arrays with values from 0 to their maximum (digits: 0-16),
    stretched to 0-255 and enlarged ``scale`` times; ``labels[i]`` indexes
    ``class_names``. Classes with no image get no folder, as on a real disk. Returns
    ``directory`` as a string. Nothing is downloaded.
    """
    from pathlib import Path

    from PIL import Image

    images = np.asarray(images, dtype=float)
    labels = np.asarray(labels)
    if images.ndim != 3:
        raise ValueError(f"images must be 3-D (count, height, width), got shape {images.shape}")
    if len(labels) != len(images):
        raise ValueError(f"labels must have one entry per image: {len(labels)} labels for "
                         f"{len(images)} images")
    scale = check_scalar(scale, "scale", int, min_val=1)
    if labels.min() < 0 or labels.max() >= len(class_names):
        raise ValueError(f"labels must index class_names (0 to {len(class_names) - 1}), got "
                         f"values from {labels.min()} to {labels.max()}")
    top = images.max() or 1.0
    root = Path(directory)
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = root / str(class_names[int(label)])
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.kron(np.round(image / top * 255), np.ones((scale, scale))).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / f"{i:05d}.png")
    return str(root)
