"""End-to-end grading with real nbgrader: generate → submissions → autograde → feedback → export.

One scratch copy of the course (``assignments/``) grades, in a single ``--jobs 2`` batch, the
solution, the blank release, a buggy solution that passes the visible tests, and one adversarial
submission per attack (hangs, crashes, bombs, tampering, sandbox escapes, broken files).  Every
test then checks one submission's exact score, so a misbehaving notebook is seen to cost only
its own points while the rest of the batch is graded.  Limits are small (10 s per cell) to keep
the run short.  As root (CI) the kernels run as an unprivileged sandbox user, created on demand.
"""
from __future__ import annotations

import copy
import csv
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

# Grading runs kill their sandbox users' leftover processes: one xdist worker runs them all, one after another.
pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("nbgrader")]

REPO = Path(__file__).resolve().parents[1]
AID = "01_linear_models"
NB = f"{AID}.ipynb"
FULL = 20

# points of each part of 01_linear_models (visible + hidden)
MSE, NORMAL, SIGMOID, GD = 2, 4, 2, 3

TEST_CONFIG = """
# -- overrides for the test run: small limits so that hangs cost seconds, not minutes --
c.Execute.timeout = 10
c.HardenedExecute.notebook_timeout = 150
c.HardenedExecute.interrupt_grace = 3
c.HardenedExecute.max_output_bytes = 20_000
c.SandboxKernelManager.memory_mb = 1024
"""


def _env():
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


# -------------------------------------------------------------------------------------------------
# building submissions
# -------------------------------------------------------------------------------------------------
def _cell(nb, grade_id):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def _with_answer(nb, grade_id, code):
    nb = copy.deepcopy(nb)
    _cell(nb, grade_id).source = code
    return nb


NAIVE_SIGMOID_FREE_LOGISTIC = '''
def logistic_cost_and_gradient(theta, X, y):
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    A = np.hstack([np.ones((X.shape[0], 1)), X])
    y_hat = 1.0 / (1.0 + np.exp(-(A @ theta)))
    cost = float(-np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)))
    return cost, A.T @ (y_hat - y) / X.shape[0]
'''


