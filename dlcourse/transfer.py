"""Transfer learning (seed 9): reuse the layers of a network trained on a large task for a small one.

Seed 9: transfer learning makes sense when the old and the new task have the *same input*, there
is *more data for the old task*, and the *low-level features* of the old task are useful for the
new one.  This module makes that concrete on data shipped with the package:

* the **old task** is six Fashion-MNIST classes (``PRETRAIN_CLASSES``, 6,000 training images), on
  which ``scripts/pretrain.py`` trained :func:`fashion_cnn` — the weights ship in
  ``dlcourse/models/pretrained/`` and :func:`load_pretrained` returns the trained network;
* the **new task** is the other four classes (``NEW_TASK_CLASSES``) with only a handful of
  labelled images each (:func:`few_shot_task`).

The tools are those of any framework: :func:`freeze_layers` (stop the optimizer from changing the
first layers), :func:`replace_head` (a new, randomly initialised output layer for the new classes)
and :func:`fine_tune`; :func:`compare_with_scratch` and :func:`freeze_sweep` measure what the
pretrained features are worth against training the same architecture from random weights with
the same data and the same number of steps.

"Layers" here are the *learnable* top-level layers of a ``Sequential`` (those with parameters:
a convolution block, a linear layer); parameter-free layers (ReLU, pooling) are not counted.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ._rng import get_rng
from .data.datasets import FASHION_CLASSES, load_fashion_mnist
from .metrics import accuracy
from .nn import BatchNorm2d, Conv2d, CrossEntropyLoss, Flatten, Linear, MaxPool2d, ReLU, Sequential
from .nn.module import Module
from .optim import Adam
from .train import History, fit, predict

__all__ = ["PRETRAIN_CLASSES", "NEW_TASK_CLASSES", "PRETRAINED", "PretrainedInfo", "fashion_cnn",
           "learnable_layers", "freeze_layers", "replace_head", "load_pretrained", "pretrained_path",
           "class_subset", "pretraining_data", "few_shot_task", "fine_tune", "compare_with_scratch",
           "freeze_sweep", "state_sha256", "save_weights"]

#: Fashion-MNIST labels of the old task: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal.
PRETRAIN_CLASSES: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
#: Fashion-MNIST labels of the new task, never seen in pretraining: Shirt, Sneaker, Bag, Ankle boot.
NEW_TASK_CLASSES: tuple[int, ...] = (6, 7, 8, 9)

PRETRAINED_DIR = Path(__file__).resolve().parent / "models" / "pretrained"


@dataclass(frozen=True)
class PretrainedInfo:
    """What ``scripts/pretrain.py`` produced: file, classes, held-out accuracy and a content hash.

    ``test_accuracy`` is measured on the Fashion-MNIST *test* images of ``classes`` (200 per class),
    which pretraining never saw.  ``sha256`` is the hash of the weights file, which
    ``save_weights`` writes byte-reproducibly (fixed zip timestamps, sorted keys).
    """

    name: str
    filename: str
    classes: tuple[int, ...]
    test_accuracy: float
    sha256: str
    epochs: int
    seed: int

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(FASHION_CLASSES[c] for c in self.classes)


PRETRAINED: dict[str, PretrainedInfo] = {
    "fashion_cnn_6class": PretrainedInfo(
        name="fashion_cnn_6class", filename="fashion_cnn_6class.npz", classes=PRETRAIN_CLASSES,
        test_accuracy=float("nan"), sha256="", epochs=8, seed=0),
}


# -- the architecture -------------------------------------------------------------------------------
def fashion_cnn(num_classes: int = 6, in_channels: int = 1, widths: Sequence[int] = (16, 32, 64),
                hidden: int = 64, rng=None) -> Sequential:
    """The small CNN that ships pretrained (seed 6.8 layout: conv blocks, then fully connected layers).

    ``x (N, 1, 28, 28)`` → scores ``(N, num_classes)``.  Top-level layers: three blocks
    ``Sequential(Conv2d 3×3 same, BatchNorm2d, ReLU)`` each followed by a 2×2 max pool
    (28 → 14 → 7 → 3, the last one rounding down), then ``Flatten``, ``Linear(64·3·3, hidden)``,
    ``ReLU``, ``Linear(hidden, num_classes)`` — five learnable layers, ~60k parameters (240 kB).
    """
    gen = get_rng(rng)
    layers: list[Module] = []
    c = in_channels
    for w in widths:
        layers.append(Sequential(Conv2d(c, w, 3, padding=1, bias=False, rng=gen), BatchNorm2d(w), ReLU()))
        layers.append(MaxPool2d(2, rounding="floor"))
        c = w
    side = 28 // 2 ** len(widths)
    layers += [Flatten(), Linear(c * side * side, hidden, rng=gen), ReLU(), Linear(hidden, num_classes, rng=gen)]
    return Sequential(*layers)


# -- freezing and heads -----------------------------------------------------------------------------
def _check_sequential(owner: str, model) -> Sequential:
    if not isinstance(model, Sequential):
        raise TypeError(f"{owner} expects a Sequential model (its top-level layers are what gets frozen), "
                        f"got {type(model).__name__}")
    return model


def learnable_layers(model: Sequential) -> list[int]:
    """Indices of the top-level layers of ``model`` that have parameters (what :func:`freeze_layers` counts).

    For :func:`fashion_cnn`: ``[0, 2, 4, 7, 9]`` — three convolution blocks, the hidden and the output layer.
    """
    _check_sequential("learnable_layers", model)
    return [i for i, layer in enumerate(model) if any(True for _ in layer.parameters())]


def freeze_layers(model: Sequential, n: int) -> Sequential:
    """Freeze the first ``n`` learnable layers of ``model`` and unfreeze all others (seed 9).

    Frozen parameters keep ``requires_grad = False``, so every ``dlcourse.optim`` optimizer skips
    them; ``n = 0`` makes everything trainable again, so a sweep can call this repeatedly.
    Returns ``model`` (changed in place).

    Note: with the ordinary ``fit`` a frozen ``BatchNorm2d`` still normalises with the statistics of
    each batch in training mode (as in PyTorch); :func:`fine_tune` runs the frozen layers in
    evaluation mode instead, so they compute exactly the pretrained features.
    """
    learnable = learnable_layers(model)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= len(learnable):
        raise ValueError(f"freeze_layers: n must be an int in 0..{len(learnable)} (the model has {len(learnable)} "
                         f"learnable layers at indices {learnable}), got {n!r}")
    for rank, index in enumerate(learnable):
        if rank < n:
            model[index].freeze()
        else:
            model[index].unfreeze()
    return model


def replace_head(model: Sequential, num_classes: int, rng=None) -> Sequential:
    """Replace the last learnable layer (a ``Linear``) by a new ``Linear(in_features, num_classes)``.

    The new head is randomly initialised (``rng``) and trainable: the old task's classes mean
    nothing for the new task, its features do (seed 9, "reuse parts of already trained models").
    Shapes: the model then maps its input to ``(N, num_classes)``.  Returns ``model`` (in place).
    """
    learnable = learnable_layers(_check_sequential("replace_head", model))
    if not learnable or not isinstance(model[learnable[-1]], Linear):
        raise TypeError("replace_head: the last learnable layer must be a Linear layer, got "
                        f"{type(model[learnable[-1]]).__name__ if learnable else 'no learnable layer'}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"replace_head: num_classes must be a positive int, got {num_classes!r}")
    old = model[learnable[-1]]
    new = Linear(old.in_features, int(num_classes), bias=old.bias is not None, rng=get_rng(rng))
    if old.weight.dtype != new.weight.dtype:
        new.to(old.weight.dtype)
    model[learnable[-1]] = new
    return model


# -- shipped weights --------------------------------------------------------------------------------
def state_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a weights file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_weights(model: Module, path: str | Path) -> str:
    """Write ``model.state_dict()`` as a byte-reproducible ``.npz`` and return its SHA-256.

    ``np.savez`` stamps the current time into the zip, so the same weights would hash differently
    on every run; here entries are sorted and dated 1980-01-01, so equal weights give equal files.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, value in sorted(model.state_dict().items()):
            array_bytes = io.BytesIO()
            np.lib.format.write_array(array_bytes, np.ascontiguousarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, array_bytes.getvalue())
    path.write_bytes(buffer.getvalue())
    return state_sha256(path)


