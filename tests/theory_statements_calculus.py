"""Statement checks of 1.1-1.3: the mathematics written outside the marked blocks, and the
words that carry a fact (zero/identity, minimum/maximum, a probability, a sign, above/below),
each read from the sentence that states it and compared with an independent reference (sympy,
finite differences, sampling, a small simulation).  Each entry: (the sentence as a regex on the
flattened source, its facts captured; the test of the captured facts)."""

import re

import numpy as np
import sympy as sp

from theory_tex import block, evaluate, expression
from theory_checks_calculus import _is_kink, _relu, _value
from theory_doc import F11, statements_hold, x, y



def _sym(latex):
    """A LaTeX expression in x, y as a sympy expression."""
    return sp.sympify(evaluate(expression(latex), {"x": x, "y": y}))


def _point(text):
    a, b = text.strip("()").split(",")
    return int(a), int(b)


def _hessian_at(p, f_xy=None):
    H = sp.hessian(F11, (x, y))
    if f_xy is not None:
        H[0, 1] = H[1, 0] = f_xy
    return H.subs({x: p[0], y: p[1]})


# --------------------------------------------------------------------------- 1.1
def _rule_classifies(m):
    """The second-derivative test as stated classifies random non-degenerate symmetric 2x2
    matrices as their eigenvalues do (both > 0: minimum, both < 0: maximum, else saddle)."""
    rules = [({"det": m["s1"]}, m["c1"]), ({"det": m["s2"], "fxx": m["t2"]}, m["c2"]),
             ({"det": m["s3"], "fxx": m["t3"]}, m["c3"])]
    seen = set()
    for a, b, c in np.random.default_rng(21).normal(size=(300, 3)) * 3:
        H = np.array([[a, b], [b, c]])
        values = {"det": np.linalg.det(H), "fxx": a}
        if min(abs(v) for v in values.values()) < 1e-3:
            continue
        chosen = [cls for conds, cls in rules if all((values[k] > 0) == (s == ">") for k, s in conds.items())]
        eig = np.linalg.eigvalsh(H)
        truth = "local minimum" if eig.min() > 0 else "local maximum" if eig.max() < 0 else "saddle point"
        assert chosen == [truth], f"the stated test says {chosen} for {H.tolist()}, its eigenvalues {truth}"
        seen.add(truth)
    return len(seen) == 3


def _mixed_partial_mistake(m):
    wrong, term, dx, dxy = (_sym(m[k]) for k in ("wrong", "term", "dx", "dxy"))
    p = _point(m["at"])
    H = _hessian_at(p, wrong)
    expected = {"zero": sp.zeros(2, 2), "identity": sp.eye(2)}[m["matrix"]]
    return (sp.simplify(wrong - sp.diff(F11, x, y)) != 0 and term in sp.Add.make_args(sp.expand(F11))
            and sp.simplify(dx - sp.diff(term, x)) == 0 and sp.simplify(dxy - sp.diff(dx, y)) == 0 and dxy.is_number
            and H == expected and (H.det() == 0) == (m["fails"] == "fails")
            and sp.simplify(sp.diff(F11, y, x) - wrong) != 0)  # f_yx, computed as well, differs: the slip shows


def _factors_mistake(m):
    fa, fb, p = _sym(m["a"]), _sym(m["b"]), _point(m["p"])
    grad = [sp.diff(F11, v) for v in (x, y)]
    factors = [f for comp in (fa, fb) for f in sp.Mul.make_args(sp.factor(comp)) if f.free_symbols]
    return (sp.expand(fa - grad[0]) == 0 and sp.expand(fb - grad[1]) == 0
            and all(g.subs({x: p[0], y: p[1]}) == 0 for g in grad)
            and any(f.subs({x: p[0], y: p[1]}) != 0 for f in factors))  # lost by following only that factor


def _local_min(p):
    H = _hessian_at(p)
    return H.det() > 0 and H[0, 0] > 0 and all(sp.diff(F11, v).subs({x: p[0], y: p[1]}) == 0 for v in (x, y))


