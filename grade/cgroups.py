"""A control group per sandbox: the kernel's own limits on memory and processes, and "kill everything".

    hierarchy() -> Hierarchy                 # set up once per process; raises Unavailable(why, fix)
    group = hierarchy().create(memory_bytes, processes)
    group.procs                              # the files a starter writes its pid into (then execs)
    group.oom_kills(), group.pids_refused()  # how often the kernel killed at the memory limit / refused a fork
    group.kill(); group.remove()
    kill_all()                               # every live group of this process (the grader's signal handlers)

Memory means all of it: anonymous memory, shared memory, ``memfd_create`` files and tmpfs pages
are charged to the group that touches them, so the sandbox's tmpfs folders count too.  Two kinds:

* cgroup v2 (``memory.max``, ``memory.swap.max``, ``pids.max``): as root, under the hierarchy's
  root; otherwise in the grader's own cgroup when it is delegated to the user (a TA's desktop:
  ``systemd-run --user --scope -p Delegate=yes make grade ARGS=...``), whose processes move into a
  leaf ``grade-leaf`` so that the controllers can be enabled for the sandboxes' groups.
* cgroup v1, where the memory and pids controllers are mounted as v1 hierarchies (this project's CI
  machine): ``memory.limit_in_bytes`` (and ``memory.memsw.limit_in_bytes`` where swap is accounted)
  and ``pids.max``, under the grader's own cgroup of each; writable by root.

Each grader makes one folder ``grade-<pid>`` holding its sandboxes' groups, removed at exit; folders
of graders that are gone are removed when the next one starts.
"""

import atexit
import os
import re
import secrets
import signal
import threading
import time
from pathlib import Path

PREFIX = "grade-"
FIX = ("run the grader as root (sudo make grade ...: cgroup v1 or v2), or, as a user on a systemd machine with "
       "cgroup v2, in a delegated scope: systemd-run --user --scope -p Delegate=yes make grade ARGS=\"...\"")


class Unavailable(RuntimeError):
    """No memory and pids cgroup can be made for a sandbox here: ``why``, and ``fix``, what to change."""

    def __init__(self, why, fix=FIX):
        super().__init__(why)
        self.why, self.fix = why, fix


def _write(path, text):
    with open(path, "w") as fh:
        fh.write(text)


def _counter(path, key):
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _mounts():
    """``[(fstype, mountpoint, root, super options)]`` of the cgroup file systems, from /proc/self/mountinfo."""
    out = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if tail and tail[0] in ("cgroup", "cgroup2"):
                point = fields[4].encode().decode("unicode_escape")  # mountinfo escapes spaces as \040
                out.append((tail[0], point, fields[3], set(tail[2].split(",")) if len(tail) > 2 else set()))
    return out


def _own():
    """``{controller or "": path}`` of this process's cgroups (``""``: the v2 hierarchy)."""
    out = {}
    with open("/proc/self/cgroup") as fh:
        for line in fh:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                out[c] = path
    return out


def _inside(point, root, path):
    """The folder of cgroup ``path`` in a hierarchy mounted at ``point`` whose root is ``root``."""
    rel = os.path.relpath(path, root) if root != "/" else path.lstrip("/")
    if rel.startswith(".."):
        raise Unavailable(f"this process's cgroup {path} is outside the hierarchy mounted at {point}")
    return Path(point) / rel


def _alive(name):
    m = re.fullmatch(rf"{PREFIX}(\d+)", name)
    return not m or os.path.exists(f"/proc/{m.group(1)}")


def _rmtree(folder):
    """Remove a cgroup folder and its children, deepest first (a cgroup folder holds no files to delete)."""
    folder = Path(folder)
    for sub in sorted([folder, *(p for p in folder.rglob("*") if p.is_dir())], key=lambda p: -len(p.parts)):
        _kill_procs(sub)
        try:
            sub.rmdir()
        except OSError:
            pass


