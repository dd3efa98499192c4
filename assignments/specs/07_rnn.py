# %% [markdown]
# # Assignment 7 — Recurrent networks: RNN and LSTM steps
#
# Lecture: chapter 7 (recurrent neural networks). You will implement, with numpy only:
#
# 1. one step of a vanilla (tanh) RNN, forward and backward (seed 7.2);
# 2. one step of an LSTM, forward and backward (seed 7.3);
# 3. a whole sequence: the RNN run over all time steps and backpropagation through time (BPTT).
#
# Shapes follow PyTorch: a batch of inputs at one time step is `x (N, D)`, hidden states are
# `(N, H)`, a sequence is batch-first `(N, T, D)`. Weights: `W_ih (G·H, D)` multiplies the input,
# `W_hh (G·H, H)` the previous hidden state, `b (G·H,)` is the bias, with `G = 1` for the RNN and
# `G = 4` for the LSTM. The pre-activation of a step is `x @ W_ih.T + h_prev @ W_hh.T + b`.
#
# `dlcourse.nn.recurrent` (`RNN`, `LSTM`, `rnn_step_forward`, …) implements all of this: calling it
# for the function you are asked to write scores 0 for that part. Never modify the arrays you are given.
#
# Each test cell prints `✓ … passed` with the points, or what is wrong. Hidden tests compare your
# functions with a reference on random shapes, with gradient checks, when the notebook is graded.
# %% [setup] id=setup
import numpy as np
from dlcourse import grading as G
# %% [markdown]
# ## Part 1: one RNN step (5 points)
#
# $h_t = \tanh(x_t W_{ih}^T + h_{t-1} W_{hh}^T + b)$ (seed 7.2).
#
# `rnn_step_forward(x, h_prev, W_ih, W_hh, b)` returns `h` of shape `(N, H)`.
#
# `rnn_step_backward(dh, x, h_prev, h, W_ih, W_hh)` receives `dh` = ∂L/∂h and the values of the
# forward step (including its output `h`: $\tanh'(a) = 1 - h^2$) and returns
# `(dx, dh_prev, dW_ih, dW_hh, db)` with the shapes of `x, h_prev, W_ih, W_hh` and `(H,)`.
# %% [answer] id=rnn_step_answer
def rnn_step_forward(x, h_prev, W_ih, W_hh, b):
    """One tanh RNN step: x (N, D), h_prev (N, H) -> h (N, H)."""
    ### BEGIN SOLUTION
    return np.tanh(x @ W_ih.T + h_prev @ W_hh.T + b)
    ### END SOLUTION


def rnn_step_backward(dh, x, h_prev, h, W_ih, W_hh):
    """(dx, dh_prev, dW_ih, dW_hh, db) of one RNN step."""
    ### BEGIN SOLUTION
    da = dh * (1.0 - h * h)
    return da @ W_ih, da @ W_hh, da.T @ x, da.T @ h_prev, da.sum(axis=0)
    ### END SOLUTION
