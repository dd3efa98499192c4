# %% [markdown]
# # Assignment 3 — Layers: activations, losses, a linear layer and a two-layer network
#
# Lecture: 4.1 (activations), 4.2 (losses), 5.1–5.4 (fully connected networks, forward and backward
# pass). Every layer has a **forward** function that computes its output and a **backward** function
# that takes the upstream gradient `dout` = ∂L/∂(output) and returns the gradients of its inputs and
# parameters. Shapes follow PyTorch: a batch `x` is `(N, D)`, a weight matrix is `(out, in)`.
#
# Use numpy only: the `dlcourse.nn` layers and losses implement all of this, so calling them for the
# function you are asked to write scores 0 for that part. Your two-layer network should use *your*
# functions from the earlier parts.
#
# Each test cell prints `✓ … passed` with the points, or what is wrong. Hidden tests compare your
# functions with a reference on random shapes, with gradient checks, when the notebook is graded.
# %% [setup] id=setup
import numpy as np
from dlcourse import grading as G
# %% [markdown]
# ## Part 1: ReLU (3 points)
#
# `relu_forward(x)` = $\max(0, x)$ element-wise for any shape; `relu_backward(dout, x)` returns
# ∂L/∂x = `dout` where `x > 0` and 0 elsewhere (seed 4.1.4).
# %% [answer] id=relu_answer
def relu_forward(x):
    """max(0, x) element-wise."""
    ### BEGIN SOLUTION
    return np.maximum(x, 0.0)
    ### END SOLUTION


def relu_backward(dout, x):
    """dL/dx of ReLU given dout = dL/d relu(x)."""
    ### BEGIN SOLUTION
    return dout * (x > 0)
    ### END SOLUTION
# %% [tests] id=relu_tests points=1
with G.part("03_layers/relu", points=1) as p:
    p.expect_close(p.call(relu_forward, np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 2.0], "relu_forward([-1, 0, 2])")
    p.expect_close(p.call(relu_backward, np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 2.0])), [0.0, 2.0, 3.0],
                   "relu_backward(dout=[1, 2, 3], x=[-1, 0.5, 2])")
    weights_demo = np.array([[0.5, -1.0], [2.0, 1.5]])
    p.gradcheck(lambda v: np.sum(relu_forward(v) * weights_demo), lambda v: relu_backward(weights_demo, v),
                np.array([[1.0, -2.0], [-0.5, 3.0]]), "relu_backward compared with finite differences")
# %% [tests] id=relu_hidden points=2
# Hidden tests (2 points): random shapes, with gradient checks.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a03_layers as _R
_rng = np.random.default_rng(3101)
with G.part("03_layers/relu", points=2, hidden=True) as p:
    for _shape in [(5,), (3, 4), (2, 3, 4)]:
        _x, _dout = _rng.normal(size=_shape), _rng.normal(size=_shape)
        p.compare(relu_forward, _R.relu_forward, _x)
        p.compare(relu_backward, _R.relu_backward, _dout, _x)
        p.gradcheck(lambda v: float(np.sum(_R.relu_forward(v) * _dout)), lambda v: relu_backward(_dout, v), _x,
                    f"relu_backward for x of shape {_shape}")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 2: softmax (2 points)
#
# $\mathrm{softmax}(s)_j = e^{s_j} / \sum_k e^{s_k}$ along the **last** axis (seed 4.1.2). Subtract the
# row maximum first: the result is the same, and `exp` no longer overflows for scores like 1000.
# %% [answer] id=softmax_answer
def softmax(x):
    """Softmax over the last axis; same shape as x, each row sums to 1."""
    ### BEGIN SOLUTION
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
    ### END SOLUTION
