"""Theory checks of the source as a document: one meaning per symbol (or a definition where
it changes), style, the title page, and the rubric (rubric.toml against its schema, rubric.tex
generated from it, every mistake explained after its answer)."""

import json
import math
import re
import tomllib

import numpy as np

from theory_tex import block
from theory_doc import ROOT, RUBRIC_TEX, RUBRIC_TOML, THEORY, _body, _flat, _module, _section


# =========================================================================== symbols
SECTIONS = [(r"\subsection{Optimization}", "1.1"), (r"\subsection{Activation functions}", "1.2"),
            (r"\subsection{Overfitting}", "1.3"), (r"\subsection{Capacity of neural network}", "1.4"),
            (r"\subsection{Neural network theory}", "1.5"), (r"\section{The curves of 1.3, measured}", "A"),
            (r"\section{From the derivation", "B"), (r"\section{For graders}", "C"),
            (r"\begin{thebibliography}", "references")]
# Every letter of the mathematics, by section: (sections, meaning, where it is defined).  A
# letter with one entry has one meaning throughout; a letter with several must be defined
# anew (the regex, in that entry's first section) wherever its meaning changes.
SYMBOLS = {
    "f": [("1.1", "the function of 1.1", r"\$f\(x,y\) = "), ("1.2", "the ReLU unit", r"\$f\(b,w\) = \\relu\(z\)\$"),
          ("1.5 B", "the network's outputs", r"\$f_k = o\(a\\lay\{3\}\)_k\$")],
    "x": [("1.1", "a coordinate of the point (x, y)", r"\$f\(x,y\) = "),
          ("1.2", "the input of the unit", r"for a fixed input \$x\$"), ("1.3", "the horizontal axis", r"the \$x\$-axis"),
          ("1.4", "the inputs x_1, x_2", r"For the inputs \$x_1\$ and \$x_2\$"),
          ("1.5 B", "the input", r"one sample\s+\$x \\in \\R\^d\$")],
    "y": [("1.1", "a coordinate of the point (x, y)", r"\$f\(x,y\) = "), ("1.3", "the vertical axis", r"the \$y\$-axis"),
          ("1.5 B", "the one-hot target", r"one-hot target \$y \\in")],
    "L": [("1.3", "the name of L^2 regularisation", r"\$L\^2\$ regularisation"),
          ("1.5 B", "the loss of a sample", r"The quadratic loss of a sample")],
    "t": [("1.1 1.2", "a real parameter along a line", None)],
    "z": [("1.2 1.4", "the argument of an activation", None)],
    "b": [("1.2 1.4", "a bias", None)], "w": [("1.2 1.4 1.5", "a weight", None)],
    "W": [("1.4 1.5 B", "a layer's weight matrix", None)], "h": [("1.4 1.5 B", "a hidden unit's output", None)],
    "m": [("1.4 1.5", "the index of a hidden unit", None)], "o": [("1.4 1.5", "the output activation", None)],
    "e": [("1.4 B", "Euler's number", None)], "eta": [("1.3 1.5 A", "the learning rate", None)],
    "a": [("1.5 B", "a pre-activation", None)], "J": [("1.5 B", "the softmax Jacobian", None)],
    "K": [("1.5 B", "the number of classes", None)], "k": [("1.5 B", "a class index", None)],
    "delta": [("1.5 B", "a delta, dL/da", None)], "H": [("1.5", "the numbers of hidden units", None)],
    "X": [("1.5", "the matrix of the n samples", r"not the problem's single sample \$X\$")],
    "Delta": [("1.5", "the matrix of the samples' deltas", None)], "d": [("1.5", "the input dimension", None)],
    "i": [("1.5", "a unit of layer 1", None)], "j": [("1.5", "an input index", None)],
    "l": [("1.5", "a class index", None)], "n": [("1.5", "the number of samples", None)],
    "r": [("1.5", "the iteration", None)], "s": [("1.5", "a sample index", None)],
    "theta": [("1.5", "all parameters", None)], "sigma": [("1.5", "the problem's hidden activation", None)],
    "alpha": [("1.2", "the scale of a subgradient", None)], "varphi": [("1.2", "f along a direction", None)],
    "g": [("1.4", "1.4's hidden activation", None)], "c": [("1.4", "the coefficients of a linear g", None)],
    "beta": [("1.4", "the logistic regression's coefficients", None)], "tau": [("1.3", "a number of steps", None)],
    "u": [("B", "dC/df", None)], "C": [("B", "the cost of the code", None)],
}
_GREEK_NAMES = {"alpha", "beta", "delta", "Delta", "eta", "theta", "tau", "sigma", "varphi"}