# %% [tests] id=rnn_step_tests points=2
with G.part("07_rnn/rnn_step", points=2) as p:
    x_demo, h_demo = np.array([[1.0, 2.0]]), np.array([[0.5, -0.5, 0.0]])
    W_ih_demo = np.array([[0.1, 0.2], [-0.3, 0.1], [0.0, 0.5]])
    W_hh_demo = np.array([[0.5, 0.0, 0.1], [0.0, 0.5, 0.0], [-0.2, 0.3, 0.5]])
    b_demo = np.array([0.1, 0.0, -0.1])
    h_next = p.call(rnn_step_forward, x_demo, h_demo, W_ih_demo, W_hh_demo, b_demo)
    p.expect_close(h_next, [[0.6910694698329306, -0.3363755443363322, 0.5716699660851172]],
                   "rnn_step_forward(x=[[1, 2]], h_prev=[[0.5, -0.5, 0]], W_ih (3, 2), W_hh (3, 3), b (3,))")
    p.expect_close(p.call(rnn_step_backward, np.array([[1.0, -1.0, 0.5]]), x_demo, h_demo,
                          np.array([[0.6910694698329306, -0.3363755443363322, 0.5716699660851172]]), W_ih_demo, W_hh_demo),
                   ([[0.3182977467382141, 0.18409781072478304]],
                    [[0.193892148944792, -0.34244672910478197, 0.22054066125554345]],
                    [[0.5224229878648322, 1.0448459757296644], [-0.8868514931724362, -1.7737029863448723],
                     [0.33659672493812043, 0.6731934498762409]],
                    [[0.2612114939324161, -0.2612114939324161, 0.0], [-0.4434257465862181, 0.4434257465862181, 0.0],
                     [0.16829836246906021, -0.16829836246906021, 0.0]],
                    [0.5224229878648322, -0.8868514931724362, 0.33659672493812043]),
                   "rnn_step_backward(dh=[[1, -1, 0.5]], ...) for the example above = (dx, dh_prev, dW_ih, dW_hh, db)")
    rng_rnn = np.random.default_rng(0)
    x_r, hp_r, dh_r = rng_rnn.normal(size=(3, 2)), rng_rnn.normal(size=(3, 4)), rng_rnn.normal(size=(3, 4))
    Wi_r, Wh_r, b_r = rng_rnn.normal(size=(4, 2)), rng_rnn.normal(size=(4, 4)) / 2, rng_rnn.normal(size=4)

    def rnn_grads(x=x_r, hp=hp_r, Wi=Wi_r, Wh=Wh_r, b=b_r):
        return rnn_step_backward(dh_r, x, hp, rnn_step_forward(x, hp, Wi, Wh, b), Wi, Wh)

    def rnn_loss(x=x_r, hp=hp_r, Wi=Wi_r, Wh=Wh_r, b=b_r):
        return np.sum(rnn_step_forward(x, hp, Wi, Wh, b) * dh_r)

    for i, (name, value) in enumerate([("x", x_r), ("h_prev", hp_r), ("W_ih", Wi_r), ("W_hh", Wh_r), ("b", b_r)]):
        key = {"h_prev": "hp", "W_ih": "Wi", "W_hh": "Wh"}.get(name, name)
        p.gradcheck(lambda v, key=key: rnn_loss(**{key: v}), lambda v, key=key, i=i: rnn_grads(**{key: v})[i], value,
                    f"the gradient for {name} compared with finite differences of your rnn_step_forward")
# %% [tests] id=rnn_step_hidden points=3
# Hidden tests (3 points): random sizes, with gradient checks.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a07_rnn as _R
_rng = np.random.default_rng(7101)
with G.part("07_rnn/rnn_step", points=3, hidden=True) as p:
    for _n, _d, _h in [(1, 1, 1), (4, 3, 5), (10, 8, 6)]:
        _x, _hp = _rng.normal(size=(_n, _d)), _rng.normal(size=(_n, _h))
        _Wi, _Wh, _b = _rng.normal(size=(_h, _d)), _rng.normal(size=(_h, _h)) / np.sqrt(_h), _rng.normal(size=_h)
        _hn = p.compare(rnn_step_forward, _R.rnn_step_forward, _x, _hp, _Wi, _Wh, _b)
        _dh = _rng.normal(size=(_n, _h))
        _hn_ref = _R.rnn_step_forward(_x, _hp, _Wi, _Wh, _b)
        p.compare(rnn_step_backward, _R.rnn_step_backward, _dh, _x, _hp, _hn_ref, _Wi, _Wh,
                  names=("dx", "dh_prev", "dW_ih", "dW_hh", "db"))
        p.gradcheck(lambda v: float(np.sum(_R.rnn_step_forward(_x, v, _Wi, _Wh, _b) * _dh)),
                    lambda v: rnn_step_backward(_dh, _x, v, np.tanh(_x @ _Wi.T + v @ _Wh.T + _b), _Wi, _Wh)[1],
                    _hp, f"dh_prev for N={_n}, D={_d}, H={_h}")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 2: one LSTM step (7 points)
