# %% [markdown]
# # Assignment 1 — Linear and logistic regression
#
# Lecture: chapter 2 (linear models). You will implement, with numpy only:
#
# 1. the mean squared error (seed 2.2.2) and the normal equation (seed 2.2.3);
# 2. the sigmoid (seed 2.3.1), the binary cross-entropy and its gradient (seed 2.3.2–2.3.3);
# 3. the cost and gradient of logistic regression, and gradient descent (seed 2.3.4, 4.3.2).
#
# **How grading works.** Write your code where it says `# YOUR CODE HERE` (remove the
# `raise NotImplementedError()`). Each part is followed by a test cell: run it and it prints
# `✓ … passed` with the points, or tells you what is wrong (the input, the expected and the actual
# shape or value). When your notebook is graded, hidden tests also compare your function with a
# reference on random inputs, so make it work for every shape the docstring allows — not just the
# examples. Do not modify or delete the test cells (they are restored when grading), and do not call
# the `dlcourse` library's implementation of the function you are asked to write: that part then
# scores 0.
# %% [setup] id=setup
import numpy as np
from dlcourse import grading as G
# %% [markdown]
# ## Part 1: mean squared error (2 points)
#
# $J = \frac{1}{n}\sum_{i=1}^{n} (\hat y_i - y_i)^2$, the average over **all** entries when the
# arrays have more than one axis. Return a Python `float`.
# %% [answer] id=mse_answer
def mse(y_hat, y):
    """Mean squared error of predictions ``y_hat`` and targets ``y`` (same shape) -> float."""
    ### BEGIN SOLUTION
    y_hat, y = np.asarray(y_hat, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean((y_hat - y) ** 2))
    ### END SOLUTION
# %% [tests] id=mse_tests points=1
with G.part("01_linear_models/mse", points=1) as p:
    p.expect_close(p.call(mse, np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])), 4 / 3,
                   "mse([1, 2, 3], [1, 2, 5])")
    p.expect_close(p.call(mse, np.zeros((2, 2)), np.ones((2, 2))), 1.0, "mse(zeros((2, 2)), ones((2, 2)))")
# %% [tests] id=mse_hidden points=1
# Hidden tests (1 point) compare mse with the reference on random inputs when your notebook is graded.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a01_linear_models as _R
_rng = np.random.default_rng(1101)
with G.part("01_linear_models/mse", points=1, hidden=True) as p:
    for _shape in [(1,), (7,), (5, 3), (2, 3, 4)]:
        p.compare(mse, _R.mse, _rng.normal(size=_shape), _rng.normal(size=_shape))
### END HIDDEN TESTS
# %% [markdown]
# ## Part 2: the normal equation (4 points)
#
# For data `X` of shape `(n, d)` and targets `y` of shape `(n,)`, return
# $\theta = (\tilde X^T \tilde X)^{-1} \tilde X^T y$ of shape `(d + 1,)`, where
# $\tilde X = [\mathbf 1 \mid X]$ has a leading column of ones, so that $\theta_0$ is the bias
# (seed 2.2.1). Prefer `np.linalg.solve` to an explicit inverse.
# %% [answer] id=normal_equation_answer
def normal_equation(X, y):
    """Least-squares parameters theta (d + 1,), bias first, for X (n, d) and y (n,)."""
    ### BEGIN SOLUTION
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    A = np.hstack([np.ones((X.shape[0], 1)), X])
    return np.linalg.solve(A.T @ A, A.T @ y)
    ### END SOLUTION
# %% [tests] id=normal_equation_tests points=2
with G.part("01_linear_models/normal_equation", points=2) as p:
    X_line = np.array([[0.0], [1.0], [2.0], [3.0]])
    theta = p.call(normal_equation, X_line, 1.0 + 2.0 * X_line[:, 0])
    p.expect_close(theta, [1.0, 2.0], "normal_equation for y = 1 + 2x (bias first, then the slope)")
# %% [tests] id=normal_equation_hidden points=2
# Hidden tests (2 points): random data with several features.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a01_linear_models as _R
_rng = np.random.default_rng(1102)
with G.part("01_linear_models/normal_equation", points=2, hidden=True) as p:
    for _n, _d in [(6, 1), (12, 3), (30, 5)]:
        _X = _rng.normal(size=(_n, _d))
        _y = _X @ _rng.normal(size=_d) + _rng.normal() + 0.1 * _rng.normal(size=_n)
        p.compare(normal_equation, _R.normal_equation, _X, _y, rtol=1e-6, atol=1e-8)
### END HIDDEN TESTS
# %% [markdown]
# ## Part 3: the sigmoid (2 points)
#
# $\sigma(z) = \frac{1}{1 + e^{-z}}$, element-wise, for an array `z` of any shape. For very negative
# `z`, `np.exp(-z)` overflows to `inf` and numpy prints a warning — the result, `0`, is still right,
# and such a warning does not cost points.
# %% [answer] id=sigmoid_answer
def sigmoid(z):
    """Element-wise logistic function; same shape as z."""
    ### BEGIN SOLUTION
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))
    ### END SOLUTION
