"""Check a course environment and explain how to fix what is wrong.

    python -m dlcourse.doctor [--role student|instructor|local] [--json] [--skip TOPIC ...]

Run it where the problem is: in a student's or instructor's JupyterLab terminal, in a Docker build
(``deploy/Dockerfile`` does), or on a laptop.  It checks

- **widgets**: the kernel's ipywidgets and ipympl speak the protocol of the widget manager and
  the ``jupyter-matplotlib`` extension that JupyterLab (the server) has.  A mismatch shows up in the
  browser as "Error displaying widget" or "Module jupyter-matplotlib ... is not registered";
- **nbgrader**: the server and lab extensions a role should have are enabled, and a student is not
  offered the formgrader, the course list or the "create assignment" tool; the nbgrader lab
  extension matches the Python package;
- **data**: the bundled datasets are installed (not missing, not Git LFS pointers) and load;
- **exchange**: the nbgrader exchange directory exists with mode 1777;
- **identity**: on a hub, nbgrader files submissions under the hub user's name, not e.g. ``root``;
  an instructor can run ``alembic`` (nbgrader needs it to create the gradebook).

The role comes from ``--role``, else ``$DLCOURSE_ROLE`` (set by the course images and the hub
configuration in ``deploy/``), else ``local`` (a laptop: missing hub pieces are only reported).
Exit status 1 when any check fails.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ROLES = ("student", "instructor", "local")
TOPICS = ("widgets", "nbgrader", "data", "exchange", "identity")
DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"

# nbgrader's four server extensions and five lab plugins, and which a student may have.
SERVER_EXTENSIONS = {
    "nbgrader.server_extensions.assignment_list": True,
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
}
LAB_PLUGINS = {
    "nbgrader:assignment-list": True,
    "nbgrader:validate-assignment": True,
    "nbgrader:formgrader": False,
    "nbgrader:course-list": False,
    "nbgrader:create-assignment": False,
}
# (`jupyter server extension disable` refuses nbgrader 0.9's extensions: its validation cannot
# find them, so it writes nothing; the JSON files in deploy/jupyter-config/ are the reliable way.)
STUDENT_CONFIG_FIX = (
    "start students' servers with JUPYTER_CONFIG_PATH=<repo>/deploy/jupyter-config/student (the course images "
    "and deploy/jupyterhub_config.py do this), or copy that folder's jupyter_server_config.json and "
    "labconfig/page_config.json into <environment>/etc/jupyter/"
)
# The widget manager's major version and the @jupyter-widgets/base protocol major it speaks
# (jupyterlab_widgets 3.x ships manager 5.x for ipywidgets 8; jupyterlab_widgets 1.x, manager 3.x
# for ipywidgets 7).
MANAGER_PROTOCOL = {5: 2, 4: 2, 3: 1, 2: 1, 1: 1}
BUNDLED_DATA = {"digits.npz": ("X_train", "y_train", "X_test", "y_test"),
                "fashion_mnist_subset.npz": ("X_train", "y_train", "X_test", "y_test")}


@dataclass
class Check:
    """One finding: ``status`` is ``ok``, ``info``, ``warn`` or ``fail``; ``fix`` says what to do."""

    topic: str
    status: str
    summary: str
    fix: str = ""


# ------------------------------------------------------------------------------------------------
# Versions
# ------------------------------------------------------------------------------------------------
def parse_version(text: str) -> tuple[int, ...]:
    """``"0.12.0"`` -> ``(0, 12, 0)``; pre-release suffixes are ignored."""
    parts = []
    for piece in text.strip().lstrip("v=").split("."):
        m = re.match(r"\d+", piece)
        if not m:
            break
        parts.append(int(m.group()))
    return tuple(parts)


def satisfies(version: str, spec: str) -> bool:
    """Whether ``version`` meets the npm-style range ``spec`` (``^x.y``, ``~x.y``, ``x.y.z``, ``*``).

    ``^`` allows changes that keep the first non-zero part (``^0.12`` = ``>=0.12.0 <0.13.0``,
    ``^2.0`` = ``>=2.0.0 <3.0.0``); ``~`` keeps major and minor.
    """
    spec = spec.strip()
    if spec in ("", "*"):
        return True
    v = parse_version(version) + (0, 0, 0)
    if spec[0] in "^~":
        base = parse_version(spec[1:])
        low = base + (0,) * (3 - len(base))
        if v[:3] < low[:3]:
            return False
        if spec[0] == "~":
            keep = 2 if len(base) >= 2 else 1
        else:
            nonzero = next((i for i, p in enumerate(base) if p != 0), len(base) - 1)
            keep = min(nonzero + 1, len(base))
        return v[:keep] == low[:keep]
    want = parse_version(spec)
    return v[: len(want)] == want


# ------------------------------------------------------------------------------------------------
# What the kernel has
# ------------------------------------------------------------------------------------------------
_KERNEL_PROBE = r"""
import json, sys
out = {"python": sys.executable}
try:
    import ipywidgets, ipywidgets._version as v
    out["ipywidgets"] = ipywidgets.__version__
    out["widgets_base"] = v.__jupyter_widgets_base_version__
    out["widgets_controls"] = v.__jupyter_widgets_controls_version__
