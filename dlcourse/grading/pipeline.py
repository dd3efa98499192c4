"""The instructor's operations behind ``python -m dlcourse.course``: check, autograde, feedback, export.

Everything goes through nbgrader's own ``NbGraderAPI`` with the course's ``nbgrader_config.py``;
what is added here:

* ``autograde_all`` grades the submissions of an assignment in a process pool (one ``NbGraderAPI``
  per worker, a progress bar), isolates failures (a corrupt, missing or renamed notebook, an
  nbgrader error) and lists them as *needs review* with the reason, retries a submission when
  sqlite is busy, and keeps a journal (``.dlcourse/autograde-<id>.json``) so that an interrupted run
  resumes where it stopped.  A submission counts as done only when its scores are in the gradebook.
* ``feedback_all`` writes feedback and then proves it contains no hidden-test code.
* ``export_csv`` writes one row per student and assignment with the score of every part.
* ``check_course`` proves, in a scratch copy of the course, that every source is valid, that the
  solution gets full marks and the released notebook zero, and that nothing secret is released.
* ``write_solutions`` regenerates ``solutions/`` with ``nbgrader generate_solution``.
"""
from __future__ import annotations

import copy
import csv
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import authoring

STATE_DIR = ".dlcourse"
NEEDS_REVIEW, OK = "needs review", "ok"
#: error names in an autograded notebook that make a submission need a human look
REVIEW_EVENTS = {"TamperDetected": "tampering detected", "KernelDied": "the kernel died",
                 "KernelUnresponsive": "a cell ignored the interrupt (kernel restarted)",
                 "NotebookTimeLimit": "the notebook time limit was reached",
                 "HeldOutError": "held-out predictions could not be scored"}
#: error names that are worth a note but are graded normally
NOTE_EVENTS = {"ForbiddenCall": "used the library's reference implementation",
               "CellTimeoutError": "a cell hit the time limit",
               "HeldOutBelowTarget": "held-out accuracy below the target"}
LEAK_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "dlcourse.grading.references", "_R.")


# -------------------------------------------------------------------------------------------------
# nbgrader plumbing
# -------------------------------------------------------------------------------------------------
def prepare_environment() -> None:
    """nbgrader shells out to ``alembic`` when it creates a gradebook: put this Python's bin/ first on PATH."""
    bindir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def load_config(course_root: Path):
    """The course's ``nbgrader_config.py`` as a traitlets Config (root forced to ``course_root``)."""
    from traitlets.config.loader import PyFileConfigLoader

    course_root = Path(course_root).resolve()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    config.CourseDirectory.root = str(course_root)
    return config


