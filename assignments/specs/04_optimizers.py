# %% [markdown]
# # Assignment 4 — Optimizers and learning-rate schedules
#
# Lecture: 4.3 (optimization) and 4.4 (learning rate). A training loop computes the gradient
# $\nabla_\theta f$ of the loss and hands it to an **optimizer**, which decides how to change the
# parameters $\theta$. You will write one step of each optimizer of the lecture as a function of
# numpy arrays: the parameters, the gradient and the optimizer's **state** (velocity, running
# averages) go in, the new parameters and the new state come out.
#
# 1. gradient descent and momentum (seed 4.3.2, 4.3.4);
# 2. Nesterov momentum (seed 4.3.5);
# 3. RMSProp (seed 4.3.6);
# 4. Adam with bias correction (seed 4.3.7);
# 5. the four learning-rate decays (seed 4.4.1);
# 6. a Newton step (seed 4.3.8).
#
# Use numpy only: `dlcourse.optim` implements all of this, so calling it for a function you are
# asked to write scores 0 for that part. Never modify the arrays you are given (return new ones).
#
# Each test cell prints `✓ … passed` with the points, or what is wrong. When the notebook is
# graded, hidden tests also compare your functions with a reference on random inputs and run
# them for many steps in a row, so an error that is small after one step but grows shows up.
# %% [setup] id=setup
import numpy as np
from dlcourse import grading as G
# %% [markdown]
# ## Part 1: gradient descent and momentum (3 points)
#
# `sgd_step(theta, grad, lr)` returns $\theta - \alpha\nabla f$ (seed 4.3.2).
#
# `momentum_step(theta, grad, v, lr, beta)` returns the pair `(theta_new, v_new)` of seed 4.3.4:
#
# $v^{k+1} = \beta v^k - \alpha \nabla f(\theta^k)$, $\quad\theta^{k+1} = \theta^k + v^{k+1}$.
#
# `theta`, `grad` and `v` have the same (any) shape; `lr` is α and `beta` is β.
# %% [answer] id=sgd_answer
def sgd_step(theta, grad, lr):
    """One gradient-descent step; same shape as theta."""
    ### BEGIN SOLUTION
    return theta - lr * grad
    ### END SOLUTION


def momentum_step(theta, grad, v, lr, beta=0.9):
    """One step of gradient descent with momentum -> (theta_new, v_new)."""
    ### BEGIN SOLUTION
    v_new = beta * v - lr * grad
    return theta + v_new, v_new
    ### END SOLUTION
# %% [tests] id=sgd_tests points=1
with G.part("04_optimizers/sgd", points=1) as p:
    p.expect_close(p.call(sgd_step, np.array([1.0, -2.0]), np.array([0.5, 1.0]), 0.1), [0.95, -2.1],
                   "sgd_step(theta=[1, -2], grad=[0.5, 1], lr=0.1)")
    p.expect_close(p.call(momentum_step, np.array([1.0, -2.0]), np.array([0.5, 1.0]), np.array([0.2, -0.1]), 0.1, 0.9),
                   ([1.13, -2.19], [0.13, -0.19]),
                   "momentum_step(theta=[1, -2], grad=[0.5, 1], v=[0.2, -0.1], lr=0.1, beta=0.9) = (theta, v)")
    p.expect_close(p.call(momentum_step, np.ones((2, 2)), np.ones((2, 2)), np.zeros((2, 2)), 0.5, 0.9),
                   (np.full((2, 2), 0.5), np.full((2, 2), -0.5)),
                   "momentum_step from v = 0 (the first step equals a gradient step)")
# %% [tests] id=sgd_hidden points=2
# Hidden tests (2 points): random shapes, and 15 steps in a row on a quadratic.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a04_optimizers as _R
_rng = np.random.default_rng(4101)
with G.part("04_optimizers/sgd", points=2, hidden=True) as p:
    for _shape in [(1,), (5,), (3, 4)]:
        _th, _g, _v = _rng.normal(size=_shape), _rng.normal(size=_shape), _rng.normal(size=_shape)
        p.compare(sgd_step, _R.sgd_step, _th, _g, 0.03)
        p.compare(momentum_step, _R.momentum_step, _th, _g, _v, 0.03, 0.8, names=("theta", "v"))
    _M = _rng.normal(size=(4, 4))
    _A, _b = _M @ _M.T + np.eye(4), _rng.normal(size=4)
    _th = _th_ref = _rng.normal(size=4)
    _v = _v_ref = np.zeros(4)
    for _k in range(15):
        _th, _v = p.call(momentum_step, _th, _A @ _th - _b, _v, 0.05, 0.9)
        _th_ref, _v_ref = _R.momentum_step(_th_ref, _A @ _th_ref - _b, _v_ref, 0.05, 0.9)
    p.expect_close((_th, _v), (_th_ref, _v_ref), "(theta, v) after 15 momentum steps on a quadratic")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 2: Nesterov momentum (3 points)
