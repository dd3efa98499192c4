"""Second-order and quasi-Newton methods for small, full-batch problems (seed 4.3.1, 4.3.8–4.3.12).

Seed 4.3.1: second-order methods converge in far fewer iterations than first-order ones but only
make sense for *full-batch* updates (their curvature model needs exact gradients) and for few
parameters (Newton solves a k×k system, O(k³), per step).  Every function here works on a flat
parameter vector ``x`` of shape ``(n,)`` and returns an :class:`OptimizeResult` whose ``path``
holds every iterate, so a notebook can draw the trajectory on a contour plot.

Minimisers of a scalar ``f(x)``:

* :func:`newton` — ``x ← x − α H⁻¹∇f`` (seed 4.3.8) with a Hessian modification when ``H`` is not
  positive definite;
* :func:`bfgs` — quasi-Newton with a dense inverse-Hessian approximation (seed 4.3.9, O(n²));
* :func:`lbfgs` — the limited-memory variant, m vector pairs (seed 4.3.9, O(n)).

All three take a step length ``α`` from a strong-Wolfe line search (Nocedal & Wright, *Numerical
Optimization*, Alg. 3.5–3.6): the sufficient-decrease (Armijo) condition guarantees that ``f``
decreases at every iteration, and the curvature condition guarantees ``yᵀs > 0`` so the BFGS
update keeps its matrix positive definite (an update with ``yᵀs ≤ 0`` is skipped anyway).

Nonlinear least squares ``f(x) = ‖r(x)‖² = Σ_i r_i(x)²`` with residuals ``r (m,)`` and Jacobian
``J (m, n)``, so ``∇f = 2Jᵀr`` and ``H ≈ 2JᵀJ`` (seed 4.3.10):

* :func:`gauss_newton` — ``JᵀJ δ = −Jᵀr`` (seed 4.3.10), the factor 2 cancels;
* :func:`levenberg` — ``(JᵀJ + λI) δ = −Jᵀr`` (seed 4.3.11);
* :func:`levenberg_marquardt` — ``(JᵀJ + λ·diag(JᵀJ)) δ = −Jᵀr`` (seed 4.3.12).

(The seed writes the step as ``θ_k − θ_{k+1}`` with ``∇f`` on the right; ``δ = θ_{k+1} − θ_k`` here.)
The damping ``λ`` is divided by 10 after a step that decreased ``f`` (trust the Gauss-Newton model
more) and multiplied by 10 after one that did not, which is retried — so ``f`` decreases at every
accepted iteration, as seed 4.3.11 requires.  Large ``λ`` turns the step into a short gradient-descent
step, small ``λ`` into Gauss-Newton.

``newton``, ``bfgs`` and ``lbfgs`` accept ``callback(k, x, f)``, called after every accepted iteration.

Stopping criteria (each reported in ``message``): ``‖∇f‖_∞ ≤ gtol`` (converged), step
``‖x_{k+1} − x_k‖ ≤ xtol·(xtol + ‖x_k‖)`` (converged), ``maxiter`` iterations (not converged), or a
line search / damping loop that cannot decrease ``f`` any more (not converged).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["OptimizeResult", "HessianModificationWarning", "newton", "bfgs", "lbfgs", "gauss_newton", "levenberg",
           "levenberg_marquardt", "wolfe_line_search"]


class HessianModificationWarning(RuntimeWarning):
    """Newton's Hessian was not positive definite (or not finite) and was modified; see :func:`newton`."""


@dataclass
class OptimizeResult:
    """What a minimiser returns.

    ``x (n,)`` final point; ``fun`` ``f(x)``; ``grad (n,)`` ``∇f(x)``; ``nit`` accepted iterations;
    ``nfev`` function evaluations; ``path (nit + 1, n)`` every iterate starting with ``x0``;
    ``fun_history (nit + 1,)`` ``f`` along the path; ``success``/``message`` why it stopped;
    ``damping`` the λ used for each accepted Levenberg(-Marquardt) step (empty otherwise).
    """

    x: np.ndarray
    fun: float
    grad: np.ndarray
    nit: int
    nfev: int
    path: np.ndarray
    fun_history: np.ndarray
    success: bool
    message: str
    method: str = ""
    damping: list = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"OptimizeResult({self.method}: success={self.success}, nit={self.nit}, nfev={self.nfev}, "
                f"fun={self.fun:.6g}, x={np.array2string(self.x, precision=6)}, message={self.message!r})")


