"""The interactive figures of chapters 6 and 7, driven without a browser (Agg backend).

Every test moves controls the way a student would and checks the model *and* the plotted data
against the lecture's formulas (Seed 6.3.2 output size, 6.3.3 parameter count, 6.4 pooling,
7 gradient ∝ |λ|^{T−t}, 7.3 LSTM cell equations), computed independently here with numpy, the
naive loop implementations of ``dlcourse.nn.naive`` or a second library path.

The trained demo networks (the Fashion-MNIST CNN, the U-Net, the adding-problem RNN/LSTM) are
trained once per process; building the first figure that needs one costs a few seconds.
"""

import numpy as np
import pytest
from widget_checks import assert_builds_lazily, assert_canvas_matches_full_render
from hypothesis import given, settings, strategies as st

from dlcourse import nn, widgets
from dlcourse.gradcheck import check_module
from dlcourse.models import mean_iou
from dlcourse.nn import naive
from dlcourse.nn.activations import softmax
from dlcourse.train import predict
from dlcourse.widgets import cnn as cnnw, rnn as rnnw

pytestmark = pytest.mark.widgets

ALL = [widgets.ConvCalculator, widgets.PoolingExplorer, widgets.FeatureMapExplorer, widgets.UNetSegmentation,
       widgets.GradientFlowThroughTime, widgets.AddingProblemRace, widgets.LSTMGates]


def move(w, name, value):
    """Move one control as the browser does (through the observer), and fail on a hidden error."""
    w.controls[name].value = value
    assert w.error is None, f"{type(w).__name__}.{name} = {value!r} raised {w.error!r}"
    return w.data


def floor_size(n, f, s, p):
    return (n + 2 * p - f) // s + 1


@pytest.fixture(scope="module")
def conv_widget():
    w = widgets.ConvCalculator()
    yield w
    w.close()


# -- every figure -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_widget_builds_with_lazy_sliders_and_fresh_data(cls):
    assert_builds_lazily(cls)


BLIT_MOVES = [
    (widgets.ConvCalculator, "position", 7, True),
    (widgets.ConvCalculator, "stride", 2, True),       # same padded size: the limits stay, a blit
    (widgets.ConvCalculator, "size", 12, False),       # new padded size: new limits, a full redraw
    (widgets.PoolingExplorer, "kernel", 3, True),
    (widgets.FeatureMapExplorer, "layer", "pool2", True),
    (widgets.UNetSegmentation, "threshold", 0.3, True),
    (widgets.GradientFlowThroughTime, "radius", 1.2, True),
    (widgets.GradientFlowThroughTime, "T", 120, True),  # new x limits: the time axis is repainted with the data
    (widgets.AddingProblemRace, "trained", True, True),
    (widgets.LSTMGates, "sample", 3, True),
    (widgets.LSTMGates, "unit", 2, True),                # new y limits: the cell axis is repainted with the data
    (widgets.LSTMGates, "trained", False, True),
]


@pytest.mark.parametrize("cls, control, value, blit", BLIT_MOVES, ids=lambda p: getattr(p, "__name__", str(p)))
def test_repainted_frame_matches_a_full_render(cls, control, value, blit):
    """A move repaints only the data over the cached background (a blit) unless the axes changed;
    either way the canvas must show what a full render (savefig) of the figure shows."""
    w = cls()
    before = w.full_draws + w.partial_draws  # a partial redraw is not a blit either
    move(w, control, value)
    if blit is not None:
        assert (w.full_draws + w.partial_draws == before) == blit
    assert_canvas_matches_full_render(w)
    w.close()


def test_rescaled_axes_are_repainted_with_the_data():
    """The moves that rescale an axis (a new T, a new unit) change the limits and the tick labels
    without a redraw of the axes: the rescaled axis is one of the repainted artists."""
    w = widgets.GradientFlowThroughTime()
    before = w.full_draws + w.partial_draws
    ticks = w._gx.xaxis.get_majorticklocs()
    move(w, "T", 150)
    assert w._gx.get_xlim() == (0, 150) and ticks.max() <= 50 < w._gx.xaxis.get_majorticklocs().max()
    assert w.full_draws + w.partial_draws == before
    assert_canvas_matches_full_render(w)
    w.close()
    w = widgets.LSTMGates()
    before, limits = w.full_draws + w.partial_draws, set()
    for unit in range(rnnw.ADDING_HIDDEN):
        limits.add(move(w, "unit", unit) and w._ax_c.get_ylim())
    assert len(limits) > 2 and all(lo == -hi for lo, hi in limits)  # symmetric: the zero line stays put
    assert w.full_draws + w.partial_draws == before
    assert_canvas_matches_full_render(w)
    w.close()


