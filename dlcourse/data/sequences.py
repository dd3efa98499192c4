"""Synthetic sequence tasks for recurrent networks (seed 7), generated in milliseconds, batch-first.

* ``make_sine``: predict the next value of a noisy sine wave (a warm-up: short memory suffices);
* ``make_adding_problem``: add the two marked numbers of a long sequence (Hochreiter & Schmidhuber
  1997; the benchmark of Le, Jaitly & Hinton 2015).  Needs memory over ``T`` steps: an LSTM
  solves it, a vanilla RNN's vanishing gradient keeps it at the trivial baseline;
* ``make_copy_task``: reproduce a string of symbols after a long blank delay (Arjovsky et al. 2016).
"""
from __future__ import annotations

import numpy as np

from .._rng import get_rng
from .._validate import positive_int

#: MSE of always predicting the mean target of the adding problem: the variance of the sum of two
#: independent U(0, 1) numbers, 2 · 1/12 = 1/6 ≈ 0.167.  A model must beat this to have learned anything.
ADDING_BASELINE_MSE = 1.0 / 6.0


def make_sine(n: int, T: int, *, noise: float = 0.0, freq_range: tuple[float, float] = (0.05, 0.2),
              rng=None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sine waves with random frequency, phase and amplitude; target = the next value.

    ``x_t = A sin(2π f t + φ) (+ noise)`` with ``f`` uniform in ``freq_range`` (cycles per step),
    ``φ ~ U(0, 2π)``, ``A ~ U(0.5, 1)``.  Returns ``x (n, T, 1)`` and ``y (n, T, 1)`` (float32) with
    ``y[:, t] = x[:, t+1]`` (the noiseless value: the model should predict the signal, not the noise).
    """
    n, T = positive_int("make_sine", n, "n"), positive_int("make_sine", T, "T")
    gen = get_rng(rng)
    f = gen.uniform(*freq_range, size=(n, 1))
    phase = gen.uniform(0, 2 * np.pi, size=(n, 1))
    amp = gen.uniform(0.5, 1.0, size=(n, 1))
    clean = amp * np.sin(2 * np.pi * f * np.arange(T + 1) + phase)
    x = clean[:, :-1] + noise * gen.standard_normal((n, T))
    return x[..., None].astype(np.float32), clean[:, 1:, None].astype(np.float32)


def make_adding_problem(n: int, T: int = 50, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem: ``x (n, T, 2)``, ``y (n, 1)`` (float32).

    Channel 0 holds ``T`` numbers drawn from U(0, 1); channel 1 is a marker that is 1 at exactly two
    positions, one in the first half and one in the second half of the sequence, and 0 elsewhere.
    The target is the sum of the two marked numbers.  The first marked number must be remembered
    for up to ``T`` steps.  Predicting the mean (1.0) gives ``ADDING_BASELINE_MSE = 1/6 ≈ 0.167``.
    """
    n = positive_int("make_adding_problem", n, "n")
    T = positive_int("make_adding_problem", T, "T")
    if T < 2:
        raise ValueError(f"make_adding_problem: T must be at least 2 (two marked positions), got {T}")
    gen = get_rng(rng)
    values = gen.uniform(0.0, 1.0, size=(n, T))
    half = T // 2
    first = gen.integers(0, half, size=n)
    second = gen.integers(half, T, size=n)
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values[rows, first] + values[rows, second])[:, None].astype(np.float32)
    return x, y


def adding_baseline_mse(y: np.ndarray) -> float:
    """MSE of predicting the mean of ``y``: the bar a model must clear (≈ 1/6 for the adding problem)."""
    y = np.asarray(y, dtype=np.float64)
    return float(np.mean((y - y.mean()) ** 2))


def make_copy_task(n: int, T: int, *, n_symbols: int = 8, copy_len: int = 10, one_hot: bool = True,
                   rng=None) -> tuple[np.ndarray, np.ndarray]:
    """The copy-memory task: read ``copy_len`` symbols, wait ``T`` steps, then write them back.

    Tokens: 0 = blank, ``1..n_symbols`` = symbols, ``n_symbols + 1`` = the "go" delimiter.  An input
    sequence of length ``L = T + 2·copy_len`` is ``copy_len`` random symbols, ``T − 1`` blanks, the
    delimiter, then ``copy_len`` blanks; the target is ``T + copy_len`` blanks followed by the
    symbols.  Returns ``x (n, L, n_symbols + 2)`` float32 one-hot (or ``(n, L)`` int64 tokens with
    ``one_hot=False``) and ``y (n, L)`` int64 class labels for a per-step ``CrossEntropyLoss``.
    A memoryless model that outputs blanks, then uniform guesses, scores a cross-entropy of
    ``copy_len · log(n_symbols) / L``.
    """
    n = positive_int("make_copy_task", n, "n")
    T = positive_int("make_copy_task", T, "T")
    n_symbols = positive_int("make_copy_task", n_symbols, "n_symbols")
    copy_len = positive_int("make_copy_task", copy_len, "copy_len")
    gen = get_rng(rng)
    length = T + 2 * copy_len
    symbols = gen.integers(1, n_symbols + 1, size=(n, copy_len))
    tokens = np.zeros((n, length), dtype=np.int64)
    tokens[:, :copy_len] = symbols
    tokens[:, T + copy_len - 1] = n_symbols + 1
    target = np.zeros((n, length), dtype=np.int64)
    target[:, T + copy_len:] = symbols
    if not one_hot:
        return tokens, target
    return np.eye(n_symbols + 2, dtype=np.float32)[tokens], target
