"""The TA's theory marks: the CSV the review page saves, read back and checked against the rubric.

Format (UTF-8 CSV with a header; the review page writes one row per team and rubric entry):

    team,question,id,kind,max,value
    team01,1.1,1.1.gradient,item,1,1
    team01,1.1,1.1.mixed_partial,mistake,0.5,1
    team01,1.1,,comment,,"(0,0) classified from a zero Hessian"

``kind`` is ``item`` (``value`` = points earned, 0 to ``max``, fractions allowed), ``mistake``
(``value`` 1 = the mistake is there and ``max`` is deducted, 0 = it is not) or ``comment``
(``value`` = free text for the question).  An empty ``value`` means "not marked yet".  A
question's score is the sum of its items minus its marked mistakes, clamped to [0, points].
"""

import csv
import io
from pathlib import Path

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
    file is returned unmarked.  Returns ``{team: {"questions": {question: {"points", "max",
    "marked", "items": {id: points or None}, "mistakes": [ids], "comment"}}, "total", "max",
    "comments": {question: text}, "complete"}}``.  Raises :class:`MarksError` listing every
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


def score_team(rubric, values, comments, team):
    """One team's result from ``values[(team, id)]`` and ``comments[(team, question)]``."""
    result = {"questions": {}, "total": 0.0, "max": float(rubric["total"]), "comments": {}, "complete": True}
    for q in rubric["questions"]:
        items = {i["id"]: values.get((team, i["id"])) for i in q["items"]}
        applied = [m for m in q["mistakes"] if values.get((team, m["id"])) == 1.0]
        marked = all(v is not None for v in items.values())
        raw = sum(v or 0.0 for v in items.values()) - sum(float(m["deduction"]) for m in applied)
        points = min(max(raw, 0.0), float(q["points"]))
        comment = comments.get((team, q["id"]), "")
        result["questions"][q["id"]] = {"points": points, "max": float(q["points"]), "marked": marked,
                                        "items": items, "mistakes": [m["id"] for m in applied], "comment": comment}
        result["total"] += points
        result["complete"] &= marked
        if comment:
            result["comments"][q["id"]] = comment
    return result


def marks_markdown(team_result, rubric):
    """A team's theory marks as a Markdown section (for the per-team report)."""
    total, top = team_result["total"], team_result["max"]
    lines = [f"## Theory (part 1): {total:g} / {top:g}", ""]
    if not team_result["complete"]:
        lines += ["*Not every rubric item is marked yet.*", ""]
    lines += ["| question | points | comment |", "|---|---|---|"]
    described = {}
    for q in rubric["questions"]:
        r = team_result["questions"][q["id"]]
        comment = r["comment"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {q['id']} {q['title']} | {r['points']:g} / {r['max']:g} | {comment} |")
        for m in q["mistakes"]:
            if m["id"] in r["mistakes"]:
                described[m["id"]] = m
    if described:
        lines += ["", "Mistakes:"]
        lines += [f"- {m['description']} (−{float(m['deduction']):g})" for m in described.values()]
    return "\n".join(lines) + "\n"
