"""grade/'s code as the next engineer changes it: each part and each item declared once, checked where they meet.

* grade/README.md's tables of items and judgement calls are grade/points.toml's.
* A judge in the wrong module stops ``make handout`` before it writes anything: a hidden item's judge in a module
  the handout ships (it would break the students' checks), a public item's judge outside them.
* The files the handout ships are check.py's import closure; one that imports the references is refused.
* The names linking the inputs and the right answers to the probes and judges are checked when they load:
  an unknown or a missing one stops the run.
* Adding an item as grade/README.md walks through it (its three code blocks, applied to a copy of this
  repository) puts the item in the report, grades.csv, check.py's output and the Classroom workflow (slow).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from grade import data as graderdata
from grade import reference
from grade.items import check_placement, load_table, registry
from grade.pipeline import Context
from grade.shipped import ShippingError, public_files

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "grade" / "README.md"


def copy_of_the_repository(dst):
    """grade/, the top-level modules (the grader loads mnist.py), the notebook and the licence: what the grader and
    ``make handout`` read."""
    dst.mkdir(parents=True)
    shutil.copytree(ROOT / "grade", dst / "grade", ignore=shutil.ignore_patterns("__pycache__"))
    for path in [*ROOT.glob("*.py"), ROOT / "MNIST_classification.ipynb", ROOT / "LICENSE"]:
        shutil.copy(path, dst / path.name)
    return dst


def run(cmd, cwd, **kwargs):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900, **kwargs)


# --------------------------------------------------------------------------- the README's tables
def rows_until_blank(heading):
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(heading) + 2
    out = []
    for line in lines[start:]:
        if not line.startswith("| "):
            break
        out.append(line)
    return out


def test_the_readmes_tables_are_the_points_table():
    items, judgement = load_table()
    assert rows_until_blank("| item | points | public | what is checked |") == [
        f"| `{i}` | {it.points:g} | {'yes' if it.public else 'no'} | {it.checks} |" for i, it in items.items()]
    assert rows_until_blank("| call | points kept | why |") == [
        f"| `{code}` | {100 * fraction:.0f}% | {why} |" for code, (fraction, why) in judgement.items()]


# --------------------------------------------------------------------------- judges in their modules
def test_a_hidden_judge_in_a_shipped_module_stops_the_handout(tmp_path):
    """keras.layers' judge moved from judge/keras_hidden.py into judge/keras_tf.py, which the handout ships: the
    students' registry would hold a judge of an item their table lacks.  Refused, naming the item and the module."""
    repo = copy_of_the_repository(tmp_path / "repo")
    hidden, shipped = repo / "grade" / "judge" / "keras_hidden.py", repo / "grade" / "judge" / "keras_tf.py"
    source = hidden.read_text()
    start, end = source.index('@judge("keras.layers")'), source.index("def activation_name")
    hidden.write_text(source[:start] + source[end:])
    shipped.write_text(shipped.read_text() + "\n\n" + source[start:end])
    message = r"judges in the wrong module: keras\.layers \(public: False\) is judged in grade\.judge\.keras_tf"
    handout = run([sys.executable, "-m", "grade.handout", "--out", str(tmp_path / "handout")], repo)
    assert handout.returncode == 2 and re.search(message, handout.stderr), handout.stderr[-2000:]
    assert not (tmp_path / "handout").exists()
    check_placement(registry()[0])  # this repository's own judges are where they belong


def test_the_shipped_files_are_what_check_py_imports_and_never_the_references(tmp_path):
    shipped = public_files()
    assert {"public.py", "pipeline.py", "parts.py", "observe/harness.py", "observe/docs.py", "judge/docs.py"} <= set(
        shipped)
    assert not {"reference.py", "runner.py", "sandbox.py", "batch.py", "judge/keras_hidden.py"} & set(shipped)
    assert not any(rel.startswith("diagnose/") for rel in shipped)
    grade = copy_of_the_repository(tmp_path / "repo") / "grade"
    judge = grade / "judge" / "keras_tf.py"
    judge.write_text(judge.read_text().replace("from .common import failure, learning",
                                               "from .common import failure, learning\nfrom ..reference import softmax"))
    with pytest.raises(ShippingError, match=r"grade/judge/keras_tf\.py imports grade/reference\.py"):
        public_files(grade)


# --------------------------------------------------------------------------- the names of the arrays
@pytest.fixture(scope="module")
def right_answers(tmp_path_factory):
    work = tmp_path_factory.mktemp("digits")
    path = graderdata.prepare_data(work)
    inputs = graderdata.make_inputs(graderdata.load_data(path))
    return path, reference.expected(inputs)