# %% [tests] id=sigmoid_tests points=1
with G.part("01_linear_models/sigmoid", points=1) as p:
    p.expect_close(p.call(sigmoid, np.array([-1.0, 0.0, 2.0])), [0.2689414213699951, 0.5, 0.8807970779778823],
                   "sigmoid([-1, 0, 2])")
    p.expect_close(p.call(sigmoid, np.zeros((2, 3))), np.full((2, 3), 0.5), "sigmoid(zeros((2, 3)))")
# %% [tests] id=sigmoid_hidden points=1
# Hidden tests (1 point): random shapes and large |z|.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a01_linear_models as _R
_rng = np.random.default_rng(1103)
with G.part("01_linear_models/sigmoid", points=1, hidden=True) as p:
    for _shape in [(5,), (3, 4), (2, 2, 3)]:
        p.compare(sigmoid, _R.sigmoid, 10 * _rng.normal(size=_shape))
    p.compare(sigmoid, _R.sigmoid, np.array([-1000.0, -40.0, 40.0, 1000.0]))
### END HIDDEN TESTS
# %% [markdown]
# ## Part 4: binary cross-entropy and its gradient (5 points)
#
# For predicted probabilities `y_hat` in (0, 1) and labels `y` in {0, 1} (same shape),
#
# $\mathrm{BCE} = -\frac{1}{n}\sum_i \big[y_i \log \hat y_i + (1 - y_i)\log(1 - \hat y_i)\big]$ (a float),
#
# and its gradient with respect to the predictions, an array of the shape of `y_hat`:
# $\frac{\partial\,\mathrm{BCE}}{\partial \hat y_i} = \frac{1}{n}\,\frac{\hat y_i - y_i}{\hat y_i(1 - \hat y_i)}$.
# %% [answer] id=bce_answer
def bce(y_hat, y):
    """Mean binary cross-entropy -> float."""
    ### BEGIN SOLUTION
    y_hat, y = np.asarray(y_hat, dtype=float), np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)))
    ### END SOLUTION


def bce_gradient(y_hat, y):
    """d bce / d y_hat, same shape as y_hat."""
    ### BEGIN SOLUTION
    y_hat, y = np.asarray(y_hat, dtype=float), np.asarray(y, dtype=float)
    return (y_hat - y) / (y_hat * (1 - y_hat)) / y_hat.size
    ### END SOLUTION
# %% [tests] id=bce_tests points=1
with G.part("01_linear_models/bce", points=1) as p:
    p.expect_close(p.call(bce, np.array([0.9, 0.2, 0.6]), np.array([1.0, 0.0, 1.0])), 0.2797765635793423,
                   "bce([0.9, 0.2, 0.6], [1, 0, 1])")
# %% [tests] id=bce_hidden points=1
# Hidden tests (1 point).
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a01_linear_models as _R
_rng = np.random.default_rng(1104)
with G.part("01_linear_models/bce", points=1, hidden=True) as p:
    for _n in [1, 8, 25]:
        p.compare(bce, _R.bce, _rng.uniform(0.05, 0.95, size=_n), _rng.integers(0, 2, size=_n).astype(float))
### END HIDDEN TESTS
# %% [tests] id=bce_gradient_tests points=1
with G.part("01_linear_models/bce_gradient", points=1) as p:
    y_hat_demo, y_demo = np.array([0.9, 0.2, 0.6]), np.array([1.0, 0.0, 1.0])
    p.expect_close(p.call(bce_gradient, y_hat_demo, y_demo),
                   [-0.3703703703703704, 0.4166666666666666, -0.5555555555555556], "bce_gradient([0.9, 0.2, 0.6], [1, 0, 1])")
    p.gradcheck(lambda v: bce(v, y_demo), lambda v: bce_gradient(v, y_demo), y_hat_demo,
                "bce_gradient compared with finite differences of your bce")
# %% [tests] id=bce_gradient_hidden points=2
# Hidden tests (2 points), including a gradient check.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a01_linear_models as _R
_rng = np.random.default_rng(1105)
with G.part("01_linear_models/bce_gradient", points=2, hidden=True) as p:
    for _n in [1, 6, 20]:
        _yh, _y = _rng.uniform(0.05, 0.95, size=_n), _rng.integers(0, 2, size=_n).astype(float)
        p.compare(bce_gradient, _R.bce_gradient, _yh, _y)
        p.gradcheck(lambda v: _R.bce(v, _y), lambda v: bce_gradient(v, _y), _yh, f"bce_gradient for n = {_n}")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 5: logistic regression cost and gradient (4 points)
