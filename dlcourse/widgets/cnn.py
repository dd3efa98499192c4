"""Interactive figures of chapter 6, "Convolutional Neural Network" (Seed 6.1–6.10).

* :class:`ConvCalculator` — output size and parameter count of a convolution, with the kernel
  sliding over a real image (Seed 6.2–6.3);
* :class:`PoolingExplorer` — max vs average pooling: window, stride, output size, what survives
  (Seed 6.4);
* :class:`FeatureMapExplorer` — the filters and feature maps of a small CNN trained on
  Fashion-MNIST, next to the untrained network (Seed 6.3, 6.8);
* :class:`UNetSegmentation` — a tiny U-Net segmenting generated shapes, at several points of its
  training, with an adjustable decision threshold (Seed 6.10.2).

The two trained networks are trained once per process by :func:`demo_cnn` and :func:`demo_unet`
(a notebook calls them with ``progress=True`` to watch the training); the figures then only look
numbers up, so every control move is instant.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass, field

import ipywidgets as W
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle

from .. import _rng, nn
from ..data import load_fashion_mnist, make_shapes
from ..models import UNet, mean_iou
from ..nn.activations import softmax
from ..nn.shapes import conv_parameter_count
from ..optim import Adam
from ..train import fit, predict
from .base import COLORS, Widget, checkbox, dropdown, float_slider, int_slider, set_limits, static_legend
from .basics import image_mosaic

__all__ = ["ConvCalculator", "PoolingExplorer", "FeatureMapExplorer", "UNetSegmentation", "demo_cnn", "demo_unet",
           "CNNRun", "UNetRun", "example_kernel", "resize_image", "KERNELS", "fashion_images"]

_PAD_RGBA = to_rgba("#bcd6f5")       # zero padding: light blue
_UNREACHED_RGBA = to_rgba("#d62728", 0.35)


def _image_axes(ax) -> None:
    ax.set_xticks([]), ax.set_yticks([])


def _cell_grid(rows: int, cols: int) -> list:
    """Segments of the borders of a ``rows × cols`` pixel grid (pixel centres at integers)."""
    horizontal = [[(-0.5, r - 0.5), (cols - 0.5, r - 0.5)] for r in range(rows + 1)]
    vertical = [[(c - 0.5, -0.5), (c - 0.5, rows - 0.5)] for c in range(cols + 1)]
    return horizontal + vertical


# =========================================================================================================
# shared data
# =========================================================================================================
@functools.lru_cache(maxsize=1)
def fashion_images(n: int = 40) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The first ``n`` Fashion-MNIST test images ``(n, 28, 28)`` in [0, 1], their labels and the class names."""
    data = load_fashion_mnist()
    return data.X_test[:n, 0].copy(), data.y_test[:n].copy(), data.classes


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """Area-average ``image (H, W)`` (H = W) down to ``(size, size)``: each new pixel is the mean of
    the old pixels it covers (fractions weighted), so small sizes stay faithful instead of aliasing."""
    n = image.shape[0]
    edges = np.arange(size + 1) * n / size
    lo, hi = edges[:-1, None], edges[1:, None]
    pix = np.arange(n)[None, :]
    overlap = np.clip(np.minimum(hi, pix + 1) - np.maximum(lo, pix), 0, None)   # (size, n)
    matrix = overlap / overlap.sum(axis=1, keepdims=True)
    return matrix @ image @ matrix.T


#: kernel kind -> label
KERNELS = {"vertical_edge": "vertical edges (−1 … +1 across columns)",
           "horizontal_edge": "horizontal edges (−1 … +1 down rows)",
           "blur": "box blur (all 1/F²)",
           "sharpen": "sharpen (2·identity − blur)"}


