"""The items, declared once in ``grade/points.toml``, and the code registered to grade each.

``ITEMS`` (id -> :class:`Item`) and ``JUDGEMENT`` (diagnosis code -> fraction and reason) come
from the table; a judge registers under an item id with ``@judge("scratch.forward")`` and a
hidden refinement with ``@refine("scratch.forward")``.  :func:`registry` imports the judges
and fails loudly, naming the ids, when an item has no judge or a judge has no item.
"""

import importlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

POINTS_FILE = Path(__file__).resolve().parent / "points.toml"
PARTS = ("scratch", "torch", "keras", "docs")
PART_OF_PREFIX = {"scratch": "scratch", "torch": "torch", "keras": "keras", "tblr": "keras", "notebook": "docs",
                  "theory": "docs"}
JUDGE_MODULES = ("scratch", "pytorch", "keras_tf", "keras_hidden", "docs")
HIDDEN_MODULES = ("keras_hidden",)  # judges of items that are not public: not shipped with the handout's checks


@dataclass(frozen=True)
class Item:
    id: str
    points: float
    public: bool
    checks: str

    @property
    def part(self):
        return PART_OF_PREFIX[self.id.split(".")[0]]


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
        if missing or item_id.split(".")[0] not in PART_OF_PREFIX or item_id.count(".") != 1:
            raise TableError(f"{path}: item {item_id!r} needs points, public and checks and an id '<part>.<name>' "
                             f"with part one of {sorted(PART_OF_PREFIX)}; missing {sorted(missing)}")
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


def registry(path=POINTS_FILE, hidden=True):
    """``(items, judgement)``, after importing every judge (and, if ``hidden``, the diagnoses).

    Raises :class:`TableError` naming every item without a judge and every judge without an item.
    """
    items, judgement = load_table(path)
    package = __name__.rsplit(".", 1)[0]
    for name in JUDGE_MODULES:
        if name in HIDDEN_MODULES and not hidden:
            continue
        importlib.import_module(f"{package}.judge.{name}")
        if hidden:
            try:
                importlib.import_module(f"{package}.diagnose.{name}")
            except ModuleNotFoundError as err:  # the handout ships no diagnoses
                if err.name != f"{package}.diagnose" and err.name != f"{package}.diagnose.{name}":
                    raise
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
