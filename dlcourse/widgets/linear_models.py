"""Interactive figures of chapter 2, "Linear Models" (Seed 2.1–2.3).

* :class:`GradientDescentLine` — gradient descent fitting a line live, against the normal
  equation (Seed 2.2.1–2.2.3);
* :class:`LogisticBoundary` — logistic regression's decision boundary, sigmoid and cost while
  gradient descent runs (Seed 2.3.1–2.3.4).
"""
from __future__ import annotations

import functools

import contourpy  # matplotlib's own contouring engine (one of its dependencies)
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import LinearSegmentedColormap, to_rgba
from matplotlib.ticker import ScalarFormatter

from ..data import make_blobs, make_circles, make_moons
from ..linear_models import LinearRegression, LogisticRegression, design_matrix, sigmoid
from .base import (CLASS_COLORS, COLORS, Widget, checkbox, dropdown, float_slider, grid_points, int_slider, log_slider,
                   set_limits, static_legend)

__all__ = ["GradientDescentLine", "LogisticBoundary", "line_data", "gradient_descent_path", "quadratic_features",
           "level_set"]

#: blue (class 0) → white → orange (class 1), as in the other decision-boundary figures
BOUNDARY_CMAP = LinearSegmentedColormap.from_list("boundary", [CLASS_COLORS[0], "#ffffff", CLASS_COLORS[1]])


# =========================================================================================================
# 2.2 linear regression: gradient descent vs the normal equation
# =========================================================================================================
TRUE_THETA = np.array([1.0, 2.0])  # the line the data are drawn around: y = 1 + 2x


