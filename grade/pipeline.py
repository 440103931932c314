"""One pipeline for the grader (``make grade``) and the students' ``check.py``: inputs, probes, observations, verdicts.

    ctx = Context(workdir, data_path, seed, expected)    # the inputs, settings and right answers of a run
    obs, result, missing = observe(part, ctx, run)      # the part's probes, run by ``run``; what they sent
    judge_part(part.name, obs, items, judgement, hidden) # grade/observations.py: the verdicts

The two differ only in ``run`` (the grader: a bubblewrap sandbox on a staged copy, grade/runner.py;
check.py: a plain subprocess on the student's own folder, grade/public.py), in the seed of the inputs
and where the right answers come from (grade/reference.py, or the handout's ``expected.npz``), and in
whether the hidden judges and diagnoses load.  The probes run from a copy of grade/observe/ with the
public package beside it (:func:`copy_probes`), the same files the handout ships (:func:`public_files`).
"""

import ast
import json
import secrets
import shutil
from pathlib import Path

import numpy as np

from . import data as graderdata
from .judge.common import Observations, criterion_holds, right_counts
from .observations import Reader
from .parts import PARTS, hidden_modules

GRADE = Path(__file__).resolve().parent
INIT = '''"""The public checks of problem set 1 (generated from the teaching assistant's grader): run ``python check.py``."""
'''


class ShippingError(ValueError):
    """A module the students' checks need would give answers away (it imports a hidden one)."""


def _optional(node):
    """Is ``node`` a ``try`` whose imports are optional (it catches ImportError)?"""
    names = {getattr(h.type, "id", None) for h in getattr(node, "handlers", [])}
    names |= {getattr(e, "id", None) for h in getattr(node, "handlers", []) if isinstance(h.type, ast.Tuple)
              for e in h.type.elts}
    return isinstance(node, ast.Try) and bool(names & {"ImportError", "ModuleNotFoundError"})