#
# With $\tilde X = [\mathbf 1 \mid X]$ and $\hat y = \sigma(\tilde X\theta)$, return the pair
# `(cost, grad)`: the BCE cost $C(\theta)$ of seed 2.3.3 (a float) and its gradient
# $\nabla_\theta C = \frac{1}{n}\tilde X^T(\hat y - y)$ of shape `(d + 1,)`. You may use your own
# `sigmoid` and `bce`.
# %% [answer] id=logistic_answer
def logistic_cost_and_gradient(theta, X, y):
    """(cost, grad) of logistic regression for theta (d + 1,), X (n, d), y (n,) in {0, 1}."""
    ### BEGIN SOLUTION
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    A = np.hstack([np.ones((X.shape[0], 1)), X])
    y_hat = sigmoid(A @ theta)
    return bce(y_hat, y), A.T @ (y_hat - y) / X.shape[0]
    ### END SOLUTION
# %% [tests] id=logistic_tests points=2
with G.part("01_linear_models/logistic_cost_and_gradient", points=2) as p:
    X_demo = np.array([[1.0, 2.0], [0.0, 1.0], [2.0, 0.0], [1.0, 1.0]])
    y_demo = np.array([1.0, 0.0, 1.0, 0.0])
    result = p.call(logistic_cost_and_gradient, np.zeros(3), X_demo, y_demo)
    p.expect_close(result, (np.log(2.0), [0.0, -0.25, 0.0]), "logistic_cost_and_gradient(theta = 0)")
    result = p.call(logistic_cost_and_gradient, np.array([0.5, -1.0, 2.0]), X_demo, y_demo)
    p.expect_close(result, (1.502866677132669, [0.22370739730685005, -0.21172167673625, 0.42077295866742187]),
                   "logistic_cost_and_gradient(theta = [0.5, -1, 2])")
    p.gradcheck(lambda t: logistic_cost_and_gradient(t, X_demo, y_demo)[0],
                lambda t: logistic_cost_and_gradient(t, X_demo, y_demo)[1], np.array([0.1, 0.2, -0.3]),
                "the gradient of logistic_cost_and_gradient")
# %% [tests] id=logistic_hidden points=2
# Hidden tests (2 points), including a gradient check.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a01_linear_models as _R
_rng = np.random.default_rng(1106)
with G.part("01_linear_models/logistic_cost_and_gradient", points=2, hidden=True) as p:
    for _n, _d in [(5, 1), (20, 3), (40, 6)]:
        _X, _y = _rng.normal(size=(_n, _d)), _rng.integers(0, 2, size=_n).astype(float)
        _theta = 0.5 * _rng.normal(size=_d + 1)
        p.compare(logistic_cost_and_gradient, _R.logistic_cost_and_gradient, _theta, _X, _y, names=("cost", "grad"))
        p.gradcheck(lambda t: _R.logistic_cost_and_gradient(t, _X, _y)[0],
                    lambda t: logistic_cost_and_gradient(t, _X, _y)[1], _theta, f"the gradient for X of shape {(_n, _d)}")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 6: gradient descent (3 points)
#
# Starting from `theta0`, take `steps` gradient steps $\theta \leftarrow \theta - \alpha\,\nabla f(\theta)$
# (seed 4.3.2) with learning rate `lr` = α, where `grad_fn(theta)` returns $\nabla f(\theta)$.
# Return the final `theta`. Do not modify `theta0`.
# %% [answer] id=gradient_descent_answer
def gradient_descent(grad_fn, theta0, lr, steps):
    """theta after `steps` gradient-descent updates from theta0."""
    ### BEGIN SOLUTION
    theta = np.array(theta0, dtype=float)
    for _ in range(steps):
        theta = theta - lr * grad_fn(theta)
    return theta
    ### END SOLUTION
# %% [tests] id=gradient_descent_tests points=1
with G.part("01_linear_models/gradient_descent", points=1) as p:
    center = np.array([2.0, -4.0])
    grad_of_bowl = lambda t: t - center   # f(t) = ||t - center||^2 / 2
    p.expect_close(p.call(gradient_descent, grad_of_bowl, np.zeros(2), 0.5, 1), [1.0, -2.0], "one step with lr 0.5")
    p.expect_close(p.call(gradient_descent, grad_of_bowl, np.zeros(2), 0.5, 3), [1.75, -3.5], "three steps with lr 0.5")
# %% [tests] id=gradient_descent_hidden points=2
# Hidden tests (2 points).
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a01_linear_models as _R
_rng = np.random.default_rng(1107)
with G.part("01_linear_models/gradient_descent", points=2, hidden=True) as p:
    for _d, _steps in [(1, 5), (3, 20), (5, 50)]:
        _M = _rng.normal(size=(_d, _d))
        _A, _b = _M @ _M.T + np.eye(_d), _rng.normal(size=_d)
        _lr = 0.5 / np.linalg.eigvalsh(_A).max()
        p.compare(gradient_descent, _R.gradient_descent, lambda t: _A @ t - _b, _rng.normal(size=_d), _lr, _steps)
### END HIDDEN TESTS
