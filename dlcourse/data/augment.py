"""Data augmentation on image batches (Seed 4.5.8).

Seed 4.5.8: the classifier has to be invariant to plausible transformations, so we synthesise them:
flips, crops, brightness and contrast changes.  *Training* uses random crops, *testing* a fixed set
of crops whose scores are averaged (:func:`predict_with_crops`).  Use the same augmentation when
comparing two networks: it is part of the network design.

Every transform works on a whole batch ``x`` of shape ``(N, C, H, W)`` (float32 or float64, dtype kept),
draws an independent random choice per image, and is called as ``t(x, rng=None)``; ``rng`` is an int
seed, a ``numpy.random.Generator`` or ``None`` for the global generator (``dlcourse.seed``).  None of them
modifies its input.  Pass one to ``DataLoader(transform=...)`` to augment every training batch.
"""
from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._rng import get_rng
from .._validate import check_ndim, float_array, positive_int, probability

__all__ = ["RandomHorizontalFlip", "RandomCrop", "CenterCrop", "FiveCrop", "BrightnessContrast", "Compose",
           "hflip", "crop", "predict_with_crops"]



def accepts_rng(fn: Callable) -> bool:
    """True if ``fn`` can be called as ``fn(x, rng=...)`` (our transforms, anything with ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return False
    return any(p.name == "rng" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _images(owner: str, x) -> np.ndarray:
    x = float_array(owner, x)
    check_ndim(owner, x, 4, "(N, C, H, W)")
    return x


def _size_pair(owner: str, size) -> tuple[int, int]:
    if isinstance(size, (tuple, list)):
        if len(size) != 2:
            raise ValueError(f"{owner}: size must be an int or a pair (height, width), got {size!r}")
        return positive_int(owner, size[0], "size[0]"), positive_int(owner, size[1], "size[1]")
    s = positive_int(owner, size, "size")
    return s, s


def _check_fits(owner: str, x: np.ndarray, h: int, w: int, note: str = "") -> None:
    if h > x.shape[2] or w > x.shape[3]:
        raise ValueError(f"{owner}: crop of size ({h}, {w}) does not fit into images of size "
                         f"({x.shape[2]}, {x.shape[3]}){note}; input shape {x.shape}")


def hflip(x: np.ndarray) -> np.ndarray:
    """Mirror every image left-right (Seed 4.5.8, "flip"): ``(N, C, H, W) -> (N, C, H, W)`` (a copy)."""
    return _images("hflip", x)[..., ::-1].copy()


def crop(x: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """The same window ``[top:top+height, left:left+width]`` of every image (Seed 4.5.8, a fixed crop).

    Shapes: ``(N, C, H, W) -> (N, C, height, width)`` (a copy).
    """
    x = _images("crop", x)
    if top < 0 or left < 0 or top + height > x.shape[2] or left + width > x.shape[3]:
        raise ValueError(f"crop: window top={top}, left={left}, size ({height}, {width}) leaves images of size "
                         f"({x.shape[2]}, {x.shape[3]})")
    return x[:, :, top:top + height, left:left + width].copy()


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p`` (Seed 4.5.8, "flip").

    Shapes: ``(N, C, H, W) -> (N, C, H, W)``.  Only sensible when the classes are mirror-symmetric
    (clothes, animals), not for digits or text.
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = probability("RandomHorizontalFlip", p, "p", upper_inclusive=True)

    def __call__(self, x, rng: np.random.Generator | int | None = None) -> np.ndarray:
        x = _images("RandomHorizontalFlip", x)
        flip = get_rng(rng).random(len(x)) < self.p
        out = x.copy()
        out[flip] = x[flip, :, :, ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop:
    """Cut a random ``size`` window out of each (optionally zero-padded) image: training-time crops (Seed 4.5.8).

    Args:
        size: output ``(height, width)``, or an int for a square.
        padding: pixels added on every side first, so that with ``size`` equal to the image size the crop
            is a random shift of up to ``padding`` pixels (the usual CIFAR/MNIST augmentation).
        padding_mode: ``"constant"`` (zeros, as PyTorch), ``"edge"`` or ``"reflect"`` (numpy ``np.pad`` modes).

    Shapes: ``(N, C, H, W) -> (N, C, height, width)``.
    """

    def __init__(self, size, padding: int = 0, padding_mode: str = "constant") -> None:
        self.size = _size_pair("RandomCrop", size)
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"RandomCrop: padding must be an integer >= 0, got {padding!r}")
        if padding_mode not in ("constant", "edge", "reflect"):
            raise ValueError(f"RandomCrop: padding_mode must be 'constant', 'edge' or 'reflect', got {padding_mode!r}")
        self.padding, self.padding_mode = int(padding), padding_mode

    def __call__(self, x, rng: np.random.Generator | int | None = None) -> np.ndarray:
        x = _images("RandomCrop", x)
        h, w = self.size
        p = self.padding
        if p:
            x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode=self.padding_mode)
        _check_fits("RandomCrop", x, h, w, f" after padding {p}")
        gen = get_rng(rng)
        top = gen.integers(0, x.shape[2] - h + 1, size=len(x))
        left = gen.integers(0, x.shape[3] - w + 1, size=len(x))
        # windows[n, c, i, j] is the (h, w) patch at offset (i, j); pick one offset per image in one gather
        windows = sliding_window_view(x, (h, w), axis=(2, 3))
        return windows[np.arange(len(x)), :, top, left]

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding}, padding_mode={self.padding_mode!r})"


class CenterCrop:
    """The central ``size`` window of each image, deterministic: a test-time crop (Seed 4.5.8).

    Shapes: ``(N, C, H, W) -> (N, C, height, width)``; when ``H - height`` is odd the extra row is
    dropped at the bottom (the same rounding as torchvision).
    """

    def __init__(self, size) -> None:
        self.size = _size_pair("CenterCrop", size)

    def __call__(self, x, rng: np.random.Generator | int | None = None) -> np.ndarray:
        x = _images("CenterCrop", x)
        h, w = self.size
        _check_fits("CenterCrop", x, h, w)
        top, left = int(round((x.shape[2] - h) / 2.0)), int(round((x.shape[3] - w) / 2.0))
        return crop(x, top, left, h, w)

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class FiveCrop:
    """The fixed set of test-time crops of Seed 4.5.8: four corners and the centre (and their mirror images).

    ``FiveCrop(size)(x)`` returns a list of 5 arrays ``(N, C, height, width)`` in the order top-left,
    top-right, bottom-left, bottom-right, centre; with ``hflip=True`` the 5 crops of the mirrored images
    follow (10 views, as in AlexNet's test-time averaging).  Deterministic: ``rng`` is ignored.
    Use it with :func:`predict_with_crops`.
    """

    def __init__(self, size, hflip: bool = False) -> None:
        self.size = _size_pair("FiveCrop", size)
        self.hflip = bool(hflip)

    def __len__(self) -> int:
        return 10 if self.hflip else 5

    def __call__(self, x, rng: np.random.Generator | int | None = None) -> list[np.ndarray]:
        x = _images("FiveCrop", x)
        h, w = self.size
        _check_fits("FiveCrop", x, h, w)
        H, W = x.shape[2], x.shape[3]
        views = [crop(x, 0, 0, h, w), crop(x, 0, W - w, h, w), crop(x, H - h, 0, h, w),
                 crop(x, H - h, W - w, h, w), CenterCrop(self.size)(x)]
        if self.hflip:
            views += [v[..., ::-1].copy() for v in views]
        return views

    def __repr__(self) -> str:
        return f"FiveCrop(size={self.size}, hflip={self.hflip})"


class BrightnessContrast:
    """Random brightness and contrast changes per image (Seed 4.5.8).

    For each image a brightness factor ``b ~ U[1 - brightness, 1 + brightness]`` and a contrast factor
    ``c ~ U[1 - contrast, 1 + contrast]`` are drawn, and ``x <- b * x`` followed by
    ``x <- mean + c * (x - mean)`` (``mean`` over the image's C, H, W), i.e. brightness scales the mean and
    contrast scales the spread about it, as torchvision's ``ColorJitter``.  The result is clipped to
    ``clip`` (default ``(0, 1)``, the range of the bundled datasets; ``None`` disables it).

    Shapes: ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, brightness: float = 0.2, contrast: float = 0.2,
                 clip: tuple[float, float] | None = (0.0, 1.0)) -> None:
        for name, v in (("brightness", brightness), ("contrast", contrast)):
            if not 0 <= v <= 1:
                raise ValueError(f"BrightnessContrast: {name} must lie in [0, 1] (factors in [1-{name}, 1+{name}]), "
                                 f"got {v!r}")
        self.brightness, self.contrast = float(brightness), float(contrast)
        self.clip = None if clip is None else (float(clip[0]), float(clip[1]))

    def __call__(self, x, rng: np.random.Generator | int | None = None) -> np.ndarray:
        x = _images("BrightnessContrast", x)
        gen = get_rng(rng)
        n = len(x)
        b = gen.uniform(1 - self.brightness, 1 + self.brightness, size=(n, 1, 1, 1)).astype(x.dtype)
        c = gen.uniform(1 - self.contrast, 1 + self.contrast, size=(n, 1, 1, 1)).astype(x.dtype)
        out = x * b
        mean = out.mean(axis=(1, 2, 3), keepdims=True)
        out = mean + c * (out - mean)
        if self.clip is not None:
            np.clip(out, self.clip[0], self.clip[1], out=out)
        return out

    def __repr__(self) -> str:
        return f"BrightnessContrast(brightness={self.brightness}, contrast={self.contrast}, clip={self.clip})"


class Compose:
    """Apply transforms one after the other, sharing one generator (Seed 4.5.8).

    Example: ``Compose([RandomCrop(28, padding=2), RandomHorizontalFlip(), BrightnessContrast()])``.

    A transform without an ``rng`` parameter (e.g. :func:`hflip` or a lambda) is called as ``t(x)``.
    Shapes: whatever the chain produces from ``(N, C, H, W)``.
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        transforms = list(transforms)
        for t in transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {type(t).__name__}")
        self.transforms = transforms
        self._takes_rng = [accepts_rng(t) for t in transforms]

    def __call__(self, x, rng: np.random.Generator | int | None = None) -> np.ndarray:
        gen = get_rng(rng)
        for t, takes_rng in zip(self.transforms, self._takes_rng):
            x = t(x, rng=gen) if takes_rng else t(x)
        return x

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(map(repr, self.transforms)) + "])"


def predict_with_crops(predict_fn: Callable[[np.ndarray], np.ndarray], X,
                       crops: Callable | Sequence[Callable]) -> np.ndarray:
    """Average a model's scores over a fixed set of test-time crops (Seed 4.5.8, "Testing: Fixed Set of Crops").

    Args:
        predict_fn: maps a batch of crops ``(N, C, h, w)`` to scores ``(N, K)`` (logits or probabilities).
        X: test images ``(N, C, H, W)``.
        crops: a transform returning a list of views (e.g. ``FiveCrop(24)``), or a list of deterministic
            transforms each returning one view (e.g. ``[CenterCrop(24), Compose([hflip, CenterCrop(24)])]``).

    Returns:
        The mean of ``predict_fn`` over the views, shape ``(N, K)``; ``argmax(axis=1)`` gives the class.
    """
    X = _images("predict_with_crops", X)
    if callable(crops) and not isinstance(crops, (list, tuple)):
        views = crops(X)
        if isinstance(views, np.ndarray):  # a single-view transform such as CenterCrop
            views = [views]
    else:
        views = [c(X) for c in crops]
    if len(views) == 0:
        raise ValueError("predict_with_crops: crops produced no view")
    total = None
    for v in views:
        s = np.asarray(predict_fn(v))
        if total is not None and s.shape != total.shape:
            raise ValueError(f"predict_with_crops: predict_fn returned scores of shape {s.shape} for one crop "
                             f"and {total.shape} for another")
        total = s.astype(np.result_type(s.dtype, np.float32), copy=True) if total is None else total + s
    return total / len(views)
