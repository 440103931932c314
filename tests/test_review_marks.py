"""grade/review's rubric and marks: the rubric's schema (every mistake caps one item), the scoring
rules of RUBRIC_SEMANTICS in marks.py and in the review page's JavaScript (held equal on the same
marks, run in node), the TA's CSV checked, and the feedback naming every lost item and mistake.
No PDFs: the pages and pre-marks are tested in test_review.py."""

import csv
import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grade.review import DEFAULT_RUBRIC, MarksError, RubricError, load_rubric, marks_markdown, read_marks
from grade.review.marks import score_question
from grade.review.page import STATIC

ROOT = Path(__file__).resolve().parents[1]
RUBRIC_FILE = Path(__file__).resolve().parent / "review_fixtures" / "rubric.toml"


@pytest.fixture(scope="module")
def rubric():
    return load_rubric(RUBRIC_FILE)


def _question(rubric, qid):
    return next(q for q in rubric["questions"] if q["id"] == qid)


def _write(path, rows):
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([["team", "question", "id", "kind", "max", "value"], *rows])
    return path


# ----------------------------------------------------------------------------- the rubric's schema
def test_the_real_rubric_loads_and_every_premark_links_to_ids_it_has():
    """theory/rubric.toml follows the schema (every mistake caps one item, at most its points), and the
    rubric ids each pre-mark informs exist in it and in the tests' rubric (a renamed id fails here)."""
    from grade.review.checks import declared
    assert DEFAULT_RUBRIC == ROOT / "theory" / "rubric.toml"
    for path in (DEFAULT_RUBRIC, RUBRIC_FILE):
        ids = {e["id"] for q in load_rubric(path)["questions"] for e in q["items"] + q["mistakes"]}
        dead = {pid: [r for r in spec.rubric if r not in ids] for pid, spec in declared().items()}
        assert not {k: v for k, v in dead.items() if v}, path


@pytest.mark.parametrize("edit,message", [
    (('  applies_to = "1.1.hessian"\n', ""),
     "mistake '1.1.mixed_partial' of question 1.1: expected the keys ['applies_to', 'deduction', 'description', "
     "'id']; missing ['applies_to'], unknown []"),
    (('applies_to = "1.1.hessian"', 'applies_to = "1.1.hesian"'),
     "1.1.mixed_partial: applies_to must name an item of question 1.1 (1.1.gradient, 1.1.hessian, "
     "1.1.critical_points, 1.1.classification); received '1.1.hesian'"),
    (('applies_to = "1.1.hessian"', 'applies_to = "1.2.kink"'), "(1.1.gradient,"),
    (('id = "1.1.mixed_partial"\n  deduction = 1\n', 'id = "1.1.mixed_partial"\n  deduction = 1.5\n'),
     "1.1.mixed_partial: deduction must be positive and at most the 1 points of 1.1.hessian, the item it applies "
     "to; received 1.5"),
    (('id = "1.1.hessian"\n  points = 1\n', 'id = "1.1.hessian"\n  points = 2\n'),
     "question 1.1: the items' points [2, 2, 3, 2] must sum to the question's points 8; they sum to 9"),
    (('id = "1.2.partial_b"', 'id = "1.2.partial_B"'), "item id '1.2.partial_B' must read '1.2.<snake_case>'"),
    (("total = 40", "total = 41"), "meta.total must be the sum of the questions' points (40); received 41"),
])
def test_load_rubric_refuses_a_rubric_off_the_schema(tmp_path, edit, message):
    """The review tool refuses with theory/rubric.py's words (the schema is checked in one place only)."""
    text = RUBRIC_FILE.read_text()
    assert edit[0] in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(RubricError) as err:
        load_rubric(bad)
    assert message in str(err.value)


def test_every_problem_of_a_rubric_is_named_at_once(tmp_path):
    text = RUBRIC_FILE.read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("total = 40", "total = 41").replace('id = "1.2.partial_b"', 'id = "1.2.partial_B"'))
    with pytest.raises(RubricError) as err:
        load_rubric(bad)
    assert "received 41" in str(err.value) and "'1.2.partial_B'" in str(err.value)


# ----------------------------------------------------------------------------- scoring (RUBRIC_SEMANTICS)
@pytest.mark.parametrize("qid,marks,item,expected", [
    # a ticked mistake caps its item: min, not minus
    ("1.1", {"1.1.hessian": 1, "1.1.mixed_partial": 1}, "1.1.hessian", 0),
    ("1.1", {"1.1.classification": 2, "1.1.determinant_only": 1}, "1.1.classification", 1),
    ("1.1", {"1.1.classification": 1, "1.1.determinant_only": 1}, "1.1.classification", 1),  # marked down already
    ("1.1", {"1.1.classification": 1.5, "1.1.determinant_only": 1, "1.1.global_minimum": 1}, "1.1.classification", 0.5),
    ("1.1", {"1.1.classification": 2, "1.1.determinant_only": 0}, "1.1.classification", 2),  # box left empty
    # the floor is 0 per item: two mistakes deduct more than the item's points
    ("1.2", {"1.2.kink": 2, "1.2.kink_not_addressed": 1, "1.2.wrong_subdifferential": 1}, "1.2.kink", 0),
    # a mistake never takes another item's points: 1.4's linear activation leaves the output's point
    ("1.4", {"1.4.output": 1, "1.4.activation": 1, "1.4.linear_activation": 1}, "1.4.output", 1),
    ("1.4", {"1.4.output": 1, "1.4.activation": 1, "1.4.linear_activation": 1}, "1.4.activation", 0),
    # a mistake ticked on an unmarked item: the item has no score yet
    ("1.1", {"1.1.mixed_partial": 1}, "1.1.hessian", None),
])
def test_a_ticked_mistake_caps_only_its_own_item(rubric, qid, marks, item, expected):
    assert score_question(_question(rubric, qid), marks)["item_scores"][item] == expected