def example_kernel(kind: str, size: int) -> np.ndarray:
    """A hand-made ``size × size`` filter (Seed 6.2.1): what a learned filter often ends up doing."""
    if kind not in KERNELS:
        raise ValueError(f"example_kernel: kind must be one of {sorted(KERNELS)}, got {kind!r}")
    ramp = np.linspace(-1.0, 1.0, size) if size > 1 else np.ones(1)
    if kind == "vertical_edge":
        return np.tile(ramp, (size, 1))
    if kind == "horizontal_edge":
        return np.tile(ramp[:, None], (1, size))
    blur = np.full((size, size), 1.0 / size**2)
    if kind == "blur":
        return blur
    identity = np.zeros((size, size))
    identity[size // 2, size // 2] = 1.0
    return 2 * identity - blur


@functools.lru_cache(maxsize=512)
def _allocated_parameters(c_in: int, c_out: int, kernel: int) -> int:
    """Parameters of a real ``nn.Conv2d`` (counted, not computed from the formula)."""
    return nn.Conv2d(c_in, c_out, kernel, rng=0).num_parameters()


# =========================================================================================================
# 6.2–6.3 convolution calculator
# =========================================================================================================
class ConvCalculator(Widget):
    """Output size and parameters of a convolution layer, with the kernel sliding over an image (Seed 6.2–6.3).

    Left: an ``N × N`` Fashion-MNIST image surrounded by ``P`` rings of zero padding (blue), the
    ``F × F`` kernel window at output position ``position`` (red), and the centres of all windows
    (dots, ``S`` pixels apart).  Middle: the kernel.  Right: the output feature map
    ``z = conv(x)`` computed by :class:`~dlcourse.nn.Conv2d`, with the pixel the window produces.
    If ``(N + 2P − F) / S`` is not an integer the lecture's rule of Seed 6.2.2 is broken: the layer
    floors like PyTorch and the border the window never reaches is shaded red.

    The parameter count ``(C_i · F² + 1) · C_o`` (Seed 6.3.3) uses the channel sliders (the picture
    shows one input channel and one filter); it is checked against an allocated ``nn.Conv2d``.

    Controls: ``size`` N, ``kernel`` F, ``stride`` S, ``padding`` P, ``kind`` (the filter),
    ``position`` (index of the output pixel, row-major), ``in_channels`` C_i, ``out_channels`` C_o.
    ``data``: ``valid``, ``output_size`` (H_o, W_o), ``exact``, ``parameters`` (formula),
    ``model_parameters`` (counted), ``macs`` (multiply-adds of the layer), ``padded``, ``output``,
    ``kernel_weights``, ``row``/``col`` (the output pixel), ``window`` (top, left) in padded
    coordinates, ``value`` (the output pixel) and ``window_sum`` (Σ w·x over the window, the same
    number), ``unreached`` (mask of padded pixels no window covers), ``model`` (the ``Conv2d``).
    """

    figsize = (9.5, 3.6)
    columns = 4
    N_MAX, F_MAX, S_MAX, P_MAX = 16, 7, 4, 3
    CANVAS = N_MAX + 2 * P_MAX

    def make_controls(self):
        return {
            "size": int_slider(8, 3, self.N_MAX, "input size N"),
            "kernel": int_slider(3, 1, self.F_MAX, "kernel F"),
            "stride": int_slider(1, 1, self.S_MAX, "stride S"),
            "padding": int_slider(0, 0, self.P_MAX, "padding P"),
            "kind": dropdown([(label, key) for key, label in KERNELS.items()], "vertical_edge", "filter"),
            "position": int_slider(0, 0, 35, "window position"),
            "in_channels": int_slider(1, 1, 64, "input channels C_i"),
            "out_channels": int_slider(1, 1, 128, "filters C_o"),
        }

    def setup_figure(self, fig):
        ax, kx, ox = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 0.38, 1]})
        lim = (-0.5, self.CANVAS - 0.5)
        for a, title in ((ax, "input: image + zero padding"), (ox, "output feature map z")):
            a.set_xlim(*lim)
            a.set_ylim(lim[1], lim[0])
            a.set_aspect("equal")
            a.set_title(title, fontsize=9)
            _image_axes(a)
        self.artists["input"] = ax.imshow(np.zeros((1, 1, 4)), interpolation="nearest", zorder=0)
        self.artists["unreached"] = ax.imshow(np.zeros((1, 1, 4)), interpolation="nearest", zorder=1)
        self.artists["grid"] = ax.add_collection(LineCollection([], colors="0.6", linewidths=0.4, zorder=2))
        self.artists["centres"], = ax.plot([], [], ".", color=COLORS[1], ms=3, zorder=3)
        self.artists["window"] = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec=COLORS[3], lw=2.2, zorder=4))
        self.artists["output"] = ox.imshow(np.zeros((1, 1)), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        self.artists["out_grid"] = ox.add_collection(LineCollection([], colors="0.6", linewidths=0.4))
        self.artists["cell"] = ox.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec=COLORS[3], lw=2.2))
        klim = (-0.5, self.F_MAX - 0.5)
        kx.set_xlim(*klim)
        kx.set_ylim(klim[1], klim[0])
        kx.set_aspect("equal")
        kx.set_title("kernel w", fontsize=9)
        _image_axes(kx)
        self.artists["kernel"] = kx.imshow(np.zeros((1, 1)), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        self.artists["kernel_grid"] = kx.add_collection(LineCollection([], colors="0.6", linewidths=0.4))
        self._ax, self._kx, self._ox = ax, kx, ox
        fig.tight_layout()

    def on_control_change(self, name, value):
        if name == "position":
            return
        v = self.values
        span = v["size"] + 2 * v["padding"] - v["kernel"]
        cells = (span // v["stride"] + 1) ** 2 if span >= 0 else 1
        self.controls["position"].max = max(cells - 1, 0)

    def compute(self, size, kernel, stride, padding, kind, position, in_channels, out_channels):
        images, _, _ = fashion_images()
        image = resize_image(images[0], size)
        weights = example_kernel(kind, kernel)
        hp = size + 2 * padding
        padded = np.zeros((hp, hp))
        padded[padding:padding + size, padding:padding + size] = image
        is_pad = np.ones((hp, hp), dtype=bool)
        is_pad[padding:padding + size, padding:padding + size] = False
        span = hp - kernel
        parameters = conv_parameter_count(in_channels, out_channels, kernel)
        d = {"padded": padded, "is_padding": is_pad, "kernel_weights": weights, "valid": span >= 0,
             "exact": span >= 0 and span % stride == 0, "parameters": parameters,
             "model_parameters": _allocated_parameters(in_channels, out_channels, kernel),
             "size": size, "kernel": kernel, "stride": stride, "padding": padding}
        if span < 0:  # the kernel does not fit into the padded input: no output at all
            d.update(output_size=(0, 0), output=np.zeros((0, 0)), unreached=np.zeros((hp, hp), dtype=bool),
                     row=0, col=0, window=(0, 0), value=float("nan"), window_sum=float("nan"), macs=0, model=None)
            return d
        conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, rounding="floor", rng=0).double()
        conv.weight.data[0, 0] = weights
        conv.bias.data[:] = 0.0
        out = conv(image[None, None])[0, 0]
        ho, wo = out.shape
        row, col = divmod(min(position, ho * wo - 1), wo)
        top, left = row * stride, col * stride
        reach = (ho - 1) * stride + kernel  # rows/columns beyond this are never inside a window
        unreached = np.zeros((hp, hp), dtype=bool)
        unreached[reach:, :] = True
        unreached[:, reach:] = True
        window = padded[top:top + kernel, left:left + kernel]
        d.update(output_size=(ho, wo), output=out, unreached=unreached, row=row, col=col, window=(top, left),
                 value=float(out[row, col]), window_sum=float(np.sum(weights * window)),
                 macs=ho * wo * out_channels * in_channels * kernel * kernel, model=conv)
        return d

    def draw(self, d):
        hp = d["padded"].shape[0]
        rgba = np.empty((hp, hp, 4))
        rgba[..., :3] = d["padded"][..., None]
        rgba[..., 3] = 1.0
        rgba[d["is_padding"]] = _PAD_RGBA
        ext = (-0.5, hp - 0.5, hp - 0.5, -0.5)
        self.artists["input"].set_data(rgba)
        self.artists["input"].set_extent(ext)
        shade = np.zeros((hp, hp, 4))
        shade[d["unreached"]] = _UNREACHED_RGBA
        self.artists["unreached"].set_data(shade)
        self.artists["unreached"].set_extent(ext)
        self.artists["grid"].set_segments(_cell_grid(hp, hp))
        f = d["kernel"]
        kw = d["kernel_weights"]
        self.artists["kernel"].set_data(kw / max(np.abs(kw).max(), 1e-12))
        o = (self.F_MAX - f) / 2  # centred in the fixed 7×7 frame: a new kernel size is a blit, not a redraw
        self.artists["kernel"].set_extent((o - 0.5, o + f - 0.5, o + f - 0.5, o - 0.5))
        self.artists["kernel_grid"].set_segments([[(x + o, y + o) for x, y in seg] for seg in _cell_grid(f, f)])
        # the input and output axes share one scale (fitted to the padded input), so sizes compare at
        # a glance; limits only change with N or P (a full redraw, cheap: these axes have no ticks)
        lim = (-0.5, hp - 0.5)
        for ax in (self._ax, self._ox):
            set_limits(ax, xlim=lim, ylim=lim[::-1])
        ho, wo = d["output_size"]
        if not d["valid"]:
            self.artists["centres"].set_data([], [])
            self.artists["window"].set_visible(False)
            self.artists["cell"].set_visible(False)
            self.artists["output"].set_data(np.full((1, 1), np.nan))
            self.artists["out_grid"].set_segments([])
            return
        s = d["stride"]
        centres = np.arange(ho) * s + (f - 1) / 2
        cx, cy = np.meshgrid(centres, centres)
        self.artists["centres"].set_data(cx.ravel(), cy.ravel())
        top, left = d["window"]
        self.artists["window"].set_visible(True)
        self.artists["window"].set_bounds(left - 0.5, top - 0.5, f, f)
        out = d["output"]
        self.artists["output"].set_data(out / max(np.abs(out).max(), 1e-12))
        self.artists["output"].set_extent((-0.5, wo - 0.5, ho - 0.5, -0.5))
        self.artists["out_grid"].set_segments(_cell_grid(ho, wo))
        self.artists["cell"].set_visible(True)
        self.artists["cell"].set_bounds(d["col"] - 0.5, d["row"] - 0.5, 1, 1)

    def summary(self, d):
        n, f, s, p = d["size"], d["kernel"], d["stride"], d["padding"]
        params = (f"parameters $(C_i \\cdot F^2 + 1) \\cdot C_o$ = <b>{d['parameters']:,}</b> "
                  f"(an allocated Conv2d has {d['model_parameters']:,})")
        if not d["valid"]:
            return (f"<span style='color:#c00'>The kernel (F = {f}) is larger than the padded input "
                    f"(N + 2P = {n + 2 * p}): there is no output.</span> · {params}")
        ho = d["output_size"][0]
        ratio = (n + 2 * p - f) / s
        size = (f"$H_o = \\lfloor (N + 2P - F)/S \\rfloor + 1 = \\lfloor ({n} + 2\\cdot{p} - {f})/{s} \\rfloor + 1$"
                f" = <b>{ho}</b>, output {ho}×{ho}")
        if not d["exact"]:
            size += (f" <span style='color:#c00'>— (N + 2P − F)/S = {ratio:.2f} is not an integer: Seed 6.2.2 "
                     f"forbids this; PyTorch floors and the red border is never seen</span>")
        return (f"{size} · {params} · {d['macs']:,} multiply-adds · "
                f"window at row {d['row']}, column {d['col']}: $z = \\sum w \\cdot x$ = {d['value']:.3f}")


# =========================================================================================================
# 6.4 pooling
# =========================================================================================================
@functools.lru_cache(maxsize=64)
def _pool_inputs(sample: int, source: str) -> np.ndarray:
    """The pooled picture ``(28, 28)``: a Fashion-MNIST image or its ReLU'd vertical-edge feature map."""
    images, _, _ = fashion_images()
    image = images[sample]
    if source == "image":
        return image
    conv = nn.Conv2d(1, 1, 3, padding=1, rng=0).double()
    conv.weight.data[0, 0] = example_kernel("vertical_edge", 3)
    conv.bias.data[:] = 0.0
    return nn.ReLU()(conv(image[None, None]))[0, 0]


def _shift_right(x: np.ndarray, pixels: int) -> np.ndarray:
    if pixels == 0:
        return x
    out = np.zeros_like(x)
    out[:, pixels:] = x[:, :-pixels]
    return out


def _relative_change(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-12))


