"""theory/theory.tex checked by code: every stated result is read from the .tex and compared
with an independent reference.

Each marked block of theory.tex (``%@begin name`` ... ``%@end name``) is translated into
Python by ``tests/theory_tex.py`` and evaluated:

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

import ast
import concurrent.futures
import functools
import hashlib
import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import tomllib
import unicodedata
from pathlib import Path

import numpy as np
import pypdf
import pytest
import sympy as sp
import torch

from theory_tex import block, check_equations, equations, evaluate, expression

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


# =========================================================================== 1.1
def check_function(doc):
    chains = equations(doc.tex, "function", functions=["f"])
    assert [len(c) for c in chains] == [3], "expected: f(x,y) = expanded = factored"
    ref = sp.lambdify((x, y), F11)
    for px, py in _points(0):
        check_equations(chains, {"x": px, "y": py, "f": ref}, {}, reference=lambda c, idx: ref(px, py))


def check_gradient(doc):
    chains = equations(doc.tex, "gradient")
    assert [len(c) for c in chains] == [3], "expected: partials = expanded form = factored form"
    grad = [sp.lambdify((x, y), sp.diff(F11, v)) for v in (x, y)]
    for px, py in _points(1):
        ref = [g(px, py) for g in grad]
        variables = {"x": px, "y": py, ("d", "f", "x"): ref[0], ("d", "f", "y"): ref[1]}
        check_equations(chains, variables, {}, reference=lambda c, idx: ref)


def check_hessian(doc):
    chains = equations(doc.tex, "hessian")
    assert [len(c) for c in chains] == [2]
    hess = sp.lambdify((x, y), sp.hessian(F11, (x, y)))
    for px, py in _points(2):
        ref = np.array(hess(px, py), dtype=float)
        variables = {"x": px, "y": py, "f_xx": ref[0, 0], "f_xy": ref[0, 1], "f_yx": ref[1, 0], "f_yy": ref[1, 1]}
        check_equations(chains, variables, {}, reference=lambda c, idx: ref)


def _critical_points():
    grad = [sp.diff(F11, v) for v in (x, y)]
    return {(int(s[x]), int(s[y])) for s in sp.solve(grad, [x, y], dict=True)}


def _value(code, **variables):
    return float(evaluate(code, variables))


def _branches(tex):
    """``{name: y(x) as code}`` from the items ``\\item $y = ...$: ... %@begin step-name``."""
    found = re.findall(r"\\item \$y = ([^$]+)\$: the second component becomes\s*\n%@begin step-(\S+)", tex)
    assert found, "the items of the critical-point search are not found"
    return {name: expression(rhs) for rhs, name in found}


def check_critical_derivation(doc):
    """Each step: the factor of the first component that vanishes, the second component
    with it substituted (every part of the chain, ending in ``= 0``), its roots, the points;
    all steps together give exactly sympy's critical points, as many as the text says."""
    tex = doc.tex
    fx, fy = sp.diff(F11, x), sp.diff(F11, y)
    rng = np.random.default_rng(11)
    first = [expression(rhs) for rhs in _math_items(block(tex, "roots-first", math_only=False), "y")]
    for px in rng.uniform(-4, 4, 5):  # the stated y(x) are exactly the roots in y of f_x
        stated = sorted(_value(c, x=px) for c in first)
        roots = sorted(float(r.subs(x, px)) for r in sp.solve(fx, y))
        assert np.allclose(stated, roots), f"roots of f_x in y at x={px}: stated {stated}, sympy {roots}"
    branches = _branches(tex)
    assert len(branches) == len(first)
    all_points = set()
    for name, y_of_x in branches.items():
        assert any(all(np.isclose(_value(y_of_x, x=px), _value(c, x=px)) for px in (-1.3, 0.7, 2.9)) for c in first), \
            f"the item y = ... of step-{name} is not a root of the first component"
        chain = equations(tex, f"step-{name}")
        assert len(chain) == 1 and chain[0][-1] == "0", f"step-{name}: a chain ending in = 0"
        for px in rng.uniform(-4, 4, 5):
            ref = float(fy.subs({x: px, y: _value(y_of_x, x=px)}))
            check_equations([chain[0][:-1]], {"x": px}, {}, reference=lambda c, idx: ref)
        y_sym = sp.sympify(evaluate(y_of_x, {"x": x}))
        roots_ref = sorted(float(r) for r in sp.solve(fy.subs(y, y_sym), x))
        stated_roots = sorted(_value(expression(r)) for r in _math_items(block(tex, f"roots-{name}", math_only=False), "x"))
        assert stated_roots == roots_ref, f"roots-{name}: stated {stated_roots}, sympy {roots_ref}"
        stated_points = {(int(a), int(b)) for a, b in
                         re.findall(r"\((-?\d+),\s*(-?\d+)\)", block(tex, f"points-{name}", math_only=False))}
        expected = {(round(r), round(_value(y_of_x, x=r))) for r in roots_ref}
        assert stated_points == expected, f"points-{name}: stated {stated_points}, expected {expected}"
        all_points |= stated_points
    assert all_points == _critical_points(), f"the steps give {sorted(all_points)}"
    count = re.search(r"These (\w+) are all the critical points", _flat(tex))
    assert count and count.group(1) == {4: "four"}.get(len(all_points)), "the number of critical points in words"


def _fmt(v):
    return f"{v:.2f}".replace("-0.00", "0.00")


def _expected_row(p):
    """The row of the critical-point table for point ``p``, every cell in full."""
    H = sp.hessian(F11, (x, y)).subs({x: p[0], y: p[1]})
    det = float(H.det())
    eigs = sorted(float(sp.N(e)) for e, mult in H.eigenvals().items() for _ in range(mult))
    fxx = int(H[0, 0])
    if det < 0:
        kind = "saddle point"
    elif det > 0:
        kind = (f"local minimum ($f_{{xx}} = {fxx} > 0$)" if fxx > 0
                else f"local maximum ($f_{{xx}} = {fxx} < 0$)")
    else:
        kind = "inconclusive"
    hess = r"$\begin{psmallmatrix} " + " & ".join(str(int(v)) for v in H[0, :]) + r" \\ " + \
        " & ".join(str(int(v)) for v in H[1, :]) + r" \end{psmallmatrix}$"
    value = float(F11.subs({x: p[0], y: p[1]}))
    return [f"$({p[0]},{p[1]})$", hess, f"${_fmt(det)}$", rf"${_fmt(eigs[0])},\ {_fmt(eigs[1])}$", kind,
            f"${_fmt(value)}$"]


