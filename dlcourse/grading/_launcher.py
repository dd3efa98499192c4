"""The kernel launcher of :mod:`dlcourse.grading.sandbox` (standard library only, run by path).

``python _launcher.py OPTIONS_JSON -- KERNEL_CMD...`` starts as the grader, applies resource limits,
hands the kernel a private copy of its connection file, drops to the sandbox user when one is
given, and execs the kernel command, which therefore keeps this process id (so interrupts and
kills from the kernel manager reach the kernel itself) — or, with a fork server, has the server
fork the kernel and stands in for it (forwarding signals, exiting with the kernel's code).
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import sys


def _set_limit(kind: int, value: int) -> None:
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def confine(options: dict) -> None:
    """Apply the resource limits, drop to the sandbox user (when ``uid`` is given), enter ``workdir``."""
    uid, gid = options.get("uid"), options.get("gid")
    if options.get("memory_mb"):
        _set_limit(resource.RLIMIT_AS, options["memory_mb"] * 2**20)
    if options.get("max_file_mb"):
        _set_limit(resource.RLIMIT_FSIZE, options["max_file_mb"] * 2**20)
    _set_limit(resource.RLIMIT_CORE, 0)
    if options.get("cpu_seconds"):
        _set_limit(resource.RLIMIT_CPU, options["cpu_seconds"])
    if uid is not None:
        if options.get("max_processes"):
            _set_limit(resource.RLIMIT_NPROC, options["max_processes"])
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid:
            raise SystemExit("sandbox: could not drop privileges")
    os.chdir(options["workdir"])


def forkable(cmd: list[str]) -> bool:
    """Whether the fork server can run ``cmd``: an ipykernel of this very interpreter."""
    return (len(cmd) > 3 and cmd[1:3] == ["-m", "ipykernel_launcher"]
            and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable))


def _run_forked(options: dict, cmd: list[str]) -> int | None:
    """Have the fork server start the kernel; forward signals to it; its exit code (None: no server)."""
    import signal
    import socket

    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.connect(options["fork_server"])
        request = {"argv": cmd, "env": dict(os.environ), "options": options, "launcher_pid": os.getpid()}
        socket.send_fds(sock, [json.dumps(request).encode()], [0, 1, 2])
        pid = json.loads(sock.recv(4096))["pid"]
    except (OSError, ValueError, KeyError):
        return None  # start the kernel ourselves
    # the kernel manager signals this process (its process group): the kernel must get them
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, lambda signum, frame: _forward(pid, signum))
    while True:
        data = sock.recv(4096)
        if not data:
            return 1  # the server died, and its kernels with it
        code = json.loads(data).get("exit")
        if code is not None:
            return code if code >= 0 else 128 - code


def _forward(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def launch(options: dict, cmd: list[str]) -> None:
    """Apply limits, drop privileges, exec the kernel command (never returns).

    With ``options["fork_server"]`` (a socket path) the kernel is forked from a server that has
    ipykernel, numpy and dlcourse imported (:mod:`dlcourse.grading.forkserver`); the forked kernel
    applies the same limits and privilege drop, and this process stands in for it.
    """
    log = options.get("log") or os.devnull
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    uid, gid, workdir = options.get("uid"), options.get("gid"), options["workdir"]
    if uid is not None and "-f" in cmd:
        # the connection file lives in the grader's private runtime directory: hand the kernel a copy
        i = cmd.index("-f") + 1
        private = os.path.join(workdir, ".connection.json")
        shutil.copyfile(cmd[i], private)
        os.chown(private, uid, gid)
        os.chmod(private, 0o600)
        cmd = cmd[:i] + [private] + cmd[i + 1:]
    if options.get("fork_server") and forkable(cmd):
        code = _run_forked(options, cmd)
        if code is not None:
            os._exit(code)
    confine(options)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        raise SystemExit("usage: python _launcher.py OPTIONS_JSON -- KERNEL_CMD...")
    launch(json.loads(sys.argv[1]), sys.argv[3:])
