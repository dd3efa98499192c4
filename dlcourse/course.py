"""The instructor's command line: ``python -m dlcourse.course <command>`` (or the ``dlcourse`` script).

Commands (run from the repository root, or pass ``--course DIR``):

  build [ID...]                   rebuild source notebooks from assignments/specs/
  check [ID...]                   prove every assignment is sound (CI runs this)
  generate ID                     nbgrader generate_assignment (writes release/ID)
  release ID                      generate, then release to the exchange
  collect ID                      collect submissions from the exchange
  autograde ID [--jobs N]         grade all submissions in parallel (resumable)
  feedback ID [--release]         write feedback (checked for hidden-test leaks), optionally return it
  export [-a ID] [-o FILE]        CSV: score per part, total, status
  solutions [ID...]               regenerate solutions/ with nbgrader generate_solution
  doctor [--role R]               check this environment and explain fixes (students too)

The logic lives in :mod:`dlcourse.grading.pipeline`; see the instructor section of ``README.md``.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path


def _course_root(arg: str | None) -> Path:
    if arg:
        root = Path(arg)
    elif (Path("assignments") / "nbgrader_config.py").exists():
        root = Path("assignments")
    else:
        root = Path(".")
    if not (root / "nbgrader_config.py").exists():
        raise SystemExit(f"no nbgrader_config.py in {root.resolve()}: pass --course DIR")
    return root.resolve()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.course", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", help="course directory with nbgrader_config.py (default: ./assignments)")
    parser.add_argument("--solutions", help="solutions directory (default: <course>/../solutions)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="rebuild source notebooks from specs")
    p.add_argument("ids", nargs="*")
    p.add_argument("--check", action="store_true", help="write nothing; fail when out of date")
    p = sub.add_parser("check", help="validate sources; solution full marks, release zero; no leaks")
    p.add_argument("ids", nargs="*")
    p.add_argument("--jobs", type=int, default=2)
    for name in ("generate", "release", "collect"):
        sub.add_parser(name, help=f"nbgrader {name}").add_argument("id")
    p = sub.add_parser("autograde", help="grade every submission in parallel")
    p.add_argument("id")
    p.add_argument("--jobs", "-j", type=int, default=2)
    p.add_argument("--force", action="store_true", help="regrade submissions graded in an earlier run")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--no-progress", action="store_true")
    p = sub.add_parser("feedback", help="generate feedback (and --release it)")
    p.add_argument("id")
    p.add_argument("--release", action="store_true")
    p = sub.add_parser("export", help="CSV of scores per part")
    p.add_argument("-a", "--assignment", action="append")
    p.add_argument("-o", "--output", help="file (default: stdout)")
    p = sub.add_parser("solutions", help="regenerate solutions/")
    p.add_argument("ids", nargs="*")
    return parser


def _skip_unused_iri_grammar() -> None:
    """Importing nbformat imports jsonschema, which compiles an IRI grammar (``rfc3987_syntax``, about
    2 s) for a format checker that neither nbformat's nor nbgrader's schemas use (they have no
    ``format`` keyword).  Marking the module absent makes jsonschema skip that one checker, in this
    process only."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["doctor"]:  # needs no course directory: students run it too
        from dlcourse.doctor import main as doctor

        return doctor(argv[1:])
    args = _parser().parse_args(argv)
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    _skip_unused_iri_grammar()
    from dlcourse.grading import authoring, pipeline as P

    root = _course_root(args.course)
    solutions = Path(args.solutions) if args.solutions else root.parent / "solutions"
    cmd = args.command
    if cmd == "build":
        changed = authoring.build_all(root, args.ids or None, check_only=args.check)
        print("\n".join(f"{'out of date' if args.check else 'written'}: source/{a}/{a}.ipynb" for a in changed)
              or "all source notebooks are up to date")
        return 1 if args.check and changed else 0
    if cmd == "check":
        failed = 0
        for result in P.check_course(root, solutions, args.ids or None, jobs=args.jobs):
            if result.ok:
                also = f"; also released: {', '.join(result.released_files)}" if result.released_files else ""
                print(f"ok    {result.assignment}: solution {result.solution_score:g}/{result.max_score:g}, "
                      f"release {result.release_score:g}, no hidden tests or solutions released{also}")
            else:
                failed += 1
                print(f"FAIL  {result.assignment}:\n  " + "\n  ".join(result.problems))
        return 1 if failed else 0
    if cmd == "solutions":
        for path in P.write_solutions(root, solutions, args.ids or None):
            print(f"written: {path}")
        return 0
    if cmd == "autograde":
        outcomes = P.autograde_all(root, args.id, jobs=args.jobs, force=args.force, students=args.student,
                                   progress=not args.no_progress)
        print(P.format_outcomes(outcomes))
        return 0
    if cmd == "feedback":
        files = P.feedback_all(root, args.id)
        print(f"{len(files)} feedback file(s) written, none contains hidden tests")
        if args.release:
            return _api_call(P.make_api(root).release_feedback(args.id))
        return 0
    if cmd == "export":
        if args.output:
            with open(args.output, "w", newline="") as fh:
                n = P.export_csv(root, fh, args.assignment)
            print(f"{n} row(s) written to {args.output}")
        else:
            P.export_csv(root, sys.stdout, args.assignment)
        return 0
    api = P.make_api(root)
    if cmd == "generate":
        return _api_call(api.generate_assignment(args.id, force=True, create=True))
    if cmd == "release":
        result = api.generate_assignment(args.id, force=True, create=True)
        return _api_call(result) or _api_call(api.release_assignment(args.id))
    if cmd == "collect":
        return _api_call(api.collect(args.id))
    raise AssertionError(cmd)


def _api_call(result: dict) -> int:
    if result.get("success"):
        print((result.get("log") or "done").strip()[-2000:])
        return 0
    print((result.get("error") or result.get("log") or "failed").strip()[-4000:], file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
