"""Drive the course in a real browser: Jupyter/Voilà servers on loopback and Chromium via Playwright.

Used by ``tests/test_browser.py`` and ``benchmarks/bench_browser_latency.py``.

* **Servers** (:func:`start_server`): ``jupyter lab``, ``jupyter notebook`` (Notebook 7) or ``voila``
  on 127.0.0.1, a free port and a random token, in their own process group with isolated Jupyter
  config/data/runtime/settings/workspace folders (nothing of the user's setup leaks in, nothing is
  written back).  JupyterLab gets settings that suit a test: every cell stays in the DOM
  (``windowingMode: none``), no autosave, no news.  Kernels run single-threaded BLAS (the
  notebooks' matrices are tiny; extra threads only contend on 2 cores).  :meth:`Server.stop` ends
  the whole process group (SIGTERM, then SIGKILL), so kernels go too.
* **Browser** (:func:`launch_browser`): Debian's Chromium (``playwright install`` cannot download
  browsers here) through the async Playwright API, headless, persistent profile in a temp folder.
* **Pages**: open a notebook in JupyterLab (:func:`open_lab_notebook`) or Notebook 7
  (:func:`open_notebook7`), run all cells and wait for the kernel (:func:`run_all_cells`), list
  what went wrong (:func:`output_problems`), find the first slider of a widget that has a figure
  (:func:`figure_slider`), move it and wait for the canvas to change (:func:`move_and_wait`).

Every wait is bounded.  The DOM facts used (FIELD_NOTES "Widgets and browsers"): ipywidgets
sliders are ``.widget-hslider`` with a noUiSlider ``.noUi-handle`` (arrow keys move it one step and
fire ``change``); an ipympl figure is ``.jupyter-matplotlib`` whose view canvas is the first
``canvas`` in ``.jupyter-matplotlib-canvas-div`` (the second is the rubber-band overlay); a
``%matplotlib inline`` figure is an ``<img>`` that is replaced on every update, so signatures are
taken through locators, never kept element handles.
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    # several notebooks run in tabs at once: keep background tabs at full speed
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
VIEWPORT = {"width": 1280, "height": 1400}

STDERR_MIME = "application/vnd.jupyter.stderr"
FIGURE = ".jupyter-matplotlib"
CANVAS = ".jupyter-matplotlib-canvas-div > canvas:first-child"
SLIDER_HANDLE = ".widget-hslider .noUi-handle"

# JupyterLab user settings for a test run (plugin id -> settings)
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


# ------------------------------------------------------------------------------------------------
# What the machine needs
# ------------------------------------------------------------------------------------------------
def find_chromium() -> str | None:
    """``$DLCOURSE_CHROMIUM`` or the first Chromium/Chrome found, else None."""
    env = os.environ.get("DLCOURSE_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for path in CHROMIUM_CANDIDATES:
        if Path(path).exists():
            return path
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing_requirements() -> str | None:
    """Why the browser tests cannot run here (a message naming the fix), or None."""
    missing = []
    for module in ("playwright", "jupyterlab", "notebook", "voila", "ipympl"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        return f"python packages missing: {', '.join(missing)} (pip install the 'test' extra)"
    if find_chromium() is None:
        return "no Chromium found: apt-get install chromium (or set DLCOURSE_CHROMIUM)"
    return None


def chapter_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


class Deadline:
    """A global time bound: every wait takes ``min(step timeout, what is left)``."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def ms(self, step_s: float) -> float:
        """Playwright timeout (ms) for a step of at most ``step_s`` seconds; raises when time is up."""
        left = self.left()
        if left <= 0:
            raise TimeoutError(f"global time bound of {self.seconds:.0f} s exceeded")
        return max(1.0, min(step_s, left)) * 1000


