"""Make the learning-curve fixtures of ``tests/test_diagnostics.py`` from real training runs (seed 8.7).

Every run below is a real ``dlcourse.train.fit`` call, set up so that its learning curves show one
case of seed 8.7 / 8.7.4: ideal, underfitting, overfitting, validation easier than training, learning
rate too low, learning rate too high, diverged.  Each label has at least three runs that differ in
data, model and seed.  The curves are stored as JSON in ``tests/fixtures/learning_curves/`` (NaN as
``null``), so the tests never train; rerun this script to regenerate them (about a minute on 2 cores):

    python scripts/make_curve_fixtures.py            # all runs
    python scripts/make_curve_fixtures.py --only lr_too_high --print   # a subset, curves printed

The runs are seeded (``dlcourse.seed`` and data seeds), so the files are reproducible on one
machine; BLAS may change the last digits elsewhere.
"""
from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import dlcourse
from dlcourse.data import load_digits, make_circles, make_moons, make_spirals
from dlcourse.nn import CrossEntropyLoss, Dropout, Linear, MSELoss, ReLU, Sequential, Tanh
from dlcourse.optim import SGD, Adam, L2Penalty
from dlcourse.train import fit

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "learning_curves"


# -- data ------------------------------------------------------------------------------------------
def _f32(X, y):
    return np.asarray(X, np.float32), y


def moons(n_train, n_val, noise, seed, val_noise=None):
    return (_f32(*make_moons(n_train, noise=noise, rng=seed)),
            _f32(*make_moons(n_val, noise=noise if val_noise is None else val_noise, rng=seed + 1000)))


def circles(n_train, n_val, noise, seed):
    return (_f32(*make_circles(n_train, noise=noise, rng=seed)),
            _f32(*make_circles(n_val, noise=noise, rng=seed + 1000)))


def spirals(n_train, n_val, noise, seed, classes=3):
    return (_f32(*make_spirals(n_train, classes=classes, noise=noise, rng=seed)),
            _f32(*make_spirals(n_val, classes=classes, noise=noise, rng=seed + 1000)))


def digits(n_train=None, seed=0):
    """Digits training part split into train / val (the bundled test part stays untouched)."""
    d = load_digits(flatten=True)
    order = np.random.default_rng(seed).permutation(len(d.X_train))
    val, train = order[:400], order[400:]
    if n_train is not None:
        train = train[:n_train]
    return (d.X_train[train], d.y_train[train]), (d.X_train[val], d.y_train[val])


def sine(n_train, n_val, noise, seed, scale=1.0):
    """Regression ``y = sin(x) + noise`` on ``x ∈ [−3, 3]`` (times ``scale``: unnormalised inputs)."""
    rng = np.random.default_rng(seed)

    def draw(n):
        x = rng.uniform(-3, 3, size=(n, 1))
        return (scale * x).astype(np.float32), (np.sin(x) + noise * rng.standard_normal((n, 1))).astype(np.float32)

    return draw(n_train), draw(n_val)


def flip_labels(data, fraction, seed, classes=2):
    (X, y) = data
    rng = np.random.default_rng(seed)
    y = y.copy()
    idx = rng.random(len(y)) < fraction
    y[idx] = (y[idx] + rng.integers(1, classes, idx.sum())) % classes
    return X, y


# -- models ----------------------------------------------------------------------------------------
def mlp(sizes, act=ReLU, p=0.0):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act())
            if p > 0:
                layers.append(Dropout(p))
    return Sequential(*layers)


class GaussianNoise:
    """Train-only augmentation: add N(0, std²) to every input (makes training harder than validation)."""

    def __init__(self, std):
        self.std = std

    def __call__(self, x, rng=None):
        return (x + self.std * rng.standard_normal(x.shape)).astype(x.dtype)


@dataclass
class Run:
    label: str
    name: str
    description: str
    data: Callable
    model: Callable
    optimizer: Callable
    epochs: int
    batch_size: int = 32
    seed: int = 0
    loss: str = "ce"
    penalty: float = 0.0
    transform: object = None
    extra: dict = field(default_factory=dict)


def adam(lr, **kw):
    return lambda params: Adam(params, lr=lr, **kw)


def sgd(lr, **kw):
    return lambda params: SGD(params, lr=lr, **kw)


