# %% [markdown]
# # Assignment 2 — Computational graphs and backpropagation by hand
#
# Lecture: chapter 3 (computational graphs) and 5.4 (backward pass). A computation is a graph of
# simple operations; backpropagation walks it backwards, multiplying the *upstream* gradient by each
# operation's *local* gradient (the chain rule), and **adding** the gradients where a value is used
# more than once.
#
# Write every gradient by hand with numpy or plain Python — the `dlcourse.graph` autodiff and
# `dlcourse.gradcheck` compute them for you, so using them for the function you are asked to write
# scores 0 for that part.
#
# Run each test cell after your answer: it prints `✓ … passed` with the points or explains what is
# wrong. Hidden tests compare your functions with a reference on random inputs when the notebook is
# graded.
# %% [setup] id=setup
import numpy as np
from dlcourse import grading as G
# %% [markdown]
# ## Part 1: f(x, y, z) = (x + y) · z (2 points)
#
# The example of seed 3.1. With $q = x + y$ and $f = q \cdot z$, return `(f, df_dx, df_dy, df_dz)`
# for numbers `x, y, z`: first the forward pass, then the local gradients of `*` and `+`
# multiplied along the chain.
# %% [answer] id=add_mul_answer
def add_mul_forward_backward(x, y, z):
    """f = (x + y) * z and its partial derivatives (f, df/dx, df/dy, df/dz)."""
    ### BEGIN SOLUTION
    q = x + y
    f = q * z
    df_dq, df_dz = z, q          # local gradients of the multiplication
    df_dx, df_dy = df_dq * 1.0, df_dq * 1.0   # an addition passes the gradient on unchanged
    return f, df_dx, df_dy, df_dz
    ### END SOLUTION
# %% [tests] id=add_mul_tests points=1
with G.part("02_backprop/add_mul", points=1) as p:
    p.expect_close(p.call(add_mul_forward_backward, -2.0, 5.0, -4.0), (-12.0, -4.0, -4.0, 3.0),
                   "add_mul_forward_backward(-2, 5, -4) = (f, df/dx, df/dy, df/dz)")
# %% [tests] id=add_mul_hidden points=1
# Hidden tests (1 point).
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a02_backprop as _R
_rng = np.random.default_rng(2101)
with G.part("02_backprop/add_mul", points=1, hidden=True) as p:
    for _x, _y, _z in _rng.normal(scale=3, size=(4, 3)):
        p.compare(add_mul_forward_backward, _R.add_mul_forward_backward, float(_x), float(_y), float(_z),
                  names=("f", "df_dx", "df_dy", "df_dz"))
### END HIDDEN TESTS
# %% [markdown]
# ## Part 2: the gates (4 points)
#
# Each function receives the inputs of one operation and the upstream gradient `dout` = ∂L/∂(output)
# and returns ∂L/∂(input) for each input (numbers in, numbers out):
#
# * `mul_backward(a, b, dout)` for $c = a \cdot b$ → `(da, db)`;
# * `max_backward(a, b, dout)` for $c = \max(a, b)$ → `(da, db)`: the gradient goes to the larger
#   input only (to `a` on a tie);
# * `sigmoid_backward(s, dout)` for $c = \sigma(s)$ → `ds`, using $\sigma' = \sigma(1 - \sigma)$ (seed 4.1.1).
# %% [answer] id=gates_answer
def mul_backward(a, b, dout):
    """(dL/da, dL/db) for c = a * b."""
    ### BEGIN SOLUTION
    return dout * b, dout * a
    ### END SOLUTION


def max_backward(a, b, dout):
    """(dL/da, dL/db) for c = max(a, b)."""
    ### BEGIN SOLUTION
    return (dout, 0.0) if a >= b else (0.0, dout)
    ### END SOLUTION