class PoolingExplorer(Widget):
    """Max vs average pooling of an image or a feature map (Seed 6.4).

    Left: the 28×28 input — a Fashion-MNIST image or a ReLU'd edge feature map, as a pooling layer
    deep in a CNN would see it — with the first two pooling windows (``F × F``, ``S`` apart).
    Middle and right: :class:`~dlcourse.nn.MaxPool2d` and :class:`~dlcourse.nn.AvgPool2d`, drawn
    over the area they summarise.  Max pooling keeps the strongest activation of each window
    (feature selection, Seed 6.4.2): on a sparse feature map the peaks survive, where averaging
    (Seed 6.4.3) dilutes them.  ``shift`` moves the input right by a few pixels: the relative change
    of the pooled maps shows how much of a small translation pooling absorbs.

    Controls: ``kernel`` F, ``stride`` S, ``source`` (``"image"``/``"edges"``), ``sample``, ``shift``.
    ``data``: ``input``, ``max``, ``avg`` (pooled maps), ``output_size``, ``exact`` (Seed 6.4.1 holds
    without flooring), ``peak_max``/``peak_avg`` (largest pooled value / largest input value),
    ``change_input``, ``change_max``, ``change_avg`` (relative change caused by the shift),
    ``model_max``/``model_avg`` (the layers).
    """

    figsize = (9.5, 3.5)
    SIZE = 28

    def make_controls(self):
        return {
            "kernel": int_slider(2, 1, 7, "window F"),
            "stride": int_slider(2, 1, 7, "stride S"),
            "source": dropdown([("image", "image"), ("edge feature map (after ReLU)", "edges")], "image", "input"),
            "sample": int_slider(0, 0, 39, "test image"),
            "shift": int_slider(0, 0, 4, "shift input right (pixels)"),
        }

    def setup_figure(self, fig):
        axes = fig.subplots(1, 3)
        lim = (-0.5, self.SIZE - 0.5)
        titles = ("input", "max pooling", "average pooling")
        for ax, title in zip(axes, titles):
            ax.set_xlim(*lim)
            ax.set_ylim(lim[1], lim[0])
            ax.set_aspect("equal")
            ax.set_title(title, fontsize=9)
            _image_axes(ax)
        self.artists["input"] = axes[0].imshow(np.zeros((self.SIZE, self.SIZE)), cmap="magma", vmin=0, vmax=1,
                                               interpolation="nearest")
        self.artists["window0"] = axes[0].add_patch(Rectangle((0, 0), 1, 1, fill=False, ec=COLORS[2], lw=2))
        self.artists["window1"] = axes[0].add_patch(Rectangle((0, 0), 1, 1, fill=False, ec=COLORS[9], lw=2, ls="--"))
        self.artists["max"] = axes[1].imshow(np.zeros((1, 1)), cmap="magma", vmin=0, vmax=1, interpolation="nearest")
        self.artists["avg"] = axes[2].imshow(np.zeros((1, 1)), cmap="magma", vmin=0, vmax=1, interpolation="nearest")
        fig.tight_layout()

    def compute(self, kernel, stride, source, sample, shift):
        x = _pool_inputs(sample, source)
        shifted = _shift_right(x, shift)
        pools = {"max": nn.MaxPool2d(kernel, stride, rounding="floor"),
                 "avg": nn.AvgPool2d(kernel, stride, rounding="floor")}
        out, base = {}, {}
        for key, layer in pools.items():
            base[key] = layer(x[None, None])[0, 0]
            out[key] = layer(shifted[None, None])[0, 0]
        ho, wo = out["max"].shape
        peak = max(float(shifted.max()), 1e-12)
        return {"input": shifted, "max": out["max"], "avg": out["avg"], "output_size": (ho, wo),
                "exact": (self.SIZE - kernel) % stride == 0, "kernel": kernel, "stride": stride,
                "peak_max": float(out["max"].max()) / peak, "peak_avg": float(out["avg"].max()) / peak,
                "change_input": _relative_change(x, shifted),
                "change_max": _relative_change(base["max"], out["max"]),
                "change_avg": _relative_change(base["avg"], out["avg"]),
                "model_max": pools["max"], "model_avg": pools["avg"]}

    def draw(self, d):
        scale = max(float(d["input"].max()), 1e-12)
        f, s = d["kernel"], d["stride"]
        self.artists["input"].set_data(d["input"] / scale)
        self.artists["window0"].set_bounds(-0.5, -0.5, f, f)
        self.artists["window1"].set_bounds(s - 0.5, -0.5, f, f)
        ho, wo = d["output_size"]
        # each output pixel is drawn over the S × S step it advances: the maps line up with the input
        extent = (-0.5, wo * s - 0.5, ho * s - 0.5, -0.5)
        for key in ("max", "avg"):
            self.artists[key].set_data(d[key] / scale)
            self.artists[key].set_extent(extent)

    def summary(self, d):
        f, s = d["kernel"], d["stride"]
        ho = d["output_size"][0]
        size = (f"$H_o = (H_i - F)/S + 1 = ({self.SIZE} - {f})/{s} + 1$ → <b>{ho}×{ho}</b> "
                f"({self.SIZE * self.SIZE / (ho * ho):.1f}× fewer values, channels unchanged)")
        if not d["exact"]:
            size += " <span style='color:#c00'>(not an integer: floored, the last rows/columns are dropped)</span>"
        return (f"{size} · strongest value kept: max pool {d['peak_max']:.0%}, average pool {d['peak_avg']:.0%} · "
                f"after the shift the input changed by {d['change_input']:.0%}, the max-pooled map by "
                f"{d['change_max']:.0%}, the average-pooled map by {d['change_avg']:.0%}")


