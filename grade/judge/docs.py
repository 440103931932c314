"""Items notebook.* and theory.pdf: the notebook's saved outputs are read (it is never run), the PDF's text extracted.

The probes (grade/observe/docs.py) read the notebook as data (grade/judge/notebook.py: any file
gives a result, a broken one a message naming the problem) and ask grade/pdftools.py's pdf_check
for a readable PDF with text inside the submission; the judges below read only that.  Outputs
typed in by hand cost more than running the notebook: images too small to be a plot, execution
counts out of order and progress lines whose epochs or numbers do not fit together are not
counted, and say so.
"""

import re

from ..items import Verdict, judge
from ..parts import NOTEBOOK
from .team_text import MATRICULATION, TEAM_NUMBER, members, names_in, team_cells


def _unread(obs, probe, what):
    """Why the ``probe`` of ``what`` sent no values (its error, or its part's end), or None."""
    error = obs.error(probe)
    if error is None and isinstance(obs.records.get(probe, {}).get("values"), dict):
        return None
    kind, message = (error or {}).get("type"), (error or {}).get("message", "")
    if kind == "timeout":
        message = f"reading it {message} (a notebook or PDF far too large or too complex?)"
    return message if kind == "tampered" else f"{what} could not be read: {message}"


def _notebook(obs):
    """``(cells, None)`` or ``(None, failing verdict)``."""
    why = _unread(obs, "notebook", f"`{NOTEBOOK}`")
    if why is not None:
        return None, Verdict.fail(why)
    nb = obs["notebook"]
    if nb["status"] != "ok":
        return None, Verdict.fail(nb["message"])
    return nb["cells"], None


def _code(cells):
    return [c for c in cells if c["type"] == "code" and c["source"].strip()]


# --------------------------------------------------------------------------- notebook.team
@judge("notebook.team")
def team(obs):
    cells, failed = _notebook(obs)
    if failed:
        return failed
    text = team_cells(cells)
    lines = [line for cell in text for line in cell]
    found = members(text)
    team_number = next((m for m in map(TEAM_NUMBER.search, lines) if m), None)
    if not found:
        names, numbers = any(map(names_in, lines)), any(map(MATRICULATION.search, lines))
        only = ("; found names and numbers, but not in one cell" if names and numbers else
                "; found names but no matriculation number" if names else
                "; found numbers but no names" if numbers else "")
        return Verdict.fail(f"the notebook's first cells name no team member with a matriculation number (a name and "
                            f"a 5- to 9-digit number{only}): put the team number, the members' names and their "
                            f"matriculation numbers at the top (a comment in the first cell, or a markdown cell below "
                            f"the title)")
    said = f"{found} member(s) with name and matriculation number in the first cells"
    if team_number is None:
        return Verdict(1.0, f"{said}; the team number is missing", code="notebook.team.no_team_number")
    return Verdict.ok(f"team {team_number.group(1)}: {said}")


# --------------------------------------------------------------------------- notebook.progress
EPOCH = re.compile(r"epoch\W{0,3}(\d+)(?:\s*/\s*(\d+))?", re.IGNORECASE)
ACCURACY = re.compile(r"\b((?:val\w*|train\w*)?[\s_]*)acc\w*\W{0,3}?(\d+(?:\.\d+)?(?:e-?\d+)?)\s*(%?)", re.IGNORECASE)
TRAINING_TIME = re.compile(r"training\s+time\W{0,3}(\d+(?:\.\d+)?)", re.IGNORECASE)


def _accuracies(segment):
    """``(training, validation)`` accuracies printed in one epoch's text."""
    train, val = [], []
    for m in ACCURACY.finditer(segment):
        value = float(m.group(2))
        (val if m.group(1).lower().startswith("val") else train).append((value, bool(m.group(3))))
    return train, val


