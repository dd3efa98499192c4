"""What a test cell calls: one :class:`Part` per graded part, with friendly failure messages.

A test cell of an assignment looks like this (see ``assignments/AUTHORING.md``)::

    with G.part("01_linear_models/sigmoid", points=1) as p:      # visible tests
        p.expect_close(p.call(sigmoid, np.array([0.0, 2.0])), [0.5, 0.8807970779778823], "sigmoid([0, 2])")

    ### BEGIN HIDDEN TESTS
    with G.part("01_linear_models/sigmoid", points=2, hidden=True) as p:
        for z in random_inputs:
            p.compare(sigmoid, R.sigmoid, z)                     # R: the reference module
    ### END HIDDEN TESTS

Every failure raises :class:`GradingFailure` (an ``AssertionError``) whose message says what is
wrong — the input shapes, expected and actual shape or value — and never shows test code or the
name of a reference.  On success the part prints ``✓ sigmoid: passed (1 point)``.

Each part also enforces the two honesty rules (see :mod:`dlcourse.grading._guard`): numpy and the
grading helpers must be untouched, and the student's function must not call the library's
reference implementation of what the part grades (the list is ``references.FORBID``).
"""
from __future__ import annotations

import copy
import inspect
import traceback
from typing import Any, Callable, Sequence

import numpy as np

from . import _guard

# Bound at kernel start: a student replacing these in numpy does not change how we compare.
_asarray, _isfinite, _abs, _argmax, _unravel = np.asarray, np.isfinite, np.abs, np.argmax, np.unravel_index
_array_equal = np.array_equal


class GradingFailure(AssertionError):
    """A test of a graded part failed; the message is written for the student."""


class ForbiddenCall(GradingFailure):
    """The student's function used the reference implementation of the part it is graded on."""


class TamperDetected(GradingFailure):
    """numpy, the grading helpers or a reference were replaced after the grader started."""


def _plural(n: float, word: str) -> str:
    n_txt = f"{n:g}"
    return f"{n_txt} {word}" + ("" if n == 1 else "s")


def require_intact() -> None:
    """Raise :class:`TamperDetected` when numpy or grading code was replaced since the kernel started."""
    __tracebackhide__ = True
    problems = _guard.verify()
    if problems:
        raise TamperDetected(
            "grading integrity check failed: " + "; ".join(problems) + ". Replacing numpy, grading or "
            "library functions from your notebook is not allowed: the tests cannot be trusted, so this "
            "notebook scores 0. Remove that code and run the notebook again.")


