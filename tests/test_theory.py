"""theory/theory.tex checked by code: every stated result is read from the .tex and compared
with an independent reference.

Each marked block of theory.tex (``%@begin name`` ... ``%@end name``) is translated into
Python by ``tests/theory_tex.py`` and evaluated by a check of ``tests/theory_checks_*.py``
(calculus: 1.1-1.2; sketches: 1.3; prose; network: 1.4, 1.5, Appendix B; document); this
file runs every check on theory.tex and on wrong edits of it, and
``tests/test_theory_figures.py`` checks figures.py's records and layout:

* 1.1 the function, gradient and Hessian against sympy; each step of the search for the
  critical points (the factor that vanishes, the substituted component, its roots, the
  points) against sympy; the table, every cell in full, against sympy's second-derivative
  test; the diagonal that shows there is no global minimum;
* 1.2 the inner derivatives, the gradient and the one-sided derivatives against finite
  differences; the subdifferential against the definition of a subgradient; the convention
  at the kink against PyTorch;
* 1.3 every sentence that describes a sketch against the sketch's recorded curves
  (figures/results.json); every sentence of Appendix A that describes data, every macro
  number and every other number in the text against results.json;
* 1.4 the network built from the stated activations and weights against
  logistic(beta0 + beta1 x1 x2), the identity against sympy, the argument against a linear
  g symbolically;
* 1.5 and Appendix B: every piece (loss, mean loss, update rule with its evaluation point,
  softmax Jacobian, ReLU and affine derivatives, chain rule with all sums, deltas, one-sample
  and mini-batch updates, matrix and mini-batch forms, the 2/K relation, the code's deltas)
  against PyTorch autograd and torch.optim.SGD in float64 on random networks;
* every mathematical statement in the prose outside the blocks is one of a reviewed list,
  each with its own check (PROSE_MATH); one meaning per symbol; the citations and style
  rules the issue asked for; the title page;
* the rubric: theory/rubric.toml against the schema, rubric.tex generated from it, the PDF
  appendix showing it, every mistake of the rubric explained after its answer;
* the PDF: built from the current sources (MD5 fingerprints), every section shown, the
  answers to 1.1-1.5 within 5 pages;
* MUTATIONS: typical wrong edits; each is applied to a copy of theory.tex, the PDF is
  rebuilt from that copy (pdflatex), and the named check must reject the copy although its
  PDF is up to date.

Nothing here runs figures.py's training: the tests read what it recorded.
"""

import concurrent.futures
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch
from theory_checks_calculus import (
    check_critical_derivation, check_critical_points, check_diagonal, check_function,
    check_gradient, check_hessian, check_inner_derivatives, check_relu_convention,
    check_relu_gradient, check_relu_one_sided, check_relu_subdifferential)
from theory_checks_document import (
    check_answers_pages, check_mistakes_match_rubric, check_pdf_fresh, check_pdf_sections,
    check_rubric_in_pdf, check_rubric_schema, check_rubric_tex, check_style, check_symbols,
    check_title_page)
from theory_checks_network import (
    BLOCKS_1_5, D, H1, H2, K, _random_network, check_1_4, check_1_5, check_code_deltas, check_identity,
    check_linear_g, check_two_over_k)
from theory_checks_prose import check_prose_math, check_text_numbers, check_thousands
from theory_checks_sketches import (
    check_best_possible, check_dashed_line_meaning, check_macros, check_measured_claims,
    check_sketch_answers, check_sketch_figures)
from theory_doc import (
    DOC, Doc, FIGURES, LATEX_PACKAGES, REJECTED, ROOT, SOURCE, THEORY, _flat, _section)


