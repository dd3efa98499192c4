"""Multi-layer perceptrons (seed 5) and the classic CNN architectures of seed 6.9, sized for
28×28 / 32×32 images so that they train on a laptop CPU.

Each factory returns a ``Sequential``; ``dlcourse.models.summary(model, (1, 28, 28))`` prints
its layers, output shapes and parameter counts.
"""
from __future__ import annotations

from typing import Sequence

from ..nn import (AvgPool2d, BatchNorm1d, Conv2d, Dropout, Flatten, GlobalAvgPool2d, Linear, MaxPool2d, ReLU,
                  ResidualBlock, Sequential, Tanh, conv_bn_relu)
from ..nn.shapes import conv_output_size, pool_output_size


def mlp(sizes: Sequence[int], activation=ReLU, dropout: float = 0.0, batch_norm: bool = False) -> Sequential:
    """Seed 5.1: ``sizes = [d_in, h1, …, d_out]`` → Linear/[BN]/activation/[Dropout] per hidden layer.

    Input ``(N, d_in)`` (images are flattened first) → scores ``(N, d_out)``.
    """
    if len(sizes) < 2:
        raise ValueError(f"mlp needs at least input and output sizes, got {list(sizes)}")
    layers = [Flatten()]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b))
        if i < len(sizes) - 2:
            if batch_norm:
                layers.append(BatchNorm1d(b))
            layers.append(activation())
            if dropout:
                layers.append(Dropout(dropout))
    return Sequential(*layers)


def lenet5(num_classes: int = 10, in_channels: int = 1, image_size: int = 28) -> Sequential:
    """Seed 6.9.1: LeNet-5 — two 5×5 convolutions with tanh and average pooling, then 120-84-classes.

    For 28×28 input the first convolution pads by 2 (the original took 32×32); ~61.7k parameters.
    """
    padding = 2 if image_size == 28 else 0
    s = pool_output_size(conv_output_size(image_size, 5, 1, padding), 2, 2)
    s = pool_output_size(conv_output_size(s, 5), 2, 2)
    return Sequential(Conv2d(in_channels, 6, 5, padding=padding), Tanh(), AvgPool2d(2),
                      Conv2d(6, 16, 5), Tanh(), AvgPool2d(2), Flatten(),
                      Linear(16 * s * s, 120), Tanh(), Linear(120, 84), Tanh(), Linear(84, num_classes))


def alexnet_small(num_classes: int = 10, in_channels: int = 1, image_size: int = 28, width: int = 32) -> Sequential:
    """Seed 6.9.2 in miniature: ReLU, a large first kernel, five convolutions, max pooling, dropout
    in a wide fully connected head (the original: 60M parameters on 224×224).
    """
    w = width
    s = pool_output_size(image_size, 2, 2, rounding="floor")
    s = pool_output_size(s, 2, 2, rounding="floor")
    s = pool_output_size(s, 2, 2, rounding="floor")
    return Sequential(Conv2d(in_channels, w, 5, padding=2), ReLU(), MaxPool2d(2, rounding="floor"),
                      Conv2d(w, 2 * w, 3, padding=1), ReLU(), MaxPool2d(2, rounding="floor"),
                      Conv2d(2 * w, 3 * w, 3, padding=1), ReLU(),
                      Conv2d(3 * w, 3 * w, 3, padding=1), ReLU(),
                      Conv2d(3 * w, 2 * w, 3, padding=1), ReLU(), MaxPool2d(2, rounding="floor"),
                      Flatten(), Dropout(0.5), Linear(2 * w * s * s, 256), ReLU(), Dropout(0.5),
                      Linear(256, num_classes))


def vgg_small(num_classes: int = 10, in_channels: int = 1, image_size: int = 28,
              widths: Sequence[int] = (16, 32), convs_per_block: int = 2, batch_norm: bool = True) -> Sequential:
    """Seed 6.9.3: blocks of 3×3 *same* convolutions followed by a 2×2 max pool that halves the size;
    channels grow from block to block; one hidden fully connected layer.
    """
    layers, c, s = [], in_channels, image_size
    for w in widths:
        for _ in range(convs_per_block):
            layers.append(conv_bn_relu(c, w, 3, batch_norm=batch_norm))
            c = w
        layers.append(MaxPool2d(2))
        s = pool_output_size(s, 2, 2)
    layers += [Flatten(), Linear(c * s * s, 128), ReLU(), Linear(128, num_classes)]
    return Sequential(*layers)


def resnet_small(num_classes: int = 10, in_channels: int = 1, widths: Sequence[int] = (16, 32, 64),
                 blocks_per_stage: int = 1) -> Sequential:
    """Seed 6.9.4: a stem convolution, stages of residual blocks (seed 6.5) — the first block of each
    later stage halves the resolution with stride 2 and a 1×1 projection shortcut — then global
    average pooling and one linear layer.
    """
    layers = [conv_bn_relu(in_channels, widths[0], 3)]
    c = widths[0]
    for i, w in enumerate(widths):
        for b in range(blocks_per_stage):
            layers.append(ResidualBlock(c, w, stride=2 if i > 0 and b == 0 else 1))
            c = w
    layers += [GlobalAvgPool2d(), Linear(c, num_classes)]
    return Sequential(*layers)
