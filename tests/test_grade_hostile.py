"""grade/ against hostile submissions (among them every attack of issue 25), graded between two clean copies
of this answer: nothing of the clean copies' grades, the grader's files or its cache changes, no process is left
behind, each is graded with a clear message (0 for the attacker's own items, or contained); the second run comes
from the cache and gives the same grades; a linked module is keyed by its target's content; the teams' own texts
reach the exports and reports as text.
"""

import csv
import re
from pathlib import Path

import pytest

from grade import grade_submissions
from grade.report import report_filename, write_reports
from grade_fixtures.hostile import DAEMON_MARK, FORMULA_NAME, HOSTILE, LONG_NAME, Either
from grade_fixtures.mutants import MUTANTS, model_answer, replace_method
from grade_fixtures.runs import digest, lost, processes_with

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("grade-cache")


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
    # four parts at once: the run mostly waits for the submissions that sit out their time limits
    first = {r.name: r for r in grade_submissions(folders, cache_dir=cache, jobs=4, probe_seconds=limits)}
    changed = digest(ROOT / "grade", ROOT / "tests") != before_code
    daemons = processes_with(DAEMON_MARK)
    again = {r.name: r for r in grade_submissions(folders, cache_dir=cache, jobs=4, probe_seconds=limits)}
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
