"""The interactive figures of chapters 8 and 9, driven without a browser (Agg backend).

Every test moves controls the way a student would and checks the model *and* the plotted data:
the curves must be what the library computes (diagnosis, search results, layer statistics), move
in the direction the lecture predicts, and the artists must show those numbers.
"""
import math

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from widget_checks import assert_builds_lazily, assert_canvas_matches_full_render

from dlcourse import nn, transfer, tuning, widgets
from dlcourse.diagnostics import diagnose
from dlcourse.widgets import training as tw
from dlcourse.widgets import transfer as tf

pytestmark = pytest.mark.widgets


def move(w, name, value):
    """Move one control as the browser does (through the observer), and fail on a hidden error."""
    w.controls[name].value = value
    assert w.error is None, f"{type(w).__name__}.{name} = {value!r} raised {w.error!r}"
    return w.data


@pytest.fixture(scope="module")
def lab():
    w = widgets.LearningCurveLab()
    yield w
    w.close()


# -- 8.7 learning-curve lab ------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", list(tw.PRESETS))
def test_every_preset_shows_its_case_of_seed_8_7(lab, preset):
    d = move(lab, "preset", preset)
    for name, value in tw.PRESETS[preset][1].items():  # the preset really set the controls
        assert lab.controls[name].value == pytest.approx(value)
    assert d["diagnosis"].label == preset
    # the label drawn in the figure is the library's diagnosis of the drawn curves
    assert lab.artists["label"].get_text() == preset.replace("_", " ")
    train_y, val_y = lab.artists["train"].get_ydata(), lab.artists["val"].get_ydata()
    assert np.array_equal(train_y, d["train_loss"], equal_nan=True) and np.array_equal(val_y, d["val_loss"],
                                                                                       equal_nan=True)
    assert diagnose(train_y, val_y, classes=10).label == preset
    assert preset.replace("_", " ") in lab.status.value


def test_lab_curves_respond_to_every_control(lab):
    base = dict(tw.PRESETS["ideal"][1])
    lab.set(preset="ideal")
    ref = lab.data
    # moving a control switches the case to "custom" and retrains
    d = move(lab, "lr", 0.01)
    assert lab.controls["preset"].value == "custom"
    assert d["train_loss"][-1] > ref["train_loss"][-1]  # a smaller step gets less far in 60 epochs
    lab.set(**base)
    d = move(lab, "hidden", 8)
    assert d["parameters"] == 64 * 8 + 8 + 8 * 10 + 10 < ref["parameters"] == 64 * 64 + 64 + 64 * 10 + 10
    lab.set(**base)
    d = move(lab, "weight_decay", 0.1)  # strong decay keeps the weights (and the fit) small
    w_decay = sum(float((p.data ** 2).sum()) for p in d["model"].parameters())
    w_plain = sum(float((p.data ** 2).sum()) for p in ref["model"].parameters())
    assert w_decay < 0.5 * w_plain and d["train_loss"][-1] > ref["train_loss"][-1]
    lab.set(**base)
    d = move(lab, "dropout", 0.5)  # the training loss is measured with dropout on: higher than without
    assert d["train_loss"][-1] > ref["train_loss"][-1]
    assert any(isinstance(m, nn.Dropout) for m in d["model"].modules())
    lab.set(**base)
    d = move(lab, "n_train", 50)
    assert d["n_train"] == 50 and d["train_acc"][-1] == 1.0 and d["val_acc"][-1] < ref["val_acc"][-1]
    lab.set(**base)
    d = move(lab, "label_noise", 0.4)  # wrong labels cannot be learned: training accuracy drops
    assert d["train_acc"][-1] < 0.8 < ref["train_acc"][-1]
    lab.set(**base)
    d = move(lab, "epochs", 100)
    assert len(d["train_loss"]) == 100 and lab.artists["train"].get_xdata()[-1] == 99
    assert lab.artists["train"].axes.get_xlim() == (0, 99)


def test_lab_marks_the_early_stopping_epoch_and_reports_divergence(lab):
    d = move(lab, "preset", "overfitting")
    b = d["best_epoch"]
    assert d["val_loss"][b] == np.nanmin(d["val_loss"]) and b < len(d["val_loss"]) - 10
    assert list(lab.artists["best"].get_xdata()) == [b]
    d = move(lab, "lr", 10.0)  # far too large: NaN, and the diagnosis says so
    assert d["diagnosis"].label in ("diverged", "lr_too_high")
    assert np.isfinite(lab.artists["train"].get_ydata()).sum() >= 1


