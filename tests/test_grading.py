"""The grading helpers test cells call, the tamper and reference-call guards, authoring and the sandbox.

Fast tests (no nbgrader run): the end-to-end pipeline is in ``test_grading_e2e.py``.
"""
from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
import threading
import types
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest

import dlcourse.grading as G
import dlcourse.linear_models
from dlcourse.grading import _guard, authoring
from dlcourse.grading.references import a01_linear_models as R1

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("nbgrader")]  # see test_grading_e2e.py

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ["01_linear_models", "02_backprop", "03_layers"]


def fails(fn, *args, **kwargs) -> str:
    with pytest.raises(G.GradingFailure) as info:
        fn(*args, **kwargs)
    return str(info.value)


# -------------------------------------------------------------------------------------------------
# comparisons and messages
# -------------------------------------------------------------------------------------------------
def test_expect_close_says_what_is_wrong():
    msg = fails(G.expect_close, np.zeros((4, 3)), np.zeros((3, 4)), "sigmoid(z)")
    assert "expected shape (3, 4) but got shape (4, 3)" in msg
    msg = fails(G.expect_close, np.array([1.0, 2.5, 3.0]), [1.0, 2.0, 3.0], "f(x)")
    assert "at index 1: expected 2, got 2.5" in msg and "1 of 3 entries wrong" in msg
    assert "forget a `return`" in fails(G.expect_close, None, 1.0, "f(x)")
    assert "not a finite number" in fails(G.expect_close, np.array([np.inf]), [1.0], "f(x)")
    msg = fails(G.expect_close, (1.0, [1.0, 2.0]), (1.0, [1.0, 3.0]), "f(x)")
    assert "returned value 2" in msg and "expected 3, got 2" in msg
    assert "should return 2 values" in fails(G.expect_close, 1.0, (1.0, [2.0]), "f(x)")
    assert "missing the key(s) ['b']" in fails(G.expect_close, {"a": 1.0}, {"a": 1.0, "b": 2.0}, "g")
    G.expect_close(np.float64(0.5), 0.5, "scalar")            # numpy scalars and 0-d arrays are numbers
    G.expect_close(np.array([np.inf, 1.0]), [np.inf, 1.0], "infinities must match exactly")
    G.expect_close((1.0, {"w": [1.0, 2.0]}), (1.0, {"w": np.array([1.0, 2.0])}), "nested")


def test_part_prints_points_and_prefixes_failures(capsys):
    with G.part("01_linear_models/mse", points=2) as p:
        p.expect_close(p.call(lambda a, b: float(np.mean((a - b) ** 2)), np.ones(2), np.zeros(2)), 1.0, "mse")
    assert "✓ mse (tests, 2 points): passed" in capsys.readouterr().out
    with pytest.raises(G.GradingFailure, match=r"^✗ mse \(hidden tests, 1 point\): <lambda>\(y_hat = "):
        with G.part("01_linear_models/mse", points=1, hidden=True) as p:
            p.compare(lambda y_hat, y: 0.0, R1.mse, np.ones(3), np.zeros(3))


def test_call_reports_unimplemented_errors_and_mutation():
    def stub(z):
        raise NotImplementedError()

    def broken(z):
        return z[5]

    def in_place(z):
        z[z < 0] = 0
        return z

    p = G.part("01_linear_models/sigmoid")
    assert "not implemented yet" in fails(p.call, stub, np.zeros(2))
    msg = fails(p.call, broken, np.zeros(2))
    assert "broken(z = [0., 0.]) raised IndexError" in msg
    msg = fails(p.call, in_place, np.array([-1.0, 1.0]))
    assert "modified its input z in place" in msg


