"""Real image datasets shipped inside the package, so the course runs with no network (Seed 1.1, Seed 8.2).

* :func:`load_digits`: the 8x8 handwritten digits (UCI, as shipped by scikit-learn), 1,437 training and
  360 test images, 10 classes.
* :func:`load_fashion_mnist`: a class-balanced subset of Fashion-MNIST (Zalando Research), 10,000
  training and 2,000 test images of 28x28 clothes, 10 classes.

Both come with a fixed held-out test split: it is the test set of Seed 8.2, to be used once at the
end; carve a validation set out of the training part with :func:`~dlcourse.data.train_val_test_split`.
``files/LICENSES.md`` states sources and licences; ``scripts/build_datasets.py`` rebuilds the files.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Dataset", "load_digits", "load_fashion_mnist", "DATA_DIR"]

DATA_DIR = Path(__file__).resolve().parent / "files"

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DIGIT_CLASSES = tuple(str(d) for d in range(10))


@dataclass(repr=False)
class Dataset:
    """A dataset with its fixed train/test split.

    Attributes:
        X_train: ``(N_train, C, H, W)`` float32 images in [0, 1] (``(N_train, C*H*W)`` if loaded with
            ``flatten=True``).
        y_train: ``(N_train,)`` int64 labels in ``[0, len(classes))``.
        X_test, y_test: the held-out test set, same layout.
        classes: class names; ``classes[y]`` names label ``y``.
        description: where the data comes from and how the split was drawn.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    description: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __iter__(self):
        """Unpack as ``X_train, y_train, X_test, y_test = load_digits()``."""
        return iter((self.X_train, self.y_train, self.X_test, self.y_test))

    def __repr__(self) -> str:
        return (f"Dataset(X_train={self.X_train.shape} {self.X_train.dtype}, X_test={self.X_test.shape}, "
                f"classes={len(self.classes)}: {self.description.splitlines()[0]})")


@functools.lru_cache(maxsize=None)
def _read(filename: str) -> dict[str, np.ndarray]:
    """The raw uint8 arrays of one bundled file, read once per process and marked read-only."""
    path = DATA_DIR / filename
    if not path.exists():
        raise FileNotFoundError(
            f"The bundled dataset file {path} is missing (an incomplete install?). Reinstall dlcourse, or "
            f"rebuild it from a source checkout with `python scripts/build_datasets.py` (Fashion-MNIST needs "
            f"Debian's dataset-fashion-mnist package, digits a scikit-learn wheel fetched by pip).")
    with np.load(path, allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    for a in arrays.values():
        a.flags.writeable = False
    return arrays


def _to_dataset(filename: str, classes: tuple[str, ...], description: str, flatten: bool) -> Dataset:
    raw = _read(filename)
    scale = np.float32(1.0 / float(raw["pixel_max"]))

    def images(a: np.ndarray) -> np.ndarray:
        # a fresh float32 array on every call, so callers can never corrupt the cache
        x = np.multiply(a, scale, dtype=np.float32)
        return x.reshape(len(a), -1) if flatten else x.reshape(len(a), 1, *a.shape[1:])

    return Dataset(images(raw["X_train"]), raw["y_train"].astype(np.int64),
                   images(raw["X_test"]), raw["y_test"].astype(np.int64), classes, description)


def load_digits(flatten: bool = False) -> Dataset:
    """The UCI 8x8 handwritten digits: 1,437 training and 360 test images (36 per class), 10 classes.

    Returns a :class:`Dataset` with ``X_train (1437, 1, 8, 8)`` and ``X_test (360, 1, 8, 8)`` float32 in
    [0, 1] (pixel counts 0..16 divided by 16), ``y`` int64 digits 0..9.  With ``flatten=True`` images are
    ``(N, 64)`` rows, ready for an MLP.  The split is a seeded stratified draw (``scripts/build_datasets.py``).
    """
    return _to_dataset("digits.npz", DIGIT_CLASSES,
                       "UCI optical recognition of handwritten digits (8x8, 0..16 pixel counts) as shipped with "
                       "scikit-learn (BSD-3-Clause).\nAll 1,797 images; test: a seeded stratified draw of 36 per "
                       "class (360); train: the other 1,437.", flatten)


def load_fashion_mnist(flatten: bool = False) -> Dataset:
    """A class-balanced Fashion-MNIST subset: 10,000 training and 2,000 test 28x28 images, 10 clothing classes.

    Returns a :class:`Dataset` with ``X_train (10000, 1, 28, 28)`` and ``X_test (2000, 1, 28, 28)`` float32
    in [0, 1], ``y`` int64 in 0..9 naming ``FASHION_CLASSES``.  With ``flatten=True`` images are
    ``(N, 784)`` rows.  Training images are 1,000 per class drawn (seeded) from the 60,000 official
    training images, test images 200 per class from the 10,000 official test images.
    """
    return _to_dataset("fashion_mnist_subset.npz", FASHION_CLASSES,
                       "Fashion-MNIST subset (Zalando Research, MIT licence), 28x28 grey-scale.\n"
                       "Train: 1,000 per class drawn with a fixed seed from the official 60,000 training images; "
                       "test: 200 per class from the official 10,000 test images.", flatten)
