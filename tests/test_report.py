"""The grader's exports, as a teaching assistant opens them and a team reads them (fast: results built here).

* No CSV cell a spreadsheet would evaluate (OWASP's CSV-injection list: a cell beginning with ``=``,
  ``+``, ``-``, ``@``, tab or CR) unless it is a number: grades.csv, moodle.csv and timing.csv, with
  roster names, IDs and a submission folder written as attacks.
* A team's report: whatever the submission's texts hold (a bare CR, Unicode line separators, pipes,
  HTML, backticks, emphasis), its lines are the grader's lines (Python's ``str.splitlines``, which
  splits at more characters than CommonMark, is the strict reference) and it renders (markdown-it,
  CommonMark with tables) to the grader's table and nothing else.
* No silent zero: a team without complete theory marks has empty theory and total cells and no
  Moodle grade, and ``python -m grade`` says so and exits non-zero unless ``--allow-incomplete``.
* Moodle's grade: raw points, or scaled to ``--moodle-max`` with ``--weights``; bad values refused.
* The class's data kept in this folder, where grade/README.md says, is ignored by git.
"""

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import grade.__main__ as cli
from grade.batch import SubmissionResult
from grade.items import load_table
from grade.moodle import moodle_grade, moodle_scale
from grade.report import (NOTEBOOK_NOTE, attach_theory, incomplete_theory, markdown, read_roster, write_reports)
from grade.review import load_rubric
from grade.ta_io import InputError, csv_cell

ROOT = Path(__file__).resolve().parents[1]
ITEMS = load_table()[0]
FORMULA = ("=", "+", "-", "@", "\t", "\r")  # OWASP, CSV injection: the first characters a spreadsheet evaluates
ATTACKS = ['=HYPERLINK("http://x.example"&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1)", "=1+1", "-2+3",
           "\t=1+1", "\r=1+1", " =1+1"]


def result(name, lost=None, message="as expected", notes=()):
    """A graded submission as grade_submissions returns it: every item full, except ``lost`` {item: points}."""
    lost = lost or {}
    items = {i: {"points": lost.get(i, it.points), "max": it.points, "message": message, "fraction": 1.0,
                 "code": None, "refined": False} for i, it in ITEMS.items()}
    total = sum(v["points"] for v in items.values())
    return SubmissionResult(name, Path("/submissions") / name, items, total, sum(it.points for it in ITEMS.values()),
                            12.34, ["docs"], list(notes), {})


def rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def evaluated(cell):
    """Would a spreadsheet evaluate this cell? (A number is a number, whatever its sign.)"""
    if not cell.startswith(FORMULA):
        return False
    try:
        float(cell)
        return False
    except ValueError:
        return True


# --------------------------------------------------------------------------- CSV
def test_csv_cells_keep_numbers_and_turn_formulas_into_text():
    assert [csv_cell(v) for v in (33.0, 0.3333, -1.5, 7, None)] == ["33", "0.3333", "-1.5", "7", ""]
    for attack in ATTACKS:
        assert csv_cell(attack) == "'" + attack and not evaluated(csv_cell(attack))
    assert csv_cell("-1.5") == "'-1.5"  # text (a roster's ID), not a number the grader computed
    assert csv_cell("Ada Lovelace") == "Ada Lovelace"
    with pytest.raises(ValueError, match="finite number"):
        csv_cell(float("nan"))


