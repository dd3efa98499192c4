"""Transfer learning (seed 9): reuse the layers of a network trained on a large task for a small one.

Seed 9: transfer learning makes sense when the old and the new task have the *same input*, there
is *more data for the old task*, and the *low-level features* of the old task are useful for the
new one.  Two pretrained networks ship in ``dlcourse/models/pretrained/`` (made by
``scripts/pretrain.py`` from data the package carries or generates), each trained on six classes
of a dataset; the **new task** is the other four classes with only a few labelled samples each:

* ``"mnist1d_cnn_6class"`` — :func:`mnist1d_cnn` pretrained on MNIST-1D digits 0–5 (6,000
  generated signals).  On digits 6–9 with 10 labelled signals per class, fine-tuning it reaches
  ~90 % test accuracy where the same network trained from scratch with the same budget reaches
  ~74 % (5 seeds; ~81 % vs ~56 % with 5 per class): the translated, noisy signals need feature
  detectors that 40 examples cannot teach, and more epochs do not close the gap.
* ``"fashion_cnn_6class"`` — :func:`fashion_cnn` pretrained on Fashion-MNIST classes 0–5
  (T-shirt … Sandal).  On Shirt / Sneaker / Bag / Ankle boot a small CNN learns what it needs
  from 20 (or even 5) images per class by itself — ~93 % either way: the counter-example,
  measured.  Transfer pays only when the new task cannot learn its features from its own data.

The tools are those of any framework: :func:`freeze_layers` (the optimizer leaves the first layers
alone), :func:`replace_head` (a new, randomly initialised output layer for the new classes) and
:func:`fine_tune`; :func:`compare_with_scratch` and :func:`freeze_sweep` measure what the
pretrained weights are worth against the same architecture trained from random weights on the
same data with the same number of steps.

"Layers" here are the *learnable* top-level layers of a ``Sequential`` (those with parameters:
a convolution block, a linear layer); parameter-free layers (ReLU, pooling) are not counted.
"""
from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._rng import get_rng
from .data.datasets import FASHION_CLASSES, load_fashion_mnist
from .data.mnist1d import make_mnist1d
from .metrics import accuracy
from .nn import BatchNorm2d, Conv2d, CrossEntropyLoss, Flatten, Linear, MaxPool2d, ReLU, Sequential
from .nn.module import Module
from .optim import Adam
from .train import History, fit, predict

__all__ = ["PRETRAINED", "PretrainedInfo", "fashion_cnn", "mnist1d_cnn", "learnable_layers", "freeze_layers",
           "replace_head", "load_pretrained", "pretrained_path", "class_subset", "pretraining_data",
           "few_shot_task", "fine_tune", "compare_with_scratch", "freeze_sweep", "file_sha256", "save_weights"]

PRETRAINED_DIR = Path(__file__).resolve().parent / "models" / "pretrained"


# -- the architectures ------------------------------------------------------------------------------
def _conv_block(c_in: int, c_out: int, kernel, padding, gen) -> Sequential:
    """Conv (no bias: batch norm's shift replaces it, seed 4.5.6), BatchNorm2d, ReLU — one learnable layer."""
    return Sequential(Conv2d(c_in, c_out, kernel, padding=padding, bias=False, rng=gen), BatchNorm2d(c_out), ReLU())


def fashion_cnn(num_classes: int = 6, widths: Sequence[int] = (16, 32, 64), hidden: int = 64,
                rng=None) -> Sequential:
    """The small image CNN that ships pretrained on Fashion-MNIST (seed 6.8 layout).

    ``x (N, 1, 28, 28)`` → scores ``(N, num_classes)``.  Three blocks (3×3 same convolution,
    BatchNorm2d, ReLU), each followed by a 2×2 max pool (28 → 14 → 7 → 3, rounding down), then
    ``Flatten``, ``Linear(64·3·3, hidden)``, ``ReLU``, ``Linear(hidden, num_classes)``: five
    learnable layers, ~61k parameters.
    """
    gen = get_rng(rng)
    layers: list[Module] = []
    c = 1
    for w in widths:
        layers += [_conv_block(c, w, 3, 1, gen), MaxPool2d(2, rounding="floor")]
        c = w
    side = 28 // 2 ** len(widths)
    layers += [Flatten(), Linear(c * side * side, hidden, rng=gen), ReLU(), Linear(hidden, num_classes, rng=gen)]
    return Sequential(*layers)


