"""dlcourse.doctor: each check passes on a good environment and explains a broken one."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlcourse import doctor
from dlcourse.doctor import Check, check_data, check_exchange, check_identity, check_nbgrader, check_widgets, satisfies

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[1]
ROLE_CONFIG = ROOT / "deploy" / "jupyter-config"
GOOD_KERNEL = {"python": "/k/python", "ipywidgets": "8.1.9", "widgets_base": "2.0.0", "widgets_controls": "2.0.0",
               "ipympl": "0.10.0", "ipympl_js": "^0.12", "dlcourse": "0.1.0"}
GOOD_LAB = {"@jupyter-widgets/jupyterlab-manager": {"version": "5.0.16", "path": "x"},
            "jupyter-matplotlib": {"version": "0.12.0", "path": "y"},
            "@jupyter/nbgrader": {"version": "0.9.6", "path": "z"}}


def statuses(checks: list[Check]) -> list[str]:
    return [c.status for c in checks]


@pytest.mark.parametrize("version, spec, ok", [
    ("0.12.0", "^0.12", True), ("0.12.7", "^0.12.1", True), ("0.13.0", "^0.12", False),
    ("0.11.9", "^0.12", False), ("2.3.0", "^2.0.0", True), ("3.0.0", "^2.0.0", False),
    ("1.2.9", "~1.2.0", True), ("1.3.0", "~1.2.0", False), ("0.9.6", "0.9.6", True),
    ("0.9.7", "0.9.6", False), ("5.0.0-rc.1", "^5", True), ("1.0.0", "*", True),
])
def test_satisfies_npm_ranges(version, spec, ok):
    assert satisfies(version, spec) is ok


def test_widgets_agree():
    assert statuses(check_widgets(GOOD_KERNEL, GOOD_LAB)) == ["ok", "ok"]


def test_widgets_protocol_mismatch_is_explained():
    old_kernel = {**GOOD_KERNEL, "ipywidgets": "7.8.1", "widgets_base": "1.2.0"}
    (widgets, mpl) = check_widgets(old_kernel, GOOD_LAB)
    assert widgets.status == "fail" and "Error displaying widget" in widgets.summary
    assert "ipywidgets>=8" in widgets.fix and "jupyterlab_widgets" in widgets.fix
    assert mpl.status == "ok"
    old_lab = {**GOOD_LAB, "@jupyter-widgets/jupyterlab-manager": {"version": "3.1.0", "path": "x"}}
    assert statuses(check_widgets(GOOD_KERNEL, old_lab))[0] == "fail"


def test_ipympl_mismatch_and_missing_pieces_are_explained():
    (_, mpl) = check_widgets({**GOOD_KERNEL, "ipympl": "0.9.3", "ipympl_js": "^0.11"}, GOOD_LAB)
    assert mpl.status == "fail" and "not registered" in mpl.summary and "ipympl==0.9.3" in mpl.fix
    no_lab = {k: v for k, v in GOOD_LAB.items() if k != "jupyter-matplotlib"}
    assert statuses(check_widgets(GOOD_KERNEL, no_lab)) == ["ok", "fail"]
    no_manager = {k: v for k, v in GOOD_LAB.items() if k != "@jupyter-widgets/jupyterlab-manager"}
    assert statuses(check_widgets(GOOD_KERNEL, no_manager)) == ["fail", "ok"]
    no_dlcourse = {k: v for k, v in GOOD_KERNEL.items() if k != "dlcourse"}
    assert statuses(check_widgets(no_dlcourse, GOOD_LAB)) == ["ok", "ok", "fail"]
    (broken,) = check_widgets({"kernel_error": "no kernel 'python3'"}, GOOD_LAB)
    assert broken.status == "fail" and "ipykernel install" in broken.fix


def _nbgrader_state(monkeypatch, tmp_path, role_dir: str | None):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user-config"))
    if role_dir:
        monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(ROLE_CONFIG / role_dir))
    else:
        monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    return (doctor.server_extensions(), doctor.lab_plugin_switches("disabledExtensions"), GOOD_LAB, "0.9.6",
            doctor.lab_plugin_switches("lockedExtensions"))


def test_nbgrader_extensions_per_role_with_the_deploy_configuration(monkeypatch, tmp_path):
    student = _nbgrader_state(monkeypatch, tmp_path, "student")
    assert statuses(check_nbgrader("student", *student)) == ["ok"]
    assert statuses(check_nbgrader("instructor", *student)) == ["fail"]  # formgrader missing for an instructor
    instructor = _nbgrader_state(monkeypatch, tmp_path, "instructor")
    assert statuses(check_nbgrader("instructor", *instructor)) == ["ok"]
    (offered,) = check_nbgrader("student", *instructor)
    assert offered.status == "fail" and "formgrader" in offered.summary
    assert "nbgrader:create-assignment" in offered.summary
    assert "deploy/jupyter-config/student" in offered.fix
    assert statuses(check_nbgrader("local", *instructor)) == ["ok"]


def test_a_student_config_that_does_not_lock_the_plugins_is_a_warning(monkeypatch, tmp_path):
    extensions, disabled, lab, version, _ = _nbgrader_state(monkeypatch, tmp_path, "student")
    checks = check_nbgrader("student", extensions, disabled, lab, version, locked=set())
    assert statuses(checks) == ["warn", "ok"] and "Plugin Manager" in checks[0].summary


def test_nbgrader_lab_extension_must_match_the_package():
    extensions = dict.fromkeys(doctor.SERVER_EXTENSIONS, True)
    stale = {**GOOD_LAB, "@jupyter/nbgrader": {"version": "0.9.1", "path": "z"}}
    checks = check_nbgrader("instructor", extensions, set(), stale, "0.9.6")
    assert statuses(checks) == ["fail", "ok"] and "0.9.1" in checks[0].summary
    assert statuses(check_nbgrader("student", {}, set(), GOOD_LAB, None)) == ["fail"]
    assert statuses(check_nbgrader("local", {}, set(), GOOD_LAB, None)) == ["info"]


def test_bundled_data_present_and_broken(tmp_path):
    assert statuses(check_data()) == ["ok", "ok"]
    np.savez(tmp_path / "digits.npz", X_train=np.zeros((3, 2)), y_train=np.zeros(3), X_test=np.zeros((1, 2)),
             y_test=np.zeros(1))
    (tmp_path / "fashion_mnist_subset.npz").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\n")
    digits, fashion = check_data(tmp_path)
    assert digits.status == "ok" and "3 training, 1 test" in digits.summary
    assert fashion.status == "fail" and fashion.fix == "git lfs pull"
    (tmp_path / "digits.npz").unlink()
    assert statuses(check_data(tmp_path)) == ["fail", "fail"]


def test_exchange_mode_and_existence(tmp_path):
    good = tmp_path / "exchange"
    good.mkdir()
    good.chmod(0o1777)
    assert statuses(check_exchange("student", str(good))) == ["ok"]
    good.chmod(0o755)
    (bad,) = check_exchange("student", str(good))
    assert bad.status == "fail" and "755" in bad.summary and f"chmod 1777 {good}" in bad.fix
    missing = str(tmp_path / "nowhere")
    assert statuses(check_exchange("student", missing)) == ["fail"]
    assert statuses(check_exchange("local", missing)) == ["info"]


def test_exchange_location_comes_from_nbgrader_config(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user-config"))
    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.Exchange.root = '/data/exchange'\nc.CourseDirectory.course_id = 'ml101'\n")
    assert doctor.nbgrader_settings(str(tmp_path)) == {"exchange": "/data/exchange", "course_id": "ml101"}
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(ROOT / "deploy"))  # the global config of the hub
    monkeypatch.setenv("NBGRADER_EXCHANGE_ROOT", "/srv/elsewhere")
    (tmp_path / "no-course").mkdir()
    assert doctor.nbgrader_settings(str(tmp_path / "no-course"))["exchange"] == "/srv/elsewhere"


def test_identity_on_a_hub():
    import getpass

    me = getpass.getuser()
    assert check_identity("student", {}) == [] or me == "jovyan"
    assert statuses(check_identity("student", {"JUPYTERHUB_USER": me})) == ["ok"]
    if me != "jovyan":
        (wrong,) = check_identity("student", {"JUPYTERHUB_USER": me + "x"})
        assert wrong.status == "fail" and f"files submissions as {me}" in wrong.summary
        assert check_identity("instructor", {"JUPYTERHUB_USER": me + "x"})[0].status == "warn"


def _doctor(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    done = subprocess.run([sys.executable, "-m", "dlcourse.doctor", "--json", *args], capture_output=True,
                          text=True, env=env, timeout=180, cwd=ROOT)
    return done.returncode, json.loads(done.stdout)


def test_doctor_command_on_this_environment(tmp_path):
    """The real kernel, labextensions and data of the test environment agree; a student
    configuration that offers the formgrader is reported with exit status 1."""
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o1777)
    base = {"JUPYTER_CONFIG_DIR": str(tmp_path / "user-config"), "DLCOURSE_ROLE": "student"}
    code, out = _doctor("--exchange", str(exchange), "--skip", "identity",
                        env_extra={**base, "JUPYTER_CONFIG_PATH": str(ROLE_CONFIG / "student")})
    assert code == 0 and out["role"] == "student", out
    assert {c["topic"] for c in out["checks"]} == {"widgets", "nbgrader", "data", "exchange"}
    assert all(c["status"] == "ok" for c in out["checks"]), out
    code, out = _doctor("--exchange", str(exchange), "--skip", "widgets", "data", "identity",
                        env_extra={**base, "JUPYTER_CONFIG_PATH": str(ROLE_CONFIG / "instructor")})
    assert code == 1
    (failed,) = [c for c in out["checks"] if c["status"] == "fail"]
    assert failed["topic"] == "nbgrader" and "formgrader" in failed["summary"] and failed["fix"]


def test_report_is_readable():
    text = doctor.report([Check("exchange", "fail", "exchange directory /x has mode 755, not 1777", "chmod 1777 /x"),
                          Check("data", "ok", "digits.npz: 1 training, 1 test examples")], "student")
    assert text.splitlines()[0] == "dlcourse doctor (role: student)"
    assert "FAIL  exchange" in text and "fix: chmod 1777 /x" in text and text.endswith("1 problem(s) found.")