# -- 6.2–6.3 convolution calculator -----------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(n=st.integers(3, 16), f=st.integers(1, 7), s=st.integers(1, 4), p=st.integers(0, 3))
def test_conv_calculator_output_follows_the_formula_and_the_naive_loops(conv_widget, n, f, s, p):
    d = conv_widget.set(size=n, kernel=f, stride=s, padding=p).data
    assert conv_widget.error is None
    if n + 2 * p < f:  # the kernel does not fit: no output, no exception
        assert not d["valid"] and d["output_size"] == (0, 0)
        assert not conv_widget.artists["window"].get_visible()
        return
    ho = floor_size(n, f, s, p)
    assert d["valid"] and d["output_size"] == (ho, ho)                       # Seed 6.3.2
    assert d["exact"] == ((n + 2 * p - f) % s == 0)                          # Seed 6.2.2
    assert d["padded"].shape == (n + 2 * p, n + 2 * p)                      # Seed 6.2.3.1: H_i + 2P
    image = d["padded"][p:p + n, p:p + n]
    kernel = d["kernel_weights"][None, None]
    cropped = d["padded"][:(ho - 1) * s + f, :(ho - 1) * s + f]               # floor: drop the unreachable border
    expected = naive.conv2d_naive_forward(cropped[None, None], kernel, None, stride=s)[0, 0]
    assert np.allclose(d["output"], expected)
    assert np.allclose(conv_widget.artists["output"].get_array().shape, (ho, ho))
    assert np.allclose(conv_widget.artists["input"].get_array()[..., 0][~d["is_padding"]], image.ravel())
    assert d["unreached"].sum() == (n + 2 * p) ** 2 - ((ho - 1) * s + f) ** 2
    assert conv_widget.controls["position"].max == ho * ho - 1


def test_conv_calculator_stride_two_halves_the_output(conv_widget):
    d = conv_widget.set(size=16, kernel=3, padding=1, stride=1).data
    assert d["output_size"] == (16, 16)                                      # a same convolution, Seed 6.3.4
    d = move(conv_widget, "stride", 2)
    assert d["output_size"] == (8, 8)
    d = move(conv_widget, "stride", 4)
    assert d["output_size"] == (4, 4)


def test_conv_calculator_parameters_follow_the_formula_and_a_real_layer(conv_widget):
    conv_widget.set(size=8, kernel=3, stride=1, padding=0, in_channels=1, out_channels=1)
    output = conv_widget.data["output"].copy()
    assert conv_widget.data["parameters"] == 10
    for ci, co, f in [(3, 16, 3), (64, 128, 1), (7, 5, 7)]:
        d = conv_widget.set(in_channels=ci, out_channels=co, kernel=f).data
        assert d["parameters"] == (ci * f * f + 1) * co == d["model_parameters"]  # Seed 6.3.3
        assert d["macs"] == d["output_size"][0] ** 2 * co * ci * f * f
        assert f"{d['parameters']:,}" in conv_widget.status.value
    d = conv_widget.set(kernel=3, in_channels=1, out_channels=1).data
    assert np.allclose(d["output"], output)      # the channels change the count, not the pictured map