def _letters_by_section(tex):
    """``{letter: [sections in which the mathematics uses it]}``."""
    body = _body(tex)
    starts = [(body.index(marker), name) for marker, name in SECTIONS]
    used = {}
    for (start, name), (end, _) in zip(starts, starts[1:] + [(len(body), None)]):
        for segment in _math_segments(r"\begin{document}" + body[start:end] + r"\begin{thebibliography}"):
            segment = re.sub(r"\\(?:layT?|begin|end|text|operatorname|mathbf)\{[^}]*\}", " ", segment)
            for m in re.finditer(r"\\([a-zA-Z]+)|(?<![a-zA-Z\\])([a-zA-Z])(?![a-zA-Z])", segment):
                letter = m.group(2) or (m.group(1) if m.group(1) in _GREEK_NAMES else None)
                if letter and name not in used.setdefault(letter, []):
                    used[letter].append(name)
    return used


def _math_segments(tex):
    """Every piece of math of the body (inline, display, align/gather), without \\text{...}."""
    body = _body(tex)
    body = body[:body.index(r"\begin{thebibliography}")]
    parts = re.findall(r"\\begin\{(?:align\*|gather\*)\}(.*?)\\end\{(?:align\*|gather\*)\}", body, re.S)
    parts += re.findall(r"\\\[(.*?)\\\]", body, re.S)
    parts += re.findall(r"\$([^$]+)\$", re.sub(r"\\begin\{(?:align\*|gather\*)\}.*?\\end\{(?:align\*|gather\*)\}|\\\[.*?\\\]",
                                               " ", body, flags=re.S))
    return [re.sub(r"\\text\{[^}]*\}", " ", p) for p in parts]


