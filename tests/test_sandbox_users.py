"""Sandbox users are claimed per grading process, so concurrent grading runs never share one.

After every kernel the grader kills all processes of its sandbox user; two runs sharing a user
would kill each other's kernels (a "kernel died" in the middle of a correct notebook).
"""
from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from dlcourse.grading import sandbox

pytestmark = pytest.mark.grading

CLAIM = "import sys, time; from dlcourse.grading.sandbox import claim_user; print(claim_user(sys.argv[1]), flush=True); time.sleep(60)"


def _holder(name: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", CLAIM, name], stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def test_a_claim_is_stable_within_a_process_and_exclusive_across_processes():
    name = f"t{uuid.uuid4().hex[:8]}"
    first, claimed_first = _holder(name)
    second, claimed_second = _holder(name)
    try:
        assert claimed_first == name and claimed_second == f"{name}-2"
        mine = sandbox.claim_user(name)
        assert mine == f"{name}-3" and sandbox.claim_user(name) == mine
    finally:
        first.kill()
        second.kill()
        first.wait()
        second.wait()
    third, claimed_third = _holder(name)  # the first holder is gone: its name is free again
    third.kill()
    third.wait()
    assert claimed_third == name


def test_a_forked_worker_claims_its_own_user():
    name = f"t{uuid.uuid4().hex[:8]}"
    parent_claim = sandbox.claim_user(name)
    code = ("import os, sys; from dlcourse.grading import sandbox\n"
            f"sandbox.claim_user({name!r})\n"
            "pid = os.fork()\n"
            f"if pid == 0:\n    print(sandbox.claim_user({name!r}), flush=True); os._exit(0)\n"
            "os.waitpid(pid, 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # this test process holds `name`; the subprocess takes name-2; its forked child must not share it
    assert parent_claim == name and out == [f"{name}-3"]
