"""Grid and random search (seed 8.6.1) and ensembles (seed 4.5.4)."""
import math

import numpy as np
import pytest
from scipy import stats

import dlcourse
from dlcourse.data import load_digits, make_moons
from dlcourse.ensemble import bootstrap_indices, ensemble_report, train_ensemble
from dlcourse.nn import CrossEntropyLoss, Linear, MSELoss, ReLU, Sequential, Tanh
from dlcourse.optim import SGD, Adam
from dlcourse.train import History, fit
from dlcourse.tuning import (SEED_GRID, Choice, IntUniform, LogUniform, Results, Uniform, grid_search,
                             random_search)

pytestmark = pytest.mark.tuning


# -- grid search ------------------------------------------------------------------------------------
def test_grid_search_tries_every_combination_and_picks_on_validation():
    calls = []

    def train_fn(lr, weight_decay):
        calls.append((lr, weight_decay))
        # validation prefers lr=1e-2, wd=1e-5; training prefers the largest lr (a trap for selection)
        val = abs(math.log10(lr) + 2) + abs(math.log10(weight_decay + 1e-9) + 5)
        return {"val_loss": val, "train_loss": -lr}

    res = grid_search(train_fn, SEED_GRID, progress=False)
    assert len(res) == len(calls) == 4 * 3
    assert set(calls) == {(lr, wd) for lr in SEED_GRID["lr"] for wd in SEED_GRID["weight_decay"]}
    assert res.best_config == {"lr": 1e-2, "weight_decay": 1e-5}
    assert res.best["val_loss"] == min(r["val_loss"] for r in res)
    ordered = res.sort_by("val_loss")
    assert isinstance(ordered, Results) and ordered[0] == res.best
    assert [r["val_loss"] for r in ordered] == sorted(r["val_loss"] for r in res)
    assert res.sort_by("train_loss")[0]["lr"] == 1e-1  # sorting by another column works too


def test_results_table_markdown_nan_last_and_accuracy_descending():
    res = Results([{"trial": 0, "lr": 0.1, "val_acc": 0.8}, {"trial": 1, "lr": 0.01, "val_acc": float("nan")},
                   {"trial": 2, "lr": 0.001, "val_acc": 0.9}], metric="val_acc", params=["lr"])
    assert res.mode == "max" and res.best_config == {"lr": 0.001}
    assert [r["trial"] for r in res.sort_by()] == [2, 0, 1]
    md = res.to_markdown(["lr", "val_acc"]).splitlines()
    assert md[0] == "| lr | val_acc |" and md[1] == "|---|---|" and len(md) == 5 and "nan" in md[3]
    assert res._repr_markdown_() == res.to_markdown()


def test_selection_on_test_data_is_refused_and_metric_must_be_returned():
    with pytest.raises(ValueError, match="test set once"):
        grid_search(lambda lr: {"test_acc": 1.0}, {"lr": [0.1]}, metric="test_acc", progress=False)
    with pytest.raises(KeyError, match="val_loss"):
        grid_search(lambda lr: {"train_loss": 1.0}, {"lr": [0.1]}, progress=False)
    with pytest.raises(ValueError, match="non-empty list"):
        grid_search(lambda lr: 1.0, {"lr": 0.1}, progress=False)
    with pytest.raises(ValueError, match="minimised or maximised"):
        grid_search(lambda lr: 1.0, {"lr": [0.1]}, metric="f1", progress=False)


def test_history_results_and_a_real_search_on_moons():
    X, y = make_moons(300, noise=0.2, rng=0)
    Xv, yv = make_moons(200, noise=0.2, rng=1)
    X, Xv = X.astype(np.float32), Xv.astype(np.float32)

    def train_fn(lr):
        dlcourse.seed(0)
        model = Sequential(Linear(2, 16), Tanh(), Linear(16, 2))
        return fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=lr, momentum=0.9), (X, y),
                   val_data=(Xv, yv), epochs=8, progress=False)

    res = grid_search(train_fn, {"lr": [1e-1, 1e-3, 1e-5]}, progress=True)
    assert {"val_loss", "val_acc", "train_loss", "epochs", "seconds", "trial"} <= set(res[0])
    assert res.best_config == {"lr": 1e-1} and res.best["val_acc"] > 0.85
    assert res.sort_by("val_acc")[0]["lr"] == 1e-1  # accuracies sort best-first


