"""Learning-rate decay (seed 4.4.1) and manual training schedules (seed 4.4.2).

Every schedule has a pure ``lr_at(epoch)`` and ``apply(optimizer, epoch)``, which sets
``optimizer.lr`` for that epoch and returns it; ``dlcourse.train.fit(schedule=…)`` calls it at
the start of every epoch.  Epochs count from 0, except ``InverseSqrtDecay`` whose formula is
undefined at 0: its ``first_epoch`` is 1 and the training loop starts counting there.
"""
from __future__ import annotations

import math


class Schedule:
    """Base class: subclasses define ``lr_at``."""

    first_epoch = 0

    def __init__(self, lr0: float) -> None:
        if not lr0 > 0:
            raise ValueError(f"{type(self).__name__}: lr0 must be positive, got {lr0!r}")
        self.lr0 = float(lr0)

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def _check_epoch(self, epoch: int) -> None:
        if epoch < self.first_epoch:
            raise ValueError(f"{type(self).__name__} is defined for epoch >= {self.first_epoch}, got {epoch}")

    def apply(self, optimizer, epoch: int) -> float:
        optimizer.lr = self.lr_at(epoch)
        return optimizer.lr

    def values(self, epochs: int) -> list[float]:
        """The learning rate of the first ``epochs`` epochs (for plotting)."""
        return [self.lr_at(self.first_epoch + e) for e in range(epochs)]


class InverseTimeDecay(Schedule):
    """Seed 4.4.1: ``α = α₀ / (1 + t·epoch)``, default t = 0.1."""

    def __init__(self, lr0: float, t: float = 0.1) -> None:
        super().__init__(lr0)
        self.t = float(t)

    def lr_at(self, epoch: int) -> float:
        self._check_epoch(epoch)
        return self.lr0 / (1 + self.t * epoch)


class StepDecay(Schedule):
    """Seed 4.4.1: ``α ← α − t·α`` every ``step_size`` epochs, i.e. ``α₀ (1 − t)^⌊epoch/step_size⌋``; default t = 0.5."""

    def __init__(self, lr0: float, t: float = 0.5, step_size: int = 10) -> None:
        super().__init__(lr0)
        if not 0 <= t < 1:
            raise ValueError(f"StepDecay: t must lie in [0, 1), got {t!r}")
        if step_size < 1:
            raise ValueError(f"StepDecay: step_size must be >= 1, got {step_size!r}")
        self.t, self.step_size = float(t), int(step_size)

    def lr_at(self, epoch: int) -> float:
        self._check_epoch(epoch)
        return self.lr0 * (1 - self.t) ** (epoch // self.step_size)


class ExponentialDecay(Schedule):
    """Seed 4.4.1: ``α = t^epoch · α₀`` with t < 1."""

    def __init__(self, lr0: float, t: float = 0.95) -> None:
        super().__init__(lr0)
        if not 0 < t < 1:
            raise ValueError(f"ExponentialDecay: t must lie in (0, 1), got {t!r}")
        self.t = float(t)

    def lr_at(self, epoch: int) -> float:
        self._check_epoch(epoch)
        return self.t**epoch * self.lr0


class InverseSqrtDecay(Schedule):
    """Seed 4.4.1: ``α = t / √epoch · α₀`` for epoch ≥ 1 (so ``first_epoch = 1``)."""

    first_epoch = 1

    def __init__(self, lr0: float, t: float = 1.0) -> None:
        super().__init__(lr0)
        if not t > 0:
            raise ValueError(f"InverseSqrtDecay: t must be positive, got {t!r}")
        self.t = float(t)

    def lr_at(self, epoch: int) -> float:
        self._check_epoch(epoch)
        return self.t / math.sqrt(epoch) * self.lr0


class ManualSchedule(Schedule):
    """Seed 4.4.2: set the learning rate by hand at chosen epochs, e.g. ``{0: 0.1, 10: 0.01, 20: 0.001}``."""

    def __init__(self, milestones: dict[int, float]) -> None:
        if not milestones or 0 not in milestones:
            raise ValueError("ManualSchedule needs a learning rate for epoch 0, e.g. {0: 0.1, 10: 0.01}")
        if any(lr <= 0 for lr in milestones.values()):
            raise ValueError(f"ManualSchedule: learning rates must be positive, got {milestones}")
        super().__init__(milestones[0])
        self.milestones = dict(sorted((int(e), float(lr)) for e, lr in milestones.items()))

    def lr_at(self, epoch: int) -> float:
        self._check_epoch(epoch)
        return [lr for e, lr in self.milestones.items() if e <= epoch][-1]