def test_conv_calculator_window_slides_by_the_stride(conv_widget):
    conv_widget.set(size=9, kernel=3, stride=2, padding=1, kind="blur", position=0)
    ho = conv_widget.data["output_size"][0]
    assert ho == 5
    for position in (0, 1, 4, 5, 13, 24):
        d = move(conv_widget, "position", position)
        row, col = divmod(position, ho)
        assert (d["row"], d["col"]) == (row, col) and d["window"] == (2 * row, 2 * col)
        window = d["padded"][2 * row:2 * row + 3, 2 * col:2 * col + 3]
        assert d["value"] == pytest.approx(window.mean()) == pytest.approx(d["window_sum"])  # blur = local mean
        assert conv_widget.artists["window"].get_xy() == (2 * col - 0.5, 2 * row - 0.5)
        assert conv_widget.artists["cell"].get_xy() == (col - 0.5, row - 0.5)
    move(conv_widget, "size", 4)          # fewer output pixels: the position is clamped, not out of range
    assert conv_widget.controls["position"].value <= conv_widget.controls["position"].max == 3  # 2 x 2 outputs


def test_conv_calculator_kernels():
    for f in (1, 2, 3, 6):
        assert cnnw.example_kernel("blur", f).sum() == pytest.approx(1.0)
        edge = cnnw.example_kernel("vertical_edge", f)
        if f > 1:
            assert edge.sum() == pytest.approx(0.0) and np.allclose(edge, -edge[:, ::-1])
        assert np.allclose(cnnw.example_kernel("horizontal_edge", f), edge.T)
    with pytest.raises(ValueError, match="kind"):
        cnnw.example_kernel("gabor", 3)
    small = cnnw.resize_image(np.arange(16.0).reshape(4, 4), 2)  # area averages of 2x2 blocks
    assert np.allclose(small, [[2.5, 4.5], [10.5, 12.5]])


# -- 6.4 pooling --------------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(f=st.integers(1, 7), s=st.integers(1, 7), source=st.sampled_from(["image", "edges"]), sample=st.integers(0, 39))
def test_pooling_matches_the_naive_loops(f, s, source, sample):
    w = widgets.PoolingExplorer(kernel=f, stride=s, source=source, sample=sample)
    d = w.data
    ho = (28 - f) // s + 1
    assert d["output_size"] == (ho, ho) and d["exact"] == ((28 - f) % s == 0)    # Seed 6.4.1
    x = d["input"][:(ho - 1) * s + f, :(ho - 1) * s + f][None, None]
    assert np.allclose(d["max"], naive.max_pool_naive_forward(x, f, s)[0, 0])  # Seed 6.4.2
    assert np.allclose(d["avg"], naive.avg_pool_naive_forward(x, f, s)[0, 0])  # Seed 6.4.3
    assert np.all(d["avg"] <= d["max"] + 1e-12)
    assert w.artists["max"].get_array().shape == (ho, ho)
    assert w.artists["max"].get_extent() == [-0.5, ho * s - 0.5, ho * s - 0.5, -0.5]
    w.close()


def test_pooling_controls_change_size_peak_and_shift():
    w = widgets.PoolingExplorer()
    assert w.data["output_size"] == (14, 14)
    x = w.data["input"]
    assert np.allclose(w.data["max"], x.reshape(14, 2, 14, 2).max(axis=(1, 3)))
    assert np.allclose(w.data["avg"], x.reshape(14, 2, 14, 2).mean(axis=(1, 3)))
    d = w.set(kernel=4, stride=4).data
    assert d["output_size"] == (7, 7)
    d = move(w, "source", "edges")
    assert d["peak_max"] == pytest.approx(1.0)         # max pooling keeps the strongest activation
    assert d["peak_avg"] < 0.9                         # averaging dilutes a thin edge
    assert d["change_input"] == d["change_max"] == d["change_avg"] == 0.0
    d = move(w, "shift", 1)
    edges = cnnw._pool_inputs(0, "edges")
    assert np.allclose(d["input"][:, 1:], edges[:, :-1]) and np.all(d["input"][:, 0] == 0)
    assert d["change_input"] > 0 and d["change_max"] < d["change_input"]  # a 1-pixel shift inside 4x4 windows
    d = move(w, "stride", 2)
    assert d["output_size"] == (13, 13)
    assert np.allclose(w.artists["input"].get_array(), d["input"] / d["input"].max())
    w.close()


