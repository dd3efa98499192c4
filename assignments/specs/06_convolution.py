# %% [markdown]
# # Assignment 6 — Convolution and pooling
#
# Lecture: chapter 6 (convolutional neural networks). You will implement, with numpy only:
#
# 1. output sizes and parameter counts of convolution and pooling layers (seed 6.3.2, 6.3.3, 6.4.1);
# 2. a convolution layer, forward and backward, with plain loops (seed 6.2–6.3);
# 3. `im2col`, which turns every window of the input into a column of a matrix;
# 4. the same convolution as **one matrix product** with `im2col`, forward and backward;
# 5. max pooling and 6. average pooling, forward and backward (seed 6.4.2, 6.4.3).
#
# Shapes follow PyTorch: images `x` are `(N, C, H, W)`, filters `w` are `(C_o, C, kH, kW)`, biases
# `b` are `(C_o,)`. A convolution with stride $S$ and zero padding $P$ computes (cross-correlation,
# as every framework does)
#
# $z[n, o, j, k] = b[o] + \sum_{c}\sum_{m}\sum_{l} w[o, c, m, l]\; x_{pad}[n, c, S j + m, S k + l]$.
#
# The `dlcourse.nn` layers (`Conv2d`, `MaxPool2d`, `AvgPool2d`, `dlcourse.nn.naive`,
# `dlcourse.nn.shapes`) implement all of this: calling them for the function you are asked to write
# scores 0 for that part. The tests only use sizes where the windows fit the (padded) input exactly.
# %% [setup] id=setup
import numpy as np
from dlcourse import grading as G
# %% [markdown]
# ## Part 1: output sizes and parameter counts (3 points)
#
# * `conv_output_size(n, kernel, stride=1, padding=0)`: an input of size $N$ becomes
#   $\lfloor (N + 2P - F)/S \rfloor + 1$ (seed 6.3.2), with the kernel size $F$;
# * `pool_output_size(n, kernel, stride=None)`: $\lfloor (N - F)/S \rfloor + 1$ (seed 6.4.1); the stride
#   defaults to the kernel size;
# * `conv_parameter_count(c_in, c_out, kernel_h, kernel_w)`: $(C_i\cdot H_K\cdot W_K + 1)\cdot C_o$
#   weights and biases (seed 6.3.3).
#
# Return Python `int`s.
# %% [answer] id=sizes_answer
def conv_output_size(n, kernel, stride=1, padding=0):
    """Output size of one spatial axis of a convolution."""
    ### BEGIN SOLUTION
    return (n + 2 * padding - kernel) // stride + 1
    ### END SOLUTION


def pool_output_size(n, kernel, stride=None):
    """Output size of one spatial axis of a pooling layer (stride defaults to kernel)."""
    ### BEGIN SOLUTION
    stride = kernel if stride is None else stride
    return (n - kernel) // stride + 1
    ### END SOLUTION


def conv_parameter_count(c_in, c_out, kernel_h, kernel_w):
    """Number of weights and biases of a convolution layer."""
    ### BEGIN SOLUTION
    return (c_in * kernel_h * kernel_w + 1) * c_out
    ### END SOLUTION
# %% [tests] id=sizes_tests points=1
with G.part("06_convolution/sizes", points=1) as p:
    p.expect_close(p.call(conv_output_size, 32, 3, 1, 1), 32, "conv_output_size(32, kernel=3, stride=1, padding=1)")
    p.expect_close(p.call(conv_output_size, 28, 5), 24, "conv_output_size(28, kernel=5)")
    p.expect_close(p.call(conv_output_size, 8, 3, 2, 1), 4, "conv_output_size(8, kernel=3, stride=2, padding=1) "
                   "(rounded down)")
    p.expect_close(p.call(pool_output_size, 28, 2), 14, "pool_output_size(28, kernel=2)")
    p.expect_close(p.call(pool_output_size, 10, 3, 1), 8, "pool_output_size(10, kernel=3, stride=1)")
    p.expect_close(p.call(conv_parameter_count, 3, 16, 3, 3), 448, "conv_parameter_count(3, 16, 3, 3)")
    p.expect_close(p.call(conv_parameter_count, 1, 6, 5, 5), 156, "conv_parameter_count(1, 6, 5, 5) (LeNet's first layer)")
