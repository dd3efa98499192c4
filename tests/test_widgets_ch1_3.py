"""The interactive figures of chapters 1–3, driven without a browser (Agg backend).

Each test moves controls the way a student would and checks the model *and* the plotted data
against the lecture's formulas computed independently here (numpy, finite differences).
"""
import math

import numpy as np
import pytest
from widget_checks import assert_canvas_matches_full_render
from matplotlib.colors import to_rgb
from hypothesis import given, settings, strategies as st

from dlcourse.data import load_digits
from dlcourse.metrics import top_k_accuracy
from dlcourse.unsupervised import PCA, KMeans
from dlcourse.widgets import basics, graphs, linear_models as lmw
from dlcourse.widgets.base import COLORS

pytestmark = pytest.mark.widgets

ALL = [basics.TopKExplorer, basics.KMeansExplorer, basics.PCAExplorer, lmw.GradientDescentLine,
       lmw.LogisticBoundary, graphs.ExpressionGraph, graphs.NeuronGraph]

#: for every control of every figure, a value different from its default
MOVES = {
    basics.TopKExplorer: {"dataset": "digits", "epochs": 1, "k": 2, "sample": 11},
    basics.KMeansExplorer: {"k": 4, "iterations": 2, "init": "random", "seed": 5},
    basics.PCAExplorer: {"dataset": "fashion", "k": 3},
    lmw.GradientDescentLine: {"lr": 0.02, "iterations": 120, "noise": 1.2, "standardize": True},
    lmw.LogisticBoundary: {"dataset": "moons", "noise": 0.1, "features": "quadratic", "lr": 2.0, "iterations": 40},
    graphs.ExpressionGraph: {"expression": "shared", "x": 1.5, "y": -0.5, "z": 2.0},
    graphs.NeuronGraph: {"activation": "tanh", "loss": True, "target": -0.5, "x0": 0.5, "x1": 1.0, "w0": -1.0,
                         "w1": 0.5, "b": 0.3},
}


def move(w, name, value):
    """Move one control as the browser does (through the observer), and fail on a hidden error."""
    w.controls[name].value = value
    assert w.error is None, f"{type(w).__name__}.{name} = {value!r} raised {w.error!r}"
    return w.data


def pixels(w) -> np.ndarray:
    w.figure.canvas.draw()
    return np.asarray(w.figure.canvas.buffer_rgba()).copy()


def sigmoid(s):
    return 1 / (1 + np.exp(-s))


@pytest.fixture(scope="module")
def digits_X():
    return load_digits(flatten=True).X_train.astype(np.float64)


# -- every figure, every control ----------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_control_repaints_the_figure(cls):
    w = cls()
    assert w.data and w.error is None and w.status.value
    assert set(MOVES[cls]) == set(w.controls), "the test must move every control"
    for name, control in w.controls.items():
        if hasattr(control, "continuous_update"):
            assert control.continuous_update is False, f"{cls.__name__}.{name} retrains while dragging"
    axes = list(w.figure.axes)
    after = pixels(w)
    for name, value in MOVES[cls].items():
        before, status = after, w.status.value
        move(w, name, value)
        assert w.controls[name].value == value
        after = pixels(w)
        assert not np.array_equal(after, before), f"{cls.__name__}: moving {name} did not change the plot"
        assert w.status.value != status or name in ("sample",), f"{cls.__name__}: {name} left the summary as it was"
    assert w.figure.axes == axes, "axes must be updated in place, never re-created"
    w.close()


