"""The interactive figures of chapters 4 and 5, driven without a browser (Agg backend).

Every test moves controls the way a student would and checks the model *and* the plotted data:
the numbers must follow the lecture's formulas, and the artists must show those numbers.
"""
import math
from io import BytesIO

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_webagg_core import FigureCanvasWebAggCore
from matplotlib.figure import Figure
from PIL import Image
from widget_checks import assert_builds_lazily, assert_canvas_matches_full_render
from hypothesis import given, settings, strategies as st

from dlcourse import widgets
from dlcourse.nn.shapes import fc_network_parameter_count
from dlcourse.optim import surfaces
from dlcourse.widgets import base, fully_connected as fc, neural_networks as nnw
from dlcourse.widgets.frames import png_rgba, send_fast_frames
from dlcourse.widgets.text_cache import cache_text

pytestmark = pytest.mark.widgets

ALL = [widgets.ActivationExplorer, widgets.LossExplorer, widgets.OptimizerRace, widgets.ScheduleExplorer,
       widgets.RegularizationPlayground, widgets.PlaygroundTrainer, widgets.WeightCounter,
       widgets.ForwardBackwardStepper]


def move(w, name, value):
    """Move one control as the browser does (through the observer), and fail on a hidden error."""
    w.controls[name].value = value
    assert w.error is None, f"{type(w).__name__}.{name} = {value!r} raised {w.error!r}"
    return w.data


def sigmoid(s):
    return 1 / (1 + np.exp(-s))


# -- the shared plumbing -------------------------------------------------------------------------------------
class Counter(base.Widget):
    figsize = (2, 2)

    def make_controls(self):
        return {"a": base.int_slider(1, 0, 10, "a"), "b": base.float_slider(0.5, 0, 1, 0.1, "b")}

    def setup_figure(self, fig):
        self.calls = 0
        self.artists["line"], = fig.add_subplot().plot([], [])

    def compute(self, a, b):
        self.calls += 1
        if a == 7:
            raise ValueError("seven is not allowed")
        return {"y": np.full(3, a * b)}

    def draw(self, d):
        self.artists["line"].set_data(np.arange(3), d["y"])


def test_base_updates_once_per_change_and_once_per_set():
    w = Counter(a=2)
    assert w.calls == 1 and np.allclose(w.data["y"], 1.0)
    move(w, "a", 4)
    assert w.calls == 2 and np.allclose(w.artists["line"].get_ydata(), 2.0)
    w.set(a=3, b=1.0)
    assert w.calls == 3 and np.allclose(w.data["y"], 3.0)
    assert w.values == {"a": 3, "b": 1.0}
    assert w.last_update_ms >= 0


def test_base_reports_errors_from_the_ui_and_raises_them_from_code():
    w = Counter()
    w.controls["a"].value = 7
    assert isinstance(w.error, ValueError) and "seven" in w.status.value
    move(w, "a", 1)  # the next good value clears it
    with pytest.raises(ValueError, match="seven"):
        w.set(a=7)
    with pytest.raises(TypeError, match="no control"):
        Counter(c=1)


def test_base_figure_is_not_registered_with_pyplot_and_displays_without_ipympl():
    before = plt.get_fignums()
    w = Counter()
    assert plt.get_fignums() == before
    box = w.box  # Agg: the figure is shown through an Output widget
    assert isinstance(box, ipywidgets.VBox) and isinstance(box.children[-2], ipywidgets.Output)
    assert "application/vnd.jupyter.widget-view+json" in w._repr_mimebundle_()
    w.close()


def test_updates_run_with_one_blas_thread_and_leave_the_kernel_setting_alone():
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    class Probe(Counter):
        def compute(self, a, b):
            return {"threads": blas_threads()}

        def draw(self, d):
            pass

    with threadpool_limits(limits=2, user_api="blas"):  # what a kernel on two cores has
        w = Probe()
        w.controls["a"].value = 4
        assert w.data["threads"] and set(w.data["threads"]) == {1}
        assert set(blas_threads()) == {2}
    w.close()


