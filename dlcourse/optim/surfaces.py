"""Test functions for optimizers, each with value, gradient and Hessian (seed 4.3).

A :class:`Surface` bundles ``f``, ``grad``, ``hess``, the known ``minima``, a ``default_start`` and
plotting ``bounds``, so one notebook cell can race the first-order optimizers of
``dlcourse.optim`` (:func:`first_order_path`) against Newton/BFGS/L-BFGS
(:mod:`dlcourse.optim.second_order`) on the same landscape and draw every path on one contour plot.

* :func:`quadratic_bowl` — ``½(x − c)ᵀA(x − c)`` with condition number κ and rotation: the
  textbook case for momentum and for Newton (one step);
* :func:`rosenbrock` — the curved narrow valley, start ``(−1.2, 1)``, minimum ``(1, 1)``;
* :func:`beale` — flat plateaus and steep walls, minimum ``(3, 0.5)``;
* :func:`himmelblau` — four minima and a saddle region where Newton's Hessian is indefinite;
* :func:`exponential_decay_fit` — nonlinear least squares ``y ≈ a·e^(−b·t) + c`` with residual and
  Jacobian for Gauss-Newton / Levenberg / Levenberg-Marquardt (seed 4.3.10–4.3.12).

Functions take ``x`` of shape ``(n,)``; ``f`` also accepts ``(n, …)`` arrays (e.g. a meshgrid
stacked on axis 0), so ``surface.grid()`` evaluates a whole contour plot at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._rng import get_rng

__all__ = ["Surface", "LeastSquaresProblem", "quadratic_bowl", "rosenbrock", "beale", "himmelblau",
           "exponential_decay_fit", "first_order_path", "SURFACES"]


@dataclass
class Surface:
    """A scalar test function ``f: Rⁿ → R`` with its derivatives.

    ``f(x) -> float`` (also vectorised over trailing axes of ``x (n, …)``), ``grad(x) -> (n,)``,
    ``hess(x) -> (n, n)``; ``minima (k, n)`` the known minimisers; ``default_start (n,)``;
    ``bounds`` ``((x_min, x_max), (y_min, y_max))`` for contour plots of the first two coordinates;
    ``log_levels`` whether a contour plot should use logarithmically spaced levels.
    """

    name: str
    f: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    hess: Callable[[np.ndarray], np.ndarray]
    minima: np.ndarray
    default_start: np.ndarray
    bounds: tuple
    log_levels: bool = False
    info: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.default_start.size)

    def __call__(self, x) -> float:
        return self.f(x)

    def grid(self, resolution: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, Y, Z)`` meshgrid arrays of shape ``(resolution, resolution)`` over ``bounds`` (2-D surfaces)."""
        if self.dim != 2:
            raise ValueError(f"{self.name}: grid() draws 2-D surfaces, this one has {self.dim} dimensions")
        (x0, x1), (y0, y1) = self.bounds
        X, Y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
        return X, Y, self.f(np.stack([X, Y]))

    def distance_to_minimum(self, x) -> float:
        """Euclidean distance from ``x`` to the nearest known minimum."""
        return float(np.min(np.linalg.norm(self.minima - np.asarray(x, dtype=np.float64), axis=1)))


def _point(name: str, x, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.shape[:1] != (n,):
        raise ValueError(f"{name} expected x of shape ({n},), got {x.shape}")
    return x


# -------------------------------------------------------------------------------------------------
def quadratic_bowl(condition: float = 10.0, angle: float = 0.0, dim: int = 2, center=None, rng=None) -> Surface:
    """``f(x) = ½ (x − c)ᵀ A (x − c)`` with eigenvalues from 1 to ``condition`` (κ(A) = condition).

    2-D: ``A = R(angle)·diag(1, κ)·R(angle)ᵀ`` — ``angle`` (radians) rotates the ellipses away from
    the axes, which hurts per-coordinate methods (RMSprop, Adam) but not Newton.  n-D: eigenvalues
    log-spaced in ``[1, κ]`` and a random rotation from ``rng`` when ``angle != 0``.  Gradient
    ``A(x − c)``, Hessian ``A``: Newton lands on ``c`` in one step, gradient descent needs
    O(κ) steps (seed 4.3.2).
    """
    if not condition >= 1:
        raise ValueError(f"quadratic_bowl: condition must be >= 1, got {condition!r}")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"quadratic_bowl: dim must be a positive integer, got {dim!r}")
    eig = np.array([1.0, float(condition)]) if dim == 2 else np.logspace(0, np.log10(condition), dim)
    if dim == 2:
        c_, s_ = np.cos(angle), np.sin(angle)
        R = np.array([[c_, -s_], [s_, c_]])
    elif angle != 0:
        R, _ = np.linalg.qr(get_rng(rng).standard_normal((dim, dim)))
    else:
        R = np.eye(dim)
    A = (R * eig) @ R.T
    A = 0.5 * (A + A.T)
    c = np.zeros(dim) if center is None else np.asarray(center, dtype=np.float64).reshape(dim)

    def f(x):
        d = _point("quadratic_bowl", x, dim) - c.reshape((dim,) + (1,) * (np.ndim(x) - 1))
        return 0.5 * np.einsum("i...,ij,j...->...", d, A, d)

    def grad(x):
        return A @ (_point("quadratic_bowl", x, dim) - c)

    def hess(x):
        _point("quadratic_bowl", x, dim)
        return A.copy()

    start = c + np.resize([-1.5, 1.0], dim)
    return Surface(f"quadratic bowl (κ={condition:g})", f, grad, hess, c[None, :], start,
                   ((c[0] - 2, c[0] + 2), (c[min(1, dim - 1)] - 2, c[min(1, dim - 1)] + 2)),
                   info={"A": A, "condition": float(condition), "angle": float(angle)})


# -------------------------------------------------------------------------------------------------
def rosenbrock(dim: int = 2, a: float = 1.0, b: float = 100.0) -> Surface:
    """``f(x) = Σ_{i<n} [b(x_{i+1} − x_i²)² + (a − x_i)²]``; minimum ``(a, a², …)`` = ``(1, …, 1)``.

    The standard start is ``(−1.2, 1)`` (repeated for n > 2).  The minimum lies in a long curved
    valley: gradient descent zig-zags, Newton and BFGS follow the curve.  The Hessian is tridiagonal.
    """
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 2:
        raise ValueError(f"rosenbrock: dim must be an integer >= 2, got {dim!r}")

    def f(x):
        x = _point("rosenbrock", x, dim)
        return np.sum(b * (x[1:] - x[:-1] ** 2) ** 2 + (a - x[:-1]) ** 2, axis=0)

    def grad(x):
        x = _point("rosenbrock", x, dim)
        g = np.zeros(dim)
        inner = x[1:] - x[:-1] ** 2
        g[:-1] += -4 * b * x[:-1] * inner - 2 * (a - x[:-1])
        g[1:] += 2 * b * inner
        return g

    def hess(x):
        x = _point("rosenbrock", x, dim)
        H = np.zeros((dim, dim))
        idx = np.arange(dim - 1)
        H[idx, idx] += 12 * b * x[:-1] ** 2 - 4 * b * x[1:] + 2
        H[idx + 1, idx + 1] += 2 * b
        H[idx, idx + 1] = H[idx + 1, idx] = -4 * b * x[:-1]
        return H

    if dim > 2 and a != 1.0:
        raise ValueError("rosenbrock: the n-D variant is provided for a = 1 only (minimum at all ones)")
    start = np.resize([-1.2, 1.0], dim).astype(np.float64)
    minimum = np.array([[a, a * a]]) if dim == 2 else np.ones((1, dim))
    return Surface(f"Rosenbrock ({dim}-D)", f, grad, hess, minimum, start, ((-2.0, 2.0), (-1.0, 3.0)),
                   log_levels=True, info={"a": a, "b": b})


# -------------------------------------------------------------------------------------------------
def _sum_of_squares_2d(name: str, terms) -> tuple[Callable, Callable, Callable]:
    """``f = Σ_k r_k(x, y)²`` from ``terms = [(r, ∇r, ∇²r), …]``: ``∇f = 2Σ r∇r``, ``H = 2Σ(∇r∇rᵀ + r∇²r)``."""

    def f(x):
        x = _point(name, x, 2)
        return sum(r(x[0], x[1]) ** 2 for r, _, _ in terms)

    def grad(x):
        x = _point(name, x, 2)
        return sum(2 * r(*x) * np.asarray(dr(*x), dtype=np.float64) for r, dr, _ in terms)

    def hess(x):
        x = _point(name, x, 2)
        H = np.zeros((2, 2))
        for r, dr, d2r in terms:
            g = np.asarray(dr(*x), dtype=np.float64)
            H += 2 * (np.outer(g, g) + r(*x) * np.asarray(d2r(*x), dtype=np.float64))
        return H

    return f, grad, hess


def beale() -> Surface:
    """Beale: ``f = Σ_{i=1..3} (c_i − x + x·yⁱ)²`` with ``c = (1.5, 2.25, 2.625)``; minimum ``(3, 0.5)``.

    Written as a sum of squares ``r_i = c_i − x + x yⁱ`` with ``∇r_i = (yⁱ − 1, i·x·yⁱ⁻¹)``.
    Start ``(1, 1.5)``; plot on ``[−4.5, 4.5]²`` with logarithmic contour levels.
    """
    cs = (1.5, 2.25, 2.625)
    terms = []
    for i, c in enumerate(cs, start=1):
        terms.append((
            lambda x, y, i=i, c=c: c - x + x * y ** i,
            lambda x, y, i=i: (y ** i - 1.0, i * x * y ** (i - 1)),
            lambda x, y, i=i: ((0.0, i * y ** (i - 1)), (i * y ** (i - 1), i * (i - 1) * x * y ** max(i - 2, 0))),
        ))
    f, grad, hess = _sum_of_squares_2d("beale", terms)
    return Surface("Beale", f, grad, hess, np.array([[3.0, 0.5]]), np.array([1.0, 1.5]), ((-4.5, 4.5), (-4.5, 4.5)),
                   log_levels=True)


def himmelblau() -> Surface:
    """Himmelblau: ``f = (x² + y − 11)² + (x + y² − 7)²``, four minima with ``f = 0``.

    Between them lie saddle points and a local maximum near ``(−0.27, −0.92)``: Newton's Hessian is
    indefinite there (see the fallback of :func:`dlcourse.optim.second_order.newton`), and which
    minimum a method finds depends on the start (default ``(−0.5, 0.5)``).
    """
    terms = [
        (lambda x, y: x * x + y - 11.0, lambda x, y: (2 * x, 1.0), lambda x, y: ((2.0, 0.0), (0.0, 0.0))),
        (lambda x, y: x + y * y - 7.0, lambda x, y: (1.0, 2 * y), lambda x, y: ((0.0, 0.0), (0.0, 2.0))),
    ]
    f, grad, hess = _sum_of_squares_2d("himmelblau", terms)
    minima = np.array([[3.0, 2.0], [-2.805118086952745, 3.131312518250573],
                       [-3.779310253377747, -3.283185991286170], [3.584428340330492, -1.848126526964404]])
    return Surface("Himmelblau", f, grad, hess, minima, np.array([-0.5, 0.5]), ((-5.0, 5.0), (-5.0, 5.0)),
                   log_levels=True)


SURFACES = {"quadratic": quadratic_bowl, "rosenbrock": rosenbrock, "beale": beale, "himmelblau": himmelblau}


# -------------------------------------------------------------------------------------------------
# nonlinear least squares: curve fitting
# -------------------------------------------------------------------------------------------------
@dataclass
class LeastSquaresProblem:
    """Fit ``y ≈ model(t; p)`` by minimising ``f(p) = ‖r(p)‖²``, ``r_i = model(t_i; p) − y_i``.

    ``residual(p) -> (m,)``, ``jacobian(p) -> (m, n)``; ``f``, ``grad = 2Jᵀr`` and the exact
    ``hess = 2(JᵀJ + Σ_i r_i ∇²r_i)`` make it usable by every minimiser too (``as_surface()``).
    ``t, y (m,)`` the data; ``true_params (n,)`` the parameters the data were generated with.
    """

    name: str
    t: np.ndarray
    y: np.ndarray
    model: Callable[[np.ndarray, np.ndarray], np.ndarray]
    residual: Callable[[np.ndarray], np.ndarray]
    jacobian: Callable[[np.ndarray], np.ndarray]
    hess: Callable[[np.ndarray], np.ndarray]
    true_params: np.ndarray
    default_start: np.ndarray
    param_names: tuple = ()

    def f(self, p) -> float:
        r = self.residual(p)
        return float(r @ r)

    def grad(self, p) -> np.ndarray:
        return 2.0 * self.jacobian(p).T @ self.residual(p)

    def as_surface(self) -> Surface:
        """The sum of squares as a :class:`Surface` (minimum: the least-squares fit is not known in
        closed form, so ``minima`` holds the generating parameters as a reference point)."""
        b = [(v - 2.0, v + 2.0) for v in self.default_start[:2]]
        return Surface(self.name, self.f, self.grad, self.hess, self.true_params[None, :], self.default_start.copy(),
                       tuple(b), log_levels=True)


def exponential_decay_fit(n_points: int = 40, noise: float = 0.05, true_params=(2.0, 1.3, 0.5),
                          t_max: float = 4.0, rng=0) -> LeastSquaresProblem:
    """Noisy samples of ``y = a·e^(−b·t) + c`` on ``t ∈ [0, t_max]``; parameters ``p = (a, b, c)``.

    Residual ``r_i = a·e^(−b t_i) + c − y_i``; Jacobian columns ``(e^(−bt), −a·t·e^(−bt), 1)``.
    ``rng`` (default seed 0) makes the data reproducible.  Start ``(1, 0.5, 0)``.
    """
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 3:
        raise ValueError(f"exponential_decay_fit: n_points must be an integer >= 3, got {n_points!r}")
    gen = get_rng(rng)
    true_params = np.asarray(true_params, dtype=np.float64)
    if true_params.shape != (3,):
        raise ValueError(f"exponential_decay_fit: true_params must be (a, b, c), got shape {true_params.shape}")
    t = np.linspace(0.0, t_max, n_points)

    def model(t_, p):
        a, b, c = p
        return a * np.exp(-b * t_) + c

    y = model(t, true_params) + noise * gen.standard_normal(n_points)

    def params(p):
        p = np.asarray(p, dtype=np.float64)
        if p.shape != (3,):
            raise ValueError(f"exponential decay fit expects parameters (a, b, c) of shape (3,), got {p.shape}")
        return p

    def residual(p):
        return model(t, params(p)) - y

    def jacobian(p):
        a, b, _ = params(p)
        e = np.exp(-b * t)
        return np.column_stack([e, -a * t * e, np.ones_like(t)])

    def hess(p):
        a, b, _ = params(p)
        e = np.exp(-b * t)
        J = jacobian(p)
        r = residual(p)
        # ∇²r_i: ∂²/∂a∂b = −t e^(−bt), ∂²/∂b² = a t² e^(−bt), all others 0
        H2 = np.zeros((3, 3))
        H2[0, 1] = H2[1, 0] = np.sum(r * (-t * e))
        H2[1, 1] = np.sum(r * a * t * t * e)
        return 2.0 * (J.T @ J + H2)

    return LeastSquaresProblem("exponential decay a·exp(−b·t) + c", t, y, model, residual, jacobian, hess,
                               true_params, np.array([1.0, 0.5, 0.0]), ("a", "b", "c"))


# -------------------------------------------------------------------------------------------------
# running a first-order optimizer of dlcourse.optim on a surface
# -------------------------------------------------------------------------------------------------
def first_order_path(surface: Surface, optimizer_factory: Callable, x0=None, steps: int = 100) -> np.ndarray:
    """Run a ``dlcourse.optim`` optimizer on ``surface`` and return its path ``(steps + 1, n)``.

    ``optimizer_factory(params)`` builds the optimizer on a list holding one float64
    ``Parameter`` (e.g. ``lambda p: SGD(p, lr=1e-3, momentum=0.9)``); each step is
    ``zero_grad`` → ``accumulate(surface.grad(x))`` → ``step``, exactly the training-loop
    contract.  ``x0`` defaults to ``surface.default_start``.  If the optimizer diverges (a
    non-finite iterate) the path stops at the last finite point, so it is shorter than ``steps + 1``.
    """
    from ..nn.module import Parameter

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"first_order_path: steps must be a non-negative integer, got {steps!r}")
    start = surface.default_start if x0 is None else np.asarray(x0, dtype=np.float64)
    if start.shape != (surface.dim,):
        raise ValueError(f"first_order_path: x0 must have shape ({surface.dim},) for {surface.name}, got {start.shape}")
    if not np.all(np.isfinite(start)):
        raise ValueError(f"first_order_path: x0 must be finite, got {start}")
    p = Parameter(start.astype(np.float64))
    opt = optimizer_factory([p])
    path = [p.data.copy()]
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected below, not printed
        for _ in range(steps):
            opt.zero_grad()
            g = np.asarray(surface.grad(p.data), dtype=np.float64)
            if not np.isfinite(g).all():  # the method, not np.all: a third of a step's time on 2 numbers
                break
            p.accumulate(g)
            opt.step()
            if not np.isfinite(p.data).all():
                break
            path.append(p.data.copy())
    return np.array(path)