# -------------------------------------------------------------------------------------------------
# input checks
# -------------------------------------------------------------------------------------------------

def _sum_of_squares(r: np.ndarray) -> float:
    """``‖r‖²``, or ``inf`` when it overflows: a rejected trial step, not a warning on stderr."""
    with np.errstate(over="ignore", invalid="ignore"):
        value = float(r @ r) if np.all(np.isfinite(r)) else np.inf
    return value if np.isfinite(value) else np.inf

def _start(method: str, x0) -> np.ndarray:
    x = np.array(x0, dtype=np.float64)
    if x.ndim > 1:
        raise ValueError(f"{method}: x0 must be a 1-D vector of parameters, got shape {x.shape}")
    x = x.reshape(-1)
    if x.size == 0:
        raise ValueError(f"{method}: x0 is empty")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{method}: the starting point x0 must be finite, got {x0!r}")
    return x


def _scalar(method: str, value, x: np.ndarray, at_start: bool = False) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"{method}: fun must return a scalar, got an array of shape {arr.shape}")
    f = float(arr.reshape(()))
    if at_start and not np.isfinite(f):
        raise ValueError(f"{method}: f(x0) = {f} is not finite at x0 = {x}; choose another starting point")
    return f


def _vector(method: str, what: str, value, n: int, x: np.ndarray) -> np.ndarray:
    g = np.asarray(value, dtype=np.float64)
    if g.shape != (n,):
        raise ValueError(f"{method}: {what} must return shape ({n},) for x of shape ({n},), got {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError(f"{method}: {what} returned non-finite values at x = {x}")
    return g


def _check_options(method: str, gtol: float, xtol: float, maxiter: int) -> None:
    if not (gtol >= 0 and xtol >= 0):
        raise ValueError(f"{method}: gtol and xtol must be non-negative, got gtol={gtol!r}, xtol={xtol!r}")
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 0:
        raise ValueError(f"{method}: maxiter must be a non-negative integer, got {maxiter!r}")


def _small_step(step: np.ndarray, x: np.ndarray, xtol: float) -> bool:
    return bool(np.linalg.norm(step) <= xtol * (xtol + np.linalg.norm(x)))


# -------------------------------------------------------------------------------------------------
# strong-Wolfe line search (Nocedal & Wright, Alg. 3.5 and 3.6)
# -------------------------------------------------------------------------------------------------
def _cubic_min(a, fa, da, b, fb, db) -> float | None:
    """Minimiser of the cubic through (a, fa, da) and (b, fb, db), or None if it is not real."""
    d1 = da + db - 3 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    if disc < 0 or not np.isfinite(disc):
        return None
    d2 = np.sign(b - a) * np.sqrt(disc)
    denom = db - da + 2 * d2
    if denom == 0:
        return None
    return float(b - (b - a) * (db + d2 - d1) / denom)


def wolfe_line_search(phi: Callable[[float], tuple[float, float]], phi0: float, dphi0: float, alpha1: float = 1.0,
                      c1: float = 1e-4, c2: float = 0.9, maxiter: int = 30, alpha_max: float = 1e8):
    """Find ``α`` with ``φ(α) ≤ φ(0) + c1·α·φ'(0)`` and ``|φ'(α)| ≤ c2·|φ'(0)|`` (strong Wolfe).

    ``phi(α)`` returns ``(φ(α), φ'(α))`` for ``φ(α) = f(x + α p)``; ``dphi0 < 0`` (a descent
    direction).  Returns ``(α, φ(α))``, or ``(None, None)`` when no point with sufficient decrease
    was found.  A non-finite ``φ(α)`` (overflow far along ``p``) counts as "too far" and shrinks
    the interval, so it never propagates.
    """
    if not dphi0 < 0:
        raise ValueError(f"wolfe_line_search needs a descent direction, got φ'(0) = {dphi0}")

    def armijo_fails(a, fa):
        return not np.isfinite(fa) or fa > phi0 + c1 * a * dphi0

    def zoom(lo, f_lo, d_lo, hi, f_hi, d_hi):
        for _ in range(maxiter):
            a = None
            if np.isfinite(f_hi) and np.isfinite(d_hi):
                a = _cubic_min(lo, f_lo, d_lo, hi, f_hi, d_hi)
            width = hi - lo
            lo_edge, hi_edge = sorted((lo + 0.1 * width, hi - 0.1 * width))
            if a is None or not (lo_edge <= a <= hi_edge):
                a = 0.5 * (lo + hi)  # safeguard: bisection
            fa, da = phi(a)
            if armijo_fails(a, fa) or fa >= f_lo:
                hi, f_hi, d_hi = a, fa, da
            else:
                if abs(da) <= -c2 * dphi0:
                    return a, fa
                if da * (hi - lo) >= 0:
                    hi, f_hi, d_hi = lo, f_lo, d_lo
                lo, f_lo, d_lo = a, fa, da
            if abs(hi - lo) <= 1e-16 * max(1.0, abs(lo)):
                break
        # out of iterations: lo still satisfies the sufficient-decrease condition (if lo > 0)
        return (lo, f_lo) if lo > 0 else (None, None)

    a_prev, f_prev, d_prev = 0.0, phi0, dphi0
    a = alpha1
    for i in range(maxiter):
        fa, da = phi(a)
        if armijo_fails(a, fa) or (i > 0 and fa >= f_prev):
            return zoom(a_prev, f_prev, d_prev, a, fa, da)
        if abs(da) <= -c2 * dphi0:
            return a, fa
        if da >= 0:
            return zoom(a, fa, da, a_prev, f_prev, d_prev)
        a_prev, f_prev, d_prev = a, fa, da
        a = min(2.0 * a, alpha_max)
    return (a_prev, f_prev) if a_prev > 0 else (None, None)


# -------------------------------------------------------------------------------------------------
# the shared driver of the line-search methods
# -------------------------------------------------------------------------------------------------
class _Objective:
    """Counts evaluations and caches ``(f, ∇f)`` of the last point (the line search needs both)."""

    def __init__(self, method: str, fun, grad, n: int) -> None:
        self.method, self.fun, self.grad, self.n = method, fun, grad, n
        self.nfev = 0

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray | None]:
        self.nfev += 1
        f = _scalar(self.method, self.fun(x), x)
        if not np.isfinite(f):
            return f, None
        g = np.asarray(self.grad(x), dtype=np.float64)
        if g.shape != (self.n,):
            raise ValueError(f"{self.method}: grad must return shape ({self.n},), got {g.shape}")
        return f, g


