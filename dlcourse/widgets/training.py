"""Interactive figures of chapter 8, "Training" (Seed 8.4–8.8).

* :class:`LearningCurveLab` — model size, learning rate, regularization, training-set size and label
  noise → training/validation curves with the live diagnosis of :func:`dlcourse.diagnostics.diagnose`
  (Seed 8.7, 8.5, 8.8.3);
* :class:`HyperparameterSearch` — grid search against random search over learning rate and weight
  decay, on top of the true validation landscape (Seed 8.6.1, 8.8.3);
* :class:`InitializationExplorer` — activation and gradient statistics per layer for zero, small,
  large, Xavier and He initialization with tanh or ReLU, and what they do to training (Seed 8.4, 8.4.1).

All three train real networks from :mod:`dlcourse.nn` on the 8×8 digits (the training part of
:func:`~dlcourse.data.load_digits`; the test part stays untouched, Seed 8.2), full-batch, so one
*epoch* is one gradient step.  Each one is a :class:`~dlcourse.widgets.base.Widget`:
``widget.controls``, ``widget.set(...)``, ``widget.data`` (the numbers behind the plot) and
``widget.artists``.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from .. import nn, tuning
from ..data import load_digits
from ..diagnostics import diagnose
from ..nn import init
from ..nn.module import backward_to_parameters
from ..optim import SGD
from .base import (COLORS, Widget, dropdown, float_slider, int_slider, log_slider, set_limits,
                   train_full_batch)

__all__ = ["LearningCurveLab", "HyperparameterSearch", "InitializationExplorer", "PRESETS", "DIAGNOSIS_COLORS",
           "learning_curve_run", "digits_split", "standardized_digits", "hp_trial", "hp_landscape", "LANDSCAPE_TABLE",
           "search_space", "run_search", "INITS", "init_network", "init_statistics"]

N_CLASSES = 10
BASELINE = math.log(N_CLASSES)  # cross-entropy of a constant, uniform guess over 10 classes


# =========================================================================================================
# data: the training part of the digits, cut into a pool for training and a fixed validation set
# =========================================================================================================
@lru_cache(maxsize=1)
def digits_split() -> dict[str, np.ndarray]:
    """The 1,437 digit *training* images cut once (seeded) into a training pool and a validation set.

    Returns ``{"X_pool" (1077, 64), "y_pool", "X_val" (360, 64), "y_val", "mean" (64,), "std" (64,)}``
    — float32 pixels in [0, 1], int64 labels; ``mean``/``std`` of the pool for standardising inputs.
    The package's test images are never used (Seed 8.2: the test set is for the very end).  The
    arrays are shared: do not modify them.
    """
    data = load_digits(flatten=True)
    order = np.random.default_rng(2020).permutation(len(data.X_train))
    pool, val = order[:1077], order[1077:]
    X_pool, X_val = data.X_train[pool], data.X_train[val]
    out = {"X_pool": X_pool, "y_pool": data.y_train[pool], "X_val": X_val, "y_val": data.y_train[val],
           "mean": X_pool.mean(axis=0), "std": X_pool.std(axis=0) + 0.1}
    for a in out.values():
        a.flags.writeable = False
    return out


def _noisy_labels(y: np.ndarray, fraction: float, seed: int = 1) -> np.ndarray:
    """A copy of ``y`` where a ``fraction`` of the labels is replaced by a random class (Seed 8.5:
    "faults in the dataset"; a replaced label may by chance be the true one)."""
    y = y.copy()
    gen = np.random.default_rng(seed)
    flip = gen.random(len(y)) < fraction
    y[flip] = gen.integers(0, N_CLASSES, int(flip.sum()))
    return y


def _full_batch_epochs(model, optimizer, X, y, X_val, y_val, epochs: int) -> dict[str, np.ndarray]:
    """Full-batch gradient descent: per epoch one step, then the validation set in eval mode.

    Like :func:`dlcourse.train.fit`, the training loss and accuracy of an epoch are those of the
    forward pass of that epoch (training mode, before the update); a non-finite loss ends the run
    with a NaN entry (what ``diagnose`` calls *diverged*).  Returns per-epoch arrays
    ``train_loss, val_loss, train_acc, val_acc``.
    """
    loss_fn = nn.CrossEntropyLoss()
    rows = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(epochs):
            model.train()
            optimizer.zero_grad()
            out = model(X)
            if not np.all(np.isfinite(out)):
                rows.append((np.nan, np.nan, np.nan, np.nan))
                break
            loss = loss_fn(out, y)
            backward_to_parameters(model, loss_fn.backward())
            optimizer.step()
            train_acc = float(np.mean(out.argmax(axis=1) == y))
            model.eval()
            out_val = model(X_val)
            if not np.all(np.isfinite(out_val)):
                rows.append((loss, np.nan, train_acc, np.nan))
                break
            rows.append((loss, loss_fn(out_val, y_val), train_acc, float(np.mean(out_val.argmax(axis=1) == y_val))))
    model.eval()
    a = np.asarray(rows, dtype=float).reshape(-1, 4)
    return {"train_loss": a[:, 0], "val_loss": a[:, 1], "train_acc": a[:, 2], "val_acc": a[:, 3]}


def _mlp(hidden: int, dropout: float = 0.0, seed: int = 0) -> nn.Sequential:
    """``64 → hidden → 10`` with ReLU (and dropout) from a fixed seed, without touching the global
    generator (a figure must not reseed the notebook's ``dlcourse.seed``)."""
    gen = np.random.default_rng(seed)
    layers: list[nn.Module] = [nn.Linear(64, hidden, rng=gen), nn.ReLU()]
    if dropout > 0:
        layers.append(nn.Dropout(dropout, rng=gen))
    return nn.Sequential(*layers, nn.Linear(hidden, N_CLASSES, rng=gen))


def _figure_legend(fig, ax, ncol: int) -> None:
    """One legend above the panels, for the labelled artists of ``ax``.  A figure legend is drawn
    once into the cached background; a legend inside an axes would be repainted with every move."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=ncol, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.9))


# =========================================================================================================
# 8.7 learning curves
# =========================================================================================================
#: the cases of Seed 8.7 as settings of the lab: name -> (label, control values)
PRESETS: dict[str, tuple[str, dict]] = {
    "ideal": ("ideal (8.7.1)", dict(hidden=64, lr=0.1, weight_decay=0.0, dropout=0.0, n_train=500, label_noise=0.0,
                                    epochs=60)),
    "underfitting": ("underfitting: model too small (8.7.2)",
                     dict(hidden=2, lr=0.1, weight_decay=0.0, dropout=0.0, n_train=500, label_noise=0.0, epochs=80)),
    "overfitting": ("overfitting: 50 samples, big net (8.7.3)",
                    dict(hidden=256, lr=0.3, weight_decay=0.0, dropout=0.0, n_train=50, label_noise=0.0, epochs=60)),
    "val_easier": ("validation easier: noisy training labels (8.7.4)",
                   dict(hidden=64, lr=0.1, weight_decay=0.0, dropout=0.0, n_train=500, label_noise=0.4, epochs=60)),
    "lr_too_low": ("learning rate too low (8.7.4)",
                   dict(hidden=64, lr=0.01, weight_decay=0.0, dropout=0.0, n_train=500, label_noise=0.0, epochs=60)),
    "lr_too_high": ("learning rate too high (8.7.4)",
                    dict(hidden=64, lr=3.0, weight_decay=0.0, dropout=0.0, n_train=500, label_noise=0.0, epochs=60)),
}

#: colour of each diagnosis label in the figure
DIAGNOSIS_COLORS = {"ideal": "#2ca02c", "underfitting": "#9467bd", "overfitting": "#d62728", "val_easier": "#8c564b",
                    "lr_too_low": "#1f77b4", "lr_too_high": "#ff7f0e", "diverged": "#000000"}

HIDDEN_SIZES = (2, 4, 8, 16, 32, 64, 128, 256)
TRAIN_SIZES = (20, 50, 100, 200, 500, 1000)
WEIGHT_DECAYS = (0.0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1)


@lru_cache(maxsize=64)
def learning_curve_run(hidden: int = 64, lr: float = 0.1, weight_decay: float = 0.0, dropout: float = 0.0,
                       n_train: int = 500, label_noise: float = 0.0, epochs: int = 60) -> dict:
    """Train ``64 → hidden → 10`` (ReLU, optional dropout) on ``n_train`` digits and diagnose the curves.

    Full-batch SGD with momentum 0.9 and decoupled weight decay (Seed 4.3.4, 4.5.2), from the same
    initialisation (seed 0) for every setting, ``epochs`` steps; ``label_noise`` replaces that
    fraction of the *training* labels by random classes (the validation labels stay clean).
    Returns ``{"model", "epoch" (E,) = 0 … E−1 as in ``History``, "train_loss", "val_loss", "train_acc",
    "val_acc" (E,),
    "diagnosis"`` (a :class:`~dlcourse.diagnostics.Diagnosis` with ``classes=10``), ``"best_epoch"``
    (lowest validation loss: where early stopping would stop, Seed 4.5.3), ``"n_train"``,
    ``"parameters"}``.  Cached: the result is shared, do not modify it.
    """
    d = digits_split()
    X, y = d["X_pool"][:n_train], _noisy_labels(d["y_pool"][:n_train], label_noise)
    model = _mlp(int(hidden), float(dropout))
    optimizer = SGD(model.parameters(), lr=float(lr), momentum=0.9, weight_decay=float(weight_decay))
    curves = _full_batch_epochs(model, optimizer, X, y, d["X_val"], d["y_val"], int(epochs))
    # a run that stopped early has a NaN last entry, which diagnose reports as "diverged"
    diagnosis = diagnose(curves["train_loss"], curves["val_loss"], classes=N_CLASSES)
    finite = np.isfinite(curves["val_loss"])
    best = int(np.nanargmin(curves["val_loss"])) if finite.any() else 0
    return {"model": model, "epoch": np.arange(len(curves["train_loss"])), **curves, "diagnosis": diagnosis,
            "best_epoch": best, "n_train": len(X), "parameters": model.num_parameters()}


class LearningCurveLab(Widget):
    """Train a one-hidden-layer network on the digits and read its learning curves (Seed 8.7, 8.5).

    Left: training and validation loss per epoch, the loss of a constant guess (``ln 10``) dotted,
    the epoch with the lowest validation loss marked (early stopping, Seed 4.5.3) and the label
    :func:`~dlcourse.diagnostics.diagnose` gives the curves; right: training and validation
    accuracy.  The status line gives the diagnosis' reason and the lecture's advice.  ``preset``
    loads the settings of one case of Seed 8.7 (ideal, underfitting, overfitting, validation
    easier, learning rate too low / too high); moving any other control switches it to "custom".

    Controls: ``preset``, ``hidden`` (model size), ``lr``, ``weight_decay`` (λ, Seed 4.5.2),
    ``dropout`` (Seed 4.5.5), ``n_train`` (training-set size), ``label_noise`` (fraction of wrong
    training labels, Seed 8.5), ``epochs``.  ``data``: what :func:`learning_curve_run` returns.
    """

    figsize = (9.6, 3.4)
    columns = 4

    def make_controls(self):
        return {
            "preset": dropdown([("custom", "custom")] + [(label, key) for key, (label, _) in PRESETS.items()],
                               "ideal", "case"),
            "hidden": dropdown(list(HIDDEN_SIZES), 64, "hidden units"),
            "lr": log_slider(0.1, 1e-3, 10.0, "learning rate"),
            "weight_decay": dropdown([("0", 0.0)] + [(f"{v:g}", v) for v in WEIGHT_DECAYS[1:]], 0.0, "weight decay λ"),
            "dropout": float_slider(0.0, 0.0, 0.8, 0.1, "dropout p"),
            "n_train": dropdown(list(TRAIN_SIZES), 500, "training samples"),
            "label_noise": float_slider(0.0, 0.0, 0.6, 0.1, "wrong training labels"),
            "epochs": int_slider(60, 20, 150, "epochs", step=10),
        }

    def on_control_change(self, name, value):
        if name == "preset" and value in PRESETS:
            self._applying = True
            try:
                for key, v in PRESETS[value][1].items():
                    self.controls[key].value = v
            finally:
                self._applying = False
        elif name is not None and name != "preset" and not getattr(self, "_applying", False):
            self._applying = True
            try:
                self.controls["preset"].value = "custom"
            finally:
                self._applying = False
        elif name is None:  # at start: show the default preset's settings
            self.on_control_change("preset", self.controls["preset"].value)

    def setup_figure(self, fig):
        ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.35, 1]})
        ax.axhline(BASELINE, color="0.5", lw=0.8, ls=":", label="constant guess (ln 10)")
        self.artists["train"], = ax.plot([], [], color=COLORS[0], lw=1.8, label="training loss")
        self.artists["val"], = ax.plot([], [], color=COLORS[3], lw=1.8, label="validation loss")
        self.artists["best"], = ax.plot([], [], "v", color=COLORS[3], ms=8, mec="k", label="lowest validation loss")
        self.artists["label"] = ax.text(0.97, 0.96, "", transform=ax.transAxes, ha="right", va="top", fontsize=11,
                                        fontweight="bold")
        ax.set_ylim(0, 2.8)
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy loss")
        self.artists["train_acc"], = bx.plot([], [], color=COLORS[0], lw=1.8)
        self.artists["val_acc"], = bx.plot([], [], color=COLORS[3], lw=1.8)
        bx.set_ylim(0, 1.02)
        bx.set_xlabel("epoch")
        bx.set_ylabel("accuracy")
        _figure_legend(fig, ax, ncol=4)
        self._axes = (ax, bx)

    def compute(self, preset, hidden, lr, weight_decay, dropout, n_train, label_noise, epochs):
        return learning_curve_run(int(hidden), round(float(lr), 6), float(weight_decay), round(float(dropout), 3),
                                  int(n_train), round(float(label_noise), 3), int(epochs))

    def draw(self, d):
        e = d["epoch"]
        for key in ("train", "val"):
            self.artists[key].set_data(e, d[f"{key}_loss"])
            self.artists[f"{key}_acc"].set_data(e, d[f"{key}_acc"])
        b = d["best_epoch"]
        self.artists["best"].set_data([b], [d["val_loss"][b]] if len(d["val_loss"]) > b else [np.nan])
        label = d["diagnosis"].label
        self.artists["label"].set_text(label.replace("_", " "))
        self.artists["label"].set_color(DIAGNOSIS_COLORS[label])
        for axis in self._axes:
            set_limits(axis, xlim=(0, self.controls["epochs"].value - 1))

    def summary(self, d):
        dg = d["diagnosis"]

        def last(key):
            return d[key][-1] if len(d[key]) else float("nan")

        return (f"<b style='color:{DIAGNOSIS_COLORS[dg.label]}'>{dg.label.replace('_', ' ')}</b> — {dg.reason}.<br>"
                f"<i>Advice:</i> {dg.advice}<br>"
                f"training accuracy {last('train_acc'):.0%} · validation accuracy {last('val_acc'):.0%} · "
                f"lowest validation loss at epoch {d['best_epoch']} · {d['n_train']} training samples · "
                f"{d['parameters']} parameters")


# =========================================================================================================
# 8.6.1 hyperparameter search
# =========================================================================================================
LR_RANGE = (1e-3, 3.0)
WD_RANGE = (1e-5, 1e-1)
_SEARCH_N_TRAIN, _SEARCH_HIDDEN, _SEARCH_EPOCHS = 200, 32, 20  # a trial ~10 ms: 9 per move


@lru_cache(maxsize=4096)
def hp_trial(lr: float, weight_decay: float) -> dict:
    """One trial of the search: train ``64 → 32 → 10`` (ReLU) on 200 digits for 20 full-batch epochs
    of SGD with momentum 0.9, learning rate ``lr`` and weight decay ``weight_decay`` (Seed 4.5.2),
    then score it on the 360 validation images.

    Returns ``{"val_acc", "val_loss", "train_loss"}`` (a diverged run scores the chance accuracy 0.1
    and loss NaN).  Every trial starts from the same weights (seed 0), so the only difference
    between two trials is their hyperparameters.
    """
    d = digits_split()
    model = _mlp(_SEARCH_HIDDEN)
    opt = SGD(model.parameters(), lr=float(lr), momentum=0.9, weight_decay=float(weight_decay))
    loss_fn = nn.CrossEntropyLoss()
    curves = train_full_batch(model, loss_fn, opt, d["X_pool"][:_SEARCH_N_TRAIN], d["y_pool"][:_SEARCH_N_TRAIN],
                              _SEARCH_EPOCHS)
    with np.errstate(over="ignore", invalid="ignore"):
        out = model(d["X_val"])
    if len(curves["train_loss"]) < _SEARCH_EPOCHS or not np.all(np.isfinite(out)):
        return {"val_acc": 1.0 / N_CLASSES, "val_loss": float("nan"), "train_loss": float("nan")}
    return {"val_acc": float(np.mean(out.argmax(axis=1) == d["y_val"])), "val_loss": float(loss_fn(out, d["y_val"])),
            "train_loss": float(curves["train_loss"][-1])}


def _log_grid(lo: float, hi: float, k: int) -> list[float]:
    """``k`` values evenly spaced in log space: the centres of ``k`` equal cells of ``[lo, hi]``."""
    edges = np.linspace(math.log10(lo), math.log10(hi), k + 1)
    return [float(round(10 ** c, 8)) for c in (edges[:-1] + edges[1:]) / 2]


#: :func:`hp_landscape` at resolution 12, computed once by ``hp_landscape(recompute=True)`` (144 trials,
#: several seconds) and stored so the figure opens at once; ``tests/test_widgets_ch8_9.py`` retrains
#: entries and checks them against this table.  Rows: weight decay (ascending), columns: learning rate.
LANDSCAPE_TABLE: tuple[tuple[float, ...], ...] = (
    (0.0778, 0.0833, 0.1194, 0.1861, 0.2750, 0.3694, 0.5833, 0.7472, 0.8528, 0.8806, 0.6333, 0.0889),
    (0.0778, 0.0833, 0.1194, 0.1861, 0.2750, 0.3694, 0.5833, 0.7444, 0.8556, 0.8806, 0.6361, 0.0889),
    (0.0778, 0.0833, 0.1194, 0.1861, 0.2750, 0.3694, 0.5833, 0.7444, 0.8528, 0.8806, 0.6361, 0.0889),
    (0.0806, 0.0833, 0.1194, 0.1861, 0.2750, 0.3694, 0.5833, 0.7444, 0.8556, 0.8806, 0.6500, 0.0889),
    (0.0806, 0.0833, 0.1194, 0.1861, 0.2750, 0.3639, 0.5833, 0.7444, 0.8556, 0.8806, 0.6639, 0.2139),
    (0.0806, 0.0833, 0.1194, 0.1833, 0.2750, 0.3639, 0.5833, 0.7417, 0.8528, 0.8806, 0.6556, 0.1972),
    (0.0806, 0.0833, 0.1194, 0.1833, 0.2694, 0.3611, 0.5833, 0.7417, 0.8556, 0.8806, 0.6972, 0.0889),
    (0.0806, 0.0861, 0.1167, 0.1778, 0.2639, 0.3444, 0.5806, 0.7306, 0.8528, 0.8806, 0.7056, 0.1000),
    (0.0806, 0.0861, 0.1167, 0.1778, 0.2611, 0.3083, 0.5778, 0.7083, 0.8528, 0.8806, 0.6583, 0.0889),
    (0.0806, 0.0917, 0.1194, 0.1639, 0.2556, 0.2667, 0.5444, 0.6806, 0.8417, 0.8833, 0.6139, 0.1056),
    (0.0889, 0.1083, 0.1500, 0.1500, 0.2667, 0.1917, 0.4278, 0.6139, 0.8167, 0.8750, 0.7333, 0.1694),
    (0.0861, 0.1194, 0.1333, 0.1222, 0.2056, 0.1028, 0.2028, 0.5444, 0.7528, 0.8778, 0.8167, 0.1917),
)


@lru_cache(maxsize=4)
def hp_landscape(resolution: int = 12, recompute: bool = False) -> dict[str, np.ndarray]:
    """The validation accuracy over the whole search space on a ``resolution × resolution`` log grid
    (the "true" landscape a search tries to find the top of; ``resolution²`` trials of :func:`hp_trial`).

    Returns ``{"lr" (R,), "weight_decay" (R,), "val_acc" (R_wd, R_lr)}``.  At the default resolution
    the stored ``LANDSCAPE_TABLE`` is used unless ``recompute``.
    """
    lrs, wds = _log_grid(*LR_RANGE, resolution), _log_grid(*WD_RANGE, resolution)
    if resolution == 12 and LANDSCAPE_TABLE and not recompute:
        acc = np.array(LANDSCAPE_TABLE, dtype=float)
    else:
        acc = np.array([[hp_trial(lr=lr, weight_decay=wd)["val_acc"] for lr in lrs] for wd in wds])
    return {"lr": np.array(lrs), "weight_decay": np.array(wds), "val_acc": acc}


def search_space(method: str, trials: int) -> dict:
    """What a search with budget ``trials`` is given (Seed 8.6.1, ranges ``LR_RANGE``, ``WD_RANGE``).

    ``"grid"``: ``{"lr": k values, "weight_decay": k values}`` log-spaced with ``k = ⌊√trials⌋`` (a
    grid cannot spend a budget that is not a square), for :func:`~dlcourse.tuning.grid_search`;
    ``"random"``: ``{"lr": LogUniform, "weight_decay": LogUniform}`` for
    :func:`~dlcourse.tuning.random_search` — every decade equally likely.
    """
    if method == "grid":
        k = max(1, math.isqrt(int(trials)))
        return {"lr": _log_grid(*LR_RANGE, k), "weight_decay": _log_grid(*WD_RANGE, k)}
    if method == "random":
        return {"lr": tuning.LogUniform(*LR_RANGE), "weight_decay": tuning.LogUniform(*WD_RANGE)}
    raise ValueError(f"search_space: method must be 'grid' or 'random', got {method!r}")


def run_search(method: str, trials: int, seed: int = 0) -> "tuning.Results":
    """Grid or random search over learning rate and weight decay with :func:`hp_trial` as the
    training function, selecting on validation accuracy; returns the library's ``Results``."""
    space = search_space(method, trials)
    if method == "grid":
        return tuning.grid_search(hp_trial, space, metric="val_acc", progress=False)
    return tuning.random_search(hp_trial, space, n_trials=int(trials), metric="val_acc", rng=int(seed),
                                progress=False)


ACC_CMAP = LinearSegmentedColormap.from_list("val_acc", ["#f7f7f7", "#c6dbef", "#6baed6", "#08519c"])


class HyperparameterSearch(Widget):
    """Grid search against random search over learning rate and weight decay (Seed 8.6.1, 8.8.3).

    Every trial really trains a small network (:func:`hp_trial`) and is scored on the validation
    set with :func:`dlcourse.tuning.grid_search` / :func:`~dlcourse.tuning.random_search`.  Left:
    the search space on log axes, shaded by the validation accuracy of a fine grid of trials (the
    landscape a search does not know), the tried points and the best one (★).  Middle and right:
    the trials projected onto each axis.  The learning rate decides almost everything, the weight
    decay matters only when it is large — and a grid of ``k × k`` trials tries only ``k`` distinct
    learning rates, while random search tries a new one in every trial.

    Controls: ``method`` (``"grid"``/``"random"``), ``trials`` (budget), ``seed`` (random draws).
    ``data``: ``results`` (a :class:`~dlcourse.tuning.Results`), ``lr``, ``weight_decay``, ``val_acc``
    (per trial), ``best`` (the best trial's row), ``distinct_lr``, ``landscape`` (:func:`hp_landscape`),
    ``optimum`` (best accuracy of the landscape).
    """

    figsize = (10.0, 3.4)

    def make_controls(self):
        return {
            "method": dropdown([("grid search", "grid"), ("random search", "random")], "grid", "method"),
            "trials": int_slider(9, 4, 25, "trials (budget)"),
            "seed": int_slider(0, 0, 20, "random seed"),
        }

    def setup_figure(self, fig):
        ax, bx, cx = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.25, 1, 1]})
        land = hp_landscape()
        extent = (math.log10(LR_RANGE[0]), math.log10(LR_RANGE[1]), math.log10(WD_RANGE[0]), math.log10(WD_RANGE[1]))
        ax.imshow(land["val_acc"], origin="lower", extent=extent, aspect="auto", cmap=ACC_CMAP, vmin=0.1, vmax=1.0,
                  interpolation="bilinear")
        self.artists["points"] = ax.scatter([], [], s=26, c="#ff7f0e", edgecolors="k", linewidths=0.6, zorder=3)
        self.artists["star"], = ax.plot([], [], "*", ms=15, color="#ffd92f", mec="k", zorder=4)
        ax.set_xlabel("log₁₀ learning rate")
        ax.set_ylabel("log₁₀ weight decay")
        ax.set_title("validation accuracy (shade: 144 reference trials)", fontsize=8)
        best_lr = land["val_acc"].max(axis=0)  # best over weight decay, per learning rate
        best_wd = land["val_acc"].max(axis=1)
        bx.plot(np.log10(land["lr"]), best_lr, color="0.6", lw=1, ls="--",
                label="best of the reference trials at this value")
        cx.plot(np.log10(land["weight_decay"]), best_wd, color="0.6", lw=1, ls="--")
        self.artists["by_lr"] = bx.scatter([], [], s=22, c="#ff7f0e", edgecolors="k", linewidths=0.5, zorder=3)
        self.artists["by_wd"] = cx.scatter([], [], s=22, c="#ff7f0e", edgecolors="k", linewidths=0.5, zorder=3)
        for axis, name, (lo, hi) in ((bx, "log₁₀ learning rate", LR_RANGE), (cx, "log₁₀ weight decay", WD_RANGE)):
            axis.set_xlim(math.log10(lo), math.log10(hi))
            axis.set_ylim(0, 1.02)
            axis.set_xlabel(name)
        bx.set_ylabel("validation accuracy")
        # legend entries for the (animated, initially empty) trial markers
        handles = [Line2D([], [], ls="", marker="o", color="#ff7f0e", mec="k", label="trial"),
                   Line2D([], [], ls="", marker="*", ms=12, color="#ffd92f", mec="k", label="best trial"),
                   *bx.get_lines()[:1]]
        fig.legend(handles=handles, loc="upper center", ncol=3, fontsize=8, frameon=False)
        fig.tight_layout(rect=(0, 0, 1, 0.92))

    def compute(self, method, trials, seed):
        results = run_search(method, trials, seed)
        land = hp_landscape()
        column = lambda name: np.array(results.column(name))  # noqa: E731
        return {"results": results, "lr": column("lr"), "weight_decay": column("weight_decay"),
                "val_acc": column("val_acc"),
                "best": results.best, "distinct_lr": len(set(results.column("lr"))), "method": method,
                "landscape": land, "optimum": float(land["val_acc"].max()), "budget": int(trials)}

    def draw(self, d):
        x, y, acc = np.log10(d["lr"]), np.log10(d["weight_decay"]), d["val_acc"]
        self.artists["points"].set_offsets(np.column_stack([x, y]))
        self.artists["by_lr"].set_offsets(np.column_stack([x, acc]))
        self.artists["by_wd"].set_offsets(np.column_stack([y, acc]))
        b = d["best"]
        self.artists["star"].set_data([math.log10(b["lr"])], [math.log10(b["weight_decay"])])

    def summary(self, d):
        b = d["best"]
        used = len(d["val_acc"])
        k = math.isqrt(used)
        note = f" (a {k}×{k} grid uses {used} of {d['budget']})" if used < d["budget"] else ""
        return (f"{d['method']} search: {used} trials{note}, <b>{d['distinct_lr']} distinct learning rates</b> · "
                f"best: lr = {b['lr']:.3g}, weight decay = {b['weight_decay']:.2g} → validation accuracy "
                f"<b>{b['val_acc']:.1%}</b> (best of the 144 reference trials: {d['optimum']:.1%})")


