"""Collect every team's commit into ``<out>/<team>/`` and record it in ``<out>/collected.csv``."""

import concurrent.futures
import csv
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from . import gitrepo
from .gitrepo import CollectError, Limits
from ..ta_io import COLLECTED, read_cell, write_csv
from .teams import TeamError

DATE = "committer_date (student's clock)"
COLUMNS = ["team", "status", "repository", "commit", "commit_from", DATE, "commits_after", "collected_at", "note"]
# status: collected (the folder holds the commit's tree), not submitted (nothing beyond the starter commit),
# refused (the note says why), no repository (a team of the roster without one)


def read_collected(folder):
    """``{team: row}`` of ``folder/collected.csv``, or None when there is none."""
    path = Path(folder) / COLLECTED
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != COLUMNS:
            raise ValueError(f"{path}: not a collected.csv of python -m grade.collect (columns {reader.fieldnames}, "
                             f"expected {COLUMNS})")
        rows = [{k: read_cell(v or "") for k, v in row.items()} for row in reader]
        return {row["team"]: row for row in rows}


def graded_commit(submission):
    """What the collected.csv beside ``submission`` (in its parent folder) says of it, keyed by its folder name:
    None when there is no collected.csv there; ``{"commit", "repository", "committed" (the committer date, by the
    student's clock), "commits_after"}`` when it was collected; ``{}`` when collected.csv does not record it as
    collected (the commit is then unknown)."""
    folder = Path(submission).resolve()
    rows = read_collected(folder.parent)
    if rows is None:
        return None
    row = rows.get(folder.name)
    if not row or row["status"] != "collected":
        return {}
    return {"commit": row["commit"], "repository": row["repository"], "committed": row[DATE],
            "commits_after": row["commits_after"]}


def _write_collected(out, rows):
    """Write ``rows`` into ``out/collected.csv``, keeping the rows of teams not collected this time."""
    merged = {**(read_collected(out) or {}), **rows}
    tmp = Path(out) / f".{COLLECTED}.{os.getpid()}.tmp"
    write_csv(tmp, COLUMNS, [[merged[t][c] for c in COLUMNS] for t in sorted(merged)])
    os.replace(tmp, Path(out) / COLLECTED)


def _outside(path, target):
    joined = os.path.normpath(os.path.join(os.path.dirname(path), target))
    return os.path.isabs(target) or joined == ".." or joined.startswith("../")