def _line_search_minimize(method: str, fun, grad, x0, direction, gtol: float, xtol: float, maxiter: int,
                          c1: float, c2: float, on_step=None, callback=None) -> OptimizeResult:
    """Iterate ``x ← x + α p`` with ``p = direction(x, g, k)`` and a strong-Wolfe ``α``.

    ``on_step(s, y)`` receives the step ``s = x_{k+1} − x_k`` and gradient change ``y`` so a
    quasi-Newton method can update its curvature model; ``callback(k, x, f)`` is called after
    every accepted iteration (e.g. to update a live plot).
    """
    _check_options(method, gtol, xtol, maxiter)
    x = _start(method, x0)
    obj = _Objective(method, fun, grad, x.size)
    f, g = obj(x)
    if not np.isfinite(f):
        raise ValueError(f"{method}: f(x0) = {f} is not finite at x0 = {x}; choose another starting point")
    g = _vector(method, "grad", g, x.size, x)
    path, fvals = [x.copy()], [f]
    success, message = False, f"maximum number of iterations ({maxiter}) reached"
    nit = 0
    while True:
        if np.max(np.abs(g)) <= gtol:
            success, message = True, f"gradient norm ‖∇f‖∞ = {np.max(np.abs(g)):.2e} ≤ gtol"
            break
        if nit >= maxiter:
            break
        p = direction(x, g, nit)
        slope = float(g @ p)
        if not (np.all(np.isfinite(p)) and slope < 0):
            p, slope = -g, -float(g @ g)  # not a descent direction (rounding): steepest descent instead
        alpha1 = min(1.0, 1.0 / np.linalg.norm(p)) if nit == 0 and method != "newton" else 1.0
        cache: dict = {}

        def phi(a: float) -> tuple[float, float]:
            fa, ga = obj(x + a * p)
            cache[a] = (fa, ga)
            return fa, (float(ga @ p) if ga is not None else np.nan)

        alpha, f_new = wolfe_line_search(phi, f, slope, alpha1, c1=c1, c2=c2)
        if alpha is None:
            message = ("line search could not decrease f along the search direction (f is flat to rounding "
                       "error or the gradient is inaccurate)")
            break
        s = alpha * p
        x_new = x + s
        g_new = _vector(method, "grad", cache[alpha][1], x.size, x_new)
        if on_step is not None:
            on_step(s, g_new - g)
        x_prev, x, f, g = x, x_new, f_new, g_new
        nit += 1
        path.append(x.copy())
        fvals.append(f)
        if callback is not None:
            callback(nit, x.copy(), f)
        if _small_step(s, x_prev, xtol):
            success, message = True, f"step size ‖Δx‖ = {np.linalg.norm(s):.2e} ≤ xtol·(xtol + ‖x‖)"
            break
    return OptimizeResult(x=x, fun=f, grad=g, nit=nit, nfev=obj.nfev, path=np.array(path),
                          fun_history=np.array(fvals), success=success, message=message, method=method)


