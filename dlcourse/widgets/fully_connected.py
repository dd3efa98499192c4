"""Interactive figures of chapter 5, "Fully Connected Neural Network" (Seed 5.1–5.4).

* :class:`WeightCounter` — the number of weights of a fully connected network (Seed 5.2), counted
  by the formula and by the parameters the library actually allocates;
* :class:`ForwardBackwardStepper` — one forward and one backward pass through a 2-3-2 network,
  step by step, with every intermediate value (Seed 5.3–5.4).
"""
from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.ticker import NullLocator

from .. import nn
from ..nn.shapes import fc_network_parameter_count
from .base import COLORS, Widget, dropdown, float_slider, int_slider, set_limits, static_legend

__all__ = ["WeightCounter", "ForwardBackwardStepper", "parse_widths"]

_MAX_LAYERS = 8  # input + up to 6 hidden + output
_MAX_DRAWN = 6   # neurons drawn per layer; the rest is summarised by "⋮"


def parse_widths(text: str) -> list[int] | None:
    """``"784, 256, 10"`` → ``[784, 256, 10]``; ``""`` → ``None``; anything else raises ``ValueError``."""
    text = text.strip()
    if not text:
        return None
    try:
        widths = [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"layer widths must be whole numbers separated by commas, e.g. '784, 256, 10'; "
                         f"got {text!r}") from None
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"give at least an input and an output width, all >= 1; got {widths}")
    if len(widths) > _MAX_LAYERS:
        raise ValueError(f"at most {_MAX_LAYERS} layers (input, {_MAX_LAYERS - 2} hidden, output); got {len(widths)}")
    return widths


def _activation_parameters(kind: str, widths: list[int]) -> tuple[int, list[nn.Module]]:
    """``a`` of Seed 5.2 and one activation module per hidden layer."""
    hidden = widths[1:-1]
    if kind == "relu":
        return 0, [nn.ReLU() for _ in hidden]
    if kind == "prelu_layer":
        return len(hidden), [nn.PReLU(1) for _ in hidden]
    return sum(hidden), [nn.PReLU(m) for m in hidden]  # one α per neuron (channel axis 1)


