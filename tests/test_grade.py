"""grade/ as a teaching assistant uses it: the documented commands, the course's real work, mutants, hostiles.

* The README's commands, run as written (``make grade ARGS=...``, ``python -m grade ...``) from the
  repository folder with default options, and from another folder: this answer earns 33/33, twice
  (the second time from the cache).
* The model answer earns every point; the handout none; each mutant (one method rewritten as a
  student would) loses exactly its items, with the diagnosis named; a judgement call keeps its
  points and says so (tests/grade_fixtures/expectations.py, which tests/test_judges_recorded.py
  asserts too, of the judges on the observations of this run kept in tests/grade_fixtures/recorded/).
* Work written for the 2023 template (tests/grade_fixtures/real_work.py) gets the grade a
  careful teaching assistant gives, item by item.
* Hostile submissions (among them every attack of issue 25), graded between two clean copies of
  this answer, change nothing of the clean copies' grades, the grader's files or its cache, leave no
  process behind, and are graded with a clear message (0 for the attacker's own items, or contained);
  the second run comes from the cache and gives the same grades; a linked module is keyed by its
  target's content.  Forged or repeated observations are tampering, charged to their probe.
* Where the grader runs: a symlinked venv, an environment outside the repository and a path with
  spaces all get the full sandbox; without a cgroup (simulated) it refuses, and grades only with
  --no-sandbox, saying so; interrupted (SIGINT, SIGTERM) it leaves no process, folder or cgroup; its
  own disk full, it says so for the team it hit and grades the others.
* The slow learner's judgement call, and a learning message that cannot contradict itself.
"""

import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from grade import grade_submissions, stage
from grade.handout import build_handout
from grade.items import TableError, load_table, registry
from grade.observations import judge_part
from grade.parts import PARTS
from grade.report import (InputError, apply_overrides, attach_theory, moodle_rows, read_roster, report_filename,
                          write_reports)
from grade_fixtures import expectations, recorded
from grade_fixtures.documents import observed
from grade_fixtures.hostile import DAEMON_MARK, FORMULA_NAME, HOSTILE, LONG_NAME, WITHOUT_CGROUPS, Either
from grade_fixtures.mutants import MUTANTS, model_answer, replace_method
from grade_fixtures.real_work import REAL_WORK

ROOT = Path(__file__).resolve().parents[1]
ITEMS, _ = load_table()
POINTS = {i: it.points for i, it in ITEMS.items()}
pytestmark = pytest.mark.slow


def tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def digest(*folders):
    h = hashlib.sha256()
    for folder in folders:
        for name, data in tree(folder).items():
            if "__pycache__" not in name:
                h.update(name.encode() + data)
    return h.hexdigest()


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("grade-cache")


@pytest.fixture(scope="session")
def graded(tmp_path_factory, cache):
    """The model answer, the handout, every mutant and the real-work fixtures, graded in one run (2 jobs)."""
    base = tmp_path_factory.mktemp("submissions")
    folders = [model_answer(base / "model_answer"), build_handout(ROOT, base / "handout")]
    folders += [m.make(base / m.name) for m in MUTANTS]
    folders += [build(base / name) for name, (build, _) in REAL_WORK.items()]
    before = tree(folders[0])
    results = grade_submissions(folders, cache_dir=cache, jobs=2)
    assert tree(folders[0]) == before, "grading wrote into the submission folder"
    return {r.name: r for r in results}, folders


def lost(r):
    return {i: (v["points"], v["message"]) for i, v in r.items.items() if v["points"] != v["max"]}


def test_model_answer_earns_every_point(graded):
    r = graded[0]["model_answer"]
    assert not lost(r)
    assert r.total == r.max == sum(POINTS.values())
    assert_messages(r, "model_answer")


def test_handout_earns_no_point_and_says_why(graded):
    r = graded[0]["handout"]
    assert {i: v["points"] for i, v in r.items.items()} == expectations.points("handout", POINTS), lost(r)
    assert_messages(r, "handout")


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_loses_exactly_its_items(graded, mutant):
    r = graded[0][mutant.name]
    got = {i: v["points"] for i, v in r.items.items()}
    expected = expectations.points(mutant.name, POINTS)
    assert got == expected, {i: r.items[i]["message"] for i in ITEMS if got[i] != expected[i]}
    assert_messages(r, mutant.name)
    (changed,) = recorded.parts_of(mutant.name)  # only the part that reads the changed file ran again
    assert sorted(r.cached_parts) == sorted({p.name for p in PARTS} - {changed})


