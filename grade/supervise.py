"""Watching a command: its output capped, its channel served, its limits polled; every command's end waited for.

:func:`supervise` serves a started process until it ends (grade/sandbox.py's bubblewrap sandboxes);
:func:`run` starts a command in a session of its own and supervises it (the grader's ``--no-sandbox``
through grade/isolation.py, the students' ``check.py`` on their own code); :func:`kill_all` ends every
command :func:`run` started (Ctrl-C, SIGTERM).  Nothing here confines a command: that is the sandbox's.
"""

import os
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

POLL = 0.2  # seconds between two looks at the limits
TAIL = 4096  # bytes of the end of the output kept besides its start
MAX_LINE = 256 * 2**20  # bytes of one channel line; a longer one is cut (and fails its check)
# What a failed command's output says when it ran into a limit that does not kill (an rlimit).
MARKERS = ((b"MemoryError", "memory"), (b"Unable to allocate", "memory"), (b"bad_alloc", "memory"),
           (b"Cannot allocate memory", "memory"), (b"File too large", "file_size"),
           (b"can't start new thread", "processes"), (b"Resource temporarily unavailable", "processes"))


@dataclass(frozen=True)
class Limits:
    """What a command may use: :func:`supervise` enforces the wall clock and caps the output; grade/sandbox.py and
    grade/isolation.py the rest (memory for all its processes, processes, file size, its tmpfs folders)."""
    wall_seconds: float = 180
    memory_bytes: int = 2 * 2**30
    processes: int = 256
    file_size_bytes: int = 256 * 2**20
    output_bytes: int = 64 * 1024
    tmp_bytes: int = 256 * 2**20
    disk_bytes: int = 256 * 2**20


@dataclass
class Result:
    returncode: int  # the command's exit status; 128 + n when killed by signal n
    killed_reason: str | None  # None, 'timeout', 'memory' or 'processes'
    limit_hit: str | None  # killed_reason, or the limit the command ran into: 'memory', 'file_size', 'processes'
    output: str  # stdout and stderr, at most ``output_bytes`` (and a line saying what was left out)
    seconds: float
    warning: str | None = None  # set when the command ran without the sandbox


class _Output:
    """Keeps the start and the end of a stream, and notes which limits its text mentions."""

    def __init__(self, cap):
        self.head, self.tail, self.total, self.found = bytearray(), b"", 0, []
        self.cap = cap - TAIL if cap > 2 * TAIL else cap

    def add(self, data):
        look = self.tail[-200:] + data
        self.found += [why for marker, why in MARKERS if marker in look and why not in self.found]
        self.head += data[:max(self.cap - len(self.head), 0)]
        self.total += len(data)
        self.tail = (self.tail + data)[-TAIL:]

    def text(self):
        out, rest = bytes(self.head), self.total - len(self.head)
        if rest:
            end = self.tail[len(self.tail) - min(rest, TAIL):]
            out += f"\n[... {rest - len(end)} bytes of output not kept ...]\n".encode() * (rest > len(end)) + end
        return out.decode("utf-8", "replace")


class _Channel:
    """Lines from the command's channel to ``on_message``; its answers to the command's standard input."""

    def __init__(self, fd, on_message, answer_fd):
        self.fd, self.on_message, self.answer_fd = fd, on_message, answer_fd
        self.line, self.skipping = bytearray(), False

    def add(self, data):
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            if not self.skipping:
                self.line += data[start:end]
                self._serve(bytes(self.line))
            self.line, self.skipping, start = bytearray(), False, end + 1
        if not self.skipping:
            self.line += data[start:]
            if len(self.line) > MAX_LINE:  # cut: served as it is (it fails its check), the rest skipped
                self._serve(bytes(self.line[:MAX_LINE]))
                self.line, self.skipping = bytearray(), True

    def _serve(self, line):
        answer = self.on_message(line)
        if answer and self.answer_fd is not None:
            try:
                os.write(self.answer_fd, answer)
            except OSError:  # the command no longer reads (or ended)
                pass