def test_ipympl_sends_no_frame_before_the_browser_view_exists_and_then_blits():
    """A frame sent before the front-end's "initialized" message leaves a 0x0 figure for good."""
    plt.switch_backend("module://ipympl.backend_nbagg")
    try:
        w = widgets.ActivationExplorer()
        canvas, sent = w.figure.canvas, []
        canvas.send = lambda content, buffers=None: sent.append(content["data"])
        move(w, "activation", "relu")
        assert not any("binary" in m for m in sent), sent
        canvas._handle_message(canvas, {"type": "initialized"}, [])  # what the browser view sends
        draws, sent[:] = w.full_draws + w.partial_draws, []
        move(w, "activation", "tanh")
        assert w.full_draws + w.partial_draws == draws and sent == ['{"type": "binary"}']  # one blitted frame
        assert_canvas_matches_full_render(w)
        w.close()
    finally:
        plt.switch_backend("Agg")


def test_ipympl_frames_carry_the_pixels_matplotlib_would_send(monkeypatch):
    """Our frame encoder (frames.send_fast_frames) against matplotlib's own get_diff_image on the same
    canvas state, move by move: same image mode, same pixels after decoding; and the frames painted
    over each other as the browser does equal the canvas."""

    plt.switch_backend("module://ipympl.backend_nbagg")
    try:
        w = widgets.OptimizerRace()
        canvas, ours, theirs, modes = w.figure.canvas, [], [], []
        fast = canvas.get_diff_image
        assert fast.__qualname__.startswith("send_fast_frames")

        def both():
            state = canvas._png_is_old, canvas._force_full, canvas._last_buff.copy()
            png = FigureCanvasWebAggCore.get_diff_image(canvas)  # matplotlib's, then put its state back
            theirs.append((canvas._image_mode if hasattr(canvas, "_image_mode") else None, png))
            canvas._png_is_old, canvas._force_full, canvas._last_buff = state
            png = fast()
            ours.append((canvas._image_mode, png))
            return png

        monkeypatch.setattr(canvas, "get_diff_image", both)
        canvas.send = lambda content, buffers=None: None
        canvas._handle_message(canvas, {"type": "initialized"}, [])
        shown = None
        for control, value in [("lr", 2e-3), ("surface", "himmelblau"), ("x0", 1.0), ("steps", 400), ("beta", 0.5)]:
            ours[:], theirs[:] = [], []
            move(w, control, value)
            assert ours and len(ours) == len(theirs)
            for (mode, png), (their_mode, their_png) in zip(ours, theirs):
                if png is None:
                    assert their_png is None
                    continue
                image = np.asarray(Image.open(BytesIO(png)))
                assert mode == their_mode and mode in ("full", "diff")
                assert np.array_equal(image, np.asarray(Image.open(BytesIO(their_png))))
                if shown is None or mode == "full":
                    shown = image.copy()
                else:  # the browser paints the changed (non-zero) pixels over the last frame
                    changed = image.view(np.uint32).squeeze(2) != 0
                    shown[changed] = image[changed]
            assert np.array_equal(shown, np.asarray(canvas.buffer_rgba())), (control, value)
            modes += [mode for mode, _ in ours]
        assert "diff" in modes
        w.close()
    finally:
        plt.switch_backend("Agg")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1), st.sampled_from(["noise", "flat", "zeros"]))
def test_png_writer_round_trips_through_pillow(height, width, seed, kind):

    rng = np.random.default_rng(seed)
    rgba = {"noise": rng.integers(0, 256, (height, width, 4)), "zeros": np.zeros((height, width, 4)),
            "flat": np.broadcast_to(rng.integers(0, 256, 4), (height, width, 4))}[kind].astype(np.uint8)
    image = Image.open(BytesIO(png_rgba(rgba)))
    assert image.mode == "RGBA" and image.size == (width, height)
    assert np.array_equal(np.asarray(image), rgba)


def test_png_writer_and_canvas_hook_refuse_what_they_cannot_handle():
    with pytest.raises(ValueError, match=r"\(H, W, 4\) uint8"):
        png_rgba(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="float64"):
        png_rgba(np.zeros((4, 4, 4)))
    agg = Counter().figure.canvas  # not a WebAgg canvas: left as it is
    assert send_fast_frames(agg) is False and not hasattr(agg, "_last_buff")


def _uncached_render(canvas, cache):
    """The canvas as matplotlib alone draws it (the cache is bypassed and keeps what it has)."""
    cache.enabled = False
    try:
        canvas.draw()
        return np.asarray(canvas.buffer_rgba()).copy()
    finally:
        cache.enabled = True


