"""``python -m grade.handout [--out build/handout]``: the course template, generated from this answer.

One source makes both (as nbgrader's and otter's ``# BEGIN SOLUTION`` regions do): the
handout is this answer with everything that is not the template's taken out, by four rules.

* A **solution region**, from a line ``# BEGIN SOLUTION`` to a line ``# END SOLUTION`` (each
  alone on its line, indented like the code it encloses), is the students' part.  It becomes
  its ``# TEMPLATE: <line>`` lines (the template's own lines that the answer replaced, e.g. the
  loss the students must change) or, without such lines, a TODO stub at its indentation:
  ``raise NotImplementedError("TODO: <method>")``, or ``pass  # TODO`` for a region opened by
  ``# BEGIN SOLUTION (init)`` (inside an ``__init__``, where raising would be wrong).
* An **answer-only region**, ``# BEGIN ANSWER ONLY`` ... ``# END ANSWER ONLY``, is this
  answer's own addition (argument checks, opt-in speed options, explanations): it becomes its
  ``# TEMPLATE:`` lines, if any, else nothing.
* A **Keras mistake** written as ``# Mistake N: why`` / the template's lines commented out with
  one ``# `` each / ``# Repair N:`` / the repaired lines / ``# End of repair N.`` gets the
  template's lines back (also for ``N (continued)``).
* In the notebook, cells tagged ``answer-only`` go, the cell tagged ``team`` becomes a blank
  team comment, code cells lose their outputs and go through the rules above.

Only the template's files and the modules they import are written, with the template's
README, requirements and .gitignore (``grade/handout_files/``), and the students' own
checks (``check.py``, the public part of grade/, GitHub Classroom's workflow:
grade/handout_checks.py): no tests,
bench, theory, figures, nor any of the grader that would give answers away.
"""

import argparse
import ast
import json
import re
import shutil
import sys
from pathlib import Path

from . import handout_checks
from .handout_checks import check_cell
from .items import TableError, check_placement, registry
from .parts import NOTEBOOK, PARTS

REPO = Path(__file__).resolve().parents[1]
CHECK_AFTER = {p.check_after: p.name for p in PARTS if p.check_after}  # the notebook's sections and their parts
TEMPLATE_FILES = (*(p.main_file for p in PARTS if not p.documents), "utils.py")
COPY_AS_IS = ("LICENSE",)
HANDOUT_FILES = Path(__file__).resolve().parent / "handout_files"  # the handout's own README.md, requirements.txt...
HANDOUT_NAMES = {"gitignore": ".gitignore"}  # ... and .gitignore, kept here without its dot (not this repository's)

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN (?P<kind>SOLUTION|ANSWER ONLY)(?P<init> \(init\))?[ \t]*$")
END = re.compile(r"^(?P<indent>[ \t]*)# END (?P<kind>SOLUTION|ANSWER ONLY)[ \t]*$")
TEMPLATE_LINE = re.compile(r"^(?P<indent>[ \t]*)# TEMPLATE: (?P<code>.*)$")
MISTAKE = re.compile(r"^(?P<indent>[ \t]*)# Mistake (?P<n>\d+(?: \(continued\))?):")
DEF = re.compile(r"^(?P<indent>[ \t]*)def (?P<name>\w+)\(")


class HandoutError(ValueError):
    """A region or a mistake block that does not follow the rules (file and line named)."""


def _enclosing_function(lines, i, indent):
    """The name of the ``def`` that line ``i`` (indented by ``indent``) sits in, or None."""
    for line in reversed(lines[:i]):
        m = DEF.match(line)
        if m and len(m.group("indent")) < len(indent):
            return m.group("name")
    return None


def strip_regions(lines, where="<text>"):
    """Replace every solution and answer-only region of ``lines`` (lines without newlines)."""
    out, i = [], 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if END.match(lines[i]):
            raise HandoutError(f"{where}:{i + 1}: '{lines[i].strip()}' without a '# BEGIN' before it")
        if not m:
            out.append(lines[i])
            i += 1
            continue
        kind, indent = m.group("kind"), m.group("indent")
        j, template = i + 1, []
        while j < len(lines) and not END.match(lines[j]):
            if BEGIN.match(lines[j]):
                raise HandoutError(f"{where}:{j + 1}: '# BEGIN ...' inside the region opened at line {i + 1}")
            t = TEMPLATE_LINE.match(lines[j])
            if t and t.group("indent") == indent:
                template.append(indent + t.group("code"))
            j += 1
        if j == len(lines):
            raise HandoutError(f"{where}:{i + 1}: '# BEGIN {kind}' is never closed by '# END {kind}'")
        end = END.match(lines[j])
        if end.group("kind") != kind or end.group("indent") != indent:
            raise HandoutError(f"{where}:{j + 1}: '{lines[j].strip()}' must close '# BEGIN {kind}' (line {i + 1}) "
                               f"with the same words and indentation")
        if template or kind == "ANSWER ONLY":
            out.extend(template)
        elif m.group("init"):
            out.append(indent + "pass  # TODO")
        else:
            name = _enclosing_function(lines, i, indent)
            out.append(indent + f'raise NotImplementedError("TODO{": " + name if name else ""}")')
        i = j + 1
    return out


