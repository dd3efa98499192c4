"""Interactive figures of chapter 4, "Neural Network" (Seed 4.1–4.5).

* :class:`ActivationExplorer` — an activation, its derivative, where it saturates or dies (Seed 4.1);
* :class:`LossExplorer` — L1 vs L2 under outliers, hinge vs cross-entropy saturation (Seed 4.2);
* :class:`OptimizerRace` — every first- and second-order method on a 2-D surface (Seed 4.3);
* :class:`ScheduleExplorer` — learning-rate decay and the SGD convergence conditions (Seed 4.4, 4.3.3.1);
* :class:`RegularizationPlayground` — L1/L2, dropout and batch norm on an overfitting net (Seed 4.5);
* :class:`PlaygroundTrainer` — a TensorFlow-Playground-style trainer (Seed 4, 5).

Each one is a :class:`~dlcourse.widgets.base.Widget`: ``widget.controls``, ``widget.set(...)``,
``widget.data`` (the numbers behind the plot) and ``widget.artists``.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LinearSegmentedColormap, Normalize, to_hex, to_rgba
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from .. import mistakes, nn
from .._rng import get_rng
from ..data import make_blobs, make_circles, make_moons, make_spirals
from ..optim import (SGD, Adam, ExponentialDecay, InverseSqrtDecay, InverseTimeDecay, L1Penalty, L2Penalty,
                     ManualSchedule, RMSprop, StepDecay, second_order, surfaces)
from .base import (CLASS_COLORS, COLORS, Widget, checkbox, dropdown, float_slider, grid_points, int_slider,
                   log_slider, select_multiple, set_limits, static_legend, train_full_batch)

__all__ = ["ActivationExplorer", "LossExplorer", "OptimizerRace", "ScheduleExplorer", "RegularizationPlayground",
           "PlaygroundTrainer", "ACTIVATIONS", "surface_residuals"]

#: blue (class 0) → white → orange (class 1), the decision-boundary background
BOUNDARY_CMAP = LinearSegmentedColormap.from_list("boundary", [CLASS_COLORS[0], "#ffffff", CLASS_COLORS[1]])


# =========================================================================================================
# 4.1 activation functions
# =========================================================================================================
def _maxout(alpha: float) -> nn.Maxout:
    # two pieces w₁s + b₁ = s and w₂s + b₂ = −α·s: α = 0 gives ReLU, α = 1 gives |s|
    m = nn.Maxout(1, 1, pieces=2, rng=0)
    m.linear.weight.data[:] = np.array([[1.0], [-alpha]], dtype=np.float32)
    m.linear.bias.data[:] = 0.0
    return m


#: name -> (label, factory(α)); α is the leak of Leaky ReLU / PReLU, ELU's α and the second Maxout slope
ACTIVATIONS = {
    "sigmoid": ("Sigmoid σ(s)", lambda a: nn.Sigmoid()),
    "softmax": ("Softmax of (s, 0), class 1", lambda a: nn.Softmax()),
    "tanh": ("Tanh", lambda a: nn.Tanh()),
    "relu": ("ReLU", lambda a: nn.ReLU()),
    "leaky_relu": ("Leaky ReLU max(αs, s)", lambda a: nn.LeakyReLU(a)),
    "prelu": ("Parametric ReLU (learnable α)", lambda a: nn.PReLU(init=a)),
    "elu": ("ELU", lambda a: nn.ELU(a)),
    "maxout": ("Maxout max(s, −αs)", _maxout),
    "step": ("Step", lambda a: nn.Step()),
}


def activation_response(name: str, s: np.ndarray, alpha: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """``(h, dh/ds)`` of activation ``name`` at the points ``s (n,)``, from the layer's forward and backward.

    Softmax is a vector function; it is shown for two classes with scores ``(s, 0)``: output 1 is
    ``e^s / (e^s + 1) = σ(s)`` — the 2-class softmax *is* the sigmoid (Seed 4.1.1–4.1.2).
    """
    layer = ACTIVATIONS[name][1](alpha)
    s = np.asarray(s, dtype=np.float64)
    if name == "softmax":
        scores = np.stack([s, np.zeros_like(s)], axis=1)
        out = layer(scores)
        dout = np.zeros_like(scores)
        dout[:, 0] = 1.0
        return out[:, 0], layer.backward(dout)[:, 0]
    if name == "maxout":
        layer.double()
        h = layer(s[:, None])[:, 0]
        return h, layer.backward(np.ones((len(s), 1)))[:, 0]
    h = layer(s)
    return h, layer.backward(np.ones_like(h)).astype(np.float64)


def gradient_regions(dh: np.ndarray, saturation: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Masks ``(dead, saturated)``: derivative exactly 0, or below ``saturation`` × its maximum."""
    dead = dh == 0
    peak = np.max(np.abs(dh)) if dh.size else 0.0
    saturated = ~dead & (np.abs(dh) < saturation * peak)
    return dead, saturated


