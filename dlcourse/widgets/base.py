"""Shared plumbing of the interactive figures (DESIGN.md, "Interactive figures").

A figure is a subclass of :class:`Widget` that fills in four methods::

    class LossCurve(Widget):
        def make_controls(self):            # name -> ipywidget (continuous_update=False)
            return {"lr": log_slider(1e-2, 1e-4, 1, "learning rate α")}

        def setup_figure(self, fig):        # axes and *empty* artists, created once
            ax = fig.add_subplot()
            self.artists["loss"], = ax.plot([], [])

        def compute(self, lr):              # the model: numbers only, no matplotlib
            return {"loss": train(lr)}

        def draw(self, data):               # move the artists, never re-create the axes
            self.artists["loss"].set_data(np.arange(len(data["loss"])), data["loss"])

Moving a control (in the browser, or ``widget.controls["lr"].value = 0.1`` / ``widget.set(lr=0.1)``
in a test) runs ``compute`` then ``draw`` and repaints the canvas in place.  The latest numbers
are in ``widget.data``, the artists in ``widget.artists``, the time of the last update (compute,
draw and repaint) in ``widget.last_update_ms``.  A notebook shows a widget by making it the last
expression of a cell.

Repainting is cheap by design: the artists in ``widget.artists`` are *animated* and blitted over a
cached picture of everything else (axes, ticks, labels), so a move re-renders only the data.
Changing anything static in ``draw`` (axis limits, a title, a legend) is allowed but costs a full
redraw — see ``_setup_blitting`` and ``set_limits``.

The figure is created with ``pyplot.new_figure_manager`` under ``plt.ioff()``: with ipympl
(``%matplotlib widget``) its canvas is itself an ipywidget that is placed under the controls;
with any other backend (Agg in tests, ``%matplotlib inline``) the figure is shown as a static
image in an ``Output`` that is refreshed after every update.  The figure is never registered with
pyplot, so widgets neither appear twice nor count towards matplotlib's open-figure warning.
"""
from __future__ import annotations

import html
import itertools
import time
from contextlib import contextmanager
from typing import Any, Sequence

import ipywidgets as W
import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.image import AxesImage, _draw_list_compositing_images
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.transforms import Bbox

from .._threads import one_blas_thread
from ..nn.dropout import Dropout
from ..nn.module import backward_to_parameters
from ..nn.norm import _BatchNormBase
from .frames import send_fast_frames
from .text_cache import cache_text

__all__ = ["Widget", "float_slider", "log_slider", "int_slider", "dropdown", "checkbox", "toggle_buttons",
           "select_multiple", "static_legend", "train_full_batch", "grid_points", "set_limits", "COLORS",
           "CLASS_COLORS"]

#: One colour per curve, consistent across figures (matplotlib's tab10).
COLORS = plt.get_cmap("tab10").colors
#: Class colours of the 2-D classification figures (blue / orange / green as in TensorFlow Playground).
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")

_STYLE = {"description_width": "initial"}
_LAYOUT = {"width": "auto", "min_width": "260px"}
_figure_ids = itertools.count(1)


# -- controls -----------------------------------------------------------------------------------------
# Every slider updates on release (continuous_update=False): one retrain per move, not one per pixel.
def float_slider(value: float, min: float, max: float, step: float, description: str,
                 fmt: str = ".3g") -> W.FloatSlider:
    """A float slider with a readable label, updating when released."""
    return W.FloatSlider(value=value, min=min, max=max, step=step, description=description,
                         readout_format=fmt, continuous_update=False, style=_STYLE, layout=_LAYOUT)


def log_slider(value: float, min: float, max: float, description: str) -> W.FloatLogSlider:
    """A slider over ``[min, max]`` on a log scale (learning rates, λ): ten stops per decade."""
    return W.FloatLogSlider(value=value, base=10, min=np.log10(min), max=np.log10(max), step=0.1,
                            description=description, readout_format=".2g", continuous_update=False,
                            style=_STYLE, layout=_LAYOUT)


