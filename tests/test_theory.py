"""theory/theory.tex checked by code, in two kinds of checks.

**Checks of the source** read theory.tex (and the data it quotes), never the PDF:

* each marked block (``%@begin name`` ... ``%@end name``) is translated into Python by
  ``tests/theory_tex.py`` and evaluated against an independent reference by a check of
  ``tests/theory_checks_*.py``: 1.1-1.2 against sympy and finite differences (calculus), the
  sentences of 1.3 against the sketches' recorded curves (sketches), 1.4-1.5 and Appendix B
  against PyTorch autograd in float64 (network), Appendix A against figures/results.json
  (measured);
* the mathematics outside the blocks and the words that carry a fact (zero/identity,
  minimum/maximum, symmetric, a probability, a sign) by the statement checks of
  ``tests/theory_statements_*.py``; every piece of mathematics is read by some check or
  listed, with its reason, in ``tests/theory_math.py`` (test_every_piece_of_mathematics_...);
* the numbers of the prose, the symbols (one meaning each, or a definition where it changes),
  the style, the title page, the rubric (rubric.toml's schema, rubric.tex generated from it,
  every mistake explained after its answer).

MUTATIONS are typical wrong edits, each applied to the source; the named check must reject
the edited source.  test_content_checks_never_read_the_pdf shows that none of these checks
opens the PDF, so no PDF needs rebuilding for them.

**Checks of the PDF** (tests/theory_checks_pdf.py) read the committed theory.pdf: built from
the current sources, every section and the title page shown, the answers within 5 pages, the
rubric shown; test_pdf_checks_reject_a_wrong_pdf shows each can fail.

Nothing here runs LaTeX or figures.py's training: the tests read what they wrote.
"""

import re
import shutil

import numpy as np
import pypdf
import pytest
import torch
from theory_checks_calculus import (
    check_critical_derivation, check_critical_points, check_diagonal, check_function,
    check_gradient, check_hessian, check_inner_derivatives, check_relu_convention,
    check_relu_gradient, check_relu_one_sided, check_relu_subdifferential)
from theory_checks_document import (
    check_mistakes_match_rubric, check_rubric_schema, check_rubric_semantics, check_rubric_tex, check_style,
    check_symbols, check_title_page)
from theory_checks_measured import check_best_possible, check_macros, check_measured_claims
from theory_checks_network import (
    BLOCKS_1_5, D, H1, H2, K, _random_network, check_1_4, check_1_5, check_code_deltas, check_identity,
    check_linear_g, check_two_over_k)
from theory_checks_pdf import check_answers_pages, check_pdf_fresh, check_pdf_sections, check_rubric_in_pdf
from theory_checks_prose import check_text_numbers, check_thousands
from theory_checks_sketches import check_dashed_line_meaning, check_sketch_answers, check_sketch_figures
from theory_doc import PDF_DOC, REJECTED, ROOT, SOURCE, SOURCE_DOC, THEORY, Doc, PdfNotRead, _flat, _module, _section
from theory_math import NEEDS_NO_CHECK, needs_no_check, occurrences, poisoned
from theory_statements_calculus import check_statements_11, check_statements_12, check_statements_13
from theory_statements_network import check_statements_14, check_statements_15, check_statements_b
from theory_wrong_edits import MUTATIONS, mutate


# =========================================================================== the checks
CONTENT_CHECKS = {  # read theory.tex (and results.json, rubric.toml, the code), never the PDF
    "statements-1.1": check_statements_11, "statements-1.2": check_statements_12,
    "statements-1.3": check_statements_13, "statements-1.4": check_statements_14,
    "statements-1.5": check_statements_15, "statements-B": check_statements_b,
    "function": check_function, "gradient": check_gradient, "hessian": check_hessian,
    "critical-derivation": check_critical_derivation, "critical-points": check_critical_points,
    "diagonal": check_diagonal,
    "inner-derivatives": check_inner_derivatives, "relu-gradient": check_relu_gradient,
    "relu-one-sided": check_relu_one_sided, "relu-subdifferential": check_relu_subdifferential,
    "relu-convention": check_relu_convention,
    "sketch-answers": check_sketch_answers, "sketch-figures": check_sketch_figures,
    "dashed-line": check_dashed_line_meaning,
    "macros": check_macros, "measured-claims": check_measured_claims, "best-possible": check_best_possible,
    "text-numbers": check_text_numbers, "thousands": check_thousands,
    "1.4": check_1_4, "identity": check_identity, "linear-g": check_linear_g,
    **{name: (lambda doc, name=name: check_1_5(doc, name)) for name in BLOCKS_1_5},
    "two-over-k": check_two_over_k, "code-deltas": check_code_deltas,
    "symbols": check_symbols, "style": check_style, "title-page": check_title_page,
    "rubric-schema": check_rubric_schema, "rubric-tex": check_rubric_tex,
    "mistakes-match-rubric": check_mistakes_match_rubric, "rubric-semantics": check_rubric_semantics,
}
PDF_CHECKS = {"pdf-fresh": check_pdf_fresh, "pdf-sections": check_pdf_sections,
              "answers-pages": check_answers_pages, "rubric-in-pdf": check_rubric_in_pdf}


