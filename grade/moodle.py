"""moodle.csv: a row per student for Moodle's "Import grades from CSV", and how points become Moodle's grade.

The roster (``team,name,matriculation,email``, one row per student) maps a team folder to its
members.  Moodle's grade is the raw points by default (Moodle's maximum grade must then be the
``max`` of grades.csv), or ``--moodle-max M`` shared by code and theory, in proportion to their
points or to ``--weights code=W,theory=W``.  A team whose theory marks are incomplete gets no
grade (an empty cell, which Moodle's import skips), never a grade without its theory.
"""

import csv
import math
from dataclasses import dataclass

from .ta_io import InputError, write_csv

MOODLE_COLUMNS = ["ID number", "Email address", "Full name", "Grade", "Feedback"]


@dataclass(frozen=True)
class MoodleScale:
    """Raw points (``maximum`` None), or ``maximum`` shared by the parts in proportion to ``weights``
    (``{"code": w, "theory": w}``; None: in proportion to their points)."""
    maximum: float | None = None
    weights: dict | None = None


def moodle_scale(maximum=None, weights=None, theory=False):
    """The scale of ``--moodle-max`` and ``--weights`` (``theory``: the run has theory marks); InputError otherwise."""
    if maximum is None:
        if weights:
            raise InputError("--weights needs --moodle-max: the weights share Moodle's maximum grade (e.g. "
                             "--moodle-max 100 --weights code=60,theory=40)")
        return MoodleScale()
    if not math.isfinite(maximum) or maximum <= 0:
        raise InputError(f"--moodle-max must be a positive number, Moodle's maximum grade (e.g. 100); received "
                         f"{maximum!r}")
    return MoodleScale(float(maximum), parse_weights(weights, theory) if weights else None)


def parse_weights(text, theory):
    """``"code=60,theory=40"`` -> ``{"code": 60.0, "theory": 40.0}``: the parts graded in this run, each once."""
    wanted = ["code", "theory"] if theory else ["code"]
    form = (f"--weights: expected {','.join(f'{p}=W' for p in wanted)} with non-negative numbers W (e.g. "
            f"{'code=60,theory=40' if theory else 'code=1'}); received {text!r}")
    weights = {}
    for entry in text.split(","):
        name, sep, value = (s.strip() for s in entry.partition("="))
        if not sep or name not in ("code", "theory"):
            raise InputError(f"{form}: {entry.strip()!r} is not code=W or theory=W")
        if name in weights:
            raise InputError(f"{form}: {name} is given twice")
        try:
            weight = float(value)
        except ValueError:
            raise InputError(f"{form}: {value!r} is not a number") from None
        if not math.isfinite(weight) or weight < 0:
            raise InputError(f"{form}: {name}={value} is not a non-negative number")
        weights[name] = weight
    if "theory" in weights and not theory:
        raise InputError(f"{form}: this run has no theory marks (give --theory-marks to weigh them)")
    missing = [p for p in wanted if p not in weights]
    if missing:
        raise InputError(f"{form}: the weight of {' and '.join(missing)} is missing")
    if sum(weights.values()) == 0:
        raise InputError(f"{form}: the weights add up to 0")
    return weights


def parts(r):
    """``{"code": (points, max), "theory": (points, max)}`` of one result (theory only with marks attached)."""
    out = {"code": (sum(v["points"] for v in r.items.values()), sum(v["max"] for v in r.items.values()))}
    if getattr(r, "theory", None):
        out["theory"] = (r.theory["total"], r.theory["max"])
    return out


def moodle_grade(r, scale):
    """Moodle's grade of one result, or None while its theory marks are incomplete."""
    if r.total is None:
        return None
    if scale.maximum is None:
        return r.total
    got = parts(r)
    weights = scale.weights or {p: top for p, (_, top) in got.items()}
    share = sum(weights[p] * (points / top if top else 0.0) for p, (points, top) in got.items())
    return round(scale.maximum * share / sum(weights[p] for p in got), 2)


def read_roster(path):
    """``{team: [{"name", "matriculation", "email"}]}`` from a CSV with the columns team, name, matriculation, email."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"team", "name", "matriculation", "email"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{path}: the roster needs the columns team, name, matriculation, email; missing "
                             f"{sorted(missing)} (found {reader.fieldnames})")
        roster = {}
        for n, row in enumerate(reader, start=2):
            if not all(str(row.get(k) or "").strip() for k in ("team", "name", "email")):
                raise InputError(f"{path}, line {n}: team, name and email must not be empty: {row}")
            roster.setdefault(row["team"].strip(), []).append(
                {k: (row[k] or "").strip() for k in ("name", "matriculation", "email")})
    return roster


def _feedback(team, r, grade, scale):
    got = parts(r)
    code, code_max = got["code"]
    text = f"Team {team}: code {code:g} of {code_max:g} points. "
    if "theory" in got:
        text += (f"Theory: {got['theory'][0]:g} of {got['theory'][1]:g}. " if r.theory["complete"] else
                 "Theory: not completely marked yet (no grade until it is). ")
    if grade is not None:
        text += (f"Grade: {grade:g} of {r.max:g} points. " if scale.maximum is None else
                 f"Grade: {grade:g} of {scale.maximum:g} ({_weighting(got, scale)}). ")
    lost = [f"{i} {v['points']:g}/{v['max']:g}" for i, v in r.items.items() if v["points"] < v["max"]]
    return text + (f"Points lost: {'; '.join(lost)}. " if lost else "") + "The full feedback is in your team's repository."


def _weighting(got, scale):
    weights = scale.weights or {p: top for p, (_, top) in got.items()}
    total = sum(weights[p] for p in got)
    return ", ".join(f"{p} {100 * weights[p] / total:.3g} %" for p in got)


def moodle_rows(results, roster, scale=MoodleScale()):
    """One row per student for Moodle's "Import grades from CSV" (identify users by ID number or email)."""
    graded = {r.name: r for r in results}
    unknown = sorted(set(graded) - set(roster))
    if unknown:
        raise InputError(f"the roster names no members for the graded submission(s) {unknown}")
    rows = []
    for team, members in roster.items():
        r = graded.get(team)
        if r is None:
            feedback, grade = "no submission was graded for this team", None
        else:
            grade = moodle_grade(r, scale)
            feedback = _feedback(team, r, grade, scale)
        for m in members:
            rows.append({"ID number": m["matriculation"], "Email address": m["email"], "Full name": m["name"],
                         "Grade": grade, "Feedback": feedback})
    return rows


def write_moodle(path, results, roster, scale=MoodleScale()):
    rows = moodle_rows(results, roster, scale)
    write_csv(path, MOODLE_COLUMNS, [[row[c] for c in MOODLE_COLUMNS] for row in rows])