except Exception as e:
    out["ipywidgets_error"] = repr(e)
try:
    from ipympl import _version as iv
    out["ipympl"] = iv.__version__
    out["ipympl_js"] = iv.js_semver
except Exception as e:
    out["ipympl_error"] = repr(e)
try:
    import dlcourse
    out["dlcourse"] = dlcourse.__version__
except Exception as e:
    out["dlcourse_error"] = repr(e)
print(json.dumps(out))
"""


def kernel_python(kernel_name: str = "python3") -> list[str]:
    """The interpreter command of a kernelspec (``python`` means this interpreter, as in jupyter_client)."""
    from jupyter_client.kernelspec import KernelSpecManager

    argv = list(KernelSpecManager().get_kernel_spec(kernel_name).argv)
    cmd = argv[: argv.index("-m")] if "-m" in argv else argv[:1]
    major, minor = sys.version_info[:2]
    if cmd and cmd[0] in {"python", f"python{major}", f"python{major}.{minor}"}:
        cmd[0] = sys.executable
    return cmd


def kernel_versions(kernel_name: str = "python3", timeout: float = 120) -> dict:
    """Versions of ipywidgets, ipympl and dlcourse as the kernel ``kernel_name`` imports them."""
    try:
        cmd = kernel_python(kernel_name)
    except Exception as exc:  # no such kernelspec, jupyter_client missing
        return {"kernel_error": f"no kernel {kernel_name!r}: {exc}"}
    try:
        done = subprocess.run([*cmd, "-c", _KERNEL_PROBE], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"kernel_error": f"could not run the kernel's Python {cmd}: {exc}"}
    if done.returncode != 0:
        return {"kernel_error": f"the kernel's Python {cmd} failed: {done.stderr.strip()[-500:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------
# What the server has
# ------------------------------------------------------------------------------------------------
def labextensions(paths: list[str] | None = None) -> dict[str, dict]:
    """Prebuilt JupyterLab extensions by package name: ``{"name": {"version", "path"}}``.

    The first folder on the Jupyter data path that has a package wins, as in JupyterLab.
    """
    if paths is None:
        from jupyter_core.paths import jupyter_path

        paths = jupyter_path("labextensions")
    found: dict[str, dict] = {}
    for root in map(Path, paths):
        if not root.is_dir():
            continue
        for package in sorted(root.glob("*/package.json")) + sorted(root.glob("@*/*/package.json")):
            try:
                data = json.loads(package.read_text())
            except (OSError, ValueError):
                continue
            found.setdefault(data.get("name", package.parent.name),
                             {"version": data.get("version", "?"), "path": str(package.parent)})
    return found


def server_extensions() -> dict[str, bool]:
    """Enabled/disabled Jupyter server extensions as a server started here would see them."""
    from jupyter_core.paths import jupyter_config_path
    from jupyter_server.extension.config import ExtensionConfigManager

    return dict(ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions())


def lab_plugin_switches(key: str = "disabledExtensions") -> set[str]:
    """JupyterLab plugins listed as true under ``key`` (``disabledExtensions``, ``lockedExtensions``)
    in the ``labconfig/page_config.json`` files on the Jupyter config path."""
    from jupyterlab_server.config import get_static_page_config

    listed = get_static_page_config(level="all").get(key, {})
    if isinstance(listed, list):
        return set(listed)
    return {name for name, on in listed.items() if on}


def plugin_disabled(plugin: str, disabled: set[str]) -> bool:
    package = plugin.split(":")[0]
    return plugin in disabled or package in disabled or "@jupyter/nbgrader" in disabled


# ------------------------------------------------------------------------------------------------
# Checks
# ------------------------------------------------------------------------------------------------
def check_widgets(kernel: dict, labext: dict[str, dict]) -> list[Check]:
    """ipywidgets (kernel) against the widget manager, ipympl (kernel) against jupyter-matplotlib."""
    if "kernel_error" in kernel:
        return [Check("widgets", "fail", kernel["kernel_error"],
                      "install a kernel for this environment: python -m ipykernel install --sys-prefix")]
    checks = []
    py = kernel.get("python", "the kernel's Python")
    manager = labext.get("@jupyter-widgets/jupyterlab-manager")
    if "ipywidgets" not in kernel:
        checks.append(Check("widgets", "fail", f"the kernel ({py}) cannot import ipywidgets: "
                            f"{kernel.get('ipywidgets_error')}", f"{py} -m pip install 'ipywidgets>=8'"))
    elif manager is None:
        checks.append(Check("widgets", "fail",
                            "JupyterLab has no widget manager (@jupyter-widgets/jupyterlab-manager): "
                            "widgets show as text", "pip install 'jupyterlab_widgets>=3' in the server's environment"))
    else:
        kernel_protocol = parse_version(kernel["widgets_base"])[:1]
        server_protocol = MANAGER_PROTOCOL.get(parse_version(manager["version"])[0])
        summary = (f"kernel ipywidgets {kernel['ipywidgets']} (protocol {kernel['widgets_base']}), "
                   f"JupyterLab widget manager {manager['version']} (protocol {server_protocol}.x)")
        if kernel_protocol == (server_protocol,):
            checks.append(Check("widgets", "ok", summary))
        else:
            checks.append(Check("widgets", "fail", summary + ": widgets will show 'Error displaying widget'",
                                "install matching versions: ipywidgets 8 in the kernel goes with jupyterlab_widgets 3 "
                                f"in the server ({py} -m pip install 'ipywidgets>=8' and "
                                "pip install 'jupyterlab_widgets>=3' where jupyter lab runs)"))
    mpl = labext.get("jupyter-matplotlib")
    if "ipympl" not in kernel:
        checks.append(Check("widgets", "fail", f"the kernel ({py}) cannot import ipympl: {kernel.get('ipympl_error')}",
                            f"{py} -m pip install ipympl"))
    elif mpl is None:
        checks.append(Check("widgets", "fail", "JupyterLab has no jupyter-matplotlib extension: interactive figures "
                            "will not show", f"pip install ipympl=={kernel['ipympl']} in the server's environment"))
    else:
        summary = (f"kernel ipympl {kernel['ipympl']} (wants jupyter-matplotlib {kernel['ipympl_js']}), "
                   f"JupyterLab has jupyter-matplotlib {mpl['version']}")
        if satisfies(mpl["version"], kernel["ipympl_js"]):
            checks.append(Check("widgets", "ok", summary))
        else:
            checks.append(Check("widgets", "fail", summary + ": figures will fail with 'Module jupyter-matplotlib ... "
                                "is not registered'", f"install the same ipympl in kernel and server: "
                                f"pip install ipympl=={kernel['ipympl']} where jupyter lab runs, or "
                                f"{py} -m pip install the server's ipympl"))
    if "dlcourse" not in kernel:
        checks.append(Check("widgets", "fail",
                            f"the kernel ({py}) cannot import dlcourse: {kernel.get('dlcourse_error')}",
                            f"{py} -m pip install -e <repo> (or ./course.sh lab)"))
    return checks


def check_nbgrader(role: str, extensions: dict[str, bool], disabled: set[str], labext: dict[str, dict],
                   nbgrader_version: str | None, locked: set[str] = frozenset()) -> list[Check]:
    """Server and lab extensions of nbgrader against what ``role`` should have.

    For a student, the instructor plugins must also be locked: since JupyterLab 4.1 a user can
    re-enable a disabled plugin in the Plugin Manager unless it is locked.
    """
    if nbgrader_version is None:
        status = "info" if role == "local" else "fail"
        return [Check("nbgrader", status, "nbgrader is not installed in the server's environment",
                      "pip install 'dlcourse[course]' (nbgrader 0.9)")]
    checks = []
    lab = labext.get("@jupyter/nbgrader")
    if lab is None:
        checks.append(Check("nbgrader", "fail" if role != "local" else "warn",
                            f"nbgrader {nbgrader_version} has no JupyterLab extension installed",
                            f"pip install --force-reinstall nbgrader=={nbgrader_version}"))
    elif lab["version"] != nbgrader_version:
        checks.append(Check("nbgrader", "fail", f"nbgrader lab extension {lab['version']} but Python package "
                            f"{nbgrader_version}: the assignment list will report a version mismatch",
                            f"pip install --force-reinstall nbgrader=={nbgrader_version} in the server's environment"))
    wrong_on, wrong_off = [], []
    for name, student_may in SERVER_EXTENSIONS.items():
        enabled = bool(extensions.get(name, False))
        wanted = student_may if role == "student" else True
        if enabled != wanted:
            (wrong_on if enabled else wrong_off).append(name.rsplit(".", 1)[-1])
    for plugin, student_may in LAB_PLUGINS.items():
        enabled = not plugin_disabled(plugin, disabled)
        wanted = student_may if role == "student" else True
        if enabled != wanted:
            (wrong_on if enabled else wrong_off).append(plugin)
    shown = ", ".join(sorted(n.rsplit(".", 1)[-1] for n, on in extensions.items() if on and n.startswith("nbgrader")))
    if role == "student" and wrong_on:
        checks.append(Check("nbgrader", "fail", "a student is offered instructor tools: " + ", ".join(wrong_on),
                            STUDENT_CONFIG_FIX))
    if wrong_off:
        status = "info" if role == "local" else "fail"
        fix = ("enable them: JUPYTER_CONFIG_PATH=<repo>/deploy/jupyter-config/" + ("student" if role == "student"
               else "instructor") + ", or jupyter server extension enable --sys-prefix <name> / "
               "jupyter labextension enable --level=sys_prefix <plugin>")
        checks.append(Check("nbgrader", status, "disabled for this role: " + ", ".join(wrong_off), fix))
    unlocked = [p for p, student_may in LAB_PLUGINS.items()
                if not student_may and p not in locked and plugin_disabled(p, disabled)]
    if role == "student" and unlocked:
        checks.append(Check("nbgrader", "warn", "disabled but not locked (a student can re-enable them in the "
                            "Plugin Manager): " + ", ".join(unlocked),
                            "jupyter labextension lock --level=sys_prefix " + " ".join(unlocked)))
    if not (role == "student" and wrong_on) and not wrong_off:
        checks.append(Check("nbgrader", "ok", f"extensions as a {role} should have them (server: {shown or 'none'})"))
    return checks


def check_data(data_dir: Path | None = None) -> list[Check]:
    """The bundled datasets exist, are real files (not LFS pointers) and hold their arrays."""
    import numpy as np

    if data_dir is None:
        from dlcourse.data.datasets import DATA_DIR as data_dir
    checks = []
    for name, keys in BUNDLED_DATA.items():
        path = Path(data_dir) / name
        fix = "reinstall dlcourse (pip install --force-reinstall <repo>), or rebuild with scripts/build_datasets.py"
        if not path.is_file():
            checks.append(Check("data", "fail", f"bundled dataset missing: {path}", fix))
            continue
        with open(path, "rb") as fh:
            head = fh.read(64)
        if head.startswith(b"version https://git-lfs"):
            checks.append(Check("data", "fail", f"{path} is a Git LFS pointer, not the data", "git lfs pull"))
            continue
        try:
            with np.load(path) as z:
                missing = [k for k in keys if k not in z.files]
                sizes = {k: z[k].shape[0] for k in keys if k in z.files}
        except Exception as exc:  # corrupt download, truncated file
            checks.append(Check("data", "fail", f"{path} does not load: {exc}", fix))
            continue
        if missing or not all(sizes.values()):
            checks.append(Check("data", "fail", f"{path} lacks arrays {missing or 'with data'}", fix))
        else:
            checks.append(Check("data", "ok", f"{name}: {sizes['X_train']} training, {sizes['X_test']} test examples"))
    return checks


def nbgrader_settings(cwd: str | None = None) -> dict:
    """Exchange root and course id as nbgrader's assignment list would load them (config path + cwd)."""
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.apps import NbGrader

    here = os.getcwd()
    try:
        if cwd:
            os.chdir(cwd)
        app = NbGrader()
        app.log.setLevel("ERROR")  # "no nbgrader_config.py found" is normal on a laptop
        app.config_file_paths.extend([os.getcwd(), *jupyter_config_path()])
        app.load_config_file()
        config = app.config
    finally:
        os.chdir(here)
    return {"exchange": config.get("Exchange", {}).get("root", DEFAULT_EXCHANGE),
            "course_id": config.get("CourseDirectory", {}).get("course_id", "")}


