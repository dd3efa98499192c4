"""The scalar computational graph (seed 3): gradients vs finite differences, reuse, drawing, a tiny net."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from hypothesis import assume, given, settings, strategies as st  # noqa: E402

from dlcourse.graph import MLP, Value, draw_graph, graph_layout  # noqa: E402

pytestmark = pytest.mark.graph


def test_seed_example_f_equals_x_plus_y_times_z():
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    f = (x + y) * z
    f.backward()
    assert f.data == -12.0
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)  # ∂f/∂x = ∂f/∂y = z, ∂f/∂z = x + y


# --- random expression graphs (with reuse) vs central differences ------------------------------------
# A program is a list of (op, i, j): node k = op(node i, node j) over the leaves and earlier nodes, so
# any earlier node can be used several times.  The same program runs on Values and on plain floats.
UNARY = ["exp", "log", "tanh", "sigmoid", "relu", "neg", "pow3", "sqrt"]
BINARY = ["add", "sub", "mul", "div", "radd", "rmul", "rsub", "rdiv"]


def apply(op, a, b, is_value, relu_inputs):
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / (b * b + 1.0)
    if op == "radd":
        return 2.5 + a
    if op == "rmul":
        return 0.5 * a
    if op == "rsub":
        return 1.0 - a
    if op == "rdiv":
        return 1.0 / (a * a + 0.5)
    if op == "neg":
        return -a
    if op == "pow3":
        return a ** 3
    if op == "sqrt":
        return (a * a + 1.0) ** 0.5
    if op == "exp":
        return a.tanh().exp() if is_value else math.exp(math.tanh(a))  # tanh keeps exp from overflowing
    if op == "log":
        return (a * a + 0.1).log() if is_value else math.log(a * a + 0.1)
    if op == "tanh":
        return a.tanh() if is_value else math.tanh(a)
    if op == "sigmoid":
        return a.sigmoid() if is_value else 1.0 / (1.0 + math.exp(-a))
    if op == "relu":
        relu_inputs.append(a.data if is_value else a)
        return a.relu() if is_value else max(a, 0.0)
    raise AssertionError(op)


def run(program, leaves, is_value, relu_inputs=None):
    nodes = list(leaves)
    relu_inputs = [] if relu_inputs is None else relu_inputs
    for op, i, j in program:
        nodes.append(apply(op, nodes[i % len(nodes)], nodes[j % len(nodes)], is_value, relu_inputs))
    # sum the last two nodes so that more than one path reaches the output
    return nodes[-1] + nodes[-2] if len(nodes) > 1 else nodes[-1]


programs = st.lists(st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 50), st.integers(0, 50)),
                    min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(program=programs, leaf_values=st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_random_graph_gradients_match_finite_differences(program, leaf_values):
    leaves = [Value(v, f"x{i}") for i, v in enumerate(leaf_values)]
    relu_inputs: list = []
    try:
        out = run(program, leaves, True, relu_inputs)
    except OverflowError:
        assume(False)
    assume(abs(out.data) < 1e6)
    assume(all(abs(r) > 1e-3 for r in relu_inputs))  # stay off ReLU's kink for finite differences
    out.backward()
    h = 1e-6
    for k in range(3):
        plus, minus = list(leaf_values), list(leaf_values)
        plus[k] += h
        minus[k] -= h
        numeric = (run(program, plus, False) - run(program, minus, False)) / (2 * h)
        assert leaves[k].grad == pytest.approx(numeric, rel=1e-5, abs=1e-6 * max(1.0, abs(out.data)))
    assert out.data == pytest.approx(run(program, leaf_values, False), rel=1e-12, abs=1e-12)


def test_reused_nodes_accumulate():
    x = Value(3.0, "x")
    (x * x).backward()
    assert x.grad == 6.0  # d(x²)/dx = 2x: both uses contribute
    x.zero_grad()
    y = Value(2.0, "y")
    a = x + y
    f = a * a + a  # a used three times
    f.backward()
    assert x.grad == pytest.approx(2 * 5.0 + 1) and y.grad == pytest.approx(11.0)
    assert a.grad == pytest.approx(11.0)


def test_leaf_gradients_accumulate_until_zero_grad():
    x = Value(1.5, "x")
    f = x.tanh() * 2.0
    f.backward()
    g = x.grad
    f.backward()
    assert x.grad == pytest.approx(2 * g)  # leaves accumulate like PyTorch…
    assert f.inputs[0].grad == pytest.approx(2.0)  # …intermediate nodes are recomputed, not doubled
    f.zero_grad()
    assert x.grad == 0.0 and f.grad == 0.0


def test_deep_graph_does_not_hit_the_recursion_limit():
    x = Value(0.5, "x")
    y = x
    for _ in range(20_000):
        y = y * 1.0001 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 20_000, rel=1e-9)


def test_every_op_local_derivative():
    a = 0.7
    cases = {
        "exp": (lambda v: v.exp(), math.exp(a)),
        "log": (lambda v: v.log(), 1 / a),
        "tanh": (lambda v: v.tanh(), 1 - math.tanh(a) ** 2),
        "sigmoid": (lambda v: v.sigmoid(), math.exp(-a) / (1 + math.exp(-a)) ** 2),
        "relu": (lambda v: v.relu(), 1.0),
        "pow": (lambda v: v ** 2.5, 2.5 * a ** 1.5),
        "rtruediv": (lambda v: 3.0 / v, -3.0 / a ** 2),
        "rsub": (lambda v: 3.0 - v, -1.0),
        "neg": (lambda v: -v, -1.0),
    }
    for name, (fn, expected) in cases.items():
        v = Value(a)
        fn(v).backward()
        assert v.grad == pytest.approx(expected, rel=1e-12), name
    v = Value(-0.3)
    v.relu().backward()
    assert v.grad == 0.0
    big = Value(-800.0).sigmoid()  # no overflow
    assert big.data == pytest.approx(0.0) and math.isfinite(big.data)


def test_errors():
    with pytest.raises(ValueError, match="positive"):
        Value(-1.0).log()
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / 0.0
    with pytest.raises(TypeError, match="numeric exponent"):
        Value(2.0) ** Value(2.0)
    with pytest.raises(ValueError, match="non-integer exponent"):
        Value(-2.0) ** 0.5
    with pytest.raises(TypeError):
        Value("3")
    with pytest.raises(TypeError):
        Value(1.0) + "a"


def test_draw_graph_of_the_seed_example():
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    f = (x + y) * z
    f.label = "f"
    f.backward()
    ax = draw_graph(f)
    boxes = [p for p in ax.patches if p.get_gid() == "value-node"]
    circles = [p for p in ax.patches if p.get_gid() == "op-node"]
    assert len(boxes) == 5 and len(circles) == 2  # x, y, z, x+y, f; "+" and "×"
    texts = [t.get_text() for t in ax.texts]
    assert "x\ndata -2\ngrad -4" in texts and "f\ndata -12\ngrad 1" in texts
    assert "+" in texts and "×" in texts
    positions, values, edges = graph_layout(f)
    assert len(edges) == 6  # x,y→+ ; +→(x+y) ; (x+y),z→× ; ×→f
    xs = {v.label: positions[id(v)][0] for v in values}
    assert xs["x"] == xs["y"] < xs["f"]  # forward flow left to right
    plt.close(ax.figure)


def test_tiny_network_as_a_graph():
    net = MLP(2, [2, 1], rng=0)  # the 2-2-1 network
    assert len(net.parameters()) == 2 * 3 + 3
    X = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    targets = [-1.0, 1.0, 1.0, -1.0]

    def loss_fn():
        total = Value(0.0)
        for xi, ti in zip(X, targets):
            total = total + (net(xi) - ti) ** 2
        return total * 0.25

    loss = loss_fn()
    net.zero_grad()
    loss.backward()
    # one parameter's gradient by central differences
    w = net.parameters()[0]
    analytic, old, h = w.grad, w.data, 1e-6
    w.data = old + h
    plus = loss_fn().data
    w.data = old - h
    minus = loss_fn().data
    w.data = old
    assert analytic == pytest.approx((plus - minus) / (2 * h), rel=1e-6)
    # gradient descent on the graph lowers the loss
    first = loss.data
    for _ in range(50):
        loss = loss_fn()
        net.zero_grad()
        loss.backward()
        net.step(0.2)
    assert loss_fn().data < first
    ax = draw_graph(net((1.0, 0.0)))
    n_values = len(net((1.0, 0.0)).topological_order())
    assert len([p for p in ax.patches if p.get_gid() == "value-node"]) == n_values
    plt.close(ax.figure)