class WeightCounter(Widget):
    """How many parameters a fully connected network has (Seed 5.2): ``a + Σ_i (m_i·m_{i−1} + m_i)``.

    Layer ``i`` has an ``m_i × m_{i−1}`` weight matrix and ``m_i`` biases; ``a`` counts the learnable
    parameters of the activations (0 for ReLU, one α per layer or per neuron for PReLU).  The
    total from :func:`dlcourse.nn.shapes.fc_network_parameter_count` is checked against the
    parameters of the network actually built from :mod:`dlcourse.nn` layers.

    Controls: ``inputs`` m₀, ``hidden_layers``, ``width`` (every hidden layer), ``outputs``,
    ``activation``, and ``layers`` — a comma-separated list of widths that overrides the sliders.
    ``data``: ``widths``, ``weights``/``biases`` per layer, ``a``, ``total`` (formula) and
    ``model_count`` (the built network's ``num_parameters()``).
    """

    figsize = (9.5, 3.4)

    def make_controls(self):
        import ipywidgets as W

        return {
            "inputs": int_slider(784, 1, 1024, "inputs m₀"),
            "hidden_layers": int_slider(2, 0, _MAX_LAYERS - 2, "hidden layers"),
            "width": int_slider(128, 1, 512, "neurons per hidden layer"),
            "outputs": int_slider(10, 1, 100, "outputs"),
            "activation": dropdown([("ReLU (a = 0)", "relu"), ("PReLU, one α per layer", "prelu_layer"),
                                    ("PReLU, one α per neuron", "prelu_neuron")], "relu", "activation"),
            "layers": W.Text(value="", placeholder="or type widths, e.g. 784, 256, 128, 10",
                             description="widths", continuous_update=False,
                             style={"description_width": "initial"}, layout={"width": "auto", "min_width": "260px"}),
        }

    def setup_figure(self, fig):
        ax, net = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
        x = np.arange(_MAX_LAYERS - 1)
        self.artists["weight_bars"] = ax.bar(x - 0.2, np.ones(len(x)), width=0.4, color=COLORS[0],
                                             label="weights m_i·m_(i−1)")
        self.artists["bias_bars"] = ax.bar(x + 0.2, np.ones(len(x)), width=0.4, color=COLORS[1], label="biases m_i")
        self.artists["bar_labels"] = [ax.text(i, 1, "", ha="center", va="bottom", fontsize=7) for i in x]
        ax.set_ylim(1, 10)
        ax.set_yscale("log")
        ax.set_ylabel("parameters")
        ax.set_xlabel("layer i")
        static_legend(ax, fontsize=7, loc="upper right")
        ax.yaxis.set_minor_locator(NullLocator())
        self._ax = ax
        self.artists["edges"] = LineCollection([], colors="0.6", linewidths=0.4, zorder=1)
        net.add_collection(self.artists["edges"])
        self.artists["nodes"] = net.scatter([], [], s=60, zorder=2, edgecolors="k", linewidths=0.6)
        self.artists["layer_labels"] = [net.text(i, -0.75, "", ha="center", fontsize=8) for i in range(_MAX_LAYERS)]
        self.artists["dots"] = [net.text(i, -0.45, "", ha="center", va="center", fontsize=11)
                                for i in range(_MAX_LAYERS)]
        net.set_ylim(-0.9, 1.05)
        net.set_axis_off()
        self._net = net
        fig.tight_layout()

    def compute(self, inputs, hidden_layers, width, outputs, activation, layers):
        widths = parse_widths(layers) or [inputs] + [width] * hidden_layers + [outputs]
        a, acts = _activation_parameters(activation, widths)
        weights = [m_prev * m for m_prev, m in zip(widths[:-1], widths[1:])]
        biases = list(widths[1:])
        total = fc_network_parameter_count(widths, activation_params=a)
        modules: list[nn.Module] = []
        for i, (m_prev, m) in enumerate(zip(widths[:-1], widths[1:])):
            modules.append(nn.Linear(m_prev, m, rng=0))
            if i < len(acts):
                modules.append(acts[i])
        model = nn.Sequential(*modules)
        return {"widths": widths, "weights": weights, "biases": biases, "a": a, "total": total,
                "model": model, "model_count": model.num_parameters()}

    def draw(self, d):
        n = len(d["weights"])
        ax = self._ax
        for i, (wb, bb, label) in enumerate(zip(self.artists["weight_bars"], self.artists["bias_bars"],
                                                self.artists["bar_labels"])):
            visible = i < n
            for artist in (wb, bb, label):
                artist.set_visible(visible)
            if visible:
                wb.set_height(d["weights"][i])
                bb.set_height(d["biases"][i])
                label.set_position((i, d["weights"][i] * 1.3))
                label.set_text(f"{d['weights'][i] + d['biases'][i]:,}")
        if len(ax.get_xticks()) != n or ax.get_xlim()[1] != n - 0.4:
            ax.set_xlim(-0.6, n - 0.4)
            ax.set_xticks(range(n), [f"{i + 1}" for i in range(n)])
        set_limits(ax, ylim=(1, 10 ** np.ceil(np.log10(max(d["weights"]) * 20))))  # whole decades
        self._draw_network(d["widths"])

    def _draw_network(self, widths):
        positions, segments = [], []
        previous = None
        for i, m in enumerate(widths):
            shown = min(m, _MAX_DRAWN)
            ys = np.linspace(1, -0.2, shown) if shown > 1 else np.array([0.4])
            layer = np.column_stack([np.full(shown, i), ys])
            positions.append(layer)
            if previous is not None:
                segments += [[p, q] for p in previous for q in layer]
            previous = layer
        pos = np.concatenate(positions)
        colors = np.concatenate([np.full(len(p), j) for j, p in enumerate(positions)])
        nodes = self.artists["nodes"]
        nodes.set_offsets(pos)
        palette = np.array([(0.85, 0.85, 0.85, 1)] + [(0.55, 0.75, 0.95, 1)] * (len(widths) - 2) + [(1, 0.7, 0.4, 1)])
        nodes.set_facecolors(palette[colors])
        self.artists["edges"].set_segments(segments)
        for i, (label, dots) in enumerate(zip(self.artists["layer_labels"], self.artists["dots"])):
            if i < len(widths):
                name = "input" if i == 0 else ("output" if i == len(widths) - 1 else f"hidden {i}")
                label.set_text(f"{name}\nm{i} = {widths[i]}")
                dots.set_text("⋮" if widths[i] > _MAX_DRAWN else "")
            else:
                label.set_text("")
                dots.set_text("")
        set_limits(self._net, xlim=(-0.5, len(widths) - 0.5))

    def summary(self, d):
        terms = " + ".join(f"{m}·{p} + {m}" for p, m in zip(d["widths"][:-1], d["widths"][1:]))
        check = "✓" if d["model_count"] == d["total"] else "✗"
        return (f"a + Σ (m_i·m_(i−1) + m_i) = {d['a']} + {terms} = <b>{d['total']:,}</b> parameters · "
                f"the dlcourse.nn network built from these widths has {d['model_count']:,} {check}")


