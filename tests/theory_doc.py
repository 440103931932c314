"""What every theory check shares: the paths, the sources, a built document (`Doc`) and
small helpers for reading LaTeX.  The checks live in tests/theory_checks_*.py and run from
tests/test_theory.py."""

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
LATEX_PACKAGES = "texlive-latex-recommended texlive-latex-extra latexmk"

x, y = sp.symbols("x y", real=True)
F11 = x**2 * y + x * y**2 - 6 * x * y
REJECTED = (AssertionError, KeyError, SyntaxError, ValueError, IndexError)  # how a check rejects a source


@functools.cache
def _module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Doc:
    """A theory.tex source and the PDF built from it (its text read only when a check asks)."""

    def __init__(self, tex, pdf_path):
        self.tex, self.pdf_path = tex, Path(pdf_path)

    @functools.cached_property
    def reader(self):
        assert self.pdf_path.is_file(), f"{self.pdf_path} is missing: run `make theory`"
        return pypdf.PdfReader(str(self.pdf_path))

    @functools.cached_property
    def pages(self):
        return [unicodedata.normalize("NFKC", page.extract_text()) for page in self.reader.pages]


DOC = Doc(SOURCE, PDF)


def _flat(text):
    return re.sub(r"\s+", " ", text)


def _body(tex):
    """The document body without comments."""
    body = tex[tex.index(r"\begin{document}"):]
    return re.sub(r"(?<!\\)%.*", "", body)


def _section(tex, start, end):
    """The source between two markers (e.g. ``\\subsection{Optimization}``)."""
    i = tex.index(start)
    return tex[i:tex.index(end, i)]


def _points(seed, n=6):
    return np.random.default_rng(seed).uniform(-4, 4, size=(n, 2))


def _math_items(text, var):
    """The right-hand sides of every ``$var = ...$`` in ``text``."""
    return re.findall(rf"\${re.escape(var)} = ([^$]+)\$", text)


def _chosen(r):
    """The position of the chosen number of hidden units in the complexity sweep."""
    cx = r["complexity"]
    return cx["hidden_units"].index(cx["chosen_hidden"])
