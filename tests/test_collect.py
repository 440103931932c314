"""grade.collect: each team's repository as it stood at the deadline, from local bare repositories as the remotes.

Every remote is a bare repository reached by a ``file://`` URL (no network): a template
repository holding the course template, and per team a repository that starts, as GitHub
Classroom makes it, with a fresh commit of the template's tree, then the team's commits (the
solution pasted into the template as students write it).  Checked against git itself (the
files written are the blobs of the commit's tree) and against what was pushed:

* the starter commit only is "not submitted" (with --template: by its tree; without: the first commit);
* a normal submission is the commit's tree exactly (no .git; its .gitattributes change nothing);
* pushes after the recorded commit, even dated before it by the student's clock, are not collected;
* a submodule is an empty folder, nothing fetched; symbolic links and odd names are kept;
* a file or tree over the limits, a missing repository, a URL that is not a repository, a commit
  that does not exist, a tree crafted to write outside its folder: that team is refused with the
  reason, nothing written for it, the others are; no hook runs;
* an existing folder, an unknown or duplicate team stop before anything is written;
* a snapshot at the deadline is the commit file of a later collect; a force-pushed-away commit is
  fetched by its id; a report goes back as one commit, once;
* end to end: ``make collect``, then ``python -m grade`` names the commit in the report and in
  grades.csv, and ``--return-reports`` puts the report into the team's repository.
"""

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grade.ta_io import md_text

from collect_repos import Remote, blobs, crafted, folder_files, git, git_clone
from grade.collect import (COLUMNS, Limits, TeamError, assign, collect, read_commits, read_roster_keys,
                           read_url_list, source)
from grade.collect.feedback import return_reports
from grade.collect.gitrepo import MiB
from grade_fixtures.mutants import model_answer
from student_solution import paste_solution

pytestmark = pytest.mark.slow  # git clones and archives of local repositories

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = {p.name: p.read_bytes() for p in (ROOT / "tests" / "course_template").iterdir() if p.is_file()}


@pytest.fixture(autouse=True)
def git_identity(tmp_path, monkeypatch):
    """Git as on a fresh machine: no global or system configuration, a student's name on the commits."""
    (tmp_path / "gitconfig").write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "A Student")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "student@example.org")


def solved(tmp_path, name="solved"):
    """The network files of the template with the team's solution pasted in, as students write it."""
    folder = tmp_path / "paste" / name
    folder.mkdir(parents=True)
    for file, data in TEMPLATE.items():
        (folder / file).write_bytes(data)
    paste_solution(folder)
    return {f: (folder / f).read_bytes() for f in TEMPLATE if (folder / f).read_bytes() != TEMPLATE[f]}


def team(tmp_path, name, work=True):
    """A team repository made from the template (a fresh starter commit of its tree), with or without work pushed."""
    remote = Remote(tmp_path, name, TEMPLATE)
    if work:
        remote.commit(solved(tmp_path, name), "scratch and pytorch networks")
    return remote


@pytest.fixture
def template(tmp_path):
    return Remote(tmp_path, "template", TEMPLATE, message="Starter code")


def run_collect(teams, out, **kw):
    return collect({name: source(url) for name, url in teams.items()}, out, progress=lambda msg: None, **kw)