# ------------------------------------------------------------------------------------------------
# Servers
# ------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    kind: str
    proc: subprocess.Popen
    port: int
    token: str
    log_path: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/", **query: str) -> str:
        query = {**query, "token": self.token}
        return self.base + path + "?" + "&".join(f"{k}={v}" if v != "" else k for k, v in query.items())

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the server's process group (server and kernels), SIGKILL whatever is left."""
        stop_process_group(self.proc, grace)


def stop_process_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is not None:
        _kill_group(proc.pid, signal.SIGKILL)  # the leader is gone; its kernels may not be
        return
    _kill_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    _kill_group(proc.pid, signal.SIGKILL)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def isolated_env(home: Path) -> dict[str, str]:
    """Environment for a server: private Jupyter folders under ``home``, single-threaded BLAS."""
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"), ("IPYTHONDIR", "ipython")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    env.pop("MPLBACKEND", None)  # the notebooks choose their backend (%matplotlib widget)
    env["PYTHONUNBUFFERED"] = "1"
    for plugin, values in LAB_SETTINGS.items():
        package, name = plugin.rsplit("/", 1)
        path = home / "lab-settings" / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return env


def server_command(kind: str, root_dir: Path, port: int, token: str, notebook: str | None) -> list[str]:
    common = [f"--port={port}", "--ip=127.0.0.1", "--no-browser"]
    if kind in ("lab", "notebook"):
        app = "jupyterlab" if kind == "lab" else "notebook"
        flag = "LabApp" if kind == "lab" else "JupyterNotebookApp"
        return [sys.executable, "-m", app, *common, f"--ServerApp.root_dir={root_dir}",
                f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0", "--allow-root",
                f"--{flag}.expose_app_in_browser=True", "--ServerApp.terminals_enabled=False"]
    if kind == "voila":
        return [sys.executable, "-m", "voila", *common, f"--Voila.token={token}", "--Voila.port_retries=0",
                "--show_tracebacks=True", *([notebook] if notebook else [f"--Voila.root_dir={root_dir}"])]
    raise ValueError(f"unknown server kind {kind!r}")


def start_server(kind: str, root_dir: Path, home: Path, *, notebook: str | None = None,
                 timeout: float = 120.0, attempts: int = 3) -> Server:
    """Start ``kind`` ("lab", "notebook", "voila") serving ``root_dir``; return once it answers HTTP.

    ``home`` is a private folder for the server's Jupyter config and its log.  Voilà serves
    ``notebook`` (a path relative to ``root_dir``) when given, else the folder.
    """
    env = isolated_env(home)
    last_error = ""
    for _ in range(attempts):  # a free port can be taken between the probe and the bind
        port, token = free_port(), secrets.token_hex(16)
        log_path = home / f"{kind}-{port}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(server_command(kind, root_dir, port, token, notebook), cwd=root_dir, env=env,
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        server = Server(kind, proc, port, token, log_path, env)
        probe = server.url("/api/status") if kind != "voila" else None
        end = time.monotonic() + timeout
        while time.monotonic() < end and proc.poll() is None:
            if _answers(server, probe):
                return server
            time.sleep(0.25)
        exited = proc.poll() is not None
        last_error = (f"{kind} server {'exited with code ' + str(proc.returncode) if exited else 'did not answer'}"
                      f" within {timeout:.0f} s; log:\n{server.log_tail()}")
        server.stop()
        if not exited:  # still starting: another port would not make it faster
            break
    raise RuntimeError(last_error)


def _answers(server: Server, url: str | None) -> bool:
    if url is None:  # Voilà executes the notebook on GET /: only check that it listens
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return True
        except OSError:
            return False
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def prepare_root(root: Path, notebooks: list[Path] | None = None) -> Path:
    """Copy the chapter notebooks into ``root/notebooks`` so the servers never write to the repo."""
    target = root / "notebooks"
    target.mkdir(parents=True, exist_ok=True)
    for path in notebooks if notebooks is not None else chapter_notebooks():
        shutil.copy2(path, target / path.name)
    return target


