"""Write the grades: grades.csv, grades.json, one Markdown report per team, timing.csv, and moodle.csv.

The per-team report is written to be committed into the team's repository as feedback.  A
teaching assistant's overrides (a small TOML file) and a roster (team folder -> members) come
in through :func:`apply_overrides` and :func:`moodle_rows`; both fail loudly on names they do
not know.
"""

import csv
import hashlib
import json
import tomllib
from pathlib import Path

from .items import load_table


class InputError(ValueError):
    """An overrides or roster file that does not fit the grades (file, entry and reason named)."""


def _fmt(x):
    return f"{x:g}"


def report_filename(name, suffix=".md"):
    """``<name>.md``, or a shortened name with a hash when the folder's name is too long for a file name."""
    if len((name + suffix).encode()) <= 200 and "/" not in name:
        return name + suffix
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return name.encode()[:120].decode(errors="ignore").replace("/", "_") + "-" + digest + suffix


def apply_overrides(results, path):
    """Set items' points by hand: ``[<team>."<item>"] points = 3, reason = "..."`` in a TOML file."""
    with open(path, "rb") as fh:
        table = tomllib.load(fh)
    by_name = {r.name: r for r in results}
    for team, entries in table.items():
        if team not in by_name:
            raise InputError(f"{path}: no graded submission is named {team!r}; graded: {sorted(by_name)}")
        r = by_name[team]
        for item_id, spec in entries.items():
            if item_id not in r.items:
                raise InputError(f"{path}: [{team}] names the item {item_id!r}, which is not in the points table")
            if not isinstance(spec, dict) or "points" not in spec or not str(spec.get("reason", "")).strip():
                raise InputError(f"{path}: [{team}.\"{item_id}\"] needs points and a reason")
            v = r.items[item_id]
            if not 0 <= spec["points"] <= v["max"]:
                raise InputError(f"{path}: [{team}.\"{item_id}\"] points must lie in 0..{_fmt(v['max'])}; received "
                                 f"{spec['points']!r}")
            v["message"] = (f"set to {_fmt(spec['points'])} by the teaching assistant: {spec['reason']} (the grader "
                            f"gave {_fmt(v['points'])}: {v['message']})")
            v["points"], v["override"] = float(spec["points"]), True
        r.total = round(sum(v["points"] for v in r.items.values()), 4)
    return results


def attach_theory(results, marks_path, rubric_path=None):
    """Add the TA's theory marks (the review page's CSV, grade/review/) to each result: ``r.theory``, and the total.

    Every graded team must be in the file; the file is checked against the rubric (grade.review.read_marks).
    """
    from .review import load_rubric, read_marks
    rubric = load_rubric(rubric_path)
    marks = read_marks(marks_path, rubric, teams=[r.name for r in results])
    for r in results:
        r.theory, r.rubric = marks[r.name], rubric
        r.total = round(sum(v["points"] for v in r.items.values()) + r.theory["total"], 4)
        r.max = round(sum(v["max"] for v in r.items.values()) + r.theory["max"], 4)
    return results


def _theory_columns(results):
    first = next((r for r in results if getattr(r, "theory", None)), None)
    return [q["id"] for q in first.rubric["questions"]] if first else []