def check_critical_points(doc):
    """The table: one row per critical point, every cell exactly as sympy's second-derivative
    test gives it (two decimals, as the problem asks)."""
    rows = [line.strip() for line in block(doc.tex, "critical-points", math_only=False).strip().splitlines()]
    got = {}
    for line in rows:
        assert line.endswith(r"\\"), line
        matrices = re.findall(r"\$\\begin\{psmallmatrix\}.*?\\end\{psmallmatrix\}\$", line)
        protected = re.sub(r"\$\\begin\{psmallmatrix\}.*?\\end\{psmallmatrix\}\$", "MATRIX", line[:-2])
        cells = [_flat(c).strip() for c in protected.split("&")]
        cells = [_flat(matrices.pop(0)) if c == "MATRIX" else c for c in cells]
        m = re.fullmatch(r"\$\((-?\d+),(-?\d+)\)\$", cells[0])
        assert m, f"unreadable point cell {cells[0]!r}"
        got[(int(m.group(1)), int(m.group(2)))] = cells
    assert set(got) == _critical_points(), f"the table lists {sorted(got)}"
    for p, cells in got.items():
        assert cells == _expected_row(p), f"row {p}: {cells} != {_expected_row(p)}"


def check_diagonal(doc):
    chains = equations(doc.tex, "diagonal", functions=["f"])
    assert [len(c) for c in chains] == [2]
    ref = sp.lambdify((x, y), F11)
    for t in np.linspace(-3, 4, 8):
        check_equations(chains, {"t": t, "f": ref}, {}, reference=lambda c, idx: ref(t, t))
    m = re.search(r"which tends to \$([+-])\\infty\$ as \$t \\to -\\infty\$ \(and to \$([+-])\\infty\$ as "
                  r"\$t \\to \+\\infty\$\)", _flat(doc.tex))
    assert m, "the limits along the diagonal"
    poly = chains[0][1]
    for sign, t in zip(m.groups(), (-1e4, 1e4)):
        assert np.sign(_value(poly, t=t)) == (1 if sign == "+" else -1), (sign, t)


# =========================================================================== 1.2
def _relu(b, w, xx):
    return max(0.0, b + xx * w)


def check_inner_derivatives(doc):
    chains = equations(doc.tex, "inner-derivatives")
    assert [len(c) for c in chains] == [2, 2]
    for b, w, xx in np.random.default_rng(10).normal(size=(5, 3)):
        eps = 1e-6
        ref = [((b + eps + xx * w) - (b - eps + xx * w)) / (2 * eps), ((b + xx * (w + eps)) - (b + xx * (w - eps))) / (2 * eps)]
        variables = {"x": xx, ("d", "z", "b"): ref[0], ("d", "z", "w"): ref[1]}
        check_equations(chains, variables, {}, reference=lambda c, idx: ref[c], atol=1e-6)


def check_relu_gradient(doc):
    chains = equations(doc.tex, "relu-gradient", functions=["relu_prime"])
    assert [len(c) for c in chains] == [3]
    rng = np.random.default_rng(12)
    signs = set()
    for b, w, xx in rng.normal(size=(40, 3)):
        if abs(b + xx * w) < 1e-3:
            continue
        eps = 1e-6
        ref = [(_relu(b + eps, w, xx) - _relu(b - eps, w, xx)) / (2 * eps),
               (_relu(b, w + eps, xx) - _relu(b, w - eps, xx)) / (2 * eps)]
        signs.add(b + xx * w > 0)
        variables = {"b": b, "w": w, "x": xx, "z": b + xx * w, "relu_prime": lambda z: float(z > 0),
                     ("d", "f", "b"): ref[0], ("d", "f", "w"): ref[1]}
        check_equations(chains, variables, {}, reference=lambda c, idx: ref, atol=1e-6)
    assert signs == {True, False}  # both cases were exercised


def check_relu_one_sided(doc):
    """phi(t) = f(b + t, w + t x) at a kink: the stated left and right derivatives against
    one-sided finite differences."""
    text = block(doc.tex, "relu-one-sided", math_only=False)
    stated = dict(re.findall(r"\$\\varphi'_([-+])\(0\) = ([^$]+)\$", text))
    assert set(stated) == {"-", "+"}, f"expected phi'_-(0) and phi'_+(0): {text!r}"
    rng = np.random.default_rng(15)
    for w, xx in rng.normal(size=(8, 2)) * 2:
        b = -xx * w  # on the kink
        h = 1e-7
        ref = {"-": (_relu(b, w, xx) - _relu(b - h, w - h * xx, xx)) / h,
               "+": (_relu(b + h, w + h * xx, xx) - _relu(b, w, xx)) / h}
        for side, rhs in stated.items():
            assert np.isclose(_value(expression(rhs), x=xx), ref[side], atol=1e-5), (side, rhs, xx, ref[side])


def check_relu_subdifferential(doc):
    """The set {s v : s in [lo, hi]} is exactly the set of subgradients at a kink:
    f(q) >= f(p) + g . (q - p) for all q holds for the stated ones and fails just outside."""
    text = block(doc.tex, "relu-subdifferential")
    m = re.search(r"\\\{\s*(?:\\,)?\s*s\s*(?:\\,)?\s*(.+?)\s*:\s*s \\in \[([^,\]]+),([^\]]+)\]", text, re.S)
    assert m, f"expected {{ s (vector) : s in [lo, hi] }}: {text!r}"
    vector, lo, hi = expression(m.group(1)), _value(expression(m.group(2))), _value(expression(m.group(3)))
    rng = np.random.default_rng(16)
    for w, xx in rng.normal(size=(6, 2)) * 2:
        b = -xx * w
        v = np.ravel(evaluate(vector, {"x": xx})).astype(float)
        along, normal = np.array([1.0, xx]), np.array([-xx, 1.0])
        steps = np.concatenate([rng.normal(size=(300, 2)) * 3, [along, -along, normal, -normal]])

        def is_subgradient(g):
            return all(_relu(b + db, w + dw, xx) >= _relu(b, w, xx) + g @ np.array([db, dw]) - 1e-9 for db, dw in steps)

        for s in np.linspace(lo, hi, 5):
            assert is_subgradient(s * v), f"s = {s}: {s * v} is not a subgradient at a kink (x = {xx})"
        for s in (lo - 0.05, hi + 0.05):
            assert not is_subgradient(s * v), f"s = {s} outside the stated interval is a subgradient too"
        assert not is_subgradient(0.5 * along + 0.05 * normal), "a subgradient off the direction (1, x)"


def check_relu_convention(doc):
    """The gradient used in practice, everywhere including the kink, equals PyTorch's; and the
    text's convention s = 0 lies in the subdifferential and gives it."""
    chains = equations(doc.tex, "relu-convention")
    assert [len(c) for c in chains] == [1]
    rng = np.random.default_rng(13)
    cases = [(b, w, xx) for b, w, xx in rng.normal(size=(20, 3))] + [(1.5, -0.5, 3.0), (-2.0, 1.0, 2.0)]
    for b, w, xx in cases:  # the last two sit exactly on the kink b + x w = 0
        bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        torch.relu(bt + xx * wt).backward()
        ref = [bt.grad.item(), wt.grad.item()]
        check_equations(chains, {"b": b, "w": w, "x": xx}, {}, reference=lambda c, idx: ref)
    m = re.search(r"is \$s = (-?\d+)\$, i\.e\.\\ \$\\relu'\(0\) = (-?\d+)\$", _flat(doc.tex))
    zero = torch.zeros((), dtype=torch.float64, requires_grad=True)
    torch.relu(zero).backward()
    assert m and int(m.group(1)) == int(m.group(2)) == zero.grad.item(), "the convention is PyTorch's value at 0"
    text = block(doc.tex, "relu-subdifferential")
    lo, hi = re.search(r"s \\in \[([^,\]]+),([^\]]+)\]", text).groups()
    assert _value(expression(lo)) <= int(m.group(1)) <= _value(expression(hi))


