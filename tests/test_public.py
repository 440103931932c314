"""The students' own checks in the handout: `python check.py`, the notebook's check cells, GitHub Classroom.

* On the bare handout the command runs, names every public item failing with a message, and exits 1.
* With a right solution written in the template's style pasted in (tests/student_solution.py), a run
  notebook and a PDF, every public item passes: the commands of .github/workflows/classroom.yml
  run exactly as written there, item by item, and each exits 0.
* The workflow has GitHub Classroom's format (classroom-resources/autograding-command-grader and
  -grading-reporter): one test per public item with its points, every runner reported.
* The handout's checking code is the grader's, byte for byte (shared, not copied by hand), and
  leaves out what would give answers away.
* (That each public item agrees with the TA's grader on every mutant and real-work fixture is in
  tests/test_grade.py, on the grader's own observations.)
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from grade.handout import build_handout
from grade.handout_checks import SHIPPED, step_id
from grade.items import load_table, public_judgement
from grade_fixtures.real_work import notebook_2023
from student_solution import paste_right_solution

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = {i: it for i, it in load_table()[0].items() if it.public}
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    return build_handout(ROOT, tmp_path_factory.mktemp("handout") / "team_repository")


def environment():
    """The student's shell: `python` is the environment's Python (here this test's)."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_the_bare_handout_fails_every_public_item_with_a_clear_message(handout):
    proc = subprocess.run([sys.executable, "check.py"], cwd=handout, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line.split() and line.split()[0] in PUBLIC}
    assert sorted(lines) == sorted(PUBLIC)
    for item, line in lines.items():
        assert re.match(rf"{re.escape(item)}\s+FAIL\s+\S", line), line
    assert "not implemented yet" in lines["scratch.forward"] and "optimizer got an empty parameter list" in lines["torch.loss"]
    assert "no PDF" in lines["theory.pdf"] and "no outputs" in lines["notebook.executed"]
    assert "0 of 19 public checks pass" in proc.stdout


@pytest.fixture(scope="module")
def solved(handout, tmp_path_factory):
    """The handout as a team hands it in: the methods pasted, the notebook run, the answers as a PDF."""
    team = tmp_path_factory.mktemp("solved") / "team_repository"
    shutil.copytree(handout, team)
    paste_right_solution(team)
    (team / "MNIST_classification.ipynb").write_text(json.dumps(notebook_2023()))
    shutil.copy(ROOT / "theory" / "theory.pdf", team / "answers_part_1.pdf")
    return team


def workflow(folder):
    return yaml.safe_load((folder / ".github" / "workflows" / "classroom.yml").read_text())


def test_the_workflow_is_github_classrooms_format(handout):
    flow = workflow(handout)
    assert set(flow["on"]) >= {"push"}
    assert flow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    (job,) = flow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest" and "github-classroom[bot]" in job["if"]
    steps = job["steps"]
    graders = [s for s in steps if s.get("uses") == "classroom-resources/autograding-command-grader@v1"]
    (reporter,) = [s for s in steps if s.get("uses") == "classroom-resources/autograding-grading-reporter@v1"]
    assert steps[-1] is reporter and steps[0]["uses"] == "actions/checkout@v4"
    ids = [s["id"] for s in graders]
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", i) for i in ids) and len(set(ids)) == len(ids)
    for s in graders:
        w = s["with"]
        assert set(w) <= {"test-name", "setup-command", "command", "timeout", "max-score"}
        assert {"test-name", "command"} <= set(w) and isinstance(w["timeout"], int) and 1 <= w["timeout"] <= 60
        assert w["max-score"] == PUBLIC[w["test-name"]].points and s["id"] == step_id(w["test-name"])
    assert sorted(s["with"]["test-name"] for s in graders) == sorted(PUBLIC)
    assert reporter["with"]["runners"].split(",") == ids
    assert reporter["env"] == {f"{i.upper()}_RESULTS": f"${{{{steps.{i}.outputs.result}}}}" for i in ids}
    assert sum(s["with"]["max-score"] for s in graders) == sum(it.points for it in PUBLIC.values())


def test_the_workflows_commands_run_as_written_and_every_public_item_passes(solved, handout):
    """Each `run:` and `command:` of the workflow, in order, in the solved repository (the set-up steps that
    install packages are left out: this machine has them)."""
    steps = next(iter(workflow(solved)["jobs"].values()))["steps"]
    ran = 0
    for step in steps:
        command = step.get("run") or step.get("with", {}).get("command")
        if not command or "pip install" in command:
            continue
        proc = subprocess.run(command, shell=True, cwd=solved, env=environment(), capture_output=True, text=True,
                              timeout=900)
        if step.get("uses", "").endswith("autograding-command-grader@v1"):
            # the grader action fails a test on a non-zero exit status or on anything written to stderr
            assert proc.returncode == 0 and proc.stderr == "", (command, proc.stdout[-1500:], proc.stderr[-1500:])
            assert proc.stdout.startswith(f"PASS {step['with']['test-name']}"), proc.stdout
            ran += 1
    assert ran == len(PUBLIC)
    failing = subprocess.run([sys.executable, "check.py", "theory.pdf"], cwd=handout, capture_output=True,
                             text=True, timeout=300)  # the bare handout: no PDF -> stderr and exit status 1
    assert failing.returncode == 1 and failing.stderr.startswith("FAIL theory.pdf") and failing.stdout == ""


def test_the_notebook_has_a_check_cell_after_each_section_and_it_runs(handout, solved):
    nb = json.loads((handout / "MNIST_classification.ipynb").read_text())
    calls = [c["source"] for c in nb["cells"] if c["cell_type"] == "code" and "check.section(" in c["source"]]
    assert [re.search(r'check\.section\("(\w+)"\)', c).group(1) for c in calls] == ["scratch", "torch", "keras", "docs"]
    code = calls[-1].split("#")[0].strip()
    proc = subprocess.run([sys.executable, "-c", code], cwd=solved, capture_output=True, text=True, timeout=300)
    assert "notebook.team" in proc.stdout and "5 of 5 public checks pass" in proc.stdout, proc.stdout + proc.stderr


def test_the_checks_are_the_graders_code_and_give_nothing_away(handout):
    for rel in SHIPPED:
        assert (handout / "grade" / rel).read_bytes() == (ROOT / "grade" / rel).read_bytes(), rel
    shipped = {p.relative_to(handout / "grade").as_posix() for p in (handout / "grade").rglob("*") if p.is_file()}
    assert shipped == {*SHIPPED, "__init__.py", "points.toml", "expected.npz"}
    assert not (handout / "grade" / "reference.py").exists() and not (handout / "grade" / "diagnose").exists()
    table = (handout / "grade" / "points.toml").read_text()
    items, judgement = load_table()
    hidden_calls = [c for c in judgement if c not in public_judgement()]
    for hidden in [it.checks for it in items.values() if not it.public] + hidden_calls + ["diagonal_softmax_deriv"]:
        assert hidden not in table  # what a hidden item checks, a hidden diagnosis's name: not even as text
    shipped_table = tomllib.loads(table)  # the hidden items by name only, for check.py to say what it does not check
    assert shipped_table["not_public"] == ["keras.layers", "keras.activations", "keras.loss"]
    assert not set(shipped_table["not_public"]) & set(shipped_table["items"])
    make = subprocess.run(["make", "-n", "check", "ARGS=docs"], cwd=handout, capture_output=True, text=True)
    assert make.stdout.strip() == "python check.py docs"
