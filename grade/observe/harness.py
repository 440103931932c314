"""Runs inside the sandbox: calls a submission's code the way the course does and writes down what it saw.

    python harness.py PART --submission DIR --inputs FILE --settings FILE --channel FD   (a secret on stdin)

``PART`` names a module beside this one (``scratch``, ``pytorch``, ``keras_tf``, ``docs``) whose
``PROBES`` list ``(name, function)``; each function gets a :class:`Context` and returns a dict of
plain values and NumPy arrays.  Nothing here decides a grade: the grader reads the observations
(grade/observations.py) and judges them in its own process.  They go to the grader as lines on
the channel ``FD``, each tagged with an HMAC under the run's secret (the first line of standard
input, read and removed before any submission code is imported): ``start`` of a probe, ``epoch``
(a learning probe's predictions for the held-out digits after an epoch; the grader answers on
standard input whether to stop, from labels this process never sees), ``record`` (what the probe
saw) and ``end``.  The tag is a tripwire, not a wall: the submission runs in this process and could
find the secret in its memory; the verdicts that matter rest on data it never sees.  A probe that
raises is written down as an error (type, message, and the submission's file and line); one that
runs past its time limit is interrupted; the submission's printing is counted, not kept.
"""

import argparse
import base64
import hmac
import importlib
import io
import json
import os
import re
import signal
import sys
import time
import traceback
from pathlib import Path

import numpy as np

sys.modules.setdefault("harness", sys.modules[__name__])  # run as a script, the probes' `from harness import` is this


class ProbeError(Exception):
    """A call into the submission failed: ``what`` was called, ``kind`` and ``message`` of its error."""

    def __init__(self, what, kind, message, where=""):
        super().__init__(f"{what}: {kind}: {message}")
        self.record = {"what": what, "type": kind, "message": message, "where": where}


class ProbeTimeout(BaseException):
    """Raised by the alarm when a probe runs past its time limit."""


def _channel(fd, key, answers):
    """``send(kind, **fields)``: one tagged line on the channel (never cut by the alarm); ``ask(**fields)``: an
    ``epoch`` line and the grader's answer (True: stop)."""
    seq = [0]

    def send(kind, **fields):
        body = json.dumps({"seq": seq[0], "kind": kind, **fields}, separators=(",", ":")).encode()
        seq[0] += 1
        line = memoryview(hmac.new(key, body, "sha256").hexdigest().encode() + b" " + body + b"\n")
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        try:
            while line:
                line = line[os.write(fd, line):]
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def ask(**fields):
        send("epoch", **fields)
        return answers.readline().strip() == b"stop"
    return send, ask


