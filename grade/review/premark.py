"""Pre-marks: what a program can honestly read off a located answer, as suggestions for the TA.

Each pre-mark is ``{"id", "question", "label", "verdict", "confidence", "message", "evidence",
"rubric"}``: ``verdict`` is ``"right"``, ``"wrong"`` or ``"cannot tell"``; ``confidence`` is
``"high"``, ``"medium"`` or ``"low"`` (``None`` with "cannot tell"); ``evidence`` lists
``{"page", "quote"}`` from the team's text; ``rubric`` names the rubric items and mistakes the
pre-mark speaks to (those of them the rubric has).  A pre-mark says right or wrong only where
the text shows it unambiguously; otherwise it says "cannot tell".

Each question's pre-marks are declared once, in a :class:`PremarkSet` beside the function that
reads them (``check_calculus.py``, ``check_networks.py``): the id, what it looks at, the
rubric ids it informs.  A check that gives an id its set does not declare, or leaves one out,
fails loudly (:meth:`PremarkSet.run`).
"""

from typing import NamedTuple

RIGHT, WRONG, CANNOT = "right", "wrong", "cannot tell"
CONFIDENCES = ("high", "medium", "low")


class Spec(NamedTuple):
    label: str  # what the pre-mark looks at; its verdict says whether the team got it right
    rubric: tuple  # the rubric items and mistakes it informs


class PremarkError(RuntimeError):
    """A check broke its declaration: an undeclared id, an id given twice or left out, a bad verdict."""


class PremarkSet:
    """The pre-marks of one question: ``PremarkSet("1.1", {"points": Spec(...), ...})``.

    Ids are ``"<question>.<name>"``; :meth:`mark` takes the name or the full id.  The check
    that reads them is registered with the :meth:`check` decorator.
    """

    def __init__(self, question, declared):
        self.question = question
        self.specs = {f"{question}.{name}": Spec(*spec) for name, spec in declared.items()}
        self.function = None

    def check(self, function):
        """Decorator: ``function(answer) -> [pre-mark, ...]`` reads this question's pre-marks."""
        self.function = function
        return function

    def full_id(self, name):
        pid = name if name.startswith(self.question + ".") else f"{self.question}.{name}"
        if pid not in self.specs:
            raise PremarkError(f"pre-mark {pid!r} is not declared for question {self.question} "
                               f"(declared: {', '.join(self.specs)})")
        return pid

    def mark(self, name, verdict, confidence, message, evidence=()):
        """One pre-mark (see the module docstring)."""
        pid = self.full_id(name)
        if verdict not in (RIGHT, WRONG, CANNOT):
            raise PremarkError(f"{pid}: verdict must be right, wrong or cannot tell. Received: {verdict!r}")
        if verdict != CANNOT and confidence not in CONFIDENCES:
            raise PremarkError(f"{pid}: confidence must be one of {', '.join(CONFIDENCES)}. Received: {confidence!r}")
        spec = self.specs[pid]
        return {"id": pid, "question": self.question, "label": spec.label, "verdict": verdict,
                "confidence": None if verdict == CANNOT else confidence, "message": message,
                "evidence": list(evidence)[:6], "rubric": list(spec.rubric)}

    def unread(self, why):
        """Every pre-mark of the question as "cannot tell", for the reason ``why``."""
        return [self.mark(pid, CANNOT, None, why) for pid in self.specs]

    def run(self, answer):
        """The registered check on ``answer``; exactly one pre-mark per declared id, in declaration order."""
        if self.function is None:
            raise PremarkError(f"no check is registered for question {self.question}")
        marks = self.function(answer)
        ids = [m["id"] for m in marks]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        missing = [i for i in self.specs if i not in ids]
        if twice or missing:
            raise PremarkError(f"the check of {self.question} must give each declared pre-mark once: "
                               f"given twice {twice or 'none'}, left out {missing or 'none'}")
        order = list(self.specs)
        return sorted(marks, key=lambda m: order.index(m["id"]))
