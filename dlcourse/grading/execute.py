"""nbgrader preprocessors that make autograding robust against what student notebooks do.

``HardenedExecute`` replaces nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``:

* **time**: ``Execute.timeout`` per cell (the kernel is interrupted, the cell errors) and
  ``notebook_timeout`` for the whole notebook (each cell gets at most the time left; cells after the
  budget is spent are not run and their tests score 0);
* **hung or dead kernels**: a cell that ignores the interrupt for ``interrupt_grace`` seconds, or
  a kernel that dies (``os._exit``, a segfault, the memory limit), costs that cell only: the kernel
  is restarted, the cells that ran before are replayed silently, and grading goes on;
* **output**: at most ``max_output_bytes`` per cell and ``max_total_output_bytes`` per notebook are
  kept (10 MB of prints cannot blow up the grader, the gradebook or the feedback);
* **stderr**: in graded cells stderr is turned into stdout — nbgrader gives 0 to a test cell with
  any stderr output, and a warning from correct code must not cost points;
* **tampering**: after the last cell the grader asks the kernel's guard what was replaced since
  start-up (``dlcourse.grading._guard``); if anything was, every graded cell gets a
  ``TamperDetected`` error and the notebook scores 0;
* **sandbox**: kernels start through :class:`dlcourse.grading.sandbox.SandboxKernelManager`.

Error outputs added here use the names in :data:`EVENT_NAMES`, which the instructor tools scan
to list submissions that need review.

``RestoreLockedCells`` (a sanitize preprocessor, after ``OverwriteCells``) puts back every locked
cell a student deleted — test cells and read-only set-up cells — at its original position, from
the source notebook and the gradebook.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path
from queue import Empty
from time import monotonic

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import read as read_notebook
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode, default

from .checks import HELDOUT_MIME

from .sandbox import SandboxKernelManager

#: error names this module writes into a cell (scanned by dlcourse.grading.pipeline)
KERNEL_DIED, CELL_HUNG, NOTEBOOK_TIME = "KernelDied", "KernelUnresponsive", "NotebookTimeLimit"
TAMPER = "TamperDetected"
HELDOUT_FAIL, HELDOUT_ERROR = "HeldOutBelowTarget", "HeldOutError"
EVENT_NAMES = (KERNEL_DIED, CELL_HUNG, NOTEBOOK_TIME, TAMPER, HELDOUT_FAIL, HELDOUT_ERROR)

_GUARD_EXPR = "__import__('dlcourse.grading._guard', fromlist=['_guard']).integrity_report()"


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class HardenedExecute(Execute):
    """nbgrader's ``Execute`` with limits, recovery and tamper checks (see the module docstring)."""

    notebook_timeout = Integer(600, help="seconds for the whole notebook (0: no limit)").tag(config=True)
    interrupt_grace = Integer(5, help="seconds a timed-out cell may take to react to the interrupt "
                              "before the kernel is restarted").tag(config=True)
    max_output_bytes = Integer(100_000, help="output kept per cell (bytes of text/data)").tag(config=True)
    max_total_output_bytes = Integer(1_000_000, help="output kept per notebook").tag(config=True)
    sandbox = Bool(True, help="start kernels with SandboxKernelManager").tag(config=True)
    check_integrity = Bool(True, help="zero the notebook when numpy/grading code was replaced").tag(config=True)
    heldout_root = Unicode("", help="directory with <assignment>/grading/<name>.npz (labels, target) for "
                           "held-out predictions handed in by hidden tests; usually solutions/").tag(config=True)
    startup_retries = Integer(2, help="new attempts when a kernel dies before the first cell").tag(config=True)

    @default("shutdown_kernel")
    def _immediate_shutdown(self):
        return "immediate"  # a graded kernel has nothing to save: kill it instead of waiting for it to exit

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.sandbox:
            self.kernel_manager_class = SandboxKernelManager

    # -- the notebook -----------------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        self._deadline = None
        self._replayable: list[int] = []
        self._out_bytes: dict[int, int] = {}
        self._truncated: set[int] = set()
        self._total_out = 0
        self._timed_out = False
        self._cwd = (resources or {}).get("metadata", {}).get("path") or None
        self._assignment = (resources or {}).get("nbgrader", {}).get("assignment", "")
        for attempt in range(self.startup_retries + 1):
            try:
                return super().preprocess(nb, resources, km)
            except RuntimeError as err:
                # a kernel that dies before running a single cell is the grader's problem, not the
                # student's: try again (the log of the dead kernel goes to the grader's log)
                if self._deadline is not None or attempt == self.startup_retries:
                    raise
                log = getattr(getattr(self, "_last_km", None), "last_kernel_log", "")
                self.log.warning("kernel failed to start (%s), retrying; kernel log:\n%s", err, log)

    def create_kernel_manager(self):
        if self.sandbox:
            self.kernel_manager_class = SandboxKernelManager
        self._last_km = super().create_kernel_manager()
        # the kernel stops forwarding output a little after the point where we stop keeping it
        self._last_km.output_limit = 2 * self.max_output_bytes
        return self._last_km

    def preprocess_cell(self, cell, resources, index):
        self._check_assign_resources(resources)
        if self._deadline is None:
            self._deadline = monotonic() + self.notebook_timeout if self.notebook_timeout else float("inf")
        if cell.cell_type == "code" and cell.source.strip():
            cell = run_sync(self._run_cell)(cell, index)
            if utils.is_grade(cell):
                for out in cell.outputs:
                    if out.get("output_type") == "stream" and out.get("name") == "stderr":
                        out["name"] = "stdout"
        if utils.is_grade(cell) or any(HELDOUT_MIME in out.get("data", {}) for out in cell.get("outputs", [])):
            cell.outputs = score_heldout(cell.outputs, self._assignment, self.heldout_root,
                                         graded=utils.is_grade(cell))
        if index == len(self.nb.cells) - 1 and self.check_integrity:
            run_sync(self._final_integrity_check)()
        return cell, self.resources

    async def _run_cell(self, cell, index):
        remaining = self._deadline - monotonic()
        if remaining <= 1:
            cell.outputs = [_error(NOTEBOOK_TIME, f"the notebook used up its time limit of {self.notebook_timeout} s "
                                                  f"before this cell ran; it was not run")]
            return cell
        self._cell_timeout = max(1, int(min(self.timeout or remaining, remaining)))
        self._timed_out = False
        try:
            cell = await self.async_execute_cell(cell, index, store_history=True)
        except DeadKernelError:
            cell.outputs.append(_error(KERNEL_DIED, "the kernel died while running this cell (it may have exceeded "
                                                    "the memory limit, called os._exit() or crashed); the kernel was "
                                                    "restarted and grading went on"))
            self.nb.cells[index] = cell
            await self._recover(index)
            return cell
        except CellTimeoutError:
            cell.outputs.append(_error(CELL_HUNG, f"this cell did not stop within {self._cell_timeout} s and ignored "
                                                  f"the interrupt; the kernel was restarted and grading went on"))
            self.nb.cells[index] = cell
            await self._recover(index)
            return cell
        if self._timed_out and not await self._execute_quietly("", self.interrupt_grace):
            cell.outputs.append(_error(CELL_HUNG, f"this cell did not stop within {self._cell_timeout} s and ignored "
                                                  f"the interrupt; the kernel was restarted and grading went on"))
            await self._recover(index)
            return cell
        if not self._timed_out:
            self._replayable.append(index)
        return cell

    def _get_timeout(self, cell):
        if cell is not None and getattr(self, "_deadline", None) is not None:
            return getattr(self, "_cell_timeout", None) or super()._get_timeout(cell)
        return super()._get_timeout(cell)

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    # -- recovery ---------------------------------------------------------------------------------
    async def _recover(self, index: int) -> None:
        """Restart the kernel and silently re-run the cells that completed before ``index``.

        Test cells are not replayed (they are self-contained); set-up and answer cells are, so the
        student's functions exist again for the cells that follow.
        """
        await self._restart_kernel()
        for i in self._replayable:
            if utils.is_grade(self.nb.cells[i]):
                continue
            remaining = self._deadline - monotonic()
            if remaining <= 1:
                return
            ok = await self._execute_quietly(self.nb.cells[i].source, min(self.timeout or remaining, remaining))
            if not ok:  # a cell that completed once should complete again; give up replaying if not
                return

    async def _restart_kernel(self) -> None:
        # restart (not shutdown + start): a plain shutdown destroys the manager's zmq context
        if self.kc is not None:
            await ensure_async(self.kc.stop_channels())
        await ensure_async(self.km.restart_kernel(now=True))
        self.kc = self.km.client()
        await ensure_async(self.kc.start_channels())
        await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
        self.kc.allow_stdin = False

    async def _execute_quietly(self, source: str, timeout: float, **kwargs) -> dict | None:
        """Run ``source`` without recording output; the reply content, or None on timeout/death."""
        msg_id = await ensure_async(self.kc.execute(source, store_history=False, allow_stdin=False,
                                                    stop_on_error=False, **kwargs))
        deadline = monotonic() + timeout
        while True:
            left = deadline - monotonic()
            if left <= 0:
                return None
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=min(left, 1.0)))
            except Empty:
                if not await ensure_async(self.km.is_alive()):
                    return None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]

    # -- output limits ----------------------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "error":
            return super().output(outs, msg, display_id, cell_index)
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        used = self._out_bytes.get(cell_index, 0) + size
        self._out_bytes[cell_index] = used
        if used > self.max_output_bytes or self._total_out + size > self.max_total_output_bytes:
            if cell_index not in self._truncated:
                self._truncated.add(cell_index)
                limit = (f"{self.max_output_bytes} bytes for this cell" if used > self.max_output_bytes
                         else f"{self.max_total_output_bytes} bytes for the notebook")
                note = NotebookNode(output_type="stream", name="stdout",
                                    text=f"\n[output truncated: more than {limit}]\n")
                outs.append(note)
            return None
        self._total_out += size  # only what is kept counts against the notebook's budget
        return super().output(outs, msg, display_id, cell_index)

    # -- tampering --------------------------------------------------------------------------------
    async def _final_integrity_check(self) -> None:
        problems = await self._integrity_problems()
        if not problems:
            return
        message = ("grading integrity check failed after the last cell: " + "; ".join(problems) +
                   ". Replacing numpy, grading or library functions from the notebook is not allowed; "
                   "every test of this notebook scores 0.")
        for cell in self.nb.cells:
            if cell.cell_type == "code" and utils.is_grade(cell):
                cell.outputs.append(_error(TAMPER, message))

    async def _integrity_problems(self) -> list[str]:
        content = await self._execute_quietly("", max(self.interrupt_grace, 10), user_expressions={"r": _GUARD_EXPR})
        if content is None:
            return ["the kernel did not answer the integrity check"]
        result = content.get("user_expressions", {}).get("r", {})
        if result.get("status") != "ok":
            return [f"the integrity check could not run ({result.get('ename', 'no result')})"]
        try:
            report = json.loads(ast.literal_eval(result["data"]["text/plain"]))
        except (KeyError, ValueError, SyntaxError, TypeError):
            return ["the integrity check returned something unexpected"]
        if not report.get("armed"):
            return ["the grading guard was removed from the kernel"]
        return list(report.get("problems", []))


