"""Learning-rate finder of seed 8.8.3: which learning rate makes the loss drop within 100 iterations?

Seed 8.8.3: "find a learning rate that makes the loss drop significantly within 100 iterations;
good learning rates to try: 1e-1, 1e-2, 1e-3, 1e-4".  :func:`find_learning_rate` trains a fresh
copy of the model (same initial weights, same minibatches) for ``iterations`` steps with each
candidate and measures how far the loss fell; the winner is the candidate with the largest drop
that did not blow up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .. import _rng, mistakes
from ..data.loader import DataLoader
from ..nn.losses import CrossEntropyLoss, Loss, MSELoss
from ..nn.module import Module, backward_to_parameters
from ..optim import Adam

SEED_LRS = (1e-1, 1e-2, 1e-3, 1e-4)


@dataclass
class LRFinderResult:
    """Per candidate: the loss of every iteration, its relative drop and whether it diverged.

    ``drop = 1 − median(last 10 losses) / first loss`` (1 = the loss vanished, 0 = no progress,
    negative = it grew); a candidate *diverged* if a loss was NaN/inf or the end is above 1.5× the
    start; ``best_lr`` is the candidate with the largest drop among those
    that did not diverge, ``None`` if none dropped by at least ``significant``.
    """

    lrs: list[float]
    losses: list[np.ndarray]
    drops: list[float]
    diverged: list[bool]
    significant: float
    best_lr: float | None = None
    iterations: int = 100
    table: list[dict] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"Learning-rate finder (seed 8.8.3), {self.iterations} iterations each:",
                 "| lr | loss drop | diverged |", "|---|---|---|"]
        for lr, d, div in zip(self.lrs, self.drops, self.diverged):
            mark = " **best**" if lr == self.best_lr else ""
            lines.append(f"| {lr:g}{mark} | {100 * d:.1f}% | {'yes' if div else 'no'} |")
        if self.best_lr is None:
            lines.append(f"No learning rate dropped the loss by {100 * self.significant:.0f}%: check the model "
                         f"(overfit_small_sample) or try other values.")
        return "\n".join(lines)

    def plot(self, ax=None):
        """Loss per iteration for every candidate (log y), the best one drawn thick; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        for lr, curve, d, div in zip(self.lrs, self.losses, self.drops, self.diverged):
            finite = np.isfinite(curve)
            label = f"lr={lr:g}: " + ("diverged" if div else f"drop {100 * d:.0f}%")
            ax.plot(np.flatnonzero(finite), curve[finite], lw=2.5 if lr == self.best_lr else 1.0, label=label)
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel("training loss (minibatch)")
        best = "none" if self.best_lr is None else f"{self.best_lr:g}"
        ax.set_title(f"learning-rate finder: best lr = {best}")
        ax.legend(fontsize=8)
        return ax


def find_learning_rate(model_factory: Callable[[], Module], train_data, *, lrs: Sequence[float] = SEED_LRS,
                       iterations: int = 100, loss_fn: Loss | None = None, optimizer: Callable | None = None,
                       batch_size: int = 64, significant: float = 0.1, seed: int = 0) -> LRFinderResult:
    """Seed 8.8.3: try each learning rate for ``iterations`` minibatch steps from the same start.

    Args:
        model_factory: ``() -> Module``; called after ``dlcourse.seed(seed)`` for every candidate, so
            all start from identical weights.
        train_data: a pair ``(X, y)`` or a ``DataLoader``; minibatches cycle through it (reshuffled with
            the same seed for every candidate).
        lrs: candidates, default the seed's ``1e-1, 1e-2, 1e-3, 1e-4``.
        optimizer: ``(params, lr) -> Optimizer``; default ``Adam``.
        significant: the relative drop a learning rate must reach to count.

    Returns:
        An :class:`LRFinderResult` (``.best_lr``, ``.drops``, ``.plot()``, ``print(result)``).
    """
    if not lrs:
        raise ValueError("find_learning_rate needs at least one learning rate")
    if iterations < 15:
        raise ValueError(f"find_learning_rate: iterations must be >= 15 to compare the start and the end, "
                         f"got {iterations}")
    if isinstance(train_data, DataLoader):
        X, y, batch_size = train_data.X, train_data.y, train_data.batch_size
    else:
        X, y = train_data
    X, y = np.asarray(X), np.asarray(y)
    if loss_fn is None:
        loss_fn = CrossEntropyLoss() if np.issubdtype(y.dtype, np.integer) else MSELoss()
    make_opt = optimizer or (lambda params, lr: Adam(params, lr=lr))
    losses, drops, diverged = [], [], []
    for lr in lrs:
        _rng.seed(seed)
        model = model_factory()
        model.train()
        opt = make_opt(model.parameters(), float(lr))
        loader = DataLoader(X, y, batch_size=batch_size, shuffle=True, rng=seed)
        curve = np.full(iterations, np.nan)
        batches = iter(())
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for i in range(iterations):
                try:
                    xb, yb = next(batches)
                except StopIteration:
                    batches = iter(loader)
                    xb, yb = next(batches)
                opt.zero_grad()
                out = model(xb)
                if not np.all(np.isfinite(out)):
                    mistakes.forget_forwards(model)
                    break
                curve[i] = loss = float(loss_fn(out, yb))
                if not np.isfinite(loss):
                    mistakes.forget_forwards(model)
                    break
                backward_to_parameters(model, loss_fn.backward())
                opt.step()
        start = float(curve[0])  # before any update: the initial loss
        end = float(np.median(curve[-10:]))  # robust to a single spiking minibatch
        blew_up = not np.all(np.isfinite(curve)) or end > 1.5 * start
        losses.append(curve)
        diverged.append(bool(blew_up))
        drops.append(float("nan") if not np.isfinite(end) else 1.0 - end / start)
    ok = [i for i in range(len(lrs)) if not diverged[i] and drops[i] >= significant]
    best = max(ok, key=lambda i: drops[i]) if ok else None
    table = [{"lr": float(lr), "drop": d, "diverged": div} for lr, d, div in zip(lrs, drops, diverged)]
    return LRFinderResult([float(v) for v in lrs], losses, drops, diverged, significant,
                          None if best is None else float(lrs[best]), iterations, table)
