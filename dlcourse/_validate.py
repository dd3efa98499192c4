"""Input checks shared by every layer: clear messages instead of silent broadcasting.

Each message names the layer, what it expected and what it got, because the most common
student bug is a transposed or flattened array that numpy would happily broadcast.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def float_array(owner: str, x, name: str = "input") -> np.ndarray:
    """Return ``x`` as a floating-point ndarray, or raise a TypeError naming ``owner``."""
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as err:  # ragged lists and the like
            raise TypeError(f"{owner} expected a numpy array as {name}, got {type(x).__name__}") from err
    if x.dtype.kind != "f":  # float16/32/64; np.issubdtype says the same at 8x the cost, on every layer call
        raise TypeError(
            f"{owner} expected a floating-point {name} (float32 or float64), got dtype {x.dtype}; "
            f"convert it with .astype(np.float32)"
        )
    return x


def check_ndim(owner: str, x: np.ndarray, ndims: int | Sequence[int], layout: str, name: str = "input") -> None:
    """Raise ValueError unless ``x.ndim`` is one of ``ndims``; ``layout`` names the axes, e.g. ``(N, C, H, W)``."""
    allowed = (ndims,) if isinstance(ndims, int) else tuple(ndims)
    if x.ndim not in allowed:
        raise ValueError(f"{owner} expected {name} of shape {layout} ({' or '.join(map(str, allowed))}-D), "
                         f"got shape {x.shape}")


def check_dim(owner: str, x: np.ndarray, axis: int, expected: int, what: str, name: str = "input") -> None:
    """Raise ValueError unless ``x.shape[axis] == expected``; ``what`` says what that axis means."""
    if x.shape[axis] != expected:
        raise ValueError(f"{owner} expected {name} with {what} = {expected} (axis {axis}), "
                         f"got shape {x.shape}")


def check_same_shape(owner: str, a: np.ndarray, b: np.ndarray, names=("pred", "target")) -> None:
    """Raise ValueError unless two arrays have the same shape (no broadcasting)."""
    if a.shape != b.shape:
        raise ValueError(f"{owner} expected {names[0]} and {names[1]} of the same shape, got {a.shape} and "
                         f"{b.shape}; reshape explicitly, nothing is broadcast")


def check_finite(owner: str, x: np.ndarray, name: str = "input") -> None:
    """Raise ValueError if ``x`` holds NaN or infinity, saying how many and where the first one is."""
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(x[first]) else "inf"
        raise ValueError(f"{owner} got {int(bad.sum())} non-finite value(s) in {name} (first: {kind} at index "
                         f"{first}); a diverging learning rate or a log/division of zero upstream is the usual cause")


def check_labels(owner: str, y, n: int, num_classes: int, shape: tuple | None = None) -> np.ndarray:
    """Return integer class labels checked against ``shape`` (default ``(n,)``) and ``[0, num_classes)``."""
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{owner} expected integer class labels, got dtype {y.dtype}; "
                        f"pass class indices (e.g. y.astype(np.int64)), not one-hot vectors or floats")
    expected = shape if shape is not None else (n,)
    if y.shape != tuple(expected):
        raise ValueError(f"{owner} expected labels of shape {tuple(expected)}, got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"{owner} got labels out of range: min {y.min()}, max {y.max()}, "
                         f"but there are {num_classes} classes (valid labels 0..{num_classes - 1})")
    return y


def positive_int(owner: str, value, name: str) -> int:
    """Return ``value`` as int if it is a positive integer, else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


def probability(owner: str, value, name: str, upper_inclusive: bool = False) -> float:
    """Return ``value`` if it lies in [0, 1) (or [0, 1]), else raise."""
    ok = 0.0 <= value <= 1.0 if upper_inclusive else 0.0 <= value < 1.0
    if not ok:
        raise ValueError(f"{owner}: {name} must lie in [0, 1{']' if upper_inclusive else ')'}, got {value!r}")
    return float(value)
