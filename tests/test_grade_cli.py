"""grade/ as the README documents it: ``make grade ARGS=...`` and ``python -m grade ...`` from the repository
folder with default options, and ``make -C`` from another folder (this answer earns 33/33, twice: the second
time from the cache); an unwritable output folder refused before grading; the points table and the judges held
to each other; documents too large or outside the submission refused with the reason.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grade.items import TableError, registry
from grade_fixtures.documents import observed
from grade_fixtures.mutants import model_answer

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


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


def test_a_folder_name_cannot_drive_the_console(tmp_path):
    """A submission folder named with a terminal's escape sequence and a carriage return: every console line shows
    it as ``?``, so it can neither clear the screen nor overwrite another team's line."""
    team = tmp_path / "team\x1b[2J\rX"
    team.mkdir()
    proc = subprocess.run([sys.executable, "-m", "grade", str(team), "--no-cache", "--out", str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "team?[2J?X: keras" in proc.stderr and "team?[2J?X  0 / 33" in proc.stdout, proc.stdout + proc.stderr
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", proc.stdout + proc.stderr), repr(proc.stdout + proc.stderr)


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