# -------------------------------------------------------------------------------------------------
# Newton, BFGS, L-BFGS
# -------------------------------------------------------------------------------------------------
def _newton_direction(method: str, H: np.ndarray, g: np.ndarray, warn: bool, state: dict) -> np.ndarray:
    """Solve ``H p = −g``; if ``H`` is not positive definite, solve ``(H + τI) p = −g`` instead.

    ``τ`` starts at ``β − min(diag H)`` (or 0) with ``β = 10⁻³·max(1, max|H|)`` and doubles
    until the Cholesky factorisation succeeds (Nocedal & Wright Alg. 3.3, "Cholesky with added
    multiple of the identity").  The modified ``H + τI`` is positive definite, so ``p`` is a
    descent direction; a singular Hessian (τ small) gives a damped Newton step, a strongly
    indefinite one (τ large) a step close to ``−g/τ``, i.e. gradient descent.  A Hessian with
    NaN/inf entries is replaced by the identity (a plain gradient step).  Each case emits one
    :class:`HessianModificationWarning` per run.
    """
    n = g.size
    if H.shape != (n, n):
        raise ValueError(f"{method}: hess must return shape ({n}, {n}), got {H.shape}")
    if not np.all(np.isfinite(H)):
        if warn and not state.get("warned_nonfinite"):
            warnings.warn(f"{method}: the Hessian has non-finite entries; taking a gradient step instead",
                          HessianModificationWarning, stacklevel=4)
            state["warned_nonfinite"] = True
        state["modified"] = state.get("modified", 0) + 1
        return -g
    H = 0.5 * (H + H.T)  # symmetrise rounding differences
    try:
        L = np.linalg.cholesky(H)
        return -np.linalg.solve(L.T, np.linalg.solve(L, g))
    except np.linalg.LinAlgError:
        pass
    beta = 1e-3 * max(1.0, float(np.max(np.abs(H))))
    tau = max(0.0, beta - float(np.min(np.diag(H))))
    tau = max(tau, beta)
    while True:
        try:
            L = np.linalg.cholesky(H + tau * np.eye(n))
            break
        except np.linalg.LinAlgError:
            tau *= 2.0
    if warn and not state.get("warned"):
        warnings.warn(f"{method}: the Hessian is singular or not positive definite (at x with ‖∇f‖ = "
                      f"{np.linalg.norm(g):.3g}); using H + τI with τ = {tau:.3g} so the step still descends "
                      f"(further modifications in this run are not reported)", HessianModificationWarning,
                      stacklevel=4)
        state["warned"] = True
    state["modified"] = state.get("modified", 0) + 1
    return -np.linalg.solve(L.T, np.linalg.solve(L, g))