class ActivationExplorer(Widget):
    """An activation function ``h = a(s)``, its derivative, and where gradients stop flowing (Seed 4.1).

    Shaded in orange: *saturated* inputs (derivative below 10 % of its peak — sigmoid and tanh for
    large ``|s|``, Seed 4.1.1/4.1.3); in grey: *dead* inputs (derivative exactly 0 — ReLU for
    ``s < 0``, the step function everywhere, Seed 4.1.4/4.1.9).  The pre-activations of a layer are
    modelled as ``s ~ N(μ, σ²)``; the bar chart gives the fraction of units in each regime and the
    mean derivative — the factor by which backpropagation scales the gradient through this layer.

    Controls: ``activation``, ``alpha`` (α of Leaky ReLU/PReLU/ELU/Maxout), ``mean`` μ, ``std`` σ.
    ``data``: ``s, h, dh`` (curves), ``dead, saturated`` (masks over ``s``), ``fractions``
    ``{"active", "saturated", "dead"}`` and ``mean_gradient`` over the sampled pre-activations.
    """

    figsize = (9.0, 3.3)
    S = np.linspace(-6.0, 6.0, 601)
    _NOISE = np.random.default_rng(0).standard_normal(4000)

    def make_controls(self):
        return {
            "activation": dropdown([(label, key) for key, (label, _) in ACTIVATIONS.items()], "sigmoid", "activation"),
            "alpha": float_slider(0.1, 0.0, 1.0, 0.01, "α (leaky/PReLU/ELU/maxout)"),
            "mean": float_slider(0.0, -6.0, 6.0, 0.1, "pre-activation mean μ"),
            "std": float_slider(1.0, 0.1, 5.0, 0.1, "pre-activation std σ"),
        }

    def setup_figure(self, fig):
        ax, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.3, 1]})
        self.artists["regions"] = ax.imshow(np.zeros((1, len(self.S), 4)), aspect="auto", zorder=0,
                                            extent=(self.S[0], self.S[-1], -10, 10))
        self.artists["h"], = ax.plot([], [], color=COLORS[0], lw=2, label="h = a(s)")
        self.artists["dh"], = ax.plot([], [], color=COLORS[3], lw=1.5, ls="--", label="a'(s)")
        self.artists["density"], = ax.plot([], [], color="0.4", lw=1, label="density of s")
        ax.axhline(0, color="0.7", lw=0.5, zorder=1)
        ax.set_xlim(self.S[0], self.S[-1])
        ax.set_ylim(-1.6, 3.0)
        ax.set_xlabel("pre-activation s")
        static_legend(ax, loc="upper left", fontsize=8)
        self._ax = ax
        labels = ("active", "saturated", "dead")
        self.artists["bars"] = bars.bar(labels, [0, 0, 0], color=[COLORS[2], "#ff9f40", "0.55"])
        bars.set_ylim(0, 1.05)
        bars.set_ylabel("fraction of units")
        fig.tight_layout()

    def compute(self, activation, alpha, mean, std):
        h, dh = activation_response(activation, self.S, alpha)
        dead, saturated = gradient_regions(dh)
        samples = mean + std * self._NOISE
        _, dh_samples = activation_response(activation, samples, alpha)
        peak = np.max(np.abs(dh))
        dead_s = dh_samples == 0
        sat_s = ~dead_s & (np.abs(dh_samples) < 0.1 * peak)
        fractions = {"active": float(np.mean(~dead_s & ~sat_s)), "saturated": float(np.mean(sat_s)),
                     "dead": float(np.mean(dead_s))}
        density = np.exp(-0.5 * ((self.S - mean) / std) ** 2)  # unnormalised: only its shape is drawn
        return {"s": self.S, "h": h, "dh": dh, "dead": dead, "saturated": saturated, "density": density,
                "fractions": fractions, "mean_gradient": float(np.mean(dh_samples))}

    def draw(self, d):
        rgba = np.zeros((1, len(d["s"]), 4))
        rgba[0, d["saturated"]] = to_rgba("#ff9f40", 0.3)
        rgba[0, d["dead"]] = to_rgba("0.5", 0.3)
        self.artists["regions"].set_data(rgba)
        self.artists["h"].set_data(d["s"], d["h"])
        self.artists["dh"].set_data(d["s"], d["dh"])
        lo, hi = self._ax.get_ylim()  # fixed: new limits would cost a full redraw on every switch
        self.artists["density"].set_data(d["s"], lo + 0.25 * (hi - lo) * d["density"])
        for bar, key in zip(self.artists["bars"], ("active", "saturated", "dead")):
            bar.set_height(d["fractions"][key])

    def summary(self, d):
        f = d["fractions"]
        return (f"{f['active']:.0%} of the units pass the gradient on, {f['saturated']:.0%} are saturated, "
                f"{f['dead']:.0%} are dead; on average the gradient is multiplied by "
                f"<b>mean a'(s) = {d['mean_gradient']:.3f}</b>.")


