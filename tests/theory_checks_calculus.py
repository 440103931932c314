"""Theory checks of 1.1 (a function of two variables: gradient, Hessian, critical points)
and 1.2 (ReLU: gradient, one-sided derivatives, subdifferential, convention at the kink)."""

import functools
import re

import numpy as np
import sympy as sp
import torch

from theory_tex import block, check_equations, equations, evaluate, expression
from theory_doc import F11, _flat, _math_items, _points, x, y


# =========================================================================== 1.1
def check_function(doc):
    chains = equations(doc.tex, "function", functions=["f"])
    assert [len(c) for c in chains] == [3], "expected: f(x,y) = expanded = factored"
    ref = sp.lambdify((x, y), F11)
    for px, py in _points(0):
        check_equations(chains, {"x": px, "y": py, "f": ref}, {}, reference=lambda c, idx: ref(px, py))


def check_gradient(doc):
    chains = equations(doc.tex, "gradient", functions=["nabla_f"])
    assert [len(c) for c in chains] == [4], "expected: nabla f(x,y) = partials = expanded form = factored form"
    grad = [sp.lambdify((x, y), sp.diff(F11, v)) for v in (x, y)]
    for px, py in _points(1):
        ref = [g(px, py) for g in grad]
        variables = {"x": px, "y": py, ("d", "f", "x"): ref[0], ("d", "f", "y"): ref[1],
                     "nabla_f": lambda a, b: [g(a, b) for g in grad]}
        check_equations(chains, variables, {}, reference=lambda c, idx: ref)


def check_hessian(doc):
    chains = equations(doc.tex, "hessian", functions=["nabla2_f"])
    assert [len(c) for c in chains] == [3], "expected: nabla^2 f(x,y) = second partials = their values"
    hess = sp.lambdify((x, y), sp.hessian(F11, (x, y)))
    for px, py in _points(2):
        ref = np.array(hess(px, py), dtype=float)
        variables = {"x": px, "y": py, "f_xx": ref[0, 0], "f_xy": ref[0, 1], "f_yx": ref[1, 0], "f_yy": ref[1, 1],
                     "nabla2_f": lambda a, b: np.array(hess(a, b), dtype=float)}
        check_equations(chains, variables, {}, reference=lambda c, idx: ref)


@functools.cache
def _solve(expr, var):
    """sympy.solve, remembered (the wrong edits and the poison test ask the same many times)."""
    return tuple(sp.solve(expr, var))


@functools.cache
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
        roots = sorted(float(r.subs(x, px)) for r in _solve(fx, y))
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
        roots_ref = sorted(float(r) for r in _solve(fy.subs(y, y_sym), x))
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


TABLE_HEADER = ["point $(x,y)$", "$f_{xx}$", "$f_{xy}$", "$f_{yy}$", r"$\det \nabla^2 f$",
                r"eigenvalues of $\nabla^2 f$", "type", "$f(x,y)$"]  # the columns of _expected_row


def _expected_row(p):
    """The row of the critical-point table for point ``p``, every cell in full: the point, the
    Hessian's entries f_xx, f_xy, f_yy, its determinant and eigenvalues, the type, f(p)."""
    H = sp.hessian(F11, (x, y)).subs({x: p[0], y: p[1]})
    det = float(H.det())
    eigs = sorted(float(sp.N(e)) for e, mult in H.eigenvals().items() for _ in range(mult))
    if det < 0:
        kind = "saddle point"
    elif det > 0:
        kind = "local minimum" if H[0, 0] > 0 else "local maximum"
    else:
        kind = "inconclusive"
    value = float(F11.subs({x: p[0], y: p[1]}))
    return [f"$({p[0]},{p[1]})$", *(f"${int(v)}$" for v in (H[0, 0], H[0, 1], H[1, 1])), f"${_fmt(det)}$",
            rf"${_fmt(eigs[0])},\ {_fmt(eigs[1])}$", kind, f"${_fmt(value)}$"]