STATEMENTS_11 = [
    (r"\\textbf\{Critical points\} \(\$\\nabla f = (?P<zero>[^$]+)\$\)",
     lambda m: _value(expression(m["zero"])) == 0),
    (r"\\textbf\{Classification\} by the second-derivative test with the Hessian \$\\nabla\^2 f\$ "
     r"\(\$\\det \\nabla\^2 f (?P<s1>[<>]) 0\$: (?P<c1>[a-z ]+); \$\\det \\nabla\^2 f (?P<s2>[<>]) 0\$ and "
     r"\$f_\{xx\} (?P<t2>[<>]) 0\$: (?P<c2>[a-z ]+); \$\\det \\nabla\^2 f (?P<s3>[<>]) 0\$ and "
     r"\$f_\{xx\} (?P<t3>[<>]) 0\$: (?P<c3>[a-z ]+)\)", _rule_classifies),
    (r"A wrong mixed partial such as \$(?P<wrong>[^$]+)\$: differentiating \$(?P<term>[^$]+)\$ by \$x\$ gives "
     r"\$(?P<dx>[^$]+)\$, and then by \$y\$ the constant \$(?P<dxy>[^$]+)\$\. With it the Hessian at "
     r"\$(?P<at>\([^$]+\))\$ becomes the (?P<matrix>zero|identity) matrix and the test there (?P<fails>fails|holds); "
     r"computing \$f_\{xy\}\$ and \$f_\{yx\}\$ both catches the slip\.", _mixed_partial_mistake),
    (r"every combination of the factors \$(?P<a>[^$]+)\$ and \$(?P<b>[^$]+)\$ must be tried, or a point such as "
     r"\$(?P<p>\([^$]+\))\$ is lost", _factors_mistake),
    (r"Classifying \$(?P<p>\([^$]+\))\$ by \$\\det \\nabla\^2 f (?P<s>[<>]) 0\$ alone: that only says "
     r"``minimum or maximum''; the sign of \$f_\{xx\}\$ decides\.",
     lambda m: m["s"] == ">" and _local_min(_point(m["p"]))),
    (r"Calling \$(?P<p>\([^$]+\))\$ the global minimum: \$f\$ is unbounded (?P<side>below|above)\.",
     lambda m: _local_min(_point(m["p"])) and m["side"] == "below" and sp.limit(F11.subs(y, x), x, -sp.oo) == -sp.oo),
]


# --------------------------------------------------------------------------- 1.2
_RNG = np.random.default_rng(22)
_BWX = _RNG.normal(size=(8, 3)) * 2


def _convex(m):
    """Midpoint convexity of f(b, w) = ReLU(b + xw) in (b, w), for fixed x."""
    inner = expression(m["inner"])
    ok = True
    for (b1, w1, xx), (b2, w2, _) in zip(_BWX, _BWX[::-1]):
        f = lambda b, w: max(0.0, _value(inner, b=b, w=w, x=xx))  # noqa: E731
        ok &= f((b1 + b2) / 2, (w1 + w2) / 2) <= (f(b1, w1) + f(b2, w2)) / 2 + 1e-12
    probe = [(1.0, 0.0, 0.0), (0.0, 1.0, 2.0)]
    return ok == (m["convex"] == "convex") and all(np.isclose(_value(inner, b=b, w=w, x=xx), b + xx * w) for b, w, xx in probe)


def _direction(m):
    """phi(t) = f(b + t, w + tx) moves along the stated direction, at the stated kink, where the
    one-sided slopes differ: not differentiable."""
    db_code, dw_code = (expression(a) for a in m["arg"].split(","))
    v_b, v_w = (expression(a) for a in m["dir"].strip("()").split(","))
    for b, w, xx in _BWX:
        t = 0.7
        step = np.array([_value(db_code, b=b, w=w, x=xx, t=t) - b, _value(dw_code, b=b, w=w, x=xx, t=t) - w])
        if not np.allclose(step / t, [_value(v_b, x=xx), _value(v_w, x=xx)]):
            return False
        b0, h = -xx * w, 1e-7  # on the kink: the one-sided slopes along the direction
        left = (_relu(b0, w, xx) - _relu(b0 - h, w - h * xx, xx)) / h
        right = (_relu(b0 + h, w + h * xx, xx) - _relu(b0, w, xx)) / h
        if (abs(right - left) > 1e-3) != (m["diff"] == "not differentiable"):
            return False
    return _is_kink(m["kink"])