#
# The LSTM (seed 7.3) has a cell state $c$ next to the hidden state. The pre-activation
# `a = x @ W_ih.T + h_prev @ W_hh.T + b` of shape `(N, 4H)` holds four blocks in the order
# **i, f, g, o** (PyTorch's): `a[:, :H]` is the input gate, `a[:, H:2H]` the forget gate,
# `a[:, 2H:3H]` the cell candidate and `a[:, 3H:]` the output gate. Then
#
# $i = \sigma(a_i),\; f = \sigma(a_f),\; g = \tanh(a_g),\; o = \sigma(a_o)$, $\quad c_t = f\circ c_{t-1} + i\circ g$, $\quad h_t = o\circ\tanh(c_t)$.
#
# `lstm_step_forward(x, h_prev, c_prev, W_ih, W_hh, b)` returns `(h, c)`, each `(N, H)`.
#
# `lstm_step_backward(dh, dc, x, h_prev, c_prev, W_ih, W_hh, b)` receives the gradients of the
# loss with respect to this step's `h` **and** `c` (the cell state also flows to the next step) and
# returns `(dx, dh_prev, dc_prev, dW_ih, dW_hh, db)`. Recompute the forward values you need. Hints:
# the total gradient reaching $c_t$ is `dc + dh * o * (1 - tanh(c)**2)`; $\sigma' = \sigma(1-\sigma)$.
# %% [answer] id=lstm_step_answer
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_step_forward(x, h_prev, c_prev, W_ih, W_hh, b):
    """One LSTM step -> (h, c), each (N, H); gates in the order i, f, g, o."""
    ### BEGIN SOLUTION
    hsz = h_prev.shape[1]
    a = x @ W_ih.T + h_prev @ W_hh.T + b
    i, f = _sigmoid(a[:, :hsz]), _sigmoid(a[:, hsz:2 * hsz])
    g, o = np.tanh(a[:, 2 * hsz:3 * hsz]), _sigmoid(a[:, 3 * hsz:])
    c = f * c_prev + i * g
    return o * np.tanh(c), c
    ### END SOLUTION


def lstm_step_backward(dh, dc, x, h_prev, c_prev, W_ih, W_hh, b):
    """(dx, dh_prev, dc_prev, dW_ih, dW_hh, db) of one LSTM step."""
    ### BEGIN SOLUTION
    hsz = h_prev.shape[1]
    a = x @ W_ih.T + h_prev @ W_hh.T + b
    i, f = _sigmoid(a[:, :hsz]), _sigmoid(a[:, hsz:2 * hsz])
    g, o = np.tanh(a[:, 2 * hsz:3 * hsz]), _sigmoid(a[:, 3 * hsz:])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    dc_total = dc + dh * o * (1.0 - tanh_c ** 2)
    da = np.concatenate([dc_total * g * i * (1 - i), dc_total * c_prev * f * (1 - f),
                         dc_total * i * (1 - g ** 2), dh * tanh_c * o * (1 - o)], axis=1)
    return da @ W_ih, da @ W_hh, dc_total * f, da.T @ x, da.T @ h_prev, da.sum(axis=0)
    ### END SOLUTION
