"""grade/ on the course's work: this answer, the handout, the mutants and the 2023 fixtures, graded in one run.

* The model answer earns every point; the handout none; each mutant (one method rewritten as a
  student would) loses exactly its items, with the diagnosis named; a judgement call keeps its
  points and says so (tests/grade_fixtures/expectations.py, which tests/test_judges_recorded.py
  asserts too, of the judges on the observations of this run kept in tests/grade_fixtures/recorded/).
* Work written for the 2023 template (tests/grade_fixtures/real_work.py) gets the grade a
  careful teaching assistant gives, item by item.
* The reports, grades.csv, grades.json and moodle.csv of that run; the students' public checks agree
  with the grader on every fixture.

The other end-to-end files: tests/test_grade_hostile.py (hostile submissions),
tests/test_grade_cli.py (the documented commands), tests/test_grade_environment.py (where the grader
runs); tests/test_observations.py holds the channel's and the learning judge's rules without a sandbox.
"""

import csv
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from grade import grade_submissions
from grade.handout import build_handout
from grade.items import load_table, registry
from grade.observations import judge_part
from grade.parts import PARTS
from grade.report import InputError, apply_overrides, attach_theory, moodle_rows, read_roster, write_reports
from grade_fixtures import expectations, recorded
from grade_fixtures.mutants import MUTANTS, model_answer
from grade_fixtures.real_work import REAL_WORK
from grade_fixtures.runs import lost, tree

ROOT = Path(__file__).resolve().parents[1]
ITEMS, _ = load_table()
POINTS = {i: it.points for i, it in ITEMS.items()}
pytestmark = pytest.mark.slow


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
