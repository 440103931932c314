"""Where the grader runs: a symlinked venv, an environment outside the repository and a path with spaces all get
the full sandbox; without a cgroup (simulated) it refuses, and grades only with --no-sandbox, saying so;
interrupted (SIGINT, SIGTERM) it leaves no process, folder or cgroup; its own disk full, it says so for the team
it hit and grades the others.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grade import stage
from grade_fixtures.hostile import WITHOUT_CGROUPS
from grade_fixtures.mutants import model_answer
from grade_fixtures.runs import digest, processes_with

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


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
    # with the signal's default disposition, as a terminal gives it: a background job of a shell script (CI's, say)
    # starts with SIGINT ignored, and so would the grader
    proc = subprocess.Popen([sys.executable, "-m", "grade", str(team), "--no-cache", "--out", str(tmp_path / "out")],
                            cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signum, signal.SIG_DFL))
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


def test_a_hangup_ignored_as_nohup_ignores_it_does_not_stop_the_grading(tmp_path):
    """`nohup make grade ... &`: the grader starts with SIGHUP ignored and keeps it so (closing the terminal does
    not end the run); SIGTERM still stops it cleanly."""
    team = model_answer(tmp_path / "team")
    (team / "network_scratch.py").write_text("import time\ntime.sleep(10**6)\n" + (team / "network_scratch.py").read_text())
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "grade", str(team), "--no-cache", "--out", str(tmp_path / "out")],
                            cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: (signal.signal(signal.SIGHUP, signal.SIG_IGN),
                                                signal.signal(signal.SIGTERM, signal.SIG_DFL)))
    for _ in range(600):
        if processes_with(f"{tmp}/grade-run-"):
            break
        time.sleep(0.1)
    time.sleep(1)
    proc.send_signal(signal.SIGHUP)
    time.sleep(2)
    assert proc.poll() is None, "a SIGHUP that nohup ignores stopped the grading"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=40)
    assert proc.returncode == 128 + signal.SIGTERM, out + err
    assert list(tmp.iterdir()) == [], "a temporary folder outlived the run"


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
