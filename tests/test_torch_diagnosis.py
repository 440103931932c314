"""grade/diagnose/pytorch.py names where the gradients went: zero_grad() in the wrong place is not "call step()".

A team's PyTorch methods, written in the template's style (tests/student_solution.py), with the
gradients cleared at one wrong place or another, are observed by the grader's own torch probes
(grade/observe/pytorch.py: ``loss`` and ``update``, run in this process on the grader's inputs,
no training) and judged with the grader's judges and diagnoses.  Each message must name what
the code does, and never a call that the code makes.  The learning criterion's message (every
``*.learns`` item) shows numbers that agree with its verdict, whatever the count of right digits.
"""

import importlib.util
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from grade import data as graderdata
from grade import reference
from grade.items import registry
from grade.judge.common import Observations
from grade.observations import judge_part
from grade.parts import OBSERVE
from student_solution import TORCH_RIGHT, paste

ROOT = Path(__file__).resolve().parents[1]
ITEMS, JUDGEMENT = registry()
CHECKED = {i: ITEMS[i] for i in ("torch.loss", "torch.backward_update")}

ZERO_GRAD_BEFORE_STEP = {"_update_weights": '''
    def _update_weights(self):
        self.optimizer.zero_grad()
        self.optimizer.step()
'''}
ZERO_GRAD_AFTER_BACKWARD = {"_backward_pass": '''
    def _backward_pass(self, y_train, output):
        loss = self.loss_func(output, y_train.float())
        loss.backward()
        self.optimizer.zero_grad()
'''}
NO_STEP = {"_update_weights": '''
    def _update_weights(self):
        pass
'''}
NO_BACKWARD = {"_backward_pass": '''
    def _backward_pass(self, y_train, output):
        loss = self.loss_func(output, y_train.float())
        return loss
'''}


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def grader(tmp_path_factory):
    """The grader's inputs, settings and right answers, and its torch probes (as the sandbox runs them)."""
    work = tmp_path_factory.mktemp("inputs")
    inputs = graderdata.make_inputs(graderdata.load_data(graderdata.prepare_data(work)))
    harness = sys.modules.get("harness") or _load("harness", OBSERVE / "harness.py")
    probes = _load("grade_observe_pytorch_under_test", OBSERVE / "pytorch.py")
    return inputs, graderdata.settings(), reference.expected(inputs), harness, probes


@contextmanager
def imported_from(folder):
    """``network_pytorch`` imported from ``folder`` (as in the sandbox), this session's own module put back after."""
    saved = sys.modules.pop("network_pytorch", None)
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("network_pytorch", None)
        if saved is not None:
            sys.modules["network_pytorch"] = saved


def verdicts(grader, tmp_path, change):
    inputs, settings, expected, harness, probes = grader
    team = tmp_path / f"team{len(list(tmp_path.iterdir()))}"
    shutil.copytree(ROOT / "tests" / "course_template", team)
    paste(team / "network_pytorch.py", "NeuralNetworkTorch", {**TORCH_RIGHT, **change})
    with imported_from(team):
        ctx = harness.Context(team, inputs, settings)
        records = {}
        for name in ("structure", "loss", "update"):
            try:
                records[name] = {"probe": name, "values": getattr(probes, name)(ctx), "error": None}
            except harness.ProbeError as err:
                records[name] = {"probe": name, "values": None, "error": err.record}
    obs = Observations(records, {}, inputs, settings, expected=expected)
    return {i: v.message for i, v in judge_part("torch", obs, CHECKED, JUDGEMENT).items() if v.fraction < 1}


def test_a_right_solution_passes_both(grader, tmp_path):
    assert verdicts(grader, tmp_path, {}) == {}


def test_zero_grad_before_step_is_named_not_a_missing_step(grader, tmp_path):
    failed = verdicts(grader, tmp_path, ZERO_GRAD_BEFORE_STEP)
    assert list(failed) == ["torch.backward_update"], failed
    assert "clears the gradients (zero_grad()) before optimizer.step() uses them" in failed["torch.backward_update"]
    assert "call self.optimizer.step()" not in failed["torch.backward_update"]


def test_zero_grad_after_backward_is_named_not_a_missing_backward(grader, tmp_path):
    failed = verdicts(grader, tmp_path, ZERO_GRAD_AFTER_BACKWARD)
    assert set(failed) == {"torch.loss", "torch.backward_update"}, failed
    for message in failed.values():
        assert "they are cleared after the backward pass (zero_grad() after loss.backward())" in message, message
        assert "call backward()" not in message and "must call backward" not in message


def test_a_missing_step_and_a_missing_backward_keep_their_own_messages(grader, tmp_path):
    failed = verdicts(grader, tmp_path, NO_STEP)
    assert list(failed) == ["torch.backward_update"]
    assert "although each has its gradient in .grad: call self.optimizer.step()" in failed["torch.backward_update"]
    failed = verdicts(grader, tmp_path, NO_BACKWARD)
    assert "call backward() on it" in failed["torch.loss"] and "zero_grad" not in failed["torch.loss"]


@pytest.mark.parametrize("n", [500, 1000])
def test_the_learning_message_cannot_contradict_its_verdict(n):
    """Issue 26: "13% 16% ... above 16.0%" read as a contradiction (a rounded 15.7 %).  For every final count of right
    held-out digits, the numbers the message shows agree with the verdict."""
    import re

    import numpy as np

    from grade.data import settings
    from grade.judge.common import Observations, learning

    labels = np.arange(n) % 10
    for right in range(n // 20, n // 4):
        first, last = labels.copy(), labels.copy()
        first[n // 20:] = (labels[n // 20:] + 1) % 10
        last[right:] = (labels[right:] + 1) % 10
        obs = Observations({"learns": {"probe": "learns", "values": None, "error": None}}, {}, {}, settings(),
                           expected={"learns.labels": labels}, epochs={"learns": [first, last]})
        verdict = learning(obs, "scratch.learns", "x")
        shown = [float(p) for p in re.search(r": ([\d.]+)% before training, then ([\d.]+)%;", verdict.message).groups()]
        got, of = map(int, re.search(r"it ends at (\d+) of (\d+) right", verdict.message).groups())
        need, need_pct = re.search(r"and (\d+) of \d+ \(([\d.]+)%\) or more", verdict.message).groups()
        assert got == right and of == n
        passed = verdict.fraction == 1
        assert passed == (got >= int(need)) == (shown[1] >= float(need_pct)), verdict.message