# %% [tests] id=lstm_step_tests points=3
with G.part("07_rnn/lstm_step", points=3) as p:
    x_demo, hp_demo, cp_demo = np.array([[1.0, 2.0]]), np.array([[0.5, -0.5]]), np.array([[1.0, -2.0]])
    p.expect_close(p.call(lstm_step_forward, x_demo, hp_demo, cp_demo, np.zeros((8, 2)), np.zeros((8, 2)), np.zeros(8)),
                   ([[0.23105857863000487, -0.3807970779778824]], [[0.5, -1.0]]),
                   "lstm_step_forward with all weights 0 = (h, c): every gate is sigmoid(0) = 0.5 and g = tanh(0) = 0, "
                   "so c = 0.5 c_prev and h = 0.5 tanh(c)")
    W_ih_demo = np.array([[0.1, 0.2], [-0.3, 0.1], [0.0, 0.5], [0.2, -0.2], [0.3, 0.3], [-0.1, 0.4], [0.5, 0.0],
                          [0.0, -0.5]])
    W_hh_demo = np.array([[0.1, 0.0], [0.0, 0.1], [0.2, 0.2], [-0.2, 0.1], [0.0, 0.3], [0.1, -0.1], [0.3, 0.0],
                          [0.0, 0.2]])
    b_demo = np.array([0.0, 0.1, 1.0, 1.0, 0.0, 0.0, 0.0, 0.5])
    p.expect_close(p.call(lstm_step_forward, x_demo, hp_demo, cp_demo, W_ih_demo, W_hh_demo, b_demo),
                   ([[0.5633421586424984, -0.2684120730346606]], [[1.2835676342798856, -0.990301271011205]]),
                   "lstm_step_forward(x=[[1, 2]], h_prev=[[0.5, -0.5]], c_prev=[[1, -2]], W_ih (8, 2), W_hh (8, 2), b (8,)) "
                   "= (h, c) (gate order i, f, g, o)")
    dx_l, dhp_l, dcp_l, dWi_l, dWh_l, db_l = p.call(lstm_step_backward, np.array([[1.0, -1.0]]), np.array([[0.5, 0.0]]),
                                                  x_demo, hp_demo, cp_demo, W_ih_demo, W_hh_demo, b_demo)
    p.expect_close((dx_l, dhp_l, dcp_l, db_l),
                   ([[0.2082814793527221, 0.012505232124340723]], [[0.06432148657811755, 0.1337237678417404]],
                    [[0.5936418669299823, -0.0992243673206305]],
                    [0.09931767300699192, -0.02505571406701189, 0.07076384517271905, 0.06806583967763571,
                     0.2549785833178385, -0.04116021726389177, 0.19322046634930293, 0.1733019476219674]),
                   "lstm_step_backward(dh=[[1, -1]], dc=[[0.5, 0]], ...) for the example above = (dx, dh_prev, dc_prev, "
                   "..., db)")
    rng_lstm = np.random.default_rng(1)
    x_r, hp_r, cp_r = rng_lstm.normal(size=(3, 2)), rng_lstm.normal(size=(3, 3)), rng_lstm.normal(size=(3, 3))
    Wi_r, Wh_r, b_r = rng_lstm.normal(size=(12, 2)), rng_lstm.normal(size=(12, 3)) / 2, rng_lstm.normal(size=12)
    dh_r, dc_r = rng_lstm.normal(size=(3, 3)), rng_lstm.normal(size=(3, 3))
    args_r = {"x": x_r, "h_prev": hp_r, "c_prev": cp_r, "W_ih": Wi_r, "W_hh": Wh_r, "b": b_r}
    outputs = {"x": 0, "h_prev": 1, "c_prev": 2, "W_ih": 3, "W_hh": 4, "b": 5}

    def lstm_loss(**changed):
        h_out, c_out = lstm_step_forward(**{**args_r, **changed})
        return np.sum(h_out * dh_r) + np.sum(c_out * dc_r)

    for name, index in outputs.items():
        p.gradcheck(lambda v, name=name: lstm_loss(**{name: v}),
                    lambda v, name=name, index=index: lstm_step_backward(dh_r, dc_r, **{**args_r, name: v})[index],
                    args_r[name], f"the gradient for {name} compared with finite differences of your lstm_step_forward")
