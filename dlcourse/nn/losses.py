"""Loss functions of seed 4.2.  A loss is a module: ``loss = loss_fn(pred, target)`` returns a float,
``loss_fn.backward()`` returns ``d loss / d pred`` with the shape of ``pred``.

Every loss averages over samples (``n`` in seed 4.2.2).  Inputs are checked: same shapes where the
loss compares arrays element by element (nothing is broadcast), integer labels in range for the
classification losses, and no NaN or infinity in the predictions.
"""
from __future__ import annotations

import numpy as np

from .. import mistakes
from .._validate import check_finite, check_labels, check_ndim, check_same_shape, float_array
from .module import Module


class Loss(Module):
    """Base class: ``__call__`` checks and computes the loss; ``backward(dout=1.0)`` its gradient."""

    def forward(self, pred, target) -> float:
        raise NotImplementedError

    def backward(self, dout: float = 1.0) -> np.ndarray:
        if not hasattr(self, "_grad"):
            raise RuntimeError(f"{type(self).__name__}.backward() called before the loss was computed")
        return (self._grad * dout).astype(self._grad.dtype, copy=False)

    def _pred(self, pred) -> np.ndarray:
        mistakes.note_loss()  # a loss on these outputs: a training step, not an evaluation in train mode
        pred = float_array(type(self).__name__, pred, "pred")
        check_finite(type(self).__name__, pred, "pred")
        return pred

    def _regression_target(self, pred, target) -> np.ndarray:
        target = np.asarray(target, dtype=pred.dtype)
        check_same_shape(type(self).__name__, pred, target)
        return target


class L1Loss(Loss):
    """Seed 4.2.3: mean absolute error ``mean |y − ŷ|`` over all elements; gradient ``sign(ŷ − y)/n``.

    Robust to outliers (their cost grows linearly); its optimum is the median.
    """

    def forward(self, pred, target) -> float:
        pred = self._pred(pred)
        diff = pred - self._regression_target(pred, target)
        self._grad = np.sign(diff) / diff.size
        return float(np.abs(diff).mean())


class MSELoss(Loss):
    """Seed 4.2.4: mean squared error ``mean (y − ŷ)²`` over all elements; gradient ``2(ŷ − y)/n``.

    (The seed divides by the number of samples; PyTorch — and this class — by the number of
    elements, which is the same for one output per sample.)  Its optimum is the mean.
    """

    def forward(self, pred, target) -> float:
        pred = self._pred(pred)
        diff = pred - self._regression_target(pred, target)
        self._grad = 2 * diff / diff.size
        return float(np.square(diff).sum() / diff.size)  # = .mean(), without its Python wrapper


class BCELoss(Loss):
    """Seed 4.2.5: binary cross-entropy on probabilities ``ŷ ∈ [0, 1]`` and targets ``y ∈ [0, 1]``.

    ``L = −mean(y log ŷ + (1 − y) log(1 − ŷ))``.  ``ŷ`` is clipped to ``[eps, 1 − eps]`` so that a
    saturated sigmoid gives a large finite loss instead of ``inf`` (PyTorch clamps the log at −100
    for the same reason); the gradient is ``(ŷ − y) / (ŷ(1 − ŷ)) / n``.
    """

    def __init__(self, eps: float = 1e-7) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, pred, target) -> float:
        pred = self._pred(pred)
        target = self._regression_target(pred, target)
        if pred.size and (pred.min() < 0 or pred.max() > 1):
            raise ValueError(f"BCELoss expects probabilities in [0, 1], got values in [{pred.min():.3g}, "
                             f"{pred.max():.3g}]; apply a Sigmoid first")
        p = np.clip(pred, self.eps, 1 - self.eps)
        self._grad = ((p - target) / (p * (1 - p)) / p.size).astype(pred.dtype, copy=False)
        return float(-(target * np.log(p) + (1 - target) * np.log1p(-p)).mean())


