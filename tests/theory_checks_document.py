"""Theory checks of the document: one meaning per symbol, style, the title page, the rubric
and the PDF (built from the current sources, every section shown, answers within 5 pages)."""

import hashlib
import json
import math
import re
import tomllib


from theory_tex import block
from theory_doc import ROOT, RUBRIC_TEX, RUBRIC_TOML, THEORY, _body, _flat, _module, _section


# =========================================================================== symbols, style, title page
def _math_segments(tex):
    """Every piece of math of the body (inline, display, align/gather), without \\text{...}."""
    body = _body(tex)
    body = body[:body.index(r"\begin{thebibliography}")]
    parts = re.findall(r"\\begin\{(?:align\*|gather\*)\}(.*?)\\end\{(?:align\*|gather\*)\}", body, re.S)
    parts += re.findall(r"\\\[(.*?)\\\]", body, re.S)
    parts += re.findall(r"\$([^$]+)\$", re.sub(r"\\begin\{(?:align\*|gather\*)\}.*?\\end\{(?:align\*|gather\*)\}|\\\[.*?\\\]",
                                               " ", body, flags=re.S))
    return [re.sub(r"\\text\{[^}]*\}", " ", p) for p in parts]


def _letters(segment, letter):
    """Occurrences of ``letter`` as a math symbol (not inside a command name)."""
    return re.findall(rf"(?<![\\a-zA-Z]){letter}(?![a-zA-Z])", segment)


def check_symbols(doc):
    """One meaning per symbol: sigma (the problem's ReLU), delta (backpropagation deltas only),
    bold 1 (the indicator only), l (a class only), g (1.4's activation only), L (the loss of a
    sample; the mean loss is \\mathcal{L}), 1.4's output weights w^[2], b^[2] throughout."""
    tex = doc.tex
    body = _body(tex)
    assert body.count(r"\sigma") == 1, "sigma is named once, as the problem's hidden activation (ReLU here)"
    assert r"\delta_{kl}" not in body and r"\delta_{k" not in body, "the Kronecker delta is written \\ind{k = l}"
    assert not re.search(r"\\lay\{\d\\top\}", body), "write \\layT{n} (transpose outside the layer bracket)"
    assert not re.search(r"\\mathbf\{?1\}?(?!\[)", body.replace(r"\ind{", "")), \
        "bold 1 is the indicator \\ind{...} only (no all-ones vector)"
    assert not re.search(r"\\lay\{[a-z]", body) and "layer $l$" not in body and "[l-1]" not in body, \
        "l is a class index only, never a layer index"
    for m in re.finditer(r"\\sum_\{l=1\}\^\{([^}]*)\}", body):
        assert m.group(1) == "K", "sums over l run over the K classes"
    sec14 = _section(body, r"\subsection{Capacity of neural network}", r"\subsection{Neural network theory}")
    outside_14 = body.replace(sec14, "")
    outside_14 = outside_14.replace(_section(outside_14, r"\section{For graders}", r"\begin{thebibliography}"), "")
    outside_14 = outside_14[outside_14.index(r"\end{titlepage}"):]  # (the title page names 1.4's g)
    assert not any(_letters(s, "g") for s in _math_segments(r"\begin{document}" + outside_14)), \
        "g is 1.4's hidden activation only"
    for s in _math_segments(tex):
        for m in re.finditer(r"(?<![\\a-zA-Z{])L(?![a-zA-Z])", s):
            assert not re.match(r"L\s*=\s*\\frac1n", s[m.start():]), "the mean loss is \\mathcal{L}, not L"
    assert re.search(r"\\mathcal\{L\} = \\frac1n \\sum_\{s=1\}\^\{n\} L_s", block(tex, "mean-loss")), \
        "the mean loss is defined as \\mathcal{L}"
    assert "\\mathcal{L}" in block(tex, "update"), "gradient descent is on the mean loss"
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


def _notebook_team_line():
    nb = json.loads((ROOT / "MNIST_classification.ipynb").read_text())
    team = next(c for c in nb["cells"] if "team" in c["metadata"].get("tags", []))  # the cell below the title
    first = "".join(team["source"]).splitlines()[0]
    return re.search(r"\((.*)\)", first).group(1)


