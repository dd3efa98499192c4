"""Normalization layers (seed 4.5.6–4.5.7): direct formulas, running statistics, gradient checks."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcourse.gradcheck import check_module
from dlcourse.mistakes import silenced
from dlcourse.nn import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from dlcourse.nn.norm import normalize, normalize_backward

pytestmark = pytest.mark.norm

EPS = 1e-5


def randomize_affine(layer, seed=0):
    """Non-trivial γ, β so that parameter gradients and the γ path of dx are really exercised."""
    rng = np.random.default_rng(seed)
    if layer.weight is not None:
        layer.weight.data = rng.uniform(0.5, 2.0, layer.weight.shape)
        layer.bias.data = rng.standard_normal(layer.bias.shape)
    return layer


def randn(shape, seed=11, scale=1.0, shift=0.0):
    # never seed 0: check_module draws its random dout with seed 0, and an input equal to a scaled
    # copy of dout makes the true input gradient of a normalisation exactly zero
    return np.random.default_rng(seed + 1000).standard_normal(shape) * scale + shift


# -- forward against the formulas written out ------------------------------------------------------
def test_batchnorm1d_training_forward_matches_formula():
    x = randn((8, 3), scale=3.0, shift=2.0)
    bn = randomize_affine(BatchNorm1d(3)).double()
    out = bn(x)
    mu = x.sum(axis=0) / 8
    var = ((x - mu) ** 2).sum(axis=0) / 8                      # biased, seed 4.5.6
    expected = bn.weight.data * (x - mu) / np.sqrt(var + EPS) + bn.bias.data
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_batchnorm2d_per_channel_statistics():
    x = randn((4, 3, 5, 6), scale=2.0, shift=-1.0)
    out = BatchNorm2d(3).double()(x)
    for c in range(3):
        xc = x[:, c]
        np.testing.assert_allclose(out[:, c], (xc - xc.mean()) / np.sqrt(xc.var() + EPS), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, atol=1e-4)


def test_batchnorm1d_sequence_input_normalises_over_batch_and_length():
    x = randn((4, 3, 7), shift=5.0)
    out = BatchNorm1d(3).double()(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2)), 1, atol=1e-4)


def test_layernorm_matches_formula():
    x = randn((2, 3, 4, 5), scale=4.0, shift=3.0)
    ln = randomize_affine(LayerNorm((4, 5))).double()
    out = ln(x)
    expected = np.empty_like(x)
    for i in range(2):
        for j in range(3):
            v = x[i, j]
            expected[i, j] = (v - v.mean()) / np.sqrt(((v - v.mean()) ** 2).mean() + EPS)
    np.testing.assert_allclose(out, expected * ln.weight.data + ln.bias.data, rtol=1e-12, atol=1e-12)


def test_instancenorm_matches_formula():
    x = randn((2, 3, 4, 5), scale=2.0, shift=1.0)
    inorm = InstanceNorm2d(3, affine=True)
    randomize_affine(inorm).double()
    out = inorm(x)
    for n in range(2):
        for c in range(3):
            v = x[n, c]
            ref = (v - v.mean()) / np.sqrt(v.var() + EPS) * inorm.weight.data[c] + inorm.bias.data[c]
            np.testing.assert_allclose(out[n, c], ref, rtol=1e-12, atol=1e-12)
    assert InstanceNorm2d(3).weight is None  # PyTorch's default: no affine


def test_groupnorm_matches_formula():
    x = randn((2, 6, 3, 4), scale=2.0, shift=1.0)
    gn = randomize_affine(GroupNorm(3, 6)).double()
    out = gn(x)
    for n in range(2):
        for g in range(3):
            v = x[n, 2 * g:2 * g + 2]
            xhat = (v - v.mean()) / np.sqrt(v.var() + EPS)
            ref = xhat * gn.weight.data[2 * g:2 * g + 2, None, None] + gn.bias.data[2 * g:2 * g + 2, None, None]
            np.testing.assert_allclose(out[n, 2 * g:2 * g + 2], ref, rtol=1e-12, atol=1e-12)


def test_groupnorm_one_group_is_layernorm_and_c_groups_is_instancenorm():
    x = randn((3, 4, 5, 2), shift=2.0)
    gn1 = randomize_affine(GroupNorm(1, 4), seed=1).double()
    ln = LayerNorm((4, 5, 2)).double()
    ln.weight.data = np.broadcast_to(gn1.weight.data[:, None, None], (4, 5, 2)).copy()
    ln.bias.data = np.broadcast_to(gn1.bias.data[:, None, None], (4, 5, 2)).copy()
    np.testing.assert_allclose(gn1(x), ln(x), rtol=1e-12, atol=1e-12)

    gn4 = randomize_affine(GroupNorm(4, 4), seed=2).double()
    inorm = InstanceNorm2d(4, affine=True).double()
    inorm.weight.data, inorm.bias.data = gn4.weight.data.copy(), gn4.bias.data.copy()
    np.testing.assert_allclose(gn4(x), inorm(x), rtol=1e-12, atol=1e-12)
    # and the gradients agree too
    dout = randn(x.shape, seed=5)
    np.testing.assert_allclose(gn4.backward(dout), inorm.backward(dout), rtol=1e-10, atol=1e-12)


# -- running statistics and evaluation mode -----------------------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_running_statistics_after_several_batches(momentum):
    bn = BatchNorm2d(2, momentum=momentum).double()
    rm, rv = np.zeros(2), np.ones(2)
    for k in range(1, 6):
        x = randn((3, 2, 4, 4), seed=k, scale=k, shift=k)
        bn(x)
        m = 3 * 4 * 4
        mean = x.transpose(1, 0, 2, 3).reshape(2, -1).sum(axis=1) / m
        unbiased = ((x.transpose(1, 0, 2, 3).reshape(2, -1) - mean[:, None]) ** 2).sum(axis=1) / (m - 1)
        w = 1.0 / k if momentum is None else momentum          # None: cumulative average
        beta_m = 1.0 - w                                        # the lecture's β_m (weight of the old value)
        rm = beta_m * rm + (1 - beta_m) * mean
        rv = beta_m * rv + (1 - beta_m) * unbiased
    np.testing.assert_allclose(bn.running_mean, rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, rv, rtol=1e-12)
    assert int(bn.num_batches_tracked) == 5


def test_eval_uses_running_statistics_and_is_per_sample():
    bn = randomize_affine(BatchNorm1d(3)).double()
    for k in range(20):
        bn(randn((16, 3), seed=k, scale=2.0, shift=3.0))
    rm, rv = bn.running_mean.copy(), bn.running_var.copy()
    assert np.all(np.abs(rm - 3.0) < 0.6) and np.all(np.abs(rv - 4.0) < 1.5)
    bn.eval()
    x = randn((5, 3), seed=99)
    out = bn(x)
    np.testing.assert_allclose(out, bn.weight.data * (x - rm) / np.sqrt(rv + EPS) + bn.bias.data, rtol=1e-12)
    np.testing.assert_allclose(bn(x[:1]), out[:1], rtol=1e-12)  # a sample's output no longer depends on the batch
    np.testing.assert_array_equal(bn.running_mean, rm)            # eval leaves the statistics alone
    assert not np.allclose(bn.train()(x), out)                   # training mode normalises with the batch


def test_running_stats_in_state_dict_and_float32_buffers():
    bn = BatchNorm2d(4)
    x = randn((2, 4, 3, 3), shift=1.0).astype(np.float32)
    out = bn(x)
    assert out.dtype == np.float32 and bn.running_mean.dtype == np.float32
    state = bn.state_dict()
    assert {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"} <= set(state)
    other = BatchNorm2d(4)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.running_var, bn.running_var)


def test_batchnorm_needs_more_than_one_value_per_channel_in_training():
    with pytest.raises(ValueError, match="BatchNorm1d.*more than 1 value"):
        BatchNorm1d(3)(np.ones((1, 3)))
    bn = BatchNorm1d(3).eval()
    assert bn(np.ones((1, 3))).shape == (1, 3)  # fine in eval mode


def test_bad_shapes_are_rejected_with_the_layer_name():
    with pytest.raises(ValueError, match="BatchNorm2d.*num_features"):
        BatchNorm2d(3)(np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match="BatchNorm2d.*N, C, H, W"):
        BatchNorm2d(3)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="LayerNorm"):
        LayerNorm(5)(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="divisible"):
        GroupNorm(4, 6)
    with pytest.raises(TypeError, match="GroupNorm.*floating"):
        GroupNorm(2, 4)(np.zeros((2, 4, 3), dtype=np.int64))


# -- gradients ----------------------------------------------------------------------------------------
def test_normalize_backward_closed_form_against_finite_differences():
    x = randn((4, 5), seed=3)
    dxhat = randn((4, 5), seed=4)
    xhat, _, _, inv_std = normalize(x, (0,), EPS)
    dx = normalize_backward(dxhat, xhat, inv_std, (0,))
    h = 1e-6
    num = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        num[idx] = np.sum((normalize(xp, (0,), EPS)[0] - normalize(xm, (0,), EPS)[0]) * dxhat) / (2 * h)
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (1, 3, 4), (2, 3)])
def test_batchnorm1d_gradients_train(shape):
    check_module(randomize_affine(BatchNorm1d(3)), randn(shape, scale=2.0, shift=1.0)).assert_ok()


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (1, 3)])
def test_batchnorm1d_gradients_eval(shape):
    bn = randomize_affine(BatchNorm1d(3))
    bn.running_mean = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    bn.running_var = np.array([0.3, 2.0, 1.5], dtype=np.float32)
    check_module(bn.eval(), randn(shape)).assert_ok()


def test_batchnorm2d_gradients_train_and_eval():
    x = randn((3, 2, 3, 4), scale=2.0, shift=-1.0)
    bn = randomize_affine(BatchNorm2d(2))
    check_module(bn, x).assert_ok()
    with silenced("train_mode_eval"):  # forward-only passes on purpose: they move the running statistics
        for _ in range(3):
            bn(x * 1.5 + 0.3)
    check_module(bn.eval(), x).assert_ok()
    check_module(randomize_affine(BatchNorm2d(2)), x[:1]).assert_ok()  # batch 1 still has H·W values


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 4), length=st.integers(2, 5), seed=st.integers(0, 10_000))
def test_batchnorm_gradients_random_shapes(n, c, length, seed):
    x = randn((n, c, length), seed=seed, scale=3.0)
    check_module(randomize_affine(BatchNorm1d(c), seed), x).assert_ok()
    check_module(randomize_affine(BatchNorm2d(c), seed), x.reshape(n, c, 1, length)).assert_ok()


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 4), h=st.integers(1, 3), w=st.integers(2, 4), seed=st.integers(0, 10_000))
def test_layer_instance_group_norm_gradients_random_shapes(n, c, h, w, seed):
    x = randn((n, c, h, w), seed=seed, scale=2.0, shift=1.0)
    check_module(randomize_affine(LayerNorm((c, h, w)), seed), x).assert_ok()
    check_module(randomize_affine(LayerNorm(w), seed), x).assert_ok()
    check_module(randomize_affine(InstanceNorm2d(c, affine=True), seed), x).assert_ok()
    check_module(InstanceNorm2d(c), x).assert_ok()
    for groups in (1, c):
        check_module(randomize_affine(GroupNorm(groups, c), seed), x).assert_ok()


def test_groupnorm_gradients_batch_one_and_sequences():
    check_module(randomize_affine(GroupNorm(2, 6)), randn((1, 6, 3, 3), shift=1.0)).assert_ok()
    check_module(randomize_affine(GroupNorm(3, 6)), randn((2, 6, 5))).assert_ok()


def test_gradients_accumulate_until_zero_grad():
    bn = randomize_affine(BatchNorm1d(2)).double()
    x, dout = randn((5, 2)), randn((5, 2), seed=1)
    bn(x)
    bn.backward(dout)
    once = bn.weight.grad.copy()
    bn(x)
    bn.backward(dout)
    np.testing.assert_allclose(bn.weight.grad, 2 * once)
    bn.zero_grad()
    assert not bn.weight.grad.any()


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=2, max_size=4), seed=st.integers(0, 10_000),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_fast_mean_is_np_mean_bit_for_bit(shape, seed, dtype):
    """The normalizations' mean skips np.mean's wrapper; it must not change a single bit or the dtype."""
    from dlcourse.nn.norm import _mean

    x = (np.random.default_rng(seed).standard_normal(shape) * 10 + 3).astype(dtype)
    axes = (0,) + tuple(range(2, len(shape)))
    fast, reference = _mean(x, axes), x.mean(axis=axes, keepdims=True)
    assert fast.dtype == reference.dtype and np.array_equal(fast, reference)
