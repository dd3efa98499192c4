"""Minibatches for stochastic gradient descent (Seed 4.3.3).

Seed 4.3.3 splits the training set of ``n`` samples into ``n/m`` minibatches of size ``m``; one
pass over all of them is an *epoch*.  :class:`DataLoader` does exactly that, reshuffling at the
start of every epoch so that the minibatch gradients are unbiased estimates of the full gradient.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from .._rng import get_rng
from .._validate import positive_int
from .augment import accepts_rng

__all__ = ["DataLoader"]

_OWNER = "DataLoader"


def _as_array(a, name: str) -> np.ndarray:
    """Turn ``a`` into an ndarray with a leading sample axis, or raise naming the argument."""
    arr = np.asarray(a)
    if arr.ndim == 0:
        raise ValueError(f"{_OWNER}: {name} must have a leading sample axis (shape (N, ...)), got a scalar")
    return arr


class DataLoader:
    """Iterate over ``(xb, yb)`` minibatches of a dataset, one epoch per ``for`` loop (Seed 4.3.3).

    Args:
        X: samples, shape ``(N, ...)`` (e.g. ``(N, D)`` features or ``(N, C, H, W)`` images); or a tuple
            ``(X, y)`` in which case ``y`` must be left out.
        y: targets, shape ``(N, ...)`` (e.g. ``(N,)`` integer labels), or ``None`` for unlabelled data;
            then the loader yields ``xb`` alone instead of ``(xb, yb)``.
        batch_size: ``m`` of Seed 4.3.3, samples per minibatch (the last one may be smaller).
        shuffle: draw a new random order at the start of every epoch (use it for training, not for
            evaluation).
        drop_last: skip the final incomplete minibatch so that every batch has exactly ``m`` samples.
        transform: an augmentation applied to every ``xb`` (Seed 4.5.8), e.g.
            ``Compose([RandomCrop(28, padding=2), RandomHorizontalFlip()])``. It is called as
            ``transform(xb, rng=loader.rng)`` when it takes an ``rng`` argument, else ``transform(xb)``.
        rng: an int seed or a ``numpy.random.Generator``.  With ``None`` the loader derives its own
            generator from the global one (``dlcourse.seed``) *at construction*, so its order does not
            depend on how many random numbers the model draws later (dropout, initialisation), and two
            loaders built right after ``dlcourse.seed(0)`` yield identical batches.

    Yields:
        ``(xb, yb)`` with ``xb`` of shape ``(b, ...)`` and ``yb`` of shape ``(b, ...)``, ``b <= batch_size``
        (or ``xb`` alone when ``y is None``).  Batches are copies: editing them never changes ``X``.

    ``len(loader)`` is the number of minibatches per epoch: ``ceil(N / m)``, or ``floor(N / m)`` with
    ``drop_last``.

    Example:
        >>> loader = DataLoader(X_train, y_train, batch_size=64, shuffle=True, rng=0)
        >>> for epoch in range(10):
        ...     for xb, yb in loader:
        ...         loss = loss_fn(model(xb), yb)
    """

    def __init__(self, X, y=None, batch_size: int = 32, shuffle: bool = False, drop_last: bool = False,
                 transform: Callable | None = None, rng: np.random.Generator | int | None = None) -> None:
        if isinstance(X, tuple):
            if y is not None:
                raise TypeError(f"{_OWNER}: got a tuple (X, y) as X and also y; pass one or the other")
            if len(X) != 2:
                raise ValueError(f"{_OWNER}: a tuple argument must be (X, y), got a tuple of length {len(X)}")
            X, y = X
        self.X = _as_array(X, "X")
        self.y = None if y is None else _as_array(y, "y")
        n = len(self.X)
        if n == 0:
            raise ValueError(f"{_OWNER}: X holds no samples (shape {self.X.shape})")
        if self.y is not None and len(self.y) != n:
            raise ValueError(f"{_OWNER}: X and y must hold the same number of samples, got X with {n} "
                             f"(shape {self.X.shape}) and y with {len(self.y)} (shape {self.y.shape})")
        self.batch_size = positive_int(_OWNER, batch_size, "batch_size")
        if drop_last and self.batch_size > n:
            raise ValueError(f"{_OWNER}: batch_size={self.batch_size} is larger than the {n} samples, so "
                             f"drop_last=True would yield no batch at all")
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{_OWNER}: {name} must be True or False, got {flag!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"{_OWNER}: transform must be callable, got {type(transform).__name__}")
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self._transform_takes_rng = transform is not None and accepts_rng(transform)
        if rng is None:
            # An independent stream: data order stays fixed when the model's use of randomness changes.
            rng = np.random.default_rng(get_rng(None).integers(2**63))
        self.rng = get_rng(rng)
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.X)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_samples(self) -> int:
        """``N``, the number of samples in one epoch (before ``drop_last``)."""
        return len(self.X)

    def _order(self) -> np.ndarray:
        n = len(self.X)
        return self.rng.permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self) -> Iterator:
        order = self._order()
        self.epoch += 1
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            xb = self.X[idx]  # fancy indexing copies, so in-place edits of xb leave X intact
            if self.transform is not None:
                xb = self.transform(xb, rng=self.rng) if self._transform_takes_rng else self.transform(xb)
            yield xb if self.y is None else (xb, self.y[idx])

    def __repr__(self) -> str:
        return (f"DataLoader(num_samples={len(self.X)}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, batches={len(self)})")
