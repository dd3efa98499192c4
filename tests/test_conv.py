"""Conv2d and ConvTranspose2d (seed 6.2–6.3, 6.10.1) and the size/parameter formulas of dlcourse.nn.shapes.

Gradients by finite differences, the fast layer against the teaching loops and scipy, the
transposed convolution as the adjoint of the convolution, closed forms, and clear errors.
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from scipy import signal

from dlcourse.gradcheck import check_module
from dlcourse.nn import (Conv2d, ConvTranspose2d, Linear, ReLU, Sequential, Upsample, conv_output_size,
                         conv_parameter_count, fc_network_parameter_count, linear_parameter_count, parameter_count)
from dlcourse.nn.naive import conv2d_naive_backward, conv2d_naive_forward

pytestmark = pytest.mark.conv


@st.composite
def conv_cases(draw, max_groups=3):
    """A convolution whose output size is an integer: draw the output size, derive the input size."""
    groups = draw(st.integers(1, max_groups))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    ho, wo = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    h, w = (ho - 1) * sh + kh - 2 * ph, (wo - 1) * sw + kw - 2 * pw
    if h < 1 or w < 1:
        ph, pw = 0, 0
        h, w = (ho - 1) * sh + kh, (wo - 1) * sw + kw
    n = draw(st.integers(1, 2))
    return dict(n=n, c_in=c_in, c_out=c_out, kernel=(kh, kw), stride=(sh, sw), padding=(ph, pw), groups=groups,
                hw=(h, w), bias=draw(st.booleans()), seed=draw(st.integers(0, 10_000)))


def make(case):
    conv = Conv2d(case["c_in"], case["c_out"], case["kernel"], case["stride"], case["padding"], groups=case["groups"],
                  bias=case["bias"], rng=case["seed"]).double()
    x = np.random.default_rng(case["seed"]).standard_normal((case["n"], case["c_in"]) + case["hw"])
    return conv, x


# -- gradients ---------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(case=conv_cases())
def test_conv2d_gradients(case):
    conv, x = make(case)
    check_module(conv, x).assert_ok()


@pytest.mark.parametrize("c, multiplier", [(3, 1), (2, 2)])
def test_depthwise_conv_gradients_and_independence(c, multiplier):
    """groups = in_channels: every output channel sees only its own input channel (seed 6.7)."""
    conv = Conv2d(c, c * multiplier, 3, padding=1, groups=c, rng=0).double()
    x = np.random.default_rng(1).standard_normal((2, c, 5, 6))
    check_module(conv, x).assert_ok()
    out = conv(x)
    for o in range(c * multiplier):
        ch = o // multiplier
        single = conv2d_naive_forward(x[:, ch:ch + 1], conv.weight.data[o:o + 1], conv.bias.data[o:o + 1], 1, 1)
        np.testing.assert_allclose(out[:, o:o + 1], single, rtol=0, atol=1e-12)


def test_conv2d_floor_rounding_gradients_and_unused_border():
    """rounding='floor' (PyTorch): the rows the stride cannot reach get no gradient."""
    conv = Conv2d(2, 3, 3, stride=2, rounding="floor", rng=0).double()
    x = np.random.default_rng(2).standard_normal((2, 2, 8, 7))  # (8-3)/2 = 2.5: last row unused
    check_module(conv, x).assert_ok()
    out = conv(x)
    assert out.shape == (2, 3, 3, 3)
    dx = conv.backward(np.ones_like(out))
    assert np.all(dx[:, :, 7, :] == 0) and np.any(dx[:, :, 6, :] != 0)
    np.testing.assert_allclose(out, conv(x[:, :, :7, :]), atol=1e-12)


# -- fast against references -------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(case=conv_cases(max_groups=1))
def test_conv2d_matches_naive_loops(case):
    conv, x = make(case)
    b = conv.bias.data if conv.bias is not None else None
    out = conv(x)
    np.testing.assert_allclose(out, conv2d_naive_forward(x, conv.weight.data, b, case["stride"], case["padding"]),
                               rtol=0, atol=1e-10)
    dout = np.random.default_rng(case["seed"] + 1).standard_normal(out.shape)
    conv.zero_grad()
    dx = conv.backward(dout)
    ndx, ndw, ndb = conv2d_naive_backward(dout, x, conv.weight.data, case["stride"], case["padding"])
    np.testing.assert_allclose(dx, ndx, rtol=0, atol=1e-10)
    np.testing.assert_allclose(conv.weight.grad, ndw, rtol=0, atol=1e-10)
    if conv.bias is not None:
        np.testing.assert_allclose(conv.bias.grad, ndb, rtol=0, atol=1e-10)


@pytest.mark.parametrize("kernel, padding", [((3, 3), 0), ((5, 2), 0), ((3, 3), 2)])
def test_single_channel_conv_is_scipy_correlate(kernel, padding):
    """Seed 6.2.1.1 is a cross-correlation: 'valid' without padding, 'full' with padding K - 1."""
    rng = np.random.default_rng(3)
    conv = Conv2d(1, 1, kernel, padding=padding, bias=False, rng=4).double()
    x = rng.standard_normal((1, 1, 9, 8))
    padded = np.pad(x[0, 0], padding)
    expected = signal.correlate(padded, conv.weight.data[0, 0], mode="valid")
    np.testing.assert_allclose(conv(x)[0, 0], expected, rtol=0, atol=1e-12)


def test_same_convolution_keeps_the_size_and_1x1_is_a_linear_layer():
    """Seed 6.3.4: P = (F - 1)/2 keeps H×W; a 1×1 convolution is a Linear layer over channels."""
    x = np.random.default_rng(5).standard_normal((2, 4, 7, 5))
    assert Conv2d(4, 6, 5, padding=2)(x.astype(np.float32)).shape == (2, 6, 7, 5)
    conv = Conv2d(4, 3, 1, rng=6).double()
    fc = Linear(4, 3).double()
    fc.weight.data = conv.weight.data[:, :, 0, 0].copy()
    fc.bias.data = conv.bias.data.copy()
    np.testing.assert_allclose(conv(x), fc(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2), atol=1e-12)


def test_forward_matches_closed_form_stride_and_padding():
    """A 2×2 kernel of ones with stride 2 sums disjoint blocks; zero padding adds nothing."""
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    conv = Conv2d(1, 1, 2, stride=2, bias=False).double()
    conv.weight.data[...] = 1.0
    np.testing.assert_array_equal(conv(x)[0, 0], [[0 + 1 + 4 + 5, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]])
    conv = Conv2d(1, 1, 3, padding=1, bias=False).double()
    conv.weight.data[...] = 1.0
    out = conv(np.ones((1, 1, 3, 3)))[0, 0]
    np.testing.assert_array_equal(out, [[4, 6, 4], [6, 9, 6], [4, 6, 4]])


# -- transposed convolution --------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(case=conv_cases(max_groups=1))
def test_conv_transpose_is_the_adjoint_of_conv(case):
    """<conv(x), y> = <x, convT(y)> with the same weights and no bias."""
    conv, x = make(case)
    conv.bias = None
    convt = ConvTranspose2d(case["c_out"], case["c_in"], case["kernel"], case["stride"], case["padding"],
                            bias=False).double()
    convt.weight.data = conv.weight.data.copy()
    y = np.random.default_rng(case["seed"] + 2).standard_normal(conv(x).shape)
    back = convt(y)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(conv(x) * y), np.sum(x * back), rtol=1e-10, atol=1e-10)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 2), c_in=st.integers(1, 3), c_out=st.integers(1, 3), k=st.integers(1, 4),
       s=st.integers(1, 3), p=st.integers(0, 1), h=st.integers(1, 4), w=st.integers(1, 4), seed=st.integers(0, 999))
def test_conv_transpose_gradients_and_output_size(n, c_in, c_out, k, s, p, h, w, seed):
    assume((h - 1) * s - 2 * p + k >= 1 and (w - 1) * s - 2 * p + k >= 1)
    layer = ConvTranspose2d(c_in, c_out, k, s, p, rng=seed)
    x = np.random.default_rng(seed).standard_normal((n, c_in, h, w))
    assert layer(x).shape == (n, c_out, (h - 1) * s - 2 * p + k, (w - 1) * s - 2 * p + k)
    check_module(layer, x).assert_ok()


def test_conv_transpose_with_ones_is_nearest_upsampling():
    """Seed 6.10.1: kernel = stride = 2 with weights 1 stamps each pixel onto a 2×2 block."""
    x = np.random.default_rng(7).standard_normal((2, 1, 3, 4))
    convt = ConvTranspose2d(1, 1, 2, stride=2, bias=False).double()
    convt.weight.data[...] = 1.0
    np.testing.assert_array_equal(convt(x), Upsample(2, "nearest")(x))


# -- contract: dtype, accumulation, buffers, init ---------------------------------------------
@pytest.mark.parametrize("layer", [lambda: Conv2d(3, 4, 3, stride=2, padding=1, groups=1),
                                   lambda: Conv2d(4, 4, 3, padding=1, groups=2),
                                   lambda: ConvTranspose2d(3, 4, 3, stride=2, padding=1)])
def test_float32_stays_float32_and_grads_accumulate(layer):
    layer = layer()
    c = layer.in_channels
    x = np.random.default_rng(8).standard_normal((2, c, 7, 7)).astype(np.float32)
    out = layer(x)
    assert out.dtype == np.float32
    dout = np.random.default_rng(9).standard_normal(out.shape).astype(np.float32)
    dx = layer.backward(dout)
    assert dx.dtype == np.float32 and dx.shape == x.shape
    once = {name: p.grad.copy() for name, p in layer.named_parameters()}
    assert all(g.dtype == np.float32 and np.any(g != 0) for g in once.values())
    layer.backward(dout)
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * once[name], rtol=1e-6, atol=1e-6)


def test_outputs_do_not_alias_reused_buffers():
    """Scratch buffers are reused between calls; returned arrays must not change afterwards."""
    conv = Conv2d(2, 3, 3, padding=1, rng=0).double()
    rng = np.random.default_rng(10)
    x1, x2, x3 = rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((1, 2, 5, 9))
    y1 = conv(x1)
    dx1 = conv.backward(np.ones_like(y1))
    keep_y, keep_dx = y1.copy(), dx1.copy()
    conv.backward(np.ones_like(conv(x2)))
    np.testing.assert_array_equal(y1, keep_y)
    np.testing.assert_array_equal(dx1, keep_dx)
    y3 = conv(x3)  # a new shape reallocates
    np.testing.assert_allclose(y3, conv2d_naive_forward(x3, conv.weight.data, conv.bias.data, 1, 1), atol=1e-12)
    np.testing.assert_allclose(conv(x1), keep_y, atol=1e-12)


def test_conv_in_a_network_with_relu():
    net = Sequential(Conv2d(1, 2, 3, padding=1, rng=0), ReLU(), Conv2d(2, 1, 3, stride=2, rng=1))
    x = np.random.default_rng(11).standard_normal((2, 1, 7, 7))
    check_module(net, x).assert_ok()


def test_pytorch_default_init_and_layout():
    conv = Conv2d(8, 16, (3, 5), groups=2, rng=0)
    bound = 1 / np.sqrt(8 // 2 * 3 * 5)
    assert conv.weight.shape == (16, 4, 3, 5) and conv.bias.shape == (16,)
    assert conv.weight.dtype == np.float32
    assert 0.95 * bound < np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert conv.weight.data.std() == pytest.approx(bound / np.sqrt(3), rel=0.1)
    big = ConvTranspose2d(16, 8, 4, rng=0)
    assert big.weight.shape == (16, 8, 4, 4)
    bound_t = 1 / np.sqrt(8 * 16)  # PyTorch's fan_in of a transposed convolution: out_channels · kH · kW
    assert 0.95 * bound_t < np.abs(big.weight.data).max() <= bound_t
    seeded = Conv2d(3, 4, 3, rng=5)
    np.testing.assert_array_equal(seeded.weight.data, Conv2d(3, 4, 3, rng=5).weight.data)
    assert not np.allclose(seeded.bias.data, seeded.weight.data.ravel()[:4])  # bias is not a replay of the weights


# -- errors ------------------------------------------------------------------------------------
def test_errors_name_the_problem():
    conv = Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"in_channels = 3.*\(2, 4, 8, 8\)"):
        conv(np.zeros((2, 4, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        conv(np.zeros((3, 8, 8), np.float32))
    with pytest.raises(TypeError, match="floating-point"):
        conv(np.zeros((1, 3, 8, 8), np.int64))
    with pytest.raises(ValueError, match="larger than the padded input"):
        Conv2d(3, 8, 5, padding=1)(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(ValueError, match="divisible by groups"):
        Conv2d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="divisible by groups"):
        Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match=r"\(32 \+ 2·1 - 3\)/2 \+ 1 = 16.5 is not an integer"):
        Conv2d(3, 8, 3, stride=2, padding=1)(np.zeros((1, 3, 32, 32), np.float32))
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2d(3, 8, 0)
    with pytest.raises(ValueError, match="padding"):
        Conv2d(3, 8, 3, padding=-1)
    with pytest.raises(ValueError, match="rounding"):
        Conv2d(3, 8, 3, rounding="ceil")
    y = conv(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"dout of shape \(2, 8, 6, 6\)"):
        conv.backward(np.zeros((2, 8, 6, 5), np.float32))
    with pytest.raises(ValueError, match="not positive"):
        ConvTranspose2d(2, 2, 3, padding=3)(np.zeros((1, 2, 2, 2)))
    with pytest.raises(ValueError, match="in_channels = 2"):
        ConvTranspose2d(2, 2, 3)(np.zeros((1, 3, 2, 2)))
    assert y.shape == (2, 8, 6, 6)


# -- sizes and parameter counts (seed 5.2, 6.3.2, 6.3.3) -----------------------------------------
def test_conv_output_size_formula():
    assert conv_output_size(32, 3, 1, 1) == 32            # same convolution, seed 6.3.4
    assert conv_output_size(32, 5) == 28                  # valid convolution
    assert conv_output_size(227, 11, 4) == 55             # AlexNet's first layer
    assert conv_output_size(7, 3, 2) == 3
    assert conv_output_size(32, 3, 2, 1, rounding="floor") == 16
    with pytest.raises(ValueError, match="16.5 is not an integer"):
        conv_output_size(32, 3, 2, 1)
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv_output_size(2, 5, 1, 1)


@settings(max_examples=25, deadline=None)
@given(case=conv_cases())
def test_layer_output_and_parameter_count_match_the_formulas(case):
    conv, x = make(case)
    (kh, kw), (sh, sw), (ph, pw) = case["kernel"], case["stride"], case["padding"]
    h, w = case["hw"]
    assert conv(x).shape[2:] == ((h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
    expected = (case["c_in"] // case["groups"] * kh * kw + case["bias"]) * case["c_out"]
    assert parameter_count(conv) == conv_parameter_count(case["c_in"], case["c_out"], (kh, kw), case["bias"],
                                                         case["groups"]) == expected


def test_parameter_counts_of_the_lecture():
    assert conv_parameter_count(3, 16, 3) == (3 * 3 * 3 + 1) * 16     # seed 6.3.3
    assert conv_parameter_count(32, 32, 3, groups=32) == (9 + 1) * 32  # depthwise
    assert linear_parameter_count(784, 256) == 784 * 256 + 256
    assert fc_network_parameter_count([784, 256, 10]) == 784 * 256 + 256 + 256 * 10 + 10  # seed 5.2
    assert fc_network_parameter_count([2, 3, 1], activation_params=3) == 3 + (2 * 3 + 3) + (3 * 1 + 1)
    net = Sequential(Linear(5, 7), ReLU(), Linear(7, 4), ReLU(), Linear(4, 2))
    assert parameter_count(net) == fc_network_parameter_count([5, 7, 4, 2])
    with pytest.raises(ValueError):
        fc_network_parameter_count([10])
    with pytest.raises(ValueError, match="divisible"):
        conv_parameter_count(3, 4, 3, groups=2)