# %% [tests] id=softmax_tests points=1
with G.part("03_layers/softmax", points=1) as p:
    p.expect_close(p.call(softmax, np.array([[1.0, 2.0, 3.0]])),
                   [[0.09003057317038046, 0.24472847105479764, 0.6652409557748218]], "softmax([[1, 2, 3]])")
    p.expect_close(p.call(softmax, np.array([[1000.0, 1000.0], [0.0, 0.0]])), [[0.5, 0.5], [0.5, 0.5]],
                   "softmax([[1000, 1000], [0, 0]]) (large scores must not overflow)")
# %% [tests] id=softmax_hidden points=1
# Hidden tests (1 point).
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a03_layers as _R
_rng = np.random.default_rng(3102)
with G.part("03_layers/softmax", points=1, hidden=True) as p:
    for _shape in [(4,), (3, 5), (2, 3, 4)]:
        p.compare(softmax, _R.softmax, 5 * _rng.normal(size=_shape))
    p.compare(softmax, _R.softmax, np.array([[-2000.0, 1000.0, 999.0]]))
### END HIDDEN TESTS
# %% [markdown]
# ## Part 3: mean squared error with its gradient (2 points)
#
# `mse_loss(pred, target)` returns `(loss, dpred)`: the mean of $(\mathrm{pred} - \mathrm{target})^2$ over
# **all** entries (seed 4.2.4) and its gradient with respect to `pred` (same shape as `pred`).
# %% [answer] id=mse_loss_answer
def mse_loss(pred, target):
    """(loss, dloss/dpred) of the mean squared error."""
    ### BEGIN SOLUTION
    diff = pred - target
    return float(np.mean(diff ** 2)), 2.0 * diff / diff.size
    ### END SOLUTION
# %% [tests] id=mse_loss_tests points=1
with G.part("03_layers/mse_loss", points=1) as p:
    p.expect_close(p.call(mse_loss, np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [3.0, 0.0]])),
                   (5.0, [[0.0, 1.0], [0.0, 2.0]]), "mse_loss(pred=[[1, 2], [3, 4]], target=[[1, 0], [3, 0]])")
# %% [tests] id=mse_loss_hidden points=1
# Hidden tests (1 point), with a gradient check.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a03_layers as _R
_rng = np.random.default_rng(3103)
with G.part("03_layers/mse_loss", points=1, hidden=True) as p:
    for _shape in [(1,), (6,), (4, 3)]:
        _pred, _target = _rng.normal(size=_shape), _rng.normal(size=_shape)
        p.compare(mse_loss, _R.mse_loss, _pred, _target, names=("loss", "dpred"))
        p.gradcheck(lambda v: _R.mse_loss(v, _target)[0], lambda v: mse_loss(v, _target)[1], _pred,
                    f"dpred for shape {_shape}")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 4: softmax cross-entropy (4 points)
#
# For scores `logits` of shape `(N, C)` and integer `labels` of shape `(N,)`, return `(loss, dlogits)`:
# $L = -\frac{1}{N}\sum_i \log \mathrm{softmax}(s_i)_{y_i}$ (seed 4.2.6) and
# $\partial L / \partial s = (\mathrm{softmax}(s) - \mathrm{onehot}(y)) / N$. You may use your `softmax`;
# for large scores compute $\log\mathrm{softmax}$ as $s - \max s - \log\sum e^{s - \max s}$.
# %% [answer] id=softmax_cross_entropy_answer
def softmax_cross_entropy(logits, labels):
    """(mean cross-entropy loss, dloss/dlogits) for logits (N, C) and integer labels (N,)."""
    ### BEGIN SOLUTION
    n = logits.shape[0]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.mean(log_probs[np.arange(n), labels])
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), labels] -= 1.0
    return float(loss), dlogits / n
    ### END SOLUTION