def _submissions(solution, release, paths) -> dict[str, dict]:
    """student id -> {file name: notebook | text}; see the module docstring."""
    subs = {"solution": {NB: solution}, "blank": {NB: release}}
    subs["buggy"] = {NB: _with_answer(solution, "normal_equation_answer", '''
def normal_equation(X, y):
    A = np.hstack([np.ones((X.shape[0], 1)), X[:, :1]])   # bug: only the first feature
    return np.linalg.solve(A.T @ A, A.T @ y)
''')}
    loop = _with_answer(solution, "sigmoid_answer", "def sigmoid(z):\n    while True:\n        pass\n")
    subs["infinite_loop"] = {NB: _with_answer(loop, "logistic_answer", NAIVE_SIGMOID_FREE_LOGISTIC)}
    subs["ignores_interrupt"] = {NB: _with_answer(solution, "gradient_descent_answer", '''
def gradient_descent(grad_fn, theta0, lr, steps):
    while True:
        try:
            while True:
                pass
        except KeyboardInterrupt:
            pass
''')}
    subs["os_exit"] = {NB: _with_answer(solution, "mse_answer", "import os\n\ndef mse(y_hat, y):\n    os._exit(3)\n")}
    subs["memory_bomb"] = {NB: _with_answer(solution, "normal_equation_answer", '''
def normal_equation(X, y):
    hog = []
    while True:
        hog.append(np.ones(10_000_000))   # 80 MB per step, until the memory limit stops it
''')}
    subs["big_output"] = {NB: _with_answer(solution, "bce_answer", _cell(solution, "bce_answer").source + '''

_printed = False
_bce_gradient = bce_gradient

def bce_gradient(y_hat, y):
    global _printed
    if not _printed:
        _printed = True
        for _ in range(100_000):
            print("y" * 99)               # 10 MB of output
    return _bce_gradient(y_hat, y)
''')}
    deleted = copy.deepcopy(solution)
    deleted.cells = [c for c in deleted.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") not in ("setup", "sigmoid_tests", "mse_tests")]
    subs["deleted_cells"] = {NB: deleted}
    edited = copy.deepcopy(solution)
    _cell(edited, "mse_tests").source = "print('all good')"
    _cell(edited, "mse_tests").metadata["nbgrader"]["points"] = 100
    _cell(edited, "sigmoid_hidden").source = "pass"
    subs["edited_cells"] = {NB: _with_answer(edited, "mse_answer", "def mse(y_hat, y):\n    return 0.0\n")}
    wrong = _with_answer(solution, "sigmoid_answer", "def sigmoid(z):\n    return np.zeros_like(z)\n")
    subs["patch_allclose"] = {NB: _with_answer(wrong, "mse_answer", _cell(solution, "mse_answer").source +
                                               "\nnp.allclose = lambda *a, **k: True\n")}
    subs["patch_testing"] = {NB: _with_answer(wrong, "mse_answer", _cell(solution, "mse_answer").source +
                                              "\nnp.testing.assert_allclose = lambda *a, **k: None\n")}
    subs["patch_grading"] = {NB: _with_answer(wrong, "mse_answer", _cell(solution, "mse_answer").source + '''
import contextlib
import dlcourse.grading

class _AlwaysPasses(contextlib.AbstractContextManager):
    def __getattr__(self, name):
        return lambda *a, **k: None
    def __exit__(self, *exc):
        return True                       # swallow every failure

dlcourse.grading.part = lambda *a, **k: _AlwaysPasses()
G.part = dlcourse.grading.part
''')}
    subs["calls_reference"] = {NB: _with_answer(solution, "sigmoid_answer", '''
from dlcourse.linear_models import sigmoid as _library_sigmoid

def sigmoid(z):
    return _library_sigmoid(z)
''')}
    subs["reads_secrets"] = {NB: _with_answer(solution, "mse_answer", _cell(solution, "mse_answer").source + f'''

for _path in {[str(p) for p in paths["secrets"]]!r}:
    try:
        with open(_path, "rb") as _fh:
            print("READ", _path, len(_fh.read()))
    except OSError as _err:
        print("BLOCKED", type(_err).__name__)
''')}
    subs["writes_gradebook"] = {NB: _with_answer(solution, "mse_answer", _cell(solution, "mse_answer").source + f'''

import sqlite3
try:
    _db = sqlite3.connect({str(paths["gradebook"])!r})
    _db.execute("UPDATE grade SET auto_score = 100")
    _db.commit()
    print("WROTE gradebook")
except Exception as _err:
    print("BLOCKED", type(_err).__name__)
try:
    open({str(paths["gradebook"])!r}, "ab").write(b"garbage")
    print("WROTE gradebook")
except OSError as _err:
    print("BLOCKED", type(_err).__name__)
''')}
    subs["corrupt"] = {NB: '{"cells": [ this is not json'}
    subs["renamed"] = {"my solution (1).ipynb": solution}
    subs["missing"] = {"notes.txt": "I could not finish."}
    subs["warnings"] = {NB: _with_answer(solution, "mse_answer", '''
import sys
import warnings

def mse(y_hat, y):
    warnings.warn("mse: this is only a warning", UserWarning)
    print("a message on stderr", file=sys.stderr)
    np.log(np.zeros(1))                   # RuntimeWarning: divide by zero
    y_hat, y = np.asarray(y_hat, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean((y_hat - y) ** 2))
''')}
    return subs


EXPECTED = {  # student -> (score, needs review?)
    "solution": (FULL, False),
    "blank": (0, False),
    "buggy": (FULL - 2, False),             # the hidden normal-equation tests catch it
    "infinite_loop": (FULL - SIGMOID, False),
    "ignores_interrupt": (FULL - GD, True),
    "os_exit": (FULL - MSE, True),
    "memory_bomb": (FULL - NORMAL, False),
    "big_output": (FULL, False),
    "deleted_cells": (FULL, False),
    "edited_cells": (FULL - MSE, False),
    "patch_allclose": (0, True),
    "patch_testing": (0, True),
    "patch_grading": (0, True),
    "calls_reference": (FULL - SIGMOID, False),
    "reads_secrets": (FULL, False),
    "writes_gradebook": (FULL, False),
    "corrupt": (0, True),
    "renamed": (FULL, True),
    "missing": (0, True),
    "warnings": (FULL, False),
}


# -------------------------------------------------------------------------------------------------
# the graded course (one batch for the whole module)
# -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The graded batch, made once per test session even when pytest-xdist spreads these tests over workers."""
    import fcntl
    import json

    from dlcourse.grading import pipeline as P

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's directory, the same for every xdist worker
    base = shared / "grading-e2e"
    with open(shared / "grading-e2e.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = base / "outcomes.json"
        if not done.exists():
            shutil.rmtree(base, ignore_errors=True)
            seconds = _grade_batch(P, base)
            done.write_text(json.dumps({"seconds": seconds}))
        seconds = json.loads(done.read_text())["seconds"]
    course = base / "assignments"
    outcomes = {s: P.Outcome(**e) for s, e in P.Journal(course, AID).entries.items()}
    return {"course": course, "outcomes": outcomes, "P": P, "seconds": seconds}


def _grade_batch(P, base: Path) -> float:
    course = P.scratch_copy(REPO / "assignments", base / "assignments")
    with open(course / "nbgrader_config.py", "a") as fh:
        fh.write(TEST_CONFIG + f"c.Exchange.root = {str(base / 'exchange')!r}\n")
    solutions = base / "solutions" / AID
    solutions.mkdir(parents=True)
    shutil.copy(REPO / "solutions" / AID / NB, solutions / NB)
    P.prepare_environment()
    api = P.make_api(course)
    assert api.generate_assignment(AID, force=True, create=True)["success"]
    source = nbformat.read(str(course / "source" / AID / NB), as_version=4)
    release = nbformat.read(str(course / "release" / AID / NB), as_version=4)
    solution = P.solution_submission(source)
    paths = {"gradebook": course / "gradebook.db",
             "secrets": [course / "gradebook.db", solutions / NB, course / "source" / AID / NB,
                         course / "submitted" / "solution" / AID / NB]}
    for student, files in _submissions(solution, release, paths).items():
        P.add_submission(course, student, AID, files)
    start = time.perf_counter()
    P.autograde_all(course, AID, jobs=2, progress=False)
    seconds = time.perf_counter() - start
    print(f"\nautograded {len(EXPECTED)} submissions in {seconds:.0f} s")
    return seconds


def _outputs(course: Path, student: str) -> str:
    nb = nbformat.read(str(course / "autograded" / student / AID / NB), as_version=4)
    chunks = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            chunks.append(out.get("text", "") + out.get("ename", "") + ": " + out.get("evalue", ""))
    return "\n".join(chunks)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_its_exact_score(graded, student):
    outcome = graded["outcomes"][student]
    score, review = EXPECTED[student]
    assert outcome.score == score, (outcome, _outputs(graded["course"], student) if outcome.score else "")
    assert outcome.max_score == FULL
    assert (outcome.status == "needs review") == review, outcome


def test_reasons_name_what_happened(graded):
    o = graded["outcomes"]
    assert any("corrupt notebook" in r for r in o["corrupt"].reasons)
    assert any("missing notebook" in r for r in o["missing"].reasons)
    assert any("renamed notebook" in r and "my solution (1).ipynb" in r for r in o["renamed"].reasons)
    assert any("kernel died" in r for r in o["os_exit"].reasons)
    assert any("ignored the interrupt" in r for r in o["ignores_interrupt"].reasons)
    for student in ("patch_allclose", "patch_testing", "patch_grading"):
        assert any("tampering detected" in r for r in o[student].reasons), o[student]
    assert any("reference implementation" in n for n in o["calls_reference"].notes)
    assert any("output truncated" in n for n in o["big_output"].notes)
    assert any("time limit" in n for n in o["infinite_loop"].notes)


def test_messages_in_the_graded_notebooks(graded):
    course = graded["course"]
    out = _outputs(course, "calls_reference")
    assert "uses dlcourse.linear_models.sigmoid" in out and "scores 0" in out
    out = _outputs(course, "patch_allclose")
    assert "numpy.allclose was replaced" in out
    assert "numpy.testing.assert_allclose was replaced" in _outputs(course, "patch_testing")
    assert "dlcourse.grading.part was replaced" in _outputs(course, "patch_grading")
    assert "MemoryError" in _outputs(course, "memory_bomb")
    assert "restored by the grader" in nbformat.writes(
        nbformat.read(str(course / "autograded" / "deleted_cells" / AID / NB), as_version=4))
    assert "RuntimeWarning" in _outputs(course, "warnings")


def test_student_code_cannot_touch_secrets(graded):
    if os.geteuid() != 0:
        pytest.skip("the sandbox drops privileges only when grading runs as root")
    course = graded["course"]
    out = _outputs(course, "reads_secrets")
    assert "READ" not in out and out.count("BLOCKED PermissionError") == 4, out
    out = _outputs(course, "writes_gradebook")
    assert "WROTE" not in out and out.count("BLOCKED") == 2, out
    # the gradebook still holds the honest scores of everyone
    assert graded["P"].gradebook_scores(course, graded["P"].load_config(course), AID, "solution") == (FULL, FULL)


def test_big_output_is_cut(graded):
    path = graded["course"] / "autograded" / "big_output" / AID / NB
    assert path.stat().st_size < 400_000
    assert "[output truncated" in path.read_text()


def test_feedback_has_no_hidden_tests_and_export_matches(graded):
    P, course = graded["P"], graded["course"]
    files = P.feedback_all(course, AID)
    students = {f.parts[-3] for f in files}
    assert {"solution", "blank", "buggy", "patch_grading"} <= students
    source = nbformat.read(str(course / "source" / AID / NB), as_version=4)
    hidden = P.authoring.hidden_lines(source)
    assert len(hidden) > 20
    for path in files:
        text = path.read_text()
        for needle in hidden + ["BEGIN HIDDEN TESTS", "a01_linear_models", "references", "_rng"]:
            assert needle not in text, (path, needle)
    solution_feedback = (course / "feedback" / "solution" / AID / f"{AID}.html").read_text()
    assert solution_feedback.count("passed") >= 12
    buf = io.StringIO()
    P.export_csv(course, buf, [AID])
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(buf.getvalue()))}
    for student, (score, review) in EXPECTED.items():
        assert float(rows[student]["score"]) == score, rows[student]
        assert rows[student]["status"] == ("needs review" if review else "ok")
    assert rows["solution"]["normal_equation"] == "4" and rows["buggy"]["normal_equation"] == "2"
    assert rows["infinite_loop"]["sigmoid"] == "0" and rows["infinite_loop"]["mse"] == "2"
    assert rows["missing"]["mse"] == "0"


