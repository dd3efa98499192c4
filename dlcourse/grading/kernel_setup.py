"""Run by every grading kernel before the first cell (``--IPKernelApp.exec_lines``).

* Warnings go to stdout: nbgrader gives 0 to a test cell with any stderr output, and correct code
  may warn (``np.exp`` overflowing to ``inf`` in a naive sigmoid is still a correct sigmoid).
* ``sys.stdout``/``sys.stderr`` stop forwarding after ``$DLCOURSE_MAX_OUTPUT_BYTES`` characters per
  cell, so 10 MB of prints cost the kernel milliseconds instead of flooding the grader (which
  also cuts what it keeps, see ``HardenedExecute``).
* Importing :mod:`dlcourse.grading` snapshots numpy, the library and the grading helpers before any
  student code can replace them.
"""
import os
import sys
import warnings


def _warning_to_stdout(message, category, filename, lineno, file=None, line=None):
    sys.stdout.write(f"{category.__name__}: {message}\n")


class _CappedStream:
    """Forwards to the kernel's stream until ``limit`` characters were written in the current cell."""

    def __init__(self, stream, limit: int) -> None:
        self._stream, self._limit, self._used = stream, limit, 0

    def write(self, text):
        n = len(text)
        keep = max(0, self._limit - self._used)
        self._used += n
        if keep:
            self._stream.write(text[:keep])
        return n

    def reset(self, *args) -> None:
        self._used = 0

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _cap_output() -> None:
    limit = int(os.environ.get("DLCOURSE_MAX_OUTPUT_BYTES", "1000000"))
    try:
        shell = get_ipython()  # noqa: F821  (exists in a kernel)
    except NameError:
        return
    for name in ("stdout", "stderr"):
        capped = _CappedStream(getattr(sys, name), limit)
        setattr(sys, name, capped)
        shell.events.register("pre_run_cell", capped.reset)


warnings.showwarning = _warning_to_stdout
_cap_output()

import dlcourse.grading  # noqa: E402,F401  (arms the tamper guard)