@pytest.mark.parametrize("change, message", [
    (lambda e: {**e, "torch.grads_total": e["torch.grads_sum"]}, r"does not declare \['torch\.grads_total'\]"),
    (lambda e: {k: v for k, v in e.items() if k != "torch.grads_sum"}, r"without an array \['torch\.grads_sum'\]"),
    (lambda e: {k: v for k, v in e.items() if not k.startswith("tblr.")}, r"without an array \['tblr\.rates#'\]"),
    (lambda e: {**e, "scratch.fd0": np.zeros(1)}, r"does not declare \['scratch\.fd0'\]"),
])
def test_an_unknown_or_missing_array_name_stops_the_run_when_it_loads(tmp_path, right_answers, change, message):
    path, expected = right_answers
    for folder in ("ok", "bad"):
        (tmp_path / folder).mkdir()
    Context(tmp_path / "ok", path, graderdata.GRADER_SEED, lambda inputs: expected)  # as they are: loaded
    with pytest.raises(ValueError, match=message):
        Context(tmp_path / "bad", path, graderdata.GRADER_SEED, lambda inputs: change(expected))


# --------------------------------------------------------------------------- adding an item, as the README says
def readme_blocks():
    """``{file: code}`` of the README's walk through adding an item (each block's first line names its file)."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Adding an item"):text.index("## What the template's defaults do")]
    return {m.group(2): m.group(3) for m in re.finditer(r"```(toml|python)\n# (grade/\S+): [^\n]*\n(.*?)```", section,
                                                         re.S)}


def add_the_readmes_item(repo):
    blocks = readme_blocks()
    assert sorted(blocks) == ["grade/judge/scratch.py", "grade/observe/scratch.py", "grade/points.toml"]
    item = re.search(r'\[items\."([\w.]+)"\]', blocks["grade/points.toml"]).group(1)
    probe = re.search(r"def (\w+)\(ctx\)", blocks["grade/observe/scratch.py"]).group(1)
    (repo / "grade" / "points.toml").write_text((repo / "grade" / "points.toml").read_text() + "\n"
                                                + blocks["grade/points.toml"])
    probes = repo / "grade" / "observe" / "scratch.py"
    source = probes.read_text()
    listed = re.search(r"PROBES = \[(.*?)\]\n", source, re.S)
    source = (source[:listed.start()] + blocks["grade/observe/scratch.py"] + "\n\n"
              + source[listed.start():listed.end(1)] + f', ("{probe}", {probe})' + source[listed.end(1):])
    probes.write_text(source)
    judges = repo / "grade" / "judge" / "scratch.py"
    judges.write_text(judges.read_text() + "\n\n" + blocks["grade/judge/scratch.py"])
    return item, tomllib.loads(blocks["grade/points.toml"])["items"][item]


@pytest.mark.slow
def test_an_item_added_as_the_readme_says_reaches_every_output(tmp_path):
    """The README's three blocks on a copy of this repository: the grader (in its sandbox) puts the item into the
    report and grades.csv; ``make handout``'s check.py runs it and its Classroom workflow grades it."""
    from grade_fixtures.mutants import model_answer
    repo = copy_of_the_repository(tmp_path / "repo")
    item, spec = add_the_readmes_item(repo)
    team = model_answer(tmp_path / "team")
    for name in ("network_pytorch.py", "network_tensorflow.py"):  # those parts fail fast: only scratch matters here
        (team / name).unlink()
    grade = run([sys.executable, "-m", "grade", str(team), "--no-cache", "--out", str(tmp_path / "out")], repo)
    assert grade.returncode == 0, grade.stdout + grade.stderr[-3000:]
    grades = json.loads((tmp_path / "out" / "grades.json").read_text())["team"]["items"]
    assert grades[item]["points"] == grades[item]["max"] == spec["points"], grades[item]
    header, row = (tmp_path / "out" / "grades.csv").read_text().splitlines()[:2]
    assert row.split(",")[header.split(",").index(item)] == f"{spec['points']:g}"
    report = (tmp_path / "out" / "team.md").read_text()
    assert f"| `{item}` | {spec['points']:g} / {spec['points']:g} |" in report
    handout = tmp_path / "handout"
    built = run([sys.executable, "-m", "grade.handout", "--out", str(handout)], repo)
    assert built.returncode == 0, built.stderr[-3000:]
    workflow = (handout / ".github" / "workflows" / "classroom.yml").read_text()
    assert f"test-name: {item}" in workflow and f"command: python check.py {item} --from" in workflow
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    checked = run([sys.executable, "check.py", "scratch"], handout, env=env)
    line = next((x for x in checked.stdout.splitlines() if x.startswith(item)), checked.stdout + checked.stderr)
    assert re.match(rf"{re.escape(item)}\s+FAIL\s+`_forward_pass\(x\)` is not implemented yet", line), line
    one = run([sys.executable, "check.py", item], handout, env=env)  # as the workflow runs it
    assert one.returncode == 1 and one.stderr.startswith(f"FAIL {item} ({spec['checks']})"), one.stderr