# =========================================================================== 1.3: the sketches
SKETCHES = RESULTS["sketches"]


def _curve(sketch, label):
    return np.array(SKETCHES[sketch]["curves"][label])


def _direction(values):
    d = np.diff(values)
    return "rises" if np.all(d > 0) else "falls" if np.all(d < 0) else "neither"


def _u_shaped(values):
    i = int(np.argmin(values))
    return 0 < i < len(values) - 1 and np.all(np.diff(values[:i + 1]) <= 1e-9) and values[-1] > values[i] + 0.05


def _noisy_u(values, smooth=15):
    """Falls, reaches a minimum inside and rises, after a moving average (the validation
    curve is noisy on purpose)."""
    v = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
    i = int(np.argmin(v))
    return 0 < i < len(v) - 1 and v[0] > v[i] + 0.1 and v[-1] > v[i] + 0.05


def _diminishing(values, part=50):
    """Steep first, flat last: the mean step of the first ``part`` points is over three times
    that of the last."""
    steps = np.abs(np.diff(values))
    return np.mean(steps[:part]) > 3 * np.mean(steps[-part:])


def _arrow_spans_gap(sketch):
    """The gap arrow runs from the training curve to the test curve at its x."""
    arrow = sketch["marks"]["gap_arrow"]
    ends = [np.interp(arrow["x"], sketch["x"], sketch["curves"][label]) for label in ("training error", "test error")]
    return np.allclose([arrow["from"], arrow["to"]], ends, atol=1e-3)


SIZE, CX, EP = "sketch_size.pdf", "sketch_complexity.pdf", "sketch_epochs.pdf"
# Each sentence (a regex on the flattened source, direction words captured) and its test on
# the recorded sketch: a direction word must be the one the curve shows.
SKETCH_CLAIMS = [
    (r"The \\emph\{training error (rises|falls)\} with the training-set size",
     lambda w: w == _direction(_curve(SIZE, "training error"))),
    (r"a few points can be fitted exactly \(zero training error\)",
     lambda: _curve(SIZE, "training error")[0] < 0.03),
    (r"The \\emph\{test error (rises|falls)\} with the training-set size, quickly at first, then\s+with "
     r"diminishing returns",
     lambda w: w == _direction(_curve(SIZE, "test error")) and _diminishing(_curve(SIZE, "test error"))),
    (r"The test error stays above the training error, and the gap between them shrinks",
     lambda: (np.all(_curve(SIZE, "test error") > _curve(SIZE, "training error"))
              and _direction(_curve(SIZE, "test error") - _curve(SIZE, "training error")) == "falls")),
    (r"both approach a common level, the best error this model can reach, at or above the Bayes error",
     lambda: (min(_curve(SIZE, "training error")[-1], _curve(SIZE, "test error")[-1]) >= SKETCHES[SIZE]["bayes"]
              and (_curve(SIZE, "test error") - _curve(SIZE, "training error"))[-1]
              < 0.25 * (_curve(SIZE, "test error") - _curve(SIZE, "training error"))[0])),
    (r"the arrow the gap between them", lambda: _arrow_spans_gap(SKETCHES[SIZE])),
    (r"The \\emph\{training error (rises|falls)\} as the model becomes more complex, towards zero",
     lambda w: w == _direction(_curve(CX, "training error")) and _curve(CX, "training error")[-1] < 0.05),
    (r"The \\emph\{test error falls, reaches a minimum and\s+rises\}", lambda: _u_shaped(_curve(CX, "test error"))),
    (r"The most complex model the data support sits at\s+the minimum of the test error \(vertical line\); the "
     r"\$x\$-range puts it in the middle",
     lambda: (np.isclose(SKETCHES[CX]["marks"]["line"], SKETCHES[CX]["x"][int(np.argmin(_curve(CX, "test error")))], atol=1e-3)
              and 1 / 3 <= SKETCHES[CX]["marks"]["line"] <= 2 / 3)),
    (r"The \\emph\{training error (rises|falls)\} with the epochs",
     lambda w: w == _direction(_curve(EP, "training error"))),
    (r"The \\emph\{validation and test errors fall,\s+reach a minimum and rise\}",
     lambda: _u_shaped(_curve(EP, "test error")) and _noisy_u(_curve(EP, "validation error"))),
    (r"The validation error scatters around the test error, without an offset",
     lambda: (abs(np.mean(_curve(EP, "validation error") - _curve(EP, "test error"))) < 0.005
              and np.any(_curve(EP, "validation error") > _curve(EP, "test error"))
              and np.any(_curve(EP, "validation error") < _curve(EP, "test error")))),
    (r"the star and the dotted line mark the epoch with\s+the least validation error",
     lambda: np.isclose(SKETCHES[EP]["marks"]["stop"], SKETCHES[EP]["x"][int(np.argmin(_curve(EP, "validation error")))],
                        atol=1e-3)),
]


def check_sketch_answers(doc):
    flat = _flat(doc.tex)
    for pattern, holds in SKETCH_CLAIMS:
        m = re.search(pattern, flat)
        assert m, f"theory.tex no longer says: {pattern!r}"
        assert holds(*m.groups()), f"the sketch contradicts: {m.group(0)!r}"


def check_sketch_figures(doc):
    """Every sketch: zero marked (its only number), the axis words, the same curve names as
    the text, the dashed Bayes line labelled alike; each caption says how to read it."""
    figures = _module("theory_figures", THEORY / "figures.py")
    for name, sketch in SKETCHES.items():
        texts = set(sketch["texts"])
        assert {figures.ZERO, figures.Y_LABEL, figures.BAYES, figures.TRAIN, figures.TEST} <= texts, name
        assert any(t.endswith("(increasing rightwards)") for t in texts), name
        assert [t for t in texts if re.search(r"\d", t)] == [figures.ZERO], f"{name}: numbers other than the zero"
    assert figures.VAL in SKETCHES[EP]["texts"]
    for label in ("sketch-size", "sketch-complexity", "sketch-epochs"):
        caption = re.search(r"\\caption\{((?:[^{}]|\{[^{}]*\})*)\}\s*\\label\{fig:" + label + r"\}", doc.tex).group(1)
        assert "Read it" in caption and "dashed grey: the best possible error (Bayes error)" in _flat(caption), label


def check_dashed_line_meaning(doc):
    """One meaning for the dashed grey line: the best possible error (Bayes error)."""
    flat = _flat(_body(doc.tex))
    for m in re.finditer(r"dashed grey", flat):
        assert re.match(r"dashed grey(:| line is| line,)? (the )?best possible error \(Bayes error\)", flat[m.start():]), \
            flat[m.start():m.start() + 80]
    figures = _module("theory_figures", THEORY / "figures.py")
    for name, report in RESULTS["layout"].items():
        if name.startswith("error_vs"):
            assert f"{figures.BAYES}, {100 * RESULTS['best_possible_error']:g} % expected" in report["texts"], name


