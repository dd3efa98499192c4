"""Grading kernels with resource limits, a private working directory and, as root, no privileges.

``SandboxKernelManager`` (used by ``HardenedExecute``) starts every kernel through the launcher
``_launcher.py``, which

* applies resource limits: address space (``memory_mb``, a memory bomb gets ``MemoryError`` or
  dies alone), file size, no core dumps, CPU seconds, and — for the sandbox user — a process count;
* runs the kernel in a fresh private directory holding copies of the submission's non-notebook
  files (so whatever the student's code writes lands there, not in the course directory);
* when grading runs as root (the usual CI and hub-service case), switches to an unprivileged
  sandbox user before the kernel starts, after making the ``private_paths`` (the course directory
  with the gradebook, ``solutions/``) inaccessible to "other" users.  Student code then cannot read
  ``solutions/``, ``source/`` or other students' submissions, nor read or write ``gradebook.db``.
  The user (``sandbox_user``, one per parallel worker: ``<name>-<slot>``) is created with
  ``useradd --system`` if missing.  After each kernel, leftover processes of that user are killed.

Without root (an instructor grading on a laptop) the limits and the private directory still
apply, but the kernel runs as the instructor and can read whatever the instructor can: grade
untrusted submissions as root, in a container, or as a dedicated account.
"""
from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, DottedObjectName, Enum, Integer, List, Type, Unicode

SLOT_ENV = "DLCOURSE_SANDBOX_SLOT"
#: Separates sandbox users of grading runs that happen at the same time (e.g. parallel test workers):
#: each run kills its users' leftover processes, so two runs must never share a user.
NAMESPACE_ENV = "DLCOURSE_SANDBOX_NAMESPACE"
#: run by path (not with -m) so that starting a kernel does not import the dlcourse package twice
LAUNCHER = Path(__file__).with_name("_launcher.py")
_ENV_KEEP = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "PYTHONHASHSEED",
             "OPENBLAS_CORETYPE", "JPY_PARENT_PID", "JPY_SESSION_NAME", "NBGRADER_EXECUTION", "SOURCE_DATE_EPOCH")
#: what the fork server's imports read: thread counts (fixed when numpy loads), the backend, debugger flags
_PRELOAD_ENV_PREFIXES = ("LC_", "OMP_", "OPENBLAS_", "MKL_", "MPLBACKEND", "PYDEVD_")
_MAX_COPY_BYTES = 200 * 2**20
#: never copied into the kernel's directory: notebooks, and code that could shadow numpy or dlcourse
#: (the kernel puts its working directory first on sys.path)
_NOT_COPIED = {".ipynb", ".py", ".pyc", ".pyd", ".so", ".pth"}


class GradingKernelClient(AsyncKernelClient):
    """jupyter_client's client, minus 0.2 s of idle waiting per kernel start.

    ``wait_for_ready`` ends by reading iopub until it has been silent for 0.2 s.  The grader
    (nbclient) skips iopub messages that answer other requests, so a kernel is ready as soon as
    it answered ``kernel_info`` and iopub is connected: a fifth of a second per notebook.
    """

    async def _ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)  # proves iopub is connected
                except Empty:
                    pass  # connected too late for this round's messages: ask again
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    wait_for_ready = _ready


class SandboxKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernels run through the sandbox launcher (see module doc)."""

    sandbox_user = Unicode("dlcourse-grader", help="unprivileged user for kernels when grading as root; "
                           "parallel workers use '<name>-<slot>'").tag(config=True)
    drop_privileges = Enum(["auto", "always", "never"], "auto",
                           help="auto: drop to sandbox_user when running as root").tag(config=True)
    memory_mb = Integer(2048, help="address-space limit of a kernel in MiB (0: none)").tag(config=True)
    max_file_mb = Integer(256, help="largest file a kernel may write, MiB").tag(config=True)
    max_processes = Integer(256, help="process/thread limit of the sandbox user").tag(config=True)
    cpu_seconds = Integer(0, help="CPU-time limit of a kernel (0: none; wall time is HardenedExecute's)"
                          ).tag(config=True)
    threads = Integer(1, help="BLAS/OpenMP threads per kernel (parallel graders share the cores)").tag(config=True)
    private_paths = List(Unicode(), help="paths made inaccessible to other users before a sandboxed kernel "
                         "starts (course directory, solutions/)").tag(config=True)
    grant_traverse = Bool(True, help="as root: add the search bit (o+x, never o+r) to directories above the "
                          "Python installation and the dlcourse package that other users cannot enter (e.g. a "
                          "pyenv Python under /root), so the sandbox user can run the kernel; False: refuse "
                          "to grade instead").tag(config=True)
    fork_server = Bool(False, help="fork kernels from a server that imported ipykernel, numpy and dlcourse "
                       "once (dlcourse.grading.forkserver; `dlcourse.course autograde` turns it on)"
                       ).tag(config=True)
    kernel_log = Unicode("", help="file receiving the kernel process's own stdout/stderr ('' = discard, "
                         "unless $DLCOURSE_KERNEL_LOG names one)"
                         ).tag(config=True)

    #: characters per cell the kernel forwards (set by HardenedExecute; read by kernel_setup)
    output_limit: int = 0
    _workdir: str | None = None
    _uid: int | None = None

    client_class = DottedObjectName("dlcourse.grading.sandbox.GradingKernelClient")
    client_factory = Type(klass="dlcourse.grading.sandbox.GradingKernelClient")

    # -- launch -----------------------------------------------------------------------------------
    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        kernel_cmd, kw = self._sandbox(kernel_cmd, kw)
        await super()._async_launch_kernel(kernel_cmd, **kw)

    _launch_kernel = _async_launch_kernel

    def _dropping(self) -> bool:
        if self.drop_privileges == "never":
            return False
        if os.geteuid() != 0:
            if self.drop_privileges == "always":
                raise RuntimeError("SandboxKernelManager.drop_privileges='always' needs root")
            return False
        return True

    def user_name(self) -> str:
        """The sandbox user of this process: ``<sandbox_user>[-<namespace>][-<slot>]``, claimed (see :func:`claim_user`)."""
        parts = [self.sandbox_user, os.environ.get(NAMESPACE_ENV, ""), os.environ.get(SLOT_ENV, "")]
        return claim_user("-".join(p for p in parts if p))

    def _sandbox(self, kernel_cmd: list[str], kw: dict) -> tuple[list[str], dict]:
        drop = self._dropping()
        pw = ensure_user(self.user_name()) if drop else None
        if drop:
            lock_private_paths(self.private_paths)
            blocked = inaccessible_ancestors(runtime_paths())
            if blocked and self.grant_traverse:
                for folder in blocked:
                    os.chmod(folder, os.stat(folder).st_mode | 0o001)
                self.log.warning("made %s traversable (o+x) so that the sandbox user can run Python",
                                 ", ".join(map(str, blocked)))
            elif blocked:
                raise RuntimeError(f"the sandbox user cannot reach Python: {', '.join(map(str, blocked))} "
                                   f"cannot be entered by other users; run chmod o+x on them, install Python "
                                   f"elsewhere, or set SandboxKernelManager.grant_traverse=True")
        source_dir = Path(kw.get("cwd") or os.getcwd())
        self._workdir = tempfile.mkdtemp(prefix="dlcourse-kernel-")
        _copy_inputs(source_dir, Path(self._workdir))
        env = {k: v for k, v in (kw.get("env") or os.environ).items() if k in _ENV_KEEP or k.startswith("LC_")}
        home = self._workdir
        env.update(HOME=home, TMPDIR=home, IPYTHONDIR=f"{home}/.ipython", MPLCONFIGDIR=f"{home}/.matplotlib",
                   JUPYTER_RUNTIME_DIR=f"{home}/.runtime", JUPYTER_DATA_DIR=f"{home}/.jupyter",
                   XDG_CACHE_HOME=f"{home}/.cache", PYDEVD_DISABLE_FILE_VALIDATION="1", MPLBACKEND="Agg",
                   MALLOC_ARENA_MAX="2")  # glibc reserves 64 MB of address space per thread otherwise
        if self.output_limit:
            env["DLCOURSE_MAX_OUTPUT_BYTES"] = str(self.output_limit)
        if self.threads > 0:
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(self.threads)
        if pw is not None:
            self._uid = pw.pw_uid
            for root, dirs, files in os.walk(self._workdir):
                for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                    os.chown(name, pw.pw_uid, pw.pw_gid)
            env.update(USER=pw.pw_name, LOGNAME=pw.pw_name)
        os.chmod(self._workdir, 0o700)
        options = {"uid": pw.pw_uid if pw else None, "gid": pw.pw_gid if pw else None,
                   "memory_mb": self.memory_mb, "max_file_mb": self.max_file_mb,
                   "max_processes": self.max_processes if pw else 0, "cpu_seconds": self.cpu_seconds,
                   "workdir": self._workdir,
                   "log": self.kernel_log or os.environ.get("DLCOURSE_KERNEL_LOG") or f"{self._workdir}/.kernel.log"}
        if self.fork_server:
            from .forkserver import ensure_server

            preload_env = {k: v for k, v in env.items()
                           if k in _ENV_KEEP or k.startswith(_PRELOAD_ENV_PREFIXES)}
            options["fork_server"] = ensure_server(preload_env)
        cmd = [sys.executable, str(LAUNCHER), json.dumps(options), "--", *kernel_cmd]
        kw = dict(kw, cwd=self._workdir, env=env)
        return cmd, kw

    # -- clean up ---------------------------------------------------------------------------------
    async def _async_wait(self, pollinterval: float = 0.01) -> None:
        # a killed kernel is gone within milliseconds; jupyter_client polls every 0.1 s
        await super()._async_wait(pollinterval=pollinterval)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        self._cleanup_sandbox()

    cleanup_resources = _async_cleanup_resources

    #: the last lines the kernel process wrote to its own stdout/stderr (for error messages)
    last_kernel_log: str = ""

    def _cleanup_sandbox(self) -> None:
        if self._uid is not None:
            kill_user_processes(self._uid)
        if self._workdir:
            try:
                with open(f"{self._workdir}/.kernel.log", "rb") as fh:
                    fh.seek(0, os.SEEK_END)
                    fh.seek(max(0, fh.tell() - 4000))
                    self.last_kernel_log = fh.read().decode("utf-8", "replace")
            except OSError:
                pass
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


# -------------------------------------------------------------------------------------------------
# helpers for the grader side (run as root or as the instructor)
# -------------------------------------------------------------------------------------------------
def ensure_user(name: str) -> pwd.struct_passwd:
    """The passwd entry of ``name``, creating a system user without home or shell if needed (root only)."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        nologin = next((p for p in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false") if os.path.exists(p)),
                       "/bin/false")
        cmd = ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", nologin,
               "--user-group", name]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise RuntimeError(f"could not create the sandbox user {name!r} ({' '.join(cmd)}): "
                               f"{result.stderr.strip()}; create it yourself or set "
                               f"SandboxKernelManager.drop_privileges='never'")
        pw = pwd.getpwnam(name)
    if pw.pw_uid == 0:
        raise RuntimeError(f"sandbox user {name!r} has uid 0; use an unprivileged user")
    return pw