def check_title_page(doc):
    """Names and matriculation numbers of the problem set; the team number written as the
    notebook writes it (not known: to be filled in from Moodle)."""
    title = _section(doc.tex, r"\begin{titlepage}", r"\end{titlepage}")
    for name, number in (("Danial Riaz", "201678"), ("Carlo Greß", "216319")):
        assert re.search(rf"{name}\s*& {number}", title), name
    m = re.search(r"Team number: \\underline\{\\hspace\{[\d.]+cm\}\} \(([^)]*)\)", title)
    assert m and m.group(1) == _notebook_team_line(), "the team number line, worded as in the notebook"
    assert "Not checked by a test" in _flat(title), "the title page says what the tests do not hold"


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
        for m in q["mistakes"]:
            assert {"id", "deduction", "description"} <= set(m) <= {"id", "deduction", "description", "applies_to"}, m
            assert _is_number(m["deduction"]) and 0 < m["deduction"] <= q["points"], m["id"]
            assert m.get("applies_to", q["items"][0]["id"]) in {i["id"] for i in q["items"]}, m["id"]
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


def check_rubric_in_pdf(doc):
    """The PDF's appendix shows every question, item and mistake of rubric.toml with its points."""
    pages = doc.pages
    start = next(i for i, p in enumerate(pages) if re.search(r"C\s*For graders", p))
    text = re.sub(r"\s+", "", "".join(pages[start:]).replace("−", "-").replace("’", "'"))
    for q in _rubric()["questions"]:
        assert re.sub(r"\s+", "", f"{q['title']}{q['points']:g}points") in text, q["id"]
        for e in q["items"] + q["mistakes"]:
            desc = re.sub(r"\s+", "", e["description"])
            assert e["id"] in text and desc in text, e["id"]
    assert f"Total:{_rubric()['meta']['total']:g}points." in text


# =========================================================================== the PDF
FINGERPRINTS = {"/TheoryTexMD5": "theory.tex", "/TheoryRubricMD5": "rubric.tex",
                "/TheoryResultsMD5": "figures/results.tex", "/TheoryFig1MD5": "figures/error_vs_training_size.pdf",
                "/TheoryFig2MD5": "figures/error_vs_hidden_units.pdf", "/TheoryFig3MD5": "figures/error_vs_epochs.pdf",
                "/TheorySketch1MD5": "figures/sketch_size.pdf", "/TheorySketch2MD5": "figures/sketch_complexity.pdf",
                "/TheorySketch3MD5": "figures/sketch_epochs.pdf"}


def check_pdf_fresh(doc):
    """The PDF was built from these sources: the staleness check (not a check of content)."""
    meta = doc.reader.metadata
    folder = doc.pdf_path.parent
    for key, name in FINGERPRINTS.items():
        md5 = hashlib.md5((folder / name).read_bytes()).hexdigest()
        assert str(meta.get(key, "")).lower() == md5, \
            f"{doc.pdf_path} was not rebuilt after {name} changed: run `make -C theory pdf`"


def check_pdf_sections(doc):
    text = re.sub(r"\s+", "", "".join(doc.pages))
    for heading in ("1.1Optimization", "1.2Activationfunctions", "1.3Overfitting", "1.3.1Errorrateversusdatasetsize",
                    "1.3.2Errorrateversusmodelcomplexity", "1.3.3Trainingepochs", "1.4Capacityofneuralnetwork",
                    "1.5Neuralnetworktheory", "AThecurvesof1.3,measured", "Forgraders", "References"):
        assert heading in text, heading
    first = re.sub(r"\s+", "", doc.pages[0])
    for must in ("DeepLearningE1394", "Problemset1", "DanialRiaz", "201678", "CarloGreß", "216319", "Teamnumber"):
        assert must in first, must


def check_answers_pages(doc):
    """The answers to 1.1-1.5 (sketches included) fill at most 5 pages."""
    squeezed = [re.sub(r"\s+", "", p) for p in doc.pages]
    first = next(i for i, p in enumerate(squeezed) if "1.1Optimization" in p)
    appendix = next(i for i, p in enumerate(squeezed) if "AThecurvesof1.3,measured" in p)
    assert appendix - first <= 5, f"the answers fill {appendix - first} pages"