def test_learning_curve_run_is_reproducible_and_leaves_the_global_rng_alone():
    import dlcourse
    from dlcourse import _rng

    dlcourse.seed(5)
    state = _rng.get_rng().bit_generator.state
    tw.learning_curve_run.cache_clear()
    a = tw.learning_curve_run(hidden=16, epochs=20)
    tw.learning_curve_run.cache_clear()
    b = tw.learning_curve_run(hidden=16, epochs=20)
    assert np.array_equal(a["train_loss"], b["train_loss"]) and np.array_equal(a["val_acc"], b["val_acc"])
    assert _rng.get_rng().bit_generator.state == state
    # the validation images are disjoint from the training pool (Seed 8.2)
    d = tw.digits_split()
    pool = {row.tobytes() for row in d["X_pool"]}
    assert not any(row.tobytes() in pool for row in d["X_val"])


# -- 8.6.1 hyperparameter search -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def search():
    w = widgets.HyperparameterSearch(trials=9)
    yield w
    w.close()


def test_grid_search_tries_k_values_per_axis_and_picks_the_best_validation_score(search):
    d = move(search, "method", "grid")
    assert len(d["val_acc"]) == 9 and d["distinct_lr"] == 3 and len(set(d["weight_decay"])) == 3
    assert d["best"]["val_acc"] == max(d["val_acc"])
    assert d["best"]["lr"] == d["results"].best_config["lr"]
    # every score is a real training run of hp_trial
    i = 4
    assert d["val_acc"][i] == tw.hp_trial(lr=d["lr"][i], weight_decay=d["weight_decay"][i])["val_acc"]
    # the plot shows the trials in log coordinates, and the star on the best one
    offsets = search.artists["points"].get_offsets()
    assert np.allclose(offsets[:, 0], np.log10(d["lr"])) and np.allclose(offsets[:, 1], np.log10(d["weight_decay"]))
    assert np.allclose(search.artists["by_lr"].get_offsets()[:, 1], d["val_acc"])
    assert search.artists["star"].get_xdata()[0] == pytest.approx(math.log10(d["best"]["lr"]))
    d = move(search, "trials", 16)
    assert len(d["val_acc"]) == 16 and d["distinct_lr"] == 4
    d = move(search, "trials", 10)  # not a square: the grid uses 3 × 3 of the 10 trials
    assert len(d["val_acc"]) == 9 and "uses 9 of 10" in search.status.value
    before = d["val_acc"].copy()
    d = move(search, "seed", 3)  # a grid does not depend on the seed
    assert np.array_equal(d["val_acc"], before)


def test_random_search_tries_a_new_learning_rate_every_trial_and_follows_the_seed(search):
    search.set(method="random", trials=9, seed=0)
    d = search.data
    assert len(d["val_acc"]) == 9 and d["distinct_lr"] == 9
    lo, hi = tw.LR_RANGE
    assert np.all((d["lr"] >= lo) & (d["lr"] <= hi))
    wlo, whi = tw.WD_RANGE
    assert np.all((d["weight_decay"] >= wlo) & (d["weight_decay"] <= whi))
    # the same draws as the library's random_search with this seed
    ref = tuning.random_search(lambda lr, weight_decay: {"val_acc": 0.0}, tw.search_space("random", 9), 9,
                               metric="val_acc", rng=0, progress=False)
    assert np.allclose(d["lr"], ref.column("lr")) and np.allclose(d["weight_decay"], ref.column("weight_decay"))
    first = d["lr"].copy()
    d = move(search, "seed", 1)
    assert not np.allclose(d["lr"], first)
    assert np.allclose(search.artists["points"].get_offsets()[:, 0], np.log10(d["lr"]))
    d = move(search, "trials", 20)
    assert len(d["val_acc"]) == 20 == len(search.artists["by_wd"].get_offsets())


def test_random_search_finds_a_better_learning_rate_than_the_grid_on_average():
    """Seed 8.6.1 / Bergstra & Bengio: with one important hyperparameter, random search tries more of
    its values; over seeds, its best trial beats a 3 × 3 grid's (same budget of 9)."""
    grid_best = tw.run_search("grid", 9).best["val_acc"]
    random_best = [tw.run_search("random", 9, seed=s).best["val_acc"] for s in range(6)]
    assert np.median(random_best) > grid_best


