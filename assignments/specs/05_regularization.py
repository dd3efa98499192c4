# %% [markdown]
# # Assignment 5 — Regularization and normalization
#
# Lecture: 4.5 (regularization techniques). You will implement, with numpy only:
#
# 1. dropout, forward and backward (seed 4.5.5), in the "inverted" form every framework uses;
# 2. batch normalization in training mode with running statistics, and in evaluation mode (seed 4.5.6);
# 3. the backward pass of batch normalization;
# 4. the weight-decay update (seed 4.5.2);
# 5. early stopping that gives back the weights of the best epoch (seed 4.5.3).
#
# The `dlcourse` library implements all of this (`dlcourse.nn.Dropout`, `BatchNorm1d`,
# `dlcourse.optim`, `dlcourse.train.EarlyStopping`): calling it for the function you are asked to
# write scores 0 for that part. Never modify the arrays you are given.
#
# Each test cell prints `✓ … passed` with the points, or what is wrong. Hidden tests compare your
# functions with a reference on random inputs, with gradient checks, when the notebook is graded.
# %% [setup] id=setup
import numpy as np
from dlcourse import grading as G
# %% [markdown]
# ## Part 1: dropout (4 points)
#
# During training, dropout sets each activation to 0 with probability `p` (seed 4.5.5). The lecture
# keeps the survivors unchanged and multiplies by the keep probability at test time; **inverted
# dropout** instead divides the survivors by $1 - p$ during training, so the expected activation is
# unchanged and evaluation is simply the identity.
#
# To make the randomness testable, the uniform random numbers are passed in: `u` has the shape of
# `x`, with entries in $[0, 1)$; entry $i$ is **kept where `u[i] >= p`**.
#
# * `dropout_forward(x, p, u, train=True)` returns `(out, mask)` where `mask` holds the factor each
#   entry was multiplied by: $1/(1-p)$ where kept, 0 where dropped. With `train=False` it returns
#   `(x, mask)` with a mask of ones (same shape as `x`).
# * `dropout_backward(dout, mask)` returns ∂L/∂x.
# %% [answer] id=dropout_answer
def dropout_forward(x, p, u, train=True):
    """Inverted dropout -> (out, mask), both of the shape of x."""
    ### BEGIN SOLUTION
    if not train:
        return x.copy(), np.ones_like(x)
    mask = (u >= p) / (1.0 - p)
    return x * mask, mask
    ### END SOLUTION


def dropout_backward(dout, mask):
    """dL/dx given dout = dL/d(out) and the mask of the forward pass."""
    ### BEGIN SOLUTION
    return dout * mask
    ### END SOLUTION
# %% [tests] id=dropout_tests points=2
with G.part("05_regularization/dropout", points=2) as p:
    x_drop, u_drop = np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([[0.1, 0.7, 0.5, 0.2]])
    p.expect_close(p.call(dropout_forward, x_drop, 0.5, u_drop), ([[0.0, 4.0, 6.0, 0.0]], [[0.0, 2.0, 2.0, 0.0]]),
                   "dropout_forward(x=[[1, 2, 3, 4]], p=0.5, u=[[0.1, 0.7, 0.5, 0.2]]) = (out, mask) "
                   "(kept where u >= p, survivors scaled by 1/(1 - p))")
    p.expect_close(p.call(dropout_forward, x_drop, 0.5, u_drop, False), (x_drop, np.ones((1, 4))),
                   "dropout_forward(..., train=False) = (x, ones): no dropout at test time")
    p.expect_close(p.call(dropout_backward, np.array([[1.0, 1.0, -2.0, 3.0]]), np.array([[0.0, 2.0, 2.0, 0.0]])),
                   [[0.0, 2.0, -4.0, 0.0]], "dropout_backward(dout=[[1, 1, -2, 3]], mask=[[0, 2, 2, 0]])")
    rng_drop = np.random.default_rng(0)
    x_big, u_big = np.ones((200, 50)), rng_drop.random((200, 50))
    out_big, _ = p.call(dropout_forward, x_big, 0.3, u_big)
    p.expect_true(abs(out_big.mean() - 1.0) < 0.05, f"inverted dropout should keep the mean activation: the mean of "
                  f"dropout_forward(ones, p=0.3, u) is {out_big.mean():.3f}, expected about 1")
    weights_drop = rng_drop.normal(size=(3, 4))
    u_small = rng_drop.random((3, 4))
    _, mask_small = p.call(dropout_forward, np.ones((3, 4)), 0.4, u_small)
    p.gradcheck(lambda v: np.sum(dropout_forward(v, 0.4, u_small)[0] * weights_drop),
                lambda v: dropout_backward(weights_drop, mask_small), rng_drop.normal(size=(3, 4)),
                "dropout_backward compared with finite differences of your dropout_forward")
