"""What passes between the grader and the teaching assistant's files: safe cells, safe text, clear errors.

Text a submission controls (folder and file names, error names, messages, printed output) ends
up in the CSV files a TA opens in a spreadsheet and in the Markdown reports a team reads:

* :func:`csv_cell` writes a cell so that no spreadsheet evaluates it (OWASP's CSV-injection
  guidance: text beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
  leading single quote, as does text beginning with a quote, so that :func:`read_cell` gives the
  value back); numbers stay numbers.  :func:`write_csv` is the one CSV writer.
* :func:`md_text` makes a text one inline run of plain Markdown: no line ending of any kind
  (Python's ``str.splitlines`` set, a superset of CommonMark's), no HTML, no emphasis, code,
  links, table pipes or math, and at most ``limit`` characters.
"""

import csv
import math
import re
from pathlib import Path

COLLECTED = "collected.csv"  # python -m grade.collect's record, beside the submission folders


class InputError(ValueError):
    """A TA's file or option that does not fit the grades (file, entry and reason named)."""


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(value):
    """One CSV cell: a number as a number, None as empty, text that a spreadsheet would read as a formula as text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("a CSV cell is a number or text, not true/false")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"a CSV cell must be a finite number; received {value!r}")
        return f"{value:.10g}"
    text = str(value)
    return "'" + text if text.lstrip(" \u00a0").startswith(FORMULA_START) or text.startswith("'") else text


def read_cell(text):
    """The value :func:`csv_cell` wrote as text (for the grader's own CSV files that it reads back)."""
    return text[1:] if text.startswith("'") else text


def submission_folders(paths):
    """The submission folders among ``paths``: grade.collect's record beside them is not one (``submissions/*``
    names it too)."""
    return [p for p in paths if not (Path(p).name == COLLECTED and Path(p).is_file())]


def write_csv(path, header, rows):
    """Write ``header`` and ``rows`` (lists of numbers, texts or None) to ``path``, every cell through csv_cell."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        for row in [header, *rows]:
            w.writerow([csv_cell(v) for v in row])


MD_ESCAPE = re.compile(r"([\\`*_\[\]|~!$#])")
MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _plain(char):
    """A space for every line ending and control or format character (bidi overrides, zero-width joiners...)."""
    if char.isprintable() or char == " ":
        return char
    return " "


def md_text(text, limit=1000):
    """``text`` as one line of plain Markdown text (safe inside a table cell), at most ``limit`` characters of it."""
    text = str(text)
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    text = "".join(map(_plain, text))
    text = "".join(MD_ENTITIES.get(c, c) for c in text)
    return MD_ESCAPE.sub(r"\\\1", text)

