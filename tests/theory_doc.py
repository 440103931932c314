"""What every theory check shares: the paths, the sources, a document (`Doc`: the source, and
the PDF for the checks that read it) and small helpers for reading LaTeX.  The checks live in
tests/theory_checks_*.py and run from tests/test_theory.py."""

import functools
import importlib.util
import json
import re
import unicodedata
from pathlib import Path

import numpy as np
import pypdf
import sympy as sp


ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "theory"
TEX = THEORY / "theory.tex"
PDF = THEORY / "theory.pdf"
FIGURES = THEORY / "figures"
RUBRIC_TOML = THEORY / "rubric.toml"
RUBRIC_TEX = THEORY / "rubric.tex"
SOURCE = TEX.read_text(encoding="utf-8")
RESULTS = json.loads((FIGURES / "results.json").read_text())

x, y = sp.symbols("x y", real=True)
F11 = x**2 * y + x * y**2 - 6 * x * y
REJECTED = (AssertionError, KeyError, SyntaxError, ValueError, IndexError)  # how a check rejects a source


@functools.cache
def _module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PdfNotRead(RuntimeError):
    """A check of the source touched the PDF (not one of REJECTED: it can never pass for a rejection)."""


class Doc:
    """A theory.tex source and, for the checks of the PDF, the PDF built from it (its text read
    only when a check asks).  Without ``pdf_path`` the document is the source alone: reading
    its PDF raises :class:`PdfNotRead`.  ``pages`` (text per page) may be given instead of a
    PDF, to show that the checks of the PDF reject a wrong one."""

    def __init__(self, tex, pdf_path=None, pages=None):
        self.tex, self.pdf_path = tex, None if pdf_path is None else Path(pdf_path)
        if pages is not None:
            self.pages = pages

    @functools.cached_property
    def reader(self):
        if self.pdf_path is None:
            raise PdfNotRead("a check of the source read the PDF")
        assert self.pdf_path.is_file(), f"{self.pdf_path} is missing: run `make -C theory pdf`"
        return pypdf.PdfReader(str(self.pdf_path))

    @functools.cached_property
    def pages(self):
        return [unicodedata.normalize("NFKC", page.extract_text()) for page in self.reader.pages]


SOURCE_DOC = Doc(SOURCE)    # what the checks of the source read
PDF_DOC = Doc(SOURCE, PDF)  # what the checks of the PDF read


@functools.lru_cache(maxsize=64)
def _flat(text):
    return re.sub(r"\s+", " ", text)


@functools.lru_cache(maxsize=16)
def _body(tex):
    """The document body without comments."""
    body = tex[tex.index(r"\begin{document}"):]
    return re.sub(r"(?<!\\)%.*", "", body)


def _section(tex, start, end):
    """The source between two markers (e.g. ``\\subsection{Optimization}``)."""
    i = tex.index(start)
    return tex[i:tex.index(end, i)]


def statements_hold(doc, statements):
    """Each statement ``(regex, test)`` or ``(regex, "tex", test)`` is found in the flattened
    body (comments removed) and its test holds for the match (and the source, if asked)."""
    flat = _flat(_body(doc.tex))
    for pattern, *needs, holds in statements:
        m = re.search(pattern, flat)
        assert m, f"theory.tex no longer says: {pattern[:90]!r}"
        key = (pattern, m.group(0), doc.tex if needs else None)  # the same sentence: the same verdict
        if key not in _VERDICTS:
            try:
                _VERDICTS[key] = bool(holds(m, doc.tex) if needs else holds(m))
            except REJECTED:
                raise
            except Exception as error:  # noqa: BLE001 (fail closed: a statement that cannot be read is rejected)
                raise AssertionError(f"cannot read the statement {m.group(0)!r}: {error!r}") from error
        assert _VERDICTS[key], f"the statement is false: {m.group(0)!r}"


_VERDICTS = {}


def _points(seed, n=6):
    return np.random.default_rng(seed).uniform(-4, 4, size=(n, 2))


def _math_items(text, var):
    """The right-hand sides of every ``$var = ...$`` in ``text``."""
    return re.findall(rf"\${re.escape(var)} = ([^$]+)\$", text)


def _chosen(r):
    """The position of the chosen number of hidden units in the complexity sweep."""
    cx = r["complexity"]
    return cx["hidden_units"].index(cx["chosen_hidden"])
