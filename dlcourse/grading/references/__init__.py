"""Reference implementations the hidden tests compare against, and what each part may not call.

One module per assignment, named ``a<assignment id>`` (``a01_linear_models`` for
``assignments/source/01_linear_models``); a module following that name is found without
registration.  Each reference is the library's own implementation
adapted to the signature the assignment asks for, so there is one home per formula (DESIGN.md).
The library is public — students have it installed — so what keeps grading honest is
``FORBID``: for each part, the library functions, classes or modules whose use by the student's
function scores 0 (see :mod:`dlcourse.grading._guard`).  The adapter with the part's name is
forbidden too.

What must stay secret (hidden test inputs and tolerances, solved notebooks, held-out labels) is
never here: it lives in the assignment sources and in ``solutions/``.
"""
from __future__ import annotations

import importlib
import pkgutil

#: assignment id -> module name, found by the naming convention ``a<assignment id>.py``
MODULES = {info.name[1:]: info.name for info in pkgutil.iter_modules(__path__) if info.name.startswith("a")}


def module(assignment: str):
    """The reference module of ``assignment`` (e.g. ``"01_linear_models"``)."""
    try:
        name = MODULES[assignment]
    except KeyError:
        raise KeyError(f"no reference module for assignment {assignment!r}: add "
                       f"dlcourse/grading/references/a{assignment}.py") from None
    return importlib.import_module(f"{__name__}.{name}")


def forbidden_names(key: str) -> list[str]:
    """Dotted names the student's function may not use for part ``key`` = ``"<assignment>/<part>"``."""
    assignment, _, part = key.partition("/")
    if assignment not in MODULES:
        return []
    mod = module(assignment)
    names = list(getattr(mod, "FORBID", {}).get(part, ()))
    for attr in getattr(mod, "ADAPTERS", {}).get(part, (part,)):
        if hasattr(mod, attr):
            names.append(f"{mod.__name__}.{attr}")
    return names


def _import_all() -> None:
    """Import every reference module now, so the kernel-start snapshot covers the library they use."""
    for assignment in MODULES:
        try:
            module(assignment)
        except Exception:  # a reference whose library module is being written must not break the others
            pass


_import_all()
