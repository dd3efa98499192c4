"""Sanity check of seed 8.8.2: a network must be able to overfit one sample, then a handful.

"Start with a single training sample — it should overfit, train accuracy should be 100 % —
then increase to a handful (e.g. 4) to check that the input is handled correctly."  A model
that cannot memorise four samples has a bug (a wrong backward pass, a broken loss, labels that
do not match the inputs) or a learning rate far off; no amount of data will fix that.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .. import _rng, mistakes
from ..nn.losses import BCELoss, CrossEntropyLoss, Loss, MSELoss
from ..nn.module import Module, backward_to_parameters
from ..optim import Adam


@dataclass
class OverfitResult:
    """One size of the check: did ``n_samples`` samples get memorised within ``iterations`` steps?"""

    n_samples: int
    iterations: int
    initial_loss: float
    final_loss: float
    accuracy: float | None  # None for regression
    passed: bool

    def __str__(self) -> str:
        acc = "" if self.accuracy is None else f", train accuracy {100 * self.accuracy:.0f}%"
        return (f"{self.n_samples:>4d} sample(s): loss {self.initial_loss:.4g} -> {self.final_loss:.4g} in "
                f"{self.iterations} iterations{acc}: {'ok' if self.passed else 'FAILED'}")


@dataclass
class SanityReport:
    """All sizes of :func:`overfit_small_sample`; ``passed`` only if every size was memorised."""

    results: list[OverfitResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    def __str__(self) -> str:
        lines = ["Overfit-a-small-sample check (seed 8.8.2):"] + [f"  {r}" for r in self.results]
        if not self.passed:
            lines.append("  -> the model cannot memorise a handful of samples: check the backward pass "
                         "(dlcourse.gradcheck.check_module), the loss, the labels and the learning rate.")
        return "\n".join(lines)

    def __bool__(self) -> bool:
        return self.passed


def _is_classification(loss_fn: Loss, y: np.ndarray) -> bool:
    return isinstance(loss_fn, (CrossEntropyLoss, BCELoss)) or np.issubdtype(y.dtype, np.integer)


def _train_accuracy(model: Module, loss_fn: Loss, X: np.ndarray, y: np.ndarray) -> float | None:
    """Accuracy in evaluation mode (dropout off), as the seed's "train accuracy should be 100 %"."""
    was = model.training
    model.eval()
    try:
        out = model(X)
    finally:
        model.train(was)
    if isinstance(loss_fn, BCELoss):
        return float(np.mean((out > 0.5) == (y > 0.5)))
    if out.ndim >= 2 and np.issubdtype(y.dtype, np.integer):
        return float(np.mean(out.argmax(axis=1) == y))
    return None


def _pick(y: np.ndarray, n: int, classify: bool, gen: np.random.Generator) -> np.ndarray:
    """``n`` indices; for classification one per class first, so four samples cover several classes."""
    if n >= len(y):
        return np.arange(len(y))
    if not classify:
        return gen.choice(len(y), n, replace=False)
    order = gen.permutation(len(y))
    _, first = np.unique(y[order], return_index=True)
    picked = list(order[np.sort(first)][:n])
    rest = [i for i in order if i not in set(picked)]
    return np.asarray(picked + rest[: n - len(picked)])


def overfit_small_sample(model_factory: Callable[[], Module], X, y, *, loss_fn: Loss | None = None,
                         sizes: Sequence[int] = (1, 4), optimizer: Callable | None = None, lr: float = 1e-2,
                         max_iterations: int = 300, loss_ratio: float = 0.05, rng=None) -> SanityReport:
    """Seed 8.8.2: train a fresh model on 1 sample, then on 4, and report whether it memorises them.

    Args:
        model_factory: ``() -> Module``, called once per size (each size starts from scratch).
        X, y: a dataset ``(N, ...)``, ``(N, ...)``; the samples are drawn from it (for classification
            from different classes first).
        loss_fn: defaults to ``CrossEntropyLoss`` for integer labels, ``MSELoss`` otherwise.
        sizes: how many samples per stage (the seed's 1, then a handful).
        optimizer: ``(params, lr) -> Optimizer``; default ``Adam``.
        max_iterations: full-batch steps allowed per size.
        loss_ratio: a size passes when the training accuracy (eval mode) is 100 % and the loss fell
            below ``loss_ratio`` times its initial value (for regression the loss criterion alone).

    Returns:
        A :class:`SanityReport`: ``report.passed``, ``report.results[i]`` per size, ``print(report)``.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"overfit_small_sample: X has {len(X)} samples but y has {len(y)}")
    if loss_fn is None:
        loss_fn = CrossEntropyLoss() if np.issubdtype(y.dtype, np.integer) else MSELoss()
    make_opt = optimizer or (lambda params, lr: Adam(params, lr=lr))
    classify = _is_classification(loss_fn, y)
    gen = _rng.get_rng(rng)
    report = SanityReport()
    for n in sizes:
        idx = _pick(y, int(n), classify, gen)
        xb, yb = X[idx], y[idx]
        model = model_factory()
        model.train()
        opt = make_opt(model.parameters(), lr)
        initial = loss = float("nan")
        acc: float | None = None
        passed, it = False, 0
        with np.errstate(over="ignore", invalid="ignore"):
            for it in range(1, max_iterations + 1):
                opt.zero_grad()
                out = model(xb)
                if not np.all(np.isfinite(out)):
                    mistakes.forget_forwards(model)
                    loss = float("nan")
                    break
                loss = float(loss_fn(out, yb))
                if it == 1:
                    initial = loss
                backward_to_parameters(model, loss_fn.backward())
                opt.step()
                if it % 10 == 0 or it == max_iterations:
                    acc = _train_accuracy(model, loss_fn, xb, yb) if classify else None
                    low = loss <= loss_ratio * initial
                    if low and (acc is None or acc == 1.0):
                        passed = True
                        break
        if classify and acc is None:
            acc = _train_accuracy(model, loss_fn, xb, yb)
        report.results.append(OverfitResult(len(idx), it, initial, loss, acc, passed))
    return report