def check_symbols(doc):
    """Every letter of the mathematics is declared in SYMBOLS for each section that uses it, and
    defined anew wherever its meaning changes; and the conventions of 1.4-1.5: sigma (the
    problem's ReLU), delta (backpropagation deltas only), bold 1 (the indicator only), l (a
    class only), L (the loss of a sample; the mean loss is \\mathcal{L}), w^[2], b^[2] in 1.4."""
    tex = doc.tex
    body = _body(tex)
    order = [name for _, name in SECTIONS]
    for letter, sections in _letters_by_section(tex).items():
        assert letter in SYMBOLS, f"the letter {letter} (in {sections}) has no declared meaning"
        declared = [(where.split(), meaning, definition) for where, meaning, definition in SYMBOLS[letter]]
        undeclared = set(sections) - {name for where, _, _ in declared for name in where}
        assert not undeclared, f"{letter} is used in {sorted(undeclared)} with no declared meaning there"
    for letter, entries in SYMBOLS.items():
        names = [name for where, _, _ in entries for name in where.split()]
        assert len(names) == len(set(names)), f"{letter}: two meanings in one section"
        for where, meaning, definition in entries:  # several meanings: each defined; one: defined if declared so
            assert definition or len(entries) == 1, f"{letter} has several meanings: where is it {meaning}?"
            first = min(where.split(), key=order.index)
            section = _section(body, SECTIONS[order.index(first)][0], SECTIONS[order.index(first) + 1][0])
            assert definition is None or re.search(definition, _flat(section)), \
                f"{letter} means {meaning} in {where}: that section must say so ({definition})"
    assert body.count(r"\sigma") == 1, "sigma is named once, as the problem's hidden activation (ReLU here)"
    assert r"\delta_{kl}" not in body and r"\delta_{k" not in body, "the Kronecker delta is written \\ind{k = l}"
    assert not re.search(r"\\lay\{\d\\top\}", body), "write \\layT{n} (transpose outside the layer bracket)"
    assert not re.search(r"\\mathbf\{?1\}?(?!\[)", body.replace(r"\ind{", "")), \
        "bold 1 is the indicator \\ind{...} only (no all-ones vector)"
    assert not re.search(r"\\lay\{[a-z]", body) and "layer $l$" not in body and "[l-1]" not in body, \
        "l is a class index only, never a layer index"
    for m in re.finditer(r"\\sum_\{l=1\}\^\{([^}]*)\}", body):
        assert m.group(1) == "K", "sums over l run over the K classes"
    for s in _math_segments(tex):
        for m in re.finditer(r"(?<![\\a-zA-Z{])L(?![a-zA-Z])", s):
            assert not re.match(r"L\s*=\s*\\frac1n", s[m.start():]), "the mean loss is \\mathcal{L}, not L"
    assert re.search(r"\\mathcal\{L\} = \\frac1n \\sum_\{s=1\}\^\{n\} L_s", block(tex, "mean-loss")), \
        "the mean loss is defined as \\mathcal{L}"
    assert "\\mathcal{L}" in block(tex, "update"), "gradient descent is on the mean loss"
    sec14 = _section(body, r"\subsection{Capacity of neural network}", r"\subsection{Neural network theory}")
    assert not re.search(r"v_m|\\beta_0'|\\beta_0\^\\prime", sec14), "1.4's output weights are w^[2] and b^[2]"
    assert "w_m\\lay{2}" in block(tex, "linear-g-output") and "b\\lay{2}" in block(tex, "linear-g-output")
    assert "w\\lay{2}" in block(tex, "output-weights") and "b\\lay{2}" in block(tex, "output-weights")


def check_style(doc):
    body = _body(doc.tex)
    assert "tests show" not in body, "'(the tests show ...)' means nothing in a PDF"
    assert r"\cite[Sec.~4.3.4, eq.~(4.106)]{bishop}" in body, "the softmax derivative: Bishop Sec. 4.3.4, eq. (4.106)"
    assert re.search(r"\\bibitem\{bishop\}[^\\]*(?:\\[a-z]+\{[^}]*\}[^\\]*)*Sec\.~4\.3\.4, eq\.~\(4\.106\)", body)
    sec15 = _section(body, r"\subsection{Neural network theory}", r"\appendix")
    assert "self." not in sec15 and "\\texttt" not in sec15, "no code internals in the answer to 1.5"
    answers = _section(body, r"\section*", r"\appendix")
    for trivia in ("minutes", "processor time", "seconds"):
        assert trivia not in answers and trivia not in _section(body, r"\appendix", r"\section{For graders}"), trivia


def _notebook_team():
    """``[(name, matriculation number)]`` from the notebook's team cell (the cell below the title)."""
    nb = json.loads((ROOT / "MNIST_classification.ipynb").read_text())
    team = next(c for c in nb["cells"] if "team" in c["metadata"].get("tags", []))
    return re.findall(r"^# (.+?),\s+matriculation number (\d+)$", "".join(team["source"]), re.M)


MONTHS = ("January February March April May June July August September October November December").split()