# -- 1.2 top-k -----------------------------------------------------------------------------------------------------
@pytest.mark.accuracy
def test_top_k_curve_follows_the_metric_and_the_trained_model_beats_chance():
    w = basics.TopKExplorer()
    d = w.data
    run = d["run"]
    scores = run.scores[-1]
    assert np.allclose(d["curve"], [top_k_accuracy(scores, run.labels, k) for k in range(1, 11)])
    assert np.all(np.diff(d["curve"]) >= 0) and d["curve"][-1] == 1.0
    # a real classifier on held-out Fashion-MNIST: top-1 well above chance, top-5 almost always right
    assert d["top1"] > 0.75 and d["curve"][4] > 0.97
    assert d["topk_error"] == pytest.approx(1 - d["curve"][4])
    assert np.allclose(w.artists["curve"].get_ydata(), d["curve"])
    d0 = move(w, "epochs", 0)  # the untrained network is at chance level k/10
    assert abs(d0["top1"] - 0.1) < 0.1 and abs(d0["curve"][4] - 0.5) < 0.2
    d = move(w, "dataset", "digits")
    assert w.controls["epochs"].value == w.controls["epochs"].max == basics.DEMO_EPOCHS["digits"]
    assert d["n_test"] == 360 and d["image"].shape == (8, 8) and d["top1"] > 0.85


def test_top_k_bars_show_the_sorted_probabilities_and_the_cut():
    w = basics.TopKExplorer(dataset="digits")
    for k in (1, 3, 7):
        for sample in (0, 5, 42):
            w.set(k=k, sample=sample)
            d = w.data
            widths = np.array([b.get_width() for b in w.artists["bars"]])
            assert widths.sum() == pytest.approx(1.0) and np.all(np.diff(widths) <= 1e-12)
            assert np.allclose(widths, np.sort(d["probabilities"])[::-1])
            true_pos = list(d["order"]).index(d["true"])
            assert d["rank"] == true_pos + 1  # no ties among float scores
            assert d["in_top_k"] == (d["rank"] <= k)
            colours = [b.get_facecolor()[:3] for b in w.artists["bars"]]
            expected_true = to_rgb("#2ca02c") if d["in_top_k"] else to_rgb("#d62728")  # green inside, red outside
            assert np.allclose(colours[true_pos], expected_true)
            coloured = sum(np.allclose(c, COLORS[0]) for c in colours) + (true_pos < k)
            assert coloured == k
            assert w.artists["cut"].get_ydata()[0] == k - 0.5
            assert d["topk"] == pytest.approx(top_k_accuracy(d["run"].scores[-1], d["run"].labels, k))


# -- 1.1 k-means ---------------------------------------------------------------------------------------------------
def test_k_changes_the_number_of_centres_and_matches_the_library(digits_X):
    w = basics.KMeansExplorer()
    for k in (1, 3, 10, 20):
        d = move(w, "k", k)
        assert d["centers"].shape == (k, 64) and len(w.artists["centers"].get_offsets()) == k
        assert sum(bool(t.get_text()) for t in w.artists["names"]) == k
        ref = KMeans(k, rng=0, max_iter=50).fit(digits_X)
        assert d["inertia"] == pytest.approx(ref.inertia_)
        assert np.allclose(d["centers"], ref.cluster_centers_)
        assert set(np.unique(w.artists["points"].get_array())) <= set(range(k))
    # more clusters: lower inertia, and the clusters match the digits better (purity)
    assert move(w, "k", 2)["purity"] < 0.4 < 0.65 < move(w, "k", 12)["purity"]


def test_lloyd_iterations_lower_the_inertia_monotonically():
    w = basics.KMeansExplorer(k=10)
    full = w.data
    h = full["inertia_history"]
    assert np.all(np.diff(h) <= 1e-9)
    assert np.allclose(w.artists["history"].get_ydata(), h)
    early = move(w, "iterations", 1)
    assert early["n_iter"] == 1 and early["inertia"] > full["inertia"]
    assert move(w, "iterations", 3)["inertia"] <= early["inertia"]
    d = move(w, "init", "random")
    assert not np.allclose(d["centers"], full["centers"][:len(d["centers"])])


def test_cluster_purity_counts_the_majority_labels():
    clusters = np.array([0, 0, 0, 1, 1, 2])
    labels = np.array([3, 3, 5, 4, 4, 4])
    purity, majority = basics.cluster_purity(clusters, labels)
    assert purity == pytest.approx(5 / 6) and list(majority) == [3, 4, 4]


