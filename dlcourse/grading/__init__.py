"""Grading for the course's nbgrader assignments: what test cells call, and the hardened grader.

Test cells use the light, numpy-only part (importing it also snapshots numpy and the library for
tamper detection, see :mod:`dlcourse.grading._guard`)::

    from dlcourse import grading as G
    with G.part("01_linear_models/sigmoid", points=1) as p:
        p.expect_close(p.call(sigmoid, np.array([0.0])), [0.5], "sigmoid([0])")

The instructor side needs nbgrader and is imported explicitly: ``dlcourse.grading.execute``
(the hardened execute preprocessor), ``dlcourse.grading.sandbox`` (kernel limits and privilege
drop), ``dlcourse.grading.pipeline`` (parallel autograde, check, export) and
``dlcourse.grading.authoring`` (notebooks built from spec files).  See ``assignments/AUTHORING.md``.
"""
from . import _guard
from .checks import (ForbiddenCall, GradingFailure, Part, TamperDetected, describe, expect_close,
                     numerical_gradient, part, require_intact)

__all__ = ["part", "Part", "GradingFailure", "ForbiddenCall", "TamperDetected", "expect_close", "describe",
           "numerical_gradient", "require_intact", "arm"]


def arm() -> None:
    """Snapshot numpy, the library and these helpers now (the grading kernel does it at start-up)."""
    _guard.arm()


arm()
