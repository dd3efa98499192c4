"""Learning-curve diagnosis (seed 8.7): "is it overfitting, or is the learning rate too high?" as code.

``diagnose(train_loss, val_loss)`` reads the per-epoch loss curves of a run and returns a
:class:`Diagnosis` whose ``label`` is one of

==================  ==========================================================================
``"ideal"``         seed 8.7.1: both losses fall together and settle, small gap
``"underfitting"``  seed 8.7.2 / 8.5: still falling at the end (not done), or settled at a high
                    level (model too small, regularisation too strong)
``"overfitting"``   seed 8.7.3: training loss keeps falling while validation loss turns up
``"val_easier"``    seed 8.7.4: validation loss clearly below training loss
``"lr_too_low"``    seed 8.7.4: the loss falls almost linearly
``"lr_too_high"``   seed 8.7.4: a fast drop, then a plateau with oscillation, or the loss rises
``"diverged"``      NaN / inf, or a loss that explodes
==================  ==========================================================================

Decision rules (checked in this order; the first that holds decides).  Every rule works on
*relative* quantities, so the scale of the loss does not matter, and on curves smoothed with a
running median (window ≈ epochs/8, at least 3) followed by a running mean, so single noisy
epochs do not decide anything.  ``noise`` is the robust standard deviation (1.4826 × median
absolute deviation) of the raw training curve around its smoothed version in the second half
of the run.

1. **diverged** — a loss is NaN or infinite; or the smoothed training loss ends above 1.5× its
   first value *and* above 2× its minimum (it exploded); or, given ``baseline``, it ends above
   5× the baseline (no trained model should be five times worse than a constant guess).
2. **lr_too_high** — the training loss *spikes*: after the first tenth of the run (at least two
   epochs) it jumps above 2× its first value and comes back (else rule 1 would have fired); or
   it *climbs back up*: it ends more than 25 % (and more than 3 ``noise``) above its minimum
   (taken after a running median of 3, so one lucky epoch does not count); or it is *rough*:
   ``noise`` exceeds 15 % of the smaller of how far it dropped and where it ended (but at least
   5 % of where it ended).  A healthy training loss (an average over an epoch) is smooth and
   does not climb; oscillation and climbing are what too large steps produce.
3. **overfitting** (needs ``val_loss``) — the smoothed validation loss has its minimum at least
   max(5, E/5) epochs before the end and climbs after it: it ends more than 5 % and more than
   3 validation-noise above the minimum, the least-squares slope of the raw validation loss
   from the minimum on has t-statistic > 3, the training loss did not rise meanwhile (≤ +5 %),
   and validation ends more than 20 % above training.
4. **val_easier** (needs ``val_loss``) — over the second half, the smoothed validation loss lies
   more than 20 % below the smoothed training loss (median of ``(train − val)/train``).
5. **lr_too_low** — the smoothed training loss falls steadily (≥ 70 % of epochs go down, by
   more than 3 ``noise`` in total) and almost linearly: its slope over the last third is more
   than 35 % of its slope over the first third (a healthy curve is convex: its late slope is a
   small fraction of the early one).
6. **underfitting** — *still learning* (seed 8.7.2): over the last quarter the training loss
   still falls by more than 5 % of its total drop and the least-squares slope over the last
   third is clearly negative (t < −3 for training, t < −2 for validation); or *too weak*
   (seed 8.5): it settled at a high level — above 25 % of ``baseline`` (the loss of a constant
   prediction: ``log C`` for ``C`` balanced classes, ``Var(y)`` for regression), or, without a
   baseline, above 50 % of the first epoch's loss — on a smooth plateau.  A high plateau whose
   ``noise`` exceeds 3 % of its level is the oscillating plateau of seed 8.7.4 and is
   labelled **lr_too_high**.
7. **ideal** — none of the above.

Without ``baseline`` the level of a loss is unknown, so a model that settles at a mediocre loss
quickly can look ideal; pass ``baseline`` (or ``classes``) when you know it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

LABELS = ("ideal", "underfitting", "overfitting", "val_easier", "lr_too_low", "lr_too_high", "diverged")

ADVICE = {
    "ideal": "Healthy training (seed 8.7.1). Keep the setup; to improve further change one thing at a time "
             "(seed 8.8.7) and keep watching the train/validation gap.",
    "underfitting": "The model does not fit the training data (seed 8.7.2, 8.5). If the loss still falls, train "
                    "longer; if it settled high, use a bigger model (more units or layers), less regularisation "
                    "(smaller weight decay or dropout), or check the learning rate with the LR finder (seed 8.8.3).",
    "overfitting": "The model memorises the training set (seed 8.7.3). Use early stopping (seed 4.5.3), weight "
                   "decay or dropout (seed 4.5.1, 4.5.5), data augmentation or more data (seed 4.5.8), or a "
                   "smaller model.",
    "val_easier": "Validation loss is below training loss (seed 8.7.4): the validation set may be easier than the "
                  "training set (check that both come from one shuffled split, seed 8.2) or there is a bug (e.g. "
                  "validation samples leaking into training). Dropout, noise augmentation or a penalty counted "
                  "in the training loss only also cause it; compare both in eval mode.",
    "lr_too_low": "The loss falls almost linearly (seed 8.7.4): the learning rate is too low. Raise it by 3-10x "
                  "or run the learning-rate finder (seed 8.8.3).",
    "lr_too_high": "Fast drop, then a plateau, oscillation or a rising loss (seed 8.7.4): lower the learning rate "
                   "by 3-10x, add a decay schedule (seed 4.4), and check the dataset for inconsistent labels.",
    "diverged": "The loss became NaN/inf or exploded: lower the learning rate by 10x or more (seed 8.8.3), "
                "normalise the inputs, and check the data for NaN and the loss for log(0).",
}

# Thresholds of the rules in the module docstring (named so tests and readers can refer to them).
EXPLODE_START, EXPLODE_MIN, EXPLODE_BASELINE = 1.5, 2.0, 5.0
RISE_REL, RISE_NOISE, ROUGH_REL, ROUGH_PLATEAU, SPIKE = 0.25, 3.0, 0.15, 0.03, 2.0
OVERFIT_RISE, OVERFIT_T, OVERFIT_GAP, OVERFIT_TRAIN = 0.05, 3.0, 0.20, 1.05
VAL_EASIER_GAP = 0.20
LINEAR_SLOPE_RATIO, LINEAR_MONOTONE = 0.35, 0.70
STILL_LEARNING, STILL_T, STILL_T_VAL, HIGH_BASELINE, HIGH_FIRST = 0.05, 3.0, 2.0, 0.25, 0.50


@dataclass(frozen=True)
class Diagnosis:
    """Result of :func:`diagnose`: ``label`` (one of ``LABELS``), the rule that fired (``reason``),
    the numbers it looked at (``evidence``) and what the lecture recommends next (``advice``)."""

    label: str
    reason: str
    evidence: dict = field(default_factory=dict)
    advice: str = ""

    def __str__(self) -> str:
        return f"{self.label}: {self.reason}\nAdvice: {self.advice}"


def _as_curve(values, name: str) -> np.ndarray:
    curve = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    if curve.ndim != 1:
        raise ValueError(f"diagnose: {name} must be a 1-D sequence of per-epoch losses, got shape {curve.shape}")
    return curve


def _split_history(train_loss, val_loss):
    """Accept a ``History`` (or anything with ``train_loss``/``val_loss`` lists) as the first argument."""
    if hasattr(train_loss, "train_loss"):
        history = train_loss
        train_loss = history.train_loss
        if val_loss is None:
            val = list(getattr(history, "val_loss", []) or [])
            val_loss = val if val and any(v is not None for v in val) else None
    return train_loss, val_loss


def _window(n: int) -> int:
    w = max(3, int(round(n / 8)))
    w += 1 - w % 2  # odd, so the window is centred
    return min(w, n - 1 + n % 2) if n >= 3 else 1


def _running(curve: np.ndarray, w: int, reduce) -> np.ndarray:
    if w <= 1:
        return curve.copy()
    padded = np.pad(curve, w // 2, mode="edge")
    return reduce(np.lib.stride_tricks.sliding_window_view(padded, w), axis=1)


def smooth(curve: Sequence[float], window: int | None = None) -> np.ndarray:
    """Running median (kills single spikes) then running mean (kills jitter), same length as ``curve``.

    ``window`` defaults to about a eighth of the number of epochs, at least 3, always odd.
    """
    curve = np.asarray(curve, dtype=np.float64)
    w = _window(len(curve)) if window is None else int(window)
    return _running(_running(curve, w, np.median), w, np.mean)


def _noise(raw: np.ndarray, smoothed: np.ndarray) -> float:
    """Robust std of the raw curve around its smoothed version over the second half."""
    resid = (raw - smoothed)[len(raw) // 2:]
    return float(1.4826 * np.median(np.abs(resid - np.median(resid)))) if len(resid) else 0.0


def _slope_t(y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope per epoch of ``y`` and its t-statistic (inf for an exact line)."""
    n = len(y)
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2
    slope = float(x @ (y - y.mean()) / (x @ x))
    resid = y - y.mean() - slope * x
    se = math.sqrt(float(resid @ resid) / max(n - 2, 1) / float(x @ x))
    return slope, (math.copysign(math.inf, slope) if se == 0 else slope / se)


