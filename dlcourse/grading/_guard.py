"""Tamper detection and reference-call detection for graded notebooks.

Both run inside the kernel that executes a student's notebook, so they cannot be perfect (the
student's code runs in the same interpreter); they stop the tricks that matter in practice:

* **Tampering** — an answer cell that replaces ``np.allclose``, something in ``np.testing``, a
  grading helper, or the library's reference implementation (so that a hidden test would compare
  the student's function with itself).  :func:`arm` takes a snapshot of every function, class
  method and module in ``numpy`` and ``dlcourse`` (and of a few builtins) when the grading kernel
  starts — before any student cell runs, via ``IPKernelApp.exec_lines`` — and :func:`verify` lists
  whatever was replaced since.  Test cells verify on entry and exit of every graded part, and the
  grader verifies once more after the last cell (``HardenedExecute``).
* **Calling the reference** — while a test runs a student's function, :func:`traced_call` watches
  every Python function call (``sys.setprofile``); reaching a code object of the reference
  implementation of the part being graded (directly, through an alias, a wrapper, a copied
  ``__code__`` or an instance of the reference class) is recorded, and the part scores 0.

What is not caught: a student who re-types the library's source, or who studies this module and
attacks the interpreter itself.  The sandbox (``dlcourse.grading.sandbox``) limits the damage such
code can do outside the kernel.
"""
from __future__ import annotations

import importlib
import json
import sys
import threading
import types

# Captured at import (kernel start): later rebinding of sys.setprofile & co. cannot blind us.
_setprofile = sys.setprofile
_getprofile = sys.getprofile
_threading_setprofile = threading.setprofile
_modules = sys.modules
_FunctionType = types.FunctionType
_CodeType = types.CodeType
_ModuleType = types.ModuleType
_isinstance = isinstance
_id = id
_vars = vars
_callable = callable
_getattr = getattr
_hasattr = hasattr

#: modules whose functions and classes are snapshot (every loaded submodule is included)
WATCHED_PACKAGES = ("numpy", "dlcourse")
#: imported by :func:`arm` so that they are watched even if the notebook imports them later
ARM_IMPORTS = ("numpy", "numpy.testing", "numpy.linalg", "numpy.random", "dlcourse.grading.references")
#: loaded lazily or mutated legitimately; never part of the snapshot
SKIP_MODULES = ("numpy.f2py", "numpy.distutils", "numpy._pytesttester", "numpy.conftest", "numpy.typing",
                "dlcourse.course", "dlcourse.__main__", "dlcourse.grading.pipeline", "dlcourse.grading.execute",
                "dlcourse.grading.sandbox", "dlcourse.grading.authoring")
WATCHED_ATTRS = {
    "builtins": ("isinstance", "issubclass", "len", "abs", "float", "int", "bool", "type", "getattr", "hasattr",
                 "callable", "min", "max", "sum", "range", "zip", "repr", "str", "all", "any", "round", "sorted",
                 "iter", "next", "id", "super", "object", "dict", "list", "tuple", "set", "print", "__import__",
                 "Exception", "BaseException", "AssertionError", "NotImplementedError", "ValueError", "TypeError"),
    "sys": ("setprofile", "getprofile", "settrace", "gettrace", "exc_info", "modules"),
}

_snapshot: dict | None = None


class _Entry:
    __slots__ = ("owner", "name", "obj", "fn", "code", "defaults", "fingerprint")

    def __init__(self, owner, name, obj):
        self.owner, self.name, self.obj = owner, name, obj
        self.fn = _underlying_function(obj)
        self.code = self.fn.__code__ if self.fn is not None else None
        self.defaults = self.fn.__defaults__ if self.fn is not None else None
        self.fingerprint = _fingerprint(obj)

    def changed(self, current) -> bool:
        """Cheap test first (the code object), the full fingerprint only for closures and properties."""
        fn = self.fn
        if fn is not None and (fn.__code__ is not self.code or fn.__defaults__ is not self.defaults):
            return True
        if fn is not None and not fn.__closure__ and not fn.__kwdefaults__:
            return False
        return _fingerprint(current) != self.fingerprint


