"""Many submissions at once: paths resolved once, the inputs made once, parts scheduled, the cache kept.

Only this process reads and writes the cache (no part of a submission can see it): a part's
verdicts are stored under :func:`runner.part_key`, and a part whose run failed for the grader's
own reasons, or did not run to its end, is never stored.
"""

import concurrent.futures
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import data as graderdata
from . import reference
from .items import POINTS_FILE, Verdict, registry
from .runner import GraderError, PartResult, part_key, run_part

PARTS = ("keras", "torch", "scratch", "docs")  # longest first


@dataclass
class SubmissionResult:
    name: str
    folder: Path
    items: dict  # item id -> {"points", "max", "message", "fraction", "code"}
    total: float
    max: float
    seconds: float  # the parts' run times (0 for parts taken from the cache)
    cached_parts: list
    notes: list
    observations: dict  # part -> what its verdicts were judged from (parts graded in this run only)


class Context:
    """What every part of this run shares: the inputs and settings files (read-only in the sandbox)."""

    def __init__(self, cache_dir, workdir, probe_seconds=None):
        data_path = graderdata.prepare_data(cache_dir or workdir)
        self.data_hash = graderdata.file_hash(data_path)
        self.inputs = graderdata.make_inputs(graderdata.load_data(data_path))
        self.settings = graderdata.settings()
        self.settings["probe_seconds"].update(probe_seconds or {})
        self.expected = reference.expected(self.inputs)
        self.inputs_file, self.settings_file = Path(workdir) / "inputs.npz", Path(workdir) / "settings.json"
        probe_inputs = {k: v for k, v in self.expected.items() if k.startswith("probe.")}
        np.savez(self.inputs_file, **self.inputs, **probe_inputs)
        self.settings_file.write_text(json.dumps(self.settings))
        self.workdir = Path(workdir)


def _cached(cache_dir, key):
    path = Path(cache_dir) / "parts" / f"{key}.json" if cache_dir else None
    if path is None or not path.is_file():
        return None, path
    try:
        stored = json.loads(path.read_text())
        return PartResult({i: Verdict(**v) for i, v in stored["verdicts"].items()}, 0.0, True, stored["notes"]), path
    except (OSError, ValueError, KeyError, TypeError):
        return None, path


def _store(path, result):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"verdicts": {i: vars(v) for i, v in result.verdicts.items()}, "notes": result.notes}))
    os.replace(tmp, path)


def grade_one_part(folder, part, ctx, items, judgement, key, cache_dir):
    result, path = _cached(cache_dir, key)
    if result is not None:
        return result
    try:
        result, cacheable = run_part(folder, part, ctx, items, judgement)
    except GraderError as err:  # the grader's own failure: said in every item of the part, never cached
        message = f"not graded: {err}"
        return PartResult({i: Verdict.fail(message, code="grader_error") for i, it in items.items() if it.part == part},
                          notes=[message])
    if path is not None and cacheable:
        _store(path, result)
    return result


def submission_names(folders):
    names = {}
    for f in folders:
        name = Path(f).resolve().name
        if name in names:
            raise ValueError(f"two submissions are named {name!r} ({names[name]} and {f}): grades are keyed by the "
                             f"folder's name, so give them different names")
        names[name] = f
    return names


def grade_submissions(folders, cache_dir=None, jobs=1, points_file=POINTS_FILE, progress=None, probe_seconds=None):
    """Grade ``folders`` (a list of :class:`SubmissionResult` in the order given).

    ``cache_dir``: where part verdicts are kept by content hash (None: no cache).  ``probe_seconds``:
    other time limits per probe (``{"default": s, "learns": s}``); a probe cut short is never cached.
    """
    items, judgement = registry(points_file)
    folders = [Path(f).resolve() for f in folders]
    for f in folders:
        if not f.is_dir():
            raise FileNotFoundError(f"submission folder {str(f)!r} does not exist")
    submission_names(folders)
    if jobs < 1:
        raise ValueError(f"--jobs must be a positive integer; received {jobs}")
    cache_dir = Path(cache_dir).resolve() if cache_dir else None
    workdir = Path(tempfile.mkdtemp(prefix="grade-run-"))
    try:
        ctx = Context(cache_dir, workdir, probe_seconds)
        futures, by_key = {}, {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            for part in PARTS:
                for f in folders:
                    key = part_key(f, part, ctx.data_hash)
                    first = key not in by_key  # a later submission with the same files shares the first's run
                    if first:
                        by_key[key] = pool.submit(grade_one_part, f, part, ctx, items, judgement, key, cache_dir)
                    futures[(f, part)] = (by_key[key], first)
            owner = {fut: (f, part) for (f, part), (fut, first) in futures.items() if first}
            for fut in concurrent.futures.as_completed(by_key.values()):
                if progress:
                    f, part = owner[fut]
                    r = fut.result()
                    progress(f"{f.name[:60]}: {part} {'(cached)' if r.cached else f'{r.seconds:.1f} s'}")
        return [_assemble(f, futures, items) for f in folders]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _assemble(folder, futures, items):
    out, seconds, cached, notes, observations = {}, 0.0, [], [], {}
    for part in PARTS:
        fut, first = futures[(folder, part)]
        r = fut.result()
        if r.cached or not first:
            cached.append(part)
        else:
            seconds += r.seconds
        notes += [n for n in r.notes if n not in notes]
        if r.observations is not None:
            observations[part] = r.observations
        for item_id, v in r.verdicts.items():
            out[item_id] = {"points": round(items[item_id].points * v.fraction, 4), "max": items[item_id].points,
                            "message": v.message, "fraction": v.fraction, "code": v.code,
                            "refined": "refined" in v.notes}
    ordered = {i: out[i] for i in items}
    return SubmissionResult(folder.name, folder, ordered, round(sum(v["points"] for v in ordered.values()), 4),
                            sum(it.points for it in items.values()), seconds, cached, notes, observations)