def _minimum_norm(m, tex):
    """The convention (alpha = 0) is the subgradient of least (or, if so stated, greatest) norm."""
    interval = re.search(r"\\alpha \\in \[([^,\]]+),([^\]]+)\]", block(tex, "relu-subdifferential")).groups()
    lo, hi = (_value(expression(v)) for v in interval)
    alphas = np.linspace(lo, hi, 101)
    pick = alphas[np.argmin(np.abs(alphas))] if m["norm"] == "minimum" else alphas[np.argmax(np.abs(alphas))]
    return pick == _value(expression(m["alpha"]))


_PROBABILITY = {"zero": 0.0, "one half": 0.5, "one": 1.0}


def _kink_probability(m):
    """Continuous inputs (and parameters) hit b + xw = 0 exactly: a share of the samples."""
    b, w, xx = np.random.default_rng(23).normal(size=(3, 200_000))
    return abs(np.mean(b + xx * w == 0) - _PROBABILITY[m["p"]]) < 0.01


def _wrong_set(m, tex):
    """For alpha of the stated sign the linear bound alpha (1, x) . (q - p) lies above (below) f
    where the stated condition holds: outside the true subdifferential, inside the quoted set."""
    lo, hi = _value(expression(m["lo"])), _value(expression(m["hi"]))
    alpha = -0.5 if m["rel"] == "<" else 0.5
    lhs, rel, rhs = re.fullmatch(r"(.+?)\s*([<>])\s*(.+)", m["where"]).groups()
    lhs, rhs = expression(lhs), expression(rhs)
    ok = lo <= alpha <= hi
    for w0, xx in _RNG.normal(size=(6, 2)):
        b0 = -xx * w0
        for db, dw in _RNG.normal(size=(20, 2)):
            q = (b0 + db, w0 + dw)
            gap = _value(lhs, b=q[0], w=q[1], x=xx) - _value(rhs, b=q[0], w=q[1], x=xx)
            if (gap < 0) != (rel == "<"):
                continue
            bound = alpha * (db + xx * dw)
            ok &= (bound > _relu(q[0], q[1], xx)) == (m["side"] == "above")
    return ok


STATEMENTS_12 = [
    (r"Here \$f\(b,w\) = \\relu\(z\)\$ with \$z = (?P<z>[^$]+)\$ for a fixed input \$x\$",
     lambda m: all(np.isclose(_value(expression(m["z"]), b=b, w=w, x=xx), b + xx * w) for b, w, xx in _BWX)),
    (r"\\textbf\{At the kink,\} where \$(?P<kink>[^$]+)\$, the function \$f\$ is (?P<diff>not differentiable|"
     r"differentiable): along the direction \$(?P<dir>\([^$]+\))\$, \$\\varphi\(t\) = f\((?P<arg>[^$]+)\)\$ has "
     r"the one-sided derivatives", _direction),
    (r"Since \$f\$ is (?P<convex>convex|concave) in \$\(b,w\)\$ \(the convex ReLU of \$(?P<inner>[^$]+)\$, which is "
     r"affine in \$\(b,w\)\$\)", _convex),
    (r"\(the (?P<norm>minimum|maximum)-norm subgradient \\cite\{pytorch-autograd\}\), is \$(?:\\alpha = )(?P<alpha>[^$]+)\$",
     "tex", _minimum_norm),
    (r"For continuous inputs the kink is hit with probability (?P<p>zero|one half|one) \\cite\{cs231n\}",
     _kink_probability),
    (r"Forgetting the inner derivative \$\\pd\{z\}\{w\} = (?P<dzdw>[^$]+)\$ \(writing \$(?P<one>[^$]+)\$ for both "
     r"components\)",
     lambda m: all(np.isclose(_value(expression(m["dzdw"]), x=xx), xx) for _, _, xx in _BWX)
     and _value(expression(m["one"])) == 1),  # dz/db = 1, written for dz/dw too
    (r"Stopping at ``undefined at \$(?P<kink>[^$]+)\$''", lambda m: _is_kink(m["kink"])),
    (r"A wrong set at the kink, e\.g\.\\ \$\\alpha \\in \[(?P<lo>[^,\]]+),(?P<hi>[^\]]+)\]\$: for \$\\alpha "
     r"(?P<rel>[<>]) 0\$ the linear bound lies (?P<side>above|below) \$f\$ where \$(?P<where>[^$]+)\$, so it is no "
     r"subgradient", "tex", _wrong_set),
]


