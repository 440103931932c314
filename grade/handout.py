"""``python -m grade.handout [--out build/handout]``: the student version of this model answer.

One source of truth: the handout is generated from the answer by the rules of the project's
conventions (nbgrader/otter style).

* A region from a line ``# BEGIN SOLUTION`` to a line ``# END SOLUTION`` (each alone on its line,
  indented like the code they enclose) becomes one line at that indentation:
  ``raise NotImplementedError("TODO")``; a region opened by ``# BEGIN SOLUTION (init)`` becomes
  ``pass  # TODO`` (inside an ``__init__``, where raising would be wrong).
* A Keras mistake written as ``# Mistake N: why`` / the template's lines commented out with one
  ``# `` each / ``# Repair N:`` / the repaired lines / ``# End of repair N.`` gets the template's
  lines back: the ``# Mistake`` line goes, the old lines are uncommented, and everything from
  ``# Repair N:`` through ``# End of repair N.`` goes (also for ``N (continued)``).
* The template's ``tf.config.run_functions_eagerly(True)`` comes back where the answer leaves
  it out (a commented-out line, or the comment paragraph that starts by naming it).
* The notebook loses its outputs, execution counts and papermill metadata; its regions are
  replaced as above.
* Only the driver files and the modules they import are copied: no tests, bench, theory,
  grade, figures or build output.
"""

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

from .runner import REPO, local_imports

TOP_FILES = ("network_scratch.py", "network_pytorch.py", "network_tensorflow.py", "utils.py", "mnist.py",
             "plots.py", "run_notebook.py")
COPY_AS_IS = ("requirements.txt", "LICENSE", ".gitignore")
NOT_IN_HANDOUT = ("scratch_engine.py",)  # the answer's fast engine: a complete forward and backward pass
NOTEBOOK = "MNIST_classification.ipynb"

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?P<init> \(init\))?[ \t]*$")
END = re.compile(r"^(?P<indent>[ \t]*)# END SOLUTION[ \t]*$")
MISTAKE = re.compile(r"^(?P<indent>[ \t]*)# Mistake (?P<n>\d+(?: \(continued\))?):")
EAGER_LINE = "tf.config.run_functions_eagerly(True)"


class HandoutError(ValueError):
    """A solution region or a mistake block that does not follow the rules (file and line named)."""


def strip_solutions(lines, where="<text>"):
    """Replace every solution region of ``lines`` (a list of lines without newlines)."""
    out, i = [], 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if END.match(lines[i]):
            raise HandoutError(f"{where}:{i + 1}: '# END SOLUTION' without a '# BEGIN SOLUTION' before it")
        if not m:
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            if BEGIN.match(lines[j]):
                raise HandoutError(f"{where}:{j + 1}: '# BEGIN SOLUTION' inside the region opened at line {i + 1}")
            j += 1
        if j == len(lines):
            raise HandoutError(f"{where}:{i + 1}: '# BEGIN SOLUTION' is never closed by '# END SOLUTION'")
        if END.match(lines[j]).group("indent") != m.group("indent"):
            raise HandoutError(f"{where}:{j + 1}: '# END SOLUTION' must be indented like its '# BEGIN SOLUTION' "
                               f"(line {i + 1})")
        out.append(m.group("indent") + ("pass  # TODO" if m.group("init") else 'raise NotImplementedError("TODO")'))
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
            raise HandoutError(f"{where}:{i + 1}: '# Mistake {n}:' needs the template's lines commented out "
                               f"(none where the repair only adds lines), then '# Repair {n}:'")
        k = j + 1
        while k < len(lines) and lines[k].rstrip() != end:
            k += 1
        if k == len(lines):
            raise HandoutError(f"{where}:{j + 1}: '# Repair {n}:' is never closed by '# End of repair {n}.'")
        out.extend(old)
        i = k + 1
    return out


def restore_eager(lines):
    """The template's ``tf.config.run_functions_eagerly(True)`` where the answer comments it out."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == f"# {EAGER_LINE}":
            return lines[:i] + [line.replace(f"# {EAGER_LINE}", EAGER_LINE)] + lines[i + 1:]
        if stripped.startswith("#") and EAGER_LINE in stripped and not line.startswith((" ", "\t")):
            j = i  # a top-level comment paragraph that names the line: the line replaces it
            while j < len(lines) and lines[j].startswith("#"):
                j += 1
            return lines[:i] + [EAGER_LINE] + lines[j:]
    return lines


def handout_source(text, where="<text>", tensorflow=False):
    lines = text.split("\n")
    lines = strip_solutions(lines, where)
    lines = restore_mistakes(lines, where)
    if tensorflow:
        lines = restore_eager(lines)
    return "\n".join(lines)


TEAM_CELL = """# Team number: ____
# Name, matriculation number
# Name, matriculation number"""


def handout_notebook(nb, where=NOTEBOOK):
    nb = json.loads(json.dumps(nb))  # a deep copy
    nb.get("metadata", {}).pop("papermill", None)
    for k, cell in enumerate(nb.get("cells", [])):
        if k == 0 and cell.get("cell_type") == "code":  # the answer's team, blanked for the students
            cell["source"] = TEAM_CELL
        meta = cell.get("metadata", {})
        for key in ("papermill", "execution"):
            meta.pop(key, None)
        if cell.get("cell_type") != "code":
            continue
        cell["outputs"] = []
        cell["execution_count"] = None
        src = cell.get("source", "")
        text = "".join(src) if isinstance(src, list) else src
        new = "\n".join(strip_solutions(text.split("\n"), f"{where} cell {k + 1}"))
        cell["source"] = new.splitlines(keepends=True) if isinstance(src, list) else new
    return nb


README = """# Problem set 1: three neural networks for MNIST (template)

Fill in every place marked `TODO` (`raise NotImplementedError("TODO")` or `pass  # TODO`) in
`network_scratch.py` and `network_pytorch.py`, repair the three mistakes of `NeuralNetworkTf`
and implement `TimeBasedLearningRate` in `network_tensorflow.py`, and complete the plots in
`MNIST_classification.ipynb`.  Put your team number, names and matriculation numbers in the
notebook's first cell, run it with its outputs, and add your theory answers as a PDF.

Set-up: `python3 -m venv .venv && .venv/bin/python -m pip install -r requirements.txt`.

(Generated from the model answer by `make handout`.)
"""


def build_handout(src=REPO, out=REPO / "build" / "handout"):
    src, out = Path(src), Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    files = set()
    for name in TOP_FILES:
        if (src / name).is_file():
            files.update(local_imports(src, name))
    for rel in sorted(files - set(NOT_IN_HANDOUT)):
        text = (src / rel).read_text(encoding="utf-8")
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(handout_source(text, rel, tensorflow=rel == "network_tensorflow.py"), encoding="utf-8")
    for name in COPY_AS_IS:
        if (src / name).is_file():
            shutil.copy2(src / name, out / name)
    if (src / NOTEBOOK).is_file():
        nb = json.loads((src / NOTEBOOK).read_text(encoding="utf-8"))
        (out / NOTEBOOK).write_text(json.dumps(handout_notebook(nb), indent=1, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    (out / "README.md").write_text(README, encoding="utf-8")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grade.handout",
                                     description="Write the student version of this model answer.")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "handout")
    args = parser.parse_args(argv)
    try:
        out = build_handout(REPO, args.out)
    except HandoutError as err:
        parser.error(str(err))
    print(f"wrote the handout to {out}: {', '.join(sorted(p.name for p in out.iterdir()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
