"""Interactive figure of chapter 9, "Transfer Learning" (Seed 9).

* :class:`FreezeExplorer` — how many pretrained layers to freeze, against how many labelled
  samples the new task has, for the two networks that ship pretrained with the package
  (:mod:`dlcourse.transfer`): accuracy per number of frozen layers, training from scratch for
  comparison, and how the picture changes with more data.

Fine-tuning a network takes seconds per run and the figure compares dozens of runs (every number
of frozen layers × training-set size × seed), so the results of :func:`dlcourse.transfer.freeze_sweep`
are computed once by :func:`build_freeze_table` and stored in
``dlcourse/models/pretrained/freeze_sweeps.json`` (``FREEZE_TABLE``);
``tests/test_widgets_ch8_9.py`` re-runs entries and checks them against the table.  Settings that
are not in the table are computed on first use (:func:`freeze_results`, cached).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Patch
from matplotlib.ticker import FixedLocator, NullLocator

from .. import transfer
from .base import COLORS, Widget, dropdown, int_slider, set_limits

__all__ = ["FreezeExplorer", "FREEZE_TABLE", "SIZES", "SEEDS", "NETWORKS", "freeze_results", "build_freeze_table",
           "layer_names"]

#: the shipped networks the figure offers: name -> label
NETWORKS = {"mnist1d_cnn_6class": "MNIST-1D digits 0–5 → 6–9",
            "fashion_cnn_6class": "Fashion-MNIST 6 classes → 4 others"}
#: labelled samples per class of the new task, per network (the image CNN costs ~20× more per run)
SIZES = {"mnist1d_cnn_6class": (2, 5, 10, 20, 50), "fashion_cnn_6class": (2, 5, 20)}
SEEDS = (0, 1, 2)

#: where :func:`build_freeze_table`'s result is stored (``python -m dlcourse.widgets.transfer`` rewrites it)
TABLE_FILE = transfer.PRETRAINED_DIR / "freeze_sweeps.json"


def _load_table(path: Path = TABLE_FILE) -> dict[str, dict[int, list[dict]]]:
    with open(path) as fh:
        return {name: {int(n): rows for n, rows in sizes.items()} for name, sizes in json.load(fh).items()}


#: :func:`dlcourse.transfer.freeze_sweep` rows ``{name: {n_per_class: [row, ...]}}`` computed by
#: :func:`build_freeze_table` (seeds ``SEEDS``, the library's default budget).
FREEZE_TABLE: dict[str, dict[int, list[dict]]] = _load_table()


@lru_cache(maxsize=64)
def _sweep(name: str, n_per_class: int, seeds: tuple[int, ...]) -> tuple[dict, ...]:
    return tuple(transfer.freeze_sweep(name, n_per_class=n_per_class, seeds=seeds))


def freeze_results(name: str, n_per_class: int, seeds: Sequence[int] = SEEDS, recompute: bool = False) -> list[dict]:
    """The rows of :func:`dlcourse.transfer.freeze_sweep` for ``name`` with ``n_per_class`` labelled
    samples per class: one per number of frozen layers ``k = 0 … L−1`` and one for training from
    scratch (``"frozen": None``), each with ``accuracy`` (mean over seeds) and ``per_seed``.

    Taken from ``FREEZE_TABLE`` when it holds them (and the default seeds are asked for), else
    computed (and cached for the session); ``recompute`` always trains.
    """
    stored = FREEZE_TABLE.get(name, {}).get(int(n_per_class))
    if stored is not None and not recompute and tuple(seeds) == SEEDS:
        return [dict(row) for row in stored]
    return [dict(row) for row in _sweep(name, int(n_per_class), tuple(int(s) for s in seeds))]


def build_freeze_table(names: Sequence[str] = tuple(NETWORKS), progress: bool = True) -> dict:
    """Run every sweep of the figure (``SIZES`` × ``SEEDS`` per network) and return the table
    ``FREEZE_TABLE`` holds (``python -m dlcourse.widgets.transfer`` stores it).  Takes minutes."""
    table: dict[str, dict[int, list[dict]]] = {}
    jobs = [(name, n) for name in names for n in SIZES[name]]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="freeze sweeps")
    for name, n in jobs:
        rows = freeze_results(name, n, SEEDS, recompute=True)
        table.setdefault(name, {})[n] = [{"frozen": r["frozen"], "trainable_parameters": int(r["trainable_parameters"]),
                                          "accuracy": round(float(r["accuracy"]), 4),
                                          "per_seed": [round(float(a), 4) for a in r["per_seed"]]} for r in rows]
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return table


def layer_names(name: str) -> list[str]:
    """Short names of the learnable layers of the network ``name``, input first, the new head last."""
    model = transfer.PRETRAINED[name].builder(len(transfer.PRETRAINED[name].new_classes), rng=0)
    names = []
    for i in transfer.learnable_layers(model):
        layer = model[i]
        conv = next((m for m in layer.modules() if type(m).__name__ == "Conv2d"), None)
        if conv is not None:
            kh, kw = conv.weight.shape[2:]
            names.append(f"conv {kh}×{kw}, {conv.weight.shape[0]}")
        else:
            names.append(f"linear → {layer.weight.shape[0]}")
    names[-1] = f"new head → {model[transfer.learnable_layers(model)[-1]].weight.shape[0]}"
    return names


@lru_cache(maxsize=16)
def _prepared_model_parameters(name: str, frozen: int) -> tuple[int, int]:
    """(trainable, total) parameters of the network ``name`` with a 4-class head and its first
    ``frozen`` learnable layers frozen (the counts do not depend on the weights, so no file is read)."""
    info = transfer.PRETRAINED[name]
    model = transfer.freeze_layers(info.builder(len(info.new_classes), rng=0), frozen)
    return model.num_parameters(trainable_only=True), model.num_parameters()


FROZEN_COLOR, TRAINED_COLOR, HEAD_COLOR = "#c7d7e8", "#ff9f40", "#2ca02c"


class FreezeExplorer(Widget):
    """How many pretrained layers to freeze when the new task has few labelled samples (Seed 9).

    A network pretrained on six classes (MNIST-1D digits 0–5, or six Fashion-MNIST classes) gets a
    new output layer for the four other classes and is fine-tuned on ``n_per_class`` labelled
    samples per class with its first ``frozen`` learnable layers frozen (:mod:`dlcourse.transfer`).
    Left: the network's learnable layers, frozen ones in blue, trained ones in orange, the new head
    in green.
    Middle: test accuracy on the new classes against the number of frozen layers (mean over three
    seeds, bars from the worst to the best seed), and the same network trained from random weights
    with the same data and budget (dashed).  Right: the chosen setting and training from scratch
    against the number of labelled samples.

    Controls: ``network``, ``n_per_class``, ``frozen``.  ``data``: ``rows`` (the sweep), ``k``,
    ``accuracy`` (per k), ``low``/``high`` (worst/best seed per k), ``scratch``, ``sizes``,
    ``by_size`` (accuracy of the chosen ``frozen`` per size), ``scratch_by_size``, ``trainable``,
    ``total`` (parameters), ``layers`` (names).
    """

    figsize = (10.0, 3.5)

    def make_controls(self):
        return {
            "network": dropdown([(label, key) for key, label in NETWORKS.items()], "mnist1d_cnn_6class",
                                "pretrained on"),
            "n_per_class": dropdown(list(SIZES["mnist1d_cnn_6class"]), 5, "labelled samples per class"),
            "frozen": int_slider(1, 0, 4, "frozen layers"),
        }

    def on_control_change(self, name, value):
        if name in (None, "network"):
            network = self.controls["network"].value
            sizes = list(SIZES[network])
            current = self.controls["n_per_class"].value
            self.controls["n_per_class"].options = sizes
            self.controls["n_per_class"].value = current if current in sizes else min(sizes, key=lambda s: abs(s - 5))
            n_layers = len(layer_names(network))
            self.controls["frozen"].max = n_layers - 1

    def setup_figure(self, fig):
        ax, bx, cx = fig.subplots(1, 3, gridspec_kw={"width_ratios": [0.75, 1, 1]})
        # the network as a stack of boxes, input at the bottom
        self._n_boxes = 5
        self.artists["boxes"] = []
        # the labels change with the network: repainted with the boxes, so a switch costs no redraw
        self._box_text = self.artists["box_text"] = []
        for i in range(self._n_boxes):
            # the label sits beside its box: the boxes are repainted on every move, the labels are not
            box = FancyBboxPatch((0.02, 0.06 + i * 0.18), 0.2, 0.14, boxstyle="round,pad=0.01", fc=FROZEN_COLOR,
                                 ec="0.3", lw=0.8)
            ax.add_patch(box)
            self.artists["boxes"].append(box)
            self._box_text.append(ax.text(0.27, 0.13 + i * 0.18, "", ha="left", va="center", fontsize=8))
        ax.text(0.12, 0.015, "input", ha="center", va="center", fontsize=8, color="0.4")
        ax.set_xlim(0, 1), ax.set_ylim(0, 1)
        ax.axis("off")
        ax.set_title("the network", fontsize=9)
        self._ax = ax
        bx.axhline(0.25, color="0.6", lw=0.8, ls=":")
        self.artists["scratch"] = bx.axhline(0.25, color="0.3", lw=1.2, ls="--")
        self.artists["spread"] = LineCollection([], colors=COLORS[1], lw=1.5)
        bx.add_collection(self.artists["spread"])
        self.artists["acc"], = bx.plot([], [], "o-", color=COLORS[1], ms=5)
        self.artists["chosen"], = bx.plot([], [], "*", color="#ffd92f", mec="k", ms=16, zorder=4)
        bx.set_ylim(0.2, 1.0)
        bx.set_xlim(-0.4, 4.4)
        bx.xaxis.set_major_locator(FixedLocator(range(5)))
        bx.set_xlabel("frozen layers (of the pretrained ones)")
        bx.set_ylabel("test accuracy, new classes")
        self._bx = bx
        self.artists["by_size"], = cx.semilogx([], [], "o-", color=COLORS[1], ms=4)
        self.artists["scratch_by_size"], = cx.semilogx([], [], "s--", color="0.3", ms=3.5)
        self.artists["here"], = cx.plot([], [], "*", color="#ffd92f", mec="k", ms=14, zorder=4)
        cx.axhline(0.25, color="0.6", lw=0.8, ls=":")
        cx.set_ylim(0.2, 1.0)
        # one axis for every network's sizes: switching networks moves points, not the axis
        every_size = sorted(set().union(*SIZES.values()))
        cx.set_xlim(every_size[0] / 1.5, every_size[-1] * 1.5)
        cx.xaxis.set_major_locator(FixedLocator(every_size))
        cx.set_xticklabels([str(n) for n in every_size])
        cx.xaxis.set_minor_locator(NullLocator())
        cx.set_xlabel("labelled samples per class")
        self._cx = cx
        handles = [Line2D([], [], marker="o", color=COLORS[1], label="pretrained, fine-tuned"),
                   Line2D([], [], ls="--", marker="s", ms=3.5, color="0.3", label="same network from scratch"),
                   Line2D([], [], ls=":", color="0.6", label="chance (4 classes)"),
                   Line2D([], [], ls="", marker="*", ms=12, color="#ffd92f", mec="k", label="chosen setting"),
                   Patch(fc=FROZEN_COLOR, ec="0.3", label="frozen"), Patch(fc=TRAINED_COLOR, ec="0.3", label="trained"),
                   Patch(fc=HEAD_COLOR, ec="0.3", label="new head")]
        fig.legend(handles=handles, loc="upper center", ncol=7, fontsize=7.5, frameon=False, columnspacing=1.2)
        fig.tight_layout(rect=(0, 0, 1, 0.9))

    def compute(self, network, n_per_class, frozen):
        rows = freeze_results(network, n_per_class)
        pre = sorted((r for r in rows if r["frozen"] is not None), key=lambda r: r["frozen"])
        scratch = next(r for r in rows if r["frozen"] is None)
        sizes = list(SIZES[network])
        sweeps = {n: freeze_results(network, n) for n in sizes}
        frozen = min(int(frozen), len(pre) - 1)

        def pick(rs, k):
            return next(r for r in rs if r["frozen"] == k)

        trainable, total = _prepared_model_parameters(network, frozen)
        return {"rows": rows, "network": network, "n_per_class": int(n_per_class), "frozen": frozen,
                "k": np.array([r["frozen"] for r in pre]), "accuracy": np.array([r["accuracy"] for r in pre]),
                "low": np.array([min(r["per_seed"]) for r in pre]), "high": np.array([max(r["per_seed"]) for r in pre]),
                "scratch": float(scratch["accuracy"]), "sizes": np.array(sizes),
                "by_size": np.array([pick(sweeps[n], frozen)["accuracy"] for n in sizes]),
                "scratch_by_size": np.array([pick(sweeps[n], None)["accuracy"] for n in sizes]),
                "trainable": trainable, "total": total, "layers": layer_names(network)}

    def draw(self, d):
        n_layers = len(d["layers"])
        for i, text in enumerate(self._box_text):
            text.set_text(d["layers"][i] if i < n_layers else "")
        for i, box in enumerate(self.artists["boxes"]):
            box.set_visible(i < n_layers)
            if i < n_layers:
                head, frozen = i == n_layers - 1, i < d["frozen"]
                box.set_facecolor(HEAD_COLOR if head else FROZEN_COLOR if frozen else TRAINED_COLOR)
        k, acc = d["k"], d["accuracy"]
        self.artists["acc"].set_data(k, acc)
        self.artists["spread"].set_segments([[(x, lo), (x, hi)] for x, lo, hi in zip(k, d["low"], d["high"])])
        self.artists["scratch"].set_ydata([d["scratch"], d["scratch"]])
        self.artists["chosen"].set_data([d["frozen"]], [acc[d["frozen"]]])
        set_limits(self._bx, xlim=(-0.4, k[-1] + 0.4))
        sizes = d["sizes"]
        self.artists["by_size"].set_data(sizes, d["by_size"])
        self.artists["scratch_by_size"].set_data(sizes, d["scratch_by_size"])
        self.artists["here"].set_data([d["n_per_class"]], [d["by_size"][list(sizes).index(d["n_per_class"])]])

    def summary(self, d):
        acc = d["accuracy"][d["frozen"]]
        best = int(np.argmax(d["accuracy"]))
        diff = acc - d["scratch"]
        return (f"{d['n_per_class']} labelled samples per class ({4 * d['n_per_class']} in all): "
                f"<b>{d['frozen']} frozen layer{'s' if d['frozen'] != 1 else ''} → {acc:.1%}</b> test accuracy, "
                f"from scratch {d['scratch']:.1%} ({'+' if diff >= 0 else '−'}{abs(diff):.1%}) · "
                f"trains {d['trainable']:,} of {d['total']:,} parameters · best here: {best} frozen "
                f"({d['accuracy'][best]:.1%})")


if __name__ == "__main__":
    fresh = build_freeze_table()
    TABLE_FILE.write_text(json.dumps({name: {str(n): rows for n, rows in sizes.items()}
                                      for name, sizes in fresh.items()}, indent=1) + "\n")
    print(f"wrote {TABLE_FILE}")
