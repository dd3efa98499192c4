"""Full-batch training of a network with L-BFGS through one flat parameter vector (seed 4.3.1).

Seed 4.3.1: second-order (and quasi-Newton) methods converge in few iterations but only for
*full-batch* updates — their curvature model and line search need the exact loss and gradient,
which mini-batch noise would destroy.  For a small network on a small dataset that is affordable:
:func:`fit_full_batch_lbfgs` views all weights as one vector ``θ (P,)``, builds ``f(θ)`` (forward
pass + loss on the whole set) and ``∇f(θ)`` (backward pass) from the ``dlcourse.nn`` contract and
hands them to :func:`dlcourse.optim.second_order.lbfgs`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..nn.module import Module, backward_to_parameters
from .second_order import OptimizeResult, lbfgs

__all__ = ["flatten_params", "flatten_grads", "set_flat_params", "fit_full_batch_lbfgs"]


def _trainable(module: Module) -> list:
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{type(module).__name__} has no trainable parameters to flatten")
    return params


def flatten_params(module: Module) -> np.ndarray:
    """Concatenate every trainable parameter (in ``module.parameters()`` order) into a float64 ``(P,)`` copy."""
    return np.concatenate([p.data.ravel() for p in _trainable(module)]).astype(np.float64)


def flatten_grads(module: Module) -> np.ndarray:
    """The parameters' ``.grad`` arrays in the same order as :func:`flatten_params`, float64 ``(P,)``."""
    return np.concatenate([p.grad.ravel() for p in _trainable(module)]).astype(np.float64)


def set_flat_params(module: Module, vec) -> None:
    """Write ``vec (P,)`` back into the trainable parameters (inverse of :func:`flatten_params`).

    Each slice is reshaped to its parameter's shape and cast to its dtype; a vector of the wrong
    length raises ``ValueError`` saying how many numbers the model has.
    """
    params = _trainable(module)
    vec = np.asarray(vec)
    total = sum(p.size for p in params)
    if vec.shape != (total,):
        raise ValueError(f"set_flat_params: {type(module).__name__} has {total} trainable parameters, "
                         f"got a vector of shape {vec.shape}")
    offset = 0
    for p in params:
        p.data[...] = vec[offset: offset + p.size].reshape(p.shape).astype(p.dtype, copy=False)
        offset += p.size


def fit_full_batch_lbfgs(model: Module, loss_fn: Module, X, y, *, m: int = 10, maxiter: int = 200,
                         gtol: float = 1e-6, xtol: float = 1e-12, double: bool = True,
                         callback: Callable[[int, float], None] | None = None) -> OptimizeResult:
    """Minimise ``loss_fn(model(X), y)`` over all trainable parameters with L-BFGS (seed 4.3.1, 4.3.9).

    ``X`` the whole training set (e.g. ``(N, D)``), ``y`` its targets in the form ``loss_fn``
    expects (integer labels for ``CrossEntropyLoss``, an array like ``model(X)`` for ``MSELoss``).
    ``f(θ)`` sets the parameters, runs ``model(X)`` and the loss; ``∇f(θ)`` runs
    ``model.backward(loss_fn.backward())`` after ``model.zero_grad()``.  One forward/backward pair
    serves both (cached per θ).  With ``double=True`` (default) the model and ``X`` are converted
    to float64 first — a line search compares losses that differ in the 6th digit, below float32
    resolution.  The model should be deterministic (no dropout in training mode), since a noisy
    ``f`` breaks the line search.  Predictions that overflow to inf/NaN at a trial point count as
    ``f = inf`` (the line search then shortens the step).

    Returns the :class:`OptimizeResult` of :func:`lbfgs` (``fun`` the final loss, ``path`` every
    parameter vector) and leaves the best parameters in ``model``.  ``callback(k, loss)`` is called
    after every accepted iteration with the loss.
    """
    if double:
        model.double()
        X = np.asarray(X, dtype=np.float64)
    cache: dict = {}

    def evaluate(theta: np.ndarray) -> tuple[float, np.ndarray | None]:
        key = theta.tobytes()
        if key in cache:
            return cache[key]
        set_flat_params(model, theta)
        model.zero_grad()
        with np.errstate(over="ignore", invalid="ignore"):
            pred = model(X)
        if not np.all(np.isfinite(pred)):
            result = (np.inf, None)
        else:
            loss = float(loss_fn(pred, y))
            backward_to_parameters(model, loss_fn.backward())
            result = (loss, flatten_grads(model))
        cache.clear()  # only the latest point is ever re-requested
        cache[key] = result
        return result

    def fun(theta):
        return evaluate(theta)[0]

    def grad(theta):
        g = evaluate(theta)[1]
        return np.full(theta.shape, np.nan) if g is None else g

    res = lbfgs(fun, grad, flatten_params(model), m=m, gtol=gtol, xtol=xtol, maxiter=maxiter,
                callback=None if callback is None else (lambda k, theta, f: callback(k, f)))
    set_flat_params(model, res.x)
    return res