_claims: dict[str, tuple[int, str, int]] = {}  # wanted name -> (pid, claimed name, locked fd)


def _lock_path(name: str) -> Path:
    folder = Path(tempfile.gettempdir()) / "dlcourse-sandbox-locks"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"{name}.lock"


def claim_user(name: str) -> str:
    """``name``, or ``name-2``, ``name-3``...: the first sandbox user no other grading process holds.

    After each kernel the grader kills every process of its sandbox user, so two processes grading
    at the same time (two instructors' runs, parallel test sessions) must never share one.  The
    claim is an exclusive ``flock`` held until this process exits.
    """
    pid, claimed, _ = _claims.get(name, (None, "", -1))
    if pid == os.getpid():
        return claimed
    for i in range(1, 100):
        candidate = name if i == 1 else f"{name}-{i}"
        fd = os.open(_lock_path(candidate), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _claims[name] = (os.getpid(), candidate, fd)
        return candidate
    raise RuntimeError(f"99 grading processes hold sandbox users named {name}*")


def kill_unclaimed_leftovers(name: str) -> int:
    """Kill the processes of ``name`` and ``name-2``... that no live grading process claims (after a
    pool was terminated, its workers' kernels may live on); returns how many were killed."""
    killed = 0
    for i in range(1, 100):
        candidate = name if i == 1 else f"{name}-{i}"
        if not _lock_path(candidate).exists():
            break
        try:
            pw = pwd.getpwnam(candidate)
        except KeyError:
            continue
        fd = os.open(_lock_path(candidate), os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            killed += kill_user_processes(pw.pw_uid)
        except BlockingIOError:
            pass  # in use by a live grader
        finally:
            os.close(fd)
    return killed


def runtime_paths() -> list[Path]:
    """What a kernel must reach: the interpreter (through symlinks), its prefixes, numpy, ipykernel, dlcourse."""
    import ipykernel
    import numpy

    import dlcourse

    paths = [Path(os.path.realpath(sys.executable)), Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)]
    paths += [Path(m.__file__).resolve().parent for m in (numpy, ipykernel, dlcourse)]
    return paths


def inaccessible_ancestors(paths) -> list[Path]:
    """Directories on the way to ``paths`` that "other" users may not enter (no o+x)."""
    blocked = []
    for path in paths:
        for folder in [*reversed(Path(path).parents), *([Path(path)] if Path(path).is_dir() else [])]:
            if folder.is_dir() and not os.stat(folder).st_mode & 0o001 and folder not in blocked:
                blocked.append(folder)
    return blocked


def lock_private_paths(paths) -> None:
    """Remove every permission of "other" users on ``paths`` (the sandbox user is such an other)."""
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            continue
        if mode & 0o007:
            os.chmod(path, mode & ~0o007)


def _copy_inputs(src: Path, dst: Path) -> None:
    """Copy the submission's data files (released with the assignment) into the kernel's directory."""
    total = 0
    for path in sorted(src.rglob("*")) if src.is_dir() else []:
        rel = path.relative_to(src)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts) or path.is_symlink() \
                or path.suffix in _NOT_COPIED:
            continue
        target = dst / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            total += path.stat().st_size
            if total > _MAX_COPY_BYTES:
                break
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def kill_user_processes(uid: int) -> int:
    """SIGKILL every process owned by the sandbox ``uid`` (kernels' leftovers); returns how many."""
    if uid in (0, os.getuid()):
        return 0
    killed = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return killed
