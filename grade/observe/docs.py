"""Probes of the documents (runs in the sandbox): the notebook read as JSON, the theory PDF read with poppler.

Nothing of the submission is executed here; what runs under the sandbox's limits is the grader's own
parsing of untrusted files (a notebook of deeply nested JSON, a PDF whose pages take minutes) and
poppler.  ``grade`` is the grader's public package, copied beside this file (grade/pipeline.py's
copy_probes; the submission's own ``grade/`` folder, the handout's checks, comes later on ``sys.path``).
"""

from grade.judge.notebook import read_notebook
from grade.pdftools import ToolMissing, pdf_check

from harness import ProbeError


def notebook(ctx):
    """What grade/judge/docs.py reads of the notebook: its cells and outputs, or why it cannot be read."""
    return read_notebook(ctx.submission)


def pdf(ctx):
    try:
        ok, message = pdf_check(ctx.submission, seconds=ctx.settings["docs"]["pdf_seconds"])
    except ToolMissing as err:  # the machine's fault, not the team's
        raise ProbeError("pdf", "tool_missing", str(err)) from None
    return {"ok": ok, "message": message}


PROBES = [("notebook", notebook), ("pdf", pdf)]
