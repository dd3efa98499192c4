"""Hyperparameter search (seed 8.6.1): grid search and random search over a training function.

Seed 8.6.1: *grid search* defines a set of values per hyperparameter and tries every combination;
*random search* draws each configuration at random from ranges — learning rate and weight decay
log-uniformly, because their useful values span orders of magnitude (seed 8.8.3 suggests
``1e-1 … 1e-4`` for the learning rate and ``1e-4, 1e-5, 0`` for weight decay).

The best configuration is chosen on **validation** data only (seed 8.2): ``metric`` may not be a
test metric, and while a search runs the ``test_set_reuse`` detector of :mod:`dlcourse.mistakes`
counts evaluations of registered test sets and warns when a second trial touches one.

    >>> def train(lr, weight_decay):
    ...     model = make_model()
    ...     return fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=lr, weight_decay=weight_decay),
    ...                train, val_data=val, epochs=10, progress=False)       # a History
    >>> results = random_search(train, {"lr": LogUniform(1e-4, 1e-1), "weight_decay": LogUniform(1e-6, 1e-3)},
    ...                         n_trials=20, rng=0)
    >>> results.best_config, print(results.sort_by("val_loss").to_markdown())
"""
from __future__ import annotations

import itertools
import math
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from . import _rng, mistakes

SEED_GRID = {"lr": [1e-1, 1e-2, 1e-3, 1e-4], "weight_decay": [1e-4, 1e-5, 0.0]}  # seed 8.8.3


# -- search spaces ------------------------------------------------------------------------------------
class Distribution:
    """A range to draw one hyperparameter from: ``sample(gen)`` returns one value."""

    def sample(self, gen: np.random.Generator):
        raise NotImplementedError