TEXT = st.text(st.sampled_from(list("abcxyz019 .,-=+()∂σ→⋮\n")), min_size=1, max_size=14)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(TEXT, st.floats(0, 1), st.floats(0, 1), st.sampled_from([0, 30, 90]),
                          st.sampled_from([6, 7.5, 11]), st.booleans(), st.sampled_from(["normal", "bold"])),
                 min_size=1, max_size=6),
       st.sampled_from(["k", "C1", "#3a7"]), st.floats(0.2, 1))
def test_replayed_text_has_the_pixels_of_a_fresh_render(texts, color, alpha):
    """Drawing the same figure again replays every line's glyphs; the pixels equal matplotlib's own render,
    also after the colour and alpha changed (they are not part of what is remembered) and for math text."""
    fig = Figure(figsize=(3, 2), dpi=80)
    canvas = FigureCanvasAgg(fig)
    cache = cache_text(canvas)
    ax = fig.add_subplot()
    artists = [ax.text(x, y, rf"${s.strip() or 'x'}$" if math and "\n" not in s else s, rotation=angle, fontsize=size)
               for s, x, y, angle, size, math, _ in texts]
    # the same strings again a few pixels higher and in the other weight: other pixels
    artists += [ax.text(x, y + 0.037, s, rotation=angle, fontsize=size) for s, x, y, angle, size, _, _ in texts]
    artists += [ax.text(x, y, s, rotation=angle, fontsize=size, weight=weight) for s, x, y, angle, size, _, weight in texts]
    canvas.draw()
    first = np.asarray(canvas.buffer_rgba()).copy()
    misses = cache.misses
    canvas.draw()
    assert cache.misses == misses and cache.hits >= misses  # nothing rendered twice
    assert np.array_equal(first, np.asarray(canvas.buffer_rgba()))
    for artist in artists:
        artist.set_color(color)
        artist.set_alpha(alpha)
    canvas.draw()
    assert cache.misses == misses
    assert np.array_equal(np.asarray(canvas.buffer_rgba()).copy(), _uncached_render(canvas, cache))
    for artist in artists:  # moved by a fraction of a pixel: other pixels, rendered afresh
        artist.set_x(artist.get_position()[0] + 0.0031)
    canvas.draw()
    assert np.array_equal(np.asarray(canvas.buffer_rgba()).copy(), _uncached_render(canvas, cache))


@pytest.mark.parametrize("cls, moves", [
    (widgets.NeuronGraph, [("x0", 0.5), ("w1", -1.0), ("b", 1.0), ("x0", -0.5)]),
    (widgets.WeightCounter, [("width", 256), ("hidden_layers", 4), ("width", 64)]),
    (widgets.OptimizerRace, [("surface", "himmelblau"), ("steps", 400), ("surface", "rosenbrock")]),
], ids=lambda v: getattr(v, "__name__", ""))
def test_widgets_repaint_known_text_from_the_cache_with_unchanged_pixels(cls, moves):
    w = cls()
    w.figure.canvas.draw()
    for control, value in moves:
        hits = w.text_cache.hits
        move(w, control, value)
        assert w.text_cache.hits > hits, (control, value)  # labels that stayed were not rendered again
        shown = np.asarray(w.figure.canvas.buffer_rgba()).copy()
        assert np.array_equal(shown, _uncached_render(w.figure.canvas, w.text_cache)), (control, value)
    w.close()


def test_a_change_of_one_axes_redraws_only_its_region_pixel_for_pixel():
    """Moving the iterations changes the limits of the right axes only: a partial redraw of its region,
    which must leave the canvas exactly as a full draw does (ticks of the old limits erased too)."""
    w = nnw.OptimizerRace()
    full, partial = w.full_draws, w.partial_draws
    move(w, "steps", 600)
    assert w.full_draws == full and w.partial_draws == partial + 1
    shown = np.asarray(w.figure.canvas.buffer_rgba()).copy()
    w.figure.canvas.draw()
    assert np.array_equal(shown, np.asarray(w.figure.canvas.buffer_rgba()))
    w.figure.suptitle("a figure title")  # outside every axes: a full draw
    move(w, "steps", 300)
    assert w.full_draws == full + 2
    w.close()