def _run_problem(run):
    """Why a run's printed epochs cannot be one training's progress, or None."""
    epochs = [e for e, _, _ in run["epochs"]]
    if epochs[0] not in (0, 1):
        return f"it starts at epoch {epochs[0]}"
    gap = next(((a, b) for a, b in zip(epochs, epochs[1:]) if b != a + 1), None)
    if gap:
        return f"epoch {gap[0]} is followed by epoch {gap[1]}"
    totals = {t for _, t, _ in run["epochs"] if t is not None}
    if len(totals) > 1 or (totals and epochs[-1] > max(totals)):
        return f"the epochs are counted out of {', '.join(map(str, sorted(totals)))}, up to epoch {epochs[-1]}"
    last_time = None
    for epoch, _, segment in run["epochs"]:
        train, val = _accuracies(segment)
        if not train or not val:
            return f"epoch {epoch} shows no {'training' if not train else 'validation'} accuracy"
        bad = [v for v, _ in train + val if not 0 <= v <= 100]
        if bad:
            return f"epoch {epoch} shows the accuracy {bad[0]:g}, which no accuracy can be"
        times = [float(t) for t in TRAINING_TIME.findall(segment)]
        if times and last_time is not None and times[0] < last_time:
            return (f"the training time since the start goes down from {last_time:g} s to {times[0]:g} s at epoch "
                    f"{epoch}")
        last_time = times[0] if times else last_time
    return None


def progress_runs(cells):
    """Per-epoch runs printed by executed cells: ``[{"cell", "epochs": [(epoch, out of, text)], "problem"}]``."""
    runs = []
    for k, cell in enumerate(_code(cells), start=1):
        if cell["count"] is None:
            continue
        out = "".join(o["text"] for o in cell["outputs"])
        marks = list(EPOCH.finditer(out))
        last = None
        for j, m in enumerate(marks):
            epoch = int(m.group(1))
            segment = out[m.end(): marks[j + 1].start() if j + 1 < len(marks) else m.end() + 2000]
            if last is None or epoch <= last:
                runs.append({"cell": k, "epochs": []})
            runs[-1]["epochs"].append((epoch, int(m.group(2)) if m.group(2) else None, segment))
            last = epoch
    runs = [r for r in runs if len(r["epochs"]) >= 2]  # a single "epoch 3" is a mention, not a run
    for r in runs:
        r["problem"] = _run_problem(r)
    return runs


@judge("notebook.progress")
def progress(obs):
    cells, failed = _notebook(obs)
    if failed:
        return failed
    runs = progress_runs(cells)
    good = [len(r["epochs"]) for r in runs if r["problem"] is None]
    found = min(len(good), 3)
    if found == 3:
        return Verdict.ok(f"printed per-epoch training and validation accuracy for {len(good)} training runs "
                          f"({', '.join(str(n) for n in good)} epochs)")
    bad = [f"code cell {r['cell']}: {r['problem']}" for r in runs if r["problem"]]
    not_counted = f"; not counted, as a run prints no such lines: {'; '.join(bad[:3])}" if bad else ""
    return Verdict.fail(f"the outputs of the executed cells show per-epoch training and validation accuracy for "
                        f"{found} of the three networks (one line per epoch, as the template's fit prints it: "
                        f"'Epoch: 3, Training Time: ..., Training Accuracy: ...%, Validation Accuracy: ...%'){not_counted}"
                        f"; run the notebook so that each network's training prints its progress", fraction=found / 3)


# --------------------------------------------------------------------------- notebook.plots
MIN_PLOT_PIXELS = 64  # an image narrower or lower than this cannot show accuracy over the epochs
CURVE = re.compile(r"acc|histor|epoch", re.IGNORECASE)  # what an accuracy-over-epochs plot is drawn from
NOT_A_CURVE = re.compile(r"imshow|matshow|pcolor|heatmap|confusion", re.IGNORECASE)  # images, not curves
DEF = re.compile(r"^def\s+(\w+)\s*\(")


def _split_functions(source):
    """``(the cell's code outside its top-level functions, {function name: its code})``."""
    outside, functions, current = [], {}, None
    for line in source.splitlines():
        m = DEF.match(line)
        if m:
            current = m.group(1)
            functions[current] = line + "\n"
        elif current is not None and (not line.strip() or line[:1].isspace()):
            functions[current] += line + "\n"
        else:
            current = None
            outside.append(line)
    return "\n".join(outside), functions