@pytest.mark.parametrize("name", CONTENT_CHECKS)
def test_source_holds(name):
    CONTENT_CHECKS[name](SOURCE_DOC)


def test_content_checks_never_read_the_pdf(monkeypatch, tmp_path):
    """Every check of the content passes with no PDF to read: the document has none, and
    pypdf cannot open a file (the PDF checks below need it)."""
    def no_pdf(*args, **kwargs):
        raise PdfNotRead("a check of the source opened a PDF")
    monkeypatch.setattr(pypdf, "PdfReader", no_pdf)
    doc = Doc(SOURCE, pdf_path=None)
    for name, check in CONTENT_CHECKS.items():
        check(doc)
    with pytest.raises(PdfNotRead):  # what a check reading the PDF would meet
        check_pdf_sections(doc)


@pytest.mark.parametrize("name", PDF_CHECKS)
def test_pdf_holds(name):
    PDF_CHECKS[name](PDF_DOC)


def test_every_marked_block_is_checked():
    marked = set(re.findall(r"^%@begin (\S+)", SOURCE, re.M))
    checked_elsewhere = {  # blocks read by a check of another name
        "roots-first", "step-y0", "roots-y0", "points-y0", "step-line", "roots-line", "points-line",
        "hidden-activation", "hidden-weights", "hidden-units", "output-weights", "output-activation", "output",
        "linear-g-output"}
    assert marked == (set(CONTENT_CHECKS) & marked) | checked_elsewhere
    assert marked >= checked_elsewhere
    assert len(re.findall(r"^%@end (\S+)", SOURCE, re.M)) == len(marked)


# --------------------------------------------------------------------------- every piece of mathematics
def _rejected_by(doc, first):
    """The name of the first check of the source that rejects ``doc`` (those named in ``first``
    tried first), or None."""
    for name in first + [n for n in CONTENT_CHECKS if n not in first]:
        try:
            CONTENT_CHECKS[name](doc)
        except REJECTED:
            return name
    return None


def test_every_piece_of_mathematics_is_read_by_a_check_or_needs_none():
    """Each piece of mathematics outside the blocks, replaced by a poison token, makes some
    check of the source fail, unless NEEDS_NO_CHECK gives the reason it needs none."""
    found = occurrences(SOURCE)
    assert len(found) > 100, f"only {len(found)} pieces of mathematics found"
    unread, first = [], ["statements-1.1", "statements-1.2", "statements-1.3", "statements-1.4",
                         "statements-1.5", "statements-B"]
    for start, end, text, context in found:
        if needs_no_check(text, context) is None:
            name = _rejected_by(Doc(poisoned(SOURCE, start, end)), first)
            if name is None:
                unread.append(f"${text}$ in ...{context}...")
            else:  # try the check that read this one first for the next ones (they are often its neighbours)
                first = [name] + [n for n in first if n != name]
    assert not unread, "mathematics no check reads (add a check, or the reason to NEEDS_NO_CHECK):\n" + "\n".join(unread)
    listed = {key if isinstance(key, str) else key[0] for key in NEEDS_NO_CHECK}
    assert listed <= {text for _, _, text, _ in found}, f"listed but gone: {sorted(listed - {t for _, _, t, _ in found})}"


def test_an_unread_piece_of_mathematics_is_found():
    """The enumeration sees a formula added in the prose, and nothing reads it."""
    extra = SOURCE.replace(r"\emph{Why it is a reasonable regulariser.}",
                           r"\emph{Why it is a reasonable regulariser.} With $q = 3$,")
    new = [o for o in occurrences(extra) if o[2] == "q = 3"]
    assert len(new) == 1 and needs_no_check("q = 3", new[0][3]) is None
    assert _rejected_by(Doc(poisoned(extra, *new[0][:2])), []) is None


# --------------------------------------------------------------------------- wrong edits, on the source
@pytest.mark.parametrize("index", range(len(MUTATIONS)), ids=[f"{m[0]}-{i}" for i, m in enumerate(MUTATIONS)])
def test_check_rejects_wrong_edit(index):
    name, edits = MUTATIONS[index]
    doc = Doc(mutate(SOURCE, edits))  # the source alone: a check that opened the PDF would fail with PdfNotRead
    with pytest.raises(REJECTED):
        CONTENT_CHECKS[name](doc)


