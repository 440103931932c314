"""grade/: the model answer earns every point, the handout none of the implementation points,
each mutant loses exactly its own item(s) with the matching diagnosis, hostile submissions
cannot break a run, and the handout generator follows the project's region rules."""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grade import ITEMS, grade_submissions
from grade.handout import build_handout
from grade.report import write_reports
from grade.runner import load_points
from grade_fixtures.hostile import HOSTILE
from grade_fixtures.mutants import MUTANTS, model_answer

ROOT = Path(__file__).resolve().parents[1]
POINTS, PARTIAL = load_points()
PART_OF = {"network_scratch.py": "scratch", "network_pytorch.py": "torch", "network_tensorflow.py": "keras",
           "MNIST_classification.ipynb": "docs"}
IMPLEMENTATION = [i for i in ITEMS if i.split(".")[0] in ("scratch", "torch", "keras", "tblr")]


def tree(folder):
    """Every file of ``folder`` with its bytes (to show grading writes nothing into a submission)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("grade-cache")


@pytest.fixture(scope="session")
def graded(tmp_path_factory, cache):
    """The model answer, the handout and every mutant, graded in one run (2 jobs)."""
    base = tmp_path_factory.mktemp("submissions")
    folders = [model_answer(base / "model_answer"), build_handout(ROOT, base / "handout")]
    folders += [m.make(base / m.name) for m in MUTANTS]
    before = tree(folders[0])
    results = grade_submissions(folders, cache_dir=cache, jobs=2)
    assert tree(folders[0]) == before, "grading wrote into the submission folder"
    return {r.name: r for r in results}, folders


pytestmark = pytest.mark.slow


def test_model_answer_earns_every_point(graded):
    r = graded[0]["model_answer"]
    lost = {i: v["message"] for i, v in r.items.items() if v["points"] != v["max"]}
    assert not lost
    assert r.total == r.max == sum(POINTS.values())
    assert "finite differences" in r.items["scratch.backward"]["message"]


def test_handout_earns_no_implementation_point(graded):
    r = graded[0]["handout"]
    earned = {i: r.items[i]["message"] for i in IMPLEMENTATION if r.items[i]["points"] != 0}
    assert not earned
    msg = {i: v["message"] for i, v in r.items.items()}
    for item in ("scratch.forward", "scratch.backward", "scratch.update", "scratch.predict", "tblr.values"):
        assert "not implemented yet" in msg[item], item
    assert "extra Dense(784) layer" in msg["keras.layers"]
    assert "activations are swapped" in msg["keras.activations"]
    assert "binary cross-entropy is kept" in msg["keras.loss"]
    assert "optimizer got an empty parameter list" in msg["torch.forward"]  # the layers are a TODO
    assert "no outputs" in msg["notebook.executed"]
    assert r.items["notebook.team"]["points"] == 0  # the answer's team is blanked in the handout
    assert r.items["keras.input"]["points"] == 0  # the flattening is part of repair 1


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_loses_exactly_its_items(graded, mutant):
    r = graded[0][mutant.name]
    expected = {i: POINTS[i] for i in ITEMS}
    for item, keep in {**mutant.lost, **mutant.also_lost}.items():
        expected[item] = POINTS[item] * keep
    got = {i: v["points"] for i, v in r.items.items()}
    assert got == expected, {i: r.items[i]["message"] for i in ITEMS if got[i] != expected[i]}
    first = next(iter(mutant.lost))
    assert re.search(mutant.diagnosis, r.items[first]["message"]), r.items[first]["message"]
    # only the part that reads the changed file ran again; the others came from the model answer's
    changed = PART_OF[mutant.file]
    assert sorted(r.cached_parts) == sorted({"scratch", "torch", "keras", "docs"} - {changed})


def test_reports_have_the_issue_shapes(graded, tmp_path):
    results = list(graded[0].values())
    out = write_reports(results, tmp_path)
    data = json.loads((out / "grades.json").read_text())
    assert set(data) == {r.name for r in results}
    for name, entry in data.items():
        assert set(entry) == {"items", "total", "max"}
        assert list(entry["items"]) == list(ITEMS)
        for v in entry["items"].values():
            assert set(v) == {"points", "max", "message"}
            assert isinstance(v["points"], float) and isinstance(v["max"], float) and v["message"]
        assert entry["total"] == pytest.approx(sum(v["points"] for v in entry["items"].values()))
    rows = list(csv.DictReader(open(out / "grades.csv")))
    assert [r["submission"] for r in rows] == [r.name for r in results]
    assert list(rows[0]) == ["submission", *ITEMS, "total", "max"]
    md = (out / "model_answer.md").read_text()
    assert "**Total: 33 / 33**" in md and "`scratch.backward` | 4 / 4" in md


def test_cli_reuses_the_cache(graded, cache, tmp_path):
    folder = graded[1][0]
    proc = subprocess.run([sys.executable, "-m", "grade", str(folder), "--out", str(tmp_path / "out"),
                           "--cache", str(cache)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "model_answer  33 / 33" in proc.stdout and "cached: keras, torch, scratch, docs" in proc.stdout
    data = json.loads((tmp_path / "out" / "grades.json").read_text())
    assert data["model_answer"]["total"] == 33.0


def test_hostile_submissions_cannot_break_a_run(tmp_path, cache):
    folders = []
    for name, (build, _) in HOSTILE.items():
        build(tmp_path / name)
        folders.append(tmp_path / name)
    folders.append(model_answer(tmp_path / "model_answer_too"))
    results = {r.name: r for r in grade_submissions(folders, cache_dir=cache, jobs=2,
                                                    timeouts={"learns": 10, "item": 20})}
    assert results["model_answer_too"].total == results["model_answer_too"].max
    for name, (_, broken) in HOSTILE.items():
        r = results[name]
        for item, v in r.items.items():
            pattern = next((p for prefix, p in broken.items() if item.startswith(prefix)), None)
            if pattern is None:
                assert v["points"] == v["max"], (name, item, v["message"])
            else:
                assert v["points"] == 0 and re.search(pattern, v["message"]), (name, item, v["message"])
    noisy = results["prints_10_mb"].items["scratch.forward"]["message"]
    assert "printed 10.0 MB" in noisy