# =========================================================================== the checks
CHECKS = {
    "function": check_function, "gradient": check_gradient, "hessian": check_hessian,
    "critical-derivation": check_critical_derivation, "critical-points": check_critical_points,
    "diagonal": check_diagonal,
    "inner-derivatives": check_inner_derivatives, "relu-gradient": check_relu_gradient,
    "relu-one-sided": check_relu_one_sided, "relu-subdifferential": check_relu_subdifferential,
    "relu-convention": check_relu_convention,
    "sketch-answers": check_sketch_answers, "sketch-figures": check_sketch_figures,
    "dashed-line": check_dashed_line_meaning,
    "macros": check_macros, "measured-claims": check_measured_claims, "best-possible": check_best_possible,
    "text-numbers": check_text_numbers, "thousands": check_thousands, "prose-math": check_prose_math,
    "1.4": check_1_4, "identity": check_identity, "linear-g": check_linear_g,
    **{name: (lambda doc, name=name: check_1_5(doc, name)) for name in BLOCKS_1_5},
    "two-over-k": check_two_over_k, "code-deltas": check_code_deltas,
    "symbols": check_symbols, "style": check_style, "title-page": check_title_page,
    "rubric-schema": check_rubric_schema, "rubric-tex": check_rubric_tex,
    "mistakes-match-rubric": check_mistakes_match_rubric, "rubric-in-pdf": check_rubric_in_pdf,
    "pdf-sections": check_pdf_sections, "answers-pages": check_answers_pages,
}


@pytest.mark.parametrize("name", CHECKS)
def test_theory_holds(name):
    CHECKS[name](DOC)


def test_pdf_built_from_current_sources():
    check_pdf_fresh(DOC)


def test_every_marked_block_is_checked():
    marked = set(re.findall(r"^%@begin (\S+)", SOURCE, re.M))
    checked_elsewhere = {  # blocks read by a check of another name
        "roots-first", "step-y0", "roots-y0", "points-y0", "step-line", "roots-line", "points-line",
        "hidden-activation", "hidden-weights", "hidden-units", "output-weights", "output-activation", "output",
        "linear-g-output"}
    assert marked == (set(CHECKS) & marked) | checked_elsewhere
    assert marked >= checked_elsewhere
    assert len(re.findall(r"^%@end (\S+)", SOURCE, re.M)) == len(marked)