# --------------------------------------------------------------------------- 1.3
def _fitting_argument(m):
    """1.3.1 (iii) on a small simulation: thresholds on [0, 1] fitted to 20 points whose labels
    1[x > 0.5] are flipped with probability 0.2 (the Bayes error).  The fitted threshold's mean
    training error is at most the best threshold's training error, whose mean is its test error,
    at most the fitted threshold's mean test error; no threshold's test error is below 0.2."""
    rng, thresholds, noise = np.random.default_rng(24), np.linspace(0, 1, 101), 0.2
    test_error = noise + (1 - 2 * noise) * np.abs(thresholds - 0.5)  # exact, for uniform inputs
    best = int(np.argmin(test_error))
    fitted_train, best_train, fitted_test = [], [], []
    for _ in range(2000):
        xs = rng.random(20)
        ys = (xs > 0.5) ^ (rng.random(20) < noise)
        train = np.mean((xs[None, :] > thresholds[:, None]) != ys[None, :], axis=1)
        fit = int(np.argmin(train))
        fitted_train.append(train[fit]), best_train.append(train[best]), fitted_test.append(test_error[fit])
    chain = [np.mean(fitted_train), np.mean(best_train), test_error[best], np.mean(fitted_test)]
    holds = {"at most": lambda a, b: a <= b + 0.005, "at least": lambda a, b: a >= b - 0.005}
    return (holds[m["r1"]](chain[0], chain[1]) and abs(chain[1] - chain[2]) < 0.01 and holds[m["r2"]](chain[2], chain[3])
            and test_error.min() >= noise - 1e-12 and chain[0] < chain[3])


def _early_stopping_as_l2(m):
    """Gradient descent from 0 on a quadratic of curvature lam, tau steps of size eta, shrinks
    the minimiser by 1 - (1 - eta lam)^tau; L2 regularisation of strength a by lam / (lam + a).
    For small curvature the two agree when a is the stated strength (Goodfellow, eq. 7.44)."""
    strength = expression(m["alpha"])
    for eta, tau in ((0.01, 1000), (0.1, 30), (0.001, 50), (0.05, 2000)):
        lam = 0.01 / (eta * tau)
        a = _value(strength, eta=eta, tau=tau)
        if not np.isclose((1 - (1 - eta * lam) ** tau) / (lam / (lam + a)), 1, rtol=0.05):
            return False
    return True


STATEMENTS_13 = [
    (r"The fit picks the model of least training error, so its expected training error is (?P<r1>at most|at least) "
     r"the training error of the class's best model; that equals the best model's test error \(it does not depend "
     r"on the training set\), (?P<r2>at most|at least) the fitted model's\. No test error is below the Bayes error\.",
     _fitting_argument),
    (r"stopping after \$\\tau\$ steps of size \$\\eta\$ acts like \$L\^2\$ regularisation with strength about "
     r"\$(?P<alpha>[^$]+)\$", _early_stopping_as_l2),
]


def check_statements_11(doc):
    statements_hold(doc, STATEMENTS_11)


def check_statements_12(doc):
    statements_hold(doc, STATEMENTS_12)


def check_statements_13(doc):
    statements_hold(doc, STATEMENTS_13)