def test_gradcheck_catches_a_wrong_gradient():
    p = G.part("01_linear_models/bce_gradient")
    y = np.array([1.0, 0.0])
    f = lambda v: R1.bce(v, y)  # noqa: E731  (the reference may be the function: it is not monitored)

    def own_gradient(v):
        return (v - y) / (v * (1 - v)) / v.size

    p.gradcheck(f, own_gradient, np.array([0.3, 0.6]), "ok")
    msg = fails(p.gradcheck, f, lambda v: 2 * own_gradient(v), np.array([0.3, 0.6]), "bce_gradient")
    assert "disagrees with finite differences" in msg
    assert "should have the shape of its input" in fails(p.gradcheck, f, lambda v: v[:1], np.array([0.3, 0.6]), "g")


def test_hidden_failure_messages_name_no_reference():
    with pytest.raises(G.GradingFailure) as info:
        with G.part("01_linear_models/sigmoid", points=1, hidden=True) as p:
            p.compare(lambda z: z, R1.sigmoid, np.linspace(-1, 1, 6).reshape(2, 3))
    msg = str(info.value)
    assert "expected" in msg and "got" in msg and "z = <array of shape (2, 3)>" in msg
    for leak in ("a01_linear_models", "references", "_R", "linear_models.sigmoid"):
        assert leak not in msg


# -------------------------------------------------------------------------------------------------
# calling the reference implementation scores 0
# -------------------------------------------------------------------------------------------------
def _own_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _copied_code():
    fn = types.FunctionType(dlcourse.linear_models.sigmoid.__code__, dlcourse.linear_models.__dict__, "sigmoid")
    return fn


def _threaded(z):
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", dlcourse.linear_models.sigmoid(z)))
    t.start()
    t.join()
    return out["r"]


@pytest.mark.parametrize("student", [
    dlcourse.linear_models.sigmoid,                                   # the same function
    lambda z: dlcourse.linear_models.sigmoid(z),                      # a wrapper
    functools.partial(dlcourse.linear_models.sigmoid),                # a partial
    _copied_code(),                                                   # its code object in a new function
    lambda z: dlcourse.nn.Sigmoid()(z),                               # the layer class
    lambda z: R1.sigmoid(z),                                          # the grading reference itself
    np.vectorize(lambda v: float(dlcourse.linear_models.sigmoid(np.array([v]))[0])),
    _threaded,                                                        # in another thread
], ids=["alias", "wrapper", "partial", "copied_code", "layer", "adapter", "vectorize", "thread"])
def test_using_the_reference_scores_zero(student):
    import dlcourse.nn  # noqa: F401

    with pytest.raises(G.ForbiddenCall, match="scores 0"):
        with G.part("01_linear_models/sigmoid", points=1) as p:
            p.call(student, np.array([0.0, 1.0]))


def test_own_code_and_other_library_functions_are_fine():
    with G.part("01_linear_models/sigmoid", points=1) as p:
        p.compare(_own_sigmoid, R1.sigmoid, np.array([0.0, 1.0]))
    with G.part("01_linear_models/logistic_cost_and_gradient", points=1) as p:
        # the library's sigmoid is not what this part grades
        p.call(lambda t, X, y: dlcourse.linear_models.sigmoid(X @ t), np.zeros(2), np.ones((3, 2)), np.ones(3))


def test_removing_the_call_monitor_is_tampering():
    def sneaky(z):
        sys.setprofile(None)
        return dlcourse.linear_models.sigmoid(z)

    with pytest.raises(G.TamperDetected, match="call monitor"):
        G.part("01_linear_models/sigmoid").call(sneaky, np.zeros(1))


# -------------------------------------------------------------------------------------------------
# tampering with numpy, the grading helpers or the references
# -------------------------------------------------------------------------------------------------
def _patched(owner, name, value):
    """Context: owner.name = value, restored afterwards (the guard snapshot is process-wide)."""
    import contextlib

    @contextlib.contextmanager
    def ctx():
        old = getattr(owner, name)
        setattr(owner, name, value)
        try:
            yield
        finally:
            setattr(owner, name, old)
    return ctx()


