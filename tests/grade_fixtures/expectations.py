"""What each fixture earns, declared once: tests/test_grade.py asserts it of the grader's end-to-end run (sandbox,
training), tests/test_judges_recorded.py of the judges on the recorded observations of the same fixtures.

* ``model_answer`` (this repository's answer) earns every point;
* ``handout`` (the bare course template, as ``make handout`` writes it) earns none, each item saying why
  (``HANDOUT``: a pattern some of the messages must match);
* each mutant of grade_fixtures/mutants.py loses exactly its items (keeping the fraction it declares), the
  first with its diagnosis named, and a judgement call says so in its message (``JUDGEMENT``).
"""

from .mutants import JUDGEMENT, MUTANTS

HANDOUT = {
    **{item: "not implemented yet" for item in ("scratch.forward", "scratch.backward", "scratch.update",
                                                "scratch.predict", "tblr.values")},
    "keras.layers": r"extra Dense\(784\) layer",
    "keras.activations": "activations are swapped",
    "keras.loss": "binary cross-entropy is kept",
    "torch.forward": "optimizer got an empty parameter list",  # the layers are a TODO
    "notebook.executed": "no outputs",
    "notebook.team": "name no team member",  # the answer's team is blanked in the handout
}


def points(name, maxima):
    """``{item: points}`` the fixture ``name`` earns, given every item's points (``maxima``)."""
    if name == "model_answer":
        return dict(maxima)
    if name == "handout":
        return dict.fromkeys(maxima, 0.0)
    mutant = next(m for m in MUTANTS if m.name == name)
    return {**maxima, **{i: maxima[i] * keep for i, keep in {**mutant.lost, **mutant.also_lost}.items()}}


def messages(name):
    """``{item: pattern}`` that the items' messages of the fixture ``name`` must match."""
    if name == "model_answer":
        return {"scratch.backward": "finite differences"}
    if name == "handout":
        return HANDOUT
    mutant = next(m for m in MUTANTS if m.name == name)
    out = {next(iter(mutant.lost)): mutant.diagnosis} if mutant.lost else {}
    if name in JUDGEMENT:
        item, pattern = JUDGEMENT[name]
        out[item] = pattern
    return out