def int_slider(value: int, min: int, max: int, description: str, step: int = 1) -> W.IntSlider:
    return W.IntSlider(value=value, min=min, max=max, step=step, description=description,
                       continuous_update=False, style=_STYLE, layout=_LAYOUT)


def dropdown(options: Sequence, value: Any, description: str) -> W.Dropdown:
    """``options`` are values or ``(label, value)`` pairs."""
    return W.Dropdown(options=options, value=value, description=description, style=_STYLE, layout=_LAYOUT)


def toggle_buttons(options: Sequence, value: Any, description: str) -> W.ToggleButtons:
    return W.ToggleButtons(options=options, value=value, description=description, style=_STYLE)


def checkbox(value: bool, description: str) -> W.Checkbox:
    return W.Checkbox(value=value, description=description, indent=False, style=_STYLE, layout=_LAYOUT)


def select_multiple(options: Sequence, value: Sequence, description: str, rows: int = 6) -> W.SelectMultiple:
    return W.SelectMultiple(options=options, value=tuple(value), description=description, rows=rows,
                            style=_STYLE, layout=_LAYOUT)


# -- legends ---------------------------------------------------------------------------------------------
def static_legend(ax, **kwargs):
    """A legend drawn with the static background instead of being repainted over the data on every update.

    The figures repaint only their data artists (a blit); a normal legend of an axes with data is
    repainted too, and it is among the most expensive things to draw.  A legend added as a plain
    artist belongs to the background: the data may pass over it (also in ``savefig``), but each update is
    much cheaper.
    """
    legend = ax.legend(**kwargs)
    ax.legend_ = None
    ax.add_artist(legend)
    legend.set_zorder(1.5)  # under the lines (zorder 2) in every render, as in a blitted frame
    return legend


