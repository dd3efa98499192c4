"""A real JupyterHub on 127.0.0.1 runs one course round trip with the deploy/ configuration.

The hub runs ``deploy/jupyterhub_config.py`` itself (only ports, paths and user names are changed):
real Unix accounts for an instructor, two students and the grader, one server per account
(LocalProcessSpawner), the shared formgrader service named after the course, and the nbgrader
exchange in a 1777 directory.  The instructor releases an assignment through the formgrader; each
student lists, fetches, edits and submits it through their own server's HTTP API with their own
token; the instructor collects, autogrades the submissions in parallel and releases feedback; each
student fetches their feedback.  Scores, 403s and file permissions are asserted.

Needs root (it creates and deletes Unix accounts), ``useradd``/``userdel``/``runuser``, and the
hub's proxy (``.ci/run`` installs configurable-http-proxy with npm into
``~/.cache/dlcourse/npm``).  Everything it starts is stopped: servers are deleted through the hub
API, then the hub's process group gets SIGTERM and, after a grace period, SIGKILL; leftover
processes of the test accounts are killed by PID; the accounts and the temporary directory are
removed.  Folders above the Python installation that other users cannot enter are made enterable
(o+x) and left so (see ``open_up_ancestors``).  Every wait is bounded; the whole test takes about
1 minute on an idle 2-core machine and 2-3 minutes on a busy one.

The assignment is the course's first one (``assignments/source/``) when the repository has the
nbgrader course, else a two-question course made in the temporary directory.  Autograding uses
``python -m dlcourse.course autograde --jobs 2`` when it exists, else a pool of two NbGraderAPI
processes.  Knobs: ``DLCOURSE_HUB_ASSIGNMENT`` (an assignment id, or ``tiny``),
``DLCOURSE_HUB_AUTOGRADE=nbgrader-api``, ``DLCOURSE_HUB_LOG`` (keep the hub log there),
``DLCOURSE_CHP`` (path of configurable-http-proxy).
"""
from __future__ import annotations

import copy
import html
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.hub, pytest.mark.xdist_group("nbgrader")]  # it autogrades too: see test_grading_e2e.py

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COURSE = "dlcourse"
GECOS = "dlcourse hub test"  # marks the accounts this test creates (and may remove)
BIN = Path(sys.executable).parent


# ------------------------------------------------------------------------------------------------
# What the test needs from the machine
# ------------------------------------------------------------------------------------------------
def find_proxy() -> str | None:
    """configurable-http-proxy: $DLCOURSE_CHP, PATH, or the npm cache dir that .ci/run fills."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    for candidate in (
        os.environ.get("DLCOURSE_CHP"),
        shutil.which("configurable-http-proxy"),
        str(cache / "dlcourse" / "npm" / "node_modules" / ".bin" / "configurable-http-proxy"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _requirements() -> str | None:
    if os.name != "posix" or os.geteuid() != 0:
        return "needs root to create the students' Unix accounts"
    for tool in ("useradd", "userdel", "runuser"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    if not (BIN / "jupyterhub").exists() or not (BIN / "jupyterhub-singleuser").exists():
        return "needs jupyterhub installed in the test environment (pip install jupyterhub)"
    if find_proxy() is None:
        return "needs configurable-http-proxy (npm install --prefix ~/.cache/dlcourse/npm configurable-http-proxy)"
    return None


# ------------------------------------------------------------------------------------------------
# The assignment: the course's own if it exists, otherwise a tiny one made here
# ------------------------------------------------------------------------------------------------
def course_assignment() -> str | None:
    """The id of the course's first assignment, if the repository has the nbgrader course."""
    if os.environ.get("DLCOURSE_HUB_ASSIGNMENT") == "tiny":
        return None
    source = ROOT / "assignments" / "source"
    if not (ROOT / "assignments" / "nbgrader_config.py").is_file() or not source.is_dir():
        return None
    ids = sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())
    wanted = os.environ.get("DLCOURSE_HUB_ASSIGNMENT")
    if wanted:
        assert wanted in ids, f"DLCOURSE_HUB_ASSIGNMENT={wanted} is not one of {ids}"
        return wanted
    return ids[0] if ids else None


def _cell(kind: str, source: str, **nbgrader) -> dict:
    import nbformat

    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        meta = {"grade": False, "solution": False, "locked": False, "schema_version": 3}
        meta.update(nbgrader)
        cell.metadata["nbgrader"] = meta
    return cell