# --------------------------------------------------------------------------- wrong edits, PDF rebuilt
# Typical wrong edits, most of them mistakes students make: (the check that must reject it,
# [(old, new), ...]).  The first ten are the (issue 20).
MUTATIONS = [
    ("critical-derivation", [(r"x\,(6 - 3x) = 0$", r"x\,(6 - 2x) = 0$"), ("$x = 0$ or $x = 2$", "$x = 0$ or $x = 3$")]),
    ("relu-subdifferential", [(r"s \in [0,1]", r"s \in [-1,1]")]),
    ("relu-one-sided", [(r"\varphi'_+(0) = 1 + x^2$", r"\varphi'_+(0) = 1 + x$")]),
    ("sketch-answers", [(r"\emph{training error rises}", r"\emph{training error falls}")]),
    ("identity", [("= 4x_1x_2,", "= 2x_1x_2,")]),
    ("softmax-jacobian", [(r"$\pd{f_k}{a_l\lay{3}} = f_k\,(\ind{k = l} - f_l)$", r"$\pd{f_k}{a_l\lay{3}} = f_k\,(1 - f_k)$")]),
    ("two-over-k", [(r"= \frac{2}{K} L", r"= \frac{1}{K} L")]),
    ("critical-points", [(r"local minimum ($f_{xx} = 4 > 0$)", r"local minimum ($f_{xx} = -4 < 0$)")]),
    ("update", [(r"\bigg|_{\theta(r)}", r"\bigg|_{\theta(r+1)}")]),
    ("best-possible", [(r"\times 9/10", r"\times 8/10")]),
    # 1.1
    ("function", [(r"xy\,(x + y - 6)$", r"xy\,(x + y + 6)$")]),
    ("gradient", [("2xy + y^2 - 6y", "2xy + y^2 - 6x")]),
    ("hessian", [(r"2y & 2x + 2y - 6 \\", r"2y & 2x + 2y - 6y \\")]),
    ("critical-derivation", [("$y = 0$ or $y = 6 - 2x$", "$y = 0$ or $y = 6 - x$")]),
    ("critical-derivation", [("$(0,0)$ and $(6,0)$", "$(0,0)$ and $(6,1)$")]),
    ("critical-points", [(r"$-8.00$ \\", r"$-8$ \\")]),
    ("critical-points", [(r"  $(6,0)$ & $\begin{psmallmatrix} 0 & 6 \\ 6 & 12 \end{psmallmatrix}$ & $-36.00$ & $-2.49,\ 14.49$ & saddle point & $0.00$ \\" + "\n", "")]),
    ("diagonal", [("2t^3 - 6t^2$", "2t^3 - 6t$")]),
    ("prose-math", [("such as $2x + 2y - 6y$", "such as $2x + 2y - 6$")]),
    # 1.2
    ("inner-derivatives", [(r"\pd{z}{w} = x$%", r"\pd{z}{w} = 1$%")]),
    ("relu-gradient", [(r"(1, x)^\top & \text{if } b + xw > 0.", r"(1, 1)^\top & \text{if } b + xw > 0.")]),
    ("relu-one-sided", [(r"\varphi'_-(0) = 0$", r"\varphi'_-(0) = 1$")]),
    ("relu-subdifferential", [(r"s\, (1, x)^\top : s", r"s\, (1, 1)^\top : s")]),
    ("relu-convention", [(r"\ind{b + xw > 0}\,(1, x)^\top", r"\ind{b + xw \ge 0}\,(1, x)^\top")]),
    # 1.3
    ("sketch-answers", [(r"\emph{test error falls} with the training-set size", r"\emph{test error rises} with the training-set size")]),
    ("measured-claims", [("never falls from one\nsize to the next", "never rises from one\nsize to the next")]),
    ("text-numbers", [("standard\nerror of about 1.6 percentage points", "standard\nerror of about 0.6 percentage points")]),
    ("dashed-line", [("dashed grey: the best possible\n  error (Bayes error).}", "dashed grey: the test error.}")]),
    ("thousands", [("(the 5,000 MNIST digits embedded", "(the 5000 MNIST digits embedded")]),
    # 1.4
    ("1.4", [(r"w\lay{2} = \bigl(\tfrac{\beta_1}{4},\ -\tfrac{\beta_1}{4}\bigr)", r"w\lay{2} = \bigl(\tfrac{\beta_1}{2},\ -\tfrac{\beta_1}{2}\bigr)")]),
    ("1.4", [("$g(z) = z^2$", "$g(z) = z$")]),
    ("1.4", [(r"$b\lay{2} = \beta_0$", r"$b\lay{2} = 0$")]),
    ("linear-g", [("$g(z) = cz + d$", "$g(z) = cz^2 + d$")]),
    ("symbols", [(r"w_m\lay{2}\, g", r"v_m\, g")]),
    # 1.5
    ("loss", [(r"\pd{L}{f_k} = f_k - y_k", r"\pd{L}{f_k} = y_k - f_k")]),
    ("mean-loss", [(r"\mathcal{L} = \frac1n \sum_{s=1}^{n} L_s", r"\mathcal{L} = \sum_{s=1}^{n} L_s")]),
    ("update", [(r"\bigg|_{\theta(r)}", "")]),
    ("update", [(r"- \eta\, \pd{\mathcal{L}}{w_{ij}\lay{1}}", r"- \eta\, \pd{L}{w_{ij}\lay{1}}")]),
    ("relu-derivative", [(r"$\relu'(a) = \ind{a > 0}$", r"$\relu'(a) = \ind{a \ge 0}$")]),
    ("affine-derivatives", [(r"\pd{a_m\lay{2}}{h_i\lay{1}} = w_{mi}\lay{2}$", r"\pd{a_m\lay{2}}{h_i\lay{1}} = w_{im}\lay{2}$")]),
    ("chain-rule", [(r"(f_k - y_k)\, f_k\,(\ind{k = l} - f_l)." + "\n%@end chain-rule", r"(f_k - y_k)\, f_k\,(1 - f_k)." + "\n%@end chain-rule")]),
    ("deltas", [(r"= \sum_{k=1}^{K} (f_k - y_k)\, f_k\,(\ind{k = l} - f_l)", r"= \sum_{k=1}^{K} (f_k - y_k)\, f_k\,(1 - f_k)")]),
    ("update-one-sample", [(r"- \eta\, \delta_i\lay{1}\, x_j", r"+ \eta\, \delta_i\lay{1}\, x_j")]),
    ("update-mini-batch", [(r"- \frac{\eta}{n} \sum_{s=1}^{n}", r"- \eta \sum_{s=1}^{n}")]),
    ("jacobian", [(r"$J = \diag(f) - f f^\top$", r"$J = \diag(f)$")]),
    ("matrix-form", [(r"\bigl(W\layT{2} \delta\lay{2}\bigr) \odot \ind{a\lay{1} > 0}", r"\bigl(W\layT{2} \delta\lay{2}\bigr)")]),
    ("mini-batch", [(r"= \frac1n \Delta\layT{1} X", r"= \Delta\layT{1} X")]),
    ("style", [("terms $-f_kf_l$ change the gradient.", "terms $-f_kf_l$ change the gradient (the tests show the difference).")]),
    # Appendix B
    ("code-deltas", [(r"f \odot \bigl(u - \langle u, f\rangle\bigr)", r"f \odot (1 - f) \odot u")]),
    # rubric, title page, layout
    ("mistakes-match-rubric", [(r"\mistake{1.5.wrong_iterate}", "")]),
    ("title-page", [("(fill in the team number assigned on Moodle)", "")]),
    ("answers-pages", [(r"\subsection{Neural network theory}", r"\clearpage\null\clearpage\subsection{Neural network theory}")]),
    ("style", [(r"\cite[Sec.~4.3.4, eq.~(4.106)]{bishop}", r"\cite[Sec.~5.3]{bishop}")]),
]


