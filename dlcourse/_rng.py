"""One global random generator, so that ``dlcourse.seed(n)`` makes a whole run reproducible.

Every function or layer that draws random numbers takes an optional ``rng``; when it is left out
the generator below is used *at call time*, so seeding once at the top of a notebook fixes
initialisation, dropout masks and shuffling together.
"""
from __future__ import annotations

import numpy as np

RngLike = "np.random.Generator | int | None"

_global = {"rng": np.random.default_rng()}


def seed(n: int) -> np.random.Generator:
    """Reseed the global generator; return it.  Two runs after ``seed(n)`` are bit-for-bit equal."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"dlcourse.seed expects an int, got {type(n).__name__}")
    _global["rng"] = np.random.default_rng(int(n))
    return _global["rng"]


def get_rng(rng: np.random.Generator | int | None = None) -> np.random.Generator:
    """Return ``rng`` itself, a new generator seeded with it (int), or the global one (None)."""
    if rng is None:
        return _global["rng"]
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")
