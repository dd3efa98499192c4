"""Held-out results of the conv chapter (issue 3): real training runs, measured on test data they never saw.

Each test trains from a fixed seed within a modest budget (well under a minute on an idle 2-core
machine) and prints what it measured, so a regression shows as a number, not just a red cross.
"""
import time

import numpy as np
import pytest

import dlcourse
from dlcourse.data import load_fashion_mnist, make_mnist1d, make_shapes
from dlcourse.metrics import accuracy
from dlcourse.models import UNet, mean_iou
from dlcourse.nn import BatchNorm2d, Conv2d, CrossEntropyLoss, Flatten, Linear, MaxPool2d, ReLU, Sequential
from dlcourse.optim import Adam, ExponentialDecay
from dlcourse.train import fit, predict

pytestmark = [pytest.mark.models, pytest.mark.accuracy]


def _conv_block(c_in, c_out, kernel, padding, pool):
    """Seed 6.8: convolution (no bias: batch norm's shift replaces it), batch norm, ReLU, max pool."""
    return [Conv2d(c_in, c_out, kernel, padding=padding, bias=False), BatchNorm2d(c_out), ReLU(),
            MaxPool2d(pool, rounding="floor")]


def _train(model, X, y, *, epochs, lr, decay=None, batch_size=64, seed=0):
    schedule = ExponentialDecay(lr, decay) if decay else None
    fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=lr), (X, y), epochs=epochs, batch_size=batch_size,
        schedule=schedule, progress=False, rng=seed)
    return model


def test_small_cnn_reaches_88_percent_on_fashion_mnist():
    """Three conv blocks (16, 32, 64 channels) and a 64-unit hidden layer, 7 epochs on the 10k subset."""
    dlcourse.seed(0)
    data = load_fashion_mnist()
    model = Sequential(*_conv_block(1, 16, 3, 1, 2), *_conv_block(16, 32, 3, 1, 2), *_conv_block(32, 64, 3, 1, 2),
                       Flatten(), Linear(64 * 3 * 3, 64), ReLU(), Linear(64, 10))
    start = time.perf_counter()
    _train(model, data.X_train, data.y_train, epochs=7, lr=2e-3, decay=0.7)
    acc = accuracy(predict(model, data.X_test), data.y_test)
    print(f"\nFashion-MNIST CNN: test accuracy {acc:.4f} on {len(data.y_test)} images "
          f"({model.num_parameters()} parameters, {time.perf_counter() - start:.0f} s)")
    assert acc >= 0.88


def test_cnn_beats_mlp_by_15_points_on_mnist1d():
    """MNIST-1D (Greydanus 2020; published: MLP 68 %, CNN 94 %): weight sharing pays off on shifted signals.

    The CNN sees the 40-point signals as 1×40 images and convolves with kernels of height 1.
    """
    dlcourse.seed(0)
    data = make_mnist1d()
    start = time.perf_counter()
    mlp = Sequential(Flatten(), Linear(40, 256), ReLU(), Linear(256, 256), ReLU(), Linear(256, 10))
    _train(mlp, data.x_train, data.y_train, epochs=40, lr=2e-3, decay=0.95, batch_size=100)
    mlp_acc = accuracy(predict(mlp, data.x_test), data.y_test)

    def as_images(x):
        return x.reshape(len(x), 1, 1, 40)

    c = 32
    cnn = Sequential(*_conv_block(1, c, (1, 5), (0, 2), (1, 2)), *_conv_block(c, c, (1, 5), (0, 2), (1, 2)),
                     *_conv_block(c, c, (1, 3), (0, 1), (1, 2)), Flatten(), Linear(c * 5, 10))
    _train(cnn, as_images(data.x_train), data.y_train, epochs=10, lr=3e-3, decay=0.9, batch_size=100)
    cnn_acc = accuracy(predict(cnn, as_images(data.x_test)), data.y_test)
    print(f"\nMNIST-1D: MLP {mlp_acc:.4f} ({mlp.num_parameters()} parameters), CNN {cnn_acc:.4f} "
          f"({cnn.num_parameters()} parameters); {time.perf_counter() - start:.0f} s")
    assert cnn_acc - mlp_acc >= 0.15
    assert cnn_acc >= 0.85


def test_unet_reaches_mean_iou_080_on_generated_shapes():
    """Seed 6.10.2: U-Net (depth 2, 8-16-32 channels) labels every pixel as background, circle, square or
    triangle on noisy images with up to three overlapping shapes (``make_shapes`` defaults)."""
    dlcourse.seed(0)
    X_train, y_train = make_shapes(2000, size=32, rng=1)
    X_test, y_test = make_shapes(200, size=32, rng=2)
    model = UNet(in_channels=1, num_classes=4, base_channels=8, depth=2)
    start = time.perf_counter()
    _train(model, X_train, y_train, epochs=6, lr=5e-3, decay=0.6, batch_size=16)
    pred = predict(model, X_test).argmax(axis=1)
    iou = mean_iou(pred, y_test, 4)
    print(f"\nU-Net on shapes: test mean IoU {iou:.4f}, pixel accuracy {np.mean(pred == y_test):.4f} "
          f"({model.num_parameters()} parameters, {time.perf_counter() - start:.0f} s)")
    assert iou >= 0.80