def test_every_check_rejects_some_wrong_edit():
    """Each check of theory.tex's content has at least one wrong edit it must reject."""
    rejected_by = {name for name, _ in MUTATIONS}
    exempt = {"sketch-figures", "macros", "rubric-schema", "rubric-tex"}  # data, not tex: tested on their data
    assert set(CONTENT_CHECKS) - exempt <= rejected_by, sorted(set(CONTENT_CHECKS) - exempt - rejected_by)


def test_readme_states_the_number_of_wrong_edits():
    theory = _section((ROOT / "README.md").read_text(encoding="utf-8"), "## Theory", "## Grading")
    assert f"applies {len(MUTATIONS)} wrong edits" in _flat(theory)


# --------------------------------------------------------------------------- the PDF checks can fail
def test_pdf_checks_reject_a_wrong_pdf(tmp_path):
    pages = PDF_DOC.pages
    for name in ("theory.tex", "rubric.tex", "theory.pdf"):
        shutil.copy2(THEORY / name, tmp_path / name)
    shutil.copytree(THEORY / "figures", tmp_path / "figures")
    (tmp_path / "theory.tex").write_text(SOURCE.replace("local minimum &", "local maximum &"), encoding="utf-8")
    wrong = {  # each check, and a PDF (or its text) it must reject
        "pdf-fresh": Doc(SOURCE, tmp_path / "theory.pdf"),  # theory.tex edited after the build
        "pdf-sections": Doc(SOURCE, pages=[pages[0]] + [p.replace("Activation functions", "") for p in pages[1:]]),
        "answers-pages": Doc(SOURCE, pages=pages[:3] + ["", ""] + pages[3:]),
        "rubric-in-pdf": Doc(SOURCE, pages=[p.replace("1.4.wrong_factor", "") for p in pages]),
    }
    wrong["title"] = Doc(SOURCE, pages=[pages[0].replace("Riaz", "")] + pages[1:])
    for name, doc in wrong.items():
        with pytest.raises(REJECTED):
            PDF_CHECKS.get(name, check_pdf_sections)(doc)


# =========================================================================== rubric.py's schema
def test_rubric_py_names_what_it_expected_and_received():
    """rubric.py refuses a mistake without its item, on an item of another question, or
    deducting more than its item's points, and says which and why."""
    import copy
    import tomllib
    rubric_py = _module("theory_rubric", THEORY / "rubric.py")
    rubric = tomllib.loads((THEORY / "rubric.toml").read_text(encoding="utf-8"))
    rubric_py.validate(rubric)
    q14 = next(i for i, q in enumerate(rubric["questions"]) if q["id"] == "1.4")
    cases = [(lambda r: r["questions"][q14]["mistakes"][0].pop("applies_to"), r"missing \['applies_to'\]"),
             (lambda r: r["questions"][q14]["mistakes"][0].update(applies_to="1.1.hessian"),
              r"applies_to must name an item of question 1\.4 .*received '1\.1\.hessian'"),
             (lambda r: r["questions"][q14]["mistakes"][0].update(deduction=3),
              r"at most the 1 points of 1\.4\.activation.*received 3")]
    for edit, message in cases:
        bad = copy.deepcopy(rubric)
        edit(bad)
        with pytest.raises(ValueError, match=message):
            rubric_py.validate(bad)


# =========================================================================== Appendix B against the code
def test_code_variant_matches_network_scratch_backward_pass():
    """Appendix B: logistic hidden units, no biases, mean MSE (2/K (f - y)) give the gradient
    of network_scratch._backward_pass, checked against PyTorch autograd."""
    import network_scratch
    p, xv, yv = _random_network(7)
    net = network_scratch.NeuralNetwork([D, H1, H2, K], random_state=0)
    net.weights = [p["W1"].copy(), p["W2"].copy(), p["W3"].copy()]
    grads = net._backward_pass(yv, net._forward_pass(xv))
    t = [torch.tensor(p[f"W{n}"], dtype=torch.float64, requires_grad=True) for n in (1, 2, 3)]
    f = torch.softmax(t[2] @ torch.sigmoid(t[1] @ torch.sigmoid(t[0] @ torch.tensor(xv))), dim=0)
    torch.nn.functional.mse_loss(f, torch.tensor(yv)).backward()
    for g, w in zip(grads, t):
        np.testing.assert_allclose(g, w.grad.numpy(), rtol=0, atol=1e-12)
