"""Iteration-time breakdown of seed 8.8.4: "measure how long each iteration takes (should be < 500 ms),
look for bottlenecks (e.g. data loading, backpropagation), estimate the total time"."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..data.loader import DataLoader
from ..nn.losses import Loss
from ..nn.module import Module

STAGES = ("data", "forward", "backward", "step")
_WHAT = {
    "data": "data loading (the DataLoader and its transform/augmentation)",
    "forward": "the forward pass (model and loss)",
    "backward": "backpropagation",
    "step": "the optimizer step (and zero_grad)",
}


@dataclass
class TimingReport:
    """Seconds per iteration and stage: ``times`` has shape ``(iterations, 4)`` for ``STAGES``."""

    times: np.ndarray
    batches_per_epoch: int
    slow_ms: float = 500.0

    @property
    def total(self) -> np.ndarray:
        """Seconds of each measured iteration ``(iterations,)``."""
        return self.times.sum(axis=1)

    @property
    def median_ms(self) -> dict[str, float]:
        return {s: float(1e3 * np.median(self.times[:, i])) for i, s in enumerate(STAGES)}

    @property
    def share(self) -> dict[str, float]:
        """Fraction of the median iteration spent in each stage."""
        med = self.median_ms
        tot = sum(med.values()) or 1.0
        return {s: v / tot for s, v in med.items()}

    @property
    def bottleneck(self) -> str:
        """The stage that takes the largest share of an iteration."""
        share = self.share
        return max(share, key=share.get)

    @property
    def slow_iterations(self) -> list[int]:
        """Indices of measured iterations slower than ``slow_ms`` (seed 8.8.4: 500 ms)."""
        return [int(i) for i in np.flatnonzero(1e3 * self.total > self.slow_ms)]

    @property
    def epoch_seconds(self) -> float:
        """Estimated time of one epoch: median iteration × batches per epoch (evaluation not included)."""
        return float(np.median(self.total) * self.batches_per_epoch)

    def estimate(self, epochs: int) -> float:
        """Estimated seconds for ``epochs`` epochs of training (seed 8.8.4 "estimate total time")."""
        return self.epoch_seconds * epochs

    def __str__(self) -> str:
        med, share = self.median_ms, self.share
        lines = [f"Iteration time (seed 8.8.4), median of {len(self.times)} iterations:",
                 "| stage | ms | share |", "|---|---|---|"]
        lines += [f"| {s} | {med[s]:.2f} | {100 * share[s]:.0f}% |" for s in STAGES]
        total = float(1e3 * np.median(self.total))
        lines.append(f"| total | {total:.2f} | 100% |")
        lines.append(f"Bottleneck: {_WHAT[self.bottleneck]} ({100 * share[self.bottleneck]:.0f}%). "
                     f"One epoch ≈ {self.epoch_seconds:.2f} s ({self.batches_per_epoch} batches).")
        slow = self.slow_iterations
        if slow:
            lines.append(f"WARNING: {len(slow)} of {len(self.times)} iterations took longer than {self.slow_ms:.0f} ms "
                         f"(slowest {1e3 * self.total.max():.0f} ms); speed up {_WHAT[self.bottleneck]} first.")
        return "\n".join(lines)

    def plot(self, ax=None):
        """Stacked bars per iteration (ms) with the ``slow_ms`` line; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        x = np.arange(len(self.times))
        bottom = np.zeros(len(x))
        for i, s in enumerate(STAGES):
            ax.bar(x, 1e3 * self.times[:, i], bottom=bottom, label=s)
            bottom += 1e3 * self.times[:, i]
        ax.axhline(self.slow_ms, color="red", ls="--", lw=1, label=f"{self.slow_ms:.0f} ms")
        ax.set_xlabel("iteration")
        ax.set_ylabel("ms")
        ax.set_title(f"time per iteration, bottleneck: {self.bottleneck}")
        ax.legend(fontsize=8)
        return ax


def time_iterations(model: Module, loss_fn: Loss, optimizer, data, *, iterations: int = 20, warmup: int = 2,
                    batch_size: int = 64, slow_ms: float = 500.0) -> TimingReport:
    """Run ``warmup + iterations`` real training steps and time each stage (seed 8.8.4).

    Args:
        data: a ``DataLoader`` (its transform is timed as data loading) or a pair ``(X, y)``.
        iterations: measured iterations (the loader restarts when an epoch ends).
        slow_ms: iterations slower than this are flagged (the seed's 500 ms).

    Returns:
        A :class:`TimingReport` (``.median_ms``, ``.bottleneck``, ``.slow_iterations``, ``.estimate(epochs)``,
        ``.plot()``).  The steps really train ``model`` (pass a copy if that matters).
    """
    loader = data if isinstance(data, DataLoader) else DataLoader(*data, batch_size=batch_size, shuffle=True)
    clock = time.perf_counter
    rows = []
    batches = iter(loader)
    model.train()
    optimizer.zero_grad()
    for i in range(warmup + iterations):
        t0 = clock()
        try:
            xb, yb = next(batches)
        except StopIteration:
            batches = iter(loader)
            xb, yb = next(batches)
        t1 = clock()
        out = model(xb)
        loss_fn(out, yb)
        t2 = clock()
        model.backward(loss_fn.backward())
        t3 = clock()
        optimizer.step()
        optimizer.zero_grad()
        t4 = clock()
        if i >= warmup:
            rows.append((t1 - t0, t2 - t1, t3 - t2, t4 - t3))
    return TimingReport(np.asarray(rows, dtype=np.float64), len(loader), float(slow_ms))