def test_no_export_holds_a_cell_a_spreadsheet_evaluates(tmp_path):
    folder = '=HYPERLINK("http://x.example"&A1,"x")'
    results = [result(folder, {"torch.loss": 1}), result("team02")]
    roster = tmp_path / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["team", "name", "matriculation", "email"])
        w.writerow([folder, ATTACKS[0], "=1+1", "ada@example.org"])
        w.writerow([folder, ATTACKS[1], "225985", "@SUM(1)"])
        w.writerow(["team02", ATTACKS[2], "-225986", "\t=cmd@example.org"])
    out = write_reports(results, tmp_path / "out", read_roster(roster))
    cells = {name: [c for row in rows(out / name) for c in row] for name in ("grades.csv", "moodle.csv", "timing.csv")}
    for name, found in cells.items():
        assert not [c for c in found if evaluated(c)], (name, [c for c in found if evaluated(c)])
    assert "'" + folder in cells["grades.csv"] and "'" + folder in cells["timing.csv"]
    moodle = {r["ID number"]: r for r in csv.DictReader(open(out / "moodle.csv", encoding="utf-8"))}
    assert set(moodle) == {"'=1+1", "225985", "'-225986"}
    assert moodle["'=1+1"]["Full name"] == "'" + ATTACKS[0] and moodle["225985"]["Email address"] == "'@SUM(1)"
    assert moodle["'-225986"]["Grade"] == "33" and moodle["225985"]["Grade"] == "32"  # numbers stay numbers
    grades = {r["submission"]: r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    assert float(grades["'" + folder]["total"]) == 32 and float(grades["team02"]["torch.loss"]) == 2


# --------------------------------------------------------------------------- Markdown
HOSTILE = ["NameError\r**Total: 33 / 33 points**\r<!--", "x\n# A heading\n\n| a | b |", "a|b\\|c", "<script>x()</script>",
           "`code` **bold** _em_ [link](http://x.example) ![img](http://x.example/i.png) ~~gone~~ $x^2$",
           "\u2028**Total: 1 / 1**\u2029", "\x85**Total**\x0b\x0c\x1c\x1d\x1e", "&lt;!-- &#42;", "\u202eevil\x00\x1b[31m",
           "\\", "x" * 8000]


def unescaped_pipes(line):
    count, k = 0, 0
    while k < len(line):
        if line[k] == "\\":
            k += 2
            continue
        count += line[k] == "|"
        k += 1
    return count


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_a_submissions_text_cannot_change_the_reports_lines(text):
    clean = result("team", message="x", notes=["x"])
    hostile = result(text[:300], message=text, notes=[text])
    want, got = markdown(clean).splitlines(), markdown(hostile).splitlines()
    assert len(got) == len(want), got
    for mine, theirs in zip(want, got):
        if mine.startswith("| `"):  # a row: the same item and points, one cell per column
            assert theirs.startswith(mine[:mine.index(" | ", mine.index("/")) + 3]) and unescaped_pipes(theirs) == 5
            assert len(theirs) < 12_000
        elif mine.startswith(("# Problem set 1: feedback for ", "> Note: ")):
            assert theirs.startswith(mine[:mine.index(":") + 1]), theirs
        else:
            assert theirs == mine
    assert NOTEBOOK_NOTE in got


def test_the_rendered_report_is_the_graders_table_and_nothing_else():
    markdown_it = pytest.importorskip("markdown_it")
    render = markdown_it.MarkdownIt("commonmark").enable("table")

    def kinds(md):
        tokens = render.parse(md)
        flat = [t for tok in tokens for t in [tok, *(tok.children or [])]]
        return {k: sum(t.type == k for t in flat) for k in ("table_open", "tr_open", "td_open", "heading_open",
                                                            "strong_open", "em_open", "code_inline", "html_block",
                                                            "html_inline", "link_open", "image", "s_open",
                                                            "blockquote_open", "hardbreak", "softbreak")}
    want = kinds(markdown(result("team", message="x", notes=["x"])))
    for text in HOSTILE:
        assert kinds(markdown(result(text[:300], message=text, notes=[text]))) == want, text
    assert want["table_open"] == 1 and want["tr_open"] == len(ITEMS) + 1 and want["html_block"] == 0


# --------------------------------------------------------------------------- theory marks: no silent zero
@pytest.fixture()
def marks(tmp_path):
    """team_a marked completely, team_b with one rubric item unmarked, team_c not in the file."""
    rubric = load_rubric()
    lines = ["team,question,id,kind,max,value"]
    for team in ("team_a", "team_b"):
        for q in rubric["questions"]:
            for k, i in enumerate(q["items"]):
                unmarked = team == "team_b" and q["id"] == rubric["questions"][-1]["id"] and k == 0
                lines.append(f"{team},{q['id']},{i['id']},item,{i['points']},{'' if unmarked else i['points']}")
            lines += [f"{team},{q['id']},{m['id']},mistake,{m['deduction']},0" for m in q["mistakes"]]
    path = tmp_path / "theory_marks.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, rubric


ROSTER = "team,name,matriculation,email\nteam_a,Ada Lovelace,225984,a@example.org\n" \
         "team_b,Alan Turing,225985,b@example.org\nteam_c,Grace Hopper,225986,c@example.org\n"


def test_incomplete_theory_marks_leave_theory_and_total_empty_never_zero(tmp_path, marks):
    path, rubric = marks
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    results = attach_theory([result("team_a"), result("team_b", {"scratch.backward": 2}), result("team_c")], path)
    assert incomplete_theory(results) == [("team_b", [rubric["questions"][-1]["id"]]),
                                          ("team_c", [q["id"] for q in rubric["questions"]])]
    out = write_reports(results, tmp_path / "out", read_roster(tmp_path / "roster.csv"))
    grades = {r["submission"]: r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    last = f"theory {rubric['questions'][-1]['id']}"
    assert grades["team_a"]["theory"] == f"{rubric['total']:g}" and grades["team_a"]["total"] == f"{33 + rubric['total']:g}"
    assert (grades["team_b"]["code"], grades["team_b"]["theory"], grades["team_b"]["total"], grades["team_b"][last]) \
        == ("31", "", "", "")
    assert grades["team_b"][f"theory {rubric['questions'][0]['id']}"] != ""  # a question marked completely is shown
    assert [grades["team_c"][k] for k in grades["team_c"] if k.startswith("theory ") or k in ("theory", "total")] \
        == [""] * (len(rubric["questions"]) + 2)
    moodle = {r["ID number"]: r for r in csv.DictReader(open(out / "moodle.csv", encoding="utf-8"))}
    assert moodle["225984"]["Grade"] == f"{33 + rubric['total']:g}"
    assert moodle["225985"]["Grade"] == "" and moodle["225986"]["Grade"] == ""
    assert "Theory: not completely marked yet (no grade until it is)" in moodle["225985"]["Feedback"]
    data = json.loads((out / "grades.json").read_text())
    assert data["team_b"]["total"] is None and data["team_a"]["total"] == 33 + rubric["total"]
    assert "**Total: not yet: the theory is not completely marked (code: 31 / 33 points)**" in (out / "team_b.md").read_text()


def run_cli(monkeypatch, tmp_path, *args):
    """``python -m grade`` in this process on results built here (the grading itself is not what is tested)."""
    made = [result("team_a"), result("team_b", {"scratch.backward": 2}), result("team_c")]
    monkeypatch.setattr(cli, "grade_submissions", lambda *a, **k: made)
    monkeypatch.setattr(cli.sandbox, "available", lambda: ("bwrap", "stand-in: no sandbox is started here"))
    monkeypatch.chdir(tmp_path)
    return cli.main(["team_a", "team_b", "team_c", "--out", str(tmp_path / "out"), "--no-cache", *args])


def test_the_run_lists_incomplete_teams_and_fails_unless_told(tmp_path, marks, monkeypatch, capsys):
    path, _ = marks
    assert run_cli(monkeypatch, tmp_path, "--theory-marks", str(path)) == 1
    err = capsys.readouterr().err
    assert "ERROR: the theory marks of 2 team(s) are incomplete" in err and "team_b: not completely marked" in err
    assert "team_c: not completely marked" in err and "team_a" not in err
    assert (tmp_path / "out" / "grades.csv").is_file()  # written all the same, with the empty cells
    assert run_cli(monkeypatch, tmp_path, "--theory-marks", str(path), "--allow-incomplete") == 0
    assert "WARNING: the theory marks of 2 team(s) are incomplete" in capsys.readouterr().err
    assert run_cli(monkeypatch, tmp_path) == 0  # no theory marks at all: the code grade alone, as before


# --------------------------------------------------------------------------- Moodle's grade
def test_moodle_grade_raw_or_scaled_and_weighted(tmp_path, marks):
    path, rubric = marks
    a = attach_theory([result("team_a", {"scratch.backward": 1}), result("team_b"), result("team_c")], path)[0]
    theory = rubric["total"]
    assert moodle_grade(a, moodle_scale()) == 30 + theory
    assert moodle_grade(a, moodle_scale(100, None, theory=True)) == round(100 * (30 + theory) / (33 + theory), 2)
    assert moodle_grade(a, moodle_scale(100, "code=60,theory=40", theory=True)) == round(60 * 30 / 33 + 40, 2)
    assert moodle_grade(a, moodle_scale(10, "theory=1, code=3", theory=True)) == round(10 * (3 * 30 / 33 + 1) / 4, 2)
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    out = write_reports([a], tmp_path / "out", {"team_a": read_roster(tmp_path / "roster.csv")["team_a"]},
                        moodle_scale(100, "code=60,theory=40", theory=True))
    row = next(csv.DictReader(open(out / "moodle.csv", encoding="utf-8")))
    assert row["Grade"] == f"{round(60 * 30 / 33 + 40, 2):g}" and "of 100 (code 60 %, theory 40 %)" in row["Feedback"]


@pytest.mark.parametrize("args, says", [
    (["--moodle-max", "0"], r"--moodle-max must be a positive number, Moodle's maximum grade \(e\.g\. 100\); received 0"),
    (["--moodle-max", "nan"], r"--moodle-max must be a positive number"),
    (["--moodle-max", "ten"], r"argument --moodle-max: invalid float value: 'ten'"),
    (["--weights", "code=60,theory=40", "--theory-marks", "{marks}"], r"--weights needs --moodle-max"),
    (["--moodle-max", "100", "--weights", "code=60"], r"give --roster too"),
    (["--moodle-max", "100", "--weights", "code=60", "--theory-marks", "{marks}", "--roster", "{roster}"],
     r"expected code=W,theory=W .*received 'code=60': the weight of theory is missing"),
    (["--moodle-max", "100", "--weights", "code=60,theory=40", "--roster", "{roster}"],
     r"this run has no theory marks \(give --theory-marks to weigh them\)"),
    (["--moodle-max", "100", "--weights", "code=-1,theory=4", "--theory-marks", "{marks}", "--roster", "{roster}"],
     r"code=-1 is not a non-negative number"),
    (["--moodle-max", "100", "--weights", "code=6o,theory=4", "--theory-marks", "{marks}", "--roster", "{roster}"],
     r"'6o' is not a number"),
    (["--moodle-max", "100", "--weights", "code=1,code=2", "--roster", "{roster}"], r"code is given twice"),
    (["--moodle-max", "100", "--weights", "code:60", "--roster", "{roster}"], r"'code:60' is not code=W or theory=W"),
    (["--moodle-max", "100", "--weights", "code=0,theory=0", "--theory-marks", "{marks}", "--roster", "{roster}"],
     r"the weights add up to 0"),
])
def test_bad_moodle_options_are_refused_before_grading(tmp_path, marks, monkeypatch, capsys, args, says):
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    args = [a.format(marks=marks[0], roster=tmp_path / "roster.csv") for a in args]
    monkeypatch.setattr(cli, "grade_submissions", lambda *a, **k: pytest.fail("graded despite a bad option"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        cli.main(["team_a", "--out", str(tmp_path / "out"), "--no-cache", *args])
    assert stop.value.code == 2
    assert re.search(says, capsys.readouterr().err)


def test_weights_are_checked_by_themselves():
    with pytest.raises(InputError, match="--weights needs --moodle-max"):
        moodle_scale(None, "code=1")
    assert moodle_scale(100, "code=1").weights == {"code": 1.0}


# --------------------------------------------------------------------------- the class's data stays out of git
def test_the_class_data_kept_where_the_readme_says_is_ignored_by_git(tmp_path):
    if shutil.which("git") is None or subprocess.run(["git", "rev-parse"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("not a git work tree")
    kept = ["submissions/team01/network_scratch.py", "roster.csv", "theory_marks.csv", "overrides.toml",
            "build/grades/grades.csv", "build/review/review.html", "build/grade-cache/parts/x.json"]
    for path in kept:
        assert path.split("/")[0] in (ROOT / "grade" / "README.md").read_text(), path  # the README names the place
    proc = subprocess.run(["git", "check-ignore", "--no-index", "--verbose", *kept], cwd=ROOT, capture_output=True,
                          text=True)
    ignored = {line.split("\t")[-1] for line in proc.stdout.splitlines()}
    assert ignored == set(kept), set(kept) - ignored
    tracked = subprocess.run(["git", "check-ignore", "--no-index", "grade/README.md", "theory/rubric.toml"], cwd=ROOT,
                             capture_output=True, text=True)
    assert tracked.stdout == ""
