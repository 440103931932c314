"""What the students get of grade/: the files their ``check.py`` runs, derived from grade/parts.py, never a hidden one.

:func:`public_files` starts from check.py's module (grade/public.py), the harness, every part's probes
and public judges, and follows their imports within grade/; the handout ships exactly these
(grade/handout_checks.py), and every run of the probes has them beside it (:func:`copy_probes`: the
documents' probes read with them).  Should the closure reach a hidden judge, a diagnosis or the
references (grade/parts.py), it is refused: they would give answers away.
"""

import ast
import shutil
from pathlib import Path

from .parts import PARTS, hidden_modules

GRADE = Path(__file__).resolve().parent
INIT = '''"""The public checks of problem set 1 (generated from the teaching assistant's grader): run ``python check.py``."""
'''


class ShippingError(ValueError):
    """A module the students' checks need would give answers away (it imports a hidden one)."""


def _optional(node):
    """Is ``node`` a ``try`` whose imports are optional (it catches ImportError)?"""
    caught = {n.id for h in getattr(node, "handlers", []) if h.type for n in ast.walk(h.type) if isinstance(n, ast.Name)}
    return isinstance(node, ast.Try) and bool(caught & {"ImportError", "ModuleNotFoundError"})


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