def write_tiny_course(course_root: Path) -> str:
    """A two-question nbgrader course: ``add`` (2 points) and ``square`` (3 points)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("markdown", "# Hub round trip\nImplement `add` and `square`."),
        _cell("code", "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
              solution=True, grade_id="add"),
        _cell("code", "assert add(1, 2) == 3\n### BEGIN HIDDEN TESTS\nassert add(-4, 4) == 0\n"
                      "### END HIDDEN TESTS", grade=True, locked=True, points=2, grade_id="test_add"),
        _cell("code", "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
              solution=True, grade_id="square"),
        _cell("code", "assert square(3) == 9\n### BEGIN HIDDEN TESTS\nassert square(-2) == 4\n"
                      "### END HIDDEN TESTS", grade=True, locked=True, points=3, grade_id="test_square"),
    ]
    (course_root / "source" / "hub_roundtrip").mkdir(parents=True)
    nbformat.write(nb, course_root / "source" / "hub_roundtrip" / "hub_roundtrip.ipynb")
    (course_root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.db_url = 'sqlite:///gradebook.db'\n"
        "c.Execute.timeout = 60\n"
        "# feedback without hidden tests: removed from the inputs, and no source lines in tracebacks\n"
        "c.Execute.extra_arguments = ['--HistoryManager.hist_file=:memory:', '--InteractiveShell.xmode=Minimal']\n"
        "c.GenerateFeedback.preprocessors = ['nbgrader.preprocessors.GetGrades',\n"
        "    'nbgrader.preprocessors.ClearHiddenTests', 'nbconvert.preprocessors.CSSHTMLHeaderPreprocessor']\n"
    )
    return "hub_roundtrip"


def solve(released: dict, source: dict, grade_ids: set[str], marker: str) -> dict:
    """The released notebook with the answer cells in ``grade_ids`` replaced by the solution.

    Every student also writes ``marker`` into their first answer cell, so the test can look for
    their work in places other students can reach.
    """
    solutions = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in source["cells"]
                 if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(released)
    answers = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")
               and c["cell_type"] == "code"]
    assert answers, "the assignment has no code answer cells"
    for cell in answers:
        gid = cell["metadata"]["nbgrader"]["grade_id"]
        if gid in grade_ids:
            cell["source"] = solutions[gid]
    answers[0]["source"] = f"# {marker}\n" + "".join(answers[0]["source"])
    return nb


# ------------------------------------------------------------------------------------------------
# Machine set-up and clean-up
# ------------------------------------------------------------------------------------------------
def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def remove_stale_accounts() -> None:
    """Accounts left by an earlier, killed run of this test (marked by GECOS, home gone)."""
    for entry in pwd.getpwall():
        if entry.pw_gecos == GECOS and not os.path.isdir(entry.pw_dir):
            subprocess.run(["userdel", entry.pw_name], capture_output=True, timeout=30)


def make_account(name: str, home: Path) -> pwd.struct_passwd:
    subprocess.run(
        ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/usr/sbin/nologin",
         "--comment", GECOS, "--user-group", name],
        check=True, capture_output=True, timeout=30,
    )
    os.chmod(home, 0o700)
    return pwd.getpwnam(name)


def open_up_ancestors(paths: list[Path]) -> list[tuple[Path, int]]:
    """Let other users traverse (o+x) the folders above ``paths``; return what was changed.

    The servers run as the test accounts and need to reach the test environment's Python and this
    checkout (e.g. a pyenv Python under /root).  Only the execute bit is added (enter, not list)
    and only where it is missing.  It is not taken back afterwards: the grading sandbox
    (``dlcourse.grading.sandbox``, ``grant_traverse``) does the same for its kernels, possibly in a
    test running in parallel, and restoring the mode under it would make its kernels fail to start.
    """
    changed = []
    for path in paths:
        for folder in [path, *path.parents]:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(folder, mode | stat.S_IXOTH)
                changed.append((folder, stat.S_IMODE(mode)))
    return changed


def pids_of(uids: set[int]) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    pids.append(int(entry.name))
            except FileNotFoundError:
                pass
    return pids


def stop_process_group(proc: subprocess.Popen, grace: float) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def run_as(user: str, argv: list[str], env: dict, cwd: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()],
                           *argv], cwd=cwd, capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------------------------------------------
# HTTP helpers
# ------------------------------------------------------------------------------------------------
class Client:
    """Requests to the hub's public URL as one identity (an API token)."""

    def __init__(self, base: str, token: str):
        import requests

        self.base, self.session = base, requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def request(self, method: str, path: str, expect: int | None = 200, **kw):
        r = self.session.request(method, self.base + path, timeout=120, allow_redirects=False, **kw)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text[:2000]}"
        return r

    def json(self, method: str, path: str, **kw):
        return self.request(method, path, **kw).json()


