"""The theory rubric (``theory/rubric.toml``): points per question, items and mistakes.

Schema: ``[meta] total``; ``[[questions]]`` with ``id`` (one of 1.1 ... 1.5), ``title``,
``points`` (= the sum of its items' points), ``[[questions.items]]`` (``id`` =
"<question>.<snake_case>", ``points``, ``description``) and ``[[questions.mistakes]]`` (``id``,
``deduction`` > 0, ``description``, ``applies_to`` = the item of the same question whose
points it caps, required, with ``deduction`` at most that item's points).  How marks and
mistakes combine into a score: :mod:`grade.review.marks`.  Loading checks all of it and fails
with every problem named.
"""

import re
import tomllib
from pathlib import Path

from .questions import QUESTIONS

REPO = Path(__file__).resolve().parents[2]
DEFAULT_RUBRIC = REPO / "theory" / "rubric.toml"


class RubricError(ValueError):
    """The rubric file does not follow the schema (the message lists every problem)."""


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def load_rubric(path=None):
    """The rubric as ``{"total", "questions": [{"id", "title", "points", "items", "mistakes"}]}``.

    ``path`` defaults to ``theory/rubric.toml``.  Raises :class:`RubricError` naming what was
    expected and what was found.
    """
    path = Path(path) if path else DEFAULT_RUBRIC
    if not path.is_file():
        raise RubricError(f"no rubric at {path}: expected theory/rubric.toml (or pass --rubric FILE)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{path} is not valid TOML: {exc}") from exc
    errors, questions, seen = [], [], set()
    total = data.get("meta", {}).get("total")
    if not _number(total):
        errors.append(f"[meta] total must be a number. Received: {total!r}")
    for k, q in enumerate(data.get("questions", [])):
        qid = q.get("id")
        where = f"questions[{k}] (id {qid!r})"
        if qid not in QUESTIONS:
            errors.append(f"{where}: id must be one of {', '.join(QUESTIONS)}")
        elif qid in seen:
            errors.append(f"{where}: question {qid} appears twice")
        seen.add(qid)
        if not _number(q.get("points")) or q.get("points", 0) <= 0:
            errors.append(f"{where}: points must be a positive number. Received: {q.get('points')!r}")
        items, mistakes = q.get("items", []), q.get("mistakes", [])
        ids = set()
        for kind, rows, field in (("item", items, "points"), ("mistake", mistakes, "deduction")):
            for row in rows:
                rid = row.get("id")
                if not isinstance(rid, str) or not re.fullmatch(rf"{re.escape(str(qid))}\.[a-z][a-z0-9_]*", rid):
                    errors.append(f"{where}: {kind} id must be \"{qid}.<snake_case>\". Received: {rid!r}")
                if rid in ids:
                    errors.append(f"{where}: id {rid!r} appears twice")
                ids.add(rid)
                if not _number(row.get(field)) or row.get(field) <= 0:
                    errors.append(f"{where}: {kind} {rid}: {field} must be a positive number. Received: {row.get(field)!r}")
        item_points = {row.get("id"): row.get("points") for row in items}
        for row in mistakes:
            target, deduction = row.get("applies_to"), row.get("deduction")
            if not isinstance(target, str) or target not in item_points:
                errors.append(f"{where}: mistake {row.get('id')}: applies_to must name the item of {qid} whose points "
                              f"the mistake caps (one of {', '.join(map(str, item_points))}). "
                              f"Received: {'nothing' if target is None else repr(target)}")
            elif _number(deduction) and _number(item_points[target]) and deduction > item_points[target]:
                errors.append(f"{where}: mistake {row.get('id')}: deduction must be at most the points of {target} "
                              f"({item_points[target]:g}). Received: {deduction:g}")
        if (_number(q.get("points")) and all(_number(p) for p in item_points.values())
                and abs(sum(item_points.values()) - q["points"]) > 1e-9):
            errors.append(f"{where}: points must be the sum of its items' points ({sum(item_points.values()):g}). "
                          f"Received: {q['points']:g}")
        questions.append({"id": qid, "title": str(q.get("title", "")), "points": q.get("points"),
                          "items": [dict(r, description=str(r.get("description", ""))) for r in items],
                          "mistakes": [dict(r, description=str(r.get("description", ""))) for r in mistakes]})
    missing = [q for q in QUESTIONS if q not in seen]
    if missing:
        errors.append(f"questions missing from the rubric: {', '.join(missing)} (expected all of {', '.join(QUESTIONS)})")
    if (_number(total) and all(_number(q["points"]) for q in questions)
            and abs(sum(q["points"] for q in questions) - total) > 1e-9):
        errors.append(f"[meta] total = {total:g} but the questions' points add up to "
                      f"{sum(q['points'] for q in questions):g}")
    if errors:
        raise RubricError(f"{path}:\n  " + "\n  ".join(errors))
    order = {q: i for i, q in enumerate(QUESTIONS)}
    questions.sort(key=lambda q: order[q["id"]])
    return {"total": total, "questions": questions, "path": str(path)}
