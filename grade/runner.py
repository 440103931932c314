"""One part of one submission: its files staged, its probes observed in the sandbox, judged in this process.

A *part* (``scratch``, ``torch``, ``keras``, ``docs``) is the set of items that read the same
files (grade/stage.py says which).  Its probes (grade/observe/) run on a copy of those files in a
bubblewrap sandbox inside a cgroup of its own (grade/sandbox.py) and send what they saw over a
channel, each line tagged (grade/observations.py); the judges (grade/judge/, and the hidden
grade/diagnose/) decide the verdicts here, from those observations alone.  The documents too are
read in the sandbox (the notebook's JSON and the PDFs are untrusted input).  A part's verdicts are
cached, by this process only, under :func:`part_key`; failures that come from the grader's own
environment are never cached.
"""

import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import data as graderdata
from . import reference, sandbox
from .handout_checks import SHIPPED
from .judge.common import Observations, criterion_holds, right_counts
from .observations import MAIN_FILE, OBSERVE, PROBE_MODULE, Reader, judge_part, probe_names
from .stage import NOTEBOOK

GRADE_DIR = Path(__file__).resolve().parent
PART_SECONDS = {"scratch": 300, "torch": 300, "keras": 420, "docs": 150}  # the sandbox's wall limit (a backstop)
LIMITS = dict(memory_bytes=3 * 2**30, processes=512, file_size_bytes=256 * 2**20, output_bytes=64 * 1024,
              tmp_bytes=256 * 2**20, disk_bytes=512 * 2**20)
KERAS2_SOURCE = re.compile(r"\boptimizers\s*\.\s*legacy\b")
KERAS2_ERROR = re.compile(r"not supported in Keras 3|TF_USE_LEGACY_KERAS|tf_keras", re.IGNORECASE)
PACKAGE_INIT = '"""The grader\'s public package, as the documents\' probes read with it (grade/observe/docs.py)."""\n'


class GraderError(RuntimeError):
    """The grader's own environment failed (not the submission): reported, never cached."""


@dataclass
class PartResult:
    verdicts: dict  # item id -> Verdict
    seconds: float = 0.0
    cached: bool = False
    notes: list = field(default_factory=list)  # said in the report (Keras 2, no sandbox, ...)
    observations: object = None  # what the verdicts were judged from (not cached)


@functools.cache
def code_hash():
    """The grading code: every module of grade/ (and the observe/ probes) by content."""
    h = hashlib.sha256()
    for p in sorted(GRADE_DIR.rglob("*.py")):
        if "__pycache__" not in p.parts:
            h.update(str(p.relative_to(GRADE_DIR)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def part_key(plan, ctx, judgement):
    """The cache key: the part's files (their content, links resolved), the grading code, the settings, the
    judgement calls, the learning digits, this Python, and whether it ran sandboxed."""
    settings = {k: v for k, v in ctx.settings.items() if k != "probe_seconds"}  # limits change no result
    blob = json.dumps({"part": plan.part, "files": plan.digest(), "code": code_hash(), "settings": settings,
                       "judgement": judgement, "data": ctx.data_hash, "python": sys.version,
                       "sandboxed": ctx.sandboxed}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- one part in the sandbox
def _environment(home, keras2):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
           "MPLCONFIGDIR": str(home / "mpl"), "KERAS_HOME": str(home / ".keras"), "XDG_CACHE_HOME": str(home / ".cache"),
           "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
           "TF_NUM_INTEROP_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
           "PYTHONNOUSERSITE": "1"}
    if keras2:
        env["TF_USE_LEGACY_KERAS"] = "1"
    if sandbox.python_path():  # packages outside the environment (PYTHONPATH, a .pth file), as this process has them
        env["PYTHONPATH"] = os.pathsep.join(sandbox.python_path())
    return env


@functools.cache
def _font_cache():
    """matplotlib's font list, built once here: each part gets a copy (Keras imports pyplot, which would
    otherwise spend 7-30 s rebuilding it in every sandbox)."""
    import matplotlib
    import matplotlib.font_manager  # noqa: F401 -- builds the list if it is not there yet
    return sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))