def assert_messages(r, name):
    for item, pattern in expectations.messages(name).items():
        assert re.search(pattern, r.items[item]["message"]), (item, r.items[item]["message"])


def test_the_recorded_observations_are_what_the_probes_observe_now(graded, tmp_path):
    """tests/grade_fixtures/recorded/ (what tests/test_judges_recorded.py judges) holds what the probes observed in
    this run, for this answer, the handout and each mutant: re-recorded with RECORD_OBSERVATIONS=1."""
    from grade.runner import grader_context
    results, _ = graded
    fresh = {(name, part): results[name].observations[part] for name in recorded.FIXTURES
             for part in recorded.parts_of(name)}
    assert all(part in results["model_answer"].observations for part in recorded.parts_of("model_answer")), \
        "this answer's parts came from the cache: run with an empty cache"
    if os.environ.get("RECORD_OBSERVATIONS"):
        shutil.rmtree(recorded.FOLDER, ignore_errors=True)
        for (name, part), obs in fresh.items():
            recorded.save(name, part, obs)
    ctx = grader_context(None, tmp_path)
    stale = {key: diff for key, obs in fresh.items() if (diff := recorded.differences(obs, recorded.load(*key, ctx)))}
    assert not stale, f"re-record them: RECORD_OBSERVATIONS=1 .venv/bin/python -m pytest tests/test_grade.py -k " \
                      f"recorded ({stale})"
    assert sorted(p.name for p in recorded.FOLDER.iterdir()) == sorted(f"{n}.{p}.npz" for n, p in fresh)


@pytest.mark.parametrize("name", list(REAL_WORK))
def test_real_2023_work_is_graded_as_a_careful_ta_grades_it(graded, name):
    r = graded[0][name]
    expected = {i: POINTS[i] for i in ITEMS}
    for item, (points, _why) in REAL_WORK[name][1].items():
        expected[item] = points
    got = {i: v["points"] for i, v in r.items.items()}
    assert got == expected, {i: r.items[i]["message"] for i in ITEMS if got[i] != expected[i]}
    keras2 = r.items["keras.input"]["message"]
    if name == "team_2023":
        assert "graded under Keras 2" in keras2 and "does not accept" not in keras2
        assert "judgement call torch.predict.one_sample" in r.items["torch.predict"]["message"]
        assert "team 7: 2 member(s) with name and matriculation number" in r.items["notebook.team"]["message"]
        assert "3 training runs (50, 50, 50 epochs)" in r.items["notebook.progress"]["message"]
    if name == "team_conv_keras":
        assert "Conv2D, MaxPooling2D layers" in r.items["keras.layers"]["message"]