# =========================================================================================================
# 6.3 / 6.8 filters and feature maps of a trained CNN
# =========================================================================================================
@dataclass
class CNNRun:
    """The demo CNN of Seed 6.8 trained on Fashion-MNIST, and its untrained starting point.

    ``model`` (trained) and ``initial`` (the same network before training) are ``Sequential``;
    ``accuracy``/``initial_accuracy`` are test accuracies; ``history`` the ``fit`` history.
    """

    model: nn.Sequential
    initial: nn.Sequential
    accuracy: float
    initial_accuracy: float
    history: object = None
    layer_names: tuple[str, ...] = field(default=())


#: (name, index of the layer's output in the Sequential) of the layers the figure can show
CNN_LAYERS = (("conv1", 0), ("relu1", 1), ("pool1", 2), ("conv2", 3), ("relu2", 4), ("pool2", 5))
DEMO_CNN_EPOCHS = 1
_CNN: dict[str, CNNRun] = {}


def demo_cnn_architecture(rng=None) -> nn.Sequential:
    """The ConvNet of Seed 6.8.1 in miniature: ``(N, 1, 28, 28)`` → scores ``(N, 10)``.

    conv 5×5 (1→8, same) · ReLU · max pool 2 → conv 3×3 (8→16, same) · ReLU · max pool 2 →
    flatten (16·7·7 = 784) · linear → 10 classes.  9,226 parameters.
    """
    return nn.Sequential(nn.Conv2d(1, 8, 5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 7 * 7, 10, rng=rng))


