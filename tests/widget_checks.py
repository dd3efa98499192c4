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


def assert_builds_lazily(cls) -> None:
    """A fresh widget has data, no error, a status line, and sliders that update only on release."""
    w = cls()
    assert w.data and w.error is None and w.status.value
    for name, control in w.controls.items():
        if hasattr(control, "continuous_update"):
            assert control.continuous_update is False, f"{cls.__name__}.{name} retrains while dragging"
    w.close()