def check_critical_points(doc):
    """The table: one row per critical point, every cell exactly as sympy's second-derivative
    test gives it (two decimals, as the problem asks)."""
    header = re.search(r"\\toprule[ \t]*\n\s*([^\n]*?)\s*\\\\\s*\n\s*\\midrule\s*\n%@begin critical-points", doc.tex)
    assert header and [_flat(c).strip() for c in header.group(1).split("&")] == TABLE_HEADER, "the table's header"
    rows = [line.strip() for line in block(doc.tex, "critical-points", math_only=False).strip().splitlines()]
    got = {}
    for line in rows:
        assert line.endswith(r"\\"), line
        cells = [_flat(c).strip() for c in line[:-2].split("&")]
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
    m = re.search(r"The minimum is only local: along the diagonal\s.*?which tends to \$([+-])\\infty\$ as "
                  r"\$t \\to -\\infty\$ \(and to \$([+-])\\infty\$ as \$t \\to \+\\infty\$\), so \$f\$ has "
                  r"(no|a) global minimum and (no|a) global maximum\.", _flat(doc.tex))
    assert m, "the limits along the diagonal and what they say of f"
    poly = chains[0][1]
    for sign, t in zip(m.groups()[:2], (-1e4, 1e4)):
        assert np.sign(_value(poly, t=t)) == (1 if sign == "+" else -1), (sign, t)
    assert (m.group(3) == "no") == ("-" in m.groups()[:2]), "f has no global minimum exactly if it is unbounded below"
    assert (m.group(4) == "no") == ("+" in m.groups()[:2]), "f has no global maximum exactly if it is unbounded above"


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
    assert [len(c) for c in chains] == [4], "expected: nabla f = partials = chain rule = cases"
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
                     ("d", "f", "b"): ref[0], ("d", "f", "w"): ref[1], "nabla_(b,w)_f": ref}
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


def _kink(condition):
    """``b + xw = 0`` as the points it holds at: a function of (b, w, x) that must be zero."""
    lhs, rhs = condition.split("=")
    lhs, rhs = expression(lhs), expression(rhs)
    return lambda b, w, xx: _value(lhs, b=b, w=w, x=xx) - _value(rhs, b=b, w=w, x=xx)


def _is_kink(condition):
    """The stated condition holds exactly where the argument of ReLU, b + xw, is zero."""
    zero, scale = _kink(condition), _kink(condition)(1.0, 0.0, 0.0)  # a non-zero multiple of b + xw
    points = np.random.default_rng(18).normal(size=(6, 3))
    return scale != 0 and all(np.isclose(zero(b, w, xx), scale * (b + xx * w)) for b, w, xx in points)


def check_relu_subdifferential(doc):
    """The set {alpha v : alpha in [lo, hi]} is exactly the set of subgradients at a kink
    (the condition stated beside it): f(q) >= f(p) + g . (q - p) for all q holds for the
    stated ones and fails just outside."""
    text = block(doc.tex, "relu-subdifferential")
    m = re.search(r"\\\{\s*(?:\\,)?\s*\\alpha\s*(?:\\,)?\s*(.+?)\s*:\s*\\alpha \\in \[([^,\]]+),([^\]]+)\]\s*"
                  r"\\bigr\\\}\s*\\qquad \(([^()]*)\)\.", text, re.S)
    assert m, f"expected {{ alpha (vector) : alpha in [lo, hi] }} (kink condition): {text!r}"
    vector, lo, hi = expression(m.group(1)), _value(expression(m.group(2))), _value(expression(m.group(3)))
    assert _is_kink(m.group(4)), f"the condition {m.group(4)!r} is not the kink b + xw = 0"
    rng = np.random.default_rng(16)
    for w, xx in rng.normal(size=(6, 2)) * 2:
        b = -xx * w
        v = np.ravel(evaluate(vector, {"x": xx})).astype(float)
        along, normal = np.array([1.0, xx]), np.array([-xx, 1.0])
        steps = np.concatenate([rng.normal(size=(300, 2)) * 3, [along, -along, normal, -normal]])

        def is_subgradient(g):
            return all(_relu(b + db, w + dw, xx) >= _relu(b, w, xx) + g @ np.array([db, dw]) - 1e-9 for db, dw in steps)

        for a in np.linspace(lo, hi, 5):
            assert is_subgradient(a * v), f"alpha = {a}: {a * v} is not a subgradient at a kink (x = {xx})"
        for a in (lo - 0.05, hi + 0.05):
            assert not is_subgradient(a * v), f"alpha = {a} outside the stated interval is a subgradient too"
        assert not is_subgradient(0.5 * along + 0.05 * normal), "a subgradient off the direction (1, x)"


def check_relu_convention(doc):
    """The gradient used in practice, everywhere including the kink, equals PyTorch's; and the
    text's convention alpha = 0 lies in the subdifferential and gives it."""
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
    m = re.search(r"is \$\\alpha = (-?\d+)\$, i\.e\.\\ \$\\relu'\(0\) = (-?\d+)\$", _flat(doc.tex))
    zero = torch.zeros((), dtype=torch.float64, requires_grad=True)
    torch.relu(zero).backward()
    assert m and int(m.group(1)) == int(m.group(2)) == zero.grad.item(), "the convention is PyTorch's value at 0"
    text = block(doc.tex, "relu-subdifferential")
    lo, hi = re.search(r"\\alpha \\in \[([^,\]]+),([^\]]+)\]", text).groups()
    assert _value(expression(lo)) <= int(m.group(1)) <= _value(expression(hi))