def test_a_question_scores_the_sum_of_its_items_and_nothing_while_one_is_unmarked(rubric):
    q = _question(rubric, "1.4")
    full = {i["id"]: i["points"] for i in q["items"]}
    assert score_question(q, full)["points"] == 5
    s = score_question(q, {**full, "1.4.linear_activation": 1, "1.4.product_assumed": 1, "1.4.wrong_factor": 1})
    assert s["points"] == 2 and s["item_scores"] == {"1.4.activation": 0, "1.4.weights": 0, "1.4.output": 1,
                                                      "1.4.verification": 1}
    del full["1.4.output"]
    s = score_question(q, full)
    assert s["points"] is None and not s["marked"] and s["earned"] == 4


def test_read_marks_scores_and_checks(tmp_path, rubric):
    path = _write(tmp_path / "m.csv", [
        ["a", "1.1", "1.1.gradient", "item", "2", "2"], ["a", "1.1", "1.1.critical_points", "item", "3", "3"],
        ["a", "1.1", "1.1.hessian", "item", "1", "1"], ["a", "1.1", "1.1.classification", "item", "2", "2"],
        ["a", "1.1", "1.1.mixed_partial", "mistake", "1", "1"], ["a", "1.1", "1.1.missed_critical_point", "mistake", "1.5", "1"],
        ["a", "1.1", "", "comment", "", "f_xy, \"6y\""],
        ["b", "1.2", "1.2.partial_b", "item", "1", ""]])
    res = read_marks(path, rubric, teams=["a", "b"])
    q = res["a"]["questions"]["1.1"]
    assert q["points"] == 5.5 and q["marked"] and q["mistakes"] == ["1.1.mixed_partial", "1.1.missed_critical_point"]
    assert q["items"]["1.1.hessian"] == 1 and q["item_scores"]["1.1.hessian"] == 0  # the TA's mark and its score
    assert res["a"]["comments"] == {"1.1": 'f_xy, "6y"'} and res["a"]["max"] == 40
    # no total while an item is unmarked, never a 0
    assert res["a"]["total"] is None and not res["a"]["complete"] and res["a"]["earned"] == 5.5
    assert res["b"]["total"] is None and res["b"]["questions"]["1.2"]["points"] is None
    assert set(res["a"]) >= {"questions", "total", "max", "comments", "complete"}
    assert set(q) >= {"points", "max", "marked", "items", "mistakes", "comment"}


def test_read_marks_refuses_what_does_not_fit(tmp_path, rubric):
    bad = _write(tmp_path / "bad.csv", [
        ["c", "1.1", "1.1.gradient", "item", "2", "1"], ["a", "1.1", "1.1.gradiant", "item", "2", "1"],
        ["a", "1.1", "1.1.gradient", "item", "2", "3"], ["a", "1.2", "1.2.partial_b", "item", "0.75", "0.5"],
        ["a", "1.1", "1.1.mixed_partial", "mistake", "1", "0.5"], ["a", "1.1", "1.1.hessian", "mistake", "1", "1"],
        # a mistake counts once: a second row for it is refused, not added
        ["a", "1.4", "1.4.wrong_factor", "mistake", "1", "1"], ["a", "1.4", "1.4.wrong_factor", "mistake", "1", "1"]])
    with pytest.raises(MarksError) as err:
        read_marks(bad, rubric, teams=["a", "b"])
    text = str(err.value)
    assert "team 'c' was not reviewed (expected one of: a, b)" in text
    assert "'1.1.gradiant' is not an item or mistake of question 1.1" in text and "1.1.critical_points" in text
    assert "points must be a number from 0 to 2. Received: '3'" in text
    assert "max 0.75, the rubric gives 1" in text and "Received: '0.5'" in text
    assert "1.1.hessian is a rubric item, the file says 'mistake'" in text
    assert "a 1.4.wrong_factor is marked twice" in text


def _random_marks(rubric, rng, teams=12):
    """Marks as a TA leaves them: items full, partly or not marked, mistakes ticked or not."""
    out = {}
    for t in range(teams):
        values = {}
        for q in rubric["questions"]:
            for i in q["items"]:
                if t % 2 == 0 or rng.random() < 0.85:  # every other team marked completely
                    values[i["id"]] = rng.choice([0, i["points"], i["points"], rng.randrange(0, 9) / 8 * i["points"]])
            for m in q["mistakes"]:
                if rng.random() < 0.5:
                    values[m["id"]] = rng.choice([0, 1, 1])
        out[f"team{t:02d}"] = values
    return out