def widget_page(source: Path, target: Path) -> str:
    """Write a notebook of ``source``'s setup cell and its first argument-free widget; return its class.

    This is the "widget page" served by Voilà and timed by the latency benchmark.
    """
    import nbformat

    nb = nbformat.read(source, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    widget_cell = next(c for c in code if _widget_call(c.source))
    page = nbformat.v4.new_notebook(metadata=nb.metadata)
    page.cells = [nbformat.v4.new_code_cell(code[0].source), nbformat.v4.new_code_cell(widget_cell.source)]
    nbformat.write(page, target)
    return _widget_call(widget_cell.source)


def single_widget_page(widget: str, target: Path) -> None:
    """A notebook that shows ``widgets.<widget>()`` (as ``w``, for the kernel to inspect) and nothing else."""
    import nbformat

    page = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                             "language": "python"}})
    page.cells = [nbformat.v4.new_code_cell("%matplotlib widget\nimport dlcourse\nfrom dlcourse import widgets\n"
                                            "dlcourse.seed(0)"),
                  nbformat.v4.new_code_cell(f"w = widgets.{widget}()\nw")]
    nbformat.write(page, target)


def _widget_call(source: str) -> str | None:
    import re

    lines = source.strip().splitlines()
    match = re.fullmatch(r"widgets\.(\w+)\(\)", lines[-1].strip()) if lines else None
    return match.group(1) if match else None


# ------------------------------------------------------------------------------------------------
# Browser
# ------------------------------------------------------------------------------------------------
async def launch_browser(playwright, profile_dir: Path):
    """A headless Chromium context (persistent profile in ``profile_dir``)."""
    return await playwright.chromium.launch_persistent_context(
        str(profile_dir), executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS,
        viewport=VIEWPORT, ignore_https_errors=False)


class PageLog:
    """Uncaught page errors and console errors of one page (shown when a check fails)."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.console: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)[:500]))
        page.on("console", lambda msg: self.console.append(msg.text[:300]) if msg.type == "error" else None)

    def widget_errors(self) -> list[str]:
        """Console/page errors from the widget machinery (ipywidgets, ipympl)."""
        words = ("widget", "matplotlib", "ipympl", "comm", "error setting state", "drawimage", "canvas")
        return [e for e in self.errors + self.console if any(w in e.lower() for w in words)]


# JavaScript run in a JupyterLab / Notebook 7 page (window.jupyterapp, current notebook panel)
_JS_CURRENT_PANEL = """
() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  return !!(w && w.sessionContext && w.content && w.context && w.context.isReady
            && w.sessionContext.session && w.sessionContext.session.kernel
            && w.sessionContext.session.kernel.status === 'idle');
}
"""

_JS_RUN_ALL = """
() => {
  window.__dlcourse_run = {done: false, ok: null};
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
      ok => { window.__dlcourse_run = {done: true, ok: ok}; },
      err => { window.__dlcourse_run = {done: true, ok: false, error: String(err)}; });
  return true;
}
"""

_JS_PROGRESS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const prompts = [...panel.node.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
  return {done: window.__dlcourse_run.done, status: kernel ? kernel.status : 'none',
          queued: prompts.filter(e => e.textContent.includes('*')).length};
}
"""