def test_a_submission_is_its_commits_tree_and_the_starter_commit_alone_is_not_submitted(tmp_path, template):
    done, idle = team(tmp_path, "team01"), team(tmp_path, "team02", work=False)
    head = git("rev-parse", "HEAD", cwd=done.work)
    rows = run_collect({"team01": done.url, "team02": idle.url}, tmp_path / "submissions", template=template.url)
    assert folder_files(tmp_path / "submissions" / "team01") == blobs(done, head)
    assert not (tmp_path / "submissions" / "team01" / ".git").exists()
    assert rows["team01"]["status"] == "collected" and rows["team01"]["commit"] == head
    assert rows["team01"]["commit_from"] == "HEAD as cloned" and rows["team01"]["commits_after"] == 0
    # team02's starter commit is not the template's commit (Classroom makes a fresh one), but its tree is
    assert idle.starter != git("rev-parse", "HEAD", cwd=template.work)
    assert rows["team02"]["status"] == "not submitted" and "tree is one of the template's" in rows["team02"]["note"]
    assert not (tmp_path / "submissions" / "team02").exists()
    with open(tmp_path / "submissions" / "collected.csv", newline="") as fh:
        written = list(csv.DictReader(fh))
    assert list(written[0]) == COLUMNS and [r["team"] for r in written] == ["team01", "team02"]
    assert written[0]["commit"] == head and written[0]["committer_date (student's clock)"] == git(
        "show", "-s", "--format=%cI", head, cwd=done.work)
    # by the tree, not by the history: work undone is not submitted, work squashed into one first commit is
    undone = team(tmp_path, "team14")
    undone.commit({f: data for f, data in TEMPLATE.items()}, "start over")
    squashed = Remote(tmp_path, "team15", {**TEMPLATE, **solved(tmp_path, "team15")})
    rows = run_collect({"team14": undone.url, "team15": squashed.url}, tmp_path / "more", template=template.url)
    assert (rows["team14"]["status"], rows["team15"]["status"]) == ("not submitted", "collected")
    # without --template only the repository's first commit counts as the starter commit
    rows = run_collect({"team02": idle.url, "team14": undone.url}, tmp_path / "again")
    assert rows["team02"]["status"] == "not submitted" and "repository's first" in rows["team02"]["note"]
    assert rows["team14"]["status"] == "collected"


def test_pushes_after_the_recorded_commit_are_left_out_whatever_date_they_claim(tmp_path):
    remote = team(tmp_path, "team03")
    recorded = git("rev-parse", "HEAD", cwd=remote.work)
    remote.commit({"late.py": "print('after the deadline')\n"}, "late work", date="2026-01-01T12:00:00+00:00")
    backdated = remote.commit({"network_scratch.py": "# rewritten\n"}, "backdated", date="2020-01-01T00:00:00+00:00")
    commits = tmp_path / "commits.csv"
    commits.write_text(f"team,commit\nteam03,{recorded}\n")
    teams = {"team03": source(remote.url)}
    rows = collect(teams, tmp_path / "submissions", read_commits(commits, teams), "commits.csv",
                   progress=lambda m: None)
    row = rows["team03"]
    assert row["commit"] == recorded and row["commits_after"] == 2 and row["commit_from"] == "commit file commits.csv"
    assert "2 commit(s) on main after it" in row["note"], row
    assert row["status"] == "collected", row
    assert folder_files(tmp_path / "submissions" / "team03") == blobs(remote, recorded)
    assert git("show", "-s", "--format=%cI", backdated, cwd=remote.work) == "2020-01-01T00:00:00+00:00"
    # HEAD as cloned takes the backdated commit: the student's clock decides nothing
    rows = run_collect({"team03": remote.url}, tmp_path / "head")
    assert rows["team03"]["commit"] == backdated
    assert rows["team03"]["committer_date (student's clock)"].startswith("2020")


