"""grade/review's pre-marks on short texts as pdftotext gives them (no PDFs: test_review.py runs them on
the fixture teams), their declarations (each id once, a check that strays fails loudly), and the
package's imports (no circle, none inside a function)."""

import ast
from pathlib import Path

import pytest

from grade.review import checks
from grade.review.checks import PREMARK_SETS, declared, premarks_for
from grade.review.premark import CANNOT, PremarkError, PremarkSet

REVIEW = Path(__file__).resolve().parents[1] / "grade" / "review"


def _premark(qid, lines, pid):
    located = {qid: {"found": True, "lines": [[1, t] for t in lines]}}
    return next(m for m in premarks_for(located)[qid] if m["id"] == pid)


@pytest.mark.parametrize("qid,lines,pid,verdict", [
    ("1.4", ["Choose g(z) = z, so h1 = (x1 + x2)2 and h2 = (x1 − x2)2."], "1.4.activation", "cannot tell"),
    ("1.4", ["We take g(z) = z (identity) and h1 = x1, h2 = x2."], "1.4.activation", "wrong"),
    ("1.5", ["w(r+1) = w(r) + ηΔw = w(r) − η ∂L/∂w"], "1.5.sign", "right"),
    ("1.5", ["w(r+1) = w(r) + η ∂L/∂w"], "1.5.sign", "wrong"),
    ("1.5", ["the learning rate η > 0 is small"], "1.5.sign", "cannot tell"),
    ("1.1", ["Saddle points: (0, 0), (0, 6), (6, 0); local minimum: (2, 2) with f(2, 2) = −8."], "1.1.classes", "right"),
    ("1.1", ["(0,0), (0,6), (2,2) are critical; (0,0) and (0,6) are saddle points, (2,2) a minimum."], "1.1.points", "wrong"),
    ("1.1", ["A common mistake is 2x + 2y − 6y. We get f_xy = 2x + 2y − 6."], "1.1.mixed_partial", "right"),
    ("1.5", ["w(r+1) = w(r) − η ∂L/∂w.", "Common mistakes. (i) w + η ∂L/∂w."], "1.5.sign", "right"),
    ("1.2", ["∂f/∂b = 1[b + xw > 0] and ∂f/∂w = x 1[b + xw > 0]"], "1.2.dw", "right"),
    ("1.2", ["For b + xw > 0, ∂f/∂b = 1 and ∂f/∂w = 1. For b + xw < 0 both derivatives are 0."], "1.2.dw", "wrong"),
    ("1.2", ["With z = b + xw, ∂z/∂b = 1 and ∂z/∂w = x; f is 0 if b + xw < 0"], "1.2.dw", "cannot tell"),
    # issue 26 (a): the determinant's line is not a value of f
    ("1.1", ["det Hf (2, 2) = 16 − 4 = 12,        f (2, 2) = 8 + 8 − 24 = −8."], "1.1.min_value", "right"),
    ("1.1", ["det Hf (2, 2) = 16 − 4 = 12 > 0, so (2, 2) is a local minimum."], "1.1.min_value", "cannot tell"),
    ("1.1", ["f(2,2) = 8 + 8 − 24", "       = −8"], "1.1.min_value", "right"),
    ("1.1", ["f(2,2) = 2 · 4 + 2 · 4 − 24 and so on"], "1.1.min_value", "cannot tell"),
    ("1.1", ["so (2, 2) is a local minimum with f (2, 2) = 8 + 8 24 = 8."], "1.1.min_value", "cannot tell"),  # minus lost
    ("1.1", ["f_x = 2xy − 6y; so (2, 2) is a local minimum with f (2, 2) = 8."], "1.1.min_value", "wrong"),
    # (b): f_xx's sign in words; a rule is not its use; det H alone only when nothing else is said
    ("1.1", ["(0,0), (0,6), (6,0): saddle points.", "Because 12 > 0 and the second derivative with respect to x is "
             "greater than 0, (2,2) is a local minimum."], "1.1.det_alone", "right"),
    ("1.1", ["(0,0), (0,6), (6,0): saddle points. If det H > 0 and f_xx > 0 the point is a minimum.",
             "det H(2,2) = 12 > 0, so (2,2) is a local minimum."], "1.1.det_alone", "cannot tell"),
    ("1.1", ["(0,0), (0,6), (6,0): saddle points. f_xx = 2y, f_yy = 2x.",
             "det H(2,2) = 12 > 0, so (2,2) is a local minimum."], "1.1.det_alone", "wrong"),
    # (c): a point that is not critical called the minimum
    ("1.1", ["(0, 0), (6, 0), (0, 6): saddle points. (3/2, 3): D = 9 > 0 and fxx = 6 > 0, so this is a local minimum."],
     "1.1.classes", "wrong"),
    ("1.1", ["(0, 0), (6, 0), (0, 6): saddle points."], "1.1.classes", "cannot tell"),
    # (d) and (e): the final formula's sums; X is a sum sign from LaTeX
    ("1.5", ["∂L/∂w = ∂L/∂f ∂f/∂a ∂a/∂h ∂h/∂a ∂a/∂w", "∂L/∂w = (f_k − y_k) f_k (1 − f_k) w_km w_mi x_j"],
     "1.5.sums", "wrong"),
    ("1.5", ["∂L/∂w = ∑_k ∑_l ∑_m ∂L/∂f_k ∂f_k/∂a_l ∂a_l/∂h_m ∂h_m/∂a_m ∂a_m/∂w",
             "∂L/∂w = ∑_m (f_k − y_k) f_k (δ_kl − f_l) w_lm w_mi x_j"], "1.5.sums", "cannot tell"),
    ("1.5", ["  ∂L        XX          X          [3]", "        =   (f_k − y_k)  f_k(δ_kl − f_l) w_lm w_mi x_j",
             "  ∂w        k   m       l"], "1.5.sums", "right"),
    ("1.5", ["  ∂L        XX          X          [3]", "        =   (f_k − y_k)  f_k(δ_kl − f_l) w_lm w_mi x_j"],
     "1.5.sums", "cannot tell"),  # sums whose index is not readable
], ids=["lost superscript", "linear", "w+ηΔw=w−η∂L/∂w", "+η", "no update", "class lists", "missed (6,0)",
        "a mistake quoted", "mistakes paragraph", "indicator", "prose", "inner derivatives",
        "(a) det beside f", "(a) det only", "value on the next line", "no final value", "minus lost", "+8",
        "(b) in words", "(b) a rule only", "(b) det alone", "(c) non-critical minimum", "(c) (2,2) unclassified",
        "(d) no sum at all", "(d) final sum over m only", "(e) X X with limits", "(e) X X without limits"])