# ---------------------------------------------------------------------------------------------
# describing values for messages
# ---------------------------------------------------------------------------------------------
def describe(value) -> str:
    """``array of shape (3, 4)``, ``float 0.25``, ``tuple of 2``, ``None`` ..."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} ({value.dtype})"
    if isinstance(value, (bool, np.bool_)):
        return f"bool {bool(value)}"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{type(value).__name__} {float(value):.6g}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of {len(value)}"
    if isinstance(value, dict):
        return f"dict with keys {sorted(map(str, value))}"
    return type(value).__name__


def _shape_of(value) -> str:
    if isinstance(value, np.ndarray):
        return f"shape {value.shape}" if value.ndim else "a scalar"
    if isinstance(value, (int, float, np.number)):
        return "a scalar"
    return describe(value)


def _describe_args(fn, args, kwargs) -> str:
    """``for z of shape (3, 4), y of shape (3,)`` — names from the student's own signature."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    parts = []
    for i, value in enumerate(args):
        name = names[i] if i < len(names) else f"argument {i + 1}"
        parts.append(f"{name} = {_short(value)}")
    parts += [f"{k} = {_short(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _short(value) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 4:
            return np.array2string(value, precision=4, separator=", ")
        return f"<array of shape {value.shape}>"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if callable(value):
        return "<function>"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _student_location(tb) -> str:
    """``line 3 of your code: return 1 / (1 + np.exp(z))`` for the innermost frame in a notebook cell."""
    frames = [f for f in traceback.extract_tb(tb) if _is_notebook_file(f.filename)]
    if not frames:
        return ""
    frame = frames[-1]
    line = (frame.line or "").strip()
    where = f" in {frame.name}" if frame.name not in ("<module>", "<lambda>") else ""
    return f" (line {frame.lineno}{where}: {line})" if line else ""


def _is_notebook_file(filename: str) -> bool:
    return "ipykernel_" in filename or filename.startswith("<ipython-input") or filename == "<string>"


def _fn_name(fn) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


# ---------------------------------------------------------------------------------------------
# comparing values
# ---------------------------------------------------------------------------------------------
def _as_number_array(value, what: str):
    __tracebackhide__ = True
    if value is None:
        raise GradingFailure(f"{what} returned None; did you forget a `return` statement?")
    if isinstance(value, (bool, np.bool_)):
        return _asarray(value, dtype=float)
    if isinstance(value, (int, float, np.number, np.ndarray)):
        return _asarray(value, dtype=float) if not isinstance(value, np.ndarray) else value
    if isinstance(value, (list, tuple)):
        try:
            return _asarray(value, dtype=float)
        except (TypeError, ValueError):
            pass
    raise GradingFailure(f"{what} should be a number or a numpy array, got {describe(value)}")


def expect_close(actual, expected, what: str, *, rtol: float = 1e-6, atol: float = 1e-8,
                 shape_hint: str = "") -> None:
    """Compare arrays/numbers: shape first, then finiteness, then values within ``atol + rtol·|expected|``.

    ``what`` names the computation, e.g. ``"sigmoid(z) for z of shape (3, 4)"``.
    """
    __tracebackhide__ = True
    if isinstance(expected, dict):
        _expect_mapping(actual, expected, what, rtol=rtol, atol=atol)
        return
    if isinstance(expected, (tuple, list)) and expected and not _is_numeric_sequence(expected):
        _expect_sequence(actual, expected, what, rtol=rtol, atol=atol)
        return
    exp = _asarray(expected, dtype=float)
    act = _as_number_array(actual, what)
    if exp.ndim == 0 and act.shape == (1,) or exp.shape == (1,) and act.ndim == 0:
        act = act.reshape(exp.shape)
    if act.shape != exp.shape:
        hint = f" {shape_hint}" if shape_hint else ""
        raise GradingFailure(f"{what}: expected {_shape_of(exp)} but got {_shape_of(act)}{hint}")
    if act.dtype.kind not in "biuf":
        raise GradingFailure(f"{what}: expected numbers but got an array of dtype {act.dtype}")
    act = act.astype(float)
    bad_finite = ~_isfinite(act) & _isfinite(exp)
    if bad_finite.any():
        idx = tuple(int(i) for i in _unravel(_argmax(bad_finite), act.shape)) if act.ndim else ()
        raise GradingFailure(f"{what}: got {act[idx]} (not a finite number){_at(idx)} where {exp[idx]:.6g} "
                             f"was expected; look for overflow in exp() or a division by zero")
    with np.errstate(invalid="ignore"):
        err = _abs(act - exp)
        tol = atol + rtol * _abs(exp)
        same = (act == exp) | (np.isnan(act) & np.isnan(exp))  # infinities and NaN must match exactly
        wrong = ~((err <= tol) | same)
    if wrong.any():
        idx = tuple(int(i) for i in _unravel(_argmax(np.where(wrong, err, -1.0)), act.shape)) if act.ndim else ()
        n_wrong, n = int(wrong.sum()), wrong.size
        count = f" ({n_wrong} of {n} entries wrong)" if n > 1 else ""
        raise GradingFailure(f"{what}: wrong value{count}{_at(idx)}: expected {exp[idx]:.6g}, got {act[idx]:.6g} "
                             f"(difference {err[idx]:.2g}, tolerance {tol[idx]:.2g})")


def _at(idx) -> str:
    return f" at index {idx if len(idx) != 1 else idx[0]}" if idx else ""


def _is_numeric_sequence(seq) -> bool:
    """A list (not a tuple) of numbers or of such lists: an array written as literals.

    A tuple means several returned values, e.g. ``(loss, grad)``.
    """
    return not isinstance(seq, tuple) and all(
        isinstance(v, (int, float, np.number)) or isinstance(v, list) and _is_numeric_sequence(v) for v in seq)


def _expect_sequence(actual, expected, what: str, *, names: Sequence[str] | None = None,
                     rtol: float = 1e-6, atol: float = 1e-8) -> None:
    __tracebackhide__ = True
    if not isinstance(actual, (tuple, list)):
        label = f" ({', '.join(names)})" if names else ""
        raise GradingFailure(f"{what} should return {len(expected)} values{label}, got {describe(actual)}")
    if len(actual) != len(expected):
        label = f" ({', '.join(names)})" if names else ""
        raise GradingFailure(f"{what} should return {len(expected)} values{label}, got {len(actual)}")
    for i, (a, e) in enumerate(zip(actual, expected)):
        name = names[i] if names and i < len(names) else f"value {i + 1}"
        expect_close(a, e, f"{what}, returned {name}", rtol=rtol, atol=atol)


def _expect_mapping(actual, expected: dict, what: str, *, rtol: float, atol: float) -> None:
    __tracebackhide__ = True
    if not isinstance(actual, dict):
        raise GradingFailure(f"{what} should be a dict with keys {sorted(expected)}, got {describe(actual)}")
    missing = [k for k in expected if k not in actual]
    if missing:
        raise GradingFailure(f"{what} is missing the key(s) {missing} (expected keys {sorted(expected)})")
    for key, value in expected.items():
        expect_close(actual[key], value, f"{what}[{key!r}]", rtol=rtol, atol=atol)


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of a scalar ``f`` at float64 ``x`` (the grader's own copy: it must not use the library's)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = float(f(x))
        flat[i] = old - h
        minus = float(f(x))
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


# ---------------------------------------------------------------------------------------------
# a graded part
# ---------------------------------------------------------------------------------------------
class Part:
    """One graded test cell; use it as ``with part(key, points) as p: ...``.

    ``key`` is ``"<assignment>/<part>"`` (e.g. ``"01_linear_models/sigmoid"``); it selects the
    functions the student may not call (``references.FORBID``).  ``points`` is only printed (the
    points that count are the cell's nbgrader metadata; ``assignments/build.py`` checks they agree).
    """

    def __init__(self, key: str, points: float | None = None, hidden: bool = False) -> None:
        self.key = key
        self.name = key.split("/")[-1]
        self.points = points
        self.hidden = hidden
        self.checks = 0
        from .references import forbidden_names  # late: references import the library
        self._forbidden = _guard.forbidden_codes(forbidden_names(key))

    @property
    def label(self) -> str:
        kind = "hidden tests" if self.hidden else "tests"
        pts = f", {_plural(self.points, 'point')}" if self.points is not None else ""
        return f"{self.name} ({kind}{pts})"

    def __enter__(self) -> "Part":
        __tracebackhide__ = True
        require_intact()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        __tracebackhide__ = True
        if exc_type is None:
            require_intact()
            print(f"✓ {self.label}: passed")
        elif issubclass(exc_type, GradingFailure):
            if not str(exc).startswith("✗"):
                exc.args = (f"✗ {self.label}: {exc}",)
            exc.with_traceback(None)  # the student sees the test line and the message, not our internals
        return False

    # -- running the student's code -------------------------------------------------------------
    def call(self, fn: Callable, *args, **kwargs) -> Any:
        """``fn(*args, **kwargs)`` with friendly errors; arguments are copied and must not be modified."""
        __tracebackhide__ = True
        name = _fn_name(fn)
        if not callable(fn):
            raise GradingFailure(f"{name} should be a function, got {describe(fn)}")
        hit = _guard.identity_hit(fn, self._forbidden)
        if hit:
            self._forbidden_failure(name, hit)
        call_args, call_kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
        before = copy.deepcopy((call_args, call_kwargs))
        result = self._invoke(fn, call_args, call_kwargs, f"{name}({_describe_args(fn, args, kwargs)})", name)
        self._check_not_modified(name, fn, before, (call_args, call_kwargs))
        return result

    def _invoke(self, fn: Callable, args: tuple, kwargs: dict, label: str, name: str, traced: bool = True) -> Any:
        """Run student code (under the call monitor when ``traced``); turn its exceptions into messages.

        ``label`` describes the call (``"sigmoid(z = ...)"``), ``name`` the student's function.
        """
        __tracebackhide__ = True
        self.checks += 1
        try:
            if traced:
                result, hit, disabled = _guard.traced_call(fn, args, kwargs, self._forbidden)
            else:
                result, hit, disabled = fn(*args, **kwargs), None, False
        except NotImplementedError:
            raise GradingFailure(f"{name} is not implemented yet: replace "
                                 f"`raise NotImplementedError()` with your code") from None
        except GradingFailure:
            raise
        except RecursionError:
            raise GradingFailure(f"{label} recursed without end") from None
        except Exception as err:  # the student's bug: say which, where, and on what input
            where = _student_location(err.__traceback__)
            raise GradingFailure(f"{label} raised {type(err).__name__}: {err}{where}") from None
        if disabled:
            raise TamperDetected(f"{name} removed the grader's call monitor (sys.setprofile); this part scores 0")
        if hit:
            self._forbidden_failure(name, hit)
        return result

    def _forbidden_failure(self, name: str, hit: str):
        __tracebackhide__ = True
        library = hit if hit.startswith("dlcourse.") and ".grading." not in hit else "a reference implementation"
        raise ForbiddenCall(f"{name} uses {library}, the library's implementation of what this part grades. "
                            f"Write the computation yourself; this part scores 0.")

    def _check_not_modified(self, name, fn, before, after) -> None:
        __tracebackhide__ = True
        (args0, kwargs0), (args1, kwargs1) = before, after
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            params = []
        for i, (a0, a1) in enumerate(zip(args0, args1)):
            if isinstance(a0, np.ndarray) and not _same_array(a0, a1):
                arg = params[i] if i < len(params) else f"argument {i + 1}"
                raise GradingFailure(f"{name} modified its input {arg} in place; compute a new array instead "
                                     f"(e.g. start from {arg}.copy())")
        for k, a0 in kwargs0.items():
            if isinstance(a0, np.ndarray) and not _same_array(a0, kwargs1[k]):
                raise GradingFailure(f"{name} modified its input {k} in place; compute a new array instead")

    # -- checks -----------------------------------------------------------------------------------
    def expect_close(self, actual, expected, what: str, *, rtol: float = 1e-6, atol: float = 1e-8) -> None:
        """``actual`` ≈ ``expected`` (arrays, numbers or tuples of them); see :func:`expect_close`."""
        __tracebackhide__ = True
        self.checks += 1
        expect_close(actual, expected, what, rtol=rtol, atol=atol)

    def expect_true(self, condition, message: str) -> None:
        """Fail with ``message`` unless ``condition`` holds."""
        __tracebackhide__ = True
        self.checks += 1
        if not bool(condition):
            raise GradingFailure(message)

    def expect_shape(self, actual, shape: tuple, what: str) -> None:
        __tracebackhide__ = True
        self.checks += 1
        got = getattr(actual, "shape", None)
        if got != tuple(shape):
            raise GradingFailure(f"{what}: expected shape {tuple(shape)}, got "
                                 f"{got if got is not None else describe(actual)}")

    def compare(self, student_fn: Callable, reference_fn: Callable, *args, names: Sequence[str] | None = None,
                rtol: float = 1e-6, atol: float = 1e-8, **kwargs) -> Any:
        """Run the student's and the reference function on the same input and compare the results.

        ``names`` labels the returned values (e.g. ``("loss", "grad")``) for the messages.
        Returns the student's result.
        """
        __tracebackhide__ = True
        expected = reference_fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        actual = self.call(student_fn, *args, **kwargs)
        what = f"{_fn_name(student_fn)}({_describe_args(student_fn, args, kwargs)})"
        if isinstance(expected, (tuple, list)) and not _is_numeric_sequence(expected):
            _expect_sequence(actual, expected, what, names=names, rtol=rtol, atol=atol)
        else:
            expect_close(actual, expected, what, rtol=rtol, atol=atol)
        return actual

    def gradcheck(self, f: Callable[[np.ndarray], float], grad: Callable[[np.ndarray], np.ndarray], x,
                  what: str, *, tol: float = 1e-6, h: float = 1e-6) -> None:
        """The analytic gradient ``grad(x)`` matches central differences of the scalar ``f`` at ``x``.

        ``f`` and ``grad`` usually wrap the student's functions; both run under the call monitor.
        Relative error per entry ``|a − n| / max(|a| + |n|, 1e-8)``; differences below 1e-9 count as equal.
        """
        __tracebackhide__ = True
        self.checks += 1
        x = np.array(x, dtype=np.float64)
        analytic = self._invoke(grad, (x.copy(),), {}, what, what)
        analytic = _as_number_array(analytic, what)
        if analytic.shape != x.shape:
            raise GradingFailure(f"{what}: the gradient should have the shape of its input {x.shape}, "
                                 f"got {_shape_of(analytic)}")
        # not monitored: f may be the reference (the student's own functions are monitored in their parts)
        numeric = self._invoke(lambda v: numerical_gradient(f, v, h), (x.copy(),), {},
                               f"{what}: evaluating the function for finite differences", what, traced=False)
        diff = _abs(analytic - numeric)
        rel = diff / np.maximum(_abs(analytic) + _abs(numeric), 1e-8)
        rel[diff <= 1e-9] = 0.0
        if not (rel.max(initial=0.0) < tol):
            idx = tuple(int(i) for i in _unravel(_argmax(rel), rel.shape)) if rel.ndim else ()
            raise GradingFailure(f"{what}: the gradient disagrees with finite differences{_at(idx)}: "
                                 f"yours {analytic[idx]:.6g}, numerical {numeric[idx]:.6g} "
                                 f"(relative error {rel[idx]:.1e}, tolerance {tol:.0e})")


    def submit_heldout(self, name: str, predictions) -> None:
        """Hand class predictions for the held-out set ``name`` to the grader (hidden tests only).

        The labels never enter the kernel: ``HardenedExecute`` scores the predictions against
        ``solutions/<assignment>/grading/<name>.npz`` (arrays ``labels`` and ``target``) and
        replaces this output with the accuracy, failing the cell below the target.
        """
        __tracebackhide__ = True
        preds = _asarray(predictions)
        if preds.ndim != 1 or preds.dtype.kind not in "biu":
            raise GradingFailure(f"the predictions for {name} should be a 1-D array of integer class labels, "
                                 f"got {describe(preds)}")
        key = f"{self.key.split('/')[0]}/{name}"
        payload = {HELDOUT_MIME: {"key": key, "predictions": preds.astype(int).tolist()},
                   "text/plain": f"{len(preds)} predictions for {name} handed to the grader"}
        try:
            from IPython.display import display
        except ImportError:  # outside IPython there is no grader to hand them to
            return
        display(payload, raw=True)


#: MIME type of the predictions a hidden test hands to the grader (see ``Part.submit_heldout``)
HELDOUT_MIME = "application/vnd.dlcourse.heldout+json"


def _same_array(a: np.ndarray, b) -> bool:
    return isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype and \
        bool(_array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def part(key: str, points: float | None = None, hidden: bool = False) -> Part:
    """A graded part: ``with part("01_linear_models/sigmoid", points=1) as p: ...``."""
    return Part(key, points, hidden)
