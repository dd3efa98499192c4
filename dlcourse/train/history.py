"""What a training run records per epoch (the input of learning-curve diagnosis, seed 8.7)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass
class History:
    """Per-epoch lists (one entry per finished epoch) plus every iteration's time in seconds.

    ``train_acc``/``val_acc`` hold ``None`` for regression; ``val_*`` hold ``None`` without validation data.
    """

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    iteration_times: list = field(default_factory=list)
    stopped_early: bool = False
    best_epoch: int | None = None

    def __len__(self) -> int:
        return len(self.epoch)

    def record(self, **values) -> None:
        for name, value in values.items():
            getattr(self, name).append(value)

    def best(self, monitor: str = "val_loss") -> tuple[int, float]:
        """``(epoch, value)`` of the best entry of ``monitor`` (minimum for losses, maximum for accuracies)."""
        values = [(e, v) for e, v in zip(self.epoch, getattr(self, monitor)) if v is not None and not math.isnan(v)]
        if not values:
            raise ValueError(f"History has no {monitor} values")
        pick = min if "loss" in monitor else max
        return pick(values, key=lambda ev: ev[1])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        return cls(**data)