_JS_STATE = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.map((c, i) => ({i, type: c.model.type,
      count: c.model.type === 'code' ? c.model.executionCount : null,
      outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : []}));
  return {status: kernel ? kernel.status : 'none', cells};
}
"""


async def open_lab_notebook(context, server: Server, relpath: str, workspace: str, deadline: Deadline,
                            load_s: float = 180.0):
    """Open ``relpath`` in JupyterLab (its own workspace) and wait until its kernel is idle."""
    page = await context.new_page()
    log = PageLog(page)
    await page.goto(server.url(f"/lab/workspaces/{workspace}/tree/{relpath}", reset=""),
                    timeout=deadline.ms(load_s), wait_until="domcontentloaded")
    await page.wait_for_function(_JS_CURRENT_PANEL, timeout=deadline.ms(load_s), polling=250)
    return page, log


async def open_notebook7(context, server: Server, relpath: str, deadline: Deadline, load_s: float = 180.0):
    """Notebook 7 the way a student does it: the file browser at /tree, click into the folder, open
    the notebook (it opens in a new tab); wait until its kernel is idle."""
    page = await context.new_page()
    await page.goto(server.url("/tree"), timeout=deadline.ms(load_s), wait_until="domcontentloaded")
    folder, name = relpath.rsplit("/", 1) if "/" in relpath else ("", relpath)
    listing = page.locator(".jp-DirListing-content")
    if folder:
        await listing.get_by_text(folder, exact=True).dblclick(timeout=deadline.ms(load_s))
    async with context.expect_page(timeout=deadline.ms(load_s)) as new_page:
        await listing.get_by_text(name, exact=True).dblclick(timeout=deadline.ms(load_s))
    notebook_page = await new_page.value
    log = PageLog(notebook_page)
    await notebook_page.wait_for_function(_JS_CURRENT_PANEL, timeout=deadline.ms(load_s), polling=250)
    return page, notebook_page, log


async def run_all_cells(page, deadline: Deadline, run_s: float = 300.0, settle_s: float = 1.5) -> dict[str, Any]:
    """Run all cells and wait (bounded) until the run finished and the kernel stayed idle ``settle_s``.

    Returns the notebook state (kernel status; per cell its execution count and outputs).  A cell
    that fails stops the run: later cells stay unexecuted and :func:`output_problems` says so.
    Idle must last a moment because rendering a widget sends comm messages that make the kernel
    busy again (an ipympl canvas asks for its first frame).
    """
    await page.evaluate(_JS_RUN_ALL)
    end = time.monotonic() + deadline.ms(run_s) / 1000
    idle_since = None
    while True:
        progress = await page.evaluate(_JS_PROGRESS)
        if progress["done"] and progress["status"] == "idle" and not progress["queued"]:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= settle_s:
                return await page.evaluate(_JS_STATE)
        else:
            idle_since = None
        if time.monotonic() > end:
            raise TimeoutError(f"run-all did not finish within {run_s:.0f} s (or the global bound): {progress}")
        await asyncio.sleep(0.25)


async def wait_widgets_rendered(page, deadline: Deadline, wait_s: float = 30.0) -> None:
    """Wait until no widget view still says "Loading widget..." and every ipympl canvas has a size."""
    try:
        await page.wait_for_function(
            f"""() => {{
              const outs = [...document.querySelectorAll('.jp-OutputArea-output')];
              if (outs.some(o => o.textContent.includes('Loading widget'))) return false;
              const canvases = [...document.querySelectorAll('{FIGURE} canvas')];
              return canvases.every(c => c.width > 0 && c.height > 0);
            }}""", timeout=deadline.ms(wait_s), polling=250)
    except Exception:  # noqa: BLE001 — output_problems reports what is still loading
        pass


async def output_problems(page, state: dict[str, Any] | None = None, log: PageLog | None = None) -> list[str]:
    """Everything the student would see as broken: error outputs, stderr, widgets that failed to
    render, figures that were never drawn, and widget errors in the browser console."""
    problems = [f"browser console: {e}" for e in (log.widget_errors() if log else [])]
    if state is not None:
        for cell in state["cells"]:
            if cell["type"] != "code":
                continue
            if cell["count"] is None:
                problems.append(f"cell {cell['i']} did not run")
            for out in cell["outputs"]:
                if out.get("output_type") == "error":
                    problems.append(f"cell {cell['i']}: {out.get('ename')}: {str(out.get('evalue'))[:300]}")
                elif out.get("output_type") == "stream" and out.get("name") == "stderr" and \
                        "".join(out.get("text", "")).strip():
                    problems.append(f"cell {cell['i']} wrote to stderr: {''.join(out['text']).strip()[:300]}")
    dom = await page.evaluate(
        f"""() => {{
          const outs = [...document.querySelectorAll('.jp-OutputArea-output')];
          const text = e => (e.innerText || e.textContent || '').trim().slice(0, 400);
          return {{
            stderr: [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="{STDERR_MIME}"]')].map(text),
            widget_errors: outs.filter(o => /Error displaying widget|Error rendering|Loading widget/.test(o.textContent))
                               .map(text),
            status_errors: [...document.querySelectorAll('.widget-htmlmath span, .widget-html span')]
                               .filter(s => (s.getAttribute('style') || '').replace(/\\s/g, '').includes('color:#c00'))
                               .map(text),
            blank_figures: [...document.querySelectorAll('{FIGURE}')]
                               .filter(f => {{ const c = f.querySelector('{CANVAS}');
                                              return !c || c.width === 0 || c.height === 0; }}).length,
          }};
        }}""")
    problems += [f"stderr/traceback shown: {t}" for t in dom["stderr"]]
    problems += [f"widget not displayed: {t}" for t in dom["widget_errors"]]
    problems += [f"widget reports an error: {t}" for t in dom["status_errors"]]
    if dom["blank_figures"]:
        problems.append(f"{dom['blank_figures']} ipympl figure(s) never drawn (no canvas or a 0x0 canvas)")
    return problems


async def figure_slider(page):
    """``(handles, canvas, container)`` for the first widget that has a figure and an enabled slider,
    or None: the locators of its enabled slider handles (in order), of its figure's canvas, and of
    the widget's output (one ``.jp-OutputArea-output``)."""
    found = await page.evaluate(
        f"""() => {{
          const outs = [...document.querySelectorAll('.jp-OutputArea-output')];
          for (let i = 0; i < outs.length; i++) {{
            if (!outs[i].querySelector('{CANVAS}')) continue;
            const handles = [...outs[i].querySelectorAll('{SLIDER_HANDLE}')];
            const enabled = handles.map((h, k) => h.closest('[disabled]') ? -1 : k).filter(k => k >= 0);
            if (enabled.length) return [i, enabled];
          }}
          return null;
        }}""")
    if found is None:
        return None
    container = page.locator(".jp-OutputArea-output").nth(found[0])
    handles = [container.locator(SLIDER_HANDLE).nth(k) for k in found[1]]
    return handles, container.locator(CANVAS).first, container