def demo_cnn(progress: bool = False) -> CNNRun:
    """Train (once per process) :func:`demo_cnn_architecture` on the 10,000 Fashion-MNIST training images.

    :data:`DEMO_CNN_EPOCHS` epoch(s) of Adam (learning rate 3·10⁻³, batches of 64) with the library's
    ``fit`` — a few seconds on a laptop; ``progress=True`` shows a progress bar.  Later calls return
    the cached result at once.  Its own random generator makes the network the same whatever the
    notebook seeded.
    """
    if "fashion" not in _CNN:
        data = load_fashion_mnist()
        gen = np.random.default_rng(0)
        model = demo_cnn_architecture(rng=gen)
        initial = demo_cnn_architecture(rng=gen)
        initial.load_state_dict(model.state_dict())
        initial.eval()
        before = float(np.mean(predict(model, data.X_test).argmax(1) == data.y_test))
        history = fit(model, nn.CrossEntropyLoss(), Adam(model.parameters(), lr=3e-3),
                      (data.X_train, data.y_train), epochs=DEMO_CNN_EPOCHS, batch_size=64, rng=gen,
                      progress=progress)
        model.eval()
        after = float(np.mean(predict(model, data.X_test).argmax(1) == data.y_test))
        _CNN["fashion"] = CNNRun(model, initial, after, before, history, tuple(n for n, _ in CNN_LAYERS))
    return _CNN["fashion"]