# -- random search ----------------------------------------------------------------------------------
def test_log_uniform_is_uniform_in_the_exponent():
    gen = np.random.default_rng(0)
    draws = np.array([LogUniform(1e-4, 1e-1).sample(gen) for _ in range(2000)])
    assert draws.min() >= 1e-4 and draws.max() <= 1e-1
    assert stats.kstest((np.log10(draws) + 4) / 3, "uniform").pvalue > 0.01
    assert stats.kstest((draws - 1e-4) / (1e-1 - 1e-4), "uniform").pvalue < 1e-6  # not uniform in the value
    per_decade = np.histogram(np.log10(draws), bins=[-4, -3, -2, -1])[0]
    assert per_decade.min() > 600


def test_random_search_is_reproducible_and_uses_the_space():
    seen = []

    def train_fn(lr, weight_decay, width, p, act, epochs):
        seen.append((lr, weight_decay, width, p, act, epochs))
        return (math.log10(lr) + 2.5) ** 2

    space = {"lr": LogUniform(1e-4, 1e-1), "weight_decay": LogUniform(1e-6, 1e-3), "width": IntUniform(8, 64),
             "p": Uniform(0.0, 0.5), "act": ["relu", "tanh"], "epochs": 5}
    a = random_search(train_fn, space, n_trials=30, rng=3, progress=False)
    b = random_search(train_fn, space, n_trials=30, rng=3, progress=False)
    assert [r["lr"] for r in a] == [r["lr"] for r in b]
    lr, wd, width, p, act, epochs = zip(*seen[:30])
    assert all(1e-4 <= v <= 1e-1 for v in lr) and all(1e-6 <= v <= 1e-3 for v in wd)
    assert set(width) <= set(range(8, 65)) and all(0 <= v <= 0.5 for v in p)
    assert set(act) == {"relu", "tanh"} and set(epochs) == {5}
    best_lr = a.best_config["lr"]
    assert abs(math.log10(best_lr) + 2.5) == min(abs(math.log10(v) + 2.5) for v in lr)
    assert Choice([1, 2]).sample(np.random.default_rng(0)) in (1, 2)
    with pytest.raises(ValueError):
        LogUniform(0, 1)


# -- ensembles (seed 4.5.4) -------------------------------------------------------------------------
def test_bootstrap_draws_with_replacement():
    idx = bootstrap_indices(10_000, rng=0)
    assert idx.min() >= 0 and idx.max() < 10_000
    assert len(np.unique(idx)) / 10_000 == pytest.approx(1 - 1 / math.e, abs=0.01)


@pytest.fixture(scope="module")
def digits():
    return load_digits(flatten=True)


@pytest.mark.accuracy
@pytest.mark.parametrize("bootstrap", [True, False], ids=["bagging", "seeds+optimizers"])
def test_ensemble_beats_the_mean_member_on_held_out_digits(digits, bootstrap):
    optimizers = None if bootstrap else [lambda p: Adam(p, lr=1e-2), lambda p: SGD(p, lr=0.1, momentum=0.9)]
    ens = train_ensemble(lambda: Sequential(Linear(64, 32), ReLU(), Linear(32, 10)),
                         (digits.X_train, digits.y_train), n_models=5, epochs=8, bootstrap=bootstrap,
                         optimizers=optimizers, seed=0)
    rep = ensemble_report(ens, digits.X_test, digits.y_test)
    assert len(rep.member_errors) == 5 and 0 < rep.disagreement < 0.2
    assert rep.ensemble_error <= rep.mean_member_error
    assert rep.ensemble_loss <= rep.mean_member_loss  # convexity of −log: guaranteed for averaged probabilities
    assert rep.mean_member_error < 0.1  # the members themselves are decent
    probs = ens.predict(digits.X_test)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert "ensemble of 5" in rep.to_markdown()


def test_regression_ensemble_mse_is_at_most_the_mean_member_mse():
    gen = np.random.default_rng(0)
    X = gen.uniform(-3, 3, (300, 1)).astype(np.float32)
    y = (np.sin(X) + 0.1 * gen.standard_normal(X.shape)).astype(np.float32)
    Xt = np.linspace(-3, 3, 200, dtype=np.float32)[:, None]
    ens = train_ensemble(lambda: Sequential(Linear(1, 16), Tanh(), Linear(16, 1)), (X, y), n_models=4, epochs=10,
                         loss_fn=MSELoss(), seed=1)
    rep = ensemble_report(ens, Xt, np.sin(Xt))
    assert ens.combine == "mean" and rep.disagreement is None
    assert rep.ensemble_error <= rep.mean_member_error
    np.testing.assert_allclose(ens.predict(Xt), ens.member_outputs(Xt).mean(axis=0))
    assert isinstance(ens.histories[0], History)