def test_premark_garbling_cases(qid, lines, pid, verdict):
    """Short texts as pdftotext gives them: each pre-mark reads them right or says it cannot tell."""
    m = _premark(qid, lines, pid)
    assert m["verdict"] == verdict, m


def test_premark_ids_are_declared_once_and_checks_that_stray_fail_loudly(monkeypatch):
    ids = list(declared())
    assert len(ids) == len(set(ids)) == 13 and all(s.function for s in PREMARK_SETS)
    assert [s.question for s in PREMARK_SETS] == ["1.1", "1.2", "1.4", "1.5"]
    p = PremarkSet("1.9", {"known": ("a label", ("1.9.item",))})
    with pytest.raises(PremarkError, match=r"pre-mark '1.9.unknown' is not declared for question 1.9 \(declared: 1.9.known\)"):
        p.mark("unknown", CANNOT, None, "x")
    with pytest.raises(PremarkError, match="confidence must be one of high, medium, low. Received: 'sure'"):
        p.mark("known", "right", "sure", "x")
    # a check that gives an id twice, or leaves one out, breaks the report for every team: it raises
    s = PREMARK_SETS[0]
    monkeypatch.setattr(s, "function", lambda a: [s.mark("points", CANNOT, None, "x")] * 2)
    with pytest.raises(PremarkError, match=r"given twice \['1.1.points'\], left out \['1.1.classes'"):
        premarks_for({"1.1": {"found": True, "lines": [[1, "(0,0)"]]}})


def test_no_import_circle_and_no_import_inside_a_function():
    """grade/review's modules import each other at the top only, and the imports form no circle."""
    graph, inside = {}, []
    for path in sorted(REVIEW.glob("*.py")):
        tree = ast.parse(path.read_text())
        graph[path.stem] = {name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1
                            for name in ([n.module] if n.module else [a.name for a in n.names])}
        for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            inside += [f"{path.name}:{n.lineno}" for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not inside
    state = {}

    def visit(module, path):
        if state.get(module) == "open":
            raise AssertionError(f"import circle: {' -> '.join(path + [module])}")
        if state.get(module) != "done":
            state[module] = "open"
            for dep in graph.get(module, ()):
                visit(dep, path + [module])
            state[module] = "done"
    for module in graph:
        visit(module, [])
    assert graph["checks"] >= {"check_calculus", "check_relu", "check_networks"} and "checks" not in graph["premark"]
    assert checks.premarks_for is premarks_for