def newton(fun: Callable, grad: Callable, hess: Callable, x0, *, gtol: float = 1e-8, xtol: float = 1e-12,
           maxiter: int = 200, c1: float = 1e-4, c2: float = 0.9, warn: bool = True,
           callback: Callable | None = None) -> OptimizeResult:
    """Newton's method ``x ← x − α H(x)⁻¹ ∇f(x)`` with a line search (seed 4.3.8).

    ``fun(x) -> float``, ``grad(x) -> (n,)``, ``hess(x) -> (n, n)``; ``x0 (n,)``.  The line search
    tries the full Newton step ``α = 1`` first, so near a minimum with positive-definite Hessian the
    convergence is quadratic.  Fallback: where ``H`` is singular or indefinite (e.g. Himmelblau's
    saddle region) the step uses ``H + τI`` (see ``_newton_direction``) with a
    :class:`HessianModificationWarning` (pass ``warn=False`` to silence it) — the iterates stay
    finite and ``f`` keeps decreasing.  Non-finite ``x0`` or ``f(x0)`` raises ``ValueError``.
    The result's ``message`` ends with the number of modified steps, if any.
    """
    state: dict = {}
    res = _line_search_minimize(
        "newton", fun, grad, x0,
        lambda x, g, k: _newton_direction("newton", np.asarray(hess(x), dtype=np.float64), g, warn, state),
        gtol, xtol, maxiter, c1, c2, callback=callback)
    if state.get("modified"):
        res.message += f"; Hessian modified in {state['modified']} step(s)"
    return res


def bfgs(fun: Callable, grad: Callable, x0, *, gtol: float = 1e-8, xtol: float = 1e-12, maxiter: int = 500,
         c1: float = 1e-4, c2: float = 0.9, callback: Callable | None = None) -> OptimizeResult:
    """BFGS quasi-Newton method (seed 4.3.9): keeps ``B ≈ H⁻¹`` (n×n) and steps ``p = −B∇f``.

    ``fun(x) -> float``, ``grad(x) -> (n,)``, ``x0 (n,)``.  After a step ``s`` with gradient change
    ``y`` the inverse-Hessian approximation is updated with
    ``B ← (I − ρsyᵀ) B (I − ρysᵀ) + ρssᵀ``, ``ρ = 1/(yᵀs)`` — O(n²) per iteration instead of
    Newton's O(n³) solve, and no Hessian needed.  ``B`` starts as the identity (the first step is
    a gradient step of length ≤ 1 chosen by the line search).  The popular rescaling of ``B`` to
    ``(yᵀs / yᵀy)·I`` before the first update (Nocedal & Wright eq. 6.20) is *not* applied: on
    ill-conditioned problems it shrank the steps along flat directions and cost 3–7× more
    iterations in our tests (SciPy's BFGS does not rescale either).  The update is skipped
    when ``yᵀs ≤ 10⁻¹⁰‖y‖‖s‖`` (it would destroy positive definiteness); the strong-Wolfe line
    search makes that rare.
    """
    n = np.size(x0)
    state = {"B": np.eye(n)}

    def direction(x, g, k):
        return -state["B"] @ g

    def update(s, y):
        ys = float(y @ s)
        if ys <= 1e-10 * np.linalg.norm(y) * np.linalg.norm(s):
            return  # curvature condition violated: keep the old approximation
        rho = 1.0 / ys
        B = state["B"]
        By = B @ y
        # expanded form of (I − ρsyᵀ) B (I − ρysᵀ) + ρssᵀ, O(n²)
        state["B"] = B - rho * (np.outer(s, By) + np.outer(By, s)) + (rho * rho * float(y @ By) + rho) * np.outer(s, s)

    return _line_search_minimize("bfgs", fun, grad, x0, direction, gtol, xtol, maxiter, c1, c2, update, callback)


