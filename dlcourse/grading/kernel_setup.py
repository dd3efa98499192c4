"""Run by every grading kernel before the first cell (``--IPKernelApp.exec_lines``).

* Warnings go to stdout: nbgrader gives 0 to a test cell with any stderr output, and correct code
  may warn (``np.exp`` overflowing to ``inf`` in a naive sigmoid is still a correct sigmoid).
* Importing :mod:`dlcourse.grading` snapshots numpy, the library and the grading helpers before any
  student code can replace them.
"""
import sys
import warnings


def _warning_to_stdout(message, category, filename, lineno, file=None, line=None):
    sys.__stdout__  # noqa: B018  (keep a reference; the kernel replaces sys.stdout with its stream)
    sys.stdout.write(f"{category.__name__}: {message}\n")


warnings.showwarning = _warning_to_stdout

import dlcourse.grading  # noqa: E402,F401  (arms the tamper guard)