def test_landscape_table_matches_fresh_trials():
    land = tw.hp_landscape()
    assert land["val_acc"].shape == (12, 12)
    # the learning rate matters far more than the weight decay (the point of the figure)
    assert np.ptp(land["val_acc"].max(axis=0)) > 0.6 > np.ptp(land["val_acc"].max(axis=1))
    for i, j in ((0, 8), (5, 6), (11, 9), (3, 2)):
        fresh = tw.hp_trial(lr=float(land["lr"][j]), weight_decay=float(land["weight_decay"][i]))["val_acc"]
        assert fresh == pytest.approx(land["val_acc"][i, j], abs=0.02)


# -- 8.4 weight initialization ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def init_w():
    w = widgets.InitializationExplorer(depth=6, steps=20)
    yield w
    w.close()


def test_xavier_and_he_keep_the_signal_small_and_large_lose_it(init_w):
    d = init_w.set(scheme="xavier", activation="tanh").data
    assert 0.1 < d["act_std"][-1] and d["act_std"][-1] / d["act_std"][0] > 0.3
    small = init_w.set(scheme="small").data
    ratio = small["act_std"][1:] / small["act_std"][:-1]  # every layer multiplies by about 0.01·√64·tanh'(0)
    assert np.all(ratio < 0.2) and small["act_std"][-1] < 1e-5
    large = init_w.set(scheme="large").data
    assert large["hist"][:, [0, -1]].sum(axis=1).min() > 0.5  # most units saturated at ±1
    assert np.mean(large["mean_derivative"]) < 0.2 < np.mean(d["mean_derivative"])
    he = init_w.set(scheme="he", activation="relu").data
    assert 0.3 < he["act_std"][-1] / he["act_std"][0] < 3
    xr = init_w.set(scheme="xavier").data  # Var 1/n halves the ReLU signal's power at every layer
    assert xr["act_std"][-1] / xr["act_std"][0] < 0.5 * he["act_std"][-1] / he["act_std"][0]
    assert 0.4 < he["zero_fraction"].mean() < 0.6
    lr_ = init_w.set(scheme="large").data  # N(0, 1) with ReLU explodes
    assert lr_["act_std"][-1] > 100 * lr_["act_std"][0]


def test_zero_init_never_breaks_the_symmetry(init_w):
    d = init_w.set(scheme="zero", activation="tanh").data
    assert np.all(d["act_std"] == 0) and np.all(d["grad_std"] == 0) and np.all(d["unit_spread"] == 0)
    assert "symmetry is never broken" in init_w.status.value
    assert d["loss"][-1] == pytest.approx(math.log(10), abs=0.02)  # only the output bias can move
    xav = init_w.set(scheme="xavier").data
    assert np.all(xav["unit_spread"] > 0.1) and xav["loss"][-1] < d["loss"][-1] - 0.3


def test_init_statistics_agree_with_a_direct_forward_pass():
    X, _ = tw.standardized_digits()
    model = tw.init_network("he", "relu", 4, 32, seed=3)
    stats = tw.init_statistics(model, X, np.linspace(0, 3, 41))
    h = X.astype(np.float64)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for k in range(4):
        h = np.maximum(h @ linears[k].weight.data.T.astype(np.float64) + linears[k].bias.data, 0)
        assert stats["act_std"][k] == pytest.approx(h.std(), rel=1e-4)
        assert stats["zero_fraction"][k] == pytest.approx(np.mean(h == 0), abs=1e-6)
        assert stats["hist"][k].sum() == pytest.approx(1 - np.mean(h == 0), abs=1e-6)
    # He: Var(w) = 2 / n_in (Seed 8.4.1)
    assert np.var(linears[1].weight.data) == pytest.approx(2 / 32, rel=0.15)


