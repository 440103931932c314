"""Runs inside the grading subprocess (copied beside the tests, never imported by the grader).

Puts the submission's copy first on ``sys.path``, refuses network connections, and gives the
checks their helpers: :func:`load` imports a submission module once, :func:`call` runs one
piece of student code with its printing captured (size-capped) and turns any exception into
a :class:`Fail` whose message a student can act on, and the ``graded`` fixture records an
item's fraction of the points and message in the JSON report (pytest-json-report metadata).
"""

import importlib
import io
import json
import os
import re
import socket
import sys
import traceback
from pathlib import Path

import pytest

SUBMISSION = Path(os.environ["GRADE_SUBMISSION"]).resolve()
SETTINGS = json.loads(Path(os.environ["GRADE_SETTINGS"]).read_text())
OUTPUT_CAP = 64 * 1024  # characters of student output kept (the rest is only counted)

if str(SUBMISSION) not in sys.path:
    sys.path.insert(0, str(SUBMISSION))


# --------------------------------------------------------------------------- no network
def _refuse(*args, **kwargs):
    raise OSError("network access is disabled while grading")


for _name in ("connect", "connect_ex", "sendto"):
    setattr(socket.socket, _name, _refuse)
socket.create_connection = _refuse
socket.getaddrinfo = _refuse


# --------------------------------------------------------------------------- failures
class Fail(Exception):
    """An item earns ``fraction`` of its points; ``message`` tells the student why.

    ``code`` names a diagnosis for which the points table may set its own partial credit.
    """

    def __init__(self, message, fraction=0.0, code=None):
        super().__init__(message)
        self.message, self.fraction, self.code = message, fraction, code


class _CappedWriter(io.TextIOBase):
    def __init__(self):
        self.kept, self.total = [], 0

    def write(self, text):
        text = str(text)
        room = OUTPUT_CAP - sum(map(len, self.kept))
        if room > 0:
            self.kept.append(text[:room])
        self.total += len(text)
        return len(text)

    def writable(self):
        return True


PRINTED = {"total": 0}  # characters the student's code printed in this process


def _where(err):
    """`` (network_scratch.py, line 12)`` for the deepest traceback frame in the submission."""
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if Path(f.filename).resolve().is_relative_to(SUBMISSION)]
    if not frames:
        return ""
    f = frames[-1]
    return f" ({Path(f.filename).resolve().relative_to(SUBMISSION)}, line {f.lineno})"


def _short(text, limit=300):
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(text)).split())  # no terminal colour codes
    return text if len(text) <= limit else text[:limit - 3] + "..."


def call(what, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` (student code); any exception becomes a :class:`Fail` naming ``what``."""
    out = _CappedWriter()
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = out
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as err:
        raise Fail(f"`{what}` is not implemented yet: it raises NotImplementedError{_where(err)}") from None
    except SystemExit as err:
        raise Fail(f"`{what}` called sys.exit({err.code!r}){_where(err)}: the grader's process must not be "
                   "ended by the submission") from None
    except Fail:
        raise
    except Exception as err:  # noqa: BLE001 -- any error of student code is a finding, not a crash
        text = str(err)
        if "in user code:" in text:  # a TensorFlow graph error: its last line says what went wrong
            text = [line for line in text.splitlines() if line.strip()][-1].strip()
            text = text.removeprefix(f"{type(err).__name__}: ")
        raise Fail(f"`{what}` raised {type(err).__name__}: {_short(text)}{_where(err)}") from None
    finally:
        sys.stdout, sys.stderr = saved
        PRINTED["total"] += out.total


_MODULES = {}


def load(name):
    """Import the submission's ``name`` module once; a failure is remembered and re-raised."""
    if name not in _MODULES:
        if not (SUBMISSION / f"{name}.py").is_file():
            _MODULES[name] = Fail(f"`{name}.py` is missing from the submission")
        else:
            try:
                _MODULES[name] = call(f"import {name}", importlib.import_module, name)
            except Fail as fail:
                _MODULES[name] = fail
            except BaseException as err:  # pytest-timeout's interrupt: remember it, let it end this item
                if "Timeout" in str(err):
                    _MODULES[name] = Fail(f"`import {name}` did not finish within this item's time limit: does "
                                          "the module train or load something when imported? Put that under "
                                          "`if __name__ == \"__main__\":`")
                raise
    if isinstance(_MODULES[name], Fail):
        raise _MODULES[name]
    return _MODULES[name]


def printed_note():
    total = PRINTED["total"]
    if total > OUTPUT_CAP:
        return f" (note: your code printed {total / 1e6:.1f} MB while being graded; only the first 64 KB were kept)"
    return ""


@pytest.fixture
def graded(json_metadata):
    """Records the item's result: ``graded(fraction, message)`` on success; a :class:`Fail` otherwise."""
    def award(fraction, message, code=None):
        json_metadata.update(fraction=float(fraction), message=message + printed_note(), code=code)
        if fraction < 1:
            pytest.fail(message, pytrace=False)
    return award


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A :class:`Fail` raised by a check becomes the item's metadata (fraction, message, diagnosis)."""
    try:
        return (yield)
    except Fail as fail:
        meta = item.funcargs.get("json_metadata")
        if meta is not None:
            meta.update(fraction=fail.fraction, message=fail.message + printed_note(), code=fail.code)
        pytest.fail(fail.message, pytrace=False)