@functools.lru_cache(maxsize=None)
def line_data(noise: float, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """``X (n, 1)`` uniform in [0, 3] and ``y (n,) = 1 + 2x + noise·ε``, the same points for every noise level."""
    gen = np.random.default_rng(7)
    x = gen.uniform(0.0, 3.0, size=n)
    eps = gen.standard_normal(n)
    X = x[:, None]
    X.flags.writeable = False
    y = TRUE_THETA[0] + TRUE_THETA[1] * x + noise * eps
    y.flags.writeable = False
    return X, y


def gradient_descent_path(model: LinearRegression, X: np.ndarray, y: np.ndarray, lr: float, iterations: int,
                          theta0: np.ndarray | None = None, blow_up: float = 1e8) -> dict:
    """Run ``θ ← θ − lr·∇J(θ)`` (Seed 2.2.2–2.2.3) and keep every θ, for drawing the path.

    ``model.cost_and_gradient`` supplies ``J`` and ``∇J`` (Seed 2.2.2); the loop is spelled out here (rather
    than calling ``fit(method="gd")``) because the figure needs the intermediate parameters and
    must survive a learning rate that diverges.  Returns ``path (m + 1, d + 1)``, ``costs (m + 1,)``
    (``m ≤ iterations``) and ``diverged`` (the cost grew beyond ``blow_up`` × its start value).
    """
    theta = np.zeros(X.shape[1] + 1) if theta0 is None else np.asarray(theta0, dtype=np.float64).copy()
    path, costs = [theta.copy()], []
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        cost, grad = model.cost_and_gradient(theta, X, y)  # the public method validates the inputs once
        # then the same J and ∇J on the ready design matrix, without re-validating 500 times per move
        step = functools.partial(model._cost_and_gradient_design, A=design_matrix(X),
                                 y=np.asarray(y, dtype=np.float64))
        costs.append(cost)
        for _ in range(iterations):
            theta = theta - lr * grad
            cost, grad = step(theta)
            if not np.isfinite(cost) or cost > blow_up * max(costs[0], 1e-12):
                diverged = True
                break
            path.append(theta.copy())
            costs.append(cost)
    return {"path": np.array(path), "costs": np.array(costs), "diverged": diverged}


class GradientDescentLine(Widget):
    """Fit a line ``ŷ = θ0 + θ1·x`` by gradient descent, live, against the normal equation (Seed 2.2).

    Left: the data, the line after ``iterations`` steps of gradient descent (solid) and the
    closed-form least-squares line ``θ = (XᵀX)⁻¹Xᵀy`` (dashed).  Middle: the cost
    ``J(θ) = (1/n) Σ (ŷ_i − y_i)²`` per step (both axes logarithmic, so 10 and 500 steps read
    alike), against the minimum ``J(θ*)``.  Right: the path of ``(θ0, θ1)`` on the contour lines
    of ``J``, from ``θ = 0`` towards the normal-equation solution ★.  Every axis is fixed over the
    range of the controls, so a move repaints only the data (no redraw of ticks and labels).  The features are ``x ∈ [0, 3]``; ``standardize`` replaces ``x`` by ``(x − mean)/std``, which
    turns the long narrow valley of ``J`` into round bowls and lets gradient descent go straight.

    Controls: ``lr`` (α), ``iterations``, ``noise`` (of the data), ``standardize``.
    ``data``: ``theta_gd``, ``theta_normal`` (both in the model's feature units), ``path``,
    ``costs``, ``cost_min``, ``distance`` = ‖θ_gd − θ*‖, ``diverged``, ``x_mean``, ``x_std``.
    """

    figsize = (10.0, 3.5)
    columns = 4
    GRID = 70
    LEVELS = 15

    def make_controls(self):
        return {
            "lr": log_slider(0.1, 1e-3, 1.0, "learning rate α"),
            "iterations": int_slider(30, 0, 500, "iterations", step=5),
            "noise": float_slider(0.5, 0.0, 2.0, 0.1, "noise"),
            "standardize": checkbox(False, "standardize x"),
        }

    def setup_figure(self, fig):
        ax_fit, ax_cost, ax_path = fig.subplots(1, 3)
        self.artists["points"] = ax_fit.scatter([], [], s=12, color=COLORS[0], zorder=3)
        self.artists["normal_line"], = ax_fit.plot([], [], "--", color="k", lw=1.2, label="normal equation")
        self.artists["gd_line"], = ax_fit.plot([], [], color=COLORS[3], lw=2, label="gradient descent")
        ax_fit.set_xlim(-0.1, 3.1)
        # the data of the extreme noise levels bound every other (y is linear in the noise)
        ys = np.concatenate([line_data(noise)[1] for noise in (0.0, self.controls["noise"].max)])
        ax_fit.set_ylim(min(ys.min(), 0) - 0.5, ys.max() + 0.5)
        ax_fit.set_xlabel("x"), ax_fit.set_ylabel("y")
        static_legend(ax_fit, fontsize=7, loc="upper left")
        ax_fit.set_title("data and fitted lines", fontsize=9)
        self.artists["costs"], = ax_cost.semilogy([], [], color=COLORS[3], lw=1.5, label="J(θ) of gradient descent")
        self.artists["cost_min"] = ax_cost.axhline(1.0, ls="--", color="k", lw=1, label="J(θ*) normal equation")
        # iterations 0 … max on a log scale (linear below 1): fixed, and a short run is as readable as a long one
        ax_cost.set_xscale("symlog", linthresh=1.0, linscale=0.4)
        ax_cost.xaxis.set_major_formatter(ScalarFormatter())
        ax_cost.set_xlim(0, self.controls["iterations"].max)
        # from J(θ = 0) = mean(y²) of the noisiest data down to below a noiseless fit
        start = max(float(np.mean(line_data(noise)[1] ** 2)) for noise in (0.0, self.controls["noise"].max))
        ax_cost.set_ylim(5e-4, 2 * start)
        ax_cost.set_xlabel("iteration (log scale)"), ax_cost.set_ylabel("cost J(θ) (log scale)")
        static_legend(ax_cost, fontsize=7, loc="upper right")
        ax_cost.grid(alpha=0.3)
        # the contour lines move with the data: one collection updated in place, repainted with the data
        self.artists["contours"] = ax_path.add_collection(LineCollection([], linewidths=0.8))
        self.artists["path"], = ax_path.plot([], [], ".-", color=COLORS[3], ms=3, lw=1)
        self.artists["optimum"], = ax_path.plot([], [], "*", color="k", ms=12)
        (a0, a1), (b0, b1) = self._theta_window()
        ax_path.set_xlim(a0, a1), ax_path.set_ylim(b0, b1)
        ax_path.set_xlabel("θ0 (bias)"), ax_path.set_ylabel("θ1 (slope)")
        ax_path.set_title("path of θ over the contours of J", fontsize=9)
        self._axes = {"fit": ax_fit, "cost": ax_cost, "path": ax_path}
        self._shown = None
        fig.tight_layout()

    def compute(self, lr, iterations, noise, standardize):
        X, y = line_data(round(noise, 3))
        mean, std = (float(X.mean()), float(X.std())) if standardize else (0.0, 1.0)
        Xf = (X - mean) / std
        normal = LinearRegression().fit(Xf, y)  # θ = (XᵀX)⁻¹Xᵀy, Seed 2.2.3
        run = gradient_descent_path(normal, Xf, y, lr, iterations)
        theta = run["path"][-1]
        return {"X": X, "y": y, "x_mean": mean, "x_std": std, "features": Xf, "theta_normal": normal.theta,
                "cost_min": normal.cost(Xf, y), "theta_gd": theta, "path": run["path"], "costs": run["costs"],
                "diverged": run["diverged"], "iterations_run": len(run["path"]) - 1,
                "distance": float(np.linalg.norm(theta - normal.theta)),
                "key": (round(noise, 3), bool(standardize))}

    def _theta_window(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """A θ window holding the start θ = 0 and the optimum θ* of every noise level, raw or standardized."""
        stars = []
        for noise in (0.0, self.controls["noise"].max):
            X, y = line_data(noise)
            for Xf in (X, (X - X.mean()) / X.std()):
                stars.append(LinearRegression().fit(Xf, y).theta)
        stars = np.array(stars + [np.zeros(2)])
        lo, hi = stars.min(axis=0), stars.max(axis=0)
        pad = 0.2 * np.maximum(hi - lo, 1.0)
        return (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])

    def _contours(self, d) -> None:
        """Contour lines of J over the θ window (new data: new contours), as segments of one collection."""
        (a0, a1), (b0, b1) = self._axes["path"].get_xlim(), self._axes["path"].get_ylim()
        t0, t1, thetas = grid_points(((a0, a1), (b0, b1)), self.GRID)
        residual = design_matrix(d["features"]) @ thetas.T - d["y"][:, None]  # (n, G²)
        J = np.mean(residual ** 2, axis=0).reshape(self.GRID, self.GRID)
        levels = d["cost_min"] + (J.max() - d["cost_min"]) * np.linspace(0, 1, self.LEVELS + 1)[1:] ** 2
        generator = contourpy.contour_generator(t0, t1, J)
        segments, colors = [], []
        cmap = plt.get_cmap("Blues_r")
        for i, level in enumerate(levels):  # coloured like contour(cmap="Blues_r"): low levels dark
            pieces = generator.lines(level)
            segments += pieces
            colors += [cmap(i / (len(levels) - 1))] * len(pieces)
        self.artists["contours"].set_segments(segments)
        self.artists["contours"].set_colors(colors)
        star = d["theta_normal"]
        self.artists["optimum"].set_data([star[0]], [star[1]])

    def draw(self, d):
        if self._shown != d["key"]:
            self.artists["points"].set_offsets(np.column_stack([d["X"][:, 0], d["y"]]))
            self._contours(d)
            self._shown = d["key"]
        xs = np.array([0.0, 3.0])
        feats = ((xs - d["x_mean"]) / d["x_std"])[:, None]
        A = design_matrix(feats)
        self.artists["normal_line"].set_data(xs, A @ d["theta_normal"])
        self.artists["gd_line"].set_data(xs, A @ d["theta_gd"])
        costs = d["costs"]
        self.artists["costs"].set_data(np.arange(len(costs)), costs)
        self.artists["cost_min"].set_ydata([d["cost_min"], d["cost_min"]])
        self.artists["path"].set_data(d["path"][:, 0], d["path"][:, 1])

    def summary(self, d):
        if d["diverged"]:
            return (f"<b>Gradient descent diverged</b> after {d['iterations_run']} steps: the cost grows every step "
                    f"because α = {self.controls['lr'].value:.3g} is too large for these features. Lower α or "
                    f"standardize x.")
        gd, star = d["theta_gd"], d["theta_normal"]
        return (f"After {d['iterations_run']} steps: θ = ({gd[0]:.3f}, {gd[1]:.3f}), J = {d['costs'][-1]:.4f}; "
                f"normal equation θ* = ({star[0]:.3f}, {star[1]:.3f}), J* = {d['cost_min']:.4f}; "
                f"distance ‖θ − θ*‖ = <b>{d['distance']:.3g}</b>.")


# =========================================================================================================
# 2.3 logistic regression: decision boundary
# =========================================================================================================
LOGISTIC_DATASETS = {"blobs": "two blobs", "moons": "two moons", "circles": "two circles"}
FEATURES = {"linear": "x₁, x₂", "quadratic": "x₁, x₂, x₁², x₂², x₁x₂"}


@functools.lru_cache(maxsize=None)
def _logistic_data(dataset: str, noise: float, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """The 2-D points of the figure, the same draw for every noise level (``X (n, 2)``, ``y (n,)``)."""
    gen = np.random.default_rng(3)
    if dataset == "blobs":
        X, y = make_blobs(n, centers=np.array([[-1.0, -0.6], [1.0, 0.6]]), std=noise, rng=gen)
    elif dataset == "moons":
        X, y = make_moons(n, noise=noise, rng=gen)
        X = X - np.array([0.5, 0.25])  # centre the moons on the origin
    else:
        X, y = make_circles(n, noise=noise, factor=0.5, rng=gen)
        X = 1.5 * X
    X.flags.writeable = False
    return X, y


def level_set(ticks: tuple[np.ndarray, np.ndarray], values: np.ndarray, level: float) -> np.ndarray:
    """The curve(s) where ``values (ny, nx)`` on the grid ``ticks = (xs, ys)`` cross ``level``, as points
    ``(m, 2)`` with NaN rows between separate pieces — one ``Line2D`` can then show a boundary of any
    shape and be updated in place (a ``contour`` set would have to be re-created every time)."""
    lines = contourpy.contour_generator(*ticks, values).lines(level)
    if not lines:
        return np.empty((0, 2))
    gap = np.full((1, 2), np.nan)
    return np.concatenate([piece for line in lines for piece in (line, gap)])[:-1]


class _GradientDescentRun:
    """The iterates of ``LogisticRegression.fit`` from θ = 0 for one data set, features and α, kept so that
    moving only the number of iterations extends the run instead of restarting it (the first k
    iterates of gradient descent do not depend on how many follow)."""

    def __init__(self, A: np.ndarray, y: np.ndarray, lr: float) -> None:
        self.A, self.y, self.lr = A, y, lr
        self.thetas = [np.zeros(A.shape[1])]

    def extend_to(self, iterations: int) -> None:
        # the same operations as LogisticRegression._cost_and_gradient_design, without the cost
        # (computed for all iterates at once in ``costs``)
        A, y, n, theta = self.A, self.y, self.A.shape[0], self.thetas[-1]
        AT = A.T
        for _ in range(iterations + 1 - len(self.thetas)):
            theta = theta - self.lr * (AT @ (sigmoid(A @ theta) - y) / n)
            self.thetas.append(theta)

    def costs(self, iterations: int) -> np.ndarray:
        """The cross-entropy of iterates 0 … ``iterations`` (Seed 2.3.3), as ``fit`` records them."""
        Z = np.stack(self.thetas[:iterations + 1]) @ self.A.T  # (iterations + 1, n)
        return np.mean(np.logaddexp(0.0, Z) - self.y * Z, axis=1)


@functools.lru_cache(maxsize=64)
def _logistic_run(dataset: str, noise: float, features: str, lr: float) -> _GradientDescentRun:
    X, y = _logistic_data(dataset, noise)
    F = quadratic_features(X) if features == "quadratic" else X
    return _GradientDescentRun(design_matrix(F), np.asarray(y, dtype=np.float64), lr)


def quadratic_features(X: np.ndarray) -> np.ndarray:
    """``(x₁, x₂)`` → ``(x₁, x₂, x₁², x₂², x₁x₂)``: still linear in θ, the boundary a conic (Seed 2.3.1)."""
    return np.column_stack([X, X ** 2, X[:, 0] * X[:, 1]])


class LogisticBoundary(Widget):
    """Logistic regression ``ŷ = σ(θ0 + Σ_j x_j θ_j)`` trained by gradient descent (Seed 2.3).

    Left: the data and the predicted probability of class 1 (background), with the decision
    boundary ``ŷ = 0.5`` (the line ``θ0 + θ1x₁ + θ2x₂ = 0``).  Middle: every sample at its logit
    ``z = x̃θ`` on the sigmoid curve — class 1 should sit right (ŷ → 1), class 0 left.  Right:
    the binary cross-entropy cost ``C(θ) = −(1/n) Σ [y log ŷ + (1 − y) log(1 − ŷ)]`` per
    iteration; there is no closed form (Seed 2.3.4), so this curve is all we have.

    Controls: ``dataset``, ``noise``, ``features`` (linear or with squares and product),
    ``lr``, ``iterations``.  ``data``: ``model`` (a fitted
    :class:`~dlcourse.linear_models.LogisticRegression`), ``theta``, ``history`` (costs),
    ``probability`` (grid ``RES × RES``), ``logits (n,)``, ``accuracy``, ``cost``.
    """

    figsize = (10.0, 3.5)
    columns = 3
    RES = 80
    BOUNDS = ((-2.6, 2.6), (-2.2, 2.2))

    def make_controls(self):
        return {
            "dataset": dropdown([(label, key) for key, label in LOGISTIC_DATASETS.items()], "blobs", "data"),
            "noise": float_slider(0.4, 0.0, 1.0, 0.05, "noise"),
            "features": dropdown([(label, key) for key, label in FEATURES.items()], "linear", "features"),
            "lr": log_slider(0.5, 1e-3, 10.0, "learning rate α"),
            "iterations": int_slider(200, 1, 2000, "iterations", step=1),
        }

    def setup_figure(self, fig):
        ax_b, ax_s, ax_c = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.15, 1.0, 1.0]})
        (xa, xb), (ya, yb) = self.BOUNDS
        xs, ys, self._grid = grid_points(self.BOUNDS, self.RES)
        self._axis_ticks = (xs, ys)
        self.artists["probability"] = ax_b.imshow(np.full((self.RES, self.RES), 0.5), origin="lower",
                                                  extent=(xa, xb, ya, yb), cmap=BOUNDARY_CMAP, vmin=0, vmax=1,
                                                  aspect="auto", alpha=0.8)
        self.artists["points"] = ax_b.scatter([], [], s=12, edgecolors="k", linewidths=0.4)
        self.artists["boundary"], = ax_b.plot([], [], color="k", lw=1.5)
        ax_b.set_title("P(class 1) and boundary ŷ = 0.5", fontsize=9)
        ax_b.set_xlim(xa, xb), ax_b.set_ylim(ya, yb)
        ax_b.set_xlabel("x₁"), ax_b.set_ylabel("x₂")
        z = np.linspace(-8, 8, 200)
        ax_s.plot(z, sigmoid(z), color="k", lw=1)
        ax_s.axvline(0, color="0.6", lw=0.8), ax_s.axhline(0.5, color="0.6", lw=0.8)
        self.artists["on_sigmoid"] = ax_s.scatter([], [], s=10, edgecolors="k", linewidths=0.3, zorder=3)
        ax_s.set_xlim(-8, 8), ax_s.set_ylim(-0.12, 1.12)
        ax_s.set_xlabel("logit z = x̃θ"), ax_s.set_ylabel("ŷ = σ(z) and label y")
        self.artists["cost"], = ax_c.plot([], [], color=COLORS[3])
        # iterations 0 … max on a fixed log scale (linear below 1): moving the iterations moves no axis
        ax_c.set_xscale("symlog", linthresh=1.0, linscale=0.4)
        ax_c.xaxis.set_major_formatter(ScalarFormatter())
        ax_c.set_xlim(0, self.controls["iterations"].max)
        ax_c.set_ylim(0, 0.75)
        ax_c.set_xlabel("iteration (log scale)"), ax_c.set_ylabel("cost C(θ) (cross-entropy)")
        ax_c.grid(alpha=0.3)
        ax_c.set_title("cost per iteration", fontsize=9)
        self._axes = {"boundary": ax_b, "sigmoid": ax_s, "cost": ax_c}
        self._shown = None
        fig.tight_layout()

    def _features(self, X: np.ndarray, kind: str) -> np.ndarray:
        return quadratic_features(X) if kind == "quadratic" else X

    def compute(self, dataset, noise, features, lr, iterations):
        X, y = _logistic_data(dataset, round(noise, 3))
        F = self._features(X, features)
        # what LogisticRegression(lr, iterations).fit(F, y) computes, reusing the iterates of a
        # shorter run with the same data and α (see _GradientDescentRun)
        run = _logistic_run(dataset, round(noise, 3), features, float(lr))
        run.extend_to(iterations)
        model = LogisticRegression(lr=lr, epochs=iterations)
        model.theta = run.thetas[iterations].copy()
        model.history_ = run.costs(iterations).tolist()
        prob = model.predict_proba(self._features(self._grid, features)).reshape(self.RES, self.RES)
        return {"boundary": level_set(self._axis_ticks, prob, 0.5), "X": X, "y": y, "model": model,
                "theta": model.theta, "history": np.asarray(model.history_),
                "probability": prob, "logits": model.decision_function(F), "accuracy": model.accuracy(F, y),
                "cost": model.history_[-1], "key": (dataset, round(noise, 3))}

    def draw(self, d):
        colors = np.array([to_rgba(CLASS_COLORS[i]) for i in range(2)])
        if self._shown != d["key"]:
            self.artists["points"].set_offsets(d["X"])
            self.artists["points"].set_facecolors(colors[d["y"]])
            self._shown = d["key"]
        self.artists["probability"].set_data(d["probability"])
        self.artists["boundary"].set_data(*d["boundary"].T)
        z = np.clip(d["logits"], -7.9, 7.9)
        jitter = (np.arange(len(z)) % 7 - 3) * 0.012  # keep overlapping labels apart
        self.artists["on_sigmoid"].set_offsets(np.column_stack([z, d["y"] + jitter]))
        self.artists["on_sigmoid"].set_facecolors(colors[d["y"]])
        h = d["history"]
        self.artists["cost"].set_data(np.arange(len(h)), h)
        # every run starts at C(θ = 0) = log 2 ≈ 0.69: the axes move only when α makes the cost climb
        top = 0.75 if h.max() <= 0.75 else float(h.max()) * 1.05
        set_limits(self._axes["cost"], ylim=(0, top))

    def summary(self, d):
        t = d["theta"]
        line = (f"boundary θ0 + θ1x₁ + θ2x₂ = {t[0]:.2f} + {t[1]:.2f}x₁ + {t[2]:.2f}x₂ = 0"
                if len(t) == 3 else f"{len(t)} parameters θ (bias + 5 weights): the boundary is a conic")
        return (f"{line} · training accuracy <b>{d['accuracy']:.1%}</b> · cross-entropy {d['cost']:.3f} after "
                f"{len(d['history']) - 1} iterations.")
