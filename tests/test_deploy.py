"""deploy/: the Dockerfile, the hub and nbgrader configuration, the z2jh values, the start hook.

``docker build`` cannot run here, so the Dockerfile is parsed and checked for what each image must
contain; the configuration files are loaded the way JupyterHub, nbgrader and jupyter_server load
them.  ``tests/test_hub.py`` runs the single-server configuration for real.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import stat
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
INSTRUCTIONS = {"FROM", "ARG", "ENV", "RUN", "COPY", "ADD", "USER", "WORKDIR", "LABEL", "EXPOSE",
                "ENTRYPOINT", "CMD", "SHELL", "VOLUME", "HEALTHCHECK", "STOPSIGNAL", "ONBUILD"}
INSTRUCTOR_TOOLS = {"nbgrader:formgrader", "nbgrader:course-list", "nbgrader:create-assignment"}


# ------------------------------------------------------------------------------------------------
# The Dockerfile
# ------------------------------------------------------------------------------------------------
def parse_dockerfile(text: str) -> list[dict]:
    """Instructions as ``{"cmd", "args", "stage", "line"}``; continuation lines are joined."""
    out, stage, buf, start = [], None, "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if not buf:
            start = number
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        cmd, _, args = buf.partition(" ")
        cmd = cmd.upper()
        if cmd == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", args.strip(), re.I)
            stage = m.group(2)
        out.append({"cmd": cmd, "args": args.strip(), "stage": stage, "line": start})
        buf = ""
    assert not buf, "the Dockerfile ends inside a continued line"
    return out


@pytest.fixture(scope="module")
def dockerfile():
    return parse_dockerfile((DEPLOY / "Dockerfile").read_text())


def stage(instructions, name):
    return [i for i in instructions if i["stage"] == name]


def copies(instructions):
    """(sources, destination) of every COPY, flags removed."""
    result = []
    for i in instructions:
        if i["cmd"] == "COPY":
            words = [w for w in shlex.split(i["args"]) if not w.startswith("--")]
            result.append((words[:-1], words[-1]))
    return result


def env_of(instructions) -> dict:
    env = {}
    for i in instructions:
        if i["cmd"] == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", i["args"]):
                env[key] = value
    return env


def test_dockerfile_has_a_student_and_an_instructor_image_on_docker_stacks(dockerfile):
    assert {i["cmd"] for i in dockerfile} <= INSTRUCTIONS
    froms = {i["stage"]: i["args"].split()[0] for i in dockerfile if i["cmd"] == "FROM"}
    assert froms == {"base": "${BASE_IMAGE}", "student": "base", "instructor": "base"}
    (default,) = [i["args"] for i in dockerfile if i["cmd"] == "ARG" and i["args"].startswith("BASE_IMAGE=")]
    assert re.fullmatch(r"BASE_IMAGE=jupyter/[a-z-]+-notebook:\S+", default)
    for name in ("student", "instructor"):
        users = [i["args"] for i in dockerfile if i["cmd"] == "USER" and i["stage"] in ("base", name)]
        assert users[-1] == "${NB_UID}", f"the {name} image must not run as root"


def test_dockerfile_installs_dlcourse_with_the_course_extra_and_the_notebooks(dockerfile):
    base = stage(dockerfile, "base")
    sources = {s for srcs, _ in copies(base) for s in srcs}
    assert {"pyproject.toml", "dlcourse", "notebooks"} <= sources
    runs = " ".join(i["args"] for i in base if i["cmd"] == "RUN")
    assert re.search(r'pip install --no-cache-dir "/tmp/dlcourse\[course\]"', runs)
    assert ("notebooks", ) in {tuple(srcs) for srcs, dest in copies(base) if dest == env_of(base)["DLCOURSE_NOTEBOOKS"]}
    assert (["deploy/nbgrader_config.py"], "/etc/jupyter/nbgrader_config.py") in copies(base)
    assert "install -d -m 1777 " + env_of(base)["NBGRADER_EXCHANGE_ROOT"] in runs
    hook = [dest for srcs, dest in copies(base) if srcs == ["deploy/before-notebook.d/10-dlcourse-notebooks.sh"]]
    assert hook == ["/usr/local/bin/before-notebook.d/"]


def test_student_image_disables_instructor_tools_and_holds_no_course_secrets(dockerfile):
    config_dir = env_of(stage(dockerfile, "base"))["JUPYTER_CONFIG_PATH"]
    for name in ("student", "instructor"):
        own = stage(dockerfile, name)
        assert copies(own)[0] == ([f"deploy/jupyter-config/{name}"], config_dir)
        assert env_of(own)["DLCOURSE_ROLE"] == name
        assert any(i["cmd"] == "RUN" and i["args"] == f"python -m dlcourse.doctor --role {name}" for i in own)
    student_sources = {s for srcs, _ in copies(stage(dockerfile, "base") + stage(dockerfile, "student")) for s in srcs}
    assert not {"assignments", "solutions"} & student_sources, "hidden tests and solutions stay out of it"
    assert ["assignments"] in [srcs for srcs, _ in copies(stage(dockerfile, "instructor"))]
    server = json.loads((DEPLOY / "jupyter-config/student/jupyter_server_config.json").read_text())
    enabled = server["ServerApp"]["jpserver_extensions"]
    assert enabled["nbgrader.server_extensions.formgrader"] is False
    assert enabled["nbgrader.server_extensions.course_list"] is False
    assert enabled["nbgrader.server_extensions.assignment_list"] is True
    lab = json.loads((DEPLOY / "jupyter-config/student/labconfig/page_config.json").read_text())
    assert {k for k, v in lab["disabledExtensions"].items() if v} == INSTRUCTOR_TOOLS
    assert {k for k, v in lab["lockedExtensions"].items() if v} == INSTRUCTOR_TOOLS


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins, ``!`` re-includes."""
    ignored = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.rstrip("/")
        if pat == "**" or any(fnmatch.fnmatch(p, pat) for p in prefixes):
            ignored = not negate
    return ignored