def plot_cells(cells):
    """For each code cell: does it draw accuracy over the epochs (True), images such as digits (False), or neither
    (None)?  Read from its code and from the notebook's functions it calls."""
    split = [_split_functions(c["source"]) for c in _code(cells)]
    kinds = {}
    for _, functions in split:
        for name, body in functions.items():
            kinds[name] = False if NOT_A_CURVE.search(body) else True if CURVE.search(body) else None
    out = []
    for outside, _ in split:
        called = [kinds[n] for n in re.findall(r"\b(\w+)\s*\(", outside) if n in kinds]
        if NOT_A_CURVE.search(outside) or False in called:
            out.append(False)
        else:
            out.append(True if CURVE.search(outside) or True in called else None)
    return out


@judge("notebook.plots")
def plots(obs):
    cells, failed = _notebook(obs)
    if failed:
        return failed
    plotted, small, unknown, other = 0, [], 0, 0
    for cell, curve in zip(_code(cells), plot_cells(cells)):
        if cell["count"] is None:
            continue
        for image in (i for o in cell["outputs"] for i in o["images"]):
            if not curve:
                other += 1
            elif image["width"] is None:
                unknown += 1
            elif min(image["width"], image["height"]) < MIN_PLOT_PIXELS:
                small.append(f"{image['width']}x{image['height']}")
            else:
                plotted += 1
    found = min(plotted, 3)
    if found == 3:
        return Verdict.ok(f"{plotted} plot(s) of the accuracy over the epochs in the outputs")
    skipped = [f"{len(small)} image(s) too small to be a plot ({', '.join(small[:3])} pixels; a plot is at least "
               f"{MIN_PLOT_PIXELS}x{MIN_PLOT_PIXELS})"] if small else []
    skipped += [f"{unknown} image(s) whose size the grader cannot read"] if unknown else []
    skipped += [f"{other} image(s) of cells that draw no training history (or draw images, e.g. digits with "
                f"imshow)"] if other else []
    return Verdict.fail(f"the outputs hold {plotted} plot(s) of accuracy over the epochs"
                        f"{'; not counted: ' + '; '.join(skipped) if skipped else ''}; expected a plot of training and "
                        f"validation accuracy over the epochs for each of the three networks (from the history fit "
                        f"returns)", fraction=found / 3)


# --------------------------------------------------------------------------- notebook.executed
def _count_problem(code):
    """Why the execution counts are not those of one run from top to bottom, or None."""
    counted = [(k, c["count"]) for k, c in enumerate(code, start=1) if c["count"] is not None]
    for (j, a), (k, b) in zip(counted, counted[1:]):
        if b <= a:
            return f"code cell {k} has In [{b}] after In [{a}] in code cell {j}"
    for k, c in enumerate(code, start=1):
        for o in c["outputs"]:
            if o["count"] is not None and c["count"] is not None and o["count"] != c["count"]:
                return f"code cell {k} is In [{c['count']}] but its result says Out[{o['count']}]"
    return None


@judge("notebook.executed")
def executed(obs):
    cells, failed = _notebook(obs)
    if failed:
        return failed
    code = _code(cells)
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
    problem = _count_problem(code)
    if problem:
        return Verdict.fail(f"the execution counts are not those of one run from top to bottom ({problem}): outputs "
                            f"of cells run out of order, of several kernel sessions, or typed in; restart the kernel, "
                            f"run all cells (Restart & Run All) and save the notebook")
    return Verdict.ok(f"{len(with_output)} of {len(code)} code cells have outputs from a run, none is an error")


@judge("theory.pdf")
def pdf(obs):
    error = obs.error("pdf")
    if error and error.get("type") == "tool_missing":  # this machine's fault: said, and never cached
        return Verdict.fail(f"not graded: cannot check the PDF here: {error['message']}", code="grader_error")
    why = _unread(obs, "pdf", "the theory PDF")
    if why is not None:
        return Verdict.fail(why)
    got = obs["pdf"]
    return Verdict.ok(f"a readable PDF with text: {got['message']}") if got["ok"] else Verdict.fail(got["message"])
