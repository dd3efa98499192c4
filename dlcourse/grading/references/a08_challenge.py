"""References for assignment 08_challenge (seed 8.2, 9): the freezing helper of ``dlcourse.transfer``.

The two training parts of the challenge have no reference: the student's predictions on held-out
images are scored by the grader against labels that never enter the kernel (``solutions/08_challenge/
grading/``, see ``assignments/make_challenge_data.py``).  Students may use the whole library there.
Only ``freeze`` grades a function, and it may not use the library's own freezing helpers.
"""
from __future__ import annotations

from dlcourse import transfer

FORBID = {
    "freeze": ["dlcourse.transfer.freeze_layers", "dlcourse.transfer.learnable_layers",
               "dlcourse.transfer.fine_tune", "dlcourse.transfer.freeze_sweep",
               "dlcourse.nn.module.Module.freeze", "dlcourse.nn.module.Module.unfreeze"],
}
ADAPTERS = {"freeze": ("freeze",)}


def freeze(model, n: int):
    """Freeze the first ``n`` learnable top-level layers of a ``Sequential``, unfreeze the rest (seed 9)."""
    return transfer.freeze_layers(model, n)