def pretrained_path(name: str = "fashion_cnn_6class") -> Path:
    """Where the weights file of ``name`` lives inside the installed package."""
    if name not in PRETRAINED:
        raise KeyError(f"unknown pretrained model {name!r}; available: {sorted(PRETRAINED)}")
    return PRETRAINED_DIR / PRETRAINED[name].filename


def load_pretrained(name: str = "fashion_cnn_6class", verify: bool = True) -> Sequential:
    """The network of ``name`` with its shipped weights, in evaluation mode (seed 9: the "already
    trained model").

    ``"fashion_cnn_6class"``: :func:`fashion_cnn` trained by ``scripts/pretrain.py`` on the six
    Fashion-MNIST classes ``PRETRAIN_CLASSES``; input ``(N, 1, 28, 28)`` in [0, 1], output scores
    ``(N, 6)`` in the order of ``PRETRAINED[name].classes``.  With ``verify`` the file's SHA-256
    must match ``PRETRAINED[name].sha256`` (a corrupted or stale file raises ``ValueError``).
    """
    path = pretrained_path(name)
    info = PRETRAINED[name]
    if not path.exists():
        raise FileNotFoundError(f"pretrained weights {path} are missing (an incomplete install?); rebuild them from "
                                f"a source checkout with `python scripts/pretrain.py`")
    if verify and info.sha256 and state_sha256(path) != info.sha256:
        raise ValueError(f"pretrained weights {path} have SHA-256 {state_sha256(path)}, expected {info.sha256}: "
                         f"the file is corrupted or was rebuilt without updating dlcourse.transfer.PRETRAINED")
    model = fashion_cnn(len(info.classes), rng=0)
    model.load(path)
    return model.eval()