class LogUniform(Distribution):
    """``exp(U(log low, log high))``: every decade between ``low`` and ``high`` equally likely (seed 8.6.1)."""

    def __init__(self, low: float, high: float) -> None:
        if not 0 < low < high:
            raise ValueError(f"LogUniform needs 0 < low < high, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def sample(self, gen):
        return float(math.exp(gen.uniform(math.log(self.low), math.log(self.high))))

    def __repr__(self) -> str:
        return f"LogUniform({self.low:g}, {self.high:g})"


class Uniform(Distribution):
    """``U(low, high)`` (e.g. a dropout probability)."""

    def __init__(self, low: float, high: float) -> None:
        if not low < high:
            raise ValueError(f"Uniform needs low < high, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def sample(self, gen):
        return float(gen.uniform(self.low, self.high))

    def __repr__(self) -> str:
        return f"Uniform({self.low:g}, {self.high:g})"


class IntUniform(Distribution):
    """An integer in ``[low, high]`` inclusive (e.g. the number of hidden units)."""

    def __init__(self, low: int, high: int) -> None:
        if not low <= high:
            raise ValueError(f"IntUniform needs low <= high, got low={low!r}, high={high!r}")
        self.low, self.high = int(low), int(high)

    def sample(self, gen):
        return int(gen.integers(self.low, self.high + 1))

    def __repr__(self) -> str:
        return f"IntUniform({self.low}, {self.high})"


class Choice(Distribution):
    """One of ``values``, uniformly (a list in a random-search space means the same)."""

    def __init__(self, values: Sequence) -> None:
        if len(values) == 0:
            raise ValueError("Choice needs at least one value")
        self.values = list(values)

    def sample(self, gen):
        return self.values[int(gen.integers(len(self.values)))]

    def __repr__(self) -> str:
        return f"Choice({self.values!r})"


def log_uniform(low: float, high: float) -> LogUniform:
    return LogUniform(low, high)


# -- the results table --------------------------------------------------------------------------------
def _mode_for(metric: str, mode: str | None) -> str:
    if mode is not None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        return mode
    name = metric.lower()
    if "loss" in name or "error" in name or "mse" in name:
        return "min"
    if "acc" in name or "score" in name:
        return "max"
    raise ValueError(f"cannot tell whether {metric!r} should be minimised or maximised; pass mode='min' or 'max'")


def _check_metric(metric: str) -> None:
    if metric.lower().startswith("test"):
        raise ValueError(f"refusing to select hyperparameters on {metric!r}: seed 8.2 uses the test set once, at the "
                         f"end; select on a validation metric such as 'val_loss' or 'val_acc'")


class Results(list):
    """The trials of a search: a list of dicts (hyperparameters, metrics, ``trial``, ``seconds``).

    ``sort_by(column)`` returns a sorted copy (NaN last), ``best`` / ``best_config`` the trial that
    is best on ``metric``, ``to_markdown()`` a table (shown automatically in Jupyter).
    """

    def __init__(self, rows: Iterable[dict] = (), *, metric: str = "val_loss", mode: str | None = None,
                 params: Sequence[str] = ()) -> None:
        super().__init__(rows)
        self.metric = metric
        self.mode = _mode_for(metric, mode)
        self.params = list(params)

    def _copy(self, rows) -> "Results":
        return Results(rows, metric=self.metric, mode=self.mode, params=self.params)

    def column(self, name: str) -> list:
        return [row.get(name) for row in self]

    def sort_by(self, column: str | None = None, descending: bool | None = None) -> "Results":
        """Sorted copy by ``column`` (default ``metric``); losses ascend, accuracies descend by default."""
        column = column or self.metric
        if descending is None:
            descending = column == self.metric and self.mode == "max" or "acc" in column.lower()

        def key(row):
            v = row.get(column)
            missing = v is None or (isinstance(v, float) and math.isnan(v))
            if missing:
                return (1, 0)
            return (0, -v if descending and isinstance(v, (int, float)) else v)

        if descending and not all(isinstance(r.get(column), (int, float, type(None))) for r in self):
            rows = sorted(self, key=lambda r: str(r.get(column)), reverse=True)
        else:
            rows = sorted(self, key=key)
        return self._copy(rows)

    @property
    def best(self) -> dict:
        """The trial with the best finite ``metric`` (validation data only)."""
        finite = [r for r in self if isinstance(r.get(self.metric), (int, float)) and math.isfinite(r[self.metric])]
        if not finite:
            raise ValueError(f"no trial has a finite {self.metric!r}")
        pick = min if self.mode == "min" else max
        return pick(finite, key=lambda r: r[self.metric])

    @property
    def best_config(self) -> dict:
        """The hyperparameters of :attr:`best` only."""
        best = self.best
        return {k: best[k] for k in self.params}

    def to_markdown(self, columns: Sequence[str] | None = None, digits: int = 4) -> str:
        if columns is None:
            seen: dict[str, None] = {}
            for row in self:
                for k in row:
                    seen.setdefault(k, None)
            columns = list(seen)

        def fmt(v):
            if isinstance(v, float):
                return "nan" if math.isnan(v) else f"{v:.{digits}g}"
            return "" if v is None else str(v)

        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(fmt(row.get(c)) for c in columns) + " |" for row in self]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return f"Results({len(self)} trials, metric={self.metric!r}, mode={self.mode!r})"


# -- running trials -----------------------------------------------------------------------------------
def _metrics_of(result: Any, metric: str) -> dict:
    """Turn what the training function returned into a dict of metrics."""
    if hasattr(result, "train_loss") and hasattr(result, "val_loss"):  # a History
        val = [v for v in result.val_loss if v is not None]
        out = {"train_loss": float(result.train_loss[-1]) if result.train_loss else float("nan"),
               "epochs": len(result.train_loss)}
        if val:
            finite = [v for v in val if math.isfinite(v)]
            out["val_loss"] = min(finite) if finite else float("nan")
        accs = [a for a in (result.val_acc or []) if a is not None]
        if accs:
            out["val_acc"] = max(accs)
        return out
    if isinstance(result, Mapping):
        return {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v) for k, v in result.items()}
    if isinstance(result, (int, float, np.floating, np.integer)):
        return {metric: float(result)}
    raise TypeError(f"the training function must return a number, a dict of metrics or a History, "
                    f"got {type(result).__name__}")