# -- 1.1 PCA -------------------------------------------------------------------------------------------------------
def test_pca_reconstruction_matches_a_k_component_fit(digits_X):
    w = basics.PCAExplorer()
    mses = []
    for k in (1, 2, 5, 20, 64):
        d = move(w, "k", k)
        ref = PCA(k).fit(digits_X)
        expected = ref.inverse_transform(ref.transform(d["original"]))
        assert np.allclose(d["reconstruction"], expected, atol=1e-8)
        assert d["cumulative"] == pytest.approx(ref.explained_variance_ratio_.sum())
        assert w.artists["marker"].get_xdata()[0] == k
        mses.append(d["mse"])
    assert all(a > b for a, b in zip(mses, mses[1:])) and mses[-1] < 1e-12
    assert d["cumulative"] == pytest.approx(1.0)


def test_pca_dataset_switch_changes_dimensions_and_range():
    w = basics.PCAExplorer(k=30)
    d = move(w, "dataset", "fashion")
    assert d["d"] == 784 and w.controls["k"].max == basics.PCAExplorer.K_MAX["fashion"]
    assert d["reconstruction"].shape == (basics.PCAExplorer.SHOW, 784)
    assert w.artists["mosaic"].get_array().shape[1] > 6 * 28
    move(w, "k", 150)
    d = move(w, "dataset", "digits")
    assert w.controls["k"].value == 64 and d["k"] == 64  # clamped to the 64 pixels of a digit


# -- 2.2 gradient descent vs the normal equation -------------------------------------------------------------------
def _design(x):
    return np.column_stack([np.ones(len(x)), x])


def test_normal_equation_and_each_gradient_step_follow_the_lecture():
    w = lmw.GradientDescentLine(iterations=5, lr=0.05)
    d = w.data
    X, y = d["X"], d["y"]
    A = _design(X[:, 0])
    star, *_ = np.linalg.lstsq(A, y, rcond=None)
    assert np.allclose(d["theta_normal"], star)
    assert d["cost_min"] == pytest.approx(np.mean((A @ star - y) ** 2))
    path = d["path"]
    assert np.allclose(path[0], 0) and len(path) == 6
    for t0, t1 in zip(path[:-1], path[1:]):
        grad = 2 / len(y) * A.T @ (A @ t0 - y)  # ∇ of J(θ) = (1/n)‖Xθ − y‖², Seed 2.2.2
        assert np.allclose(t1, t0 - 0.05 * grad)
    assert np.allclose(d["costs"], [np.mean((A @ t - y) ** 2) for t in path])
    assert np.allclose(w.artists["path"].get_xydata(), path)
    assert np.allclose(w.artists["gd_line"].get_ydata(), _design(np.array([0.0, 3.0])) @ d["theta_gd"])
    assert np.allclose(w.artists["normal_line"].get_ydata(), _design(np.array([0.0, 3.0])) @ star)


def test_more_iterations_bring_gradient_descent_to_the_normal_equation():
    w = lmw.GradientDescentLine(lr=0.1)
    distances = [move(w, "iterations", n)["distance"] for n in (0, 10, 50, 150, 500)]
    assert all(a > b for a, b in zip(distances, distances[1:]))
    assert distances[-1] < 1e-6
    assert len(w.artists["costs"].get_xdata()) == 501


def test_learning_rate_beyond_two_over_the_largest_curvature_diverges():
    w = lmw.GradientDescentLine(iterations=200)
    X = w.data["X"]
    A = _design(X[:, 0])
    lam_max = np.linalg.eigvalsh(2 / len(X) * A.T @ A).max()  # Hessian of J
    d = w.set(lr=0.9 * 2 / lam_max).data
    assert not d["diverged"] and d["distance"] < 1e-3
    d = w.set(lr=1.1 * 2 / lam_max).data
    assert d["diverged"] and "diverged" in w.status.value.lower()
    assert np.all(np.isfinite(w.artists["path"].get_xydata()))  # the path is drawn up to the blow-up


