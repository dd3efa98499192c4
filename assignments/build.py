#!/usr/bin/env python
"""Build the nbgrader source notebooks from the spec files: ``python assignments/build.py [--check] [ids]``.

``specs/<id>.py`` -> ``source/<id>/<id>.ipynb`` (see AUTHORING.md for the spec format).  Every
notebook is validated (nbgrader's MetadataValidator, unique ids, solution and hidden-test regions,
points that match the ``G.part(...)`` calls) and written without outputs.  ``--check`` writes
nothing and exits 1 when a notebook is out of date.
"""
import argparse
import sys
from pathlib import Path

from dlcourse.grading.authoring import SpecError, build_all


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: all specs)")
    parser.add_argument("--check", action="store_true", help="only report notebooks that are out of date")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent
    try:
        changed = build_all(root, args.assignments or None, check_only=args.check)
    except SpecError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    verb = "out of date" if args.check else "written"
    for aid in changed:
        print(f"{verb}: source/{aid}/{aid}.ipynb")
    if not changed:
        print("all source notebooks are up to date")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
