"""MaxPool2d and AvgPool2d (seed 6.4): closed forms, loops vs fast, gradients, ties, errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcourse.gradcheck import check_module
from dlcourse.nn import AvgPool2d, Conv2d, MaxPool2d, pool_output_size
from dlcourse.nn.naive import (avg_pool_naive_backward, avg_pool_naive_forward, max_pool_naive_backward,
                               max_pool_naive_forward)

pytestmark = pytest.mark.conv


@st.composite
def pool_cases(draw):
    """Window, stride (overlapping, tiling or with gaps) and an input size the stride fits."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ho, wo = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), (ho - 1) * sh + kh, (wo - 1) * sw + kw)
    return (kh, kw), (sh, sw), shape, draw(st.integers(0, 10_000))


def distinct_values(shape, seed):
    """A random permutation of well separated values: no ties, so finite differences never move an argmax."""
    size = int(np.prod(shape))
    # small magnitudes keep the rounding error of the finite differences (~eps·|f|/h) far below 1e-6
    return (np.random.default_rng(seed).permutation(size).reshape(shape) - size / 2) * 0.01


def test_closed_forms_of_the_lecture():
    """Seed 6.4.2/6.4.3 on a 4×4 image with F = S = 2."""
    x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=np.float64)[None, None]
    np.testing.assert_array_equal(MaxPool2d(2)(x)[0, 0], [[6, 8], [3, 4]])
    np.testing.assert_array_equal(AvgPool2d(2)(x)[0, 0], [[13 / 4, 21 / 4], [2, 2]])
    np.testing.assert_array_equal(MaxPool2d(3, stride=1)(x)[0, 0], [[7, 8], [7, 8]])


@settings(max_examples=25, deadline=None)
@given(case=pool_cases())
def test_max_pool_gradients(case):
    kernel, stride, shape, seed = case
    check_module(MaxPool2d(kernel, stride), distinct_values(shape, seed)).assert_ok()


@settings(max_examples=25, deadline=None)
@given(case=pool_cases())
def test_avg_pool_gradients(case):
    kernel, stride, shape, seed = case
    check_module(AvgPool2d(kernel, stride), np.random.default_rng(seed).standard_normal(shape)).assert_ok()


@settings(max_examples=25, deadline=None)
@given(case=pool_cases(), ties=st.booleans())
def test_fast_pooling_matches_naive_loops(case, ties):
    """Agreement to 1e-10, also with many ties (small integers: equal maxima inside windows)."""
    kernel, stride, shape, seed = case
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape).astype(np.float64) if ties else rng.standard_normal(shape)
    for layer, fwd, bwd in [(MaxPool2d(kernel, stride), max_pool_naive_forward, max_pool_naive_backward),
                            (AvgPool2d(kernel, stride), avg_pool_naive_forward, avg_pool_naive_backward)]:
        out = layer(x)
        np.testing.assert_allclose(out, fwd(x, kernel, stride), rtol=0, atol=1e-10)
        dout = rng.standard_normal(out.shape)
        np.testing.assert_allclose(layer.backward(dout), bwd(dout, x, kernel, stride), rtol=0, atol=1e-10)


