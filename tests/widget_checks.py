"""Checks shared by the widget test files."""
import io

import numpy as np


def assert_canvas_matches_full_render(w, tolerance: float = 0.01) -> None:
    """The canvas after an update (blitted or fully redrawn) must show what ``savefig`` renders."""
    shown = np.asarray(w.figure.canvas.buffer_rgba()).astype(int)
    buffer = io.BytesIO()
    w.figure.savefig(buffer, format="rgba", dpi=w.figure.dpi)
    full = np.frombuffer(buffer.getvalue(), np.uint8).reshape(shown.shape).astype(int)
    differs = np.abs(shown - full).max(axis=2) > 40
    assert differs.mean() < tolerance, f"{differs.mean():.1%} of the pixels differ from a full render"
