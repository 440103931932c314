"""All pre-marks of a team: each question's :class:`~grade.review.premark.PremarkSet` run on its
located answer (1.3's sketches are images: no pre-marks)."""

from .answer import Answer
from .check_calculus import P11
from .check_relu import P12
from .check_networks import P14, P15

PREMARK_SETS = (P11, P12, P14, P15)


def declared():
    """``{pre-mark id: Spec}`` of every question."""
    return {pid: spec for s in PREMARK_SETS for pid, spec in s.specs.items()}


def premarks_for(located):
    """All pre-marks for one team: ``{question: [pre-mark, ...]}`` from its located answers."""
    out = {}
    for s in PREMARK_SETS:
        found = located.get(s.question) or {}
        answer = Answer(found)
        if found.get("found") and answer:
            out[s.question] = s.run(answer)
        else:
            why = "the answer was not found" if not found.get("found") else "no answer text"
            out[s.question] = s.unread(f"{why}: nothing to check")
    return out
