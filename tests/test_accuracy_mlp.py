"""Held-out accuracy of a plain MLP on the bundled real datasets (foundation issue targets)."""
import numpy as np
import pytest

import dlcourse
from dlcourse.data.datasets import load_digits, load_fashion_mnist
from dlcourse.metrics import accuracy
from dlcourse.nn import CrossEntropyLoss, Flatten, Linear, ReLU, Sequential
from dlcourse.optim import Adam
from dlcourse.train import fit, predict

pytestmark = [pytest.mark.train, pytest.mark.accuracy]


def mlp(d_in, hidden, classes):
    return Sequential(Flatten(), Linear(d_in, hidden), ReLU(), Linear(hidden, classes))


def test_mlp_reaches_97_percent_on_held_out_digits():
    dlcourse.seed(0)
    data = load_digits()
    model = mlp(64, 128, 10)
    fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=3e-3), (data.X_train, data.y_train), epochs=40,
        batch_size=32, progress=False)
    test_acc = accuracy(predict(model, data.X_test), data.y_test)
    assert test_acc >= 0.97, f"digits test accuracy {test_acc:.3f}"


def test_mlp_reaches_85_percent_on_held_out_fashion_mnist():
    dlcourse.seed(0)
    data = load_fashion_mnist()
    model = mlp(784, 256, 10)
    fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=1e-3), (data.X_train, data.y_train), epochs=12,
        batch_size=64, progress=False)
    test_acc = accuracy(predict(model, data.X_test), data.y_test)
    assert test_acc >= 0.85, f"Fashion-MNIST test accuracy {test_acc:.3f}"
