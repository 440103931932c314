"""The grading rubric of part 1: ``rubric.toml`` checked against its schema and written as
``rubric.tex``, the tables of the appendix "For graders" of theory.pdf.

``rubric.toml`` is the one source; ``rubric.tex`` is generated from it (``make -C theory``
runs this file; tests/test_theory.py holds the two equal).  Run: ``python theory/rubric.py``.
The schema and the marking semantics are written at the top of rubric.toml; :func:`validate`
enforces the schema (every mistake applies to one item of its question and deducts at most
that item's points), naming every problem at once.  It is the one check of the schema: the
review tool (grade/review/rubric.py) loads this file for it.  Standard library only.
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


def _number(value):
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _keys(entry, kind, what):
    """The problem with ``entry``'s keys, or None."""
    required, optional = _KEYS[kind]
    if not isinstance(entry, dict):
        return f"{what}: expected a table with the keys {sorted(required)}; received {entry!r}"
    missing, unknown = required - set(entry), set(entry) - required - optional
    if missing or unknown:
        return (f"{what}: expected the keys {sorted(required)}" + (f" (optional: {sorted(optional)})" if optional else "")
                + f"; missing {sorted(missing)}, unknown {sorted(unknown)}")
    return None


def _question(q, seen):
    """The problems of one question (its items and mistakes): every one, each naming what it expected."""
    qid, out = q["id"], []
    if not isinstance(q["title"], str) or not q["title"].strip():
        out.append(f"question {qid}: title must be a non-empty string; received {q['title']!r}")
    if not _number(q["points"]) or q["points"] <= 0:
        out.append(f"question {qid}: points must be a positive number; received {q['points']!r}")
    if not q["items"]:
        out.append(f"question {qid} has no items")
    items = {}
    for kind, entries in (("item", q["items"]), ("mistake", q["mistakes"])):
        for e in entries:
            problem = _keys(e, kind, f"{kind} {e.get('id') if isinstance(e, dict) else e!r} of question {qid}")
            if problem:
                out.append(problem)
                continue
            if not isinstance(e["id"], str) or not re.fullmatch(re.escape(qid) + r"\.[a-z][a-z0-9]*(?:_[a-z0-9]+)*", e["id"]):
                out.append(f"{kind} id {e['id']!r} must read '{qid}.<snake_case>'")
            if e["id"] in seen:
                out.append(f"id {e['id']!r} is used twice")
            seen.add(e["id"])
            if not isinstance(e["description"], str) or not e["description"].strip():
                out.append(f"{e['id']}: description must be a non-empty string; received {e['description']!r}")
            if kind == "item":
                valid = _number(e["points"]) and e["points"] > 0
                items[e["id"]] = e["points"] if valid else None
                if not valid:
                    out.append(f"{e['id']}: points must be a positive number; received {e['points']!r}")
            elif e["applies_to"] not in items:
                out.append(f"{e['id']}: applies_to must name an item of question {qid} ({', '.join(items)}); "
                           f"received {e['applies_to']!r}")
            elif items[e["applies_to"]] is not None and (
                    not _number(e["deduction"]) or not 0 < e["deduction"] <= items[e["applies_to"]]):
                out.append(f"{e['id']}: deduction must be positive and at most the {items[e['applies_to']]:g} points of "
                           f"{e['applies_to']}, the item it applies to; received {e['deduction']!r}")
    valid = [p for p in items.values() if p is not None]
    if _number(q["points"]) and len(valid) == len(q["items"]) and not math.isclose(sum(valid), q["points"]):
        out.append(f"question {qid}: the items' points {valid} must sum to the question's points {q['points']:g}; "
                   f"they sum to {sum(valid):g}")
    return out


def problems(rubric):
    """Every way ``rubric`` departs from the schema described in rubric.toml (none: an empty list)."""
    if not isinstance(rubric, dict) or set(rubric) != {"meta", "questions"} or not isinstance(rubric["meta"], dict) \
            or set(rubric["meta"]) != {"total"} or not isinstance(rubric["questions"], list):
        shown = sorted(rubric) if isinstance(rubric, dict) else type(rubric).__name__
        return [f"the rubric has exactly [meta] (with total) and [[questions]]; received {shown}"]
    questions, out, seen = rubric["questions"], [], set()
    ids = [q.get("id") if isinstance(q, dict) else q for q in questions]
    if ids != list(QUESTION_IDS):
        out.append(f"questions must be {list(QUESTION_IDS)} in this order; received {ids}")
    for q in questions:
        problem = _keys(q, "question", f"question {q.get('id') if isinstance(q, dict) else q!r}")
        out += [problem] if problem else _question(q, seen)
    total = rubric["meta"]["total"]
    points = [q.get("points") for q in questions if isinstance(q, dict)]
    if not _number(total):
        out.append(f"meta.total must be a number; received {total!r}")
    elif all(_number(p) for p in points) and not math.isclose(total, sum(points)):
        out.append(f"meta.total must be the sum of the questions' points ({sum(points):g}); received {total:g}")
    return out


def validate(rubric):
    """Raise ``ValueError`` listing every problem (one a line) unless ``rubric`` follows the schema of rubric.toml."""
    found = problems(rubric)
    if found:
        raise ValueError("\n".join(found))


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
