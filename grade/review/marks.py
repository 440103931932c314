"""The TA's theory marks: the CSV the review page saves, read back, checked and scored by the rubric.

Format (UTF-8 CSV with a header; the review page writes one row per team and rubric entry):

    team,question,id,kind,max,value
    team01,1.1,1.1.gradient,item,2,2
    team01,1.1,1.1.mixed_partial,mistake,1,1
    team01,1.1,,comment,,"(0,0) classified from a zero Hessian"

``kind`` is ``item`` (``value`` = points earned, 0 to ``max``, fractions allowed), ``mistake``
(``value`` 1 = the mistake is there, 0 = it is not) or ``comment`` (``value`` = free text for
the question).  An empty ``value`` means "not marked yet".

Scoring (the rubric semantics; ``static/scoring.js`` applies the same rules on the review page,
and a test holds the two equal): each mistake belongs to one item (``applies_to``) and caps it,

    item score = max(0, min(marked points, item points - sum of the ticked deductions on it)),

so a mistake never takes points another item earned, marking the item down for the mistake as
well does not charge it twice, and a mistake counts once however often it recurs (its box is
ticked or not).  A question's score is the sum of its item scores; a question with an unmarked
item has no score (``None``) and a team with one has no total (``None``, never 0).
"""

import csv
import io
from pathlib import Path

from ..ta_io import md_text

HEADER = ["team", "question", "id", "kind", "max", "value"]


class MarksError(ValueError):
    """The marks file does not fit the rubric or the teams (the message lists every problem)."""


def _parse_number(text):
    try:
        return float(text)
    except ValueError:
        return None


def read_marks(path, rubric, teams=None):
    """Read and check a marks file; the theory result per team.

    ``rubric`` is :func:`grade.review.rubric.load_rubric`'s result; ``teams`` (optional) the
    team keys that were reviewed: a team outside it is an error, a team missing from the
    file is returned unmarked.  Returns ``{team: result}`` as :func:`score_team` gives it
    (``"total"`` is ``None`` unless every item is marked).  Raises :class:`MarksError` listing every
    problem (line, what was expected, what was received).
    """
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip() for c in rows[0]] != HEADER:
        raise MarksError(f"{path}: the first line must be the header {','.join(HEADER)}. "
                         f"Received: {','.join(rows[0]) if rows else '(empty file)'}")
    entries = {}
    for q in rubric["questions"]:
        for item in q["items"]:
            entries[item["id"]] = (q["id"], "item", float(item["points"]))
        for mistake in q["mistakes"]:
            entries[mistake["id"]] = (q["id"], "mistake", float(mistake["deduction"]))
    questions = {q["id"]: q for q in rubric["questions"]}
    known = sorted(teams) if teams is not None else None
    errors, values, comments, seen = [], {}, {}, set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(HEADER):
            errors.append(f"line {line}: expected {len(HEADER)} fields ({','.join(HEADER)}). Received {len(row)}: {row}")
            continue
        team, qid, rid, kind, top, value = *(c.strip() for c in row[:5]), row[5]
        if known is not None and team not in known:
            errors.append(f"line {line}: team {team!r} was not reviewed (expected one of: {', '.join(known)})")
            continue
        if qid not in questions:
            errors.append(f"line {line}: question {qid!r} is not in the rubric (expected one of: {', '.join(questions)})")
            continue
        if kind == "comment":
            comments[(team, qid)] = value.strip()
            continue
        if rid not in entries or entries[rid][0] != qid:
            expected = [k for k, (q, _, _) in entries.items() if q == qid]
            errors.append(f"line {line}: {rid!r} is not an item or mistake of question {qid} in the rubric "
                          f"(expected one of: {', '.join(expected)})")
            continue
        _, rkind, limit = entries[rid]
        if kind != rkind:
            errors.append(f"line {line}: {rid} is a rubric {rkind}, the file says {kind!r}")
            continue
        if top and (_parse_number(top) is None or abs(_parse_number(top) - limit) > 1e-9):
            errors.append(f"line {line}: {rid}: the file says max {top}, the rubric gives {limit:g} "
                          "(was the rubric changed after marking?)")
            continue
        if (team, rid) in seen:
            errors.append(f"line {line}: {team} {rid} is marked twice")
            continue
        seen.add((team, rid))
        value = value.strip()
        if value == "":
            continue
        number = _parse_number(value)
        if rkind == "item" and (number is None or not 0 <= number <= limit):
            errors.append(f"line {line}: {team} {rid}: points must be a number from 0 to {limit:g}. Received: {value!r}")
        elif rkind == "mistake" and number not in (0.0, 1.0):
            errors.append(f"line {line}: {team} {rid}: a mistake is marked 1 (there) or 0 (not there). Received: {value!r}")
        else:
            values[(team, rid)] = number
    if errors:
        raise MarksError(f"{path}:\n  " + "\n  ".join(errors))
    named = sorted({t for t, _ in values} | {t for t, _ in comments} | {t for t, _ in seen} | set(known or []))
    return {team: score_team(rubric, values, comments, team) for team in named}


