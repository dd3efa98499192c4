"""Mistake detectors of seed 8.8.7 ("good/bad practice"): on by default, each one silenceable.

A detector that fires emits a ``MistakeWarning`` whose text names the mistake and the fix.
Silence one kind with ``silence("softmax_before_cross_entropy")`` (or all with ``silence()``),
or temporarily with ``with silenced("train_mode_eval"): ...``.

==============================  =================================================================
kind                            fires when (where it is checked)
==============================  =================================================================
``accumulated_gradients``       ``optimizer.step()`` sees gradients summed over several backward
                                passes since ``zero_grad`` (``Optimizer.step``)
``softmax_before_cross_entropy``  ``CrossEntropyLoss`` gets rows that are already probabilities
``train_mode_eval``             a trained Dropout/BatchNorm layer runs forward twice in training
                                mode with no backward in between, or ``accuracy`` scores outputs
                                of a training-mode forward that no loss or backward followed
                                (``note_train_forward`` / ``check_predictions``)
``train_test_overlap``          ``fit`` gets training data that shares samples (hashed rows) with its
                                validation data or a registered test set (``check_training_data``)
``test_set_reuse``              inside a search (``grid_search``, ``random_search``, ``tuning()``), a
                                registered test set is scored in a second trial (``note_evaluation``)
==============================  =================================================================

Test sets are registered by ``dlcourse.data.train_val_test_split`` (its test part) or by
``register_test_set(X, y)``.
"""
from __future__ import annotations

import contextlib
import hashlib
import warnings
import weakref

import numpy as np

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


# -- "forgot to toggle train/eval mode" -------------------------------------------------------------
# Layers whose output differs between modes (Dropout, BatchNorm) report every training-mode forward
# pass and every backward pass.  Training alternates forward and backward; evaluation runs forward
# only.  Two rules (documented in ``note_train_forward`` and ``check_predictions``) turn that into
# a warning that fires in a loop that evaluates in training mode and stays silent in a correct one.
_open_layers: "weakref.WeakSet" = weakref.WeakSet()  # train-mode forward not yet followed by backward
_trained_layers: "weakref.WeakSet" = weakref.WeakSet()  # layers that took part in a backward pass
_loss_state = {"loss_since_forward": True}

_TRAIN_MODE_FIX = ("call model.eval() before evaluating or predicting and model.train() before training "
                   "(dlcourse.train.evaluate / predict switch modes for you)")


def note_train_forward(layer) -> None:
    """Called by a mode-dependent layer (Dropout, BatchNorm) on each forward pass in training mode.

    Rule A: the *same* layer running forward twice in training mode without a backward pass in
    between is evaluation or prediction in training mode — a training step always backpropagates.
    Only layers that have been trained (took part in a backward pass) count: forward-only use of a
    fresh layer (unit tests, warming up batch-norm statistics) is not an evaluation of a model.
    """
    if not is_active("train_mode_eval"):
        return
    if layer in _open_layers and layer in _trained_layers:
        warn("train_mode_eval",
             f"{type(layer).__name__} ran forward twice in training mode without a backward pass in between: "
             f"the model is probably being evaluated or used to predict in training mode, so dropout is "
             f"dropping / batch norm uses batch statistics; {_TRAIN_MODE_FIX}", stacklevel=4)
    _open_layers.add(layer)
    _loss_state["loss_since_forward"] = False


def note_backward(layer) -> None:
    """Called by a mode-dependent layer on each backward pass: its last forward was a training step."""
    _open_layers.discard(layer)
    _trained_layers.add(layer)


def forget_forwards(model=None) -> None:
    """Forget pending training-mode forwards (of ``model``'s layers, or all): e.g. after a run aborted
    between forward and backward, so that the next forward does not look like a second one."""
    if model is None:
        _open_layers.clear()
        return
    for m in model.modules():
        _open_layers.discard(m)


def note_loss() -> None:
    """Called by every loss: outputs that go into a loss are (usually) a training step's."""
    _loss_state["loss_since_forward"] = True


def check_predictions(owner: str) -> None:
    """Rule B, called by metrics (``accuracy``, ``top_k_accuracy``): predictions computed in training
    mode — a dropout/batch-norm layer ran forward in training mode, no loss was computed since and
    no backward pass followed — are almost surely an evaluation in training mode."""
    pending = [m for m in _open_layers if m in _trained_layers]
    if is_active("train_mode_eval") and pending and not _loss_state["loss_since_forward"]:
        names = sorted({type(m).__name__ for m in pending})
        warn("train_mode_eval",
             f"{owner} got predictions from a model in training mode ({', '.join(names)} active, no backward pass "
             f"followed): dropout / batch statistics make them noisy and too pessimistic; {_TRAIN_MODE_FIX}",
             stacklevel=4)


