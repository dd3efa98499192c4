"""Images of circles, squares and triangles with pixel-wise labels, for segmentation (seed 6.10, U-Net).

``make_shapes(n)`` returns noisy images and their masks:

* ``images (n, channels, size, size)`` float32: dark background, each shape filled with a random
  brightness (``channels=1``) or colour (``channels=3``), Gaussian noise added;
* ``masks (n, size, size)`` int64 with classes ``0`` background, ``1`` circle, ``2`` square,
  ``3`` triangle (``SHAPE_CLASSES``).

Colour says nothing about the class, so a network has to look at the form — the edges and
corners a small fully convolutional network (seed 6.10) learns.  Every image has 1 to
``max_shapes`` shapes of random size, position and rotation; later shapes cover earlier ones.

All shapes are written as intersections of half-planes around a centre ``c``: a pixel ``p`` lies
in a regular polygon with inradius ``a`` if ``(p - c) · n_k <= a`` for every edge normal ``n_k``
(4 normals 90° apart for a square, 3 normals 120° apart for an equilateral triangle); a circle is
``|p - c| <= r``.  The tests are vectorised over all images that draw the same kind of shape.
"""
from __future__ import annotations

import numpy as np

from .._rng import get_rng
from .._validate import positive_int

__all__ = ["make_shapes", "SHAPE_CLASSES"]

SHAPE_CLASSES = ("background", "circle", "square", "triangle")


def _inside(kind: int, dy: np.ndarray, dx: np.ndarray, radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Boolean ``(m, size, size)``: pixels at offsets ``(dy, dx)`` from the centres inside the shapes.

    ``radius``: circle radius, or circumradius of square/triangle; ``angle``: rotation; both ``(m, 1, 1)``.
    """
    if kind == 1:
        return dy * dy + dx * dx <= radius * radius
    edges = 4 if kind == 2 else 3
    inradius = radius * np.cos(np.pi / edges)  # distance from centre to each edge of a regular polygon
    inside = np.ones(np.broadcast_shapes(dy.shape, dx.shape, radius.shape), dtype=bool)
    for k in range(edges):
        phi = angle + 2 * np.pi * k / edges
        inside &= dx * np.cos(phi) + dy * np.sin(phi) <= inradius
    return inside


def make_shapes(n: int, size: int = 32, rng=None, *, channels: int = 1, max_shapes: int = 3,
                noise: float = 0.1, radius_range: tuple[float, float] = (0.15, 0.3)):
    """``n`` noisy images of shapes with their segmentation masks (seed 6.10.2, U-Net).

    Returns ``(images, masks)``: ``images (n, channels, size, size)`` float32 and
    ``masks (n, size, size)`` int64 with values in ``0..3`` (see ``SHAPE_CLASSES``).
    ``channels`` is 1 (grey) or 3 (colour); ``noise`` is the standard deviation of the Gaussian
    noise; circle radii / polygon circumradii are drawn from ``radius_range · size``.
    """
    owner = "make_shapes"
    n = positive_int(owner, n, "n")
    size = positive_int(owner, size, "size")
    if size < 8:
        raise ValueError(f"{owner}: size must be at least 8 pixels for shapes to be recognisable, got {size}")
    if channels not in (1, 3):
        raise ValueError(f"{owner}: channels must be 1 (grey) or 3 (colour), got {channels!r}")
    max_shapes = positive_int(owner, max_shapes, "max_shapes")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{owner}: noise must be a finite number >= 0, got {noise!r}")
    low, high = radius_range
    if not 0 < low <= high <= 0.5:
        raise ValueError(f"{owner}: radius_range must satisfy 0 < low <= high <= 0.5, got {radius_range!r}")
    gen = get_rng(rng)

    grid = np.arange(size, dtype=np.float32) + 0.5  # pixel centres
    kind_map = np.zeros((n, size, size), dtype=np.int8)   # class of the topmost shape, 0 = background
    top = np.zeros((n, size, size), dtype=np.int8)        # 1 + slot of the topmost shape, 0 = background
    layer = np.empty((n, size, size), dtype=np.int8)
    counts = gen.integers(1, max_shapes + 1, size=n)
    colours = np.zeros((n, max_shapes + 1, channels), dtype=np.float32)  # row 0: the black background
    for slot in range(max_shapes):
        kinds = gen.integers(1, len(SHAPE_CLASSES), size=n)
        radius = (gen.uniform(low, high, size=n) * size).astype(np.float32)
        centre = gen.uniform(radius[:, None], size - radius[:, None], size=(n, 2)).astype(np.float32)
        angle = gen.uniform(0, 2 * np.pi, size=n).astype(np.float32)
        colours[:, slot + 1] = gen.uniform(0.4, 1.0, size=(n, channels))
        layer.fill(0)
        for kind in range(1, len(SHAPE_CLASSES)):
            idx = np.flatnonzero((kinds == kind) & (counts > slot))
            if idx.size == 0:
                continue
            dy = grid[None, :, None] - centre[idx, 0, None, None]
            dx = grid[None, None, :] - centre[idx, 1, None, None]
            inside = _inside(kind, dy, dx, radius[idx, None, None], angle[idx, None, None])
            layer[idx] = inside.view(np.int8) * np.int8(kind)
        drawn = layer > 0
        np.copyto(kind_map, layer, where=drawn)
        np.copyto(top, np.int8(slot + 1), where=drawn)
    # one gather paints every pixel with the colour of its topmost shape
    painted = colours[np.arange(n)[:, None, None], top]  # (n, size, size, channels)
    images = np.ascontiguousarray(painted.transpose(0, 3, 1, 2))
    if noise > 0:
        images += gen.standard_normal(images.shape, dtype=np.float32) * np.float32(noise)
    return images, kind_map.astype(np.int64)