def _underlying_function(obj):
    """The Python function behind ``obj`` (a function, numpy's dispatcher, a static/class method)."""
    if _isinstance(obj, _FunctionType):
        return obj
    if _isinstance(obj, (staticmethod, classmethod)):
        return _underlying_function(obj.__func__)
    impl = _getattr(obj, "_implementation", None) if type(obj).__name__ == "_ArrayFunctionDispatcher" else None
    if _isinstance(impl, _FunctionType):
        return impl
    return None


def _fingerprint(obj) -> tuple:
    """What must stay identical: the object; for a Python function also its code, defaults and closed-over callables."""
    if _isinstance(obj, property):
        return tuple(_fingerprint(f) for f in (obj.fget, obj.fset, obj.fdel))
    fn = _underlying_function(obj)
    if fn is None:
        return (_id(obj),)
    cells = tuple(_id(c.cell_contents) for c in (fn.__closure__ or ())
                  if _cell_is_callable(c))
    kwdefaults = tuple(sorted((k, _id(v)) for k, v in (fn.__kwdefaults__ or {}).items()))
    return (_id(obj), _id(fn.__code__), _id(fn.__defaults__), kwdefaults, cells)


def _cell_is_callable(cell) -> bool:
    try:
        return _callable(cell.cell_contents)
    except ValueError:  # empty cell
        return False


def _watched_module_names() -> list[str]:
    names = []
    for name, mod in list(_modules.items()):
        if not _isinstance(mod, _ModuleType) or not name.startswith(WATCHED_PACKAGES):
            continue
        if name.split(".")[0] not in WATCHED_PACKAGES or name.startswith(SKIP_MODULES):
            continue
        names.append(name)
    return sorted(names)


def _is_watched_value(value) -> bool:
    return _callable(value) or _isinstance(value, (_ModuleType, property))


def _take_snapshot() -> dict:
    entries: list[_Entry] = []
    modules = {}
    for name in _watched_module_names():
        mod = _modules[name]
        modules[name] = mod
        for attr, value in list(_vars(mod).items()):
            if attr.startswith("__") or not _is_watched_value(value):
                continue
            entries.append(_Entry(mod, attr, value))
            if _isinstance(value, type) and _getattr(value, "__module__", None) == name:
                for cattr, cvalue in list(_vars(value).items()):
                    if _underlying_function(cvalue) is not None or _isinstance(cvalue, property):
                        entries.append(_Entry(value, cattr, cvalue))
    for modname, attrs in WATCHED_ATTRS.items():
        mod = _modules[modname]
        for attr in attrs:
            if _hasattr(mod, attr):
                entries.append(_Entry(mod, attr, _getattr(mod, attr)))
    return {"entries": entries, "modules": modules, "index": {(_id(e.owner), e.name): e for e in entries}}


def arm() -> None:
    """Snapshot numpy, dlcourse and the grading helpers (idempotent; first call wins)."""
    global _snapshot
    if _snapshot is not None:
        return
    for name in ARM_IMPORTS:
        try:
            importlib.import_module(name)
        except Exception:  # a library module that does not import cannot be a reference anyway
            pass
    _snapshot = _take_snapshot()


def armed() -> bool:
    return _snapshot is not None


def _owner_name(owner) -> str:
    if _isinstance(owner, _ModuleType):
        return owner.__name__
    return f"{owner.__module__}.{owner.__qualname__}"


def verify(limit: int = 5) -> list[str]:
    """Human-readable descriptions of what was replaced since :func:`arm` (empty when intact)."""
    if _snapshot is None:
        return []
    problems = []
    for name, mod in _snapshot["modules"].items():
        if _modules.get(name) is not mod:
            problems.append(f"the module {name} was replaced in sys.modules")
    seen = set()  # one line per object, under its first (shortest, public) name
    for e in _snapshot["entries"]:
        current = _vars(e.owner).get(e.name, _MISSING)
        if current is e.obj and not e.changed(current):
            continue
        if _id(e.obj) in seen:
            continue
        seen.add(_id(e.obj))
        where = f"{_owner_name(e.owner)}.{e.name}"
        if current is _MISSING:
            problems.append(f"{where} was deleted")
        elif current is not e.obj:
            problems.append(f"{where} was replaced")
        else:
            problems.append(f"the code of {where} was changed")
        if len(problems) >= limit:
            break
    return problems