def check_exchange(role: str, root: str) -> list[Check]:
    """The exchange directory exists, is world-writable with the sticky bit (1777) and usable here."""
    fix_create = (f"as root: install -d -m 1777 {root} (on Kubernetes: mount the shared ReadWriteMany volume there; "
                  "deploy/z2jh/values.yaml sets its mode with an init container)")
    if not os.path.isdir(root):
        status = "info" if role == "local" else "fail"
        return [Check("exchange", status, f"exchange directory {root} does not exist"
                      + (" (only needed to release and submit on a shared server)" if role == "local" else ""),
                      fix_create)]
    mode = stat.S_IMODE(os.stat(root).st_mode)
    if mode != 0o1777:
        return [Check("exchange", "fail", f"exchange directory {root} has mode {mode:o}, not 1777",
                      f"as root: chmod 1777 {root}")]
    if not os.access(root, os.W_OK | os.X_OK):
        return [Check("exchange", "fail", f"exchange directory {root} is not writable by this user",
                      "check the volume's mount options (read-only? root squash?)")]
    return [Check("exchange", "ok", f"exchange directory {root} has mode 1777")]


def check_identity(role: str, environ: dict | None = None) -> list[Check]:
    """On a hub, nbgrader's student id (Unix name, or $JUPYTERHUB_USER for jovyan) is the hub user."""
    import getpass

    environ = os.environ if environ is None else environ
    checks = []
    hub_user = environ.get("JUPYTERHUB_USER")
    unix = getpass.getuser()
    nbgrader_id = environ.get("JUPYTERHUB_USER", "jovyan") if unix == "jovyan" else unix
    if hub_user and nbgrader_id != hub_user:
        checks.append(Check("identity", "fail" if role == "student" else "warn",
                            f"hub user {hub_user} runs as Unix user {unix}: nbgrader files submissions as {unix}",
                            "run each server as its own Unix user (LocalProcessSpawner, deploy/jupyterhub_config.py) "
                            "or as jovyan in a container (nbgrader then uses $JUPYTERHUB_USER)"))
    elif hub_user:
        checks.append(Check("identity", "ok", f"submissions are filed as {nbgrader_id}"))
    if role == "instructor" and shutil.which("alembic") is None:
        checks.append(Check("identity", "fail", "alembic is not on PATH: nbgrader cannot create the gradebook",
                            f"export PATH={Path(sys.executable).parent}:$PATH"))
    return checks


