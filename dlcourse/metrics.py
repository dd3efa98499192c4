"""Performance metrics of seed 1.2: accuracy, top-k accuracy and top-k error."""
from __future__ import annotations

import numpy as np

from . import mistakes
from ._validate import check_labels, check_ndim


def _scores_and_labels(owner: str, scores, labels) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores)
    check_ndim(owner, scores, 2, "(N, C)", "scores")
    labels = check_labels(owner, labels, scores.shape[0], scores.shape[1])
    return scores, labels


def _note_scoring(owner: str, labels: np.ndarray) -> None:
    """Seed 8.8.7 detectors: predictions made in training mode; the test set scored while tuning."""
    mistakes.check_predictions(owner)
    if labels.ndim >= 1:
        mistakes.note_evaluation(y=labels, owner=owner)


def accuracy(pred, labels) -> float:
    """Fraction of correct predictions.

    ``pred`` is either class scores ``(N, C)`` (the arg-max is the prediction) or predicted labels
    ``(N,)``; ``labels (N,)`` are the true classes.
    """
    pred, labels = np.asarray(pred), np.asarray(labels)
    _note_scoring("accuracy", labels)
    if pred.ndim == 2:
        pred, labels = _scores_and_labels("accuracy", pred, labels)
        pred = pred.argmax(axis=1)
    if pred.shape != labels.shape:
        raise ValueError(f"accuracy expected predictions of shape {labels.shape} (or scores (N, C)), got {pred.shape}")
    if labels.size == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return float((pred == labels).mean())


def top_k_accuracy(scores, labels, k: int = 5) -> float:
    """Seed 1.2: a sample counts as correct when its true class is among the ``k`` highest scores.

    Shapes: ``scores (N, C)``, ``labels (N,)`` → float.  Top-1 accuracy is ordinary accuracy.
    """
    scores, labels = _scores_and_labels("top_k_accuracy", scores, labels)
    _note_scoring("top_k_accuracy", labels)
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"top_k_accuracy: k must lie in [1, {scores.shape[1]}] for {scores.shape[1]} classes, got {k}")
    # A class is in the top k when fewer than k classes score strictly higher (ties count in favour).
    true_scores = scores[np.arange(len(labels)), labels][:, None]
    rank = (scores > true_scores).sum(axis=1)
    return float((rank < k).mean())


def top_k_error(scores, labels, k: int = 5) -> float:
    """Seed 1.2: ``1 − top_k_accuracy`` (the ImageNet top-5 error)."""
    return 1.0 - top_k_accuracy(scores, labels, k)


def confusion_matrix(pred, labels, num_classes: int | None = None) -> np.ndarray:
    """Counts ``(C, C)``: row = true class, column = predicted class."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    if pred.ndim == 2:
        pred = pred.argmax(axis=1)
    c = int(num_classes or max(pred.max(), labels.max()) + 1)
    matrix = np.zeros((c, c), dtype=np.int64)
    np.add.at(matrix, (labels, pred), 1)
    return matrix
