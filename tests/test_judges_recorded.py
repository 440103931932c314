"""The judges on recorded observations: fast (no sandbox, no training), in this process.

What the probes observed of this answer, the bare handout and each mutant in the grader's end-to-end run
(tests/grade_fixtures/recorded/, held to a fresh run by tests/test_grade.py) is judged here with the
grader's judges, hidden diagnoses and judgement calls, against the inputs and right answers this code
computes now (grade/reference.py).  Each fixture must earn exactly what the end-to-end tests assert
(tests/grade_fixtures/expectations.py: the same declarations), and the students' public checks must agree
with the grader wherever no hidden diagnosis refines a failing verdict.
"""

import functools
import re

import pytest

from grade.items import registry
from grade.observations import judge_part
from grade.parts import PARTS
from grade.runner import grader_context
from grade_fixtures import expectations, recorded

ITEMS, JUDGEMENT = registry()
PUBLIC_ITEMS, PUBLIC_JUDGEMENT = registry(hidden=False)
POINTS = {i: it.points for i, it in ITEMS.items()}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return grader_context(None, tmp_path_factory.mktemp("recorded"))


@functools.cache
def _observed(name, part, ctx):
    return recorded.load(name, part, ctx)


def observed(name, part, ctx):
    """A fixture's recorded part, or this answer's where the fixture changes another part (the grader shares that run)."""
    return _observed(name if part in recorded.parts_of(name) else "model_answer", part, ctx)


@pytest.mark.parametrize("name", recorded.FIXTURES)
def test_each_fixture_earns_what_the_end_to_end_run_gives_it(ctx, name):
    verdicts = {}
    for part in PARTS:
        verdicts.update(judge_part(part.name, observed(name, part.name, ctx), ITEMS, JUDGEMENT))
    got = {i: round(POINTS[i] * v.fraction, 4) for i, v in verdicts.items()}
    expected = expectations.points(name, POINTS)
    assert got == expected, {i: verdicts[i].message for i in ITEMS if got[i] != expected[i]}
    for item, pattern in expectations.messages(name).items():
        assert re.search(pattern, verdicts[item].message), (item, verdicts[item].message)


@pytest.mark.parametrize("name", recorded.FIXTURES)
def test_the_public_checks_agree_with_the_grader(ctx, name):
    """check.py's judges (no hidden diagnosis, public judgement calls only) give the grader's verdict, except that a
    hidden diagnosis may refine a failing one (never into a pass)."""
    for part in recorded.parts_of(name):
        obs = observed(name, part, ctx)
        grader = judge_part(part, obs, ITEMS, JUDGEMENT)
        for item, v in judge_part(part, obs, PUBLIC_ITEMS, PUBLIC_JUDGEMENT, hidden=False).items():
            if "refined" in grader[item].notes:
                assert v.fraction < 1, (name, item)
            else:
                assert v.fraction == grader[item].fraction, (name, item, v.message, grader[item].message)