def lbfgs(fun: Callable, grad: Callable, x0, m: int = 10, *, gtol: float = 1e-8, xtol: float = 1e-12,
          maxiter: int = 1000, c1: float = 1e-4, c2: float = 0.9, callback: Callable | None = None) -> OptimizeResult:
    """Limited-memory BFGS (seed 4.3.9): the BFGS step from the last ``m`` pairs ``(s, y)`` only.

    ``fun(x) -> float``, ``grad(x) -> (n,)``, ``x0 (n,)``.  ``H⁻¹∇f`` is computed by the two-loop
    recursion (Nocedal & Wright Alg. 7.4) in O(m·n) time and memory — no n×n matrix, so it scales
    to the parameter vector of a small network (see :mod:`dlcourse.optim.flat`).  The initial
    matrix is ``γI`` with ``γ = sᵀy / yᵀy`` of the newest pair.  Pairs with ``yᵀs ≤ 0`` are not stored.
    """
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"lbfgs: memory m must be a positive integer, got {m!r}")
    pairs: list[tuple[np.ndarray, np.ndarray, float]] = []

    def direction(x, g, k):
        q = g.copy()
        alphas = []
        for s, y, rho in reversed(pairs):
            a = rho * float(s @ q)
            alphas.append(a)
            q -= a * y
        if pairs:
            s, y, _ = pairs[-1]
            q *= float(s @ y) / float(y @ y)
        for (s, y, rho), a in zip(pairs, reversed(alphas)):
            b = rho * float(y @ q)
            q += (a - b) * s
        return -q

    def update(s, y):
        ys = float(y @ s)
        if ys <= 1e-10 * np.linalg.norm(y) * np.linalg.norm(s):
            return
        pairs.append((s, y, 1.0 / ys))
        if len(pairs) > m:
            pairs.pop(0)

    return _line_search_minimize("lbfgs", fun, grad, x0, direction, gtol, xtol, maxiter, c1, c2, update, callback)


# -------------------------------------------------------------------------------------------------
# nonlinear least squares: Gauss-Newton, Levenberg, Levenberg-Marquardt
# -------------------------------------------------------------------------------------------------
class _LeastSquares:
    """Evaluates and checks ``r(x) (m,)`` and ``J(x) (m, n)``; ``f = ‖r‖²``, ``∇f = 2Jᵀr``."""

    def __init__(self, method: str, residual, jacobian, n: int) -> None:
        self.method, self.residual, self.jacobian, self.n = method, residual, jacobian, n
        self.nfev = 0
        self.m: int | None = None

    def r(self, x: np.ndarray) -> np.ndarray:
        self.nfev += 1
        r = np.asarray(self.residual(x), dtype=np.float64)
        if r.ndim != 1:
            raise ValueError(f"{self.method}: residual must return a 1-D array (m,), got shape {r.shape}")
        if self.m is None:
            self.m = r.size
        elif r.size != self.m:
            raise ValueError(f"{self.method}: residual changed length from {self.m} to {r.size}")
        return r

    def J(self, x: np.ndarray, r: np.ndarray) -> np.ndarray:
        J = np.asarray(self.jacobian(x), dtype=np.float64)
        if J.shape != (r.size, self.n):
            raise ValueError(f"{self.method}: residual has shape {r.shape} and jacobian has shape {J.shape}, but "
                             f"the jacobian must have shape ({r.size}, {self.n}) = (len(residual), len(x))")
        if not np.all(np.isfinite(J)):
            raise ValueError(f"{self.method}: jacobian returned non-finite values at x = {x}")
        return J