RUNS = [
    # -- ideal: train and val fall together and settle low, small gap (seed 8.7.1) ---------------
    Run("ideal", "moons_mlp_adam", "MLP 2-32-32-2 on 1000 moons (noise 0.2), Adam 0.01",
        lambda: moons(1000, 500, 0.2, 0), lambda: mlp([2, 32, 32, 2]), adam(0.01), 40, seed=0),
    Run("ideal", "circles_mlp_sgd", "MLP 2-32-2 tanh on 1000 circles, SGD 0.1 momentum 0.9",
        lambda: circles(1000, 500, 0.08, 1), lambda: mlp([2, 32, 2], Tanh), sgd(0.1, momentum=0.9), 40, seed=1),
    Run("ideal", "digits_mlp_dropout", "MLP 64-64-10 with dropout 0.2 on digits, Adam 3e-3",
        lambda: digits(seed=2), lambda: mlp([64, 64, 10], p=0.2), adam(3e-3), 40, seed=2),
    Run("ideal", "sine_regression", "MLP 1-32-32-1 tanh, MSE on 800 noisy sine samples, Adam 0.01",
        lambda: sine(800, 400, 0.1, 3), lambda: mlp([1, 32, 32, 1], Tanh), adam(0.01), 40, seed=3, loss="mse"),
    # noisy but healthy: tiny validation sets and small batches make both curves jumpy
    Run("ideal", "noisy_moons_small_val", "MLP 2-32-2 on moons, batch 4, SGD 0.2, only 80 validation samples",
        lambda: moons(600, 80, 0.2, 9), lambda: mlp([2, 32, 2]), sgd(0.2), 40, batch_size=4, seed=9),
    Run("ideal", "noisy_spirals_small_val", "MLP 2-64-64-3 on spirals, batch 16, Adam 0.01, 90 validation samples",
        lambda: spirals(900, 90, 0.03, 5), lambda: mlp([2, 64, 64, 3]), adam(0.01), 40, batch_size=16, seed=5),
    Run("ideal", "noisy_sine_small_val",
        "MLP 1-32-32-1 tanh, MSE on a sine (noise 0.2), batch 8, 40 validation samples",
        lambda: sine(600, 40, 0.2, 8), lambda: mlp([1, 32, 32, 1], Tanh), adam(0.01), 40, batch_size=8, seed=8,
        loss="mse"),
    # -- underfitting: both losses stay high (model too small) or still fall at the end ---------
    Run("underfitting", "moons_linear", "logistic regression (Linear 2-2) on moons: not linearly separable",
        lambda: moons(1000, 500, 0.2, 10), lambda: mlp([2, 2]), adam(0.01), 40, seed=10),
    Run("underfitting", "spirals_width2", "MLP 2-2-3 (two hidden units) on 3 spirals",
        lambda: spirals(900, 450, 0.05, 11), lambda: mlp([2, 2, 3]), adam(0.01), 40, seed=11),
    Run("underfitting", "sine_linear", "linear regression on a sine (MSE)",
        lambda: sine(800, 400, 0.1, 13), lambda: mlp([1, 1]), adam(0.01), 40, seed=13, loss="mse"),
    Run("underfitting", "digits_bottleneck", "MLP 64-2-10 (two hidden units) on digits, Adam 3e-3: still learning",
        lambda: digits(seed=12), lambda: mlp([64, 2, 10]), adam(3e-3), 40, seed=12),
    # -- overfitting: train keeps falling, val turns up (seed 8.7.3) ---------------------------------
    Run("overfitting", "moons_30_samples", "MLP 2-128-128-2 on 30 noisy moons (noise 0.35), Adam 0.01",
        lambda: moons(30, 500, 0.35, 20), lambda: mlp([2, 128, 128, 2]), adam(0.01), 120, batch_size=30, seed=20),
    Run("overfitting", "digits_100_samples", "MLP 64-256-10 on 100 digits, Adam 0.01",
        lambda: digits(n_train=100, seed=21), lambda: mlp([64, 256, 10]), adam(0.01), 80, batch_size=20, seed=21),
    Run("overfitting", "sine_15_points", "MLP 1-128-128-1 on 15 noisy sine points (noise 0.3), MSE",
        lambda: sine(15, 400, 0.3, 22), lambda: mlp([1, 128, 128, 1]), adam(0.01), 150, batch_size=15, seed=22,
        loss="mse"),
    Run("overfitting", "spirals_60_samples", "MLP 2-128-128-3 on 60 noisy spiral points (noise 0.15)",
        lambda: spirals(60, 450, 0.15, 23), lambda: mlp([2, 128, 128, 3]), adam(0.01), 150, batch_size=20,
        seed=23),
    # -- validation easier than training (seed 8.7.4) ------------------------------------------------
    Run("val_easier", "moons_heavy_dropout", "MLP 2-64-64-2 with dropout 0.5 (train loss measured with dropout on)",
        lambda: moons(1000, 500, 0.2, 30), lambda: mlp([2, 64, 64, 2], p=0.5), adam(0.01), 40, seed=30),
    Run("val_easier", "digits_noise_augmentation",
        "MLP 64-64-10 on digits, Gaussian noise 0.6 added to training inputs",
        lambda: digits(seed=31), lambda: mlp([64, 64, 10]), adam(3e-3), 40, seed=31, transform=GaussianNoise(0.6)),
    Run("val_easier", "moons_clean_val", "MLP 2-32-2: training moons with noise 0.35, validation moons with noise 0.05",
        lambda: moons(1000, 500, 0.35, 32, val_noise=0.05), lambda: mlp([2, 32, 2]), adam(0.01), 40, seed=32),
    Run("val_easier", "circles_label_noise", "MLP 2-32-2 on circles, 25% of training labels flipped, clean val",
        lambda: (flip_labels(circles(1000, 500, 0.08, 33)[0], 0.25, 33), circles(1000, 500, 0.08, 33)[1]),
        lambda: mlp([2, 32, 2]), adam(0.01), 40, seed=33),
    # -- learning rate too low: almost linear decrease (seed 8.7.4) ----------------------------------
    Run("lr_too_low", "digits_sgd_1e-3", "MLP 64-64-10 on digits, plain SGD lr 1e-3",
        lambda: digits(seed=40), lambda: mlp([64, 64, 10]), sgd(1e-3), 40, seed=40),
    Run("lr_too_low", "moons_sgd_1e-3", "MLP 2-32-32-2 on moons, plain SGD lr 1e-3",
        lambda: moons(1000, 500, 0.2, 41), lambda: mlp([2, 32, 32, 2]), sgd(1e-3), 40, seed=41),
    Run("lr_too_low", "spirals_adam_1e-4", "MLP 2-64-64-3 on spirals, Adam lr 1e-4",
        lambda: spirals(900, 450, 0.05, 42), lambda: mlp([2, 64, 64, 3]), adam(1e-4), 40, seed=42),
    Run("lr_too_low", "sine_sgd_2e-5", "MLP 1-32-32-1 tanh, MSE on a sine, plain SGD lr 2e-5",
        lambda: sine(800, 400, 0.1, 43), lambda: mlp([1, 32, 32, 1], Tanh), sgd(2e-5), 40, seed=43, loss="mse"),
    # -- learning rate too high: fast drop, then a high plateau or oscillation (seed 8.7.4) -----------
    Run("lr_too_high", "moons_adam_0.3", "MLP 2-32-32-2 on moons, Adam lr 0.3",
        lambda: moons(1000, 500, 0.2, 51), lambda: mlp([2, 32, 32, 2]), adam(0.3), 40, seed=51),
    Run("lr_too_high", "spirals_sgd_momentum", "MLP 2-64-64-3 on spirals, SGD lr 0.5 momentum 0.9",
        lambda: spirals(900, 450, 0.05, 52), lambda: mlp([2, 64, 64, 3]), sgd(0.5, momentum=0.9), 40, seed=52),
    Run("lr_too_high", "digits_sgd_momentum", "MLP 64-64-10 on digits, SGD lr 0.5 momentum 0.9",
        lambda: digits(seed=50), lambda: mlp([64, 64, 10]), sgd(0.5, momentum=0.9), 40, seed=50),
    Run("lr_too_high", "circles_adam_0.5", "MLP 2-32-32-2 on circles, Adam lr 0.5",
        lambda: circles(1000, 500, 0.08, 54), lambda: mlp([2, 32, 32, 2]), adam(0.5), 40, seed=54),
    Run("lr_too_high", "moons_full_batch_sgd", "MLP 2-32-32-2 on moons, full-batch SGD lr 3 momentum 0.9",
        lambda: moons(1000, 500, 0.2, 63), lambda: mlp([2, 32, 32, 2]), sgd(3.0, momentum=0.9), 40,
        batch_size=1000, seed=63),
    # -- diverged: NaN / inf or an exploding loss ----------------------------------------------------
    Run("diverged", "linreg_full_batch", "linear regression, inputs scaled by 3, full-batch SGD lr 0.042 (unstable)",
        lambda: sine(200, 100, 0.1, 60, scale=3.0), lambda: mlp([1, 1]), sgd(0.042), 40, batch_size=200, seed=60,
        loss="mse"),
    Run("diverged", "sine_unscaled_sgd", "MLP 1-32-1 on a sine with inputs scaled by 10, SGD lr 0.02: NaN at once",
        lambda: sine(800, 400, 0.1, 61, scale=10.0), lambda: mlp([1, 32, 1]), sgd(0.02), 40, seed=61, loss="mse"),
    Run("diverged", "sine_sgd_momentum", "MLP 1-32-32-1 tanh on a sine, SGD lr 0.3 momentum 0.9",
        lambda: sine(800, 400, 0.1, 53), lambda: mlp([1, 32, 32, 1], Tanh), sgd(0.3, momentum=0.9), 40, seed=53,
        loss="mse"),
    Run("diverged", "digits_sgd_momentum_50", "MLP 64-64-10 on digits, SGD lr 50 momentum 0.9 (finite, huge)",
        lambda: digits(seed=61), lambda: mlp([64, 64, 10]), sgd(50.0, momentum=0.9), 40, seed=64),
    Run("diverged", "moons_sgd_momentum_20", "MLP 2-32-32-2 on moons, SGD lr 20 momentum 0.99 (finite, huge)",
        lambda: moons(1000, 500, 0.2, 62), lambda: mlp([2, 32, 32, 2]), sgd(20.0, momentum=0.99), 40, seed=62),
]


