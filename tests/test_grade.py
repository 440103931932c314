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
from grade.handout import (HandoutError, build_handout, handout_notebook, handout_source, restore_eager,
                           restore_mistakes, strip_solutions)
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


# --------------------------------------------------------------------------- the handout generator
def test_regions_become_todo_stubs():
    src = ["class A:", "    def __init__(self):", "        x = 1", "        # BEGIN SOLUTION (init)",
           "        self.w = 2", "        # END SOLUTION", "    def f(self):", '        """Doc."""',
           "        # BEGIN SOLUTION", "        return 1", "", "        # END SOLUTION", "    y = 3"]
    assert strip_solutions(src) == ["class A:", "    def __init__(self):", "        x = 1", "        pass  # TODO",
                                    "    def f(self):", '        """Doc."""', '        raise NotImplementedError("TODO")',
                                    "    y = 3"]


@pytest.mark.parametrize("lines, error", [
    (["    # BEGIN SOLUTION", "    x = 1"], "never closed"),
    (["    x = 1", "    # END SOLUTION"], "without a '# BEGIN SOLUTION'"),
    (["    # BEGIN SOLUTION", "  # END SOLUTION"], "indented like"),
    (["# BEGIN SOLUTION", "# BEGIN SOLUTION", "# END SOLUTION"], "inside the region"),
])
def test_broken_regions_are_refused_with_their_line(lines, error):
    with pytest.raises(HandoutError, match=re.escape(error)):
        strip_solutions(lines, "f.py")


def test_mistakes_come_back_as_the_template_wrote_them():
    src = ["        # Mistake 1: why.", "        # for i in range(0, n):", "        # Repair 1:",
           "        self.add(Input())", "        for i in range(1, n):", "        # End of repair 1.",
           "            pass", "        # Mistake 2 (continued): why.", "        # loss = Bad()",
           "        # Repair 2 (continued):", "        loss = Good()", "        # End of repair 2 (continued).", "z"]
    assert restore_mistakes(src) == ["        for i in range(0, n):", "            pass", "        loss = Bad()", "z"]
    with pytest.raises(HandoutError, match="Repair 1:' is never closed"):
        restore_mistakes(src[:5])
    added = ["    # Mistake 1 (continued): nothing flattens.", "    # Repair 1 (continued):",
             "    def call(self, x):", "        return x", "    # End of repair 1 (continued).", "    z"]
    assert restore_mistakes(added) == ["    z"]  # a repair that only adds lines leaves nothing behind
    with pytest.raises(HandoutError, match="commented out"):
        restore_mistakes(["    # Mistake 3: why.", "    loss = Bad()", "    # Repair 3:"])


def test_template_eager_line_comes_back():
    assert restore_eager(["import tf", "# tf.config.run_functions_eagerly(True)", "x"])[1] == \
        "tf.config.run_functions_eagerly(True)"
    assert restore_eager(["import tf", "", "# The template starts with tf.config.run_functions_eagerly(True); it",
                          "# is left out.", "", "x"]) == ["import tf", "", "tf.config.run_functions_eagerly(True)", "", "x"]
    assert handout_source("a = 1\n", tensorflow=True) == "a = 1\n"


def test_notebook_loses_outputs_and_solutions():
    nb = {"metadata": {"papermill": {"duration": 1}}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
        {"cell_type": "code", "execution_count": 3, "metadata": {"papermill": {}}, "outputs": [{"output_type": "stream"}],
         "source": ["plt.figure()\n", "# BEGIN SOLUTION\n", "plt.plot(h['accuracy'])\n", "# END SOLUTION"]}]}
    out = handout_notebook(nb)
    code = out["cells"][1]
    assert code["outputs"] == [] and code["execution_count"] is None and code["metadata"] == {}
    assert "".join(code["source"]) == 'plt.figure()\nraise NotImplementedError("TODO")'
    assert "papermill" not in out["metadata"] and nb["cells"][1]["outputs"]  # the input is left alone


def test_make_handout_of_this_answer(tmp_path):
    out = build_handout(ROOT, tmp_path / "handout")
    names = {p.name for p in out.iterdir()}
    assert {"network_scratch.py", "network_pytorch.py", "network_tensorflow.py", "utils.py",
            "MNIST_classification.ipynb", "requirements.txt", "README.md"} <= names
    assert not names & {"tests", "bench", "theory", "grade", "figures", "build"}
    for path in out.glob("*.py"):
        text = path.read_text()
        compile(text, str(path), "exec")
        assert not re.search(r"^\s*# (BEGIN|END) SOLUTION", text, re.M), path.name
        assert not re.search(r"^\s*# (Mistake|Repair|End of repair) \d", text, re.M), path.name
    tf_src = (out / "network_tensorflow.py").read_text()
    assert "\ntf.config.run_functions_eagerly(True)\n" in tf_src
    assert "BinaryCrossentropy()" in tf_src and "for i in range(0, len(sizes)):" in tf_src
    nb = json.loads((out / "MNIST_classification.ipynb").read_text())
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