FIXED_AREA_MOVES = [
    (widgets.OptimizerRace, [("surface", s) for s in ("himmelblau", "beale", "quadratic", "rosenbrock")]),
    (widgets.InitializationExplorer, [("activation", "relu"), ("scheme", "large"), ("activation", "tanh")]),
]


@pytest.mark.parametrize("cls, moves", FIXED_AREA_MOVES, ids=lambda v: getattr(v, "__name__", ""))
def test_fixed_area_axes_are_redrawn_without_measuring_them(cls, moves, monkeypatch):
    """OptimizerRace's contours and InitializationExplorer's histograms are fixed areas: a move that changes
    their limits, ticks or title re-renders that area without measuring the new ticks first, and the
    canvas still equals a full draw."""
    w = cls()
    w.figure.canvas.draw()
    measured, real_extent = [], base._extent
    monkeypatch.setattr(base, "_extent", lambda artist, renderer: measured.append(artist) or real_extent(artist, renderer))
    partial_draws = 0
    for control, value in moves:
        partial, full, measured[:] = w.partial_draws, w.full_draws, []
        move(w, control, value)
        assert w.full_draws == full and not measured, (control, value)
        partial_draws += w.partial_draws - partial
        shown = np.asarray(w.figure.canvas.buffer_rgba()).copy()
        w.figure.canvas.draw()  # a full draw (it measures every extent again)
        assert np.array_equal(shown, np.asarray(w.figure.canvas.buffer_rgba())), (control, value)
    assert partial_draws >= 2
    w.close()


def test_a_surface_switch_redraws_the_contours_only(monkeypatch):
    """The contours' area ends halfway to the curves' ticks with room for the antialiasing pad: switching the
    surface must not re-render the curves' axes (their ticks are a third of the cost)."""
    w = widgets.OptimizerRace()
    w.figure.canvas.draw()
    drawn = []
    for name in ("_ax", "_bx"):
        axes = getattr(w, name)
        monkeypatch.setattr(axes, "draw", lambda renderer, name=name, real=axes.draw: drawn.append(name) or real(renderer))
    for surface in ("himmelblau", "beale", "quadratic", "rosenbrock"):
        drawn[:] = []
        move(w, "surface", surface)
        assert drawn == ["_ax"], (surface, drawn)
    w.close()


def test_the_area_of_an_axes_reaches_halfway_to_its_neighbours():
    from matplotlib.transforms import Bbox

    figure = Bbox.from_extents(0, 0, 100, 50)
    left, right, below = object(), object(), object()
    extents = {left: Bbox.from_extents(10, 20, 40, 45), right: Bbox.from_extents(60, 10, 95, 45),
               below: Bbox.from_extents(5, 2, 45, 10)}
    assert base._area(left, extents, figure).extents.tolist() == [0, 15, 50, 50]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_widget_builds_with_lazy_sliders_and_fresh_data(cls):
    assert_builds_lazily(cls)