def test_reports_csv_json_markdown_and_moodle(graded, tmp_path):
    results = [graded[0][n] for n in ("model_answer", "team_2023")]
    roster = tmp_path / "roster.csv"
    roster.write_text("team,name,matriculation,email\nmodel_answer,Danial Riaz,201678,dr@example.org\n"
                      "model_answer,Carlo Greß,216319,cg@example.org\nteam_2023,Ada Lovelace,1234567,al@example.org\n"
                      "team_2023,Alan Turing,7654321,at@example.org\n", encoding="utf-8")
    overrides = tmp_path / "overrides.toml"
    overrides.write_text('[team_2023."torch.loss"]\npoints = 1\nreason = "the loss is cross-entropy on the '
                         'wrong tensor; half, as agreed in the tutorial"\n')
    apply_overrides(results, overrides)
    out = write_reports(results, tmp_path / "out", read_roster(roster))
    data = json.loads((out / "grades.json").read_text())
    assert data["team_2023"]["total"] == sum(v["points"] for v in data["team_2023"]["items"].values())
    assert "set to 1 by the teaching assistant: the loss is cross-entropy" in data["team_2023"]["items"]["torch.loss"]["message"]
    rows = list(csv.DictReader(open(out / "grades.csv", encoding="utf-8")))
    assert [r["submission"] for r in rows] == ["model_answer", "team_2023"] and list(rows[0])[-2:] == ["total", "max"]
    md = (out / "team_2023.md").read_text()
    assert "**Total: 30 / 33 points**" in md and "`torch.loss` | 1 / 2" in md and "Keras 2" in md
    moodle = list(csv.DictReader(open(out / "moodle.csv", encoding="utf-8")))
    assert {m["ID number"]: m["Grade"] for m in moodle} == {"201678": "33", "216319": "33", "1234567": "30",
                                                             "7654321": "30"}
    assert "Points lost: scratch.backward 2/4; torch.loss 1/2" in moodle[2]["Feedback"]
    # the TA's theory marks (the review page's CSV) join the totals, the report and Moodle's file
    from grade.review import load_rubric
    rubric = load_rubric()
    rows = ["team,question,id,kind,max,value"]
    for team in ("model_answer", "team_2023"):
        for q in rubric["questions"]:
            rows += [f"{team},{q['id']},{i['id']},item,{i['points']},{i['points']}" for i in q["items"]]
            rows += [f"{team},{q['id']},{m['id']},mistake,{m['deduction']},{int(team == 'team_2023' and q['id'] == '1.5' and k == 0)}"
                     for k, m in enumerate(q["mistakes"])]
    marks = tmp_path / "theory_marks.csv"
    marks.write_text("\n".join(rows) + "\n")
    first_mistake = next(q for q in rubric["questions"] if q["id"] == "1.5")["mistakes"][0]
    attach_theory(results, marks)
    out = write_reports(results, tmp_path / "with_theory", read_roster(roster))
    header = next(csv.reader(open(out / "grades.csv", encoding="utf-8")))
    assert header[-2:] == ["total", "max"] and "theory 1.5" in header
    theory_max = rubric["total"]
    moodle = {m["ID number"]: m["Grade"] for m in csv.DictReader(open(out / "moodle.csv", encoding="utf-8"))}
    assert moodle["201678"] == f"{33 + theory_max:g}"
    assert moodle["1234567"] == f"{30 + theory_max - first_mistake['deduction']:g}"
    md = (out / "team_2023.md").read_text()
    assert f"**Total: {30 + theory_max - first_mistake['deduction']:g} / {33 + theory_max:g} points**" in md
    assert "## Theory (part 1)" in md and first_mistake["description"] in md
    bad = tmp_path / "bad.toml"
    bad.write_text('[team_99."torch.loss"]\npoints = 1\nreason = "x"\n')
    with pytest.raises(InputError, match="no graded submission is named 'team_99'"):
        apply_overrides(results, bad)
    with pytest.raises(InputError, match=r"names no members for the graded submission\(s\) \['team_2023'\]"):
        moodle_rows(results, {"model_answer": []})


def test_the_students_public_checks_agree_with_the_grader_on_every_fixture(graded):
    """The public items judged as `check.py` judges them (no hidden diagnosis, only public judgement calls), on the
    same observations: the grader's verdict, except where a hidden diagnosis refined a failing verdict."""
    public_items, public_judgement = registry(hidden=False)
    compared = 0
    for name, r in graded[0].items():
        for part, obs in r.observations.items():
            for item, v in judge_part(part, obs, public_items, public_judgement, hidden=False).items():
                grader = r.items[item]
                if grader["refined"]:
                    assert v.fraction < 1, (name, item)  # the public check does not pass what the grader fails
                else:
                    assert v.fraction == grader["fraction"], (name, item, v.message, grader["message"])
                compared += 1
    assert compared >= 19 * 10


# --------------------------------------------------------------------------- hostile submissions
def processes_with(mark):
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if mark in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(proc.name)
        except OSError:
            pass
    return found


