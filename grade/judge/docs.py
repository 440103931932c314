"""Items notebook.* and theory.pdf: the notebook is read (never executed), the PDF's text extracted.

:func:`observe` runs in the grader's process: it reads the notebook as JSON (refusing one larger
than ``NOTEBOOK_MAX_BYTES``) and asks ``pdf_check`` (grade/pdftools.py: poppler in the
sandbox) for a readable PDF with text inside the submission.  The judges below read only that.
"""

import json
import re
from pathlib import Path

from ..items import Verdict, judge
from .common import Observations

NOTEBOOK = "MNIST_classification.ipynb"
NOTEBOOK_MAX_BYTES = 100 * 2**20
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
EPOCH = re.compile(r"epoch\W{0,3}(\d+)", re.IGNORECASE)


def _text(value):
    return "".join(value) if isinstance(value, list) else str(value or "")


def _read_notebook(folder):
    path = Path(folder) / NOTEBOOK
    if path.is_symlink() and not path.resolve().is_relative_to(Path(folder).resolve()):
        return {"status": "outside", "message": f"`{NOTEBOOK}` is a link to a file outside the submission"}
    if not path.is_file():
        return {"status": "missing", "message": f"`{NOTEBOOK}` is missing from the submission"}
    size = path.stat().st_size
    if size > NOTEBOOK_MAX_BYTES:
        return {"status": "too_large", "message": f"`{NOTEBOOK}` is {_size(size)}, more than the "
                                                  f"{_size(NOTEBOOK_MAX_BYTES)} the grader reads: clear large "
                                                  f"outputs (e.g. printed arrays) and save it again"}
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = [c for c in nb["cells"] if isinstance(c, dict)]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        return {"status": "unreadable", "message": f"`{NOTEBOOK}` is not a readable notebook (JSON with a list of "
                                                   f"cells): {err}"}
    out = []
    for c in cells:
        outputs = [o for o in c.get("outputs", []) if isinstance(o, dict)] if c.get("cell_type") == "code" else []
        out.append({"type": c.get("cell_type"), "source": _text(c.get("source")),
                    "count": c.get("execution_count") if isinstance(c.get("execution_count"), int) else None,
                    "outputs": [{"type": o.get("output_type"), "text": _output_text(o),
                                 "image": any(str(k).startswith("image/") for k in (o.get("data") or {})),
                                 "ename": str(o.get("ename", "")), "evalue": _text(o.get("evalue"))[:300]}
                                for o in outputs]})
    return {"status": "ok", "cells": out}


def _size(n):
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


def _output_text(output):
    if output.get("output_type") == "stream":
        text = _text(output.get("text"))
    elif output.get("output_type") in ("execute_result", "display_data"):
        text = _text((output.get("data") or {}).get("text/plain"))
    else:
        text = ""
    return ANSI.sub("", text)[:200_000]


def observe(folder, pdf_check):
    """What the docs items look at; ``pdf_check(folder) -> (ok, message)`` reads the PDFs (grade/pdftools.py)."""
    ok, message = pdf_check(folder)
    return {"notebook": _read_notebook(Path(folder).resolve()), "pdf": {"ok": ok, "message": message}}


def observations(folder, pdf_check):
    return Observations({"docs": {"values": observe(folder, pdf_check)}}, {}, {}, {})


def _notebook(obs):
    """``(cells, None)`` or ``(None, failing verdict)``."""
    nb = obs["docs"]["notebook"]
    if nb["status"] != "ok":
        return None, Verdict.fail(nb["message"])
    return nb["cells"], None


TEAM_NUMBER = re.compile(r"\b(?:team|group|gruppe)\b\W{0,3}(?:number|no\.?|nr\.?|#)?\W{0,3}(\d{1,3})\b", re.IGNORECASE)
MATRICULATION = re.compile(r"(?<![\d.,])\d{5,9}(?![\d.,])")
NAME = re.compile(r"\b[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’-]+(?:\s+[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’-]+)+")


def team_text(cells, first=4):
    """The lines of the notebook's first ``first`` non-empty cells: markdown (headings left out) and code comments."""
    lines = []
    for cell in [c for c in cells if c["source"].strip()][:first]:
        for line in cell["source"].splitlines():
            if cell["type"] == "code" and line.lstrip().startswith("#"):
                lines.append(line.lstrip("# \t"))
            elif cell["type"] == "markdown" and not line.lstrip().startswith("#"):
                lines.append(line)
    return lines