async def canvas_signature(canvas, timeout_ms: float = 10_000) -> str:
    return await canvas.evaluate("c => c.toDataURL()", timeout=timeout_ms)


async def slider_readout(handle) -> str | None:
    """The value the slider shows (its readout; ``aria-valuenow`` lags behind on some sliders)."""
    return await handle.evaluate(
        "h => { const s = h.closest('.widget-hslider'); const r = s && s.querySelector('.widget-readout');"
        " return r ? r.textContent.trim() : h.getAttribute('aria-valuenow'); }", timeout=10_000)


_JS_KERNEL_IDLE = """() => { const app = window.jupyterapp; const w = app && app.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status === 'idle' : null; }"""


async def move_and_wait(page, handle, canvas, deadline: Deadline, wait_s: float = 90.0,
                        method: str = "key", unchanged_after_idle_s: float = 5.0) -> dict[str, Any]:
    """Move the slider ``handle`` one step and wait, bounded, until the figure's canvas shows a
    different picture.  Returns the values before/after, whether the picture changed and the time.

    ``method="key"`` presses ArrowRight on the focused handle (ArrowLeft at the maximum), as a
    keyboard user does; ``"drag"`` drags the handle 15 px with the mouse (Notebook 7 consumes arrow
    keys in command mode for its heading navigation, so a keyboard user cannot move a slider there).
    Gives up early when the slider did not move, or (JupyterLab/Notebook 7) when the kernel has been
    idle for ``unchanged_after_idle_s`` after the move and the picture is the same: that slider does
    not change this view.
    """
    await handle.scroll_into_view_if_needed(timeout=deadline.ms(30))
    before = await canvas_signature(canvas)
    value = await slider_readout(handle)
    at_max = await handle.get_attribute("aria-valuenow") == await handle.get_attribute("aria-valuemax")
    t0 = time.perf_counter()
    if method == "key":
        action = "ArrowLeft" if at_max else "ArrowRight"
        await handle.press(action, timeout=deadline.ms(30))
    elif method == "drag":
        box = await handle.bounding_box(timeout=deadline.ms(30))
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        dx = -15 if at_max else 15
        action = f"drag {dx:+d} px"
        await page.mouse.move(x, y)
        await page.mouse.down()
        await page.mouse.move(x + dx / 2, y, steps=3)
        await page.mouse.move(x + dx, y, steps=3)
        await page.mouse.up()
    else:
        raise ValueError(f"unknown method {method!r}")
    changed, start, idle_since = False, time.monotonic(), None
    end = start + deadline.ms(wait_s) / 1000
    while not changed and time.monotonic() < end:  # through the locator: the element may be replaced
        await asyncio.sleep(0.1)
        try:
            changed = await canvas_signature(canvas) != before
        except Exception:  # noqa: BLE001 — between a removal and its replacement
            continue
        elapsed = time.monotonic() - start
        if changed or elapsed < 2.0:
            continue
        if elapsed > 10 and await slider_readout(handle) == value:
            break  # the slider itself did not move: waiting longer cannot help
        idle = await page.evaluate(_JS_KERNEL_IDLE)
        idle_since = (idle_since or time.monotonic()) if idle else None
        if idle_since and time.monotonic() - idle_since > unchanged_after_idle_s:
            break  # the update ran and the picture stayed the same
    return {"action": action, "value_before": value, "value_after": await slider_readout(handle),
            "changed": changed, "seconds": round(time.perf_counter() - t0, 3)}