def test_standardizing_x_makes_gradient_descent_converge_faster():
    w = lmw.GradientDescentLine(lr=0.1, iterations=40)
    raw = w.data
    std = move(w, "standardize", True)
    assert std["distance"] < 1e-3 < raw["distance"]
    # the same line in the original units, whatever the features
    xs = np.array([0.0, 3.0])
    line_std = _design((xs - std["x_mean"]) / std["x_std"]) @ std["theta_normal"]
    assert np.allclose(line_std, _design(xs) @ raw["theta_normal"])
    noisy = move(w, "noise", 2.0)
    assert noisy["cost_min"] > std["cost_min"] and not np.allclose(noisy["y"], std["y"])


# -- 2.3 logistic regression ---------------------------------------------------------------------------------------
def test_logistic_boundary_probabilities_and_logits_follow_the_model():
    w = lmw.LogisticBoundary()
    d = w.data
    theta, X, y = d["theta"], d["X"], d["y"]
    z = theta[0] + X @ theta[1:]
    assert np.allclose(d["logits"], z)
    grid = w._grid
    assert np.allclose(d["probability"].ravel(), sigmoid(theta[0] + grid @ theta[1:]))
    assert np.allclose(w.artists["probability"].get_array(), d["probability"])
    assert d["accuracy"] == pytest.approx(np.mean((sigmoid(z) > 0.5) == y))
    cost = -np.mean(y * np.log(sigmoid(z)) + (1 - y) * np.log(1 - sigmoid(z)))  # Seed 2.3.3
    assert d["cost"] == pytest.approx(cost)
    assert np.allclose(w.artists["on_sigmoid"].get_offsets()[:, 0], np.clip(z, -7.9, 7.9))
    assert d["accuracy"] > 0.9


def test_logistic_iterations_learning_rate_and_features():
    w = lmw.LogisticBoundary(lr=0.1)
    costs = [move(w, "iterations", n)["cost"] for n in (1, 10, 100, 1000)]
    assert all(a > b for a, b in zip(costs, costs[1:]))
    assert np.all(np.diff(w.data["history"]) <= 1e-12)  # a small step only goes downhill
    theta = w.data["theta"].copy()
    assert not np.allclose(move(w, "lr", 1.0)["theta"], theta)
    w.set(dataset="circles", noise=0.05, lr=1.0, iterations=1000)
    linear = w.data["accuracy"]
    quadratic = move(w, "features", "quadratic")["accuracy"]
    assert linear < 0.7 < 0.95 < quadratic  # no line separates circles; x₁² + x₂² does
    assert len(w.data["theta"]) == 6