# =========================================================================================================
# 8.4 weight initialization
# =========================================================================================================
#: name -> (label, in-place initializer of a Linear weight (out, in))
INITS = {
    "zero": ("all zero", lambda w, gen: init.zeros_(w)),
    "small": ("small: N(0, 0.01²)", lambda w, gen: init.normal_(w, std=0.01, rng=gen)),
    "large": ("large: N(0, 1)", lambda w, gen: init.normal_(w, std=1.0, rng=gen)),
    "xavier": ("Xavier: N(0, 1/n)", lambda w, gen: init.xavier_normal_(w, rng=gen)),
    "he": ("He: N(0, 2/n)", lambda w, gen: init.he_normal_(w, rng=gen)),
}
_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def init_network(scheme: str, activation: str, depth: int, width: int, d_in: int = 64, d_out: int = N_CLASSES,
                 seed: int = 0) -> nn.Sequential:
    """``depth`` hidden layers ``Linear(·, width) → activation`` and a ``Linear(width, d_out)`` output,
    every weight initialised with ``INITS[scheme]`` and every bias zero (Seed 8.4).

    Input ``(N, d_in)`` → scores ``(N, d_out)``.
    """
    if scheme not in INITS:
        raise ValueError(f"init_network: scheme must be one of {sorted(INITS)}, got {scheme!r}")
    gen = np.random.default_rng(seed)
    dims = [d_in] + [width] * depth
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b, rng=gen), _ACTIVATIONS[activation]()]
    layers.append(nn.Linear(dims[-1], d_out, rng=gen))
    for layer in layers:
        if isinstance(layer, nn.Linear):
            INITS[scheme][1](layer.weight, gen)
            init.zeros_(layer.bias)
    return nn.Sequential(*layers)