async def move_first_effective_slider(page, handles, canvas, deadline: Deadline, wait_s: float = 90.0,
                                      method: str = "key", tries: int = 4,
                                      no_kernel_wait_s: float = 20.0) -> dict[str, Any]:
    """Move the widget's sliders in order until one changes the figure (a slider may not affect the
    default view, e.g. the α of Leaky ReLU while the activation is the sigmoid).  Returns the move
    that changed the picture (with ``slider`` = its position and ``tried``), else the last one."""
    has_kernel = await page.evaluate(_JS_KERNEL_IDLE) is not None
    move: dict[str, Any] = {}
    tried = []
    for k, handle in enumerate(handles[:tries]):
        last = k == min(tries, len(handles)) - 1
        budget = wait_s if last or has_kernel else min(wait_s, no_kernel_wait_s)
        move = await move_and_wait(page, handle, canvas, deadline, wait_s=budget, method=method)
        tried.append(f"slider {k}: {move['value_before']} -> {move['value_after']}, "
                     f"{'changed' if move['changed'] else 'same picture'} after {move['seconds']:.1f} s")
        if move["changed"]:
            break
    return {**move, "slider": k, "tried": tried}


async def shutdown_kernel(page) -> None:
    """Shut the page's kernel down (frees memory while other notebooks still run); best effort."""
    try:
        await page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    except Exception:  # noqa: BLE001
        pass


async def screenshot(page, name: str, element=None) -> Path | None:
    """Save ``test-artifacts/screenshots/<name>.png`` (the element if given, else the viewport)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    try:
        if element is not None:
            await element.screenshot(path=str(path), timeout=30_000)
        else:
            await page.screenshot(path=str(path), timeout=30_000)
    except Exception:  # noqa: BLE001 — a missing screenshot must not hide the real failure
        return None
    return path