# =========================================================================================================
# forward and backward pass, one step at a time
# =========================================================================================================
_STAGES = (
    ("input", "forward", r"input $x = (x_1, x_2)$"),
    ("s1", "forward", r"hidden pre-activation $s_{1,j} = b_{1,j} + \sum_k x_k\, w_{1,j,k}$"),
    ("h1", "forward", r"hidden activation $h_{1,j} = a(s_{1,j})$"),
    ("s2", "forward", r"output pre-activation $s_{2,j} = b_{2,j} + \sum_k h_{1,k}\, w_{2,j,k}$"),
    ("yhat", "forward", r"prediction $\hat y_j = \sigma(s_{2,j})$"),
    ("loss", "forward", r"loss $L = \frac{1}{2}\sum_j (y_j - \hat y_j)^2$  (MSE, mean over the 2 outputs)"),
    ("dyhat", "backward", r"$\partial L/\partial \hat y_j = \hat y_j - y_j$"),
    ("ds2", "backward", r"$\partial L/\partial s_{2,j} = \partial L/\partial \hat y_j \cdot \sigma'(s_{2,j})$"),
    ("dw2", "backward", r"$\partial L/\partial w_{2,j,k} = \partial L/\partial s_{2,j} \cdot h_{1,k}$,"
                        r"  $\partial L/\partial b_{2,j} = \partial L/\partial s_{2,j}$"),
    ("dh1", "backward", r"$\partial L/\partial h_{1,k} = \sum_o \partial L/\partial s_{2,o} \cdot w_{2,o,k}$"),
    ("ds1", "backward", r"$\partial L/\partial s_{1,k} = \partial L/\partial h_{1,k} \cdot a'(s_{1,k})$"),
    ("dw1", "backward", r"$\partial L/\partial w_{1,j,k} = \partial L/\partial s_{1,j} \cdot x_k$,"
                        r"  $\partial L/\partial b_{1,j} = \partial L/\partial s_{1,j}$"),
    ("update", "update", r"gradient step $\theta \leftarrow \theta - \alpha\, \partial L/\partial \theta$,"
                         r" then a new forward pass"),
)
STAGES = tuple(name for name, _, _ in _STAGES)
_HIDDEN_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def forward_backward(x, y, activation: str = "sigmoid", seed: int = 0, lr: float = 1.0) -> dict[str, np.ndarray]:
    """Every intermediate value of one forward and backward pass of the 2-3-2 network (Seed 5.3–5.4).

    ``x (2,)`` input, ``y (2,)`` target.  The network is ``Linear(2, 3) → activation → Linear(3, 2)
    → Sigmoid`` with ``MSELoss``, built from :mod:`dlcourse.nn` in float64 and initialised with
    ``rng=seed``.  The gradients come from the layers' ``backward`` methods, exactly as in training;
    ``loss_after`` is the loss after one gradient step of size ``lr``.
    """
    lin1 = nn.Linear(2, 3, rng=seed).double()
    act = _HIDDEN_ACTIVATIONS[activation]()
    lin2 = nn.Linear(3, 2, rng=seed + 1).double()
    out_act, loss_fn = nn.Sigmoid(), nn.MSELoss()
    x = np.asarray(x, dtype=np.float64).reshape(1, 2)
    y = np.asarray(y, dtype=np.float64).reshape(1, 2)
    w1, b1, w2, b2 = (p.data.copy() for p in (lin1.weight, lin1.bias, lin2.weight, lin2.bias))
    s1 = lin1(x)
    h1 = act(s1)
    s2 = lin2(h1)
    yhat = out_act(s2)
    loss = loss_fn(yhat, y)
    dyhat = loss_fn.backward()
    ds2 = out_act.backward(dyhat)
    dh1 = lin2.backward(ds2)
    ds1 = act.backward(dh1)
    lin1.backward(ds1)
    grads = {"dw1": lin1.weight.grad.copy(), "db1": lin1.bias.grad.copy(),
             "dw2": lin2.weight.grad.copy(), "db2": lin2.bias.grad.copy()}
    for p in (lin1.weight, lin1.bias, lin2.weight, lin2.bias):
        p.data -= lr * p.grad
    loss_after = loss_fn(out_act(lin2(act(lin1(x)))), y)
    return {"x": x[0], "y": y[0], "w1": w1, "b1": b1, "w2": w2, "b2": b2, "s1": s1[0], "h1": h1[0], "s2": s2[0],
            "yhat": yhat[0], "loss": float(loss), "dyhat": dyhat[0], "ds2": ds2[0], "dh1": dh1[0], "ds1": ds1[0],
            **grads, "loss_after": float(loss_after)}


