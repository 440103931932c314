"""Many submissions at once: paths resolved once, the inputs made once, parts scheduled, the cache kept.

Only this process reads and writes the cache (no part of a submission can see it): a part's
verdicts are stored under :func:`runner.part_key`, and a part whose run failed for the grader's
own reasons, or did not run to its end, is never stored.  Whatever goes wrong with one team's
files (unreadable, special, too deep for the parser, ...) becomes that team's items at 0 with the
reason; the run goes on for every other team.  Interrupted (Ctrl-C, SIGTERM), it kills every
sandbox and removes its temporary folder before the exception goes on.
"""

import concurrent.futures
import errno
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import data as graderdata
from . import sandbox, stage
from .items import POINTS_FILE, Verdict, registry
from .parts import PARTS
from .runner import GraderError, PartResult, grader_context, part_key, run_part

SCHEDULE = sorted(PARTS, key=lambda p: -p.wall_seconds(graderdata.SETTINGS["probe_seconds"]))  # longest first
GRADER_FAULT = "grader_error"


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


def _cached(cache_dir, key):
    path = Path(cache_dir) / "parts" / f"{key}.json" if cache_dir and key else None
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


def _failed(items, part, message, code):
    return PartResult({i: Verdict.fail(message, code=code) for i, it in items.items() if it.part == part.name},
                      notes=[message])


def problem(err):
    """What went wrong with a team's files, in words naming the file where the error does."""
    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror or err}"
    text = " ".join(str(err).split())
    return f"{type(err).__name__}{': ' + text[:300] if text else ''}"


def grade_one_part(part, planned, ctx, items, judgement, cache_dir, sandboxed):
    """The part's verdicts: from the cache, else run; a failure is the team's (its items at 0, the reason said)
    unless it is the grader's own (the sandbox did not start, a full disk): then said, and never cached."""
    name = part.name
    if isinstance(planned, BaseException):
        return _failed(items, part, f"not graded: the grader could not read this submission's files for the {name} "
                                    f"part ({problem(planned)})", "unreadable")
    plan, key = planned
    result, path = _cached(cache_dir, key)
    if result is not None:
        return result
    try:
        result, cacheable = run_part(plan, part, ctx, items, judgement, sandboxed)
    except GraderError as err:
        return _failed(items, part, f"not graded: {err}", GRADER_FAULT)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return _failed(items, part, f"not graded: the grader's disk is full ({problem(err)}): free space and "
                                        f"grade again", GRADER_FAULT)
        return _failed(items, part, f"not graded: the grader could not read this submission's files for the {name} "
                                    f"part ({problem(err)})", "unreadable")
    except Exception as err:  # noqa: BLE001 -- whatever a team's files make the grader trip over stays the team's
        return _failed(items, part, f"not graded: the {name} part of this submission could not be graded "
                                    f"({problem(err)})", "unreadable")
    if path is not None and cacheable:
        try:
            _store(path, result)
        except OSError:  # a full disk: the verdicts stand, only the cache lacks them
            pass
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


def _plans(folder, ctx, judgement, sandboxed):
    """``{part: (plan, cache key)}``, or the exception that reading the team's files raised."""
    try:
        scanned = stage.scan(folder)
    except Exception as err:  # noqa: BLE001
        return dict.fromkeys(SCHEDULE, err)
    out = {}
    for part in SCHEDULE:
        try:
            plan = stage.plan(folder, part, scanned)
            out[part] = (plan, part_key(plan, ctx, judgement, sandboxed))
        except Exception as err:  # noqa: BLE001 -- the team's files (the grader's own faults surface when run)
            out[part] = err
    return out


def grade_submissions(folders, cache_dir=None, jobs=1, points_file=POINTS_FILE, progress=None, probe_seconds=None,
                      sandboxed=True):
    """Grade ``folders`` (a list of :class:`SubmissionResult` in the order given).

    ``cache_dir``: where part verdicts are kept by content hash (None: no cache).  ``probe_seconds``:
    other time limits per probe (``{"default": s, "learns": s}``); a probe cut short is never cached.
    ``sandboxed=False``: without the sandbox (the caller has said so, and every report says so).
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
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    try:
        ctx = grader_context(cache_dir, workdir, probe_seconds)
        plans = {f: _plans(f, ctx, judgement, sandboxed) for f in folders}
        futures, by_key = {}, {}
        for part in SCHEDULE:
            for f in folders:
                planned = plans[f][part]
                key = planned[1] if isinstance(planned, tuple) else ("unreadable", f, part.name)
                first = key not in by_key  # a later submission with the same files shares the first's run
                if first:
                    by_key[key] = pool.submit(grade_one_part, part, planned, ctx, items, judgement, cache_dir,
                                              sandboxed)
                futures[(f, part)] = (by_key[key], first)
        owner = {fut: (f, part) for (f, part), (fut, first) in futures.items() if first}
        for fut in concurrent.futures.as_completed(by_key.values()):
            if progress:
                f, part = owner[fut]
                r = fut.result()
                progress(f"{f.name[:60]}: {part.name} {'(cached)' if r.cached else f'{r.seconds:.1f} s'}")
        return [_assemble(f, futures, items) for f in folders]
    except BaseException:
        sandbox.stop()  # every sandbox killed now: the threads waiting for them return at once
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(workdir, ignore_errors=True)


def _assemble(folder, futures, items):
    out, seconds, cached, notes, observations = {}, 0.0, [], [], {}
    for part in SCHEDULE:
        fut, first = futures[(folder, part)]
        r = fut.result()
        if r.cached or not first:
            cached.append(part.name)
        else:
            seconds += r.seconds
        notes += [n for n in r.notes if n not in notes]
        if r.observations is not None:
            observations[part.name] = r.observations
        for item_id, v in r.verdicts.items():
            out[item_id] = {"points": round(items[item_id].points * v.fraction, 4), "max": items[item_id].points,
                            "message": v.message, "fraction": v.fraction, "code": v.code,
                            "refined": "refined" in v.notes}
    ordered = {i: out[i] for i in items}
    return SubmissionResult(folder.name, folder, ordered, round(sum(v["points"] for v in ordered.values()), 4),
                            sum(it.points for it in items.values()), seconds, cached, notes, observations)