def _mutate(source, edits):
    for old, new in edits:
        if source.count(old) != 1:
            raise ValueError(f"the text to edit must occur exactly once in theory.tex: {old!r} ({source.count(old)} times)")
        source = source.replace(old, new)
    return source


def _latex_missing():
    if shutil.which("pdflatex") is None or shutil.which("kpsewhich") is None:
        return "pdflatex is not installed"
    for sty in ("mathtools.sty", "longtable.sty", "enumitem.sty", "microtype.sty", "lmodern.sty", "mylatexformat.ltx"):
        if subprocess.run(["kpsewhich", sty], capture_output=True, text=True).stdout.strip() == "":
            return f"{sty} is not installed"
    return None


DUMP_END = r"\csname endofdump\endcsname"


def _pdflatex(folder, fmt=None):
    """One pdflatex run in ``folder``; with ``fmt`` (a format holding theory.tex's packages,
    the part of the preamble above DUMP_END) the packages are not read again."""
    args = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error"]
    env = dict(os.environ)
    if fmt is not None:
        args.append(f"-fmt={fmt.stem}")
        env["TEXFORMATS"] = f"{fmt.parent}:"
    return subprocess.run(args + ["theory.tex"], cwd=folder, capture_output=True, text=True, timeout=180, env=env)