def make_api(course_root: Path, config=None):
    """An ``NbGraderAPI`` for ``course_root``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    prepare_environment()
    config = config or load_config(course_root)
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "unknown error"


def source_notebooks(course_root: Path, assignment: str) -> list[Path]:
    return sorted((Path(course_root) / "source" / assignment).glob("*.ipynb"))


def _course_id(config) -> str:
    return config.CourseDirectory.get("course_id", "") or ""


def _db_url(course_root: Path) -> str:
    return f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"


# -------------------------------------------------------------------------------------------------
# autograde in parallel
# -------------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """How one submission was graded."""

    student: str
    status: str = OK
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    timestamp: str | None = None


def _submission_dir(course_root: Path, student: str, assignment: str) -> Path:
    return Path(course_root) / "submitted" / student / assignment


def submitted_students(course_root: Path, assignment: str) -> list[str]:
    base = Path(course_root) / "submitted"
    if not base.is_dir():
        return []
    return sorted(d.name for d in base.iterdir() if (d / assignment).is_dir())


def _timestamp(course_root: Path, student: str, assignment: str) -> str | None:
    path = _submission_dir(course_root, student, assignment) / "timestamp.txt"
    return path.read_text().strip() if path.exists() else None


def inspect_submission(course_root: Path, student: str, assignment: str) -> tuple[list[str], list[str], bool]:
    """Before grading: ``(reasons, notes, gradable)`` for missing, renamed and corrupt notebooks.

    A renamed notebook (the expected one is missing and exactly one unknown notebook is there) is
    copied to the expected name — the student's file stays — and graded.
    """
    sub = _submission_dir(course_root, student, assignment)
    expected = [p.name for p in source_notebooks(course_root, assignment)]
    present = sorted(p.name for p in sub.glob("*.ipynb"))
    reasons, notes = [], []
    missing = [n for n in expected if n not in present]
    unknown = [n for n in present if n not in expected]
    if missing and len(missing) == 1 and len(unknown) == 1:
        shutil.copyfile(sub / unknown[0], sub / missing[0])
        missing = []
    for name in unknown:
        copies = [n for n in expected if (sub / n).exists() and (sub / n).read_bytes() == (sub / name).read_bytes()]
        if copies:  # (also when regrading: the copy made on the first run is still there)
            reasons.append(f"renamed notebook: graded {name!r} as {copies[0]!r}")
        else:
            notes.append(f"ignored extra notebook {name!r}")
    for name in missing:
        reasons.append(f"missing notebook {name}" + (f" (found {', '.join(unknown)})" if unknown else ""))
    gradable = False
    for name in expected:
        path = sub / name
        if not path.exists():
            continue
        try:
            nb = nbformat.read(str(path), as_version=4)
            nbformat.validate(nb)
            gradable = True
        except Exception as err:  # noqa: BLE001  (any unreadable notebook is the same case)
            reasons.append(f"corrupt notebook {name}: {type(err).__name__}: {_last_line(str(err))[:160]}")
    return reasons, notes, gradable


def _gradebook(course_root: Path, config):
    """nbgrader's Gradebook, without the sqlalchemy warnings its own code triggers."""
    import contextlib
    import warnings

    from nbgrader.api import Gradebook

    @contextlib.contextmanager
    def quiet():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not in session.*")
            with Gradebook(_db_url(course_root), _course_id(config)) as gb:
                yield gb
    return quiet()


def _zero_fill(course_root: Path, config, assignment: str, student: str) -> None:
    """Record 0 for every ungraded cell, so the gradebook and the export show the submission."""
    with _gradebook(course_root, config) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.auto_score is None and grade.manual_score is None:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
        gb.db.commit()


def gradebook_scores(course_root: Path, config, assignment: str, student: str) -> tuple[float, float] | None:
    """``(score, max_score)`` from the gradebook, or None when any graded cell has no score."""
    from nbgrader.api import MissingEntry

    with _gradebook(course_root, config) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.score is None:
                    return None
        return float(submission.score), float(submission.max_score)


