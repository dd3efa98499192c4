"""A scalar computational graph with reverse-mode automatic differentiation (seed 3).

Every arithmetic operation on a :class:`Value` creates a new ``Value`` that remembers its inputs
(the directed edges of seed 3) and the operation (the vertex).  ``root.backward()`` then walks
the graph in reverse topological order and applies the chain rule: each node passes
``local derivative × its own grad`` to each input.  The local derivative of every operation is
written right next to its forward computation, so the two can be read together.

>>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
>>> f = (x + y) * z            # seed 3.1: f(x, y, z) = (x + y)·z
>>> f.backward()
>>> x.grad, y.grad, z.grad     # ∂f/∂x = z, ∂f/∂y = z, ∂f/∂z = x + y
(-4.0, -4.0, 3.0)

Gradient semantics follow PyTorch (and the layer contract of ``dlcourse.nn``): the gradients of
*leaves* (inputs, weights) accumulate across ``backward`` calls until ``zero_grad()``; the
gradients of intermediate nodes are recomputed from zero on every ``backward``.

``draw_graph(root)`` draws the graph with matplotlib only (no graphviz binary needed), and
``Neuron``/``Layer``/``MLP`` express a small neural network as such a graph (seed 3: "a neural
network can be represented as a computational graph").
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, Iterable, Sequence


from ._rng import get_rng

__all__ = ["Value", "draw_graph", "graph_layout", "Neuron", "Layer", "MLP"]


def _noop() -> None:
    return None


class Value:
    """A scalar that records how it was computed.

    Attributes: ``data`` (float, the forward value), ``grad`` (float, ∂root/∂self after
    ``root.backward()``), ``label`` (a name shown in drawings), ``op`` (the operation that
    produced it, ``""`` for a leaf), ``inputs`` (the Values it was computed from).
    """

    __slots__ = ("data", "grad", "label", "op", "inputs", "_backward")

    def __init__(self, data: float, label: str = "", *, _inputs: tuple["Value", ...] = (), _op: str = "") -> None:
        if isinstance(data, Value):
            raise TypeError("Value(...) expects a number; the argument is already a Value")
        if not isinstance(data, numbers.Real):
            raise TypeError(f"Value expects a real number, got {type(data).__name__}")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self.op = _op
        self.inputs = _inputs
        self._backward: Callable[[], None] = _noop

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _wrap(other) -> "Value":
        """Numbers taking part in an operation become constant leaves of the graph."""
        if isinstance(other, Value):
            return other
        if isinstance(other, numbers.Real):
            return Value(float(other), label=f"{float(other):g}")
        return NotImplemented  # type: ignore[return-value]

    @property
    def is_leaf(self) -> bool:
        return not self.inputs

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # -- binary operations: forward value, then d out / d input next to it ------------------------
    def __add__(self, other) -> "Value":
        other = self._wrap(other)
        if other is NotImplemented:
            return NotImplemented
        out = Value(self.data + other.data, _inputs=(self, other), _op="+")

        def _backward() -> None:
            # d(a + b)/da = 1, d(a + b)/db = 1: addition routes the gradient unchanged
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __sub__(self, other) -> "Value":
        other = self._wrap(other)
        if other is NotImplemented:
            return NotImplemented
        out = Value(self.data - other.data, _inputs=(self, other), _op="−")

        def _backward() -> None:
            # d(a − b)/da = 1, d(a − b)/db = −1
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __mul__(self, other) -> "Value":
        other = self._wrap(other)
        if other is NotImplemented:
            return NotImplemented
        out = Value(self.data * other.data, _inputs=(self, other), _op="×")

        def _backward() -> None:
            # d(a·b)/da = b, d(a·b)/db = a: multiplication swaps the inputs
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other) -> "Value":
        other = self._wrap(other)
        if other is NotImplemented:
            return NotImplemented
        if other.data == 0.0:
            raise ZeroDivisionError(f"Value division by zero ({self.data:g} / 0)")
        out = Value(self.data / other.data, _inputs=(self, other), _op="÷")

        def _backward() -> None:
            # d(a/b)/da = 1/b, d(a/b)/db = −a/b²
            self.grad += out.grad / other.data
            other.grad += -self.data / other.data ** 2 * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent) -> "Value":
        if isinstance(exponent, Value) or not isinstance(exponent, numbers.Real):
            raise TypeError("Value ** p supports a numeric exponent p only (write exp(p·log(a)) for a Value exponent)")
        p = float(exponent)
        if self.data == 0.0 and p < 0:
            raise ZeroDivisionError(f"Value: 0 ** {p:g} is undefined")
        if self.data < 0 and not p.is_integer():
            raise ValueError(f"Value: a negative base ({self.data:g}) with a non-integer exponent ({p:g}) is not real")
        out = Value(self.data ** p, _inputs=(self,), _op=f"**{p:g}")

        def _backward() -> None:
            # d(aᵖ)/da = p·aᵖ⁻¹
            self.grad += p * self.data ** (p - 1) * out.grad

        out._backward = _backward
        return out

    # -- reflected and unary forms ---------------------------------------------------------------
    def __radd__(self, other) -> "Value":   # 2 + v
        return self + other

    def __rmul__(self, other) -> "Value":   # 2 * v
        return self * other

    def __rsub__(self, other) -> "Value":   # 2 - v
        other = self._wrap(other)
        return NotImplemented if other is NotImplemented else other - self

    def __rtruediv__(self, other) -> "Value":  # 2 / v
        other = self._wrap(other)
        return NotImplemented if other is NotImplemented else other / self

    def __neg__(self) -> "Value":
        out = Value(-self.data, _inputs=(self,), _op="neg")

        def _backward() -> None:
            # d(−a)/da = −1
            self.grad -= out.grad

        out._backward = _backward
        return out

    def __pos__(self) -> "Value":
        return self

    # -- elementary functions --------------------------------------------------------------------
    def exp(self) -> "Value":
        try:
            e = math.exp(self.data)
        except OverflowError as err:
            raise OverflowError(f"Value.exp overflows for input {self.data:g}") from err
        out = Value(e, _inputs=(self,), _op="exp")

        def _backward() -> None:
            # d(eᵃ)/da = eᵃ, which is the output itself
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self) -> "Value":
        if self.data <= 0:
            raise ValueError(f"Value.log needs a positive input, got {self.data:g}")
        out = Value(math.log(self.data), _inputs=(self,), _op="log")

        def _backward() -> None:
            # d(log a)/da = 1/a
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self) -> "Value":
        t = math.tanh(self.data)
        out = Value(t, _inputs=(self,), _op="tanh")

        def _backward() -> None:
            # d(tanh a)/da = 1 − tanh²(a)  (seed 4.1.3)
            self.grad += (1.0 - t * t) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self) -> "Value":
        a = self.data
        # the two algebraically equal forms avoid overflow of exp for large |a|
        s = 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))
        out = Value(s, _inputs=(self,), _op="σ")

        def _backward() -> None:
            # dσ(a)/da = σ(a)·(1 − σ(a))  (seed 4.1.1)
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> "Value":
        out = Value(self.data if self.data > 0 else 0.0, _inputs=(self,), _op="ReLU")

        def _backward() -> None:
            # d max(0, a)/da = 1 if a > 0 else 0 (the subgradient 0 is used at a = 0; seed 4.1.4)
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    # -- the backward pass -----------------------------------------------------------------------
    def topological_order(self) -> list["Value"]:
        """Every node this Value depends on, inputs before the nodes computed from them.

        Iterative depth-first search (an explicit stack instead of recursion), so graphs
        thousands of nodes deep do not hit Python's recursion limit.  Each node appears once,
        even when it is used several times.
        """
        order: list[Value] = []
        visited: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))  # revisit after all inputs have been emitted
            for child in reversed(node.inputs):  # reversed: the first input is emitted first
                if id(child) not in visited:
                    stack.append((child, False))
        return order

    def backward(self) -> None:
        """Fill ``grad`` of every node with ∂self/∂node (chain rule in reverse topological order).

        The seed gradient is ∂self/∂self = 1.  A node used by several operations receives the sum
        of the gradients flowing back along each use (every ``_backward`` adds with ``+=``), which
        is the multivariate chain rule.  Leaf gradients accumulate across calls (PyTorch
        semantics); call :meth:`zero_grad` to reset them.
        """
        order = self.topological_order()
        for node in order:
            if not node.is_leaf:  # intermediate gradients belong to one backward pass only
                node.grad = 0.0
        self.grad = 1.0 if not self.is_leaf else self.grad + 1.0
        for node in reversed(order):
            node._backward()

    def zero_grad(self) -> None:
        """Set ``grad = 0`` on every node of the graph ending at this Value."""
        for node in self.topological_order():
            node.grad = 0.0


# -------------------------------------------------------------------------------------------------
# Drawing (matplotlib only)
# -------------------------------------------------------------------------------------------------
def graph_layout(root: Value) -> tuple[dict[int, tuple[float, float]], list[Value], list[tuple]]:
    """Layered left→right layout of the graph ending at ``root``.

    Value nodes and operation nodes alternate: a computed Value sits one layer right of its
    operation, which sits one layer right of its deepest input (longest-path layering).  Leaves
    are then pulled right next to their first use, so a constant used late does not draw a long
    edge across the picture.  Within a layer, nodes are ordered by the mean position of their
    inputs (one barycentre sweep), which removes most edge crossings in small graphs.

    Returns ``(positions, values, edges)``: ``positions`` maps ``id(node)`` (Value) or
    ``("op", id(value))`` to ``(x, y)``; ``values`` lists the Value nodes in topological order;
    ``edges`` lists ``(source_key, target_key)`` pairs in the forward direction.
    """
    values = root.topological_order()
    layer: dict = {}
    for v in values:  # inputs come first, so their layers are known
        if v.is_leaf:
            layer[id(v)] = 0
        else:
            layer[("op", id(v))] = max(layer[id(c)] for c in v.inputs) + 1
            layer[id(v)] = layer[("op", id(v))] + 1
    first_use: dict[int, int] = {}
    for v in values:
        if not v.is_leaf:
            for c in v.inputs:
                first_use[id(c)] = min(first_use.get(id(c), layer[("op", id(v))]), layer[("op", id(v))])
    for v in values:
        if v.is_leaf and id(v) in first_use:
            layer[id(v)] = first_use[id(v)] - 1
    edges: list[tuple] = []
    for v in values:
        if not v.is_leaf:
            op_key = ("op", id(v))
            for c in dict.fromkeys(v.inputs):  # a node used twice by one op gets one arrow
                edges.append((id(c), op_key))
            edges.append((op_key, id(v)))
    keys = []
    for v in values:
        if not v.is_leaf:
            keys.append(("op", id(v)))
        keys.append(id(v))
    n_layers = max(layer.values()) + 1
    by_layer: list[list] = [[] for _ in range(n_layers)]
    for k in keys:
        by_layer[layer[k]].append(k)
    sources: dict = {}
    for s, t in edges:
        sources.setdefault(t, []).append(s)
    rank: dict = {}
    for nodes in by_layer:
        def bary(k, _i={k: i for i, k in enumerate(nodes)}):
            ranks = [rank[s] for s in sources.get(k, []) if s in rank]
            return (sum(ranks) / len(ranks)) if ranks else _i[k]
        nodes.sort(key=bary)
        for i, k in enumerate(nodes):
            rank[k] = i - (len(nodes) - 1) / 2
    positions = {k: (3.0 * layer[k], -1.6 * rank[k]) for k in keys}
    return positions, values, edges


def draw_graph(root: Value, ax=None, *, show_grad: bool = True, fontsize: float = 8.0):
    """Draw the computational graph ending at ``root`` (seed 3.1), e.g. f(x, y, z) = (x + y)·z.

    Value nodes are boxes showing ``label``, ``data`` and ``grad``; operations are small circles;
    arrows show the forward flow from inputs to outputs (the gradients flow back along them).
    Boxes carry the matplotlib gid ``"value-node"`` and circles ``"op-node"``, so tests and
    notebooks can find them.  Returns the Axes (a new figure is created when ``ax`` is None).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    positions, values, edges = graph_layout(root)
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    if ax is None:
        width = max(4.0, 1.3 * (max(xs) - min(xs)) / 3.0 + 2.5)
        height = max(2.5, 0.85 * (max(ys) - min(ys)) / 1.6 + 1.5)
        _, ax = plt.subplots(figsize=(width, height))
    box_w, box_h, radius = 2.0, 1.1, 0.32

    def anchor(key, towards_right: bool):
        x, y = positions[key]
        half = radius if isinstance(key, tuple) else box_w / 2
        return (x + half, y) if towards_right else (x - half, y)

    for s, t in edges:
        arrow = FancyArrowPatch(anchor(s, True), anchor(t, False), arrowstyle="-|>", mutation_scale=10,
                                color="0.35", lw=1.0, shrinkA=0, shrinkB=0, zorder=1)
        ax.add_patch(arrow)
    for v in values:
        x, y = positions[id(v)]
        box = FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h, boxstyle="round,pad=0.02,rounding_size=0.12",
                             facecolor="#e8f0fb" if v.is_leaf else "#fdf3e1", edgecolor="0.25", lw=1.0, zorder=2)
        box.set_gid("value-node")
        ax.add_patch(box)
        lines = ([v.label] if v.label else []) + [f"data {v.data:.4g}"] + ([f"grad {v.grad:.4g}"] if show_grad else [])
        ax.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=fontsize, zorder=3)
        if not v.is_leaf:
            ox, oy = positions[("op", id(v))]
            circle = Circle((ox, oy), radius, facecolor="white", edgecolor="0.25", lw=1.0, zorder=2)
            circle.set_gid("op-node")
            ax.add_patch(circle)
            small = fontsize if len(v.op) <= 2 else fontsize * 0.7  # "tanh", "ReLU" must fit the circle
            ax.text(ox, oy, v.op, ha="center", va="center", fontsize=small, zorder=3)
    ax.set_xlim(min(xs) - box_w / 2 - 0.3, max(xs) + box_w / 2 + 0.3)
    ax.set_ylim(min(ys) - box_h / 2 - 0.3, max(ys) + box_h / 2 + 0.3)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