def mnist1d_cnn(num_classes: int = 6, width: int = 32, hidden: int = 64, rng=None) -> Sequential:
    """A 1-D CNN for MNIST-1D signals, written with 2-D layers of height 1 (seed 6.3 in one dimension).

    ``x (N, 1, 1, 40)`` → scores ``(N, num_classes)``.  Three blocks (convolution with kernel
    ``(1, 5)``, ``(1, 5)``, ``(1, 3)``, same padding, BatchNorm2d, ReLU), each followed by a
    ``(1, 2)`` max pool (40 → 20 → 10 → 5), then ``Flatten``, ``Linear(width·5, hidden)``, ``ReLU``,
    ``Linear(hidden, num_classes)``: five learnable layers, ~19k parameters.
    """
    gen = get_rng(rng)
    layers: list[Module] = []
    c = 1
    for k in (5, 5, 3):
        layers += [_conv_block(c, width, (1, k), (0, k // 2), gen), MaxPool2d((1, 2))]
        c = width
    layers += [Flatten(), Linear(width * 5, hidden, rng=gen), ReLU(), Linear(hidden, num_classes, rng=gen)]
    return Sequential(*layers)


# -- the data: old task and new task ----------------------------------------------------------------
def class_subset(X: np.ndarray, y: np.ndarray, classes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The samples of ``classes``, labels renumbered ``0..len(classes)-1`` in the given order.

    ``X (N, ...)``, ``y (N,)`` → ``X (M, ...)``, ``y (M,)`` int64.
    """
    y = np.asarray(y)
    lookup = np.full(int(max(y.max(), max(classes))) + 1, -1, dtype=np.int64)
    lookup[list(classes)] = np.arange(len(classes))
    keep = lookup[y] >= 0
    return X[keep], lookup[y[keep]]


def _fashion() -> tuple[np.ndarray, ...]:
    data = load_fashion_mnist()
    return data.X_train, data.y_train, data.X_test, data.y_test


@functools.lru_cache(maxsize=1)
def _mnist1d_arrays() -> tuple[np.ndarray, ...]:
    data = make_mnist1d(n_train=10_000, n_test=2_000, seed=42)
    arrays = (data.x_train.reshape(-1, 1, 1, 40), data.y_train, data.x_test.reshape(-1, 1, 1, 40), data.y_test)
    for a in arrays:
        a.flags.writeable = False  # cached: callers must not be able to change it
    return arrays


def _mnist1d() -> tuple[np.ndarray, ...]:
    return tuple(a.copy() for a in _mnist1d_arrays())


@dataclass(frozen=True)
class PretrainedInfo:
    """One shipped network: architecture, data, the classes of the old task, and what it scored.

    Pretraining (``scripts/pretrain.py``): Adam with learning rate ``lr`` multiplied by ``decay``
    after every epoch, ``epochs`` epochs of minibatches of 64, seeded with ``seed``.
    ``test_accuracy`` is measured on the held-out test samples of ``classes`` (never seen in
    pretraining); ``sha256`` is the hash of the weights file (``save_weights`` writes it
    byte-reproducibly).  The *new task* is the dataset's other classes, ``new_classes``.
    """

    name: str
    builder: Callable[..., Sequential]
    data: Callable[[], tuple]
    dataset: str
    class_names: tuple[str, ...]
    classes: tuple[int, ...]
    test_accuracy: float
    sha256: str
    epochs: int
    lr: float
    decay: float
    seed: int = 0

    @property
    def filename(self) -> str:
        return self.name + ".npz"

    @property
    def new_classes(self) -> tuple[int, ...]:
        return tuple(c for c in range(len(self.class_names)) if c not in self.classes)


PRETRAINED: dict[str, PretrainedInfo] = {
    "mnist1d_cnn_6class": PretrainedInfo(
        name="mnist1d_cnn_6class", builder=mnist1d_cnn, data=_mnist1d,
        dataset="MNIST-1D, make_mnist1d(n_train=10000, n_test=2000, seed=42), digits 0-5",
        class_names=tuple(str(d) for d in range(10)), classes=(0, 1, 2, 3, 4, 5),
        test_accuracy=0.9825,
        sha256="d3c1906e277992d0ffc2ff5bb40ebcaadf3857889759764c1098b5bc4bb10f5a", epochs=15, lr=3e-3, decay=0.85),
    "fashion_cnn_6class": PretrainedInfo(
        name="fashion_cnn_6class", builder=fashion_cnn, data=_fashion,
        dataset="bundled Fashion-MNIST subset, classes 0-5 (T-shirt/top ... Sandal)",
        class_names=FASHION_CLASSES, classes=(0, 1, 2, 3, 4, 5),
        test_accuracy=0.9350,
        sha256="d06a711d51afb65ab0676be770890c3213e3ff4d24b93d6d9c30690bb376daee", epochs=8, lr=2e-3, decay=0.8),
}


def _info(name: str) -> PretrainedInfo:
    if name not in PRETRAINED:
        raise KeyError(f"unknown pretrained model {name!r}; available: {sorted(PRETRAINED)}")
    return PRETRAINED[name]


def pretraining_data(name: str = "mnist1d_cnn_6class") -> tuple[np.ndarray, ...]:
    """The old task of ``name``: ``X_train, y_train, X_test, y_test`` of its six classes (labels 0..5).

    MNIST-1D: ``X (N, 1, 1, 40)``, ~6,000 training and ~1,200 test signals; Fashion-MNIST:
    ``X (N, 1, 28, 28)``, 6,000 training and 1,200 test images.
    """
    info = _info(name)
    X_train, y_train, X_test, y_test = info.data()
    return (*class_subset(X_train, y_train, info.classes), *class_subset(X_test, y_test, info.classes))


def few_shot_task(name: str = "mnist1d_cnn_6class", n_per_class: int = 10, seed: int = 0) -> tuple[np.ndarray, ...]:
    """The new task of seed 9 with little data: the four classes ``name`` was *not* pretrained on.

    Returns ``X_train`` with ``n_per_class`` labelled samples per class (chosen with ``seed`` from
    the training split), ``y_train`` (labels ``0..3``), and the whole held-out test split of those
    classes, ``X_test``, ``y_test`` (~800 samples).  Shapes as in :func:`pretraining_data`.
    """
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"few_shot_task: n_per_class must be a positive int, got {n_per_class!r}")
    info = _info(name)
    X_train, y_train, X_test, y_test = info.data()
    X, y = class_subset(X_train, y_train, info.new_classes)
    gen = np.random.default_rng(seed)
    pick = np.concatenate([gen.choice(np.flatnonzero(y == c), n_per_class, replace=False)
                           for c in range(len(info.new_classes))])
    gen.shuffle(pick)
    return (X[pick], y[pick], *class_subset(X_test, y_test, info.new_classes))


# -- freezing and heads -----------------------------------------------------------------------------
def _check_sequential(owner: str, model) -> Sequential:
    if not isinstance(model, Sequential):
        raise TypeError(f"{owner} expects a Sequential model (its top-level layers are what gets frozen), "
                        f"got {type(model).__name__}")
    return model


def learnable_layers(model: Sequential) -> list[int]:
    """Indices of the top-level layers of ``model`` that have parameters (what :func:`freeze_layers` counts).

    For :func:`fashion_cnn` and :func:`mnist1d_cnn`: ``[0, 2, 4, 7, 9]`` — three convolution
    blocks, the hidden and the output layer.
    """
    _check_sequential("learnable_layers", model)
    return [i for i, layer in enumerate(model) if any(True for _ in layer.parameters())]


def freeze_layers(model: Sequential, n: int) -> Sequential:
    """Freeze the first ``n`` learnable layers of ``model`` and unfreeze all others (seed 9).

    Frozen parameters get ``requires_grad = False``, so every ``dlcourse.optim`` optimizer skips
    them; ``n = 0`` makes everything trainable again, so a sweep can call this repeatedly.
    Returns ``model`` (changed in place).

    Note: under the ordinary ``fit`` a frozen ``BatchNorm2d`` still normalises with the statistics
    of each batch in training mode (as in PyTorch); :func:`fine_tune` runs the frozen layers in
    evaluation mode instead, so they compute exactly the pretrained features.
    """
    learnable = learnable_layers(model)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= len(learnable):
        raise ValueError(f"freeze_layers: n must be an int in 0..{len(learnable)} (the model has {len(learnable)} "
                         f"learnable layers, at indices {learnable}), got {n!r}")
    for rank, index in enumerate(learnable):
        if rank < n:
            model[index].freeze()
        else:
            model[index].unfreeze()
    return model


def replace_head(model: Sequential, num_classes: int, rng=None) -> Sequential:
    """Replace the last learnable layer (a ``Linear``) by a new ``Linear(in_features, num_classes)``.

    The new head is randomly initialised (``rng``) and trainable: the old task's classes mean
    nothing for the new task, its features may (seed 9, "reuse parts of already trained models").
    The model then maps its input to ``(N, num_classes)``.  Returns ``model`` (changed in place).
    """
    learnable = learnable_layers(_check_sequential("replace_head", model))
    if not learnable or not isinstance(model[learnable[-1]], Linear):
        found = type(model[learnable[-1]]).__name__ if learnable else "no learnable layer"
        raise TypeError(f"replace_head: the last learnable layer must be a Linear layer, got {found}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"replace_head: num_classes must be a positive int, got {num_classes!r}")
    old = model[learnable[-1]]
    new = Linear(old.in_features, int(num_classes), bias=old.bias is not None, rng=get_rng(rng))
    new.to(old.weight.dtype)
    model[learnable[-1]] = new
    return model


# -- shipped weights --------------------------------------------------------------------------------
def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_weights(model: Module, path: str | Path) -> str:
    """Write ``model.state_dict()`` as a byte-reproducible ``.npz`` and return its SHA-256.

    ``np.savez`` stamps the current time into the zip, so the same weights would hash differently
    on every run; here entries are sorted and dated 1980-01-01, so equal weights give equal files.
    ``Module.load`` reads the result.
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
    return file_sha256(path)


def pretrained_path(name: str = "mnist1d_cnn_6class") -> Path:
    """Where the weights file of ``name`` lives inside the installed package."""
    return PRETRAINED_DIR / _info(name).filename


def load_pretrained(name: str = "mnist1d_cnn_6class", verify: bool = True) -> Sequential:
    """The network ``name`` with its shipped weights, in evaluation mode — seed 9's "already trained model".

    ``"mnist1d_cnn_6class"``: :func:`mnist1d_cnn`, input ``(N, 1, 1, 40)``; ``"fashion_cnn_6class"``:
    :func:`fashion_cnn`, input ``(N, 1, 28, 28)``.  Output: scores ``(N, 6)`` for the classes
    ``PRETRAINED[name].classes``.  With ``verify`` the file's SHA-256 must equal
    ``PRETRAINED[name].sha256`` (a corrupted or stale file raises ``ValueError``).
    """
    info = _info(name)
    path = pretrained_path(name)
    if not path.exists():
        raise FileNotFoundError(f"pretrained weights {path} are missing (an incomplete install?); rebuild them from "
                                f"a source checkout with `python scripts/pretrain.py`")
    if verify and info.sha256 and file_sha256(path) != info.sha256:
        raise ValueError(f"pretrained weights {path} have SHA-256 {file_sha256(path)}, expected {info.sha256}: "
                         f"the file is corrupted or was rebuilt without updating dlcourse.transfer.PRETRAINED")
    model = info.builder(len(info.classes), rng=0)
    model.load(path)
    return model.eval()


# -- fine-tuning ------------------------------------------------------------------------------------
def _frozen_prefix(model: Sequential) -> int:
    """Number of leading top-level layers without a trainable parameter."""
    for i, layer in enumerate(model):
        if any(p.requires_grad for p in layer.parameters()):
            return i
    raise ValueError("fine_tune: every parameter of the model is frozen, so there is nothing to train; "
                     "call freeze_layers with a smaller n (or replace_head, which adds a trainable head)")


def fine_tune(model: Sequential, X: np.ndarray, y: np.ndarray, *, freeze: int | None = None, epochs: int = 40,
              batch_size: int = 16, lr: float = 1e-3, val_data=None, rng=None, progress: bool = False) -> History:
    """Train the unfrozen layers of ``model`` on ``(X, y)`` with Adam and cross-entropy; return the ``History``.

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


def _run(name: str, pretrained: bool, freeze: int, data, seed: int, epochs: int, batch_size: int,
         lr: float) -> float:
    """Test accuracy of one fine-tuning (or from-scratch) run on ``data = (X_train, y_train, X_test, y_test)``."""
    X_train, y_train, X_test, y_test = data
    gen = np.random.default_rng(seed)
    num_classes = len(_info(name).new_classes)
    if pretrained:
        model = replace_head(load_pretrained(name).train(), num_classes, rng=gen)
    else:
        model = _info(name).builder(num_classes, rng=gen)
    fine_tune(model, X_train, y_train, freeze=freeze, epochs=epochs, batch_size=batch_size, lr=lr, rng=gen)
    return accuracy(predict(model, X_test), y_test)


def compare_with_scratch(name: str = "mnist1d_cnn_6class", n_per_class: int = 10, seeds: Sequence[int] = (0, 1, 2),
                         epochs: int = 40, batch_size: int = 16, lr: float = 1e-3) -> dict:
    """Seed 9's claim, measured: pretrained + fine-tuned vs the same network from random weights.

    For each seed, the same ``n_per_class`` labelled samples of the new task (:func:`few_shot_task`)
    and the same budget (``epochs``, ``batch_size``, ``lr``, Adam) are used for three runs:

    * ``"feature_extractor"``: pretrained, every layer frozen except the new head;
    * ``"fine_tune_all"``: pretrained, new head, all layers trained;
    * ``"scratch"``: random initialisation, all layers trained.

    Returns ``{"per_seed": {run: [test accuracy per seed]}, "mean": {run: mean}, "margin":
    mean("fine_tune_all") − mean("scratch"), ...}``, accuracies on the held-out test split of the new
    classes.
    """
    n_learnable = len(learnable_layers(_info(name).builder(1, rng=0)))
    runs = {"feature_extractor": (True, n_learnable - 1), "fine_tune_all": (True, 0), "scratch": (False, 0)}
    per_seed: dict[str, list[float]] = {k: [] for k in runs}
    for seed in seeds:
        data = few_shot_task(name, n_per_class, seed)
        for key, (pretrained, k) in runs.items():
            per_seed[key].append(_run(name, pretrained, k, data, seed, epochs, batch_size, lr))
    mean = {k: float(np.mean(v)) for k, v in per_seed.items()}
    return {"name": name, "per_seed": per_seed, "mean": mean, "margin": mean["fine_tune_all"] - mean["scratch"],
            "n_per_class": n_per_class, "seeds": list(seeds), "epochs": epochs, "batch_size": batch_size, "lr": lr}


def freeze_sweep(name: str = "mnist1d_cnn_6class", n_per_class: int = 10, seeds: Sequence[int] = (0,),
                 epochs: int = 40, batch_size: int = 16, lr: float = 1e-3, include_scratch: bool = True) -> list[dict]:
    """How many pretrained layers to freeze when the new task has few samples (seed 9; chapter 9 widget).

    For ``k = 0 … L-1`` (``L`` learnable layers; the new head is always trained) the pretrained
    network is fine-tuned with its first ``k`` learnable layers frozen, on ``n_per_class`` samples
    per class, for each seed.  Returns one row per setting: ``{"frozen": k, "pretrained": True,
    "trainable_parameters": …, "accuracy": mean test accuracy, "per_seed": [...]}``, plus a row
    ``{"frozen": None, "pretrained": False, …}`` for training from scratch when ``include_scratch``.
    """
    info = _info(name)
    n_learnable = len(learnable_layers(info.builder(1, rng=0)))
    datasets = [few_shot_task(name, n_per_class, s) for s in seeds]
    settings = [(True, k) for k in range(n_learnable)] + ([(False, 0)] if include_scratch else [])
    rows = []
    for pretrained, k in settings:
        accs = [_run(name, pretrained, k, data, s, epochs, batch_size, lr) for data, s in zip(datasets, seeds)]
        probe = freeze_layers(info.builder(len(info.new_classes), rng=0), k)
        rows.append({"frozen": k if pretrained else None, "pretrained": pretrained,
                     "trainable_parameters": probe.num_parameters(trainable_only=True),
                     "accuracy": float(np.mean(accs)), "per_seed": accs})
    return rows