_MISSING = object()


def integrity_report() -> str:
    """JSON for the grader's final check: ``{"armed": bool, "problems": [...]}``."""
    return json.dumps({"armed": _snapshot is not None, "problems": verify()})


# ---------------------------------------------------------------------------------------------
# the pristine objects (for references and for the forbidden-call lists)
# ---------------------------------------------------------------------------------------------
def pristine(dotted: str):
    """The object called ``dotted`` (``"pkg.module.attr[.attr]"``) as it was when the kernel started."""
    if _snapshot is None:
        arm()
    modules = _snapshot["modules"]
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        modname = ".".join(parts[:cut])
        if modname in modules or cut == 1:
            break
    mod = modules.get(modname)
    if mod is None:
        mod = importlib.import_module(modname)
    obj = mod
    for attr in parts[cut:]:
        entry = _snapshot["index"].get((_id(obj), attr))
        obj = entry.obj if entry is not None else _getattr(obj, attr)
    return obj


def _codes_of_function(fn, out: set) -> None:
    entry_fn = _underlying_function(fn)
    if entry_fn is None:
        return
    _codes_of_code(entry_fn.__code__, out)


def _codes_of_code(code, out: set) -> None:
    if code in out:
        return
    out.add(code)
    for const in code.co_consts:
        if _isinstance(const, _CodeType):
            _codes_of_code(const, out)


def codes_of(obj, out: set | None = None) -> set:
    """Every code object of ``obj``: a function, a class's own methods, a module's functions and classes."""
    out = set() if out is None else out
    if _isinstance(obj, _ModuleType):
        # a package stands for its submodules too (what dlcourse.optim exports is defined in dlcourse.optim.sgd ...)
        prefix = obj.__name__ + "."
        for name, mod in list(_modules.items()):
            if (name == obj.__name__ or name.startswith(prefix)) and _isinstance(mod, _ModuleType):
                for value in list(_vars(mod).values()):
                    if _getattr(value, "__module__", None) == name and _callable(value):
                        codes_of(value, out)
    elif _isinstance(obj, type):
        for value in _vars(obj).values():
            if _isinstance(value, property):
                for f in (value.fget, value.fset, value.fdel):
                    if f is not None:
                        _codes_of_function(f, out)
            else:
                _codes_of_function(value, out)
    else:
        _codes_of_function(obj, out)
        call = _getattr(type(obj), "__call__", None)  # an instance of a reference class
        if _underlying_function(obj) is None and call is not None:
            codes_of(type(obj), out)
    return out


def forbidden_codes(names) -> dict:
    """``{code object: dotted name}`` for the pristine objects called ``names``."""
    table = {}
    for name in names:
        try:
            obj = pristine(name)
        except Exception:  # a module being written may not import yet: nothing to forbid
            continue
        for code in codes_of(obj):
            table.setdefault(code, name)
    return table


def identity_hit(fn, table: dict) -> str | None:
    """The forbidden name ``fn`` *is* (alias, same code, instance of the class), or None."""
    codes = codes_of(fn) if _callable(fn) else set()
    for code in codes:
        if code in table:
            return table[code]
    return None


def traced_call(fn, args, kwargs, table: dict):
    """Run ``fn(*args, **kwargs)`` noting calls into ``table``'s code objects.

    Returns ``(result, hit, tracing_disabled)``: ``hit`` is the dotted name of the first forbidden
    function reached (or None); ``tracing_disabled`` is True when the call removed our hook.
    Exceptions from ``fn`` propagate unchanged (after the hook is removed).
    """
    hits = []

    def hook(frame, event, arg):
        if event == "call" and frame.f_code in table:
            hits.append(table[frame.f_code])

    previous = _getprofile()
    _setprofile(hook)
    _threading_setprofile(hook)
    disabled = False
    try:
        result = fn(*args, **kwargs)
    finally:
        disabled = _getprofile() is not hook
        _setprofile(previous)
        _threading_setprofile(None)
    return result, (hits[0] if hits else None), disabled