def restore_mistakes(lines, where="<text>"):
    """Give back the template's mistaken lines (see the module docstring)."""
    out, i = [], 0
    while i < len(lines):
        m = MISTAKE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, n = m.group("indent"), m.group("n")
        repair, end = f"{indent}# Repair {n}:", f"{indent}# End of repair {n}."
        j = i + 1
        old = []
        while j < len(lines) and lines[j].rstrip() != repair:
            if not lines[j].startswith(indent + "# "):
                raise HandoutError(f"{where}:{j + 1}: after '# Mistake {n}:' (line {i + 1}) every line up to "
                                   f"'# Repair {n}:' must be a template line commented out with '# '")
            old.append(indent + lines[j][len(indent) + 2:])
            j += 1
        if j == len(lines):
            raise HandoutError(f"{where}:{i + 1}: '# Mistake {n}:' needs the template's lines commented out, "
                               f"then '# Repair {n}:'")
        k = j + 1
        while k < len(lines) and lines[k].rstrip() != end:
            k += 1
        if k == len(lines):
            raise HandoutError(f"{where}:{j + 1}: '# Repair {n}:' is never closed by '# End of repair {n}.'")
        out.extend(old)
        i = k + 1
    return out


def _tidy(lines):
    """No run of more than two blank lines, no leading blank lines (left where regions went)."""
    out = []
    for line in lines:
        if not line.strip() and (not out or (len(out) >= 2 and not out[-1].strip() and not out[-2].strip())):
            continue
        out.append(line.rstrip() if not line.strip() else line)
    return out


def handout_source(text, where="<text>"):
    lines = restore_mistakes(strip_regions(text.split("\n"), where), where)
    return "\n".join(_tidy(lines))


TEAM_CELL = """# Team number: ____
# Name, matriculation number
# Name, matriculation number"""


def handout_notebook(nb, where=NOTEBOOK):
    nb = json.loads(json.dumps(nb))  # a deep copy
    nb.get("metadata", {}).pop("papermill", None)
    cells, section = [], None
    for k, cell in enumerate(nb.get("cells", [])):
        meta = cell.get("metadata", {})
        tags = meta.get("tags", [])
        if "answer-only" in tags:
            continue
        for key in ("papermill", "execution"):
            meta.pop(key, None)
        if "team" in tags:
            cell["source"] = TEAM_CELL
        elif cell.get("cell_type") == "code":
            src = cell.get("source", "")
            text = "".join(src) if isinstance(src, list) else src
            cell["source"] = handout_source(text, f"{where} cell {k + 1}").strip("\n")
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cells.append(cell)
        text = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "code" and "TODO: plot accuracy" in text and section in CHECK_AFTER:
            cells.append(check_cell(CHECK_AFTER[section]))  # after each section, as otter's grader.check
        if cell.get("cell_type") == "markdown" and text.lstrip().startswith("# "):
            section = text.lstrip()[2:4]
    cells += [{"cell_type": "markdown", "id": "before-you-submit", "metadata": {}, "source": "## Before you submit\nSave the notebook with its "
               "outputs, then check the team details, the printed progress, the plots and your theory PDF:"},
              *(check_cell(p.name) for p in PARTS if not p.check_after)]
    nb["cells"] = cells
    return nb


def _local_modules(code, src):
    """The ``.py`` files of ``src`` that ``code`` imports (at any depth of the code, by top-level name)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return sorted(f"{n}.py" for n in names if (Path(src) / f"{n}.py").is_file())


def build_handout(src=REPO, out=REPO / "build" / "handout"):
    """Write the handout of the answer in ``src`` to ``out`` (replaced if it exists); returns ``out``.  Refused before
    anything is written (grade.items.TableError) where a judge sits in the wrong module: the students' checks
    would break or give a hidden item away."""
    check_placement(registry()[0])
    src, out = Path(src), Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    queue = list(TEMPLATE_FILES)
    if (src / NOTEBOOK).is_file():
        nb = handout_notebook(json.loads((src / NOTEBOOK).read_text(encoding="utf-8")))
        (out / NOTEBOOK).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        queue += _local_modules("\n".join(c["source"] for c in nb["cells"] if c["cell_type"] == "code"), src)
    written = set()
    while queue:  # the template's files and the modules the handout's own code imports
        rel = queue.pop(0)
        if rel in written or not (src / rel).is_file():
            continue
        text = handout_source((src / rel).read_text(encoding="utf-8"), rel)
        (out / rel).write_text(text, encoding="utf-8")
        written.add(rel)
        queue += _local_modules(text, src)
    for name in COPY_AS_IS:
        if (src / name).is_file():
            shutil.copy2(src / name, out / name)
    handout_checks.write(out, src)
    for own in HANDOUT_FILES.iterdir():
        shutil.copy2(own, out / HANDOUT_NAMES.get(own.name, own.name))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grade.handout",
                                     description="Write the course template (the student version) of this answer.")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "handout")
    args = parser.parse_args(argv)
    try:
        out = build_handout(REPO, args.out)
    except (HandoutError, TableError) as err:
        parser.error(str(err))
    print(f"wrote the handout to {out}: {', '.join(sorted(p.name for p in out.iterdir()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
