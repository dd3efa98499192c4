"""Recurrent layers (seed 7.2–7.3): per-step reference loops, BPTT gradient checks, the adding problem."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcourse.gradcheck import check_module, numerical_gradient, relative_error
from dlcourse.nn import (LSTM, RNN, lstm_step_backward, lstm_step_forward, rnn_step_backward,
                         rnn_step_forward)

pytestmark = pytest.mark.rnn


def randn(shape, seed, scale=1.0):
    return np.random.default_rng(seed + 500).standard_normal(shape) * scale


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # σ without overflow warnings


def reference_rnn(x, h0, w_ih, w_hh, b):
    """Seed 7.2, written out one step at a time."""
    n, t, _ = x.shape
    h, out = h0, []
    for s in range(t):
        h = np.tanh(x[:, s] @ w_ih.T + h @ w_hh.T + b)
        out.append(h)
    return np.stack(out, axis=1)


def reference_lstm(x, h0, c0, w_ih, w_hh, b):
    """Seed 7.3 (PyTorch gate order i, f, g, o), one step at a time; returns h (N,T,H), c, gates."""
    n, t, _ = x.shape
    hsz = h0.shape[1]
    h, c, hs, cs = h0, c0, [], []
    gates = {k: [] for k in "ifgo"}
    for s in range(t):
        a = x[:, s] @ w_ih.T + h @ w_hh.T + b
        i, f = sigmoid(a[:, :hsz]), sigmoid(a[:, hsz:2 * hsz])
        g, o = np.tanh(a[:, 2 * hsz:3 * hsz]), sigmoid(a[:, 3 * hsz:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
        for k, v in zip("ifgo", (i, f, g, o)):
            gates[k].append(v)
    return np.stack(hs, 1), np.stack(cs, 1), {k: np.stack(v, 1) for k, v in gates.items()}


def params64(layer):
    return [p.data.astype(np.float64) for p in (layer.weight_ih, layer.weight_hh, layer.bias)]


# -- forward against the per-step loops ------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), t=st.integers(1, 6), d=st.integers(1, 4), h=st.integers(1, 5), seed=st.integers(0, 1000))
def test_rnn_forward_matches_per_step_loop(n, t, d, h, seed):
    rnn = RNN(d, h, rng=seed).double()
    x, h0 = randn((n, t, d), seed), randn((n, h), seed + 1)
    np.testing.assert_allclose(rnn(x, h0), reference_rnn(x, h0, *params64(rnn)), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(rnn(x), reference_rnn(x, np.zeros((n, h)), *params64(rnn)), rtol=1e-12, atol=1e-13)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), t=st.integers(1, 6), d=st.integers(1, 4), h=st.integers(1, 5), seed=st.integers(0, 1000))
def test_lstm_forward_matches_per_step_loop(n, t, d, h, seed):
    lstm = LSTM(d, h, rng=seed).double()
    x, h0, c0 = randn((n, t, d), seed, 2.0), randn((n, h), seed + 1), randn((n, h), seed + 2)
    ref_h, ref_c, ref_gates = reference_lstm(x, h0, c0, *params64(lstm))
    np.testing.assert_allclose(lstm(x, h0, c0), ref_h, rtol=1e-10, atol=1e-12)
    for k in "ifgo":
        assert lstm.gates[k].shape == (n, t, h)
        np.testing.assert_allclose(lstm.gates[k], ref_gates[k], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(lstm.gates["c"], ref_c, rtol=1e-10, atol=1e-12)


def test_lstm_saturated_gates_give_no_warnings_and_correct_limits():
    lstm = LSTM(2, 3, rng=0).double()
    x = randn((2, 4, 2), 3, scale=500.0)  # pre-activations in the hundreds
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = lstm(x)
        lstm.backward(np.ones_like(out))
    ref_h, _, _ = reference_lstm(x, np.zeros((2, 3)), np.zeros((2, 3)), *params64(lstm))
    np.testing.assert_allclose(out, ref_h, atol=1e-12)
    assert np.isfinite(lstm.weight_ih.grad).all()


def test_step_functions_match_the_layers_for_one_step():
    x, h0, c0 = randn((3, 1, 4), 1), randn((3, 5), 2), randn((3, 5), 3)
    rnn, lstm = RNN(4, 5, rng=1).double(), LSTM(4, 5, rng=2).double()
    h, _ = rnn_step_forward(x[:, 0], h0, *params64(rnn))
    np.testing.assert_allclose(h, rnn(x, h0)[:, 0], rtol=1e-13)
    h, c, _ = lstm_step_forward(x[:, 0], h0, c0, *params64(lstm))
    np.testing.assert_allclose(h, lstm(x, h0, c0)[:, 0], rtol=1e-12)
    np.testing.assert_allclose(c, lstm.gates["c"][:, 0], rtol=1e-12)


# -- gradients ----------------------------------------------------------------------------------------
def _numeric_step_grads(fn, args, douts):
    """Finite-difference gradients of sum(out_k * dout_k) w.r.t. every argument of a step function."""
    def f():
        outs = fn(*args)[:len(douts)]
        return float(sum(np.sum(o * d) for o, d in zip(outs, douts)))
    return [numerical_gradient(f, a) for a in args]


def test_rnn_step_backward_against_finite_differences():
    args = [randn((3, 4), 1), randn((3, 5), 2), randn((5, 4), 3, 0.5), randn((5, 5), 4, 0.5), randn((5,), 5)]
    dh = randn((3, 5), 6)
    _, cache = rnn_step_forward(*args)
    analytic = rnn_step_backward(dh, cache)
    for a, n in zip(analytic, _numeric_step_grads(rnn_step_forward, args, [dh])):
        assert relative_error(a, n) < 1e-7


def test_lstm_step_backward_against_finite_differences():
    args = [randn((3, 4), 1), randn((3, 5), 2), randn((3, 5), 3), randn((20, 4), 4, 0.5),
            randn((20, 5), 5, 0.5), randn((20,), 6)]
    dh, dc = randn((3, 5), 7), randn((3, 5), 8)
    _, _, cache = lstm_step_forward(*[a.copy() for a in args])
    dx, dh_prev, dc_prev, dw_ih, dw_hh, db = lstm_step_backward(dh, dc, cache)
    numeric = _numeric_step_grads(lstm_step_forward, args, [dh, dc])
    for a, n in zip((dx, dh_prev, dc_prev, dw_ih, dw_hh, db), numeric):
        assert relative_error(a, n) < 1e-7


@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 3), t=st.integers(1, 5), d=st.integers(1, 3), h=st.integers(1, 4), seed=st.integers(0, 1000))
def test_bptt_gradient_checks(n, t, d, h, seed):
    """Input and every parameter, weight_hh included, through all time steps."""
    x = randn((n, t, d), seed)
    check_module(RNN(d, h, rng=seed), x).assert_ok()
    check_module(LSTM(d, h, rng=seed, forget_bias=1.0), x).assert_ok()


def test_bptt_long_sequence_and_batch_one():
    check_module(RNN(2, 3, rng=0), randn((1, 12, 2), 1)).assert_ok()
    check_module(LSTM(2, 3, rng=0), randn((1, 12, 2), 2)).assert_ok()


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_gradients_of_initial_states(cls):
    layer = cls(3, 4, rng=1).double()
    x, dout = randn((2, 5, 3), 1), randn((2, 5, 4), 2)
    states = [randn((2, 4), 3), randn((2, 4), 4)][: 1 if cls is RNN else 2]
    layer(x, *states)
    layer.backward(dout)
    analytic = [layer.dh0] + ([layer.dc0] if cls is LSTM else [])
    for state, grad in zip(states, analytic):
        numeric = numerical_gradient(lambda: float(np.sum(layer(x, *states) * dout)), state)
        assert relative_error(grad, numeric) < 1e-7


def test_lstm_reuses_its_work_buffer_safely_across_shapes_and_dtypes():
    """The backward pass keeps one work array between calls; new shapes and dtypes must not see stale data."""
    reused = LSTM(3, 4, rng=5)
    for n, t, dtype in [(2, 6, np.float64), (3, 6, np.float64), (2, 9, np.float32), (2, 6, np.float64)]:
        x, dout = randn((n, t, 3), n + t).astype(dtype), randn((n, t, 4), 7).astype(dtype)
        fresh = LSTM(3, 4, rng=5)
        for layer in (reused, fresh):
            layer.zero_grad()
            layer.to(dtype)
            layer(x)
        np.testing.assert_array_equal(reused.backward(dout), fresh.backward(dout))
        np.testing.assert_array_equal(reused.weight_hh.grad, fresh.weight_hh.grad)


def test_lstm_local_grads_agree_in_both_layouts():
    """The same formulas serve the batch-major step functions and the feature-major layer."""
    from dlcourse.nn.recurrent import lstm_gates, lstm_local_grads

    gates = lstm_gates(randn((5, 12), 1))                      # (N, 4H), H = 3
    c_prev, tanh_c = randn((5, 3), 2), np.tanh(randn((5, 3), 3))
    p, k = lstm_local_grads(gates, c_prev, tanh_c)
    p_fm, k_fm = lstm_local_grads(gates.T.copy(), c_prev.T.copy(), tanh_c.T.copy(), axis=-2)
    np.testing.assert_allclose(p_fm, p.T, rtol=1e-14)
    np.testing.assert_allclose(k_fm, k.T, rtol=1e-14)
    np.testing.assert_allclose(lstm_gates(randn((5, 12), 1).T.copy(), axis=-2), gates.T, rtol=1e-14)


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_time_loops_use_one_blas_thread_and_restore_the_setting(cls, monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits

    import dlcourse.nn.recurrent as recurrent

    def blas_threads():
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    seen = []
    real_matmul = np.matmul

    def spy(*args, **kwargs):
        seen.append(blas_threads())
        return real_matmul(*args, **kwargs)

    layer = cls(3, 4, rng=0)
    x = randn((2, 3, 3), 0).astype(np.float32)
    with threadpool_limits(limits=2, user_api="blas"):
        monkeypatch.setattr(recurrent.np, "matmul", spy)
        layer.backward(np.ones_like(layer(x)))
        monkeypatch.undo()
        assert blas_threads() == {2}
    assert seen and {1} in seen                                  # the per-step products


def test_parameter_gradients_accumulate():
    lstm = LSTM(2, 3, rng=0).double()
    x, dout = randn((2, 4, 2), 1), randn((2, 4, 3), 2)
    lstm(x)
    lstm.backward(dout)
    once = lstm.weight_hh.grad.copy()
    lstm(x)
    lstm.backward(dout)
    np.testing.assert_allclose(lstm.weight_hh.grad, 2 * once)


# -- contract details ---------------------------------------------------------------------------------
def test_shapes_layouts_dtype_and_forget_bias():
    lstm = LSTM(10, 8, forget_bias=1.0, rng=0)
    assert lstm.weight_ih.shape == (32, 10) and lstm.weight_hh.shape == (32, 8) and lstm.bias.shape == (32,)
    np.testing.assert_array_equal(lstm.bias.data[8:16], 1.0)
    assert np.all(np.abs(lstm.weight_hh.data) <= 1 / np.sqrt(8))          # PyTorch's U(±1/sqrt(H))
    rnn = RNN(10, 8, rng=0)
    assert rnn.weight_ih.shape == (8, 10) and rnn.weight_hh.shape == (8, 8)
    x = randn((4, 6, 10), 0).astype(np.float32)
    for layer in (lstm, rnn):
        out = layer(x)
        assert out.shape == (4, 6, 8) and out.dtype == np.float32
        dx = layer.backward(np.ones_like(out))
        assert dx.shape == x.shape and dx.dtype == np.float32
        assert layer.weight_hh.grad.dtype == np.float32
    assert not lstm.gates["i"].flags.writeable
    np.testing.assert_allclose(out[:, -1], rnn(x)[:, -1])


def test_lstm_gate_views_are_consistent():
    lstm = LSTM(3, 4, rng=0).double()
    out = lstm(randn((2, 5, 3), 0))
    g = lstm.gates
    np.testing.assert_allclose(out, g["o"] * np.tanh(g["c"]), rtol=1e-12)
    assert np.all((g["f"] > 0) & (g["f"] < 1)) and np.all(np.abs(g["g"]) < 1)


def test_bad_input_is_rejected_with_the_layer_name():
    lstm = LSTM(3, 4)
    with pytest.raises(ValueError, match="LSTM.*input_size"):
        lstm(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match="LSTM.*N, T, D"):
        lstm(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="h0"):
        lstm(np.zeros((2, 5, 3)), np.zeros((3, 4)))
    with pytest.raises(TypeError, match="RNN.*floating"):
        RNN(3, 4)(np.zeros((2, 5, 3), dtype=np.int64))
    with pytest.raises(RuntimeError, match="before forward"):
        RNN(3, 4).backward(np.zeros((2, 5, 4)))
    rnn = RNN(3, 4)
    rnn(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="dout"):
        rnn.backward(np.zeros((2, 4, 4)))


# -- held-out accuracy: the adding problem ------------------------------------------------------------
def _train_adding(cls, steps, rng_seed, eval_every=100, target=None, **kw):
    from dlcourse.data.sequences import make_adding_problem
    from dlcourse.nn import Linear, MSELoss
    from dlcourse.optim import Adam

    rng = np.random.default_rng(rng_seed)
    rnn, head = cls(2, 32, rng=rng, **kw), Linear(32, 1, rng=rng)
    opt = Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-2)
    loss_fn = MSELoss()
    x_val, y_val = make_adding_problem(500, 50, rng=np.random.default_rng(10_000 + rng_seed))

    def val_mse():
        return float(np.mean((head(rnn(x_val)[:, -1]) - y_val) ** 2))

    mse = val_mse()
    for step in range(1, steps + 1):
        x, y = make_adding_problem(64, 50, rng=rng)
        hs = rnn(x)
        loss_fn(head(hs[:, -1]), y)
        opt.zero_grad()
        dhs = np.zeros_like(hs)
        dhs[:, -1] = head.backward(loss_fn.backward())
        rnn.backward(dhs)
        opt.step()
        if step % eval_every == 0:
            mse = val_mse()
            if target is not None and mse < target:
                break
    return mse, step


@pytest.mark.accuracy
def test_lstm_solves_adding_problem_where_vanilla_rnn_stays_at_baseline():
    """T = 50: the first marked number must be carried ~25–50 steps.  Held-out MSE vs the 1/6 baseline."""
    lstm_mse, steps = _train_adding(LSTM, 1500, rng_seed=0, target=0.01, forget_bias=1.0)
    rnn_mse, _ = _train_adding(RNN, steps, rng_seed=0)  # the same number of updates
    assert lstm_mse < 0.05, f"LSTM held-out MSE {lstm_mse:.4f} after {steps} steps (baseline 0.167)"
    assert rnn_mse > 0.12, f"vanilla RNN held-out MSE {rnn_mse:.4f} should stay near the baseline 0.167"
