"""References for assignment 04_optimizers (seed 4.3–4.4): ``dlcourse.optim`` on one parameter array.

Each function runs one step of the library's optimizer on a ``Parameter`` holding ``theta``, with
the optimizer state set from the arguments, and returns the new parameters and state — the
functional form the assignment asks for.  The schedules are ``dlcourse.optim.schedules``; the
Newton step is the search direction of ``dlcourse.optim.second_order.newton`` (full step, α = 1).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlcourse.nn.module import Parameter
from dlcourse.optim import SGD, Adam, RMSprop
from dlcourse.optim.schedules import ExponentialDecay, InverseSqrtDecay, InverseTimeDecay, StepDecay
from dlcourse.optim.second_order import _newton_direction

_OPTIM = ["dlcourse.optim"]
FORBID = {part: _OPTIM for part in ("sgd", "nesterov", "rmsprop", "adam", "decays", "newton")}
ADAPTERS = {
    "sgd": ("sgd_step", "momentum_step"),
    "nesterov": ("nesterov_step",),
    "rmsprop": ("rmsprop_step",),
    "adam": ("adam_step",),
    "decays": ("inverse_time_decay", "step_decay", "exponential_decay", "inverse_sqrt_decay"),
    "newton": ("newton_step",),
}


def _param(theta, grad) -> Parameter:
    p = Parameter(np.array(theta, dtype=np.float64))
    p.grad = np.array(grad, dtype=np.float64)
    return p


def sgd_step(theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """θ − α∇f (seed 4.3.2)."""
    p = _param(theta, grad)
    SGD([p], lr=lr).step()
    return p.data


def momentum_step(theta: np.ndarray, grad: np.ndarray, v: np.ndarray, lr: float,
                  beta: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """v ← βv − α∇f, θ ← θ + v (seed 4.3.4); returns (θ, v)."""
    p = _param(theta, grad)
    opt = SGD([p], lr=lr, momentum=beta)
    opt.state[0]["velocity"] = np.array(v, dtype=np.float64)
    opt.step()
    return p.data, opt.state[0]["velocity"]


def nesterov_step(theta: np.ndarray, v: np.ndarray, grad_fn: Callable[[np.ndarray], np.ndarray], lr: float,
                  beta: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Seed 4.3.5: θ̃ = θ + βv, v ← βv − α∇f(θ̃), θ ← θ + v; returns (θ, v).

    The library's SGD keeps the look-ahead point φ = θ + βv in the parameters (see its docstring),
    so the step runs on φ and θ is recovered as φ − βv afterwards.
    """
    theta, v = np.array(theta, dtype=np.float64), np.array(v, dtype=np.float64)
    lookahead = theta + beta * v
    p = _param(lookahead, grad_fn(lookahead.copy()))
    opt = SGD([p], lr=lr, momentum=beta, nesterov=True)
    opt.state[0]["velocity"] = v.copy()
    opt.step()
    v_new = opt.state[0]["velocity"]
    return p.data - beta * v_new, v_new


def rmsprop_step(theta: np.ndarray, grad: np.ndarray, s: np.ndarray, lr: float, beta: float = 0.9,
                 eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """s ← βs + (1 − β)∇f∘∇f, θ ← θ − α∇f/(√s + ε) (seed 4.3.6); returns (θ, s)."""
    p = _param(theta, grad)
    opt = RMSprop([p], lr=lr, beta=beta, eps=eps)
    opt.state[0]["square_avg"] = np.array(s, dtype=np.float64)
    opt.step()
    return p.data, opt.state[0]["square_avg"]


def adam_step(theta: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, t: int, lr: float,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
    """Adam step number ``t`` (1 for the first step) with bias correction (seed 4.3.7); returns (θ, m, v)."""
    p = _param(theta, grad)
    opt = Adam([p], lr=lr, betas=(beta1, beta2), eps=eps)
    opt.state[0].update(step=int(t) - 1, m=np.array(m, dtype=np.float64), v=np.array(v, dtype=np.float64))
    opt.step()
    return p.data, opt.state[0]["m"], opt.state[0]["v"]


def inverse_time_decay(lr0: float, epoch: int, t: float = 0.1) -> float:
    """α₀ / (1 + t·epoch) (seed 4.4.1)."""
    return InverseTimeDecay(lr0, t).lr_at(epoch)


def step_decay(lr0: float, epoch: int, t: float = 0.5, step_size: int = 10) -> float:
    """α ← α − tα every ``step_size`` epochs: α₀(1 − t)^⌊epoch/step_size⌋ (seed 4.4.1)."""
    return StepDecay(lr0, t, step_size).lr_at(epoch)


def exponential_decay(lr0: float, epoch: int, t: float = 0.95) -> float:
    """t^epoch · α₀ (seed 4.4.1)."""
    return ExponentialDecay(lr0, t).lr_at(epoch)


def inverse_sqrt_decay(lr0: float, epoch: int, t: float = 1.0) -> float:
    """t/√epoch · α₀ for epoch ≥ 1 (seed 4.4.1)."""
    return InverseSqrtDecay(lr0, t).lr_at(epoch)


def newton_step(theta: np.ndarray, grad: np.ndarray, hessian: np.ndarray) -> np.ndarray:
    """θ − H⁻¹∇f (seed 4.3.8) for a positive-definite Hessian."""
    direction = _newton_direction("newton_step", np.array(hessian, dtype=np.float64),
                                  np.array(grad, dtype=np.float64), False, {})
    return np.array(theta, dtype=np.float64) + direction
