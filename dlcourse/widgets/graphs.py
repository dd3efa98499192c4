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
from matplotlib.transforms import Affine2D

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
    ``build(values) -> (root, leaves)`` (``leaves``: name → leaf ``Value``), ``leaf_values(values)``,
    ``structure(values)`` (a key that changes when the graph's shape changes) and ``structures()``
    (control values giving every shape once).  Every shape is drawn by
    :func:`~dlcourse.graph.draw_graph` once, when the figure is made, in its own view; a move
    shows another shape and rewrites the numbers in the boxes (a pool of text artists on top).  All
    of it is painted over the cached background: a move is a blit, never a redraw of the axes.
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

    def structures(self) -> list[dict]:
        """Control values that give each graph shape once (every value of the controls that change it)."""
        raise NotImplementedError

    def setup_figure(self, fig):
        grid = fig.add_gridspec(2, 3, height_ratios=[2.6, 1.0], width_ratios=[1.0, 1.6, 1.0])
        ax_g = fig.add_subplot(grid[0, :])
        ax_g.axis("off")
        ax_g.set_title("forward: data  ·  backward: grad = ∂f/∂node", fontsize=9)
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
        # the gradient scale follows the gradients (below): its ticks and labels are repainted with the
        # bars, so a new scale costs a blit, not a redraw of the axes (the limits stay symmetric, so
        # the zero line in the background stays where it is)
        self.artists["grad_axis"] = ax_b.yaxis
        self._axes = {"graph": ax_g, "grad": ax_b}
        fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.08, hspace=0.25)
        self._build_shapes(ax_g)
        self.artists["node_texts"] = [ax_g.text(0, 0, "", ha="center", va="center", fontsize=self.FONTSIZE, zorder=3,
                                                transform=ax_g.transAxes) for _ in range(self.POOL)]
        self._drawn = None
        self._positions: list[tuple[float, float]] = []

    def _build_shapes(self, ax) -> None:
        """Draw every graph shape once, hidden; a move only shows another shape.

        The boxes, circles and arrows of ``draw_graph`` are data artists (``self.artists["graph"]``):
        they are painted over the cached background like the numbers, so a new shape costs a blit,
        not a redraw of the axes.  Each shape keeps the view ``draw_graph`` gives it (its own
        limits, equal aspect, centred in the axes): the axes' limits stay (0, 1) and every artist of
        a shape is placed through its own transform from graph to axes coordinates.
        """
        fig = ax.get_figure(root=True)
        width, height = ax.get_position().size * fig.get_size_inches()  # the aspect of the axes box
        self._shapes = {}
        base = {name: c.value for name, c in self.controls.items()}
        for values in self.structures():
            values = {**base, **values}
            root, _ = self.build(values)
            before = set(ax.get_children())
            draw_graph(root, ax=ax, fontsize=self.FONTSIZE)
            artists = [a for a in ax.get_children() if a not in before]
            positions, nodes, _ = graph_layout(root)
            if len(nodes) > self.POOL:
                raise ValueError(f"{type(self).__name__}: the graph has {len(nodes)} value nodes, more than {self.POOL}")
            boxes = [positions[id(v)] for v in nodes]
            keys = {_position_key(p) for p in boxes}
            # the pool's texts replace draw_graph's own texts in the value boxes (the operation symbols stay)
            for text in [a for a in artists if isinstance(a, Text) and _position_key(a.get_position()) in keys]:
                text.remove()
                artists.remove(text)
            (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
            scale = min(width / (x1 - x0), height / (y1 - y0))  # inches per graph unit, as aspect="equal"
            to_axes = (Affine2D().translate(-(x0 + x1) / 2, -(y0 + y1) / 2)
                       .scale(scale / width, scale / height).translate(0.5, 0.5))
            for artist in artists:
                artist.set_transform(to_axes + ax.transAxes)
                artist.set_visible(False)
            self._shapes[self.structure(values)] = (artists, [tuple(to_axes.transform(p)) for p in boxes])
        ax.set_aspect("auto")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        self.artists["graph"] = [a for artists, _ in self._shapes.values() for a in artists]

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

    def _show_shape(self, key) -> None:
        """Show the graph shape ``key`` (boxes, circles, arrows); hide the one shown before."""
        if self._drawn is not None:
            for artist in self._shapes[self._drawn][0]:
                artist.set_visible(False)
        artists, self._positions = self._shapes[key]
        for artist in artists:
            artist.set_visible(True)
        self._drawn = key

    @staticmethod
    def node_text(v: Value) -> str:
        """What a node's box says (the format of ``draw_graph``)."""
        return "\n".join(([v.label] if v.label else []) + [f"data {v.data:.4g}", f"grad {v.grad:.4g}"])

    def draw(self, d):
        root = d["root"]
        if self._drawn != d["structure"]:
            self._show_shape(d["structure"])
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
        # saturating unit is then *seen* to lose its gradients
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

    def structures(self):
        return [{"expression": key} for key in EXPRESSIONS]

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

    def structures(self):
        return [{"activation": a, "loss": loss} for _, a in self.controls["activation"].options
                for loss in (False, True)]

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
