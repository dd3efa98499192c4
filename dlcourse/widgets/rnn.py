"""Interactive figures of chapter 7, "Recurrent Neural Networks" (Seed 7, 7.1–7.3).

* :class:`GradientFlowThroughTime` — how ``‖∂L/∂h_t‖`` shrinks or grows going back in time, against
  the eigenvalues of the recurrent matrix ``θ_c`` (Seed 7: ``|λ| < 1`` vanishing, ``|λ| > 1`` exploding);
* :class:`LSTMGates` — the input, forget and output gates and the cell state of an LSTM that has
  learned the adding problem, over one sequence (Seed 7.3);
* :class:`AddingProblemRace` — a vanilla RNN against an LSTM on the adding problem as the sequence
  gets longer, with the gradient that reaches the first inputs (Seed 7.2–7.3).

The two trained networks of a sequence length are trained once per process by :func:`adding_run`
(a notebook calls it with ``progress=True`` to watch); the gate figure then only looks numbers up.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import ipywidgets as W
import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import nn
from ..data import adding_baseline_mse, make_adding_problem
from ..nn import rnn_step_backward, rnn_step_forward
from ..nn.module import backward_to_parameters
from ..optim import Adam
from .base import COLORS, Widget, checkbox, dropdown, float_slider, int_slider, set_limits, static_legend

__all__ = ["GradientFlowThroughTime", "LSTMGates", "AddingProblemRace", "LastStepRegressor", "AddingRun",
           "adding_run", "gradient_through_time", "gradient_flow", "recurrent_matrix", "ADDING_LENGTHS"]


# =========================================================================================================
# 7 / 7.2 gradient flow through time
# =========================================================================================================
_H, _D, _T_MAX = 32, 4, 200


@functools.lru_cache(maxsize=None)
def _base_matrices() -> dict[str, np.ndarray]:
    """Fixed random matrices scaled to spectral radius 1 (an orthogonal and a Gaussian one), the
    input weights, the input noise and the direction of ``∂L/∂h_T``."""
    gen = np.random.default_rng(7)
    q, r = np.linalg.qr(gen.standard_normal((_H, _H)))
    q *= np.sign(np.diag(r))  # a uniformly random orthogonal matrix: all |λ| = 1
    g = gen.standard_normal((_H, _H))
    g /= np.max(np.abs(np.linalg.eigvals(g)))
    g_out = gen.standard_normal(_H)
    return {"orthogonal": q, "random": g, "w_ih": gen.standard_normal((_H, _D)) / np.sqrt(_D),
            "noise": gen.standard_normal((1, _T_MAX, _D)), "g": g_out / np.linalg.norm(g_out)}


def recurrent_matrix(kind: str, radius: float) -> np.ndarray:
    """``θ_c (H, H)`` with spectral radius ``radius``: ``"orthogonal"`` (every ``|λ| = radius``) or
    ``"random"`` (Gaussian; eigenvalues spread over the disc, the largest ``|λ| = radius``)."""
    if kind not in ("orthogonal", "random"):
        raise ValueError(f"recurrent_matrix: kind must be 'orthogonal' or 'random', got {kind!r}")
    return radius * _base_matrices()[kind]


def gradient_through_time(w_hh: np.ndarray, w_ih: np.ndarray, x: np.ndarray, g: np.ndarray,
                          nonlinearity: str = "tanh") -> tuple[np.ndarray, float]:
    """``‖∂L/∂h_t‖`` for ``t = 0 … T`` when the loss sees only the last state, ``∂L/∂h_T = g``.

    ``"tanh"``: the RNN of :mod:`dlcourse.nn` (Seed 7.2 with tanh), run step by step with
    ``rnn_step_forward`` and backpropagated with ``rnn_step_backward``: each step multiplies the
    gradient by ``θ_cᵀ diag(1 − h_t²)``.  ``"linear"``: the lecture's neuron
    ``A_t = θ_c A_{t−1} + θ_x x_t`` exactly, where each step multiplies by ``θ_cᵀ`` alone, so
    ``‖∂L/∂A_t‖`` behaves like ``|λ_max|^{T−t}``.

    Shapes: ``w_hh (H, H)``, ``w_ih (H, D)``, ``x (1, T, D)``, ``g (H,)`` → ``(norms (T+1,), mean
    local derivative)`` where the second value is the mean of ``1 − h_t²`` (1 for ``"linear"``).
    """
    t_len = x.shape[1]
    dh = g[None, :]
    norms = [np.linalg.norm(dh)]
    with np.errstate(over="ignore", invalid="ignore"):
        if nonlinearity == "linear":
            for _ in range(t_len):
                dh = dh @ w_hh  # ∂L/∂A_{t−1} = θ_cᵀ ∂L/∂A_t, as a row vector
                norms.append(np.linalg.norm(dh))
            return np.array(norms[::-1]), 1.0
        if nonlinearity != "tanh":
            raise ValueError(f"gradient_through_time: nonlinearity must be 'tanh' or 'linear', got {nonlinearity!r}")
        h = np.zeros((1, w_hh.shape[0]))
        bias = np.zeros(w_hh.shape[0])
        caches, local = [], []
        for t in range(t_len):
            h, cache = rnn_step_forward(x[:, t], h, w_ih, w_hh, bias)
            caches.append(cache)
            local.append(1.0 - h * h)
        for cache in reversed(caches):
            dh = rnn_step_backward(dh, cache)[1]
            norms.append(np.linalg.norm(dh))
    return np.array(norms[::-1]), float(np.mean(local))


def gradient_flow(radius: float, T: int, matrix: str = "orthogonal", nonlinearity: str = "linear",
                  input_scale: float = 1.0) -> tuple[np.ndarray, float]:
    """``‖∂L/∂h_t‖`` for ``t = 0 … T`` in the demo RNN of :class:`GradientFlowThroughTime` (``H = 32``,
    ``D = 4``, fixed random inputs scaled by ``input_scale``) whose ``θ_c`` has spectral radius
    ``radius``; see :func:`gradient_through_time`.  Returns ``(norms (T+1,), mean local derivative)``."""
    if not 1 <= T <= _T_MAX:
        raise ValueError(f"gradient_flow: T must be between 1 and {_T_MAX}, got {T!r}")
    base = _base_matrices()
    return gradient_through_time(recurrent_matrix(matrix, radius), base["w_ih"], input_scale * base["noise"][:, :T],
                                 base["g"], nonlinearity)


class GradientFlowThroughTime(Widget):
    """Vanishing and exploding gradients through time against the eigenvalues of ``θ_c`` (Seed 7, 7.2).

    An RNN with ``H = 32`` units reads ``T`` random inputs; the loss looks only at the last
    state, so ``∂L/∂h_T`` is a unit vector, and backpropagation through time multiplies it once
    per step by ``θ_cᵀ`` (and, with tanh, by ``diag(1 − h_t²) ≤ 1``).  Left: the eigenvalues of
    ``θ_c`` in the complex plane with the unit circle.  Right: ``‖∂L/∂h_t‖`` over ``t`` on a log
    scale, with ``ρ^{T−t}`` (dashed) for the spectral radius ``ρ``: inside the circle the gradient
    vanishes geometrically, outside it explodes.  With tanh, large states saturate and add extra
    damping (raise ``input scale``).

    Controls: ``radius`` ρ (spectral radius of ``θ_c``), ``T``, ``matrix``
    (``"orthogonal"``/``"random"``), ``nonlinearity`` (``"linear"``/``"tanh"``), ``input_scale``.
    ``data``: ``eigenvalues`` (complex ``(H,)``), ``spectral_radius``, ``t (T+1,)``, ``grad_norm (T+1,)``
    (``‖∂L/∂h_t‖``), ``theory`` (``ρ^{T−t}``), ``ratio`` (``‖∂L/∂h_0‖ / ‖∂L/∂h_T‖``),
    ``mean_local_derivative``, ``model`` (an ``nn.RNN`` with these weights).
    """

    figsize = (9.5, 3.5)
    YLIM = (1e-8, 1e8)

    def make_controls(self):
        return {
            "radius": float_slider(0.9, 0.5, 1.5, 0.01, "spectral radius ρ = max |λ|"),
            "T": int_slider(50, 5, _T_MAX, "sequence length T", step=5),
            "matrix": dropdown([("orthogonal × ρ (all |λ| = ρ)", "orthogonal"),
                                ("random Gaussian, scaled to ρ", "random")], "orthogonal", "θ_c"),
            "nonlinearity": dropdown([("linear (Seed 7.2: A_t = θ_c A_t−1 + θ_x x_t)", "linear"),
                                      ("tanh (nn.RNN)", "tanh")], "linear", "activation"),
            "input_scale": float_slider(1.0, 0.0, 5.0, 0.1, "input scale"),
        }

    def setup_figure(self, fig):
        ex, gx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2]})
        angle = np.linspace(0, 2 * np.pi, 200)
        ex.plot(np.cos(angle), np.sin(angle), color="0.3", lw=1, label="|λ| = 1")
        ex.fill(np.cos(angle), np.sin(angle), color=COLORS[2], alpha=0.08)
        self.artists["circle"], = ex.plot([], [], color=COLORS[3], lw=1, ls="--", label="|λ| = ρ")
        self.artists["eig"], = ex.plot([], [], "o", color=COLORS[0], ms=4, label="eigenvalues of θ_c")
        ex.axhline(0, color="0.85", lw=0.5)
        ex.axvline(0, color="0.85", lw=0.5)
        ex.set_xlim(-1.65, 1.65)
        ex.set_ylim(-1.65, 1.65)
        ex.set_aspect("equal")
        ex.set_xlabel("Re λ", fontsize=8)
        ex.set_ylabel("Im λ", fontsize=8)
        ex.tick_params(labelsize=7)
        static_legend(ex, fontsize=6, loc="upper left")
        self.artists["theory"], = gx.plot([], [], color="0.4", ls="--", lw=1, label="$\\rho^{T-t}$")
        self.artists["grad"], = gx.plot([], [], color=COLORS[3], lw=2, label="$\\|\\partial L/\\partial h_t\\|$")
        gx.axhline(1.0, color="0.8", lw=0.8)
        gx.set_yscale("log")
        gx.set_ylim(*self.YLIM)
        gx.set_xlim(0, 50)
        gx.set_xlabel("time step t (the loss is at t = T)", fontsize=8)
        gx.tick_params(labelsize=7)
        static_legend(gx, fontsize=7, loc="upper left")
        self._gx = gx
        fig.tight_layout()
        # the time axis spans 0 … T: its ticks and label are repainted with the curves, so a new T
        # costs a blit, not a redraw of the axes (nothing in the background depends on the x limits)
        self.artists["time_axis"] = gx.xaxis

    def compute(self, radius, T, matrix, nonlinearity, input_scale):
        base = _base_matrices()
        w_hh = recurrent_matrix(matrix, radius)
        norms, local = gradient_flow(radius, T, matrix, nonlinearity, input_scale)
        eig = np.linalg.eigvals(w_hh)
        t = np.arange(T + 1)
        model = nn.RNN(_D, _H, rng=0).double()
        model.weight_hh.data[:] = w_hh
        model.weight_ih.data[:] = base["w_ih"]
        model.bias.data[:] = 0.0
        return {"eigenvalues": eig, "spectral_radius": float(np.max(np.abs(eig))), "t": t, "grad_norm": norms,
                "theory": float(np.max(np.abs(eig))) ** (T - t), "ratio": float(norms[0] / norms[-1]),
                "mean_local_derivative": local, "radius": radius, "T": T, "model": model}

    def draw(self, d):
        eig = d["eigenvalues"]
        self.artists["eig"].set_data(eig.real, eig.imag)
        angle = np.linspace(0, 2 * np.pi, 200)
        self.artists["circle"].set_data(d["radius"] * np.cos(angle), d["radius"] * np.sin(angle))
        lo, hi = 1e-30, 1e30  # keep the log axis away from 0 and inf; the plot shows 1e-8 … 1e8
        self.artists["grad"].set_data(d["t"], np.clip(np.nan_to_num(d["grad_norm"], nan=hi, posinf=hi), lo, hi))
        self.artists["theory"].set_data(d["t"], np.clip(d["theory"], lo, hi))
        set_limits(self._gx, xlim=(0, d["T"]))

    def summary(self, d):
        rho, ratio = d["spectral_radius"], d["ratio"]
        verdict = ("<b style='color:#1f77b4'>vanishing</b>" if ratio < 1e-2 else
                   "<b style='color:#d62728'>exploding</b>" if ratio > 1e2 else "<b>roughly preserved</b>")
        extra = ("" if d["mean_local_derivative"] == 1.0 else
                 f" · mean tanh′ = {d['mean_local_derivative']:.2f} (saturation damps the gradient further)")
        return (f"ρ = max|λ| = {rho:.2f}: after {d['T']} steps back, "
                f"$\\|\\partial L/\\partial h_0\\| / \\|\\partial L/\\partial h_T\\|$ = {ratio:.2e}, "
                f"ρ^T = {rho ** d['T']:.2e} — the gradient is {verdict}{extra}")


# =========================================================================================================
# 7.2–7.3 the adding problem: RNN vs LSTM
# =========================================================================================================
class LastStepRegressor(nn.Module):
    """A recurrent layer and a linear readout of its last hidden state (Seed 7.1, many-to-one).

    ``kind`` is ``"rnn"`` (:class:`~dlcourse.nn.RNN`, Seed 7.2) or ``"lstm"`` (:class:`~dlcourse.nn.LSTM`
    with forget-gate bias 1, Seed 7.3).  Shapes: ``x (N, T, D)`` → ``ŷ (N, out)``; backward gives
    ``dx (N, T, D)`` — the gradient reaching each input step.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, out_size: int = 1, rng=None) -> None:
        super().__init__()
        if kind not in ("rnn", "lstm"):
            raise ValueError(f"LastStepRegressor: kind must be 'rnn' or 'lstm', got {kind!r}")
        self.kind = kind
        self.rnn = (nn.LSTM(input_size, hidden_size, rng=rng, forget_bias=1.0) if kind == "lstm"
                    else nn.RNN(input_size, hidden_size, rng=rng))
        self.head = nn.Linear(hidden_size, out_size, rng=rng)

    def forward(self, x):
        hs = self.rnn(x)
        self._hs_shape, self._dtype = hs.shape, hs.dtype
        return self.head(hs[:, -1])

    def backward(self, dout):
        dh_last = self.head.backward(dout)
        dhs = np.zeros(self._hs_shape, dtype=self._dtype)
        dhs[:, -1] = dh_last  # only the last state reaches the loss
        return self.rnn.backward(dhs)