class Fatal(Exception):
    """Raised by a probe when waiting longer cannot help (the process died)."""


T0 = time.monotonic()


def step(what: str) -> None:
    """Progress with elapsed time (shown by pytest for a failed or -rP run)."""
    print(f"[{time.monotonic() - T0:6.1f} s] {what}", flush=True)


def wait_for(what: str, probe, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if last:
                return last
        except Fatal:
            raise
        except Exception as exc:  # the server is still coming up
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {last!r}")


# ------------------------------------------------------------------------------------------------
# The hub
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def hub():
    reason = _requirements()
    if reason:
        pytest.skip(reason)
    step("setup: accounts, course, hub")
    remove_stale_accounts()
    base = Path(tempfile.mkdtemp(prefix="dlcourse-hub-", dir="/tmp"))
    os.chmod(base, 0o755)
    tag = secrets.token_hex(3)
    names = {role: f"dlc{tag}{role}" for role in ("i", "a", "b", "g")}
    accounts, proc, admin = {}, None, None
    try:
        python = Path(os.path.realpath(sys.executable))
        opened = open_up_ancestors([Path(sys.prefix), Path(sys.base_prefix), python.parent, ROOT, base])
        if opened:
            step("made traversable for the test accounts (o+x): " + ", ".join(str(f) for f, _ in opened))
        (base / "home").mkdir(mode=0o755)
        exchange = base / "exchange"
        exchange.mkdir()
        os.chmod(exchange, 0o1777)
        hubdir = base / "hub"
        hubdir.mkdir(mode=0o700)
        for role, name in names.items():
            accounts[role] = make_account(name, base / "home" / name)

        grader = accounts["g"]
        course_root = Path(grader.pw_dir) / COURSE
        assignment = course_assignment()
        if assignment:
            shutil.copytree(ROOT / "assignments", course_root,
                            ignore=shutil.ignore_patterns("gradebook.db", "submitted", "autograded",
                                                          "feedback", "release", "__pycache__"))
        else:
            course_root.mkdir()
            assignment = write_tiny_course(course_root)
        source_nb = json.loads((course_root / "source" / assignment / f"{assignment}.ipynb").read_text())
        subprocess.run(["chown", "-R", f"{grader.pw_uid}:{grader.pw_gid}", str(course_root)], check=True)

        notebooks = ROOT / "notebooks"
        if not any(notebooks.glob("*.ipynb")):
            import nbformat

            notebooks = base / "notebooks"
            notebooks.mkdir()
            nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Chapter 1")]),
                           notebooks / "01_intro.ipynb")

        public, hub_port, proxy_api, formgrader_port = free_ports(4)
        token = secrets.token_hex(32)
        proxy = find_proxy()
        (hubdir / "jupyterhub_config.py").write_text(f"""
c = get_config()
load_subconfig({str(DEPLOY / "jupyterhub_config.py")!r})
# Loopback only, state in this test's directory.
c.JupyterHub.bind_url = "http://127.0.0.1:{public}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.pid_file = {str(hubdir / "proxy.pid")!r}
c.JupyterHub.pid_file = {str(hubdir / "hub.pid")!r}
c.JupyterHub.db_url = "sqlite:///{hubdir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = {str(hubdir / "cookie_secret")!r}
c.JupyterHub.log_level = "INFO"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
# Answer spawn and stop requests at once (202) instead of after 10 s, so servers start in parallel.
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0, "slow_stop_timeout": 0}}
# The test drives the hub with a service token instead of logging in.
c.JupyterHub.services.append({{"name": "hub-test", "api_token": {token!r}}})
c.JupyterHub.load_roles.append({{"name": "hub-test", "services": ["hub-test"],
    "scopes": ["admin:users", "admin:servers", "tokens", "list:services", "read:services", "read:groups",
               "list:groups"]}})
""")
        env = {
            "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "LANG": "C.UTF-8",
            "DLCOURSE_COURSE_ID": COURSE,
            "DLCOURSE_STUDENTS": f"{names['a']},{names['b']}",
            "DLCOURSE_INSTRUCTORS": names["i"],
            "DLCOURSE_GRADER_USER": names["g"],
            "DLCOURSE_COURSE_ROOT": str(course_root),
            "NBGRADER_EXCHANGE_ROOT": str(exchange),
            "DLCOURSE_FORMGRADER_PORT": str(formgrader_port),
            "DLCOURSE_NOTEBOOKS": str(notebooks),
        }
        log = open(hubdir / "hub.log", "w")
        proc = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(hubdir / "jupyterhub_config.py")],
                                cwd=hubdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        url = f"http://127.0.0.1:{public}"
        # The hub's own API answers before the proxy routes to it: the hub first waits for the
        # formgrader service to come up, and the users' servers can start in the meantime.
        admin = Client(f"http://127.0.0.1:{hub_port}", token)

        def up(client):
            if proc.poll() is not None:
                raise Fatal("the hub exited:\n" + (hubdir / "hub.log").read_text()[-5000:])
            return client.request("GET", "/hub/api/", expect=None).status_code == 200

        step("hub starting")
        wait_for("the hub API", lambda: up(admin), 60)
        step("hub API up; spawning servers")
        spawn(admin, [names["i"], names["a"], names["b"]])
        public_admin = Client(url, token)
        wait_for("the hub behind its proxy (after the formgrader service)", lambda: up(public_admin), 120)
        step("hub up")
        yield dict(url=url, admin=admin, names=names, accounts=accounts, course_root=course_root,
                   exchange=exchange, assignment=assignment, source=source_nb, env=env, base=base,
                   log=hubdir / "hub.log", proc=proc)
    finally:
        if proc is not None:
            log.close()
        log_file = base / "hub" / "hub.log"
        if log_file.exists():  # pytest shows this only when the test failed
            print("---- hub log (last 150 lines) ----")
            print("\n".join(log_file.read_text(errors="replace").splitlines()[-150:]))
        if log_file.exists() and os.environ.get("DLCOURSE_HUB_LOG"):  # keep the whole log
            shutil.copy(log_file, os.environ["DLCOURSE_HUB_LOG"])
        uids = {a.pw_uid for a in accounts.values()}
        step("teardown")
        if admin is not None and proc is not None and proc.poll() is None:
            for role in ("i", "a", "b"):  # deleting servers first is much faster than hub shutdown
                admin.request("DELETE", f"/hub/api/users/{names[role]}/server", expect=None)
            try:
                wait_for("servers to stop", lambda: not pids_of(uids - {accounts['g'].pw_uid}), 30)
            except AssertionError:
                pass
        if proc is not None:
            step("stopping the hub")
            stop_process_group(proc, grace=30)
            step("hub stopped")
        proxy_pid = base / "hub" / "proxy.pid"
        if proxy_pid.exists():
            try:
                os.kill(int(proxy_pid.read_text().strip()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        for pid in pids_of(uids):  # servers/services the hub could not stop: ours, killed by PID
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for name in names.values():
            subprocess.run(["userdel", name], capture_output=True, timeout=30)
        shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# The round trip
# ------------------------------------------------------------------------------------------------
def user_token(admin: Client, name: str) -> str:
    r = admin.json("POST", f"/hub/api/users/{name}/tokens", expect=201,
                   json={"note": "hub round-trip test", "expires_in": 900})
    return r["token"]


def spawn(admin: Client, names: list[str]) -> None:
    for name in names:
        r = admin.request("POST", f"/hub/api/users/{name}/server", expect=None)
        assert r.status_code in (201, 202), f"spawn {name}: {r.status_code} {r.text}"


def wait_for_servers(admin: Client, names: list[str]) -> None:
    def all_ready():
        return all(admin.json("GET", f"/hub/api/users/{n}")["servers"].get("", {}).get("ready")
                   for n in names)

    wait_for("the single-user servers", all_ready, 120, interval=1.0)


def assignment_status(client: Client, user: str, assignment: str) -> list[dict]:
    listing = client.json("GET", f"/user/{user}/assignments?course_id={COURSE}")
    assert listing["success"], listing
    return [a for a in listing["value"] if a["assignment_id"] == assignment]


def student_action(client: Client, user: str, action: str, assignment: str) -> dict:
    r = client.json("POST", f"/user/{user}/assignments/{action}",
                    json={"course_id": COURSE, "assignment_id": assignment})
    assert r.get("success"), f"{action} by {user} failed: {r}"
    return r


def autograde_in_parallel(hub: dict, assignment: str) -> str:
    """Autograde every submission with two workers, as the grader account, in the course dir."""
    grader = hub["names"]["g"]
    env = {
        "PATH": hub["env"]["PATH"], "HOME": hub["accounts"]["g"].pw_dir, "LANG": "C.UTF-8",
        "DLCOURSE_COURSE_ID": COURSE, "NBGRADER_EXCHANGE_ROOT": str(hub["exchange"]),
        "JUPYTER_CONFIG_PATH": f"{DEPLOY / 'jupyter-config' / 'instructor'}:{DEPLOY}",
    }
    cli = run_as(grader, [sys.executable, "-m", "dlcourse.course", "autograde", "--help"], env,
                 str(hub["course_root"]), 60)
    if cli.returncode == 0 and "--jobs" in cli.stdout and os.environ.get("DLCOURSE_HUB_AUTOGRADE") != "nbgrader-api":
        argv = [sys.executable, "-m", "dlcourse.course", "autograde", assignment, "--jobs", "2"]
        how = "course CLI"
    else:  # the course CLI is not there yet: the same thing with nbgrader's API and a process pool
        argv = [sys.executable, "-c", _POOL_AUTOGRADE, assignment]
        how = "NbGraderAPI pool"
    done = run_as(grader, argv, env, str(hub["course_root"]), 180)
    assert done.returncode == 0, f"autograde ({how}) failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return how


_POOL_AUTOGRADE = r"""
import os, sys
from multiprocessing import Pool

def config():
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.apps import NbGrader
    app = NbGrader()
    app.config_file_paths.extend([os.getcwd(), *jupyter_config_path()])
    app.load_config_file()
    # Outside a hub session there is no hub token, and grading needs no course membership.
    from nbgrader.auth import NoAuthPlugin
    app.config.Authenticator.plugin_class = NoAuthPlugin
    return app.config

def grade(student):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    cfg = config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)
    result = api.autograde(sys.argv[1], student)
    return student, result["success"], result.get("error") or ""

if __name__ == "__main__":
    assignment = sys.argv[1]
    students = sorted(os.listdir(os.path.join("submitted")))
    with Pool(2) as pool:
        results = pool.map(grade, students)
    failed = [r for r in results if not r[1]]
    print(results)
    sys.exit(1 if failed else 0)
"""


def readable_files_as(user: str, hub: dict, roots: list[str]) -> tuple[str, list[str]]:
    """Everything ``user`` can list and read under ``roots`` (concatenated), and what was denied."""
    script = r"""
import json, os, sys
text, denied = [], []
for root in sys.argv[1:]:
    for folder, dirs, files in os.walk(root, onerror=lambda e: denied.append(e.filename)):
        for f in files:
            try:
                with open(os.path.join(folder, f), errors="replace") as fh:
                    text.append(fh.read())
            except OSError as e:
                denied.append(e.filename)
print(json.dumps({"text": "\n".join(text), "denied": denied}))
"""
    env = {"PATH": hub["env"]["PATH"], "HOME": "/"}
    done = run_as(user, [sys.executable, "-c", script, *roots], env, "/", 60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    return out["text"], out["denied"]


def lab_page_config(client: Client, user: str) -> dict:
    """The page configuration JupyterLab serves to ``user`` (disabled and locked plugins)."""
    page = client.request("GET", f"/user/{user}/lab").text
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
    assert found, page[:2000]
    return json.loads(found[1])


def service_environment_names(hub: dict) -> set[str]:
    """The JUPYTERHUB_* variables of the formgrader service process the hub started."""
    uid = hub["accounts"]["g"].pw_uid
    for pid in pids_of({uid}):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if b"jupyterhub-singleuser" in cmdline:
            names = {item.split(b"=", 1)[0].decode() for item in environ.split(b"\0") if item}
            return {n for n in names if n.startswith("JUPYTERHUB_")}
    raise AssertionError("no formgrader service process found")


def k8s_formgrader_environment_names() -> set[str]:
    import yaml

    docs = list(yaml.safe_load_all((DEPLOY / "z2jh" / "formgrader.yaml").read_text()))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"] for e in container["env"]}


def visible_text(page: str) -> str:
    """What a reader of an HTML page sees: tags removed (highlighting splits code into spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def hidden_test_lines(source: dict) -> list[str]:
    """The non-trivial lines between BEGIN/END HIDDEN TESTS in the source notebook."""
    lines = []
    for cell in source["cells"]:
        text = "".join(cell["source"])
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", text, re.S):
            lines += [ln.strip() for ln in block.splitlines() if len(ln.strip()) > 8]
    return lines


def test_course_round_trip_on_a_loopback_hub(hub):
    admin, names, assignment = hub["admin"], hub["names"], hub["assignment"]
    instructor, a, b = names["i"], names["a"], names["b"]
    url = hub["url"]
    tokens = {u: user_token(admin, u) for u in (instructor, a, b)}
    as_user = {u: Client(url, t) for u, t in tokens.items()}
    teacher, alice, bob = as_user[instructor], as_user[a], as_user[b]

    # Groups from the deploy config: students and graders of the course.
    groups = {g["name"]: sorted(g["users"]) for g in admin.json("GET", "/hub/api/groups")}
    assert groups[f"nbgrader-{COURSE}"] == sorted([a, b])
    assert groups[f"formgrade-{COURSE}"] == sorted([instructor, names["g"]])

    wait_for_servers(admin, [instructor, a, b])
    step("servers ready")
    formgrader = f"/services/{COURSE}/formgrader/api"
    wait_for("the shared formgrader", lambda: teacher.request(
        "GET", f"{formgrader}/status", expect=None).status_code == 200, 90)

    step("formgrader ready")
    # --- who may see what -------------------------------------------------------------------
    assert alice.request("GET", f"{formgrader}/status", expect=None).status_code == 403
    assert alice.request("GET", f"/user/{b}/api/contents", expect=None).status_code == 403
    assert bob.request("GET", f"/user/{a}/api/status", expect=None).status_code == 403
    # A student's own server has no formgrader and no course list (role configuration) ...
    assert alice.request("GET", f"/user/{a}/formgrader/api/status", expect=None).status_code == 404
    assert alice.request("GET", f"/user/{a}/formgraders", expect=None).status_code == 404
    # ... an instructor's course list finds the shared formgrader through the hub API.
    courses = teacher.json("GET", f"/user/{instructor}/formgraders")
    assert courses["success"], courses
    assert [(c["course_id"], c["kind"]) for c in courses["value"] if c["kind"] == "jupyterhub"] == \
        [(COURSE, "jupyterhub")]
    # JupyterLab's page config: the student's instructor plugins are disabled and locked.
    student_page, instructor_page = lab_page_config(alice, a), lab_page_config(teacher, instructor)
    instructor_tools = {"nbgrader:formgrader", "nbgrader:course-list", "nbgrader:create-assignment"}
    assert instructor_tools <= set(student_page["disabledExtensions"]), student_page["disabledExtensions"]
    assert instructor_tools <= set(student_page.get("lockedExtensions", [])), student_page.get("lockedExtensions")
    assert not instructor_tools & set(instructor_page["disabledExtensions"])
    # The Kubernetes formgrader (deploy/z2jh/formgrader.yaml) gets every variable the hub gives
    # the formgrader service it starts itself.
    missing = service_environment_names(hub) - k8s_formgrader_environment_names()
    assert not missing, f"deploy/z2jh/formgrader.yaml lacks {sorted(missing)}"
    # Everybody got the chapter notebooks in ~/<course>/notebooks.
    copied = alice.json("GET", f"/user/{a}/api/contents/{COURSE}/notebooks")
    assert any(item["name"].endswith(".ipynb") for item in copied["content"])

    # --- the instructor releases -------------------------------------------------------------
    step("instructor generates and releases")
    for action in ("assign", "release"):
        r = teacher.json("POST", f"{formgrader}/assignment/{assignment}/{action}")
        assert r["success"], f"{action}: {r}"

    # --- each student lists, fetches, edits and submits ----------------------------------------
    nb_name = f"{assignment}.ipynb"
    all_answers = {c["metadata"]["nbgrader"]["grade_id"] for c in hub["source"]["cells"]
                   if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    first_answer = next(c["metadata"]["nbgrader"]["grade_id"] for c in hub["source"]["cells"]
                        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                        and c["cell_type"] == "code")
    plan = {a: all_answers, b: {first_answer}}  # alice solves everything, bob the first answer
    markers = {u: f"work of {u} {secrets.token_hex(8)}" for u in (a, b)}
    for user in (a, b):
        client = as_user[user]
        assert [s["status"] for s in assignment_status(client, user, assignment)] == ["released"]
        student_action(client, user, "fetch", assignment)
        assert "fetched" in [s["status"] for s in assignment_status(client, user, assignment)]
        path = f"/user/{user}/api/contents/{COURSE}/{assignment}/{nb_name}"
        released = client.json("GET", path)["content"]
        edited = solve(released, hub["source"], plan[user], markers[user])
        client.request("PUT", path, json={"type": "notebook", "format": "json", "content": edited})
        student_action(client, user, "submit", assignment)
        assert "submitted" in [s["status"] for s in assignment_status(client, user, assignment)]

    # Submissions are filed under each student's own name (real identity, not root's).
    inbound = hub["exchange"] / COURSE / "inbound"
    filed = sorted(p.name.split("+")[0] for p in inbound.iterdir())
    assert filed == sorted([a, b])
    for p in inbound.iterdir():
        assert pwd.getpwuid(p.stat().st_uid).pw_name == p.name.split("+")[0]

    # A student cannot read another student's submission: the inbound folder cannot be listed, the
    # other's home and the course directory cannot be entered; nothing bob can reach holds alice's work.
    roots = [str(hub["exchange"]), str(hub["accounts"]["a"].pw_dir), str(hub["course_root"])]
    step("students submitted; checking isolation")
    text, denied = readable_files_as(b, hub, roots)
    assert markers[a] not in text
    assert str(inbound) in denied and hub["accounts"]["a"].pw_dir in denied
    assert str(hub["course_root"]) in denied

    # --- the instructor collects, autogrades in parallel, releases feedback ---------------------
    r = teacher.json("POST", f"{formgrader}/assignment/{assignment}/collect")
    assert r["success"], r
    step("collected; autograding")
    how = autograde_in_parallel(hub, assignment)
    step(f"autograded ({how}); feedback")
    for action in ("generate_feedback", "release_feedback"):
        r = teacher.json("POST", f"{formgrader}/assignment/{assignment}/{action}")
        assert r["success"], f"{action}: {r}"

    subs = {s["student"]: s for s in teacher.json("GET", f"{formgrader}/submissions/{assignment}")}
    assert set(subs) == {a, b}
    max_score = subs[a]["max_score"]
    assert max_score > 0 and subs[a]["autograded"] and subs[b]["autograded"]
    assert subs[a]["score"] == pytest.approx(max_score), subs[a]
    assert subs[b]["score"] < max_score
    if assignment == "hub_roundtrip":
        assert (subs[a]["score"], subs[b]["score"], max_score) == (5.0, 2.0, 5.0)

    step(f"feedback released; scores {a}: {subs[a]['score']}, {b}: {subs[b]['score']} of {max_score}")
    hidden = hidden_test_lines(hub["source"])
    assert hidden or assignment != "hub_roundtrip"
    # --- each student fetches their own feedback -----------------------------------------------
    for user in (a, b):
        client = as_user[user]
        student_action(client, user, "fetch_feedback", assignment)
        submitted = [s for s in assignment_status(client, user, assignment) if s["status"] == "submitted"]
        feedback = [s["local_feedback_path"] for sub in submitted for s in sub["submissions"]
                    if s.get("local_feedback_path")]
        assert feedback, f"{user} got no feedback: {submitted}"
        page = client.request("GET", f"/user/{user}/files/{feedback[0]}/{assignment}.html")
        text = visible_text(page.content.decode("utf-8"))
        assert markers[user] in text and markers[{a: b, b: a}[user]] not in text
        total = re.search(r"\(Score: ([0-9.]+) / ([0-9.]+)\)", text)
        assert total and (float(total[1]), float(total[2])) == (subs[user]["score"], max_score), total
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"feedback shows hidden tests: {leaked}"

    step(f"round trip with {assignment!r} done ({how})")