# %% [tests] id=dropout_hidden points=2
# Hidden tests (2 points): random shapes and drop probabilities, with gradient checks.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a05_regularization as _R
_rng = np.random.default_rng(5101)
with G.part("05_regularization/dropout", points=2, hidden=True) as p:
    for _shape, _p in [((7,), 0.5), ((4, 6), 0.2), ((2, 3, 5), 0.75), ((3, 3), 0.0)]:
        _x, _u, _dout = _rng.normal(size=_shape), _rng.random(_shape), _rng.normal(size=_shape)
        _out, _mask = p.compare(dropout_forward, _R.dropout_forward, _x, _p, _u, names=("out", "mask"))
        p.compare(dropout_forward, _R.dropout_forward, _x, _p, _u, False, names=("out", "mask"))
        p.compare(dropout_backward, _R.dropout_backward, _dout, _R.dropout_forward(_x, _p, _u)[1])
        p.gradcheck(lambda v: float(np.sum(_R.dropout_forward(v, _p, _u)[0] * _dout)),
                    lambda v: dropout_backward(_dout, _mask), _x, f"dropout_backward for x of shape {_shape}")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 2: batch normalization, forward (4 points)
#
# For a batch `x` of shape `(N, D)` (seed 4.5.6), each feature (column) $k$ is normalized and then
# scaled and shifted by the learnable `gamma`, `beta` of shape `(D,)`:
#
# $\hat s^{(k)} = \dfrac{s^{(k)} - \mathbb E[s^{(k)}]}{\sqrt{\mathrm{Var}[s^{(k)}] + \epsilon}}$, $\quad s'^{(k)} = \gamma^{(k)}\hat s^{(k)} + \beta^{(k)}$.
#
# * **Training** (`train=True`): mean and variance over the batch (the *biased* variance, dividing
#   by $N$). Update the running estimates as in the lecture,
#   $\mu_{running} \leftarrow \beta_m\mu_{running} + (1-\beta_m)\,\mu_{batch}$ and the same for the
#   variance, where — as in PyTorch — the running variance uses the **unbiased** batch variance
#   (dividing by $N - 1$).
# * **Evaluation** (`train=False`): normalize with `running_mean` and `running_var`, which stay unchanged.
#
# Return `(out, new_running_mean, new_running_var)`; do not modify the arrays passed in.
# %% [answer] id=batchnorm_forward_answer
def batchnorm_forward(x, gamma, beta, running_mean, running_var, beta_m=0.9, eps=1e-5, train=True):
    """Batch norm of x (N, D) -> (out (N, D), running_mean (D,), running_var (D,))."""
    ### BEGIN SOLUTION
    if train:
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        n = x.shape[0]
        new_mean = beta_m * running_mean + (1 - beta_m) * mean
        new_var = beta_m * running_var + (1 - beta_m) * var * n / (n - 1)
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.copy(), running_var.copy()
    xhat = (x - mean) / np.sqrt(var + eps)
    return gamma * xhat + beta, new_mean, new_var
    ### END SOLUTION
# %% [tests] id=batchnorm_forward_tests points=2
with G.part("05_regularization/batchnorm_forward", points=2) as p:
    x_bn = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    gamma_bn, beta_bn = np.array([1.0, 0.5]), np.array([0.0, 1.0])
    p.expect_close(p.call(batchnorm_forward, x_bn, gamma_bn, beta_bn, np.zeros(2), np.ones(2)),
                   ([[-1.2247425750014138, 0.3876278513535828], [0.0, 1.0], [1.2247425750014138, 1.612372148646417]],
                    [0.3, 0.6], [1.3, 2.5]),
                   "batchnorm_forward(x=[[1, 2], [3, 6], [5, 10]], gamma=[1, 0.5], beta=[0, 1], running mean 0 and "
                   "var 1, train=True) = (out, running_mean, running_var)")
    p.expect_close(p.call(batchnorm_forward, x_bn, gamma_bn, beta_bn, np.array([1.0, 2.0]), np.array([4.0, 1.0]),
                          0.9, 1e-5, False),
                   ([[0.0, 1.0], [0.9999987500023437, 2.9999900000749995], [1.9999975000046875, 4.999980000149999]],
                    [1.0, 2.0], [4.0, 1.0]),
                   "batchnorm_forward(..., running_mean=[1, 2], running_var=[4, 1], train=False): normalize with the "
                   "running statistics and leave them unchanged")