# =========================================================================== 1.3: the measured curves (Appendix A)
def _pct1(v):
    return f"{100 * v:.1f}"


def _macro_values(r):
    """The value each number macro of theory.tex must have, computed here from results.json
    (independently of figures.latex_macros)."""
    sz, cx, ep = r["size"], r["complexity"], r["epochs"]
    ci = cx["hidden_units"].index(cx["chosen_hidden"])
    sizes_reps, cx_reps, ep_reps = sz["repeats"], cx["repeats"], ep["repeats"]
    mean = lambda reps, key: np.mean([rep[key] for rep in reps], axis=0)  # noqa: E731
    cx_rise = [rep["test_error"][-1] - rep["test_error"][ci] for rep in cx_reps]
    stops = [int(np.argmin(rep["val_error"])) + 1 for rep in ep_reps]
    ep_rise = [rep["test_error"][-1] - rep["test_error"][s - 1] for rep, s in zip(ep_reps, stops)]
    argmins = sorted({cx["hidden_units"][int(np.argmin(rep["val_error"]))] for rep in cx_reps})
    stop = int(np.argmin(mean(ep_reps, "val_error"))) + 1
    wide = mean(cx_reps, "train_error")[ci:]
    widths = cx["hidden_units"]
    return {
        "NDigits": f"{r['n_digits']:,}", "NTest": f"{r['n_test']:,}", "NVal": f"{r['n_val']:,}",
        "NPool": f"{r['n_pool']:,}", "LabelNoise": f"{100 * r['label_noise']:g}",
        "BestPossible": f"{100 * r['label_noise'] * (r['n_classes'] - 1) / r['n_classes']:g}",
        "NComponents": str(r["n_components"]), "InputStd": f"{r['input_std']:g}",
        "BatchSize": str(r["batch_size"]), "LearningRate": f"{r['learning_rate']:g}",
        "WrongPool": _pct1(r["wrong_share"]["pool"]), "WrongVal": _pct1(r["wrong_share"]["val"]),
        "WrongTest": _pct1(r["wrong_share"]["test"]),
        "PlateauEpochs": str(sz["plateau_epochs"]), "PlateauSamples": f"{sz['plateau_samples']:,}",
        "PlateauTol": f"{100 * sz['plateau_tol']:g}", "SizeHidden": str(sz["hidden"]),
        "SizeRepeats": str(len(sizes_reps)), "SizeFirstN": f"{sz['train_sizes'][0]:,}",
        "SizeLastN": f"{sz['train_sizes'][-1]:,}",
        "SizeFirstTrainErr": _pct1(mean(sizes_reps, "train_error")[0]),
        "SizeLastTrainErr": _pct1(mean(sizes_reps, "train_error")[-1]),
        "SizeFirstTestErr": _pct1(mean(sizes_reps, "test_error")[0]),
        "SizeLastTestErr": _pct1(mean(sizes_reps, "test_error")[-1]),
        "SizeMinEpochs": f"{min(min(rep['epochs']) for rep in sizes_reps):,}",
        "SizeMaxEpochs": f"{max(max(rep['epochs']) for rep in sizes_reps):,}",
        "SizeFirstWrongMin": str(min(rep["wrong_labels"][0] for rep in sizes_reps)),
        "SizeFirstWrongMax": str(max(rep["wrong_labels"][0] for rep in sizes_reps)),
        "CxN": f"{cx['n_train']:,}", "CxRepeats": str(len(cx_reps)),
        "CxMinEpochs": f"{min(min(rep['epochs']) for rep in cx_reps):,}",
        "CxMaxEpochs": f"{max(max(rep['epochs']) for rep in cx_reps):,}",
        "CxFirst": str(cx["hidden_units"][0]), "CxLargest": str(cx["hidden_units"][-1]),
        "ChosenHidden": str(cx["hidden_units"][int(np.argmin(mean(cx_reps, "val_error")))]),
        "CxChosenTestErr": _pct1(mean(cx_reps, "test_error")[ci]),
        "CxChosenValErr": _pct1(mean(cx_reps, "val_error")[ci]),
        "CxFirstTestErr": _pct1(mean(cx_reps, "test_error")[0]),
        "CxLargestTestErr": _pct1(mean(cx_reps, "test_error")[-1]),
        "CxWideTrainMin": _pct1(min(wide)), "CxWideTrainMax": _pct1(max(wide)),
        "CxRiseIn": (f"all {len(cx_rise)}" if min(cx_rise) > 0 else f"{sum(d > 0 for d in cx_rise)} of {len(cx_rise)}"),
        "CxRiseMin": _pct1(min(d for d in cx_rise if d > 0)), "CxRiseMax": _pct1(max(cx_rise)),
        "CxArgmins": ", ".join(f"{v:,}" for v in argmins[:-1]) + (" or " if len(argmins) > 1 else "") + f"{argmins[-1]:,}",
        "CxChosenPosition": f"{100 * math.log(cx['chosen_hidden'] / widths[0]) / math.log(widths[-1] / widths[0]):.0f}",
        "EpN": f"{ep['n_train']:,}", "EpHidden": str(ep["hidden"]), "EpMax": str(len(ep_reps[0]["train_error"])),
        "EpRepeats": str(len(ep_reps)), "StopEpoch": str(stop), "StopMin": str(min(stops)), "StopMax": str(max(stops)),
        "StopValErr": _pct1(mean(ep_reps, "val_error")[stop - 1]),
        "RiseMin": _pct1(min(ep_rise)), "RiseMax": _pct1(max(ep_rise)),
        "EndTrainErr": _pct1(mean(ep_reps, "train_error")[-1]),
    }


MACROS = _macro_values(RESULTS)


def _results_tex_macros():
    text = (FIGURES / "results.tex").read_text()
    return dict(re.findall(r"\\newcommand\{\\(\w+)\}\{([^}]*)\}", text))


def check_macros(doc):
    """Every number macro used in the text has the value computed here from results.json,
    and results.tex defines exactly the macros the text uses."""
    defined = _results_tex_macros()
    used = set(re.findall(r"\\([A-Z]\w+)", _body(doc.tex))) & set(defined)
    assert used == set(defined), f"defined but unused: {sorted(set(defined) - used)}"
    assert set(MACROS) == set(defined), f"not checked here: {sorted(set(defined) ^ set(MACROS))}"
    for name, value in MACROS.items():
        assert defined[name] == value, f"\\{name} is {defined[name]!r}, results.json gives {value!r}"


def _reps(r, part):
    return r[part]["repeats"]


