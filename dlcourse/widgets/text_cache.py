"""Text drawn once per place: a widget's canvas replays the glyphs of a text it already rendered.

Text is most of a frame in these figures.  Matplotlib 3.11 shapes every line of text
(``FT2Font._layout``, ~0.4 ms) and renders every glyph with FreeType (~60 µs) each time it draws it,
so a two-line label costs 2-4 ms — and a figure repaints the same node labels, tick labels and
operation symbols on every move.  :func:`cache_text` makes a canvas remember, for each line of text
it drew, the glyph bitmaps the Agg renderer blended into the canvas (``draw_text_image`` calls).
Drawing the same string with the same font at the same pixel position again replays those calls:
the same bitmaps blended at the same places, with the current colour, alpha and clipping, so the
pixels are exactly those of a fresh render (``tests/test_widgets_ch4_5.py`` compares them).  Lines
that draw anything else (rules of math text) are not remembered.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
from matplotlib import rcParams

__all__ = ["cache_text", "TextCache"]


class _Recorder:
    """Stands in for the C++ Agg renderer while a line of text is drawn: passes every call on and keeps
    the glyph bitmaps; any other call (a rule, a box) marks the line as not replayable."""

    def __init__(self, target) -> None:
        self.target, self.glyphs, self.replayable = target, [], True

    def draw_text_image(self, image, x, y, angle, gc):
        self.glyphs.append((np.array(image, dtype=np.uint8, copy=True), x, y, angle))
        return self.target.draw_text_image(image, x, y, angle, gc)

    def __getattr__(self, name):
        self.replayable = False
        return getattr(self.target, name)


class TextCache:
    """The glyphs of the last ``size`` lines of text a canvas drew, by what decides their pixels."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.enabled = True  # False: draw every text with matplotlib alone (what the tests compare with)
        self.lines: OrderedDict = OrderedDict()
        self.hits = self.misses = 0

    def clear(self) -> None:
        self.lines.clear()
        self.hits = self.misses = 0

    def wrap(self, renderer) -> None:
        """Route ``renderer.draw_text`` (an Agg renderer) through this cache."""
        draw_text = type(renderer).draw_text

        def cached_draw_text(gc, x, y, s, prop, angle, ismath=False, mtext=None):
            if ismath == "TeX" or not self.enabled:
                return draw_text(renderer, gc, x, y, s, prop, angle, ismath, mtext)
            key = (s, bool(ismath), float(x), float(y), float(angle), hash(prop), prop.get_size_in_points(),
                   _features(mtext), renderer.dpi, renderer.width, renderer.height, rcParams["text.hinting"],
                   rcParams["text.hinting_factor"], bool(gc.get_antialiased()))
            glyphs = self.lines.get(key)
            if glyphs is not None:
                self.lines.move_to_end(key)
                self.hits += 1
                agg = renderer._renderer
                for image, gx, gy, gangle in glyphs:
                    agg.draw_text_image(image, gx, gy, gangle, gc)
                return None
            self.misses += 1
            recorder = renderer._renderer = _Recorder(renderer._renderer)
            try:
                draw_text(renderer, gc, x, y, s, prop, angle, ismath, mtext)
            finally:
                renderer._renderer = recorder.target
            if recorder.replayable:
                self.lines[key] = recorder.glyphs
                if len(self.lines) > self.size:
                    self.lines.popitem(last=False)
            return None

        cached_draw_text.text_cache = self
        renderer.draw_text = cached_draw_text


def _features(mtext) -> tuple:
    """Font features and language of a single-line text (matplotlib ≥ 3.11 shapes with them)."""
    if mtext is None:
        return ()
    features = getattr(mtext, "get_fontfeatures", lambda: None)()
    language = getattr(mtext, "get_language", lambda: None)()
    return (tuple(features) if features is not None else None, language)


def cache_text(canvas, size: int = 4096) -> TextCache | None:
    """Make every renderer an Agg ``canvas`` draws with use one :class:`TextCache`; returns it (None for a
    canvas whose renderer is not Agg's)."""
    get_renderer = canvas.get_renderer
    renderer = get_renderer()
    if not hasattr(renderer, "_renderer") or not hasattr(renderer._renderer, "draw_text_image"):
        return None
    cache = TextCache(size)

    def get_cached_renderer(*args, **kwargs):
        renderer = get_renderer(*args, **kwargs)
        if getattr(renderer.draw_text, "text_cache", None) is not cache:  # a new size or dpi: a new renderer
            cache.wrap(renderer)
        return renderer

    canvas.get_renderer = get_cached_renderer
    get_cached_renderer()
    return cache