# -- 6.3 / 6.8 feature maps of the trained CNN -------------------------------------------------------------------
def test_demo_cnn_learns_and_keeps_its_starting_point():
    run = cnnw.demo_cnn()
    assert run.accuracy > 0.7 > run.initial_accuracy + 0.3           # one epoch on 10,000 images
    assert cnnw.demo_cnn() is run                                     # trained once per process
    trained, initial = run.model[0].weight.data, run.initial[0].weight.data
    assert trained.shape == initial.shape == (8, 1, 5, 5) and not np.allclose(trained, initial)
    assert run.model.num_parameters() == nn.conv_parameter_count(1, 8, 5) + nn.conv_parameter_count(8, 16, 3) + 7850


def test_feature_maps_follow_the_layers():
    w = widgets.FeatureMapExplorer(sample=3)
    model = cnnw.demo_cnn().model
    image = cnnw.fashion_images()[0][3]
    expected_shapes = {"conv1": (8, 28, 28), "relu1": (8, 28, 28), "pool1": (8, 14, 14),
                       "conv2": (16, 14, 14), "relu2": (16, 14, 14), "pool2": (16, 7, 7)}
    maps = {}
    for layer, shape in expected_shapes.items():
        maps[layer] = move(w, "layer", layer)["maps"]
        assert maps[layer].shape == shape
    conv1 = naive.conv2d_naive_forward(image[None, None].astype(np.float64), model[0].weight.data.astype(np.float64),
                                       model[0].bias.data.astype(np.float64), padding=2)[0]
    assert np.allclose(maps["conv1"], conv1, atol=1e-4)
    assert np.allclose(maps["relu1"], np.maximum(maps["conv1"], 0))
    assert np.allclose(maps["pool1"], naive.max_pool_naive_forward(maps["relu1"][None], 2)[0])
    assert np.allclose(maps["pool2"], naive.max_pool_naive_forward(maps["relu2"][None], 2)[0])
    mosaic = w.artists["maps"].get_array()
    assert np.isfinite(mosaic).sum() == 16 * 7 * 7                     # 16 maps of 7x7 in the 4x4 mosaic
    probs = softmax(predict(model, image[None, None]).astype(np.float64))[0]
    assert np.allclose(w.data["probs"], probs, atol=1e-5) and w.data["probs"].sum() == pytest.approx(1)
    assert [b.get_width() for b in w.artists["bars"]] == pytest.approx(list(w.data["probs"]))
    w.close()


def test_feature_map_trained_toggle_and_sample():
    w = widgets.FeatureMapExplorer()
    run = cnnw.demo_cnn()
    assert np.allclose(w.data["filters"], run.model[0].weight.data[:, 0])
    d = move(w, "trained", False)
    assert np.allclose(d["filters"], run.initial[0].weight.data[:, 0]) and d["accuracy"] == run.initial_accuracy
    assert "untrained" in w.status.value
    images, labels, _ = cnnw.fashion_images()
    d = move(w, "sample", 17)
    assert np.array_equal(d["image"], images[17]) and d["label"] == labels[17]
    assert np.allclose(w.artists["image"].get_array(), images[17])
    w.close()


# -- 6.10.2 U-Net ------------------------------------------------------------------------------------------------
def test_unet_learns_to_segment_better_than_a_brightness_threshold():
    run = cnnw.demo_unet()
    final = (run.probs[-1] > 0.5).astype(np.int64)
    assert mean_iou(final, run.masks, 2) > max(0.85, run.baseline_iou + 0.1)
    assert mean_iou((run.probs[0] > 0.5).astype(np.int64), run.masks, 2) < 0.6    # before training
    probs = softmax(predict(run.model, run.images[:, None]).astype(np.float64), dim=1)[:, 1]
    assert np.allclose(probs, run.probs[-1], atol=1e-6)               # the last snapshot is the final model


