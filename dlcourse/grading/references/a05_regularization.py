"""References for assignment 05_regularization (seed 4.5): dropout, batch norm, weight decay, early stopping.

The layers are ``dlcourse.nn.Dropout`` and ``dlcourse.nn.BatchNorm1d`` (float64), weight decay is
``dlcourse.optim.SGD(weight_decay=λ)`` and early stopping is ``dlcourse.train.EarlyStopping``, driven
through the functional signatures of the assignment.
"""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np

from dlcourse.nn import BatchNorm1d, Dropout
from dlcourse.nn.module import Parameter
from dlcourse.optim import SGD
from dlcourse.train.callbacks import EarlyStopping

FORBID = {
    "dropout": ["dlcourse.nn.dropout"],
    "batchnorm_forward": ["dlcourse.nn.norm"],
    "batchnorm_backward": ["dlcourse.nn.norm"],
    "weight_decay": ["dlcourse.optim"],
    "early_stopping": ["dlcourse.train"],
}
ADAPTERS = {
    "dropout": ("dropout_forward", "dropout_backward"),
    "batchnorm_forward": ("batchnorm_forward",),
    "batchnorm_backward": ("batchnorm_backward",),
    "weight_decay": ("weight_decay_step",),
    "early_stopping": ("early_stopping",),
}


class _GivenDraws(np.random.Generator):
    """A generator whose ``random(shape)`` returns the uniform draws ``u`` the test chose."""

    def __init__(self, u: np.ndarray) -> None:
        super().__init__(np.random.PCG64(0))
        self._u = np.asarray(u, dtype=np.float64)

    def random(self, size=None, dtype=np.float64, out=None):
        if tuple(np.atleast_1d(size)) != self._u.shape:
            raise ValueError(f"draws of shape {self._u.shape} given, {size} requested")
        return self._u.copy()


def dropout_forward(x: np.ndarray, p: float, u: np.ndarray, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Inverted dropout (seed 4.5.5): keep where u ≥ p, scale by 1/(1 − p); returns (out, mask).

    ``mask`` is the factor each entry was multiplied by (0 or 1/(1 − p)); in evaluation mode
    (``train=False``) the output is ``x`` and the mask all ones.
    """
    x = np.array(x, dtype=np.float64)
    layer = Dropout(p, rng=_GivenDraws(u))
    layer.train(train)
    out = layer(x)
    mask = layer._mask if layer._mask is not None else np.ones_like(x)
    return out, np.asarray(mask, dtype=np.float64)


def dropout_backward(dout: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """dL/dx = dout ∘ mask."""
    layer = Dropout(0.5)
    layer._mask = np.array(mask, dtype=np.float64)
    return layer.backward(np.array(dout, dtype=np.float64))


def _batchnorm(gamma, beta, beta_m: float, eps: float) -> BatchNorm1d:
    layer = BatchNorm1d(len(gamma), eps=eps, momentum=1.0 - beta_m).double()
    layer.weight.data = np.array(gamma, dtype=np.float64)
    layer.weight.grad = np.zeros_like(layer.weight.data)
    layer.bias.data = np.array(beta, dtype=np.float64)
    layer.bias.grad = np.zeros_like(layer.bias.data)
    return layer


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
                      running_var: np.ndarray, beta_m: float = 0.9, eps: float = 1e-5, train: bool = True):
    """Batch norm over the batch axis of ``x (N, D)`` (seed 4.5.6); returns (out, running_mean, running_var).

    Training: batch mean and biased batch variance normalise; the running estimates move towards
    the batch mean and the *unbiased* batch variance with weight ``1 − beta_m``.  Evaluation: the
    running estimates normalise and stay unchanged.
    """
    layer = _batchnorm(gamma, beta, beta_m, eps)
    layer.running_mean[...] = running_mean
    layer.running_var[...] = running_var
    layer.train(train)
    out = layer(np.array(x, dtype=np.float64))
    return out, layer.running_mean.copy(), layer.running_var.copy()


def batchnorm_backward(dout: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float = 1e-5):
    """(dx, dgamma, dbeta) of training-mode batch norm (batch statistics depend on x)."""
    layer = _batchnorm(gamma, np.zeros(len(gamma)), 0.9, eps)
    layer(np.array(x, dtype=np.float64))
    dx = layer.backward(np.array(dout, dtype=np.float64))
    return dx, layer.weight.grad, layer.bias.grad


def weight_decay_step(theta: np.ndarray, grad: np.ndarray, lr: float, lam: float) -> np.ndarray:
    """θ − α∇f − λθ (seed 4.5.2, λ not scaled by α)."""
    p = Parameter(np.array(theta, dtype=np.float64))
    p.grad = np.array(grad, dtype=np.float64)
    SGD([p], lr=lr, weight_decay=lam).step()
    return p.data


class _Weights:
    """A dict of arrays seen through the ``state_dict`` interface ``EarlyStopping`` uses."""

    def __init__(self, weights: dict) -> None:
        self.weights = weights

    def state_dict(self) -> dict:
        return {k: np.array(v, copy=True) for k, v in self.weights.items()}

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            self.weights[k][...] = v


def early_stopping(train_epoch: Callable[[dict], None], validate: Callable[[dict], float], weights: dict,
                   max_epochs: int, patience: int) -> tuple[dict, int]:
    """Train until the validation loss has not improved for ``patience`` epochs (seed 4.5.3).

    Returns ``(best_weights, best_epoch)``: a copy of the weights after the epoch (0-based) with the
    lowest validation loss.
    """
    callback = EarlyStopping(patience=patience)
    history = SimpleNamespace(val_loss=[], stopped_early=False, best_epoch=None)
    model = _Weights(weights)
    state = SimpleNamespace(history=history, model=model, epoch=0, stop=False)
    callback.on_train_begin(state)
    for epoch in range(max_epochs):
        train_epoch(weights)
        state.epoch = epoch
        history.val_loss.append(float(validate(weights)))
        callback.on_epoch_end(state)
        if state.stop:
            break
    callback.on_train_end(state)
    return model.state_dict(), int(callback.best_epoch)