def _class_last(owner: str, logits: np.ndarray, labels) -> tuple[np.ndarray, np.ndarray]:
    """Scores ``(N, C)`` or ``(N, C, d1, …)`` → ``(M, C)`` rows with labels ``(M,)`` (per-pixel for U-Net)."""
    check_ndim(owner, logits, range(2, 6), "(N, C) or (N, C, d1, ...)", "scores")
    n, c = logits.shape[:2]
    labels = check_labels(owner, labels, n, c, shape=(n,) + logits.shape[2:])
    if logits.ndim == 2:
        return logits, labels
    return np.moveaxis(logits, 1, -1).reshape(-1, c), labels.reshape(-1)


def _restore_class_axis(grad_rows: np.ndarray, shape: tuple) -> np.ndarray:
    if len(shape) == 2:
        return grad_rows
    moved = grad_rows.reshape((shape[0],) + shape[2:] + (shape[1],))
    return np.moveaxis(moved, -1, 1)


class CrossEntropyLoss(Loss):
    """Seed 4.2.6: softmax cross-entropy on raw scores (logits) and integer labels.

    Shapes: ``logits (N, C)`` (or ``(N, C, H, W)`` for segmentation) and ``labels (N,)`` (or
    ``(N, H, W)``) → float.  ``L = −mean log softmax(s)_{y}``, computed with log-sum-exp so large
    logits do not overflow; the gradient is ``(softmax(s) − onehot(y)) / n``.

    Passing probabilities (already through ``Softmax``) is a classic bug (seed 8.8.7): the loss
    then barely moves.  A ``MistakeWarning`` says so when every row looks like a distribution.
    """

    def forward(self, logits, labels) -> float:
        logits = self._pred(logits)
        rows, y = _class_last("CrossEntropyLoss", logits, labels)
        if rows.size and rows.min() >= 0 and rows.max() <= 1 and np.allclose(rows.sum(axis=1), 1, atol=1e-4):
            mistakes.warn("softmax_before_cross_entropy",
                          "CrossEntropyLoss got scores that are already probabilities (each row is >= 0 and "
                          "sums to 1); it applies softmax itself, so pass the raw logits (remove the Softmax layer)")
        # log-sum-exp written out so one exp serves the loss and the gradient (this runs every step):
        # −log softmax(s)_y = log Σ_k e^{s_k − m} − (s_y − m) with m the row maximum
        shifted = rows - rows.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        n, picked = len(y), (np.arange(len(y)), y)
        loss = (np.log(total).sum() - shifted[picked].sum()) / n
        grad = e / total  # softmax(s)
        grad[picked] -= 1
        grad /= n
        self._grad = _restore_class_axis(grad, logits.shape).astype(logits.dtype, copy=False)
        return float(loss)


class HingeLoss(Loss):
    """Seed 4.2.7 (multi-class SVM loss): ``mean_i Σ_{j≠y_i} max(0, s_ij − s_iy + margin)``.

    Shapes: ``scores (N, C)``, ``labels (N,)`` → float.  Once the correct class wins by the margin
    the loss is exactly 0 and so is its gradient (saturation).  PyTorch's ``MultiMarginLoss``
    additionally divides by C; this class follows the lecture.
    """

    def __init__(self, margin: float = 1.0) -> None:
        super().__init__()
        self.margin = float(margin)

    def forward(self, scores, labels) -> float:
        scores = self._pred(scores)
        check_ndim("HingeLoss", scores, 2, "(N, C)", "scores")
        n, c = scores.shape
        y = check_labels("HingeLoss", labels, n, c)
        rows = np.arange(n)
        margins = np.maximum(0, scores - scores[rows, y][:, None] + self.margin)
        margins[rows, y] = 0
        active = (margins > 0).astype(scores.dtype)
        active[rows, y] = -active.sum(axis=1)
        self._grad = active / n
        return float(margins.sum() / n)
