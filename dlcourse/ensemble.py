"""Bagging and ensembles (seed 4.5.4): train several models and average their predictions.

Seed 4.5.4: "train multiple models and average their results; use different optimisation
functions, loss functions, … for each model; if the errors are uncorrelated, the expected combined
error decreases linearly with the ensemble size."  Members here differ by their random seed
(initialisation and minibatch order), optionally by a bootstrap sample of the training set
(*bagging*: ``n`` draws with replacement) and by the optimizer.

Classification averages the members' softmax probabilities; regression averages outputs.  For the
cross-entropy (and the squared error) of the average, convexity guarantees the ensemble's loss is
at most the members' mean loss; the error rate usually improves too — :func:`ensemble_report`
measures both on held-out data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from . import _rng
from .nn.activations import log_softmax
from .nn.losses import CrossEntropyLoss, Loss, MSELoss
from .nn.module import Module
from .optim import Adam
from .train import fit, predict


@dataclass
class Ensemble:
    """Trained members and how to combine them: ``"probabilities"`` (softmax averaged) or ``"mean"``."""

    models: list[Module]
    combine: str = "probabilities"
    histories: list = field(default_factory=list)

    def member_outputs(self, X: np.ndarray) -> np.ndarray:
        """``(M, N, …)``: each member's output in eval mode (probabilities for classification)."""
        outs = [predict(m, X) for m in self.models]
        if self.combine == "probabilities":
            outs = [np.exp(log_softmax(o.astype(np.float64), dim=1)) for o in outs]
        return np.stack(outs)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The ensemble's output ``(N, …)``: the average of :meth:`member_outputs`."""
        return self.member_outputs(X).mean(axis=0)

    def __len__(self) -> int:
        return len(self.models)


def bootstrap_indices(n: int, rng=None) -> np.ndarray:
    """``n`` indices drawn with replacement (about 63 % distinct): one bagging training set."""
    return _rng.get_rng(rng).integers(0, n, size=n)


def train_ensemble(model_factory: Callable[[], Module], train_data, *, n_models: int = 5, bootstrap: bool = True,
                   seed: int = 0, optimizers: Sequence[Callable] | None = None, loss_fn: Loss | None = None,
                   epochs: int = 20, batch_size: int = 64, val_data=None, progress: bool = False,
                   **fit_kwargs) -> Ensemble:
    """Train ``n_models`` members with :func:`dlcourse.train.fit` (seed 4.5.4).

    Args:
        model_factory: ``() -> Module``; member ``i`` is built after ``dlcourse.seed(seed + i)``.
        train_data: a pair ``(X, y)``.
        bootstrap: train member ``i`` on a bootstrap sample (bagging) instead of the whole set.
        optimizers: ``params -> Optimizer`` factories, used in turn (member ``i`` gets
            ``optimizers[i % len]``); default ``Adam(lr=1e-2)`` for all.
        loss_fn: ``CrossEntropyLoss`` for integer labels (then probabilities are averaged), else ``MSELoss``.
        fit_kwargs: passed on to ``fit`` (e.g. ``callbacks``).

    Returns:
        An :class:`Ensemble` (``.predict(X)``, ``.member_outputs(X)``, ``.histories``).
    """
    X, y = (np.asarray(a) for a in train_data)
    if n_models < 1:
        raise ValueError(f"train_ensemble: n_models must be >= 1, got {n_models!r}")
    classify = np.issubdtype(y.dtype, np.integer)
    if loss_fn is None:
        loss_fn = CrossEntropyLoss() if classify else MSELoss()
    optimizers = list(optimizers or [lambda params: Adam(params, lr=1e-2)])
    models, histories = [], []
    for i in range(n_models):
        _rng.seed(seed + i)
        idx = bootstrap_indices(len(X), rng=seed + 10_000 + i) if bootstrap else np.arange(len(X))
        model = model_factory()
        opt = optimizers[i % len(optimizers)](model.parameters())
        histories.append(fit(model, loss_fn, opt, (X[idx], y[idx]), epochs=epochs, batch_size=batch_size,
                             val_data=val_data, progress=progress, rng=seed + i, **fit_kwargs))
        models.append(model)
    return Ensemble(models, "probabilities" if isinstance(loss_fn, CrossEntropyLoss) else "mean", histories)


@dataclass
class EnsembleReport:
    """Held-out error of every member and of the ensemble (classification: 1 − accuracy; regression: MSE),
    the matching losses (cross-entropy of the probabilities / MSE), and how often two members disagree."""

    member_errors: list[float]
    ensemble_error: float
    member_losses: list[float]
    ensemble_loss: float
    disagreement: float | None = None

    @property
    def mean_member_error(self) -> float:
        return float(np.mean(self.member_errors))

    @property
    def best_member_error(self) -> float:
        return float(np.min(self.member_errors))

    @property
    def mean_member_loss(self) -> float:
        return float(np.mean(self.member_losses))

    def to_markdown(self) -> str:
        lines = ["| model | error | loss |", "|---|---|---|"]
        lines += [f"| member {i} | {e:.4f} | {l:.4f} |" for i, (e, l) in enumerate(zip(self.member_errors,
                                                                                         self.member_losses))]
        lines.append(f"| mean of members | {self.mean_member_error:.4f} | {self.mean_member_loss:.4f} |")
        lines.append(f"| **ensemble of {len(self.member_errors)}** | **{self.ensemble_error:.4f}** | "
                     f"**{self.ensemble_loss:.4f}** |")
        if self.disagreement is not None:
            lines.append(f"\nMembers disagree on {100 * self.disagreement:.1f}% of samples (pairwise mean); the less "
                         f"correlated their errors, the more averaging helps (seed 4.5.4).")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        return self.to_markdown()


def ensemble_report(ensemble: Ensemble, X, y) -> EnsembleReport:
    """Single-model vs ensemble error on held-out ``X (N, …)``, ``y (N,)`` (seed 4.5.4)."""
    X, y = np.asarray(X), np.asarray(y)
    outs = ensemble.member_outputs(X)
    avg = outs.mean(axis=0)
    if ensemble.combine == "probabilities":
        rows = np.arange(len(y))

        def nll(p):
            return float(-np.mean(np.log(np.clip(p[rows, y], 1e-12, None))))

        preds = outs.argmax(axis=2)
        member_errors = [float(np.mean(p != y)) for p in preds]
        ensemble_error = float(np.mean(avg.argmax(axis=1) != y))
        member_losses = [nll(p) for p in outs]
        ensemble_loss = nll(avg)
        m = len(preds)
        pairs = [(i, j) for i in range(m) for j in range(i + 1, m)]
        disagreement = float(np.mean([np.mean(preds[i] != preds[j]) for i, j in pairs])) if pairs else 0.0
    else:
        target = y.reshape(outs.shape[1:]).astype(np.float64)
        member_errors = member_losses = [float(np.mean((o - target) ** 2)) for o in outs]
        ensemble_error = ensemble_loss = float(np.mean((avg - target) ** 2))
        disagreement = None
    return EnsembleReport(member_errors, ensemble_error, list(member_losses), ensemble_loss, disagreement)