def check_title_page(doc):
    """The answer's title page: the course, the problem set, the team's names and matriculation
    numbers (those of the notebook), a date; no blank to fill in and nothing about tests."""
    title = _section(doc.tex, r"\begin{titlepage}", r"\end{titlepage}")
    for must in (r"{\Large Deep Learning E1394\par}", r"{\Huge\bfseries Problem set 1\par}",
                 r"{\Large Part 1: theoretical answers\par}"):
        assert must in title, must
    team = _notebook_team()
    assert team and re.findall(r"^\s*(\S.*?)\s*& (\d+) \\\\$", title, re.M) == team, \
        f"the names and matriculation numbers of the notebook's team cell: {team}"
    assert re.search(rf"\{{\\large ({'|'.join(MONTHS)}) 20\d\d\\par\}}", title), "a date: month and year"
    assert not re.search(r"\\underline|_{2,}|fill in|Team number", title), "no blank on a finished document"
    assert not re.search(r"\btests?\b", title, re.I), "the tests are the README's subject, not the title page's"


# =========================================================================== rubric
QUESTION_IDS = ["1.1", "1.2", "1.3.1", "1.3.2", "1.3.3", "1.4", "1.5"]
REQUIRED_MISTAKES = {  # the list: where each belongs
    "1.1.mixed_partial", "1.1.missed_critical_point", "1.1.spurious_critical_point", "1.1.determinant_only",
    "1.2.kink_not_addressed", "1.2.wrong_subdifferential", "1.3.1.axes_wrong", "1.3.2.axes_wrong",
    "1.3.3.axes_wrong", "1.3.3.no_validation_set", "1.4.linear_activation", "1.5.diagonal_jacobian",
    "1.5.missing_sums", "1.5.gradient_ascent", "1.5.wrong_iterate",
}


def _rubric():
    with open(RUBRIC_TOML, "rb") as fh:
        return tomllib.load(fh)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_rubric_schema(doc):
    """rubric.toml against the schema the review tool reads (written out here, not imported)."""
    r = _rubric()
    assert set(r) == {"meta", "questions"} and set(r["meta"]) == {"total"}
    assert [q["id"] for q in r["questions"]] == QUESTION_IDS
    ids = []
    for q in r["questions"]:
        assert set(q) == {"id", "title", "points", "items", "mistakes"}, q["id"]
        assert isinstance(q["title"], str) and q["title"].strip() and _is_number(q["points"]) and q["points"] > 0
        assert q["items"] and q["mistakes"], q["id"]
        for item in q["items"]:
            assert set(item) == {"id", "points", "description"}, item
            assert _is_number(item["points"]) and item["points"] > 0
        item_points = {i["id"]: i["points"] for i in q["items"]}
        for m in q["mistakes"]:
            assert set(m) == {"id", "deduction", "description", "applies_to"}, m
            assert m["applies_to"] in item_points, f"{m['id']} applies to an item of its question"
            assert _is_number(m["deduction"]) and 0 < m["deduction"] <= item_points[m["applies_to"]], m["id"]
        for e in q["items"] + q["mistakes"]:
            assert re.fullmatch(re.escape(q["id"]) + r"\.[a-z][a-z0-9]*(_[a-z0-9]+)*", e["id"]), e["id"]
            assert isinstance(e["description"], str) and e["description"].strip(), e["id"]
            ids.append(e["id"])
        assert math.isclose(sum(i["points"] for i in q["items"]), q["points"]), q["id"]
    assert len(ids) == len(set(ids)), "ids are unique"
    assert math.isclose(r["meta"]["total"], sum(q["points"] for q in r["questions"]))
    assert REQUIRED_MISTAKES <= {m["id"] for q in r["questions"] for m in q["mistakes"]}
    rubric_py = _module("theory_rubric", THEORY / "rubric.py")
    rubric_py.validate(r)  # the generator's own validation agrees


def check_rubric_tex(doc):
    """rubric.tex is generated from rubric.toml (one source) and the document shows it."""
    rubric_py = _module("theory_rubric", THEORY / "rubric.py")
    assert RUBRIC_TEX.read_text() == rubric_py.render(_rubric()), "rubric.tex is stale: run `python theory/rubric.py`"
    assert r"\input{rubric.tex}" in doc.tex.split(r"\begin{document}")[0]
    graders = _section(_body(doc.tex), r"\section{For graders}", r"\begin{thebibliography}")
    assert r"\RubricTables" in graders and r"\RubricSplit" in graders