def supervise(proc, limits, start, kill, group=None, pidfd=None, stdin=b"", channel=None, on_message=None):
    """Serve ``proc`` until it ends: its output read (capped at ``limits.output_bytes``), ``stdin`` written to it
    (kept open for the answers while ``on_message`` serves the ``channel``), its limits polled
    (``limits.wall_seconds`` since ``start``; ``group``: its cgroup), ``kill()`` at one.  ``pidfd``: the
    sandbox's init, waited for.  Returns a :class:`Result`."""
    out, reason, last, done_at = _Output(limits.output_bytes), None, 0.0, None
    answer_fd = proc.stdin.fileno()
    os.set_blocking(answer_fd, False)
    try:
        os.write(answer_fd, stdin)
    except OSError:
        pass
    if on_message is None:
        proc.stdin.close()
        answer_fd = None
    readers = {proc.stdout.fileno(): out}
    if channel is not None:
        readers[channel] = _Channel(channel, on_message, answer_fd)
    while True:
        if readers:
            for fd in select.select(list(readers), [], [], POLL)[0]:
                data = os.read(fd, 1 << 16)
                if data:
                    readers[fd].add(data)
                else:
                    del readers[fd]
        else:  # the output has ended, but maybe not the command (it may have closed its stdout)
            time.sleep(POLL / 4)
        now = time.monotonic()
        if proc.poll() is not None:  # writers outliving the command (weak isolation only) are not waited for
            done_at = done_at or now
            if not readers or now - done_at > 1:
                break
        if reason is None and now - last >= POLL:
            last = now
            if now - start > limits.wall_seconds:
                reason = "timeout"
            elif group is not None:
                reason = "memory" if group.oom_kills() else "processes" if group.pids_refused() else None
            if reason:
                try:
                    kill()
                except OSError:  # already gone
                    pass
    if group is not None and reason is None:  # the kernel's kill at the memory limit may be the command's end
        reason = "memory" if group.oom_kills() else None
    proc.stdout.close()
    if channel is not None:
        os.close(channel)
    if answer_fd is not None:
        try:
            proc.stdin.close()
        except OSError:
            pass
    proc.wait()
    if pidfd is not None and not select.select([pidfd], [], [], 10)[0]:  # init ends after all its namespace
        kill()
        select.select([pidfd], [], [], 10)
    code = 128 - proc.returncode if proc.returncode < 0 else proc.returncode  # as a shell reports a signal
    hit = reason or (out.found[0] if code != 0 and out.found else None) or ("file_size" if code == 128 + 25 else None)
    return Result(code, reason, hit, out.text(), time.monotonic() - start)


_LOCK, _LIVE, _STOPPING = threading.Lock(), set(), threading.Event()


def run(command, *, env, cwd, limits, stdin=b"", on_message=None):
    """``command(channel fd) -> argv`` run in a session of its own, supervised (:func:`supervise`; the channel is a
    pipe whose write end the command gets, -1 without ``on_message``); its whole process group is killed at the
    end.  Refused once :func:`kill_all` has run."""
    channel_r, channel_w = os.pipe() if on_message else (None, -1)
    start = time.monotonic()
    try:
        proc = started(lambda: subprocess.Popen(command(channel_w), cwd=cwd, env=env, stdin=subprocess.PIPE,
                                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                pass_fds=[channel_w] if channel_w >= 0 else [],
                                                start_new_session=True))
    except BaseException:
        if channel_r is not None:
            os.close(channel_r)
        raise
    finally:
        if channel_w >= 0:
            os.close(channel_w)
    try:
        return supervise(proc, limits, start, lambda: os.killpg(proc.pid, signal.SIGKILL), stdin=stdin,
                         channel=channel_r, on_message=on_message)
    finally:
        ended(proc)


def started(popen):
    """``popen()``, a ``subprocess.Popen`` in a session of its own, started and kept for :func:`kill_all`, which
    kills its process group; refused once :func:`kill_all` has run.  :func:`ended` when it is over."""
    with _LOCK:
        if _STOPPING.is_set():
            raise RuntimeError("the grader is stopping")
        proc = popen()
        _LIVE.add(proc.pid)
    return proc


def ended(proc):
    """Kill what is left of ``proc``'s process group; :func:`kill_all` no longer needs to."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    with _LOCK:
        _LIVE.discard(proc.pid)


def kill_all():
    """Kill every command :func:`run` started, and start no new one."""
    _STOPPING.set()
    with _LOCK:
        live = list(_LIVE)
    for pid in live:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
