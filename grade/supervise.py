"""Watching a started command for grade/sandbox.py: its output capped, its limits polled, killed at a limit."""

import os
import select
import time

POLL = 0.2  # seconds between two looks at the sandbox's processes and memory
TAIL = 4096  # bytes of the end of the output kept besides its start
# What a failed command's output says when it ran into a limit that does not kill (an rlimit).
MARKERS = ((b"MemoryError", "memory"), (b"Unable to allocate", "memory"), (b"bad_alloc", "memory"),
           (b"Cannot allocate memory", "memory"), (b"File too large", "file_size"),
           (b"can't start new thread", "processes"), (b"Resource temporarily unavailable", "processes"))


class _Output:
    """Keeps the start and the end of a stream, and notes which limits its text mentions."""

    def __init__(self, cap, log_path):
        self.head, self.tail, self.total, self.found = bytearray(), b"", 0, []
        self.cap = cap - TAIL if cap > 2 * TAIL else cap
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
        out, rest = bytes(self.head), self.total - len(self.head)
        if rest:
            end = self.tail[len(self.tail) - min(rest, TAIL):]
            out += f"\n[... {rest - len(end)} bytes of output not kept ...]\n".encode() * (rest > len(end)) + end
        if self.log:
            self.log.write(out[len(self.head):])
            self.log.close()
        return out.decode("utf-8", "replace")


def usage(init):
    """(tasks, resident anonymous bytes) of ``init`` and its descendants (nested PID namespaces included)."""
    children = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                state, ppid = fh.read().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if state != "Z":  # a zombie is dead, only waiting for its parent to read its status
            children.setdefault(int(ppid), []).append(int(pid))
    tasks = anon = 0
    todo, seen = [init], set()
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/status") as fh:
                status = dict(line.split(":", 1) for line in fh)
        except (OSError, ValueError):
            continue
        if pid not in seen and status.get("State", "Z").split()[0] != "Z":
            seen.add(pid)
            tasks += int(status.get("Threads", "1"))
            anon += int(status.get("RssAnon", "0 kB").split()[0]) * 1024
            todo += children.get(pid, [])
    return tasks, anon


def supervise(proc, limits, log_path, start, kill, init=None, pidfd=None):
    """Read ``proc``'s output until it ends, polling the limits; ``kill()`` at one.  ``init``: the
    sandbox's PID-namespace init (``pidfd`` refers to it), whose processes are counted and waited for.
    Returns the fields of a sandbox.Result (``warning`` aside)."""
    out, fd, reason, last, done_at, peak = _Output(limits.output_bytes, log_path), proc.stdout.fileno(), None, 0., None, (0, 0)
    while True:
        if fd is None:  # the output has ended, but maybe not the command (it may have closed its stdout)
            time.sleep(POLL / 4)
        elif select.select([fd], [], [], POLL)[0]:
            data = os.read(fd, 1 << 16)
            fd = fd if data else None
            out.add(data)
        now = time.monotonic()
        if proc.poll() is not None:  # writers outliving the command (weak isolation only) are not waited for
            done_at = done_at or now
            if fd is None or now - done_at > 1:
                break
        if reason is None and now - last >= POLL:
            last = now
            if now - start > limits.wall_seconds:
                reason = "timeout"
            elif init:
                tasks, anon = usage(init)
                peak = (max(peak[0], tasks), max(peak[1], anon))
                reason = "processes" if tasks >= limits.processes else "memory" if anon > limits.memory_bytes else None
            if reason:
                try:
                    kill()
                except OSError:  # already gone
                    pass
    proc.stdout.close()
    proc.wait()
    if pidfd is not None and not select.select([pidfd], [], [], 10)[0]:  # init ends after all its namespace
        kill()
        select.select([pidfd], [], [], 10)
    code = 128 - proc.returncode if proc.returncode < 0 else proc.returncode  # as a shell reports a signal
    hit = reason or (out.found[0] if code != 0 and out.found else None) or ("file_size" if code == 128 + 25 else None)
    return dict(returncode=code, killed_reason=reason, limit_hit=hit, output=out.text(), output_total=out.total,
                seconds=time.monotonic() - start, peak_tasks=peak[0], peak_memory=peak[1])