#
# Nesterov first jumps along the accumulated velocity, measures the gradient **where it lands**,
# then corrects (seed 4.3.5):
#
# $\tilde\theta = \theta^k + \beta v^k$, $\quad v^{k+1} = \beta v^k - \alpha\nabla f(\tilde\theta)$,
# $\quad\theta^{k+1} = \theta^k + v^{k+1}$.
#
# Because the gradient is needed at $\tilde\theta$, the function receives `grad_fn`, which returns
# $\nabla f$ at any point. Return `(theta_new, v_new)`.
# %% [answer] id=nesterov_answer
def nesterov_step(theta, v, grad_fn, lr, beta=0.9):
    """One Nesterov momentum step -> (theta_new, v_new); grad_fn(point) is the gradient at point."""
    ### BEGIN SOLUTION
    lookahead = theta + beta * v
    v_new = beta * v - lr * grad_fn(lookahead)
    return theta + v_new, v_new
    ### END SOLUTION
# %% [tests] id=nesterov_tests points=1
with G.part("04_optimizers/nesterov", points=1) as p:
    grad_of_square = lambda t: 2 * t   # f(theta) = ||theta||^2
    p.expect_close(p.call(nesterov_step, np.array([1.0, -1.0]), np.array([0.5, 0.5]), grad_of_square, 0.1, 0.9),
                   ([1.16, -0.44], [0.16, 0.56]),
                   "nesterov_step(theta=[1, -1], v=[0.5, 0.5], f = ||theta||^2, lr=0.1, beta=0.9) = (theta, v) "
                   "(the gradient is taken at theta + beta v)")
# %% [tests] id=nesterov_hidden points=2
# Hidden tests (2 points): random quadratics, single steps and 15 steps in a row.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a04_optimizers as _R
_rng = np.random.default_rng(4102)
with G.part("04_optimizers/nesterov", points=2, hidden=True) as p:
    for _d in [1, 3, 6]:
        _M = _rng.normal(size=(_d, _d))
        _A, _b = _M @ _M.T + np.eye(_d), _rng.normal(size=_d)
        _grad = lambda t, _A=_A, _b=_b: _A @ t - _b
        _th, _v = _rng.normal(size=_d), _rng.normal(size=_d)
        p.compare(nesterov_step, _R.nesterov_step, _th, _v, _grad, 0.02, 0.85, names=("theta", "v"))
        _th_ref, _v_ref = _th, _v
        for _k in range(15):
            _th, _v = p.call(nesterov_step, _th, _v, _grad, 0.02, 0.9)
            _th_ref, _v_ref = _R.nesterov_step(_th_ref, _v_ref, _grad, 0.02, 0.9)
        p.expect_close((_th, _v), (_th_ref, _v_ref), f"(theta, v) after 15 Nesterov steps, {_d} parameters")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 3: RMSProp (3 points)
#
# RMSProp divides each coordinate's step by the running root-mean-square of its gradients
# (seed 4.3.6; $\circ$ is the element-wise product):
#
# $s^{k+1} = \beta s^k + (1 - \beta)\,\nabla f \circ \nabla f$, $\quad\theta^{k+1} = \theta^k - \alpha\,\dfrac{\nabla f}{\sqrt{s^{k+1}} + \epsilon}$.
#
# Return `(theta_new, s_new)`.
# %% [answer] id=rmsprop_answer
def rmsprop_step(theta, grad, s, lr, beta=0.9, eps=1e-8):
    """One RMSProp step -> (theta_new, s_new)."""
    ### BEGIN SOLUTION
    s_new = beta * s + (1 - beta) * grad * grad
    return theta - lr * grad / (np.sqrt(s_new) + eps), s_new
    ### END SOLUTION
