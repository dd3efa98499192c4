"""nbgrader configuration of the dlcourse course, hardened for untrusted submissions.

Every setting that differs from nbgrader's defaults is here, with the reason; the machinery lives
in ``dlcourse.grading`` (``execute.py``, ``sandbox.py``).  the instructor section of ``README.md`` explains
the workflow; ``python -m dlcourse.course check`` proves the set-up on every assignment.
"""
from pathlib import Path

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)
HERE = Path(__file__).resolve().parent

# -- the course ------------------------------------------------------------------------------------
c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.root = str(HERE)
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# -- execution limits --------------------------------------------------------------------------------
c.Execute.timeout = 30                               # seconds per cell; the kernel is interrupted after it
c.HardenedExecute.notebook_timeout = 600             # seconds per notebook (nbgrader has no such limit)
c.HardenedExecute.interrupt_grace = 5                # a cell ignoring the interrupt this long: restart kernel
c.HardenedExecute.max_output_bytes = 100_000         # per cell; the rest is dropped with a note
c.HardenedExecute.max_total_output_bytes = 1_000_000
c.HardenedExecute.heldout_root = str(HERE.parent / "solutions")   # <id>/grading/<name>.npz: held-out labels
c.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",           # no sqlite history file per kernel
    "--InteractiveShell.xmode=Minimal",              # tracebacks without source lines: no hidden test leaks
    # before any student cell: warnings go to stdout and numpy/grading code is snapshot for tamper checks
    "--IPKernelApp.exec_lines=['__import__(\"dlcourse.grading.kernel_setup\")']",
]

# -- kernels: resource limits, private directory, and no privileges when grading as root ---------------
c.SandboxKernelManager.memory_mb = 2048              # address space; a memory bomb fails alone
c.SandboxKernelManager.max_file_mb = 256
c.SandboxKernelManager.threads = 1                   # parallel graders share the cores
c.SandboxKernelManager.sandbox_user = "dlcourse-grader"   # created with useradd --system when missing
c.SandboxKernelManager.drop_privileges = "auto"      # as root: run kernels as sandbox_user
# made inaccessible to "other" users before a sandboxed kernel starts: the gradebook, sources, submissions
c.SandboxKernelManager.private_paths = [str(HERE), str(HERE.parent / "solutions")]
# `python -m dlcourse.course autograde` forks each kernel from a server that imported ipykernel,
# numpy and dlcourse once (dlcourse.grading.forkserver); `nbgrader autograde` starts them afresh.
# c.SandboxKernelManager.fork_server = False        # uncomment to start every kernel afresh in both

# -- autograde: sanitize, restore, execute -----------------------------------------------------------
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",         # edited locked cells and points come back from the gradebook
    "dlcourse.grading.execute.RestoreLockedCells",   # deleted locked cells come back at their place
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.RestoreLockedCells.course_root = str(HERE)
c.Autograde.autograde_preprocessors = [
    "dlcourse.grading.execute.HardenedExecute",      # limits, recovery, stderr, tamper check, sandbox
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.GenerateSolution.preprocessors = [
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.ClearMarkScheme",
    "dlcourse.grading.execute.HardenedExecute",
]

# -- feedback never shows hidden tests -------------------------------------------------------------
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