def _build_mutants(folder):
    """Every mutation applied to a copy of theory/ under ``folder`` and its PDF rebuilt there,
    in parallel.  The packages (the preamble above DUMP_END) are dumped once into a format;
    the unedited copy is compiled twice with it (its .aux gives the mutants'
    cross-references); each mutant once, with the format (without, if the edit touches the
    dumped part).  Returns ``{index: (folder or None, CompletedProcess or error text)}``."""
    missing = _latex_missing()
    if missing:
        raise RuntimeError(f"LaTeX is needed to rebuild the mutated theory.pdf ({missing}): "
                           f"apt-get install {LATEX_PACKAGES}")
    base = folder / "base"
    base.mkdir()
    for name in ("theory.tex", "rubric.tex"):
        shutil.copy2(THEORY / name, base / name)
    shutil.copytree(FIGURES, base / "figures")
    fmt = base / "theoryfmt.fmt"
    dump = subprocess.run(["pdftex", "-ini", "-interaction=nonstopmode", "-jobname=theoryfmt", "&pdflatex",
                           "mylatexformat.ltx", "theory.tex"], cwd=base, capture_output=True, text=True, timeout=180)
    if dump.returncode != 0 or not fmt.is_file():
        raise RuntimeError(f"could not dump the preamble of theory.tex: {dump.stdout[-2000:]}")
    for _ in range(2):
        result = _pdflatex(base, fmt)
        if result.returncode != 0:
            raise RuntimeError(f"theory.tex does not compile: {result.stdout[-2000:]}")
    dumped = SOURCE[:SOURCE.index(DUMP_END)]
    builds, unusable, formats = {}, {}, {}
    for i, (_, edits) in enumerate(MUTATIONS):
        try:
            mutated = _mutate(SOURCE, edits)
        except ValueError as error:
            unusable[i] = str(error)
            continue
        builds[i] = folder / f"mutant{i}"
        builds[i].mkdir()
        for name in ("theory.aux", "rubric.tex"):
            shutil.copy2(base / name, builds[i] / name)
        (builds[i] / "figures").symlink_to(base / "figures")
        (builds[i] / "theory.tex").write_text(mutated, encoding="utf-8")
        formats[i] = fmt if mutated.startswith(dumped) else None
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = dict(zip(builds, pool.map(lambda i: _pdflatex(builds[i], formats[i]), builds)))
    return {i: (builds[i], results[i]) for i in builds} | {i: (None, error) for i, error in unusable.items()}


_MUTANTS = {}  # the background build: started before the module's first test when mutation tests are selected


@pytest.fixture(scope="module", autouse=True)
def _start_mutant_builds(request, tmp_path_factory):
    """Start rebuilding the mutants' PDFs in the background (pdflatex runs in subprocesses)
    while the other tests of this module run; test_check_rejects_... waits for them."""
    if any(item.name.startswith("test_check_rejects_wrong_edit") for item in request.session.items):
        executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mutant_builds")
        _MUTANTS["future"] = executor.submit(_build_mutants, tmp_path_factory.mktemp("theory_mutants"))
        executor.shutdown(wait=False)
    yield


@pytest.fixture(scope="session")
def mutant_builds(tmp_path_factory):
    future = _MUTANTS.get("future")
    try:
        return future.result() if future else _build_mutants(tmp_path_factory.mktemp("theory_mutants"))
    except RuntimeError as error:
        message = str(error)
    pytest.fail(message, pytrace=False)  # not skipped: CI must install LaTeX (see .ci/run)


@pytest.mark.parametrize("index", range(len(MUTATIONS)), ids=[f"{m[0]}-{i}" for i, m in enumerate(MUTATIONS)])
def test_check_rejects_wrong_edit_with_pdf_rebuilt(index, mutant_builds):
    name, edits = MUTATIONS[index]
    folder, build = mutant_builds[index]
    assert folder is not None, build
    assert build.returncode == 0, f"the mutated theory.tex does not compile: {build.stdout[-1500:]}"
    doc = Doc((folder / "theory.tex").read_text(encoding="utf-8"), folder / "theory.pdf")
    check_pdf_fresh(doc)  # the PDF is up to date: the staleness check cannot be what rejects it
    with pytest.raises(REJECTED):
        CHECKS[name](doc)


def test_readme_states_the_number_of_wrong_edits():
    theory = _section((ROOT / "README.md").read_text(encoding="utf-8"), "## Theory", "## Grading")
    assert f"applies {len(MUTATIONS)} wrong edits" in _flat(theory)


def test_every_check_rejects_some_wrong_edit():
    """Each check of theory.tex's content has at least one wrong edit it must reject."""
    rejected_by = {name for name, _ in MUTATIONS}
    exempt = {"sketch-figures", "macros", "rubric-schema", "rubric-tex", "rubric-in-pdf", "pdf-sections"}  # data, not tex
    assert set(CHECKS) - exempt <= rejected_by, sorted(set(CHECKS) - exempt - rejected_by)


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