def _imports(node):
    """The import statements of ``node``, leaving out the bodies of optional imports."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        for grandchild in ([*child.handlers, *child.orelse, *child.finalbody] if _optional(child) else [child]):
            yield from _imports(grandchild)


def _module_files(root, parts):
    """The files of grade/ that importing the module ``parts`` (relative to grade/) runs."""
    out = [f"{'/'.join(parts[:k])}/__init__.py" for k in range(1, len(parts))]
    out += [f"{'/'.join(parts)}.py", f"{'/'.join(parts)}/__init__.py"] if parts else []
    return [rel for rel in out if (root / rel).is_file()]


def _dependencies(root, rel):
    """The files of grade/ that the module ``rel`` imports (relative imports, ``grade.*``, and the probes' harness)."""
    here = list(Path(rel).parent.parts)
    for node in _imports(ast.parse((root / rel).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[:len(here) - node.level + 1] + (node.module.split(".") if node.module else [])
            for target in [base] + [base + [a.name] for a in node.names]:
                yield from _module_files(root, target)
            continue
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for top, *rest in (name.split(".") for name in names):
            if top == "grade" and rest:
                yield from _module_files(root, rest)
            elif rel.startswith("observe/") and (root / "observe" / f"{top}.py").is_file():
                yield f"observe/{top}.py"  # the probes import the harness beside them


def public_files(root=GRADE):
    """grade/'s files that the students' checks run (check.py's grade/public.py, the harness, every part's probes and
    public judges) and every module of grade/ they import, in order; raises :class:`ShippingError` when one of
    them is a hidden judge, a diagnosis or the references (grade/parts.py).  An import inside ``try`` ... ``except
    ImportError`` is optional (used where the file is there) and not followed."""
    root = Path(root)
    todo = ["public.py", "observe/harness.py", *(f"observe/{p.probes}.py" for p in PARTS),
            *(f"judge/{m}.py" for p in PARTS for m in p.judges)]
    seen, via = [], {}
    while todo:
        rel = todo.pop(0)
        if rel in seen or rel == "__init__.py":  # the package's own __init__ is the handout's INIT
            continue
        seen.append(rel)
        for dep in _dependencies(root, rel):
            via.setdefault(dep, rel)
            todo.append(dep)
    hidden = [f"grade/{via[rel]} imports grade/{rel}" for rel in seen if rel in hidden_modules()]
    if hidden:
        raise ShippingError(f"the students' checks would ship what gives answers away: {'; '.join(hidden)} (the "
                            f"hidden judges, the diagnoses and the references stay with the teaching assistant)")
    return sorted(seen)


def copy_probes(dest, root=GRADE):
    """grade/observe/ into ``dest``, and the public package beside the probes as ``dest/grade`` (the documents'
    probes read with it): what the harness runs, for the grader and for check.py alike."""
    dest = Path(dest)
    shutil.copytree(root / "observe", dest, ignore=shutil.ignore_patterns("__pycache__"))
    for rel in public_files(root):
        (dest / "grade" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / rel, dest / "grade" / rel)
    (dest / "grade" / "__init__.py").write_text(INIT, encoding="utf-8")
    return dest


class Context:
    """What every part of a run shares: the inputs and settings files (read-only for the probes), what a right
    answer gives (``expected``, with the held-out digits' labels, which only this process has), the probes' code.

    ``data_path``: the learning digits (grade/data.py); ``seed``: of the inputs; ``expected(inputs)``: the arrays
    a right answer gives for them; ``probe_seconds``: other time limits per probe.  The names of the arrays are
    held to grade/data.py's lists (an unknown or a missing one stops the run)."""

    def __init__(self, workdir, data_path, seed, expected, probe_seconds=None):
        self.workdir = Path(workdir)
        data = graderdata.load_data(data_path)
        self.data_hash = graderdata.file_hash(data_path)
        self.inputs = graderdata.checked(graderdata.make_inputs(data, seed=seed), graderdata.INPUTS,
                                         "grade/data.py's make_inputs")
        self.settings = graderdata.settings()
        self.settings["probe_seconds"].update(probe_seconds or {})
        self.expected = graderdata.checked({**expected(self.inputs), "learns.labels": data["y_held"]},
                                           graderdata.EXPECTED, "what a right answer gives (grade/reference.py, or "
                                           "the handout's grade/expected.npz)")
        self.inputs_file, self.settings_file = self.workdir / "inputs.npz", self.workdir / "settings.json"
        probe_inputs = {k: v for k, v in self.expected.items() if k.startswith("probe.")}
        np.savez(self.inputs_file, **self.inputs, **probe_inputs)
        self.settings_file.write_text(json.dumps(self.settings))
        self.code = copy_probes(self.workdir / "observe")

    def stop(self, predictions):
        """A learning probe's answer after an epoch: stop once the criterion holds on the held-out digits."""
        labels = self.expected["learns.labels"]
        return criterion_holds(right_counts(predictions, labels), len(labels))


def stopped(result, part):
    """Why probes of ``part`` sent no record: a limit of the run, or its abrupt end."""
    tail = " ".join(result.output[-300:].split())
    if result.killed_reason:
        limit = "time" if result.killed_reason == "timeout" else result.killed_reason
        return f"the {part} part was stopped ({result.killed_reason}: its {limit} limit) before this check ran; its " \
               f"last output: {tail}"
    return f"the process running the {part} part ended (exit status {result.returncode}) before this check ran; " \
           f"its last output: {tail}"


def observe(part, ctx, run):
    """``part``'s probes (a grade/parts.py record) run by ``run(args, stdin=, on_message=, seconds=)``, which starts
    ``ctx.code``/harness.py with ``args`` on the submission and returns a grade/supervise.py Result.

    Returns ``(Observations, result, missing)``: a probe that sent no record (``missing``) has an error saying why."""
    names = part.probe_names()
    secret = secrets.token_bytes(32)
    reader = Reader(secret, names, stop=ctx.stop,
                    max_epochs=ctx.settings["learns"].get(part.name, {}).get("epoch_lines", 0))
    args = [part.probes, "--inputs", str(ctx.inputs_file), "--settings", str(ctx.settings_file)]
    result = run(args, stdin=secret.hex().encode() + b"\n", on_message=reader.feed,
                 seconds=part.wall_seconds(ctx.settings["probe_seconds"]))
    records, arrays, epochs = reader.observations()
    missing = [p for p in names if p not in records]
    for p in missing:
        records[p] = {"probe": p, "values": None, "error": {"what": p, "type": "not_run", "where": "",
                                                            "message": stopped(result, part.name)}}
    return Observations(records, arrays, ctx.inputs, ctx.settings, expected=ctx.expected, epochs=epochs), result, \
        missing