def scan_events(course_root: Path, student: str, assignment: str) -> tuple[list[str], list[str]]:
    """Reasons for review and notes from the error outputs of the autograded notebook(s)."""
    reasons, notes = [], []
    for path in sorted((Path(course_root) / "autograded" / student / assignment).glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and "[output truncated" in out.get("text", ""):
                    notes.append(f"output truncated in {gid}")
                if out.get("output_type") != "error":
                    continue
                name = out.get("ename", "")
                if name in REVIEW_EVENTS:
                    reasons.append(f"{REVIEW_EVENTS[name]} ({gid})")
                elif name in NOTE_EVENTS:
                    notes.append(f"{NOTE_EVENTS[name]} ({gid})")
    return _unique(reasons), _unique(notes)


def _unique(items: list[str]) -> list[str]:
    if any(i.startswith("tampering detected") for i in items):
        items = [i for i in items if i.startswith("tampering detected")][:1] + \
                [i for i in items if not i.startswith("tampering detected")]
    return list(dict.fromkeys(items))


# worker side ------------------------------------------------------------------------------------
_WORKER: dict = {}


def _init_worker(course_root: str, slots) -> None:
    import warnings

    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")  # sqlalchemy noise from nbgrader's api
    slot = slots.get()
    os.environ["DLCOURSE_SANDBOX_SLOT"] = str(slot)
    config = load_config(Path(course_root))
    if "fork_server" not in config.SandboxKernelManager:  # a course may turn it off explicitly
        # kernels fork from a server that imported ipykernel, numpy and dlcourse once (a third of a
        # notebook's grading time); each is still a new, sandboxed process (dlcourse.grading.forkserver)
        config.SandboxKernelManager.fork_server = True
    _WORKER["config"] = config
    _WORKER["api"] = make_api(Path(course_root), config)
    _validate_metadata_without_rechecking_the_schema()


def _validate_metadata_without_rechecking_the_schema() -> None:
    """nbgrader validates each cell's metadata with ``jsonschema.validate``, which first checks its own
    (constant) schema every time: a tenth of a notebook's grading time in the worker.  Same errors."""
    import jsonschema
    from nbgrader.nbgraderformat import common

    validators: dict[int, object] = {}

    def validate(instance, schema):
        if id(schema) not in validators:
            validators[id(schema)] = (schema, jsonschema.validators.validator_for(schema)(schema))
        error = jsonschema.exceptions.best_match(validators[id(schema)][1].iter_errors(instance))
        if error is not None:
            raise error

    common.jsonschema = types.SimpleNamespace(validate=validate)  # the only name common.py uses


def _grade(args: tuple[str, str]) -> tuple[str, bool, str, float]:
    assignment, student = args
    api = _WORKER["api"]
    start = time.perf_counter()
    error = ""
    for attempt in range(4):
        try:
            result = api.autograde(assignment, student, force=True, create=True)
        except Exception as err:  # noqa: BLE001  (an nbgrader crash must not take the pool down)
            result = {"success": False, "error": f"{type(err).__name__}: {err}"}
        if result.get("success"):
            return student, True, "", time.perf_counter() - start
        error = _nbgrader_error(result)
        # a fresh API for the next submission: nothing of a failed run may leak into it
        _WORKER["api"] = make_api(Path(api.coursedir.root), copy.deepcopy(_WORKER["config"]))
        api = _WORKER["api"]
        if "database is locked" not in error:
            break
        time.sleep(0.5 * 2 ** attempt)
    return student, False, error, time.perf_counter() - start


def _nbgrader_error(result: dict) -> str:
    """The informative part of a failed NbGraderAPI call: the exception lines of its log and error."""
    text = (result.get("log") or "") + "\n" + (result.get("error") or "")
    lines = [ln.strip() for ln in text.splitlines()
             if re.match(r"\s*[\w.]*(Error|Exception|error)\b", ln.strip()) and "Please see the" not in ln]
    return "; ".join(dict.fromkeys(lines))[-600:] or _last_line(text)


class Journal:
    """The resumable record of an assignment's autograde runs (``<course>/.dlcourse/autograde-<id>.json``)."""

    def __init__(self, course_root: Path, assignment: str) -> None:
        self.path = Path(course_root) / STATE_DIR / f"autograde-{assignment}.json"
        self.entries: dict[str, dict] = {}
        if self.path.exists():
            try:
                self.entries = json.loads(self.path.read_text())
            except ValueError:
                self.entries = {}

    def record(self, outcome: Outcome) -> None:
        self.entries[outcome.student] = asdict(outcome)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.entries, indent=1, sort_keys=True))
        os.replace(tmp, self.path)


