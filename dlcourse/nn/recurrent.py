"""Recurrent layers: the vanilla (Elman) RNN of seed 7.2 and the LSTM of seed 7.3.

Sequences are batch-first, ``x (N, T, D)`` → hidden states ``(N, T, H)``, and the weights use
PyTorch's layouts (``weight_ih (G·H, D)``, ``weight_hh (G·H, H)``) so a trained model maps onto
``torch.nn.RNN`` / ``torch.nn.LSTM``.  One difference: PyTorch keeps two biases ``bias_ih`` and
``bias_hh`` that are only ever added together; here there is one ``bias = bias_ih + bias_hh``.

Seed 7 writes the RNN neuron as ``A_t = θ_c A_{t−1} + θ_x x_t`` with output ``h_t = θ_h A_t`` and a
tanh non-linearity ("Simple RNN uses tanh").  In this module ``θ_x = weight_ih``,
``θ_c = weight_hh``; the output map ``θ_h`` is a separate ``Linear`` readout on the hidden states.

Every formula has one home:

* ``lstm_gates``, ``lstm_cell``: the gate and cell equations of seed 7.3;
* ``lstm_local_grads``, ``lstm_cell_backward``: their derivatives;
* ``rnn_local_grad``: the tanh derivative of seed 7.2;
* ``_input_weight_grads``: ``dx, dW_ih, dW_hh, db`` from the pre-activation gradient.

The LSTM formulas work on the four gate blocks of a packed ``4H`` axis (``split_gates``) in either
layout: batch-major ``(N, 4H)`` in the single-step functions (``rnn_step_forward/backward``,
``lstm_step_forward/backward``; what the assignments ask students to write) and feature-major
``(4H, N)`` inside the ``LSTM`` layer, where every gate block is contiguous.  The layers run all time
steps and backpropagate through time (BPTT); they are faster because they do the work that does not
depend on the recurrence outside the time loop: the local derivatives are computed for all steps at
once and the weight gradients are one product over all steps after the loop.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._threads import one_blas_thread
from .._validate import check_dim, check_ndim, float_array, positive_int
from . import init
from ._workspace import workspace
from .module import Module, Parameter


# -- shared formulas --------------------------------------------------------------------------------
def _input_weight_grads(da: np.ndarray, x: np.ndarray, h_prev: np.ndarray, weight_ih: np.ndarray,
                        with_bias: bool = True):
    """Backward of ``a = x W_ihᵀ + h_prev W_hhᵀ + b`` except ``dh_prev`` (the layers get it in the loop).

    Shapes: ``da (M, G·H)``, ``x (M, D)``, ``h_prev (M, H)`` with ``M`` rows (a batch, or batch × time)
    → ``dx (M, D)``, ``dW_ih (G·H, D)``, ``dW_hh (G·H, H)``, ``db (G·H,)`` (``None`` if not
    ``with_bias``).  Here ``dx`` uses ``weight_ih``'s columns only, so ``x`` may carry extra columns.
    """
    db = da.sum(axis=0) if with_bias else None
    return da @ weight_ih, da.T @ x, da.T @ h_prev, db


def rnn_local_grad(h: np.ndarray) -> np.ndarray:
    """``d tanh(a)/da = 1 − h²`` with ``h = tanh(a)`` (seed 7.2), elementwise, any shape."""
    return 1.0 - h * h


@lru_cache(maxsize=32)
def _gate_scale(hidden_size: int, dtype: np.dtype) -> np.ndarray:
    """``(4H,)``: −1 for the sigmoid gates i, f, o and −2 for g (see ``lstm_gates``)."""
    scale = np.full(4 * hidden_size, -1.0, dtype=dtype)
    scale[2 * hidden_size:3 * hidden_size] = -2.0
    scale.setflags(write=False)
    return scale


def split_gates(a: np.ndarray, axis: int = -1) -> list[np.ndarray]:
    """Views of the four gate blocks ``[i, f, g, o]`` of a packed array, split along ``axis`` (length ``4H``).

    ``(N, 4H)`` → four ``(N, H)`` views with ``axis=-1`` (batch-major, what the step functions use);
    ``(…, 4H, N)`` → four ``(…, H, N)`` views with ``axis=-2`` (feature-major, what the layer uses).
    """
    hsz = a.shape[axis] // 4
    index = [slice(None)] * a.ndim
    blocks = []
    for k in range(4):
        index[axis] = slice(k * hsz, (k + 1) * hsz)
        blocks.append(a[tuple(index)])
    return blocks


def _activate_scaled(z: np.ndarray, g: np.ndarray) -> np.ndarray:
    # z = scale · a (see _gate_scale), g its cell-candidate block; in place: σ for i, f, o and
    # 2σ(2a) − 1 = tanh(a) for g.  e^z may overflow to inf for very negative a: 1/(1 + inf) = 0 is
    # the right limit, so callers silence the overflow warning instead of paying for a clip per step.
    np.exp(z, out=z)
    z += 1.0
    np.reciprocal(z, out=z)
    g *= 2.0
    g -= 1.0
    return z


def lstm_gates(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gate activations of seed 7.3, **in place**: pre-activations ``[i, f, g, o]`` packed along ``axis``
    (``(…, 4H)`` by default) → ``[σ(i), σ(f), tanh(g), σ(o)]`` (PyTorch's gate order).  Returns ``a``.

    Computed with one ``exp`` for all four gates: ``σ(z) = 1/(1 + e^{−z})`` and
    ``tanh(z) = 2σ(2z) − 1`` (an exp costs about half a tanh in numpy), so the pre-activations are
    first multiplied by ``−1`` (i, f, o) or ``−2`` (g).  The ``LSTM`` layer folds that factor into
    its weights once per forward pass instead of once per step.
    """
    scale = _gate_scale(a.shape[axis] // 4, a.dtype)
    a *= scale.reshape((-1,) + (1,) * (-axis - 1))  # along the gate axis, which counts from the end
    with np.errstate(over="ignore"):
        return _activate_scaled(a, split_gates(a, axis)[2])


def lstm_cell(i, f, g, o, c_prev, out=None):
    """The cell and output equations of seed 7.3 from the gate activations (any layout, all the same shape)::

        c_t = f ∘ c_{t−1} + i ∘ g           (forget some of the old cell, write some new)
        h_t = o ∘ tanh(c_t)

    Returns ``(h, c, tanh_c)``; ``out``: optional preallocated ``(h, c, tanh_c)`` to write into.
    """
    h_out, c_out, tc_out = out if out is not None else (None, None, None)
    c = np.multiply(f, c_prev, out=c_out)
    c += i * g
    tanh_c = np.tanh(c, out=tc_out)
    return np.multiply(o, tanh_c, out=h_out), c, tanh_c


def lstm_local_grads(gates: np.ndarray, c_prev: np.ndarray, tanh_c: np.ndarray, axis: int = -1, out=None):
    """The parts of the LSTM derivative that do not depend on the incoming gradient (seed 7.3).

    ``gates``: activations ``[i, f, g, o]`` packed along ``axis`` (``(…, 4H)`` for one step ``(N, 4H)``;
    the layer passes all steps at once, ``(T, 4H, N)`` with ``axis=-2``); ``c_prev``, ``tanh_c``
    shaped like one gate block.  Returns ``(p, k)``:

    * ``p`` (shaped like ``gates``): ``[g·i(1−i), c_prev·f(1−f), i·(1−g²), tanh(c)·o(1−o)]`` — multiplied
      by ``[dc, dc, dc, dh]`` it gives the pre-activation gradients ``[da_i, da_f, da_g, da_o]``;
    * ``k`` (shaped like a block): ``o·(1 − tanh²c)`` — the path from ``h`` to ``c``: ``dc_t = dc_from_t+1 + dh·k``.

    ``out``: optional preallocated ``(p, k)`` to write into.
    """
    p_out, k_out = out if out is not None else (None, None)
    # σ'(z) = s(1 − s) for all four blocks at once (contiguous, fast), then fix the tanh block g
    p = np.subtract(1.0, gates, out=p_out)
    p *= gates
    i, f, g, o = split_gates(gates, axis)
    p_i, p_f, p_g, p_o = split_gates(p, axis)
    np.multiply(g, g, out=p_g)
    np.subtract(1.0, p_g, out=p_g)                 # tanh'(z) = 1 − g²
    for block, other in ((p_i, g), (p_f, c_prev), (p_g, i), (p_o, tanh_c)):   # times the other factor
        block *= other
    k = np.multiply(tanh_c, tanh_c, out=k_out)
    np.subtract(1.0, k, out=k)
    k *= o
    return p, k


def gate_work(like: np.ndarray, axis: int = -1):
    """A work array shaped like ``like`` and its four gate blocks (``split_gates``), for ``lstm_cell_backward``."""
    e = np.empty_like(like)
    return e, split_gates(e, axis)


def lstm_cell_backward(dh, dc, f, p, k, work=None, axis: int = -1, out=None):
    """One step of the LSTM cell backward (seed 7.3, chain rule through the cell equations).

    ``dh``: total gradient w.r.t. ``h_t``; ``dc``: gradient w.r.t. ``c_t`` arriving from step ``t+1``;
    ``f``: the forget gate of step ``t`` (all three shaped like a gate block); ``p``, ``k``: this step's
    ``lstm_local_grads`` (gates packed along ``axis``).  Returns ``(da, dc_prev)``, ``da`` shaped like ``p``::

        dc_t = dc + dh · k                      (both paths into c_t)
        da   = p ∘ [dc_t, dc_t, dc_t, dh]       (the four gates' pre-activations)
        dc_prev = dc_t · f

    The cell path ``dc_prev = dc_t · f`` has no squashing non-linearity, which is why gradients survive
    many steps when ``f ≈ 1`` (seed 7.3, "Cell prevents vanishing gradients").
    ``work``: optional ``gate_work(p, axis)`` to reuse across steps (its last block may already be
    ``dh``); ``out``: optional array for ``da`` (may be ``p`` itself).
    """
    e, (e_i, e_f, e_g, e_o) = work if work is not None else gate_work(p, axis)
    dc_t = np.multiply(dh, k, out=e_i)
    dc_t += dc
    np.copyto(e_f, dc_t)
    np.copyto(e_g, dc_t)
    if e_o is not dh:
        np.copyto(e_o, dh)
    # one product over the packed array instead of four (or a broadcast over the gate axis)
    return np.multiply(p, e, out=out), dc_t * f


# -- single steps (what the assignments implement) --------------------------------------------------
def rnn_step_forward(x, h_prev, weight_ih, weight_hh, bias):
    """One step of the vanilla RNN (seed 7.2): ``h = tanh(x W_ihᵀ + h_prev W_hhᵀ + b)``.

    Shapes: ``x (N, D)``, ``h_prev (N, H)``, ``weight_ih (H, D)``, ``weight_hh (H, H)``, ``bias (H,)`` →
    ``(h (N, H), cache)``.
    """
    h = np.tanh(x @ weight_ih.T + h_prev @ weight_hh.T + bias)
    return h, (x, h_prev, h, weight_ih, weight_hh)


def rnn_step_backward(dh, cache):
    """Backward of ``rnn_step_forward``: ``dh (N, H)`` → ``(dx, dh_prev, dweight_ih, dweight_hh, dbias)``."""
    x, h_prev, h, weight_ih, weight_hh = cache
    da = dh * rnn_local_grad(h)
    dx, dw_ih, dw_hh, db = _input_weight_grads(da, x, h_prev, weight_ih)
    return dx, da @ weight_hh, dw_ih, dw_hh, db


def lstm_step_forward(x, h_prev, c_prev, weight_ih, weight_hh, bias):
    """One LSTM step (seed 7.3).

    Shapes: ``x (N, D)``, ``h_prev, c_prev (N, H)``, ``weight_ih (4H, D)``, ``weight_hh (4H, H)``,
    ``bias (4H,)`` (gate order ``[i, f, g, o]``) → ``(h (N, H), c (N, H), cache)``.
    """
    a = x @ weight_ih.T + h_prev @ weight_hh.T + bias
    h, c, tanh_c = lstm_cell(*split_gates(lstm_gates(a)), c_prev)   # a now holds the gates
    return h, c, (x, h_prev, c_prev, a, tanh_c, weight_ih, weight_hh)


def lstm_step_backward(dh, dc, cache):
    """Backward of ``lstm_step_forward``.

    ``dh, dc (N, H)``: gradients w.r.t. ``h`` and ``c`` of this step →
    ``(dx (N, D), dh_prev (N, H), dc_prev (N, H), dweight_ih (4H, D), dweight_hh (4H, H), dbias (4H,))``.
    """
    x, h_prev, c_prev, gates, tanh_c, weight_ih, weight_hh = cache
    p, k = lstm_local_grads(gates, c_prev, tanh_c)
    da, dc_prev = lstm_cell_backward(dh, dc, split_gates(gates)[1], p, k)
    dx, dw_ih, dw_hh, db = _input_weight_grads(da, x, h_prev, weight_ih)
    return dx, da @ weight_hh, dc_prev, dw_ih, dw_hh, db


# -- layers -----------------------------------------------------------------------------------------
class _Recurrent(Module):
    """Shared parameters and input checks of RNN and LSTM."""

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, rng=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = positive_int(name, input_size, "input_size")
        self.hidden_size = positive_int(name, hidden_size, "hidden_size")
        gh = self._gates * hidden_size
        self.weight_ih = Parameter(np.empty((gh, input_size), dtype=np.float32))
        self.weight_hh = Parameter(np.empty((gh, hidden_size), dtype=np.float32))
        self.bias = Parameter(np.empty(gh, dtype=np.float32))
        for p in (self.weight_ih, self.weight_hh, self.bias):  # PyTorch: U(±1/sqrt(H)) for all
            init.default_uniform_(p, hidden_size, rng=rng)
        self.dh0: np.ndarray | None = None

    def _check_input(self, x) -> np.ndarray:
        name = type(self).__name__
        x = float_array(name, x)
        check_ndim(name, x, 3, "(N, T, D) (batch-first)")
        check_dim(name, x, 2, self.input_size, "input_size (last axis)")
        if x.shape[1] < 1:
            raise ValueError(f"{name} expected at least one time step, got input of shape {x.shape}")
        return x

    def _initial_state(self, state, n: int, dtype, what: str) -> np.ndarray:
        if state is None:
            return np.zeros((n, self.hidden_size), dtype=dtype)
        state = float_array(type(self).__name__, state, what)
        if state.shape != (n, self.hidden_size):
            raise ValueError(f"{type(self).__name__} expected {what} of shape (N, H) = ({n}, {self.hidden_size}), "
                             f"got {state.shape}")
        return state.astype(dtype, copy=False)

    def _weights(self, dtype):
        return tuple(p.data.astype(dtype, copy=False) for p in (self.weight_ih, self.weight_hh, self.bias))

    def _check_dout(self, dout) -> np.ndarray:
        """``dout (N, T, H)`` → a time-major view ``(T, N, H)``, after checking it matches the forward."""
        if not hasattr(self, "_cache"):
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        n, t = self._batch_time
        dout = float_array(type(self).__name__, dout, "dout")
        if dout.shape != (n, t, self.hidden_size):
            raise ValueError(f"{type(self).__name__}.backward expected dout of shape (N, T, H) = "
                             f"({n}, {t}, {self.hidden_size}), got {dout.shape}")
        return dout.transpose(1, 0, 2)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, batch_first=True"


class RNN(_Recurrent):
    """Vanilla (Elman) RNN with tanh, one layer, batch-first (seed 7.2)::

        h_t = tanh(x_t W_ihᵀ + h_{t−1} W_hhᵀ + b)

    Shapes: ``forward(x (N, T, D), h0=None (N, H))`` → all hidden states ``(N, T, H)`` (the last one is
    ``out[:, -1]``); ``backward(dout (N, T, H))`` → ``dx (N, T, D)`` by backpropagation through time;
    afterwards ``dh0 (N, H)`` holds the gradient w.r.t. the initial state.
    Parameters: ``weight_ih (H, D)`` (θ_x), ``weight_hh (H, H)`` (θ_c), ``bias (H,)``.  Gradients
    through many steps are multiplied by ``W_hhᵀ diag(1 − h²)`` once per step: they vanish or explode
    with the eigenvalues of ``W_hh`` (seed 7).
    """

    _gates = 1

    def _project_inputs(self, x: np.ndarray, w_ih: np.ndarray, b: np.ndarray):
        """``x W_ihᵀ + b`` for every step in one matrix product, time-major ``(T, N, G·H)``.

        The bias rides along as an extra input that is always 1 (``[x, 1] [W_ih, b]ᵀ``), which saves
        a pass over the output here and the sum for ``db`` in the backward pass.  Returns the
        time-major augmented input ``(T, N, D+1)`` (kept for the backward pass) and the projection.
        """
        n, t, d = x.shape
        x_aug = np.empty((t, n, d + 1), dtype=x.dtype)
        x_aug[..., :d] = x.transpose(1, 0, 2)
        x_aug[..., d] = 1.0
        w_aug = np.concatenate([w_ih, b[:, None]], axis=1)
        return x_aug, (x_aug.reshape(t * n, d + 1) @ w_aug.T).reshape(t, n, -1)

    def _accumulate(self, da: np.ndarray, x_aug: np.ndarray, h_prev: np.ndarray, w_ih: np.ndarray) -> np.ndarray:
        """Parameter gradients summed over all steps, one product each; returns ``dx (N, T, D)``.

        ``_input_weight_grads`` over ``T·N`` rows, with ``db = Σ da`` taken as the last column of
        ``daᵀ [x, 1]`` (the bias is the weight of the constant input 1).
        """
        t, n, _ = da.shape
        dx, dw_aug, dw_hh, _ = _input_weight_grads(da.reshape(t * n, -1), x_aug.reshape(t * n, -1),
                                                   h_prev.reshape(t * n, -1), w_ih, with_bias=False)
        for p, g in ((self.weight_ih, dw_aug[:, :-1]), (self.weight_hh, dw_hh), (self.bias, dw_aug[:, -1])):
            p.accumulate(g.astype(p.dtype))
        return np.ascontiguousarray(dx.reshape(t, n, -1).transpose(1, 0, 2))

    def forward(self, x, h0=None):
        x = self._check_input(x)
        n, t, _ = x.shape
        w_ih, w_hh, b = self._weights(x.dtype)
        x_aug, xw = self._project_inputs(x, w_ih, b)
        hs = np.empty((t + 1, n, self.hidden_size), dtype=x.dtype)  # hs[0] = h0, hs[s+1] = h_s
        hs[0] = self._initial_state(h0, n, x.dtype, "h0")
        w_hh_t = w_hh.T
        with one_blas_thread():
            for s in range(t):
                np.matmul(hs[s], w_hh_t, out=hs[s + 1])
                hs[s + 1] += xw[s]
                np.tanh(hs[s + 1], out=hs[s + 1])
        self._cache, self._batch_time = (x_aug, hs), (n, t)
        return np.ascontiguousarray(hs[1:].transpose(1, 0, 2))

    def backward(self, dout):
        dout_tm = self._check_dout(dout)
        x_aug, hs = self._cache
        t, n, _ = x_aug.shape
        w_ih, w_hh, _ = self._weights(hs.dtype)
        local = rnn_local_grad(hs[1:])          # all steps at once, outside the loop
        da = np.empty_like(local)
        dh_rec = np.zeros((n, self.hidden_size), dtype=hs.dtype)  # gradient arriving from step s+1
        with one_blas_thread():
            for s in range(t - 1, -1, -1):
                dh = dout_tm[s] + dh_rec
                np.multiply(dh, local[s], out=da[s])
                dh_rec = da[s] @ w_hh
        self.dh0 = dh_rec
        return self._accumulate(da, x_aug, hs[:-1], w_ih)


class LSTM(_Recurrent):
    """Long short-term memory, one layer, batch-first (seed 7.3).

    Gates in PyTorch's order ``[i, f, g, o]`` (input, forget, cell candidate, output)::

        [i, f, g, o] = [σ, σ, tanh, σ](x_t W_ihᵀ + h_{t−1} W_hhᵀ + b)
        c_t = f ∘ c_{t−1} + i ∘ g ,   h_t = o ∘ tanh(c_t)

    Shapes: ``forward(x (N, T, D), h0=None, c0=None)`` (states ``(N, H)``) → hidden states ``(N, T, H)``;
    ``backward(dout (N, T, H))`` → ``dx (N, T, D)`` (full BPTT), then ``dh0``, ``dc0`` hold the gradients
    w.r.t. the initial states.  Parameters ``weight_ih (4H, D)``, ``weight_hh (4H, H)``, ``bias (4H,)``.

    After ``forward``, ``gates`` maps ``"i", "f", "g", "o"`` to the activations ``(N, T, H)`` and ``"c"``
    to the cell states ``(N, T, H)`` (read-only views; plot them to see what the cell remembers).

    ``forget_bias``: if given, the forget-gate slice ``bias[H:2H]`` starts at this value (1.0 is the
    usual choice, Jozefowicz et al. 2015: the cell keeps its memory at the start of training);
    ``None`` keeps PyTorch's uniform initialisation.
    """

    _gates = 4

    def __init__(self, input_size: int, hidden_size: int, rng=None, forget_bias: float | None = None) -> None:
        super().__init__(input_size, hidden_size, rng=rng)
        if forget_bias is not None:
            self.bias.data[hidden_size:2 * hidden_size] = forget_bias
        self.dc0: np.ndarray | None = None
        self.gates: dict = {}
        self._ws: dict = {}  # backward work arrays (see _workspace)

    def forward(self, x, h0=None, c0=None):
        x = self._check_input(x)
        n, t, d = x.shape
        hsz = self.hidden_size
        w_ih, w_hh, b = self._weights(x.dtype)
        # Feature-major inside (rows = features, columns = the batch) so that every gate block of a step
        # is one contiguous (H, N) array: elementwise numpy on the strided (N, H) blocks of a batch-major
        # (N, 4H) array is about twice as slow.  One product per step computes all four gates,
        #     a_s = [W_hh | W_ih | b] [h_{s−1}; x_s; 1]   ((4H, H+D+1) @ (H+D+1, N)),
        # with the gate scale of lstm_gates folded into the weights once here instead of once per step.
        scale = _gate_scale(hsz, x.dtype)[:, None]
        w_all = np.concatenate([w_hh, w_ih, b[:, None]], axis=1) * scale
        z = np.empty((t + 1, hsz + d + 1, n), dtype=x.dtype)      # z[s] = [h_{s−1}; x_s; 1]
        z[0, :hsz] = self._initial_state(h0, n, x.dtype, "h0").T
        z[:t, hsz:hsz + d] = x.transpose(1, 2, 0)
        z[:, hsz + d] = 1.0
        z[t, hsz:] = 0.0                                           # z[t] only carries the last h
        cs = np.empty((t + 1, hsz, n), dtype=x.dtype)
        cs[0] = self._initial_state(c0, n, x.dtype, "c0").T
        tanh_c = np.empty((t, hsz, n), dtype=x.dtype)
        act = np.empty((t, 4 * hsz, n), dtype=x.dtype)            # pre-activations, then gates in place
        i, f, g, o = split_gates(act, axis=-2)                     # (T, H, N) views
        with np.errstate(over="ignore"), one_blas_thread():
            for s in range(t):
                np.matmul(w_all, z[s], out=act[s])
                _activate_scaled(act[s], g[s])
                lstm_cell(i[s], f[s], g[s], o[s], cs[s], out=(z[s + 1, :hsz], cs[s + 1], tanh_c[s]))
        self._cache, self._batch_time = (z, act, cs, tanh_c), (n, t)
        self.gates = {name: _batch_major(v) for name, v in zip("ifgo", (i, f, g, o))}
        self.gates["c"] = _batch_major(cs[1:])
        return np.ascontiguousarray(z[1:, :hsz].transpose(2, 0, 1))

    def backward(self, dout):
        dout = self._check_dout(dout)                   # (T, N, H) view
        z, act, cs, tanh_c = self._cache
        t, _, n = act.shape
        hsz = self.hidden_size
        w_ih, w_hh, _ = self._weights(act.dtype)
        dout_fm = np.ascontiguousarray(dout.transpose(0, 2, 1))   # (T, H, N)
        # all steps at once, outside the loop; p lives in a buffer the layer keeps between calls
        p, k = lstm_local_grads(act, cs[:-1], tanh_c, axis=-2, out=(workspace(self._ws, "p", act.shape, act.dtype), None))
        da = p                                          # p[s] becomes da[s]: it is not needed after step s
        forget = split_gates(act, axis=-2)[1]
        work = gate_work(act[0], axis=-2)
        dh = work[1][3]                                 # dh is written straight into the work array
        dh_rec = np.zeros((hsz, n), dtype=act.dtype)   # dL/dh_s arriving from step s+1
        dc = np.zeros((hsz, n), dtype=act.dtype)       # dL/dc_s arriving from step s+1
        w_hh_t, w_ih_t = np.ascontiguousarray(w_hh.T), np.ascontiguousarray(w_ih.T)
        dx = np.empty((t, self.input_size, n), dtype=act.dtype)
        with one_blas_thread():
            for s in range(t - 1, -1, -1):
                np.add(dout_fm[s], dh_rec, out=dh)
                _, dc = lstm_cell_backward(dh, dc, forget[s], p[s], k[s], work=work, axis=-2, out=da[s])
                np.matmul(w_hh_t, da[s], out=dh_rec)
        # after the loop, where BLAS may use every core: dx_s = W_ihᵀ da_s and dW = Σ_s da_s z_sᵀ, the
        # gradient of [W_hh | W_ih | b] (the rows of z_s are [h_{s−1}; x_s; 1])
        np.matmul(w_ih_t, da, out=dx)
        dw_all = np.tensordot(da, z[:-1], axes=([0, 2], [0, 2]))
        self.dh0, self.dc0 = dh_rec.T.copy(), dc.T.copy()
        for param, grad in ((self.weight_hh, dw_all[:, :hsz]), (self.weight_ih, dw_all[:, hsz:-1]),
                            (self.bias, dw_all[:, -1])):
            param.accumulate(grad.astype(param.dtype))
        return np.ascontiguousarray(dx.transpose(2, 0, 1))


def _batch_major(a: np.ndarray) -> np.ndarray:
    """A read-only ``(N, T, H)`` view of a feature-major ``(T, H, N)`` array."""
    view = a.transpose(2, 0, 1)
    view.flags.writeable = False
    return view