class ForwardBackwardStepper(Widget):
    """Step through the forward pass (Seed 5.3) and the backward pass (Seed 5.4) of a 2-3-2 network.

    Move ``stage`` to advance: each forward stage computes one quantity of Seed 5.1's equations,
    each backward stage one factor of the chain rule of Seed 5.4, and the last stage takes the
    gradient step.  The current quantity is highlighted (blue forward, red backward) and its formula
    is printed under the network.  Controls: ``stage``, ``x1``, ``x2``, ``activation`` (hidden
    layer), ``seed`` (initial weights), ``lr``.  ``data``: everything :func:`forward_backward`
    returns, plus ``stage`` (its name) and ``visible`` (the quantities shown so far).
    """

    figsize = (9.0, 3.3)
    _X = {"x": 0.0, "h": 1.6, "y": 3.2, "L": 4.5}

    def make_controls(self):
        return {
            "stage": int_slider(0, 0, len(STAGES) - 1, "step"),
            "x1": float_slider(1.0, -2.0, 2.0, 0.1, "x₁"),
            "x2": float_slider(-0.5, -2.0, 2.0, 0.1, "x₂"),
            "activation": dropdown(list(_HIDDEN_ACTIVATIONS), "sigmoid", "hidden activation a"),
            "seed": int_slider(0, 0, 20, "initial weights (seed)"),
            "lr": float_slider(1.0, 0.1, 5.0, 0.1, "learning rate α"),
        }

    def setup_figure(self, fig):
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.set_xlim(-0.9, 5.3)
        ax.set_ylim(-1.2, 1.3)
        X = self._X
        self._pos = {"x0": (X["x"], 0.5), "x1": (X["x"], -0.5),
                     **{f"h{j}": (X["h"], 0.85 - 0.85 * j) for j in range(3)},
                     "y0": (X["y"], 0.5), "y1": (X["y"], -0.5), "L": (X["L"], 0.0)}
        self._edges = ([("w1", j, k, f"x{k}", f"h{j}") for j in range(3) for k in range(2)]
                       + [("w2", j, k, f"h{k}", f"y{j}") for j in range(2) for k in range(3)]
                       + [("L", j, 0, f"y{j}", "L") for j in range(2)])
        segs = [[self._pos[a], self._pos[b]] for _, _, _, a, b in self._edges]
        self.artists["edges"] = LineCollection(segs, colors="0.75", linewidths=1.0, zorder=1)
        ax.add_collection(self.artists["edges"])
        names = list(self._pos)
        self._node_names = names
        self.artists["nodes"] = ax.scatter([self._pos[n][0] for n in names], [self._pos[n][1] for n in names],
                                           s=900, c="white", edgecolors="k", linewidths=1.0, zorder=2)
        labels = {"x0": "$x_1$", "x1": "$x_2$", "h0": "$h_{1,1}$", "h1": "$h_{1,2}$", "h2": "$h_{1,3}$",
                  "y0": r"$\hat y_1$", "y1": r"$\hat y_2$", "L": "$L$"}
        for n in names:
            ax.text(*self._pos[n], labels[n], ha="center", va="center", fontsize=9, zorder=3)
        self.artists["node_text"] = {n: ax.text(self._pos[n][0], self._pos[n][1] + 0.19, "", ha="center",
                                                va="bottom", fontsize=7.5, zorder=3) for n in names}
        self.artists["grad_text"] = {n: ax.text(self._pos[n][0], self._pos[n][1] - 0.19, "", ha="center",
                                                va="top", fontsize=7.5, color=COLORS[3], zorder=3) for n in names}
        # weights change only with the seed: static labels (part of the cached background);
        # their gradients change every step: animated labels just below them
        self._weight_text, self.artists["edge_grad"] = [], []
        for kind, j, k, a, b in self._edges:
            if kind == "L":
                continue
            (xa, ya), (xb, yb) = self._pos[a], self._pos[b]
            x, y = xa + 0.3 * (xb - xa), ya + 0.3 * (yb - ya)
            self._weight_text.append(ax.text(x, y + 0.03, "", fontsize=6.5, ha="center", va="bottom", color="0.3",
                                             zorder=3))
            self.artists["edge_grad"].append(ax.text(x, y - 0.03, "", fontsize=6.5, ha="center", va="top",
                                                     color=COLORS[3], zorder=3))
        ax.text(X["y"] + 0.35, 1.2, "target y = (1, 0)", fontsize=8, va="top")
        self._shown_weights = None
        fig.tight_layout()

    def compute(self, stage, x1, x2, activation, seed, lr):
        d = forward_backward([x1, x2], [1.0, 0.0], activation, seed, lr)
        d["stage"] = STAGES[stage]
        d["visible"] = STAGES[:stage + 1]
        return d

    def draw(self, d):
        vis, stage = set(d["visible"]), d["stage"]
        kind = dict((n, k) for n, k, _ in _STAGES)[stage]
        hi = COLORS[0] if kind == "forward" else COLORS[3] if kind == "backward" else COLORS[2]
        node_text, grad_text = self.artists["node_text"], self.artists["grad_text"]
        for n in self._node_names:
            node_text[n].set_text("")
            grad_text[n].set_text("")
        for k in range(2):
            node_text[f"x{k}"].set_text(f"x = {d['x'][k]:.2f}")
        # each layer's node shows the values of the stages reached so far: pre-activation and
        # activation on the forward pass, their gradients on the backward pass
        layers = [("h", 3, [("s1", "s"), ("h1", "h")], [("dh1", "∂L/∂h"), ("ds1", "∂L/∂s")]),
                  ("y", 2, [("s2", "s"), ("yhat", "ŷ")], [("dyhat", "∂L/∂ŷ"), ("ds2", "∂L/∂s")])]
        for prefix, width, values, grads in layers:
            for j in range(width):
                node_text[f"{prefix}{j}"].set_text("\n".join(f"{label} = {d[key][j]:.3f}"
                                                             for key, label in values if key in vis))
                grad_text[f"{prefix}{j}"].set_text("\n".join(f"{label} = {d[key][j]:.3f}"
                                                             for key, label in grads if key in vis))
        if "loss" in vis:
            node_text["L"].set_text(f"L = {d['loss']:.4f}")
        if "update" in vis:
            grad_text["L"].set_text(f"after the step:\nL = {d['loss_after']:.4f}")
        weights_key = (d["w1"].tobytes(), d["w2"].tobytes())
        grad_stages = {"w1": "dw1", "w2": "dw2"}
        i = 0
        for kind_e, j, k, _, _ in self._edges:
            if kind_e == "L":
                continue
            if weights_key != self._shown_weights:
                self._weight_text[i].set_text(f"{d[kind_e][j, k]:.2f}")
            grad_stage = grad_stages[kind_e]
            # a layer's weight gradients are shown at their stage and at the update (less text per frame)
            shown = stage in (grad_stage, "update")
            self.artists["edge_grad"][i].set_text(f"∂ {d['d' + kind_e][j, k]:+.3f}" if shown else "")
            i += 1
        self._shown_weights = weights_key
        self._highlight(stage, hi)

    def _highlight(self, stage, color):
        nodes = {"input": ["x0", "x1"], "s1": ["h0", "h1", "h2"], "h1": ["h0", "h1", "h2"], "s2": ["y0", "y1"],
                 "yhat": ["y0", "y1"], "loss": ["L"], "dyhat": ["y0", "y1"], "ds2": ["y0", "y1"],
                 "dw2": [], "dh1": ["h0", "h1", "h2"], "ds1": ["h0", "h1", "h2"], "dw1": [], "update": ["L"]}[stage]
        edges = {"s1": "w1", "dw1": "w1", "s2": "w2", "dw2": "w2", "dh1": "w2", "loss": "L", "dyhat": "L",
                 "update": None}.get(stage)
        faces = ["white"] * len(self._node_names)
        for n in nodes:
            faces[self._node_names.index(n)] = to_rgba(color, 0.35)
        self.artists["nodes"].set_facecolors(faces)
        self.artists["nodes"].set_alpha(None)
        colors = [color if kind == edges else "0.75" for kind, *_ in self._edges]
        widths = [2.2 if kind == edges else 1.0 for kind, *_ in self._edges]
        self.artists["edges"].set_colors(colors)
        self.artists["edges"].set_linewidths(widths)

    def summary(self, d):
        i = STAGES.index(d["stage"])
        _, kind, formula = _STAGES[i]
        color = {"forward": "#1f77b4", "backward": "#d62728", "update": "#2ca02c"}[kind]
        title = {"forward": "forward pass", "backward": "backward pass", "update": "update"}[kind]
        line = f"<b style='color:{color}'>step {i}/{len(STAGES) - 1} — {title}:</b> {formula}"
        if d["stage"] == "update":
            line += (f" — L = {d['loss']:.4f} → {d['loss_after']:.4f} after one step with "
                     f"α = {self.controls['lr'].value:g}")
        return line