# ------------------------------------------------------------------------------------------------
# Running everything
# ------------------------------------------------------------------------------------------------
def run(role: str, skip: tuple[str, ...] = (), kernel_name: str = "python3",
        exchange: str | None = None) -> list[Check]:
    """All checks for ``role`` except the topics in ``skip``."""
    checks: list[Check] = []
    labext = labextensions() if {"widgets", "nbgrader"} - set(skip) else {}
    if "widgets" not in skip:
        checks += check_widgets(kernel_versions(kernel_name), labext)
    try:
        import nbgrader
        nbgrader_version = nbgrader.__version__
    except ImportError:
        nbgrader_version = None
    if "nbgrader" not in skip:
        checks += check_nbgrader(role, server_extensions(), lab_plugin_switches("disabledExtensions"), labext,
                                 nbgrader_version, lab_plugin_switches("lockedExtensions"))
    if "data" not in skip:
        checks += check_data()
    if "exchange" not in skip:
        if exchange is None and nbgrader_version is not None:
            exchange = nbgrader_settings()["exchange"]
        checks += check_exchange(role, exchange or DEFAULT_EXCHANGE)
    if "identity" not in skip:
        checks += check_identity(role)
    return checks


def report(checks: list[Check], role: str) -> str:
    lines = [f"dlcourse doctor (role: {role})"]
    for c in checks:
        lines.append(f"  {c.status.upper() if c.status == 'fail' else c.status:<5} {c.topic:<9} {c.summary}")
        if c.fix and c.status != "ok":
            lines.append(f"{'':17}fix: {c.fix}")
    failed = sum(c.status == "fail" for c in checks)
    lines.append(f"{failed} problem(s) found." if failed else "no problems found.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=ROLES, default=os.environ.get("DLCOURSE_ROLE") or "local",
                        help="student, instructor or local (default: $DLCOURSE_ROLE, else local)")
    parser.add_argument("--skip", nargs="*", default=[], choices=TOPICS, help="topics not to check")
    parser.add_argument("--kernel", default="python3", help="kernelspec to check (default python3)")
    parser.add_argument("--exchange", help="exchange directory (default: from nbgrader's configuration)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    checks = run(args.role, tuple(args.skip), args.kernel, args.exchange)
    if args.json:
        print(json.dumps({"role": args.role, "checks": [asdict(c) for c in checks]}, indent=1))
    else:
        print(report(checks, args.role))
    return 1 if any(c.status == "fail" for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