def test_unet_threshold_steps_and_sample_move_the_prediction():
    w = widgets.UNetSegmentation()
    run = cnnw.demo_unet()
    d = w.data
    assert np.array_equal(d["pred"], run.probs[-1][0] > 0.5) and d["iou"] == mean_iou(d["pred"], d["mask"], 2)
    counts = []
    for threshold in (0.1, 0.5, 0.9):
        counts.append(move(w, "threshold", threshold)["pred"].sum())
    assert counts[0] >= counts[1] >= counts[2] and counts[0] > counts[2]   # a higher bar: fewer shape pixels
    move(w, "threshold", 0.5)
    iou_end = w.data["test_iou"]
    d = move(w, "steps", 0)
    assert d["test_iou"] < iou_end and np.allclose(d["prob"], run.probs[0][0])
    assert w.artists["current"].get_xdata()[0] == 0 and w.artists["current"].get_ydata()[0] == d["test_iou"]
    assert np.allclose(w.artists["curve"].get_ydata(), d["curve_iou"])
    d = w.set(steps=80, sample=5).data
    assert np.array_equal(d["mask"], run.masks[5])
    rgba = w.artists["pred"].get_array()
    wrong = (d["pred"] == 1) & (d["mask"] == 0)
    assert np.allclose(rgba[wrong, :3], (0.839, 0.153, 0.157), atol=0.01)  # false positives in red
    w.close()


# -- 7 gradient flow through time ----------------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(radius=st.floats(0.5, 1.5), T=st.integers(1, 40).map(lambda k: 5 * k))
def test_linear_gradient_follows_the_eigenvalues(radius, T):
    norms, local = rnnw.gradient_flow(radius, T, "orthogonal", "linear")
    t = np.arange(T + 1)
    assert local == 1.0 and np.allclose(norms, radius ** (T - t), rtol=1e-8)   # |λ| = ρ for every eigenvalue
    tanh_norms, _ = rnnw.gradient_flow(radius, T, "orthogonal", "tanh")
    assert np.all(tanh_norms <= radius ** (T - t) * (1 + 1e-9))                 # tanh' ≤ 1 only damps


def test_gradient_flow_widget_vanishes_below_one_and_explodes_above():
    w = widgets.GradientFlowThroughTime()
    assert np.allclose(np.abs(w.data["eigenvalues"]), 0.9)
    assert w.data["ratio"] == pytest.approx(0.9 ** 50) and "vanishing" in w.status.value
    d = move(w, "radius", 1.1)
    assert d["ratio"] == pytest.approx(1.1 ** 50) and "exploding" in w.status.value
    assert np.allclose(w.artists["grad"].get_ydata(), d["grad_norm"])
    assert np.allclose(w.artists["theory"].get_ydata(), d["theory"])
    d = move(w, "T", 100)
    assert len(d["grad_norm"]) == 101 and w._gx.get_xlim() == (0, 100)
    d = move(w, "matrix", "random")
    assert np.max(np.abs(d["eigenvalues"])) == pytest.approx(1.1) and np.min(np.abs(d["eigenvalues"])) < 1.0
    assert w.artists["eig"].get_xdata() == pytest.approx(d["eigenvalues"].real)
    move(w, "radius", 1.3)
    d = move(w, "nonlinearity", "tanh")
    assert d["mean_local_derivative"] < 1 and d["ratio"] < 1e-2        # saturated tanh: vanishing despite ρ > 1
    d = move(w, "input_scale", 0.0)                                    # states stay at 0: tanh' = 1, linear again
    assert d["mean_local_derivative"] == pytest.approx(1.0) and d["ratio"] > 1e6
    w.close()


def test_step_functions_agree_with_the_rnn_layer_backprop_through_time():
    w = widgets.GradientFlowThroughTime(nonlinearity="tanh", T=30, radius=1.05, matrix="random", input_scale=0.5)
    d = w.data
    base = rnnw._base_matrices()
    x = 0.5 * base["noise"][:, :30]
    model = d["model"]
    assert np.allclose(model.weight_hh.data, rnnw.recurrent_matrix("random", 1.05))
    out = model(x)
    dout = np.zeros_like(out)
    dout[0, -1] = base["g"]              # the loss sees only the last state
    model.backward(dout)
    assert np.linalg.norm(model.dh0) == pytest.approx(d["grad_norm"][0], rel=1e-8)
    w.close()


# -- 7.2–7.3 the adding problem ------------------------------------------------------------------------------------
def test_last_step_regressor_gradients():
    x = np.random.default_rng(0).standard_normal((3, 5, 2))
    for kind in ("rnn", "lstm"):
        check_module(rnnw.LastStepRegressor(kind, 2, 4, rng=1), x).assert_ok()
    with pytest.raises(ValueError, match="kind"):
        rnnw.LastStepRegressor("gru", 2, 4)