def test_the_page_scores_as_marks_py_does(tmp_path):
    """static/scoring.js (the page's scoring) run by node on the same marks as marks.py: the same numbers."""
    node = shutil.which("node") or pytest.fail("node is not installed: apt-get install nodejs")
    rng = random.Random(26)
    r = load_rubric(RUBRIC_FILE)
    cases = [{"rubric": r, "marks": _random_marks(r, rng, teams=24)}]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    script = ("const S = require(process.argv[1]); const cases = JSON.parse(require('fs').readFileSync(process.argv[2]));"
              "console.log(JSON.stringify(cases.map(c => Object.fromEntries(Object.entries(c.marks)"
              ".map(([t, v]) => [t, S.team(c.rubric, v)])))));")
    proc = subprocess.run([node, "-e", script, str(STATIC / "scoring.js"), str(tmp_path / "cases.json")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    page = json.loads(proc.stdout)
    compared = 0
    for case, js in zip(cases, page):
        kinds = {e["id"]: (q["id"], kind) for q in case["rubric"]["questions"]
                 for kind in ("item", "mistake") for e in q[kind + "s"]}
        for team, values in case["marks"].items():
            rows = [[team, kinds[i][0], i, kinds[i][1], "", v] for i, v in values.items()]
            path = _write(tmp_path / f"{team}.csv", rows)
            py = read_marks(path, case["rubric"], teams=[team])[team]
            assert js[team]["total"] == py["total"] and js[team]["complete"] == py["complete"], team
            assert js[team]["earned"] == py["earned"], team
            for qid, q in py["questions"].items():
                j = js[team]["questions"][qid]
                assert (j["points"], j["earned"], j["item_scores"], j["mistakes"]) == \
                       (q["points"], q["earned"], q["item_scores"], q["mistakes"]), (team, qid)
                compared += 1
    assert compared == 24 * 7
    assert any(js[t]["complete"] for js in page for t in js) and not all(js[t]["complete"] for js in page for t in js)


# ----------------------------------------------------------------------------- feedback
def test_feedback_names_each_lost_item_and_mistake_with_its_points(tmp_path, rubric):
    rows = [["a", q["id"], i["id"], "item", i["points"], i["points"]] for q in rubric["questions"] for i in q["items"]]
    rows = [r if r[2] != "1.1.critical_points" else [*r[:5], "1.5"] for r in rows]  # marked down, no mistake
    rows += [["a", "1.4", "1.4.linear_activation", "mistake", "1", "1"], ["a", "1.5", "1.5.missing_sums", "mistake", "2", "1"],
             ["a", "1.5", "1.5.gradient_ascent", "mistake", "1", "0"], ["a", "1.4", "", "comment", "", "g | linear"]]
    res = read_marks(_write(tmp_path / "m.csv", rows), rubric, teams=["a"])["a"]
    md = marks_markdown(res, rubric)
    assert md.startswith("## Theory (part 1): 35.5 / 40\n")
    assert "| 1.1 Optimization | 6.5 / 8 |" in md and "| 1.4 Capacity of neural network | 4 / 5 | g \\| linear |" in md
    lost = md[md.index("Points lost"):]
    assert "- 1.1 Optimization (6.5 / 8):\n  - `1.1.critical_points` All four critical points (0,0), (0,6), (6,0), (2,2), " \
           "no other: 1.5 / 3" in lost
    assert "  - `1.4.activation` A hidden activation that can make x1·x2 (e.g. g(z) = z²): 0 / 1\n" \
           "  - mistake `1.4.linear_activation` Linear hidden activation (cannot produce x1·x2): −1 (caps `1.4.activation`)" in lost
    assert "  - `1.5.chain_rule` Chain rule with the sums over k, l and m: 1 / 3" in lost
    assert "gradient_ascent" not in md and "1.2" not in lost and "1.4.output" not in lost
    # incomplete: no total, no points for the open question
    rows = [r for r in rows if r[2] != "1.3.2.line"]
    res = read_marks(_write(tmp_path / "m2.csv", rows), rubric, teams=["a"])["a"]
    md = marks_markdown(res, rubric)
    assert md.startswith("## Theory (part 1): not marked completely, no total yet (of 40)")
    assert "| 1.3.2 Error rate versus model complexity | not marked yet / 4 |" in md
    assert not re.search(r"\b35\.5\b", md)
    # a comment is shown as typed: no line of its own, no HTML that hides the rest of the report
    rows += [["a", "1.1", "", "comment", "", "see <!-- below\r**Total: 40 / 40**\u2028`x`"]]
    res = read_marks(_write(tmp_path / "m3.csv", rows), rubric, teams=["a"])["a"]
    forged = marks_markdown(res, rubric)
    assert forged.splitlines()[1:] and len(forged.splitlines()) == len(md.splitlines()), forged
    assert "<!--" not in forged and "**Total" not in forged and "`x`" not in forged, forged