@pytest.fixture(scope="session")
def hostile(tmp_path_factory, cache):
    """Every hostile submission graded between two clean copies of this answer, in one run (2 jobs), then again."""
    base = tmp_path_factory.mktemp("hostile")
    before_code = digest(ROOT / "grade", ROOT / "tests")
    folders = [model_answer(base / "clean_before")]
    for name, (build, _) in HOSTILE.items():
        folders.append(build(base / name))
    folders.append(model_answer(base / "clean_after"))
    limits = {"default": 30, "learns": 20}  # fit_never_returns, import_outlasts_its_check: not the real limits
    first = {r.name: r for r in grade_submissions(folders, cache_dir=cache, jobs=2, probe_seconds=limits)}
    changed = digest(ROOT / "grade", ROOT / "tests") != before_code
    daemons = processes_with(DAEMON_MARK)
    again = {r.name: r for r in grade_submissions(folders, cache_dir=cache, jobs=2, probe_seconds=limits)}
    return {"first": first, "again": again, "changed": changed, "daemons": daemons, "folders": folders,
            "limits": limits}


def test_hostile_submissions_change_nothing_but_their_own_grade(hostile, cache):
    first, again = hostile["first"], hostile["again"]
    assert not hostile["daemons"], "a process of a submission outlived the grading"
    assert not hostile["changed"], "a submission changed the grader or the tests"
    for clean in ("clean_before", "clean_after"):
        assert not lost(first[clean]), (clean, lost(first[clean]))
    for name, (_, broken) in HOSTILE.items():
        r = first[name]
        for item, v in r.items.items():
            pattern = next((p for prefix, p in broken.items() if item.startswith(prefix)), None)
            if pattern is None:
                assert v["points"] == v["max"], (name, item, v["message"])
            elif isinstance(pattern, Either):
                assert v["points"] == v["max"] or (v["points"] == 0 and re.search(pattern.pattern, v["message"])), \
                    (name, item, v["message"])
            else:
                assert v["points"] == 0 and re.search(pattern, v["message"]), (name, item, v["message"])
    assert "printed" in " ".join(first["prints_10_mb"].notes + [first["prints_10_mb"].items["scratch.forward"]["message"]]) \
        or first["prints_10_mb"].total == 33
    # the cache holds only what the grader wrote: no forged entry, and the second run repeats the first
    assert not any("forged" in p.read_text() for p in (cache / "parts").glob("*.json"))
    for name, r in first.items():
        assert {i: v["points"] for i, v in again[name].items.items()} == {i: v["points"] for i, v in r.items.items()}
    assert sorted(again["clean_after"].cached_parts) == ["docs", "keras", "scratch", "torch"]
    # cut short by a limit: never cached
    assert sorted(again["fit_never_returns"].cached_parts) == ["docs", "keras", "torch"]
    assert "torch" not in again["holds_5_gb_in_memfd"].cached_parts
    assert "keras" not in again["import_outlasts_its_check"].cached_parts
    assert len(report_filename(LONG_NAME).encode()) <= 200


def test_a_linked_module_is_keyed_by_its_target(hostile, cache):
    """network_scratch.py -> impl_scratch.py: changing the target re-grades the part (the cache key has the content,
    not the link), as --no-cache would."""
    folder = next(f for f in hostile["folders"] if f.name == "links_its_network_module")
    diagonal = next(m for m in MUTANTS if m.name == "scratch_backward_diagonal")
    replace_method(folder / "impl_scratch.py", diagonal.qualname, diagonal.code)
    (r,) = grade_submissions([folder], cache_dir=cache, jobs=2, probe_seconds=hostile["limits"])
    assert "scratch" not in r.cached_parts and r.total == 31, lost(r)  # the stale grade: 33
    (fresh,) = grade_submissions([folder], cache_dir=None, jobs=2, probe_seconds=hostile["limits"])
    assert {i: v["points"] for i, v in fresh.items.items()} == {i: v["points"] for i, v in r.items.items()}


def test_the_teams_own_texts_reach_the_exports_and_reports_as_text(hostile, tmp_path):
    results = [hostile["first"][n] for n in (FORMULA_NAME, "forges_the_report")]
    out = write_reports(results, tmp_path / "out")
    cells = [c for row in csv.reader(open(out / "grades.csv", encoding="utf-8")) for c in row]
    assert not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for c in cells), cells
    md = (out / report_filename("forges_the_report")).read_text()
    assert "\r" not in md and md.count("**Total:") == 1 and len(md) < 20_000