# Each sentence of Appendix A that describes data (flattened source, macros as written) and
# what it claims of results.json.
CLAIMS = {
    "The training error never falls from one size to the next in any repetition":
        lambda r: all(np.all(np.diff(rep["train_error"]) >= 0) and rep["train_error"][-1] > rep["train_error"][0]
                      for rep in _reps(r, "size")),
    "its mean rises from \\SizeFirstTrainErr\\,\\% with \\SizeFirstN{} digits to \\SizeLastTrainErr\\,\\% with \\SizeLastN{}":
        lambda r: r["size"]["train_error_mean"][-1] > r["size"]["train_error_mean"][0],
    "The test error falls at every step of the size in every repetition":
        lambda r: all(np.all(np.diff(rep["test_error"]) < 0) for rep in _reps(r, "size")),
    "and it is above the training error at every size":
        lambda r: all(np.all(np.array(rep["test_error"]) > np.array(rep["train_error"])) for rep in _reps(r, "size")),
    "digits the training error is zero in every repetition although \\SizeFirstWrongMin{} to "
    "\\SizeFirstWrongMax{} of their labels are wrong":
        lambda r: all(rep["train_error"][0] == 0 and rep["wrong_labels"][0] > 0 for rep in _reps(r, "size")),
    "At \\SizeLastN{} digits the mean curves are still apart":
        lambda r: r["size"]["test_error_mean"][-1] - r["size"]["train_error_mean"][-1] > 0.03,
    "every size trained to its plateau":
        lambda r: all(all(rep["stopped_at_plateau"]) for rep in _reps(r, "size")),
    "every width trained to its plateau":
        lambda r: all(all(rep["stopped_at_plateau"]) for rep in _reps(r, "complexity")),
    "by less than \\PlateauTol{} percentage points":
        lambda r: r["size"]["plateau_tol"] == 0.005,
    "The least mean validation error, \\CxChosenValErr\\,\\%, is at \\ChosenHidden{} units":
        lambda r: r["complexity"]["chosen_hidden"]
        == r["complexity"]["hidden_units"][int(np.argmin(r["complexity"]["val_error_mean"]))],
    "the line sits \\CxChosenPosition\\,\\% of the way along the axis":
        lambda r: 0.2 <= r["complexity"]["chosen_position"] <= 0.8,
    "Left of it the networks underfit: the mean training and test errors both fall as units are added":
        lambda r: all(np.all(np.diff(r["complexity"][k][:_chosen(r) + 1]) < 0) for k in ("train_error_mean", "test_error_mean")),
    "(chance level)":
        lambda r: abs(r["complexity"]["test_error_mean"][0] - 0.9) < 0.02,
    "from \\ChosenHidden{} units on the mean training error stays between \\CxWideTrainMin\\,\\% and \\CxWideTrainMax\\,\\%":
        lambda r: np.ptp(r["complexity"]["train_error_mean"][_chosen(r):]) < 0.02
        and r["complexity"]["train_error_mean"][_chosen(r)] < r["complexity"]["train_error_mean"][0] - 0.5,
    "and the mean test error rises only to \\CxLargestTestErr\\,\\% with \\CxLargest{} units":
        lambda r: 0 < r["complexity"]["test_error_mean"][-1] - r["complexity"]["test_error_mean"][
            r["complexity"]["hidden_units"].index(r["complexity"]["chosen_hidden"])] < 0.05,
    "It is higher with \\CxLargest{} than with \\ChosenHidden{} units in \\CxRiseIn{} repetitions":
        lambda r: any(rep["test_error"][-1] > rep["test_error"][_chosen(r)] for rep in _reps(r, "complexity")),
    "these data locate the most complex model they support only roughly":
        lambda r: len({int(np.argmin(rep["val_error"])) for rep in _reps(r, "complexity")}) > 1,
    "The mean validation error is least at epoch \\StopEpoch{}":
        lambda r: r["epochs"]["stop_epoch"] == int(np.argmin(r["epochs"]["val_error_mean"])) + 1,
    "In every repetition the test error after \\EpMax{} epochs is higher than at that repetition's own stopping epoch":
        lambda r: all(rep["test_error"][-1] > rep["test_error"][rep["stop_epoch"] - 1] for rep in _reps(r, "epochs")),
    "while its training error is lower":
        lambda r: all(rep["train_error"][-1] < rep["train_error"][rep["stop_epoch"] - 1] for rep in _reps(r, "epochs")),
    "Early stopping thus returns weights with less test error in every repetition":
        lambda r: all(rep["test_error"][rep["stop_epoch"] - 1] < rep["test_error"][-1] for rep in _reps(r, "epochs")),
    "the gain is small here because the held-out errors level off instead of rising steeply":
        lambda r: 0 < max(rep["test_error"][-1] - rep["test_error"][rep["stop_epoch"] - 1] for rep in _reps(r, "epochs")) < 0.05,
}


def check_measured_claims(doc):
    flat = _flat(doc.tex)
    for sentence, holds in CLAIMS.items():
        assert sentence in flat, f"theory.tex no longer says: {sentence!r}"
        assert holds(RESULTS), f"results.json contradicts: {sentence!r}"


def check_best_possible(doc):
    """``noise % x (K-1)/K = best %``: the expected share of wrong labels."""
    text = block(doc.tex, "best-possible", math_only=False)
    m = re.fullmatch(r"\s*\$\\LabelNoise\\,\\% \\times (\d+)/(\d+) = \\BestPossible\\,\\%\$\s*", text)
    assert m, f"unreadable: {text!r}"
    k = RESULTS["n_classes"]
    assert (int(m.group(1)), int(m.group(2))) == (k - 1, k), "a random class is wrong (K-1)/K of the time"
    assert float(MACROS["LabelNoise"]) * int(m.group(1)) / int(m.group(2)) == float(MACROS["BestPossible"])
    assert RESULTS["best_possible_error"] == pytest.approx(RESULTS["label_noise"] * (k - 1) / k)


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


# =========================================================================== 1.4
def _defined_function(tex, name, letter):
    """The function ``letter(z) = ...`` stated in block ``name``."""
    chains = equations(tex, name, functions=[letter])
    assert len(chains) == 1 and len(chains[0]) == 2, f"block {name}: expected `{letter}(z) = ...`"
    return lambda z: evaluate(chains[0][1], {"z": z})


def _last_parts(tex, name, variables):
    return [evaluate(chain[-1], variables) for chain in equations(tex, name)]


def check_1_4(doc):
    tex = doc.tex
    g = _defined_function(tex, "hidden-activation", "g")
    o = _defined_function(tex, "output-activation", "o")
    rng = np.random.default_rng(14)
    for _ in range(25):
        beta0, beta1 = rng.normal(scale=2, size=2)
        x1, x2 = rng.normal(scale=1.5, size=2)
        target = 1 / (1 + np.exp(-(beta0 + beta1 * x1 * x2)))  # logistic regression on x1 x2
        params = {"beta_0": beta0, "beta_1": beta1}
        W1, b1 = (np.asarray(v, dtype=float) for v in _last_parts(tex, "hidden-weights", params))
        w2, b2 = (np.asarray(v, dtype=float) for v in _last_parts(tex, "output-weights", params))
        h = g(W1 @ np.array([[x1], [x2]]) + b1)
        out = o(w2 @ h + b2)
        assert np.allclose(out, target, rtol=1e-10, atol=1e-12), "the stated weights do not give logistic(b0 + b1 x1 x2)"
        variables = {"x_1": x1, "x_2": x2, "g": g, "o": o, "h_1": h[0, 0], "h_2": h[1, 0], "w2": w2,
                     "b2": float(b2), **params}
        check_equations(equations(tex, "hidden-units", functions=["g"]), variables, {})
        check_equations(equations(tex, "output", functions=["o"]), variables, {},
                        reference=lambda c, idx: target, atol=1e-10)