@judge("notebook.team")
def team(obs):
    cells, failed = _notebook(obs)
    if failed:
        return failed
    lines = team_text(cells)
    members = [line for line in lines if NAME.search(line) and MATRICULATION.search(line)]
    team_number = next((m for m in map(TEAM_NUMBER.search, lines) if m), None)
    if not members:
        found = [what for what, pattern in (("names", NAME), ("numbers", MATRICULATION))
                 if any(pattern.search(line) for line in lines)]
        apart = f"; found {' and '.join(found)} but not on one line" if len(found) == 2 else ""
        return Verdict.fail(f"the notebook's first cells name no team member with a matriculation number (a name and "
                            f"a 5- to 9-digit number on one line{apart}): put the team number, the members' names and "
                            f"their matriculation numbers at the top (a comment in the first cell, or a markdown cell "
                            f"below the title)")
    found = f"{len(members)} member(s) with name and matriculation number in the first cells"
    if team_number is None:
        return Verdict(1.0, f"{found}; the team number is missing", code="notebook.team.no_team_number")
    return Verdict.ok(f"team {team_number.group(1)}: {found}")


def progress_runs(cells):
    """Per-epoch training runs in the outputs of executed cells: ``[(epochs seen, training and validation shown)]``."""
    runs = []
    for cell in cells:
        if cell["type"] != "code" or cell["count"] is None:
            continue
        out = "".join(o["text"] for o in cell["outputs"])
        marks = list(EPOCH.finditer(out))
        last = None
        for k, m in enumerate(marks):
            epoch = int(m.group(1))
            segment = out[m.end(): marks[k + 1].start() if k + 1 < len(marks) else m.end() + 2000]
            if last is None or epoch <= last:
                runs.append([0, False, False])
            run = runs[-1]
            run[0] += 1
            run[1] = run[1] or bool(re.search(r"acc", segment, re.IGNORECASE))
            run[2] = run[2] or bool(re.search(r"\bval", segment, re.IGNORECASE))
            last = epoch
    return [(n, acc and val) for n, acc, val in runs]


@judge("notebook.progress")
def progress(obs):
    cells, failed = _notebook(obs)
    if failed:
        return failed
    runs = [n for n, ok in progress_runs(cells) if ok and n >= 2]
    found = min(len(runs), 3)
    if found == 3:
        return Verdict.ok(f"printed per-epoch training and validation accuracy for {len(runs)} training runs "
                          f"({', '.join(str(n) for n in runs)} epochs)")
    return Verdict.fail(f"the outputs of the executed cells show per-epoch training and validation accuracy for "
                        f"{found} of the three networks (one line per epoch, as the template's fit prints it: "
                        f"'Epoch: 3, Training Time: ..., Training Accuracy: ...%, Validation Accuracy: ...%'); run "
                        f"the notebook so that each network's training prints its progress", fraction=found / 3)


@judge("notebook.plots")
def plots(obs):
    cells, failed = _notebook(obs)
    if failed:
        return failed
    plotted = sum(1 for c in cells if c["type"] == "code" and c["count"] is not None
                  and re.search(r"acc|history|plot", c["source"], re.IGNORECASE)
                  for o in c["outputs"] if o["image"])
    found = min(plotted, 3)
    if found == 3:
        return Verdict.ok(f"{plotted} plot(s) of the accuracy over the epochs in the outputs")
    return Verdict.fail(f"the outputs hold {plotted} accuracy plot(s); expected a plot of training and validation "
                        f"accuracy over the epochs for each of the three networks", fraction=found / 3)


@judge("notebook.executed")
def executed(obs):
    cells, failed = _notebook(obs)
    if failed:
        return failed
    code = [c for c in cells if c["type"] == "code" and c["source"].strip()]
    errors = [(k, c, o) for k, c in enumerate(code, start=1) for o in c["outputs"] if o["type"] == "error"]
    if errors:
        k, c, o = errors[0]
        run = f" (In [{c['count']}])" if c["count"] is not None else ""
        return Verdict.fail(f"the notebook has {len(errors)} error output(s), the first in code cell {k}{run}: "
                            f"{o['ename'] or 'error'}: {o['evalue'][:200]}. Fix it and run all cells again")
    with_output = [c for c in code if c["outputs"]]
    if not with_output:
        return Verdict.fail("the notebook has no outputs: run all cells (Restart & Run All) and save it with its outputs")
    typed = [k for k, c in enumerate(code, start=1) if c["outputs"] and c["count"] is None]
    if typed:
        return Verdict.fail(f"{len(typed)} code cell(s) with outputs have no execution count (code cell(s) "
                            f"{', '.join(map(str, typed[:5]))}): outputs a run of the notebook did not write, for the "
                            f"teaching assistant to check; run all cells and save the notebook")
    return Verdict.ok(f"{len(with_output)} of {len(code)} code cells have outputs from a run, none is an error")


@judge("theory.pdf")
def pdf(obs):
    got = obs["docs"]["pdf"]
    return Verdict.ok(f"a readable PDF with text: {got['message']}") if got["ok"] else Verdict.fail(got["message"])
