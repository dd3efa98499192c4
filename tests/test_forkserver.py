"""Grading kernels forked from a pre-imported server (``dlcourse.grading.forkserver``).

A forked kernel must be indistinguishable, for grading, from one the launcher starts: a fresh
namespace, the sandbox's limits, user and directory, interrupts that arrive, and no process left
behind when the kernel manager kills it or the grading worker goes away.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlcourse.grading import forkserver
from dlcourse.grading.sandbox import SandboxKernelManager

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("forkserver")]

SETUP = ["--IPKernelApp.exec_lines=['__import__(\"dlcourse.grading.kernel_setup\")']"]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _wait_gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


class Kernel:
    """A sandboxed kernel started like the grader starts it, in ``cwd``."""

    def __init__(self, cwd: Path, **traits) -> None:
        self.cwd, self.traits = cwd, {"fork_server": True, "memory_mb": 1536, **traits}

    async def __aenter__(self):
        self.km = SandboxKernelManager(kernel_name="python3", **self.traits)
        await self.km.start_kernel(extra_arguments=SETUP, cwd=str(self.cwd))
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=60)
        return self

    async def run(self, code: str, timeout: float = 60) -> tuple[dict, str]:
        out: list[str] = []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])

        reply = await self.kc.execute_interactive(code, timeout=timeout, output_hook=hook)
        return reply["content"], "".join(out)

    async def facts(self) -> dict:
        _, text = await self.run("import json, os, resource, sys\n"
                                 "print(json.dumps({'pid': os.getpid(), 'ppid': os.getppid(), 'uid': os.getuid(),"
                                 " 'cwd': os.getcwd(), 'files': sorted(f for f in os.listdir('.') if f[0] != '.'),"
                                 " 'as': resource.getrlimit(resource.RLIMIT_AS)[0], 'path0': sys.path[0],"
                                 " 'home': os.environ['HOME'], 'leftover': 'marker' in globals()}))")
        return json.loads(text.strip().splitlines()[-1])

    async def __aexit__(self, *exc):
        self.kc.stop_channels()
        await self.km.shutdown_kernel(now=True)


def test_each_forked_kernel_is_fresh_and_sandboxed(tmp_path):
    (tmp_path / "data.csv").write_text("1,2\n")

    async def scenario():
        async with Kernel(tmp_path) as k1:
            first = await k1.facts()
            await k1.run("marker = 1")
        async with Kernel(tmp_path) as k2:
            second = await k2.facts()
        return first, second

    first, second = asyncio.run(scenario())
    server = forkserver._server
    assert server is not None and server.poll() is None, "the fork server is not running"
    for facts in (first, second):
        assert facts["ppid"] == server.pid, "the kernel was not forked from the server"
        assert facts["as"] == 1536 * 2**20, "the address-space limit was not applied"
        assert facts["cwd"] != str(tmp_path) and facts["files"] == ["data.csv"]  # a private copy of the inputs
        assert facts["path0"] == facts["cwd"] and facts["home"] == facts["cwd"]
        if os.geteuid() == 0:
            assert facts["uid"] != 0, "the forked kernel kept root"
    assert first["pid"] != second["pid"] and not second["leftover"], "state leaked from one kernel to the next"
    assert _wait_gone(first["pid"]) and _wait_gone(second["pid"]), "a kernel outlived its shutdown"


def test_an_interrupt_reaches_the_forked_kernel(tmp_path):
    async def scenario():
        async with Kernel(tmp_path) as k:
            pending = asyncio.ensure_future(k.run("import time\ntime.sleep(60)"))
            await asyncio.sleep(1.0)
            start = time.monotonic()
            await k.km.interrupt_kernel()
            reply, _ = await asyncio.wait_for(pending, 20)
            after, _ = await k.run("print('still alive')")
            return reply, time.monotonic() - start, after

    reply, seconds, after = asyncio.run(scenario())
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    assert seconds < 10 and after["status"] == "ok"


def test_killing_the_launcher_kills_the_forked_kernel(tmp_path):
    async def scenario():
        k = Kernel(tmp_path)
        await k.__aenter__()
        pid = (await k.facts())["pid"]
        launcher = k.km.provisioner.process.pid
        k.kc.stop_channels()
        os.killpg(launcher, signal.SIGKILL)  # what a hung kernel gets
        gone = _wait_gone(pid)  # before the manager's clean-up, which kills the sandbox user's processes
        await k.km.shutdown_kernel(now=True)
        return pid, gone

    pid, gone = asyncio.run(scenario())
    assert gone, f"forked kernel {pid} outlived its launcher"


def test_the_server_and_its_kernels_stop_when_the_worker_dies(tmp_path):
    script = f"""
import asyncio, json, os, sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_forkserver import Kernel
from pathlib import Path
from dlcourse.grading import forkserver
async def main():
    k = Kernel(Path({str(tmp_path)!r}))
    await k.__aenter__()
    print(json.dumps({{"server": forkserver._server.pid, "kernel": (await k.facts())["pid"]}}), flush=True)
    time.sleep(120)
asyncio.run(main())
"""
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = json.loads(worker.stdout.readline())
        assert _alive(pids["server"]) and _alive(pids["kernel"])
    finally:
        worker.kill()  # no clean-up code runs: like a pool worker that is terminated
        worker.wait()
    assert _wait_gone(pids["server"]), "the fork server outlived its worker"
    assert _wait_gone(pids["kernel"]), "a forked kernel outlived its worker"


def test_without_a_server_the_launcher_starts_the_kernel_itself(tmp_path, monkeypatch):
    monkeypatch.setattr(forkserver, "ensure_server", lambda env: str(tmp_path / "no-such-socket"))

    async def scenario():
        async with Kernel(tmp_path) as k:
            return await k.facts(), k.km.provisioner.process.pid

    facts, launcher = asyncio.run(scenario())
    assert facts["pid"] == launcher  # exec'ed by the launcher, not forked
    assert facts["as"] == 1536 * 2**20


def test_the_server_preloads_only_thread_free_modules():
    """Forking a process with threads can deadlock the child: the preloaded imports must start none."""
    code = ("import threading, importlib; from dlcourse.grading.forkserver import PRELOAD\n"
            "[importlib.import_module(m) for m in PRELOAD]\nprint(threading.active_count())")
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "1", out.stdout + out.stderr
