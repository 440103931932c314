"""The four parts of a submission, each declared once (:data:`PARTS`): every other table of grade/ derives from it.

A *part* is the set of items that read the same files.  Its record says:

* ``prefixes``: its items, the ids ``<prefix>.<name>`` of grade/points.toml;
* ``main_file``: what it reads: a network module and the submission's modules it imports, or
  (``documents``) the notebook and the theory PDF (grade/stage.py);
* ``probes``: ``grade/observe/<probes>.py``, whose ``PROBES`` list the calls made on the submission
  (in the sandbox for the grader, in a plain subprocess for the students' ``check.py``);
* ``judges``: ``grade/judge/<module>.py`` registering the judges of its public items (shipped with
  the handout's checks); ``hidden``: those of its items that are not public; ``diagnoses``:
  ``grade/diagnose/<module>.py``, the named mistakes (neither is shipped);
* ``check_after``: the notebook section ("A." ...) after which the handout puts the part's check
  cell (None: at the end, under "Before you submit");
* ``keras2``: graded under Keras 2 (tf-keras) when its code was written for TensorFlow 2.15 or earlier.

**Time limits, one rule for the grader and for check.py**: a part may take what its probes may take,
each up to its own limit (``probe_seconds`` in grade/data.py), plus ``STARTUP_SECONDS`` for starting
Python and importing its libraries (:meth:`Part.wall_seconds`).  A probe's own limit ends the probe
and the next one runs; the part's limit is the backstop for code that outlives its probe's alarm.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

OBSERVE = Path(__file__).resolve().parent / "observe"
NOTEBOOK = "MNIST_classification.ipynb"
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Part:
    name: str
    prefixes: tuple
    main_file: str
    probes: str
    judges: tuple
    hidden: tuple = ()
    diagnoses: tuple = ()
    check_after: str | None = None
    documents: bool = False
    keras2: bool = False

    def probe_names(self):
        """The probes the part runs, in order (read from its module's PROBES list, without importing it)."""
        tree = ast.parse((OBSERVE / f"{self.probes}.py").read_text(encoding="utf-8"))
        probes = next(n.value for n in tree.body
                      if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PROBES")
        return [element.elts[0].value for element in probes.elts]

    def wall_seconds(self, probe_seconds):
        """The part's wall-clock limit: its probes' limits (``probe_seconds``: name or "default" -> s) and the start."""
        return STARTUP_SECONDS + sum(probe_seconds.get(p, probe_seconds["default"]) for p in self.probe_names())


PARTS = (
    Part("scratch", ("scratch",), "network_scratch.py", "scratch", judges=("scratch",), diagnoses=("scratch",),
         check_after="A."),
    Part("torch", ("torch",), "network_pytorch.py", "pytorch", judges=("pytorch",), diagnoses=("pytorch",),
         check_after="B."),
    Part("keras", ("keras", "tblr"), "network_tensorflow.py", "keras_tf", judges=("keras_tf",),
         hidden=("keras_hidden",), diagnoses=("keras_tf",), check_after="C.", keras2=True),
    Part("docs", ("notebook", "theory"), NOTEBOOK, "docs", judges=("docs",), documents=True),
)
BY_NAME = {p.name: p for p in PARTS}
ANSWERS = ("reference.py",)  # besides hidden judges and diagnoses: what states the answers (never shipped)


def part_of(item_id):
    """The :class:`Part` grading ``item_id`` (by its prefix), or None."""
    prefix = item_id.split(".")[0]
    return next((p for p in PARTS if prefix in p.prefixes), None)


def hidden_modules():
    """grade/'s files that give answers away: the hidden judges, the diagnoses, the references."""
    return {*(f"judge/{m}.py" for p in PARTS for m in p.hidden),
            *(f"diagnose/{m}.py" for p in PARTS for m in p.diagnoses), *ANSWERS}