def check_identity(doc):
    chains = equations(doc.tex, "identity")
    assert [len(c) for c in chains] == [3]
    for x1, x2 in np.random.default_rng(17).normal(size=(6, 2)) * 2:
        check_equations(chains, {"x_1": x1, "x_2": x2}, {}, reference=lambda c, idx: 4 * x1 * x2)


def check_linear_g(doc):
    """With the stated linear g, the stated output argument, for symbolic weights, has a zero
    mixed derivative (it is affine in x1, x2), while beta_0 + beta_1 x1 x2 has beta_1."""
    x1, x2, c, d = sp.symbols("x_1 x_2 c d")
    g_chain = equations(doc.tex, "linear-g", functions=["g"])
    assert len(g_chain) == 1 and len(g_chain[0]) == 2
    g = lambda z: evaluate(g_chain[0][1], {"z": z, "c": c, "d": d})  # noqa: E731
    w1 = np.array(sp.symbols("w11 w12 w21 w22"), dtype=object).reshape(2, 2)
    b1, w2 = np.array(sp.symbols("b1_1 b1_2"), dtype=object), np.array(sp.symbols("w2_1 w2_2"), dtype=object)
    b2 = sp.Symbol("b2")
    (code,), = equations(doc.tex, "linear-g-output", functions=["g"])
    out = sp.expand(evaluate(code, {"x_1": x1, "x_2": x2, "g": g, "w1": w1, "b1": b1, "w2": w2, "b2": b2}))
    assert out.free_symbols >= {x1, x2} | set(w1.ravel()), "the argument uses every weight and both inputs"
    assert all(sp.diff(out, u, v) == 0 for u in (x1, x2) for v in (x1, x2)), f"not affine in x: {out}"
    beta0, beta1 = sp.symbols("beta_0 beta_1")
    assert sp.diff(beta0 + beta1 * x1 * x2, x1, x2) == beta1
    flat = _flat(doc.tex)
    assert ("its mixed derivative $\\partial^2/\\partial x_1\\partial x_2$ is $0$, "
            "that of $\\beta_0 + \\beta_1 x_1x_2$ is $\\beta_1$") in flat


# =========================================================================== 1.5
D, H1, H2, K = 6, 5, 4, 3
N_BATCH = 4
RANGES = {"i": H1, "j": D, "k": K, "l": K, "m": H2, "s": N_BATCH}
ETA = 0.1


def _random_network(seed, n=None):
    """Random weights, biases, inputs (one, or ``n``) and one-hot targets; redrawn until each
    ReLU layer has both active and inactive units and no pre-activation sits near a kink."""
    rng = np.random.default_rng(seed)
    while True:
        p = {"W1": rng.normal(size=(H1, D)), "b1": rng.normal(size=H1) * 0.3,
             "W2": rng.normal(size=(H2, H1)), "b2": rng.normal(size=H2) * 0.3,
             "W3": rng.normal(size=(K, H2)), "b3": rng.normal(size=K) * 0.3}
        shape = (D,) if n is None else (n, D)
        xv = rng.normal(size=shape)
        yv = np.eye(K)[rng.integers(K, size=None if n is None else n)]
        a1 = xv @ p["W1"].T + p["b1"]
        a2 = np.maximum(a1, 0) @ p["W2"].T + p["b2"]
        if all(0 < np.sum(a > 0) < a.size and np.all(np.abs(a) > 1e-3) for a in (a1, a2)):
            return p, xv, yv


def _forward(t, xt):
    a1 = xt @ t["W1"].T + t["b1"]
    h1 = torch.relu(a1)
    a2 = h1 @ t["W2"].T + t["b2"]
    h2 = torch.relu(a2)
    a3 = h2 @ t["W3"].T + t["b3"]
    return a1, h1, a2, h2, a3, torch.softmax(a3, dim=-1)


def _tensors(p):
    return {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p.items()}


def network_variables(seed):
    """Every quantity of 1.5 for one sample of a random network, computed by PyTorch (float64)."""
    p, xv, yv = _random_network(seed)
    t = _tensors(p)
    xt, yt = torch.tensor(xv, dtype=torch.float64), torch.tensor(yv, dtype=torch.float64)
    a1, h1, a2, h2, a3, f = _forward(t, xt)
    L = 0.5 * torch.sum((f - yt) ** 2)
    gW1, gb1, ga1, ga2, ga3, gf = torch.autograd.grad(L, [t["W1"], t["b1"], a1, a2, a3, f])
    jac = torch.autograd.functional.jacobian
    np_ = lambda v: v.detach().numpy().copy()  # noqa: E731
    step = _tensors(p)  # one torch.optim.SGD step on W1
    opt = torch.optim.SGD([step["W1"]], lr=ETA)
    (0.5 * torch.sum((_forward(step, xt)[-1] - yt) ** 2)).backward()
    opt.step()
    v = {"x": xv, "y": yv, "f": np_(f), "a": np_(a1), "L": L.item(), "K": K, "H1": H1, "H2": H2, "d": D, "eta": ETA,
         "diag": np.diagflat, "delta1": np_(ga1), "delta2": np_(ga2), "delta3": np_(ga3), "h1": np_(h1), "h2": np_(h2),
         "a1": np_(a1), "a2": np_(a2), "a3": np_(a3),
         "J": np_(jac(lambda a: torch.softmax(a, dim=0), a3.detach())),
         "w1_next": np_(step["W1"]), "W1_next": np_(step["W1"])}
    for n in (1, 2, 3):
        v[f"w{n}"] = v[f"W{n}"] = p[f"W{n}"]
        v[f"b{n}"] = p[f"b{n}"]
    d = {("L", "f"): gf, ("L", "a1"): ga1, ("L", "a2"): ga2, ("L", "a3"): ga3,
         ("L", "w1"): gW1, ("L", "W1"): gW1, ("L", "b1"): gb1,
         ("f", "a3"): jac(lambda a: torch.softmax(a, dim=0), a3.detach()),
         ("a3", "h2"): jac(lambda h: t["W3"].detach() @ h + t["b3"].detach(), h2.detach()),
         ("h2", "a2"): jac(torch.relu, a2.detach()),
         ("a2", "h1"): jac(lambda h: t["W2"].detach() @ h + t["b2"].detach(), h1.detach()),
         ("h1", "a1"): jac(torch.relu, a1.detach()),
         ("a1", "w1"): jac(lambda W: W @ xt + t["b1"].detach(), t["W1"].detach())}
    v.update({("d",) + key: np_(value) for key, value in d.items()})
    return v


