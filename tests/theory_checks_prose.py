"""Theory checks of the prose: every number in the text against results.json and every
mathematical statement outside the marked blocks against its own check."""

import math
import re

import sympy as sp

from theory_tex import block, expression
from theory_checks_calculus import _value
from theory_checks_sketches import _results_tex_macros
from theory_doc import F11, RESULTS, _body, _chosen, _flat, x, y


# --------------------------------------------------------------------------- every number in the text
def _se_points(p, n):
    return 100 * math.sqrt(p * (1 - p) / n)


# Each literal number written in the prose (outside math, marked blocks and commands), found
# by its context (group "n" is the number), and what it must be.
TEXT_NUMBERS = [
    (r"Equations \((?P<n>2)\)--\((?P<m>4)\) of the problem", lambda m: (m["n"], m["m"]) == ("2", "4")),
    (r"A random class is wrong (?P<n>\d+) times in (?P<m>\d+)",
     lambda m: (int(m["n"]), int(m["m"])) == (RESULTS["n_classes"] - 1, RESULTS["n_classes"])),
    (r"an error rate near (?P<n>\d+)\\,\\% has a standard error of about (?P<m>[\d.]+) percentage points",
     lambda m: (f"{_se_points(int(m['n']) / 100, RESULTS['n_test']):.1f}" == m["m"]  # near the measured errors
                and abs(int(m["n"]) / 100 - RESULTS["complexity"]["test_error_mean"][_chosen(RESULTS)]) < 0.02)),
    (r"Appendix~(?P<n>[A-C])", lambda m: True),
    (r"\\cite\[Sec\.~(?P<n>7\.8)\]\{goodfellow\}", lambda m: True),  # a citation: the section it cites
    (r"\\cite\[Sec\.~(?P<n>4\.3\.4), eq\.~\((?P<m>4\.106)\)\]\{bishop\}", lambda m: True),
    (r"(?P<n>1\.[1-5](?:\.[1-3])?)\b", lambda m: True),  # question numbers
    (r"Part~(?P<n>1)", lambda m: True),
]


def _prose(tex):
    """The body outside the title page, math, marked blocks, commands' arguments and the
    bibliography: the text in which literal numbers are written."""
    body = _body(re.sub(r"^[ \t]*%@begin (\S+)\n.*?^[ \t]*%@end \1[ \t]*$", " ", tex, flags=re.S | re.M))
    body = body[body.index(r"\end{titlepage}"):body.index(r"\begin{thebibliography}")]
    body = re.sub(r"\\begin\{(align\*|gather\*|tabular)\}.*?\\end\{\1\}", " ", body, flags=re.S)
    body = re.sub(r"\\\[.*?\\\]", " ", body, flags=re.S)
    body = re.sub(r"\$[^$]*\$", " ", body)
    body = re.sub(r"\\(label|ref|includegraphics|setcounter|renewcommand|cite)(\{[^}]*\})+", " ", body)
    return re.sub(r"^\\(sub)*section.*$", " ", body, flags=re.M)


def check_text_numbers(doc):
    prose = _flat(_prose(doc.tex))
    covered = set()
    for pattern, holds in TEXT_NUMBERS:
        for m in re.finditer(pattern, prose):
            assert holds(m.groupdict()), f"wrong number in: {m.group(0)!r}"
            covered.update(range(*m.span("n")))
            if m.groupdict().get("m") is not None:
                covered.update(range(*m.span("m")))
    for m in re.finditer(r"\d+(?:[.,]\d+)*", prose):
        if not set(range(*m.span())) <= covered:
            raise AssertionError(f"a number no test checks: {prose[max(0, m.start() - 60):m.end() + 20]!r}")


def check_thousands(doc):
    """Counts of 1,000 and more are written with a comma ("3,000"), in the text, the macros
    and the figures' tick labels (years, the course code and matriculation numbers aside)."""
    body = _body(doc.tex)
    allowed = {"201678", "216319", "1394", "1524"}
    for m in re.finditer(r"(?<![\d.,{])\d{4,}(?![\d.])", re.sub(r"\{figures/[^}]*\}|pdfmdfivesum[^)]*", "", body)):
        v = m.group(0)
        assert v in allowed or (len(v) == 4 and 1900 <= int(v) <= 2099), \
            f"write {v} with a comma: {body[m.start() - 40:m.end() + 10]!r}"
    texts = list(_results_tex_macros().values()) + [t for r in RESULTS["layout"].values() for t in r["texts"]]
    for text in texts:
        for v in re.findall(r"\d[\d,]*", text):
            assert len(v.replace(",", "")) < 4 or re.fullmatch(r"\d{1,3}(,\d{3})+", v), text


