"""Which repository is which team's, and which commit of it is graded.

Sources are folders of cloned repositories or repository URLs (given, or listed in a file:
one URL a line, or the CSV GitHub Classroom downloads, with ``student_repository_url`` and, for
group assignments, ``group_name``).  Teams are named as the roster names them (its ``team``
column); a roster column (``--roster-column``, by default ``repository`` when the roster has
one, else ``team``) holds for each team its repository's URL or name, its Classroom group name,
or the team name itself; a repository belongs to the team whose value is its URL, its name, its
Classroom group, or the end of its name after a dash (Classroom names a group's repository
``<assignment>-<group>``).  Anything that does not fit one-to-one stops the run with the list.
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from ..ta_io import read_cell


class TeamError(ValueError):
    """Sources, a roster or a commit file that do not fit together (every misfit listed)."""


@dataclass(frozen=True)
class Source:
    location: str  # a URL, or a folder's absolute path
    name: str      # the repository's name: the URL's or folder's last part, without .git
    group: str = ""  # the Classroom group name, when a Classroom CSV gave one


_URL = re.compile(r"^(https?|ssh|git|file)://[^\s]+$|^[\w.-]+@[\w.-]+:[^\s]+$")


def repo_name(location):
    tail = re.split(r"[/:]", str(location).rstrip("/"))[-1]
    return tail[:-4] if tail.endswith(".git") else tail


def source(given, group=""):
    """A folder (a clone: it holds ``.git``, or a bare repository) or a git URL; anything else is refused."""
    path = Path(given)
    if path.is_dir():
        if not ((path / ".git").exists() or (path / "HEAD").is_file() and (path / "objects").is_dir()):
            raise TeamError(f"{given}: a folder, but not a git repository (no .git in it)")
        return Source(str(path.resolve()), repo_name(path.resolve()), group)
    if _URL.match(given):
        return Source(given, repo_name(given), group)
    raise TeamError(f"{given!r}: neither a folder nor a git URL (https://, ssh://, git://, file:// or user@host:path)")


def read_url_list(path):
    """Sources from a file: one URL (or folder) a line (# comments), or GitHub Classroom's grades CSV."""
    text = Path(path).read_text(encoding="utf-8-sig")
    first = text.splitlines()[0] if text.strip() else ""
    if "student_repository_url" in first:
        repos = {}  # a row per student: a group's repository once
        for row in csv.DictReader(text.splitlines()):
            repos.setdefault((row.get("student_repository_url") or "").strip(), (row.get("group_name") or "").strip())
        return [source(url, group) for url, group in repos.items() if url]
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return [source(line) for line in lines if line]


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def _matches(src, key):
    if not key:
        return False
    if key == src.location or repo_name(key).lower() == src.name.lower():
        return True
    k, name = slug(key), slug(src.name)
    return bool(k) and (k == slug(src.group) or name == k or name.endswith("-" + k))


def check_team_name(team):
    if not team or team in (".", "..") or "/" in team or "\0" in team or team.startswith(".") \
            or team == "collected.csv" or len(team.encode()) > 200:
        return f"{team!r} cannot name a folder (empty, hidden, '/', or over 200 bytes)"
    return ""


def read_roster_keys(path, column=None):
    """``{team: {values of the mapping column}}`` from the roster CSV (its ``team`` column names the teams)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        column = column or ("repository" if "repository" in fields else "team")
        if "team" not in fields or column not in fields:
            raise TeamError(f"{path}: the roster needs the columns team and {column}; found {fields}")
        keys = {}
        for row in reader:
            team = (row.get("team") or "").strip()
            if team:
                keys.setdefault(team, set()).update({(row.get(column) or "").strip()} - {""})
    return keys


def assign(sources, roster_keys=None):
    """``{team: Source}``, each source a team's and no team twice; TeamError lists every misfit."""
    problems, teams = [], {}
    for src in sources:
        if roster_keys is None:
            found = [src.name]
        else:
            found = sorted(t for t, keys in roster_keys.items() if any(_matches(src, k) for k in keys))
        if not found:
            problems.append(f"{src.location}: no team of the roster")
        elif len(found) > 1:
            problems.append(f"{src.location}: several teams of the roster ({', '.join(found)})")
        else:
            teams.setdefault(found[0], []).append(src)
    for team, srcs in sorted(teams.items()):
        if len(srcs) > 1:
            problems.append(f"team {team}: several repositories ({', '.join(s.location for s in srcs)})")
        bad = check_team_name(team)
        if bad:
            problems.append(f"team {bad}")
    if problems:
        hint = "\n(name each team's repository in a roster column: --roster-column)" if roster_keys else ""
        raise TeamError("cannot tell which repository is which team's:\n  " + "\n  ".join(problems) + hint)
    return {team: srcs[0] for team, srcs in teams.items()}


def read_commits(path, teams):
    """``{team: commit}`` from a CSV with a ``commit`` (or ``sha``) column and a ``team`` or ``repository`` one."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        sha = next((c for c in ("commit", "sha") if c in fields), None)
        key = next((c for c in ("team", "repository") if c in fields), None)
        if not sha or not key:
            raise TeamError(f"{path}: needs a commit (or sha) column and a team (or repository) column; found {fields}")
        commits, problems = {}, []
        for n, row in enumerate(reader, start=2):
            value, commit = read_cell((row.get(key) or "").strip()), read_cell((row.get(sha) or "").strip())
            found = [t for t, src in teams.items() if (t == value if key == "team" else _matches(src, value))]
            if len(found) != 1:
                problems.append(f"line {n}: {key} {value!r} is {'no' if not found else 'more than one'} team's "
                                f"repository being collected")
            elif found[0] in commits and commits[found[0]] != commit:
                problems.append(f"line {n}: a second commit for team {found[0]}")
            else:
                commits[found[0]] = commit
    if problems:
        raise TeamError(f"{path}:\n  " + "\n  ".join(problems))
    return commits
