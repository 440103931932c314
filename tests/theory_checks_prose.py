"""Theory checks of the prose: every number written in the text against results.json (or a
reviewed reason), counts of 1,000 and more with a thousands separator."""

import math
import re

from theory_checks_measured import TRAIN_BLOCK, _results_tex_macros
from theory_doc import RESULTS, _body, _chosen, _flat


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
    (r"its mean over each block of (?P<n>\d+) epochs", lambda m: int(m["n"]) == TRAIN_BLOCK),
    (r"Appendix~(?P<n>[A-C])", lambda m: True),
    (r"\\cite\[Sec\.~(?P<n>7\.8)\]\{goodfellow\}", lambda m: True),  # a citation: the section it cites
    (r"\\cite\[Sec\.~(?P<n>4\.3\.4), eq\.~\((?P<m>4\.106)\)\]\{bishop\}", lambda m: True),
    (r"(?P<n>1\.[1-5](?:\.[1-3])?)\b", lambda m: True),  # question numbers
    (r"Part~(?P<n>1)", lambda m: True),
    (r"(?:from|never a|at least|between|derivative at) (?P<n>0)\b", lambda m: True),  # Appendix C: the floor, the kink
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
