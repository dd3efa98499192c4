"""Data for the course: bundled real datasets, 2-D generators, splits, minibatches and augmentation.

- :class:`DataLoader` — minibatches, seeded shuffling, ``drop_last`` (Seed 4.3.3).
- :func:`train_val_test_split` — 60/20/20 by default, optionally stratified (Seed 8.2).
- :func:`make_moons`, :func:`make_circles`, :func:`make_spirals`, :func:`make_blobs` — 2-D toy problems.
- Augmentations (Seed 4.5.8): :class:`RandomHorizontalFlip`, :class:`RandomCrop`, :class:`CenterCrop`,
  :class:`FiveCrop`, :class:`BrightnessContrast`, :class:`Compose`, :func:`predict_with_crops`.
- :func:`load_digits`, :func:`load_fashion_mnist` — real images shipped with the package (no network).
- :func:`make_shapes` (segmentation masks), :func:`make_mnist1d`, sequence tasks (:func:`make_adding_problem`,
  :func:`make_copy_task`, :func:`make_sine`) and a character corpus (:func:`load_char_corpus`) — all generated offline.
"""
from .augment import (BrightnessContrast, CenterCrop, Compose, FiveCrop, RandomCrop, RandomHorizontalFlip, crop,
                      hflip, predict_with_crops)
from .datasets import Dataset, load_digits, load_fashion_mnist
from .loader import DataLoader
from .split import XY, Splits, train_val_test_split
from .synthetic import make_blobs, make_circles, make_moons, make_spirals
from .shapes import make_shapes
from .sequences import adding_baseline_mse, make_adding_problem, make_copy_task, make_sine
from .mnist1d import MNIST1D, make_mnist1d
from .text import CharVocab, load_char_corpus, make_char_batches

__all__ = [
    "DataLoader",
    "train_val_test_split", "Splits", "XY",
    "make_moons", "make_circles", "make_spirals", "make_blobs",
    "RandomHorizontalFlip", "RandomCrop", "CenterCrop", "FiveCrop", "BrightnessContrast", "Compose",
    "hflip", "crop", "predict_with_crops",
    "Dataset", "load_digits", "load_fashion_mnist",
    "make_shapes", "make_adding_problem", "adding_baseline_mse", "make_copy_task", "make_sine",
    "MNIST1D", "make_mnist1d", "CharVocab", "load_char_corpus", "make_char_batches",
]
