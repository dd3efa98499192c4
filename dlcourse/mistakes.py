"""Mistake detectors of seed 8.8.7 ("good/bad practice"): on by default, each one silenceable.

A detector that fires emits a ``MistakeWarning`` whose text names the mistake and the fix.
Silence one kind with ``silence("softmax_before_cross_entropy")`` (or all with ``silence()``),
or temporarily with ``with silenced("train_mode_eval"): ...``.
"""
from __future__ import annotations

import contextlib
import warnings

KINDS = {
    "accumulated_gradients": "optimizer.step() used gradients accumulated over several backward passes",
    "train_mode_eval": "a model was evaluated in training mode (dropout or batch norm active)",
    "softmax_before_cross_entropy": "probabilities (after softmax) were passed to CrossEntropyLoss",
    "train_test_overlap": "training and test sets share samples",
    "test_set_reuse": "the test set was evaluated repeatedly during hyperparameter tuning",
}

_silenced: set[str] = set()


class MistakeWarning(UserWarning):
    """A likely training mistake; ``.kind`` says which detector fired."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown mistake kind {kind!r}; known kinds: {sorted(KINDS)}")


def silence(*kinds: str) -> None:
    """Turn detectors off (all of them when called without arguments)."""
    for kind in kinds or tuple(KINDS):
        _check_kind(kind)
        _silenced.add(kind)


def unsilence(*kinds: str) -> None:
    """Turn detectors back on (all of them when called without arguments)."""
    for kind in kinds or tuple(KINDS):
        _check_kind(kind)
        _silenced.discard(kind)


def is_active(kind: str) -> bool:
    _check_kind(kind)
    return kind not in _silenced


@contextlib.contextmanager
def silenced(*kinds: str):
    """Context manager: detectors off inside the block, previous state restored after it."""
    before = set(_silenced)
    silence(*kinds)
    try:
        yield
    finally:
        _silenced.clear()
        _silenced.update(before)


def warn(kind: str, message: str, stacklevel: int = 3) -> None:
    """Emit a MistakeWarning of ``kind`` unless that detector is silenced."""
    if is_active(kind):
        warnings.warn(MistakeWarning(kind, f"[{kind}] {message} (silence with "
                                           f"dlcourse.mistakes.silence({kind!r}))"), stacklevel=stacklevel)
