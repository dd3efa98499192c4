"""How fast the interactive figures respond: one control move = retrain + redraw, in the kernel.

For every widget, controls are moved to new values the way a student would (through the
ipywidgets observer) and each update is timed end to end:

* **update** — ``compute`` (retraining the model), ``draw`` (moving the artists) and the repaint
  of the Agg canvas: a blit of the data over the cached background, or a full draw when the
  move changed the axes (counted as "full redraws");
* **PNG** — what ipympl then does in the kernel to send the frame: a PNG of the frame in which
  the pixels that did not change are zeroed (matplotlib's ``get_diff_image``, which the widgets
  replace by ``dlcourse.widgets.frames``; ``FrameEncoder`` below runs that).

The caches that remember earlier results (fits, optimizer paths, schedules) are cleared at the
start of every round of moves, so no move profits from an earlier round; within a round a move
reuses what the previous ones computed exactly as in a live session (e.g. moving the learning
rate does not rerun Newton's method from an unchanged start).  The same holds for the glyphs the canvas
remembers (``dlcourse.widgets.text_cache``): cleared, then the initial state is drawn untimed.  Target (issue 6): p90 of update + render ≤ 150 ms for
the small demos.  Browser round trip and paint come on top (≈ 7 ms + the frontend; see
FIELD_NOTES).  Wall time on a shared machine includes waiting for a core, so the process CPU time
of each move is reported too (on an idle machine the two agree).  BLAS keeps its default thread
count, as in a student's kernel: the widgets themselves run each update with one BLAS thread
(``dlcourse._threads.one_blas_thread``; the matrices of these demos are tiny, and on a 2-core machine a
second OpenBLAS thread only adds synchronisation — a 256×64 @ 64×64 product took 17 ms with 2
threads under load, 0.25 ms with one).  Running a subset (``bench_widgets.py Name ...``)
replaces only those widgets' rows in ``results/widgets.json``.
No PyTorch column: there is no PyTorch counterpart to a notebook figure.
"""
from __future__ import annotations

import json
import os
import sys
import time

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

