"""Small 2-D classification problems for plots and quick experiments (Seed 2.3, Seed 5).

Each generator returns ``X`` of shape ``(n, 2)`` (float64) and ``y`` of shape ``(n,)`` (int64), with
classes as equal in size as ``n`` allows and the samples in random order.  ``noise`` is the standard
deviation of Gaussian noise added to each coordinate.  Moons, circles and spirals are not linearly
separable: logistic regression (Seed 2.3) fails on them while a small MLP (Seed 5) succeeds, which is
what the chapter notebooks show.
"""
from __future__ import annotations

import numpy as np

from .._rng import get_rng
from .._validate import positive_int

__all__ = ["make_moons", "make_circles", "make_spirals", "make_blobs"]


def _check_noise(owner: str, noise: float) -> float:
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{owner}: noise must be a finite number >= 0, got {noise!r}")
    return float(noise)


def _class_sizes(owner: str, n: int, classes: int) -> np.ndarray:
    """Sizes of ``classes`` groups adding up to ``n``, differing by at most one."""
    if n < classes:
        raise ValueError(f"{owner}: n={n} is smaller than the number of classes ({classes})")
    return np.full(classes, n // classes) + (np.arange(classes) < n % classes)


def _finish(points: np.ndarray, labels: np.ndarray, noise: float, gen: np.random.Generator,
            shuffle: bool) -> tuple[np.ndarray, np.ndarray]:
    X = points + noise * gen.standard_normal(points.shape) if noise > 0 else points
    y = labels.astype(np.int64)
    if shuffle:
        order = gen.permutation(len(y))
        X, y = X[order], y[order]
    return np.ascontiguousarray(X, dtype=np.float64), y


def make_moons(n: int = 200, noise: float = 0.1, rng: np.random.Generator | int | None = None,
               shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: returns ``X (n, 2)`` float64, ``y (n,)`` int64 in {0, 1}.

    Class 0 lies on the upper unit half circle ``(cos t, sin t)``, class 1 on the lower one shifted to
    ``(1 - cos t, 0.5 - sin t)``, ``t`` evenly spaced in ``[0, pi]`` (same geometry as scikit-learn's).
    """
    n = positive_int("make_moons", n, "n")
    noise = _check_noise("make_moons", noise)
    gen = get_rng(rng)
    sizes = _class_sizes("make_moons", n, 2)
    t0, t1 = np.linspace(0, np.pi, sizes[0]), np.linspace(0, np.pi, sizes[1])
    points = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                             np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    labels = np.repeat([0, 1], sizes)
    return _finish(points, labels, noise, gen, shuffle)


def make_circles(n: int = 200, noise: float = 0.05, factor: float = 0.5,
                 rng: np.random.Generator | int | None = None,
                 shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: returns ``X (n, 2)`` float64, ``y (n,)`` int64.

    Class 0 is the unit circle, class 1 a circle of radius ``factor`` (0 < factor < 1) inside it.
    """
    n = positive_int("make_circles", n, "n")
    noise = _check_noise("make_circles", noise)
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor (inner radius) must lie in (0, 1), got {factor!r}")
    gen = get_rng(rng)
    sizes = _class_sizes("make_circles", n, 2)
    # endpoint=False: 0 and 2*pi are the same point, which would otherwise be drawn twice
    t0 = np.linspace(0, 2 * np.pi, sizes[0], endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, sizes[1], endpoint=False)
    points = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                             factor * np.stack([np.cos(t1), np.sin(t1)], 1)])
    labels = np.repeat([0, 1], sizes)
    return _finish(points, labels, noise, gen, shuffle)


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.05, turns: float = 0.75,
                 rng: np.random.Generator | int | None = None,
                 shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` interleaved spiral arms: returns ``X (n, 2)`` float64, ``y (n,)`` int64 in ``[0, classes)``.

    Arm ``k`` is ``r (cos a, sin a)`` with radius ``r`` from 0 to 1 and angle
    ``a = 2 pi k / classes + 2 pi turns r``; ``turns`` is how many revolutions an arm makes.
    """
    n = positive_int("make_spirals", n, "n")
    classes = positive_int("make_spirals", classes, "classes")
    noise = _check_noise("make_spirals", noise)
    gen = get_rng(rng)
    sizes = _class_sizes("make_spirals", n, classes)
    labels = np.repeat(np.arange(classes), sizes)
    # position of each sample along its arm, 0 at the centre and 1 at the tip
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    r = (np.arange(n) - starts) / np.maximum(np.repeat(sizes, sizes) - 1, 1)
    angle = 2 * np.pi * labels / classes + 2 * np.pi * turns * r
    points = r[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1)
    return _finish(points, labels, noise, gen, shuffle)


def make_blobs(n: int = 200, centers: int | np.ndarray = 3, std: float = 1.0, box: float = 5.0,
               rng: np.random.Generator | int | None = None,
               shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian clusters: returns ``X (n, 2)`` float64, ``y (n,)`` int64 (the cluster index).

    Args:
        centers: the number of clusters (centres drawn uniformly in ``[-box, box]^2``) or their
            coordinates, an array of shape ``(k, 2)``.
        std: the standard deviation of each cluster (the ``noise`` of the other generators).
    """
    gen = get_rng(rng)
    n = positive_int("make_blobs", n, "n")
    std = _check_noise("make_blobs", std)
    if np.ndim(centers) == 0:
        k = positive_int("make_blobs", centers, "centers")
        mu = gen.uniform(-box, box, size=(k, 2))
    else:
        mu = np.asarray(centers, dtype=np.float64)
        if mu.ndim != 2 or mu.shape[1] != 2 or len(mu) == 0:
            raise ValueError(f"make_blobs: centers must be an int or an array of shape (k, 2), got shape {mu.shape}")
    sizes = _class_sizes("make_blobs", n, len(mu))
    labels = np.repeat(np.arange(len(mu)), sizes)
    return _finish(mu[labels], labels, std, gen, shuffle)