def score_heldout(outputs: list, assignment: str, root: str, graded: bool = True) -> list:
    """Replace held-out predictions in a cell's outputs by their accuracy (grader side, labels stay here).

    Only graded cells are scored, and each held-out set at most once per cell (a second set of
    predictions — e.g. displayed by the student's own code — is an error, not a second chance).
    """
    import numpy as np

    kept, seen = [], set()
    for out in outputs:
        payload = out.get("data", {}).get(HELDOUT_MIME) if out.get("output_type") == "display_data" else None
        if payload is None:
            kept.append(out)
            continue
        if not graded:
            continue  # predictions outside a test cell are dropped, never scored
        key = str(payload.get("key", ""))
        owner, _, name = key.partition("/")
        path = Path(root or ".") / assignment / "grading" / f"{name}.npz"
        if owner != assignment or not name.isidentifier() or key in seen:
            why = "handed in twice" if key in seen else "for another assignment"
            kept.append(_error(HELDOUT_ERROR, f"held-out predictions {key!r} {why}; only the test's own count"))
            continue
        seen.add(key)
        if not path.exists():
            kept.append(_error(HELDOUT_ERROR, f"the grader has no held-out data for {name} (instructor: see "
                                              f"assignments/AUTHORING.md)"))
            continue
        with np.load(path) as data:
            labels, target = data["labels"], float(data["target"])
        preds = np.asarray(payload.get("predictions", []))
        if preds.shape != labels.shape:
            kept.append(_error(HELDOUT_FAIL, f"expected {labels.shape[0]} predictions for {name}, got {preds.shape}"))
            continue
        accuracy = float(np.mean(preds == labels))
        verdict = f"held-out accuracy on {name}: {accuracy:.4f} (target {target:.4f})"
        if accuracy >= target:
            kept.append(NotebookNode(output_type="stream", name="stdout", text=f"{verdict} ✓\n"))
        else:
            kept.append(_error(HELDOUT_FAIL, f"{verdict}: below the target"))
    return kept


