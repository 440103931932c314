"""The grading rubric of part 1: ``rubric.toml`` checked against its schema and written as
``rubric.tex``, the tables of the appendix "For graders" of theory.pdf.

``rubric.toml`` is the one source; ``rubric.tex`` is generated from it (``make -C theory``
runs this file; tests/test_theory.py holds the two equal).  Run: ``python theory/rubric.py``.
The schema and the marking semantics are written at the top of rubric.toml; :func:`validate`
enforces the schema (every mistake applies to one item of its question and deducts at most
that item's points).
"""

import math
import re
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOML = HERE / "rubric.toml"
TEX = HERE / "rubric.tex"
QUESTION_IDS = ("1.1", "1.2", "1.3.1", "1.3.2", "1.3.3", "1.4", "1.5")
_KEYS = {
    "question": ({"id", "title", "points", "items", "mistakes"}, set()),
    "item": ({"id", "points", "description"}, set()),
    "mistake": ({"id", "deduction", "description", "applies_to"}, set()),
}


def load(path=TOML):
    """The rubric as a dict, after :func:`validate`."""
    with open(path, "rb") as fh:
        rubric = tomllib.load(fh)
    validate(rubric)
    return rubric


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a number; received {value!r}")
    return value


def _keys(entry, kind, what):
    required, optional = _KEYS[kind]
    missing, unknown = required - set(entry), set(entry) - required - optional
    if missing or unknown:
        raise ValueError(f"{what}: expected the keys {sorted(required)}"
                         + (f" (optional: {sorted(optional)})" if optional else "")
                         + f"; missing {sorted(missing)}, unknown {sorted(unknown)}")


def validate(rubric):
    """Raise ``ValueError`` unless ``rubric`` follows the schema described in rubric.toml."""
    if set(rubric) != {"meta", "questions"} or set(rubric["meta"]) != {"total"}:
        raise ValueError("the rubric has exactly [meta] (with total) and [[questions]]")
    questions = rubric["questions"]
    ids = [q.get("id") for q in questions]
    if ids != list(QUESTION_IDS):
        raise ValueError(f"questions must be {list(QUESTION_IDS)} in this order; received {ids}")
    seen = set()
    for q in questions:
        qid = q["id"]
        _keys(q, "question", f"question {qid}")
        if not isinstance(q["title"], str) or not q["title"].strip():
            raise ValueError(f"question {qid}: title must be a non-empty string")
        points = _number(q["points"], f"question {qid}: points")
        if points <= 0:
            raise ValueError(f"question {qid}: points must be positive; received {points}")
        if not q["items"]:
            raise ValueError(f"question {qid} has no items")
        for kind, entries in (("item", q["items"]), ("mistake", q["mistakes"])):
            for e in entries:
                _keys(e, kind, f"{kind} {e.get('id')!r} of question {qid}")
                if not re.fullmatch(re.escape(qid) + r"\.[a-z][a-z0-9]*(?:_[a-z0-9]+)*", e["id"]):
                    raise ValueError(f"{kind} id {e['id']!r} must read '{qid}.<snake_case>'")
                if e["id"] in seen:
                    raise ValueError(f"id {e['id']!r} is used twice")
                seen.add(e["id"])
                if not isinstance(e["description"], str) or not e["description"].strip():
                    raise ValueError(f"{e['id']}: description must be a non-empty string")
        item_points = [_number(i["points"], f"{i['id']}: points") for i in q["items"]]
        if any(p <= 0 for p in item_points) or not math.isclose(sum(item_points), points):
            raise ValueError(f"question {qid}: the items' points {item_points} must be positive and sum to {points}")
        items = {i["id"]: i["points"] for i in q["items"]}
        for m in q["mistakes"]:
            if m["applies_to"] not in items:
                raise ValueError(f"{m['id']}: applies_to must name an item of question {qid} "
                                 f"({', '.join(items)}); received {m['applies_to']!r}")
            d, cap = _number(m["deduction"], f"{m['id']}: deduction"), items[m["applies_to"]]
            if not 0 < d <= cap:
                raise ValueError(f"{m['id']}: deduction must be positive and at most the {cap:g} points of "
                                 f"{m['applies_to']}, the item it applies to; received {d:g}")
    total = _number(rubric["meta"]["total"], "meta.total")
    if not math.isclose(total, sum(q["points"] for q in questions)):
        raise ValueError(f"meta.total {total} is not the sum of the questions' points")


_ESCAPES = {"\\": r"\textbackslash{}", "^": r"\textasciicircum{}", "_": r"\_", "{": r"\{", "}": r"\}", "&": r"\&",
            "%": r"\%", "#": r"\#", "$": r"\$", "~": r"\textasciitilde{}"}


def escape(text):
    """Plain text as LaTeX that prints the same characters (straight quotes become '')."""
    return "".join(_ESCAPES.get(c, c) for c in text)


def _num(value):
    return f"{value:g}"


def render(rubric):
    """The LaTeX of the rubric: ``\\RubricSplit`` (the points per question) and
    ``\\RubricTables`` (one table per question, items then mistakes), as macros."""
    split = ", ".join(f"{q['id']}: {_num(q['points'])}" for q in rubric["questions"])
    lines = ["% Written by theory/rubric.py from theory/rubric.toml; do not edit.",
             rf"\newcommand{{\RubricSplit}}{{{split}; total {_num(rubric['meta']['total'])} points}}",
             r"\newcommand{\RubricTables}{%"]
    for q in rubric["questions"]:
        lines += [
            rf"\rubricquestion{{{q['id']}}}{{{escape(q['title'])}}}{{{_num(q['points'])}}}",
            r"\begin{rubrictable}",
            r"\multicolumn{3}{@{}l}{\emph{Earns points}} \\*",
        ]
        lines += [rf"\rubricid{{{escape(i['id'])}}} & {escape(i['description'])} & {_num(i['points'])} \\"
                  for i in q["items"]]
        lines += [r"\addlinespace", r"\multicolumn{3}{@{}l}{\emph{Common mistakes (deductions)}} \\*"]
        for m in q["mistakes"]:
            target = rf" \rubricapplies{{{escape(m['applies_to'])}}}"
            lines.append(rf"\rubricid{{{escape(m['id'])}}} & {escape(m['description'])}{target} & "
                         rf"$-${_num(m['deduction'])} \\")
        lines.append(r"\end{rubrictable}")
    lines += [rf"\rubrictotal{{{_num(rubric['meta']['total'])}}}}}"]
    return "\n".join(lines) + "\n"


def main():
    TEX.write_text(render(load()))
    print(f"{TEX.relative_to(Path.cwd()) if TEX.is_relative_to(Path.cwd()) else TEX} written from {TOML.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
