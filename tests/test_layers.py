"""Dense layers and the activations of seed 4.1: closed forms, float64 gradient checks, errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcourse.gradcheck import check_module
from dlcourse.nn import (ELU, Dropout, LeakyReLU, Linear, Maxout, PReLU, ReLU, Sequential, Sigmoid, Softmax, Step,
                         Tanh)

pytestmark = pytest.mark.layers

shapes = st.tuples(st.integers(1, 5), st.integers(1, 6))


def away_from_kinks(shape, seed):
    """Random inputs with |x| > 0.05 so finite differences never straddle a kink (ReLU at 0)."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < 0.05, 0.5, x)


@settings(max_examples=20, deadline=None)
@given(shape=shapes, seed=st.integers(0, 10_000),
       layer=st.sampled_from([Sigmoid, Tanh, ReLU, LeakyReLU, ELU, Softmax, PReLU, lambda: LeakyReLU(0.2),
                              lambda: ELU(0.5), lambda: Softmax(dim=0)]))
def test_activation_gradients(shape, seed, layer):
    check_module(layer(), away_from_kinks(shape, seed)).assert_ok()


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5), d_in=st.integers(1, 7), d_out=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_linear_gradients(n, d_in, d_out, seed):
    check_module(Linear(d_in, d_out), np.random.default_rng(seed).standard_normal((n, d_in))).assert_ok()
    check_module(Linear(d_in, d_out, bias=False), np.random.default_rng(seed).standard_normal((n, 2, d_in))).assert_ok()


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), pieces=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_maxout_gradients(n, pieces, seed):
    check_module(Maxout(3, 2, pieces=pieces), np.random.default_rng(seed).standard_normal((n, 3))).assert_ok()


def test_prelu_per_channel_and_dropout_gradients():
    check_module(PReLU(num_parameters=3), away_from_kinks((2, 3, 4), 1)).assert_ok()
    check_module(Sequential(Linear(4, 5), Dropout(0.3), Tanh()), np.random.default_rng(2).standard_normal((3, 4))).assert_ok()


def test_gradcheck_catches_a_wrong_backward():
    class BrokenTanh(Tanh):
        def _df(self):
            return 1 - self._out  # should be 1 - out**2

    report = check_module(BrokenTanh(), np.random.default_rng(0).standard_normal((3, 4)))
    assert not report.passed
    with pytest.raises(AssertionError, match="input .* <-- wrong"):
        report.assert_ok()


def test_activation_values_match_their_formulas():
    s = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(Sigmoid()(s), 1 / (1 + np.exp(-s)))
    np.testing.assert_allclose(Tanh()(s), np.tanh(s))
    np.testing.assert_allclose(ReLU()(s), [0, 0, 0, 0.5, 3])
    np.testing.assert_allclose(LeakyReLU()(s), [-0.03, -0.005, 0, 0.5, 3])
    np.testing.assert_allclose(PReLU()(s), [-0.75, -0.125, 0, 0.5, 3])
    np.testing.assert_allclose(ELU(2.0)(s), [2 * (np.exp(-3) - 1), 2 * (np.exp(-0.5) - 1), 0, 0.5, 3])
    np.testing.assert_allclose(Step()(s), [0, 0, 1, 1, 1])  # seed 4.1.9: 1 for s >= 0
    p = Softmax()(s[None])
    np.testing.assert_allclose(p, np.exp(s)[None] / np.exp(s).sum())


def test_activation_derivatives_match_closed_forms():
    s = np.array([-3.0, -0.5, 0.5, 3.0])
    ones = np.ones_like(s)
    sig = 1 / (1 + np.exp(-s))
    for layer, expected in [(Sigmoid(), sig * (1 - sig)), (Tanh(), 1 - np.tanh(s) ** 2), (ReLU(), [0, 0, 1, 1]),
                            (LeakyReLU(0.1), [0.1, 0.1, 1, 1]), (ELU(1.0), [np.exp(-3), np.exp(-0.5), 1, 1]),
                            (Step(), [0, 0, 0, 0])]:
        layer(s)
        np.testing.assert_allclose(layer.backward(ones), expected, err_msg=type(layer).__name__)


def test_sigmoid_and_softmax_are_stable_for_huge_inputs():
    x = np.array([[-1000.0, 0.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert np.all(np.isfinite(Sigmoid()(x)))
        np.testing.assert_allclose(Softmax()(x), [[0, 0, 1]])


def test_prelu_alpha_gets_gradient_and_maxout_has_pieces_times_parameters():
    layer = PReLU()
    layer(np.array([-2.0, 1.0, -1.0]))
    layer.backward(np.array([1.0, 1.0, 3.0]))
    np.testing.assert_allclose(layer.weight.grad, [-2.0 - 3.0])
    assert Maxout(10, 4, pieces=3).num_parameters() == 3 * (10 * 4 + 4)


def test_dropout_drops_with_probability_p_and_keeps_the_mean():
    x = np.ones((200, 500), np.float32)
    y = Dropout(0.3)(x)
    assert y.dtype == np.float32
    assert abs((y == 0).mean() - 0.3) < 0.01
    assert abs(y.mean() - 1.0) < 0.02
    d = Dropout(0.3).eval()
    np.testing.assert_array_equal(d(x), x)
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\)"):
        Dropout(1.0)


def test_linear_rejects_wrong_width_integer_input_and_keeps_float32():
    layer = Linear(4, 2)
    with pytest.raises(ValueError, match=r"Linear expected input with in_features .* = 4.*got shape \(3, 5\)"):
        layer(np.zeros((3, 5), np.float32))
    with pytest.raises(TypeError, match="Linear expected a floating-point input.*int64"):
        layer(np.zeros((3, 4), np.int64))
    assert layer(np.zeros((3, 4), np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="positive integer"):
        Linear(0, 3)
