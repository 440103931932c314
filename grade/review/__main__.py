"""``python -m grade.review SUBMISSION_DIR ... --out DIR [--rubric FILE] [--marks FILE]``."""

import argparse
import sys

from .marks import MarksError, read_marks
from .prepare import prepare_review
from .rubric import RubricError, load_rubric
from ..pdftools import ToolMissing
from ..ta_io import submission_folders


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m grade.review",
                                 description="Prepare the theory review page of submissions (grade/README.md).")
    ap.add_argument("submissions", nargs="+", help="submission folders (the folder name is the team)")
    ap.add_argument("--out", default="build/review", help="output folder (default: build/review)")
    ap.add_argument("--rubric", default=None, help="rubric TOML (default: theory/rubric.toml)")
    ap.add_argument("--marks", default=None, help="a marks CSV to start from and to total")
    ap.add_argument("--jobs", type=int, default=2, help="submissions read at once (default 2)")
    ap.add_argument("--image-height", type=int, default=1050, help="page image height in pixels (default 1050, ~90 dpi)")
    args = ap.parse_args(argv)
    args.submissions = submission_folders(args.submissions)
    try:
        result = prepare_review(args.submissions, args.out, rubric_path=args.rubric, marks_path=args.marks,
                                jobs=args.jobs, height=args.image_height)
    except (RubricError, MarksError, ToolMissing, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(result['teams'])} submissions reviewed in {result['seconds']:.1f} s: {result['html']} "
          f"({result['html_bytes'] / 2**20:.1f} MB), {result['json']}")
    if args.marks:
        marks = read_marks(args.marks, load_rubric(args.rubric), teams=result["teams"])
        for team, r in marks.items():
            print(f"  {team}: {r['total']:g} / {r['max']:g}" if r["complete"] else
                  f"  {team}: not all marked, no total yet ({r['earned']:g} of {r['max']:g} marked so far)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
