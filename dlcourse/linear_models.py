"""Linear and logistic regression (seed 2).

Both models use the lecture's parameter vector ``θ = (θ0, θ1, …, θd)`` with the bias ``θ0`` first
(seed 2.2.1): the prediction is ``ŷ = X̃θ`` where ``X̃ = [1 | X]`` is the design matrix with a
leading column of ones.  ``model.theta`` is that vector; ``model.bias``/``model.weights`` split it.

* :class:`LinearRegression` — the mean squared error of seed 2.2.2, minimised either in closed
  form (the normal equation of seed 2.2.3, computed stably) or by gradient descent.
* :class:`LogisticRegression` — ``ŷ = σ(X̃θ)`` with the binary cross-entropy cost of seed
  2.3.2–2.3.3, fitted by gradient descent because there is no closed form (seed 2.3.4).
"""
from __future__ import annotations

import numpy as np

from ._validate import check_finite, float_array
from .nn.activations import sigmoid as _sigmoid

__all__ = ["LinearRegression", "LogisticRegression", "design_matrix", "solve_normal_equation", "sigmoid"]


# -------------------------------------------------------------------------------------------------
# shared helpers
# -------------------------------------------------------------------------------------------------
def _check_X(owner: str, X, n_features: int | None = None) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind in "iub":  # integer features are fine for a linear model
        X = X.astype(np.float64)
    X = float_array(owner, X, "X")
    if X.ndim != 2:
        raise ValueError(f"{owner} expected X of shape (n_samples, n_features), got shape {X.shape}; "
                         f"use X.reshape(-1, 1) for a single feature")
    if X.shape[0] == 0:
        raise ValueError(f"{owner} got an empty X of shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{owner} was fitted with {n_features} features, got X of shape {X.shape}")
    check_finite(owner, X, "X")
    return X.astype(np.float64, copy=False)


