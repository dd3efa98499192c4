"""Building blocks of modern CNNs: residual (seed 6.5), inception (seed 6.6), depthwise-separable
(seed 6.7) blocks, global average pooling and channel concatenation.

Shapes: every block maps ``x (N, C_in, H, W)`` to ``(N, C_out, H', W')``; the blocks use *same*
convolutions so that the tensors they add or concatenate line up.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_ndim, float_array
from .activations import ReLU
from .conv import Conv2d
from .module import Module, Sequential
from .norm import BatchNorm2d


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 batch_norm: bool = True, relu: bool = True) -> Sequential:
    """A same convolution (padding k//2), optional batch norm (seed 4.5.6: bias then redundant), optional ReLU."""
    layers: list[Module] = [Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                                   bias=not batch_norm, rounding="floor")]
    if batch_norm:
        layers.append(BatchNorm2d(out_channels))
    if relu:
        layers.append(ReLU())
    return Sequential(*layers)


class ResidualBlock(Module):
    """Seed 6.5: ``z = a(F(x) + skip(x))`` with ``F`` = conv-BN-ReLU-conv-BN (two 3×3 same convolutions).

    ``skip`` is the identity when shapes agree; with ``stride > 1`` or a change of channels it is a
    1×1 convolution (+ BN) so that the sum is defined (the lecture's "requires same dimension").
    Backward: the gradient reaching the sum flows into *both* paths and their input gradients
    add — the identity path is why deep ResNets do not suffer vanishing gradients.
    """

    def __init__(self, in_channels: int, out_channels: int | None = None, stride: int = 1,
                 batch_norm: bool = True) -> None:
        super().__init__()
        out_channels = out_channels or in_channels
        self.residual = Sequential(conv_bn_relu(in_channels, out_channels, 3, stride, batch_norm),
                                   conv_bn_relu(out_channels, out_channels, 3, 1, batch_norm, relu=False))
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = conv_bn_relu(in_channels, out_channels, 1, stride, batch_norm, relu=False)
        self.activation = ReLU()

    def forward(self, x):
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.activation(self.residual(x) + skip)

    def backward(self, dout):
        d = self.activation.backward(dout)
        dx = self.residual.backward(d)
        return dx + (d if self.shortcut is None else self.shortcut.backward(d))


class Concat(Module):
    """Run several branches on the same input and concatenate their outputs along channels (seed 6.6)."""

    def __init__(self, *branches: Module) -> None:
        super().__init__()
        self.branches = list(branches)

    def forward(self, x):
        outs = [branch(x) for branch in self.branches]
        self._sizes = [o.shape[1] for o in outs]
        return np.concatenate(outs, axis=1)

    def backward(self, dout):
        splits = np.split(dout, np.cumsum(self._sizes)[:-1], axis=1)
        return sum(branch.backward(d) for branch, d in zip(self.branches, splits))


class InceptionBlock(Concat):
    """Seed 6.6: parallel 1×1, 3×3 and 5×5 same convolutions, concatenated along channels.

    The 3×3 and 5×5 branches first shrink the channels with a 1×1 convolution (``reduce3``,
    ``reduce5``) — that is what keeps the block cheap.  Output channels: ``c1 + c3 + c5``.
    (GoogLeNet's fourth, max-pooling branch is left out: it needs a padded max pool.)
    """

    def __init__(self, in_channels: int, c1: int, reduce3: int, c3: int, reduce5: int, c5: int,
                 batch_norm: bool = True) -> None:
        super().__init__(conv_bn_relu(in_channels, c1, 1, batch_norm=batch_norm),
                         Sequential(conv_bn_relu(in_channels, reduce3, 1, batch_norm=batch_norm),
                                    conv_bn_relu(reduce3, c3, 3, batch_norm=batch_norm)),
                         Sequential(conv_bn_relu(in_channels, reduce5, 1, batch_norm=batch_norm),
                                    conv_bn_relu(reduce5, c5, 5, batch_norm=batch_norm)))


class DepthwiseSeparableConv(Sequential):
    """Seed 6.7 (Xception): a depthwise convolution (one filter per channel, ``groups = C_in``)
    followed by a 1×1 pointwise convolution that mixes channels.

    Parameters ``C_in·k² + C_in·C_out`` instead of ``C_in·C_out·k²`` — about k² times fewer.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 batch_norm: bool = True) -> None:
        depthwise = Conv2d(in_channels, in_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                           groups=in_channels, bias=not batch_norm, rounding="floor")
        layers: list[Module] = [depthwise]
        if batch_norm:
            layers.append(BatchNorm2d(in_channels))
        layers += [ReLU(), conv_bn_relu(in_channels, out_channels, 1, batch_norm=batch_norm)]
        super().__init__(*layers)


class GlobalAvgPool2d(Module):
    """Mean over the spatial axes: ``(N, C, H, W) -> (N, C)`` (the head of ResNets)."""

    def forward(self, x):
        x = float_array("GlobalAvgPool2d", x)
        check_ndim("GlobalAvgPool2d", x, 4, "(N, C, H, W)")
        self._shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout):
        n, c, h, w = self._shape
        return np.broadcast_to(dout[:, :, None, None] / (h * w), self._shape).copy()