def test_init_figure_follows_every_control(init_w):
    d = init_w.set(scheme="xavier", activation="tanh", depth=6, width=64, lr=0.03, steps=20).data
    assert len(d["loss"]) == 20 and d["hist"].shape == (6, 40)
    assert np.allclose(init_w.artists["act_std"].get_ydata(), np.maximum(d["act_std"], 1e-12))
    assert np.allclose(init_w.artists["loss"].get_ydata(), d["loss"])
    image = init_w.artists["hist"].get_array()
    assert np.allclose(image[:6], d["hist"] / d["hist"].max(axis=1, keepdims=True)) and np.all(image[6:] == 0)
    d = move(init_w, "depth", 10)
    assert len(d["act_std"]) == 10 and len(init_w.artists["grad_std"].get_xdata()) == 10
    assert init_w.artists["hist"].axes.get_ylim() == (0.5, 15.5)  # fixed: the rows above the depth stay empty
    assert np.all(init_w.artists["hist"].get_array()[10:] == 0) and np.any(init_w.artists["hist"].get_array()[9] > 0)
    d = move(init_w, "width", 128)
    assert d["model"][0].weight.shape == (128, 64)
    d = move(init_w, "activation", "relu")
    assert tuple(init_w.artists["hist"].get_extent()[:2]) == (0.0, 3.0)
    first = d["loss"].copy()
    d = move(init_w, "lr", 0.01)
    assert not np.allclose(d["loss"][1:], first[1:])
    d = move(init_w, "steps", 40)
    assert len(d["loss"]) == 40 and init_w.artists["loss"].axes.get_xlim() == (0, 40)
    d = move(init_w, "scheme", "large")
    assert d["diverged"] and "diverged" in init_w.status.value


# -- 9 transfer learning: how many layers to freeze ------------------------------------------------------------


def test_freeze_table_holds_every_sweep_of_the_figure():
    for name, sizes in tf.SIZES.items():
        assert sorted(tf.FREEZE_TABLE[name]) == sorted(sizes)
        n_layers = len(transfer.learnable_layers(transfer.PRETRAINED[name].builder(4, rng=0)))
        for rows in tf.FREEZE_TABLE[name].values():
            assert [r["frozen"] for r in rows] == list(range(n_layers)) + [None]
            for r in rows:
                assert len(r["per_seed"]) == len(tf.SEEDS)
                assert r["accuracy"] == pytest.approx(np.mean(r["per_seed"]), abs=1e-3)
                assert 0.0 <= min(r["per_seed"]) <= max(r["per_seed"]) <= 1.0


def test_freeze_table_matches_a_fresh_run_of_the_library():
    """The stored numbers are what dlcourse.transfer.freeze_sweep measures (first seed, smallest set)."""
    name, n = "mnist1d_cnn_6class", tf.SIZES["mnist1d_cnn_6class"][0]
    fresh = transfer.freeze_sweep(name, n_per_class=n, seeds=(tf.SEEDS[0],))
    for new, old in zip(fresh, tf.FREEZE_TABLE[name][n]):
        assert new["frozen"] == old["frozen"] and new["trainable_parameters"] == old["trainable_parameters"]
        assert new["per_seed"][0] == pytest.approx(old["per_seed"][0], abs=0.01)


def test_pretraining_pays_off_with_few_samples_on_mnist1d_and_not_on_fashion():
    """Seed 9 measured: with few labels the pretrained start beats random weights when the old task's
    features are needed (MNIST-1D), and buys (almost) nothing when they are not (Fashion-MNIST)."""
    rows = tf.freeze_results("mnist1d_cnn_6class", 5)
    scratch = next(r["accuracy"] for r in rows if r["frozen"] is None)
    assert max(r["accuracy"] for r in rows if r["frozen"] is not None) > scratch + 0.1
    for n in tf.SIZES["fashion_cnn_6class"][1:]:
        rows = tf.freeze_results("fashion_cnn_6class", n)
        scratch = next(r["accuracy"] for r in rows if r["frozen"] is None)
        assert max(r["accuracy"] for r in rows if r["frozen"] is not None) < scratch + 0.05


@pytest.fixture(scope="module")
def freeze_w():
    w = widgets.FreezeExplorer()
    yield w
    w.close()


def test_freeze_explorer_shows_the_stored_sweep(freeze_w):
    d = freeze_w.set(network="mnist1d_cnn_6class", n_per_class=5, frozen=2).data
    rows = tf.FREEZE_TABLE["mnist1d_cnn_6class"][5]
    assert np.allclose(d["accuracy"], [r["accuracy"] for r in rows[:-1]]) and d["scratch"] == rows[-1]["accuracy"]
    assert np.allclose(freeze_w.artists["acc"].get_ydata(), d["accuracy"])
    assert freeze_w.artists["scratch"].get_ydata()[0] == d["scratch"]
    segments = freeze_w.artists["spread"].get_segments()
    assert np.allclose([s[0][1] for s in segments], [min(r["per_seed"]) for r in rows[:-1]])
    assert list(freeze_w.artists["chosen"].get_xdata()) == [2]
    assert freeze_w.artists["chosen"].get_ydata()[0] == pytest.approx(rows[2]["accuracy"])
    # the right panel: the chosen number of frozen layers at every training-set size
    by_size = [tf.FREEZE_TABLE["mnist1d_cnn_6class"][n][2]["accuracy"] for n in tf.SIZES["mnist1d_cnn_6class"]]
    assert np.allclose(d["by_size"], by_size) and np.allclose(freeze_w.artists["by_size"].get_ydata(), by_size)