def _run(train_fn: Callable, configs: Sequence[dict], metric: str, mode: str | None, params: Sequence[str],
         progress: bool, desc: str) -> Results:
    _check_metric(metric)
    results = Results(metric=metric, mode=mode, params=params)
    bar = None
    if progress:
        from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal

        bar = tqdm(total=len(configs), desc=desc, leave=False)
    try:
        with mistakes.tuning():
            for i, config in enumerate(configs):
                t0 = time.perf_counter()
                with mistakes.trial(i):
                    metrics = _metrics_of(train_fn(**config), metric)
                if metric not in metrics:
                    raise KeyError(f"the training function returned {sorted(metrics)} but the search optimises "
                                   f"{metric!r}; return it (e.g. a History with validation data) or pass metric=")
                results.append({"trial": i, **config, **metrics, "seconds": round(time.perf_counter() - t0, 3)})
                if bar is not None:
                    bar.update(1)
                    try:
                        bar.set_postfix({metric: f"{results.best[metric]:.4g}"})
                    except ValueError:
                        pass
    finally:
        if bar is not None:
            bar.close()
    return results


def grid_search(train_fn: Callable[..., Any], grid: Mapping[str, Sequence], *, metric: str = "val_loss",
                mode: str | None = None, progress: bool = True) -> Results:
    """Seed 8.6.1 grid search: call ``train_fn(**config)`` for every combination of ``grid`` values.

    Args:
        train_fn: trains one model and returns a number (the validation metric), a dict of metrics or a
            ``History`` (then ``val_loss`` = its best validation loss, ``val_acc`` its best accuracy).
        grid: ``{name: [values...]}``, e.g. ``SEED_GRID`` (the values seed 8.8.3 suggests).
        metric: the **validation** metric that picks the best configuration (``"test…"`` is refused).
        mode: ``"min"``/``"max"``; guessed from the name (loss/error → min, acc → max).
        progress: a progress bar over trials.

    Returns:
        :class:`Results`, one row per trial in grid order; ``.best_config``, ``.sort_by(...)``.
    """
    names = list(grid)
    for name in names:
        if isinstance(grid[name], (str, bytes)) or not isinstance(grid[name], Sequence) or not len(grid[name]):
            raise ValueError(f"grid_search: grid[{name!r}] must be a non-empty list of values, got {grid[name]!r}")
    configs = [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]
    return _run(train_fn, configs, metric, mode, names, progress, "grid search")


def random_search(train_fn: Callable[..., Any], space: Mapping[str, Any], n_trials: int = 20, *,
                  metric: str = "val_loss", mode: str | None = None, rng=None, progress: bool = True) -> Results:
    """Seed 8.6.1 random search: ``n_trials`` configurations drawn from ``space``.

    ``space`` maps a name to a :class:`Distribution` (``LogUniform(1e-4, 1e-1)`` for the learning rate
    and weight decay, ``Uniform``, ``IntUniform``, ``Choice``), a list (a uniform choice) or a fixed
    value.  ``rng`` (int seed / Generator / None for the global one) makes the draws reproducible.
    Everything else as in :func:`grid_search`.
    """
    if n_trials < 1:
        raise ValueError(f"random_search: n_trials must be >= 1, got {n_trials!r}")
    gen = _rng.get_rng(rng)
    dists = {name: (v if isinstance(v, Distribution) else
                    Choice(v) if isinstance(v, (list, tuple)) else None) for name, v in space.items()}
    configs = [{name: (d.sample(gen) if d is not None else space[name]) for name, d in dists.items()}
               for _ in range(n_trials)]
    return _run(train_fn, configs, metric, mode, list(space), progress, "random search")