#: what the kernel's BLAS uses outside widget updates (reported with the results)
BLAS_THREADS = max((lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"), default=None)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RESULTS, write_rows  # noqa: E402

from dlcourse import widgets  # noqa: E402
from dlcourse.widgets import neural_networks as nnw  # noqa: E402
from dlcourse.widgets.frames import diff_frame, png_rgba  # noqa: E402

TARGET_MS = 150.0

#: widget -> the control moves of one round (name, value); each round is repeated with new values
MOVES = {
    "ActivationExplorer": [("activation", a) for a in ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu",
                                                       "maxout", "softmax", "step")] + [("std", 3.0), ("mean", -2.0)],
    "LossExplorer": [("outliers", k) for k in (1, 4, 7, 10)] + [("outlier_size", v) for v in (3.0, 12.0)]
                    + [("margin", 1.5)],
    "OptimizerRace": [("lr", v) for v in (5e-4, 2e-3, 4e-3)] + [("beta", 0.5), ("x0", 0.5), ("y0", 2.0),
                                                               ("surface", "himmelblau"), ("surface", "rosenbrock")],
    "ScheduleExplorer": [("lr0", v) for v in (0.05, 0.2)] + [("schedule", s) for s in ("step", "exponential",
                                                                                     "inverse_sqrt", "inverse_time")],
    "RegularizationPlayground": [("penalty", "l2"), ("lam", 1e-2), ("penalty", "l1"), ("dropout", 0.3),
                                 ("batch_norm", True), ("penalty", "none"), ("batch_norm", False), ("dropout", 0.0)],
    "PlaygroundTrainer": [("lr", 0.1), ("width", 12), ("depth", 3), ("activation", "relu"), ("dataset", "circles"),
                          ("regularization", "l2"), ("dataset", "moons"), ("depth", 2)],
    "WeightCounter": [("width", v) for v in (64, 256, 512)] + [("hidden_layers", 4), ("activation", "prelu_neuron")],
    "ForwardBackwardStepper": [("stage", s) for s in range(1, 13)] + [("x1", 0.3)],
    # chapters 1-3 (dlcourse.widgets.basics, linear_models, graphs).  The trained classifier of
    # TopKExplorer, the elbow curve and the full PCA per dataset are computed once by design (the
    # notebook trains with a progress bar); every k-means, regression and graph move recomputes.
    "TopKExplorer": [("sample", i) for i in (3, 17, 42)] + [("k", k) for k in (1, 3, 7)]
                    + [("epochs", 1), ("dataset", "digits"), ("sample", 5), ("dataset", "fashion")],
    "KMeansExplorer": [("k", k) for k in (3, 6, 12, 20)] + [("iterations", 2), ("iterations", 10), ("init", "random"),
                                                            ("seed", 4)],
    "PCAExplorer": [("k", k) for k in (1, 3, 10, 30, 64)] + [("dataset", "fashion"), ("k", 150), ("dataset", "digits")],
    "GradientDescentLine": [("iterations", n) for n in (10, 100, 500)] + [("lr", 0.02), ("lr", 0.2), ("noise", 1.5),
                                                                          ("standardize", True), ("lr", 0.9)],
    "LogisticBoundary": [("iterations", n) for n in (50, 500, 2000)] + [("lr", 2.0), ("dataset", "moons"),
                                                                        ("features", "quadratic"), ("noise", 0.1)],
    "ExpressionGraph": [("x", 1.0), ("y", -2.0), ("z", 3.0), ("expression", "shared"), ("x", -1.5),
                        ("expression", "sigmoid")],
    "NeuronGraph": [("x0", 0.5), ("w1", -1.0), ("b", 1.0), ("activation", "relu"), ("loss", True), ("target", -0.5),
                    ("activation", "tanh")],
}
CACHES = [nnw._fit_lines_cached, nnw._first_order_path_cached, nnw._second_order_path, nnw._train_with_schedule]
# chapter 2: the iterates of a logistic-regression run (moving only the iterations extends it)
from dlcourse.widgets import linear_models as lmw  # noqa: E402

from dlcourse.widgets import basics as bw  # noqa: E402

CACHES += [lmw._logistic_run, bw._pca_scores]

# chapter 8 (dlcourse.widgets.training): every move retrains; the search's shaded reference landscape
# (144 trials) is a stored table by design, the trials of each search are retrained on every move.
from dlcourse.widgets import training as trw  # noqa: E402

MOVES.update({
    "LearningCurveLab": [("preset", p) for p in ("overfitting", "lr_too_low", "val_easier", "ideal")]
                        + [("lr", 0.3), ("hidden", 16), ("weight_decay", 1e-3), ("dropout", 0.2), ("n_train", 200),
                           ("label_noise", 0.2), ("epochs", 40)],
    "HyperparameterSearch": [("method", "random"), ("seed", 3), ("trials", 6), ("method", "grid"), ("trials", 9)],
    "InitializationExplorer": [("scheme", s) for s in ("zero", "small", "large", "he")]
                              + [("activation", "relu"), ("depth", 5), ("width", 32), ("lr", 0.1), ("steps", 20)],
})
CACHES += [trw.learning_curve_run, trw.hp_trial, trw._train_init_cached]

# chapter 9 (dlcourse.widgets.transfer): the fine-tuning runs are a stored table by design (minutes of
# training); a move looks them up and rebuilds the frozen model to count its parameters.
from dlcourse.widgets import transfer as tfw  # noqa: E402

MOVES["FreezeExplorer"] = [("frozen", k) for k in (0, 2, 4, 1)] + [("n_per_class", n) for n in (2, 20, 50)] + [
    ("network", "fashion_cnn_6class"), ("frozen", 3), ("network", "mnist1d_cnn_6class")]
CACHES += [tfw._prepared_model_parameters]

# chapters 6-7 (dlcourse.widgets.cnn, rnn).  The Fashion-MNIST CNN, the U-Net snapshots and the
# adding-problem RNN/LSTM of a sequence length are trained once by design (the notebooks train them
# with a progress bar; warm-up round 0 trains T = 10 here); every other move recomputes.
from dlcourse.widgets import cnn as cnnw  # noqa: E402

MOVES.update({
    "ConvCalculator": [("position", p) for p in (3, 11, 20)] + [("stride", 2), ("padding", 1), ("kernel", 5),
                                                                ("size", 12), ("kind", "blur"), ("out_channels", 64)],
    "PoolingExplorer": [("kernel", 3), ("stride", 3), ("source", "edges"), ("shift", 1), ("sample", 7), ("kernel", 2)],
    "FeatureMapExplorer": [("layer", v) for v in ("relu1", "pool1", "conv2", "pool2")] + [("sample", 9),
                                                                                        ("trained", False)],
    "UNetSegmentation": [("threshold", 0.3), ("steps", 20), ("sample", 4), ("threshold", 0.7), ("steps", 80)],
    "GradientFlowThroughTime": [("radius", r) for r in (0.95, 1.05, 1.2)] + [("T", 150), ("matrix", "random"),
                                                                             ("nonlinearity", "tanh"), ("input_scale", 3.0)],
    "AddingProblemRace": [("trained", True), ("T", 10), ("trained", False), ("T", 20)],
    "LSTMGates": [("sample", s) for s in (3, 11, 40)] + [("unit", 2), ("trained", False), ("unit", 9)],
})
CACHES += [cnnw._pool_inputs, cnnw._allocated_parameters]


class FrameEncoder:
    """What ipympl does after the widget painted its frame: compare the canvas with the frame sent
    last, zero the pixels that did not change and encode the rest as a PNG; the browser paints it over
    the previous frame.  The first frame is sent whole.  The widgets make ipympl do this with
    ``dlcourse.widgets.frames`` (zlib level 1, no row filter) instead of matplotlib's Pillow call; this
    runs the same two functions on the Agg canvas."""

    def __init__(self) -> None:
        self._last = None

    def encode(self, fig) -> int:
        image, _, self._last = diff_frame(np.asarray(fig.canvas.buffer_rgba()), self._last)
        return len(png_rgba(image))


def reference_ms() -> float:
    """FIELD_NOTES' reference workload (100 GD steps on 200 points: 1.9 ms on a quiet machine like
    this one), timed now — the ratio says how busy the machine was during the measurement."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((200, 2)), rng.standard_normal(200)
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        w, b = np.zeros(2), 0.0
        for _ in range(100):
            r = X @ w + b - y
            w -= 0.2 * X.T @ r / 200
            b -= 0.2 * r.mean()
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def time_widget(name: str, rounds: int = 3) -> dict:
    w = getattr(widgets, name)()
    initial = w.values
    update_ms, total_ms, cpu_ms, full_draws, frames = [], [], [], 0, 0
    encoder = FrameEncoder()
    for r in range(rounds + 1):  # round 0 warms up
        for cache in CACHES:  # every round starts like a fresh session showing the initial state
            cache.cache_clear()
        if w.text_cache is not None:  # it has drawn the initial state's texts (below), no other
            w.text_cache.clear()
        w.set(**initial)  # untimed: every round makes the same moves from the same state
        encoder.encode(w.figure)
        for control, value in MOVES[name]:
            ctl = w.controls[control]
            draws_before = w.full_draws
            c0, t0 = time.process_time(), time.perf_counter()
            ctl.value = value  # compute + draw + repaint (a blit, or a full draw if the axes changed)
            t1 = time.perf_counter()
            encoder.encode(w.figure)
            c2, t2 = time.process_time(), time.perf_counter()
            if w.error is not None:
                raise RuntimeError(f"{name}.{control} = {value!r}: {w.error!r}")
            if r:
                update_ms.append((t1 - t0) * 1000)
                total_ms.append((t2 - t0) * 1000)
                cpu_ms.append((c2 - c0) * 1000)
                full_draws += w.full_draws - draws_before
                frames += 1
    w.close()
    p50, p90 = np.percentile(total_ms, [50, 90])
    return {"case": f"widget {name}: update + render", "dlcourse_ms": float(p50), "torch_ms": None, "ratio": None,
            "target": f"p90 {p90:.0f} ms {'≤' if p90 <= TARGET_MS else '>'} {TARGET_MS:.0f} ms",
            "p50_ms": float(p50), "p90_ms": float(p90), "update_p50_ms": float(np.percentile(update_ms, 50)),
            "update_p90_ms": float(np.percentile(update_ms, 90)), "moves": len(total_ms),
            "cpu_p50_ms": float(np.percentile(cpu_ms, 50)), "cpu_p90_ms": float(np.percentile(cpu_ms, 90)),
            "full_redraws": full_draws, "blas_threads_outside_updates": BLAS_THREADS}


def merged(rows: list[dict]) -> list[dict]:
    """Rows of this run replace the same widgets' rows of earlier runs; the others are kept, so
    timing one widget (``python benchmarks/bench_widgets.py OptimizerRace``) keeps the rest."""
    path = RESULTS / "widgets.json"
    old = json.loads(path.read_text()) if path.exists() else []
    new = {r["case"]: r for r in rows}
    cases = [f"widget {name}: update + render" for name in MOVES]
    everything = {r["case"]: r for r in old if r["case"] in cases} | new
    return [everything[c] for c in cases if c in everything]


def main(names: list[str] | None = None) -> list[dict]:
    before = reference_ms()
    rows = [time_widget(name) for name in (names or list(MOVES))]
    load = (before + reference_ms()) / 2 / 1.9
    for r in rows:
        r["machine_slowdown"] = round(load, 2)
    write_rows("widgets", merged(rows))
    print(f"\nreference workload: {load:.1f}× its quiet-machine time (1 = quiet)")
    print("| widget | moves | full redraws | compute+paint p50 / p90 (ms) | + PNG p50 / p90 (ms) "
          "| CPU time p50 / p90 (ms) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case'].split()[1][:-1]} | {r['moves']} | {r['full_redraws']} | "
              f"{r['update_p50_ms']:.0f} / {r['update_p90_ms']:.0f} | {r['p50_ms']:.0f} / {r['p90_ms']:.0f} | "
              f"{r['cpu_p50_ms']:.0f} / {r['cpu_p90_ms']:.0f} |")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:] or None)
