"""JupyterHub for one dlcourse class on one Linux server.

Start it as root from the course's environment (the hub serves every user from the Python that
runs it):

    sudo DLCOURSE_STUDENTS=@/etc/dlcourse/students.txt DLCOURSE_INSTRUCTORS="ada grace" \
        /opt/dlcourse/.venv/bin/jupyterhub -f /opt/dlcourse/deploy/jupyterhub_config.py

What it sets up (deploy/README.md walks through it):
- students and instructors are Unix accounts (PAM log-in); each server runs as its own user, so
  the exchange files carry the real owner and nbgrader files every submission under the right name;
- hub groups ``nbgrader-<course>`` (students) and ``formgrade-<course>`` (instructors, graders):
  nbgrader's ``JupyterHubAuthPlugin`` reads course membership from them;
- one shared formgrader, a hub service named after the course that runs as the grader account in
  the course directory; only the ``formgrade-<course>`` group may open it;
- per-role Jupyter configuration: students do not get the formgrader, the course list or the
  "create assignment" tool; the course notebooks are copied into ``~/<course>/notebooks``.

Every path and name can be changed through the environment variables read below, which is also
how ``tests/test_hub.py`` runs this very file on 127.0.0.1.
"""
import os
import pwd
import subprocess
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by the config loader)

HERE = Path(__file__).resolve().parent


def _names(variable: str) -> list[str]:
    """User names from ``$variable``: a comma/space separated list, or ``@file`` with one a line."""
    value = os.environ.get(variable, "").strip()
    if value.startswith("@"):
        value = Path(value[1:]).read_text()
    lines = (line.split("#", 1)[0] for line in value.splitlines())  # comments start with #
    return sorted({name for line in lines for name in line.replace(",", " ").split()})


def _home(user: str, fallback: str) -> str:
    try:
        return pwd.getpwnam(user).pw_dir
    except KeyError:
        return fallback


COURSE = os.environ.get("DLCOURSE_COURSE_ID", "dlcourse")
STUDENTS = _names("DLCOURSE_STUDENTS")
INSTRUCTORS = _names("DLCOURSE_INSTRUCTORS")
ADMINS = _names("DLCOURSE_ADMINS")
# The Unix account that owns the course directory and the gradebook and runs the formgrader.
GRADER = os.environ.get("DLCOURSE_GRADER_USER", f"grader-{COURSE}")
GRADER_HOME = _home(GRADER, f"/home/{GRADER}")
# The nbgrader course directory (a copy of the repository's assignments/ folder).
COURSE_ROOT = os.environ.get("DLCOURSE_COURSE_ROOT", os.path.join(GRADER_HOME, COURSE))
EXCHANGE = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
FORMGRADER_PORT = int(os.environ.get("DLCOURSE_FORMGRADER_PORT", "9999"))
# The chapter notebooks every user gets a copy of (the Docker image keeps them here too).
NOTEBOOKS = os.environ.get("DLCOURSE_NOTEBOOKS", str(HERE.parent / "notebooks"))
# Per-role Jupyter configuration, and the folder holding the global nbgrader_config.py.
ROLE_CONFIG = os.environ.get("DLCOURSE_ROLE_CONFIG", str(HERE / "jupyter-config"))
NBGRADER_CONFIG_DIR = os.environ.get("DLCOURSE_NBGRADER_CONFIG_DIR", str(HERE))
# The hub's own environment holds jupyterhub-singleuser, nbgrader and dlcourse for everybody.
BIN = os.path.dirname(sys.executable)
PATH = os.pathsep.join([BIN, "/usr/local/bin", "/usr/bin", "/bin"])

STUDENT_GROUP, GRADER_GROUP = f"nbgrader-{COURSE}", f"formgrade-{COURSE}"

# --- who may log in ----------------------------------------------------------------------------
# PAM (the default authenticator): the Unix password of each account.  For single sign-on use an
# OAuthenticator / LTI authenticator instead; user names must still be Unix account names.
c.Authenticator.allowed_users = set(STUDENTS) | set(INSTRUCTORS)
c.Authenticator.admin_users = set(ADMINS)
# The grader account is a hub user too (it cannot log in without a password): the formgrader runs
# as it, and nbgrader asks the hub which courses the account running the exchange belongs to.
c.JupyterHub.load_groups = {
    STUDENT_GROUP: {"users": STUDENTS},
    GRADER_GROUP: {"users": sorted(set(INSTRUCTORS) | {GRADER})},
}

# --- single-user servers -----------------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"  # each server runs as its owner's Unix account
c.Spawner.cmd = [os.path.join(BIN, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    "PATH": PATH,  # nbgrader shells out to `alembic` and `jupyter`
    "DLCOURSE_COURSE_ID": COURSE,
    "NBGRADER_EXCHANGE_ROOT": EXCHANGE,
}
# What a server's own token may do: report activity, and read the user's groups and the course's
# service, which nbgrader's course list needs to find the shared formgrader.  Each token gets the
# part of this its owner holds (students hold no service scopes).
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "read:users:groups!user",
    "list:services",
    f"read:services!service={COURSE}",
]