# -- the base class ----------------------------------------------------------------------------------------
class Widget:
    """One interactive figure: controls + a matplotlib figure updated in place.

    Subclasses implement :meth:`make_controls`, :meth:`setup_figure`, :meth:`compute`, :meth:`draw`
    and optionally :meth:`summary` (one line of HTML under the figure) and :meth:`on_control_change`
    (adjust dependent controls, e.g. reset the learning rate when the surface changes).

    Keyword arguments of the constructor set initial control values: ``OptimizerRace(lr=0.01)``.

    Attributes:
        controls: ``{name: ipywidget}``; move one and the figure updates.
        data: what the last :meth:`compute` returned (trained model, curves, metrics).
        artists: the matplotlib artists :meth:`draw` updates, by name (tests read their data).
        figure: the matplotlib figure.
        last_update_ms: wall time of the last update (compute, draw, repaint), in milliseconds.
        full_draws: how many full redraws happened (the others were blits of the data only).
        partial_draws: how many redraws re-rendered only the region of the axes that changed.
        text_cache: the glyphs of the texts the canvas drew (:mod:`dlcourse.widgets.text_cache`), or None.
        error: the exception of the last update triggered from the UI (shown in the status line), or None.
    """

    figsize: tuple[float, float] = (9.0, 3.4)
    #: controls per row in the layout
    columns: int = 3
    #: names of axes attributes (``"_ax"``) whose ticks and labels always stay within their share of the
    #: figure (up to halfway to the next artist): a partial redraw re-renders that whole share instead of
    #: first measuring where the new ticks went, which costs as much as drawing them
    fixed_area_axes: tuple[str, ...] = ()

    def __init__(self, **values: Any) -> None:
        self.controls: dict[str, W.ValueWidget] = self.make_controls()
        unknown = set(values) - set(self.controls)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no control(s) {sorted(unknown)}; "
                            f"its controls are {sorted(self.controls)}")
        self.data: dict[str, Any] = {}
        self.artists: dict[str, Any] = {}
        self.error: Exception | None = None
        self.last_update_ms = float("nan")
        self._holding = False
        self._box: W.Box | None = None
        self._output: W.Output | None = None
        self.status = W.HTMLMath()  # the browser typesets $…$, the kernel renders nothing
        with plt.ioff():
            manager = plt.new_figure_manager(num=100_000 + next(_figure_ids), figsize=self.figsize)
        self.figure = manager.canvas.figure
        self._manager = manager  # keeps the canvas alive; it is not registered with pyplot
        self._configure_canvas()
        self.setup_figure(self.figure)
        self._setup_blitting()
        for name, control in self.controls.items():
            control.observe(lambda change, name=name: self._on_change(name, change), names="value")
        with self.hold():
            self.on_control_change(None, None)
            self._assign(values)

    # -- to implement ----------------------------------------------------------------------------
    def make_controls(self) -> dict[str, W.ValueWidget]:
        raise NotImplementedError

    def setup_figure(self, fig) -> None:
        raise NotImplementedError

    def compute(self, **values: Any) -> dict[str, Any]:
        raise NotImplementedError

    def draw(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def summary(self, data: dict[str, Any]) -> str:
        return ""

    def on_control_change(self, name: str | None, value: Any) -> None:
        """Called (inside :meth:`hold`) when control ``name`` changed; ``name=None`` once at start."""

    # -- driving it ------------------------------------------------------------------------------
    @property
    def values(self) -> dict[str, Any]:
        """Current value of every control."""
        return {name: c.value for name, c in self.controls.items()}

    def set(self, **values: Any) -> "Widget":
        """Set several controls at once with a single update (what a test or a notebook cell uses)."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no control(s) {sorted(unknown)}")
        with self.hold():
            self._assign(values)
        return self

    def _assign(self, values: dict[str, Any]) -> None:
        # in the order of the controls, so that a control others depend on (the surface, the
        # schedule) is set first and the dependent values given in the same call win
        for name in self.controls:
            if name in values:
                self.controls[name].value = values[name]

    @contextmanager
    def hold(self):
        """Suppress updates while several controls change; update once at the end."""
        outer = self._holding
        self._holding = True
        try:
            yield
        finally:
            self._holding = outer
        if not outer:
            self.update()

    def update(self) -> None:
        """Recompute the model and redraw the figure in place."""
        t0 = time.perf_counter()
        with one_blas_thread():
            self.data = self.compute(**self.values)
            self.draw(self.data)
        self.error = None
        self.status.value = self.summary(self.data)
        self._repaint()
        self.last_update_ms = (time.perf_counter() - t0) * 1000

    def _on_change(self, name: str, change) -> None:
        if self._holding:  # several changes at once: adjust dependent controls, update once at the end
            self.on_control_change(name, change["new"])
            return
        try:
            with self.hold():
                self.on_control_change(name, change["new"])
        except Exception as exc:  # a callback's exception would vanish into the kernel log
            self.error = exc
            self.status.value = (f"<span style='color:#c00'>{type(exc).__name__}: "
                                 f"{html.escape(str(exc))}</span>")

    # -- display ---------------------------------------------------------------------------------
    def _configure_canvas(self) -> None:
        canvas = self.figure.canvas
        # labels, ticks and numbers mostly reappear where they were: their glyphs are replayed, not re-rendered
        self.text_cache = cache_text(canvas)
        if isinstance(canvas, W.DOMWidget):  # ipympl
            canvas.header_visible = False
            canvas.footer_visible = False
            canvas.resizable = False
            canvas.toolbar_position = "right"
            send_fast_frames(canvas)  # a third of the time to encode every frame it sends

    # -- repainting: blit the data over a cached background --------------------------------------
    # Drawing tick labels, legends and titles is most of a matplotlib frame.  The artists a figure
    # updates (everything in ``self.artists``) are marked *animated*: a full draw renders only the
    # static rest, ``_on_draw_event`` caches that as the background and paints the data on top.
    # An update then restores the background and repaints only the data — unless ``draw`` changed
    # something static (axis limits, a legend), which marks its axes stale and costs a redraw of the
    # part of the figure those axes cover (``_redraw_region``; a full draw when something outside
    # the axes changed).  Matplotlib includes animated artists when saving, so ``savefig`` and
    # inline display still work.
    def _setup_blitting(self) -> None:
        animated = list(_artists(self.artists))
        for ax in {a.axes for a in animated if isinstance(a, AxesImage)}:
            # an image repainted over the background would hide static points drawn above it
            animated += [c for c in (*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.artists)
                         if c not in animated]
        for ax in {a.axes for a in animated} - {None}:
            legend = ax.get_legend()  # keep legends on top of the repainted data
            if legend is not None and legend not in animated:
                legend.set_zorder(max(legend.get_zorder(), 10))
                animated.append(legend)
        order = {ax: i for i, ax in enumerate(self.figure.axes)}
        animated.sort(key=lambda a: (order.get(a.axes, len(order)), a.get_zorder()))
        for artist in animated:
            artist.set_animated(True)
        self._animated = animated
        self._background = None
        self._extents: dict[Artist, Any] = {}
        self._areas: dict[Axes, Bbox] = {}
        # measuring the extents costs a quarter of a full draw: skipped while every static change
        # touched all axes (a partial redraw would not help), resumed when one did not
        self._measure_extents = True
        self.figure.canvas.mpl_connect("draw_event", self._on_draw_event)
        self.full_draws = 0
        self.partial_draws = 0

    def _on_draw_event(self, event) -> None:
        canvas = self.figure.canvas
        if canvas.is_saving():  # savefig draws animated artists itself
            return
        self._background = canvas.copy_from_bbox(self.figure.bbox)
        self._extents = ({a: _extent(a, event.renderer) for a in _static_children(self.figure)}
                         if self._measure_extents else {})
        fixed = [getattr(self, name) for name in self.fixed_area_axes]
        self._areas = {ax: _area(ax, self._extents, self.figure.bbox) for ax in fixed if ax in self._extents}
        self._paint_data()
        self.full_draws += 1

    def _paint_data(self) -> None:
        for artist in self._animated:
            if artist.get_visible():
                (artist.axes or self.figure).draw_artist(artist)
        # drawing a legend re-lays out its frame (and some artists re-set their transforms), which
        # marks the axes and the figure stale; that is not a change of the background just drawn
        for ax in self.figure.axes:
            ax.stale = False
        self.figure.stale = False

    def _repaint(self) -> None:
        canvas = self.figure.canvas
        if getattr(canvas, "syncing_data_url", False):
            # the ipympl view is not initialised in the browser yet: a frame sent now breaks it for good
            # ("drawImage ... broken state", a 0x0 figure). Render with Agg only; ipympl sends a full
            # frame itself when the browser asks for one.
            FigureCanvasAgg.draw(canvas)
        elif self._background is None or (self.figure.stale and not self._redraw_region()):
            canvas.draw()  # ipympl sends the frame after the draw event painted the data
        else:
            canvas.restore_region(self._background)
            self._paint_data()
            canvas.blit(self.figure.bbox)
        if self._output is not None:  # not ipympl: show a static image
            from IPython.display import display

            self._output.clear_output(wait=True)
            with self._output:
                display(self.figure)

    def _redraw_region(self) -> bool:
        """Redraw only the part of the canvas covered by the axes whose static content changed.

        A move that changes one axes' limits or title need not re-render the other axes' ticks and
        labels.  The region is the union of the stale axes' extents (ticks, labels, title) before and
        after the change, padded by a few pixels; every static artist of the figure that reaches
        into the region is drawn again, in the order of a full draw, over a cleared canvas, and the
        pixels outside the region are then put back from the cached background — so the result is
        the full draw's, pixel for pixel.  For the axes a widget lists in ``fixed_area_axes`` the region
        is their share of the figure (``_area``) instead of their measured extents: the same pixels as
        long as their ticks stay within that share.  Returns False (the caller draws everything) when
        something other than an axes changed (a figure legend, the size, a layout engine).
        """
        fig, canvas = self.figure, self.figure.canvas
        engine = fig.get_layout_engine()
        if engine is not None and not isinstance(engine, PlaceHolderLayoutEngine):
            return False  # a layout engine may move every axes
        children = _static_children(fig)
        stale = [a for a in children if a.stale]
        if not stale or not all(isinstance(a, Axes) for a in stale):
            return False
        if len(stale) == len(fig.axes):
            self._measure_extents = False  # every axes changed: a partial redraw would not be cheaper
            return False
        if set(children) != set(self._extents):
            self._measure_extents = True
            return False
        renderer = canvas.get_renderer()
        width, height = (int(v) for v in renderer.get_canvas_width_height())
        if self._background.get_extents() != (0, 0, width, height):
            return False
        # an axes' tight box includes its ticks (via the spines); line widths and antialiasing
        # reach a little beyond every box
        pad = 3 * fig.dpi / 72
        boxes = [self._extents[a] for a in stale]
        for a in stale:
            self._extents[a] = self._areas[a] if a in self._areas else _extent(a, renderer)
            boxes.append(self._extents[a])
        region = Bbox.union(boxes).padded(pad)
        x0, x1 = max(int(np.floor(region.x0)), 0), min(int(np.ceil(region.x1)), width)
        y0, y1 = max(int(np.floor(region.y0)), 0), min(int(np.ceil(region.y1)), height)
        if x0 >= x1 or y0 >= y1:
            return False
        region = Bbox.from_extents(x0, y0, x1, y1)
        redraw = [a for a in children if self._extents[a].padded(pad).overlaps(region)]
        canvas.restore_region(self._background)
        pixels = np.asarray(renderer.buffer_rgba())
        kept = pixels.copy()
        rows = slice(height - y1, height - y0)  # the buffer's rows run top to bottom
        pixels[rows, x0:x1] = 0
        fig.patch.draw(renderer)
        _draw_list_compositing_images(renderer, fig, redraw, fig.suppressComposite)
        # keep only the redrawn region; the redrawn artists also painted outside it
        pixels[:height - y1], pixels[height - y0:] = kept[:height - y1], kept[height - y0:]
        pixels[rows, :x0], pixels[rows, x1:] = kept[rows, :x0], kept[rows, x1:]
        fig.stale = False
        self._background = canvas.copy_from_bbox(fig.bbox)
        self.partial_draws += 1
        return True

    @property
    def box(self) -> W.Box:
        """The displayable layout: controls in rows, the figure, the status line."""
        if self._box is None:
            items = list(self.controls.values())
            rows = [W.HBox(items[i:i + self.columns]) for i in range(0, len(items), self.columns)]
            canvas = self.figure.canvas
            if isinstance(canvas, W.DOMWidget):
                view = canvas
            else:
                self._output = view = W.Output()
                self._repaint()
            self._box = W.VBox([*rows, view, self.status])
        return self._box

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Release the figure and the widgets (a notebook rarely needs this)."""
        if self._box is not None:
            self._box.close()
        for control in self.controls.values():
            control.close()
        self.status.close()
        if isinstance(self.figure.canvas, W.DOMWidget):
            self.figure.canvas.close()

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{type(self).__name__}({values})"


def _artists(obj):
    """Every matplotlib artist in ``obj`` (an artist, or dicts/lists/containers of them)."""
    if isinstance(obj, Axes):
        return
    if isinstance(obj, Artist):
        if obj.axes is not None or obj.figure is not None:
            yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _artists(value)
    elif isinstance(obj, (list, tuple)):  # BarContainer is a tuple of patches
        for value in obj:
            yield from _artists(value)


def _static_children(fig) -> list[Artist]:
    """The figure's children a full draw renders, in drawing order (as ``Figure.draw``)."""
    return sorted((a for a in fig.get_children() if a is not fig.patch and not a.get_animated()),
                  key=lambda a: a.get_zorder())


def _extent(artist: Artist, renderer) -> Bbox:
    """Where ``artist`` paints, in display pixels (the whole figure if it cannot say)."""
    try:
        box = artist.get_tightbbox(renderer) if isinstance(artist, Axes) else artist.get_window_extent(renderer)
    except Exception:  # noqa: BLE001 - an artist without a usable extent is simply always redrawn
        box = None
    if box is None or not np.all(np.isfinite(box.extents)):
        return Bbox(artist.get_figure(root=True).bbox.get_points().copy()).padded(1)
    return Bbox(box.get_points().copy())


def _area(ax: Axes, extents: dict, figure_box: Bbox) -> Bbox:
    """``ax``'s share of the figure: its extent grown to the figure's edges, or to halfway to the
    extent of another artist beside, above or below it."""
    box = extents[ax]
    x0, y0, x1, y1 = figure_box.extents
    for other, o in extents.items():
        if other is ax:
            continue
        beside, above_or_below = o.y0 < box.y1 and o.y1 > box.y0, o.x0 < box.x1 and o.x1 > box.x0
        if beside and o.x0 >= box.x1:
            x1 = min(x1, (box.x1 + o.x0) / 2)
        if beside and o.x1 <= box.x0:
            x0 = max(x0, (o.x1 + box.x0) / 2)
        if above_or_below and o.y0 >= box.y1:
            y1 = min(y1, (box.y1 + o.y0) / 2)
        if above_or_below and o.y1 <= box.y0:
            y0 = max(y0, (o.y1 + box.y0) / 2)
    return Bbox.from_extents(x0, y0, x1, y1)


def set_limits(ax, xlim=None, ylim=None) -> None:
    """Set axis limits only if they change: a change costs a full redraw (the ticks move)."""
    if xlim is not None and not np.allclose(ax.get_xlim(), xlim):
        ax.set_xlim(*xlim)
    if ylim is not None and not np.allclose(ax.get_ylim(), ylim):
        ax.set_ylim(*ylim)


# -- numerical helpers shared by the figures -----------------------------------------------------------
def grid_points(bounds: tuple[tuple[float, float], tuple[float, float]], resolution: int = 60):
    """``(xs, ys, points)``: axis ticks ``(resolution,)`` and the grid as points ``(resolution², 2)``."""
    (x0, x1), (y0, y1) = bounds
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)


