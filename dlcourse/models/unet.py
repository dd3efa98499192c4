"""A small U-Net (seed 6.10.2) for per-pixel classification."""
from __future__ import annotations

import numpy as np

from ..nn import Conv2d, ConvTranspose2d, MaxPool2d, ReLU, Sequential, conv_bn_relu
from ..nn.module import Module


def double_conv(in_channels: int, out_channels: int, batch_norm: bool = True) -> Sequential:
    """Two 3×3 convolutions with ReLU — one step of either path (seed 6.10.2)."""
    return Sequential(conv_bn_relu(in_channels, out_channels, 3, batch_norm=batch_norm),
                      conv_bn_relu(out_channels, out_channels, 3, batch_norm=batch_norm))


class UNet(Module):
    """Seed 6.10.2: encoder (double conv, 2×2 max pool, channels doubling), decoder (2×2
    up-convolution, concatenation with the encoder's skip connection, double conv), and a final
    1×1 convolution to ``num_classes`` scores per pixel.

    Shapes: ``x (N, C_in, H, W)`` → scores ``(N, num_classes, H, W)``; H and W divisible by
    ``2**depth``.  Train with ``CrossEntropyLoss`` and labels ``(N, H, W)``.
    Difference from the original: the 3×3 convolutions are *padded* (same), so the output has the
    input's size and no cropping of the skip connections is needed.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, base_channels: int = 8, depth: int = 2,
                 batch_norm: bool = True) -> None:
        super().__init__()
        self.depth = depth
        chans = [base_channels * 2**i for i in range(depth + 1)]
        self.down = [double_conv(in_channels if i == 0 else chans[i - 1], chans[i], batch_norm) for i in range(depth)]
        self.pools = [MaxPool2d(2) for _ in range(depth)]
        self.bottleneck = double_conv(chans[depth - 1], chans[depth], batch_norm)
        self.up = [ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth))]
        self.up_convs = [double_conv(2 * chans[i], chans[i], batch_norm) for i in reversed(range(depth))]
        self.head = Conv2d(chans[0], num_classes, 1)

    def forward(self, x):
        side = 2**self.depth
        if x.ndim != 4 or x.shape[2] % side or x.shape[3] % side:
            raise ValueError(f"UNet of depth {self.depth} expected input (N, C, H, W) with H and W divisible by "
                             f"{side}, got shape {x.shape}")
        skips = []
        for conv, pool in zip(self.down, self.pools):
            x = conv(x)
            skips.append(x)
            x = pool(x)
        x = self.bottleneck(x)
        self._skip_channels = []
        for up, conv, skip in zip(self.up, self.up_convs, reversed(skips)):
            x = up(x)
            self._skip_channels.append(x.shape[1])
            x = conv(np.concatenate([x, skip], axis=1))  # the skip connection brings back fine detail
        return self.head(x)

    def backward(self, dout):
        d = self.head.backward(dout)
        dskips = []
        for up, conv, c in zip(reversed(self.up), reversed(self.up_convs), reversed(self._skip_channels)):
            d = conv.backward(d)
            d, dskip = d[:, :c], d[:, c:]
            dskips.append(dskip)
            d = up.backward(d)
        d = self.bottleneck.backward(d)
        for conv, pool, dskip in zip(reversed(self.down), reversed(self.pools), reversed(dskips)):
            d = conv.backward(pool.backward(d) + dskip)
        return d


def mean_iou(pred_labels: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
    """Mean intersection over union over the classes present in prediction or truth."""
    ious = []
    for c in range(num_classes):
        p, t = pred_labels == c, labels == c
        union = np.logical_or(p, t).sum()
        if union:
            ious.append(np.logical_and(p, t).sum() / union)
    return float(np.mean(ious))