def test_freeze_explorer_follows_every_control(freeze_w):
    freeze_w.set(network="mnist1d_cnn_6class", n_per_class=5, frozen=0)

    def colors():
        return [tuple(b.get_facecolor()[:3]) for b in freeze_w.artists["boxes"]]

    trained, frozen_c, head = to_rgb(tf.TRAINED_COLOR), to_rgb(tf.FROZEN_COLOR), to_rgb(tf.HEAD_COLOR)
    assert colors() == [trained] * 4 + [head]
    all_trainable = freeze_w.data["trainable"]
    d = move(freeze_w, "frozen", 3)
    assert colors() == [frozen_c] * 3 + [trained, head]
    # the trainable parameters are those of the real model with 3 layers frozen (and the table's)
    assert d["trainable"] < all_trainable and d["trainable"] == tf.FREEZE_TABLE["mnist1d_cnn_6class"][5][3][
        "trainable_parameters"]
    assert list(freeze_w.artists["chosen"].get_xdata()) == [3]
    d = move(freeze_w, "n_per_class", 50)
    assert d["n_per_class"] == 50 and list(freeze_w.artists["here"].get_xdata()) == [50]
    assert np.allclose(d["accuracy"], [r["accuracy"] for r in tf.FREEZE_TABLE["mnist1d_cnn_6class"][50][:-1]])
    draws = freeze_w.full_draws + freeze_w.partial_draws
    d = move(freeze_w, "network", "fashion_cnn_6class")
    # another network moves points and relabels boxes over the cached background: no redraw
    assert freeze_w.full_draws + freeze_w.partial_draws == draws
    assert_canvas_matches_full_render(freeze_w)
    assert list(freeze_w.controls["n_per_class"].options) == list(tf.SIZES["fashion_cnn_6class"])
    assert freeze_w.controls["n_per_class"].value in tf.SIZES["fashion_cnn_6class"]
    assert d["layers"][0] == "conv 3×3, 16" and freeze_w._box_text[0].get_text() == "conv 3×3, 16"
    assert np.array_equal(freeze_w.artists["by_size"].get_xdata(), tf.SIZES["fashion_cnn_6class"])
    assert d["total"] > 50_000  # the 2-D CNN: ~61k parameters
    freeze_w.set(network="mnist1d_cnn_6class")


# -- shared checks ----------------------------------------------------------------------------------------------
ALL = [widgets.LearningCurveLab, widgets.HyperparameterSearch, widgets.InitializationExplorer, widgets.FreezeExplorer]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_widget_builds_with_lazy_sliders_and_fresh_data(cls):
    assert_builds_lazily(cls)


BLIT_MOVES = [
    (widgets.LearningCurveLab, "lr", 0.05, True),
    (widgets.LearningCurveLab, "epochs", 100, False),  # new x limits: a full redraw
    (widgets.HyperparameterSearch, "method", "random", True),
    (widgets.InitializationExplorer, "scheme", "small", True),
    (widgets.InitializationExplorer, "depth", 12, True),  # fixed axes for up to 15 layers
    (widgets.InitializationExplorer, "activation", "relu", False),  # the value axis changes
    (widgets.FreezeExplorer, "frozen", 1, True),
    (widgets.FreezeExplorer, "network", "fashion_cnn_6class", True),  # one size axis for both networks
]


@pytest.mark.parametrize("cls, control, value, blit", BLIT_MOVES, ids=lambda p: getattr(p, "__name__", str(p)))
def test_repainted_frame_matches_a_full_render(cls, control, value, blit):
    """A move repaints only the data over the cached background (a blit) unless the axes changed;
    either way the canvas must show what a full render (savefig) of the figure shows — to 0.05 % of
    the pixels, so that a label or an axis frame hidden behind a repainted artist is caught."""
    w = cls()
    before = w.full_draws + w.partial_draws  # a partial redraw is not a blit either
    move(w, control, value)
    if blit is not None:
        assert (w.full_draws + w.partial_draws == before) == blit
    assert_canvas_matches_full_render(w, tolerance=0.0005)
    w.close()
