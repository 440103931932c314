"""Write the grades: grades.csv, grades.json, one Markdown report per team, timing.csv, and moodle.csv.

The per-team report is written to be committed into the team's repository as feedback; every
text a submission controls is escaped in it (grade/ta_io.py: md_text), and every CSV cell goes
through one writer that keeps formulas out (ta_io.csv_cell).  A teaching assistant's overrides
(a small TOML file), theory marks (the review page's CSV) and roster (team folder -> members,
grade/moodle.py) come in through :func:`apply_overrides`, :func:`attach_theory` and
``moodle_rows``; all fail loudly on names they do not know.  A team whose theory marks are
incomplete has no total (None; an empty cell), never one that leaves the theory out.
"""

import hashlib
import json
import re
import tomllib
from pathlib import Path

from .items import load_table
from .moodle import MOODLE_COLUMNS, MoodleScale, moodle_rows, read_roster, write_moodle
from .ta_io import InputError, md_text, write_csv

__all__ = ["InputError", "MOODLE_COLUMNS", "apply_overrides", "attach_theory", "incomplete_theory", "markdown",
           "moodle_rows", "read_roster", "report_filename", "write_reports"]
NOTEBOOK_NOTE = ("The notebook items (`notebook.*`) are judged from the outputs saved in the notebook: the grader "
                 "does not run it. Images too small to be a plot, execution counts out of order and progress lines "
                 "whose epochs or numbers do not fit together are not counted.")


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
            if isinstance(spec["points"], bool) or not isinstance(spec["points"], (int, float)) \
                    or not 0 <= spec["points"] <= v["max"]:
                raise InputError(f"{path}: [{team}.\"{item_id}\"] points must be a number in 0..{_fmt(v['max'])}; received "
                                 f"{spec['points']!r}")
            v["message"] = (f"set to {_fmt(spec['points'])} by the teaching assistant: {spec['reason']} (the grader "
                            f"gave {_fmt(v['points'])}: {v['message']})")
            v["points"], v["override"] = float(spec["points"]), True
        _retotal(r)
    return results


def _retotal(r):
    """The total: the code points, plus the theory points if marks are attached (None while they are incomplete)."""
    code = round(sum(v["points"] for v in r.items.values()), 4)
    theory = getattr(r, "theory", None)
    r.total = code if theory is None else round(code + theory["total"], 4) if theory["complete"] else None


def attach_theory(results, marks_path, rubric_path=None):
    """Add the TA's theory marks (the review page's CSV, grade/review/) to each result: ``r.theory``, and the total.

    The file is checked against the rubric (grade.review.read_marks); a team it lacks, or with rubric items left
    unmarked, is incomplete (:func:`incomplete_theory`): its total is None until the marks are complete.
    """
    from .review import load_rubric, read_marks
    rubric = load_rubric(rubric_path)
    marks = read_marks(marks_path, rubric, teams=[r.name for r in results])
    for r in results:
        r.theory, r.rubric = marks[r.name], rubric
        r.max = round(sum(v["max"] for v in r.items.values()) + r.theory["max"], 4)
        _retotal(r)
    return results


def incomplete_theory(results):
    """``[(team, [questions not completely marked])]`` of the results with theory marks attached."""
    return [(r.name, [q for q, v in r.theory["questions"].items() if not v["marked"]])
            for r in results if getattr(r, "theory", None) and not r.theory["complete"]]


def _theory_columns(results):
    first = next((r for r in results if getattr(r, "theory", None)), None)
    return [q["id"] for q in first.rubric["questions"]] if first else []


def write_reports(results, out_dir, roster=None, scale=MoodleScale()):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items = list(results[0].items) if results else list(load_table()[0])
    questions = _theory_columns(results)
    commit = ["commit"] if any(getattr(r, "collected", None) is not None for r in results) else []
    header = ["submission", *items, *(["code", *(f"theory {q}" for q in questions), "theory"] if questions else []),
              "total", "max", *commit]
    rows = []
    for r in results:
        theory = []
        if questions:
            marks = r.theory["questions"]
            theory = [round(sum(v["points"] for v in r.items.values()), 4),
                      *(marks[q]["points"] if marks[q]["marked"] else None for q in questions),
                      r.theory["total"] if r.theory["complete"] else None]
        rows.append([r.name, *(r.items[i]["points"] for i in items), *theory, r.total, r.max,
                     *([_graded_commit(r)[0]] if commit else [])])
    write_csv(out / "grades.csv", header, rows)
    data = {r.name: {"items": {i: {"points": float(v["points"]), "max": float(v["max"]), "message": v["message"]}
                               for i, v in r.items.items()},
                     "total": None if r.total is None else float(r.total), "max": float(r.max), "notes": r.notes,
                     **({"theory": r.theory} if getattr(r, "theory", None) else {})} for r in results}
    (out / "grades.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_csv(out / "timing.csv", ["submission", "seconds", "cached_parts"],
              [[r.name, round(r.seconds, 1), " ".join(r.cached_parts)] for r in results])
    for r in results:
        (out / report_filename(r.name)).write_text(markdown(r), encoding="utf-8")
    if roster is not None:
        write_moodle(out / "moodle.csv", results, roster, scale)
    return out


def markdown(r):
    """The team's feedback: total, every item with its points and message, and what the grader noted."""
    table = load_table()[0]
    code = sum(v["points"] for v in r.items.values())
    total = (f"**Total: {_fmt(r.total)} / {_fmt(r.max)} points**" if r.total is not None else
             f"**Total: not yet: the theory is not completely marked (code: {_fmt(code)} / "
             f"{_fmt(sum(v['max'] for v in r.items.values()))} points)**")
    lines = [f"# Problem set 1: feedback for {md_text(r.name, 200)}", "", total, ""]
    if getattr(r, "collected", None) is not None:
        lines += [_graded_commit(r)[1], ""]
    lines += [f"> Note: {md_text(n, 2000)}" for n in r.notes] + ([""] if r.notes else [])
    lines += ["| item | points | what was checked | result |", "|---|---|---|---|"]
    for item, v in r.items.items():
        checks = table[item].checks.replace("|", "\\|") if item in table else ""
        lines.append(f"| `{item}` | {_fmt(v['points'])} / {_fmt(v['max'])} | {checks} | {md_text(v['message'], 2000)} |")
    lines += ["", NOTEBOOK_NOTE]
    if getattr(r, "theory", None):
        from .review import marks_markdown
        lines += ["", marks_markdown(r.theory, r.rubric)]
    ran = ("each part of the code ran in its own sandbox" if not any("NOT SANDBOXED" in n for n in r.notes) else
           "the code ran WITHOUT the sandbox (--no-sandbox), as the note at the top says")
    lines += ["", f"Graded by `python -m grade` ({ran}; the verdicts were decided outside it). Questions: open an "
                  "issue in this repository and mention the teaching assistant.", ""]
    return "\n".join(lines)


def _graded_commit(r):
    """``(commit for grades.csv, line for the report)`` from grade.collect's record (grade.collect.graded_commit)."""
    row = r.collected
    if not row:
        return "unknown", "**Graded commit: unknown** (collected.csv beside the submission does not record it)"
    after = row["commits_after"]
    later = "" if after == "0" else f"; later commits not graded: {after}"
    sha = f"`{row['commit']}`" if re.fullmatch(r"[0-9a-f]{7,64}", row["commit"]) else md_text(row["commit"], 80)
    return row["commit"], (f"**Graded commit:** {sha} of {md_text(row['repository'], 300)} "
                           f"(committed {md_text(row['committed'], 60)} by the committer's clock{md_text(later, 80)})")