def _activations(model: nn.Sequential, image: np.ndarray) -> list[np.ndarray]:
    """Output of every layer of ``model`` for one image ``(28, 28)``, in order."""
    outs, x = [], image[None, None].astype(np.float32)
    for layer in model:
        x = layer(x)
        outs.append(x)
    return outs


class FeatureMapExplorer(Widget):
    """Filters and feature maps of a small CNN trained on Fashion-MNIST (Seed 6.3, 6.8).

    From left to right: a test image; the eight 5×5 filters of the first convolution (red
    positive, blue negative weights); the feature maps of the chosen layer for this image (one per
    filter / channel, same colours, scaled together); the predicted class probabilities.  Untick
    ``trained`` to see the same network before training: random filters produce noisy, unfocused
    maps and a guess near 10 %.  Moving through the layers shows each step of Seed 6.8.1: the
    convolution (signed responses), the ReLU (only positive evidence survives), the pooling (half
    the resolution, the strongest responses kept).

    Controls: ``sample`` (test image), ``layer`` (``conv1`` … ``pool2``), ``trained``.
    ``data``: ``image``, ``label``, ``filters (8, 5, 5)``, ``maps (C, h, w)``, ``probs (10,)``,
    ``pred``, ``accuracy`` (test accuracy of the shown network), ``model``.
    """

    figsize = (10.0, 3.4)
    MAP_SLOTS, MAP_COLUMNS = 16, 4

    def make_controls(self):
        return {
            "sample": int_slider(0, 0, 39, "test image"),
            "layer": dropdown([("conv 1 (8 maps, 28×28)", "conv1"), ("ReLU 1", "relu1"),
                               ("max pool 1 (14×14)", "pool1"), ("conv 2 (16 maps, 14×14)", "conv2"),
                               ("ReLU 2", "relu2"), ("max pool 2 (7×7)", "pool2")], "conv1", "layer"),
            "trained": checkbox(True, "trained network"),
        }

    def setup_figure(self, fig):
        self._run = demo_cnn()
        _, _, classes = fashion_images()
        grid = fig.add_gridspec(1, 4, width_ratios=[1, 1, 1.5, 1.15])
        ax_img, ax_f, ax_m, ax_p = (fig.add_subplot(grid[0, i]) for i in range(4))
        for ax, title in ((ax_img, "input"), (ax_f, "conv 1 filters"), (ax_m, "feature maps")):
            ax.set_title(title, fontsize=9)
            _image_axes(ax)
        self.artists["image"] = ax_img.imshow(np.zeros((28, 28)), cmap="gray", vmin=0, vmax=1)
        self.artists["filters"] = ax_f.imshow(np.zeros((11, 23)), cmap="RdBu_r", vmin=-1, vmax=1)
        self.artists["maps"] = ax_m.imshow(np.zeros((4, 4)), cmap="RdBu_r", vmin=-1, vmax=1, extent=(0, 1, 1, 0))
        ax_m.set_xlim(0, 1)
        ax_m.set_ylim(1, 0)
        ax_m.set_aspect("equal")
        self.artists["bars"] = ax_p.barh(np.arange(10), np.zeros(10), color="0.6")
        ax_p.set_yticks(np.arange(10), [c.split("/")[0][:10] for c in classes], fontsize=7)
        ax_p.invert_yaxis()
        ax_p.set_xlim(0, 1)
        ax_p.set_title("P(class)", fontsize=9)
        ax_p.tick_params(axis="x", labelsize=7)
        fig.tight_layout()

    def compute(self, sample, layer, trained):
        run = self._run
        model = run.model if trained else run.initial
        images, labels, _ = fashion_images()
        acts = _activations(model, images[sample])
        index = dict(CNN_LAYERS)[layer]
        probs = softmax(acts[-1][0].astype(np.float64))
        filters = model[0].weight.data[:, 0].astype(np.float64)
        return {"image": images[sample], "label": int(labels[sample]), "filters": filters,
                "maps": acts[index][0].astype(np.float64), "probs": probs, "pred": int(np.argmax(probs)),
                "accuracy": run.accuracy if trained else run.initial_accuracy, "layer": layer, "model": model}

    def draw(self, d):
        self.artists["image"].set_data(d["image"])
        f = d["filters"]
        self.artists["filters"].set_data(image_mosaic(f / max(np.abs(f).max(), 1e-12), columns=4))
        maps = d["maps"]
        mosaic = image_mosaic(maps / max(np.abs(maps).max(), 1e-12), columns=self.MAP_COLUMNS, slots=self.MAP_SLOTS)
        self.artists["maps"].set_data(mosaic)
        for k, bar in enumerate(self.artists["bars"]):
            bar.set_width(d["probs"][k])
            bar.set_color(COLORS[2] if k == d["label"] else (COLORS[3] if k == d["pred"] else "0.6"))

    def summary(self, d):
        _, _, classes = fashion_images()
        verdict = "correct" if d["pred"] == d["label"] else "wrong"
        c, h, w = d["maps"].shape
        return (f"{'trained' if self._run.model is d['model'] else 'untrained'} network, test accuracy "
                f"{d['accuracy']:.1%} · true class <b>{classes[d['label']]}</b> (green), predicted "
                f"<b>{classes[d['pred']]}</b> with {d['probs'][d['pred']]:.0%} ({verdict}) · "
                f"layer {d['layer']}: {c} maps of {h}×{w}")