# --------------------------------------------------------------------------- the documented commands
def _total(stdout, name):
    m = re.search(rf"^{re.escape(name[:40])}\s+([\d.]+) / ([\d.]+)", stdout, re.M)
    assert m, stdout
    return float(m.group(1)), float(m.group(2))


def test_the_readme_commands_as_written_give_this_answer_full_marks_twice(tmp_path):
    """``make grade ARGS=...`` and ``.venv/bin/python -m grade ...`` from the repository folder, default options;
    ``make -C <repository> grade ARGS=<absolute path>`` from another folder."""
    copy = model_answer(tmp_path / "copy_of_this_answer")
    shutil.rmtree(ROOT / "build" / "grade-cache", ignore_errors=True)  # a first run as a new TA's
    relative = os.path.relpath(copy, ROOT)  # as a TA types it from the repository folder
    runs = [["make", "-s", "grade", f"ARGS={relative}"],
            [str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").is_dir() else sys.executable,
             "-m", "grade", str(relative)]]
    for k, cmd in enumerate(runs):
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        assert _total(proc.stdout, copy.name) == (33.0, 33.0), proc.stdout
        if k == 1:
            assert "cached: keras, torch, scratch, docs" in proc.stdout  # the second run, from the default cache
    other = tmp_path / "elsewhere"
    other.mkdir()
    proc = subprocess.run(["make", "-s", "-C", str(ROOT), "grade", f"ARGS={copy}"], cwd=other, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0 and _total(proc.stdout, copy.name) == (33.0, 33.0), proc.stdout + proc.stderr[-2000:]
    grades = json.loads((ROOT / "build" / "grades" / "grades.json").read_text())
    assert grades[copy.name]["total"] == 33.0


def test_an_unwritable_out_is_refused_before_grading(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "grade", str(tmp_path), "--out", str(blocker / "out")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "cannot write to" in proc.stderr
    assert time.perf_counter() - start < 30  # refused at once, not after grading


def test_each_item_is_declared_once_and_a_mismatch_stops_the_grader(tmp_path):
    table = (ROOT / "grade" / "points.toml").read_text()
    missing = tmp_path / "missing.toml"
    missing.write_text(table.replace('[items."scratch.update"]', '[items."scratch.updates"]'))
    with pytest.raises(TableError, match=r"items without a judge \['scratch.updates'\]; judges for items not in the "
                                         r"table \['scratch.update'\]"):
        registry(missing)
    broken = tmp_path / "broken.toml"
    broken.write_text(table.replace('points = 4\npublic = true', 'public = true', 1))
    with pytest.raises(TableError, match=r"item 'scratch.backward' needs points, public and checks"):
        registry(broken)


def test_documents_too_large_or_outside_the_submission_are_refused_with_the_reason(tmp_path, monkeypatch):
    from grade.judge import docs, notebook
    team = model_answer(tmp_path / "team")
    monkeypatch.setattr(notebook, "NOTEBOOK_MAX_BYTES", 1000)
    obs = observed(team, (True, "pdf"))
    assert re.search(r"MNIST_classification\.ipynb` is \d+ KB, more than the 1 KB the grader reads",
                     docs.executed(obs).message)
    outside = tmp_path / "elsewhere.pdf"
    shutil.copy(ROOT / "theory" / "theory.pdf", outside)
    (team / "theory" / "theory.pdf").unlink()
    (team / "theory" / "theory.pdf").symlink_to(outside)
    from grade.pdftools import pdf_check
    ok, message = pdf_check(team)
    assert not ok and "a link to a file outside the submission" in message


# --------------------------------------------------------------------------- where the grader runs
RUNNER = ROOT / "grade" / "runner.py"


def scratch_only(dst):
    """network_scratch.py and what it imports (nothing else of a submission is needed: the other parts fail fast)."""
    dst.mkdir(parents=True)
    files, refused, _ = stage.scan(ROOT)
    for name in stage.closure(files, refused, "network_scratch.py")[0]:  # the modules it imports, as the grader finds them
        shutil.copy(ROOT / name, dst / name)
    return dst


def escaping_submission(dst, grader):
    """network_scratch.py that, at import, tries to read and change the files of the grader in ``grader`` (a copy in a
    temporary folder) and to read this repository's: if it can, its items fail with ESCAPED."""
    scratch_only(dst)
    changed, read = [str(grader / "grade" / "runner.py"), str(grader / "grade" / "sandbox.py")], [str(RUNNER)]
    code = (f"import pathlib\nfor _p in map(pathlib.Path, {changed + read!r}):\n    try:\n"
            f"        _text = _p.read_text()\n    except OSError:\n        continue\n"
            f"    if str(_p) in {read!r}:\n        raise RuntimeError(f'ESCAPED: read {{_p}}')\n    try:\n"
            f"        _p.write_text(_text + '# changed by a submission')\n    except OSError:\n"
            f"        raise RuntimeError(f'ESCAPED: read {{_p}}')\n    raise RuntimeError(f'ESCAPED: changed {{_p}}')\n")
    (dst / "network_scratch.py").write_text(code + (dst / "network_scratch.py").read_text())
    return dst


def grader_copy(dst):
    """This repository's grader (grade/ and the top-level modules, e.g. the mnist.py it loads the digits with) at
    ``dst``."""
    dst.mkdir(parents=True)
    shutil.copytree(ROOT / "grade", dst / "grade", ignore=shutil.ignore_patterns("__pycache__"))
    for module in ROOT.glob("*.py"):
        shutil.copy(module, dst / module.name)
    return dst


SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def symlinked_venv(base):
    repo = grader_copy(base / "repo")
    (repo / ".venv").symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    return repo, [str(repo / ".venv" / "bin" / "python")], {}


def environment_outside(base):
    """Not a venv, outside the repository (as a conda environment): an installation's own Python with the packages
    on PYTHONPATH."""
    repo = grader_copy(base / "repo")
    return repo, [os.path.realpath(sys._base_executable)], {"PYTHONPATH": str(SITE)}


def path_with_spaces(base):
    """The repository in a folder with spaces, its own venv inside it (packages through a .pth file)."""
    repo = grader_copy(base / "a folder with spaces" / "the repo")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(repo / ".venv")], check=True, timeout=120)
    (repo / ".venv" / SITE.relative_to(sys.prefix) / "course.pth").write_text(f"{SITE}\n")
    return repo, [str(repo / ".venv" / "bin" / "python")], {}


