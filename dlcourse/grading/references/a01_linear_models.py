"""References for assignment 01_linear_models (seed 2): every one is the library's implementation."""
from __future__ import annotations

import numpy as np

from dlcourse import linear_models as lm
from dlcourse.nn.losses import BCELoss, MSELoss
from dlcourse.nn.module import Parameter
from dlcourse.optim import SGD

#: part -> library objects the student's function may not use
FORBID = {
    "mse": ["dlcourse.nn.losses.MSELoss", "dlcourse.linear_models.LinearRegression"],
    "normal_equation": ["dlcourse.linear_models.solve_normal_equation", "dlcourse.linear_models.LinearRegression"],
    "sigmoid": ["dlcourse.linear_models.sigmoid", "dlcourse.nn.activations.sigmoid", "dlcourse.nn.activations.Sigmoid",
                "dlcourse.graph.Value.sigmoid"],
    "bce": ["dlcourse.nn.losses.BCELoss", "dlcourse.linear_models.LogisticRegression"],
    "bce_gradient": ["dlcourse.nn.losses.BCELoss", "dlcourse.linear_models.LogisticRegression"],
    "logistic_cost_and_gradient": ["dlcourse.linear_models.LogisticRegression", "dlcourse.nn.losses.BCELoss"],
    "gradient_descent": ["dlcourse.optim", "dlcourse.linear_models.LinearRegression.fit",
                         "dlcourse.linear_models.LogisticRegression.fit"],
}


def mse(y_hat: np.ndarray, y: np.ndarray) -> float:
    """J = (1/n) Σ (ŷ_i − y_i)² (seed 2.2.2)."""
    return MSELoss()(np.asarray(y_hat, dtype=np.float64), np.asarray(y, dtype=np.float64))


def normal_equation(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """θ = (X̃ᵀX̃)⁻¹X̃ᵀy with the bias θ0 first (seed 2.2.3); ``X (n, d)`` → ``(d + 1,)``."""
    return lm.LinearRegression().fit(X, y).theta


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)) (seed 2.3.1)."""
    return lm.sigmoid(z)


def bce(y_hat: np.ndarray, y: np.ndarray) -> float:
    """−(1/n) Σ [y log ŷ + (1 − y) log(1 − ŷ)] (seed 2.3.2–2.3.3)."""
    return BCELoss()(np.asarray(y_hat, dtype=np.float64), np.asarray(y, dtype=np.float64))


def bce_gradient(y_hat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂BCE/∂ŷ = (ŷ − y) / (ŷ(1 − ŷ)) / n, shape of ``y_hat``."""
    loss = BCELoss()
    loss(np.asarray(y_hat, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return loss.backward()


def logistic_cost_and_gradient(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """BCE cost of ŷ = σ(X̃θ) and its gradient (1/n) X̃ᵀ(ŷ − y) (seed 2.3.3)."""
    return lm.LogisticRegression().cost_and_gradient(theta, X, y)


def gradient_descent(grad_fn, theta0: np.ndarray, lr: float, steps: int) -> np.ndarray:
    """``steps`` updates θ ← θ − lr·∇f(θ) (seed 4.3.2) with the library's SGD (no momentum)."""
    p = Parameter(np.array(theta0, dtype=np.float64))
    opt = SGD([p], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        p.grad = np.asarray(grad_fn(p.data.copy()), dtype=np.float64)
        p.backward_count = 1
        opt.step()
    return p.data