def write_reports(results, out_dir, roster=None):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items = list(results[0].items) if results else list(load_table()[0])
    questions = _theory_columns(results)
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        commit = ["commit"] if any(getattr(r, "collected", None) is not None for r in results) else []
        w.writerow(["submission", *items, *(f"theory {q}" for q in questions), "total", "max", *commit])
        for r in results:
            theory = [_fmt(r.theory["questions"][q]["points"]) for q in questions] if questions else []
            w.writerow([r.name, *(_fmt(r.items[i]["points"]) for i in items), *theory, _fmt(r.total), _fmt(r.max),
                        *([_graded_commit(r)[0]] if commit else [])])
    data = {r.name: {"items": {i: {"points": float(v["points"]), "max": float(v["max"]), "message": v["message"]}
                               for i, v in r.items.items()},
                     "total": float(r.total), "max": float(r.max), "notes": r.notes,
                     **({"theory": r.theory} if getattr(r, "theory", None) else {})} for r in results}
    (out / "grades.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(out / "timing.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["submission", "seconds", "cached_parts"])
        for r in results:
            w.writerow([r.name, f"{r.seconds:.1f}", " ".join(r.cached_parts)])
    for r in results:
        (out / report_filename(r.name)).write_text(markdown(r), encoding="utf-8")
    if roster is not None:
        rows = moodle_rows(results, roster)
        with open(out / "moodle.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else MOODLE_COLUMNS)
            w.writeheader()
            w.writerows(rows)
    return out


def markdown(r):
    """The team's feedback: total, every item with its points and message, and what the grader noted."""
    table = load_table()[0]
    lines = [f"# Problem set 1: feedback for {r.name}", "", f"**Total: {_fmt(r.total)} / {_fmt(r.max)} points**", ""]
    if getattr(r, "collected", None) is not None:
        lines += [_graded_commit(r)[1], ""]
    lines += [f"> Note: {n}" for n in r.notes] + ([""] if r.notes else [])
    lines += ["| item | points | what was checked | result |", "|---|---|---|---|"]
    for item, v in r.items.items():
        msg = v["message"].replace("|", "\\|").replace("\n", " ")
        checks = table[item].checks.replace("|", "\\|") if item in table else ""
        lines.append(f"| `{item}` | {_fmt(v['points'])} / {_fmt(v['max'])} | {checks} | {msg} |")
    if getattr(r, "theory", None):
        from .review import marks_markdown
        lines += ["", marks_markdown(r.theory, r.rubric)]
    lines += ["", "Graded by `python -m grade` (each part of the code ran in its own sandbox; the verdicts were "
                  "decided outside it). Questions: open an issue in this repository and mention the teaching "
                  "assistant.", ""]
    return "\n".join(lines)


def _graded_commit(r):
    """``(commit for grades.csv, line for the report)`` from grade.collect's record (grade.collect.graded_commit)."""
    row = r.collected
    if not row:
        return "unknown", "**Graded commit: unknown** (collected.csv beside the submission does not record it)"
    after = row["commits_after"]
    later = "" if after == "0" else f"; later commits not graded: {after}"
    return row["commit"], (f"**Graded commit:** `{row['commit']}` of {row['repository']} (committed "
                           f"{row['committed']} by the committer's clock{later})")


MOODLE_COLUMNS = ["ID number", "Email address", "Full name", "Grade", "Feedback"]


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
                {k: row[k].strip() for k in ("name", "matriculation", "email")})
    return roster


def moodle_rows(results, roster):
    """One row per student for Moodle's "Import grades from CSV" (identify users by ID number or email)."""
    graded = {r.name: r for r in results}
    unknown = sorted(set(graded) - set(roster))
    if unknown:
        raise InputError(f"the roster names no members for the graded submission(s) {unknown}")
    rows = []
    for team, members in roster.items():
        r = graded.get(team)
        if r is None:
            feedback, grade = "no submission was graded for this team", ""
        else:
            lost = [f"{i} {_fmt(v['points'])}/{_fmt(v['max'])}" for i, v in r.items.items() if v["points"] < v["max"]]
            grade = _fmt(r.total)
            theory = ""
            if getattr(r, "theory", None):
                theory = f"Theory: {_fmt(r.theory['total'])} of {_fmt(r.theory['max'])}. "
            feedback = (f"Team {team}: {grade} of {_fmt(r.max)} points. " + theory
                        + (f"Points lost: {'; '.join(lost)}. " if lost else "")
                        + "The full feedback is in your team's repository.")
        for m in members:
            rows.append({"ID number": m["matriculation"], "Email address": m["email"], "Full name": m["name"],
                         "Grade": grade, "Feedback": feedback})
    return rows