def test_every_copied_path_exists_and_is_sent_to_the_builder(dockerfile):
    lines = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    for sources, _ in copies(dockerfile):
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            assert not _ignored(source, patterns), f"COPY {source} is excluded by Dockerfile.dockerignore"
    for secret in (".git/config", ".venv/bin/python", "assignments/gradebook.db", "tests/test_deploy.py"):
        assert _ignored(secret, patterns), secret


def test_role_configuration_is_what_a_jupyter_server_started_with_it_loads(monkeypatch, tmp_path):
    from jupyter_server.serverapp import ServerApp

    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))  # no user-level configuration
    found = {}
    for role in ("student", "instructor"):
        monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(DEPLOY / "jupyter-config" / role))
        app = ServerApp()
        app.find_server_extensions()
        found[role] = app.jpserver_extensions
    assert found["student"]["nbgrader.server_extensions.formgrader"] is False
    assert found["student"]["nbgrader.server_extensions.course_list"] is False
    assert found["student"]["nbgrader.server_extensions.assignment_list"] is True
    assert all(found["instructor"][f"nbgrader.server_extensions.{e}"]
               for e in ("formgrader", "course_list", "assignment_list", "validate_assignment"))


def test_start_hook_copies_notebooks_and_keeps_a_students_edits(tmp_path):
    source, home = tmp_path / "opt", tmp_path / "home"
    (source / "sub").mkdir(parents=True)
    home.mkdir()
    (source / "01_intro.ipynb").write_text("original")
    (source / "sub" / "data.txt").write_text("data")
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "DLCOURSE_NOTEBOOKS": str(source),
           "DLCOURSE_COURSE_ID": "course"}
    hook = DEPLOY / "before-notebook.d" / "10-dlcourse-notebooks.sh"

    def run():  # docker-stacks sources the hooks from start.sh
        done = subprocess.run(["bash", "-c", f"set -u; source {shlex.quote(str(hook))}; echo still-running"],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.strip() == "still-running", done.stderr

    run()
    copied = home / "course" / "notebooks"
    assert (copied / "01_intro.ipynb").read_text() == "original"
    assert (copied / "sub" / "data.txt").read_text() == "data"
    (copied / "01_intro.ipynb").write_text("my answers")
    (source / "02_next.ipynb").write_text("new chapter")
    run()
    assert (copied / "01_intro.ipynb").read_text() == "my answers"
    assert (copied / "02_next.ipynb").read_text() == "new chapter"
    env["DLCOURSE_NOTEBOOKS"] = str(tmp_path / "missing")
    run()  # no notebooks in the image: nothing happens, the start goes on


# ------------------------------------------------------------------------------------------------
# The single-server hub configuration
# ------------------------------------------------------------------------------------------------
def load_hub_config(monkeypatch, tmp_path, **env):
    from traitlets.config.loader import PyFileConfigLoader

    defaults = {"DLCOURSE_STUDENTS": "", "DLCOURSE_INSTRUCTORS": "", "DLCOURSE_ADMINS": "",
                "NBGRADER_EXCHANGE_ROOT": str(tmp_path / "exchange"),
                "DLCOURSE_NOTEBOOKS": str(tmp_path / "no-notebooks")}
    for key, value in {**defaults, **env}.items():
        monkeypatch.setenv(key, value)
    return PyFileConfigLoader("jupyterhub_config.py", str(DEPLOY)).load_config()


def test_hub_config_groups_service_roles_and_scopes(monkeypatch, tmp_path):
    roster = tmp_path / "students.txt"
    roster.write_text("alice\nbob\n# a comment\n")
    c = load_hub_config(monkeypatch, tmp_path, DLCOURSE_COURSE_ID="ml101", DLCOURSE_STUDENTS=f"@{roster}",
                        DLCOURSE_INSTRUCTORS="ada, grace", DLCOURSE_GRADER_USER="grader-ml101",
                        DLCOURSE_COURSE_ROOT="/srv/ml101", DLCOURSE_FORMGRADER_PORT="9123")
    assert c.JupyterHub.load_groups == {"nbgrader-ml101": {"users": ["alice", "bob"]},
                                        "formgrade-ml101": {"users": ["ada", "grace", "grader-ml101"]}}
    assert c.Authenticator.allowed_users == {"alice", "bob", "ada", "grace"}
    (service,) = c.JupyterHub.services
    assert service["name"] == "ml101" and service["user"] == "grader-ml101" and service["cwd"] == "/srv/ml101"
    assert service["url"] == "http://127.0.0.1:9123" and service["timeout"] >= 60
    assert service["environment"]["JUPYTER_CONFIG_PATH"].startswith(str(DEPLOY / "jupyter-config" / "instructor"))
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    access = [r for r in roles.values() if r.get("groups") == ["formgrade-ml101"]]
    assert access and "access:services!service=ml101" in access[0]["scopes"]
    assert not [r for r in roles.values() if "nbgrader-ml101" in r.get("groups", [])], "students get no extra scopes"
    wanted = {"read:users:groups!user", "list:services", "read:services!service=ml101"}
    assert wanted <= set(c.Spawner.server_token_scopes)
    assert c.Spawner.environment["NBGRADER_EXCHANGE_ROOT"] == str(tmp_path / "exchange")
    if os.geteuid() == 0:  # the hub (root) creates the exchange with the sticky bit
        assert stat.S_IMODE((tmp_path / "exchange").stat().st_mode) == 0o1777


def test_pre_spawn_hook_gives_each_group_its_role(monkeypatch, tmp_path):
    c = load_hub_config(monkeypatch, tmp_path)
    hook = c.Spawner.pre_spawn_hook
    for groups, role in (([], "student"), (["nbgrader-dlcourse"], "student"), (["formgrade-dlcourse"], "instructor")):
        spawner = SimpleNamespace(environment={"KEEP": "1"}, user=SimpleNamespace(
            name="nobody-in-particular", groups=[SimpleNamespace(name=g) for g in groups]))
        hook(spawner)
        assert spawner.environment["DLCOURSE_ROLE"] == role and spawner.environment["KEEP"] == "1"
        first = spawner.environment["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0]
        assert first == str(DEPLOY / "jupyter-config" / role)


def test_global_nbgrader_config(monkeypatch):
    from nbgrader.auth import JupyterHubAuthPlugin
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv("NBGRADER_EXCHANGE_ROOT", "/somewhere/exchange")
    monkeypatch.setenv("DLCOURSE_COURSE_ID", "ml101")
    c = PyFileConfigLoader("nbgrader_config.py", str(DEPLOY)).load_config()
    assert c.Exchange.root == "/somewhere/exchange" and c.Exchange.path_includes_course is True
    assert c.CourseDirectory.course_id == "ml101"
    assert c.Authenticator.plugin_class is JupyterHubAuthPlugin


# ------------------------------------------------------------------------------------------------
# Kubernetes
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def k8s():
    z = DEPLOY / "z2jh"
    return {"values": yaml.safe_load((z / "values.yaml").read_text()),
            "pvc": yaml.safe_load((z / "exchange-pvc.yaml").read_text()),
            "formgrader": {d["kind"]: d for d in yaml.safe_load_all((z / "formgrader.yaml").read_text())}}


def test_z2jh_values_image_exchange_groups_service_and_limits(k8s, dockerfile):
    values, pvc = k8s["values"], k8s["pvc"]
    single = values["singleuser"]
    exchange = env_of(stage(dockerfile, "base"))["NBGRADER_EXCHANGE_ROOT"]
    assert single["image"]["name"] and single["image"]["tag"]
    assert single["cpu"]["limit"] and single["memory"]["limit"] and single["memory"]["guarantee"]
    (volume,) = [v for v in single["storage"]["extraVolumes"] if v["name"] == "nbgrader-exchange"]
    assert volume["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    (mount,) = [m for m in single["storage"]["extraVolumeMounts"] if m["name"] == "nbgrader-exchange"]
    assert mount["mountPath"] == exchange == single["extraEnv"]["NBGRADER_EXCHANGE_ROOT"]
    (init,) = single["initContainers"]
    assert init["securityContext"]["runAsUser"] == 0 and f"chmod 1777 {exchange}" in " ".join(init["command"])
    hub = values["hub"]
    assert "access:services!service=dlcourse" in hub["loadRoles"]["formgrade-dlcourse-access"]["scopes"]
    assert hub["loadRoles"]["formgrade-dlcourse-access"]["groups"] == ["formgrade-dlcourse"]
    service = k8s["formgrader"]["Service"]
    port = service["spec"]["ports"][0]["port"]
    assert hub["services"]["dlcourse"]["url"] == f"http://{service['metadata']['name']}:{port}"
    deployment = k8s["formgrader"]["Deployment"]
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["JUPYTERHUB_SERVICE_NAME"]["value"] == "dlcourse"
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == "hub.services.dlcourse.apiToken"
    assert env["JUPYTERHUB_USER"]["value"] == "grader-dlcourse"  # a member of formgrade-dlcourse:
    assert 'f"grader-{COURSE}"' in hub["extraConfig"]["10-dlcourse"]  # nbgrader asks the hub for its courses


def test_z2jh_extra_config_runs_and_gives_each_user_a_uid(k8s, monkeypatch):
    from traitlets.config import Config

    hub = k8s["values"]["hub"]
    for key, value in hub["extraEnv"].items():
        monkeypatch.setenv(key, value)
    c = Config()
    exec(compile(hub["extraConfig"]["10-dlcourse"], "values.yaml:hub.extraConfig", "exec"), {"c": c})
    assert set(c.JupyterHub.load_groups) == {"nbgrader-dlcourse", "formgrade-dlcourse"}
    assert "read:users:groups!user" in c.KubeSpawner.server_token_scopes
    uids = set()
    for uid, groups in ((1, []), (2, ["formgrade-dlcourse"])):
        spawner = SimpleNamespace(environment={"DLCOURSE_COURSE_ID": "dlcourse"}, image="student-image",
                                  user=SimpleNamespace(id=uid, groups=[SimpleNamespace(name=g) for g in groups]))
        c.KubeSpawner.pre_spawn_hook(spawner)
        uids.add(spawner.environment["NB_UID"])
        assert spawner.environment["DLCOURSE_COURSE_ID"] == "dlcourse"
        assert spawner.image == ("student-image" if not groups else hub["extraEnv"]["DLCOURSE_INSTRUCTOR_IMAGE"])
    assert len(uids) == 2 and "1000" not in uids
    assert k8s["values"]["singleuser"]["uid"] == 0  # start.sh can switch to NB_UID only as root


# ------------------------------------------------------------------------------------------------
# The admin's instructions
# ------------------------------------------------------------------------------------------------
def test_readme_names_every_deploy_file_and_what_binder_can_do():
    file_table = (DEPLOY / "README.md").read_text()
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file() and path.name != "README.md" and "__pycache__" not in path.parts:
            top = path.relative_to(DEPLOY).parts[0]
            assert top in file_table or path.name in file_table, f"deploy/README.md does not mention {top}"
    readme = (DEPLOY.parent / "README.md").read_text()  # the admin walkthrough lives in the top-level README
    assert "environment.yml" in readme and "badge" in readme.lower()
    assert re.search(r"does not: the exchange", readme)
    for step in ("useradd", "install -d -m 1777", "helm upgrade --install", "python -m dlcourse.doctor"):
        assert step in readme, step