def sigmoid_backward(s, dout):
    """dL/ds for c = sigmoid(s)."""
    ### BEGIN SOLUTION
    sig = 1.0 / (1.0 + np.exp(-s))
    return dout * sig * (1.0 - sig)
    ### END SOLUTION
# %% [tests] id=gates_tests points=2
with G.part("02_backprop/gates", points=2) as p:
    p.expect_close(p.call(mul_backward, 3.0, -2.0, 5.0), (-10.0, 15.0), "mul_backward(3, -2, dout=5)")
    p.expect_close(p.call(max_backward, 3.0, -2.0, 5.0), (5.0, 0.0), "max_backward(3, -2, dout=5)")
    p.expect_close(p.call(max_backward, -1.0, 4.0, 2.0), (0.0, 2.0), "max_backward(-1, 4, dout=2)")
    p.expect_close(p.call(sigmoid_backward, 0.0, 1.0), 0.25, "sigmoid_backward(0, dout=1)")
    p.expect_close(p.call(sigmoid_backward, 2.0, 3.0), 0.31498075621051985, "sigmoid_backward(2, dout=3)")
# %% [tests] id=gates_hidden points=2
# Hidden tests (2 points).
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a02_backprop as _R
_rng = np.random.default_rng(2102)
with G.part("02_backprop/gates", points=2, hidden=True) as p:
    for _a, _b, _d in _rng.normal(scale=4, size=(5, 3)):
        _a, _b, _d = float(_a), float(_b), float(_d)
        p.compare(mul_backward, _R.mul_backward, _a, _b, _d, names=("da", "db"))
        p.compare(max_backward, _R.max_backward, _a, _b, _d, names=("da", "db"))
        p.compare(sigmoid_backward, _R.sigmoid_backward, _a, _d)
    p.compare(max_backward, _R.max_backward, 1.5, 1.5, 2.0, names=("da", "db"))
    p.compare(sigmoid_backward, _R.sigmoid_backward, -800.0, 1.0)
### END HIDDEN TESTS
# %% [markdown]
# ## Part 3: a sigmoid neuron (4 points)
#
# $\mathrm{out} = \sigma(w \cdot x + b)$ for 1-D arrays `w`, `x` of the same length and a number `b`
# (a neuron as a computational graph, seed 3). Return `(out, dw, dx, db)`: the output and
# $\partial\,\mathrm{out}/\partial w$, $\partial\,\mathrm{out}/\partial x$ (arrays like `w` and `x`)
# and $\partial\,\mathrm{out}/\partial b$.
# %% [answer] id=neuron_answer
def neuron_forward_backward(w, x, b):
    """(out, d out/dw, d out/dx, d out/db) for out = sigmoid(w . x + b)."""
    ### BEGIN SOLUTION
    w, x = np.asarray(w, dtype=float), np.asarray(x, dtype=float)
    s = w @ x + b
    out = 1.0 / (1.0 + np.exp(-s))
    ds = out * (1.0 - out)
    return out, ds * x, ds * w, ds
    ### END SOLUTION
# %% [tests] id=neuron_tests points=2
with G.part("02_backprop/neuron", points=2) as p:
    result = p.call(neuron_forward_backward, np.array([2.0, -3.0]), np.array([-1.0, -2.0]), -3.0)
    p.expect_close(result, (0.7310585786300049, [-0.19661193324148185, -0.3932238664829637],
                            [0.3932238664829637, -0.5898357997244456], 0.19661193324148185),
                   "neuron_forward_backward(w=[2, -3], x=[-1, -2], b=-3) = (out, dw, dx, db)")
# %% [tests] id=neuron_hidden points=2
# Hidden tests (2 points), including a gradient check.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a02_backprop as _R
_rng = np.random.default_rng(2103)
with G.part("02_backprop/neuron", points=2, hidden=True) as p:
    for _d in [1, 3, 8]:
        _w, _x, _b = _rng.normal(size=_d), _rng.normal(size=_d), float(_rng.normal())
        p.compare(neuron_forward_backward, _R.neuron_forward_backward, _w, _x, _b, names=("out", "dw", "dx", "db"))
        p.gradcheck(lambda v: _R.neuron_forward_backward(v, _x, _b)[0],
                    lambda v: neuron_forward_backward(v, _x, _b)[1], _w, f"dw for {_d} inputs")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 4: numerical gradients (3 points)
