"""Return each team's report to its repository: one commit adding ``FEEDBACK.md`` on top of its default branch.

The commit is made in a bare clone with git's plumbing (the team's files are never checked out,
no hook runs) and pushed to the branch the repository's HEAD names; a repository whose
``FEEDBACK.md`` already holds the report is left as it is, so a second run pushes nothing.
"""

import tempfile
from pathlib import Path

from ..report import report_filename
from . import gitrepo
from .gitrepo import CollectError, Limits

FEEDBACK = "FEEDBACK.md"


def return_report(location, report, message, limits=Limits()):
    """Push ``report`` (a file) as ``FEEDBACK.md`` to ``location``'s default branch: ``(branch, commit or "")``."""
    with tempfile.TemporaryDirectory(prefix="grade-feedback-") as tmp:
        repo = gitrepo.clone(location, Path(tmp) / "repo.git", limits)
        branch = gitrepo.git("symbolic-ref", "--quiet", "--short", "HEAD", git_dir=repo, check=False).stdout.strip()
        if not branch:
            raise CollectError(f"{location}: its HEAD names no branch to push to")
        head = gitrepo.head_commit(repo)
        blob = gitrepo.git("hash-object", "-w", "--no-filters", "--", str(Path(report).resolve()),
                           git_dir=repo).stdout.strip()
        index = Path(tmp) / "index"
        gitrepo.git("read-tree", head, git_dir=repo, index=index)
        gitrepo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{FEEDBACK}", git_dir=repo, index=index)
        tree = gitrepo.git("write-tree", git_dir=repo, index=index).stdout.strip()
        if tree == gitrepo.git("rev-parse", f"{head}^{{tree}}", git_dir=repo).stdout.strip():
            return branch, ""
        commit = gitrepo.git("commit-tree", tree, "-p", head, "-m", message, git_dir=repo).stdout.strip()
        gitrepo.git("push", "--quiet", "--", str(location), f"{commit}:refs/heads/{branch}", git_dir=repo,
                    timeout=limits.clone_seconds)
        return branch, commit


def return_reports(rows, grades, progress=print):
    """Push each collected team's ``grades/<team>.md`` (``rows``: collected.csv); ``{team: reason}`` of failures."""
    failed = {}
    for team, row in sorted(rows.items()):
        if row["status"] != "collected":
            continue
        report = Path(grades) / report_filename(team)
        try:
            if not report.is_file():
                raise CollectError(f"no report {report} (grade the submissions first)")
            branch, commit = return_report(row["repository"], report,
                                           f"Feedback on problem set 1 (graded commit {row['commit']})")
            progress(f"{team}: {FEEDBACK} pushed to {branch} ({commit[:12]})" if commit
                     else f"{team}: {FEEDBACK} on {branch} already holds the report")
        except CollectError as err:
            failed[team] = str(err)
            progress(f"{team}: not returned: {err}")
    return failed