# %% [tests] id=rmsprop_tests points=1
with G.part("04_optimizers/rmsprop", points=1) as p:
    p.expect_close(p.call(rmsprop_step, np.array([1.0, 2.0]), np.array([0.1, -0.2]), np.zeros(2), 0.01),
                   ([0.968377233398313, 2.031622771601685], [0.001, 0.004]),
                   "rmsprop_step(theta=[1, 2], grad=[0.1, -0.2], s=[0, 0], lr=0.01) = (theta, s)")
    p.expect_close(p.call(rmsprop_step, np.array([1.0, 2.0]), np.array([0.1, -0.2]), np.array([0.5, 0.02]), 0.01, 0.8),
                   ([0.9984227992801843, 2.0129099436540248], [0.402, 0.024]),
                   "rmsprop_step(theta=[1, 2], grad=[0.1, -0.2], s=[0.5, 0.02], lr=0.01, beta=0.8) = (theta, s)")
# %% [tests] id=rmsprop_hidden points=2
# Hidden tests (2 points): random shapes and 20 steps in a row.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a04_optimizers as _R
_rng = np.random.default_rng(4103)
with G.part("04_optimizers/rmsprop", points=2, hidden=True) as p:
    for _shape in [(1,), (6,), (2, 5)]:
        _th, _g, _s = _rng.normal(size=_shape), _rng.normal(size=_shape), _rng.uniform(0, 2, size=_shape)
        p.compare(rmsprop_step, _R.rmsprop_step, _th, _g, _s, 0.01, 0.95, 1e-6, names=("theta", "s"))
    _A, _b = np.diag([100.0, 1.0, 0.01]), np.array([1.0, -1.0, 0.5])
    _th = _th_ref = np.array([1.0, 1.0, 1.0])
    _s = _s_ref = np.zeros(3)
    for _k in range(20):
        _th, _s = p.call(rmsprop_step, _th, _A @ _th - _b, _s, 0.01)
        _th_ref, _s_ref = _R.rmsprop_step(_th_ref, _A @ _th_ref - _b, _s_ref, 0.01)
    p.expect_close((_th, _s), (_th_ref, _s_ref), "(theta, s) after 20 RMSProp steps on an ill-conditioned quadratic")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 4: Adam (4 points)