# %% [tests] id=softmax_cross_entropy_tests points=2
with G.part("03_layers/softmax_cross_entropy", points=2) as p:
    logits_demo, labels_demo = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]), np.array([2, 0])
    p.expect_close(p.call(softmax_cross_entropy, logits_demo, labels_demo),
                   (0.7531091265562451, [[0.04501528658519023, 0.12236423552739882, -0.1673795221125891],
                                         [-0.33333333333333337, 0.16666666666666666, 0.16666666666666666]]),
                   "softmax_cross_entropy([[1, 2, 3], [1, 1, 1]], labels=[2, 0]) = (loss, dlogits)")
    p.gradcheck(lambda v: softmax_cross_entropy(v, labels_demo)[0], lambda v: softmax_cross_entropy(v, labels_demo)[1],
                np.array([[0.3, -1.2, 2.0], [0.5, 0.1, -0.4]]), "dlogits compared with finite differences of your loss")
# %% [tests] id=softmax_cross_entropy_hidden points=2
# Hidden tests (2 points): random shapes, large scores, gradient checks.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a03_layers as _R
_rng = np.random.default_rng(3104)
with G.part("03_layers/softmax_cross_entropy", points=2, hidden=True) as p:
    for _n, _c in [(1, 2), (5, 3), (16, 10)]:
        _logits, _labels = 3 * _rng.normal(size=(_n, _c)), _rng.integers(0, _c, size=_n)
        p.compare(softmax_cross_entropy, _R.softmax_cross_entropy, _logits, _labels, names=("loss", "dlogits"))
        p.gradcheck(lambda v: _R.softmax_cross_entropy(v, _labels)[0],
                    lambda v: softmax_cross_entropy(v, _labels)[1], _logits, f"dlogits for N={_n}, C={_c}")
    p.compare(softmax_cross_entropy, _R.softmax_cross_entropy, np.array([[1000.0, -1000.0, 0.0]]), np.array([1]),
              names=("loss", "dlogits"))
### END HIDDEN TESTS
# %% [markdown]
# ## Part 5: a linear layer (4 points)
#
# `linear_forward(x, W, b)` = $x W^T + b$ for `x` `(N, in)`, `W` `(out, in)`, `b` `(out,)` → `(N, out)`.
# `linear_backward(dout, x, W)` returns `(dx, dW, db)` with the shapes of `x`, `W` and `b` (seed 5.4).
# %% [answer] id=linear_answer
def linear_forward(x, W, b):
    """x @ W.T + b."""
    ### BEGIN SOLUTION
    return x @ W.T + b
    ### END SOLUTION


def linear_backward(dout, x, W):
    """(dx, dW, db) of the linear layer given dout = dL/d(output)."""
    ### BEGIN SOLUTION
    return dout @ W, dout.T @ x, dout.sum(axis=0)
    ### END SOLUTION
# %% [tests] id=linear_tests points=2
with G.part("03_layers/linear", points=2) as p:
    x_demo, W_demo, b_demo = np.array([[1.0, 2.0]]), np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([0.5, -0.5, 0.0])
    p.expect_close(p.call(linear_forward, x_demo, W_demo, b_demo), [[1.5, 1.5, 3.0]], "linear_forward(x, W, b)")
    p.expect_close(p.call(linear_backward, np.array([[1.0, 2.0, 3.0]]), x_demo, W_demo),
                   ([[4.0, 5.0]], [[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]], [1.0, 2.0, 3.0]),
                   "linear_backward(dout=[[1, 2, 3]], x, W) = (dx, dW, db)")
# %% [tests] id=linear_hidden points=2
# Hidden tests (2 points): random shapes, with gradient checks of dx, dW and db.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a03_layers as _R
_rng = np.random.default_rng(3105)
with G.part("03_layers/linear", points=2, hidden=True) as p:
    for _n, _i, _o in [(1, 1, 1), (4, 3, 2), (8, 5, 7)]:
        _x, _W, _b, _dout = (_rng.normal(size=(_n, _i)), _rng.normal(size=(_o, _i)), _rng.normal(size=_o),
                             _rng.normal(size=(_n, _o)))
        p.compare(linear_forward, _R.linear_forward, _x, _W, _b)
        p.compare(linear_backward, _R.linear_backward, _dout, _x, _W, names=("dx", "dW", "db"))
        p.gradcheck(lambda v: float(np.sum(_R.linear_forward(_x, v, _b) * _dout)),
                    lambda v: linear_backward(_dout, _x, v)[1], _W, f"dW for x {(_n, _i)}, W {(_o, _i)}")
        p.gradcheck(lambda v: float(np.sum(_R.linear_forward(v, _W, _b) * _dout)),
                    lambda v: linear_backward(_dout, v, _W)[0], _x, f"dx for x {(_n, _i)}, W {(_o, _i)}")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 6: a two-layer network (5 points)
