"""Recurrent layers: the vanilla (Elman) RNN of seed 7.2 and the LSTM of seed 7.3.

Sequences are batch-first, ``x (N, T, D)`` → hidden states ``(N, T, H)``, and the weights use
PyTorch's layouts (``weight_ih (G·H, D)``, ``weight_hh (G·H, H)``) so a trained model maps onto
``torch.nn.RNN`` / ``torch.nn.LSTM``.  One difference: PyTorch keeps two biases ``bias_ih`` and
``bias_hh`` that are only ever added together; here there is one ``bias = bias_ih + bias_hh``.

Seed 7 writes the RNN neuron as ``A_t = θ_c A_{t−1} + θ_x x_t`` with output ``h_t = θ_h A_t`` and a
tanh non-linearity ("Simple RNN uses tanh").  In this module ``θ_x = weight_ih``,
``θ_c = weight_hh``; the output map ``θ_h`` is a separate ``Linear`` readout on the hidden states.

Every formula has one home:

* ``lstm_gates``, ``lstm_cell_forward``: the gate and cell equations of seed 7.3;
* ``lstm_local_grads``, ``lstm_cell_backward``: their derivatives;
* ``rnn_local_grad``: the tanh derivative of seed 7.2;
* ``_input_weight_grads``: ``dx, dW_ih, dW_hh, db`` from the pre-activation gradient.

The single-step functions (``rnn_step_forward/backward``, ``lstm_step_forward/backward``; what
the assignments ask students to write) and the layers (which run all time steps and backpropagate
through time, BPTT) are both assembled from these pieces.  The layers are faster because they do
the work that does not depend on the recurrence outside the time loop: ``x W_ihᵀ`` for all steps is
one matrix product, the local derivatives are computed for all steps at once, and ``dW_hh`` is one
product over all steps after the loop.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._validate import check_dim, check_ndim, float_array, positive_int
from . import init
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


def _activate_scaled(z: np.ndarray) -> np.ndarray:
    # z = scale · a (see _gate_scale); in place: σ for i, f, o and 2σ(2a) − 1 = tanh(a) for g.
    # e^z may overflow to inf for very negative a: 1/(1 + inf) = 0 is the right limit, so callers
    # silence the overflow warning instead of paying for a clip at every step.
    h = z.shape[-1] // 4
    np.exp(z, out=z)
    z += 1.0
    np.reciprocal(z, out=z)
    g = z[..., 2 * h:3 * h]
    g *= 2.0
    g -= 1.0
    return z


def lstm_gates(a: np.ndarray) -> np.ndarray:
    """Gate activations of seed 7.3, **in place**: ``a (…, 4H)`` pre-activations ``[i, f, g, o]`` →
    ``[σ(i), σ(f), tanh(g), σ(o)]`` (PyTorch's gate order).  Returns ``a``.

    Computed with one ``exp`` for all four gates: ``σ(z) = 1/(1 + e^{−z})`` and
    ``tanh(z) = 2σ(2z) − 1`` (an exp costs about half a tanh in numpy), so the pre-activations are
    first multiplied by ``−1`` (i, f, o) or ``−2`` (g).  The ``LSTM`` layer folds that factor into
    its weights once per forward pass instead of once per step.
    """
    a *= _gate_scale(a.shape[-1] // 4, a.dtype)
    with np.errstate(over="ignore"):
        return _activate_scaled(a)


def lstm_cell_forward(a: np.ndarray, c_prev: np.ndarray, out=None, scaled: bool = False):
    """The LSTM cell of seed 7.3 from its pre-activations.

    ``a (N, 4H)`` = ``x_t W_ihᵀ + h_{t−1} W_hhᵀ + b``, gate order ``[i, f, g, o]``; it is **overwritten**
    with the gate activations.  ``c_prev (N, H)``.  Returns ``(h, c, tanh_c)``, each ``(N, H)``::

        i, f, o = σ(·),  g = tanh(·)
        c_t = f ∘ c_{t−1} + i ∘ g           (forget some of the old cell, write some new)
        h_t = o ∘ tanh(c_t)

    ``out``: optional preallocated ``(h, c, tanh_c)`` arrays to write into.  ``scaled=True`` means
    ``a`` was already multiplied by the gate scale of ``lstm_gates`` (the layer's fast path; the
    caller then silences overflow warnings).
    """
    hsz = c_prev.shape[-1]
    gates = _activate_scaled(a) if scaled else lstm_gates(a)
    i, f, g, o = (gates[..., k * hsz:(k + 1) * hsz] for k in range(4))
    h_out, c_out, tc_out = out if out is not None else (None, None, None)
    c = np.multiply(f, c_prev, out=c_out)
    c += i * g
    tanh_c = np.tanh(c, out=tc_out)
    h = np.multiply(o, tanh_c, out=h_out)
    return h, c, tanh_c


def lstm_local_grads(gates: np.ndarray, c_prev: np.ndarray, tanh_c: np.ndarray):
    """The parts of the LSTM derivative that do not depend on the incoming gradient (seed 7.3).

    Shapes: ``gates (…, 4H)`` activations ``[i, f, g, o]``, ``c_prev (…, H)``, ``tanh_c (…, H)``, with any
    leading axes (one step ``(N,)`` or all steps ``(T, N)`` at once).  Returns ``(p, k)``:

    * ``p (…, 4, H)``: ``[g·i(1−i), c_prev·f(1−f), i·(1−g²), tanh(c)·o(1−o)]`` — multiplied by
      ``[dc, dc, dc, dh]`` it gives the pre-activation gradients ``[da_i, da_f, da_g, da_o]``;
    * ``k (…, H)``: ``o·(1 − tanh²c)`` — the path from ``h`` to ``c``: ``dc_t = dc_from_t+1 + dh·k``.
    """
    hsz = c_prev.shape[-1]
    # σ'(z) = s(1 − s) for all four blocks at once (contiguous, fast), then fix the tanh block g
    p = np.subtract(1.0, gates)
    p *= gates
    p = p.reshape(gates.shape[:-1] + (4, hsz))
    i, f, g, o = (gates[..., j * hsz:(j + 1) * hsz] for j in range(4))
    np.multiply(g, g, out=p[..., 2, :])
    np.subtract(1.0, p[..., 2, :], out=p[..., 2, :])                 # tanh'(z) = 1 − g²
    for row, other in enumerate((g, c_prev, i, tanh_c)):            # times the other factor of each product
        p[..., row, :] *= other
    k = tanh_c * tanh_c
    np.subtract(1.0, k, out=k)
    k *= o
    return p, k


def lstm_cell_backward(dh: np.ndarray, dc: np.ndarray, f: np.ndarray, local, out: np.ndarray | None = None,
                       work: np.ndarray | None = None):
    """One step of the LSTM cell backward (seed 7.3, chain rule through the cell equations).

    ``dh (N, H)``: total gradient w.r.t. ``h_t``; ``dc (N, H)``: gradient w.r.t. ``c_t`` arriving from step
    ``t+1``; ``f (N, H)``: the forget gate of step ``t``; ``local = (p, k)`` from ``lstm_local_grads`` for
    step ``t``.  Returns ``(da (N, 4H), dc_prev (N, H))``::

        dc_t = dc + dh · k                      (both paths into c_t)
        da   = p ∘ [dc_t, dc_t, dc_t, dh]       (the four gates' pre-activations)
        dc_prev = dc_t · f

    The cell path ``dc_prev = dc_t · f`` has no squashing non-linearity, which is why gradients survive
    many steps when ``f ≈ 1`` (seed 7.3, "Cell prevents vanishing gradients").
    ``out``: optional ``(N, 4H)`` array for ``da``; ``work``: optional ``(N, 4, H)`` scratch array (the
    layer reuses one across steps and may already hold ``dh`` in ``work[:, 3]``).
    """
    p, k = local
    n, hsz = dh.shape
    e = np.empty((n, 4, hsz), dtype=dh.dtype) if work is None else work
    dc_t = e[:, 0, :]
    np.multiply(dh, k, out=dc_t)
    dc_t += dc
    e[:, 1, :] = dc_t
    e[:, 2, :] = dc_t
    if not np.may_share_memory(dh, e):
        e[:, 3, :] = dh
    # one contiguous product instead of a broadcast over the gate axis (3x faster in numpy)
    da = np.multiply(p.reshape(n, 4 * hsz), e.reshape(n, 4 * hsz), out=out)
    return da, dc_t * f


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
    h, c, tanh_c = lstm_cell_forward(a, c_prev)
    return h, c, (x, h_prev, c_prev, a, tanh_c, weight_ih, weight_hh)


def lstm_step_backward(dh, dc, cache):
    """Backward of ``lstm_step_forward``.

    ``dh, dc (N, H)``: gradients w.r.t. ``h`` and ``c`` of this step →
    ``(dx (N, D), dh_prev (N, H), dc_prev (N, H), dweight_ih (4H, D), dweight_hh (4H, H), dbias (4H,))``.
    """
    x, h_prev, c_prev, gates, tanh_c, weight_ih, weight_hh = cache
    hsz = h_prev.shape[-1]
    local = lstm_local_grads(gates, c_prev, tanh_c)
    da, dc_prev = lstm_cell_backward(dh, dc, gates[:, hsz:2 * hsz], local)
    dx, dw_ih, dw_hh, db = _input_weight_grads(da, x, h_prev, weight_ih)
    return dx, da @ weight_hh, dc_prev, dw_ih, dw_hh, db


# -- layers -----------------------------------------------------------------------------------------
class _Recurrent(Module):
    """Shared parameters, validation and the input projection of RNN and LSTM."""

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

    def _check_dout(self, dout) -> np.ndarray:
        """``dout (N, T, H)`` → a time-major view ``(T, N, H)``, after checking it matches the forward."""
        if not hasattr(self, "_cache"):
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        t, n, _ = self._cache[0].shape
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

    def forward(self, x, h0=None):
        x = self._check_input(x)
        n, t, _ = x.shape
        w_ih, w_hh, b = self._weights(x.dtype)
        x_aug, xw = self._project_inputs(x, w_ih, b)
        hs = np.empty((t + 1, n, self.hidden_size), dtype=x.dtype)  # hs[0] = h0, hs[s+1] = h_s
        hs[0] = self._initial_state(h0, n, x.dtype, "h0")
        w_hh_t = w_hh.T
        for s in range(t):
            np.matmul(hs[s], w_hh_t, out=hs[s + 1])
            hs[s + 1] += xw[s]
            np.tanh(hs[s + 1], out=hs[s + 1])
        self._cache = (x_aug, hs)
        return np.ascontiguousarray(hs[1:].transpose(1, 0, 2))

    def backward(self, dout):
        dout_tm = self._check_dout(dout)
        x_aug, hs = self._cache
        t, n, _ = x_aug.shape
        w_ih, w_hh, _ = self._weights(hs.dtype)
        local = rnn_local_grad(hs[1:])          # all steps at once, outside the loop
        da = np.empty_like(local)
        dh_rec = np.zeros((n, self.hidden_size), dtype=hs.dtype)  # gradient arriving from step s+1
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

    def forward(self, x, h0=None, c0=None):
        x = self._check_input(x)
        n, t, _ = x.shape
        hsz = self.hidden_size
        w_ih, w_hh, b = self._weights(x.dtype)
        scale = _gate_scale(hsz, x.dtype)
        # fold the gate scale of lstm_gates into the weights: once here instead of once per step
        x_aug, act = self._project_inputs(x, w_ih * scale[:, None], b * scale)  # act becomes the gates in place
        hs = np.empty((t + 1, n, hsz), dtype=x.dtype)  # hs[0] = h0, hs[s+1] = h_s
        cs = np.empty((t + 1, n, hsz), dtype=x.dtype)
        tanh_c = np.empty((t, n, hsz), dtype=x.dtype)
        hs[0] = self._initial_state(h0, n, x.dtype, "h0")
        cs[0] = self._initial_state(c0, n, x.dtype, "c0")
        rec = np.empty((n, 4 * hsz), dtype=x.dtype)
        w_hh_t = (w_hh * scale[:, None]).T
        with np.errstate(over="ignore"):
            for s in range(t):
                np.matmul(hs[s], w_hh_t, out=rec)
                act[s] += rec
                lstm_cell_forward(act[s], cs[s], out=(hs[s + 1], cs[s + 1], tanh_c[s]), scaled=True)
        self._cache = (x_aug, act, hs, cs, tanh_c)
        self.gates = self._gate_views(act, cs)
        return np.ascontiguousarray(hs[1:].transpose(1, 0, 2))

    def _gate_views(self, act: np.ndarray, cs: np.ndarray) -> dict:
        t, n, _ = act.shape
        g4 = act.reshape(t, n, 4, self.hidden_size)
        views = {name: g4[:, :, k, :].transpose(1, 0, 2) for k, name in enumerate("ifgo")}
        views["c"] = cs[1:].transpose(1, 0, 2)
        for v in views.values():
            v.flags.writeable = False
        return views

    def backward(self, dout):
        dout_tm = self._check_dout(dout)
        x_aug, act, hs, cs, tanh_c = self._cache
        t, n, _ = x_aug.shape
        hsz = self.hidden_size
        w_ih, w_hh, _ = self._weights(hs.dtype)
        p, k = lstm_local_grads(act, cs[:-1], tanh_c)   # all steps at once, outside the loop
        forget = act[:, :, hsz:2 * hsz]
        da = np.empty_like(act)
        work = np.empty((n, 4, hsz), dtype=hs.dtype)
        dh = work[:, 3, :]
        dh_rec = np.zeros((n, hsz), dtype=hs.dtype)   # dL/dh_s arriving from step s+1
        dc = np.zeros((n, hsz), dtype=hs.dtype)       # dL/dc_s arriving from step s+1
        for s in range(t - 1, -1, -1):
            np.add(dout_tm[s], dh_rec, out=dh)
            _, dc = lstm_cell_backward(dh, dc, forget[s], (p[s], k[s]), out=da[s], work=work)
            dh_rec = da[s] @ w_hh
        self.dh0, self.dc0 = dh_rec, dc
        return self._accumulate(da, x_aug, hs[:-1], w_ih)