# -- 3 computational graphs ----------------------------------------------------------------------------------------
def test_lecture_example_forward_and_backward():
    w = graphs.ExpressionGraph()
    d = w.data
    assert d["output"] == -12.0  # (−2 + 5)·(−4), Seed 3.1
    assert d["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    texts = [t.get_text() for t in w.figure.axes[0].texts]
    assert any("data -12" in t and "grad 1" in t for t in texts)
    assert any(t.startswith("q = x + y") and "data 3" in t and "grad -4" in t for t in texts)
    assert [b.get_height() for b in w.artists["bars"]] == [-4.0, -4.0, 3.0]


def shown_boxes(ax) -> list:
    return [p for p in ax.patches if p.get_gid() == "value-node" and p.get_visible()]


def test_moving_an_input_rewrites_the_same_texts_and_a_new_expression_shows_its_graph():
    w = graphs.ExpressionGraph()
    ax = w.figure.axes[0]
    texts = list(ax.texts)
    move(w, "x", 1.0)
    assert list(ax.texts) == texts  # in place: the same artists, new numbers
    assert any("data -24" in t.get_text() for t in texts)
    boxes = shown_boxes(ax)
    assert len(boxes) == len(w.data["nodes"]) == 5  # x, y, q, z, f
    move(w, "expression", "shared")
    assert len(shown_boxes(ax)) == len(boxes) + 1 == len(w.data["nodes"])  # x·y and y·z
    assert not any(b.get_visible() for b in boxes)  # the previous graph is hidden, not painted over
    assert w.figure.axes[0] is ax


@pytest.mark.parametrize("cls, moves", [
    (graphs.ExpressionGraph, [("expression", "shared"), ("expression", "exp"), ("x", 5.0), ("expression", "sigmoid")]),
    (graphs.NeuronGraph, [("activation", "relu"), ("loss", True), ("activation", "linear"), ("b", 3.0),
                          ("activation", "sigmoid")]),
], ids=lambda v: getattr(v, "__name__", ""))
def test_new_graph_shapes_and_gradient_scales_are_blitted(cls, moves):
    """Every shape is drawn once when the figure is made and the gradient axis is repainted with the
    bars: a new shape or a new gradient scale repaints without redrawing any axes."""
    w = cls()
    w.figure.canvas.draw()
    draws, spans = w.full_draws + w.partial_draws, set()
    for name, value in moves:
        move(w, name, value)
        spans.add(w.figure.axes[1].get_ylim())
        boxes = shown_boxes(w.figure.axes[0])
        assert len(boxes) == len(w.data["nodes"])
        texts = sorted(tuple(t.get_transform().transform(t.get_position()))  # in pixels
                       for t in w.artists["node_texts"] if t.get_text())
        centres = sorted(tuple(b.get_transform().transform((b.get_x() + b.get_width() / 2,
                                                             b.get_y() + b.get_height() / 2))) for b in boxes)
        assert np.allclose(texts, centres, atol=0.5)  # one number per shown box, at its centre
    assert len(spans) > 1  # the gradients' scale did change
    assert w.full_draws + w.partial_draws == draws
    assert_canvas_matches_full_render(w)


_EXPRESSION_GRAPH = []


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(list(graphs.EXPRESSIONS)), st.floats(-5, 5), st.floats(-5, 5), st.floats(-5, 5))
def test_backprop_matches_finite_differences_and_the_hand_derivation(expression, x, y, z):
    if not _EXPRESSION_GRAPH:  # one figure for all examples: the sliders move, as in the notebook
        _EXPRESSION_GRAPH.append(graphs.ExpressionGraph())
    w = _EXPRESSION_GRAPH[0]
    d = w.set(expression=expression, x=round(x, 1), y=round(y, 1), z=round(z, 1)).data
    x, y, z = (w.controls[n].value for n in "xyz")
    expected = {
        "sum_times": ((x + y) * z, {"x": z, "y": z, "z": x + y}),
        "shared": (x * y + y * z, {"x": y, "y": x + z, "z": y}),  # y is used twice: its gradients add
        "sigmoid": (sigmoid(x * y + z), {n: g * sigmoid(x * y + z) * (1 - sigmoid(x * y + z))
                                         for n, g in {"x": y, "y": x, "z": 1.0}.items()}),
        "exp": (math.exp(x) * (y - z), {"x": math.exp(x) * (y - z), "y": math.exp(x), "z": -math.exp(x)}),
    }[expression]
    assert d["output"] == pytest.approx(expected[0], rel=1e-12, abs=1e-12)
    for n in "xyz":
        assert d["gradients"][n] == pytest.approx(expected[1][n], rel=1e-9, abs=1e-12)
        assert d["numeric"][n] == pytest.approx(expected[1][n], rel=1e-5, abs=1e-6)
    assert np.allclose(w.artists["numeric"].get_offsets()[:, 1], [d["numeric"][n] for n in "xyz"])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "linear"])