# -- "training set contains test data" ---------------------------------------------------------------
def _canonical(X) -> np.ndarray:
    """Rows as a C-contiguous ``(n, d)`` array with one dtype per kind (float32 / int64), so that a
    float32 copy of float64 data, or int32 labels of int64 ones, hash alike."""
    a = np.asarray(X)
    if a.ndim == 0:
        raise ValueError("expected an array with a leading sample axis, got a scalar")
    if np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32, copy=False)
        a = a + np.float32(0.0)  # -0.0 -> +0.0, so the two zeros hash alike
    elif np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        a = a.astype(np.int64, copy=False)
    return np.ascontiguousarray(a.reshape(len(a), -1))


_HASH_MULT: dict[int, np.ndarray] = {}


def row_hashes(X) -> np.ndarray:
    """One 64-bit hash per sample (row of ``X``, any trailing shape): ``(N,)`` uint64.

    Vectorised: the bytes of each row as 64-bit words, combined with fixed random odd
    multipliers (arithmetic wraps modulo 2^64).  Equal rows always hash alike; the callers confirm
    candidate matches by comparing the rows themselves.
    """
    a = _canonical(X)
    raw = a.view(np.uint8).reshape(len(a), -1)
    pad = (-raw.shape[1]) % 8
    if pad:
        raw = np.concatenate([raw, np.zeros((len(a), pad), np.uint8)], axis=1)
    words = np.ascontiguousarray(raw).view(np.uint64)
    k = words.shape[1]
    if k not in _HASH_MULT:
        odd = np.random.default_rng(k).integers(1, 2**63, size=k, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        _HASH_MULT[k] = odd
    h = (words * _HASH_MULT[k]).sum(axis=1, dtype=np.uint64)
    return h ^ (h >> np.uint64(31))


def overlap(a, b, _hashes: tuple | None = None) -> np.ndarray:
    """Indices into ``b`` of samples that also occur in ``a`` (exact equality of the whole sample)."""
    ca, cb = _canonical(a), _canonical(b)
    if ca.shape[1:] != cb.shape[1:]:
        return np.empty(0, dtype=np.int64)
    ha, hb = _hashes if _hashes is not None else (row_hashes(ca), row_hashes(cb))
    candidates = np.flatnonzero(np.isin(hb, ha))
    if candidates.size == 0:
        return candidates
    first = {}
    for i, h in enumerate(ha.tolist()):
        first.setdefault(h, []).append(i)
    confirmed = [j for j in candidates.tolist()
                 if any(np.array_equal(ca[i], cb[j]) for i in first[int(hb[j])])]
    return np.asarray(confirmed, dtype=np.int64)


def check_overlap(a, b, names: tuple[str, str] = ("training", "test"), _hashes: tuple | None = None) -> int:
    """Warn (``train_test_overlap``) if samples of ``b`` also occur in ``a``; return how many do.

    Seed 8.8.7 "training set contains test data": the held-out score is then optimistic.
    ``fit`` calls this for its training and validation data, and for every registered test set.
    """
    if not is_active("train_test_overlap"):
        return 0
    shared = overlap(a, b, _hashes)
    if shared.size:
        warn("train_test_overlap",
             f"the {names[0]} and {names[1]} sets share {shared.size} sample(s) (e.g. {names[1]} index "
             f"{int(shared[0])}), so the {names[1]} score is optimistic; split the data once "
             f"(dlcourse.data.train_val_test_split) and remove duplicates before splitting", stacklevel=3)
    return int(shared.size)


def _inputs(data):
    """``X`` of a pair ``(X, y)`` or of a ``DataLoader``; None if there is no such thing."""
    if data is None:
        return None
    if hasattr(data, "X"):
        return data.X
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0]
    return None


def check_training_data(train_data, val_data=None) -> None:
    """What ``fit`` runs before training: training vs validation, and training vs registered test sets."""
    if not is_active("train_test_overlap"):
        return
    X = _inputs(train_data)
    if X is None or np.asarray(X).dtype.hasobject:
        return
    Xv = _inputs(val_data)
    hx = row_hashes(X)  # once, however many sets it is compared with
    if Xv is not None and not np.asarray(Xv).dtype.hasobject and np.shape(Xv)[1:] == np.shape(X)[1:]:
        check_overlap(X, Xv, ("training", "validation"), (hx, row_hashes(Xv)))
    for entry in _test_sets:
        if entry["shape"][1:] == np.shape(X)[1:]:
            check_overlap(X, entry["X"], ("training", entry["name"]), (hx, entry["rows"]))


