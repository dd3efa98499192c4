"""The kernel launcher of :mod:`dlcourse.grading.sandbox` (standard library only, run by path).

``python _launcher.py OPTIONS_JSON -- KERNEL_CMD...`` starts as the grader, applies resource limits,
hands the kernel a private copy of its connection file, drops to the sandbox user when one is
given, and execs the kernel command, which therefore keeps this process id (so interrupts and
kills from the kernel manager reach the kernel itself).
"""
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


def launch(options: dict, cmd: list[str]) -> None:
    """Apply limits, drop privileges, exec the kernel command (never returns)."""
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
    os.chdir(workdir)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        raise SystemExit("usage: python _launcher.py OPTIONS_JSON -- KERNEL_CMD...")
    launch(json.loads(sys.argv[1]), sys.argv[3:])