def _baseline(loss: str, train) -> float:
    """Loss of the best constant predictor: log(C) for classes, Var(y) for regression."""
    y = train[1]
    if loss == "mse":
        return float(np.var(y))
    counts = np.bincount(y)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def run(spec: Run, seed_offset: int = 0) -> dict:
    """Train one run; ``seed_offset`` changes initialisation, dropout and minibatch order (not the data)."""
    seed = spec.seed + seed_offset
    dlcourse.seed(seed)
    train, val = spec.data()
    model = spec.model()
    loss_fn = CrossEntropyLoss() if spec.loss == "ce" else MSELoss()
    penalty = L2Penalty(spec.penalty) if spec.penalty else None
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # divergence is the point of some runs
        hist = fit(model, loss_fn, spec.optimizer(model.parameters()), train, val_data=val, epochs=spec.epochs,
                   batch_size=spec.batch_size, penalty=penalty, progress=False, rng=seed,
                   transform=spec.transform)
    seconds = time.perf_counter() - t0

    def clean(values):
        return [None if v is None or not math.isfinite(v) else float(v) for v in values]

    return seconds, {
        "label": spec.label, "name": spec.name, "description": spec.description,
        "seed": seed, "epochs": spec.epochs, "batch_size": spec.batch_size,
        "n_train": int(len(train[0])), "n_val": int(len(val[0])),
        "baseline_loss": _baseline(spec.loss, train),
        "train_loss": clean(hist.train_loss), "val_loss": clean(hist.val_loss),
        "train_acc": hist.train_acc, "val_acc": hist.val_acc,
    }