# -- "debug algorithm on test data": the test set evaluated repeatedly while tuning ------------------
_test_sets: list[dict] = []
_MAX_TEST_SETS = 16
_tuning: dict = {"depth": 0, "trial": None, "uses": {}, "warned": set(), "calls": 0}


def _fingerprint(a, rows: np.ndarray | None = None) -> bytes:
    rows = row_hashes(a) if rows is None else rows
    return hashlib.blake2b(rows.tobytes(), digest_size=16).digest()


def register_test_set(X, y=None, name: str = "test", quiet: bool = False) -> None:
    """Remember a held-out test set (seed 8.2: used once, at the very end).

    ``dlcourse.data.train_val_test_split`` registers its test part automatically.  Registered sets
    are checked for overlap with the training data by ``fit``, and their evaluation is counted
    during hyperparameter tuning (``tuning()``, ``grid_search``, ``random_search``).  With ``quiet``
    data that cannot be hashed (e.g. an object array) is skipped instead of raising.
    """
    X = np.asarray(X)
    if quiet and (X.ndim == 0 or X.dtype.hasobject or len(X) == 0):
        return
    y = None if y is None else np.asarray(y)
    usable_y = y is not None and not y.dtype.hasobject and y.ndim >= 1 and len(y) == len(X) >= 16
    rows = row_hashes(X)
    entry = {"name": name, "X": X, "shape": X.shape, "rows": rows, "x_fp": _fingerprint(X, rows),
             "y_fp": _fingerprint(y.reshape(len(X), -1)) if usable_y else None}
    _test_sets[:] = [e for e in _test_sets if e["x_fp"] != entry["x_fp"]][-(_MAX_TEST_SETS - 1):] + [entry]


def clear_test_sets() -> None:
    _test_sets.clear()


@contextlib.contextmanager
def tuning():
    """Mark a hyperparameter search: inside, evaluating a registered test set in two different
    trials warns (``test_set_reuse``).  ``grid_search`` and ``random_search`` open it themselves;
    in a hand-written search every evaluation outside a ``trial`` counts as its own trial."""
    _tuning["depth"] += 1
    if _tuning["depth"] == 1:
        _tuning.update(trial=None, uses={}, warned=set(), calls=0)
    try:
        yield
    finally:
        _tuning["depth"] -= 1


@contextlib.contextmanager
def trial(key):
    """One trial (configuration) of a search opened with ``tuning()``."""
    before = _tuning["trial"]
    _tuning["trial"] = key
    try:
        yield
    finally:
        _tuning["trial"] = before


def in_tuning() -> bool:
    return _tuning["depth"] > 0


def note_evaluation(X=None, y=None, owner: str = "evaluate") -> None:
    """Called by ``evaluate``, ``predict`` and the metrics with the data they score."""
    if not _tuning["depth"] or not _test_sets or not is_active("test_set_reuse"):
        return
    n = len(X) if X is not None else (len(y) if y is not None else 0)
    for entry in _test_sets:
        if entry["shape"][0] != n:
            continue
        hit = (X is not None and np.shape(X)[1:] == entry["shape"][1:] and _fingerprint(X) == entry["x_fp"]) or \
              (X is None and y is not None and entry["y_fp"] is not None
               and _fingerprint(np.asarray(y).reshape(n, -1)) == entry["y_fp"])
        if not hit:
            continue
        if _tuning["trial"] is None:
            _tuning["calls"] += 1
            key = ("call", _tuning["calls"])
        else:
            key = ("trial", _tuning["trial"])
        uses = _tuning["uses"].setdefault(entry["name"], set())
        uses.add(key)
        if len(uses) >= 2 and entry["name"] not in _tuning["warned"]:
            _tuning["warned"].add(entry["name"])
            warn("test_set_reuse",
                 f"{owner}: the {entry['name']} set was evaluated in {len(uses)} different trials of a "
                 f"hyperparameter search; choosing settings by their test score fits them to the test set. "
                 f"Select on the validation set and evaluate the test set once at the end (seed 8.2)",
                 stacklevel=4)
