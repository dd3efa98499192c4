"""A fork server that starts grading kernels with ipykernel, numpy and dlcourse already imported.

A fresh kernel spends about 0.9 CPU-seconds importing ipykernel, numpy and ``dlcourse.grading``
before its first cell: a third of what grading one notebook costs.  ``dlcourse.course autograde``
therefore runs one server per grading worker that imports them once and forks a kernel per
notebook.  Each notebook still gets a new process with its own sandbox user, limits and directory
(the child applies them exactly like ``_launcher.py``), and no student code ever runs in the
server, so nothing of one submission reaches the next.  ``nbgrader autograde`` with the shipped
configuration starts every kernel from scratch (``SandboxKernelManager.fork_server`` is off).

Protocol, one ``SOCK_SEQPACKET`` connection per kernel, opened by ``_launcher.py`` (which stays the
process the kernel manager knows): the launcher sends ``{"argv", "env", "options", "launcher_pid"}``
with its stdin/stdout/stderr; the server forks and answers ``{"pid": N}``, and ``{"exit": code}``
when the kernel ends.  The launcher forwards signals to the kernel; the kernel kills itself when
the launcher dies (a SIGKILL from the kernel manager), and the server stops, killing its kernels,
when the grading worker that started it is gone.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading

#: imported once in the server: what every grading kernel imports before its first cell (ipykernel
#: loads its debugger, IPython's inspector and history database at start-up; kernel_setup arms the
#: tamper guard with dlcourse.grading).  None of them starts a thread, so forking stays safe.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "IPython.core.debugger",
           "IPython.core.completerlib", "IPython.core.oinspect", "IPython.extensions.storemagic", "sqlite3",
           "numpy", "dlcourse.grading")
_READY = "dlcourse-forkserver-ready"


# -- the server process -------------------------------------------------------------------------
def serve(path: str) -> None:
    """Import :data:`PRELOAD`, listen on ``path`` and fork a kernel per connection (never returns)."""
    import gc
    import importlib

    _SERVER_PID[0] = os.getpid()
    for name in PRELOAD:
        importlib.import_module(name)
    gc.freeze()  # the children share the imported objects' pages instead of copying them on the first gc
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    wake_r, wake_w = socket.socketpair()
    for s in (wake_r, wake_w):
        s.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake select()
    signal.signal(signal.SIGTERM, _terminate)
    parent, kernels = os.getppid(), {}
    print(_READY, flush=True)
    try:
        while os.getppid() == parent:
            ready, _, _ = select.select([listener, wake_r], [], [], 1.0)
            if wake_r in ready:
                while _drained(wake_r):
                    pass
            _reap(kernels)
            if listener in ready:
                _accept(listener, kernels, (listener, wake_r, wake_w))
    finally:
        if os.getpid() == _SERVER_PID[0]:  # the worker is gone or stopped us: so are its kernels
            for pid in kernels:
                _kill(pid)
            os._exit(0)


_SERVER_PID = [0]


def _terminate(signum, frame) -> None:
    raise SystemExit(0)


def _drained(sock: socket.socket) -> bool:
    try:
        return bool(sock.recv(4096))
    except BlockingIOError:
        return False


def _reap(kernels: dict[int, socket.socket]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = kernels.pop(pid, None)
        if conn is not None:
            _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
            conn.close()


def _accept(listener: socket.socket, kernels: dict, own: tuple) -> None:
    conn, _ = listener.accept()
    try:
        message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
        request = json.loads(message)
        if len(fds) != 3:
            raise ValueError("expected stdin, stdout and stderr")
    except (OSError, ValueError):
        conn.close()
        return
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for s in (*own, *kernels.values()):
                s.close()
            conn.close()
            code = _run_kernel(request, fds)
        except BaseException as err:  # noqa: BLE001  (report, never fall back into the server loop)
            print(f"forkserver: kernel failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        os._exit(code)
    for fd in fds:
        os.close(fd)
    kernels[pid] = conn
    _send(conn, {"pid": pid})


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.send(json.dumps(message).encode())
    except OSError:
        pass  # the launcher is gone; its kernel notices by itself


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# -- the forked kernel --------------------------------------------------------------------------
def _run_kernel(request: dict, fds: list[int]) -> int:
    """In the child: become the kernel ``_launcher.py`` would have exec'ed; its exit code."""
    from dlcourse.grading._launcher import confine

    for fd, target in zip(fds, (0, 1, 2)):
        os.dup2(fd, target)
        os.close(fd)
    _die_with(request["launcher_pid"])
    confine(request["options"])  # limits, sandbox user, working directory
    os.environ.clear()
    os.environ.update(request["env"])
    argv = request["argv"]  # [python, -m, ipykernel_launcher, -f, connection file, ...]
    sys.argv = ["ipykernel_launcher", *argv[3:]]
    sys.path.insert(0, os.getcwd())  # as `python -m` does
    from ipykernel import kernelapp

    try:
        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    atexit._run_exitfuncs()  # what interpreter shutdown would do (IPython saves its history)
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _die_with(launcher_pid: int) -> None:
    """Kill this kernel as soon as its launcher dies (the kernel manager SIGKILLs the launcher)."""
    pidfd = os.pidfd_open(launcher_pid)

    def watch() -> None:
        select.select([pidfd], [], [])
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="dlcourse-launcher-watch", daemon=True).start()


# -- the grader side ----------------------------------------------------------------------------
_server: subprocess.Popen | None = None
_socket_path: str | None = None


def ensure_server(env: dict[str, str], timeout: float = 60.0) -> str | None:
    """The socket of this process's fork server, starting it with ``env`` if needed (None: unavailable).

    ``env`` must hold what the preloaded modules read at import (BLAS thread counts are fixed when
    numpy loads); everything else is set per kernel.
    """
    global _server, _socket_path
    if _server is not None and _server.poll() is None:
        return _socket_path
    if not hasattr(os, "pidfd_open") or not hasattr(socket, "send_fds"):
        return None  # Linux >= 5.3 and Python >= 3.9
    folder = tempfile.mkdtemp(prefix="dlcourse-forkserver-")
    path = os.path.join(folder, "socket")
    server = subprocess.Popen([sys.executable, "-c", "import sys; from dlcourse.grading.forkserver import serve; "
                               "del sys.path[0]; serve(sys.argv[1])", path],
                              env=dict(env, HOME=folder, TMPDIR=folder), cwd=folder, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    ready, _, _ = select.select([server.stdout], [], [], timeout)
    if not ready or server.stdout.readline().strip() != _READY:
        server.kill()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)
        return None
    _server, _socket_path = server, path
    atexit.register(_stop, server, folder)
    return path


def _stop(server: subprocess.Popen, folder: str) -> None:
    server.terminate()  # it kills its kernels
    try:
        server.wait(5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    shutil.rmtree(folder, ignore_errors=True)