def _check_y(owner: str, y, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype.kind not in "iubf":
        raise TypeError(f"{owner} expected numeric targets y, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"{owner} expected y of shape ({n},) to match X with {n} rows, got {y.shape}; "
                         f"nothing is broadcast (use y.ravel() for a column vector)")
    y = y.astype(np.float64)
    check_finite(owner, y, "y")
    return y


def design_matrix(X: np.ndarray) -> np.ndarray:
    """``X̃ = [1 | X]``: shape ``(n, d)`` → ``(n, d + 1)``, so that ``ŷ = X̃θ`` (seed 2.2.1)."""
    X = np.asarray(X, dtype=np.float64)
    return np.hstack([np.ones((X.shape[0], 1)), X])


def solve_normal_equation(A: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
    """θ = (AᵀA)⁻¹Aᵀy of seed 2.2.3, computed without forming an inverse (or even AᵀA).

    Shapes: ``A (n, p)``, ``y (n,)`` → ``(θ (p,), rank)``.

    Why not ``np.linalg.inv(A.T @ A) @ A.T @ y``: forming ``AᵀA`` squares the condition number
    (κ(AᵀA) = κ(A)²), so with κ(A) = 10⁸ the product is singular to double precision and an
    explicit inverse returns garbage (or raises).  An inverse is also slower and less accurate
    than a solve even when it exists.  Instead we factor ``A = QR`` (Q orthonormal, R upper
    triangular); the normal equation becomes ``Rθ = Qᵀy``, a triangular solve whose accuracy
    depends on κ(A), not κ(A)².

    When ``AᵀA`` is singular (more features than samples, duplicated or collinear columns) the
    normal equation has infinitely many solutions, all with the same minimal cost.  Then — if R's
    numerical rank (singular values above ``max(n, p)·ε·σ_max``, NumPy's rule) is below ``p`` — we
    return the *minimum-norm* solution ``θ = A⁺y`` from ``np.linalg.lstsq`` (SVD-based
    pseudo-inverse), the one of smallest ``‖θ‖``.  The returned ``rank`` tells which case applied.
    """
    n, p = A.shape
    if n >= p:
        Q, R = np.linalg.qr(A, mode="reduced")
        s = np.linalg.svd(R, compute_uv=False)  # p×p: cheap, and tells us the rank of A
        tol = max(n, p) * np.finfo(np.float64).eps * (s[0] if s.size else 0.0)
        rank = int(np.sum(s > tol))
        if rank == p:
            # R is triangular and well enough conditioned here; LU on it is a back substitution
            return np.linalg.solve(R, Q.T @ y), rank
    theta, _, rank, _ = np.linalg.lstsq(A, y, rcond=None)
    return theta, int(rank)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)) (seed 2.3.1) in float64, without overflow for large |z|: the network
    activation of :mod:`dlcourse.nn.activations` (one formula, one home) on any array-like."""
    return _sigmoid(np.asarray(z, dtype=np.float64))


class _LinearBase:
    owner = "LinearModel"

    def __init__(self) -> None:
        self.theta: np.ndarray | None = None
        self.history_: list[float] = []

    @property
    def bias(self) -> float:
        """θ0, the bias (seed 2.2.1)."""
        return float(self._fitted_theta()[0])

    @property
    def weights(self) -> np.ndarray:
        """θ1..θd, shape ``(d,)``."""
        return self._fitted_theta()[1:]

    def _fitted_theta(self) -> np.ndarray:
        if self.theta is None:
            raise RuntimeError(f"{self.owner} is not fitted yet: call fit(X, y) first")
        return self.theta

    def _check_theta(self, theta, d: int) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (d + 1,):
            raise ValueError(f"{self.owner} expected theta of shape ({d + 1},) = (bias + {d} weights), "
                             f"got {theta.shape}")
        return theta

    @staticmethod
    def _check_gd(owner: str, lr: float, epochs: int) -> None:
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"{owner}: the learning rate lr must be a positive number, got {lr!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"{owner}: epochs must be a positive integer, got {epochs!r}")


# -------------------------------------------------------------------------------------------------
# Linear regression (seed 2.2)
# -------------------------------------------------------------------------------------------------
class LinearRegression(_LinearBase):
    """Least-squares linear regression ``ŷ = θ0 + Σ_j x_j θ_j`` (seed 2.2).

    Shapes: ``X (n, d)``, ``y (n,)``; ``theta (d + 1,)`` with the bias first; ``predict`` → ``(n,)``.

    ``fit(X, y)`` solves the normal equation of seed 2.2.3 (see :func:`solve_normal_equation`
    for how it is computed and what happens when ``XᵀX`` is singular); ``fit(X, y, method="gd",
    lr=…, epochs=…)`` runs full-batch gradient descent on the MSE instead and records the cost of
    every epoch in ``history_`` (for a loss curve).  ``rank_`` is the rank of the design matrix
    after a closed-form fit.
    """

    owner = "LinearRegression"

    def __init__(self) -> None:
        super().__init__()
        self.rank_: int | None = None

    def fit(self, X, y, method: str = "normal", lr: float = 0.1, epochs: int = 1000,
            theta0: np.ndarray | None = None) -> "LinearRegression":
        """Fit θ; ``method`` is ``"normal"`` (closed form) or ``"gd"`` (gradient descent from ``theta0``, default 0)."""
        X = _check_X(self.owner, X)
        y = _check_y(self.owner, y, X.shape[0])
        A = design_matrix(X)
        self.history_ = []
        if method == "normal":
            self.theta, self.rank_ = solve_normal_equation(A, y)
        elif method == "gd":
            self._check_gd(self.owner, lr, epochs)
            theta = np.zeros(A.shape[1]) if theta0 is None else self._check_theta(theta0, X.shape[1]).copy()
            for epoch in range(epochs):
                with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
                    cost, grad = self._cost_and_gradient_design(theta, A, y)
                if not (np.isfinite(cost) and np.all(np.isfinite(grad))):
                    raise FloatingPointError(
                        f"{self.owner}: gradient descent diverged at epoch {epoch} (cost {cost}); the learning rate "
                        f"lr={lr} is too large for these features — lower it or standardise X")
                self.history_.append(cost)
                theta -= lr * grad
            self.history_.append(self._cost_and_gradient_design(theta, A, y)[0])
            self.theta = theta
        else:
            raise ValueError(f"{self.owner}.fit: method must be 'normal' or 'gd', got {method!r}")
        return self

    @staticmethod
    def _cost_and_gradient_design(theta: np.ndarray, A: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        residual = A @ theta - y
        n = A.shape[0]
        # J(θ) = (1/n) Σ (ŷ_i − y_i)²  (seed 2.2.2),  ∇J = (2/n) X̃ᵀ(X̃θ − y)
        return float(residual @ residual / n), (2.0 / n) * (A.T @ residual)

    def cost_and_gradient(self, theta, X, y) -> tuple[float, np.ndarray]:
        """MSE cost of seed 2.2.2 and its gradient at ``theta (d + 1,)`` for ``X (n, d)``, ``y (n,)``."""
        X = _check_X(self.owner, X)
        return self._cost_and_gradient_design(self._check_theta(theta, X.shape[1]), design_matrix(X),
                                              _check_y(self.owner, y, X.shape[0]))

    def predict(self, X) -> np.ndarray:
        """``ŷ = X̃θ``: ``X (n, d)`` → ``(n,)``."""
        theta = self._fitted_theta()
        X = _check_X(self.owner, X, theta.size - 1)
        return theta[0] + X @ theta[1:]

    def cost(self, X, y) -> float:
        """Mean squared error ``J(θ) = (1/n) Σ (ŷ_i − y_i)²`` of the fitted model (seed 2.2.2)."""
        pred = self.predict(X)
        y = _check_y(self.owner, y, pred.shape[0])
        return float(np.mean((pred - y) ** 2))


# -------------------------------------------------------------------------------------------------
# Logistic regression (seed 2.3)
# -------------------------------------------------------------------------------------------------
class LogisticRegression(_LinearBase):
    """Binary logistic regression ``ŷ = σ(θ0 + Σ_j x_j θ_j)`` (seed 2.3.1).

    Shapes: ``X (n, d)``, labels ``y (n,)`` in {0, 1}; ``theta (d + 1,)``;
    ``predict_proba`` → ``(n,)`` probabilities of class 1; ``predict`` → ``(n,)`` integer labels.

    Cost: the binary cross-entropy ``C(θ) = −(1/n) Σ [y log ŷ + (1 − y) log(1 − ŷ)]`` (seed
    2.3.2–2.3.3), optionally plus ``(l2/2)·‖θ1..d‖²``.  There is no closed form (seed 2.3.4), so
    ``fit`` runs ``epochs`` steps of full-batch gradient descent with learning rate ``lr`` and
    records the cost of every epoch in ``history_``.
    """

    owner = "LogisticRegression"

    def __init__(self, lr: float = 0.1, epochs: int = 1000, l2: float = 0.0) -> None:
        super().__init__()
        self._check_gd(self.owner, lr, epochs)
        if not (np.isfinite(l2) and l2 >= 0):
            raise ValueError(f"{self.owner}: l2 must be a non-negative number, got {l2!r}")
        self.lr, self.epochs, self.l2 = float(lr), int(epochs), float(l2)

    def _check_labels(self, y, n: int) -> np.ndarray:
        y = _check_y(self.owner, y, n)
        if not np.all((y == 0) | (y == 1)):
            bad = np.unique(y[(y != 0) & (y != 1)])[:5]
            raise ValueError(f"{self.owner} expects binary labels 0/1, got values such as {bad.tolist()}")
        return y

    def _cost_and_gradient_design(self, theta: np.ndarray, A: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        z = A @ theta
        n = A.shape[0]
        # −[y log σ(z) + (1−y) log(1−σ(z))] = log(1 + e^z) − y·z, written with logaddexp so that
        # a confident wrong prediction costs a large finite number instead of log(0) = −inf.
        cost = float(np.mean(np.logaddexp(0.0, z) - y * z))
        # ∂C/∂θ = (1/n) X̃ᵀ(σ(X̃θ) − y): the sigmoid's derivative cancels the log's (seed 2.3.3)
        grad = A.T @ (sigmoid(z) - y) / n
        if self.l2:
            w = theta.copy()
            w[0] = 0.0  # the bias is not penalised
            cost += 0.5 * self.l2 * float(w @ w)
            grad = grad + self.l2 * w
        return cost, grad

    def cost_and_gradient(self, theta, X, y) -> tuple[float, np.ndarray]:
        """BCE cost (seed 2.3.3) and its analytic gradient at ``theta (d + 1,)``; check it with gradcheck."""
        X = _check_X(self.owner, X)
        return self._cost_and_gradient_design(self._check_theta(theta, X.shape[1]), design_matrix(X),
                                              self._check_labels(y, X.shape[0]))

    def fit(self, X, y, theta0: np.ndarray | None = None) -> "LogisticRegression":
        """Gradient descent ``θ ← θ − lr·∇C(θ)`` for ``epochs`` steps from ``theta0`` (default 0)."""
        X = _check_X(self.owner, X)
        y = self._check_labels(y, X.shape[0])
        A = design_matrix(X)
        theta = np.zeros(A.shape[1]) if theta0 is None else self._check_theta(theta0, X.shape[1]).copy()
        self.history_ = []
        for _ in range(self.epochs):
            cost, grad = self._cost_and_gradient_design(theta, A, y)
            self.history_.append(cost)
            theta -= self.lr * grad
        self.history_.append(self._cost_and_gradient_design(theta, A, y)[0])
        self.theta = theta
        return self

    def decision_function(self, X) -> np.ndarray:
        """The logit ``z = X̃θ``: ``(n, d)`` → ``(n,)``; class 1 where ``z > 0``."""
        theta = self._fitted_theta()
        X = _check_X(self.owner, X, theta.size - 1)
        return theta[0] + X @ theta[1:]

    def predict_proba(self, X) -> np.ndarray:
        """``P(y = 1 | x) = σ(X̃θ)``: ``(n, d)`` → ``(n,)``."""
        return sigmoid(self.decision_function(X))

    def predict(self, X, threshold: float = 0.5) -> np.ndarray:
        """Labels ``1[σ(X̃θ) > threshold]`` as int64: ``(n, d)`` → ``(n,)``."""
        return (self.predict_proba(X) > threshold).astype(np.int64)

    def cost(self, X, y) -> float:
        """Binary cross-entropy of the fitted model on ``(X, y)`` (seed 2.3.3)."""
        X = _check_X(self.owner, X)
        y = self._check_labels(y, X.shape[0])
        return self._cost_and_gradient_design(self._fitted_theta(), design_matrix(X), y)[0]

    def accuracy(self, X, y) -> float:
        """Fraction of correctly classified samples."""
        X = _check_X(self.owner, X)
        return float(np.mean(self.predict(X) == self._check_labels(y, X.shape[0])))
