"""What the grader's end-to-end tests share: a folder's files and digest, the points an item lost, the processes
still running with a mark in their command line."""

import hashlib
from pathlib import Path


def tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def digest(*folders):
    h = hashlib.sha256()
    for folder in folders:
        for name, data in tree(folder).items():
            if "__pycache__" not in name:
                h.update(name.encode() + data)
    return h.hexdigest()


def lost(r):
    return {i: (v["points"], v["message"]) for i, v in r.items.items() if v["points"] != v["max"]}


def processes_with(mark):
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if mark in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(proc.name)
        except OSError:
            pass
    return found
