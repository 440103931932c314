"""``python -m grade SUBMISSION_DIR ... [--out build/grades] [--jobs N]``: see grade/README.md."""

import argparse
import sys
import time
from pathlib import Path

from .report import write_reports
from .runner import POINTS_FILE, grade_submissions


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grade", description=(
        "Grade problem set 1 submissions (folders holding network_scratch.py, network_pytorch.py, "
        "network_tensorflow.py, utils.py, MNIST_classification.ipynb and a theory PDF) against this "
        "model answer. Not a security sandbox: run only code you would run yourself."))
    parser.add_argument("submissions", nargs="+", type=Path, help="submission folders (the folder name is the key)")
    parser.add_argument("--out", type=Path, default=Path("build/grades"), help="output folder (default build/grades)")
    parser.add_argument("--jobs", type=int, default=1, help="parts graded at once (default 1; 2 on a 2-core machine)")
    parser.add_argument("--cache", type=Path, default=Path("build/grade-cache"),
                        help="cache of part results by content hash (default build/grade-cache)")
    parser.add_argument("--no-cache", action="store_true", help="grade everything afresh and keep no cache")
    parser.add_argument("--points", type=Path, default=POINTS_FILE, help="points table (default grade/points.toml)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        results = grade_submissions(args.submissions, cache_dir=None if args.no_cache else args.cache,
                                    jobs=args.jobs, points_file=args.points,
                                    progress=lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    out = write_reports(results, args.out)
    width = max(len(r.name) for r in results)
    for r in results:
        cached = f" (cached: {', '.join(r.cached_parts)})" if r.cached_parts else ""
        print(f"{r.name:<{width}}  {r.total:g} / {r.max:g}  {r.seconds:.1f} s{cached}")
    print(f"wrote {out}/grades.csv, grades.json, timing.csv and one .md per submission "
          f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
