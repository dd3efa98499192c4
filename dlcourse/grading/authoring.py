"""Assignment notebooks from plain-text spec files, and the checks every source notebook must pass.

A spec (``assignments/specs/<id>.py``) is a Python file in "percent" format: each cell starts
with a header line ``# %% [<kind>] key=value ...``.  Kinds:

============  =============================================================================
``markdown``  text; every line starts with ``#`` (stripped, with one following space)
``setup``     read-only code the student runs (imports); ``id=`` required; restored if deleted
``answer``    the student's code: ``id=`` required; the solution between ``### BEGIN SOLUTION``
              and ``### END SOLUTION`` (nbgrader replaces it with ``raise NotImplementedError()``)
``tests``     a graded, read-only test cell: ``id=`` and ``points=`` required; hidden tests go
              between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``
``code``      an ordinary cell (scratch space, a plot)
============  =============================================================================

``build_notebook`` turns a spec into an nbgrader source notebook (deterministic: same spec, same
bytes); ``validate_source`` lists everything wrong with a source notebook.  See
``assignments/AUTHORING.md``.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

HEADER = re.compile(r"^# %% \[(?P<kind>[a-z]+)\](?P<opts>.*)$")
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
PART_CALL = re.compile(r"""G\.part\(\s*["'](?P<key>[^"']+)["']\s*,\s*points\s*=\s*(?P<points>[0-9.]+)"""
                       r"""(?P<rest>[^)]*)\)""")
KINDS = ("markdown", "setup", "answer", "tests", "code")
SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class SpecError(ValueError):
    """A spec or source notebook breaks the authoring rules; the message says where."""


def _parse_opts(text: str, where: str) -> dict:
    opts = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep:
            raise SpecError(f"{where}: option {item!r} should be key=value")
        opts[key] = value
    return opts


def split_cells(text: str, where: str = "spec") -> list[tuple[str, dict, str]]:
    """``[(kind, options, body), ...]`` of a spec file's text."""
    cells: list[tuple[str, dict, list[str]]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        m = HEADER.match(line)
        if m:
            kind = m["kind"]
            if kind not in KINDS:
                raise SpecError(f"{where}:{lineno}: unknown cell kind {kind!r} (one of {', '.join(KINDS)})")
            cells.append((kind, _parse_opts(m["opts"], f"{where}:{lineno}"), []))
        elif cells:
            cells[-1][2].append(line)
        elif line.strip() and not line.startswith("#"):
            raise SpecError(f"{where}:{lineno}: text before the first '# %% [kind]' header")
    return [(kind, opts, _strip_blank("\n".join(body))) for kind, opts, body in cells]


def _strip_blank(text: str) -> str:
    return text.strip("\n")


def _markdown(body: str, where: str) -> str:
    lines = []
    for line in body.splitlines():
        if line and not line.startswith("#"):
            raise SpecError(f"{where}: markdown lines must start with '#', got {line!r}")
        lines.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(lines)


def build_notebook(spec_text: str, assignment: str, where: str = "spec") -> NotebookNode:
    """The nbgrader source notebook of a spec (see the module docstring for the format)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = NotebookNode(kernelspec=NotebookNode(KERNELSPEC),
                               language_info=NotebookNode(name="python"))
    for index, (kind, opts, body) in enumerate(split_cells(spec_text, where)):
        here = f"{where}, cell {index + 1} [{kind}]"
        cid = opts.get("id")
        if kind in ("setup", "answer", "tests") and not cid:
            raise SpecError(f"{here}: id= is required")
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(_markdown(body, here))
        else:
            cell = nbformat.v4.new_code_cell(body)
        cell.id = cid or f"cell-{index:02d}"
        if kind != "markdown" and kind != "code":
            meta = {"grade": False, "solution": False, "locked": False, "schema_version": 3, "grade_id": cid}
            if kind == "setup":
                meta["locked"] = True
            elif kind == "answer":
                meta["solution"] = True
            elif kind == "tests":
                if "points" not in opts:
                    raise SpecError(f"{here}: points= is required")
                meta.update(grade=True, locked=True, points=_number(opts["points"], here))
            cell.metadata["nbgrader"] = meta
            if meta["locked"]:
                cell.metadata.update(deletable=False, editable=False)
        nb.cells.append(cell)
    problems = validate_source(nb, assignment)
    if problems:
        raise SpecError(f"{where}:\n  " + "\n  ".join(problems))
    return nb


def _number(text: str, where: str) -> float | int:
    try:
        value = float(text)
    except ValueError:
        raise SpecError(f"{where}: points={text!r} is not a number") from None
    return int(value) if value.is_integer() else value


def _regions(source: str, markers: tuple[str, str]) -> tuple[list[str], str | None]:
    """The text inside ``markers`` regions, or an error message when they are unbalanced."""
    begin, end = markers
    inside, regions, current = False, [], []
    for line in source.splitlines():
        if begin in line:
            if inside:
                return [], f"nested '{begin}'"
            inside, current = True, []
        elif end in line:
            if not inside:
                return [], f"'{end}' without '{begin}'"
            inside = False
            regions.append("\n".join(current))
        elif inside:
            current.append(line)
    if inside:
        return [], f"'{begin}' without '{end}'"
    return regions, None


def validate_source(nb: NotebookNode, assignment: str) -> list[str]:
    """Everything wrong with a source notebook: nbgrader metadata, ids, regions, points, part keys."""
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    problems = []
    try:
        MetadataValidator().validate_nb(nb)
    except ValidationError as err:
        problems.append(f"nbgrader metadata: {err}")
    seen = set()
    total = 0.0
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        where = f"cell {i + 1} ({gid or cell.cell_type})"
        if cell.cell_type == "code" and cell.get("outputs"):
            problems.append(f"{where}: source notebooks are stored without outputs")
        if gid is not None:
            if gid in seen:
                problems.append(f"{where}: duplicate grade_id {gid!r}")
            seen.add(gid)
            if not ID_PATTERN.match(gid):
                problems.append(f"{where}: grade_id {gid!r} may only use letters, digits, _ and -")
        solutions, err = _regions(cell.source, SOLUTION)
        if err:
            problems.append(f"{where}: {err}")
        hidden, herr = _regions(cell.source, HIDDEN)
        if herr:
            problems.append(f"{where}: {herr}")
        if meta.get("solution") and not meta.get("grade") and cell.cell_type == "code" and not solutions:
            problems.append(f"{where}: an answer cell needs a '### BEGIN SOLUTION' ... '### END SOLUTION' region")
        if solutions and not meta.get("solution"):
            problems.append(f"{where}: a solution region outside an answer cell")
        if hidden and not meta.get("grade"):
            problems.append(f"{where}: hidden tests outside a graded test cell")
        if meta.get("grade") and cell.cell_type == "code":
            points = float(meta.get("points", 0))
            total += points
            problems += _check_parts(cell.source, hidden, points, assignment, where)
    if total <= 0:
        problems.append("the notebook has no points")
    return problems


def _check_parts(source: str, hidden_regions: list[str], points: float, assignment: str, where: str) -> list[str]:
    problems = []
    calls = list(PART_CALL.finditer(source))
    if not calls:
        return [f"{where}: a test cell should run its checks inside `with G.part(\"{assignment}/<part>\", "
                f"points={points:g}) as p:`"]
    hidden_text = "\n".join(hidden_regions)
    for m in calls:
        key, pts, rest = m["key"], float(m["points"]), m["rest"]
        if not key.startswith(f"{assignment}/"):
            problems.append(f"{where}: part key {key!r} should start with '{assignment}/'")
        if pts != points:
            problems.append(f"{where}: G.part(..., points={pts:g}) but the cell is worth {points:g} points")
        is_hidden = "hidden=True" in rest.replace(" ", "")
        if is_hidden != (m.group(0) in hidden_text):
            problems.append(f"{where}: G.part({key!r}) must say hidden=True exactly when it is inside the "
                            f"hidden-test region")
    return problems


def strip_for_release(nb: NotebookNode) -> str:
    """All source text a student receives, for leak checks (the release notebook's cells joined)."""
    return "\n".join(cell.source for cell in nb.cells)


def hidden_lines(nb: NotebookNode) -> list[str]:
    """Distinctive lines of every hidden-test region (for grepping releases and feedback)."""
    lines = []
    for cell in nb.cells:
        regions, _ = _regions(cell.source, HIDDEN)
        for region in regions:
            lines += [ln.strip() for ln in region.splitlines() if len(ln.strip()) >= 12]
    return lines


def solution_lines(nb: NotebookNode) -> list[str]:
    """Distinctive lines of every solution region (must not appear in a release)."""
    lines = []
    for cell in nb.cells:
        regions, _ = _regions(cell.source, SOLUTION)
        for region in regions:
            lines += [ln.strip() for ln in region.splitlines() if len(ln.strip()) >= 12]
    return lines


def build_all(course_root: Path, assignments: list[str] | None = None, check_only: bool = False) -> list[str]:
    """(Re)write ``source/<id>/<id>.ipynb`` from ``specs/<id>.py``; returns the ids whose notebook changed.

    With ``check_only`` nothing is written (a test uses it to prove the sources are in sync).
    """
    specs = sorted((course_root / "specs").glob("*.py"))
    changed = []
    for spec in specs:
        aid = spec.stem
        if assignments and aid not in assignments:
            continue
        nb = build_notebook(spec.read_text(encoding="utf-8"), aid, where=str(spec.relative_to(course_root)))
        text = nbformat.writes(nb) + "\n"
        target = course_root / "source" / aid / f"{aid}.ipynb"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            changed.append(aid)
            if not check_only:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    return changed