# =========================================================================================================
# 6.10.2 U-Net segmentation
# =========================================================================================================
@dataclass
class UNetRun:
    """A tiny U-Net trained to find the shapes of ``make_shapes`` (Seed 6.10.2), with snapshots.

    ``steps`` are the snapshot points; ``probs[k] (n_test, H, W)`` is P(shape) on the test images
    after ``steps[k]`` training steps.  ``baseline_iou``: the best mean IoU that a threshold on the
    pixel brightness alone reaches on the test images (no context, no learning beyond one number).
    """

    model: UNet
    steps: tuple[int, ...]
    probs: list[np.ndarray]
    images: np.ndarray
    masks: np.ndarray
    train_loss: list[float]
    baseline_iou: float
    baseline_threshold: float


UNET_SNAPSHOTS = (0, 10, 20, 30, 40, 60, 80)
UNET_SIZE, UNET_NOISE, UNET_TEST = 32, 0.35, 40
_UNET: dict[str, UNetRun] = {}


def _best_pixel_threshold(images: np.ndarray, masks: np.ndarray) -> tuple[float, float]:
    """``(iou, threshold)`` of the best brightness threshold: the no-network baseline."""
    best = max((mean_iou((images > t).astype(np.int64), masks, 2), t) for t in np.linspace(0.0, 0.8, 33))
    return float(best[0]), float(best[1])


def demo_unet(progress: bool = False) -> UNetRun:
    """Train (once per process) a U-Net (depth 2, 4 base channels) to tell shape pixels from
    background on noisy 32×32 images of :func:`~dlcourse.data.make_shapes`.

    The noise (σ = 0.35) is strong enough that a brightness threshold fails on single pixels; the
    network has to use the neighbourhood (the encoder's context) and put the edges back in place
    (the decoder's skip connections).  80 Adam steps (learning rate 0.02) on batches of 8 with
    per-pixel cross-entropy — a few seconds; ``progress=True`` shows a progress bar.  No batch
    norm: with batches of 8 its running statistics lag behind this early in training, and the
    snapshots would jump.  Snapshots of the test predictions are kept at :data:`UNET_SNAPSHOTS` steps.
    """
    if "shapes" not in _UNET:
        gen = np.random.default_rng(0)
        X, masks = make_shapes(512, size=UNET_SIZE, noise=UNET_NOISE, rng=gen)
        X_test, masks_test = make_shapes(UNET_TEST, size=UNET_SIZE, noise=UNET_NOISE, rng=gen)
        Y, Y_test = (masks > 0).astype(np.int64), (masks_test > 0).astype(np.int64)
        with _global_generator(gen):  # UNet takes no rng: its layers draw from the global generator
            model = UNet(1, 2, base_channels=4, depth=2, batch_norm=False)
        loss_fn = nn.CrossEntropyLoss()
        opt = Adam(model.parameters(), lr=2e-2)
        probs, losses = [], []

        def snapshot():
            probs.append(softmax(predict(model, X_test).astype(np.float64), dim=1)[:, 1])

        bar = _progress_bar(UNET_SNAPSHOTS[-1], progress, "U-Net")
        for step in range(UNET_SNAPSHOTS[-1] + 1):
            if step in UNET_SNAPSHOTS:
                snapshot()
            if step == UNET_SNAPSHOTS[-1]:
                break
            idx = gen.integers(0, len(X), 8)
            model.train()
            opt.zero_grad()
            losses.append(float(loss_fn(model(X[idx]), Y[idx])))
            model.backward(loss_fn.backward())
            opt.step()
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        model.eval()
        _, threshold = _best_pixel_threshold(X[:200, 0], Y[:200])  # chosen on training images
        baseline = mean_iou((X_test[:, 0] > threshold).astype(np.int64), Y_test, 2)
        _UNET["shapes"] = UNetRun(model, UNET_SNAPSHOTS, probs, X_test[:, 0], Y_test, losses, float(baseline),
                                  threshold)
    return _UNET["shapes"]


@contextmanager
def _global_generator(gen: np.random.Generator):
    """Let layers that take no ``rng`` draw from ``gen``; the notebook's global generator is untouched."""
    saved = _rng._global["rng"]
    _rng._global["rng"] = gen
    try:
        yield
    finally:
        _rng._global["rng"] = saved