#
# Adam keeps both averages, starts them at $m^0 = v^0 = 0$ and corrects the bias this start
# causes (seed 4.3.7). For step number $t = 1, 2, \dots$:
#
# $m^{t} = \beta_1 m^{t-1} + (1-\beta_1)\nabla f$, $\quad v^{t} = \beta_2 v^{t-1} + (1-\beta_2)\nabla f\circ\nabla f$,
#
# $\hat m = m^{t} / (1 - \beta_1^{t})$, $\quad\hat v = v^{t} / (1 - \beta_2^{t})$, $\quad\theta^{t} = \theta^{t-1} - \alpha\,\hat m / (\sqrt{\hat v} + \epsilon)$.
#
# Return `(theta_new, m_new, v_new)` — the **uncorrected** averages, which the next step needs.
# (The lecture counts $k$ from 0 and writes $1 - \beta^{k+1}$: the same thing.)
# %% [answer] id=adam_answer
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam step number t (t = 1 for the first step) -> (theta_new, m_new, v_new)."""
    ### BEGIN SOLUTION
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m_new / (1 - beta1 ** t)
    v_hat = v_new / (1 - beta2 ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new
    ### END SOLUTION
# %% [tests] id=adam_tests points=2
with G.part("04_optimizers/adam", points=2) as p:
    p.expect_close(p.call(adam_step, np.array([1.0, 2.0, 3.0]), np.array([0.1, -0.2, 0.0]), np.zeros(3), np.zeros(3), 1, 0.01),
                   ([0.9900000009999999, 2.0099999995, 3.0], [0.01, -0.02, 0.0], [1e-05, 4e-05, 0.0]),
                   "adam_step(theta=[1, 2, 3], grad=[0.1, -0.2, 0], m=0, v=0, t=1, lr=0.01) = (theta, m, v) "
                   "(with bias correction the first step has length lr in every coordinate)")
    p.expect_close(p.call(adam_step, np.array([1.0, 2.0]), np.array([0.3, -0.1]), np.array([0.05, 0.02]),
                          np.array([0.01, 0.004]), 3, 0.1),
                   ([0.9849094472417979, 1.9974466599119847], [0.075, 0.008], [0.01008, 0.004006]),
                   "adam_step(theta=[1, 2], grad=[0.3, -0.1], m=[0.05, 0.02], v=[0.01, 0.004], t=3, lr=0.1)")
# %% [tests] id=adam_hidden points=2
# Hidden tests (2 points): random shapes and hyperparameters, and 25 steps in a row.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a04_optimizers as _R
_rng = np.random.default_rng(4104)
with G.part("04_optimizers/adam", points=2, hidden=True) as p:
    for _shape, _t in [((1,), 1), ((5,), 2), ((3, 4), 10)]:
        _th, _g = _rng.normal(size=_shape), _rng.normal(size=_shape)
        _m, _v = 0.1 * _rng.normal(size=_shape), _rng.uniform(0, 0.5, size=_shape)
        p.compare(adam_step, _R.adam_step, _th, _g, _m, _v, _t, 0.003, names=("theta", "m", "v"))
        p.compare(adam_step, _R.adam_step, _th, _g, _m, _v, _t, 0.01, 0.8, 0.99, 1e-4, names=("theta", "m", "v"))
    _A, _b = np.diag([10.0, 1.0, 0.1]), np.array([1.0, -1.0, 0.5])
    _th = _th_ref = np.array([1.0, 1.0, 1.0])
    _m = _v = _m_ref = _v_ref = np.zeros(3)
    for _t in range(1, 26):
        _th, _m, _v = p.call(adam_step, _th, _A @ _th - _b, _m, _v, _t, 0.05)
        _th_ref, _m_ref, _v_ref = _R.adam_step(_th_ref, _A @ _th_ref - _b, _m_ref, _v_ref, _t, 0.05)
    p.expect_close((_th, _m, _v), (_th_ref, _m_ref, _v_ref), "(theta, m, v) after 25 Adam steps on a quadratic")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 5: learning-rate decay (4 points)
#
# High learning rate first, low later (seed 4.4.1). With the initial rate $\alpha_0$ = `lr0` and the
# epoch number `epoch` (from 0), return the learning rate as a float:
#
# | function | formula | default `t` |
# |---|---|---|
# | `inverse_time_decay(lr0, epoch, t)` | $\alpha_0 / (1 + t\cdot\mathrm{epoch})$ | 0.1 |
# | `step_decay(lr0, epoch, t, step_size)` | $\alpha \leftarrow \alpha - t\alpha$ every `step_size` epochs, i.e. $\alpha_0(1-t)^{\lfloor \mathrm{epoch}/\mathrm{step\_size}\rfloor}$ | 0.5 |
# | `exponential_decay(lr0, epoch, t)` | $t^{\mathrm{epoch}}\cdot\alpha_0$ | 0.95 |
# | `inverse_sqrt_decay(lr0, epoch, t)` | $t/\sqrt{\mathrm{epoch}}\cdot\alpha_0$ (epoch ≥ 1) | 1.0 |
# %% [answer] id=decays_answer
def inverse_time_decay(lr0, epoch, t=0.1):
    """lr0 / (1 + t * epoch)."""
    ### BEGIN SOLUTION
    return lr0 / (1 + t * epoch)
    ### END SOLUTION


def step_decay(lr0, epoch, t=0.5, step_size=10):
    """lr0 reduced by the fraction t every step_size epochs."""
    ### BEGIN SOLUTION
    return lr0 * (1 - t) ** (epoch // step_size)
    ### END SOLUTION


def exponential_decay(lr0, epoch, t=0.95):
    """t ** epoch * lr0."""
    ### BEGIN SOLUTION
    return t ** epoch * lr0
    ### END SOLUTION


def inverse_sqrt_decay(lr0, epoch, t=1.0):
    """t / sqrt(epoch) * lr0, for epoch >= 1."""
    ### BEGIN SOLUTION
    return t / np.sqrt(epoch) * lr0
    ### END SOLUTION
# %% [tests] id=decays_tests points=2
with G.part("04_optimizers/decays", points=2) as p:
    p.expect_close(p.call(inverse_time_decay, 0.1, 10), 0.05, "inverse_time_decay(lr0=0.1, epoch=10)")
    p.expect_close(p.call(inverse_time_decay, 0.1, 0), 0.1, "inverse_time_decay(lr0=0.1, epoch=0)")
    p.expect_close(p.call(step_decay, 0.1, 25), 0.025, "step_decay(lr0=0.1, epoch=25) (halved at epochs 10 and 20)")
    p.expect_close(p.call(step_decay, 0.2, 9), 0.2, "step_decay(lr0=0.2, epoch=9) (not decayed before epoch 10)")
    p.expect_close(p.call(exponential_decay, 0.1, 3, 0.5), 0.0125, "exponential_decay(lr0=0.1, epoch=3, t=0.5)")
    p.expect_close(p.call(inverse_sqrt_decay, 0.1, 4), 0.05, "inverse_sqrt_decay(lr0=0.1, epoch=4)")
# %% [tests] id=decays_hidden points=2
# Hidden tests (2 points): other rates, epochs and factors t.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a04_optimizers as _R
_rng = np.random.default_rng(4105)
with G.part("04_optimizers/decays", points=2, hidden=True) as p:
    for _lr0 in [0.3, 1e-3]:
        for _epoch in [0, 1, 7, 30, 99]:
            _t = float(_rng.uniform(0.05, 0.9))
            p.compare(inverse_time_decay, _R.inverse_time_decay, _lr0, _epoch)
            p.compare(inverse_time_decay, _R.inverse_time_decay, _lr0, _epoch, _t)
            p.compare(step_decay, _R.step_decay, _lr0, _epoch)
            p.compare(step_decay, _R.step_decay, _lr0, _epoch, _t, 7)
            p.compare(exponential_decay, _R.exponential_decay, _lr0, _epoch)
            p.compare(exponential_decay, _R.exponential_decay, _lr0, _epoch, _t)
            p.compare(inverse_sqrt_decay, _R.inverse_sqrt_decay, _lr0, _epoch + 1)
            p.compare(inverse_sqrt_decay, _R.inverse_sqrt_decay, _lr0, _epoch + 1, 2 * _t)
### END HIDDEN TESTS
# %% [markdown]
# ## Part 6: a Newton step (3 points)
#
# Newton's method fits a quadratic (second-order Taylor expansion) to $f$ at $\theta$ and jumps to
# its minimum (seed 4.3.8): $\theta^* = \theta - H^{-1}\nabla f(\theta)$, with the Hessian `hessian`
# $H$ of shape `(n, n)` and the gradient `grad` of shape `(n,)`. Solve the linear system
# $H\delta = \nabla f$ with `np.linalg.solve` rather than inverting $H$ (cheaper and more accurate).
# On a quadratic bowl one step lands exactly on the minimum.
# %% [answer] id=newton_answer
def newton_step(theta, grad, hessian):
    """theta - H^{-1} grad, shape (n,)."""
    ### BEGIN SOLUTION
    return theta - np.linalg.solve(hessian, grad)
    ### END SOLUTION
# %% [tests] id=newton_tests points=1
with G.part("04_optimizers/newton", points=1) as p:
    A_bowl, b_bowl = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, 1.0])   # f = theta^T A theta / 2 - b^T theta
    theta_start = np.array([5.0, -3.0])
    p.expect_close(p.call(newton_step, theta_start, A_bowl @ theta_start - b_bowl, A_bowl), [0.2, 0.4],
                   "newton_step on a quadratic bowl (one step should reach the minimum A^-1 b = [0.2, 0.4])")
    p.expect_close(p.call(newton_step, np.array([-1.2, 1.0]), np.array([-215.6, -88.0]),
                          np.array([[1330.0, 480.0], [480.0, 200.0]])),
                   [-1.1752808988764045, 1.3806741573033707], "newton_step on the Rosenbrock function at (-1.2, 1)")
# %% [tests] id=newton_hidden points=2
# Hidden tests (2 points): random positive-definite Hessians of several sizes.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a04_optimizers as _R
_rng = np.random.default_rng(4106)
with G.part("04_optimizers/newton", points=2, hidden=True) as p:
    for _n in [1, 3, 8]:
        _M = _rng.normal(size=(_n, _n))
        _H = _M @ _M.T + 0.5 * np.eye(_n)
        p.compare(newton_step, _R.newton_step, _rng.normal(size=_n), _rng.normal(size=_n), _H, rtol=1e-6, atol=1e-8)
### END HIDDEN TESTS