# %% [tests] id=batchnorm_forward_hidden points=2
# Hidden tests (2 points): random batches, several steps of running statistics, evaluation mode.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a05_regularization as _R
_rng = np.random.default_rng(5102)
with G.part("05_regularization/batchnorm_forward", points=2, hidden=True) as p:
    for _n, _d in [(2, 1), (8, 3), (32, 10)]:
        _gamma, _beta = _rng.normal(size=_d), _rng.normal(size=_d)
        _rm, _rv = _rng.normal(size=_d), _rng.uniform(0.5, 2.0, size=_d)
        for _step in range(3):
            _x = 3 * _rng.normal(size=(_n, _d)) + _rng.normal(size=_d)
            _out, _rm, _rv = p.compare(batchnorm_forward, _R.batchnorm_forward, _x, _gamma, _beta, _rm, _rv,
                                       names=("out", "running_mean", "running_var"))
        p.compare(batchnorm_forward, _R.batchnorm_forward, _x, _gamma, _beta, _rm, _rv, 0.8, 1e-3, True,
                  names=("out", "running_mean", "running_var"))
        p.compare(batchnorm_forward, _R.batchnorm_forward, _x, _gamma, _beta, _rm, _rv, 0.9, 1e-5, False,
                  names=("out", "running_mean", "running_var"))
### END HIDDEN TESTS
# %% [markdown]
# ## Part 3: batch normalization, backward (4 points)
#
# In training mode the batch mean and variance are functions of `x`, so the gradient has three
# paths: directly through $\hat s$, through the mean and through the variance. Given
# `dout` = ∂L/∂out of shape `(N, D)`, return `(dx, dgamma, dbeta)` with the shapes of `x`, `gamma`
# and `beta`. Recompute what you need from `x` (training mode, batch statistics). A compact form:
# with $\sigma = \sqrt{\mathrm{Var} + \epsilon}$ and $d\hat s = \mathrm{dout}\cdot\gamma$,
# $dx = \frac{1}{\sigma}\big(d\hat s - \mathrm{mean}(d\hat s) - \hat s\cdot\mathrm{mean}(d\hat s\cdot\hat s)\big)$, means over the batch axis.
# %% [answer] id=batchnorm_backward_answer
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    """(dx, dgamma, dbeta) of training-mode batch norm."""
    ### BEGIN SOLUTION
    mean = x.mean(axis=0)
    sigma = np.sqrt(x.var(axis=0) + eps)
    xhat = (x - mean) / sigma
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / sigma
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    ### END SOLUTION
# %% [tests] id=batchnorm_backward_tests points=2
with G.part("05_regularization/batchnorm_backward", points=2) as p:
    x_bn = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    gamma_bn = np.array([1.0, 0.5])
    dout_bn = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]])
    p.expect_close(p.call(batchnorm_backward, dout_bn, x_bn, gamma_bn),
                   ([[0.30618449555849514, -0.07654644681850828], [-0.6123712875007069, 0.1530930371616043],
                     [0.3061867919422117, -0.07654659034309604]], [1.2247425750014138, -1.2247442972928344], [3.0, 0.0]),
                   "batchnorm_backward(dout=[[1, 0], [0, 1], [2, -1]], x=[[1, 2], [3, 6], [5, 10]], gamma=[1, 0.5]) "
                   "= (dx, dgamma, dbeta)")
    rng_bn = np.random.default_rng(1)
    x_rand, dout_rand = rng_bn.normal(size=(5, 3)), rng_bn.normal(size=(5, 3))
    gamma_rand, beta_rand = rng_bn.normal(size=3), rng_bn.normal(size=3)

    def bn_loss(xv=x_rand, gv=gamma_rand, bv=beta_rand):
        return np.sum(batchnorm_forward(xv, gv, bv, np.zeros(3), np.ones(3))[0] * dout_rand)

    p.gradcheck(lambda v: bn_loss(xv=v), lambda v: batchnorm_backward(dout_rand, v, gamma_rand)[0], x_rand,
                "dx compared with finite differences of your batchnorm_forward", tol=1e-5)
    p.gradcheck(lambda v: bn_loss(gv=v), lambda v: batchnorm_backward(dout_rand, x_rand, v)[1], gamma_rand,
                "dgamma compared with finite differences of your batchnorm_forward", tol=1e-5)
    p.gradcheck(lambda v: bn_loss(bv=v), lambda v: batchnorm_backward(dout_rand, x_rand, gamma_rand)[2], beta_rand,
                "dbeta compared with finite differences of your batchnorm_forward", tol=1e-5)