def score_question(question, values):
    """One question's score from ``values`` ``{id: number}`` (items: points marked; mistakes: 1 or 0).

    Returns ``{"points": sum of item scores or None if an item is unmarked, "earned": the sum of
    the item scores marked so far, "marked", "item_scores": {item id: score or None},
    "mistakes": [ticked mistake ids]}``.
    """
    ticked = [m for m in question["mistakes"] if values.get(m["id"]) == 1.0]
    item_scores = {}
    for item in question["items"]:
        marked = values.get(item["id"])
        cap = float(item["points"]) - sum(float(m["deduction"]) for m in ticked if m["applies_to"] == item["id"])
        item_scores[item["id"]] = None if marked is None else max(0.0, min(float(marked), cap))
    earned = sum(v for v in item_scores.values() if v is not None)
    marked = all(v is not None for v in item_scores.values())
    return {"points": earned if marked else None, "earned": earned, "marked": marked, "item_scores": item_scores,
            "mistakes": [m["id"] for m in ticked]}


def score_team(rubric, values, comments, team):
    """One team's result from ``values[(team, id)]`` and ``comments[(team, question)]``.

    ``{"questions": {question: {"points", "max", "marked", "items": {id: points marked or None},
    "item_scores", "earned", "mistakes", "comment"}}, "total": None unless complete, "earned",
    "max", "comments", "complete"}``.
    """
    result = {"questions": {}, "total": None, "earned": 0.0, "max": float(rubric["total"]), "comments": {},
              "complete": True}
    for q in rubric["questions"]:
        mine = {i: v for (t, i), v in values.items() if t == team}
        scored = score_question(q, mine)
        comment = comments.get((team, q["id"]), "")
        result["questions"][q["id"]] = {**scored, "max": float(q["points"]), "comment": comment,
                                        "items": {i["id"]: mine.get(i["id"]) for i in q["items"]}}
        result["earned"] += scored["earned"]
        result["complete"] &= scored["marked"]
        if comment:
            result["comments"][q["id"]] = comment
    if result["complete"]:
        result["total"] = result["earned"]
    return result


def _cell(text):
    """A TA's comment or a question's title as one table cell, shown as typed (no Markdown, no HTML)."""
    return md_text(text, limit=2000)


def marks_markdown(team_result, rubric):
    """A team's theory marks as a Markdown section (for the per-team report): the points per
    question, then per question every item that earned less than its points (earned / max)
    and every ticked mistake with its deduction and the item it capped."""
    top = team_result["max"]
    if team_result["complete"]:
        lines = [f"## Theory (part 1): {team_result['total']:g} / {top:g}", ""]
    else:
        lines = [f"## Theory (part 1): not marked completely, no total yet (of {top:g})", "",
                 "*Not every rubric item is marked yet: the questions without points are still open.*", ""]
    lines += ["| question | points | comment |", "|---|---|---|"]
    lost = []
    for q in rubric["questions"]:
        r = team_result["questions"][q["id"]]
        shown = f"{r['points']:g} / {r['max']:g}" if r["marked"] else f"not marked yet / {r['max']:g}"
        lines.append(f"| {q['id']} {_cell(q['title'])} | {shown} | {_cell(r['comment'])} |")
        rows = []
        for item in q["items"]:
            score = r["item_scores"][item["id"]]
            if score is not None and score < float(item["points"]) - 1e-9:
                rows.append(f"  - `{item['id']}` {item['description']}: {score:g} / {float(item['points']):g}")
        for m in q["mistakes"]:
            if m["id"] in r["mistakes"]:
                rows.append(f"  - mistake `{m['id']}` {m['description']}: −{float(m['deduction']):g} "
                            f"(caps `{m['applies_to']}`)")
        if rows:
            lost.append(f"- {q['id']} {q['title']}" + (f" ({r['points']:g} / {r['max']:g}):" if r["marked"] else ":"))
            lost += rows
    if lost:
        lines += ["", "Points lost, by rubric item (earned / points) and mistake (deduction):", *lost]
    return "\n".join(lines) + "\n"