def _dumps(record: dict) -> str:
    """JSON with one key per line (curves stay on one line each, so diffs are readable)."""
    return "{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in record.items()) + "\n}\n"


def _fmt(values) -> str:
    return " ".join("nan" if v is None else f"{v:.3g}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="labels or run names to make")
    parser.add_argument("--print", action="store_true", help="print the curves and the diagnosis")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed-offset", type=int, default=0,
                        help="replicate every run with other seeds (a hold-out check of the rules; write elsewhere)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from dlcourse.diagnostics import diagnose

    agree = total = 0
    for spec in RUNS:
        if args.only and spec.label not in args.only and spec.name not in args.only:
            continue
        seconds, record = run(spec, args.seed_offset)
        (args.out / f"{spec.label}__{spec.name}.json").write_text(_dumps(record))
        found = diagnose(record["train_loss"], record["val_loss"], baseline=record["baseline_loss"]).label
        agree, total = agree + (found == spec.label), total + 1
        print(f"{spec.label:13s} {spec.name:28s} {seconds:6.2f}s  diagnose -> {found}", flush=True)
        if args.print:
            print(f"   train {_fmt(record['train_loss'])}\n   val   {_fmt(record['val_loss'])}")
    print(f"diagnose agrees with the intended label on {agree} of {total} runs")


if __name__ == "__main__":
    main()