def batch_variables(seed):
    """The mini-batch quantities of 1.5 (n = N_BATCH samples), by PyTorch: per-sample losses
    and gradients, their mean, one full gradient-descent step theta(r) -> theta(r+1), and the
    gradient at theta(r+1) (for the evaluation point)."""
    p, xv, yv = _random_network(seed, n=N_BATCH)
    xt, yt = torch.tensor(xv, dtype=torch.float64), torch.tensor(yv, dtype=torch.float64)
    np_ = lambda v: v.detach().numpy().copy()  # noqa: E731

    def losses(t):
        return 0.5 * torch.sum((_forward(t, xt)[-1] - yt) ** 2, dim=1)

    t = _tensors(p)
    out = _forward(t, xt)
    a1, per_sample = out[0], 0.5 * torch.sum((out[-1] - yt) ** 2, dim=1)
    mean_loss = per_sample.mean()
    grad_mean, ga1_mean = torch.autograd.grad(mean_loss, [t["W1"], a1], retain_graph=True)
    per_grads = np.stack([np_(torch.autograd.grad(per_sample[s], t["W1"], retain_graph=True)[0]) for s in range(N_BATCH)])
    deltas = np.stack([np_(torch.autograd.grad(per_sample[s], a1, retain_graph=True)[0][s]) for s in range(N_BATCH)])
    step = _tensors(p)  # one step of torch.optim.SGD on every parameter
    opt = torch.optim.SGD(list(step.values()), lr=ETA)
    losses(step).mean().backward()
    opt.step()
    after = {k: v.detach().clone().requires_grad_(True) for k, v in step.items()}
    grad_after = torch.autograd.grad(losses(after).mean(), after["W1"])[0]
    v = {"w1": p["W1"], "W1": p["W1"], "w1_next": np_(step["W1"]), "W1_next": np_(step["W1"]), "eta": ETA,
         "n": N_BATCH, "L": np_(per_sample), "calL": mean_loss.item(), "delta1": deltas.T, "x": xv.T,
         "Delta1": deltas, "X": xv,
         ("d", "calL", "w1"): np_(grad_mean), ("d", "calL", "W1"): np_(grad_mean),
         ("d", "L", "W1"): per_grads, ("d", "L", "w1"): per_grads,
         ("at", "theta_next"): {("d", "calL", "w1"): np_(grad_after), ("d", "calL", "W1"): np_(grad_after)}}
    assert np.allclose(ga1_mean.numpy() * N_BATCH, deltas)
    return v


NETWORKS = [network_variables(seed) for seed in range(3)]
BATCHES = [batch_variables(seed) for seed in range(2)]
BLOCKS_1_5 = {  # block -> (functions it calls, number of parts of each equation, variables)
    "loss": ((), [2, 2], NETWORKS),
    "mean-loss": ((), [2], BATCHES),
    "update": ((), [2], BATCHES),
    "softmax-jacobian": ((), [2], NETWORKS),
    "relu-derivative": (("relu_prime",), [2], NETWORKS),
    "affine-derivatives": ((), [2, 2, 2], NETWORKS),
    "chain-rule": ((), [3], NETWORKS),
    "deltas": ((), [4, 3, 3, 2], NETWORKS),
    "update-one-sample": ((), [2], NETWORKS),
    "update-mini-batch": ((), [2], BATCHES),
    "jacobian": (("diag",), [2], NETWORKS),
    "matrix-form": ((), [3, 2, 2, 2], NETWORKS),
    "mini-batch": ((), [3], BATCHES),
}


def check_1_5(doc, name):
    functions, shape, cases = BLOCKS_1_5[name]
    chains = equations(doc.tex, name, functions=functions)
    assert [len(c) for c in chains] == shape, f"block {name}: equations of {[len(c) for c in chains]} parts"
    if name == "update":
        assert "AT('theta'" in chains[0][1], "the update must say where the derivative is taken: at theta(r)"
    for variables in cases:
        if name == "relu-derivative":  # on pre-activations of both signs and exactly 0, against PyTorch
            a = torch.tensor(np.concatenate([variables["a1"], variables["a2"], [0.0]]), requires_grad=True)
            torch.relu(a).sum().backward()
            ref = a.grad.numpy().reshape(-1, 1)
            variables = {**variables, "a": a.detach().numpy(), "relu_prime": lambda v: ref}
            check_equations(chains, variables, RANGES, reference=lambda c, idx: ref, atol=1e-12)
            continue
        check_equations(chains, variables, RANGES, atol=1e-12)


# =========================================================================== Appendix B: the code's variant
def _code_network(seed):
    """network_scratch's variant (logistic hidden units, no biases, mean MSE) by PyTorch."""
    p, xv, yv = _random_network(seed)
    t = [torch.tensor(p[f"W{n}"], dtype=torch.float64, requires_grad=True) for n in (1, 2, 3)]
    xt, yt = torch.tensor(xv), torch.tensor(yv)
    a1 = t[0] @ xt
    h1 = torch.sigmoid(a1)
    a2 = t[1] @ h1
    h2 = torch.sigmoid(a2)
    a3 = t[2] @ h2
    f = torch.softmax(a3, dim=0)
    C = torch.nn.functional.mse_loss(f, yt)  # the mean over the K outputs
    L = 0.5 * torch.sum((f - yt) ** 2)
    gf, ga2, ga3, gW3 = torch.autograd.grad(C, [f, a2, a3, t[2]])
    np_ = lambda v: v.detach().numpy().copy()  # noqa: E731
    return {"C": C.item(), "L": L.item(), "K": K, "f": np_(f), "y": yv, "u": np_(gf), "h2": np_(h2),
            "W3": p["W3"], "delta3": np_(ga3), "delta2": np_(ga2), ("d", "C", "f"): np_(gf), ("d", "C", "W3"): np_(gW3)}


def check_two_over_k(doc):
    chains = equations(doc.tex, "two-over-k")
    assert [len(c) for c in chains] == [3, 2]
    for seed in range(3):
        check_equations(chains, _code_network(seed), RANGES, atol=1e-12)


def check_code_deltas(doc):
    chains = equations(doc.tex, "code-deltas")
    assert [len(c) for c in chains] == [2, 2, 2]
    for seed in range(3):
        check_equations(chains, _code_network(seed), RANGES, atol=1e-12)


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


# =========================================================================== figures.py, results.json
def _chosen(r):
    cx = r["complexity"]
    return cx["hidden_units"].index(cx["chosen_hidden"])


def _flattened(value, results=RESULTS):
    """A copy of the results in which every error curve is the constant ``value``."""
    def walk(obj, key=""):
        if isinstance(obj, dict):
            return {k: walk(v, k) for k, v in obj.items()}
        if isinstance(obj, list) and "error" in key:
            return [walk(v, key) if isinstance(v, (list, dict)) else value for v in obj]
        if isinstance(obj, list):
            return [walk(v, key) for v in obj]
        return obj
    out = walk(json.loads(json.dumps(results)))
    for part in ("size", "complexity"):
        for rep in out[part]["repeats"]:
            rep["stopped_at_plateau"] = [False] * len(rep["stopped_at_plateau"])
    out["size"]["plateau_tol"] = 0.01
    out["complexity"]["chosen_position"] = 0.95
    out["complexity"]["chosen_hidden"] = out["complexity"]["hidden_units"][-1]
    out["epochs"]["stop_epoch"] = 0
    return out