# --------------------------------------------------------------------------- mathematics in the prose
def _wrong_mixed_partial():
    return sp.simplify(2 * x + 2 * y - 6 * y - sp.diff(F11, x, y)) != 0


# Every statement in math outside the marked blocks (a relation: =, <, >, \le, \ge, \in, \to),
# reviewed: a definition, notation, or a claim with its own check (True: notation/definition).
PROSE_MATH = {
    r"\nabla f = 0": True,  # the definition of a critical point
    r"\det H < 0": True, r"\det H > 0": True, r"f_{xx} > 0": True, r"f_{xx} < 0": True,  # the test's rule
    r"t \to -\infty": True, r"t \to +\infty": True,
    r"y = 0": True, r"y = 6 - 2x": True,  # the items' headings: checked by check_critical_derivation
    r"2x + 2y - 6y": lambda tex: _wrong_mixed_partial(),  # quoted as a mistake: it must be wrong
    r"z = b + xw": True,
    r"b + xw = 0": True,
    r"\varphi(t) = f(b + t, w + tx)": True,
    r"s = 0": True, r"\relu'(0) = 0": True,  # the convention: checked by check_relu_convention
    r"\pd{z}{w} = x": lambda tex: "\\pd{z}{w} = x" in block(tex, "inner-derivatives"),  # repeats the block
    r"s \in [-1, 1]": lambda tex: _relu_interval(tex) != (-1.0, 1.0),  # quoted as a mistake: it must be wrong
    r"s < 0": True, r"b + xw < 0": True,
    r"\beta_0, \beta_1 \in \R": True,
    r"\beta_1 = 0": True,
    r"\sigma = \relu": True, r"o =": True, r"f_k = o(a\lay{3})_k": True,
    r"x \in \R^d": True, r"y \in \{0,1\}^K": True,
    r"\eta > 0": True,
    r"a = 0": True,
    r"\delta = \partial L / \partial a": True,
    r"n = 1": True, r"\mathcal{L} = L": True,
    r"a_i\lay{1} \le 0": True,
    r"X \in \R^{n \times d}": True, r"\Delta\lay{1} \in \R^{n \times H\lay{1}}": True,
    r"k = l": True,
    r"\eta = \LearningRate": True,
    r"h = 1/(1 + e^{-a})": True,
    r"\ind{a > 0}": True,
    r"u = \partial C / \partial f": True,
    r"(x_1 + x_2)^2 - (x_1 - x_2)^2": True,
    r"\partial^2/\partial x_1\partial x_2": True,
}


def _relu_interval(tex):
    lo, hi = re.search(r"s \\in \[([^,\]]+),([^\]]+)\]", block(tex, "relu-subdifferential")).groups()
    return _value(expression(lo)), _value(expression(hi))


def _prose_math(tex):
    """Inline math of the body outside the title page, marked blocks and bibliography."""
    body = _body(re.sub(r"^[ \t]*%@begin (\S+)\n.*?^[ \t]*%@end \1[ \t]*$", " ", tex, flags=re.S | re.M))
    body = body[body.index(r"\end{titlepage}"):body.index(r"\begin{thebibliography}")]
    return [_flat(m).strip() for m in re.findall(r"\$([^$]+)\$", body)]


def check_prose_math(doc):
    """The statements in the prose's math are exactly the reviewed ones, and each holds."""
    relation = re.compile(r"=|<|>|\\le|\\ge|\\in\b|\\to\b")
    found = set(_prose_math(doc.tex))
    for math_text in found:
        if relation.search(math_text):
            assert math_text in PROSE_MATH, f"a statement in the prose that no test reviews: ${math_text}$"
    for math_text, verdict in PROSE_MATH.items():
        assert math_text in found, f"a reviewed statement is gone or was changed: ${math_text}$"
        assert verdict is True or verdict(doc.tex), f"the prose states something false: ${math_text}$"
