"""MNIST-1D: a small, offline, procedurally generated 1-D digit dataset where model choice matters.

Re-implementation (numpy only) of the generator of

    S. Greydanus, "Scaling down Deep Learning", arXiv:2011.14439 (2020);
    reference code: github.com/greydanus/mnist1d, Apache License 2.0.

The ten digit *templates* (12 points each) are the values published with that code (Apache-2.0,
© 2020 Sam Greydanus); the generator below is written from the paper's description and follows
the reference transformation pipeline and default parameters, but not its random stream, so the
arrays differ from the published pickle while the difficulty is the same.  Each example is a
template that is

1. padded with 36–60 zeros and stretched back to 72 points (the digit gets a random width),
2. scaled in amplitude by ``1 ± 0.2``,
3. translated (circularly) by 0–47 positions,
4. filled with *correlated* noise (white noise smoothed by a Gaussian of σ = 2 points) where it is
   zero, plus white noise of std 0.02 everywhere,
5. sheared (a random linear trend of slope ±0.375), and
6. linearly interpolated down to 40 points.

Published test accuracies on the original: logistic regression 32 %, MLP 68 %, CNN 94 %, GRU 91 %
— the translation makes a convolution's weight sharing pay off (seed 6), so this is a dataset on
which a CNN visibly beats an MLP in seconds on a laptop.
"""
from __future__ import annotations

import numpy as np

from .._validate import positive_int

#: The ten 12-point digit outlines (0–9) of Greydanus (2020), before whitening.
RAW_TEMPLATES = np.array([
    [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
    [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
    [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
    [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
    [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
    [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
    [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
    [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
])

#: Generator settings of the reference implementation.
DEFAULTS = dict(padding=(36, 60), scale_coeff=0.4, max_translation=48, corr_noise_scale=0.25,
                iid_noise_scale=2e-2, shear_scale=0.75, final_seq_length=40, corr_noise_sigma=2.0)


class MNIST1D(dict):
    """A dict whose keys are also attributes: ``data.x_train`` is ``data["x_train"]``."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError as err:
            raise AttributeError(name) from err


def mnist1d_templates() -> np.ndarray:
    """``(10, 12)`` templates: whitened, shifted to start and end at 0, divided by 6 (as in the reference)."""
    x = RAW_TEMPLATES - RAW_TEMPLATES.mean(axis=1, keepdims=True)
    x /= x.std(axis=1, keepdims=True)
    x -= x[:, :1]
    return x / 6.0


def _linear_resample(x: np.ndarray, lengths: np.ndarray, n_out: int) -> np.ndarray:
    """Stretch the first ``lengths[i]`` entries of row ``i`` of ``x`` onto ``n_out`` evenly spaced points.

    Linear interpolation with both ends kept (``np.interp`` on ``linspace(0, 1, ·)`` grids), vectorised
    over rows with different lengths.  ``x`` must have at least ``max(lengths) + 1`` columns.
    """
    pos = np.linspace(0.0, 1.0, n_out)[None, :] * (lengths[:, None] - 1)
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    left = np.take_along_axis(x, lo, axis=1)
    right = np.take_along_axis(x, lo + 1, axis=1)
    return left + frac * (right - left)


def _gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter along the last axis, like ``scipy.ndimage.gaussian_filter1d`` (mode "reflect",
    truncated at 4σ), without scipy: a symmetric pad and a sum of shifted copies."""
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(radius, radius)], mode="symmetric")
    width = x.shape[-1]
    out = np.zeros_like(x)
    for j, w in enumerate(kernel):
        out += w * padded[..., j:j + width]
    return out


def generate_mnist1d(labels: np.ndarray, rng: np.random.Generator, **overrides) -> np.ndarray:
    """Raw (un-normalised) MNIST-1D signals for the given integer ``labels (n,)`` → ``(n, 40)`` float64.

    ``overrides`` change entries of ``DEFAULTS`` (e.g. ``max_translation=1`` for an easier variant).
    """
    cfg = {**DEFAULTS, **overrides}
    templates = mnist1d_templates()
    n, tlen = len(labels), templates.shape[1]
    low, high = cfg["padding"]
    long_len = tlen + high

    # 1. pad with a random number of zeros, then stretch back to a fixed length (random digit width)
    buf = np.zeros((n, long_len + 1))
    buf[:, :tlen] = templates[labels] + 1e-8  # +eps: the template's own zeros are not padding
    pad = low + (rng.random(n) * (high - low + 1)).astype(np.int64)
    x = _linear_resample(buf, tlen + pad, long_len)
    # 2. amplitude scaling
    x *= (1.0 + cfg["scale_coeff"] * (rng.random(n) - 0.5))[:, None]
    # 3. circular translation
    shift = rng.integers(0, cfg["max_translation"], size=n)
    x = np.take_along_axis(x, (np.arange(long_len)[None, :] - shift[:, None]) % long_len, axis=1)
    # 4. correlated noise where the signal is zero (the padding), white noise everywhere
    corr = _gaussian_smooth(cfg["corr_noise_scale"] * rng.standard_normal((n, long_len)), cfg["corr_noise_sigma"])
    x = np.where(x != 0, x, corr)
    x += cfg["iid_noise_scale"] * rng.standard_normal((n, long_len))
    # 5. shear: a random linear trend
    x -= (cfg["shear_scale"] * (rng.random(n) - 0.5))[:, None] * np.linspace(-0.5, 0.5, long_len)[None, :]
    # 6. subsample to the final length
    out_len = cfg["final_seq_length"]
    x = np.concatenate([x, np.zeros((n, 1))], axis=1)
    return _linear_resample(x, np.full(n, long_len), out_len)


def _balanced_labels(n: int, rng: np.random.Generator, num_classes: int = 10) -> np.ndarray:
    labels = np.resize(np.arange(num_classes), n)
    rng.shuffle(labels)
    return labels.astype(np.int64)


def make_mnist1d(n_train: int = 4000, n_test: int = 1000, seed: int = 42, **overrides) -> MNIST1D:
    """Generate MNIST-1D (Greydanus 2020, Apache-2.0; see the module docstring) offline in ~0.1 s.

    Returns an ``MNIST1D`` dict (keys also attributes): ``x_train (n_train, 40)`` float32,
    ``y_train (n_train,)`` int64, ``x_test (n_test, 40)``, ``y_test (n_test,)``, ``t (40,)`` the
    sample positions (for plotting), ``templates (10, 12)``.  Classes are balanced within each split
    (exactly when the size is a multiple of 10).  The signals are standardised with the mean and std
    of all generated data (as in the reference).  The same ``seed`` always gives the same arrays.
    """
    n_train = positive_int("make_mnist1d", n_train, "n_train")
    n_test = positive_int("make_mnist1d", n_test, "n_test")
    rng = np.random.default_rng(seed)
    y_train = _balanced_labels(n_train, rng)
    y_test = _balanced_labels(n_test, rng)
    x = generate_mnist1d(np.concatenate([y_train, y_test]), rng, **overrides)
    mean, std = x.mean(), x.std()
    x = ((x - mean) / std).astype(np.float32)
    out_len = x.shape[1]
    t = (np.linspace(-5, 5, out_len) / 6.0 / std).astype(np.float32)
    return MNIST1D(x_train=x[:n_train], y_train=y_train, x_test=x[n_train:], y_test=y_test, t=t,
                   templates=mnist1d_templates())