# =========================================================================================================
# 4.2 loss functions
# =========================================================================================================
def _margin_curves(margins: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample hinge and cross-entropy loss, and their derivative w.r.t. the correct score.

    Two classes with scores ``(m, 0)`` and label 0, so ``m = s_gt − s_other`` is the margin.
    """
    scores = np.stack([margins, np.zeros_like(margins)], axis=1)
    labels = np.zeros(len(margins), dtype=np.int64)
    out = {}
    # rows like (1, 0) are genuine scores that happen to look like probabilities
    with mistakes.silenced("softmax_before_cross_entropy"):
        for name, loss_fn in (("hinge", nn.HingeLoss()), ("ce", nn.CrossEntropyLoss())):
            out[name] = np.array([loss_fn(scores[i:i + 1], labels[i:i + 1]) for i in range(len(margins))])
            loss_fn(scores, labels)
            out["d" + name] = loss_fn.backward()[:, 0] * len(margins)  # the batch mean divides by n
    return out


class LossExplorer(Widget):
    """Outliers under L1 vs L2 (Seed 4.2.3–4.2.4) and the saturation of the hinge loss (Seed 4.2.7).

    Left: a line ``ŷ = wx + b`` fitted by gradient descent once with :class:`~dlcourse.nn.L1Loss`
    and once with :class:`~dlcourse.nn.MSELoss` to data where ``outliers`` points are shifted up
    by ``outlier_size``.  The squared loss lets a few outliers pull the whole line; the absolute
    loss (cost linear in the error) barely moves.  Right: per-sample hinge and cross-entropy loss
    against the margin ``m = s_gt − s_other`` of a 2-class example: the hinge loss and its gradient
    are exactly 0 once ``m ≥ 1`` (saturation), cross-entropy keeps pushing.

    Controls: ``outliers``, ``outlier_size``, ``margin``.
    ``data``: ``x, y, is_outlier``, ``l1_line``/``l2_line`` = ``(w, b)``, ``clean_line`` (the fit
    without outliers, L2), ``margin``, ``hinge``/``ce`` and their gradients at the margin.
    """

    figsize = (9.0, 3.3)
    _X = np.linspace(0.0, 1.0, 30)
    _CLEAN_Y = 1.0 + 2.0 * _X + 0.15 * np.random.default_rng(1).standard_normal(30)
    _OUTLIER_ORDER = np.random.default_rng(2).permutation(30)
    MARGINS = np.linspace(-3.0, 4.0, 141)
    STEPS = 150

    def make_controls(self):
        return {
            "outliers": int_slider(3, 0, 10, "outliers"),
            "outlier_size": float_slider(6.0, 0.0, 20.0, 0.5, "outlier size"),
            "margin": float_slider(0.5, -3.0, 4.0, 0.1, "margin s_gt − s_other"),
        }

    def setup_figure(self, fig):
        ax, bx = fig.subplots(1, 2)
        self.artists["points"], = ax.plot([], [], "o", color="0.35", ms=4, label="data")
        self.artists["outliers"], = ax.plot([], [], "o", color=COLORS[3], ms=5, label="outliers")
        self.artists["l1"], = ax.plot([], [], color=COLORS[2], lw=2, label="L1 fit")
        self.artists["l2"], = ax.plot([], [], color=COLORS[1], lw=2, label="L2 fit")
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(0, 12)
        ax.set_xlabel("x")
        static_legend(ax, loc="upper left", fontsize=8)
        curves = _cached_margin_curves()
        bx.plot(self.MARGINS, curves["hinge"], color=COLORS[0], lw=2, label="hinge")
        bx.plot(self.MARGINS, curves["ce"], color=COLORS[4], lw=2, label="cross-entropy")
        bx.plot(self.MARGINS, curves["dhinge"], color=COLORS[0], ls=":", label="∂hinge/∂s_gt")
        bx.plot(self.MARGINS, curves["dce"], color=COLORS[4], ls=":", label="∂CE/∂s_gt")
        bx.axhline(0, color="0.7", lw=0.5)
        self.artists["margin_line"] = bx.axvline(0, color="0.3", lw=1)
        self.artists["margin_points"], = bx.plot([], [], "ko", ms=5)
        bx.set_xlabel("margin m = s_gt − s_other")
        bx.set_ylim(-1.2, 4.2)
        static_legend(bx, loc="upper right", fontsize=7)
        fig.tight_layout()

    def compute(self, outliers, outlier_size, margin):
        x, y = self._X, self._CLEAN_Y.copy()
        is_outlier = np.zeros(len(x), dtype=bool)
        is_outlier[self._OUTLIER_ORDER[:outliers]] = True
        y[is_outlier] += outlier_size
        l1, l2, clean = _fit_lines(x, y, self._CLEAN_Y, self.STEPS)
        curves = _cached_margin_curves()
        i = int(np.argmin(np.abs(self.MARGINS - margin)))
        return {"x": x, "y": y, "is_outlier": is_outlier, "l1_line": l1, "l2_line": l2,
                "clean_line": clean, "margin": float(self.MARGINS[i]),
                "hinge": float(curves["hinge"][i]), "ce": float(curves["ce"][i]),
                "dhinge": float(curves["dhinge"][i]), "dce": float(curves["dce"][i])}

    def draw(self, d):
        x, y, out = d["x"], d["y"], d["is_outlier"]
        self.artists["points"].set_data(x[~out], y[~out])
        self.artists["outliers"].set_data(x[out], y[out])
        ends = np.array([0.0, 1.0])
        for key in ("l1", "l2"):
            w, b = d[key + "_line"]
            self.artists[key].set_data(ends, w * ends + b)
        m = d["margin"]
        self.artists["margin_line"].set_xdata([m, m])
        self.artists["margin_points"].set_data([m, m, m, m], [d["hinge"], d["ce"], d["dhinge"], d["dce"]])

    def summary(self, d):
        return (f"L1 line: slope {d['l1_line'][0]:.2f}, intercept {d['l1_line'][1]:.2f} · "
                f"L2 line: slope {d['l2_line'][0]:.2f}, intercept {d['l2_line'][1]:.2f} "
                f"(without outliers: {d['clean_line'][0]:.2f}, {d['clean_line'][1]:.2f}) · "
                f"at margin {d['margin']:.1f}: hinge {d['hinge']:.3f} (gradient {d['dhinge']:.2f}), "
                f"cross-entropy {d['ce']:.3f} (gradient {d['dce']:.2f})")


@lru_cache(maxsize=1)
def _cached_margin_curves() -> dict[str, np.ndarray]:
    return _margin_curves(LossExplorer.MARGINS)


@lru_cache(maxsize=256)
def _fit_lines_cached(xb: bytes, yb: bytes, clean_b: bytes, steps: int) -> tuple[tuple[float, float], ...]:
    x = np.frombuffer(xb)[:, None]
    y, clean = np.frombuffer(yb)[:, None], np.frombuffer(clean_b)[:, None]
    # three lines side by side in one Linear(1, 3), so one loop trains them all: column 0 with the
    # L1 loss, column 1 with the L2 loss, column 2 with the L2 loss on the data without outliers.
    # Adam treats every weight separately, so this is exactly three independent fits.
    model = nn.Linear(1, 3, rng=0).double()
    losses = (nn.L1Loss(), nn.MSELoss(), nn.MSELoss())
    targets = (y, y, clean)
    # Adam: the L1 gradient has the same size whatever the error, plain GD would need a decaying α
    opt = Adam(model.parameters(), lr=0.2)
    for _ in range(steps):
        opt.zero_grad()
        out = model(x)
        for i, (loss_fn, target) in enumerate(zip(losses, targets)):
            loss_fn(out[:, i:i + 1], target)
        model.backward(np.hstack([loss_fn.backward() for loss_fn in losses]))
        opt.step()
    w, b = model.weight.data[:, 0], model.bias.data
    return tuple((float(w[i]), float(b[i])) for i in range(3))


def _fit_lines(x: np.ndarray, y: np.ndarray, clean: np.ndarray, steps: int):
    """``(w, b)`` of ``ŷ = wx + b`` for the L1 fit and the L2 fit of ``y``, and the L2 fit of ``clean``."""
    as_bytes = lambda a: np.ascontiguousarray(a, dtype=np.float64).tobytes()  # noqa: E731 (hashable cache key)
    return _fit_lines_cached(as_bytes(x), as_bytes(y), as_bytes(clean), steps)


# =========================================================================================================
# 4.3 optimizers on 2-D surfaces
# =========================================================================================================
def surface_residuals(key: str, surface: surfaces.Surface):
    """``(residual, jacobian)`` with ``f = ‖r‖²`` for the 2-D test surfaces, for Gauss-Newton & co.

    Gauss-Newton, Levenberg and Levenberg-Marquardt (Seed 4.3.10–4.3.12) need ``f`` as a sum of
    squares.  All four surfaces are: Rosenbrock ``r = (√b (y − x²), a − x)``; Beale
    ``r_i = c_i − x + x yⁱ``; Himmelblau ``r = (x² + y − 11, x + y² − 7)``; the bowl
    ``½ dᵀAd = ‖Lᵀd/√2‖²`` with ``A = LLᵀ`` (Cholesky).  ``tests/test_widgets_ch4_5.py`` checks
    ``‖r‖² = f`` on random points, so this cannot drift from :mod:`dlcourse.optim.surfaces`.
    """
    if key == "rosenbrock":
        a, b = surface.info["a"], surface.info["b"]
        sb = math.sqrt(b)
        return (lambda p: np.array([sb * (p[1] - p[0] ** 2), a - p[0]]),
                lambda p: np.array([[-2 * sb * p[0], sb], [-1.0, 0.0]]))
    if key == "beale":
        cs = (1.5, 2.25, 2.625)
        return (lambda p: np.array([c - p[0] + p[0] * p[1] ** i for i, c in enumerate(cs, 1)]),
                lambda p: np.array([[p[1] ** i - 1, i * p[0] * p[1] ** (i - 1)] for i in range(1, 4)]))
    if key == "himmelblau":
        return (lambda p: np.array([p[0] ** 2 + p[1] - 11, p[0] + p[1] ** 2 - 7]),
                lambda p: np.array([[2 * p[0], 1.0], [1.0, 2 * p[1]]]))
    if key == "quadratic":
        L = np.linalg.cholesky(surface.info["A"])
        c = surface.minima[0]
        return (lambda p: L.T @ (np.asarray(p) - c) / math.sqrt(2), lambda p: L.T / math.sqrt(2))
    raise KeyError(f"no residual form for surface {key!r}")


#: key -> (label, factory, default α for GD/momentum/Nesterov, default α for RMSProp/Adam)
SURFACES = {
    "quadratic": ("quadratic bowl, κ = 20, rotated", lambda: surfaces.quadratic_bowl(condition=20, angle=np.pi / 6),
                  0.03, 0.1),
    "rosenbrock": ("Rosenbrock", surfaces.rosenbrock, 1e-3, 0.1),
    "beale": ("Beale", surfaces.beale, 3e-3, 0.1),
    "himmelblau": ("Himmelblau", surfaces.himmelblau, 0.01, 0.1),
}
FIRST_ORDER = ("GD", "Momentum", "Nesterov", "RMSProp", "Adam")
SECOND_ORDER = ("Newton", "BFGS", "L-BFGS", "Gauss-Newton", "Levenberg", "Levenberg-Marquardt")
METHODS = FIRST_ORDER + SECOND_ORDER


@lru_cache(maxsize=None)
def _surface(key: str):
    """``(surface, shading, residual form)``; the shading is log f on a 160 × 160 grid, already coloured
    (RGBA): matplotlib then only resamples it on a surface switch, half the time of colour-mapping it."""
    s = SURFACES[key][1]()
    X, Y, Z = s.grid(160)
    fmin = min(float(s.f(m)) for m in s.minima)
    logz = np.log10(Z - fmin + 1e-3)
    shading = colormaps["Greys"](Normalize(float(logz.min()), float(np.percentile(logz, 98)))(logz), bytes=True)
    return s, shading, surface_residuals(key, s)


@lru_cache(maxsize=256)
def _second_order_path(key: str, method: str, x0: tuple, steps: int) -> tuple[np.ndarray, str]:
    s, _, (r, J) = _surface(key)
    x0 = np.array(x0)
    # a diverging Gauss-Newton step overflows on purpose; the result's message reports it
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _run_second_order(s, r, J, method, x0, steps)


def _run_second_order(s, r, J, method, x0, steps):
    try:
        if method == "Newton":
            res = second_order.newton(s.f, s.grad, s.hess, x0, maxiter=steps, warn=False)
        elif method == "BFGS":
            res = second_order.bfgs(s.f, s.grad, x0, maxiter=steps)
        elif method == "L-BFGS":
            res = second_order.lbfgs(s.f, s.grad, x0, m=5, maxiter=steps)
        elif method == "Gauss-Newton":
            res = second_order.gauss_newton(r, J, x0, maxiter=steps)
        elif method == "Levenberg":
            res = second_order.levenberg(r, J, x0, maxiter=steps)
        else:
            res = second_order.levenberg_marquardt(r, J, x0, maxiter=steps)
    except (ValueError, np.linalg.LinAlgError) as exc:  # e.g. a singular JᵀJ for plain Gauss-Newton
        return x0[None, :], f"failed: {exc}"
    return res.path, res.message


@lru_cache(maxsize=512)
def _first_order_path_cached(key: str, method: str, hyper: tuple, x0: tuple, steps: int) -> np.ndarray:
    s = _surface(key)[0]
    factory = {
        "GD": lambda p, lr: SGD(p, lr=lr),
        "Momentum": lambda p, lr, beta: SGD(p, lr=lr, momentum=beta) if beta else SGD(p, lr=lr),
        "Nesterov": lambda p, lr, beta: SGD(p, lr=lr, momentum=beta, nesterov=True) if beta else SGD(p, lr=lr),
        "RMSProp": lambda p, lr, beta: RMSprop(p, lr=lr, beta=beta),
        "Adam": lambda p, lr, beta, beta2: Adam(p, lr=lr, betas=(beta, beta2)),
    }[method]
    path = surfaces.first_order_path(s, lambda p: factory(p, *hyper), x0=np.array(x0), steps=steps)
    path.flags.writeable = False  # shared through the cache
    return path


def _first_order_path(key: str, method: str, lr: float, lr_adaptive: float, beta: float, beta2: float,
                      x0: tuple, steps: int) -> np.ndarray:
    """The path of one first-order method; cached on exactly the settings that method uses, so
    moving the momentum β does not rerun gradient descent."""
    hyper = {"GD": (lr,), "Momentum": (lr, beta), "Nesterov": (lr, beta), "RMSProp": (lr_adaptive, beta),
             "Adam": (lr_adaptive, beta, beta2)}[method]
    return _first_order_path_cached(key, method, hyper, x0, steps)


class OptimizerRace(Widget):
    """Every optimizer of Seed 4.3 from the same start on the same 2-D surface.

    First order (Seed 4.3.2–4.3.7): gradient descent, momentum, Nesterov with step ``lr``;
    RMSProp and Adam with their own step ``lr_adaptive`` (they divide by the gradient's RMS, so
    their α is a distance per step, not a multiple of the gradient).  ``beta`` is momentum's β,
    RMSProp's β and Adam's β₁; ``beta2`` is Adam's β₂.  Second order (Seed 4.3.8–4.3.12): Newton,
    BFGS, L-BFGS with a line search; Gauss-Newton, Levenberg and Levenberg-Marquardt on the
    surface written as a sum of squares — they need no learning rate.

    Left: paths on the contour plot (log f); right: ``f(θᵏ)`` per iteration.
    Controls: ``surface``, ``methods``, ``lr``, ``lr_adaptive``, ``beta``, ``beta2``, ``steps``,
    ``x0``, ``y0``.  Changing the surface resets the learning rates and the start to its defaults.
    ``data``: ``paths`` and ``values`` (``f`` along each path) per method, ``messages`` for the
    second-order runs, ``diverged`` (methods whose iterates left every finite number).
    """

    figsize = (9.5, 3.8)
    columns = 3
    fixed_area_axes = ("_ax",)  # the contours' ticks stay left of the curves' axes on every surface

    def make_controls(self):
        label, factory, lr, lr_adaptive = SURFACES["rosenbrock"]
        s = _surface("rosenbrock")[0]
        (xa, xb), (ya, yb) = s.bounds
        return {
            "surface": dropdown([(v[0], k) for k, v in SURFACES.items()], "rosenbrock", "surface"),
            "lr": log_slider(lr, 1e-4, 1.0, "α (GD, momentum, Nesterov)"),
            "lr_adaptive": log_slider(lr_adaptive, 1e-3, 1.0, "α (RMSProp, Adam)"),
            "beta": float_slider(0.9, 0.0, 0.99, 0.01, "β (momentum, RMSProp, Adam β₁)"),
            "beta2": float_slider(0.999, 0.9, 0.9999, 0.0001, "Adam β₂", fmt=".4f"),
            "steps": int_slider(150, 10, 1000, "iterations", step=10),
            "x0": float_slider(s.default_start[0], xa, xb, 0.05, "start x"),
            "y0": float_slider(s.default_start[1], ya, yb, 0.05, "start y"),
            "methods": select_multiple(METHODS, METHODS, "methods", rows=4),
        }

    def on_control_change(self, name, value):
        if name not in (None, "surface"):
            return
        key = self.controls["surface"].value
        s = _surface(key)[0]
        (xa, xb), (ya, yb) = s.bounds
        for ctl, (lo, hi) in ((self.controls["x0"], (xa, xb)), (self.controls["y0"], (ya, yb))):
            ctl.min, ctl.max = min(lo, ctl.min), max(hi, ctl.max)  # widen first so the bounds never cross
            ctl.min, ctl.max = lo, hi
        if name == "surface":
            self.controls["lr"].value = SURFACES[key][2]
            self.controls["lr_adaptive"].value = SURFACES[key][3]
            self.controls["x0"].value, self.controls["y0"].value = s.default_start
        self._show_surface(key)

    def setup_figure(self, fig):
        ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        # static until the surface changes, so it stays in the cached background
        self._background_image = ax.imshow(np.zeros((2, 2, 4), np.uint8), origin="lower", aspect="auto",
                                           interpolation="bilinear", alpha=0.6)
        for i, m in enumerate(METHODS):
            style = "-" if m in FIRST_ORDER else "--"
            self.artists["path:" + m], = ax.plot([], [], style, marker="o", ms=2.5, lw=1.3, color=COLORS[i % 10],
                                                 label=m, markevery=0.05 if m in FIRST_ORDER else 1)
            self.artists["value:" + m], = bx.semilogy([], [], style, lw=1.3, color=COLORS[i % 10], label=m)
        self.artists["start"], = ax.plot([], [], "ws", ms=7, mec="k")
        self._minima, = ax.plot([], [], "r*", ms=12, mec="k")
        ax.set_xlabel("θ₁")
        ax.set_ylabel("θ₂")
        for axis in (ax.xaxis, ax.yaxis):  # about five round ticks read a surface as well as nine, at half the drawing
            axis.set_major_locator(MaxNLocator(5, steps=[1, 2, 5, 10]))
        ax.set_title(SURFACES["rosenbrock"][0], fontsize=9, y=1.0)  # the layout leaves room for the surface's name
        bx.set_xlabel("iteration k")
        bx.set_ylabel("f(θᵏ)")
        bx.set_ylim(1e-14, 1e5)
        bx.yaxis.set_major_locator(LogLocator(numticks=7))
        bx.yaxis.set_minor_locator(NullLocator())
        bx.grid(True, which="major", alpha=0.3)
        # the legend is the colour-coded status line under the figure (HTML costs the kernel nothing)
        self._ax, self._bx = ax, bx
        self._shown_surface = None
        fig.tight_layout(w_pad=2.5)  # a gap wide enough that redrawing the contours' area leaves the curves alone

    def _show_surface(self, key):
        if self._shown_surface == key:
            return
        s, shading, _ = _surface(key)
        ax = self._ax
        (xa, xb), (ya, yb) = s.bounds
        bg = self._background_image
        bg.set_data(shading)
        bg.set_extent((xa, xb, ya, yb))
        ax.set_xlim(xa, xb)
        ax.set_ylim(ya, yb)
        ax.set_title(SURFACES[key][0], fontsize=9, y=1.0)  # a fixed place: no measuring of the ticks for it
        self._minima.set_data(s.minima[:, 0], s.minima[:, 1])
        self._shown_surface = key

    def compute(self, surface, methods, lr, lr_adaptive, beta, beta2, steps, x0, y0):
        s = _surface(surface)[0]
        start = (float(x0), float(y0))
        paths, values, messages, diverged = {}, {}, {}, []
        for m in methods:
            if m in FIRST_ORDER:
                path = _first_order_path(surface, m, lr, lr_adaptive, beta, beta2, start, steps)
                if len(path) < steps + 1:
                    diverged.append(m)
            else:
                path, messages[m] = _second_order_path(surface, m, start, steps)
            paths[m] = path
            with np.errstate(over="ignore", invalid="ignore"):
                values[m] = np.asarray(s.f(path.T), dtype=float)  # f is vectorised over trailing axes
        return {"surface": surface, "start": np.array(start), "paths": paths, "values": values,
                "messages": messages, "diverged": diverged}

    def draw(self, d):
        self._show_surface(d["surface"])
        bx = self._bx
        for m in METHODS:
            path_artist, value_artist = self.artists["path:" + m], self.artists["value:" + m]
            if m not in d["paths"]:
                path_artist.set_data([], [])
                value_artist.set_data([], [])
                continue
            path, vals = d["paths"][m], np.maximum(d["values"][m], 1e-16)
            path_artist.set_data(path[:, 0], path[:, 1])
            value_artist.set_data(np.arange(len(vals)), vals)
        self.artists["start"].set_data([d["start"][0]], [d["start"][1]])
        set_limits(bx, xlim=(0, self.controls["steps"].value))


    def summary(self, d):
        s = _surface(d["surface"])[0]
        parts = []
        for m, path in d["paths"].items():
            with np.errstate(over="ignore", invalid="ignore"):
                dist = s.distance_to_minimum(path[-1]) if np.all(np.isfinite(path[-1])) else float("inf")
            outcome = "diverged" if m in d["diverged"] else f"{dist:.1e} from a minimum"
            color = to_hex(self.artists["path:" + m].get_color())
            line = "━━" if m in FIRST_ORDER else "╍╍"
            parts.append(f"<span style='color:{color}'><b>{line} {m}</b></span>: {len(path) - 1} it., {outcome}")
        return "<br>".join([" · ".join(parts[i:i + 4]) for i in range(0, len(parts), 4)])


# =========================================================================================================
# 4.4 learning-rate schedules
# =========================================================================================================
#: key -> (label, factory(lr0, t, step_size, epochs), default t, Σα = ∞ ?, Σα² < ∞ ?)  (Seed 4.3.3.1)
SCHEDULES = {
    "constant": ("constant", lambda lr0, t, k, n: ManualSchedule({0: lr0}), 0.1, True, False),
    "inverse_time": ("α₀ / (1 + t·epoch)", lambda lr0, t, k, n: InverseTimeDecay(lr0, t), 0.1, True, True),
    "step": ("step: α ← α − t·α every k epochs", lambda lr0, t, k, n: StepDecay(lr0, min(t, 0.99), k), 0.5,
             False, True),
    "exponential": ("tᵉᵖᵒᶜʰ · α₀", lambda lr0, t, k, n: ExponentialDecay(lr0, min(max(t, 0.01), 0.99)), 0.9,
                    False, True),
    "inverse_sqrt": ("t / √epoch · α₀", lambda lr0, t, k, n: InverseSqrtDecay(lr0, t), 1.0, True, False),
    "manual": ("manual: ÷10 at 50 % and 75 %",
               lambda lr0, t, k, n: ManualSchedule({0: lr0, n // 2: lr0 / 10, (3 * n) // 4: lr0 / 100}), 0.1,
               True, False),
}


@lru_cache(maxsize=1)
def _schedule_data():
    """A noisy linear regression ``(X, y)`` and the lowest training loss any weights can reach.

    Minibatch SGD with a constant α keeps hopping around the least-squares weights (each batch
    pulls a different way) and stalls at an excess loss that grows with α; a decaying α settles.
    """
    rng = np.random.default_rng(3)
    X = rng.standard_normal((256, 5)).astype(np.float32)
    y = (X @ rng.standard_normal((5, 1)) + 0.5 * rng.standard_normal((256, 1))).astype(np.float32)
    A = np.hstack([X, np.ones((len(X), 1), np.float32)]).astype(np.float64)
    best = np.linalg.lstsq(A, y.astype(np.float64), rcond=None)[0]
    return X, y, float(np.mean((A @ best - y) ** 2))


@lru_cache(maxsize=128)
def _train_with_schedule(key: str, lr0: float, t: float, step_size: int, epochs: int) -> tuple[np.ndarray, np.ndarray]:
    """α per epoch and the excess training loss ``L(θ) − min L`` after each epoch.

    Minibatch SGD (batch 32, reshuffled every epoch) on the linear model ``ŷ = Xw + b`` with the mean
    squared error, the schedule's α applied at the start of every epoch — what
    ``dlcourse.train.fit(schedule=...)`` does.  The gradient of a linear model's MSE is two lines, so
    the loop is written out in numpy: the figure retrains twice on every move, and the layer
    machinery (input checks, caches, an optimizer object) was four fifths of that time.
    """
    X, y, best = _schedule_data()
    alphas = np.array(SCHEDULES[key][1](lr0, t, step_size, epochs).values(epochs))
    rng = np.random.default_rng(0)
    batches = len(X) // 32
    w, b, excess = np.zeros((X.shape[1], 1)), 0.0, []
    with np.errstate(over="ignore", invalid="ignore"):
        for alpha in alphas:
            for idx in np.array_split(rng.permutation(len(X)), batches):
                residual = X[idx] @ w + b - y[idx]                   # ŷ − y on the batch
                w -= alpha * (2 / len(idx)) * (X[idx].T @ residual)  # ∇_w mean(r²) = 2 Xᵀr / B
                b -= alpha * 2 * residual.mean()
            residual = X @ w + b - y
            loss = float(np.mean(residual * residual))
            if not math.isfinite(loss):
                break  # diverged: the curve ends here
            excess.append(loss - best)
    return alphas, np.maximum(np.array(excess, dtype=float), 1e-12)


class ScheduleExplorer(Widget):
    """Learning-rate decay (Seed 4.4.1), a manual schedule (Seed 4.4.2) and the SGD convergence
    conditions (Seed 4.3.3.1), on a noisy regression trained with minibatch SGD.

    With a constant α the minibatch noise keeps the weights hopping around the optimum, so the
    loss stalls above its minimum by an amount that grows with α; decaying α lets them settle.
    The plot compares the chosen schedule with a constant α₀; ``error`` is the excess training
    loss ``L(θ) − min_θ L`` (full batch, after each epoch).
    Controls: ``schedule``, ``lr0``, ``t`` (reset to the schedule's default when it changes),
    ``step_size`` (step decay), ``epochs``.  ``data``: ``lr`` and ``error`` per epoch for the schedule
    and for ``constant``; ``sum_diverges``/``sum_sq_converges`` (the conditions of Seed 4.3.3.1).
    """

    figsize = (9.0, 3.2)

    def make_controls(self):
        return {
            "schedule": dropdown([(v[0], k) for k, v in SCHEDULES.items()], "inverse_time", "schedule"),
            "lr0": log_slider(0.1, 1e-3, 0.5, "α₀"),
            "t": float_slider(0.1, 0.01, 1.0, 0.01, "t"),
            "step_size": int_slider(10, 1, 30, "step every k epochs"),
            "epochs": int_slider(40, 10, 100, "epochs", step=5),
        }

    def on_control_change(self, name, value):
        if name == "schedule":
            self.controls["t"].value = SCHEDULES[value][2]

    def setup_figure(self, fig):
        ax, bx = fig.subplots(1, 2)
        self.artists["lr"], = ax.step([], [], where="post", color=COLORS[0], lw=2, label="schedule")
        self.artists["lr_const"], = ax.step([], [], where="post", color="0.5", ls="--", label="constant α₀")
        # fixed logarithmic axes: every α₀ fits, exponential decay is a straight line, no redraws
        ax.set_ylim(1e-4, 1.0)
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("epoch")
        ax.set_ylabel("learning rate α")
        static_legend(ax, loc="upper right", fontsize=8)
        self.artists["err"], = bx.semilogy([], [], color=COLORS[0], lw=2, label="schedule")
        self.artists["err_const"], = bx.semilogy([], [], color="0.5", ls="--", label="constant α₀")
        bx.set_xlabel("epoch")
        bx.set_ylabel("L(θ) − min L")
        static_legend(bx, loc="upper right", fontsize=8)
        bx.set_ylim(1e-7, 10.0)
        bx.yaxis.set_minor_locator(NullLocator())
        self._ax, self._bx = ax, bx
        fig.tight_layout()

    def compute(self, schedule, lr0, t, step_size, epochs):
        lr, err = _train_with_schedule(schedule, lr0, t, step_size, epochs)
        lr_c, err_c = _train_with_schedule("constant", lr0, 0.1, 1, epochs)
        _, _, _, diverges, converges = SCHEDULES[schedule]
        return {"epoch": np.arange(epochs), "lr": lr, "error": err, "lr_constant": lr_c, "error_constant": err_c,
                "sum_diverges": diverges, "sum_sq_converges": converges}

    def draw(self, d):
        e = d["epoch"]
        self.artists["lr"].set_data(e, d["lr"])
        self.artists["lr_const"].set_data(e, d["lr_constant"])
        self.artists["err"].set_data(e[:len(d["error"])], d["error"])
        self.artists["err_const"].set_data(e[:len(d["error_constant"])], d["error_constant"])
        set_limits(self._ax, xlim=(0, e[-1] + 1))
        set_limits(self._bx, xlim=(0, e[-1] + 1))

    def summary(self, d):
        ok = "✓" if d["sum_diverges"] and d["sum_sq_converges"] else "✗"
        return (f"final excess loss: schedule {d['error'][-1]:.2e}, constant α₀ {d['error_constant'][-1]:.2e} · "
                f"Seed 4.3.3.1: Σα = ∞ {'yes' if d['sum_diverges'] else 'no'}, "
                f"Σα² &lt; ∞ {'yes' if d['sum_sq_converges'] else 'no'} → convergence guaranteed {ok}")


# =========================================================================================================
# 4.5 regularization
# =========================================================================================================
@lru_cache(maxsize=8)
def _moons(n_train: int, n_val: int, noise: float):
    X, y = make_moons(n_train, noise=noise, rng=11)
    Xv, yv = make_moons(n_val, noise=noise, rng=12)
    return X.astype(np.float32), y, Xv.astype(np.float32), yv


def _mlp(widths: list[int], activation: str = "relu", batch_norm: bool = False, dropout: float = 0.0,
         rng=0) -> nn.Sequential:
    """``Linear → [BatchNorm1d] → activation → [Dropout]`` per hidden layer, then a ``Linear`` output.

    BN sits between the fully connected layer and the non-linearity (Seed 4.5.6); the layer before
    it needs no bias, BN's β replaces it.
    """
    gen = get_rng(rng)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        last = i == len(widths) - 2
        layers.append(nn.Linear(a, b, bias=last or not batch_norm, rng=gen))
        if last:
            break
        if batch_norm:
            layers.append(nn.BatchNorm1d(b))
        layers.append(_ACTIVATION_LAYERS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout, rng=gen))
    return nn.Sequential(*layers)


_ACTIVATION_LAYERS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU,
                      "elu": nn.ELU}


def _class1_probability(model, points: np.ndarray) -> np.ndarray:
    from ..nn.activations import softmax

    model.eval()
    return softmax(model(points.astype(np.float32)), dim=1)[:, 1]


def _accuracy(model, X, y) -> float:
    model.eval()
    return float(np.mean(model(X).argmax(axis=1) == y))


class RegularizationPlayground(Widget):
    """A network too large for its 60 noisy training points, and the tools of Seed 4.5 to tame it.

    ``penalty`` adds ``λ·R(W)`` to the loss (Seed 4.5.1; L1 pushes weights to exactly zero, L2
    shrinks them all), ``dropout`` drops hidden units with probability p while training
    (Seed 4.5.5), ``batch_norm`` normalises every hidden pre-activation (Seed 4.5.6).
    Left: the decision boundary (training points filled, validation points faint); middle: training
    and validation loss; right: histogram of the weights.

    Controls: ``penalty``, ``lam``, ``dropout``, ``batch_norm``, ``steps``.  ``data``: ``model``,
    ``curves`` (from :func:`~dlcourse.widgets.base.train_full_batch`), ``probability`` on the grid,
    ``weights`` (all weight matrices, flattened), ``train_acc``, ``val_acc``, ``near_zero`` (share of
    weights with ``|w| < 0.01``).
    """

    figsize = (10.0, 3.2)
    BOUNDS = ((-1.8, 2.8), (-1.4, 1.9))
    HIDDEN = 24
    BINS = np.linspace(-2.0, 2.0, 41)

    def make_controls(self):
        return {
            "penalty": dropdown([("none", "none"), ("L1  λΣ|w|", "l1"), ("L2  λΣw²", "l2")], "none", "penalty"),
            "lam": log_slider(1e-3, 1e-5, 1e-1, "λ"),
            "dropout": float_slider(0.0, 0.0, 0.8, 0.05, "dropout p"),
            "batch_norm": checkbox(False, "batch normalization"),
            "steps": int_slider(100, 40, 600, "training steps", step=20),
        }

    def setup_figure(self, fig):
        ax, bx, cx = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.1, 1, 0.9]})
        xs, ys, self._grid = grid_points(self.BOUNDS, 50)
        (xa, xb), (ya, yb) = self.BOUNDS
        self.artists["boundary"] = ax.imshow(np.zeros((50, 50)), origin="lower", extent=(xa, xb, ya, yb),
                                             cmap=BOUNDARY_CMAP, vmin=0, vmax=1, aspect="auto", alpha=0.8,
                                             interpolation="bilinear")
        X, y, Xv, yv = _moons(60, 400, 0.3)
        ax.scatter(Xv[:, 0], Xv[:, 1], c=[CLASS_COLORS[i] for i in yv], s=5, alpha=0.25)
        ax.scatter(X[:, 0], X[:, 1], c=[CLASS_COLORS[i] for i in y], s=18, edgecolors="k", linewidths=0.6)
        ax.set_xticks([]), ax.set_yticks([])
        self.artists["train"], = bx.plot([], [], color=COLORS[0], label="training loss")
        self.artists["val"], = bx.plot([], [], color=COLORS[3], label="validation loss")
        bx.set_xlabel("step")
        bx.set_ylim(0, 1.2)
        static_legend(bx, loc="upper right", fontsize=8)
        # one outline for all bins: 40 bar patches cost 10 ms a repaint
        self.artists["hist"] = cx.stairs(np.zeros(len(self.BINS) - 1), self.BINS, baseline=0.8, fill=True,
                                         color=COLORS[4])
        cx.set_xlabel("weight value")
        cx.set_ylim(0.8, 3000)
        cx.set_yscale("log")
        cx.yaxis.set_minor_locator(NullLocator())
        self._bx = bx
        fig.tight_layout()

    def compute(self, penalty, lam, dropout, batch_norm, steps):
        X, y, Xv, yv = _moons(60, 400, 0.3)
        model = _mlp([2, self.HIDDEN, self.HIDDEN, 2], "relu", batch_norm, dropout, rng=0)
        weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
        pen = {"none": None, "l1": L1Penalty(lam), "l2": L2Penalty(lam)}[penalty]
        curves = train_full_batch(model, nn.CrossEntropyLoss(), Adam(model.parameters(), lr=0.04), X, y, steps,
                                  penalty=pen, penalized=weights, X_val=Xv, y_val=yv, eval_every=15)
        w = np.concatenate([p.data.ravel() for p in weights])
        return {"model": model, "curves": curves, "probability": _class1_probability(model, self._grid).reshape(50, 50),
                "weights": w, "train_acc": _accuracy(model, X, y), "val_acc": _accuracy(model, Xv, yv),
                "near_zero": float(np.mean(np.abs(w) < 0.01)), "weight_norm": float(np.sum(w * w))}

    def draw(self, d):
        self.artists["boundary"].set_data(d["probability"])
        c = d["curves"]
        self.artists["train"].set_data(c["step"], c["train_loss"])
        self.artists["val"].set_data(c["val_step"], c["val_loss"])
        set_limits(self._bx, xlim=(0, self.controls["steps"].value))
        counts, _ = np.histogram(np.clip(d["weights"], self.BINS[0], self.BINS[-1] - 1e-9), self.BINS)
        self.artists["hist"].set_data(counts)

    def summary(self, d):
        return (f"training accuracy {d['train_acc']:.0%} · validation accuracy {d['val_acc']:.0%} · "
                f"Σw² = {d['weight_norm']:.1f} · {d['near_zero']:.0%} of the weights have |w| &lt; 0.01")


# =========================================================================================================
# a TensorFlow-Playground-style trainer
# =========================================================================================================
DATASETS = {
    "moons": lambda n, noise, rng: make_moons(n, noise=noise, rng=rng),
    "circles": lambda n, noise, rng: make_circles(n, noise=noise * 0.5, factor=0.5, rng=rng),
    "spirals": lambda n, noise, rng: make_spirals(n, classes=2, noise=noise * 0.3, turns=1.0, rng=rng),
    "blobs": lambda n, noise, rng: make_blobs(n, centers=np.array([[-1.0, -1.0], [1.0, 1.0]]), std=0.3 + 2 * noise,
                                              rng=rng),
}


@lru_cache(maxsize=32)
def _playground_data(name: str, noise: float):
    X, y = DATASETS[name](200, noise, 21)
    Xt, yt = DATASETS[name](200, noise, 22)
    # inputs scaled to about [-1, 1], as TensorFlow Playground does, so one α suits every dataset
    scale = np.abs(X).max()
    return (X / scale).astype(np.float32), y, (Xt / scale).astype(np.float32), yt


class PlaygroundTrainer(Widget):
    """Train a small fully connected classifier on a 2-D dataset and watch the boundary (Seed 4, 5).

    Like TensorFlow Playground: pick the data, the architecture (``depth`` hidden layers of
    ``width`` units, ``activation``), the optimizer and learning rate and a regularizer; the
    network is retrained from the same initialisation on every change (full-batch, ``steps``
    iterations) and the figure shows the decision boundary (training points filled, test points
    hollow) and the loss curves.

    Controls: ``dataset``, ``noise``, ``depth``, ``width``, ``activation``, ``optimizer``, ``lr``,
    ``regularization``, ``lam``, ``steps``.  ``data``: ``model``, ``curves``, ``probability`` (grid),
    ``train_acc``, ``test_acc``, ``train_loss``, ``test_loss``, ``parameters``.
    """

    figsize = (9.0, 3.6)
    columns = 4
    BOUNDS = ((-1.2, 1.2), (-1.2, 1.2))
    RES = 50

    def make_controls(self):
        return {
            "dataset": dropdown(list(DATASETS), "moons", "data"),
            "noise": float_slider(0.2, 0.0, 0.5, 0.05, "noise"),
            "depth": int_slider(2, 0, 4, "hidden layers"),
            "width": int_slider(8, 1, 16, "neurons per layer"),
            "activation": dropdown(list(_ACTIVATION_LAYERS), "tanh", "activation"),
            "optimizer": dropdown([("SGD", "sgd"), ("SGD + momentum", "momentum"), ("Adam", "adam")], "adam",
                                  "optimizer"),
            "lr": log_slider(0.1, 1e-3, 1.0, "learning rate"),
            "regularization": dropdown([("none", "none"), ("L1", "l1"), ("L2", "l2")], "none", "regularization"),
            "lam": log_slider(1e-3, 1e-5, 1e-1, "λ"),
            "steps": int_slider(120, 20, 600, "steps", step=20),
        }

    def setup_figure(self, fig):
        ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.25]})
        _, _, self._grid = grid_points(self.BOUNDS, self.RES)
        (xa, xb), (ya, yb) = self.BOUNDS
        self.artists["boundary"] = ax.imshow(np.zeros((self.RES, self.RES)), origin="lower", extent=(xa, xb, ya, yb),
                                             cmap=BOUNDARY_CMAP, vmin=0, vmax=1, aspect="auto", alpha=0.85,
                                             interpolation="bilinear")
        self.artists["train_points"] = ax.scatter([], [], s=14, edgecolors="k", linewidths=0.5)
        self.artists["test_points"] = ax.scatter([], [], s=14, facecolors="none", linewidths=0.8)
        ax.set_xlim(xa, xb), ax.set_ylim(ya, yb)
        ax.set_xticks([]), ax.set_yticks([])
        self.artists["train"], = bx.plot([], [], color=COLORS[0], label="training loss")
        self.artists["test"], = bx.plot([], [], color=COLORS[3], label="test loss")
        bx.set_xlabel("step")
        bx.set_ylabel("cross-entropy")
        bx.set_ylim(0, 1.2)
        static_legend(bx, loc="upper right", fontsize=8)
        self._bx = bx
        self._shown_data = None
        fig.tight_layout()

    def compute(self, dataset, noise, depth, width, activation, optimizer, lr, regularization, lam, steps):
        X, y, Xt, yt = _playground_data(dataset, round(noise, 3))
        model = _mlp([2] + [width] * depth + [2], activation, rng=0)
        params = list(model.parameters())
        opt = {"sgd": lambda: SGD(params, lr=lr), "momentum": lambda: SGD(params, lr=lr, momentum=0.9),
               "adam": lambda: Adam(params, lr=lr)}[optimizer]()
        weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
        pen = {"none": None, "l1": L1Penalty(lam), "l2": L2Penalty(lam)}[regularization]
        loss_fn = nn.CrossEntropyLoss()
        curves = train_full_batch(model, loss_fn, opt, X, y, steps, penalty=pen, penalized=weights,
                                  X_val=Xt, y_val=yt, eval_every=10)
        diverged = len(curves["train_loss"]) < steps
        if diverged:
            prob = np.full((self.RES, self.RES), 0.5)
            train_acc = test_acc = float("nan")
        else:
            prob = _class1_probability(model, self._grid).reshape(self.RES, self.RES)
            train_acc, test_acc = _accuracy(model, X, y), _accuracy(model, Xt, yt)
        return {"model": model, "curves": curves, "probability": prob, "X": X, "y": y, "X_test": Xt, "y_test": yt,
                "train_acc": train_acc, "test_acc": test_acc, "diverged": diverged,
                "train_loss": float(curves["train_loss"][-1]) if len(curves["train_loss"]) else float("nan"),
                "test_loss": float(curves["val_loss"][-1]) if len(curves["val_loss"]) else float("nan"),
                "parameters": model.num_parameters(), "data_key": (dataset, round(noise, 3))}

    def draw(self, d):
        self.artists["boundary"].set_data(d["probability"])
        if self._shown_data != d["data_key"]:
            colors = np.array([to_rgba(CLASS_COLORS[i]) for i in range(2)])
            self.artists["train_points"].set_offsets(d["X"])
            self.artists["train_points"].set_facecolors(colors[d["y"]])
            self.artists["test_points"].set_offsets(d["X_test"])
            self.artists["test_points"].set_edgecolors(colors[d["y_test"]])
            self._shown_data = d["data_key"]
        c = d["curves"]
        self.artists["train"].set_data(c["step"], c["train_loss"])
        self.artists["test"].set_data(c["val_step"], c["val_loss"])
        set_limits(self._bx, xlim=(0, self.controls["steps"].value))  # y fixed: no redraw per move

    def summary(self, d):
        if d["diverged"]:
            return "<b>training diverged</b> (the loss became NaN/inf): lower the learning rate (Seed 8.8.3)"
        return (f"training loss {d['train_loss']:.3f} · test loss {d['test_loss']:.3f} · "
                f"training accuracy {d['train_acc']:.0%} · test accuracy {d['test_acc']:.0%} · "
                f"{d['parameters']} parameters")