def _result(label: str, reason: str, evidence: dict) -> Diagnosis:
    clean = {k: (round(float(v), 6) if isinstance(v, (float, np.floating)) and np.isfinite(v) else v)
             for k, v in evidence.items()}
    return Diagnosis(label, reason, clean, ADVICE[label])


@dataclass
class _Curves:
    """The raw and smoothed curves plus the evidence gathered so far (filled in rule by rule)."""

    t: np.ndarray
    ts: np.ndarray
    v: np.ndarray | None
    vs: np.ndarray | None
    baseline: float | None
    ev: dict

    @property
    def E(self) -> int:
        return len(self.t)


def _rule_exploded(c: _Curves) -> Diagnosis | None:
    """Rule 1: the loss ends far above its start (and its minimum), or far above a constant guess."""
    ev, first, end, lo = c.ev, c.ev["train_first"], c.ev["train_end"], c.ev["train_min"]
    if end > EXPLODE_START * first and end > EXPLODE_MIN * lo:
        return _result("diverged", f"the training loss exploded: it ends at {end:.3g}, above 1.5x its first value "
                                   f"{first:.3g}", ev)
    if c.baseline is not None and end > EXPLODE_BASELINE * c.baseline:
        return _result("diverged", f"the training loss ends at {end:.3g}, more than 5x the loss of a constant "
                                   f"prediction ({c.baseline:.3g})", ev)
    return None