# %% [tests] id=sizes_hidden points=2
# Hidden tests (2 points): many sizes, strides and paddings.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a06_convolution as _R
_rng = np.random.default_rng(6101)
with G.part("06_convolution/sizes", points=2, hidden=True) as p:
    for _k in range(12):
        _f = int(_rng.integers(1, 8))
        _n, _s, _pad = int(_rng.integers(_f, 64)), int(_rng.integers(1, 5)), int(_rng.integers(0, 4))
        p.compare(conv_output_size, _R.conv_output_size, _n, _f, _s, _pad)
        p.compare(conv_output_size, _R.conv_output_size, _n, _f)
        p.compare(pool_output_size, _R.pool_output_size, _n, _f, _s)
        p.compare(pool_output_size, _R.pool_output_size, _n, _f)
        p.compare(conv_parameter_count, _R.conv_parameter_count, int(_rng.integers(1, 512)), int(_rng.integers(1, 512)),
                  _f, int(_rng.integers(1, 8)))
### END HIDDEN TESTS
# %% [markdown]
# ## Part 2: convolution with loops (6 points)
#
# `conv_forward_naive(x, w, b, stride=1, padding=0)` returns `z` of shape `(N, C_o, H_o, W_o)`: pad
# the images with zeros (`np.pad`), then for every image, filter and output pixel multiply the
# filter with the window it covers and add everything up (seed 6.2.1–6.3.1). Loops over
# `n, o, j, k` are fine here.
#
# `conv_backward_naive(dout, x, w, stride=1, padding=0)` returns `(dx, dw, db)` with the shapes of
# `x, w, b`. Every output pixel came from one window and one filter, so its gradient
# `g = dout[n, o, j, k]` flows back as `dw[o] += g * window`, `dwindow += g * w[o]`, `db[o] += g`;
# drop the padding from `dx` at the end.
# %% [answer] id=conv_naive_answer
def conv_forward_naive(x, w, b, stride=1, padding=0):
    """Convolution with loops: x (N, C, H, W), w (C_o, C, kH, kW), b (C_o,) -> (N, C_o, H_o, W_o)."""
    ### BEGIN SOLUTION
    n_img, _, height, width = x.shape
    n_filt, _, kh, kw = w.shape
    ho = (height + 2 * padding - kh) // stride + 1
    wo = (width + 2 * padding - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    z = np.zeros((n_img, n_filt, ho, wo))
    for n in range(n_img):
        for o in range(n_filt):
            for j in range(ho):
                for k in range(wo):
                    window = xp[n, :, j * stride:j * stride + kh, k * stride:k * stride + kw]
                    z[n, o, j, k] = np.sum(window * w[o]) + b[o]
    return z
    ### END SOLUTION


def conv_backward_naive(dout, x, w, stride=1, padding=0):
    """(dx, dw, db) of the convolution given dout (N, C_o, H_o, W_o)."""
    ### BEGIN SOLUTION
    n_img, n_filt, ho, wo = dout.shape
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros(n_filt)
    for n in range(n_img):
        for o in range(n_filt):
            for j in range(ho):
                for k in range(wo):
                    g = dout[n, o, j, k]
                    rows, cols = slice(j * stride, j * stride + kh), slice(k * stride, k * stride + kw)
                    dw[o] += g * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += g * w[o]
                    db[o] += g
    dx = dxp[:, :, padding:padding + x.shape[2], padding:padding + x.shape[3]]
    return dx, dw, db
    ### END SOLUTION
# %% [tests] id=conv_naive_tests points=3
with G.part("06_convolution/conv_naive", points=3) as p:
    x_small, w_small = np.arange(9.0).reshape(1, 1, 3, 3), np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    p.expect_close(p.call(conv_forward_naive, x_small, w_small, np.array([0.5])), [[[[-3.5, -3.5], [-3.5, -3.5]]]],
                   "conv_forward_naive(x = arange(9) as (1, 1, 3, 3), w = [[1, 0], [0, -1]], b = [0.5])")
    x_conv = np.arange(50.0).reshape(1, 2, 5, 5) / 10
    w_conv = np.array([[[[1.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 1.0]],
                        [[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [-0.5, -0.5, -0.5]]]])
    p.expect_close(p.call(conv_forward_naive, x_conv, w_conv, np.array([0.1]), 2, 1),
                   [[[[-2.35, -4.3, -3.65], [1.1, -0.2, -0.5], [4.55, 8.4, 8.65]]]],
                   "conv_forward_naive with 2 input channels, stride 2, padding 1")
    dout_conv = np.array([[[[1.0, -1.0, 0.0], [2.0, 0.5, 0.0], [0.0, 0.0, 1.0]]]])
    p.expect_close(p.call(conv_backward_naive, dout_conv, x_conv, w_conv, 2, 1),
                   ([[[[1.0, 0.0, -1.0, 0.0, 0.0], [0.0, 0.5, 0.0, -1.5, 0.0], [2.0, 0.0, 0.5, 0.0, 0.0],
                       [0.0, 1.5, 0.0, 1.5, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0]],
                      [[0.0, 0.0, 0.0, 0.0, 0.0], [0.5, 1.25, 0.75, 0.75, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0],
                       [-1.0, -1.25, -0.25, 0.25, 0.5], [0.0, 0.0, 0.0, 0.0, 0.0]]]],
                    [[[[2.1, 3.25, 1.6], [2.75, 4.8, 2.65], [0.2, 3.65, 3.9]],
                      [[5.85, 12.0, 7.85], [4.0, 13.55, 8.9], [-1.05, 9.9, 10.15]]]],
                    [3.5]),
                   "conv_backward_naive for the stride-2, padding-1 example = (dx, dw, db)")
    rng_conv = np.random.default_rng(2)
    x_r, w_r, b_r = rng_conv.normal(size=(1, 2, 4, 4)), rng_conv.normal(size=(2, 2, 3, 3)), rng_conv.normal(size=2)
    dout_r = rng_conv.normal(size=(1, 2, 4, 4))
    p.gradcheck(lambda v: np.sum(conv_forward_naive(v, w_r, b_r, 1, 1) * dout_r),
                lambda v: conv_backward_naive(dout_r, v, w_r, 1, 1)[0], x_r, "dx compared with finite differences")
    p.gradcheck(lambda v: np.sum(conv_forward_naive(x_r, v, b_r, 1, 1) * dout_r),
                lambda v: conv_backward_naive(dout_r, x_r, v, 1, 1)[1], w_r, "dw compared with finite differences")
    p.gradcheck(lambda v: np.sum(conv_forward_naive(x_r, w_r, v, 1, 1) * dout_r),
                lambda v: conv_backward_naive(dout_r, x_r, w_r, 1, 1)[2], b_r, "db compared with finite differences")
# %% [tests] id=conv_naive_hidden points=3
# Hidden tests (3 points): random shapes, strides and paddings, with gradient checks.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a06_convolution as _R
_rng = np.random.default_rng(6102)
with G.part("06_convolution/conv_naive", points=3, hidden=True) as p:
    for _n, _c, _h, _w, _co, _k, _s, _pad in [(1, 1, 3, 3, 1, 1, 1, 0), (2, 3, 5, 5, 2, 3, 1, 1),
                                               (2, 2, 7, 5, 3, 3, 2, 0), (1, 2, 6, 6, 2, 2, 2, 1)]:
        _x, _wt, _b = _rng.normal(size=(_n, _c, _h, _w)), _rng.normal(size=(_co, _c, _k, _k)), _rng.normal(size=_co)
        _z = p.compare(conv_forward_naive, _R.conv_forward_naive, _x, _wt, _b, _s, _pad)
        _dout = _rng.normal(size=np.shape(_z))
        p.compare(conv_backward_naive, _R.conv_backward_naive, _dout, _x, _wt, _s, _pad, names=("dx", "dw", "db"))
        p.gradcheck(lambda v: float(np.sum(_R.conv_forward_im2col(v, _wt, _b, _s, _pad) * _dout)),
                    lambda v: conv_backward_naive(_dout, v, _wt, _s, _pad)[0], _x,
                    f"dx for x {_x.shape}, w {_wt.shape}", tol=1e-5)
        p.gradcheck(lambda v: float(np.sum(_R.conv_forward_im2col(_x, v, _b, _s, _pad) * _dout)),
                    lambda v: conv_backward_naive(_dout, _x, v, _s, _pad)[1], _wt,
                    f"dw for x {_x.shape}, w {_wt.shape}", tol=1e-5)
### END HIDDEN TESTS
# %% [markdown]
# ## Part 3: im2col (3 points)
#
# The loops are slow. The trick every framework uses: copy each window of the padded input into
# one **column** of a matrix, so that the whole convolution becomes one matrix product.
# `im2col(x, kernel_h, kernel_w, stride=1, padding=0)` returns `cols` of shape
# `(C·kH·kW, N·H_o·W_o)`:
#
# * column `n·H_o·W_o + j·W_o + k` holds the window of output pixel `(j, k)` of image `n`;
# * within a column, the window `x_pad[n, :, S·j : S·j + kH, S·k : S·k + kW]` is flattened in C order,
#   i.e. row `c·kH·kW + m·kW + q` holds `x_pad[n, c, S·j + m, S·k + q]`.
#
# Loop over the `kH·kW` kernel offsets (or the output pixels), not over single numbers.
# %% [answer] id=im2col_answer
def im2col(x, kernel_h, kernel_w, stride=1, padding=0):
    """Windows of the padded x as columns: (C*kH*kW, N*H_o*W_o)."""
    ### BEGIN SOLUTION
    n_img, chans, height, width = x.shape
    ho = (height + 2 * padding - kernel_h) // stride + 1
    wo = (width + 2 * padding - kernel_w) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((chans, kernel_h, kernel_w, n_img, ho, wo))
    for m in range(kernel_h):
        for q in range(kernel_w):
            patch = xp[:, :, m:m + stride * (ho - 1) + 1:stride, q:q + stride * (wo - 1) + 1:stride]
            cols[:, m, q] = patch.transpose(1, 0, 2, 3)
    return cols.reshape(chans * kernel_h * kernel_w, n_img * ho * wo)
    ### END SOLUTION
# %% [tests] id=im2col_tests points=1
with G.part("06_convolution/im2col", points=1) as p:
    p.expect_close(p.call(im2col, np.arange(9.0).reshape(1, 1, 3, 3), 2, 2),
                   [[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]],
                   "im2col(arange(9) as (1, 1, 3, 3), 2, 2) (column = window, row = position in the window)")
    p.expect_close(p.call(im2col, np.arange(16.0).reshape(1, 1, 4, 4), 2, 2, 2, 0),
                   [[0.0, 2.0, 8.0, 10.0], [1.0, 3.0, 9.0, 11.0], [4.0, 6.0, 12.0, 14.0], [5.0, 7.0, 13.0, 15.0]],
                   "im2col(arange(16) as (1, 1, 4, 4), 2, 2, stride=2)")
    p.expect_close(p.call(im2col, np.arange(18.0).reshape(2, 1, 3, 3), 3, 3, 2, 1),
                   [[0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 13.0], [0.0, 0.0, 3.0, 5.0, 0.0, 0.0, 12.0, 14.0],
                    [0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 13.0, 0.0], [0.0, 1.0, 0.0, 7.0, 0.0, 10.0, 0.0, 16.0],
                    [0.0, 2.0, 6.0, 8.0, 9.0, 11.0, 15.0, 17.0], [1.0, 0.0, 7.0, 0.0, 10.0, 0.0, 16.0, 0.0],
                    [0.0, 4.0, 0.0, 0.0, 0.0, 13.0, 0.0, 0.0], [3.0, 5.0, 0.0, 0.0, 12.0, 14.0, 0.0, 0.0],
                    [4.0, 0.0, 0.0, 0.0, 13.0, 0.0, 0.0, 0.0]],
                   "im2col(two 3x3 images, 3, 3, stride=2, padding=1) (the columns of image 0 come first)")
# %% [tests] id=im2col_hidden points=2
# Hidden tests (2 points): several channels, images, kernels, strides and paddings.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a06_convolution as _R
_rng = np.random.default_rng(6103)
with G.part("06_convolution/im2col", points=2, hidden=True) as p:
    for _n, _c, _h, _w, _kh, _kw, _s, _pad in [(1, 1, 1, 1, 1, 1, 1, 0), (2, 3, 5, 5, 3, 3, 1, 1),
                                                (3, 2, 7, 9, 3, 5, 2, 0), (2, 4, 6, 6, 2, 2, 2, 2)]:
        p.compare(im2col, _R.im2col, _rng.normal(size=(_n, _c, _h, _w)), _kh, _kw, _s, _pad)
### END HIDDEN TESTS
# %% [markdown]
# ## Part 4: convolution as a matrix product (5 points)
#
# With `cols = im2col(x, kH, kW, S, P)` the convolution is
# `w.reshape(C_o, -1) @ cols + b[:, None]`, of shape `(C_o, N·H_o·W_o)`; reshape it to
# `(C_o, N, H_o, W_o)` and move the axes to `(N, C_o, H_o, W_o)`.
#
# The backward pass is two more matrix products: with `dz` = `dout` arranged as
# `(C_o, N·H_o·W_o)`, `dw = dz @ cols.T` (reshaped like `w`), `db = dz.sum(axis=1)`, and
# `dcols = w.reshape(C_o, -1).T @ dz`. Then **col2im**: add every column of `dcols` back onto the
# pixels of the padded input it was copied from (pixels in several windows collect several
# contributions), and drop the padding.
#
# `conv_forward_im2col(x, w, b, stride=1, padding=0)` and `conv_backward_im2col(dout, x, w, stride=1,
# padding=0)` have the signatures and results of Part 2 — use your `im2col` and no loop over
# output pixels.
# %% [answer] id=conv_im2col_answer
def conv_forward_im2col(x, w, b, stride=1, padding=0):
    """Convolution as one matrix product; same result as conv_forward_naive."""
    ### BEGIN SOLUTION
    n_img, _, height, width = x.shape
    n_filt, _, kh, kw = w.shape
    ho = (height + 2 * padding - kh) // stride + 1
    wo = (width + 2 * padding - kw) // stride + 1
    z = w.reshape(n_filt, -1) @ im2col(x, kh, kw, stride, padding) + b[:, None]
    return z.reshape(n_filt, n_img, ho, wo).transpose(1, 0, 2, 3)
    ### END SOLUTION


def conv_backward_im2col(dout, x, w, stride=1, padding=0):
    """(dx, dw, db) of the convolution, with im2col and col2im."""
    ### BEGIN SOLUTION
    n_img, chans, height, width = x.shape
    n_filt, _, kh, kw = w.shape
    _, _, ho, wo = dout.shape
    cols = im2col(x, kh, kw, stride, padding)
    dz = dout.transpose(1, 0, 2, 3).reshape(n_filt, -1)
    dw = (dz @ cols.T).reshape(w.shape)
    db = dz.sum(axis=1)
    dcols = (w.reshape(n_filt, -1).T @ dz).reshape(chans, kh, kw, n_img, ho, wo)
    dxp = np.zeros((n_img, chans, height + 2 * padding, width + 2 * padding))
    for m in range(kh):
        for q in range(kw):
            dxp[:, :, m:m + stride * (ho - 1) + 1:stride, q:q + stride * (wo - 1) + 1:stride] += \
                dcols[:, m, q].transpose(1, 0, 2, 3)
    return dxp[:, :, padding:padding + height, padding:padding + width], dw, db
    ### END SOLUTION
# %% [tests] id=conv_im2col_tests points=2
with G.part("06_convolution/conv_im2col", points=2) as p:
    x_conv = np.arange(50.0).reshape(1, 2, 5, 5) / 10
    w_conv = np.array([[[[1.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 1.0]],
                        [[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [-0.5, -0.5, -0.5]]]])
    p.expect_close(p.call(conv_forward_im2col, x_conv, w_conv, np.array([0.1]), 2, 1),
                   [[[[-2.35, -4.3, -3.65], [1.1, -0.2, -0.5], [4.55, 8.4, 8.65]]]],
                   "conv_forward_im2col with 2 input channels, stride 2, padding 1 (the example of Part 2)")
    dout_conv = np.array([[[[1.0, -1.0, 0.0], [2.0, 0.5, 0.0], [0.0, 0.0, 1.0]]]])
    dx_conv, dw_conv, db_conv = p.call(conv_backward_im2col, dout_conv, x_conv, w_conv, 2, 1)
    p.expect_close(dw_conv, [[[[2.1, 3.25, 1.6], [2.75, 4.8, 2.65], [0.2, 3.65, 3.9]],
                              [[5.85, 12.0, 7.85], [4.0, 13.55, 8.9], [-1.05, 9.9, 10.15]]]],
                   "dw of conv_backward_im2col for the example of Part 2")
    p.expect_close(db_conv, [3.5], "db of conv_backward_im2col for the example of Part 2")
    p.expect_close(dx_conv[0, 1, 1], [0.5, 1.25, 0.75, 0.75, 0.0],
                   "dx[0, 1, 1] of conv_backward_im2col for the example of Part 2 (col2im must add overlapping windows)")
    rng_conv = np.random.default_rng(3)
    x_r, w_r, b_r = rng_conv.normal(size=(2, 3, 6, 6)), rng_conv.normal(size=(4, 3, 3, 3)), rng_conv.normal(size=4)
    z_r = p.call(conv_forward_im2col, x_r, w_r, b_r, 1, 1)
    p.expect_close(z_r, p.call(conv_forward_naive, x_r, w_r, b_r, 1, 1),
                   "conv_forward_im2col compared with your conv_forward_naive on random input (2, 3, 6, 6)")
    dout_r = rng_conv.normal(size=(2, 4, 6, 6))
    p.gradcheck(lambda v: np.sum(conv_forward_im2col(v, w_r, b_r, 1, 1) * dout_r),
                lambda v: conv_backward_im2col(dout_r, v, w_r, 1, 1)[0], x_r,
                "dx of conv_backward_im2col compared with finite differences of conv_forward_im2col")
# %% [tests] id=conv_im2col_hidden points=3
# Hidden tests (3 points): random shapes, with gradient checks.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a06_convolution as _R
_rng = np.random.default_rng(6104)
with G.part("06_convolution/conv_im2col", points=3, hidden=True) as p:
    for _n, _c, _h, _w, _co, _k, _s, _pad in [(1, 1, 3, 3, 1, 1, 1, 0), (4, 3, 8, 8, 5, 3, 1, 1),
                                               (2, 2, 9, 7, 3, 3, 2, 0), (3, 4, 6, 6, 2, 4, 2, 1)]:
        _x, _wt, _b = _rng.normal(size=(_n, _c, _h, _w)), _rng.normal(size=(_co, _c, _k, _k)), _rng.normal(size=_co)
        _z = p.compare(conv_forward_im2col, _R.conv_forward_im2col, _x, _wt, _b, _s, _pad)
        _dout = _rng.normal(size=np.shape(_z))
        p.compare(conv_backward_im2col, _R.conv_backward_im2col, _dout, _x, _wt, _s, _pad, names=("dx", "dw", "db"))
        p.gradcheck(lambda v: float(np.sum(_R.conv_forward_im2col(v, _wt, _b, _s, _pad) * _dout)),
                    lambda v: conv_backward_im2col(_dout, v, _wt, _s, _pad)[0], _x,
                    f"dx for x {_x.shape}, w {_wt.shape}", tol=1e-5)
### END HIDDEN TESTS
# %% [markdown]
# ## Part 5: max pooling (4 points)
#
# Max pooling keeps the largest value of every `kernel × kernel` window, per channel (seed 6.4.2);
# with `stride=None` the stride is the kernel size. `max_pool_forward(x, kernel, stride=None)`
# maps `(N, C, H, W)` to `(N, C, H_o, W_o)`.
#
# `max_pool_backward(dout, x, kernel, stride=None)` returns `dx` (shape of `x`): each window's
# gradient goes to the position of its maximum (if a pixel is the maximum of several overlapping
# windows, it collects all their gradients; on ties, the first maximum in row-major order).
# %% [answer] id=max_pool_answer
def max_pool_forward(x, kernel, stride=None):
    """Max pooling: (N, C, H, W) -> (N, C, H_o, W_o)."""
    ### BEGIN SOLUTION
    stride = kernel if stride is None else stride
    n_img, chans, height, width = x.shape
    ho, wo = (height - kernel) // stride + 1, (width - kernel) // stride + 1
    out = np.empty((n_img, chans, ho, wo))
    for j in range(ho):
        for k in range(wo):
            out[:, :, j, k] = x[:, :, j * stride:j * stride + kernel, k * stride:k * stride + kernel].max(axis=(2, 3))
    return out
    ### END SOLUTION


def max_pool_backward(dout, x, kernel, stride=None):
    """dL/dx of max pooling."""
    ### BEGIN SOLUTION
    stride = kernel if stride is None else stride
    n_img, chans, ho, wo = dout.shape
    dx = np.zeros_like(x, dtype=float)
    nn, cc = np.meshgrid(np.arange(n_img), np.arange(chans), indexing="ij")
    for j in range(ho):
        for k in range(wo):
            window = x[:, :, j * stride:j * stride + kernel, k * stride:k * stride + kernel]
            flat = window.reshape(n_img, chans, -1).argmax(axis=2)
            rows, cols = j * stride + flat // kernel, k * stride + flat % kernel
            np.add.at(dx, (nn, cc, rows, cols), dout[:, :, j, k])
    return dx
    ### END SOLUTION
# %% [tests] id=max_pool_tests points=2
with G.part("06_convolution/max_pool", points=2) as p:
    x_pool = np.array([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 1.0], [0.0, 2.0, 7.0, 6.0], [9.0, 1.0, 3.0, 4.0]]]])
    dout_pool = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    p.expect_close(p.call(max_pool_forward, x_pool, 2), [[[[5.0, 8.0], [9.0, 7.0]]]], "max_pool_forward(x (1, 1, 4, 4), 2)")
    p.expect_close(p.call(max_pool_backward, dout_pool, x_pool, 2),
                   [[[[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 4.0, 0.0], [3.0, 0.0, 0.0, 0.0]]]],
                   "max_pool_backward(dout=[[1, 2], [3, 4]], x, 2)")
    p.expect_close(p.call(max_pool_forward, x_pool, 3, 1), [[[[8.0, 8.0], [9.0, 8.0]]]],
                   "max_pool_forward(x, 3, stride=1) (overlapping windows)")
    p.expect_close(p.call(max_pool_backward, dout_pool, x_pool, 3, 1),
                   [[[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 7.0, 0.0], [0.0, 0.0, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0]]]],
                   "max_pool_backward(dout, x, 3, stride=1) (the 8 is the maximum of three windows: 1 + 2 + 4)")
    x_two = np.stack([x_pool[0], -x_pool[0]])
    p.expect_close(p.call(max_pool_forward, x_two, 2), [[[[5.0, 8.0], [9.0, 7.0]]], [[[-1.0, 0.0], [0.0, -3.0]]]],
                   "max_pool_forward on two images (each image and channel is pooled separately)")