@pytest.mark.parametrize("kernel", [1, 2, 3, (2, 3), (3, 1)])
def test_tiling_fast_path_matches_naive_loops_with_ties(kernel):
    """stride = kernel_size takes the two-stage path (rows, then columns); ties after ReLU are common."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    rng = np.random.default_rng(kh * 10 + kw)
    x = np.maximum(rng.integers(-2, 3, (2, 3, 3 * kh, 4 * kw)), 0).astype(np.float64)
    for layer, fwd, bwd in [(MaxPool2d(kernel), max_pool_naive_forward, max_pool_naive_backward),
                            (AvgPool2d(kernel), avg_pool_naive_forward, avg_pool_naive_backward)]:
        out = layer(x)
        np.testing.assert_allclose(out, fwd(x, kernel), rtol=0, atol=1e-12)
        dout = rng.standard_normal(out.shape)
        np.testing.assert_allclose(layer.backward(dout), bwd(dout, x, kernel), rtol=0, atol=1e-12)
        check_module(layer, distinct_values(x.shape, kh + kw)).assert_ok()


def test_max_pool_tie_gives_the_gradient_to_one_element_only():
    """An all-zero window (common after ReLU) routes its gradient to the first element, like PyTorch."""
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, 1, 3] = 5.0
    pool = MaxPool2d(2)
    pool(x)
    dx = pool.backward(np.array([[[[3.0, 7.0]]]]))
    np.testing.assert_array_equal(dx[0, 0], [[3, 0, 0, 0], [0, 0, 0, 7]])
    overlapping = MaxPool2d(2, stride=1)
    overlapping(np.zeros((1, 1, 3, 3)))
    dx = overlapping.backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    assert dx.sum() == 4


def test_max_pool_gradient_goes_to_the_argmax_only():
    x = distinct_values((2, 3, 6, 4), 0)
    pool = MaxPool2d(2)
    out = pool(x)
    dx = pool.backward(np.ones_like(out))
    assert dx.sum() == out.size and set(np.unique(dx)) == {0.0, 1.0}
    np.testing.assert_array_equal(np.sort(x[dx == 1]), np.sort(out.ravel()))  # the maxima got it, nothing else


def test_floor_rounding_drops_the_border_like_pytorch():
    x = np.random.default_rng(1).standard_normal((1, 2, 5, 7))
    for layer in (MaxPool2d(2, rounding="floor"), AvgPool2d(2, rounding="floor")):
        out = layer(x)
        assert out.shape == (1, 2, 2, 3)
        np.testing.assert_allclose(out, type(layer)(2)(x[:, :, :4, :6]), atol=1e-12)
        dx = layer.backward(np.ones_like(out))
        assert np.all(dx[:, :, 4, :] == 0) and np.all(dx[:, :, :, 6] == 0)
        check_module(layer, distinct_values(x.shape, 2)).assert_ok()


@pytest.mark.parametrize("layer", [MaxPool2d, AvgPool2d])
def test_float32_stays_float32(layer):
    x = np.random.default_rng(2).standard_normal((2, 3, 8, 8)).astype(np.float32)
    pool = layer(2)
    out = pool(x)
    assert out.dtype == np.float32 and out.shape == (2, 3, 4, 4)
    dx = pool.backward(np.ones(out.shape, np.float64))
    assert dx.dtype == np.float32 and dx.shape == x.shape


def test_output_does_not_alias_the_cache():
    """Changing the returned output in place (an in-place ReLU) must not change the backward pass."""
    x = distinct_values((1, 1, 4, 4), 3)
    pool = MaxPool2d(2)
    out = pool(x)
    expected = pool.backward(np.ones_like(out))
    out[...] = -1
    np.testing.assert_array_equal(pool.backward(np.ones_like(out)), expected)


def test_pool_in_a_network():
    from dlcourse.nn import ReLU, Sequential
    net = Sequential(Conv2d(1, 2, 3, padding=1, rng=0), ReLU(), MaxPool2d(2), Conv2d(2, 2, 3, padding=1, rng=1),
                     AvgPool2d(2))
    check_module(net, distinct_values((2, 1, 4, 4), 4)).assert_ok()


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"\(7 - 2\)/2 \+ 1 = 3.5 is not an integer"):
        MaxPool2d(2)(np.zeros((1, 1, 7, 8)))
    with pytest.raises(ValueError, match="larger than the input"):
        AvgPool2d(3)(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        MaxPool2d(2)(np.zeros((4, 4)))
    with pytest.raises(TypeError, match="floating-point"):
        MaxPool2d(2)(np.zeros((1, 1, 4, 4), dtype=np.int32))
    with pytest.raises(ValueError, match="kernel_size"):
        MaxPool2d(0)
    pool = MaxPool2d(2)
    pool(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"dout of shape \(1, 1, 2, 2\)"):
        pool.backward(np.zeros((1, 1, 4, 4)))


def test_pool_output_size_formula():
    """Seed 6.4.1: (H - F)/S + 1."""
    assert pool_output_size(32, 2) == 16
    assert pool_output_size(13, 3, 2) == 6
    assert pool_output_size(55, 3, 2) == 27  # AlexNet
    assert pool_output_size(7, 2, rounding="floor") == 3
    with pytest.raises(ValueError, match="3.5 is not an integer"):
        pool_output_size(7, 2)
