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
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import data as graderdata
from . import reference, sandbox
from .observations import judge_part
from .pipeline import Context, observe

GRADE_DIR = Path(__file__).resolve().parent
LIMITS = dict(memory_bytes=3 * 2**30, processes=512, file_size_bytes=256 * 2**20, output_bytes=64 * 1024,
              tmp_bytes=256 * 2**20, disk_bytes=512 * 2**20)
KERAS2_SOURCE = re.compile(r"\boptimizers\s*\.\s*legacy\b")
KERAS2_ERROR = re.compile(r"not supported in Keras 3|TF_USE_LEGACY_KERAS|tf_keras", re.IGNORECASE)
MACHINE_FAULTS = ("timeout", "tool_missing")  # a probe's errors that say nothing final about the submission


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


def part_key(plan, ctx, judgement, sandboxed):
    """The cache key: the part's files (their content, links resolved), the grading code, the settings, the
    judgement calls, the learning digits, this Python, and whether it ran sandboxed."""
    settings = {k: v for k, v in ctx.settings.items() if k != "probe_seconds"}  # limits change no result
    blob = json.dumps({"part": plan.part, "files": plan.digest(), "code": code_hash(), "settings": settings,
                       "judgement": judgement, "data": ctx.data_hash, "python": sys.version,
                       "sandboxed": sandboxed}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def grader_context(cache_dir, workdir, probe_seconds=None):
    """The grader's inputs (its own seed), the right answers computed by grade/reference.py, the digits made once
    in the cache (or in ``workdir`` without one)."""
    data_path = graderdata.prepare_data(cache_dir or workdir)
    return Context(workdir, data_path, graderdata.GRADER_SEED, reference.expected, probe_seconds)


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


def sandboxed_runner(plan, ctx, sandboxed, keras2):
    """``run`` for grade/pipeline.py: the harness on a copy of the part's files (``plan``) in the sandbox, under
    the kernel's limits; ``sandboxed=False``: the weak isolation of ``--no-sandbox``."""
    def run(args, stdin, on_message, seconds):
        work = Path(tempfile.mkdtemp(prefix=f"{plan.part}-", dir=ctx.workdir))
        try:
            plan.copy(work / "submission")
            (work / "home" / "mpl").mkdir(parents=True)
            for font_list in _font_cache():
                shutil.copy(font_list, work / "home" / "mpl" / font_list.name)
            cmd = [sandbox.PYTHON if sandboxed else sys.executable, "-B", str(ctx.code / "harness.py"), *args,
                   "--submission", str(work / "submission"), "--channel", str(sandbox.CHANNEL_FD)]
            try:
                return sandbox.run(cmd, workdir=work, env=_environment(work / "home", keras2),
                                   limits=sandbox.Limits(wall_seconds=seconds, **LIMITS),
                                   readonly=[ctx.code, ctx.inputs_file, ctx.settings_file],
                                   hide=graderdata.label_sources(), cwd=work / "submission", private=True, stdin=stdin,
                                   on_message=on_message, sandboxed=sandboxed)
            except sandbox.SandboxError as err:
                raise GraderError(f"the sandbox did not start: {err}") from err
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return run


def run_part(plan, part, ctx, items, judgement, sandboxed=True):
    """Observe (in the sandbox) and judge one part (grade/parts.py) of one submission; ``(PartResult, cacheable)``."""
    start, notes = time.perf_counter(), []
    keras2 = part.keras2 and bool(KERAS2_SOURCE.search(plan.text(part.main_file)))
    obs, result, missing = observe(part, ctx, sandboxed_runner(plan, ctx, sandboxed, keras2))
    if part.keras2 and not keras2 and any(KERAS2_ERROR.search(str(r["error"].get("message", "")))
                                          for p, r in obs.records.items() if r.get("error") and p not in missing):
        keras2 = True  # written for Keras 2: grade it under Keras 2 as it was written
        obs, result, missing = observe(part, ctx, sandboxed_runner(plan, ctx, sandboxed, keras2))
    if keras2:
        notes.append("graded under Keras 2 (tf-keras with TF_USE_LEGACY_KERAS=1), as the code was written for "
                     "TensorFlow 2.15 or earlier: it uses tf.keras.optimizers.legacy, which Keras 3 refuses")
    if result.warning:
        notes.append(result.warning)
    obs.notes = [n for n in notes if "Keras 2" in n] + [f"not given to the {part.name} part: {n}" for n in plan.notes]
    verdicts = judge_part(part.name, obs, items, judgement)
    machine = any((r.get("error") or {}).get("type") in MACHINE_FAULTS for r in obs.records.values())
    cacheable = not missing and not machine and result.returncode == 0 and not result.killed_reason
    return PartResult(verdicts, time.perf_counter() - start, notes=notes, observations=obs), cacheable