def autograde_all(course_root: Path, assignment: str, *, jobs: int = 2, force: bool = False,
                  students: list[str] | None = None, progress: bool = True) -> list[Outcome]:
    """Autograde every submission of ``assignment`` with ``jobs`` workers; see the module docstring."""
    from tqdm import tqdm

    course_root = Path(course_root).resolve()
    prepare_environment()
    config = load_config(course_root)
    api = make_api(course_root, config)
    if not (course_root / "gradebook.db").exists() or not (course_root / "release" / assignment).exists():
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {assignment} failed: {_last_line(result.get('error'))}")
    journal = Journal(course_root, assignment)
    everyone = submitted_students(course_root, assignment)
    todo_students = [s for s in everyone if not students or s in students]
    outcomes: dict[str, Outcome] = {}
    pending: dict[str, Outcome] = {}
    for student in todo_students:
        stamp = _timestamp(course_root, student, assignment)
        previous = journal.entries.get(student)
        retry = previous and any(r.startswith("nbgrader failed") for r in previous.get("reasons", []))
        if (not force and previous and not retry and previous.get("timestamp") == stamp
                and gradebook_scores(course_root, config, assignment, student) is not None):
            outcomes[student] = Outcome(**previous)  # done in an earlier (possibly interrupted) run
            continue
        reasons, notes, gradable = inspect_submission(course_root, student, assignment)
        outcome = Outcome(student, reasons=reasons, notes=notes, timestamp=stamp)
        if gradable:
            pending[student] = outcome
        else:
            _zero_fill(course_root, config, assignment, student)
            _finish(course_root, config, assignment, outcome, journal)
            outcomes[student] = outcome
    if pending:
        ctx = multiprocessing.get_context("fork")
        slots = ctx.Queue()
        for slot in range(jobs):
            slots.put(slot)
        bar = tqdm(total=len(pending), desc=f"autograde {assignment}", unit="submission", file=sys.stderr,
                   disable=not progress, dynamic_ncols=True)
        with ctx.Pool(jobs, initializer=_init_worker, initargs=(str(course_root), slots)) as pool:
            try:
                for student, success, error, seconds in pool.imap_unordered(
                        _grade, [(assignment, s) for s in pending]):
                    outcome = pending[student]
                    outcome.seconds = round(seconds, 2)
                    if not success:
                        outcome.reasons.append(f"nbgrader failed: {error}")
                        _zero_fill(course_root, config, assignment, student)
                    _finish(course_root, config, assignment, outcome, journal)
                    outcomes[student] = outcome
                    bar.update(1)
                    review = sum(o.status == NEEDS_REVIEW for o in outcomes.values())
                    bar.set_postfix(needs_review=review)
            except KeyboardInterrupt:
                pool.terminate()
                _kill_sandbox_leftovers(config, jobs)
                raise
            finally:
                bar.close()
    return [outcomes[s] for s in todo_students if s in outcomes]


def _kill_sandbox_leftovers(config, jobs: int) -> None:
    """After an interrupted pool: kill kernels the terminated workers could not shut down (root only)."""
    from .sandbox import NAMESPACE_ENV, kill_unclaimed_leftovers

    if os.geteuid() != 0:
        return  # unsandboxed kernels exit by themselves when their worker dies (ipykernel's parent poller)
    base = config.SandboxKernelManager.get("sandbox_user", "dlcourse-grader")
    namespace = os.environ.get(NAMESPACE_ENV, "")
    for slot in range(jobs):
        kill_unclaimed_leftovers("-".join(p for p in (base, namespace, str(slot)) if p))


def _finish(course_root: Path, config, assignment: str, outcome: Outcome, journal: Journal) -> None:
    reasons, notes = scan_events(course_root, outcome.student, assignment)
    outcome.reasons = _unique(outcome.reasons + reasons)
    outcome.notes = _unique(outcome.notes + notes)
    scores = gradebook_scores(course_root, config, assignment, outcome.student)
    if scores is None:
        outcome.reasons.append("some cells have no score in the gradebook")
    else:
        outcome.score, outcome.max_score = scores
    outcome.status = NEEDS_REVIEW if outcome.reasons else OK
    journal.record(outcome)


def format_outcomes(outcomes: list[Outcome]) -> str:
    """A short table for the terminal: score per student, then everything that needs review."""
    lines = []
    for o in outcomes:
        score = "—" if o.score is None else f"{o.score:g}/{o.max_score:g}"
        lines.append(f"  {o.student:<24} {score:>9}  {o.status}")
    review = [o for o in outcomes if o.status == NEEDS_REVIEW]
    if review:
        lines.append(f"{len(review)} submission(s) need review:")
        for o in review:
            lines.append(f"  {o.student}: " + "; ".join(o.reasons))
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------------
# feedback and export
# -------------------------------------------------------------------------------------------------
def feedback_all(course_root: Path, assignment: str, students: list[str] | None = None) -> list[Path]:
    """Generate feedback for every autograded submission, then refuse any file that leaks hidden tests."""
    course_root = Path(course_root).resolve()
    api = make_api(course_root)
    base = course_root / "autograded"
    graded = sorted(d.name for d in base.iterdir() if (d / assignment).is_dir()) if base.is_dir() else []
    for student in graded:
        if students and student not in students:
            continue
        result = api.generate_feedback(assignment, student, force=True)
        if not result["success"]:
            raise RuntimeError(f"generate_feedback failed for {student}: {_last_line(result.get('error'))}")
    files = sorted((course_root / "feedback").glob(f"*/{assignment}/*.html"))
    leaks = find_leaks(course_root, assignment, files)
    if leaks:
        for path in {p for p, _ in leaks}:
            path.unlink()
        raise RuntimeError("feedback would leak hidden tests (files removed): " +
                           "; ".join(f"{p}: {m!r}" for p, m in leaks[:5]))
    return files