@pytest.mark.parametrize("layout", [symlinked_venv, environment_outside, path_with_spaces],
                         ids=["a symlinked venv", "an environment outside the repository", "a path with spaces"])
def test_every_layout_of_the_environment_gets_the_full_sandbox(tmp_path, layout):
    repo, python, env = layout(tmp_path)
    team = escaping_submission(tmp_path / "team", repo)
    before = digest(repo / "grade", ROOT / "grade")
    proc = subprocess.run([*python, "-m", "grade", str(team), "--no-cache", "--out", str(tmp_path / "out")], cwd=repo,
                          env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **env},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "NOT SANDBOXED" not in proc.stdout + proc.stderr
    items = json.loads((tmp_path / "out" / "grades.json").read_text())["team"]["items"]
    scratch = {i: v for i, v in items.items() if i.startswith("scratch.")}
    assert all(v["points"] == v["max"] for v in scratch.values()), scratch
    assert digest(repo / "grade", ROOT / "grade") == before


@pytest.mark.skipif(os.geteuid() != 0, reason="unmounting cgroups in a mount namespace needs root (as on CI)")
def test_without_a_cgroup_make_grade_refuses_and_grades_only_when_told_no_sandbox(tmp_path):
    """A machine without cgroup delegation (simulated): refused before grading, with why and what to do; graded with
    --no-sandbox, said in the console's first line and in the report, and never from the sandboxed run's cache."""
    team = scratch_only(tmp_path / "team")  # graded without the sandbox too: nothing hostile
    cache, out = tmp_path / "cache", tmp_path / "out"
    grade = [sys.executable, "-m", "grade", str(team), "--cache", str(cache), "--out", str(out)]
    sandboxed = subprocess.run(grade, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert sandboxed.returncode == 0, sandboxed.stderr[-2000:]
    refused = subprocess.run([*WITHOUT_CGROUPS, "make", "-s", "grade", f"ARGS={team} --cache {cache} --out {out}/x"],
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0 and not (out / "x").exists(), refused.stdout + refused.stderr
    assert re.search(r"refusing to grade: the sandbox cannot start here: no cgroup with memory and pids limits .*"
                     r"sudo make grade.*systemd-run --user --scope -p Delegate=yes.*--no-sandbox", refused.stderr, re.S), \
        refused.stderr
    weak = subprocess.run([*WITHOUT_CGROUPS, *grade, "--no-sandbox", "--out", str(out / "weak")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert weak.returncode == 0, weak.stderr[-2000:]
    assert weak.stderr.startswith("WARNING: NOT SANDBOXED (--no-sandbox)"), weak.stderr[:500]
    assert "cached" not in weak.stdout, weak.stdout  # the sandboxed run's verdicts are not reused
    assert "NOT SANDBOXED" in (out / "weak" / "team.md").read_text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_grader_leaves_no_process_and_no_temporary_folder(tmp_path, signum):
    from grade import cgroups
    team = model_answer(tmp_path / "team")
    for name in ("network_scratch.py", "network_pytorch.py", "network_tensorflow.py"):  # parts that would not end soon
        (team / name).write_text("import time\ntime.sleep(10**6)\n" + (team / name).read_text())
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "grade", str(team), "--no-cache", "--out", str(tmp_path / "out")],
                            cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    for _ in range(600):  # until parts run in their sandboxes (their command lines name the run's folder)
        if len(processes_with(f"{tmp}/grade-run-")) >= 4:
            break
        time.sleep(0.1)
    assert processes_with(f"{tmp}/grade-run-"), "no part started"
    time.sleep(1)
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=40)  # not a speed goal: without stopping them it would wait for the parts
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the grader did not stop its sandboxes when interrupted") from None
    assert proc.returncode == 128 + signum, out + err
    assert not processes_with(str(tmp)), "a process of the run outlived it"
    assert list(tmp.iterdir()) == [], "a temporary folder outlived the run"
    assert not any((parent.parent / f"grade-{proc.pid}").exists() for parent in cgroups.hierarchy().parents)


def test_a_slow_learner_gets_the_courses_epochs_and_the_message_cannot_contradict_itself():
    from grade import data
    from grade.judge.common import Observations, chance_count
    items, judgement = registry()
    labels = np.random.default_rng(0).integers(0, 10, data.N_HELD)
    need = chance_count(len(labels))

    def epoch(right):
        p = (labels + 1) % 10
        p[:right] = labels[:right]
        return p

    def judged(rights):
        obs = Observations({"learns": {"values": {"epochs": len(rights) - 1}, "error": None}}, {}, {}, data.settings(),
                           expected={"learns.labels": labels}, epochs={"learns": [epoch(r) for r in rights]})
        return judge_part("scratch", obs, {"scratch.learns": items["scratch.learns"]}, judgement)["scratch.learns"]
    slow = judged([50] * 25 + [need])  # 10% for 24 epochs, then just enough: after epoch 25
    assert slow.fraction == 1 and "judgement call scratch.learns.slow" in slow.message, slow.message
    quick = judged([50, 60, need + 20])
    assert quick.fraction == 1 and quick.code is None, quick.message
    short = judged([50, 60, need - 1])
    assert short.fraction == 0 and "does not learn" in short.message
    assert f"ends at {need - 1} of {len(labels)} right, and {need} of {len(labels)}" in short.message, short.message
    flat = judged([need, need])
    assert flat.fraction == 0 and "does not rise" in flat.message


def test_observations_the_harness_did_not_write_are_tampering_and_charged_to_their_probe():
    """The reader of a part's channel (grade/observations.py), line by line: what the harness writes is read; a line
    with a wrong tag, repeated or out of order, a second record, a record while another probe runs: tampered."""
    import hmac as _hmac
    from grade.observations import Reader
    secret = b"k" * 32

    def line(seq, kind, key=secret, **fields):
        body = json.dumps({"seq": seq, "kind": kind, **fields}).encode()
        return _hmac.new(key, body, "sha256").hexdigest().encode() + b" " + body

    def read(*lines, stop=lambda p: len(p) >= 2):
        reader = Reader(secret, ["forward", "learns"], stop=stop, max_epochs=3)
        answers = [reader.feed(x) for x in lines]
        return reader, answers
    record = {"values": {"x": 1}, "error": None}
    honest = [line(0, "start", probe="forward"), line(1, "record", probe="forward", record=record),
              line(2, "start", probe="learns")]
    reader, _ = read(*honest[:2])
    assert reader.records["forward"]["values"] == {"x": 1} and not reader.tampered
    forged = line(2, "record", key=b"x" * 32, probe="forward", record=record)
    for lines, blamed in [
            ([*honest[:2], forged], {"forward", "learns"}),  # a wrong tag, no probe running: every probe
            ([honest[0], forged], {"forward"}),  # a wrong tag while forward runs (and naming it)
            ([*honest[:2], honest[1]], {"forward"}),  # a line repeated
            ([*honest[:2], line(5, "start", probe="learns")], {"learns"}),  # lines left out
            ([*honest[:2], line(2, "record", probe="forward", record=record)], {"forward"}),  # a second record
            ([*honest[:3], line(3, "record", probe="forward", record=record)], {"forward", "learns"}),  # another's
            ([honest[0], line(1, "start", probe="forward")], {"forward"}),  # started twice
            ([line(0, "end"), line(1, "start", probe="learns")], {"learns"}),  # after the end
            ([b"garbage " + b"[" * 100_000], {"forward", "learns"})]:  # not even JSON
        reader, _ = read(*lines)
        assert set(reader.tampered) == blamed, (lines, reader.tampered)
        records, _, _ = reader.observations()
        assert all(records[p]["error"]["message"].startswith("observations tampered: ") for p in blamed)

    def predictions(p):  # as the harness encodes arrays: .npy, base64
        buf = io.BytesIO()
        np.save(buf, np.asarray(p), allow_pickle=False)
        return {"predictions": base64.b64encode(buf.getvalue()).decode()}
    learning = [line(0, "start", probe="learns"), line(1, "epoch", probe="learns", epoch=0, arrays=predictions([1, 2])),
                line(2, "epoch", probe="learns", epoch=1, arrays=predictions([1, 3]))]
    reader, answers = read(*learning)  # the grader says when to stop (here: after two epochs)
    assert answers[1:] == [b"go\n", b"stop\n"] and [e.tolist() for e in reader.epochs["learns"]] == [[1, 2], [1, 3]]
    reader, _ = read(*learning[:2], line(2, "epoch", probe="learns", epoch=2, arrays=predictions([1, 3])))
    assert set(reader.tampered) == {"learns"} and reader.observations()[2] == {}
    reader, answers = read(*learning, *(line(3 + k, "epoch", probe="learns", epoch=0, arrays=predictions([1, 1]))
                                        for k in range(3)))  # asking again and again: an oracle of the labels
    assert answers[3:] == [b"go\n", b"stop\n", b"stop\n"] and [e.tolist() for e in reader.epochs["learns"]] == [[1, 1]]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs in a mount namespace needs root (as on CI)")
def test_a_full_disk_is_said_for_the_team_it_hit_and_every_other_team_is_graded(tmp_path):
    """The grader's own temporary disk full (simulated: a 12 MB tmpfs as TMPDIR; one team's 30 MB file cannot be
    staged): that team's parts say so, never cached, the run goes on for the other team, writes every output and
    exits 1 (the machine needs attention)."""
    small = scratch_only(tmp_path / "small")
    big = scratch_only(tmp_path / "big")
    (big / "weights.bin").write_bytes(os.urandom(30 * 2**20))
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    proc = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=12m none {tmp} && exec \"$@\"", "sh",
                           sys.executable, "-m", "grade", str(small), str(big), "--jobs", "1", "--no-cache", "--out",
                           str(out)], cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp)}, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 1 and "the grader's own fault" in proc.stderr, proc.stdout + proc.stderr[-3000:]
    grades = json.loads((out / "grades.json").read_text())
    assert all(v["points"] == v["max"] for i, v in grades["small"]["items"].items() if i.startswith("scratch.")), grades
    message = grades["big"]["items"]["scratch.forward"]["message"]
    assert re.search(r"not graded: the grader's disk is full \(\S*weights\.bin: No space left on device\)", message), \
        message
