"""Training / validation / test split (Seed 8.2).

Seed 8.2: the training set (e.g. 60 %) trains the network, the validation set (e.g. 20 %) selects
hyperparameters, and the test set (e.g. 20 %) is used only once, at the very end.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .. import mistakes
from .._rng import get_rng

__all__ = ["XY", "Splits", "train_val_test_split"]

_OWNER = "train_val_test_split"


class XY(NamedTuple):
    """One split: samples ``X`` of shape ``(n, ...)`` and targets ``y`` of shape ``(n, ...)``."""

    X: np.ndarray
    y: np.ndarray


class Splits(NamedTuple):
    """The three disjoint parts of Seed 8.2; each is an :class:`XY` pair, so ``X_tr, y_tr = splits.train``."""

    train: XY
    val: XY
    test: XY


def _check_fractions(fractions: Sequence[float]) -> np.ndarray:
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (3,):
        raise ValueError(f"{_OWNER}: fractions must be three numbers (train, val, test), got {fractions!r}")
    if not np.all(np.isfinite(f)) or np.any(f < 0) or abs(f.sum() - 1.0) > 1e-6:
        raise ValueError(f"{_OWNER}: fractions must be non-negative and sum to 1, got {fractions!r} "
                         f"(sum {f.sum():.6g})")
    return f / f.sum()


def _allocate(n: int, f: np.ndarray) -> np.ndarray:
    """Split ``n`` items into integer counts proportional to ``f`` that sum to ``n`` (largest remainder)."""
    exact = f * n
    counts = np.floor(exact).astype(np.int64)
    missing = n - counts.sum()
    # Ties go to the earlier split (train before val before test): stable sort on the negated remainder.
    counts[np.argsort(-(exact - counts), kind="stable")[:missing]] += 1
    return counts


def train_val_test_split(X, y, fractions: Sequence[float] = (0.6, 0.2, 0.2), stratify: bool = False,
                         rng: np.random.Generator | int | None = None) -> Splits:
    """Shuffle a dataset and cut it into training, validation and test sets (Seed 8.2, default 60/20/20).

    Args:
        X: samples, shape ``(N, ...)``.
        y: targets, shape ``(N, ...)``; with ``stratify`` they must be class labels of shape ``(N,)``.
        fractions: ``(train, val, test)``, non-negative, summing to 1; a zero gives an empty split.
        stratify: give every split the class proportions of the whole set (each class is split on its
            own), which matters for small or imbalanced data.
        rng: int seed, ``numpy.random.Generator`` or ``None`` for the global generator (``dlcourse.seed``).

    Returns:
        ``Splits(train=XY(X, y), val=XY(X, y), test=XY(X, y))``: every sample lands in exactly one split,
        in random order.  Sizes are ``fractions * N`` rounded so that they add up to ``N`` (with
        ``stratify`` the rounding is per class, so a split may differ from ``fractions * N`` by at most
        one sample per class).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{_OWNER}: X and y need a leading sample axis, got shapes {X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"{_OWNER}: X and y must hold the same number of samples, got X with {len(X)} "
                         f"(shape {X.shape}) and y with {len(y)} (shape {y.shape})")
    f = _check_fractions(fractions)
    gen = get_rng(rng)
    perm = gen.permutation(len(X))
    if not stratify:
        bounds = np.cumsum(_allocate(len(X), f))[:-1]
        parts = np.split(perm, bounds)
    else:
        if y.ndim != 1:
            raise ValueError(f"{_OWNER}: stratify=True needs class labels of shape (N,), got y of shape {y.shape}")
        parts_by_class: list[list[np.ndarray]] = [[], [], []]
        shuffled_labels = y[perm]
        for cls in np.unique(y):
            members = perm[shuffled_labels == cls]  # already in random order
            for k, part in enumerate(np.split(members, np.cumsum(_allocate(len(members), f))[:-1])):
                parts_by_class[k].append(part)
        # Shuffle again so that a split is not sorted by class (matters for minibatches without shuffling).
        parts = [gen.permutation(np.concatenate(p)) for p in parts_by_class]
    splits = Splits(*(XY(X[p], y[p]) for p in parts))
    if len(splits.test.X):
        mistakes.register_test_set(splits.test.X, splits.test.y, quiet=True)  # seed 8.8.7 detectors
    return splits