def _kill_procs(folder):
    """SIGKILL every process of the group ``folder`` until it is empty (v1 has no cgroup.kill)."""
    for _ in range(100):
        try:
            pids = [int(p) for p in (Path(folder) / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


class Group:
    """One sandbox's group: a folder per hierarchy (v1: memory and pids; v2: one)."""

    def __init__(self, hierarchy, folders):
        self.hierarchy, self.folders = hierarchy, folders
        self.procs = [str(f / "cgroup.procs") for f in folders]

    def oom_kills(self):
        return self.hierarchy.oom_kills(self.folders)

    def pids_refused(self):
        return _counter(self.folders[-1] / "pids.events", "max")

    def kill(self):
        kill = self.folders[0] / "cgroup.kill"
        if kill.exists():
            try:
                _write(kill, "1")
            except OSError:
                pass
        for f in self.folders:
            _kill_procs(f)

    def remove(self):
        self.kill()
        for f in self.folders:
            for _ in range(50):
                try:
                    f.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # a process is still being reaped
                    time.sleep(0.02)
        with _LOCK:
            _LIVE.discard(self)


class Hierarchy:
    """Where this grader's sandboxes get their groups: ``parents`` (one folder per hierarchy)."""

    kind = ""

    def __init__(self, parents):
        self.parents = parents
        self.count = 0

    def create(self, memory_bytes, processes):
        with _LOCK:
            if _STOPPING.is_set():
                raise Unavailable("the grader is stopping")
            self.count += 1
            name = f"sandbox-{self.count}-{secrets.token_hex(3)}"
        folders = [p / name for p in self.parents]
        group = Group(self, folders)
        with _LOCK:
            _LIVE.add(group)
        try:
            for f in folders:
                f.mkdir()
            self.limit(folders, memory_bytes, processes)
        except OSError:
            group.remove()
            raise
        return group

    def remove(self):
        for p in self.parents:
            _rmtree(p)


class _V1(Hierarchy):
    kind = "cgroup v1 (memory.limit_in_bytes, pids.max)"

    def limit(self, folders, memory_bytes, processes):
        memory, pids = folders
        _write(memory / "memory.limit_in_bytes", str(memory_bytes))
        if (memory / "memory.memsw.limit_in_bytes").exists():  # swap accounted: no swapping past the limit
            _write(memory / "memory.memsw.limit_in_bytes", str(memory_bytes))
        _write(pids / "pids.max", str(processes))

    def oom_kills(self, folders):
        return _counter(folders[0] / "memory.oom_control", "oom_kill")


class _V2(Hierarchy):
    kind = "cgroup v2 (memory.max, pids.max)"

    def limit(self, folders, memory_bytes, processes):
        (f,) = folders
        _write(f / "memory.max", str(memory_bytes))
        if (f / "memory.swap.max").exists():
            _write(f / "memory.swap.max", "0")
        _write(f / "pids.max", str(processes))

    def oom_kills(self, folders):
        return _counter(folders[0] / "memory.events", "oom_kill")


def _enable(folder, controllers=("memory", "pids")):
    have = set((folder / "cgroup.subtree_control").read_text().split())
    missing = [c for c in controllers if c not in have]
    if missing:
        _write(folder / "cgroup.subtree_control", " ".join(f"+{c}" for c in missing))


def _sweep(folder):
    """Remove the folders of graders that are gone (killed before they could clean up)."""
    for sub in folder.iterdir() if folder.is_dir() else []:
        if sub.is_dir() and not _alive(sub.name):
            _rmtree(sub)


def _setup_v2(point, root, own):
    top = Path(point) if os.geteuid() == 0 else _inside(point, root, own[""])
    have = set((top / "cgroup.controllers").read_text().split())
    if not {"memory", "pids"} <= have:
        raise Unavailable(f"cgroup v2 at {top} offers the controllers {sorted(have) or 'none'}, not memory and pids")
    if not os.access(top / "cgroup.subtree_control", os.W_OK) or not os.access(top, os.W_OK):
        raise Unavailable(f"cgroup v2: this process's cgroup {top} is not delegated to this user")
    try:
        _enable(top)
    except OSError:  # processes in ``top`` (only the root cgroup may have both): move them into a leaf
        leaf = top / f"{PREFIX}leaf"
        leaf.mkdir(exist_ok=True)
        for pid in (top / "cgroup.procs").read_text().split():
            try:
                _write(leaf / "cgroup.procs", pid)
            except OSError:
                pass
        _enable(top)
    _sweep(top)
    parent = top / f"{PREFIX}{os.getpid()}"
    parent.mkdir()
    _enable(parent)
    return _V2([parent])


def _setup_v1(mounts, own):
    parents = []
    for controller in ("memory", "pids"):
        found = [(point, root) for kind, point, root, opts in mounts if kind == "cgroup" and controller in opts]
        if not found or controller not in own:
            raise Unavailable(f"no cgroup v1 {controller} controller is mounted")
        top = _inside(*found[0], own[controller])
        if not os.access(top, os.W_OK):
            raise Unavailable(f"cgroup v1: {top} is not writable (only root may make cgroups there)")
        _sweep(top)
        parent = top / f"{PREFIX}{os.getpid()}"
        parent.mkdir(exist_ok=True)
        parents.append(parent)
    return _V1(parents)


_HIERARCHY, _ERROR, _SETUP = None, None, threading.Lock()
_LOCK, _LIVE, _STOPPING = threading.Lock(), set(), threading.Event()


def hierarchy():
    """This process's :class:`Hierarchy`, set up (and checked by making one group) on the first call."""
    global _HIERARCHY, _ERROR
    with _SETUP:
        if _HIERARCHY is None and _ERROR is None:
            _HIERARCHY, _ERROR = _setup()
    if _ERROR:
        raise _ERROR
    return _HIERARCHY


def _setup():
    reasons = []
    try:
        mounts, own = _mounts(), _own()
    except OSError as err:
        return None, Unavailable(f"cannot read this process's cgroups: {err}")
    for kind, point, root, _ in mounts:
        if kind == "cgroup2" and "" in own:
            try:
                return _checked(_setup_v2(point, root, own)), None
            except (Unavailable, OSError) as err:
                reasons.append(str(err))
    if any(kind == "cgroup" for kind, *_ in mounts):
        try:
            return _checked(_setup_v1(mounts, own)), None
        except (Unavailable, OSError) as err:
            reasons.append(str(err))
    return None, Unavailable("; ".join(reasons) or "no cgroup file system is mounted")


def _checked(h):
    atexit.register(h.remove)
    try:
        h.create(64 * 2**20, 8).remove()
    except OSError as err:
        h.remove()
        raise Unavailable(f"{h.kind}: cannot make a limited group in {h.parents[0]}: {err}") from err
    return h


def kill_all():
    """Stop every sandbox of this process now, and start no new one (Ctrl-C, SIGTERM)."""
    _STOPPING.set()
    with _LOCK:
        live = list(_LIVE)
    for group in live:
        group.kill()
