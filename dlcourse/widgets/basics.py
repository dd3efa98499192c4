"""Interactive figures of chapter 1, "Machine Learning Basics" (Seed 1.1–1.2).

* :class:`TopKExplorer` — top-1 vs top-k on the scores of a real classifier (Seed 1.2);
* :class:`KMeansExplorer` — k-means on the 8×8 digits: clusters, inertia, centres as images (Seed 1.1);
* :class:`PCAExplorer` — PCA on digits / Fashion-MNIST: projection, explained variance,
  reconstructions from k components (Seed 1.1).

The classifier behind :class:`TopKExplorer` is trained once per dataset and process by
:func:`demo_classifier` (call it in a notebook with ``progress=True`` to watch the training);
the figures then only look numbers up, so every slider move is instant.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from matplotlib.ticker import StrMethodFormatter

from .. import nn
from ..data import load_digits, load_fashion_mnist
from ..metrics import top_k_accuracy
from ..nn.activations import softmax
from ..optim import Adam
from ..train import Callback, fit, predict
from ..unsupervised import PCA, KMeans
from .base import COLORS, Widget, dropdown, int_slider, static_legend

__all__ = ["TopKExplorer", "KMeansExplorer", "PCAExplorer", "ClassifierRun", "demo_classifier",
           "image_mosaic", "cluster_purity", "round_up", "nice_ceiling"]

#: dataset key -> (label shown in the dropdown, loader)
DATASETS = {"fashion": ("Fashion-MNIST (28×28 clothes)", load_fashion_mnist),
            "digits": ("digits (8×8 handwritten)", load_digits)}
#: training epochs of the demo classifier (a few seconds on a laptop; 0 = the untrained network)
DEMO_EPOCHS = {"fashion": 4, "digits": 6}


# =========================================================================================================
# shared helpers
# =========================================================================================================
def image_mosaic(images: np.ndarray, columns: int, slots: int | None = None, gap: int = 1) -> np.ndarray:
    """Tile ``images (n, h, w)`` into one array, row by row, ``columns`` per row.

    ``slots`` (≥ n) fixes the size of the mosaic so that a figure can update it in place when
    ``n`` changes; empty slots and the gaps are NaN (drawn transparent by ``imshow``).
    Returns ``(rows·(h+gap) − gap, columns·(w+gap) − gap)``.
    """
    n, h, w = images.shape
    slots = n if slots is None else slots
    rows = -(-slots // columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan)
    for i in range(n):
        r, c = divmod(i, columns)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = images[i]
    return out


def cluster_purity(clusters: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """How well clusters found *without* labels match the labels (Seed 1.1).

    Each cluster is named after its most frequent true label; ``purity`` is the fraction of
    samples whose label is their cluster's name.  Shapes: ``clusters (n,)``, ``labels (n,)`` →
    ``(purity, majority (k,))`` with ``majority[j] = -1`` for an empty cluster.
    """
    k = int(clusters.max()) + 1
    counts = np.zeros((k, int(labels.max()) + 1), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    majority = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), -1)
    return float(counts.max(axis=1).sum() / len(labels)), majority


def nice_ceiling(n: float) -> float:
    """The smallest of …, 0.5, 1, 2, 5, 10, 20, … that is ≥ ``n`` (1 for ``n ≤ 0``).

    Axis limits chosen this way move only now and then: a moved axis costs a full redraw instead of a blit.
    """
    n = float(n)
    if not n > 0:
        return 1.0
    scale = 10.0 ** np.floor(np.log10(n))
    return float(next(m * scale for m in (1, 2, 5, 10) if m * scale >= n * (1 - 1e-12)))


def round_up(x: float) -> float:
    """``x`` rounded up to two significant digits (10,757 → 11,000): a tidy fixed axis limit."""
    if not x > 0:
        return 1.0
    step = 10.0 ** np.floor(np.log10(x)) / 10
    return float(np.ceil(x / step - 1e-9) * step)


def _image_axes(ax) -> None:
    ax.set_xticks([]), ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


# =========================================================================================================
# 1.2 top-1 vs top-k
# =========================================================================================================
@dataclass
class ClassifierRun:
    """Test-set scores of the demo classifier after each epoch (Seed 1.2).

    ``scores[e]`` are the logits ``(N_test, 10)`` after ``e`` epochs (``e = 0``: untrained);
    ``images (N_test, H, W)``, ``labels (N_test,)``, ``classes`` the class names.
    """

    dataset: str
    scores: list[np.ndarray]
    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    train_loss: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.scores) - 1


class _RecordScores(Callback):
    """Keeps the test-set logits after every epoch, so the figure can show an under-trained model."""

    def __init__(self, X_test: np.ndarray, run: ClassifierRun) -> None:
        self.X_test, self.run = X_test, run

    def on_epoch_end(self, state) -> None:
        self.run.scores.append(predict(state.model, self.X_test))
        self.run.train_loss.append(float(state.history.train_loss[-1]))


_RUNS: dict[str, ClassifierRun] = {}


def demo_classifier(dataset: str = "fashion", progress: bool = False) -> ClassifierRun:
    """Train (once per process) a small MLP ``d → 64 → 10`` and keep its test scores per epoch.

    ``dataset`` is ``"fashion"`` (10,000 training images) or ``"digits"`` (1,437); either is trained
    for :data:`DEMO_EPOCHS` epochs of Adam (learning rate 3·10⁻³) with the library's ``fit``.  The
    result is cached: the first call trains (a few seconds; ``progress=True`` shows a progress bar),
    later calls return at once.  The network itself is chapter 5's subject; here only its scores
    matter.  Returns a :class:`ClassifierRun` (scores ``(N_test, 10)`` after each epoch).
    """
    if dataset not in DATASETS:
        raise ValueError(f"demo_classifier: dataset must be one of {sorted(DATASETS)}, got {dataset!r}")
    if dataset not in _RUNS:
        data = DATASETS[dataset][1](flatten=True)
        gen = np.random.default_rng(0)  # its own generator: the same model whatever the notebook seeded
        d = data.X_train.shape[1]
        model = nn.Sequential(nn.Linear(d, 64, rng=gen), nn.ReLU(), nn.Linear(64, 10, rng=gen))
        side = int(round(np.sqrt(d)))
        run = ClassifierRun(dataset, [predict(model, data.X_test)], data.X_test.reshape(-1, side, side),
                            data.y_test, data.classes)
        # large batches: few, larger matrix products keep the training at about a second on a laptop
        fit(model, nn.CrossEntropyLoss(), Adam(model.parameters(), lr=3e-3), (data.X_train, data.y_train),
            epochs=DEMO_EPOCHS[dataset], batch_size=256 if dataset == "fashion" else 64, rng=gen,
            callbacks=[_RecordScores(data.X_test, run)], progress=progress)
        _RUNS[dataset] = run
    return _RUNS[dataset]


class TopKExplorer(Widget):
    """Top-1 vs top-k accuracy on the test scores of a real classifier (Seed 1.2).

    Pick a test image (``sample``): its class probabilities are shown as bars sorted from the
    most to the least likely class, the ``k`` best in colour; the image counts as correct for
    top-k when its true class (green if inside, red if outside the top k) is among them.  The
    right panel shows the top-k accuracy on the whole test set for k = 1…10 — the top-5 error of
    Seed 1.2 is one minus its value at k = 5.  ``epochs`` picks the network after that many
    training epochs (0 = untrained, whose top-k accuracy is the chance level k/10).

    Controls: ``dataset``, ``epochs``, ``k``, ``sample`` (one of the first 360 test images, which
    both datasets have).  ``data``: ``probabilities (10,)`` of
    the sample, ``order`` (classes by decreasing score), ``rank`` of the true class (1 = best),
    ``in_top_k``, ``curve`` (top-k accuracy for k = 1…10), ``top1``, ``topk``, ``topk_error``.
    """

    figsize = (9.6, 3.4)
    columns = 4
    N_CLASSES = 10

    def make_controls(self):
        return {
            "dataset": dropdown([(label, key) for key, (label, _) in DATASETS.items()], "fashion", "data"),
            "epochs": int_slider(DEMO_EPOCHS["fashion"], 0, DEMO_EPOCHS["fashion"], "training epochs"),
            "k": int_slider(5, 1, self.N_CLASSES, "k"),
            "sample": int_slider(0, 0, 359, "test image #"),
        }

    def on_control_change(self, name, value):
        if name in (None, "dataset"):
            epochs = self.controls["epochs"]
            top = DEMO_EPOCHS[self.controls["dataset"].value]
            epochs.max = top
            if name == "dataset" or epochs.value > top:
                epochs.value = top  # a new dataset starts with its fully trained network

    def setup_figure(self, fig):
        ax_img, ax_bar, ax_curve = fig.subplots(1, 3, gridspec_kw={"width_ratios": [0.8, 1.5, 1.2]})
        self.artists["image"] = ax_img.imshow(np.zeros((8, 8)), cmap="gray_r", vmin=0, vmax=1, extent=(0, 1, 1, 0))
        self.artists["image_title"] = ax_img.set_title(" ", fontsize=9)
        _image_axes(ax_img)
        n = self.N_CLASSES
        self.artists["bars"] = ax_bar.barh(np.arange(n), np.zeros(n), color="0.8")
        # class names as data artists rather than tick labels: a new sample then costs a blit, not a full redraw
        ax_bar.set_yticks([])
        self.artists["bar_labels"] = [ax_bar.text(-0.02, i, "10. T-shirt/top", transform=ax_bar.get_yaxis_transform(),
                                                  ha="right", va="center", fontsize=7) for i in range(n)]
        ax_bar.set_title("the network's probabilities, best first", fontsize=9)
        ax_bar.set_ylim(n - 0.5, -0.5)  # rank 1 at the top
        ax_bar.set_xlim(0, 1)
        ax_bar.set_xlabel("softmax probability")
        self.artists["cut"] = ax_bar.axhline(4.5, color="k", lw=1, ls="--")
        self.artists["cut_label"] = ax_bar.text(0.98, 4.4, "", ha="right", va="bottom", fontsize=8)
        ks = np.arange(1, n + 1)
        ax_curve.plot(ks, ks / n, ls=":", color="0.5", label="chance k/10")
        self.artists["curve"], = ax_curve.plot(ks, np.zeros(n), "o-", ms=3, color=COLORS[0], label="top-k accuracy")
        self.artists["current"], = ax_curve.plot([], [], "o", ms=9, mfc="none", mec=COLORS[3], mew=2)
        ax_curve.set_xlim(0.5, n + 0.5), ax_curve.set_ylim(0, 1.02)
        ax_curve.set_xticks(ks)
        ax_curve.set_xlabel("k"), ax_curve.set_ylabel("fraction of test images")
        ax_curve.grid(alpha=0.3)
        static_legend(ax_curve, fontsize=7, loc="lower right")
        ax_curve.set_title("top-k accuracy on the test set", fontsize=9)
        self._axes = {"image": ax_img, "bar": ax_bar, "curve": ax_curve}
        fig.tight_layout()

    def compute(self, dataset, epochs, k, sample):
        run = demo_classifier(dataset)
        scores = run.scores[min(epochs, run.epochs)]
        true = int(run.labels[sample])
        probs = softmax(scores[sample].astype(np.float64))
        order = np.argsort(-scores[sample], kind="stable")
        # the same rule as top_k_accuracy: only strictly higher scores push the true class down
        rank = int((scores[sample] > scores[sample, true]).sum()) + 1
        curve = np.array([top_k_accuracy(scores, run.labels, j) for j in range(1, self.N_CLASSES + 1)])
        return {"run": run, "image": run.images[sample], "true": true, "probabilities": probs, "order": order,
                "rank": rank, "in_top_k": rank <= k, "curve": curve, "k": k, "top1": float(curve[0]),
                "topk": float(curve[k - 1]), "topk_error": float(1.0 - curve[k - 1]), "n_test": len(run.labels)}

    def draw(self, d):
        run, k, true = d["run"], d["k"], d["true"]
        self.artists["image"].set_data(d["image"])
        self.artists["image_title"].set_text(f"true: {run.classes[true]}")
        for pos, (bar, cls) in enumerate(zip(self.artists["bars"], d["order"])):
            bar.set_width(d["probabilities"][cls])
            if cls == true:
                bar.set_color("#2ca02c" if d["in_top_k"] else "#d62728")
            else:
                bar.set_color(COLORS[0] if pos < k else "0.8")
        for i, (label, c) in enumerate(zip(self.artists["bar_labels"], d["order"])):
            label.set_text(f"{i + 1}. {run.classes[c]}")
        self.artists["cut"].set_ydata([k - 0.5, k - 0.5])
        self.artists["cut_label"].set_position((0.98, k - 0.6))
        self.artists["cut_label"].set_text(f"top-{k} above")
        self.artists["curve"].set_ydata(d["curve"])
        self.artists["current"].set_data([k], [d["topk"]])

    def summary(self, d):
        k = d["k"]
        verdict = "counts as correct" if d["in_top_k"] else "counts as an error"
        top1 = "" if k == 1 else f"top-1 accuracy <b>{d['top1']:.1%}</b>, "
        return (f"This image: the true class is ranked {d['rank']}, so it {verdict} for top-{k}. "
                f"On all {d['n_test']:,} test images: {top1}top-{k} accuracy <b>{d['topk']:.1%}</b>, "
                f"top-{k} error <b>{d['topk_error']:.1%}</b> (the share whose true class is not among the {k} "
                f"highest scores).")


# =========================================================================================================
# 1.1 k-means and PCA on real data
# =========================================================================================================
@functools.lru_cache(maxsize=None)
def _digits_train() -> tuple[np.ndarray, np.ndarray]:
    """Digits training images ``(1437, 64)`` float64 (read-only: shared by every figure) and labels."""
    X, y, _, _ = load_digits(flatten=True)
    X = X.astype(np.float64)
    X.flags.writeable = False
    return X, y


@functools.lru_cache(maxsize=None)
def _digits_plane() -> PCA:
    """The first two principal axes of the digits: the plane the k-means figure draws in."""
    return PCA(2).fit(_digits_train()[0])


@functools.lru_cache(maxsize=None)
def _elbow(k_max: int) -> np.ndarray:
    """Final inertia of k-means++ (seed 0) on the digits for k = 1…k_max: the "elbow" curve, computed once."""
    X = _digits_train()[0]
    return np.array([KMeans(k, rng=0).fit(X).inertia_ for k in range(1, k_max + 1)])


class KMeansExplorer(Widget):
    """k-means on the 1,437 handwritten digits (8×8 = 64 features), without looking at the labels (Seed 1.1).

    Left: the digits projected on their first two principal components, coloured by cluster,
    with the centres (×).  Then the inertia Σ‖x − c‖² after every Lloyd iteration of this run (it
    can only go down), and the final inertia for every k (the "elbow", computed once with
    k-means++, seed 0).  Right: the centres drawn as 8×8 images, each named after the digit most
    of its members are — the clusters rediscover the digits although no label was used.

    Controls: ``k`` (clusters), ``iterations`` (stop Lloyd's algorithm early to watch it work),
    ``init`` (k-means++ or random samples), ``seed`` (the random initialisation).
    ``data``: ``model`` (the fitted :class:`~dlcourse.unsupervised.KMeans`), ``centers (k, 64)``,
    ``labels (1437,)``, ``inertia_history``, ``elbow (K_MAX,)``, ``purity``, ``majority (k,)``.
    """

    figsize = (11.0, 3.4)
    columns = 4
    K_MAX = 20
    MOSAIC_COLUMNS = 5
    GAP = 4  # pixels between centre images, room for their names

    def make_controls(self):
        return {
            "k": int_slider(10, 1, self.K_MAX, "clusters k"),
            "iterations": int_slider(50, 1, 50, "max. Lloyd iterations"),
            "init": dropdown([("k-means++", "k-means++"), ("random samples", "random")], "k-means++", "init"),
            "seed": int_slider(0, 0, 9, "seed"),
        }

    def setup_figure(self, fig):
        grid = fig.add_gridspec(1, 4, width_ratios=[1.1, 0.9, 0.9, 1.0])
        ax_sc, ax_in, ax_el, ax_c = (fig.add_subplot(grid[0, i]) for i in range(4))
        X, _ = _digits_train()
        xy = _digits_plane().transform(X)
        self.artists["points"] = ax_sc.scatter(xy[:, 0], xy[:, 1], c=np.zeros(len(xy)), cmap="tab20", vmin=-0.5,
                                               vmax=19.5, s=5, alpha=0.7, linewidths=0)
        self.artists["centers"] = ax_sc.scatter([], [], marker="X", s=70, c="k", edgecolors="w", linewidths=0.8)
        ax_sc.set_xlabel("PC 1"), ax_sc.set_ylabel("PC 2")
        ax_sc.set_title("digits by cluster (PCA view)", fontsize=9)
        # fixed axes (log scale: the big drops come first), so that a move costs a blit, not a full redraw
        top = round_up(1.6 * float(_elbow(self.K_MAX)[0]))  # the first iteration of almost every start fits
        self.artists["history"], = ax_in.semilogx([], [], "o-", ms=3, color=COLORS[0])
        ax_in.set_xlim(0.8, 60), ax_in.set_ylim(0, top)
        ax_in.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        ax_in.set_xlabel("Lloyd iteration"), ax_in.set_ylabel("inertia Σ‖x − c‖²")
        ax_in.grid(alpha=0.3)
        ax_in.set_title("this run: inertia per iteration", fontsize=9)
        self.artists["elbow"], = ax_el.plot(np.arange(1, self.K_MAX + 1), _elbow(self.K_MAX), "o-", ms=2.5,
                                            color="0.5", lw=1)
        self.artists["final"], = ax_el.plot([], [], "o", ms=9, mfc="none", mec=COLORS[3], mew=2)
        ax_el.set_xlim(0.5, self.K_MAX + 0.5), ax_el.set_ylim(0, top)
        ax_el.set_xticks([1, 5, 10, 15, 20])
        ax_el.set_xlabel("clusters k"), ax_el.set_title("final inertia vs k (elbow)", fontsize=9)
        ax_el.tick_params(labelleft=False)
        ax_el.grid(alpha=0.3)
        rows = -(-self.K_MAX // self.MOSAIC_COLUMNS)
        g = self.GAP
        self.artists["mosaic"] = ax_c.imshow(image_mosaic(np.zeros((0, 8, 8)), self.MOSAIC_COLUMNS, self.K_MAX, g),
                                             cmap="gray_r", vmin=0, vmax=1)
        self.artists["names"] = [ax_c.text(c * (8 + g) + 3.5, r * (8 + g) - 0.6, "", ha="center", va="bottom",
                                           fontsize=7) for r in range(rows) for c in range(self.MOSAIC_COLUMNS)]
        ax_c.set_ylim(rows * (8 + g) - g - 0.5, -g - 0.5)
        ax_c.set_title("centres, named by majority digit", fontsize=9)
        _image_axes(ax_c)
        self._axes = {"scatter": ax_sc, "inertia": ax_in, "elbow": ax_el, "centers": ax_c}
        fig.tight_layout(w_pad=0.8)

    def compute(self, k, iterations, init, seed):
        X, y = _digits_train()
        model = KMeans(k, init=init, max_iter=iterations, rng=seed).fit(X)
        purity, majority = cluster_purity(model.labels_, y)
        return {"model": model, "centers": model.cluster_centers_, "labels": model.labels_,
                "inertia_history": np.asarray(model.inertia_history_), "inertia": model.inertia_,
                "n_iter": model.n_iter_, "elbow": _elbow(self.K_MAX), "purity": purity,
                "majority": majority, "k": k, "centers_2d": _digits_plane().transform(model.cluster_centers_)}

    def draw(self, d):
        self.artists["points"].set_array(d["labels"].astype(float))
        self.artists["centers"].set_offsets(d["centers_2d"])
        h = d["inertia_history"]
        self.artists["history"].set_data(np.arange(1, len(h) + 1), h)
        self.artists["final"].set_data([d["k"]], [d["elbow"][d["k"] - 1]])
        self.artists["mosaic"].set_data(image_mosaic(d["centers"].reshape(-1, 8, 8), self.MOSAIC_COLUMNS, self.K_MAX,
                                                     self.GAP))
        for j, text in enumerate(self.artists["names"]):
            text.set_text(f"“{d['majority'][j]}”" if j < d["k"] and d["majority"][j] >= 0 else "")

    def summary(self, d):
        return (f"k = {d['k']}: inertia {d['inertia']:,.0f} after {d['n_iter']} Lloyd iterations. "
                f"Naming each cluster after its most common digit labels <b>{d['purity']:.0%}</b> of the images "
                f"correctly — without ever showing k-means a label.")


@dataclass
class _PCAData:
    X: np.ndarray           # (n, d) training images, flattened, float64
    y: np.ndarray           # (n,) labels (only to colour the scatter plot)
    show: np.ndarray        # (SHOW, d) test images to reconstruct
    side: int               # images are side × side
    pca: PCA                # fitted with every component


@functools.lru_cache(maxsize=None)
def _pca_scores(dataset: str) -> np.ndarray:
    """The training images on PC 1 and PC 2, divided by the standard deviation along PC 1: ``(n, 2)``."""
    pd = _pca_data(dataset)
    return pd.pca.transform(pd.X)[:, :2] / np.sqrt(pd.pca.explained_variance_[0])


@functools.lru_cache(maxsize=None)
def _pca_data(dataset: str) -> _PCAData:
    X, y, Xt, _ = DATASETS[dataset][1](flatten=True)
    if dataset == "fashion":
        X, y = X[:1000], y[:1000]  # 1,000 images (100 per class) keep the SVD well under a second
    X, Xt = X.astype(np.float64), Xt.astype(np.float64)
    return _PCAData(X, y, Xt[:PCAExplorer.SHOW], int(round(np.sqrt(X.shape[1]))), PCA().fit(X))


class PCAExplorer(Widget):
    """PCA on real images: projection, explained variance and reconstruction from k components (Seed 1.1).

    Left: the training images on their first two principal components, coloured by their label
    (which PCA never saw), in units of the standard deviation along PC 1 (so both data sets fit
    the same fixed window).  Middle: the share of the variance explained by each component (bars)
    and by the first k together (line), components on a log axis up to the largest k.  Right: test images (top row) and their reconstruction
    ``x̂ = mean + Σ_{j≤k} z_j v_j`` from k numbers instead of d pixels (bottom row).

    Controls: ``dataset``, ``k`` (components kept).  ``data``: ``pca`` (fitted with all
    components), ``k``, ``explained (k,)`` ratios, ``cumulative`` (explained share of the first
    k), ``reconstruction (SHOW, d)``, ``mse`` (mean squared reconstruction error per pixel).
    """

    figsize = (10.0, 3.5)
    columns = 2
    SHOW = 6
    K_MAX = {"digits": 64, "fashion": 200}
    BARS = 40
    SCORE_LIM = 2.6  # |PC score| / std(PC 1) of (almost) every image of both data sets

    def make_controls(self):
        return {
            "dataset": dropdown([(label, key) for key, (label, _) in DATASETS.items()], "digits", "data"),
            "k": int_slider(10, 1, 64, "components k"),
        }

    def on_control_change(self, name, value):
        if name in (None, "dataset"):
            self.controls["k"].max = self.K_MAX[self.controls["dataset"].value]

    def setup_figure(self, fig):
        grid = fig.add_gridspec(1, 3, width_ratios=[1.0, 1.1, 1.3])
        ax_sc, ax_var, ax_rec = (fig.add_subplot(grid[0, i]) for i in range(3))
        self.artists["points"] = ax_sc.scatter([], [], c=[], cmap="tab10", vmin=-0.5, vmax=9.5, s=5, alpha=0.7,
                                               linewidths=0)
        ax_sc.set_xlim(-self.SCORE_LIM, self.SCORE_LIM), ax_sc.set_ylim(-self.SCORE_LIM, self.SCORE_LIM)
        ax_sc.set_xlabel("PC 1 (in std of PC 1)"), ax_sc.set_ylabel("PC 2 (in std of PC 1)")
        ax_sc.set_title("colour = label (unused by PCA)", fontsize=9)
        self.artists["bars"] = ax_var.bar(np.arange(1, self.BARS + 1), np.zeros(self.BARS), color=COLORS[0], width=0.8,
                                          label="per component")
        self.artists["cumulative"], = ax_var.plot([], [], color=COLORS[1], label="first k together")
        self.artists["marker"] = ax_var.axvline(1, color=COLORS[3], lw=1, ls="--")
        # every k of every data set on one fixed axis: moving k or the data set moves no tick
        ax_var.set_xscale("log")
        ax_var.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        ax_var.set_xlim(0.55, max(self.K_MAX.values()) * 1.2)
        ax_var.set_xlabel("component (log scale)"), ax_var.set_ylabel("explained variance ratio")
        ax_var.set_ylim(0, 1.02)
        static_legend(ax_var, fontsize=7, loc="center right")
        ax_var.grid(alpha=0.3)
        ax_var.set_title("explained variance", fontsize=9)
        # one extent for both image sizes (their mosaics have the same shape up to 0.5 %)
        rows, cols = self._mosaic_shape(_pca_data("digits").side)
        self.artists["mosaic"] = ax_rec.imshow(np.zeros((2, self.SHOW)), cmap="gray_r", vmin=0, vmax=1,
                                               extent=(-0.5, cols - 0.5, rows - 0.5, -0.5))
        ax_rec.set_title("test images (top) from k numbers (bottom)", fontsize=9)
        _image_axes(ax_rec)
        self._axes = {"scatter": ax_sc, "variance": ax_var, "reconstruction": ax_rec}
        self._shown = None
        fig.tight_layout()

    def _mosaic_shape(self, s: int) -> tuple[int, int]:
        return 2 * s + max(1, s // 8), self.SHOW * (s + max(1, s // 8)) - max(1, s // 8)

    def compute(self, dataset, k):
        pd = _pca_data(dataset)
        pca = pd.pca
        k = min(k, pca.n_components_)
        # the first k principal axes of the full fit are the k-component PCA (Seed 1.1)
        Z = pca.transform(pd.show)[:, :k]
        rec = Z @ pca.components_[:k] + pca.mean_
        ratio = pca.explained_variance_ratio_
        return {"dataset": dataset, "pca": pca, "k": k, "explained": ratio[:k], "ratio": ratio,
                "cumulative": float(ratio[:k].sum()), "original": pd.show, "reconstruction": rec,
                "mse": float(np.mean((rec - pd.show) ** 2)), "d": pd.X.shape[1], "side": pd.side}

    def draw(self, d):
        if self._shown != d["dataset"]:
            pd = _pca_data(d["dataset"])
            self.artists["points"].set_offsets(_pca_scores(d["dataset"]))
            self.artists["points"].set_array(pd.y.astype(float))
            for bar, r in zip(self.artists["bars"], d["ratio"][:self.BARS]):
                bar.set_height(r)
            cum = np.cumsum(d["ratio"])
            self.artists["cumulative"].set_data(np.arange(1, len(cum) + 1), cum)
            self._shown = d["dataset"]
        self.artists["marker"].set_xdata([d["k"], d["k"]])
        s = d["side"]
        images = np.concatenate([d["original"], np.clip(d["reconstruction"], 0, 1)]).reshape(-1, s, s)
        mosaic = image_mosaic(images, self.SHOW, gap=max(1, s // 8))
        self.artists["mosaic"].set_data(mosaic)

    def summary(self, d):
        return (f"Keeping k = {d['k']} of {d['d']} dimensions explains <b>{d['cumulative']:.1%}</b> of the variance; "
                f"reconstruction error {d['mse']:.4f} per pixel (pixels in [0, 1]).")
