"""Watching a started command for grade/sandbox.py: its output capped, its channel served, its limits polled."""

import os
import select
import time

POLL = 0.2  # seconds between two looks at the limits
TAIL = 4096  # bytes of the end of the output kept besides its start
MAX_LINE = 256 * 2**20  # bytes of one channel line; a longer one is cut (and fails its check)
# What a failed command's output says when it ran into a limit that does not kill (an rlimit).
MARKERS = ((b"MemoryError", "memory"), (b"Unable to allocate", "memory"), (b"bad_alloc", "memory"),
           (b"Cannot allocate memory", "memory"), (b"File too large", "file_size"),
           (b"can't start new thread", "processes"), (b"Resource temporarily unavailable", "processes"))


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
    """Serve ``proc`` until it ends: its output read (capped), ``stdin`` written to it (kept open for the answers
    while ``on_message`` serves the ``channel``), its limits polled (``group``: its cgroup), ``kill()`` at one.
    ``pidfd``: the sandbox's init, waited for.  Returns the fields of a sandbox.Result (``warning`` aside)."""
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
    return dict(returncode=code, killed_reason=reason, limit_hit=hit, output=out.text(),
                seconds=time.monotonic() - start)
