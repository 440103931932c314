"""Grade submission folders: each part observed in a sandbox, judged in this process, cached by content.

A *part* (``scratch``, ``torch``, ``keras``, ``docs``) is the set of items that read the same
files.  For the three networks, the part's probes (grade/observe/) run on a copy of the
submission inside a bubblewrap sandbox (grade/sandbox.py) and write down what the submission's
code did; the judges (grade/judge/, and the hidden grade/diagnose/) decide the verdicts here,
from those observations alone.  The documents are read here (the PDF's text through the
sandbox).  A part's verdicts are cached, by this process only, under a hash of the files it
reads, the grading code, the settings and the learning digits; failures that come from the
grader's own environment are never cached.
"""

import ast
import functools
import hashlib
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


from . import data as graderdata
from . import sandbox
from .judge import docs
from .judge.common import Observations
from .observations import MAIN_FILE, OBSERVE, PROBE_MODULE, judge_part, probe_names, read_observations
from .pdftools import ToolMissing, find_pdfs, pdf_check

GRADE_DIR = Path(__file__).resolve().parent
PART_SECONDS = {"scratch": 240, "torch": 300, "keras": 420}  # the sandbox's wall limit (a backstop)
LIMITS = dict(memory_bytes=3 * 2**30, processes=512, file_size_bytes=256 * 2**20, output_bytes=64 * 1024)
KERAS2_SOURCE = re.compile(r"\boptimizers\s*\.\s*legacy\b")
KERAS2_ERROR = re.compile(r"not supported in Keras 3|TF_USE_LEGACY_KERAS|tf_keras", re.IGNORECASE)
COPY_IGNORE = {".git", ".venv", "venv", "__pycache__", "build", ".ipynb_checkpoints", "node_modules", ".pytest_cache"}
COPY_MAX_FILE = 50 * 2**20


class GraderError(RuntimeError):
    """The grader's own environment failed (not the submission): reported, never cached."""


@dataclass
class PartResult:
    verdicts: dict  # item id -> Verdict
    seconds: float = 0.0
    cached: bool = False
    notes: list = field(default_factory=list)  # said in the report (Keras 2, no sandbox, ...)
    observations: object = None  # what the verdicts were judged from (not cached)


# --------------------------------------------------------------------------- files a part reads
def local_imports(folder, main):
    """``main`` and the submission's own modules it imports (transitively), as relative paths."""
    folder, seen, todo = Path(folder), set(), [main]
    while todo:
        rel = todo.pop()
        if rel in seen or not (folder / rel).is_file():
            continue
        seen.add(rel)
        try:
            tree = ast.parse((folder / rel).read_bytes())
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for name in names:
                top = name.split(".")[0]
                if (folder / f"{top}.py").is_file():
                    todo.append(f"{top}.py")
    return sorted(seen)


def part_inputs(folder, part):
    if part == "docs":
        usable, refused = find_pdfs(folder)
        return [docs.NOTEBOOK, *sorted(map(str, [*usable, *refused]))]
    return local_imports(folder, MAIN_FILE[part]) or [MAIN_FILE[part]]