# %% [tests] id=batchnorm_backward_hidden points=2
# Hidden tests (2 points): random shapes, with gradient checks.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a05_regularization as _R
_rng = np.random.default_rng(5103)
with G.part("05_regularization/batchnorm_backward", points=2, hidden=True) as p:
    for _n, _d in [(2, 1), (6, 4), (20, 7)]:
        _x, _dout = 2 * _rng.normal(size=(_n, _d)) + 1, _rng.normal(size=(_n, _d))
        _gamma = _rng.normal(size=_d)
        p.compare(batchnorm_backward, _R.batchnorm_backward, _dout, _x, _gamma, names=("dx", "dgamma", "dbeta"),
                  rtol=1e-5, atol=1e-8)
        p.compare(batchnorm_backward, _R.batchnorm_backward, _dout, _x, _gamma, 1e-2, names=("dx", "dgamma", "dbeta"),
                  rtol=1e-5, atol=1e-8)

        def _loss(v):
            return float(np.sum(_R.batchnorm_forward(v, _gamma, np.zeros(_d), np.zeros(_d), np.ones(_d))[0] * _dout))
        p.gradcheck(_loss, lambda v: batchnorm_backward(_dout, v, _gamma)[0], _x, f"dx for x of shape {(_n, _d)}",
                    tol=1e-5)
### END HIDDEN TESTS
# %% [markdown]
# ## Part 4: weight decay (2 points)
#
# Weight decay adds a pull towards zero to every gradient step (seed 4.5.2):
# $\theta^{k+1} = \theta^k - \alpha\nabla f(\theta^k) - \lambda\theta^k$, with the learning rate `lr` = α
# and the decay rate `lam` = λ (not multiplied by α). Return the new `theta`.
# %% [answer] id=weight_decay_answer
def weight_decay_step(theta, grad, lr, lam):
    """theta - lr * grad - lam * theta."""
    ### BEGIN SOLUTION
    return theta - lr * grad - lam * theta
    ### END SOLUTION
# %% [tests] id=weight_decay_tests points=1
with G.part("05_regularization/weight_decay", points=1) as p:
    p.expect_close(p.call(weight_decay_step, np.array([1.0, -2.0]), np.array([0.5, 0.5]), 0.1, 0.01), [0.94, -2.03],
                   "weight_decay_step(theta=[1, -2], grad=[0.5, 0.5], lr=0.1, lam=0.01)")
    p.expect_close(p.call(weight_decay_step, np.array([4.0]), np.array([0.0]), 0.1, 0.25), [3.0],
                   "weight_decay_step(theta=[4], grad=[0], lr=0.1, lam=0.25): with a zero gradient the weight shrinks")
# %% [tests] id=weight_decay_hidden points=1
# Hidden tests (1 point).
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a05_regularization as _R
_rng = np.random.default_rng(5104)
with G.part("05_regularization/weight_decay", points=1, hidden=True) as p:
    for _shape in [(1,), (5,), (3, 4)]:
        p.compare(weight_decay_step, _R.weight_decay_step, _rng.normal(size=_shape), _rng.normal(size=_shape),
                  float(_rng.uniform(0.001, 0.5)), float(_rng.uniform(0.0, 0.1)))