class RestoreLockedCells(NbGraderPreprocessor):
    """Put back locked cells (tests and read-only set-up cells) that a student deleted.

    nbgrader's own ``OverwriteCells.add_missing_cells`` only restores grade cells and fails when
    the preceding cell is not a grade or solution cell; this restores every locked cell of the
    source notebook, right after the nearest preceding source cell still present.
    """

    course_root = Unicode("", help="course directory holding source/ (default: the current directory)"
                          ).tag(config=True)
    notice = Unicode("# This cell was missing from the submission and was restored by the grader.\n"
                     ).tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        root = Path(self.course_root or ".")
        source_path = root / "source" / info["assignment"] / f"{info['notebook']}.ipynb"
        if not source_path.exists():
            self.log.warning("RestoreLockedCells: no source notebook %s", source_path)
            return nb, resources
        source = read_notebook(str(source_path), as_version=4)
        present = {}
        for i, cell in enumerate(nb.cells):
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid is not None:
                present[gid] = cell
        with Gradebook(info["db_url"]) as gb:
            last_present = None
            for scell in source.cells:
                meta = scell.metadata.get("nbgrader", {})
                gid = meta.get("grade_id")
                if gid is None:
                    continue
                if gid in present:
                    last_present = present[gid]
                    continue
                if not meta.get("locked") and not meta.get("grade"):
                    continue  # an answer cell: nothing to restore
                restored = self._restored_cell(gb, scell, info)
                position = nb.cells.index(last_present) + 1 if last_present is not None else 0
                nb.cells.insert(position, restored)
                self.log.warning("RestoreLockedCells: restored deleted cell %s", gid)
                present[gid] = restored
                last_present = restored
        return nb, resources

    def _restored_cell(self, gb: Gradebook, scell, info) -> NotebookNode:
        meta = dict(scell.metadata.get("nbgrader", {}))
        gid = meta["grade_id"]
        try:
            stored = gb.find_source_cell(gid, info["notebook"], info["assignment"])
            source, meta["checksum"] = stored.source, stored.checksum
        except MissingEntry:
            source = scell.source
        try:
            meta["points"] = gb.find_grade_cell(gid, info["notebook"], info["assignment"]).max_score
        except MissingEntry:
            pass
        cell = NotebookNode(cell_type=scell.cell_type, metadata=NotebookNode(
            nbgrader=NotebookNode(meta), deletable=False, editable=False), source=source)
        if scell.cell_type == "code":
            cell.source = self.notice + source
            cell.outputs = []
            cell.execution_count = None
        return cell
