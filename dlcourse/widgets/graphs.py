"""Interactive figures of chapter 3, "Computational Graphs" (Seed 3, 3.1).

* :class:`ExpressionGraph` — pick the inputs of ``f(x, y, z) = (x + y)·z`` (or another small
  expression) and read the forward values and backward gradients on the drawn graph;
* :class:`NeuronGraph` — one neuron ``a = act(w0·x0 + w1·x1 + b)``, optionally followed by the
  squared error ``(a − t)²``: the same graph machinery is a neural network (Seed 3).

Both draw with :func:`dlcourse.graph.draw_graph` and check every gradient of backpropagation
against central finite differences ``(f(v + h) − f(v − h)) / 2h`` in a side panel.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from matplotlib.text import Text

from ..graph import Neuron, Value, draw_graph, graph_layout
from .base import COLORS, Widget, checkbox, dropdown, float_slider, set_limits
from .basics import nice_ceiling

__all__ = ["ExpressionGraph", "NeuronGraph", "EXPRESSIONS", "finite_difference"]

Builder = Callable[[dict], tuple[Value, dict]]


def finite_difference(build: Builder, values: dict, name: str, h: float = 1e-5) -> float:
    """Central difference ``∂f/∂name ≈ (f(v + h) − f(v − h)) / 2h`` of the graph ``build(values)``."""
    up, down = dict(values), dict(values)
    up[name] += h
    down[name] -= h
    return (build(up)[0].data - build(down)[0].data) / (2 * h)


def _position_key(xy) -> tuple[float, float]:
    return round(float(xy[0]), 6), round(float(xy[1]), 6)


class _GraphFigure(Widget):
    """Shared part: the drawn graph (top) and the gradient check (bottom).

    Subclasses define ``LEAVES`` (names of the inputs whose gradients are compared),
    ``build(values) -> (root, leaves)`` (``leaves``: name → leaf ``Value``), ``leaf_values(values)``
    and ``structure(values)`` (a key that changes when the graph's shape changes).  A new shape is
    drawn by :func:`~dlcourse.graph.draw_graph` on the same axes; the numbers in the boxes are a pool
    of text artists on top, so that moving an input only rewrites them (a blit, not a full redraw).
    """

    figsize = (10.0, 3.8)
    FONTSIZE = 7.5
    LEAVES: tuple[str, ...] = ()
    POOL = 32  # more value nodes than any graph of these figures has

    def build(self, values: dict) -> tuple[Value, dict]:
        raise NotImplementedError

    def structure(self, values: dict):
        raise NotImplementedError

    def leaf_values(self, values: dict) -> dict:
        """The numbers the leaves are built from (the sliders), by leaf name."""
        raise NotImplementedError

    def setup_figure(self, fig):
        grid = fig.add_gridspec(2, 3, height_ratios=[2.6, 1.0], width_ratios=[1.0, 1.6, 1.0])
        ax_g = fig.add_subplot(grid[0, :])
        ax_g.axis("off")
        ax_g.set_title("forward: data  ·  backward: grad = ∂f/∂node", fontsize=9)
        self.artists["node_texts"] = [ax_g.text(0, 0, "", ha="center", va="center", fontsize=self.FONTSIZE, zorder=3)
                                      for _ in range(self.POOL)]
        ax_b = fig.add_subplot(grid[1, 1])
        ax_b.axhline(0, color="0.5", lw=0.8)
        ax_b.set_ylabel("gradient", fontsize=8)
        ax_b.set_title("gradients: backprop (bars) vs finite differences (●)", fontsize=8)
        ax_b.tick_params(labelsize=7)
        n = len(self.LEAVES)
        self.artists["bars"] = ax_b.bar(np.arange(n), np.zeros(n), color=COLORS[0], width=0.6)
        self.artists["numeric"] = ax_b.scatter(np.arange(n), np.zeros(n), s=18, color="k", zorder=3)
        ax_b.set_xticks(np.arange(n), self.LEAVES)
        ax_b.set_xlim(-0.5, n - 0.5)
        self._axes = {"graph": ax_g, "grad": ax_b}
        self._drawn = None
        self._graph_artists: list = []
        self._positions: list[tuple[float, float]] = []
        fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.08, hspace=0.25)

    def compute(self, **values):
        leaves_in = self.leaf_values(values)
        builder = lambda v: self.build({**values, **v})  # noqa: E731 - rebuilt with perturbed leaves
        root, leaves = builder(leaves_in)
        root.backward()
        grads = {name: leaf.grad for name, leaf in leaves.items()}
        numeric = {name: finite_difference(builder, leaves_in, name) for name in leaves}
        nodes = [(v.label, v.op, v.data, v.grad) for v in root.topological_order()]
        return {"root": root, "output": root.data, "leaves": leaves, "gradients": grads, "numeric": numeric,
                "nodes": nodes, "structure": self.structure(values)}

    def _redraw_graph(self, root: Value) -> None:
        """Draw a new graph shape: boxes, circles and arrows from ``draw_graph``, numbers from the pool."""
        ax = self._axes["graph"]
        for artist in self._graph_artists:
            artist.remove()
        before = set(ax.get_children())
        draw_graph(root, ax=ax, fontsize=self.FONTSIZE)
        self._graph_artists = [a for a in ax.get_children() if a not in before]
        positions, values, _ = graph_layout(root)
        if len(values) > self.POOL:
            raise ValueError(f"{type(self).__name__}: the graph has {len(values)} value nodes, more than {self.POOL}")
        self._positions = [positions[id(v)] for v in values]
        # the pool's texts replace draw_graph's own texts in the value boxes (the operation symbols stay)
        boxes = {_position_key(p) for p in self._positions}
        for text in [a for a in self._graph_artists if isinstance(a, Text)]:
            if _position_key(text.get_position()) in boxes:
                text.remove()
                self._graph_artists.remove(text)

    @staticmethod
    def node_text(v: Value) -> str:
        """What a node's box says (the format of ``draw_graph``)."""
        return "\n".join(([v.label] if v.label else []) + [f"data {v.data:.4g}", f"grad {v.grad:.4g}"])

    def draw(self, d):
        root = d["root"]
        if self._drawn != d["structure"]:
            self._redraw_graph(root)
            self._drawn = d["structure"]
        values = root.topological_order()
        for i, text in enumerate(self.artists["node_texts"]):
            if i < len(values):
                text.set_position(self._positions[i])
                text.set_text(self.node_text(values[i]))
            else:
                text.set_text("")
        g = np.array([d["gradients"][n] for n in self.LEAVES])
        num = np.array([d["numeric"][n] for n in self.LEAVES])
        for bar, value in zip(self.artists["bars"], g):
            bar.set_height(value)
            bar.set_color(COLORS[0] if value >= 0 else COLORS[3])
        self.artists["numeric"].set_offsets(np.column_stack([np.arange(len(num)), num]))
        # the scale grows when a bar would not fit and shrinks only when the bars almost vanish: a
        # saturating unit is then *seen* to lose its gradients, and moving an input costs a blit,
        # not a full redraw with new ticks
        need = max(float(np.abs(np.concatenate([g, num])).max()), 1e-6) * 1.1
        current = self._axes["grad"].get_ylim()[1]
        if not need <= current <= 50 * need:
            span = nice_ceiling(1.5 * need)  # some headroom, so that the next move likely fits
            set_limits(self._axes["grad"], ylim=(-span, span))

    def summary(self, d):
        worst = max(abs(d["gradients"][n] - d["numeric"][n]) / max(1e-8, abs(d["gradients"][n]) + abs(d["numeric"][n]))
                    for n in d["gradients"])
        grads = ", ".join(f"∂f/∂{n} = {g:.4g}" for n, g in d["gradients"].items())
        return (f"f = <b>{d['output']:.4g}</b> · {grads} · largest relative difference to finite differences "
                f"{worst:.1e}")


# =========================================================================================================
# f(x, y, z) and friends
# =========================================================================================================
def _sum_times(x: Value, y: Value, z: Value) -> Value:
    q = x + y
    q.label = "q = x + y"
    f = q * z
    return f


def _shared_input(x: Value, y: Value, z: Value) -> Value:
    a, b = x * y, y * z
    a.label, b.label = "x·y", "y·z"
    return a + b


def _sigmoid_of_sum(x: Value, y: Value, z: Value) -> Value:
    s = x * y + z
    s.label = "s = x·y + z"
    return s.sigmoid()


def _exp_product(x: Value, y: Value, z: Value) -> Value:
    e = x.exp()
    e.label = "eˣ"
    d = y - z
    d.label = "y − z"
    return e * d


#: name → (label, builder(x, y, z) → f)
EXPRESSIONS: dict[str, tuple[str, Callable[[Value, Value, Value], Value]]] = {
    "sum_times": ("f = (x + y)·z   (Seed 3.1)", _sum_times),
    "shared": ("f = x·y + y·z   (y used twice)", _shared_input),
    "sigmoid": ("f = σ(x·y + z)", _sigmoid_of_sum),
    "exp": ("f = eˣ·(y − z)", _exp_product),
}


class ExpressionGraph(_GraphFigure):
    """Choose ``x, y, z`` and watch the forward values and the backward gradients (Seed 3.1).

    The default is the lecture's ``f(x, y, z) = (x + y)·z`` at ``(−2, 5, −4)``: forward
    ``q = 3, f = −12``; backward ``∂f/∂z = q = 3``, ``∂f/∂q = z = −4`` and, because addition passes
    the gradient on unchanged, ``∂f/∂x = ∂f/∂y = −4``.  ``x·y + y·z`` shows that a variable used
    twice receives the *sum* of the gradients flowing back along both uses.

    Controls: ``expression`` (a key of :data:`EXPRESSIONS`), ``x``, ``y``, ``z``.
    ``data``: ``output`` (f), ``gradients`` and ``numeric`` (name → ∂f/∂name by backprop and by
    finite differences), ``nodes`` (label, op, data, grad of every node), ``root``.
    """

    columns = 4
    LEAVES = ("x", "y", "z")

    def make_controls(self):
        return {
            "expression": dropdown([(label, key) for key, (label, _) in EXPRESSIONS.items()], "sum_times",
                                   "expression"),
            "x": float_slider(-2.0, -5.0, 5.0, 0.1, "x", fmt=".1f"),
            "y": float_slider(5.0, -5.0, 5.0, 0.1, "y", fmt=".1f"),
            "z": float_slider(-4.0, -5.0, 5.0, 0.1, "z", fmt=".1f"),
        }

    def leaf_values(self, values):
        return {"x": values["x"], "y": values["y"], "z": values["z"]}

    def structure(self, values):
        return values["expression"]

    def build(self, values):
        leaves = {n: Value(float(values[n]), n) for n in ("x", "y", "z")}
        f = EXPRESSIONS[values["expression"]][1](leaves["x"], leaves["y"], leaves["z"])
        f.label = "f"
        return f, leaves


# =========================================================================================================
# a neuron as a computational graph
# =========================================================================================================
class NeuronGraph(_GraphFigure):
    """One neuron ``a = act(w0·x0 + w1·x1 + b)`` as a computational graph (Seed 3, 3.1; 4.1).

    Built with :class:`dlcourse.graph.Neuron`.  With ``loss`` on, the graph ends in the squared
    error ``L = (a − t)²`` against a target ``t`` and the gradients are those gradient descent
    uses: ``∂L/∂w_j`` for the weights.  Try a large ``|z|`` with the sigmoid or tanh (the
    gradients almost vanish: saturation) or a negative ``z`` with ReLU (exactly zero: a dead
    unit); at ReLU's kink ``z = 0`` backprop uses the subgradient 0 and finite differences disagree.

    Controls: ``activation``, ``loss``, ``target``, ``x0``, ``x1``, ``w0``, ``w1``, ``b``.
    ``data``: as :class:`ExpressionGraph`; ``gradients`` has one entry per input and weight.
    """

    columns = 4
    figsize = (11.0, 3.8)
    FONTSIZE = 6.5
    LEAVES = ("x0", "x1", "w0", "w1", "b")

    def make_controls(self):
        s = lambda v, name: float_slider(v, -3.0, 3.0, 0.1, name, fmt=".1f")  # noqa: E731
        return {
            "activation": dropdown([("sigmoid σ", "sigmoid"), ("tanh", "tanh"), ("ReLU", "relu"),
                                    ("none (linear)", "linear")], "sigmoid", "activation"),
            "loss": checkbox(False, "add loss L = (a − t)²"),
            "target": float_slider(1.0, -1.0, 1.0, 0.1, "target t", fmt=".1f"),
            "x0": s(-1.0, "x0"), "x1": s(-2.0, "x1"),
            "w0": s(2.0, "w0"), "w1": s(-3.0, "w1"), "b": s(-3.0, "b"),
        }

    def leaf_values(self, values):
        return {n: values[n] for n in ("x0", "x1", "w0", "w1", "b")}

    def structure(self, values):
        return values["activation"], bool(values["loss"])

    def build(self, values):
        neuron = Neuron(2, values["activation"], name="a", rng=0)
        for w, name in zip(neuron.w, ("w0", "w1")):
            w.data, w.label = float(values[name]), name
        neuron.b.data, neuron.b.label = float(values["b"]), "b"
        x = [Value(float(values["x0"]), "x0"), Value(float(values["x1"]), "x1")]
        a = neuron(x)
        for v in a.topological_order():  # name the intermediate nodes the way the lecture writes them
            if not v.label and v.op == "×":
                v.label = "·".join(i.label for i in v.inputs)
        if values["activation"] != "linear":
            a.inputs[0].label = "z"
        a.label = "a" if values["activation"] != "linear" else "a = z"
        leaves = {"x0": x[0], "x1": x[1], "w0": neuron.w[0], "w1": neuron.w[1], "b": neuron.b}
        if not values["loss"]:
            return a, leaves
        e = a - Value(float(values["target"]), "t")
        e.label = "a − t"
        loss = e ** 2
        loss.label = "L"
        return loss, leaves

    def summary(self, d):
        name = "L" if self.controls["loss"].value else "a"
        return super().summary(d).replace("f = ", f"{name} = ", 1).replace("∂f/", f"∂{name}/")