#
# Linear → ReLU → Linear → softmax cross-entropy, with parameters `params = {"W1": (H, D), "b1": (H,),
# "W2": (C, H), "b2": (C,)}`, inputs `x` `(N, D)` and integer labels `y` `(N,)`. Return `(loss, grads)`
# where `grads` has the keys and shapes of `params`. Chain your functions: forward through the layers,
# then backward in reverse order (seed 5.3–5.4).
# %% [answer] id=two_layer_net_answer
def two_layer_net(x, y, params):
    """(loss, grads) of a Linear-ReLU-Linear network with softmax cross-entropy."""
    ### BEGIN SOLUTION
    h_pre = linear_forward(x, params["W1"], params["b1"])
    h = relu_forward(h_pre)
    scores = linear_forward(h, params["W2"], params["b2"])
    loss, dscores = softmax_cross_entropy(scores, y)
    dh, dW2, db2 = linear_backward(dscores, h, params["W2"])
    dh_pre = relu_backward(dh, h_pre)
    _, dW1, db1 = linear_backward(dh_pre, x, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    ### END SOLUTION
# %% [tests] id=two_layer_net_tests points=2
with G.part("03_layers/two_layer_net", points=2) as p:
    x_net, y_net = np.array([[1.0, -1.0], [0.5, 2.0], [-1.5, 0.3]]), np.array([0, 2, 1])
    zeros = {"W1": np.zeros((4, 2)), "b1": np.zeros(4), "W2": np.zeros((3, 4)), "b2": np.zeros(3)}
    p.expect_close(p.call(two_layer_net, x_net, y_net, zeros), (np.log(3.0), zeros),
                   "two_layer_net with all-zero parameters = (loss = log 3, all gradients 0)")
    rng_net = np.random.default_rng(0)
    params_net = {"W1": rng_net.normal(size=(4, 2)), "b1": rng_net.normal(size=4),
                  "W2": rng_net.normal(size=(3, 4)), "b2": rng_net.normal(size=3)}
    for key in params_net:
        def loss_of(v, key=key):
            return two_layer_net(x_net, y_net, {**params_net, key: v})[0]

        def grad_of(v, key=key):
            return two_layer_net(x_net, y_net, {**params_net, key: v})[1][key]

        p.gradcheck(loss_of, grad_of, params_net[key], f"grads[{key!r}] compared with finite differences", tol=1e-5)
# %% [tests] id=two_layer_net_hidden points=3
# Hidden tests (3 points): random sizes against the reference network.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a03_layers as _R
_rng = np.random.default_rng(3106)
with G.part("03_layers/two_layer_net", points=3, hidden=True) as p:
    for _n, _d, _h, _c in [(1, 2, 3, 2), (6, 4, 5, 3), (20, 8, 16, 10)]:
        _params = {"W1": _rng.normal(size=(_h, _d)) / np.sqrt(_d), "b1": 0.1 * _rng.normal(size=_h),
                   "W2": _rng.normal(size=(_c, _h)) / np.sqrt(_h), "b2": 0.1 * _rng.normal(size=_c)}
        _x, _y = _rng.normal(size=(_n, _d)), _rng.integers(0, _c, size=_n)
        p.compare(two_layer_net, _R.two_layer_net, _x, _y, _params, names=("loss", "grads"))
### END HIDDEN TESTS
