"""References for assignment 03_layers (seed 4.1, 4.2, 5.3–5.4): dlcourse.nn layers and losses."""
from __future__ import annotations

import numpy as np

from dlcourse.nn.activations import ReLU, softmax as _softmax
from dlcourse.nn.linear import Linear
from dlcourse.nn.losses import CrossEntropyLoss, MSELoss

_NN = ["dlcourse.nn.linear", "dlcourse.nn.activations", "dlcourse.nn.losses", "dlcourse.nn.module"]
FORBID = {
    "relu": ["dlcourse.nn.activations.ReLU", "dlcourse.nn.activations.LeakyReLU", "dlcourse.graph.Value.relu"],
    "softmax": ["dlcourse.nn.activations.softmax", "dlcourse.nn.activations.log_softmax",
                "dlcourse.nn.activations.Softmax"],
    "mse_loss": ["dlcourse.nn.losses.MSELoss", "dlcourse.linear_models.LinearRegression"],
    "softmax_cross_entropy": ["dlcourse.nn.losses.CrossEntropyLoss", "dlcourse.nn.activations.softmax",
                              "dlcourse.nn.activations.log_softmax", "dlcourse.nn.activations.Softmax"],
    "linear": ["dlcourse.nn.linear"],
    "two_layer_net": _NN,
}
ADAPTERS = {
    "relu": ("relu_forward", "relu_backward"),
    "softmax": ("softmax",),
    "mse_loss": ("mse_loss",),
    "softmax_cross_entropy": ("softmax_cross_entropy",),
    "linear": ("linear_forward", "linear_backward"),
    "two_layer_net": ("two_layer_net",),
}


def relu_forward(x: np.ndarray) -> np.ndarray:
    """max(0, x) element-wise (seed 4.1.4)."""
    return ReLU()(np.asarray(x, dtype=np.float64))


def relu_backward(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dout where x > 0, else 0."""
    layer = ReLU()
    layer(np.asarray(x, dtype=np.float64))
    return layer.backward(np.asarray(dout, dtype=np.float64))


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis (seed 4.1.2), stable for large scores."""
    return _softmax(np.asarray(x, dtype=np.float64), dim=-1)


def mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """mean (pred − target)² over all entries and its gradient 2(pred − target)/size (seed 4.2.4)."""
    loss = MSELoss()
    value = loss(np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64))
    return value, loss.backward()


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """−mean log softmax(s)_y and its gradient (softmax(s) − onehot(y)) / N (seed 4.2.6)."""
    loss = CrossEntropyLoss()
    value = loss(np.asarray(logits, dtype=np.float64), np.asarray(labels))
    return value, loss.backward()


def _linear(W: np.ndarray, b: np.ndarray) -> Linear:
    layer = Linear(W.shape[1], W.shape[0])
    layer.weight.data = np.array(W, dtype=np.float64)
    layer.weight.grad = np.zeros_like(layer.weight.data)
    layer.bias.data = np.array(b, dtype=np.float64)
    layer.bias.grad = np.zeros_like(layer.bias.data)
    return layer


def linear_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """s = x Wᵀ + b with W of shape (out, in) (PyTorch layout, seed 5.1)."""
    return _linear(W, b)(np.asarray(x, dtype=np.float64))


def linear_backward(dout: np.ndarray, x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dW, db) = (dout W, doutᵀ x, Σ_n dout) (seed 5.4)."""
    layer = _linear(W, np.zeros(W.shape[0]))
    layer(np.asarray(x, dtype=np.float64))
    dx = layer.backward(np.asarray(dout, dtype=np.float64))
    return dx, layer.weight.grad, layer.bias.grad


def two_layer_net(x: np.ndarray, y: np.ndarray, params: dict) -> tuple[float, dict]:
    """Loss and gradients of Linear → ReLU → Linear → softmax cross-entropy (seed 5.3–5.4)."""
    l1, relu, l2 = _linear(params["W1"], params["b1"]), ReLU(), _linear(params["W2"], params["b2"])
    loss_fn = CrossEntropyLoss()
    loss = loss_fn(l2(relu(l1(np.asarray(x, dtype=np.float64)))), np.asarray(y))
    l1.backward(relu.backward(l2.backward(loss_fn.backward())))
    grads = {"W1": l1.weight.grad, "b1": l1.bias.grad, "W2": l2.weight.grad, "b2": l2.bias.grad}
    return loss, grads
