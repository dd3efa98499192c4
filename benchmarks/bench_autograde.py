"""Autograde 32 submissions of the largest assignment: ``dlcourse.course autograde --jobs 2`` vs ``nbgrader autograde``.

Both runs use the same hardened ``nbgrader_config.py`` (sandboxed kernels, limits) on identical
copies of a scratch course holding 32 copies of the solved notebook, on the same machine, one
run each (a run takes minutes; the issue asks for one run).  The gradebook is created before
timing starts.  Usage: ``python benchmarks/bench_autograde.py [--submissions N] [--jobs N]``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import RESULTS, markdown_table  # noqa: E402

REPO = HERE.parent


def largest_assignment(course: Path) -> str:
    """The assignment with the most graded cells (ties: the biggest source notebook)."""
    def size(aid: str):
        path = course / "source" / aid / f"{aid}.ipynb"
        nb = nbformat.read(str(path), as_version=4)
        cells = sum(1 for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
        return cells, path.stat().st_size
    ids = [p.name for p in (course / "source").iterdir() if (p / f"{p.name}.ipynb").exists()]
    return max(ids, key=size)


def prepare(workdir: Path, n: int) -> tuple[Path, Path, str]:
    from dlcourse.grading import pipeline as P

    course = P.scratch_copy(REPO / "assignments", workdir / "a" / "assignments")
    aid = largest_assignment(course)
    api = P.make_api(course)
    assert api.generate_assignment(aid, force=True, create=True)["success"]
    source = nbformat.read(str(course / "source" / aid / f"{aid}.ipynb"), as_version=4)
    solution = P.solution_submission(source)
    for i in range(n):
        P.add_submission(course, f"student{i:02d}", aid, {f"{aid}.ipynb": solution})
    twin = workdir / "b" / "assignments"
    shutil.copytree(course, twin)
    with open(twin / "nbgrader_config.py", "a") as fh:  # the copy grades in its own directory
        fh.write(f"\nc.CourseDirectory.root = {str(twin)!r}\n")
    return course, twin, aid


def timed(cmd: list[str], cwd: Path) -> float:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return seconds


def all_full_marks(course: Path, aid: str, n: int) -> bool:
    from dlcourse.grading import pipeline as P

    config = P.load_config(course)
    scores = [P.gradebook_scores(course, config, aid, f"student{i:02d}") for i in range(n)]
    return all(s is not None and s[0] == s[1] for s in scores)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=32)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv or [])
    with tempfile.TemporaryDirectory(prefix="dlcourse-bench-") as tmp:
        course_a, course_b, aid = prepare(Path(tmp), args.submissions)
        load_before = os.getloadavg()[0]
        nbgrader_s = timed([sys.executable, "-m", "nbgrader", "autograde", aid], cwd=course_a)
        ours_s = timed([sys.executable, "-m", "dlcourse.course", "--course", str(course_b), "autograde", aid,
                        "--jobs", str(args.jobs), "--no-progress"], cwd=REPO)
        load_after = os.getloadavg()[0]
        ok = all_full_marks(course_a, aid, args.submissions) and all_full_marks(course_b, aid, args.submissions)
    speedup = nbgrader_s / ours_s
    row = {"case": f"autograde {args.submissions} × {aid} (--jobs {args.jobs} vs nbgrader autograde)",
           "dlcourse_ms": ours_s * 1000, "torch_ms": None, "ratio": None,
           "target": f"nbgrader autograde {nbgrader_s:.0f} s, dlcourse {ours_s:.0f} s: "
                     f"{speedup:.2f}× faster (target ≥ 2.5×)",
           "nbgrader_s": round(nbgrader_s, 1), "dlcourse_s": round(ours_s, 1), "speedup": round(speedup, 2),
           "all_full_marks": ok, "cpus": os.cpu_count(),
           "load_average_before_after": [round(load_before, 1), round(load_after, 1)]}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "autograde.json").write_text(json.dumps([row], indent=2))
    print(markdown_table([row]))
    print(f"\nnbgrader autograde: {nbgrader_s:.1f} s ({nbgrader_s / args.submissions:.2f} s/submission); "
          f"dlcourse --jobs {args.jobs}: {ours_s:.1f} s ({ours_s / args.submissions:.2f} s/submission); "
          f"speed-up {speedup:.2f}×; every submission full marks: {ok}; "
          f"1-min load average {load_before:.1f} before, {load_after:.1f} after on {os.cpu_count()} CPUs")
    return row


if __name__ == "__main__":
    main(sys.argv[1:])