def test_cli_resumes_after_an_interrupt(graded, tmp_path):
    """Ctrl-C in the middle of ``autograde``: the next run grades only what is left, and loses nothing."""
    P = graded["P"]
    course = P.scratch_copy(graded["course"], tmp_path / "course")
    shutil.copy(graded["course"] / "gradebook.db", course / "gradebook.db")
    shutil.copytree(graded["course"] / "release", course / "release")
    solution = nbformat.read(str(graded["course"] / "submitted" / "solution" / AID / NB), as_version=4)
    students = [f"resume{i}" for i in range(3)]
    for s in students:
        P.add_submission(course, s, AID, {NB: solution})
    cmd = [sys.executable, "-m", "dlcourse.course", "--course", str(course), "autograde", AID, "--jobs", "1",
           "--no-progress"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    journal = P.Journal(course, AID).path
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if journal.exists() and len(P.Journal(course, AID).entries) >= 1:
            break
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)   # what Ctrl-C in a terminal does
    proc.wait(timeout=120)
    first = P.Journal(course, AID).entries
    assert 1 <= len(first) < len(students), first
    done_before = {s: (course / "autograded" / s / AID / NB).stat().st_mtime for s in first}
    result = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    final = P.Journal(course, AID).entries
    assert sorted(final) == students
    for s in students:
        assert P.gradebook_scores(course, P.load_config(course), AID, s) == (FULL, FULL)
    for s, mtime in done_before.items():   # not graded twice
        assert (course / "autograded" / s / AID / NB).stat().st_mtime == mtime
    assert re.search(r"resume0\s+20/20\s+ok", result.stdout), result.stdout


def test_the_command_line_still_validates_notebooks_without_the_iri_grammar():
    """``dlcourse.course`` skips jsonschema's IRI checker (2 s of start-up); nbformat and nbgrader
    validation must be unaffected: a valid notebook passes, a broken one is reported."""
    code = """
import sys
from dlcourse.course import _skip_unused_iri_grammar
_skip_unused_iri_grammar()
import nbformat
from dlcourse.grading import pipeline
from nbgrader.nbgraderformat import ValidationError, MetadataValidator
assert "rfc3987_syntax" not in sys.modules or sys.modules["rfc3987_syntax"] is None
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
nbformat.validate(nb)
nb.cells[0]["execution_count"] = "one"
try:
    nbformat.validate(nb)
except nbformat.ValidationError:
    pass
else:
    raise SystemExit("an invalid notebook passed")
cell = nbformat.v4.new_code_cell("x", metadata={"nbgrader": {"schema_version": 3, "grade": "yes"}})
try:
    MetadataValidator().validate_cell(cell)
except ValidationError:
    print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr
