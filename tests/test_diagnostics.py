"""Learning-curve diagnosis on real runs (fixtures), sanity checks, LR finder and timings (seed 8.7, 8.8)."""
import json
import time
from collections import Counter
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcourse.data import DataLoader, load_digits
from dlcourse.diagnostics import (LABELS, STAGES, Diagnosis, diagnose, find_learning_rate, overfit_small_sample,
                                  plot_learning_curves, smooth, time_iterations)
from dlcourse.nn import CrossEntropyLoss, Linear, Module, ReLU, Sequential
from dlcourse.optim import SGD, Adam
from dlcourse.train import History

pytestmark = pytest.mark.diagnostics

FIXTURES = Path(__file__).parent / "fixtures" / "learning_curves"
RUNS = sorted(FIXTURES.glob("*.json"))

# Without the loss of a constant prediction a curve's *level* is unknown: a model that settles at a
# mediocre loss, or a finite loss a hundred times worse than guessing, cannot be told apart from a
# good one by its shape.  These runs need ``baseline`` (documented in dlcourse.diagnostics.curves).
NEEDS_BASELINE = {"underfitting__moons_linear", "underfitting__sine_linear",
                  "diverged__digits_sgd_momentum_50", "diverged__moons_sgd_momentum_20"}


def load(path):
    record = json.loads(path.read_text())
    nan = lambda vs: [np.nan if v is None else v for v in vs]  # noqa: E731
    return record, np.array(nan(record["train_loss"]), float), np.array(nan(record["val_loss"]), float)


def ids(paths):
    return [p.stem for p in paths]


# -- the fixtures themselves ------------------------------------------------------------------------
def test_every_label_has_at_least_three_different_real_runs():
    records = [load(p)[0] for p in RUNS]
    per_label = Counter(r["label"] for r in records)
    assert set(per_label) == set(LABELS)
    assert min(per_label.values()) >= 3, per_label
    for label in LABELS:
        runs = [r for r in records if r["label"] == label]
        assert len({r["description"] for r in runs}) == len(runs)
        assert len({r["seed"] for r in runs}) == len(runs)  # different seeds, too
        for r in runs:
            assert len(r["train_loss"]) == len(r["val_loss"]) >= 1 and r["baseline_loss"] > 0


@pytest.mark.parametrize("path", RUNS, ids=ids(RUNS))
def test_diagnose_labels_each_real_run(path):
    record, t, v = load(path)
    d = diagnose(t, v, baseline=record["baseline_loss"])
    assert d.label == record["label"], f"{path.stem}: {d}\n{d.evidence}"
    assert d.advice and "seed" in d.advice and d.reason


@pytest.mark.parametrize("path", [p for p in RUNS if p.stem not in NEEDS_BASELINE],
                         ids=ids([p for p in RUNS if p.stem not in NEEDS_BASELINE]))
def test_diagnose_without_baseline_uses_curve_shape_only(path):
    record, t, v = load(path)
    assert diagnose(t, v).label == record["label"]


def test_runs_that_need_a_baseline_really_need_it():
    """Without the baseline these four are misread; with it they are right (the test above)."""
    for stem in NEEDS_BASELINE:
        record, t, v = load(FIXTURES / f"{stem}.json")
        assert diagnose(t, v).label != record["label"]


def test_history_input_and_classes_shortcut():
    record, t, v = load(FIXTURES / "overfitting__digits_100_samples.json")
    hist = History(epoch=list(range(len(t))), train_loss=list(t), val_loss=list(v))
    assert diagnose(hist).label == "overfitting"
    assert diagnose(hist, classes=10).evidence["baseline"] == pytest.approx(np.log(10))


# -- robustness: noisy but healthy curves ---------------------------------------------------------
IDEAL = sorted(FIXTURES.glob("ideal__*.json"))


@pytest.mark.parametrize("path", IDEAL, ids=ids(IDEAL))
def test_noisy_healthy_curves_stay_ideal(path):
    """3 % multiplicative jitter on every training epoch and 10 % on every validation epoch."""
    record, t, v = load(path)
    gen = np.random.default_rng(0)
    labels = Counter()
    for _ in range(30):
        tn = t * np.exp(0.03 * gen.standard_normal(len(t)))
        vn = v * np.exp(0.10 * gen.standard_normal(len(v)))
        labels[diagnose(tn, vn, baseline=record["baseline_loss"]).label] += 1
    assert labels == Counter({"ideal": 30})


@settings(max_examples=25, deadline=None)
@given(epochs=st.integers(15, 80), tau=st.floats(0.05, 0.25), floor=st.floats(0.01, 0.15),
       gap=st.floats(0.95, 1.15), seed=st.integers(0, 10_000))
def test_synthetic_healthy_exponential_decay_is_ideal(epochs, tau, floor, gap, seed):
    e = np.arange(epochs)
    clean = floor + np.exp(-e / (tau * epochs))
    gen = np.random.default_rng(seed)
    t = clean * np.exp(0.02 * gen.standard_normal(epochs))
    v = (floor * gap + np.exp(-e / (tau * epochs))) * np.exp(0.08 * gen.standard_normal(epochs))
    assert diagnose(t, v, baseline=1.0 + floor).label == "ideal"


# -- the rules can fail: changing the evidence changes the label ---------------------------------------
def test_overfitting_needs_the_validation_curve_to_turn_up():
    record, t, v = load(FIXTURES / "overfitting__spirals_60_samples.json")
    flat_val = np.minimum.accumulate(v)  # same run, but validation never rises
    assert diagnose(t, flat_val, baseline=record["baseline_loss"]).label != "overfitting"
    assert diagnose(t, v, baseline=record["baseline_loss"]).evidence["val_slope_t"] > 3


def test_swapping_train_and_val_turns_val_easier_into_something_else():
    record, t, v = load(FIXTURES / "val_easier__digits_noise_augmentation.json")
    assert diagnose(v, t, baseline=record["baseline_loss"]).label != "val_easier"


def test_lr_rules_on_closed_form_curves():
    e = np.arange(40, dtype=float)
    assert diagnose(2.0 - 0.01 * e, 2.02 - 0.01 * e).label == "lr_too_low"               # a straight line
    assert diagnose(0.1 + 2 * np.exp(-e / 4), 0.11 + 2 * np.exp(-e / 4)).label == "ideal"  # convex, settles
    zigzag = 0.6 + 0.15 * (-1) ** e
    zigzag[0] = 2.0
    assert diagnose(zigzag, zigzag + 0.02).label == "lr_too_high"


def test_diverged_on_nan_inf_and_explosion():
    assert diagnose([1.0, 0.5, float("nan")]).label == "diverged"
    assert diagnose([1.0, 0.5, 0.4, 0.3], [1.0, np.inf, 0.4, 0.3]).evidence["first_nonfinite_epoch"] == 1
    exploding = 0.5 * 1.5 ** np.arange(20)
    assert diagnose(exploding).label == "diverged"
    with pytest.raises(ValueError, match="at least 4"):
        diagnose([1.0, 0.5])
    with pytest.raises(ValueError, match="epochs"):
        diagnose([1.0, 0.9, 0.8, 0.7], [1.0, 0.9])


def test_smooth_removes_a_single_spike_and_keeps_length():
    curve = np.linspace(1.0, 0.1, 30)
    spiky = curve.copy()
    spiky[12] = 5.0
    s = smooth(spiky)
    assert s.shape == curve.shape and abs(s[12] - curve[12]) < 0.05


def test_plot_learning_curves_is_annotated():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    record, t, v = load(FIXTURES / "overfitting__moons_30_samples.json")
    hist = History(epoch=list(range(len(t))), train_loss=list(t), val_loss=list(v))
    ax, d = plot_learning_curves(hist, baseline=record["baseline_loss"])
    assert isinstance(d, Diagnosis) and d.label == "overfitting"
    assert "overfitting" in ax.get_title()
    assert any("minimum" in txt.get_text() for txt in ax.texts)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "training loss" in labels and "validation loss" in labels
    _, d2 = plot_learning_curves([1.0, 0.5, float("nan")], ax=plt.subplots()[1])
    assert d2.label == "diverged"
    plt.close("all")


# -- overfit one sample, then a handful (seed 8.8.2) ------------------------------------------------
class NoWeightGradient(Linear):
    """Planted bug: backward forgets dL/dW (only the bias learns)."""

    def backward(self, dout):
        self.bias.accumulate(dout.reshape(-1, self.out_features).sum(0).astype(self.bias.dtype))
        return dout @ self.weight.data.astype(dout.dtype)