@pytest.mark.parametrize("owner, name, expected", [
    (np, "allclose", "numpy.allclose was replaced"),
    (np.testing, "assert_allclose", "numpy.testing.assert_allclose was replaced"),
    (G, "part", "dlcourse.grading.part was replaced"),
    (G.Part, "__exit__", "dlcourse.grading.checks.Part.__exit__ was replaced"),
    (dlcourse.linear_models, "sigmoid", "dlcourse.linear_models.sigmoid was replaced"),
    (R1, "sigmoid", "dlcourse.grading.references.a01_linear_models.sigmoid was replaced"),
])
def test_replacing_numpy_grading_or_reference_functions_is_detected(owner, name, expected):
    assert _guard.verify() == []
    with _patched(owner, name, lambda *a, **k: True):
        with pytest.raises(G.TamperDetected, match="scores 0") as info:
            G.require_intact()   # what every part does on entry and exit
        assert expected in str(info.value)
        assert expected in json.loads(_guard.integrity_report())["problems"][0]
    assert _guard.verify() == []


def test_changing_code_objects_and_sys_modules_is_detected():
    original = dlcourse.linear_models.sigmoid.__code__
    dlcourse.linear_models.sigmoid.__code__ = (lambda z: z).__code__
    try:
        assert "the code of dlcourse.linear_models.sigmoid was changed" in _guard.verify()
    finally:
        dlcourse.linear_models.sigmoid.__code__ = original
    testing = sys.modules["numpy.testing"]
    sys.modules["numpy.testing"] = types.ModuleType("numpy.testing")
    try:
        assert "the module numpy.testing was replaced in sys.modules" in _guard.verify()
    finally:
        sys.modules["numpy.testing"] = testing
    assert _guard.verify() == []


def test_ordinary_numpy_and_library_use_is_not_tampering():
    import io

    import matplotlib.pyplot as plt

    import dlcourse
    from dlcourse.nn import CrossEntropyLoss, Linear

    rng = np.random.default_rng(0)
    a = rng.normal(size=(20, 20))
    np.linalg.inv(a), np.fft.fft(a), np.savez(io.BytesIO(), a=a), np.set_printoptions(precision=4), repr(a)
    np.testing.assert_allclose(a, a)
    np.random.seed(1)
    dlcourse.seed(3)
    CrossEntropyLoss()(Linear(20, 3)(a), np.zeros(20, dtype=int))
    plt.figure(), plt.plot(a[0]), plt.close("all")
    np.set_printoptions(precision=8)
    assert _guard.verify() == []


# -------------------------------------------------------------------------------------------------
# authoring: specs, sources, solutions
# -------------------------------------------------------------------------------------------------
SPEC = """# %% [markdown]
# # Title
# %% [setup] id=setup
import numpy as np
from dlcourse import grading as G
# %% [answer] id=f_answer
def f(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
# %% [tests] id=f_tests points=1
with G.part("99_demo/f", points=1) as p:
    p.expect_close(p.call(f, 1.0), 2.0, "f(1)")
# %% [tests] id=f_hidden points=2
### BEGIN HIDDEN TESTS
with G.part("99_demo/f", points=2, hidden=True) as p:
    p.expect_close(p.call(f, 2.0), 4.0, "f(2)")
### END HIDDEN TESTS
"""


def test_a_spec_builds_a_valid_deterministic_notebook():
    nb = authoring.build_notebook(SPEC, "99_demo")
    assert nbformat.writes(nb) == nbformat.writes(authoring.build_notebook(SPEC, "99_demo"))
    kinds = [(c.cell_type, c.metadata.get("nbgrader", {}).get("grade_id")) for c in nb.cells]
    assert kinds == [("markdown", None), ("code", "setup"), ("code", "f_answer"), ("code", "f_tests"),
                     ("code", "f_hidden")]
    assert nb.cells[3].metadata.nbgrader["points"] == 1 and nb.cells[3].metadata.nbgrader["locked"]
    assert authoring.hidden_lines(nb) == ['with G.part("99_demo/f", points=2, hidden=True) as p:',
                                          'p.expect_close(p.call(f, 2.0), 4.0, "f(2)")']


