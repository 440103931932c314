"""What of a submission each part gets: the files it may read, their digest (the cache key), their copy.

    scan(folder) -> (files, refused, outside); plan(folder, part, scanned=None) -> Plan   (part: grade/parts.py)
    Plan.files {rel: source}, Plan.links {rel: target}, Plan.notes [str], Plan.digest(), Plan.copy(dst), Plan.text(rel)

A submission is read as untrusted: links are resolved (a link inside the submission stands for its
target's content; one leading outside is never followed: the docs part sees it as the dangling
link it is, the code parts not at all), special files (named pipes, devices, sockets) are never
opened, files above ``MAX_FILE`` and anything past ``MAX_FILES`` or ``MAX_TOTAL`` are left out,
each with a note saying why.  Hidden folders and environments (``IGNORE``) are not submissions.

A code part (scratch, torch, keras) gets every file except those only another part reads (the other
network modules and the local modules they import, the notebook, the PDFs); the documents part gets
the notebook and at most ``MAX_PDFS`` PDFs, the theory PDF by name first.  The digest covers exactly what
a part gets, so a cached verdict is one of the same files.
"""

import ast
import hashlib
import os
import stat
from pathlib import Path

from .parts import NOTEBOOK, PARTS
from .pdftools import name_score

IGNORE = {"venv", "__pycache__", "build", "node_modules", "site-packages"}  # and every hidden folder
MAX_FILE, MAX_TOTAL, MAX_FILES, MAX_PDFS = 50 * 2**20, 200 * 2**20, 2000, 3
KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
         (stat.S_ISSOCK, "a socket"))


def read(path, cap=MAX_FILE):
    """The bytes of a regular file, never following a link nor opening a pipe or device (OSError otherwise)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path}: not a regular file")
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > cap:
            raise OSError(f"{path}: larger than {cap // 2**20} MB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _special(mode):
    return next((what for test, what in KINDS if test(mode)), "not a regular file")


def scan(folder):
    """``(files {rel: source path}, refused {rel: why}, outside {rel: link target})`` of a submission folder."""
    root = Path(folder).resolve()
    files, refused, outside, total, stack = {}, {}, {}, 0, [root]
    while stack:
        here = stack.pop()
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as err:
            refused[str(here.relative_to(root))] = f"cannot be listed ({err.strerror})"
            continue
        for e in entries:
            rel = str(Path(e.path).relative_to(root))
            if len(files) + len(refused) >= MAX_FILES:
                refused["..."] = f"more than {MAX_FILES} files: the rest is not read"
                return files, refused, outside
            try:
                if e.is_symlink():
                    target = os.path.realpath(e.path)
                    if not Path(target).is_relative_to(root):
                        outside[rel] = target
                        refused[rel] = f"a link to {os.readlink(e.path)}, outside the submission: not read"
                        continue
                    mode, source = os.stat(target).st_mode, Path(target)
                else:
                    mode, source = e.stat(follow_symlinks=False).st_mode, Path(e.path)
                if stat.S_ISDIR(mode):
                    if not e.is_symlink() and not e.name.startswith(".") and e.name not in IGNORE:
                        stack.append(Path(e.path))
                    elif e.is_symlink():
                        refused[rel] = "a link to a folder: not read"
                    continue
                if not stat.S_ISREG(mode):
                    refused[rel] = f"{_special(mode)}, not a regular file: not read"
                    continue
                size = source.stat().st_size
            except OSError as err:
                refused[rel] = f"cannot be read ({err.strerror or err})"
                continue
            if size > MAX_FILE:
                refused[rel] = f"{size / 2**20:.0f} MB, larger than the {MAX_FILE // 2**20} MB a file may have: " \
                               f"not read"
            elif total + size > MAX_TOTAL:
                refused[rel] = f"past the {MAX_TOTAL // 2**20} MB the grader reads of a submission: not read"
            else:
                files[rel], total = source, total + size
    return files, refused, outside


def closure(files, refused, main):
    """``main`` and the submission's own modules it imports (transitively); the refused files among them."""
    seen, wanted, todo = set(), set(), [main]
    while todo:
        rel = todo.pop()
        if rel in refused:
            wanted.add(rel)
        if rel in seen or rel not in files:
            continue
        seen.add(rel)
        if not rel.endswith(".py"):
            continue
        try:
            tree = ast.parse(read(files[rel]))
            nodes = list(ast.walk(tree))
        except Exception:  # noqa: BLE001 -- SyntaxError, RecursionError, ...: the part will say so when it imports it
            continue
        for node in nodes:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for top in (name.split(".")[0] for name in names):
                todo.append(f"{top}.py")
                todo += [r for r in files if r.startswith(f"{top}/") and f"{top}/__init__.py" in files]
    return seen, wanted


class Plan:
    """The files one part of one submission gets (see the module's docstring)."""

    def __init__(self, part, files, links, notes):
        self.part, self.files, self.links, self.notes = part, files, links, notes
        self._digests = {rel: hashlib.sha256(read(src)).hexdigest() for rel, src in sorted(files.items())}

    def digest(self):
        return {"files": self._digests, "links": self.links, "notes": self.notes}

    def text(self, rel):
        return read(self.files[rel]).decode("utf-8", "replace") if rel in self.files else ""

    def copy(self, dst):
        """The files into ``dst``; an OSError names the submission's file it happened with."""
        dst = Path(dst)
        dst.mkdir(parents=True, exist_ok=True)
        for rel, src in self.files.items():
            try:
                (dst / rel).parent.mkdir(parents=True, exist_ok=True)
                (dst / rel).write_bytes(read(src))
            except OSError as err:
                raise OSError(err.errno, err.strerror or str(err), rel) from err
        for rel, target in self.links.items():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, dst / rel)


def _pdfs(names):
    pdfs = [r for r in names if r.lower().endswith(".pdf")]
    return sorted(pdfs, key=lambda r: (-name_score(r), len(Path(r).parts), r))


def plan(folder, part, scanned=None):
    """The :class:`Plan` of ``part`` (a grade/parts.py record) for the submission in ``folder`` (``scanned``: its
    :func:`scan`, if made already)."""
    files, refused, outside = scanned or scan(folder)
    if part.documents:
        pdfs = _pdfs(files)
        chosen = [r for r in (NOTEBOOK, *pdfs[:MAX_PDFS]) if r in files]
        links = {r: t for r, t in outside.items() if r == NOTEBOOK or r.lower().endswith(".pdf")}
        notes = [f"{r}: {why}" for r, why in refused.items()
                 if (r == NOTEBOOK or r.lower().endswith(".pdf")) and r not in links]
        if len(pdfs) > MAX_PDFS:
            notes.append(f"{len(pdfs) - MAX_PDFS} more PDF(s) not read: the grader reads at most {MAX_PDFS} (theory "
                         f"PDFs by name first): {', '.join(pdfs[:MAX_PDFS])}")
        return Plan(part.name, {r: files[r] for r in chosen}, links, notes)
    own, wanted = closure(files, refused, part.main_file)
    code = [p for p in PARTS if not p.documents and p != part]
    others = set().union(*(closure(files, refused, p.main_file)[0] for p in code))
    docs = {NOTEBOOK, *_pdfs(files)}
    chosen = sorted((set(files) - others - docs) | own)
    notes = [f"{r}: {refused[r]}" for r in sorted(wanted)]
    return Plan(part.name, {r: files[r] for r in chosen}, {}, notes)