@pytest.mark.accuracy
def test_lstm_solves_the_adding_problem_where_the_rnn_fails():
    run = rnnw.adding_run(20)
    assert run.curves["lstm"][-1] < 0.01 and run.curves["rnn"][-1] > 0.1        # T = 20, 800 steps
    assert run.baseline == pytest.approx(np.var(run.y_val))
    assert run.input_grad_init["rnn"][0] / run.input_grad_init["rnn"][-1] < 1e-3  # vanishing through 19 steps
    assert run.input_grad_init["lstm"][0] / run.input_grad_init["lstm"][-1] > 1e-2


def test_adding_race_controls(monkeypatch):
    w = widgets.AddingProblemRace()
    run = rnnw.adding_run(20)
    d = w.data
    assert np.allclose(w.artists["lstm_curve"].get_ydata(), run.curves["lstm"])
    assert len(d["steps"]) == rnnw.ADDING_STEPS // rnnw.ADDING_EVAL_EVERY + 1
    assert d["rnn_grad"][-1] == pytest.approx(1.0) and len(d["rnn_grad"]) == 20
    d = move(w, "trained", True)
    assert np.allclose(d["lstm_grad"], run.input_grad["lstm"] / run.input_grad["lstm"][-1])
    monkeypatch.setattr(rnnw, "ADDING_STEPS", 60)   # a new length trains new models: keep it short here
    d = move(w, "T", 5)
    assert len(d["rnn_grad"]) == 5 and d["steps"][-1] == 60
    assert np.allclose(w.artists["rnn_grad"].get_xdata(), [4, 3, 2, 1, 0])  # T − t
    assert rnnw.adding_run(5) is rnnw.adding_run(5, 60)                       # cached per (T, steps)
    assert "after 60 steps" in w.status.value
    w.close()


def test_lstm_gates_follow_the_cell_equations():
    w = widgets.LSTMGates()
    run = rnnw.adding_run(20)
    for sample in (0, 7):
        d = move(w, "sample", sample)
        g = d["gates"]
        c_prev = np.vstack([np.zeros((1, g["c"].shape[1])), g["c"][:-1]])
        assert np.allclose(g["c"], g["f"] * c_prev + g["i"] * g["g"], atol=1e-6)   # Seed 7.3
        assert np.allclose(d["h"], g["o"] * np.tanh(g["c"]), atol=1e-6)
        assert d["prediction"] == pytest.approx(float(run.models["lstm"](run.X_val[sample:sample + 1])[0, 0]))
        assert [b.get_height() for b in w.artists["bars"]] == pytest.approx(list(run.X_val[sample, :, 0]))
        assert len(d["marked"]) == 2
    u = move(w, "unit", 3)["unit"]
    assert np.allclose(w.artists["f"].get_ydata(), w.data["gates"]["f"][:, 3]) and u == 3
    assert np.allclose(w.artists["heat_i"].get_array(), w.data["gates"]["i"].T)
    assert np.allclose(w.artists["heat_i_unit"].get_ydata()[:2], [2.5, 2.5])
    trained_error = abs(w.data["prediction"] - w.data["target"])
    d = move(w, "trained", False)
    assert abs(d["prediction"] - d["target"]) > trained_error
    w.close()


@pytest.mark.accuracy
def test_trained_lstm_has_a_unit_that_writes_only_at_the_marks():
    w = widgets.LSTMGates()
    u = w.values["unit"]                     # chosen at start: the most selective input gate
    run = rnnw.adding_run(20)
    model = run.models["lstm"]
    model(run.X_val)
    marked = run.X_val[:, :, 1] > 0.5
    i = np.asarray(model.rnn.gates["i"])[:, :, u]
    f = np.asarray(model.rnn.gates["f"])[:, :, u]
    assert i[marked].mean() > 0.5 and i[~marked].mean() < 0.2   # opens at the two marks only
    assert f.mean() > 0.8                                        # and keeps what it wrote
    w.close()
