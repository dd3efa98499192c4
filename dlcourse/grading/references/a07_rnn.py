"""References for assignment 07_rnn (seed 7.2–7.3): ``dlcourse.nn.recurrent``.

The single steps are the library's ``rnn_step_*`` / ``lstm_step_*`` with the cache rebuilt from the
arguments (the assignment passes what backward needs explicitly instead of an opaque cache); the
sequence version is the ``RNN`` layer (forward over all steps, backpropagation through time).
"""
from __future__ import annotations

import numpy as np

from dlcourse.nn import RNN
from dlcourse.nn import recurrent as _rec

_RECURRENT = ["dlcourse.nn.recurrent"]
FORBID = {"rnn_step": _RECURRENT, "lstm_step": _RECURRENT, "rnn_sequence": _RECURRENT}
ADAPTERS = {
    "rnn_step": ("rnn_step_forward", "rnn_step_backward"),
    "lstm_step": ("lstm_step_forward", "lstm_step_backward"),
    "rnn_sequence": ("rnn_forward", "rnn_backward"),
}


def _f64(*arrays):
    return tuple(np.asarray(a, dtype=np.float64) for a in arrays)


def rnn_step_forward(x, h_prev, W_ih, W_hh, b) -> np.ndarray:
    """h = tanh(x W_ihᵀ + h_prev W_hhᵀ + b) (seed 7.2): x (N, D), h_prev (N, H) → (N, H)."""
    return _rec.rnn_step_forward(*_f64(x, h_prev, W_ih, W_hh, b))[0]


def rnn_step_backward(dh, x, h_prev, h, W_ih, W_hh):
    """(dx, dh_prev, dW_ih, dW_hh, db) of one RNN step, given its output h."""
    x, h_prev, h, W_ih, W_hh = _f64(x, h_prev, h, W_ih, W_hh)
    return _rec.rnn_step_backward(np.asarray(dh, dtype=np.float64), (x, h_prev, h, W_ih, W_hh))


def lstm_step_forward(x, h_prev, c_prev, W_ih, W_hh, b):
    """One LSTM step (seed 7.3), gates [i, f, g, o]: returns (h, c), each (N, H)."""
    h, c, _ = _rec.lstm_step_forward(*_f64(x, h_prev, c_prev, W_ih, W_hh, b))
    return h, c


def lstm_step_backward(dh, dc, x, h_prev, c_prev, W_ih, W_hh, b):
    """(dx, dh_prev, dc_prev, dW_ih, dW_hh, db) of one LSTM step."""
    _, _, cache = _rec.lstm_step_forward(*_f64(x, h_prev, c_prev, W_ih, W_hh, b))
    return _rec.lstm_step_backward(*_f64(dh, dc), cache)


def _rnn(W_ih, W_hh, b) -> RNN:
    W_ih, W_hh, b = _f64(W_ih, W_hh, b)
    layer = RNN(W_ih.shape[1], W_ih.shape[0]).double()
    layer.weight_ih.data, layer.weight_hh.data, layer.bias.data = W_ih.copy(), W_hh.copy(), b.copy()
    for p in layer.parameters():
        p.grad = np.zeros_like(p.data)
    return layer


def rnn_forward(x, h0, W_ih, W_hh, b) -> np.ndarray:
    """All hidden states (N, T, H) of a tanh RNN over x (N, T, D) from h0 (N, H)."""
    x, h0 = _f64(x, h0)
    return _rnn(W_ih, W_hh, b)(x, h0)


def rnn_backward(dhs, x, h0, W_ih, W_hh, b):
    """Backpropagation through time: dhs (N, T, H) = dL/d(every hidden state) →
    (dx (N, T, D), dh0 (N, H), dW_ih, dW_hh, db)."""
    x, h0 = _f64(x, h0)
    layer = _rnn(W_ih, W_hh, b)
    layer(x, h0)
    dx = layer.backward(np.asarray(dhs, dtype=np.float64))
    return dx, layer.dh0, layer.weight_ih.grad, layer.weight_hh.grad, layer.bias.grad