def check_mistakes_match_rubric(doc):
    """Every question's "Common mistakes" paragraph explains exactly the rubric's mistakes of
    that question, in the rubric's order."""
    body = _body(doc.tex)
    starts = {"1.1": r"\subsection{Optimization}", "1.2": r"\subsection{Activation functions}",
              "1.3.1": r"\subsubsection{Error rate versus dataset size}",
              "1.3.2": r"\subsubsection{Error rate versus model complexity}",
              "1.3.3": r"\subsubsection{Training epochs}", "1.4": r"\subsection{Capacity of neural network}",
              "1.5": r"\subsection{Neural network theory}", "end": r"\appendix"}
    keys = list(starts)
    for q, nxt in zip(keys, keys[1:]):
        text = body[body.index(starts[q]):body.index(starts[nxt])]
        rubric_ids = [m["id"] for qq in _rubric()["questions"] if qq["id"] == q for m in qq["mistakes"]]
        assert re.findall(r"\\mistake\{([^}]+)\}", text) == rubric_ids, q
    # 1.3.2: the line at the minimum of the test error in the answer and the rubric; where the
    # line goes is the sketch's question, not which data chose it ("the test set" is no mistake here)
    q132 = next(q for q in _rubric()["questions"] if q["id"] == "1.3.2")
    line = next(i for i in q132["items"] if i["id"] == "1.3.2.line")["description"]
    assert "at the minimum of the test error" in line and "at the minimum of the test error" in _flat(body)
    mistakes = body[body.index(starts["1.3.2"]):body.index(starts["1.3.3"])].split(r"\mistakes")[1]
    assert "test set" not in _flat(mistakes) and all("test set" not in m["description"] for m in q132["mistakes"])


def _toml_item_score():
    """The item score as rubric.toml's comment writes it, as a function (marked, points, deductions)."""
    line = re.search(r"^#\s+item score = (.+)$", RUBRIC_TOML.read_text(encoding="utf-8"), re.M).group(1)
    code = (line.replace("marked points", "marked").replace("item points", "points")
            .replace("sum of the ticked deductions on it", "deductions"))
    assert re.fullmatch(r"[a-z0-9(), +\-]+", code), f"unreadable: {line!r}"
    return lambda marked, points, deductions: eval(code, {"max": max, "min": min},  # noqa: S307 (our own file)
                                                   {"marked": marked, "points": points, "deductions": deductions})


def check_rubric_semantics(doc):
    """Appendix C's words for an item's score give rubric.toml's formula on every mark, and the
    properties the text claims hold: the score stays within 0 and the item's points (so a
    question's sum within 0 and its points), a mistake marked down as well is charged once."""
    m = re.search(r"A mistake found caps its item: the item scores the marked points, but (at most|at least) its points "
                  r"(less|plus) the deductions of the mistakes found on it, and (at least|at most) (\d+)\.",
                  _flat(_body(doc.tex)))
    assert m, "Appendix C: how a mistake changes its item's score"
    cap, sign, floor_word, floor = m.group(1), {"less": -1, "plus": 1}[m.group(2)], m.group(3), int(m.group(4))

    def words(marked, points, deductions):
        limit = points + sign * deductions
        score = min(marked, limit) if cap == "at most" else max(marked, limit)
        return max(floor, score) if floor_word == "at least" else min(floor, score)

    toml = _toml_item_score()
    for points in (0.5, 1, 2, 3):
        for marked in np.linspace(0, points, 5):
            for deductions in (0, 0.5, 1, 1.5, 2, 4):
                assert np.isclose(words(marked, points, deductions), toml(marked, points, deductions)), \
                    (marked, points, deductions)
                assert 0 <= words(marked, points, deductions) <= points
            for d in (0.5, 1):  # the TA also marks the item down by the mistake: charged once
                assert np.isclose(words(max(0, points - d), points, d), max(0, points - d))
