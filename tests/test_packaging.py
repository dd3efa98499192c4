"""environment.yml, pyproject.toml, README and CI agree with each other."""
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.packaging
ROOT = Path(__file__).resolve().parents[1]


def _name_and_spec(requirement: str) -> tuple[str, str]:
    requirement = requirement.split(";")[0].strip()
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def pyproject_requirements() -> dict:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += [r for r in extra if "python_version" not in r]  # back-ports for old Pythons only
    return dict(_name_and_spec(r) for r in reqs)


def environment_requirements() -> dict:
    deps, in_deps = {}, False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - ([^:#]+)$", line) if in_deps else None
        if m:
            name, spec = _name_and_spec(m.group(1))
            if name not in ("python", "pip"):
                deps[name] = spec
    return deps


def test_environment_yml_and_pyproject_name_the_same_dependencies():
    assert environment_requirements() == pyproject_requirements()


def test_environment_installs_the_package_itself():
    assert re.search(r"- pip:\n\s+- -e \.", (ROOT / "environment.yml").read_text())


def test_no_exact_pins():
    assert not [r for r, spec in pyproject_requirements().items() if spec.startswith("==")]


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, re.S)[0].strip().splitlines()
    assert [c.split("#")[0].strip() for c in commands] == ["./course.sh lab", "./course.sh test"]
    assert "./course.sh test" in (ROOT / ".ci" / "run").read_text()


def test_bundled_data_is_declared_as_package_data():
    """Every non-Python file in the package (datasets, weights, stored tables) reaches a wheel."""
    from fnmatch import fnmatch

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "files/*.npz" in declared["dlcourse.data"]
    for path in (ROOT / "dlcourse").rglob("*"):
        if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(ROOT)
        assert any(fnmatch(str(rel.relative_to(package.replace(".", "/"))), pattern)
                   for package, patterns in declared.items() if rel.is_relative_to(package.replace(".", "/"))
                   for pattern in patterns), f"{rel} is not declared as package data in pyproject.toml"