def _collect_one(team, src, commit, commit_from, clone_dir, stage, template_trees, limits):
    row = dict.fromkeys(COLUMNS, "")
    row.update(team=team, repository=src.location, commit_from=commit_from, status="refused",
               collected_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    notes = []
    try:
        repo = gitrepo.clone(src.location, clone_dir, limits)
        sha = gitrepo.resolve(repo, commit, src.location) if commit else gitrepo.head_commit(repo)
        tree, parents, date, branch, after, note = gitrepo.commit_info(repo, sha)
        row.update(commit=sha, commits_after="cannot tell" if after is None else after)
        row[DATE] = date
        notes += [note] if note else []
        notes += [f"{after} commit(s) on {branch} after it, not collected"] if after else []
        if (tree in template_trees) if template_trees is not None else not parents:
            row["status"] = "not submitted"
            notes.insert(0, "nothing beyond the starter commit: the commit's tree is one of the template's"
                         if template_trees is not None else "nothing beyond the starter commit: the commit is the "
                         "repository's first (no --template to compare trees with)")
        else:
            _write_tree(repo, sha, stage, limits, notes)
            row["status"] = "collected"
    except CollectError as err:
        notes.append(f"refused: {err}")
    finally:
        shutil.rmtree(clone_dir, ignore_errors=True)
    row["note"] = "; ".join(notes)
    return row


def _write_tree(repo, sha, stage, limits, notes):
    size = gitrepo.measure(repo, sha, limits)
    lfs = gitrepo.extract(repo, sha, stage, limits)
    notes.insert(0, f"{size.files} files, {size.total / gitrepo.MiB:.1f} MB")
    notes += [f"submodule {p} not fetched (an empty folder)" for p in size.submodules]
    notes += [f"LFS pointer {p} kept as it is (LFS objects are not fetched)" for p in lfs]
    outside = [p for p in size.symlinks if _outside(p, os.readlink(Path(stage) / p))]
    if size.symlinks:
        notes.append(f"{len(size.symlinks)} symbolic link(s) kept, {len(outside)} leading outside the submission"
                     + (f" ({', '.join(map(repr, outside))}: the grader refuses them)" if outside else ""))


def collect(teams, out, commits=None, commits_name="", template=None, limits=Limits(), force=False, jobs=4,
            roster_teams=(), progress=print):
    """Collect ``teams`` (``{team: Source}``) into ``out``; ``commits``: ``{team: sha}`` from a commit file (None:
    HEAD as cloned).  Returns ``{team: row of collected.csv}``.  TeamError before anything is written when a
    team's folder exists (without ``force``) or the template cannot be read."""
    out = Path(out)
    read_collected(out)  # an earlier collected.csv this run adds to must be one (ValueError before anything is done)
    existing = sorted(t for t in teams if os.path.lexists(out / t))
    if existing and not force:
        raise TeamError(f"{out} already holds a folder for: {', '.join(existing)} (nothing was overwritten; remove "
                        f"them or give --force to replace them)")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="grade-collect-"))
    stage = Path(tempfile.mkdtemp(prefix=".collect-", dir=out))  # beside the folders: a rename puts each in place
    rows = {}
    try:
        template_trees = None
        if template:
            try:
                template_trees = gitrepo.all_trees(gitrepo.clone(template, work / "template.git", limits))
            except CollectError as err:
                raise TeamError(f"--template: {err}") from None
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {}
            for k, (team, src) in enumerate(sorted(teams.items())):
                commit = None if commits is None else commits.get(team)
                if commits is not None and not commit:
                    rows[team] = _refused(team, src, f"refused: {commits_name} names no commit for this team")
                    progress(f"{team}: {rows[team]['note']}")
                    continue
                origin = f"commit file {commits_name}" if commits is not None else "HEAD as cloned"
                futures[pool.submit(_collect_one, team, src, commit, origin, work / f"{k}.git", stage / str(k),
                                    template_trees, limits)] = team, stage / str(k)
            for fut in concurrent.futures.as_completed(futures):
                team, _ = futures[fut]
                r = rows[team] = fut.result()
                progress(f"{team}: {r['status']}" + (f" {r['commit'][:12]}" if r["commit"] else "") + f" ({r['note']})")
        staged = {team: folder for team, folder in futures.values() if rows[team]["status"] == "collected"}
        for team in sorted(rows):
            _place(out, team, staged.get(team), progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(stage, ignore_errors=True)
    for team in sorted(set(roster_teams) - set(teams)):
        rows[team] = _refused(team, None, "the roster's team has no repository among the sources", "no repository")
    _write_collected(out, rows)
    return rows


def _refused(team, src, note, status="refused"):
    row = dict.fromkeys(COLUMNS, "")
    row.update(team=team, status=status, repository=src.location if src else "", note=note)
    return row


def _place(out, team, staged, progress):
    """Put the team's staged tree in place; an old folder of a team refused or not submitted this time goes."""
    target = out / team
    if os.path.lexists(target):
        progress(f"{team}: removing the earlier {target}")
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    if staged is not None:
        os.rename(staged, target)


SNAPSHOT_COLUMNS = ["team", "repository", "commit", "recorded_at"]


def snapshot(teams, path, jobs=4, progress=print):
    """Record in ``path`` (a commit file for :func:`collect`) the commit each team's default branch points at now,
    by this machine's clock; returns ``{team: reason}`` for the repositories that could not be read."""
    def head(src):
        try:
            return gitrepo.remote_head(src.location), ""
        except CollectError as err:
            return "", str(err)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        heads = dict(zip(sorted(teams), pool.map(head, [teams[t] for t in sorted(teams)])))
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tmp = Path(path).with_name(f".{Path(path).name}.{os.getpid()}.tmp")
    write_csv(tmp, SNAPSHOT_COLUMNS, [[team, teams[team].location, sha, now] for team, (sha, _) in heads.items() if sha])
    for team, (sha, _) in heads.items():
        if sha:
            progress(f"{team}: {sha[:12]}")
    os.replace(tmp, path)
    failed = {team: reason for team, (sha, reason) in heads.items() if not sha}
    for team, reason in failed.items():
        progress(f"{team}: not recorded: {reason}")
    return failed