# %% [tests] id=lstm_step_hidden points=4
# Hidden tests (4 points): random sizes, with gradient checks.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a07_rnn as _R
_rng = np.random.default_rng(7102)
with G.part("07_rnn/lstm_step", points=4, hidden=True) as p:
    for _n, _d, _h in [(1, 1, 1), (4, 3, 5), (8, 6, 7)]:
        _x, _hp, _cp = _rng.normal(size=(_n, _d)), _rng.normal(size=(_n, _h)), 2 * _rng.normal(size=(_n, _h))
        _Wi, _Wh = _rng.normal(size=(4 * _h, _d)), _rng.normal(size=(4 * _h, _h)) / np.sqrt(_h)
        _b = _rng.normal(size=4 * _h)
        p.compare(lstm_step_forward, _R.lstm_step_forward, _x, _hp, _cp, _Wi, _Wh, _b, names=("h", "c"))
        _dh, _dc = _rng.normal(size=(_n, _h)), _rng.normal(size=(_n, _h))
        p.compare(lstm_step_backward, _R.lstm_step_backward, _dh, _dc, _x, _hp, _cp, _Wi, _Wh, _b,
                  names=("dx", "dh_prev", "dc_prev", "dW_ih", "dW_hh", "db"))

        def _loss(x=_x, hp=_hp, cp=_cp, Wh=_Wh):
            _h_out, _c_out = _R.lstm_step_forward(x, hp, cp, _Wi, Wh, _b)
            return float(np.sum(_h_out * _dh) + np.sum(_c_out * _dc))
        p.gradcheck(lambda v: _loss(cp=v), lambda v: lstm_step_backward(_dh, _dc, _x, _hp, v, _Wi, _Wh, _b)[2], _cp,
                    f"dc_prev for N={_n}, D={_d}, H={_h}")
        p.gradcheck(lambda v: _loss(Wh=v), lambda v: lstm_step_backward(_dh, _dc, _x, _hp, _cp, _Wi, v, _b)[4], _Wh,
                    f"dW_hh for N={_n}, D={_d}, H={_h}")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 3: a whole sequence and backpropagation through time (6 points)
#
# `rnn_forward(x, h0, W_ih, W_hh, b)` runs the RNN over `x (N, T, D)` from the initial state
# `h0 (N, H)` and returns every hidden state, `hs (N, T, H)` (`hs[:, t]` is $h_t$; use your
# `rnn_step_forward`).
#
# `rnn_backward(dhs, x, h0, W_ih, W_hh, b)` receives `dhs (N, T, H)`, the gradient of the loss with
# respect to every hidden state **from the layers above** (e.g. a readout at every step, or only
# at the last one), and returns `(dx (N, T, D), dh0 (N, H), dW_ih, dW_hh, db)`. Go backwards in
# time: the gradient reaching $h_t$ is `dhs[:, t]` plus what step $t+1$ sends back through
# `dh_prev`; the weights are shared, so their gradients are **summed** over all steps.
# %% [answer] id=rnn_sequence_answer
def rnn_forward(x, h0, W_ih, W_hh, b):
    """All hidden states (N, T, H) of a tanh RNN over x (N, T, D)."""
    ### BEGIN SOLUTION
    n, steps, _ = x.shape
    hs = np.zeros((n, steps, h0.shape[1]))
    h = h0
    for t in range(steps):
        h = rnn_step_forward(x[:, t], h, W_ih, W_hh, b)
        hs[:, t] = h
    return hs
    ### END SOLUTION


def rnn_backward(dhs, x, h0, W_ih, W_hh, b):
    """BPTT: (dx (N, T, D), dh0 (N, H), dW_ih, dW_hh, db)."""
    ### BEGIN SOLUTION
    hs = rnn_forward(x, h0, W_ih, W_hh, b)
    steps = x.shape[1]
    dx = np.zeros_like(x, dtype=float)
    dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros_like(b)
    dh_next = np.zeros_like(h0, dtype=float)
    for t in range(steps - 1, -1, -1):
        h_prev = hs[:, t - 1] if t > 0 else h0
        dx_t, dh_next, dWi, dWh, db_t = rnn_step_backward(dhs[:, t] + dh_next, x[:, t], h_prev, hs[:, t], W_ih, W_hh)
        dx[:, t] = dx_t
        dW_ih, dW_hh, db = dW_ih + dWi, dW_hh + dWh, db + db_t
    return dx, dh_next, dW_ih, dW_hh, db
    ### END SOLUTION