def test_neuron_graph_gradients_follow_the_chain_rule(activation):
    w = graphs.NeuronGraph(activation=activation, loss=True, target=0.5)
    v = w.values
    x, wt = np.array([v["x0"], v["x1"]]), np.array([v["w0"], v["w1"]])
    zv = wt @ x + v["b"]
    act, dact = {"sigmoid": (sigmoid, lambda s: sigmoid(s) * (1 - sigmoid(s))),
                 "tanh": (np.tanh, lambda s: 1 - np.tanh(s) ** 2),
                 "relu": (lambda s: max(s, 0.0), lambda s: float(s > 0)),
                 "linear": (lambda s: s, lambda s: 1.0)}[activation]
    a = act(zv)
    d = w.data
    assert d["output"] == pytest.approx((a - 0.5) ** 2)
    dz = 2 * (a - 0.5) * dact(zv)  # ∂L/∂z = ∂L/∂a · ∂a/∂z
    g = d["gradients"]
    assert [g["w0"], g["w1"], g["b"]] == pytest.approx([dz * x[0], dz * x[1], dz])
    assert [g["x0"], g["x1"]] == pytest.approx([dz * wt[0], dz * wt[1]])
    assert np.allclose([d["numeric"][n] for n in g], list(g.values()), atol=1e-6)


def test_neuron_saturation_dead_relu_and_the_loss_switch():
    w = graphs.NeuronGraph()
    plain = w.data
    assert plain["output"] == pytest.approx(sigmoid(1.0))  # the default z = 2·(−1) + (−3)·(−2) − 3 = 1
    d = w.set(b=3.0, w0=3.0, x0=3.0).data  # z = 18: the sigmoid saturates
    assert max(abs(g) for g in d["gradients"].values()) < 1e-6
    d = w.set(activation="relu", b=-3.0, w0=-3.0).data  # z < 0: a dead unit passes no gradient
    assert all(g == 0 for g in d["gradients"].values()) and d["output"] == 0
    n_nodes = len(d["nodes"])
    d = move(w, "loss", True)
    assert len(d["nodes"]) == n_nodes + 3  # t, a − t and L = (a − t)² (the exponent belongs to the op)
    before = d["output"]
    assert move(w, "target", 0.5)["output"] != before


# -- responsiveness: the sliders a student moves most repaint by blitting, not by a full redraw ------------------
@pytest.mark.parametrize("cls, moves", [
    (basics.TopKExplorer, [("sample", 3), ("k", 2), ("sample", 4), ("epochs", 2)]),
    (basics.PCAExplorer, [("k", 5), ("k", 12), ("k", 30)]),
    (lmw.GradientDescentLine, [("lr", 0.05), ("lr", 0.2), ("iterations", 35)]),
    (lmw.LogisticBoundary, [("lr", 0.3), ("iterations", 150), ("lr", 0.1)]),
    (graphs.ExpressionGraph, [("x", 1.0), ("y", 2.0), ("z", -3.5)]),
    (graphs.NeuronGraph, [("x0", -0.5), ("w1", -2.5), ("b", -2.0)]),
], ids=lambda v: getattr(v, "__name__", ""))
def test_frequent_moves_repaint_without_a_full_redraw(cls, moves):
    w = cls()
    w.figure.canvas.draw()
    draws = w.full_draws + w.partial_draws  # neither a full nor a partial redraw: a blit
    for name, value in moves:
        move(w, name, value)
    redraws = w.full_draws + w.partial_draws - draws
    assert redraws == 0, f"{cls.__name__}: {redraws} redraws for {moves}"


REPAINTS = [
    (basics.TopKExplorer, "sample", 17),
    (basics.KMeansExplorer, "k", 4),
    (basics.PCAExplorer, "k", 3),
    (lmw.GradientDescentLine, "lr", 0.2),
    (lmw.LogisticBoundary, "features", "quadratic"),
    (graphs.ExpressionGraph, "x", 2.5),
    (graphs.ExpressionGraph, "expression", "exp"),  # a new graph shape, painted over the background
    (graphs.NeuronGraph, "loss", True),
]


@pytest.mark.parametrize("cls, control, value", REPAINTS, ids=lambda p: getattr(p, "__name__", str(p)))
def test_repainted_frame_matches_a_full_render(cls, control, value):
    """Blitted or fully redrawn, the canvas must show what a full render (savefig) of the figure shows."""
    w = cls()
    move(w, control, value)
    assert_canvas_matches_full_render(w)
    w.close()