@pytest.mark.parametrize("sentence", CLAIMS)
def test_measured_claim_can_fail(sentence):
    """Each claim about data is rejected for curves that show nothing (all flat at 50 % or at 0 %)."""
    assert not all(CLAIMS[sentence](_flattened(v)) for v in (0.5, 0.0))


def test_results_record_repetitions_and_agree_with_themselves():
    """Means and ranges are those of the recorded repetitions; marks sit where the recorded
    validation errors are least; the realised shares of wrong labels are near the expected."""
    for part in ("size", "complexity", "epochs"):
        res = RESULTS[part]
        assert len(res["repeats"]) >= 3, part
        for key in ("train_error", "test_error") + (("val_error",) if part != "size" else ()):
            reps = np.array([r[key] for r in res["repeats"]])
            np.testing.assert_allclose(res[key + "_mean"], reps.mean(axis=0))
            np.testing.assert_allclose(res[key + "_min"], reps.min(axis=0))
            np.testing.assert_allclose(res[key + "_max"], reps.max(axis=0))
    cx, ep = RESULTS["complexity"], RESULTS["epochs"]
    assert cx["chosen_hidden"] == cx["hidden_units"][int(np.argmin(cx["val_error_mean"]))]
    assert ep["stop_epoch"] == int(np.argmin(ep["val_error_mean"])) + 1
    assert all(rep["stop_epoch"] == int(np.argmin(rep["val_error"])) + 1 for rep in ep["repeats"])
    for share in RESULTS["wrong_share"].values():
        assert abs(share - RESULTS["best_possible_error"]) < 0.03


def test_1_3_data_source_and_setting():
    assert RESULTS["data_source"].startswith("embedded") and RESULTS["n_digits"] == 5000
    assert RESULTS["best_possible_error"] == pytest.approx(RESULTS["label_noise"] * 0.9)


def test_results_tex_holds_the_numbers_of_results_json():
    assert (FIGURES / "results.tex").read_text() == _module("theory_figures", THEORY / "figures.py").latex_macros(RESULTS)


def test_figures_use_the_embedded_digits_even_when_mnist_path_is_set(monkeypatch, tmp_path):
    """mnist.load_mnist() would follow $MNIST_PATH (here: a folder without MNIST, so it
    raises); figures.py pins the embedded 5,000 digits unless given --mnist PATH."""
    monkeypatch.setenv("MNIST_PATH", str(tmp_path))
    figures = _module("theory_figures", THEORY / "figures.py")
    with pytest.raises(FileNotFoundError):
        figures.mnist.load_mnist()
    data = figures.load_digits()
    assert len(data[0]) == 5000 and data.source.startswith("embedded")


def test_figures_train_through_one_engine_call(monkeypatch):
    """figures.py reaches the fast engine through train() only, with the documented keywords."""
    figures = _module("theory_figures", THEORY / "figures.py")
    calls = []

    def fake_fit(net, x, y, x_val, y_val, **kwargs):
        calls.append(kwargs)
        return {"accuracy": [0.5] * net.epochs, "val_accuracy": [0.5] * net.epochs, "loss": [0.0] * net.epochs,
                "epoch_time": [0.0] * net.epochs}

    monkeypatch.setattr(figures.scratch_engine, "fit", fake_fit, raising=False)
    net = figures.network(3, 2, 0)
    train_err, val_err = figures.fit(net, (np.zeros((4, figures.N_COMPONENTS)), np.arange(4)),
                                     (np.zeros((2, figures.N_COMPONENTS)), np.arange(2)))
    assert calls == [{"batch_size": figures.BATCH_SIZE, "shuffle": True, "verbose": False, "dtype": np.float64}]
    assert train_err == [0.5, 0.5] and val_err == [0.5, 0.5]
    tree = ast.parse((THEORY / "figures.py").read_text())
    engine_calls = {fn.name for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef) for node in ast.walk(fn)
                    if isinstance(node, ast.Call) and (ast.unparse(node.func).endswith("scratch_engine.fit")
                                                       or any(k.arg == "fast" for k in node.keywords))}
    assert engine_calls == {"train"}, f"the engine is called from {sorted(engine_calls)}"


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


# =========================================================================== figure layout
FIGURE_FILES = ["sketch_size.pdf", "sketch_complexity.pdf", "sketch_epochs.pdf",
                "error_vs_training_size.pdf", "error_vs_hidden_units.pdf", "error_vs_epochs.pdf"]


def test_figures_included_unscaled_and_fit_the_text_width():
    """Drawn at the size they are printed, so the font sizes of the drawing are the printed ones."""
    included = re.findall(r"\\includegraphics(\[[^\]]*\])?\{([^}]+)\}", SOURCE)
    assert [name for _, name in included] == FIGURE_FILES
    assert all(opts == "" for opts, _ in included), "a scaled figure changes its font sizes"
    text_width_pt = (21.0 - 2 * 2.4) / 2.54 * 72  # a4paper, margin=2.4cm
    for name in FIGURE_FILES:
        box = pypdf.PdfReader(str(FIGURES / name)).pages[0].mediabox
        assert float(box.width) <= text_width_pt, name


def test_figure_layout_recorded_by_figures_py():
    """figures.py measures every figure as drawn (tests do not run it): printed at its own
    width, no text under 8 pt, no text outside the figure, no legend over a plot area, no
    curve cut off by the axis limits."""
    assert sorted(RESULTS["layout"]) == sorted(FIGURE_FILES)
    for name, report in RESULTS["layout"].items():
        assert report["width_in"] <= (21.0 - 2 * 2.4) / 2.54, name
        assert report["min_font_pt"] >= 8, name
        assert report["texts_outside_figure"] == [], name
        assert not report["legend_over_plot_area"], name
        assert report["curves_clipped"] == [], name


def test_measured_figures_text_sizes_in_the_pdf_files():
    """Independent of the report: the font size of every text operator in the PDF files of
    the measured figures (the sketches draw their hand-written text as outlines)."""
    for name in FIGURE_FILES:
        if name.startswith("sketch"):
            continue
        content = pypdf.PdfReader(str(FIGURES / name)).pages[0].get_contents().get_data().decode("latin-1")
        sizes = [float(v) for v in re.findall(r"/\S+\s+([\d.]+)\s+Tf", content)]
        assert sizes and min(sizes) >= 8, (name, sorted(set(sizes)))


def test_layout_report_flags_small_text_clipping_and_legend_over_curves():
    """The layout check can fail: a figure with each defect is flagged."""
    figures = _module("theory_figures", THEORY / "figures.py")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, 5, 1], label="curve")
    ax.set_ylim(0, 3)                                   # cuts off the point at 5
    ax.legend(loc="center")                             # inside the plot area
    ax.text(0.5, 0.5, "tiny", fontsize=6)               # under 8 pt
    fig.tight_layout()                                  # (tick labels inside the figure)
    fig.text(1.05, 0.5, "outside")                      # beyond the right edge
    report = figures._layout_report(fig)
    plt.close(fig)
    assert report["min_font_pt"] == 6
    assert report["texts_outside_figure"] == ["outside"]
    assert report["legend_over_plot_area"]
    assert report["curves_clipped"] == ["curve"]