class FlippedWeightGradient(Linear):
    """Planted bug: the weight gradient has the wrong sign (gradient ascent)."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.weight.grad *= -1
        return dx


@pytest.fixture(scope="module")
def digits():
    return load_digits(flatten=True)


def test_overfit_small_sample_succeeds_on_a_correct_model(digits):
    report = overfit_small_sample(lambda: Sequential(Linear(64, 32), ReLU(), Linear(32, 10)),
                                  digits.X_train, digits.y_train, rng=0)
    assert report.passed and [r.n_samples for r in report.results] == [1, 4]
    assert all(r.accuracy == 1.0 and r.final_loss < 0.05 * r.initial_loss for r in report.results)
    assert "ok" in str(report)


@pytest.mark.parametrize("bug", [NoWeightGradient, FlippedWeightGradient])
def test_overfit_small_sample_reports_a_planted_bug(digits, bug):
    report = overfit_small_sample(lambda: Sequential(bug(64, 32), ReLU(), bug(32, 10)),
                                  digits.X_train, digits.y_train, rng=0)
    assert not report.passed and not report
    four = report.results[1]
    assert four.n_samples == 4 and not four.passed
    assert four.accuracy < 1.0 or four.final_loss > 0.05 * four.initial_loss
    assert "FAILED" in str(report) and "backward" in str(report)


def test_four_samples_come_from_different_classes(digits):
    seen = []

    class Spy(Module):
        def __init__(self):
            super().__init__()
            self.fc = Linear(64, 10)

        def forward(self, x):
            seen.append(x.copy())
            return self.fc(x)

        def backward(self, dout):
            return self.fc.backward(dout)

    overfit_small_sample(Spy, digits.X_train, digits.y_train, sizes=(4,), max_iterations=1, rng=1)
    rows = [np.flatnonzero((digits.X_train == r).all(axis=1))[0] for r in seen[0]]
    assert len(set(digits.y_train[rows])) == 4


# -- learning-rate finder (seed 8.8.3) ----------------------------------------------------------------
def test_lr_finder_picks_a_rate_that_drops_the_loss(digits):
    matplotlib.use("Agg")
    make = lambda: Sequential(Linear(64, 32), ReLU(), Linear(32, 10))  # noqa: E731
    res = find_learning_rate(make, (digits.X_train, digits.y_train),
                             optimizer=lambda p, lr: SGD(p, lr=lr, momentum=0.9))
    assert res.lrs == [1e-1, 1e-2, 1e-3, 1e-4] and all(len(c) == 100 for c in res.losses)
    assert res.best_lr == 1e-1
    drops = dict(zip(res.lrs, res.drops))
    assert drops[1e-1] > 0.5 and drops[1e-4] < 0.1  # 1e-4 barely moves within 100 iterations
    assert drops[1e-1] > drops[1e-2] > drops[1e-3] > drops[1e-4]
    ax = res.plot()
    assert len(ax.get_lines()) == 4 and "0.1" in ax.get_title()
    assert "| 0.1 **best** |" in str(res)


def test_lr_finder_flags_divergence(digits):
    make = lambda: Sequential(Linear(64, 32), ReLU(), Linear(32, 10))  # noqa: E731
    res = find_learning_rate(make, (digits.X_train, digits.y_train), lrs=(1e3, 1e-1), iterations=30,
                             optimizer=lambda p, lr: SGD(p, lr=lr, momentum=0.9))
    assert res.diverged == [True, False] and res.best_lr == 1e-1


# -- iteration timings (seed 8.8.4) -----------------------------------------------------------------
class SlowForward(Module):
    def __init__(self, seconds):
        super().__init__()
        self.fc, self.seconds = Linear(64, 10), seconds

    def forward(self, x):
        time.sleep(self.seconds)
        return self.fc(x)

    def backward(self, dout):
        return self.fc.backward(dout)


def test_timing_breakdown_names_the_data_bottleneck_and_flags_slow_iterations(digits):
    def slow_transform(x):
        time.sleep(0.03)
        return x

    model = Sequential(Linear(64, 32), ReLU(), Linear(32, 10))
    loader = DataLoader(digits.X_train, digits.y_train, batch_size=64, shuffle=True, transform=slow_transform)
    rep = time_iterations(model, CrossEntropyLoss(), Adam(model.parameters()), loader, iterations=5, warmup=1,
                          slow_ms=20)
    assert rep.times.shape == (5, len(STAGES)) and rep.bottleneck == "data"
    assert rep.median_ms["data"] >= 25 and rep.slow_iterations == [0, 1, 2, 3, 4]
    assert rep.epoch_seconds == pytest.approx(np.median(rep.total) * len(loader))
    assert rep.estimate(10) == pytest.approx(10 * rep.epoch_seconds)
    assert "data loading" in str(rep) and "WARNING" in str(rep)
    rep.plot()


def test_timing_names_the_forward_bottleneck_and_fast_loops_are_not_flagged(digits):
    model = SlowForward(0.02)
    rep = time_iterations(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1),
                          (digits.X_train, digits.y_train), iterations=4, warmup=1)
    assert rep.bottleneck == "forward" and rep.slow_iterations == []  # 20 ms < 500 ms
    assert "WARNING" not in str(rep)