# -- data: the old task and the new, small one ------------------------------------------------------
def class_subset(X: np.ndarray, y: np.ndarray, classes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The samples of ``classes`` with labels renumbered ``0..len(classes)-1`` in the given order.

    ``X (N, ...)``, ``y (N,)`` → ``X (M, ...)``, ``y (M,)`` int64.
    """
    y = np.asarray(y)
    lookup = np.full(int(max(y.max(), max(classes))) + 1, -1, dtype=np.int64)
    lookup[list(classes)] = np.arange(len(classes))
    keep = lookup[y] >= 0
    return X[keep], lookup[y[keep]]


def pretraining_data(classes: Sequence[int] = PRETRAIN_CLASSES) -> tuple[np.ndarray, ...]:
    """The old task: ``X_train (6000, 1, 28, 28), y_train, X_test (1200, 1, 28, 28), y_test`` of ``classes``."""
    data = load_fashion_mnist()
    return (*class_subset(data.X_train, data.y_train, classes), *class_subset(data.X_test, data.y_test, classes))


def few_shot_task(n_per_class: int = 20, seed: int = 0,
                  classes: Sequence[int] | None = None) -> tuple[np.ndarray, ...]:
    """The new task of seed 9 with little data: ``n_per_class`` labelled training images per class.

    Returns ``X_train (n_per_class·4, 1, 28, 28)``, ``y_train``, and the held-out test set of the
    same classes, ``X_test (800, 1, 28, 28)``, ``y_test`` (labels ``0..3`` in the order of
    ``classes``).  ``seed`` picks which training images are labelled.
    """
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"few_shot_task: n_per_class must be a positive int, got {n_per_class!r}")
    classes = NEW_TASK_CLASSES if classes is None else tuple(classes)
    data = load_fashion_mnist()
    X, y = class_subset(data.X_train, data.y_train, classes)
    gen = np.random.default_rng(seed)
    pick = np.concatenate([gen.choice(np.flatnonzero(y == c), n_per_class, replace=False)
                           for c in range(len(classes))])
    gen.shuffle(pick)
    return (X[pick], y[pick], *class_subset(data.X_test, data.y_test, classes))


# -- fine-tuning ------------------------------------------------------------------------------------
def _frozen_prefix(model: Sequential) -> int:
    """Number of leading top-level layers without a trainable parameter."""
    for i, layer in enumerate(model):
        if any(p.requires_grad for p in layer.parameters()):
            return i
    raise ValueError("fine_tune: every parameter of the model is frozen, so there is nothing to train; "
                     "call freeze_layers with a smaller n (or replace_head, which adds a trainable head)")


def fine_tune(model: Sequential, X: np.ndarray, y: np.ndarray, *, freeze: int | None = None, epochs: int = 30,
              batch_size: int = 16, lr: float = 1e-3, val_data=None, rng=None, progress: bool = False) -> History:
    """Train the unfrozen layers of ``model`` on ``(X, y)`` with Adam and return the ``History``.

    ``freeze``: if given, first ``freeze_layers(model, freeze)``; otherwise the current
    ``requires_grad`` flags decide.  The leading layers with nothing to train are run **once**, in
    evaluation mode (batch norm with its pretrained statistics), and only the rest of the network
    is trained on their output: the frozen part is a fixed feature extractor (seed 9), and
    training costs only as much as the trainable part.  ``X (N, ...)``, ``y (N,)`` int labels;
    ``val_data`` an optional ``(X_val, y_val)`` pair.  The model is changed in place.
    """
    _check_sequential("fine_tune", model)
    if freeze is not None:
        freeze_layers(model, freeze)
    start = _frozen_prefix(model)
    trainable = model[start:]  # shares the layer objects, so training it trains `model`
    if start:
        prefix = model[:start]
        X = predict(prefix, X)
        if val_data is not None:
            val_data = (predict(prefix, val_data[0]), val_data[1])
    optimizer = Adam([p for p in trainable.parameters() if p.requires_grad], lr=lr)
    return fit(trainable, CrossEntropyLoss(), optimizer, (X, y), epochs=epochs, batch_size=batch_size,
               val_data=val_data, progress=progress, rng=get_rng(rng))


def _new_task_model(pretrained: bool, num_classes: int, rng) -> Sequential:
    if pretrained:
        return replace_head(load_pretrained().train(), num_classes, rng=rng)
    return fashion_cnn(num_classes, rng=rng)


def _run(pretrained: bool, freeze: int, data, seed: int, epochs: int, batch_size: int, lr: float) -> float:
    X_train, y_train, X_test, y_test = data
    gen = np.random.default_rng(seed)
    model = _new_task_model(pretrained, int(y_test.max()) + 1, gen)
    fine_tune(model, X_train, y_train, freeze=freeze, epochs=epochs, batch_size=batch_size, lr=lr, rng=gen)
    return accuracy(predict(model, X_test), y_test)


def compare_with_scratch(n_per_class: int = 20, seeds: Sequence[int] = (0, 1, 2), epochs: int = 30,
                         batch_size: int = 16, lr: float = 1e-3, freeze: int | None = None) -> dict:
    """Seed 9's claim, measured: pretrained + fine-tuned vs the same network from random weights.

    For each seed, the same ``n_per_class`` labelled images of the new task (:func:`few_shot_task`)
    and the same budget (``epochs``, ``batch_size``, ``lr``, Adam) are used for three runs:

    * ``"feature_extractor"``: pretrained, every layer but the new head frozen (``freeze`` overrides);
    * ``"fine_tune_all"``: pretrained, new head, all layers trained;
    * ``"scratch"``: random initialisation, all layers trained.

    Returns ``{"per_seed": {run: [accuracy per seed]}, "mean": {run: mean}, "margin": best pretrained
    mean − scratch mean, ...}``; accuracies are on the 800 held-out test images of the new classes.
    """
    n_learnable = len(learnable_layers(fashion_cnn()))
    frozen = n_learnable - 1 if freeze is None else freeze
    runs = {"feature_extractor": (True, frozen), "fine_tune_all": (True, 0), "scratch": (False, 0)}
    per_seed: dict[str, list[float]] = {k: [] for k in runs}
    for seed in seeds:
        data = few_shot_task(n_per_class, seed)
        for key, (pretrained, k) in runs.items():
            per_seed[key].append(_run(pretrained, k, data, seed, epochs, batch_size, lr))
    mean = {k: float(np.mean(v)) for k, v in per_seed.items()}
    best = max(mean["feature_extractor"], mean["fine_tune_all"])
    return {"per_seed": per_seed, "mean": mean, "margin": best - mean["scratch"], "n_per_class": n_per_class,
            "seeds": list(seeds), "epochs": epochs, "batch_size": batch_size, "lr": lr}


def freeze_sweep(n_per_class: int = 20, seeds: Sequence[int] = (0,), epochs: int = 30, batch_size: int = 16,
                 lr: float = 1e-3, include_scratch: bool = True) -> list[dict]:
    """How many pretrained layers to freeze, with few labelled samples (seed 9; for the chapter 9 widget).

    For ``k = 0 … L-1`` (``L`` learnable layers of :func:`fashion_cnn`; the new head is always
    trained) the pretrained network is fine-tuned with its first ``k`` learnable layers frozen.
    Returns one row per setting: ``{"frozen": k, "trainable_parameters": …, "accuracy": mean test
    accuracy over seeds, "per_seed": [...]}``, plus a row with ``"frozen": None`` for training from
    scratch when ``include_scratch``.
    """
    n_learnable = len(learnable_layers(fashion_cnn()))
    datasets = [few_shot_task(n_per_class, s) for s in seeds]
    rows = []
    settings = [(True, k) for k in range(n_learnable)] + ([(False, 0)] if include_scratch else [])
    for pretrained, k in settings:
        accs = [_run(pretrained, k, data, s, epochs, batch_size, lr) for data, s in zip(datasets, seeds)]
        probe = freeze_layers(fashion_cnn(4, rng=0), k)
        rows.append({"frozen": k if pretrained else None, "pretrained": pretrained,
                     "trainable_parameters": probe.num_parameters(trainable_only=True),
                     "accuracy": float(np.mean(accs)), "per_seed": accs})
    return rows
