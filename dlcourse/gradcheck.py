"""Numerical gradient checks (central differences) with readable reports.

``check_module(layer, x)`` compares ``layer.backward`` with finite differences for the input and
every parameter; ``check_loss`` does the same for a loss; ``check_function`` for any ``f(x)``.
Use float64: in float32 the rounding error of a difference quotient is ~1e-3 and nothing passes.

The relative error of one entry is ``|a - n| / max(|a| + |n|, tiny)`` (CS231n's measure).  Entries
whose absolute difference is below ``atol`` count as exact, because an entry whose true
gradient is zero has a relative error of 1 against any rounding noise.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import _rng, mistakes
from .nn.module import Module


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """d f / d x by central differences, perturbing ``x`` in place (and restoring it).

    Shapes: ``x`` any shape → gradient of the same shape.  ``f`` takes no argument and reads ``x``.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)  # a view: writing it perturbs x
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = f()
        flat[i] = old - h
        minus = f()
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray, atol: float = 1e-9) -> float:
    """Largest entry-wise relative error; differences below ``atol`` count as zero."""
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"analytic gradient has shape {analytic.shape}, numerical {numeric.shape}")
    if analytic.size == 0:
        return 0.0
    diff = np.abs(analytic - numeric)
    rel = diff / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-300)
    rel[diff <= atol] = 0.0
    return float(rel.max())


@dataclass
class GradcheckReport:
    """Max relative error per checked array (``"input"``, ``"weight"``, ``"0.bias"``, …)."""

    errors: dict = field(default_factory=dict)
    tolerance: float = 1e-6
    owner: str = ""

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_error < self.tolerance

    def __str__(self) -> str:
        rows = [f"gradient check of {self.owner}: {'PASS' if self.passed else 'FAIL'} (tolerance {self.tolerance:g})"]
        for name, err in self.errors.items():
            rows.append(f"  {name:<24} max relative error {err:.2e}  {'ok' if err < self.tolerance else '<-- wrong'}")
        return "\n".join(rows)

    def assert_ok(self) -> "GradcheckReport":
        """Raise AssertionError listing every array whose gradient is off."""
        if not self.passed:
            raise AssertionError(str(self))
        return self


def _require_float64(owner: str, x: np.ndarray) -> None:
    if x.dtype != np.float64:
        raise TypeError(f"{owner}: gradient checks need float64 input (got {x.dtype}); "
                        f"use x.astype(np.float64) and module.double()")


def check_module(module: Module, x: np.ndarray, *, h: float = 1e-5, tol: float = 1e-6, seed: int = 0,
                 atol: float = 1e-9) -> GradcheckReport:
    """Check ``module.backward`` for the input and every parameter.

    The scalar checked is ``sum(module(x) * dout)`` with a random ``dout``, so every output entry
    contributes.  The global generator is reseeded before each forward so dropout masks repeat.
    """
    name = type(module).__name__
    _require_float64(name, x)
    module.double()
    x = x.copy()
    rng = np.random.default_rng(seed)

    def forward():
        _rng.seed(seed)
        return module(x)

    out = forward()
    dout = rng.standard_normal(np.shape(out))
    module.zero_grad()
    dx = module.backward(dout)
    analytic = {"input": dx}
    analytic.update({n: p.grad.copy() for n, p in module.named_parameters()})

    def f() -> float:
        with mistakes.silenced("train_mode_eval"):  # finite differences re-run forward without backward
            return float(np.sum(forward() * dout))

    report = GradcheckReport(tolerance=tol, owner=name)
    report.errors["input"] = relative_error(analytic["input"], numerical_gradient(f, x, h), atol)
    for pname, p in module.named_parameters():
        report.errors[pname] = relative_error(analytic[pname], numerical_gradient(f, p.data, h), atol)
    module.zero_grad()
    return report


def check_loss(loss_fn: Module, pred: np.ndarray, target, *, h: float = 1e-5, tol: float = 1e-6,
               atol: float = 1e-9) -> GradcheckReport:
    """Check ``loss_fn.backward()`` (d loss / d pred) against finite differences."""
    name = type(loss_fn).__name__
    _require_float64(name, pred)
    pred = pred.copy()
    loss_fn(pred, target)
    analytic = loss_fn.backward()
    numeric = numerical_gradient(lambda: float(loss_fn(pred, target)), pred, h)
    return GradcheckReport({"pred": relative_error(analytic, numeric, atol)}, tol, name)


def check_function(f: Callable[[np.ndarray], float], grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray, *,
                   h: float = 1e-5, tol: float = 1e-6, atol: float = 1e-9) -> GradcheckReport:
    """Check ``grad(x)`` against finite differences of the scalar function ``f(x)``."""
    x = np.array(x, dtype=np.float64)
    analytic = np.asarray(grad(x.copy()), dtype=np.float64)
    numeric = numerical_gradient(lambda: float(f(x)), x, h)
    return GradcheckReport({"x": relative_error(analytic, numeric, atol)}, tol, getattr(f, "__name__", "f"))