def _rule_lr_too_high(c: _Curves) -> Diagnosis | None:
    """Rule 2: the training loss spikes, climbs back up, or oscillates strongly."""
    ev, t = c.ev, c.t
    first, end, noise = ev["train_first"], ev["train_end"], ev["train_noise"]
    drop = max(first - ev["train_min"], 0.0)
    lo = float(_running(t, 3, np.median).min())  # a real dip survives a 3-median, a noisy epoch does not
    rise = end - lo
    ev["train_rise"] = rise / lo if lo > 0 else math.inf
    # a curve already flat after epoch 1 has no "drop" to compare the noise with: floor it at 5 % of the level
    ev["train_roughness"] = noise / max(min(drop, abs(end)), 0.05 * abs(end), 1e-12)
    settled = t[max(2, c.E // 10):]  # a jump in the first epochs can be a transient (e.g. Adam's start)
    ev["train_spike"] = float(settled.max() / first) if first > 0 else 0.0
    if ev["train_spike"] > SPIKE:
        return _result("lr_too_high", f"the training loss jumped to {settled.max():.3g}, {ev['train_spike']:.1f}x its "
                                      f"first value, and came back: the steps are too large", ev)
    if lo > 0 and rise > RISE_REL * lo and rise > RISE_NOISE * noise:
        return _result("lr_too_high", f"the training loss fell to {lo:.3g} and then rose again to {end:.3g} "
                                      f"(+{100 * rise / lo:.0f}%)", ev)
    if ev["train_roughness"] > ROUGH_REL:
        return _result("lr_too_high", f"the training loss oscillates: noise {noise:.3g} is "
                                      f"{100 * ev['train_roughness']:.0f}% of its drop ({drop:.3g}) or level "
                                      f"({end:.3g})", ev)
    return None


def _rule_overfitting(c: _Curves) -> Diagnosis | None:
    """Rule 3: validation turns up (significantly) after its minimum while training does not."""
    ev, v, vs, E, end = c.ev, c.v, c.vs, c.E, c.ev["train_end"]
    k = int(np.argmin(vs))
    v_lo, v_end = float(vs[k]), float(vs[-1])
    ev.update(val_first=float(v[0]), val_end=v_end, val_min=v_lo, val_min_epoch=k)
    if k > E - max(5, E // 5):
        return None  # the minimum is too close to the end to see a rise
    v_noise = _noise(v, vs)
    _, tstat = _slope_t(v[k:])
    ev.update(val_rise=(v_end - v_lo) / v_lo if v_lo > 0 else math.inf, val_slope_t=tstat,
              val_noise=v_noise, gap_end=(v_end - end) / v_end if v_end > 0 else 0.0)
    if (ev["val_rise"] > OVERFIT_RISE and v_end - v_lo > RISE_NOISE * v_noise and tstat > OVERFIT_T
            and end <= c.ts[k] * OVERFIT_TRAIN and ev["gap_end"] > OVERFIT_GAP):
        return _result("overfitting", f"validation loss reached its minimum {v_lo:.3g} at epoch {k} and "
                                      f"rose to {v_end:.3g} (+{100 * ev['val_rise']:.0f}%, slope "
                                      f"t={tstat:.1f}) while training loss kept falling to {end:.3g}", ev)
    return None


def _rule_val_easier(c: _Curves) -> Diagnosis | None:
    """Rule 4: over the second half, validation lies clearly below training."""
    half = slice(c.E // 2, None)
    ts, vs = c.ts[half], c.vs[half]
    c.ev["val_below_train"] = float(np.median((ts - vs) / np.maximum(ts, 1e-12)))
    if c.ev["val_below_train"] > VAL_EASIER_GAP:
        return _result("val_easier", f"over the second half the validation loss is "
                                     f"{100 * c.ev['val_below_train']:.0f}% below the training loss", c.ev)
    return None


def _rule_lr_too_low(c: _Curves) -> Diagnosis | None:
    """Rule 5: an almost straight, steady descent (a healthy curve is convex)."""
    ev, ts, E = c.ev, c.ts, c.E
    third = max(E // 3, 1)
    early = (ts[0] - ts[third]) / third
    late = (ts[E - 1 - third] - ts[-1]) / third
    ev["slope_ratio"] = late / early if early > 0 else 0.0
    ev["fraction_decreasing"] = float(np.mean(np.diff(ts) < 0))
    if (early > 0 and ev["slope_ratio"] > LINEAR_SLOPE_RATIO and ev["fraction_decreasing"] >= LINEAR_MONOTONE
            and ev["train_first"] - ev["train_end"] > RISE_NOISE * ev["train_noise"]):
        return _result("lr_too_low", f"the training loss falls almost linearly (late slope "
                                     f"{100 * ev['slope_ratio']:.0f}% of the early slope) from {ev['train_first']:.3g} "
                                     f"to {ev['train_end']:.3g}", ev)
    return None


def _rule_still_learning(c: _Curves) -> Diagnosis | None:
    """Rule 6a (seed 8.7.2): both losses are still clearly falling at the end."""
    ev, ts, E, end = c.ev, c.ts, c.E, c.ev["train_end"]
    quarter = max(E // 4, 1)
    ev["last_quarter_drop"] = float((ts[E - 1 - quarter] - end) / max(ts[0] - end, 1e-12))
    tail = max(E // 3, 4)
    ev["tail_slope_t"] = _slope_t(c.t[-tail:])[1]
    still = ev["last_quarter_drop"] > STILL_LEARNING and ev["tail_slope_t"] < -STILL_T
    if still and c.v is not None:
        ev["val_tail_slope_t"] = _slope_t(c.v[-tail:])[1]
        still = ev["val_tail_slope_t"] < -STILL_T_VAL
    if still:
        return _result("underfitting", f"the loss is still falling at the end ({100 * ev['last_quarter_drop']:.0f}% "
                                       f"of its drop came in the last quarter): the model is still learning", ev)
    return None


def _rule_high_plateau(c: _Curves) -> Diagnosis | None:
    """Rule 6b (seed 8.5): settled high — smoothly (underfitting) or oscillating (lr too high, seed 8.7.4)."""
    ev, end = c.ev, c.ev["train_end"]
    level = min(end, float(c.vs[-1])) if c.v is not None else end
    if c.baseline is not None:
        ev["level_vs_baseline"] = level / c.baseline
        high, what = ev["level_vs_baseline"] > HIGH_BASELINE, f"{100 * ev['level_vs_baseline']:.0f}% of the baseline"
    else:
        first = ev["train_first"]
        ev["level_vs_first"] = level / first if first > 0 else 0.0
        high, what = ev["level_vs_first"] > HIGH_FIRST, f"{100 * ev['level_vs_first']:.0f}% of the first epoch's loss"
    ev["train_noise_vs_level"] = ev["train_noise"] / max(abs(end), 1e-12)
    if high and ev["train_noise_vs_level"] > ROUGH_PLATEAU:
        return _result("lr_too_high", f"the loss dropped and then oscillates on a high plateau ({level:.3g}, {what}; "
                                      f"noise {100 * ev['train_noise_vs_level']:.0f}% of the level)", ev)
    if high:
        return _result("underfitting", f"both losses settled at a high level ({level:.3g}, {what})", ev)
    return None


_RULES = (_rule_exploded, _rule_lr_too_high, _rule_overfitting, _rule_val_easier, _rule_lr_too_low,
          _rule_still_learning, _rule_high_plateau)
_NEEDS_VAL = (_rule_overfitting, _rule_val_easier)


def diagnose(train_loss, val_loss=None, *, baseline: float | None = None,
             classes: int | None = None) -> Diagnosis:
    """Diagnose a run from its learning curves (seed 8.7, 8.7.4).

    Args:
        train_loss: per-epoch training losses, shape ``(E,)`` — or a ``dlcourse.train.History``
            (then ``val_loss`` is taken from it).  ``None`` entries count as NaN.
        val_loss: per-epoch validation losses ``(E,)`` or ``None``.
        baseline: the loss of a constant prediction (``log C`` for ``C`` balanced classes with
            cross-entropy, ``Var(y)`` for mean-squared error); lets "high" mean something.
        classes: shortcut for ``baseline=log(classes)``.

    Returns:
        A :class:`Diagnosis`; ``label`` is one of ``LABELS``.  The rules are in the module docstring;
        they run in that order and the first that fires decides.
    """
    train_loss, val_loss = _split_history(train_loss, val_loss)
    t = _as_curve(train_loss, "train_loss")
    v = None if val_loss is None else _as_curve(val_loss, "val_loss")
    if v is not None and len(v) != len(t):
        raise ValueError(f"diagnose: train_loss has {len(t)} epochs but val_loss has {len(v)}")
    if baseline is None and classes is not None:
        baseline = math.log(classes)

    bad = [(name, c) for name, c in (("train", t), ("validation", v)) if c is not None and not np.all(np.isfinite(c))]
    if bad:
        first = min(int(np.argmax(~np.isfinite(c))) for _, c in bad)
        return _result("diverged", f"the {' and '.join(n for n, _ in bad)} loss became NaN or infinite "
                                   f"(epoch {first})", {"first_nonfinite_epoch": first})
    if len(t) < 4:
        raise ValueError(f"diagnose needs at least 4 epochs of losses, got {len(t)}")

    ts = smooth(t)
    ev: dict = {"epochs": len(t), "train_first": float(t[0]), "train_end": float(ts[-1]),
                "train_min": float(ts.min()), "train_noise": _noise(t, ts), "smoothing_window": _window(len(t))}
    if baseline is not None:
        ev["baseline"] = float(baseline)
    curves = _Curves(t, ts, v, None if v is None else smooth(v), baseline, ev)
    for rule in _RULES:
        if v is None and rule in _NEEDS_VAL:
            continue
        found = rule(curves)
        if found is not None:
            return found
    return _result("ideal", "training and validation losses fell together and settled low" if v is not None
                   else "the training loss fell and settled low", ev)


def plot_learning_curves(history, val_loss=None, *, ax=None, baseline: float | None = None,
                         classes: int | None = None, title: str | None = None):
    """Draw training and validation loss per epoch, annotated with :func:`diagnose` (seed 8.7).

    Args:
        history: a ``History`` or a sequence of training losses (then ``val_loss`` may be given).
        ax: a matplotlib ``Axes`` to draw into (a new figure otherwise).
        baseline, classes: passed to :func:`diagnose`.

    Returns:
        ``(ax, diagnosis)``.  Non-finite losses are drawn as a red cross at the epoch they appear;
        the smoothed curves the rules looked at are drawn thin and dashed.
    """
    import matplotlib.pyplot as plt

    train, val = _split_history(history, val_loss)
    t = _as_curve(train, "train_loss")
    v = None if val is None else _as_curve(val, "val_loss")
    try:
        diagnosis = diagnose(t, v, baseline=baseline, classes=classes)
    except ValueError as err:  # too few epochs: draw anyway
        diagnosis = Diagnosis("ideal", f"not diagnosed: {err}", {}, "")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    epochs = np.arange(1, len(t) + 1)
    for curve, name, color in ((t, "training", "C0"), (v, "validation", "C1")):
        if curve is None:
            continue
        finite = np.isfinite(curve)
        ax.plot(epochs[finite], curve[finite], "-o", ms=2.5, color=color, label=f"{name} loss")
        if finite.all() and len(curve) >= 4:
            ax.plot(epochs, smooth(curve), "--", lw=0.8, color=color, alpha=0.7)
        if not finite.all():
            i = int(np.argmax(~finite))
            y = curve[finite][-1] if finite.any() else 1.0
            ax.plot([epochs[i]], [y], "x", color="red", ms=10, mew=2, label=f"{name}: NaN/inf")
    if baseline is not None or classes is not None:
        b = baseline if baseline is not None else math.log(classes)
        ax.axhline(b, color="grey", lw=0.8, ls=":", label="constant prediction")
    finite_all = np.concatenate([c[np.isfinite(c)] for c in (t, v) if c is not None])
    if finite_all.size and finite_all.min() > 0 and finite_all.max() / finite_all.min() > 100:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title or f"diagnosis: {diagnosis.label}")
    ax.text(0.98, 0.97, _wrap(diagnosis.reason, 48), transform=ax.transAxes, ha="right", va="top", fontsize=8,
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.7", "alpha": 0.85})
    ax.legend(loc="lower left", fontsize=8)
    return ax, diagnosis


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