#
# To check a backward pass, compare it with central differences (seed 5.4):
# $\frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}$.
# `numerical_gradient(f, x, h)` gets a function `f` of an array (returning a number) and an array
# `x` of any shape, and returns an array of the shape of `x`. Leave `x` as you found it.
# %% [answer] id=numerical_gradient_answer
def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of the scalar function f at x (same shape as x)."""
    ### BEGIN SOLUTION
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad
    ### END SOLUTION
# %% [tests] id=numerical_gradient_tests points=1
with G.part("02_backprop/numerical_gradient", points=1) as p:
    p.expect_close(p.call(numerical_gradient, lambda v: np.sum(v ** 2), np.array([1.0, -2.0, 3.0])),
                   [2.0, -4.0, 6.0], "numerical_gradient of sum(x**2) at [1, -2, 3]", atol=1e-6)
    p.expect_close(p.call(numerical_gradient, lambda v: v[0, 1] * v[1, 0], np.array([[1.0, 2.0], [3.0, 4.0]])),
                   [[0.0, 3.0], [2.0, 0.0]], "numerical_gradient of x[0, 1] * x[1, 0] at a 2x2 array", atol=1e-6)
# %% [tests] id=numerical_gradient_hidden points=2
# Hidden tests (2 points).
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a02_backprop as _R
_rng = np.random.default_rng(2104)
with G.part("02_backprop/numerical_gradient", points=2, hidden=True) as p:
    for _shape in [(1,), (4,), (2, 3), (2, 2, 2)]:
        _x = _rng.normal(size=_shape)
        p.compare(numerical_gradient, _R.numerical_gradient, lambda v: float(np.sum(np.sin(v) * v ** 2)), _x,
                  atol=1e-6, rtol=1e-5)
        p.expect_close(p.call(numerical_gradient, lambda v: float(np.sum(np.sin(v))), _x), np.cos(_x),
                       f"numerical_gradient of sum(sin(x)) for x of shape {_shape}", atol=1e-6, rtol=1e-5)
### END HIDDEN TESTS
# %% [markdown]
# ## Part 5: gradients add up at a fork (3 points)
#
# In $f(x, y) = x \cdot y + \sigma(x)$ the variable `x` feeds two operations, so its gradient is the
# **sum** of what flows back along both paths. Return `(f, df_dx, df_dy)` for numbers `x`, `y`.
# %% [answer] id=fork_answer
def fork_forward_backward(x, y):
    """f = x * y + sigmoid(x) and (f, df/dx, df/dy)."""
    ### BEGIN SOLUTION
    sig = 1.0 / (1.0 + np.exp(-x))
    f = x * y + sig
    return f, y + sig * (1.0 - sig), x
    ### END SOLUTION
# %% [tests] id=fork_tests points=1
with G.part("02_backprop/fork", points=1) as p:
    p.expect_close(p.call(fork_forward_backward, 1.0, 2.0), (2.731058578630005, 2.1966119332414817, 1.0),
                   "fork_forward_backward(1, 2) = (f, df/dx, df/dy)")
# %% [tests] id=fork_hidden points=2
# Hidden tests (2 points).
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a02_backprop as _R
_rng = np.random.default_rng(2105)
with G.part("02_backprop/fork", points=2, hidden=True) as p:
    for _x, _y in _rng.normal(scale=3, size=(5, 2)):
        p.compare(fork_forward_backward, _R.fork_forward_backward, float(_x), float(_y), names=("f", "df_dx", "df_dy"))
### END HIDDEN TESTS
