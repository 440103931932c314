"""The documents part's observations of a folder, made in the test's process as grade/observe/docs.py makes them in
the sandbox (the notebook read as data; the PDF's verdict given), for the docs judges' fast tests."""

from pathlib import Path

from grade.judge.common import Observations
from grade.judge.notebook import read_notebook


def records(notebook, pdf=(True, "a PDF")):
    """The two probes' records: ``notebook`` as read_notebook gives it, ``pdf`` as ``(ok, message)``."""
    ok, message = pdf
    return {"notebook": {"probe": "notebook", "values": notebook, "error": None},
            "pdf": {"probe": "pdf", "values": {"ok": ok, "message": message}, "error": None}}


def observed(folder, pdf=(True, "a PDF")):
    return Observations(records(read_notebook(Path(folder).resolve()), pdf), {}, {}, {})
