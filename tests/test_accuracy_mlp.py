"""Held-out accuracy of a plain MLP on the bundled real datasets (foundation issue targets)."""
import pytest

import dlcourse
from dlcourse.data.datasets import load_digits, load_fashion_mnist
from dlcourse.metrics import accuracy
from dlcourse.nn import CrossEntropyLoss, Flatten, Linear, ReLU, Sequential
from dlcourse.optim import Adam
from dlcourse.train import fit, predict

pytestmark = [pytest.mark.train, pytest.mark.accuracy]


@pytest.mark.parametrize("loader,d_in,hidden,lr,epochs,batch,target", [
    (load_digits, 64, 128, 3e-3, 40, 32, 0.97),
    (load_fashion_mnist, 784, 256, 1e-3, 12, 64, 0.85),
], ids=["digits", "fashion_mnist"])
def test_mlp_reaches_target_accuracy_on_held_out_data(loader, d_in, hidden, lr, epochs, batch, target):
    dlcourse.seed(0)
    data = loader()
    model = Sequential(Flatten(), Linear(d_in, hidden), ReLU(), Linear(hidden, 10))
    fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=lr), (data.X_train, data.y_train), epochs=epochs,
        batch_size=batch, progress=False)
    test_acc = accuracy(predict(model, data.X_test), data.y_test)
    assert test_acc >= target, f"{loader.__name__}: test accuracy {test_acc:.3f} < {target}"