# %% [tests] id=max_pool_hidden points=2
# Hidden tests (2 points): random shapes, strides, with gradient checks.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a06_convolution as _R
_rng = np.random.default_rng(6105)
with G.part("06_convolution/max_pool", points=2, hidden=True) as p:
    for _shape, _k, _s in [((1, 1, 2, 2), 2, None), ((2, 3, 8, 8), 2, None), ((3, 2, 7, 7), 3, 2), ((2, 2, 6, 9), 3, 1)]:
        _x = _rng.normal(size=_shape)
        _z = p.compare(max_pool_forward, _R.max_pool_forward, _x, _k, _s)
        _dout = _rng.normal(size=np.shape(_z))
        p.compare(max_pool_backward, _R.max_pool_backward, _dout, _x, _k, _s)
        p.gradcheck(lambda v: float(np.sum(_R.max_pool_forward(v, _k, _s) * _dout)),
                    lambda v: max_pool_backward(_dout, v, _k, _s), _x, f"dx for x of shape {_shape}")
### END HIDDEN TESTS
# %% [markdown]
# ## Part 6: average pooling (3 points)
#
# Average pooling takes the mean of every window (seed 6.4.3); every pixel of a window receives
# `dout / kernel²` of that window's gradient. Same signatures as Part 5.
# %% [answer] id=avg_pool_answer
def avg_pool_forward(x, kernel, stride=None):
    """Average pooling: (N, C, H, W) -> (N, C, H_o, W_o)."""
    ### BEGIN SOLUTION
    stride = kernel if stride is None else stride
    n_img, chans, height, width = x.shape
    ho, wo = (height - kernel) // stride + 1, (width - kernel) // stride + 1
    out = np.empty((n_img, chans, ho, wo))
    for j in range(ho):
        for k in range(wo):
            out[:, :, j, k] = x[:, :, j * stride:j * stride + kernel, k * stride:k * stride + kernel].mean(axis=(2, 3))
    return out
    ### END SOLUTION


