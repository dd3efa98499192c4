"""Callbacks of the training loop: early stopping (seed 4.5.3) and resumable checkpoints."""
from __future__ import annotations

import json
import os

import numpy as np

from .. import _rng
from ..nn.module import atomic_savez


class Callback:
    """Hooks called by ``fit``; ``state`` is the loop's ``TrainingState`` (model, optimizer, history, epoch, stop)."""

    def on_train_begin(self, state) -> None:
        pass

    def on_epoch_end(self, state) -> None:
        pass

    def on_train_end(self, state) -> None:
        pass


class EarlyStopping(Callback):
    """Seed 4.5.3: stop once ``monitor`` has not improved for ``patience`` epochs.

    With ``restore_best_weights`` the model gets the parameters of its best epoch back.  They are
    kept as a **copy** (``state_dict()`` copies every array): keeping a reference — the bug of a
    well-known course's solver — would silently "restore" the last weights instead.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 restore_best_weights: bool = True) -> None:
        if patience < 1:
            raise ValueError(f"EarlyStopping: patience must be >= 1, got {patience!r}")
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.restore_best_weights = restore_best_weights
        self.minimize = "loss" in monitor

    def on_train_begin(self, state) -> None:
        self.best_value, self.best_epoch, self.best_state, self.wait = None, None, None, 0

    def _improved(self, value: float) -> bool:
        if self.best_value is None:
            return True
        if self.minimize:
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    def on_epoch_end(self, state) -> None:
        values = getattr(state.history, self.monitor)
        value = values[-1] if values else None
        if value is None:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which this run does not record "
                             f"(pass val_data to fit for val_loss/val_acc)")
        if not np.isfinite(value):
            state.stop = True
            return
        if self._improved(value):
            self.best_value, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best_weights:
                self.best_state = state.model.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                state.stop = True
                state.history.stopped_early = True

    def on_train_end(self, state) -> None:
        state.history.best_epoch = self.best_epoch
        if self.restore_best_weights and self.best_state is not None:
            state.model.load_state_dict(self.best_state)


class Checkpoint(Callback):
    """Save model, optimizer, history and random state every ``every`` epochs to ``path`` (.npz, atomic).

    ``fit(..., resume_from=path)`` continues the run exactly where it stopped.
    """

    def __init__(self, path: str | os.PathLike, every: int = 1) -> None:
        self.path, self.every = os.fspath(path), int(every)

    def on_epoch_end(self, state) -> None:
        if (state.epoch + 1) % self.every == 0 or state.stop:
            save_checkpoint(self.path, state)


def save_checkpoint(path: str, state) -> None:
    """Everything needed to resume: ``model/…`` and ``optim/i/…`` arrays plus a JSON ``meta`` entry."""
    arrays = {f"model/{k}": v for k, v in state.model.state_dict().items()}
    optim = state.optimizer.state_dict()
    for i, per_param in enumerate(optim["state"]):
        for key, value in per_param.items():
            arrays[f"optim/{i}/{key}"] = np.asarray(value)
    meta = {
        "epoch": state.epoch,
        "lr": optim["lr"],
        "steps": optim["steps"],
        "n_params": len(optim["state"]),
        "history": state.history.to_dict(),
        "global_rng": _rng.get_rng().bit_generator.state,
        "loader_rng": state.loader_rng.bit_generator.state if state.loader_rng is not None else None,
    }
    arrays["meta"] = np.array(json.dumps(meta))
    atomic_savez(path, arrays)


def load_checkpoint(path: str) -> dict:
    """Read a checkpoint written by ``save_checkpoint``: ``{"model": …, "optimizer": …, "meta": …}``."""
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        path += ".npz"
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        model = {k[len("model/"):]: data[k] for k in data.files if k.startswith("model/")}
        per_param: list[dict] = [{} for _ in range(meta["n_params"])]
        for k in data.files:
            if k.startswith("optim/"):
                _, i, key = k.split("/", 2)
                value = data[k]
                per_param[int(i)][key] = value.item() if value.ndim == 0 else value
    optimizer = {"lr": meta["lr"], "steps": meta["steps"], "state": per_param}
    return {"model": model, "optimizer": optimizer, "meta": meta}