def _code(folder, part):
    """The probes (and, for the documents, the grader's public package they read with) into ``folder``."""
    shutil.copytree(OBSERVE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    if part == "docs":
        for rel in SHIPPED:
            (folder / "grade" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(GRADE_DIR / rel, folder / "grade" / rel)
        (folder / "grade" / "__init__.py").write_text(PACKAGE_INIT)


def observe_part(plan, part, ctx, keras2=False):
    """Run the part's probes on a copy of its files in the sandbox; ``(reader, result)``."""
    run = Path(tempfile.mkdtemp(prefix=f"{part}-", dir=ctx.workdir))
    try:
        work, code = run / "work", run / "observe"
        plan.copy(work / "submission")
        (work / "home" / "mpl").mkdir(parents=True)
        for font_list in _font_cache() if part != "docs" else []:
            shutil.copy(font_list, work / "home" / "mpl" / font_list.name)
        _code(code, part)
        secret = secrets.token_bytes(32)
        reader = Reader(secret, probe_names(part), stop=ctx.stop,
                        max_epochs=ctx.settings["learns"].get(part, {}).get("epoch_lines", 0))
        cmd = [sandbox.PYTHON if ctx.sandboxed else sys.executable, "-B", str(code / "harness.py"),
               PROBE_MODULE[part], "--submission", str(work / "submission"), "--inputs", str(ctx.inputs_file),
               "--settings", str(ctx.settings_file), "--channel", str(sandbox.CHANNEL_FD)]
        limits = sandbox.Limits(wall_seconds=PART_SECONDS[part], **LIMITS)
        try:
            result = sandbox.run(cmd, workdir=work, env=_environment(work / "home", keras2), limits=limits,
                                 readonly=[code, ctx.inputs_file, ctx.settings_file], hide=graderdata.label_sources(),
                                 cwd=work / "submission", private=True, stdin=secret.hex().encode() + b"\n",
                                 on_message=reader.feed, sandboxed=ctx.sandboxed)
        except sandbox.SandboxError as err:
            raise GraderError(f"the sandbox did not start: {err}") from err
        return reader, result
    finally:
        shutil.rmtree(run, ignore_errors=True)


def _stopped(result, part):
    """Why probes of the part have no record: the sandbox's limits or an abrupt end."""
    tail = " ".join(result.output[-300:].split())
    if result.killed_reason:
        limit = "time" if result.killed_reason == "timeout" else result.killed_reason
        return f"the {part} part was stopped ({result.killed_reason}: its {limit} limit) before this check ran; its " \
               f"last output: {tail}"
    return f"the process running the {part} part ended (exit status {result.returncode}) before this check ran; " \
           f"its last output: {tail}"


def _docs_values(records):
    """The values the docs judges read ({"notebook", "pdf"}), from the two probes, or why one is missing."""
    values = {}
    for probe, fallback in (("notebook", lambda why: {"notebook": {"status": "unreadable", "message": why}}),
                            ("pdf", lambda why: {"pdf": {"ok": False, "message": why}})):
        record = records[probe]
        error = record.get("error")
        if error is None and isinstance(record.get("values"), dict):
            values.update(record["values"] if probe == "notebook" else {"pdf": record["values"]})
            continue
        what = f"`{NOTEBOOK}`" if probe == "notebook" else "the theory PDF"
        kind, message = (error or {}).get("type"), (error or {}).get("message", "")
        if kind == "timeout":
            message = f"reading it {message} (a notebook or PDF far too large or too complex?)"
        why = message if kind == "tampered" else f"{what} could not be read: {message}"
        values.update(fallback(why))
    return values


def run_part(plan, part, ctx, items, judgement):
    """Observe and judge one part of one submission; ``(PartResult, cacheable)``."""
    start, notes = time.perf_counter(), []
    keras2 = part == "keras" and bool(KERAS2_SOURCE.search(plan.text(MAIN_FILE["keras"])))
    reader, result = observe_part(plan, part, ctx, keras2)
    if part == "keras" and not keras2 and any(KERAS2_ERROR.search(str((r.get("error") or {}).get("message", "")))
                                              for r in reader.records.values()):
        keras2 = True  # written for Keras 2: grade it under Keras 2 as it was written
        reader, result = observe_part(plan, part, ctx, keras2)
    if keras2:
        notes.append("graded under Keras 2 (tf-keras with TF_USE_LEGACY_KERAS=1), as the code was written for "
                     "TensorFlow 2.15 or earlier: it uses tf.keras.optimizers.legacy, which Keras 3 refuses")
    if result.warning:
        notes.append(result.warning)
    records, arrays, epochs = reader.observations()
    missing = [p for p in probe_names(part) if p not in records]
    for p in missing:
        records[p] = {"probe": p, "values": None, "error": {"what": p, "type": "not_run", "where": "",
                                                            "message": _stopped(result, part)}}
    said = [n for n in notes if "Keras 2" in n] + [f"not given to the {part} part: {n}" for n in plan.notes]
    if part == "docs":
        obs = Observations({"docs": {"values": _docs_values(records)}}, {}, {}, {}, notes=said)
    else:
        obs = Observations(records, arrays, ctx.inputs, ctx.settings, expected=ctx.expected, notes=said, epochs=epochs)
    verdicts = judge_part(part, obs, items, judgement)
    timed_out = any((r.get("error") or {}).get("type") == "timeout" for r in records.values())
    cacheable = not missing and not timed_out and result.returncode == 0 and not result.killed_reason
    return PartResult(verdicts, time.perf_counter() - start, notes=notes, observations=obs), cacheable


class Context:
    """What every part of a run shares: the inputs and settings files (read-only in the sandbox), the held-out
    labels (only here), whether parts run sandboxed."""

    def __init__(self, cache_dir, workdir, probe_seconds=None, sandboxed=True):
        data_path = graderdata.prepare_data(cache_dir or workdir)
        self.data_hash = graderdata.file_hash(data_path)
        data = graderdata.load_data(data_path)
        self.inputs = graderdata.make_inputs(data)
        self.settings = graderdata.settings()
        self.settings["probe_seconds"].update(probe_seconds or {})
        self.expected = {**reference.expected(self.inputs), "learns.labels": data["y_held"]}
        self.workdir, self.sandboxed = Path(workdir), sandboxed
        self.inputs_file, self.settings_file = self.workdir / "inputs.npz", self.workdir / "settings.json"
        probe_inputs = {k: v for k, v in self.expected.items() if k.startswith("probe.")}
        np.savez(self.inputs_file, **self.inputs, **probe_inputs)
        self.settings_file.write_text(json.dumps(self.settings))

    def stop(self, predictions):
        """A learning probe's answer after an epoch: stop once the criterion holds on the held-out digits."""
        labels = self.expected["learns.labels"]
        return criterion_holds(right_counts(predictions, labels), len(labels))
