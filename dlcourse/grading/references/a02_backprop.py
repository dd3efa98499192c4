"""References for assignment 02_backprop (seed 3): the gradients come from ``dlcourse.graph``'s autodiff."""
from __future__ import annotations

from typing import Callable

import numpy as np

from dlcourse import gradcheck
from dlcourse.graph import Value

_GRAPH = ["dlcourse.graph"]
FORBID = {
    "add_mul": _GRAPH,
    "gates": _GRAPH + ["dlcourse.nn.activations"],
    "neuron": _GRAPH + ["dlcourse.nn.activations", "dlcourse.nn.linear", "dlcourse.linear_models.sigmoid"],
    "numerical_gradient": ["dlcourse.gradcheck"],
    "fork": _GRAPH + ["dlcourse.nn.activations", "dlcourse.linear_models.sigmoid"],
}
#: parts graded through several functions: each adapter is forbidden
ADAPTERS = {
    "add_mul": ("add_mul_forward_backward",),
    "gates": ("mul_backward", "max_backward", "sigmoid_backward"),
    "neuron": ("neuron_forward_backward",),
    "numerical_gradient": ("numerical_gradient",),
    "fork": ("fork_forward_backward",),
}


def add_mul_forward_backward(x: float, y: float, z: float) -> tuple[float, float, float, float]:
    """f = (x + y)·z (seed 3.1) and (∂f/∂x, ∂f/∂y, ∂f/∂z) by reverse-mode autodiff."""
    vx, vy, vz = Value(float(x)), Value(float(y)), Value(float(z))
    f = (vx + vy) * vz
    f.backward()
    return f.data, vx.grad, vy.grad, vz.grad


def mul_backward(a: float, b: float, dout: float) -> tuple[float, float]:
    """Upstream gradient ``dout`` through c = a·b: (dout·b, dout·a)."""
    va, vb = Value(float(a)), Value(float(b))
    _backprop(va * vb, dout)
    return va.grad, vb.grad


def max_backward(a: float, b: float, dout: float) -> tuple[float, float]:
    """c = max(a, b) routes ``dout`` to the larger input (to ``a`` on a tie)."""
    return (float(dout), 0.0) if a >= b else (0.0, float(dout))


def sigmoid_backward(s: float, dout: float) -> float:
    """∂σ(s)/∂s · dout = σ(s)(1 − σ(s))·dout (seed 4.1.1)."""
    vs = Value(float(s))
    out = vs.sigmoid()
    _backprop(out, dout)
    return vs.grad


def _backprop(out: Value, dout: float) -> None:
    """Backward from ``out`` with upstream gradient ``dout`` (Value.backward seeds 1)."""
    out.backward()
    for node in out.topological_order():
        if node.is_leaf:
            node.grad *= float(dout)


def neuron_forward_backward(w: np.ndarray, x: np.ndarray, b: float):
    """out = σ(w·x + b) and (∂out/∂w, ∂out/∂x, ∂out/∂b) — a sigmoid neuron as a graph (seed 3)."""
    vw = [Value(float(v)) for v in w]
    vx = [Value(float(v)) for v in x]
    vb = Value(float(b))
    s = vb
    for wi, xi in zip(vw, vx):
        s = s + wi * xi
    out = s.sigmoid()
    out.backward()
    return out.data, np.array([v.grad for v in vw]), np.array([v.grad for v in vx]), vb.grad


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences (f(x + h·e_i) − f(x − h·e_i)) / 2h for every entry of ``x``."""
    x = np.array(x, dtype=np.float64)
    return gradcheck.numerical_gradient(lambda: f(x), x, h=h)


def fork_forward_backward(x: float, y: float) -> tuple[float, float, float]:
    """f = x·y + σ(x): x is used twice, so its gradients add (y + σ'(x))."""
    vx, vy = Value(float(x)), Value(float(y))
    f = vx * vy + vx.sigmoid()
    f.backward()
    return f.data, vx.grad, vy.grad
