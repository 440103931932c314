"""What starts every command of grade/sandbox.py, and the weak isolation of ``--no-sandbox``.

``SHIM`` runs first, inside the sandbox (or in front of the command without it): the per-process
limits, then (as root in the sandbox) an unprivileged uid, the copy of the writable folder onto the
sandbox's tmpfs, the channel moved to ``CHANNEL_FD``, then the command.

:func:`run` is the weak isolation: the command in its own session and process group with the same
per-process limits, no network where ``unshare`` works, the wall-clock limit, its whole process group
killed at the end.  It keeps mistakes and endless loops from breaking a grading run; it is not a
security boundary: the command can read and write whatever the grader's user can, and hold all the
machine's memory through shared memory.  The grader uses it only when told ``--no-sandbox``.
"""

import json
import subprocess
import sys

from . import supervise

CHANNEL_FD = 3

SHIM = r"""
import json, os, resource, shutil, sys
data, fsize, nproc, uid, ready, channel = map(int, sys.argv[1].split(","))
cwd, env, copy, cmd = sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5:]
for r, v in ((resource.RLIMIT_DATA, data), (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_CORE, 0),
             (resource.RLIMIT_NPROC, nproc)):
    if v >= 0:
        resource.setrlimit(r, (v, v))
if uid >= 0:
    os.setgroups([]); os.setgid(uid); os.setuid(uid)
    import ctypes  # no inheritable capabilities either
    ctypes.CDLL(None).capset((ctypes.c_uint32 * 2)(0x20080522, 0), (ctypes.c_uint32 * 6)())
for src, dst in copy:  # into the tmpfs's root (owned by root: not its own attributes)
    for name in os.listdir(src):
        s, d = os.path.join(src, name), os.path.join(dst, name)
        if os.path.isdir(s) and not os.path.islink(s):
            shutil.copytree(s, d, symlinks=True)
        else:
            shutil.copy2(s, d, follow_symlinks=False)
os.chdir(cwd)
if channel >= 0 and channel != 3:
    if ready == 3:
        ready = os.dup(ready); os.close(3)
    os.dup2(channel, 3); os.close(channel)
if ready >= 0:
    os.write(ready, b"1")  # tells the caller that the sandbox is up: what fails from here on is the command's
    os.close(ready)
try:
    os.execvpe(cmd[0], cmd, env)
except OSError as e:
    print(f"sandbox: cannot run {cmd[0]!r} in {cwd}: {e}", file=sys.stderr); os._exit(127)
"""

_NETNS = None


def netns_prefix():
    """``unshare --net`` (no network interface at all) where this machine allows it, else nothing."""
    global _NETNS
    if _NETNS is None:
        _NETNS = []
        for prefix in (["unshare", "--net"], ["unshare", "--map-root-user", "--net"]):
            try:
                if subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0:
                    _NETNS = prefix
                    break
            except (OSError, subprocess.SubprocessError):
                pass
    return _NETNS


def warning():
    return ("NOT SANDBOXED (--no-sandbox): the submissions' code ran with the weak isolation only (own process "
            "group, per-process memory and file-size limits, no network where unshare works); it could read and "
            "change the grader's files and use all the machine's memory")


def run(cmd, env, limits, cwd, stdin, on_message):
    """``cmd`` with the weak isolation (see the module's docstring): a grade.supervise.Result with its warning."""
    def command(channel_w):
        shim = f"{limits.memory_bytes},{limits.file_size_bytes},-1,-1,-1,{channel_w}"
        return [*netns_prefix(), sys.executable, "-I", "-S", "-c", SHIM, shim, str(cwd), json.dumps(dict(env)), "[]",
                *cmd]
    result = supervise.run(command, env={}, cwd=cwd, limits=limits, stdin=stdin, on_message=on_message)
    result.warning = warning()
    return result
