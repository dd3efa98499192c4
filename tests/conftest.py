"""Shared test set-up.  In CI (``CI`` set) a skipped test is a failure: nothing may skip there."""
import os

import matplotlib
import pytest

try:
    # importing ipympl switches pyplot to its backend (ipympl/__init__.py), and Jupyter's extension
    # discovery (doctor, deploy tests) imports it in this process: import it first so Agg stays.
    import ipympl  # noqa: F401
except ImportError:
    pass
matplotlib.use("Agg")

# Grading runs in parallel test workers must not share sandbox users (each kills its users' leftovers).
os.environ.setdefault("DLCOURSE_SANDBOX_NAMESPACE", os.environ.get("PYTEST_XDIST_WORKER", "main"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which is not allowed: {report.longrepr}"


@pytest.fixture(autouse=True)
def _reseed():
    """Every test starts from the same global random state."""
    import dlcourse

    dlcourse.seed(1234)
    yield