@lru_cache(maxsize=1)
def standardized_digits(n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` images of the training pool with every pixel standardised (mean 0, std ≈ 1
    over the pool) — inputs of unit variance, as the derivation of Seed 8.4.1 assumes.

    Returns ``X (n, 64)`` float32 and ``y (n,)``; shared, do not modify.
    """
    d = digits_split()
    X = ((d["X_pool"][:n] - d["mean"]) / d["std"]).astype(np.float32)
    return X, d["y_pool"][:n]


def init_statistics(model: nn.Sequential, X: np.ndarray, bins: np.ndarray) -> dict[str, np.ndarray]:
    """Forward ``X`` once and backpropagate a random output gradient through a fresh network.

    Per hidden layer ``l``: ``act_std[l]`` (std of its activations), ``hist[l]`` (histogram of the
    activations over ``bins``, values outside clipped into the end bins, exact zeros left out and
    counted in ``zero_fraction[l]``), ``grad_std[l]`` (std of ``∂L/∂W`` of the layer's weights),
    ``unit_spread[l]`` (std *across units* of one sample's activations, averaged over samples,
    relative to the overall std: 0 means every unit computes the same thing — no symmetry breaking),
    ``mean_derivative[l]`` (mean of ``a'(s)`` over the layer's units: the factor by which the
    activation scales the gradient on its way back, Seed 4.1).
    """
    acts, derivatives = [], []
    h = X
    with np.errstate(over="ignore", invalid="ignore"):
        for layer in model:
            h = layer(h)
            if not isinstance(layer, nn.Linear):
                acts.append(h)
                derivatives.append(float(np.mean(layer.backward(np.ones_like(h)))))
        model.zero_grad()
        model.backward(np.random.default_rng(1).standard_normal(h.shape).astype(h.dtype) / len(h))
    linears = [m for m in model if isinstance(m, nn.Linear)][:-1]
    lo, hi = bins[0], bins[-1]
    hist, zero, spread = [], [], []
    for a in acts:
        a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=hi, neginf=lo)
        nonzero = a[a != 0]
        counts, _ = np.histogram(np.clip(nonzero, lo, hi - 1e-9 * (hi - lo)), bins)
        hist.append(counts / a.size)
        zero.append(1.0 - nonzero.size / a.size)
        overall = a.std()
        spread.append(float(a.std(axis=1).mean() / overall) if overall > 0 else 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        act_std = np.array([float(np.std(a.astype(np.float64))) for a in acts])
        grad_std = np.array([float(np.std(m.weight.grad.astype(np.float64))) for m in linears])
    return {"act_std": act_std, "grad_std": grad_std, "hist": np.array(hist), "zero_fraction": np.array(zero),
            "unit_spread": np.array(spread), "mean_derivative": np.array(derivatives)}


class InitializationExplorer(Widget):
    """What the initial weights do to the signal in a deep network (Seed 8.4, 8.4.1).

    A network of ``depth`` hidden layers of ``width`` units (tanh or ReLU) gets 256 standardised
    digit images.  Left: the distribution of each hidden layer's activations (one row per layer,
    darker = more units; for ReLU the exact zeros are left out and counted in the status line).
    Middle: the standard deviation of the activations and of the weight gradients per layer, on a
    log scale — flat lines mean the signal survives the depth, falling lines mean it vanishes,
    rising lines that it explodes.  Right: the training loss when this network is trained on 128
    of the digits (``steps`` full-batch steps of SGD with momentum 0.9).

    * **zero**: every unit of a layer computes the same thing, the gradients are zero — nothing learns.
    * **small** N(0, 0.01²): each layer shrinks the signal; activations and gradients vanish.
    * **large** N(0, 1): tanh saturates at ±1 (gradient ≈ 0), ReLU explodes.
    * **Xavier** Var(w) = 1/n keeps tanh's variance; **He** Var(w) = 2/n keeps ReLU's.

    Controls: ``scheme``, ``activation``, ``depth``, ``width``, ``lr``, ``steps``.  ``data``: the
    arrays of :func:`init_statistics`, ``bins``, ``model``, ``loss`` (training loss per step),
    ``diverged``; ``model`` is the network at initialisation (the trained copy is not kept).
    """

    figsize = (10.0, 3.5)
    fixed_area_axes = ("_ax",)  # the histograms' range changes with the scheme; their ticks stay left of the next axes
    MAX_DEPTH = 15
    BINS = {"tanh": np.linspace(-1.0, 1.0, 41), "relu": np.linspace(0.0, 3.0, 41)}

    def make_controls(self):
        return {
            "scheme": dropdown([(label, key) for key, (label, _) in INITS.items()], "xavier", "initialization"),
            "activation": dropdown([("tanh", "tanh"), ("ReLU", "relu")], "tanh", "activation"),
            "depth": int_slider(8, 2, self.MAX_DEPTH, "hidden layers"),
            "width": dropdown([32, 64, 128], 64, "units per layer"),
            "lr": log_slider(0.03, 1e-3, 1.0, "learning rate"),
            "steps": int_slider(30, 10, 100, "training steps", step=10),
        }

    def setup_figure(self, fig):
        ax, bx, cx = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.1, 1, 1]})
        # fixed axes for the deepest network: a shallower one fills only the lower rows, and moving
        # the depth slider repaints the data instead of the whole figure
        self.artists["hist"] = ax.imshow(np.zeros((self.MAX_DEPTH, 40)), origin="lower", aspect="auto", cmap="Greys",
                                         vmin=0, vmax=1, extent=(-1, 1, 0.5, self.MAX_DEPTH + 0.5),
                                         interpolation="nearest")
        ax.set_xlabel("activation value")
        ax.set_ylabel("hidden layer")
        ax.set_title("distribution per layer", fontsize=9, y=1.0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        # the repainted image would cover the static frame: repaint the frame over it
        self.artists["frame"] = list(ax.spines.values())
        self._ax = ax
        self.artists["act_std"], = bx.semilogy([], [], "o-", color=COLORS[0], ms=3.5, label="std of activations")
        self.artists["grad_std"], = bx.semilogy([], [], "s-", color=COLORS[3], ms=3.5, label="std of ∂L/∂W")
        bx.set_xlim(0.5, self.MAX_DEPTH + 0.5)
        bx.set_ylim(1e-12, 1e4)
        bx.yaxis.set_major_locator(LogLocator(base=10, numticks=6))
        bx.yaxis.set_minor_locator(NullLocator())
        bx.set_xlabel("hidden layer")
        bx.set_title("spread per layer", fontsize=9, y=1.0)
        bx.xaxis.set_major_locator(MaxNLocator(integer=True))
        cx.axhline(BASELINE, color="0.5", lw=0.8, ls=":", label="constant guess (ln 10)")
        self.artists["loss"], = cx.semilogy([], [], color=COLORS[2], lw=1.8, label="training loss")
        cx.set_ylim(0.01, 30)  # fixed: from a trained net (0.03) to saturated tanh (≈ 12)
        cx.yaxis.set_minor_locator(NullLocator())
        cx.set_xlabel("step")
        cx.set_title("training on the digits", fontsize=9, y=1.0)
        self._cx = cx
        fig.legend(handles=[self.artists["act_std"], self.artists["grad_std"], self.artists["loss"],
                            cx.get_lines()[0]], loc="upper center", ncol=4, fontsize=8, frameon=False)
        fig.tight_layout(rect=(0, 0, 1, 0.9))

    def compute(self, scheme, activation, depth, width, lr, steps):
        X, _ = standardized_digits()
        bins = self.BINS[activation]
        model = init_network(scheme, activation, depth, width)
        stats = init_statistics(model, X, bins)
        loss = _train_init_cached(scheme, activation, int(depth), int(width), round(float(lr), 6), int(steps))
        return {**stats, "bins": bins, "model": model, "loss": loss, "diverged": len(loss) < steps, "depth": depth,
                "scheme": scheme, "activation": activation}

    def draw(self, d):
        hist = np.zeros((self.MAX_DEPTH, len(d["bins"]) - 1))
        rows = d["hist"]
        peak = rows.max(axis=1, keepdims=True)
        hist[:len(rows)] = np.divide(rows, peak, out=np.zeros_like(rows), where=peak > 0)
        image = self.artists["hist"]
        image.set_data(hist)
        extent = (d["bins"][0], d["bins"][-1], 0.5, self.MAX_DEPTH + 0.5)
        if tuple(image.get_extent()) != extent:
            image.set_extent(extent)
        set_limits(self._ax, xlim=extent[:2])
        layers = np.arange(1, d["depth"] + 1)
        floor = 1e-12  # zero on a log axis: drawn at the bottom edge
        self.artists["act_std"].set_data(layers, np.maximum(d["act_std"], floor))
        self.artists["grad_std"].set_data(layers, np.maximum(d["grad_std"], floor))
        self.artists["loss"].set_data(np.arange(len(d["loss"])), d["loss"])
        set_limits(self._cx, xlim=(0, self.controls["steps"].value))

    def summary(self, d):
        s, g = d["act_std"], d["grad_std"]
        parts = [f"activation std: layer 1 {s[0]:.2g} → layer {d['depth']} {s[-1]:.2g}",
                 f"gradient std: layer 1 {g[0]:.2g}, layer {d['depth']} {g[-1]:.2g}"]
        if d["activation"] == "relu":
            parts.append(f"{d['zero_fraction'].mean():.0%} of the ReLU outputs are exactly 0")
        if np.max(d["unit_spread"]) < 1e-6:
            parts.append("<b>all units of a layer are identical: the symmetry is never broken</b>")
        elif d["activation"] == "tanh" and np.mean(np.abs(d["hist"][:, [0, -1]]).sum(axis=1)) > 0.5:
            parts.append(f"<b>most tanh units are saturated at ±1</b>: on average a'(s) = "
                         f"{np.mean(d['mean_derivative']):.2f}, so they pass almost no gradient")
        if d["diverged"]:
            parts.append("<b>training diverged</b>")
        elif len(d["loss"]):
            parts.append(f"training loss {d['loss'][0]:.2f} → {d['loss'][-1]:.3f}")
        return " · ".join(parts)


@lru_cache(maxsize=128)
def _train_init_cached(scheme: str, activation: str, depth: int, width: int, lr: float, steps: int) -> np.ndarray:
    """Training loss per step of a fresh :func:`init_network` on 128 standardised digits (cached)."""
    X, y = standardized_digits()
    model = init_network(scheme, activation, depth, width)
    return _train_init(model, X[:128], y[:128], lr, steps)


def _train_init(model, X, y, lr: float, steps: int) -> np.ndarray:
    """Full-batch SGD with momentum 0.9 for ``steps`` steps; the training loss per step (stops at NaN)."""
    loss_fn = nn.CrossEntropyLoss()
    opt = SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    model.train()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(steps):
            opt.zero_grad()
            out = model(X)
            if not np.all(np.isfinite(out)):
                break
            loss = loss_fn(out, y)
            if not np.isfinite(loss):
                break
            backward_to_parameters(model, loss_fn.backward())
            opt.step()
            losses.append(loss)
    model.eval()
    return np.asarray(losses, dtype=float)
