"""The items, declared once in ``grade/points.toml``, and the code registered to grade each.

:func:`load_table` gives the items (id -> :class:`Item`) and the judgement calls (diagnosis code ->
fraction and reason); a judge registers under an item id with ``@judge("scratch.forward")`` and a
hidden refinement with ``@refine("scratch.forward")``, in the modules grade/parts.py names for the
item's part.  :func:`registry` imports them and fails loudly, naming the ids, when an item has no
judge or a judge has no item; :func:`check_placement` (``make handout``) when a judge sits where the
handout would ship what is hidden, or lack what is public.
"""

import importlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .parts import PARTS, part_of

POINTS_FILE = Path(__file__).resolve().parent / "points.toml"


@dataclass(frozen=True)
class Item:
    id: str
    points: float
    public: bool
    checks: str

    @property
    def part(self):
        """The name of the part (grade/parts.py) that grades this item."""
        return part_of(self.id).name


@dataclass
class Verdict:
    """What an item earns: ``fraction`` of its points, a ``message`` a student can act on, and the
    ``code`` of a named diagnosis (``<item>.<name>``, looked up in the judgement table)."""
    fraction: float
    message: str
    code: str | None = None
    notes: list = field(default_factory=list)

    @classmethod
    def ok(cls, message):
        return cls(1.0, message)

    @classmethod
    def fail(cls, message, fraction=0.0, code=None):
        return cls(fraction, message, code)


class TableError(ValueError):
    """The points table and the registered judges disagree, or the table is malformed."""


def load_table(path=POINTS_FILE):
    """``(items, judgement)`` from the TA's table, checked: every item has points, public and checks."""
    with open(path, "rb") as fh:
        table = tomllib.load(fh)
    items = {}
    for item_id, spec in table.get("items", {}).items():
        missing = {"points", "public", "checks"} - set(spec)
        if missing or part_of(item_id) is None or item_id.count(".") != 1:
            prefixes = sorted(x for p in PARTS for x in p.prefixes)
            raise TableError(f"{path}: item {item_id!r} needs points, public and checks and an id '<prefix>.<name>' "
                             f"with prefix one of {prefixes} (grade/parts.py); missing {sorted(missing)}")
        if not isinstance(spec["points"], (int, float)) or spec["points"] < 0:
            raise TableError(f"{path}: item {item_id!r} needs non-negative points; received {spec['points']!r}")
        items[item_id] = Item(item_id, float(spec["points"]), bool(spec["public"]), str(spec["checks"]))
    judgement = {}
    for code, spec in table.get("judgement", {}).items():
        if code.rsplit(".", 1)[0] not in items or not 0 <= spec.get("fraction", -1) <= 1 or "why" not in spec:
            raise TableError(f"{path}: judgement {code!r} must be '<item id>.<name>' of a declared item with a "
                             f"fraction in [0, 1] and a reason (why)")
        judgement[code] = (float(spec["fraction"]), str(spec["why"]))
    return items, judgement


def not_public(path=POINTS_FILE):
    """The ids of the items that are not public (the handout's table lists only their ids, as ``not_public``)."""
    with open(path, "rb") as fh:
        table = tomllib.load(fh)
    return [i for i, spec in table.get("items", {}).items() if not spec.get("public")] + table.get("not_public", [])


def public_judgement(path=POINTS_FILE):
    """The judgement calls a public judge makes (``public = true``): the others belong to hidden diagnoses."""
    with open(path, "rb") as fh:
        table = tomllib.load(fh)
    return {code for code, spec in table.get("judgement", {}).items() if spec.get("public")}


JUDGES, REFINEMENTS = {}, {}


def judge(item_id):
    """Register the function that grades ``item_id`` (public: it ships with the handout's checks)."""
    def register(fn):
        if item_id in JUDGES:
            raise TableError(f"two judges for {item_id!r}: {JUDGES[item_id].__module__} and {fn.__module__}")
        JUDGES[item_id] = fn
        return fn
    return register


def refine(item_id):
    """Register a hidden diagnosis: it may replace a failing verdict of ``item_id`` by a more precise one."""
    def register(fn):
        REFINEMENTS.setdefault(item_id, []).append(fn)
        return fn
    return register


def _modules(hidden):
    """``(shipped judge modules, modules not shipped)`` as importable names, from grade/parts.py."""
    package = __name__.rsplit(".", 1)[0]
    shipped = [f"{package}.judge.{m}" for p in PARTS for m in p.judges]
    kept = [f"{package}.judge.{m}" for p in PARTS for m in p.hidden]
    kept += [f"{package}.diagnose.{m}" for p in PARTS for m in p.diagnoses]
    return shipped, kept if hidden else []


def registry(path=POINTS_FILE, hidden=True):
    """``(items, judgement)``, after importing every judge (and, if ``hidden``, the hidden judges and diagnoses).

    Raises :class:`TableError` naming every item without a judge and every judge without an item.
    """
    items, judgement = load_table(path)
    shipped, kept = _modules(hidden)
    for name in shipped + kept:
        importlib.import_module(name)
    declared = set(items)
    if not hidden:
        items = {i: it for i, it in items.items() if it.public}
        judgement = {c: j for c, j in judgement.items() if c in public_judgement(path)}
    without_judge = sorted(set(items) - set(JUDGES))
    unknown = sorted((set(JUDGES) | set(REFINEMENTS)) - declared)
    if without_judge or unknown:
        raise TableError(f"{path} and the judges disagree: items without a judge {without_judge}; judges for "
                         f"items not in the table {unknown}")
    return items, judgement


def check_placement(items):
    """Refuse (:class:`TableError`, naming each) a judge the handout would ship wrongly: a public item's judge must
    be in a module it ships (grade/parts.py ``judges``: the students' checks would lack it otherwise), the judge of
    an item that is not public and every diagnosis in one it does not (the students' registry would hold a judge
    of an item their table lacks, and the judge would give the item away).  ``items``: after :func:`registry`."""
    shipped, _ = _modules(False)
    misplaced = [f"{i} (public: {items[i].public}) is judged in {fn.__module__}" for i, fn in JUDGES.items()
                 if i in items and (fn.__module__ in shipped) != items[i].public]
    misplaced += [f"a diagnosis of {i} is in {fn.__module__}" for i, fns in REFINEMENTS.items() for fn in fns
                  if fn.__module__ in shipped]
    if misplaced:
        raise TableError(f"judges in the wrong module: {'; '.join(misplaced)}. The handout ships the modules of "
                         f"grade/parts.py's `judges` with the students' checks: judges of public items go there, "
                         f"judges of items that are not public into `hidden` modules and diagnoses into `diagnoses` "
                         f"(never shipped)")
