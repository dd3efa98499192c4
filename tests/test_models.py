"""Blocks (seed 6.5–6.7), the model zoo (seed 6.9, 6.10.2) and summaries: gradients and parameter counts."""
import numpy as np
import pytest

from dlcourse.gradcheck import check_module
from dlcourse.models import UNet, alexnet_small, lenet5, mean_iou, mlp, resnet_small, summary, vgg_small
from dlcourse.nn import (Concat, Conv2d, DepthwiseSeparableConv, GlobalAvgPool2d, InceptionBlock, ResidualBlock,
                         Sequential, Tanh)
from dlcourse.nn.shapes import conv_parameter_count

pytestmark = pytest.mark.models


def x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("block,shape", [
    (lambda: ResidualBlock(3, 3, batch_norm=False), (2, 3, 5, 5)),
    (lambda: ResidualBlock(2, 4, stride=2), (2, 2, 6, 6)),
    (lambda: InceptionBlock(3, 2, 2, 3, 1, 2), (2, 3, 5, 5)),
    (lambda: DepthwiseSeparableConv(4, 3), (2, 4, 5, 5)),
    (lambda: GlobalAvgPool2d(), (2, 3, 4, 5)),
    (lambda: Concat(Conv2d(2, 3, 1), Sequential(Conv2d(2, 1, 3, padding=1), Tanh())), (1, 2, 4, 4)),
], ids=["residual", "residual_projection", "inception", "depthwise_separable", "global_avg_pool", "concat"])
def test_block_gradients(block, shape):
    check_module(block(), x(*shape)).assert_ok()


def test_unet_gradients_and_output_shape():
    net = UNet(in_channels=1, num_classes=3, base_channels=2, depth=2)
    out = net(x(1, 1, 8, 8).astype(np.float32))
    assert out.shape == (1, 3, 8, 8)
    check_module(net, x(2, 1, 8, 8)).assert_ok()
    with pytest.raises(ValueError, match="divisible by 4"):
        net(np.zeros((1, 1, 10, 10), np.float32))


def test_residual_identity_when_residual_branch_is_zero():
    block = ResidualBlock(2, batch_norm=False)
    for p in block.residual.parameters():
        p.data[...] = 0
    inp = np.abs(x(1, 2, 4, 4))  # positive, so the final ReLU is the identity
    np.testing.assert_allclose(block(inp), inp)


def test_parameter_counts_follow_the_lecture():
    assert lenet5().num_parameters() == 61_706  # seed 6.9.1: ~60k
    dw = DepthwiseSeparableConv(16, 32, batch_norm=False)
    assert dw.num_parameters() == conv_parameter_count(16, 16, 3, groups=16) + conv_parameter_count(16, 32, 1)
    assert dw.num_parameters() < conv_parameter_count(16, 32, 3) / 4  # seed 6.7: far cheaper
    assert mlp([784, 256, 10]).num_parameters() == 784 * 256 + 256 + 256 * 10 + 10


@pytest.mark.parametrize("factory,shape,out", [
    (lenet5, (1, 28, 28), (10,)), (alexnet_small, (1, 28, 28), (10,)), (vgg_small, (1, 28, 28), (10,)),
    (lambda: vgg_small(in_channels=3, image_size=32, widths=(8, 16, 32)), (3, 32, 32), (10,)),
    (resnet_small, (1, 28, 28), (10,)), (lambda: UNet(1, 4), (1, 32, 32), (4, 32, 32)),
], ids=["lenet5", "alexnet", "vgg", "vgg32", "resnet", "unet"])
def test_summary_lists_layers_shapes_and_total(factory, shape, out):
    model = factory()
    s = summary(model, shape)
    assert s.rows[-1].output_shape == out
    assert s.total == model.num_parameters() == sum(r.parameters for r in s.rows)
    assert "total parameters" in str(s)
    assert model(np.zeros((2,) + shape, np.float32)).shape == (2,) + out


def test_mean_iou():
    a = np.array([[0, 0, 1, 1]])
    assert mean_iou(a, a, 2) == 1.0
    assert mean_iou(np.array([[0, 1, 1, 1]]), a, 2) == pytest.approx((1 / 2 + 2 / 3) / 2)
