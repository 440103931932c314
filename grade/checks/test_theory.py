"""Item theory.pdf: the written answers are there as a PDF."""

from pathlib import Path

from conftest import SUBMISSION, Fail

SKIP = {".git", ".venv", "venv", "__pycache__", "build", ".ipynb_checkpoints", "node_modules"}


def test_pdf(graded):
    found = []
    for path in sorted(SUBMISSION.rglob("*.pdf")):
        rel = path.relative_to(SUBMISSION)
        if any(p.startswith(".") or p in SKIP for p in rel.parts[:-1]) or not path.is_file():
            continue
        with open(path, "rb") as fh:
            if fh.read(5) == b"%PDF-":
                found.append(str(rel))
    if found:
        graded(1.0, f"theory PDF found: {', '.join(found[:3])}{' ...' if len(found) > 3 else ''}")
        return
    raise Fail("no PDF with the answers to the theoretical part was found in the submission")