def _progress_bar(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal (as in dlcourse.train.fit)

    return tqdm(total=total, desc=desc, leave=False)


class UNetSegmentation(Widget):
    """A tiny U-Net separating shapes from a noisy background (Seed 6.10.2), at several stages of training.

    From left to right: a noisy test image; the true mask; the U-Net's per-pixel probability
    P(shape); the prediction ``P(shape) > threshold`` with its errors (red: background called shape,
    blue: shape missed); the mean IoU on all test images against the number of training steps,
    next to the best a brightness threshold alone achieves (dashed).

    Controls: ``sample`` (test image), ``steps`` (training snapshot), ``threshold``.
    ``data``: ``image``, ``mask``, ``prob``, ``pred``, ``iou`` (this image), ``test_iou`` (all test
    images, at this snapshot and threshold), ``curve_steps``/``curve_iou`` (test IoU of every
    snapshot at this threshold), ``baseline_iou``, ``model`` (the trained ``UNet``).
    """

    figsize = (10.5, 2.8)

    def make_controls(self):
        return {
            "sample": int_slider(0, 0, UNET_TEST - 1, "test image"),
            "steps": W.SelectionSlider(options=list(UNET_SNAPSHOTS), value=UNET_SNAPSHOTS[-1],
                                       description="training steps", continuous_update=False,
                                       style={"description_width": "initial"},
                                       layout={"width": "auto", "min_width": "260px"}),
            "threshold": float_slider(0.5, 0.05, 0.95, 0.05, "threshold on P(shape)"),
        }

    def setup_figure(self, fig):
        self._run = demo_unet()
        grid = fig.add_gridspec(1, 5, width_ratios=[1, 1, 1, 1, 1.6])
        axes = [fig.add_subplot(grid[0, i]) for i in range(5)]
        s = UNET_SIZE
        for ax, title in zip(axes[:4], ("noisy input", "true mask", "P(shape)", "prediction & errors")):
            ax.set_title(title, fontsize=9)
            _image_axes(ax)
        self.artists["image"] = axes[0].imshow(np.zeros((s, s)), cmap="gray", vmin=-0.3, vmax=1.3)
        self.artists["mask"] = axes[1].imshow(np.zeros((s, s)), cmap="gray", vmin=0, vmax=1)
        self.artists["prob"] = axes[2].imshow(np.zeros((s, s)), cmap="viridis", vmin=0, vmax=1)
        self.artists["pred"] = axes[3].imshow(np.zeros((s, s, 4)))
        cx = axes[4]
        self.artists["curve"], = cx.plot([], [], "o-", color=COLORS[0], ms=4, label="U-Net")
        self.artists["current"], = cx.plot([], [], "o", color=COLORS[3], ms=9, mfc="none", mew=2)
        cx.axhline(self._run.baseline_iou, color="0.4", ls="--", lw=1, label="brightness threshold")
        cx.set_xlim(-3, UNET_SNAPSHOTS[-1] + 3)
        cx.set_ylim(0.0, 1.0)
        cx.set_xlabel("training steps", fontsize=8)
        cx.set_ylabel("test mean IoU", fontsize=8)
        cx.tick_params(labelsize=7)
        static_legend(cx, fontsize=7, loc="lower right")
        fig.tight_layout()

    def compute(self, sample, steps, threshold):
        run = self._run
        k = run.steps.index(steps)
        prob = run.probs[k][sample]
        pred = (prob > threshold).astype(np.int64)
        mask = run.masks[sample]
        curve = [mean_iou((p > threshold).astype(np.int64), run.masks, 2) for p in run.probs]
        return {"image": run.images[sample], "mask": mask, "prob": prob, "pred": pred,
                "iou": mean_iou(pred, mask, 2), "test_iou": curve[k], "curve_steps": np.array(run.steps),
                "curve_iou": np.array(curve), "baseline_iou": run.baseline_iou, "steps": steps,
                "model": run.model}

    def draw(self, d):
        self.artists["image"].set_data(d["image"])
        self.artists["mask"].set_data(d["mask"])
        self.artists["prob"].set_data(d["prob"])
        pred, mask = d["pred"].astype(bool), d["mask"].astype(bool)
        rgba = np.zeros(pred.shape + (4,))
        rgba[..., 3] = 1.0
        rgba[pred & mask] = (1.0, 1.0, 1.0, 1.0)
        rgba[pred & ~mask] = to_rgba(COLORS[3])
        rgba[~pred & mask] = to_rgba(COLORS[0])
        self.artists["pred"].set_data(rgba)
        self.artists["curve"].set_data(d["curve_steps"], d["curve_iou"])
        self.artists["current"].set_data([d["steps"]], [d["test_iou"]])

    def summary(self, d):
        wrong = int(np.sum(d["pred"] != d["mask"]))
        return (f"after {d['steps']} steps: mean IoU {d['iou']:.2f} on this image ({wrong} of {d['mask'].size} "
                f"pixels wrong), <b>{d['test_iou']:.2f}</b> on all {UNET_TEST} test images · a brightness threshold "
                f"alone: {d['baseline_iou']:.2f}")
