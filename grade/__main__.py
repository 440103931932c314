"""``python -m grade SUBMISSION_DIR ... [--out build/grades] [--jobs N]``: see grade/README.md."""

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from . import isolation, sandbox
from .batch import GRADER_FAULT, grade_submissions
from .collect import graded_commit
from .items import POINTS_FILE, TableError
from .moodle import moodle_scale
from .report import InputError, apply_overrides, attach_theory, incomplete_theory, read_roster, write_reports
from .ta_io import submission_folders


def writable(folder):
    """Create ``folder`` and show it takes a file, before any grading starts."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grade", description=(
        "Grade problem set 1 submissions (folders holding network_scratch.py, network_pytorch.py, "
        "network_tensorflow.py, utils.py, MNIST_classification.ipynb and a theory PDF). Each part of a "
        "submission runs in a bubblewrap sandbox with kernel-enforced limits; the verdicts are decided outside it."))
    parser.add_argument("submissions", nargs="+", type=Path, help="submission folders (the folder name is the key)")
    parser.add_argument("--out", type=Path, default=Path("build/grades"), help="output folder (default build/grades)")
    parser.add_argument("--jobs", type=int, default=2, help="parts graded at once (default 2)")
    parser.add_argument("--cache", type=Path, default=Path("build/grade-cache"),
                        help="cache of part verdicts by content hash (default build/grade-cache)")
    parser.add_argument("--no-cache", action="store_true", help="grade everything afresh and keep no cache")
    parser.add_argument("--points", type=Path, default=POINTS_FILE, help="points table (default grade/points.toml)")
    parser.add_argument("--roster", type=Path, help="CSV team,name,matriculation,email: also write moodle.csv")
    parser.add_argument("--overrides", type=Path, help="TOML of points set by hand, each with its reason")
    parser.add_argument("--theory-marks", type=Path, help="the theory marks CSV the review page saved "
                        "(python -m grade.review): theory points join the totals, reports and moodle.csv")
    parser.add_argument("--allow-incomplete", action="store_true", help="exit 0 although some teams' theory marks "
                        "are incomplete (their theory, total and Moodle grade stay empty either way)")
    parser.add_argument("--moodle-max", type=float, metavar="M", help="moodle.csv's grade out of M (Moodle's maximum "
                        "grade) instead of raw points")
    parser.add_argument("--weights", metavar="code=W,theory=W", help="with --moodle-max: the shares of code and "
                        "theory in the grade (default: in proportion to their points)")
    parser.add_argument("--no-sandbox", action="store_true", help="grade where the sandbox cannot start, with a weak "
                        "isolation only: the submissions' code can then read and change this grader's files (every "
                        "report says so)")
    args = parser.parse_args(argv)
    if args.no_sandbox:
        print(f"WARNING: {isolation.warning()}.", file=sys.stderr, flush=True)
    else:
        path, why = sandbox.available()
        if path is None:
            print(f"python -m grade: refusing to grade: the sandbox cannot start here: {why}.\nGrading without it "
                  f"(--no-sandbox) lets the submissions' code read and change this grader's files.", file=sys.stderr)
            return 2
    cwd = Path.cwd()
    out, cache = (cwd / args.out).resolve(), None if args.no_cache else (cwd / args.cache).resolve()
    try:
        writable(out)
        if cache is not None:
            writable(cache)
    except OSError as err:
        parser.error(f"cannot write to {err.filename or out}: {err.strerror or err} (choose --out/--cache elsewhere)")
    roster = None
    try:
        if args.roster:
            roster = read_roster(args.roster)
        for given in (args.overrides, args.theory_marks):
            if given and not given.is_file():
                raise InputError(f"{given}: no such file")
        scale = moodle_scale(args.moodle_max, args.weights, theory=bool(args.theory_marks))
        if (args.moodle_max is not None or args.weights) and not args.roster:
            raise InputError("--moodle-max and --weights set the grade in moodle.csv: give --roster too")
    except (InputError, OSError) as err:
        parser.error(str(err))
    args.submissions = submission_folders(args.submissions)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored (nohup, a background job): left so
            signal.signal(signum, _terminate)
    start = time.perf_counter()
    try:
        collected = {Path(f).resolve(): graded_commit(f) for f in args.submissions}  # grade.collect's record, if any
        results = grade_submissions(args.submissions, cache_dir=cache, jobs=args.jobs, points_file=args.points,
                                    progress=lambda msg: print(f"  {_printable(msg)}", file=sys.stderr, flush=True),
                                    sandboxed=not args.no_sandbox)
        for r in results:
            r.collected = collected.get(Path(r.folder).resolve())
        if args.overrides:
            apply_overrides(results, args.overrides)
        if args.theory_marks:
            attach_theory(results, args.theory_marks)
        write_reports(results, out, roster, scale)
    except (FileNotFoundError, ValueError, TableError, InputError) as err:  # MarksError, RubricError too
        parser.error(str(err))
    except KeyboardInterrupt:
        print("python -m grade: interrupted; every sandbox was stopped and the temporary files removed",
              file=sys.stderr)
        return 128 + _SIGNAL[0]
    except OSError as err:  # writing the outputs: the grader's own fault
        print(f"python -m grade: cannot write the grades: {err}", file=sys.stderr)
        return 1
    width = min(max(len(_shown(r.name)) for r in results), 40)
    for r in results:
        cached = f" (cached: {', '.join(r.cached_parts)})" if r.cached_parts else ""
        total = "-" if r.total is None else f"{r.total:g}"
        print(f"{_shown(r.name):<{width}}  {total} / {r.max:g}  {r.seconds:.1f} s{cached}")
    print(f"wrote {os.path.relpath(out, cwd) if out.is_relative_to(cwd) else out}/grades.csv, grades.json, "
          f"timing.csv{', moodle.csv' if roster else ''} and one .md per submission ({time.perf_counter() - start:.1f} s)")
    faults = sorted({v["message"] for r in results for v in r.items.values() if v["code"] == GRADER_FAULT})
    for message in faults:
        print(f"python -m grade: the grader's own fault, not the team's: {message}", file=sys.stderr)
    incomplete = incomplete_theory(results)
    if incomplete:
        print(f"{'WARNING' if args.allow_incomplete else 'ERROR'}: the theory marks of {len(incomplete)} team(s) are "
              f"incomplete; their theory, total and Moodle grade are left empty:", file=sys.stderr)
        for team, questions in incomplete:
            print(f"  {_shown(team)}: not completely marked: {', '.join(questions)}", file=sys.stderr)
        if not args.allow_incomplete:
            print("finish the marks on the review page (python -m grade.review) and run again, or pass "
                  "--allow-incomplete to accept the empty cells", file=sys.stderr)
            return 1
    return 1 if faults else 0


_SIGNAL = [signal.SIGINT]  # the signal that interrupted the run (its exit status: 128 + it)


def _terminate(signum, frame):
    """SIGTERM, SIGHUP: unwind as Ctrl-C does (every sandbox stopped, temporary folders removed)."""
    _SIGNAL[0] = signum
    raise KeyboardInterrupt


def _shown(name):
    """A submission's name for the console: printable, at most 40 characters."""
    return _printable(name[:40])


def _printable(text):
    """``text`` with every character a terminal would act on (escape sequences, carriage returns) shown as ?."""
    return "".join(c if c.isprintable() else "?" for c in text)


if __name__ == "__main__":
    sys.exit(main())
