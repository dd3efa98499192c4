"""The training loop (seed 4.3.3 minibatch SGD, seed 8): ``fit``, ``evaluate``, ``predict``."""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .. import _rng, mistakes
from ..data.loader import DataLoader
from ..nn.losses import BCELoss, Loss
from ..nn.module import Module, backward_to_parameters
from .callbacks import Callback, load_checkpoint
from .history import History


@dataclass
class TrainingState:
    """What callbacks see: the objects being trained and where the run is."""

    model: Module
    optimizer: object
    history: History
    epoch: int = 0
    stop: bool = False
    loader_rng: np.random.Generator | None = None


def _as_loader(data, batch_size: int, shuffle: bool, rng=None, transform=None) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return DataLoader(data[0], data[1], batch_size=batch_size, shuffle=shuffle, rng=rng, transform=transform)
    raise TypeError(f"expected a DataLoader or a pair (X, y), got {type(data).__name__}")


def _correct(loss_fn: Loss, out: np.ndarray, y: np.ndarray) -> int | None:
    """Number of correct predictions in a batch, or None for regression."""
    if isinstance(loss_fn, BCELoss):
        return int(((out > 0.5) == (y > 0.5)).sum())
    if np.issubdtype(np.asarray(y).dtype, np.integer) and out.ndim >= 2:
        return int((out.argmax(axis=1) == y).sum())
    return None


def predict(model: Module, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Model outputs for ``X`` in evaluation mode (dropout off, running BN statistics); the mode is restored."""
    mistakes.note_evaluation(X, owner="predict")  # seed 8.8.7: test set scored while tuning
    was_training = model.training
    model.eval()
    try:
        outs = [model(X[i:i + batch_size]) for i in range(0, len(X), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(outs) if outs else np.empty((0,))


def evaluate(model: Module, loss_fn: Loss, data, batch_size: int = 256) -> dict:
    """Mean loss and accuracy (None for regression) over ``data`` (pair or DataLoader), in eval mode."""
    loader = _as_loader(data, batch_size, shuffle=False)
    mistakes.note_evaluation(loader.X, loader.y)  # seed 8.8.7: test set scored while tuning
    was_training = model.training
    model.eval()
    total_loss, correct, count, items = 0.0, 0, 0, 0
    try:
        for xb, yb in loader:
            out = model(xb)
            total_loss += loss_fn(out, yb) * len(xb)
            c = _correct(loss_fn, out, yb)
            correct = None if c is None or correct is None else correct + c
            count += len(xb)
            items += np.asarray(yb).size if c is not None else 0
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate got no data")
    return {"loss": total_loss / count, "accuracy": None if correct is None else correct / items}


def _progress(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal

    return tqdm(total=total, desc=desc, leave=False)


def fit(model: Module, loss_fn: Loss, optimizer, train_data, *, epochs: int = 10, val_data=None,
        batch_size: int = 64, shuffle: bool = True, schedule=None, penalty=None,
        callbacks: Sequence[Callback] = (), progress: bool = True, rng=None, transform=None,
        resume_from: str | None = None) -> History:
    """Train ``model`` with minibatches and return its ``History``.

    Args:
        train_data / val_data: a ``DataLoader`` or a pair ``(X, y)`` (shuffled with ``rng``).
        schedule: a ``dlcourse.optim`` schedule; it sets ``optimizer.lr`` at the start of each epoch.
        penalty: an ``L1Penalty``/``L2Penalty`` added to the loss for all parameters (seed 4.5.1).
        callbacks: e.g. ``EarlyStopping`` (restores the best weights by copy), ``Checkpoint``.
        progress: a progress bar (widget in Jupyter, text elsewhere); ``False`` for silence.
        resume_from: a checkpoint file; training continues after its last epoch up to ``epochs``.

    A loss that becomes NaN or infinite stops training with a warning (the history keeps the
    ``nan``), instead of raising deep inside numpy.
    """
    if epochs < 1:
        raise ValueError(f"fit: epochs must be >= 1, got {epochs!r}")
    loader = _as_loader(train_data, batch_size, shuffle, rng=rng, transform=transform)
    mistakes.check_training_data(loader, val_data)  # seed 8.8.7: training set contains test data
    history, start = History(), 0
    state = TrainingState(model, optimizer, history, loader_rng=getattr(loader, "rng", None))
    if resume_from is not None:
        ckpt = load_checkpoint(resume_from)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        history = state.history = History.from_dict(ckpt["meta"]["history"])
        _rng.get_rng().bit_generator.state = ckpt["meta"]["global_rng"]
        if ckpt["meta"]["loader_rng"] is not None and state.loader_rng is not None:
            state.loader_rng.bit_generator.state = ckpt["meta"]["loader_rng"]
        start = ckpt["meta"]["epoch"] + 1
    params = [p for p in model.parameters()]
    for cb in callbacks:
        cb.on_train_begin(state)
    bar = _progress((epochs - start) * len(loader), progress, type(model).__name__)
    try:
        for epoch in range(start, epochs):
            state.epoch = epoch
            if schedule is not None:
                schedule.apply(optimizer, schedule.first_epoch + epoch)
            model.train()
            t_epoch = time.perf_counter()
            total_loss, correct, count, items = 0.0, 0, 0, 0
            diverged = False
            for xb, yb in loader:
                t0 = time.perf_counter()
                optimizer.zero_grad()
                # overflow is detected and reported below as divergence, not as numpy noise
                with np.errstate(over="ignore", invalid="ignore"):
                    out = model(xb)
                    if not np.all(np.isfinite(out)):
                        diverged = True
                        break
                    loss = loss_fn(out, yb)
                    if not np.isfinite(loss):
                        diverged = True
                        break
                    backward_to_parameters(model, loss_fn.backward())
                if penalty is not None:
                    loss += penalty(params)
                    penalty.backward(params)
                optimizer.step()
                history.iteration_times.append(time.perf_counter() - t0)
                total_loss += loss * len(xb)
                c = _correct(loss_fn, out, yb)
                correct = None if c is None or correct is None else correct + c
                count += len(xb)
                items += np.asarray(yb).size if c is not None else 0
                if bar is not None:
                    bar.update(1)
            train_loss = float("nan") if diverged else total_loss / max(count, 1)
            val = evaluate(model, loss_fn, val_data) if val_data is not None and not diverged else None
            history.record(epoch=epoch, train_loss=train_loss,
                           train_acc=None if correct is None or diverged else correct / max(items, 1),
                           val_loss=(float("nan") if diverged and val_data is not None else
                                     (val["loss"] if val else None)),
                           val_acc=val["accuracy"] if val else None,
                           lr=optimizer.lr, epoch_time=time.perf_counter() - t_epoch)
            if bar is not None:
                bar.set_postfix(loss=f"{train_loss:.4f}", **({"val": f"{val['loss']:.4f}"} if val else {}))
            if diverged:
                mistakes.forget_forwards(model)  # the aborted step had a forward but no backward
                warnings.warn(f"training diverged in epoch {epoch}: the model produced NaN/inf; "
                              f"lower the learning rate (seed 8.8.3)", RuntimeWarning, stacklevel=2)
                state.stop = True
            for cb in callbacks:
                cb.on_epoch_end(state)
            if state.stop:
                break
    finally:
        if bar is not None:
            bar.close()
    for cb in callbacks:
        cb.on_train_end(state)
    return history