# %% [tests] id=rnn_sequence_tests points=2
with G.part("07_rnn/rnn_sequence", points=2) as p:
    x_seq, h0_seq = np.array([[[1.0], [0.0], [-1.0]]]), np.zeros((1, 2))
    Wi_seq, Wh_seq, b_seq = np.array([[1.0], [-0.5]]), np.array([[0.5, 0.0], [0.2, 0.5]]), np.zeros(2)
    p.expect_close(p.call(rnn_forward, x_seq, h0_seq, Wi_seq, Wh_seq, b_seq),
                   [[[0.7615941559557649, -0.46211715726000974], [0.36339948438905245, -0.07857742254730979],
                     [-0.6741436761583508, 0.48796906074032936]]],
                   "rnn_forward(x = [1, 0, -1] as (1, 3, 1), h0 = 0, W_ih (2, 1), W_hh (2, 2), b = 0)")
    dhs_seq = np.zeros((1, 3, 2))
    dhs_seq[0, 2] = [1.0, 0.0]
    p.expect_close(p.call(rnn_backward, dhs_seq, x_seq, h0_seq, Wi_seq, Wh_seq, b_seq),
                   ([[[0.04971320449076341], [0.23674400821587294], [0.5455303038957047]]], [[0.024856602245381706, 0.0]],
                    [[-0.49581709940494123], [0.0]], [[0.37854828426905457, -0.15226983327663468], [0.0, 0.0]],
                    [0.831987516602341, 0.0]),
                   "rnn_backward with a gradient only at the last step, dhs[0, 2] = [1, 0] = (dx, dh0, dW_ih, dW_hh, db) "
                   "(the gradient must flow back to the earlier steps)")
    rng_seq = np.random.default_rng(2)
    x_r, h0_r = rng_seq.normal(size=(2, 4, 3)), rng_seq.normal(size=(2, 3))
    Wi_r, Wh_r, b_r = rng_seq.normal(size=(3, 3)), rng_seq.normal(size=(3, 3)) / 2, rng_seq.normal(size=3)
    dhs_r = rng_seq.normal(size=(2, 4, 3))
    p.gradcheck(lambda v: np.sum(rnn_forward(x_r, h0_r, Wi_r, v, b_r) * dhs_r),
                lambda v: rnn_backward(dhs_r, x_r, h0_r, Wi_r, v, b_r)[3], Wh_r,
                "dW_hh compared with finite differences of your rnn_forward (summed over the 4 steps)")
    p.gradcheck(lambda v: np.sum(rnn_forward(v, h0_r, Wi_r, Wh_r, b_r) * dhs_r),
                lambda v: rnn_backward(dhs_r, v, h0_r, Wi_r, Wh_r, b_r)[0], x_r,
                "dx compared with finite differences of your rnn_forward")
# %% [tests] id=rnn_sequence_hidden points=4
# Hidden tests (4 points): random sizes and lengths, with gradient checks.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a07_rnn as _R
_rng = np.random.default_rng(7103)
with G.part("07_rnn/rnn_sequence", points=4, hidden=True) as p:
    for _n, _t, _d, _h in [(1, 1, 1, 1), (3, 5, 2, 4), (4, 12, 3, 6)]:
        _x, _h0 = _rng.normal(size=(_n, _t, _d)), _rng.normal(size=(_n, _h))
        _Wi, _Wh, _b = _rng.normal(size=(_h, _d)), _rng.normal(size=(_h, _h)) / np.sqrt(_h), _rng.normal(size=_h)
        p.compare(rnn_forward, _R.rnn_forward, _x, _h0, _Wi, _Wh, _b)
        _dhs = _rng.normal(size=(_n, _t, _h))
        p.compare(rnn_backward, _R.rnn_backward, _dhs, _x, _h0, _Wi, _Wh, _b,
                  names=("dx", "dh0", "dW_ih", "dW_hh", "db"))
        _last = np.zeros((_n, _t, _h))
        _last[:, -1] = _rng.normal(size=(_n, _h))
        p.compare(rnn_backward, _R.rnn_backward, _last, _x, _h0, _Wi, _Wh, _b,
                  names=("dx", "dh0", "dW_ih", "dW_hh", "db"))
        p.gradcheck(lambda v: float(np.sum(_R.rnn_forward(_x, v, _Wi, _Wh, _b) * _dhs)),
                    lambda v: rnn_backward(_dhs, _x, v, _Wi, _Wh, _b)[1], _h0, f"dh0 for N={_n}, T={_t}, H={_h}")
### END HIDDEN TESTS
