"""Probes of the documents (runs in the sandbox): the notebook read as JSON, the theory PDF read with poppler.

Nothing of the submission is executed here; what runs under the sandbox's limits is the grader's own
parsing of untrusted files (a notebook of deeply nested JSON, a PDF whose pages take minutes) and
poppler.  ``grade`` is the grader's package, copied beside this file (the submission's own ``grade/``
folder, the handout's checks, comes later on ``sys.path``).
"""

from grade.judge import docs
from grade.pdftools import pdf_check


def notebook(ctx):
    """What grade.judge.docs observes of the notebook (its ``pdf`` entry is the next probe's)."""
    return {k: v for k, v in docs.observe(ctx.submission, lambda folder: (False, "")).items() if k != "pdf"}


def pdf(ctx):
    ok, message = pdf_check(ctx.submission, seconds=ctx.settings["docs"]["pdf_seconds"])
    return {"ok": ok, "message": message}


PROBES = [("notebook", notebook), ("pdf", pdf)]
