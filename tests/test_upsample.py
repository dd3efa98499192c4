"""Upsample (seed 6.10.1): hand-computed values, closed-form properties, a per-pixel reference, adjoint."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcourse.gradcheck import check_module
from dlcourse.nn import Upsample, interpolation_matrix

pytestmark = pytest.mark.conv

MODES = ["nearest", "bilinear", "bicubic"]


def cubic(d, a=-0.75):
    """Keys' cubic convolution kernel, written from its textbook definition."""
    d = abs(d)
    if d <= 1:
        return (a + 2) * d ** 3 - (a + 3) * d ** 2 + 1
    if d < 2:
        return a * d ** 3 - 5 * a * d ** 2 + 8 * a * d - 4 * a
    return 0.0


def reference_upsample(x, s, mode):
    """One output pixel at a time, straight from the definitions (align_corners=False)."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, h * s, w * s))
    for oy in range(h * s):
        for ox in range(w * s):
            if mode == "nearest":
                out[:, :, oy, ox] = x[:, :, oy // s, ox // s]
                continue
            sy, sx = (oy + 0.5) / s - 0.5, (ox + 0.5) / s - 0.5
            if mode == "bilinear":
                sy, sx = max(sy, 0.0), max(sx, 0.0)
                y0, x0 = int(np.floor(sy)), int(np.floor(sx))
                ty, tx = sy - y0, sx - x0
                y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
                y0, x0 = min(y0, h - 1), min(x0, w - 1)
                out[:, :, oy, ox] = ((1 - ty) * (1 - tx) * x[:, :, y0, x0] + (1 - ty) * tx * x[:, :, y0, x1]
                                     + ty * (1 - tx) * x[:, :, y1, x0] + ty * tx * x[:, :, y1, x1])
            else:
                y0, x0 = int(np.floor(sy)), int(np.floor(sx))
                total = 0.0
                for m in range(y0 - 1, y0 + 3):
                    for k in range(x0 - 1, x0 + 3):
                        weight = cubic(sy - m) * cubic(sx - k)
                        total = total + weight * x[:, :, min(max(m, 0), h - 1), min(max(k, 0), w - 1)]
                out[:, :, oy, ox] = total
    return out


@settings(max_examples=20, deadline=None)
@given(mode=st.sampled_from(MODES), s=st.integers(1, 4), h=st.integers(1, 5), w=st.integers(1, 5),
       seed=st.integers(0, 10_000))
def test_matches_per_pixel_formula(mode, s, h, w, seed):
    x = np.random.default_rng(seed).standard_normal((2, 2, h, w))
    np.testing.assert_allclose(Upsample(s, mode)(x), reference_upsample(x, s, mode), rtol=0, atol=1e-12)


def test_hand_computed_values():
    """Scale 2: bilinear samples at ±1/4 of a pixel; bicubic weights at t = 1/4 computed by hand."""
    x = np.array([[[[0.0, 1.0]]]])
    np.testing.assert_allclose(Upsample(2, "bilinear")(x)[0, 0, 0], [0, 0.25, 0.75, 1])
    np.testing.assert_array_equal(Upsample(2, "nearest")(x)[0, 0], [[0, 0, 1, 1], [0, 0, 1, 1]])
    # output 2k+1 samples src = k + 1/4; Keys' weights (A = -0.75) for offsets -1, 0, 1, 2 at t = 1/4
    weights = np.array([-0.10546875, 0.87890625, 0.26171875, -0.03515625])
    assert weights.sum() == 1.0
    row = np.random.default_rng(0).standard_normal(8)
    out = Upsample((1, 2), "bicubic")(row[None, None, None])[0, 0, 0]
    for k in range(2, 6):
        assert out[2 * k + 1] == pytest.approx(weights @ row[k - 1:k + 3], abs=1e-12)
        assert out[2 * k] == pytest.approx(weights[::-1] @ row[k - 2:k + 2], abs=1e-12)  # src = (k-1) + 3/4


@pytest.mark.parametrize("mode", MODES)
def test_constant_stays_constant(mode):
    x = np.full((1, 2, 4, 5), 3.25)
    out = Upsample(3, mode)(x)
    assert out.shape == (1, 2, 12, 15)
    np.testing.assert_allclose(out, 3.25, rtol=0, atol=1e-12)
    assert np.allclose(interpolation_matrix(6, 2, mode).sum(axis=1), 1)


def test_linear_ramp_stays_linear_in_the_interior():
    """Bilinear reproduces linear functions: away from the clamped border, output = ramp at src.

    (Bicubic with PyTorch's A = -0.75 does not: only A = -0.5 reproduces ramps; see the next test.)
    """
    h, w, s = 6, 8, 2
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    x = (2.0 * yy - 0.5 * xx + 1.0)[None, None]
    out = Upsample(s, "bilinear")(x)[0, 0]
    src_y = (np.arange(h * s) + 0.5) / s - 0.5
    src_x = (np.arange(w * s) + 0.5) / s - 0.5
    expected = 2.0 * src_y[:, None] - 0.5 * src_x[None, :] + 1.0
    np.testing.assert_allclose(out[1:-1, 1:-1], expected[1:-1, 1:-1], atol=1e-12)
    assert not np.allclose(out[0, 1:-1], expected[0, 1:-1])  # the first row clamps to the border pixel


def test_bicubic_overshoots_at_a_step_and_is_symmetric():
    """The negative lobes of A = -0.75 ring at a step edge (values outside [0, 1]); a mirrored input
    gives the mirrored output."""
    step = np.repeat([[0.0] * 4 + [1.0] * 4], 2, axis=0)[None, None]
    out = Upsample(2, "bicubic")(step)
    assert out.min() < -0.05 and out.max() > 1.05
    mirrored = Upsample(2, "bicubic")(step[..., ::-1].copy())
    np.testing.assert_allclose(mirrored, out[..., ::-1], atol=1e-12)


def test_nearest_repeats_pixels():
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    out = Upsample((2, 3))(x)
    np.testing.assert_array_equal(out, np.repeat(np.repeat(x, 2, axis=2), 3, axis=3))


@settings(max_examples=20, deadline=None)
@given(mode=st.sampled_from(MODES), s=st.integers(1, 3), h=st.integers(1, 5), w=st.integers(1, 5),
       seed=st.integers(0, 10_000))
def test_backward_is_the_adjoint(mode, s, h, w, seed):
    """<up(x), y> = <x, up.backward(y)> (the backward pass is the transposed linear map)."""
    rng = np.random.default_rng(seed)
    up = Upsample(s, mode)
    x = rng.standard_normal((2, 3, h, w))
    y = rng.standard_normal(up(x).shape)
    np.testing.assert_allclose(np.sum(up(x) * y), np.sum(x * up.backward(y)), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scale", [2, (3, 1), 1.5])
def test_gradients(mode, scale):
    check_module(Upsample(scale, mode), np.random.default_rng(2).standard_normal((2, 2, 3, 4))).assert_ok()


@pytest.mark.parametrize("mode", MODES)
def test_float32_stays_float32(mode):
    up = Upsample(2, mode)
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 4)).astype(np.float32)
    out = up(x)
    assert out.dtype == np.float32 and out.shape == (2, 3, 10, 8)
    dx = up.backward(np.ones(out.shape))
    assert dx.dtype == np.float32 and dx.shape == x.shape
    # rows of the interpolation matrices sum to 1, so the gradient of sum(out) sums to out.size
    assert dx.sum() == pytest.approx(out.size, rel=1e-5)
    if mode != "bicubic":  # nearest and bilinear give every input pixel a total weight s·s = 4
        np.testing.assert_allclose(dx, 4.0, rtol=1e-6)


def test_non_integer_scale_sizes():
    up = Upsample(1.5, "bilinear")
    assert up(np.zeros((1, 1, 4, 5))).shape == (1, 1, 6, 7)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="mode"):
        Upsample(2, "trilinear")
    with pytest.raises(ValueError, match="positive"):
        Upsample(0)
    with pytest.raises(ValueError, match="positive"):
        Upsample(-2.0, "bilinear")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        Upsample(2)(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="floating-point"):
        Upsample(2)(np.zeros((1, 1, 2, 2), dtype=np.int64))
    up = Upsample(2, "bilinear")
    up(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"dout of shape \(1, 1, 4, 4\)"):
        up.backward(np.zeros((1, 1, 2, 2)))