def test_a_snapshot_at_the_deadline_is_the_commit_file_of_a_later_collect(tmp_path):
    remotes = [team(tmp_path, "ps1-team21"), team(tmp_path, "ps1-team22")]
    at_deadline = [git("rev-parse", "main", cwd=r.bare) for r in remotes]
    cli = [sys.executable, "-m", "grade.collect", *(r.url for r in remotes)]
    proc = subprocess.run([*cli, "--snapshot", str(tmp_path / "commits.csv")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "recorded 2 of 2 commits" in proc.stdout, proc.stdout + proc.stderr
    later = remotes[0].commit({"late.py": "x = 1\n"}, "after the deadline")
    proc = subprocess.run([*cli, "--commits", str(tmp_path / "commits.csv"), "--out", str(tmp_path / "submissions")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "2 collected" in proc.stdout, proc.stdout + proc.stderr
    with open(tmp_path / "submissions" / "collected.csv", newline="") as fh:
        rows = {r["team"]: r for r in csv.DictReader(fh)}
    assert [rows[t]["commit"] for t in ("ps1-team21", "ps1-team22")] == at_deadline != [later, at_deadline[1]]
    assert rows["ps1-team21"]["commits_after"] == "1"
    assert not (tmp_path / "submissions" / "ps1-team21" / "late.py").exists()


def test_a_recorded_commit_that_a_force_push_took_off_the_branch_is_fetched_by_its_id(tmp_path):
    """A plain clone no longer holds it; the server (git's protocol v2 here, GitHub too) gives it by its id."""
    remote = team(tmp_path, "team16")
    recorded = git("rev-parse", "HEAD", cwd=remote.work)
    git("reset", "-q", "--hard", "HEAD~1", cwd=remote.work)
    remote.commit({"network_scratch.py": "# started over after the deadline\n"}, "rewrite", force=True)
    teams = {"team16": source(remote.url)}
    assert subprocess.run(["git", "cat-file", "-e", recorded], cwd=git_clone(remote, tmp_path)).returncode != 0
    rows = collect(teams, tmp_path / "submissions", {"team16": recorded}, "commits.csv", progress=lambda m: None)
    assert rows["team16"]["status"] == "collected", rows["team16"]["note"]
    assert "the commit is not on main" in rows["team16"]["note"]
    assert rows["team16"]["commits_after"] == 1
    assert folder_files(tmp_path / "submissions" / "team16") == blobs(remote, recorded)


def test_a_submodule_is_an_empty_folder_and_links_odd_names_and_attributes_are_kept(tmp_path):
    inner = Remote(tmp_path, "library", {"secret.py": "SECRET = 1\n"})
    remote = team(tmp_path, "team04")
    git("-c", "protocol.file.allow=always", "submodule", "add", "-q", inner.url, "lib", cwd=remote.work)
    (remote.work / "inside").symlink_to("network_scratch.py")
    (remote.work / "outside").symlink_to("/etc/passwd")
    files = {"odd name\nwith newline.py": "x = 1\n", "-leading dash.txt": "y\n", "ünïcödé.md": "z\n",
             ".gitattributes": "*.py export-ignore\n*.md text eol=crlf\nsub.txt export-subst\n",
             "sub.txt": "$Format:%H$\n",
             "big.bin": "version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n"}
    head = remote.commit(files, "odd things")
    rows = run_collect({"team04": remote.url}, tmp_path / "submissions")
    folder = tmp_path / "submissions" / "team04"
    assert rows["team04"]["status"] == "collected", rows["team04"]
    got = folder_files(folder)
    expected = blobs(remote, head)
    expected.update({"inside": ("link", "network_scratch.py"), "outside": ("link", "/etc/passwd")})
    assert got == expected  # *.py not left out, no CRLF, $Format$ not expanded, the links as they are
    assert (folder / "lib").is_dir() and not any((folder / "lib").iterdir())
    note = rows["team04"]["note"]
    assert "submodule lib not fetched" in note and "LFS pointer big.bin" in note
    assert "2 symbolic link(s) kept, 1 leading outside the submission ('outside'" in note


def test_too_large_is_refused_with_its_size_before_anything_is_written_and_the_others_are_collected(tmp_path):
    big, whole, fine = team(tmp_path, "team05"), team(tmp_path, "team06"), team(tmp_path, "team07")
    big.commit({"model.bin": os.urandom(3 * MiB // 2)}, "saved the model")
    whole.commit({f"part{i}.bin": os.urandom(MiB // 2) for i in range(5)}, "data")
    rows = run_collect({"team05": big.url, "team06": whole.url, "team07": fine.url}, tmp_path / "submissions",
                       limits=Limits(max_file=MiB, max_total=2 * MiB))
    assert rows["team05"]["status"] == "refused"
    assert "the file 'model.bin' is 1.5 MB, over the limit of 1 MB a file" in rows["team05"]["note"]
    assert rows["team06"]["status"] == "refused" and "over the limit of 2 MB" in rows["team06"]["note"]
    assert rows["team07"]["status"] == "collected", rows["team07"]
    assert sorted(os.listdir(tmp_path / "submissions")) == ["collected.csv", "team07"]


def test_the_default_limits_are_the_ones_the_readme_states():
    text = (ROOT / "grade" / "README.md").read_text(encoding="utf-8")
    m = re.search(r"refused with its size beyond (\d+) MB a file or (\d+) MB in all", text)
    assert m, "grade/README.md states the default limits of python -m grade.collect"
    assert (int(m.group(1)) * MiB, int(m.group(2)) * MiB) == (Limits().max_file, Limits().max_total)


def test_a_missing_repository_a_non_repository_and_a_missing_commit_are_refused_each_with_its_reason(tmp_path):
    ok, other = team(tmp_path, "team08"), team(tmp_path, "team09")
    plain = tmp_path / "just-a-folder"
    plain.mkdir()
    (plain / "README.md").write_text("not a repository\n")
    teams = {"team08": source(ok.url), "team09": source(other.url), "team10": source(f"file://{tmp_path}/nowhere.git"),
             "team11": source(f"file://{plain}")}
    commits = {"team08": git("rev-parse", "HEAD", cwd=ok.work), "team09": "0123456789abcdef0123456789abcdef01234567",
               "team10": "abcdef0", "team11": "abcdef0"}
    rows = collect(teams, tmp_path / "submissions", commits, "commits.csv", progress=lambda m: None)
    assert rows["team08"]["status"] == "collected"
    assert rows["team09"]["status"] == "refused" and "commit 0123456789abcdef0123456789abcdef01234567 is not in the " \
                                                     "repository" in rows["team09"]["note"]
    for t in ("team10", "team11"):
        assert rows[t]["status"] == "refused" and f"cannot clone {teams[t].location}" in rows[t]["note"]
        assert "does not appear to be a git repository" in rows[t]["note"]
    assert sorted(os.listdir(tmp_path / "submissions")) == ["collected.csv", "team08"]
    with pytest.raises(TeamError, match="neither a folder nor a git URL"):
        source("ext::sh -c touch% /tmp/pwned")
    with pytest.raises(TeamError, match="not a git repository"):
        source(str(plain))


def test_an_existing_folder_is_not_overwritten_without_force(tmp_path):
    remote = team(tmp_path, "team12")
    out = tmp_path / "submissions"
    (out / "team12").mkdir(parents=True)
    (out / "team12" / "mine.txt").write_text("the TA's own file\n")
    with pytest.raises(TeamError, match="already holds a folder for: team12"):
        run_collect({"team12": remote.url}, out)
    assert os.listdir(out) == ["team12"] and os.listdir(out / "team12") == ["mine.txt"]
    rows = run_collect({"team12": remote.url}, out, force=True)
    assert rows["team12"]["status"] == "collected" and not (out / "team12" / "mine.txt").exists()


def test_team_names_come_from_the_roster_and_misfits_stop_with_the_list(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("team,name,matriculation,email\nteam07,Ann,1,a@x\nteam07,Bob,2,b@x\nTeam 08,Cy,3,c@x\n")
    keys = read_roster_keys(roster)
    found = assign([source("https://github.com/course/ps1-team07.git"),
                    source("https://github.com/course/ps1-team-08")], keys)
    assert {t: s.name for t, s in found.items()} == {"team07": "ps1-team07", "Team 08": "ps1-team-08"}
    both = tmp_path / "both.csv"
    both.write_text("team,name,matriculation,email\nteam-07,Ann,1,a@x\n07,Bob,2,b@x\n")
    with pytest.raises(TeamError, match=r"ps1-team-07: several teams of the roster \(07, team-07\)"):
        assign([source("https://github.com/course/ps1-team-07")], read_roster_keys(both))
    with pytest.raises(TeamError) as err:
        assign([source("https://github.com/course/ps1-team07"), source("https://github.com/course/ps1-team07-copy"),
                source("https://github.com/other/team07"), source("https://github.com/course/ps1-team99")], keys)
    assert "ps1-team99: no team of the roster" in str(err.value)
    assert "team team07: several repositories (https://github.com/course/ps1-team07, " in str(err.value)
    mapped = tmp_path / "mapped.csv"
    mapped.write_text("team,name,matriculation,email,repository\n7,Ann,1,a@x,ps1-alpha\n8,Cy,3,c@x,ps1-beta\n")
    found = assign([source("https://github.com/course/ps1-alpha"), source("https://github.com/course/ps1-beta")],
                   read_roster_keys(mapped))
    assert {t: s.name for t, s in found.items()} == {"7": "ps1-alpha", "8": "ps1-beta"}
    classroom = tmp_path / "grades.csv"  # GitHub Classroom's grades CSV: a row per student, the group's repository
    classroom.write_text("assignment_name,github_username,roster_identifier,student_repository_name,"
                         "student_repository_url,submission_timestamp,points_awarded,points_available,group_name\n"
                         "ps1,ann,a@x,ps1-xyz,https://github.com/course/ps1-xyz,,19,19,Team 7\n"
                         "ps1,bob,b@x,ps1-xyz,https://github.com/course/ps1-xyz,,19,19,Team 7\n")
    by_group = tmp_path / "groups.csv"
    by_group.write_text("team,name,matriculation,email,group\nteam07,Ann,1,a@x,Team 7\nteam07,Bob,2,b@x,Team 7\n")
    found_by_group = assign(read_url_list(classroom), read_roster_keys(by_group, "group"))
    assert {t: s.location for t, s in found_by_group.items()} == {"team07": "https://github.com/course/ps1-xyz"}
    commits = tmp_path / "commits.csv"
    commits.write_text("team,commit\n7,abcdef0\n9,abcdef1\n")
    with pytest.raises(TeamError, match="line 3: team '9' is no team's repository"):
        read_commits(commits, found)


def test_a_crafted_tree_writes_nothing_outside_its_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    through_link = crafted(tmp_path, "team17", [("lnk", str(outside)), ("lnk", None)])  # a link and a folder 'lnk'
    dot_git = crafted(tmp_path, "team18", [(".git", None), ("src", None)])
    rows = run_collect({"team17": through_link, "team18": dot_git}, tmp_path / "submissions")
    assert rows["team17"]["status"] == "refused" and "'lnk/f' goes through a symbolic link" in rows["team17"]["note"]
    assert rows["team18"]["status"] == "refused" and "'.git/f'" in rows["team18"]["note"]
    assert list(outside.iterdir()) == [] and os.listdir(tmp_path / "submissions") == ["collected.csv"]


def test_no_hook_runs_while_collecting(tmp_path):
    remote = team(tmp_path, "team13")
    hooks, marker = tmp_path / "hooks", tmp_path / "hook-ran"
    hooks.mkdir()
    for name in ("reference-transaction", "post-checkout", "post-merge"):
        (hooks / name).write_text(f"#!/bin/sh\necho {name} >> {marker}\n")
        (hooks / name).chmod(0o755)
    (tmp_path / "gitconfig").write_text(f"[core]\n\thooksPath = {hooks}\n")
    git("clone", "-q", "--bare", remote.url, str(tmp_path / "probe.git"))
    assert marker.exists(), "the hook would run in a plain clone"  # so its absence below means something
    marker.unlink()
    rows = run_collect({"team13": remote.url}, tmp_path / "submissions")
    assert rows["team13"]["status"] == "collected" and not marker.exists()


def test_collect_then_grade_names_the_commit_in_the_report_and_grades_csv(tmp_path):
    answer = model_answer(tmp_path / "answer")
    remote = Remote(tmp_path, "ps1-team01", TEMPLATE)
    head = remote.commit({str(p.relative_to(answer)): p.read_bytes() for p in answer.rglob("*") if p.is_file()}, "done")
    url_list = tmp_path / "repositories.txt"
    url_list.write_text(f"# the team repositories\n{remote.url}\n")
    roster = tmp_path / "roster.csv"
    roster.write_text("team,name,matriculation,email\nteam01,Ann,1,a@x\nteam02,Bob,2,b@x\n")
    args = f"--urls {url_list} --roster {roster} --out {tmp_path / 'submissions'}"  # make collect, as the README says
    proc = subprocess.run(["make", "-s", "collect", f"ARGS={args}"] if shutil.which("make") else
                          [sys.executable, "-m", "grade.collect", *args.split()], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 collected, 1 no repository" in proc.stdout and "HEAD as cloned" in proc.stderr
    submissions = sorted(str(p) for p in (tmp_path / "submissions").iterdir())  # as the shell expands submissions/*
    proc = subprocess.run([sys.executable, "-m", "grade", *submissions, "--no-cache", "--out", str(tmp_path / "grades"),
                           "--roster", str(roster)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    report = (tmp_path / "grades" / "team01.md").read_text()
    assert f"**Graded commit:** `{head}` of {md_text(remote.url, 300)}" in report  # escaped as Markdown text and "33 / 33" in report
    with open(tmp_path / "grades" / "grades.csv", newline="") as fh:
        (row,) = csv.DictReader(fh)
    assert row["submission"] == "team01" and row["commit"] == head and row["total"] == "33"
    proc = subprocess.run([sys.executable, "-m", "grade.collect", "--return-reports", str(tmp_path / "grades"), "--out",
                           str(tmp_path / "submissions")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "returned 1 report(s)" in proc.stdout, proc.stdout + proc.stderr
    assert git("show", "main:FEEDBACK.md", cwd=remote.bare) + "\n" == report


def test_a_report_goes_back_as_one_commit_on_the_default_branch_and_only_once(tmp_path):
    remote = team(tmp_path, "team19")
    rows = run_collect({"team19": remote.url, "team20": team(tmp_path, "team20").url}, tmp_path / "submissions")
    remote.commit({"after.py": "x = 2\n"}, "pushed after the deadline")
    before = git("rev-parse", "main", cwd=remote.bare)
    (tmp_path / "grades").mkdir()
    (tmp_path / "grades" / "team19.md").write_text("# Problem set 1: feedback for team19\n")
    failed = return_reports(rows, tmp_path / "grades", progress=lambda m: None)
    assert list(failed) == ["team20"] and "no report" in failed["team20"]
    after = git("rev-parse", "main", cwd=remote.bare)
    assert git("rev-parse", "main^", cwd=remote.bare) == before
    assert git("diff", "--name-only", before, after, cwd=remote.bare) == "FEEDBACK.md"
    assert git("show", "main:FEEDBACK.md", cwd=remote.bare) == "# Problem set 1: feedback for team19"
    assert rows["team19"]["commit"] in git("log", "-1", "--format=%s", "main", cwd=remote.bare)
    return_reports({"team19": rows["team19"]}, tmp_path / "grades", progress=lambda m: None)
    assert git("rev-parse", "main", cwd=remote.bare) == after  # the same report is not pushed twice


def test_collected_csv_neutralises_formulas_and_reads_its_values_back(tmp_path):
    """A group name or a note a team controls is text in a spreadsheet, and the grader reads the value back as it was."""
    from grade.collect.run import _write_collected, read_collected
    row = {c: "" for c in COLUMNS} | {"team": "=HYPERLINK(\"http://x\",\"x\")", "status": "collected",
                                       "commit": "ab" * 20, "note": "+cmd|' /C calc'!A0", "repository": "'quoted"}
    _write_collected(tmp_path, {row["team"]: row})
    text = (tmp_path / "collected.csv").read_text()
    assert "'=HYPERLINK" in text and "'+cmd" in text and "''quoted" in text
    assert read_collected(tmp_path) == {row["team"]: row}
