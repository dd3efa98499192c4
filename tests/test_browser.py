"""The chapter notebooks in a real browser: JupyterLab 4, Notebook 7 and Voilà driven by Chromium.

For every chapter notebook (``notebooks/[0-9][0-9]_*.ipynb``, so new chapters are picked up) the
test opens it in JupyterLab, runs all cells, waits for the kernel to be idle, and asserts what a
student would see: no error output or traceback, nothing on stderr, no "Error displaying widget",
no widget error in the status line or the browser console, every ipympl figure drawn.  Then it
moves the first slider of a widget that has a figure (arrow key on the noUiSlider handle, like a
keyboard user) and asserts that the figure's canvas shows a different picture.  A screenshot of
the page and of the moved widget go to ``test-artifacts/screenshots/``.  One notebook is also opened
the Notebook 7 way (file browser at ``/tree``, then the notebook) and one widget page is served by
Voilà; both must render a figure that responds to a slider.

Servers run on 127.0.0.1 with a random port and token, on a copy of the notebooks (JupyterLab never
writes to the repository), and are stopped by process group.  Several notebooks run at once in
tabs of one browser against one JupyterLab server (``DLCOURSE_BROWSER_JOBS``, default 3; 1 per
worker under pytest-xdist, where the workers already run in parallel).  Every wait is bounded, and
the whole module is bounded by ``DLCOURSE_BROWSER_BUDGET_S`` (default 900 s).  Measured: 9 notebooks +
Notebook 7 + Voilà in 5 min on a 2-core machine with load average 3-6.

Needs Chromium (``apt-get install chromium``; ``DLCOURSE_CHROMIUM`` overrides the path) and the
python packages playwright, jupyterlab, notebook and voila.  Run:
``pytest -m browser tests/test_browser.py``.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import browser_support as bs

pytestmark = pytest.mark.browser

NOTEBOOKS = bs.chapter_notebooks()
BUDGET_S = float(os.environ.get("DLCOURSE_BROWSER_BUDGET_S", "900"))
UNDER_XDIST = bool(os.environ.get("PYTEST_XDIST_WORKER"))
JOBS = int(os.environ.get("DLCOURSE_BROWSER_JOBS", "1" if UNDER_XDIST else "3"))
#: the notebook opened in Notebook 7 (a light one), and the chapter whose first widget Voilà serves
NOTEBOOK7_CHAPTER = "02_linear_models.ipynb"
VOILA_CHAPTER = "04_neural_networks.ipynb"

# per-step bounds: generous, the machine may be busy; the module-wide budget bounds the sum
LOAD_S, RUN_S, MOVE_S = 240.0, 420.0, 120.0


def _id(path: Path) -> str:
    return path.stem


def _pick(name: str) -> Path:
    by_name = {p.name: p for p in NOTEBOOKS}
    return by_name.get(name, NOTEBOOKS[0])


@dataclass
class NotebookResult:
    """What one notebook run in the browser showed."""

    name: str
    problems: list[str] = field(default_factory=list)
    move: dict[str, Any] | None = None
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    screenshots: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"{self.name}: {msg}" for msg in ([self.error] if self.error else []) + self.problems]
        if self.screenshots:
            lines.append(f"screenshots: {', '.join(self.screenshots)}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# One event loop thread runs Playwright (async API); tests wait for their notebook's future.
# ------------------------------------------------------------------------------------------------
class BrowserRunner:
    def __init__(self, tmp: Path, deadline: bs.Deadline) -> None:
        self.tmp, self.deadline = tmp, deadline
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="playwright", daemon=True)
        self.thread.start()
        self.futures: dict[str, Any] = {}
        self.playwright = self.context = self.slots = None
        self.call(self._start(), timeout=120)

    def call(self, coro, timeout: float | None = None):
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=timeout if timeout is not None else max(1.0, self.deadline.left() + 30))

    async def _start(self) -> None:
        from playwright.async_api import async_playwright

        self.playwright = await async_playwright().start()
        self.context = await bs.launch_browser(self.playwright, self.tmp / "chromium-profile")
        self.slots = asyncio.Semaphore(JOBS)

    def submit(self, key: str, coro_fn) -> None:
        if key not in self.futures:
            self.futures[key] = asyncio.run_coroutine_threadsafe(self._limited(coro_fn), self.loop)

    async def _limited(self, coro_fn):
        async with self.slots:
            return await coro_fn()

    def result(self, key: str):
        return self.futures[key].result(timeout=max(1.0, self.deadline.left() + 30))

    def close(self) -> None:
        for future in self.futures.values():
            future.cancel()
        try:
            self.call(self._stop(), timeout=60)
        except Exception:  # noqa: BLE001 — the servers are stopped by process group anyway
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)

    async def _stop(self) -> None:
        if self.context is not None:
            await self.context.close()
        if self.playwright is not None:
            await self.playwright.stop()


@pytest.fixture(scope="module")
def workdir():
    reason = bs.missing_requirements()
    if reason:
        pytest.skip(reason)
    tmp = Path(tempfile.mkdtemp(prefix="dlcourse-browser-"))
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def deadline(workdir):
    return bs.Deadline(BUDGET_S)


@pytest.fixture(scope="module")
def runner(workdir, deadline):
    runner = BrowserRunner(workdir, deadline)
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def lab(workdir):
    bs.prepare_root(workdir / "lab-root")
    server = bs.start_server("lab", workdir / "lab-root", workdir / "lab-home", timeout=LOAD_S)
    yield server
    server.stop()


# ------------------------------------------------------------------------------------------------
# The checks
# ------------------------------------------------------------------------------------------------
async def check_notebook_page(page, log, result: NotebookResult, deadline: bs.Deadline, shot: str,
                              method: str = "key") -> None:
    """Run all cells of the notebook open in ``page``, collect problems, move one figure slider."""
    t0 = time.perf_counter()
    state = await bs.run_all_cells(page, deadline, run_s=RUN_S)
    result.seconds["run_all"] = time.perf_counter() - t0
    await bs.wait_widgets_rendered(page, deadline)
    result.problems += await bs.output_problems(page, state, log)
    found = await bs.figure_slider(page)
    if found is not None:
        handles, canvas, container = found
        result.move = await bs.move_first_effective_slider(page, handles, canvas, deadline, wait_s=MOVE_S,
                                                           method=method)
        await asyncio.sleep(0.5)  # let the status line catch up before looking for errors again
        later = await bs.output_problems(page, None, log)
        result.problems += [p for p in later if p not in result.problems]
        await container.scroll_into_view_if_needed(timeout=deadline.ms(30))
        for path in (await bs.screenshot(page, shot), await bs.screenshot(page, f"{shot}-widget", container)):
            if path:
                result.screenshots.append(str(path.relative_to(bs.ROOT)))
    else:
        path = await bs.screenshot(page, shot)
        if path:
            result.screenshots.append(str(path.relative_to(bs.ROOT)))


async def _lab_notebook(runner: BrowserRunner, lab: bs.Server, path: Path) -> NotebookResult:
    result = NotebookResult(path.name)
    deadline, page = runner.deadline, None
    t0 = time.perf_counter()
    try:
        page, log = await bs.open_lab_notebook(runner.context, lab, f"notebooks/{path.name}",
                                               f"test-{path.stem}", deadline, load_s=LOAD_S)
        result.seconds["open"] = time.perf_counter() - t0
        await check_notebook_page(page, log, result, deadline, f"lab-{path.stem}")
    except Exception as exc:  # noqa: BLE001 — reported by the notebook's test, with a screenshot
        result.error = f"{type(exc).__name__}: {str(exc)[:1500]}"
        if page is not None:
            shot = await bs.screenshot(page, f"lab-{path.stem}-failure")
            if shot:
                result.screenshots.append(str(shot.relative_to(bs.ROOT)))
    finally:
        if page is not None:
            await bs.shutdown_kernel(page)
            await page.close()
    result.seconds["total"] = time.perf_counter() - t0
    return result


def _assert_ok(result: NotebookResult, where: str) -> None:
    if result.error is not None:
        pytest.fail(f"{where}:\n{result.report()}", pytrace=False)
    if result.problems:
        pytest.fail(f"{where} shows problems:\n{result.report()}", pytrace=False)
    if result.move is None:
        pytest.fail(f"{where}: no enabled slider in a widget with a figure "
                    f"(.widget-hslider next to a .jupyter-matplotlib canvas)\n{result.report()}", pytrace=False)
    tried = "\n".join(result.move["tried"])
    if result.move["value_after"] == result.move["value_before"]:
        pytest.fail(f"{where}: {result.move['action']} did not move the slider:\n{tried}\n{result.report()}",
                    pytrace=False)
    if not result.move["changed"]:
        pytest.fail(f"{where}: moving sliders did not change the figure:\n{tried}\n{result.report()}", pytrace=False)


def test_there_are_chapter_notebooks():
    assert NOTEBOOKS, f"no chapter notebooks in {bs.NOTEBOOKS_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_chapter_notebook_in_jupyterlab(path, runner, lab, request):
    if not UNDER_XDIST:  # queue every selected notebook now: they run JOBS at a time while we wait
        for item in request.session.items:
            spec = getattr(item, "callspec", None)
            if item.originalname == "test_chapter_notebook_in_jupyterlab" and spec is not None:
                other = spec.params["path"]
                runner.submit(other.name, lambda other=other: _lab_notebook(runner, lab, other))
    runner.submit(path.name, lambda: _lab_notebook(runner, lab, path))
    result = runner.result(path.name)
    print(f"{path.name}: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()))
    _assert_ok(result, f"{path.name} in JupyterLab")


def test_notebook7_runs_a_chapter(runner, workdir, deadline):
    """The Notebook 7 interface: /tree, into notebooks/, open the chapter, run all, move a slider."""
    path = _pick(NOTEBOOK7_CHAPTER)
    bs.prepare_root(workdir / "nb7-root", [path])
    server = bs.start_server("notebook", workdir / "nb7-root", workdir / "nb7-home", timeout=LOAD_S)

    async def check() -> NotebookResult:
        result, pages = NotebookResult(path.name), []
        try:
            tree, page, log = await bs.open_notebook7(runner.context, server, f"notebooks/{path.name}", deadline,
                                                      load_s=LOAD_S)
            pages = [page, tree]
            assert "/notebooks/notebooks/" in page.url, f"the notebook opened at {page.url}"
            # with the mouse: Notebook 7 takes arrow keys in command mode (see bs.move_and_wait)
            await check_notebook_page(page, log, result, deadline, f"notebook7-{path.stem}", method="drag")
        except Exception as exc:  # noqa: BLE001
            result.error = f"{type(exc).__name__}: {str(exc)[:1500]}"
            for i, p in enumerate(pages):
                await bs.screenshot(p, f"notebook7-{path.stem}-failure{i}")
        finally:
            if pages:
                await bs.shutdown_kernel(pages[0])
            for p in pages:
                await p.close()
        return result

    try:
        result = runner.call(check())
    finally:
        server.stop()
    _assert_ok(result, f"{path.name} in Notebook 7")


def test_voila_serves_a_widget_page(runner, workdir, deadline):
    """Voilà renders a chapter's first widget as a page (no code, no errors) and it responds."""
    root = workdir / "voila-root"
    root.mkdir()
    widget = bs.widget_page(_pick(VOILA_CHAPTER), root / "widget.ipynb")
    server = bs.start_server("voila", root, workdir / "voila-home", notebook="widget.ipynb", timeout=LOAD_S)

    async def check() -> NotebookResult:
        result, page = NotebookResult(f"Voilà page of widgets.{widget}()"), None
        try:
            page = await runner.context.new_page()
            log = bs.PageLog(page)
            await page.goto(server.url("/"), timeout=deadline.ms(LOAD_S), wait_until="domcontentloaded")
            # Voilà runs the notebook before it sends the page; a broken figure stays a 0x0 canvas
            await page.locator(bs.CANVAS).first.wait_for(state="attached", timeout=deadline.ms(LOAD_S))
            await bs.wait_widgets_rendered(page, deadline)
            result.problems += await bs.output_problems(page, None, log)
            code = await page.locator(".jp-InputArea, .jp-CodeMirrorEditor, .cm-editor").count()
            if code:
                result.problems.append(f"Voilà shows {code} code input(s)")
            found = await bs.figure_slider(page)
            if found is not None:
                handles, canvas, container = found
                result.move = await bs.move_first_effective_slider(page, handles, canvas, deadline, wait_s=MOVE_S)
                await asyncio.sleep(0.5)
                later = await bs.output_problems(page, None, log)
                result.problems += [p for p in later if p not in result.problems]
            shot = await bs.screenshot(page, "voila-widget-page")
            if shot:
                result.screenshots.append(str(shot.relative_to(bs.ROOT)))
        except Exception as exc:  # noqa: BLE001
            result.error = f"{type(exc).__name__}: {str(exc)[:1500]}"
            if page is not None:
                await bs.screenshot(page, "voila-widget-page-failure")
        finally:
            if page is not None:
                await page.close()
        return result

    try:
        result = runner.call(check())
    finally:
        server.stop()
    _assert_ok(result, result.name)
