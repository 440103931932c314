"""Items notebook.*: MNIST_classification.ipynb is read (never executed) and its outputs examined."""

import json
import re

from conftest import SUBMISSION, Fail

NOTEBOOK = "MNIST_classification.ipynb"
EPOCH = re.compile(r"epoch\D{0,3}?(\d+)\s*/\s*(\d+)", re.IGNORECASE)


def cells():
    path = SUBMISSION / NOTEBOOK
    if not path.is_file():
        raise Fail(f"`{NOTEBOOK}` is missing from the submission")
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        return [c for c in nb["cells"] if isinstance(c, dict)]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise Fail(f"`{NOTEBOOK}` is not a readable notebook (JSON with a list of cells): {err}") from None


def text(value):
    return "".join(value) if isinstance(value, list) else str(value or "")


def code_cells():
    return [c for c in cells() if c.get("cell_type") == "code" and text(c.get("source")).strip()]


def output_text(output):
    if output.get("output_type") == "stream":
        return text(output.get("text"))
    if output.get("output_type") in ("execute_result", "display_data"):
        return text(output.get("data", {}).get("text/plain"))
    return ""


def test_team(graded):
    first = next((c for c in cells() if text(c.get("source")).strip()), None)
    if first is None:
        raise Fail("the notebook is empty: put the team number, names and matriculation numbers in a comment "
                   "at the top")
    lines = text(first.get("source")).splitlines()
    comments = [l for l in lines if l.lstrip().startswith("#")] if first.get("cell_type") == "code" else lines
    joined = "\n".join(comments)
    numbers = re.findall(r"(?<!\d)\d{5,9}(?!\d)", joined)
    names = re.findall(r"[^\W\d_]{2,}(?:[-'][^\W\d_]+)?", joined)
    if numbers and len(names) >= 2:
        graded(1.0, f"the first cell names the team: {len(numbers)} matriculation number(s) and names in a comment")
        return
    raise Fail("the notebook does not start with a comment naming the team: the first cell must hold, as "
               "comments, the team number, the team members' names and their matriculation numbers")


def progress_runs():
    """Per-epoch training runs in the outputs: ``[(epochs seen, has validation figures)]``."""
    runs = []
    for cell in code_cells():
        out = "".join(output_text(o) for o in cell.get("outputs", []) if isinstance(o, dict))
        last = None
        for m in EPOCH.finditer(out):
            epoch = int(m.group(1))
            segment = out[m.end(): m.end() + 400]
            if last is None or epoch <= last:
                runs.append([0, False, False])
            run = runs[-1]
            run[0] += 1
            run[1] = run[1] or bool(re.search(r"acc", segment, re.IGNORECASE))
            run[2] = run[2] or bool(re.search(r"val", segment, re.IGNORECASE))
            last = epoch
    return [(n, acc and val) for n, acc, val in runs]


def test_progress(graded):
    runs = [n for n, ok in progress_runs() if ok and n >= 2]
    found = min(len(runs), 3)
    if found == 3:
        graded(1.0, f"printed per-epoch training and validation progress for {len(runs)} training runs "
                    f"({', '.join(str(n) for n in runs)} epochs)")
        return
    raise Fail(f"the notebook's outputs show per-epoch training and validation accuracy for {found} of the three "
               f"networks (a line per epoch such as 'Epoch 3/50 ... accuracy ... val_accuracy ...'); run the "
               f"notebook so that each network's training prints its progress", fraction=found / 3)


def test_plots(graded):
    plotted = 0
    for cell in code_cells():
        src = text(cell.get("source")).lower()
        if not any(word in src for word in ("acc", "history", "plot")):
            continue
        plotted += sum(1 for o in cell.get("outputs", []) if isinstance(o, dict)
                       and any(k.startswith("image/") for k in o.get("data", {})))
    found = min(plotted, 3)
    if found == 3:
        graded(1.0, f"{plotted} plot(s) of the accuracy over the epochs in the outputs")
        return
    raise Fail(f"the outputs hold {plotted} accuracy plot(s); expected a plot of training and validation "
               f"accuracy over the epochs for each of the three networks", fraction=found / 3)


def test_executed(graded):
    code = code_cells()
    errors = [(k, o) for k, c in enumerate(cells()) if c.get("cell_type") == "code"
              for o in c.get("outputs", []) if isinstance(o, dict) and o.get("output_type") == "error"]
    if errors:
        k, o = errors[0]
        raise Fail(f"the notebook has {len(errors)} error output(s), the first in cell {k + 1}: "
                   f"{o.get('ename', 'error')}: {text(o.get('evalue'))[:200]}. Fix it and run all cells again")
    with_output = sum(1 for c in code if c.get("outputs"))
    if not code or with_output == 0:
        raise Fail("the notebook has no outputs: run all cells (Restart & Run All) and save it with its outputs")
    graded(1.0, f"{with_output} of {len(code)} code cells have outputs, none is an error")