def role_of(user) -> str:
    """``instructor`` for members of ``formgrade-<course>``, else ``student``."""
    return "instructor" if GRADER_GROUP in {g.name for g in user.groups} else "student"


def copy_notebooks(user_name: str) -> None:
    """Copy the course notebooks into ``~/<course>/notebooks`` without overwriting a student's edits.

    Runs as the user (never as root) so that a symlink planted in the home directory cannot make the
    hub write somewhere else.
    """
    if not os.path.isdir(NOTEBOOKS):
        return
    account = pwd.getpwnam(user_name)
    target = os.path.join(account.pw_dir, COURSE)
    as_user = {}
    if os.geteuid() == 0:
        as_user = dict(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
    subprocess.run(
        [sys.executable, "-c", _COPY_MISSING, NOTEBOOKS, os.path.join(target, "notebooks")],
        check=True, timeout=120, cwd="/", env={"PATH": PATH, "HOME": account.pw_dir}, **as_user,
    )


# Copies the files a user does not have yet; existing (possibly edited) files are left alone.
_COPY_MISSING = """
import os, shutil, sys
def copy_if_missing(src, dst):
    if not os.path.lexists(dst):
        shutil.copy2(src, dst)
shutil.copytree(sys.argv[1], sys.argv[2], dirs_exist_ok=True, copy_function=copy_if_missing)
"""


def pre_spawn_hook(spawner) -> None:
    role = role_of(spawner.user)
    spawner.environment = {
        **spawner.environment,
        "DLCOURSE_ROLE": role,
        # Earlier entries win: the role's extension switches, then the global nbgrader_config.py.
        "JUPYTER_CONFIG_PATH": os.pathsep.join([os.path.join(ROLE_CONFIG, role), NBGRADER_CONFIG_DIR]),
    }
    copy_notebooks(spawner.user.name)


c.Spawner.pre_spawn_hook = pre_spawn_hook

# --- the shared formgrader ---------------------------------------------------------------------
# A hub service whose name is the course id: nbgrader's course list links instructors to
# /services/<course>/.  It runs as the grader account in the course directory, with the
# instructor configuration (formgrader enabled).
c.JupyterHub.services = [
    {
        "name": COURSE,
        "url": f"http://127.0.0.1:{FORMGRADER_PORT}",
        "command": [os.path.join(BIN, "jupyterhub-singleuser")],
        "user": GRADER,
        "cwd": COURSE_ROOT,
        "environment": {
            **c.Spawner.environment,
            "HOME": GRADER_HOME,
            "DLCOURSE_ROLE": "instructor",
            "JUPYTER_CONFIG_PATH": os.pathsep.join(
                [os.path.join(ROLE_CONFIG, "instructor"), NBGRADER_CONFIG_DIR]
            ),
            "JUPYTERHUB_DEFAULT_URL": "/lab?formgrader=true",
        },
        "oauth_no_confirm": True,
        # The hub exits if a managed service is not up in time (JupyterHub >= 6; default 30 s).
        "timeout": 120,
    }
]

c.JupyterHub.load_roles = [
    {
        # Instructors may open the formgrader and see it in their course list; students may not.
        "name": f"{GRADER_GROUP}-access",
        "groups": [GRADER_GROUP],
        "scopes": [
            f"access:services!service={COURSE}",
            "list:services",
            f"read:services!service={COURSE}",
        ],
    },
    {
        # The formgrader may see who is in the course and manage the student group
        # (`nbgrader db student add` adds the student to nbgrader-<course>).
        "name": f"{COURSE}-formgrader",
        "services": [COURSE],
        "scopes": [
            "list:users",
            "read:users:groups",
            "list:groups",
            f"read:groups!group={STUDENT_GROUP}",
            f"groups!group={STUDENT_GROUP}",
        ],
    },
]

# --- the exchange ------------------------------------------------------------------------------
# World-writable with the sticky bit, like /tmp: anyone may drop files, nobody may delete others'.
if os.geteuid() == 0 and not os.path.isdir(EXCHANGE):
    os.makedirs(EXCHANGE)
    os.chmod(EXCHANGE, 0o1777)

# --- the hub itself ----------------------------------------------------------------------------
# Serve behind TLS: either a reverse proxy (nginx, caddy) in front of port 8000, or
# c.JupyterHub.ssl_cert / ssl_key here.  State (sqlite, cookie secret) lives in the working
# directory the hub is started from, e.g. /srv/jupyterhub.
c.JupyterHub.bind_url = os.environ.get("DLCOURSE_HUB_URL", "http://:8000")
c.JupyterHub.cleanup_servers = True