### END HIDDEN TESTS
# %% [markdown]
# ## Part 5: early stopping (4 points)
#
# Stop training as soon as the model begins to overfit (seed 4.5.3), and keep the weights of the
# best epoch. `early_stopping(train_epoch, validate, weights, max_epochs, patience)`:
#
# * `weights` is a dict of numpy arrays; `train_epoch(weights)` trains one epoch by changing those
#   arrays **in place** (as an optimizer does) and returns nothing; `validate(weights)` returns the
#   validation loss (a float).
# * Run at most `max_epochs` epochs (numbered 0, 1, …). After each, validate. An epoch *improves*
#   when its loss is strictly lower than the best so far. Stop after `patience` epochs in a row
#   without improvement.
# * Return `(best_weights, best_epoch)`: a dict with **copies** of the arrays as they were after the
#   best epoch, and that epoch's number. (Keeping a reference to the arrays is a classic bug: they go
#   on changing, and you would return the last weights instead of the best.)
# %% [answer] id=early_stopping_answer
def early_stopping(train_epoch, validate, weights, max_epochs, patience):
    """Train with early stopping -> (copy of the best weights, best epoch)."""
    ### BEGIN SOLUTION
    best_loss, best_epoch, best_weights, waited = np.inf, None, None, 0
    for epoch in range(max_epochs):
        train_epoch(weights)
        loss = validate(weights)
        if best_epoch is None or loss < best_loss:
            best_loss, best_epoch, waited = loss, epoch, 0
            best_weights = {name: value.copy() for name, value in weights.items()}
        else:
            waited += 1
            if waited >= patience:
                break
    return best_weights, best_epoch
    ### END SOLUTION
# %% [tests] id=early_stopping_tests points=2
with G.part("05_regularization/early_stopping", points=2) as p:
    losses_demo = [5.0, 4.0, 3.0, 3.5, 2.5, 2.6, 2.7, 2.8, 1.0, 0.5]
    epochs_trained = []

    def train_epoch_demo(weights):
        epochs_trained.append(len(epochs_trained))
        weights["epoch"] += 1
        weights["w"] += np.array([1.0, -1.0])

    def validate_demo(weights):
        return losses_demo[int(weights["epoch"][0]) - 1]

    result = p.call(early_stopping, train_epoch_demo, validate_demo, {"w": np.zeros(2), "epoch": np.zeros(1)}, 10, 3)
    p.expect_close(result, ({"w": [5.0, -5.0], "epoch": [5.0]}, 4),
                   "early_stopping with validation losses [5, 4, 3, 3.5, 2.5, 2.6, 2.7, 2.8, 1, 0.5] and patience 3 "
                   "= (best_weights, best_epoch); best_weights must be a copy of the weights after epoch 4")
    p.expect_true(len(epochs_trained) == 8, f"with patience 3 and the best loss at epoch 4, training should stop after "
                  f"epoch 7 (8 epochs trained), but train_epoch was called {len(epochs_trained)} times")
    epochs_trained.clear()
    result = p.call(early_stopping, train_epoch_demo, validate_demo, {"w": np.zeros(2), "epoch": np.zeros(1)}, 10, 5)
    p.expect_close(result, ({"w": [10.0, -10.0], "epoch": [10.0]}, 9),
                   "early_stopping with patience 5: the loss improves again at epochs 8 and 9")
    p.expect_true(len(epochs_trained) == 10, f"with max_epochs=10 train_epoch should be called 10 times, "
                  f"got {len(epochs_trained)}")
# %% [tests] id=early_stopping_hidden points=2
# Hidden tests (2 points): other loss curves, ties, patience and epoch limits.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a05_regularization as _R
_rng = np.random.default_rng(5105)


def _make_task(losses):
    def train_one_epoch(params):
        params["epoch"] += 1
        params["W"] += np.sin(params["epoch"][0]) * np.ones_like(params["W"])
        params["b"] *= 0.9

    def validation_loss(params):
        return float(losses[int(params["epoch"][0]) - 1])
    return train_one_epoch, validation_loss


with G.part("05_regularization/early_stopping", points=2, hidden=True) as p:
    _curves = [np.round(np.r_[np.linspace(3, 1, 6), np.linspace(1.1, 2, 14)] + 0.05 * _rng.normal(size=20), 1),
               np.array([2.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.4]),
               np.linspace(2, 1, 12),
               _rng.uniform(0, 1, size=15)]
    for _losses in _curves:
        for _patience, _max in [(1, len(_losses)), (2, len(_losses)), (4, len(_losses) - 2)]:
            _train, _validate = _make_task(_losses)
            _weights = {"W": _rng.normal(size=(3, 2)), "b": _rng.normal(size=2), "epoch": np.zeros(1)}
            p.compare(early_stopping, _R.early_stopping, _train, _validate, _weights, _max, _patience,
                      names=("best_weights", "best_epoch"))
### END HIDDEN TESTS