def train_full_batch(model, loss_fn, optimizer, X, y, steps: int, *, penalty=None, penalized=None,
                     X_val=None, y_val=None, eval_every: int = 10) -> dict[str, np.ndarray]:
    """Full-batch gradient steps with the layer contract (Seed 4.3.2, 5.3–5.4); loss curves out.

    ``dlcourse.train.fit`` is the training loop of the course; a figure uses this lean variant
    because it retrains on every slider move: no ``DataLoader``, no progress bar, and the
    validation loss only every ``eval_every`` steps (in eval mode: dropout off, BN running stats).
    ``penalty`` (``L1Penalty``/``L2Penalty``) applies to ``penalized`` (default: all parameters).

    Returns ``{"step", "train_loss"}`` (one entry per step) and ``{"val_step", "val_loss"}``.
    Training stops early, keeping the finite part of the curves, if the loss becomes NaN/inf.
    """
    params = list(model.parameters()) if penalized is None else list(penalized)
    train_loss, val_steps, val_loss = [], [], []
    # switching modes walks every sub-module: only do it when dropout or batch norm care
    has_modes = any(isinstance(m, (Dropout, _BatchNormBase)) for m in model.modules())
    model.train()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for step in range(steps):
            if X_val is not None and step % eval_every == 0:
                val_steps.append(step)
                val_loss.append(_eval_loss(model, loss_fn, X_val, y_val, has_modes))
            optimizer.zero_grad()
            out = model(X)
            if not np.isfinite(out).all():
                break
            loss = loss_fn(out, y)
            backward_to_parameters(model, loss_fn.backward())
            if penalty is not None:
                loss += penalty(params)
                penalty.backward(params)
            if not np.isfinite(loss):
                break
            train_loss.append(loss)
            optimizer.step()
        else:
            if X_val is not None:
                val_steps.append(steps)
                val_loss.append(_eval_loss(model, loss_fn, X_val, y_val, has_modes))
    model.eval()
    return {"step": np.arange(len(train_loss)), "train_loss": np.asarray(train_loss, dtype=float),
            "val_step": np.asarray(val_steps), "val_loss": np.asarray(val_loss, dtype=float)}


def _eval_loss(model, loss_fn, X, y, has_modes: bool = True) -> float:
    if has_modes:
        model.eval()
    out = model(X)
    if has_modes:
        model.train()
    return float(loss_fn(out, y)) if np.all(np.isfinite(out)) else float("nan")