@dataclass
class AddingRun:
    """Both recurrent models trained on the adding problem with sequences of length ``T`` (Seed 7.2–7.3).

    ``steps (k,)``: when the validation MSE was measured; ``curves[kind] (k,)`` the MSE of
    ``"rnn"``/``"lstm"``; ``baseline``: MSE of always predicting the mean (≈ 1/6);
    ``input_grad_init[kind] (T,)``: mean ``‖∂L/∂x_t‖`` at initialisation, ``input_grad[kind]`` after
    training; ``models[kind]`` the trained :class:`LastStepRegressor`; ``X_val (n, T, 2)``, ``y_val (n, 1)``.
    """

    T: int
    steps: np.ndarray
    curves: dict
    baseline: float
    input_grad_init: dict
    input_grad: dict
    models: dict
    X_val: np.ndarray
    y_val: np.ndarray


#: the sequence lengths of the race; training steps, hidden units, batch size, learning rate
ADDING_LENGTHS = (5, 10, 20, 40)
ADDING_STEPS, ADDING_HIDDEN, ADDING_BATCH, ADDING_LR, ADDING_EVAL_EVERY = 800, 16, 32, 1e-2, 25
DEFAULT_T = 20
_ADDING: dict[tuple[int, int], AddingRun] = {}


def _input_gradient(model: LastStepRegressor, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean over the sequences of ``‖∂L/∂x_t‖`` for every step ``t`` (MSE loss): ``(T,)``."""
    loss_fn = nn.MSELoss()
    loss_fn(model(X), y)
    dx = model.backward(loss_fn.backward())
    model.zero_grad()
    return np.linalg.norm(dx, axis=2).mean(axis=0)


def adding_run(T: int = DEFAULT_T, steps: int | None = None, progress: bool = False) -> AddingRun:
    """Train (once per process and ``(T, steps)``) an RNN and an LSTM on the adding problem.

    ``steps`` defaults to :data:`ADDING_STEPS` (read at call time).

    Both get the same initialisation seed and the same minibatches (``ADDING_BATCH`` fresh
    sequences per step), ``ADDING_HIDDEN`` units and Adam with learning rate ``ADDING_LR``; the
    validation MSE on 256 fixed sequences is recorded every ``ADDING_EVAL_EVERY`` steps.  About
    a second per model for ``T = 10`` on a laptop (longer sequences take proportionally longer);
    ``progress=True`` shows a progress bar.
    """
    steps = ADDING_STEPS if steps is None else steps
    key = (int(T), int(steps))
    if key in _ADDING:
        return _ADDING[key]
    X_val, y_val = make_adding_problem(256, T, rng=1000 + T)
    bar = None
    if progress:
        from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal (as in dlcourse.train.fit)

        bar = tqdm(total=2 * steps, desc=f"RNN and LSTM, T = {T}", leave=False)
    loss_fn = nn.MSELoss()
    curves, grad_init, grad, models = {}, {}, {}, {}
    eval_steps = np.unique(np.r_[np.arange(0, steps, ADDING_EVAL_EVERY), steps])  # always the final model too
    for kind in ("rnn", "lstm"):
        gen = np.random.default_rng(T)  # the same weights seed and the same batches for both models
        model = LastStepRegressor(kind, 2, ADDING_HIDDEN, rng=gen)
        grad_init[kind] = _input_gradient(model, X_val[:64], y_val[:64])
        opt = Adam(model.parameters(), lr=ADDING_LR)
        curve = []
        for step in range(steps + 1):
            if step in eval_steps:
                curve.append(float(loss_fn(model(X_val), y_val)))
            if step == steps:
                break
            x, y = make_adding_problem(ADDING_BATCH, T, rng=gen)
            opt.zero_grad()
            loss_fn(model(x), y)
            backward_to_parameters(model, loss_fn.backward())
            opt.step()
            if bar is not None:
                bar.update(1)
        curves[kind] = np.array(curve)
        grad[kind] = _input_gradient(model, X_val[:64], y_val[:64])
        models[kind] = model
    if bar is not None:
        bar.close()
    run = AddingRun(T, eval_steps, curves, adding_baseline_mse(y_val), grad_init, grad, models, X_val, y_val)
    _ADDING[key] = run
    return run


class AddingProblemRace(Widget):
    """A vanilla RNN against an LSTM on the adding problem, for growing sequence lengths (Seed 7.2–7.3).

    Each sequence holds ``T`` random numbers, two of them marked; the target is their sum, and the
    first marked number lies up to ``T`` steps before the answer is due.  Left: the validation
    MSE of both models during training (the same initialisation seed, the same batches), and the
    baseline of always answering the mean (≈ 1/6; below 0.01 the task is solved).  Right: the
    mean ``‖∂L/∂x_t‖`` at initialisation, relative to the last step, against the distance ``T − t``
    to the answer — the learning signal that reaches input ``t``.  The RNN's signal fades
    geometrically (Seed 7: vanishing gradient); the LSTM's cell path ``c_t = f ∘ c_{t−1} + …``
    carries it back almost undamped.

    The models of a length are trained the first time it is chosen (seconds; then cached).
    Controls: ``T`` (one of :data:`ADDING_LENGTHS`), ``trained`` (right panel after training).
    ``data``: ``steps``, ``rnn_curve``, ``lstm_curve``, ``baseline``, ``rnn_grad``, ``lstm_grad``
    (relative ``‖∂L/∂x_t‖``, ``(T,)``), ``final`` (last MSE of each), ``models``.
    """

    figsize = (9.5, 3.4)

    def make_controls(self):
        return {
            "T": W.SelectionSlider(options=list(ADDING_LENGTHS), value=DEFAULT_T, description="sequence length T",
                                   continuous_update=False, style={"description_width": "initial"},
                                   layout={"width": "auto", "min_width": "260px"}),
            "trained": checkbox(False, "gradients after training"),
        }

    def setup_figure(self, fig):
        lx, gx = fig.subplots(1, 2)
        self.artists["rnn_curve"], = lx.plot([], [], color=COLORS[0], lw=2, label="vanilla RNN")
        self.artists["lstm_curve"], = lx.plot([], [], color=COLORS[1], lw=2, label="LSTM")
        self.artists["baseline"], = lx.plot([], [], color="0.4", ls="--", lw=1, label="predict the mean")
        lx.axhline(0.01, color="0.75", ls=":", lw=1)
        lx.set_yscale("log")
        lx.set_ylim(1e-4, 0.5)
        lx.set_xlim(0, ADDING_STEPS)
        self._lx = lx
        lx.set_xlabel("training step", fontsize=8)
        lx.set_ylabel("validation MSE", fontsize=8)
        lx.tick_params(labelsize=7)
        static_legend(lx, fontsize=7, loc="lower left")
        self.artists["rnn_grad"], = gx.plot([], [], "o-", color=COLORS[0], ms=3, label="vanilla RNN")
        self.artists["lstm_grad"], = gx.plot([], [], "o-", color=COLORS[1], ms=3, label="LSTM")
        gx.set_yscale("log")
        gx.set_ylim(1e-6, 10)
        gx.set_xlim(-1, max(ADDING_LENGTHS))  # fixed: a new T is a blit, not a redraw
        gx.xaxis.set_major_locator(MaxNLocator(integer=True))
        gx.set_xlabel("steps between input x_t and the answer, T − t", fontsize=8)
        gx.set_ylabel("‖∂L/∂x_t‖ / ‖∂L/∂x_T‖", fontsize=8)
        gx.tick_params(labelsize=7)
        static_legend(gx, fontsize=7, loc="lower right")
        self._gx = gx
        fig.tight_layout()

    def compute(self, T, trained):
        run = adding_run(T)
        grads = run.input_grad if trained else run.input_grad_init
        rel = {k: grads[k] / max(grads[k][-1], 1e-30) for k in ("rnn", "lstm")}
        return {"T": T, "steps": run.steps, "rnn_curve": run.curves["rnn"], "lstm_curve": run.curves["lstm"],
                "baseline": run.baseline, "rnn_grad": rel["rnn"], "lstm_grad": rel["lstm"],
                "final": {k: float(run.curves[k][-1]) for k in ("rnn", "lstm")}, "models": run.models}

    def draw(self, d):
        self.artists["rnn_curve"].set_data(d["steps"], d["rnn_curve"])
        self.artists["lstm_curve"].set_data(d["steps"], d["lstm_curve"])
        self.artists["baseline"].set_data([0, d["steps"][-1]], [d["baseline"]] * 2)
        set_limits(self._lx, xlim=(0, d["steps"][-1]))
        back = d["T"] - np.arange(1, d["T"] + 1)   # T − t: 0 for the last input, T − 1 for the first
        self.artists["rnn_grad"].set_data(back, np.clip(d["rnn_grad"], 1e-30, None))
        self.artists["lstm_grad"].set_data(back, np.clip(d["lstm_grad"], 1e-30, None))

    def summary(self, d):
        def verdict(mse):
            return "solved" if mse < 0.01 else ("learning" if mse < 0.5 * d["baseline"] else "stuck at the baseline")

        f = d["final"]
        return (f"T = {d['T']}, after {d['steps'][-1]} steps: RNN MSE {f['rnn']:.4f} ({verdict(f['rnn'])}), "
                f"LSTM MSE {f['lstm']:.4f} ({verdict(f['lstm'])}); baseline {d['baseline']:.3f} · "
                f"gradient reaching the first input: RNN {d['rnn_grad'][0]:.1e}, LSTM {d['lstm_grad'][0]:.1e} "
                f"of the last one")


# =========================================================================================================
# 7.3 LSTM gates
# =========================================================================================================
def _unit_scores(model: LastStepRegressor, X: np.ndarray) -> np.ndarray:
    """How selectively each unit writes at the marked steps: mean input gate there minus elsewhere, ``(H,)``."""
    model(X)
    i = np.asarray(model.rnn.gates["i"])                  # (N, T, H)
    marked = X[:, :, 1] > 0.5
    return i[marked].mean(axis=0) - i[~marked].mean(axis=0)


class LSTMGates(Widget):
    """The gates of an LSTM that has learned the adding problem, over one sequence (Seed 7.3).

    Left, top to bottom: the input sequence (bars; the two marked numbers red), the input gate
    ``i_t``, forget gate ``f_t`` and output gate ``o_t`` of one unit, and its cell state ``c_t``, cell
    candidate ``g_t`` and output ``h_t``.  Right: the input and forget gates of all units (rows) over time, the chosen
    unit outlined.  In a trained network some units open their input gate at the marked steps
    and keep ``f ≈ 1`` in between, so that ``c_t = f ∘ c_{t−1} + i ∘ g`` accumulates exactly the
    two marked numbers — the memory the vanilla RNN cannot hold.  Untick ``trained`` for the
    initial network.  The unit chosen at start is the one whose input gate opens most selectively at
    the markers.

    Controls: ``sample`` (a validation sequence), ``unit``, ``trained``.
    ``data``: ``x (T, 2)``, ``marked`` (the two marked steps), ``gates`` (``{"i", "f", "g", "o", "c"}`` →
    ``(T, H)``), ``h (T, H)``, ``prediction``, ``target``, ``unit``, ``unit_scores (H,)``, ``model``.
    """

    figsize = (9.5, 4.8)

    def make_controls(self):
        return {
            "sample": int_slider(0, 0, 63, "sequence"),
            "unit": int_slider(0, 0, ADDING_HIDDEN - 1, "unit"),
            "trained": checkbox(True, "trained LSTM"),
        }

    def setup_figure(self, fig):
        self._run = adding_run(DEFAULT_T)
        gen = np.random.default_rng(DEFAULT_T)  # the initial network: the same seed as in adding_run
        self._initial = LastStepRegressor("lstm", 2, ADDING_HIDDEN, rng=gen)
        self._scores = _unit_scores(self._run.models["lstm"], self._run.X_val[:64])
        # the cell axis is scaled per unit over all shown sequences: moving through the sequences
        # keeps the limits; a new unit or network rescales it symmetrically (the zero line stays put)
        # and its ticks are repainted with the curves, so every move is a blit
        self._peaks = {}
        for trained, model in ((True, self._run.models["lstm"]), (False, self._initial)):
            model(self._run.X_val[:64])
            self._peaks[trained] = np.max(np.abs(np.concatenate([model.rnn.gates["c"], model.rnn.gates["g"]], axis=1)),
                                          axis=(0, 1))
        T, H = DEFAULT_T, ADDING_HIDDEN
        t = np.arange(1, T + 1)
        left = fig.add_gridspec(3, 1, left=0.07, right=0.53, top=0.95, bottom=0.1, hspace=0.3)
        right = fig.add_gridspec(2, 1, left=0.68, right=0.98, top=0.93, bottom=0.1, hspace=0.45)
        ax_x = fig.add_subplot(left[0])
        ax_g = fig.add_subplot(left[1], sharex=ax_x)
        ax_c = fig.add_subplot(left[2], sharex=ax_x)
        ax_i = fig.add_subplot(right[0])
        ax_f = fig.add_subplot(right[1])
        self.artists["bars"] = ax_x.bar(t, np.zeros(T), color="0.6", width=0.8)
        ax_x.set_ylim(0, 1.05)
        ax_x.set_ylabel("input", fontsize=8)
        for name, color in (("i", COLORS[2]), ("f", COLORS[0]), ("o", COLORS[4])):
            self.artists[name], = ax_g.plot([], [], "o-", ms=3, color=color, label=f"{name}_t")
        ax_g.set_ylim(-0.05, 1.05)
        ax_g.set_ylabel("gates", fontsize=8)
        self.artists["c"], = ax_c.plot([], [], "o-", ms=3, color=COLORS[1], label="c_t")
        self.artists["g"], = ax_c.plot([], [], ":", color=COLORS[7], label="g_t")
        self.artists["h"], = ax_c.plot([], [], "o-", ms=3, color=COLORS[5], label="h_t")
        ax_c.axhline(0, color="0.8", lw=0.8)
        ax_c.set_ylim(-2, 2)
        ax_c.set_ylabel("cell", fontsize=8)
        ax_c.set_xlabel("time step t", fontsize=8)
        for ax in (ax_g, ax_c):
            # figure legends beside the axes: they stay in the cached background (an axes legend is
            # repainted on every blit, and text is the most expensive thing to draw)
            box = ax.get_position()
            fig.legend(*ax.get_legend_handles_labels(), loc="center left", fontsize=7, frameon=False,
                       bbox_to_anchor=(box.x1 + 0.003, (box.y0 + box.y1) / 2))
        ax_c.set_xlim(0.5, T + 0.5)
        ax_c.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in (ax_x, ax_g):
            ax.tick_params(labelbottom=False)
        for ax in (ax_x, ax_g, ax_c):
            ax.tick_params(labelsize=7)
        for ax, key, title in ((ax_i, "heat_i", "input gate i, all units"),
                               (ax_f, "heat_f", "forget gate f, all units")):
            self.artists[key] = ax.imshow(np.zeros((H, T)), aspect="auto", cmap="viridis", vmin=0, vmax=1,
                                          extent=(0.5, T + 0.5, H - 0.5, -0.5), interpolation="nearest")
            self.artists[key + "_unit"], = ax.plot([], [], color=COLORS[3], lw=1.2)
            ax.set_title(title, fontsize=8)
            ax.set_ylabel("unit", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_f.set_xlabel("time step t", fontsize=7)
        self._ax_c = ax_c
        self.artists["cell_axis"] = ax_c.yaxis

    def on_control_change(self, name, value):
        if name is None:  # start on the unit that remembers the marked numbers most clearly
            self.controls["unit"].value = int(np.argmax(self._scores))

    def compute(self, sample, unit, trained):
        run = self._run
        model = run.models["lstm"] if trained else self._initial
        x = run.X_val[sample:sample + 1]
        pred = float(model(x)[0, 0])
        gates = {k: np.asarray(v[0], dtype=np.float64) for k, v in model.rnn.gates.items()}
        h = gates["o"] * np.tanh(gates["c"])
        return {"x": x[0], "marked": np.flatnonzero(x[0, :, 1] > 0.5), "gates": gates, "h": h,
                "prediction": pred, "target": float(run.y_val[sample, 0]), "unit": unit,
                "unit_scores": self._scores, "trained": trained, "model": model}

    def draw(self, d):
        T = len(d["x"])
        t = np.arange(1, T + 1)
        for k, bar in enumerate(self.artists["bars"]):
            bar.set_height(d["x"][k, 0])
            bar.set_color(COLORS[3] if k in d["marked"] else "0.7")
        u = d["unit"]
        for name in ("i", "f", "o", "c", "g"):
            self.artists[name].set_data(t, d["gates"][name][:, u])
        self.artists["h"].set_data(t, d["h"][:, u])
        top = float(np.ceil(self._peaks[d["trained"]][u] * 4 * 1.05) / 4)   # rounded to quarters
        set_limits(self._ax_c, ylim=(-max(top, 0.25), max(top, 0.25)))
        box_x = [0.5, T + 0.5, T + 0.5, 0.5, 0.5]
        box_y = [u - 0.5, u - 0.5, u + 0.5, u + 0.5, u - 0.5]
        for key in ("i", "f"):
            self.artists["heat_" + key].set_data(d["gates"][key].T)
            self.artists[f"heat_{key}_unit"].set_data(box_x, box_y)

    def summary(self, d):
        g, u, m = d["gates"], d["unit"], d["marked"]
        others = np.setdiff1d(np.arange(len(d["x"])), m)
        state = "trained" if d["trained"] else "untrained"
        return (f"{state} LSTM · marked numbers at t = {m[0] + 1} and {m[1] + 1}: "
                f"target {d['target']:.3f}, prediction <b>{d['prediction']:.3f}</b> · unit {u}: input gate "
                f"{g['i'][m, u].mean():.2f} at the marks vs {g['i'][others, u].mean():.2f} elsewhere, "
                f"forget gate {g['f'][:, u].mean():.2f} on average")