def find_leaks(course_root: Path, assignment: str, files: list[Path]) -> list[tuple[Path, str]]:
    """``(file, text)`` for every file containing a hidden-test line or a reference name."""
    import html

    markers = list(LEAK_MARKERS)
    for path in source_notebooks(course_root, assignment):
        markers += authoring.hidden_lines(nbformat.read(str(path), as_version=4))
    leaks = []
    for path in files:
        text = html.unescape(Path(path).read_text(encoding="utf-8", errors="replace"))
        for marker in markers:
            if marker in text:
                leaks.append((Path(path), marker))
                break
    return leaks


def part_columns(course_root: Path, assignment: str) -> dict[str, list[str]]:
    """``{part name: [grade ids]}`` in notebook order, from the ``G.part("<id>/<part>", ...)`` calls."""
    parts: dict[str, list[str]] = {}
    for path in source_notebooks(course_root, assignment):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade"):
                continue
            m = authoring.PART_CALL.search(cell.source)
            name = m["key"].split("/")[-1] if m else meta["grade_id"]
            parts.setdefault(name, []).append(meta["grade_id"])
    return parts


def export_csv(course_root: Path, out, assignments: list[str] | None = None) -> int:
    """Write ``student, assignment, <part>..., score, max_score, status, reasons`` rows; returns the row count."""
    from nbgrader.api import MissingEntry

    course_root = Path(course_root).resolve()
    config = load_config(course_root)
    if assignments is None:
        assignments = sorted(p.name for p in (course_root / "source").iterdir() if p.is_dir())
    rows, header_parts = [], {}
    with _gradebook(course_root, config) as gb:
        for assignment in assignments:
            parts = part_columns(course_root, assignment)
            header_parts[assignment] = list(parts)
            journal = Journal(course_root, assignment)
            try:
                gb.find_assignment(assignment)
            except MissingEntry:
                continue
            for student in sorted(s.id for s in gb.students):
                try:
                    submission = gb.find_submission(assignment, student)
                except MissingEntry:
                    continue
                by_cell = {}
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        by_cell[grade.name] = grade.score
                row = {"student": student, "assignment": assignment}
                for part, cells in parts.items():
                    scores = [by_cell.get(c) for c in cells]
                    row[part] = "" if any(s is None for s in scores) else f"{sum(scores):g}"
                entry = journal.entries.get(student, {})
                row.update(score=f"{submission.score:g}", max_score=f"{submission.max_score:g}",
                           status=entry.get("status", OK), reasons="; ".join(entry.get("reasons", [])))
                rows.append(row)
    all_parts = list(dict.fromkeys(p for a in assignments for p in header_parts.get(a, [])))
    fields = ["student", "assignment", *all_parts, "score", "max_score", "status", "reasons"]
    writer = csv.DictWriter(out, fieldnames=fields, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return len(rows)


# -------------------------------------------------------------------------------------------------
# solutions and the course check
# -------------------------------------------------------------------------------------------------
def scratch_copy(course_root: Path, dest: Path) -> Path:
    """A copy of the course's config, specs and sources (no gradebook, no submissions) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(course_root / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(course_root / "source", dest / "source", dirs_exist_ok=True)
    # instructor-only grading data (held-out labels) where the scratch course's grader looks for it
    for grading in sorted((course_root.parent / "solutions").glob("*/grading")):
        shutil.copytree(grading, dest.parent / "solutions" / grading.parent.name / "grading", dirs_exist_ok=True)
    return dest


def normalize_solution(nb) -> None:
    """Drop what changes from run to run (execution timings and counts) so ``solutions/`` is stable."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.execution_count = None
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = None


def generate_solutions(course_root: Path, assignment: str, workdir: Path) -> dict[str, object]:
    """``{notebook file name: solved notebook}`` made by ``nbgrader generate_solution`` in ``workdir``."""
    from nbgrader.apps.api import capture_log
    from nbgrader.converters import GenerateSolution
    from nbgrader.utils import temp_attrs

    scratch = scratch_copy(Path(course_root).resolve(), workdir)
    api = make_api(scratch)
    result = api.generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise RuntimeError(f"generate_assignment {assignment} failed: {_last_line(result.get('error'))}")
    with temp_attrs(api.coursedir, assignment_id=assignment):
        app = GenerateSolution(coursedir=api.coursedir, parent=api)
        app.force = True
        result = capture_log(app)
    if not result["success"]:
        log = "\n".join(ln for ln in (result.get("log") or "").splitlines() if "[ERROR]" in ln or "Error" in ln)
        raise RuntimeError(f"generate_solution {assignment} failed: {_last_line(result.get('error'))}\n{log[-3000:]}")
    solved = {}
    for path in sorted((scratch / "solution" / assignment).glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        normalize_solution(nb)
        solved[path.name] = nb
    return solved


def write_solutions(course_root: Path, solutions_dir: Path, assignments: list[str] | None = None) -> list[Path]:
    """Regenerate ``solutions/<id>/<id>.ipynb`` for each assignment; returns the files written."""
    course_root = Path(course_root).resolve()
    assignments = assignments or sorted(p.name for p in (course_root / "source").iterdir() if p.is_dir())
    written = []
    for assignment in assignments:
        with tempfile.TemporaryDirectory(prefix="dlcourse-solutions-") as tmp:
            solved = generate_solutions(course_root, assignment, Path(tmp) / "course")
        target = Path(solutions_dir) / assignment
        target.mkdir(parents=True, exist_ok=True)
        for name, nb in solved.items():
            nbformat.write(nb, str(target / name))
            written.append(target / name)
    return written


def solution_submission(source_nb) -> object:
    """The source notebook as a student would submit it after solving everything (hidden tests removed)."""
    nb = copy.deepcopy(source_nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", "", cell.source, flags=re.S)
    return nb


def add_submission(course_root: Path, student: str, assignment: str, notebooks: dict[str, object | bytes | str],
                   timestamp: str = "2025-01-15 12:00:00.000000 UTC") -> Path:
    """Place a submission in ``submitted/<student>/<assignment>/`` (notebook objects, or raw text/bytes)."""
    sub = _submission_dir(course_root, student, assignment)
    if sub.exists():
        shutil.rmtree(sub)
    sub.mkdir(parents=True)
    for name, content in notebooks.items():
        path = sub / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            nbformat.write(content, str(path))
    (sub / "timestamp.txt").write_text(timestamp)
    return sub


@dataclass
class CheckResult:
    assignment: str
    problems: list[str]
    max_score: float = 0.0
    solution_score: float | None = None
    release_score: float | None = None
    released_files: list[str] = field(default_factory=list)  # non-notebook files students receive

    @property
    def ok(self) -> bool:
        return not self.problems


def check_assignment(course_root: Path, assignment: str, solutions_dir: Path | None, workdir: Path,
                     jobs: int = 2) -> CheckResult:
    """Everything an assignment must satisfy before release (see ``python -m dlcourse.course check``)."""
    course_root = Path(course_root).resolve()
    problems = []
    sources = source_notebooks(course_root, assignment)
    if not sources:
        return CheckResult(assignment, [f"no notebook in source/{assignment}/"])
    others = [p for p in (course_root / "source" / assignment).rglob("*")
              if p.is_file() and p.suffix != ".ipynb" and ".ipynb_checkpoints" not in p.parts]
    for path in others:
        secret_name = re.search(r"solution|reference|answer|secret|label", path.name, re.I)
        if path.suffix in (".py", ".pyc") or secret_name:
            problems.append(f"source/{assignment}/{path.name} would be released to students (reference or "
                            f"solution material belongs in solutions/ or dlcourse.grading.references)")
    for path in sources:
        nb = nbformat.read(str(path), as_version=4)
        problems += [f"{path.name}: {p}" for p in authoring.validate_source(nb, assignment)]
    spec = course_root / "specs" / f"{assignment}.py"
    if spec.exists() and assignment in authoring.build_all(course_root, [assignment], check_only=True):
        problems.append(f"source/{assignment} is out of date with specs/{assignment}.py (run assignments/build.py)")
    if problems:
        return CheckResult(assignment, problems)

    scratch = scratch_copy(course_root, workdir / "course")
    api = make_api(scratch)
    result = api.generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        return CheckResult(assignment, [f"generate_assignment failed: {_last_line(result.get('error'))}"])
    release_dir = scratch / "release" / assignment
    for path in sources:
        src = nbformat.read(str(path), as_version=4)
        released = release_dir / path.name
        text = released.read_text(encoding="utf-8")
        released_lines = {ln.strip() for cell in nbformat.read(str(released), as_version=4).cells
                          for ln in cell.source.splitlines()}
        for line in authoring.hidden_lines(src) + authoring.solution_lines(src):
            if line in released_lines:
                problems.append(f"release/{path.name} contains hidden-test or solution code: {line!r}")
                break
        for marker in LEAK_MARKERS:
            if marker in text:
                problems.append(f"release/{path.name} contains {marker!r}")
    extra = sorted(str(p.relative_to(release_dir)) for p in release_dir.rglob("*")
                   if p.is_file() and p.suffix != ".ipynb")

    solved = {p.name: solution_submission(nbformat.read(str(p), as_version=4)) for p in sources}
    blank = {p.name: nbformat.read(str(release_dir / p.name), as_version=4) for p in sources}
    add_submission(scratch, "check-solution", assignment, solved)
    add_submission(scratch, "check-release", assignment, blank)
    outcomes = {o.student: o for o in autograde_all(scratch, assignment, jobs=jobs, progress=False)}
    sol, rel = outcomes["check-solution"], outcomes["check-release"]
    max_score = sol.max_score or 0.0
    if sol.status != OK or sol.score != sol.max_score:
        problems.append(f"the solution scores {sol.score}/{sol.max_score} ({'; '.join(sol.reasons + sol.notes)})")
    if rel.status != OK or rel.score != 0:
        problems.append(f"the released notebook scores {rel.score}/{rel.max_score} "
                        f"({'; '.join(rel.reasons + rel.notes) or 'should be 0'})")
    if solutions_dir is not None:
        problems += _check_solutions_in_sync(course_root, assignment, Path(solutions_dir), workdir / "solutions")
    return CheckResult(assignment, problems, max_score, sol.score, rel.score, extra)


def _check_solutions_in_sync(course_root: Path, assignment: str, solutions_dir: Path, workdir: Path) -> list[str]:
    fresh = generate_solutions(course_root, assignment, workdir)
    problems = []
    for name, nb in fresh.items():
        stored = solutions_dir / assignment / name
        if not stored.exists():
            problems.append(f"solutions/{assignment}/{name} is missing (run: python -m dlcourse.course solutions)")
        elif not same_sources(nbformat.read(str(stored), as_version=4), nb):
            problems.append(f"solutions/{assignment}/{name} is out of date (run: python -m dlcourse.course solutions)")
    return problems


def same_sources(a, b) -> bool:
    """Same cells (type, source, nbgrader metadata); outputs are not compared."""
    def key(nb):
        return [(c.cell_type, c.source, json.dumps(c.metadata.get("nbgrader", {}), sort_keys=True)) for c in nb.cells]
    return key(a) == key(b)


def check_course(course_root: Path, solutions_dir: Path | None, assignments: list[str] | None = None,
                 jobs: int = 2) -> list[CheckResult]:
    course_root = Path(course_root).resolve()
    assignments = assignments or sorted(p.name for p in (course_root / "source").iterdir() if p.is_dir())
    results = []
    for assignment in assignments:
        with tempfile.TemporaryDirectory(prefix="dlcourse-check-") as tmp:
            try:
                results.append(check_assignment(course_root, assignment, solutions_dir, Path(tmp), jobs=jobs))
            except Exception as err:  # noqa: BLE001  (report, and check the other assignments)
                results.append(CheckResult(assignment, [f"{type(err).__name__}: {err}"]))
    return results