def _least_squares(method: str, residual, jacobian, x0, damping: str | None, lam0: float | None, gtol: float,
                   xtol: float, maxiter: int, line_search: bool = False, lam_factor: float = 10.0,
                   lam_max: float = 1e16) -> OptimizeResult:
    _check_options(method, gtol, xtol, maxiter)
    x = _start(method, x0)
    ls = _LeastSquares(method, residual, jacobian, x.size)
    r = ls.r(x)
    if not np.all(np.isfinite(r)):
        raise ValueError(f"{method}: the residual is not finite at x0 = {x}; choose another starting point")
    J = ls.J(x, r)
    f = float(r @ r)
    path, fvals, lams = [x.copy()], [f], []
    lam = lam0
    if damping is not None and lam is None:
        diag = np.einsum("ij,ij->j", J, J)
        # Levenberg's λ has the units of JᵀJ, so it starts relative to its largest diagonal entry
        # (Madsen, Nielsen & Tingleff); Marquardt's λ is dimensionless
        lam = 1e-3 * max(float(diag.max()), 1e-12) if damping == "levenberg" else 1e-3
    if lam is not None and not (np.isfinite(lam) and lam > 0):
        raise ValueError(f"{method}: the initial damping lam0 must be positive, got {lam0!r}")
    success, message = False, f"maximum number of iterations ({maxiter}) reached"
    nit = 0
    while True:
        g = 2.0 * (J.T @ r)  # ∇f for f = ‖r‖²
        if np.max(np.abs(g)) <= gtol:
            success, message = True, f"gradient norm ‖∇f‖∞ = {np.max(np.abs(g)):.2e} ≤ gtol"
            break
        if nit >= maxiter:
            break
        if damping is None:
            # Gauss-Newton: min_δ ‖Jδ + r‖ solves JᵀJδ = −Jᵀr without forming JᵀJ (whose condition
            # number is κ(J)²); lstsq returns the minimum-norm step if J is rank deficient
            step = np.linalg.lstsq(J, -r, rcond=None)[0]
            t, accepted = 1.0, False
            for _ in range(40 if line_search else 1):
                x_try = x + t * step
                r_try = ls.r(x_try)
                f_try = _sum_of_squares(r_try)
                if not line_search or f_try < f:
                    accepted = np.isfinite(f_try)
                    break
                t *= 0.5
            if not accepted:
                if not np.isfinite(f_try):
                    message = (f"the Gauss-Newton step made the residual non-finite at iteration {nit}; use "
                               f"line_search=True, levenberg or levenberg_marquardt")
                else:
                    message = "backtracking along the Gauss-Newton step could not decrease f"
                break
            s = t * step
        else:
            scale = np.ones(x.size) if damping == "levenberg" else np.einsum("ij,ij->j", J, J)
            scale = np.maximum(scale, 1e-300)  # a zero column of J would make Marquardt's scaling singular
            while True:
                # (JᵀJ + λD) δ = −Jᵀr as the least-squares problem ‖[J; √(λD)] δ + [r; 0]‖ → min:
                # same solution, computed without squaring J's condition number
                A = np.vstack([J, np.diag(np.sqrt(lam * scale))])
                step = np.linalg.lstsq(A, np.concatenate([-r, np.zeros(x.size)]), rcond=None)[0]
                x_try = x + step
                r_try = ls.r(x_try)
                f_try = _sum_of_squares(r_try)
                if f_try < f:
                    lams.append(lam)
                    lam = max(lam / lam_factor, 1e-300)  # success: trust the Gauss-Newton model more
                    break
                lam *= lam_factor  # failure: shorter, more gradient-like step
                if lam > lam_max or _small_step(step, x, xtol):
                    break
            if not f_try < f:
                if _small_step(step, x, xtol):
                    success, message = True, "no decrease possible with a step above xtol: converged to rounding error"
                else:
                    message = f"damping λ exceeded {lam_max:g} without decreasing f"
                break
            s = step
        x_prev, x, r = x, x_try, r_try
        f = float(r @ r)
        J = ls.J(x, r)
        nit += 1
        path.append(x.copy())
        fvals.append(f)
        if _small_step(s, x_prev, xtol):
            success, message = True, f"step size ‖Δx‖ = {np.linalg.norm(s):.2e} ≤ xtol·(xtol + ‖x‖)"
            break
    if damping is None and not line_search and f > fvals[0]:
        # undamped Gauss-Newton may run off to where J ≈ 0, so a small gradient is no proof of success
        success = False
        message = (f"f increased from {fvals[0]:.6g} to {f:.6g}: the full Gauss-Newton steps diverged ({message}); "
                   f"use line_search=True, levenberg or levenberg_marquardt")
    return OptimizeResult(x=x, fun=f, grad=2.0 * (J.T @ r), nit=nit, nfev=ls.nfev, path=np.array(path),
                          fun_history=np.array(fvals), success=success, message=message, method=method, damping=lams)


