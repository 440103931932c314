"""``python -m grade.collect SOURCE ... [--roster FILE] [--commits FILE] [--template REPO] [--out submissions]``."""

import argparse
import os
import sys
import time
from pathlib import Path

from . import COLLECTED, Limits, TeamError, assign, collect, read_collected, read_commits, read_roster_keys, \
    read_url_list, snapshot, source
from .feedback import FEEDBACK, return_reports
from .gitrepo import MiB


def _log(msg):
    print(f"  {msg}", flush=True)


def _parser():
    defaults = Limits()
    parser = argparse.ArgumentParser(prog="python -m grade.collect", description=(
        "Write each team's commit as submissions/<team>/ (the commit's tree, no .git) and submissions/collected.csv, "
        "from folders of cloned repositories or repository URLs. See grade/README.md."))
    add = parser.add_argument
    add("sources", nargs="*", help="folders of cloned repositories, or repository URLs")
    add("--urls", type=Path, help="a file of sources, one a line, or GitHub Classroom's grades CSV "
        "(student_repository_url, group_name)")
    add("--roster", type=Path, help="roster CSV (column team; the grader's roster): teams are named as it names them")
    add("--roster-column", help="the roster's column naming each team's repository (URL or name) or Classroom group "
        "(default: repository if there is one, else team)")
    add("--commits", type=Path, help="CSV of the commit to collect per team (columns commit and team or repository); "
        "without it, HEAD as cloned")
    add("--template", help="the template repository (URL or folder): a commit whose tree is one of its commits' trees "
        "is 'not submitted'")
    add("--out", type=Path, default=Path("submissions"), help="output folder (default submissions)")
    add("--force", action="store_true", help="replace the folders of teams collected before")
    add("--jobs", type=int, default=4, help="repositories cloned at once (default 4)")
    add("--max-file-mb", type=float, default=defaults.max_file / MiB,
        help=f"largest file collected (default {defaults.max_file / MiB:g})")
    add("--max-total-mb", type=float, default=defaults.max_total / MiB,
        help=f"largest tree collected (default {defaults.max_total / MiB:g})")
    add("--snapshot", type=Path, help="collect nothing: record each team's current commit in this file (a commit "
        "file for --commits; run it at the deadline)")
    add("--return-reports", type=Path, metavar="GRADES", help=f"collect nothing: commit GRADES/<team>.md (python -m "
        f"grade's reports) as {FEEDBACK} into each repository collected.csv in --out lists")
    return parser


def _return(args):
    rows = read_collected(args.out)
    if rows is None:
        raise TeamError(f"{args.out / COLLECTED}: no such file (python -m grade.collect writes it)")
    failed = return_reports(rows, args.return_reports, progress=_log)
    done = sum(r["status"] == "collected" for r in rows.values()) - len(failed)
    print(f"returned {done} report(s)" + (f"; not returned: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _teams(args):
    sources = [source(s) for s in args.sources] + (read_url_list(args.urls) if args.urls else [])
    if not sources:
        raise TeamError("no sources: give folders or URLs of the teams' repositories, or --urls FILE")
    roster = read_roster_keys(args.roster, args.roster_column) if args.roster else None
    return assign(sources, roster), roster or {}


def _snapshot(args, teams, start):
    if args.snapshot.exists() and not args.force:
        raise TeamError(f"{args.snapshot} exists (nothing was overwritten; --force replaces it)")
    failed = snapshot(teams, args.snapshot, jobs=args.jobs, progress=_log)
    print(f"recorded {len(teams) - len(failed)} of {len(teams)} commits in {args.snapshot} "
          f"({time.perf_counter() - start:.1f} s)")
    return 1 if failed else 0


def _collect(args, teams, roster, start):
    commits = read_commits(args.commits, teams) if args.commits else None
    if commits is None:
        print("no --commits file: collecting HEAD as cloned now (collected.csv says so); commits pushed after the "
              "deadline are included", file=sys.stderr)
    if not args.template:
        print("no --template: a repository counts as 'not submitted' only when its commit is its first",
              file=sys.stderr)
    limits = Limits(max_file=int(args.max_file_mb * MiB), max_total=int(args.max_total_mb * MiB))
    rows = collect(teams, args.out, commits, args.commits.name if args.commits else "", args.template, limits,
                   args.force, args.jobs, roster_teams=roster, progress=_log)
    counts = {}
    for r in rows.values():
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print(f"{', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}; wrote {os.path.join(args.out, COLLECTED)} "
          f"({time.perf_counter() - start:.1f} s)")
    refused = sorted(t for t, r in rows.items() if r["status"] == "refused")
    if refused:
        print(f"refused (see the note in {COLLECTED}): {', '.join(refused)}", file=sys.stderr)
    return 1 if refused else 0


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.max_file_mb <= 0 or args.max_total_mb <= 0:
        parser.error("--jobs, --max-file-mb and --max-total-mb must be positive")
    start = time.perf_counter()
    try:
        if args.return_reports:
            return _return(args)
        teams, roster = _teams(args)
        return _snapshot(args, teams, start) if args.snapshot else _collect(args, teams, roster, start)
    except (ValueError, OSError) as err:  # TeamError, a collected.csv that is not one, a file that cannot be read
        parser.error(str(err))


if __name__ == "__main__":
    sys.exit(main())