@pytest.mark.parametrize("change, message", [
    (("id=f_answer", ""), "id= is required"),
    (("    ### END SOLUTION\n", ""), "without '### END SOLUTION'"),
    (("points=1) as p", "points=3) as p"), "but the cell is worth 1 points"),
    (("points=2, hidden=True", "points=2"), "must say hidden=True"),
    (("id=f_hidden", "id=f_tests"), "duplicate grade_id"),
    (('"99_demo/f", points=1', '"01_other/f", points=1'), "should start with '99_demo/'"),
    (("# # Title", "Title"), "markdown lines must start with '#'"),
    (("[setup]", "[bogus]"), "unknown cell kind"),
])
def test_spec_mistakes_are_reported(change, message):
    with pytest.raises(authoring.SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        authoring.build_notebook(SPEC.replace(*change, 1), "99_demo")


def test_sources_are_in_sync_with_specs_and_valid():
    assert authoring.build_all(REPO / "assignments", check_only=True) == []
    for aid in ASSIGNMENTS:
        nb = nbformat.read(str(REPO / "assignments" / "source" / aid / f"{aid}.ipynb"), as_version=4)
        assert authoring.validate_source(nb, aid) == []
        assert sorted(p.name for p in (REPO / "assignments" / "source" / aid).iterdir()) == [f"{aid}.ipynb"]


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_solutions_are_in_sync_with_sources(aid):
    """``solutions/`` = what generate_solution made from the current source, and every test there passed."""
    from dlcourse.grading.pipeline import same_sources

    source = nbformat.read(str(REPO / "assignments" / "source" / aid / f"{aid}.ipynb"), as_version=4)
    solved = nbformat.read(str(REPO / "solutions" / aid / f"{aid}.ipynb"), as_version=4)
    assert same_sources(source, solved), "run: python -m dlcourse.course solutions"
    for cell in solved.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert "passed" in text and not any(o.output_type == "error" for o in cell.outputs), cell.source


def _run_in_process(nb, stub_answers: bool) -> dict[str, str]:
    """Execute a source notebook's cells with exec (no kernel): grade id -> "ok" or the failure text."""
    ns: dict = {"__name__": "__main__"}
    results = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        source = cell.source
        if stub_answers and meta.get("solution"):
            source = authoring.re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "raise NotImplementedError()",
                                      source, flags=authoring.re.S)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # np.exp overflow in the lecture's sigmoid
                exec(compile(source, f"<cell {meta.get('grade_id')}>", "exec"), ns)
            results[meta.get("grade_id")] = "ok"
        except G.GradingFailure as err:
            results[meta.get("grade_id")] = str(err)
    return results


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_solution_passes_every_test_and_stubs_fail_every_test(aid, capsys):
    nb = nbformat.read(str(REPO / "assignments" / "source" / aid / f"{aid}.ipynb"), as_version=4)
    graded = [c.metadata.nbgrader["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    solved = _run_in_process(nb, stub_answers=False)
    assert all(solved[g] == "ok" for g in graded), {g: solved[g] for g in graded if solved[g] != "ok"}
    blank = _run_in_process(nb, stub_answers=True)
    assert all("not implemented yet" in blank[g] for g in graded), blank


# -------------------------------------------------------------------------------------------------
# the sandboxed kernel
# -------------------------------------------------------------------------------------------------
def test_sandbox_kernel_limits_and_privileges(tmp_path):
    from dlcourse.grading.sandbox import SandboxKernelManager

    secret = tmp_path / "secret.txt"
    secret.write_text("answer")
    secret.chmod(0o600)

    async def run():
        km = SandboxKernelManager(kernel_name="python3", memory_mb=768)
        await km.start_kernel(cwd=str(tmp_path))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=120)
            code = f"""
import os, resource, numpy as np
print("uid", os.getuid(), "cwd", os.getcwd())
print("limit", resource.getrlimit(resource.RLIMIT_AS)[0])
try:
    open({str(secret)!r}).read(); print("read secret")
except OSError as e:
    print("secret", type(e).__name__)
try:
    np.ones(2_000_000_000)
except MemoryError:
    print("MemoryError")
"""
            outputs = []
            await kc.execute_interactive(code, timeout=60, output_hook=lambda m: outputs.append(
                m["content"].get("text", "")))
            return "".join(outputs), km._workdir
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    text, workdir = asyncio.run(run())
    assert f"limit {768 * 2**20}" in text and "MemoryError" in text, text
    assert f"cwd {workdir}" in text and not Path(workdir).exists()
    if os.geteuid() == 0:
        assert "uid 0" not in text and "secret PermissionError" in text, text


# -------------------------------------------------------------------------------------------------
# held-out predictions are scored by the grader, outside the kernel
# -------------------------------------------------------------------------------------------------
def test_heldout_predictions_leave_the_kernel_as_a_display(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    with G.part("08_challenge/heldout", points=5, hidden=True) as p:
        p.submit_heldout("heldout", np.array([1, 0, 2]))
    assert shown[0][G.checks.HELDOUT_MIME] == {"key": "08_challenge/heldout", "predictions": [1, 0, 2]}
    assert "integer class labels" in fails(p.submit_heldout, "heldout", np.array([[0.2, 0.8]]))


def test_the_grader_scores_heldout_predictions_against_its_labels(tmp_path):
    from nbformat.notebooknode import NotebookNode

    from dlcourse.grading.execute import score_heldout

    (tmp_path / "08_challenge" / "grading").mkdir(parents=True)
    np.savez_compressed(tmp_path / "08_challenge" / "grading" / "heldout.npz", labels=np.array([0, 1, 1, 2]),
                        target=0.75)

    def payload(preds, key="08_challenge/heldout"):
        return NotebookNode(output_type="display_data", metadata={},
                            data={G.checks.HELDOUT_MIME: {"key": key, "predictions": preds}, "text/plain": "x"})

    out = score_heldout([payload([0, 1, 1, 0])], "08_challenge", str(tmp_path))
    assert out[0]["output_type"] == "stream" and "0.7500 (target 0.7500) ✓" in out[0]["text"]
    out = score_heldout([payload([0, 0, 0, 0])], "08_challenge", str(tmp_path))
    assert out[0]["ename"] == "HeldOutBelowTarget" and "0.2500" in out[0]["evalue"]
    out = score_heldout([payload([0, 1, 1, 2]), payload([0, 1, 1, 2])], "08_challenge", str(tmp_path))
    assert out[1]["ename"] == "HeldOutError" and "twice" in out[1]["evalue"]
    assert score_heldout([payload([0, 1])], "08_challenge", str(tmp_path))[0]["ename"] == "HeldOutBelowTarget"
    assert score_heldout([payload([0], "08_challenge/other")], "08_challenge", str(tmp_path))[0]["ename"] == \
        "HeldOutError"
    assert score_heldout([payload([0, 1, 1, 2])], "08_challenge", str(tmp_path), graded=False) == []
    for out in score_heldout([payload([0, 1, 1, 2])], "08_challenge", str(tmp_path)):
        assert "labels" not in json.dumps(out)


def test_forbidding_a_package_covers_its_submodules():
    from dlcourse.nn.module import Parameter
    from dlcourse.optim import SGD

    def with_sgd(grad_fn, theta0, lr, steps):
        p = Parameter(np.array(theta0, dtype=float))
        opt = SGD([p], lr=lr)
        for _ in range(steps):
            p.grad = grad_fn(p.data)
            opt.step()
        return p.data

    with pytest.raises(G.ForbiddenCall, match="dlcourse.optim"):
        G.part("01_linear_models/gradient_descent").call(with_sgd, lambda t: t, np.ones(2), 0.1, 2)