def _secret():
    """The first line of standard input; standard input then reads nothing (the answers come on a copy)."""
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(0, 1)
        if not byte:
            break
        line += byte
    answers = os.fdopen(os.dup(0), "rb", buffering=0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return bytes.fromhex(line.strip().decode()), answers


def encode(arrays):
    """NumPy arrays as base64 ``.npy`` (read back without pickles)."""
    out = {}
    for key, array in arrays.items():
        buf = io.BytesIO()
        np.save(buf, np.asarray(array, order="C"), allow_pickle=False)
        out[key] = base64.b64encode(buf.getvalue()).decode()
    return out


class _Counted(io.TextIOBase):
    """Where the submission's printing goes while a probe calls it: counted, not kept."""

    def __init__(self):
        self.total = 0

    def write(self, text):
        text = str(text)
        self.total += len(text)
        return len(text)

    def writable(self):
        return True


def _short(text, limit=400):
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(text)).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Context:
    """What a probe works with: the inputs, the data, the settings, and :meth:`call` / :meth:`module`."""

    def __init__(self, submission, inputs, settings, ask=None):
        self.submission, self.inputs, self.settings = submission, inputs, settings
        self.modules, self.printed, self.probe, self._ask = {}, _Counted(), None, ask

    def epoch_end(self, epoch, predictions):
        """The held-out digits' predicted classes after ``epoch`` (0: before training) to the grader; True: stop."""
        arrays = {"predictions": np.asarray(predictions).ravel().astype(np.int64)}
        return self._ask(probe=self.probe, epoch=epoch, arrays=encode(arrays))

    def where(self, err):
        """``network_scratch.py, line 12``: the deepest frame of the traceback in the submission."""
        frames = [f for f in traceback.extract_tb(err.__traceback__)
                  if Path(f.filename).resolve().is_relative_to(self.submission)]
        if not frames:
            return ""
        f = frames[-1]
        return f"{Path(f.filename).resolve().relative_to(self.submission)}, line {f.lineno}, in {f.name}"

    def call(self, what, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``, the submission's code: its printing captured, any error a :class:`ProbeError`."""
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self.printed
        try:
            return fn(*args, **kwargs)
        except ProbeError:
            raise
        except SystemExit as err:
            raise ProbeError(what, "SystemExit", f"called sys.exit({err.code!r})", self.where(err)) from None
        except Exception as err:  # noqa: BLE001 -- every error of the submission's code is an observation
            text = str(err)
            if "in user code:" in text:  # a TensorFlow graph error: its last line says what went wrong
                text = [line for line in text.splitlines() if line.strip()][-1].strip()
                text = text.removeprefix(f"{type(err).__name__}: ")
            raise ProbeError(what, type(err).__name__, _short(text), self.where(err)) from None
        finally:
            sys.stdout, sys.stderr = saved

    def module(self, name):
        """The submission's module ``name``, imported once (a failure is kept and raised again)."""
        if name not in self.modules:
            if not (self.submission / f"{name}.py").is_file():
                self.modules[name] = ProbeError(f"import {name}", "FileNotFoundError",
                                                f"`{name}.py` is missing from the submission")
            else:
                try:
                    self.modules[name] = self.call(f"import {name}", importlib.import_module, name)
                except ProbeError as err:
                    self.modules[name] = err
                except ProbeTimeout:  # remembered: later probes do not import it again
                    self.modules[name] = ProbeError(f"import {name}", "timeout", "did not finish within the time "
                                                    "limit of the check that imported it")
                    raise
        if isinstance(self.modules[name], ProbeError):
            raise self.modules[name]
        return self.modules[name]


def _plain(value, arrays, key):
    """``value`` as JSON; NumPy arrays (and lists of them) go to ``arrays`` under ``key``."""
    if isinstance(value, np.ndarray):
        arrays[key] = value
        return {"array": key}
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, np.ndarray) for v in value):
        return [_plain(v, arrays, f"{key}.{i}") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _plain(v, arrays, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, arrays, f"{key}.{i}") for i, v in enumerate(value)]
    if isinstance(value, (np.generic,)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)[:200]


def _alarm(signum, frame):
    raise ProbeTimeout()


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("part")
    parser.add_argument("--submission", type=Path, required=True)
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--settings", type=Path, required=True)
    parser.add_argument("--channel", type=int, required=True)
    args = parser.parse_args(argv)
    key, answers = _secret()
    send, ask = _channel(args.channel, key, answers)
    del key
    submission = args.submission.resolve()
    settings = json.loads(args.settings.read_text())
    with np.load(args.inputs, allow_pickle=False) as z:
        inputs = {k: z[k] for k in z.files}
    part = importlib.import_module(args.part)  # its libraries first: the submission's files cannot shadow them
    sys.path.insert(0, str(submission))
    ctx = Context(submission, inputs, settings, ask)
    signal.signal(signal.SIGALRM, _alarm)
    for name, probe in part.PROBES:
        limit = settings["probe_seconds"].get(name, settings["probe_seconds"]["default"])
        start, before = time.perf_counter(), ctx.printed.total
        record, arrays = {"values": None, "error": None}, {}
        ctx.probe = name
        send("start", probe=name)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            record["values"] = _plain(probe(ctx), arrays, name)
        except ProbeError as err:
            record["error"] = err.record
        except ProbeTimeout:
            record["error"] = {"what": name, "type": "timeout", "message": f"did not finish within {limit} s",
                               "where": ""}
        except Exception as err:  # noqa: BLE001 -- the probe's own bug: reported, not hidden
            record["error"] = {"what": name, "type": "probe", "message": _short(f"{type(err).__name__}: {err}"),
                               "where": ""}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        record.update(seconds=round(time.perf_counter() - start, 3), printed=ctx.printed.total - before)
        send("record", probe=name, record=record, arrays=encode(arrays))
    send("end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