# -------------------------------------------------------------------------------------------------
# A small neural network made of Values (seed 3: a neural network is a computational graph)
# -------------------------------------------------------------------------------------------------
_ACTIVATIONS = {"tanh": Value.tanh, "relu": Value.relu, "sigmoid": Value.sigmoid, "linear": lambda v: v}


class Neuron:
    """One neuron: ``act(Σ_j w_j x_j + b)`` built from scalar Values (seed 4, 5.1).

    ``x``: a sequence of ``nin`` numbers or Values → one Value.  Weights start ``U(−1, 1)``.
    """

    def __init__(self, nin: int, activation: str = "tanh", name: str = "n", rng=None) -> None:
        if activation not in _ACTIVATIONS:
            raise ValueError(f"Neuron: activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        gen = get_rng(rng)
        self.w = [Value(float(gen.uniform(-1, 1)), f"{name}.w{j}") for j in range(nin)]
        self.b = Value(0.0, f"{name}.b")
        self.activation = activation
        self.name = name

    def __call__(self, x: Sequence) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron {self.name} expected {len(self.w)} inputs, got {len(x)}")
        z = self.b
        for wj, xj in zip(self.w, x):
            z = z + wj * xj
        out = _ACTIVATIONS[self.activation](z)
        out.label = self.name
        return out

    def parameters(self) -> list[Value]:
        return self.w + [self.b]


class Layer:
    """``nout`` neurons that see the same inputs: ``nin`` inputs → list of ``nout`` Values."""

    def __init__(self, nin: int, nout: int, activation: str = "tanh", name: str = "h", rng=None) -> None:
        gen = get_rng(rng)
        self.neurons = [Neuron(nin, activation, f"{name}{i}", gen) for i in range(nout)]

    def __call__(self, x: Sequence) -> list[Value]:
        return [n(x) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    """A multi-layer perceptron of Values, e.g. ``MLP(2, [2, 1])`` is the 2-2-1 net of the notebook.

    Hidden layers use ``activation`` (tanh by default), the output layer is linear unless
    ``output_activation`` says otherwise.  ``mlp(x)`` returns a Value when the last layer has
    one neuron, else a list of Values.
    """

    def __init__(self, nin: int, sizes: Sequence[int], activation: str = "tanh",
                 output_activation: str = "linear", rng=None) -> None:
        gen = get_rng(rng)
        dims = [nin, *sizes]
        self.layers = [Layer(dims[i], dims[i + 1], activation if i < len(sizes) - 1 else output_activation,
                             name="h" if i < len(sizes) - 1 else "out", rng=gen) for i in range(len(sizes))]
        if len(sizes) > 1:  # name hidden layers h1., h2., … so labels stay unique
            for li, layer in enumerate(self.layers[:-1], start=1):
                for i, n in enumerate(layer.neurons):
                    n.name = f"h{li}.{i}"
                    for j, w in enumerate(n.w):
                        w.label = f"{n.name}.w{j}"
                    n.b.label = f"{n.name}.b"

    def __call__(self, x: Iterable):
        h = [xi if isinstance(xi, Value) else Value(float(xi), f"x{i}") for i, xi in enumerate(x)]
        for layer in self.layers:
            h = layer(h)
        return h[0] if len(h) == 1 else h

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    def step(self, lr: float) -> None:
        """Plain gradient descent on every weight: ``w ← w − lr·∂L/∂w`` (seed 4.3.2)."""
        for p in self.parameters():
            p.data -= lr * p.grad