def gauss_newton(residual: Callable, jacobian: Callable, x0, *, gtol: float = 1e-10, xtol: float = 1e-12,
                 maxiter: int = 100, line_search: bool = False) -> OptimizeResult:
    """Gauss-Newton for ``min ‖r(x)‖²`` (seed 4.3.10): ``H ≈ 2JᵀJ``, step ``JᵀJ δ = −Jᵀr``.

    ``residual(x) -> (m,)``, ``jacobian(x) -> (m, n)``, ``x0 (n,)``; ``result.fun = ‖r(x)‖²``.
    As in the lecture the full step is taken; far from the solution it can overshoot, and if the
    residual becomes non-finite the run stops with ``success=False`` and a message saying so (never
    a silent NaN); a run that ends with a larger ``f`` than it started with is reported as failed.
    ``line_search=True`` halves the step until ``f`` decreases (damped Gauss-Newton).
    A residual/Jacobian shape mismatch raises ``ValueError`` naming both shapes.
    """
    return _least_squares("gauss_newton", residual, jacobian, x0, None, None, gtol, xtol, maxiter, line_search)


def levenberg(residual: Callable, jacobian: Callable, x0, *, lam0: float | None = None, gtol: float = 1e-10,
              xtol: float = 1e-12, maxiter: int = 200, lam_factor: float = 10.0) -> OptimizeResult:
    """Levenberg's damped Gauss-Newton (seed 4.3.11): ``(JᵀJ + λI) δ = −Jᵀr``.

    ``residual(x) -> (m,)``, ``jacobian(x) -> (m, n)``, ``x0 (n,)``.  ``λ`` starts at ``lam0``
    (default ``10⁻³·max diag(JᵀJ)``), is divided by ``lam_factor`` after a step that decreases
    ``f = ‖r‖²`` and multiplied by it (and the step retried) otherwise, so ``f(x_{k+1}) < f(x_k)``.
    ``result.damping`` holds the ``λ`` of every accepted step.
    """
    return _least_squares("levenberg", residual, jacobian, x0, "levenberg", lam0, gtol, xtol, maxiter,
                          lam_factor=lam_factor)


def levenberg_marquardt(residual: Callable, jacobian: Callable, x0, *, lam0: float | None = None,
                        gtol: float = 1e-10, xtol: float = 1e-12, maxiter: int = 200,
                        lam_factor: float = 10.0) -> OptimizeResult:
    """Levenberg-Marquardt (seed 4.3.12): ``(JᵀJ + λ·diag(JᵀJ)) δ = −Jᵀr``.

    Same damping schedule as :func:`levenberg` (``lam0`` default ``10⁻³``), but the damping is
    scaled per parameter by the curvature ``diag(JᵀJ)``: a large-λ step is ``−Jᵀr / (λ·diag JᵀJ)``,
    so parameters with small curvature (small gradient) still take sizeable steps — the lecture's
    "avoids slow convergence in components with a small gradient" — and the method is invariant
    to rescaling individual parameters.
    """
    return _least_squares("levenberg_marquardt", residual, jacobian, x0, "marquardt", lam0, gtol, xtol, maxiter,
                          lam_factor=lam_factor)