BLIT_MOVES = [
    (widgets.ActivationExplorer, "std", 3.0, True),
    (widgets.ActivationExplorer, "activation", "relu", True),
    (widgets.LossExplorer, "outliers", 6, True),
    (widgets.OptimizerRace, "lr", 2e-3, True),
    (widgets.OptimizerRace, "surface", "beale", False),  # a new background and new limits: a full redraw
    (widgets.ScheduleExplorer, "schedule", "exponential", None),
    (widgets.RegularizationPlayground, "dropout", 0.3, True),
    (widgets.PlaygroundTrainer, "activation", "relu", None),
    (widgets.WeightCounter, "activation", "prelu_layer", True),
    (widgets.ForwardBackwardStepper, "stage", 9, True),
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


# -- 4.1 activation explorer ----------------------------------------------------------------------------------
def test_activation_curves_follow_the_formulas():
    w = widgets.ActivationExplorer()
    s = w.data["s"]
    assert np.allclose(w.data["h"], sigmoid(s)) and np.allclose(w.data["dh"], sigmoid(s) * (1 - sigmoid(s)))
    d = move(w, "activation", "tanh")
    assert np.allclose(d["dh"], 1 - np.tanh(s) ** 2)
    d = move(w, "activation", "elu")
    move(w, "alpha", 0.5)
    d = w.data
    assert np.allclose(d["h"], np.where(s > 0, s, 0.5 * np.expm1(s)))
    d = move(w, "activation", "softmax")  # 2-class softmax of (s, 0) is the sigmoid (Seed 4.1.1-4.1.2)
    assert np.allclose(d["h"], sigmoid(s)) and np.allclose(d["dh"], sigmoid(s) * (1 - sigmoid(s)))
    d = move(w, "activation", "maxout")
    assert np.allclose(d["h"], np.maximum(s, -0.5 * s))
    assert np.allclose(w.artists["h"].get_ydata(), d["h"]) and np.allclose(w.artists["dh"].get_ydata(), d["dh"])


def test_activation_regions_and_unit_fractions():
    w = widgets.ActivationExplorer(activation="relu", mean=-3.0, std=1.0)
    s = w.data["s"]
    assert np.array_equal(w.data["dead"], s <= 0)  # ReLU passes no gradient for s <= 0 (Seed 4.1.4)
    assert w.data["fractions"]["dead"] == pytest.approx(0.5 * math.erfc(-3 / math.sqrt(2)), abs=0.01)  # Φ(3)
    assert [b.get_height() for b in w.artists["bars"]][2] == pytest.approx(w.data["fractions"]["dead"])
    d = move(w, "activation", "leaky_relu")  # does not die (Seed 4.1.5)
    assert d["fractions"]["dead"] == 0 and not d["dead"].any()
    assert d["mean_gradient"] == pytest.approx(0.1, abs=0.01)  # almost every unit is on the slope α = 0.1
    w.set(activation="sigmoid", mean=0.0, std=0.5)
    calm = w.data["fractions"]["saturated"]
    d = move(w, "std", 5.0)  # wide pre-activations saturate the sigmoid (Seed 4.1.1)
    assert calm == 0 and d["fractions"]["saturated"] > 0.3
    assert np.all(np.abs(s[d["saturated"]]) > 3)
    d = move(w, "activation", "step")  # no gradient anywhere (Seed 4.1.9)
    assert d["fractions"]["dead"] == 1 and d["dead"].all()


# -- 4.2 loss explorer -------------------------------------------------------------------------------------------
def test_loss_explorer_l1_is_robust_to_outliers_and_l2_is_not():
    w = widgets.LossExplorer(outliers=0)
    clean = np.array(w.data["clean_line"])
    assert np.allclose(w.data["l1_line"], clean, atol=0.2) and np.allclose(w.data["l2_line"], clean, atol=1e-2)
    # the L2 fit is the least-squares line
    x, y = w.data["x"], w.data["y"]
    assert np.allclose(w.data["l2_line"], np.polyfit(x, y, 1), atol=5e-3)
    w.set(outliers=5, outlier_size=15.0)
    d = w.data
    assert d["is_outlier"].sum() == 5 and np.allclose(d["y"][d["is_outlier"]] - w._CLEAN_Y[d["is_outlier"]], 15)
    l1_shift = np.abs(np.array(d["l1_line"]) - clean).max()
    l2_shift = np.abs(np.array(d["l2_line"]) - clean).max()
    assert l2_shift > 1.0 and l1_shift < 0.5 and l2_shift > 4 * l1_shift
    w_, b_ = d["l2_line"]
    assert np.allclose(w.artists["l2"].get_ydata(), [b_, w_ + b_])


@pytest.mark.parametrize("margin", [-2.0, 0.0, 0.5, 1.0, 2.5])
def test_hinge_saturates_and_cross_entropy_does_not(margin):
    w = widgets.LossExplorer(margin=margin)
    d = w.data
    m = d["margin"]
    assert d["hinge"] == pytest.approx(max(0.0, 1 - m), abs=1e-9)
    assert d["ce"] == pytest.approx(math.log1p(math.exp(-m)), rel=1e-6)
    assert d["dce"] == pytest.approx(-sigmoid(-m), rel=1e-6)
    if m > 1:
        assert d["hinge"] == 0 and d["dhinge"] == 0 and d["ce"] > 0 and d["dce"] < 0
    elif m < 1:
        assert d["dhinge"] == -1
    assert w.artists["margin_line"].get_xdata()[0] == m


# -- 4.3 optimizer race ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", list(nnw.SURFACES))
def test_residual_forms_reproduce_the_surfaces(key):
    s = nnw.SURFACES[key][1]()
    r, J = nnw.surface_residuals(key, s)
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = np.array([rng.uniform(*s.bounds[0]), rng.uniform(*s.bounds[1])])
        assert float(r(p) @ r(p)) == pytest.approx(float(s.f(p)), rel=1e-10, abs=1e-12)
        h = 1e-6
        numeric = np.column_stack([(r(p + h * e) - r(p - h * e)) / (2 * h) for e in np.eye(2)])
        assert np.allclose(J(p), numeric, rtol=1e-5, atol=1e-5)


def test_optimizer_race_learning_rate_beta_and_start_change_the_paths():
    w = widgets.OptimizerRace(surface="quadratic", steps=50)
    d = w.data
    assert set(d["paths"]) == set(nnw.METHODS)
    gd = d["paths"]["GD"].copy()
    assert np.allclose(w.artists["path:GD"].get_xydata(), gd)
    s = surfaces.quadratic_bowl(condition=20, angle=np.pi / 6)
    # GD is exactly θ ← θ − α∇f (Seed 4.3.2)
    lr = w.controls["lr"].value
    assert np.allclose(gd[1], gd[0] - lr * s.grad(gd[0]))
    d = move(w, "lr", 0.06)
    assert not np.allclose(d["paths"]["GD"], gd)
    assert s.f(d["paths"]["GD"][-1]) < s.f(gd[-1])  # bigger stable steps get further in 50 iterations
    mom = d["paths"]["Momentum"].copy()
    d = move(w, "beta", 0.5)
    assert not np.allclose(d["paths"]["Momentum"], mom)
    assert np.allclose(d["paths"]["Newton"][1], s.minima[0])  # Newton: one step on a quadratic (Seed 4.3.8)
    d = move(w, "x0", 1.0)
    assert all(p[0, 0] == pytest.approx(1.0) for p in d["paths"].values())
    assert w.artists["start"].get_xdata()[0] == pytest.approx(1.0)


def test_optimizer_race_surface_change_resets_defaults_and_divergence_is_reported():
    w = widgets.OptimizerRace(surface="quadratic", lr=0.3)
    assert w.controls["lr"].value == pytest.approx(0.3)
    move(w, "surface", "rosenbrock")
    assert w.controls["lr"].value == pytest.approx(nnw.SURFACES["rosenbrock"][2])
    start = surfaces.rosenbrock().default_start
    assert (w.controls["x0"].value, w.controls["y0"].value) == pytest.approx(tuple(start))
    assert w.data["paths"]["Newton"][-1] == pytest.approx([1, 1], abs=1e-6)
    d = move(w, "lr", 0.5)
    assert "GD" in d["diverged"] and len(d["paths"]["GD"]) < w.controls["steps"].value + 1
    d = move(w, "methods", ("Adam", "BFGS"))
    assert set(d["paths"]) == {"Adam", "BFGS"}
    assert len(w.artists["path:GD"].get_xdata()) == 0 and len(w.artists["path:BFGS"].get_xdata()) > 1
    assert "BFGS" in w.status.value and "GD" not in w.status.value.replace("BFGS", "")


# -- 4.4 schedules -----------------------------------------------------------------------------------------------
def test_schedule_explorer_follows_the_decay_formulas():
    w = widgets.ScheduleExplorer(schedule="inverse_time", lr0=0.1, epochs=20)
    e = np.arange(20)
    assert np.allclose(w.data["lr"], 0.1 / (1 + 0.1 * e))
    assert np.allclose(w.artists["lr"].get_ydata(), w.data["lr"])
    move(w, "schedule", "exponential")
    assert w.controls["t"].value == pytest.approx(0.9)  # t is reset to the schedule's default
    assert np.allclose(w.data["lr"], 0.9 ** e * 0.1)
    d = move(w, "schedule", "step")
    assert np.allclose(d["lr"], 0.1 * 0.5 ** (e // 10))
    d = move(w, "schedule", "inverse_sqrt")
    assert np.allclose(d["lr"], 0.1 / np.sqrt(e + 1))
    assert d["sum_diverges"] and not d["sum_sq_converges"]


def test_decaying_learning_rate_beats_a_constant_one():
    w = widgets.ScheduleExplorer(schedule="inverse_time", lr0=0.1, epochs=40)
    d = w.data
    assert d["sum_diverges"] and d["sum_sq_converges"]
    # SGD with a constant α stalls above the minimum; the decayed α gets much closer (Seed 4.3.3.1, 4.4)
    assert np.mean(d["error"][-10:]) < 0.3 * np.mean(d["error_constant"][-10:])
    stalled_at = np.mean(d["error_constant"][-10:])
    d = move(w, "lr0", 0.02)  # a smaller constant α hops less around the optimum: it stalls lower
    assert np.mean(d["error_constant"][-10:]) < 0.5 * stalled_at


# -- 4.5 regularization ------------------------------------------------------------------------------------------
@pytest.mark.accuracy
def test_regularization_playground_penalties_dropout_and_batch_norm():
    w = widgets.RegularizationPlayground(steps=150)
    free = w.data
    assert len(free["curves"]["train_loss"]) == 150
    assert np.allclose(w.artists["boundary"].get_array(), free["probability"])
    d = w.set(penalty="l2", lam=1e-2).data
    assert d["weight_norm"] < 0.5 * free["weight_norm"]  # L2 keeps the weights small (Seed 4.5.1)
    d = w.set(penalty="l1", lam=1e-2).data
    assert d["near_zero"] > free["near_zero"] + 0.2  # L1 makes them sparse
    shown = w.artists["hist"].get_data()  # the weight histogram shows these weights, edge bins clipped in
    assert np.array_equal(shown.edges, w.BINS) and shown.values.sum() == d["weights"].size
    inner = (d["weights"] >= w.BINS[0]) & (d["weights"] < w.BINS[-1])
    assert np.array_equal(shown.values[1:-1], np.histogram(d["weights"][inner], w.BINS)[0][1:-1])
    d = w.set(penalty="none", dropout=0.5).data
    assert any(type(m).__name__ == "Dropout" for m in d["model"].modules())
    assert not np.allclose(d["probability"], free["probability"])
    d = w.set(dropout=0.0, batch_norm=True).data
    assert sum(type(m).__name__ == "BatchNorm1d" for m in d["model"].modules()) == 2
    assert d["train_acc"] > 0.85


@pytest.mark.accuracy
def test_playground_trainer_learns_and_reacts_to_every_control():
    w = widgets.PlaygroundTrainer()
    d = w.data
    assert d["test_acc"] >= 0.9 and d["train_loss"] < d["curves"]["train_loss"][0]
    assert d["parameters"] == fc_network_parameter_count([2, 8, 8, 2])
    assert np.allclose(w.artists["boundary"].get_array(), d["probability"])
    d = move(w, "depth", 0)  # no hidden layer: a linear classifier cannot bend around the moons
    assert d["parameters"] == 6 and d["test_acc"] < 0.92
    d = move(w, "depth", 3)
    d = move(w, "width", 4)
    assert d["parameters"] == fc_network_parameter_count([2, 4, 4, 4, 2])
    d = move(w, "dataset", "circles")
    assert np.allclose(w.artists["train_points"].get_offsets(), d["X"])
    d = w.set(optimizer="sgd", lr=1.0, activation="relu").data
    d_small = w.set(lr=0.001).data
    assert d_small["train_loss"] > 0.5  # a tiny α barely moves in 120 steps
    d = w.set(lr=0.03, optimizer="adam", regularization="l2", lam=0.1).data
    assert d["curves"]["train_loss"][-1] > d["train_loss"] - 1e-9


# -- 5.2 weight counter ------------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=2, max_size=6), st.sampled_from(["relu", "prelu_layer", "prelu_neuron"]))
def test_weight_counter_matches_the_formula_and_the_built_network(widths, activation):
    w = _weight_counter()
    d = w.compute(**{**w.values, "activation": activation, "layers": ", ".join(map(str, widths))})
    hidden = widths[1:-1]
    a = {"relu": 0, "prelu_layer": len(hidden), "prelu_neuron": sum(hidden)}[activation]
    expected = a + sum(m * p + m for p, m in zip(widths[:-1], widths[1:]))  # Seed 5.2
    assert d["total"] == expected == d["model_count"]
    assert d["weights"] == [p * m for p, m in zip(widths[:-1], widths[1:])] and d["widths"] == widths


_COUNTER = []


def _weight_counter():
    """One widget for all hypothesis examples: building a figure per example would dominate the test."""
    if not _COUNTER:
        _COUNTER.append(widgets.WeightCounter())
    return _COUNTER[0]


def test_weight_counter_sliders_and_bad_text():
    w = widgets.WeightCounter(inputs=784, hidden_layers=1, width=256, outputs=10)
    assert w.data["total"] == 784 * 256 + 256 + 256 * 10 + 10
    d = move(w, "hidden_layers", 3)
    assert d["widths"] == [784, 256, 256, 256, 10]
    assert sum(t.get_visible() for t in w.artists["bar_labels"]) == 4
    assert [b.get_height() for b in w.artists["weight_bars"][:4]] == d["weights"]
    w.controls["layers"].value = "784, many, 10"
    assert isinstance(w.error, ValueError) and "whole numbers" in w.status.value
    move(w, "layers", "")
    assert w.data["widths"] == [784, 256, 256, 256, 10]


# -- 5.3-5.4 forward/backward stepper ------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_forward_backward_gradients_match_finite_differences(activation):
    d = fc.forward_backward([0.7, -1.2], [1.0, 0.0], activation, seed=3, lr=0.1)
    act = {"sigmoid": sigmoid, "tanh": np.tanh, "relu": lambda s: np.maximum(s, 0)}[activation]

    def loss(w1, b1, w2, b2):
        yhat = sigmoid(w2 @ act(w1 @ d["x"] + b1) + b2)
        return 0.5 * np.sum((yhat - d["y"]) ** 2)

    params = [d["w1"], d["b1"], d["w2"], d["b2"]]
    assert loss(*params) == pytest.approx(d["loss"])
    for i, name in enumerate(["dw1", "db1", "dw2", "db2"]):
        numeric = np.zeros_like(params[i])
        for idx in np.ndindex(params[i].shape):
            plus = [p.copy() for p in params]
            minus = [p.copy() for p in params]
            plus[i][idx] += 1e-6
            minus[i][idx] -= 1e-6
            numeric[idx] = (loss(*plus) - loss(*minus)) / 2e-6
        assert np.allclose(d[name], numeric, atol=1e-8), name
    assert np.allclose(d["dyhat"], d["yhat"] - d["y"])  # Seed 5.4: the first factor of the chain
    assert np.allclose(d["ds2"], d["dyhat"] * d["yhat"] * (1 - d["yhat"]))
    assert np.allclose(d["dw2"], np.outer(d["ds2"], d["h1"]))
    assert d["loss_after"] < d["loss"]


def test_stepper_reveals_one_quantity_per_stage():
    w = widgets.ForwardBackwardStepper()
    assert w.data["visible"] == ("input",)
    assert w.artists["node_text"]["h0"].get_text() == ""
    move(w, "stage", fc.STAGES.index("h1"))
    assert f"{w.data['h1'][0]:.3f}" in w.artists["node_text"]["h0"].get_text()
    assert w.artists["grad_text"]["h0"].get_text() == ""
    move(w, "stage", fc.STAGES.index("dw2"))
    texts = [t.get_text() for t in w.artists["edge_grad"]]
    assert sum("∂" in t for t in texts) == 6  # the 6 output-layer weights show their gradient
    assert f"{w.data['dw2'][0, 0]:+.3f}" in texts[6]
    move(w, "stage", len(fc.STAGES) - 1)
    assert sum("∂" in t.get_text() for t in w.artists["edge_grad"]) == 12
    d = w.data
    assert w.artists["node_text"]["y1"].get_text() == f"s = {d['s2'][1]:.3f}\nŷ = {d['yhat'][1]:.3f}"
    assert w.artists["grad_text"]["h2"].get_text() == f"∂L/∂h = {d['dh1'][2]:.3f}\n∂L/∂s = {d['ds1'][2]:.3f}"
    assert "update" in w.status.value and f"{w.data['loss_after']:.4f}" in w.status.value
    before = w.data["loss"]
    d = move(w, "x1", -1.0)
    assert d["loss"] != before and f"{d['loss']:.4f}" in w.artists["node_text"]["L"].get_text()