def avg_pool_backward(dout, x, kernel, stride=None):
    """dL/dx of average pooling."""
    ### BEGIN SOLUTION
    stride = kernel if stride is None else stride
    _, _, ho, wo = dout.shape
    dx = np.zeros_like(x, dtype=float)
    for j in range(ho):
        for k in range(wo):
            dx[:, :, j * stride:j * stride + kernel, k * stride:k * stride + kernel] += \
                dout[:, :, j:j + 1, k:k + 1] / kernel ** 2
    return dx
    ### END SOLUTION
# %% [tests] id=avg_pool_tests points=1
with G.part("06_convolution/avg_pool", points=1) as p:
    x_pool = np.array([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 1.0], [0.0, 2.0, 7.0, 6.0], [9.0, 1.0, 3.0, 4.0]]]])
    dout_pool = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    p.expect_close(p.call(avg_pool_forward, x_pool, 2), [[[[3.25, 2.75], [3.0, 5.0]]]], "avg_pool_forward(x (1, 1, 4, 4), 2)")
    p.expect_close(p.call(avg_pool_backward, dout_pool, x_pool, 2),
                   [[[[0.25, 0.25, 0.5, 0.5], [0.25, 0.25, 0.5, 0.5], [0.75, 0.75, 1.0, 1.0], [0.75, 0.75, 1.0, 1.0]]]],
                   "avg_pool_backward(dout=[[1, 2], [3, 4]], x, 2)")
    p.expect_close(p.call(avg_pool_forward, x_pool, 3, 1),
                   [[[[3.5555555555555554, 3.888888888888889], [4.111111111111111, 4.0]]]],
                   "avg_pool_forward(x, 3, stride=1) (overlapping windows)")
# %% [tests] id=avg_pool_hidden points=2
# Hidden tests (2 points): random shapes, strides, with gradient checks.
### BEGIN HIDDEN TESTS
from dlcourse.grading.references import a06_convolution as _R
_rng = np.random.default_rng(6106)
with G.part("06_convolution/avg_pool", points=2, hidden=True) as p:
    for _shape, _k, _s in [((1, 1, 2, 2), 2, None), ((2, 3, 8, 8), 2, None), ((3, 2, 7, 7), 3, 2), ((2, 2, 6, 9), 3, 1)]:
        _x = _rng.normal(size=_shape)
        _z = p.compare(avg_pool_forward, _R.avg_pool_forward, _x, _k, _s)
        _dout = _rng.normal(size=np.shape(_z))
        p.compare(avg_pool_backward, _R.avg_pool_backward, _dout, _x, _k, _s)
        p.gradcheck(lambda v: float(np.sum(_R.avg_pool_forward(v, _k, _s) * _dout)),
                    lambda v: avg_pool_backward(_dout, v, _k, _s), _x, f"dx for x of shape {_shape}")
### END HIDDEN TESTS