def _tree_hash(*paths):
    h = hashlib.sha256()
    for root in paths:
        for p in sorted(Path(root).rglob("*.py")) if Path(root).is_dir() else [Path(root)]:
            h.update(str(p.relative_to(GRADE_DIR)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def part_key(folder, part, data_hash):
    folder = Path(folder)

    def digest(rel):
        p = folder / rel
        return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else str(p.is_symlink())
    code = _tree_hash(GRADE_DIR / "observe", GRADE_DIR / "judge", GRADE_DIR / "diagnose", GRADE_DIR / "items.py",
                      GRADE_DIR / "data.py", GRADE_DIR / "runner.py")
    settings = {k: v for k, v in graderdata.SETTINGS.items() if k != "probe_seconds"}  # limits change no result
    blob = json.dumps({"part": part, "files": {rel: digest(rel) for rel in part_inputs(folder, part)}, "code": code,
                       "settings": settings, "data": data_hash, "python": sys.version,
                       "sandboxed": sandbox.available()[0] is not None}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def copy_submission(src, dst):
    """A copy of the submission without caches, environments, oversized files, or links leading outside it."""
    src = Path(src).resolve()

    def ignore(folder, names):
        skip = set()
        for n in names:
            p = Path(folder) / n
            outside = p.is_symlink() and not p.resolve().is_relative_to(src)
            if n in COPY_IGNORE or outside or (p.is_file() and not p.is_symlink() and p.stat().st_size > COPY_MAX_FILE):
                skip.add(n)
        return skip
    shutil.copytree(src, dst, ignore=ignore, symlinks=True)


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
    return env


@functools.cache
def _font_cache():
    """matplotlib's font list, built once here: each part gets a copy (Keras imports pyplot, which would
    otherwise spend 7-30 s rebuilding it in every sandbox)."""
    import matplotlib
    import matplotlib.font_manager  # noqa: F401 -- builds the list if it is not there yet
    return sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))


def observe_part(folder, part, inputs_file, settings_file, keras2=False):
    """Run the part's probes on a copy of ``folder`` in the sandbox; ``(records, arrays, result)``."""
    run = Path(tempfile.mkdtemp(prefix=f"grade-{part}-"))
    try:
        work = run / "work"
        copy_submission(folder, work / "submission")
        (work / "home" / "mpl").mkdir(parents=True)
        for font_list in _font_cache():
            shutil.copy(font_list, work / "home" / "mpl" / font_list.name)
        out = work / "out"
        code = run / "observe"
        shutil.copytree(OBSERVE, code, ignore=shutil.ignore_patterns("__pycache__"))
        cmd = [sys.executable, "-B", str(code / "harness.py"), PROBE_MODULE[part], "--submission",
               str(work / "submission"), "--inputs", str(inputs_file), "--settings", str(settings_file), "--out", str(out)]
        limits = sandbox.Limits(wall_seconds=PART_SECONDS[part], **LIMITS)
        try:
            result = sandbox.run(cmd, workdir=work, env=_environment(work / "home", keras2), limits=limits,
                                 readonly=[code, inputs_file, settings_file], cwd=work / "submission",
                                 log_path=run / "console.log")
        except sandbox.SandboxError as err:
            raise GraderError(f"the sandbox did not start: {err}") from err
        records, arrays = read_observations(out)
        return records, arrays, result
    finally:
        shutil.rmtree(run, ignore_errors=True)


def _part_failed(result, part, records, probes):
    """Why probes of the part have no record: the sandbox's limits or an abrupt end."""
    if result.killed_reason:
        return (f"the {part} part was stopped ({result.killed_reason}: its "
                f"{'time' if result.killed_reason == 'timeout' else result.killed_reason} limit) before this check "
                f"ran; its last output: {' '.join(result.output[-300:].split())}")
    return (f"the process running the {part} part ended (exit status {result.returncode}) before this check ran; "
            f"its last output: {' '.join(result.output[-300:].split())}")


def run_part(folder, part, ctx, items, judgement):
    """Observe and judge one part of one submission; ``(PartResult, cacheable)``."""
    start, notes = time.perf_counter(), []
    if part == "docs":
        try:
            obs = docs.observations(folder, pdf_check)
        except ToolMissing as err:
            raise GraderError(str(err)) from err
        return PartResult(judge_part(part, obs, items, judgement), time.perf_counter() - start, observations=obs), True
    source = Path(folder) / MAIN_FILE[part]
    keras2 = part == "keras" and source.is_file() and bool(KERAS2_SOURCE.search(source.read_text(errors="replace")))
    records, arrays, result = observe_part(folder, part, ctx.inputs_file, ctx.settings_file, keras2)
    if part == "keras" and not keras2 and any(KERAS2_ERROR.search(str((r.get("error") or {}).get("message", "")))
                                              for r in records.values()):
        keras2 = True  # written for Keras 2: grade it under Keras 2 as it was written
        records, arrays, result = observe_part(folder, part, ctx.inputs_file, ctx.settings_file, keras2)
    if keras2:
        notes.append("graded under Keras 2 (tf-keras with TF_USE_LEGACY_KERAS=1), as the code was written for "
                     "TensorFlow 2.15 or earlier: it uses tf.keras.optimizers.legacy, which Keras 3 refuses")
    if result.warning:
        notes.append(result.warning)
    probes = [name for name, _ in probe_names(part)]
    missing = [p for p in probes if p not in records]
    for p in missing:
        records[p] = {"probe": p, "values": None, "error": {"what": p, "type": "not_run", "where": "",
                                                            "message": _part_failed(result, part, records, probes)}}
    obs = Observations(records, arrays, ctx.inputs, ctx.settings, expected=ctx.expected,
                       notes=[n for n in notes if "Keras 2" in n])
    verdicts = judge_part(part, obs, items, judgement)
    timed_out = any((r.get("error") or {}).get("type") == "timeout" for r in records.values())
    cacheable = not missing and not timed_out and result.returncode == 0 and not result.killed_reason
    return PartResult(verdicts, time.perf_counter() - start, notes=notes, observations=obs), cacheable
