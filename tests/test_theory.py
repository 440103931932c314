"""theory/theory.tex checked by code: every formula that states a result is read from the .tex.

Each marked block of theory.tex (``%@begin name`` ... ``%@end name``) is translated into
Python by ``tests/theory_tex.py`` and evaluated against an independent reference:

* 1.1 gradient and Hessian against sympy's derivatives at random points; the table of
  critical points (points, Hessians, determinants, eigenvalues, types, values) against
  sympy's solution of grad f = 0 and the second-derivative test;
* 1.2 the gradient against finite differences, the convention at the kink against PyTorch;
* 1.4 the network built from the stated activations and weights against
  logistic(beta0 + beta1 x1 x2);
* 1.5 the loss derivative, the update rule (against a torch.optim.SGD step), the chain rule
  with all its sums, the delta recursion and the matrix form against PyTorch autograd
  (float64) on random ReLU networks;
* every check rejects a typical wrong edit of the source (``MUTATIONS``: each applied to a
  copy of theory.tex);
* every data-dependent sentence of 1.3 holds for figures/results.json (and each such check
  rejects curves that show nothing); results.tex holds the numbers of results.json;
  figures.py uses the embedded digits even when $MNIST_PATH points elsewhere;
* the figures are included unscaled, and figures.py's layout report (shown to flag each
  defect on a bad figure) finds no text under 8 pt, none outside the figure, no legend over
  a plot area and no curve cut off; the committed PDF was built from the current sources
  (MD5 fingerprints in its metadata) and shows every section.

Nothing here runs figures.py's training: the tests read what it recorded.
"""

import hashlib
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

from theory_tex import check_equations, equations, evaluate

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "theory"
TEX = THEORY / "theory.tex"
PDF = THEORY / "theory.pdf"
FIGURES = THEORY / "figures"
SOURCE = TEX.read_text(encoding="utf-8")

x, y = sp.symbols("x y", real=True)
F11 = x**2 * y + x * y**2 - 6 * x * y


def _points(seed, n=6):
    return np.random.default_rng(seed).uniform(-4, 4, size=(n, 2))


# =========================================================================== 1.1
def check_gradient(tex):
    chains = equations(tex, "gradient")
    assert [len(c) for c in chains] == [3], "expected: partials = expanded form = factored form"
    grad = [sp.lambdify((x, y), sp.diff(F11, v)) for v in (x, y)]
    for px, py in _points(1):
        ref = [g(px, py) for g in grad]
        variables = {"x": px, "y": py, ("d", "f", "x"): ref[0], ("d", "f", "y"): ref[1]}
        check_equations(chains, variables, {}, reference=lambda c, idx: ref)


def check_hessian(tex):
    chains = equations(tex, "hessian")
    assert [len(c) for c in chains] == [2]
    hess = sp.lambdify((x, y), sp.hessian(F11, (x, y)))
    for px, py in _points(2):
        ref = np.array(hess(px, py), dtype=float)
        variables = {"x": px, "y": py, "f_xx": ref[0, 0], "f_xy": ref[0, 1], "f_yx": ref[1, 0], "f_yy": ref[1, 1]}
        check_equations(chains, variables, {}, reference=lambda c, idx: ref)


def _critical_points():
    grad = [sp.diff(F11, v) for v in (x, y)]
    return {(int(s[x]), int(s[y])) for s in sp.solve(grad, [x, y], dict=True)}


def _classify(point):
    H = sp.hessian(F11, (x, y)).subs({x: point[0], y: point[1]})
    det, fxx = H.det(), H[0, 0]
    if det < 0:
        return "saddle point"
    if det > 0:
        return "local minimum" if fxx > 0 else "local maximum"
    return "inconclusive"


def _numbers(cell):
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", cell)]


def check_critical_points(tex):
    """The table rows ``$(x,y)$ & H & det & eigenvalues & type & value`` of block critical-points."""
    body = re.search(r"%@begin critical-points\n(.*?)%@end critical-points", tex, re.S).group(1)
    rows = {}
    for line in body.strip().splitlines():
        m = re.match(r"\s*\$\((-?\d+),(-?\d+)\)\$\s*&\s*\$\\begin\{psmallmatrix\}(.*?)\\end\{psmallmatrix\}\$(.*)\\\\\s*$", line)
        assert m, f"unreadable row of the critical-point table: {line!r}"
        cells = [c.strip() for c in m.group(4).split("&")][1:]
        rows[(int(m.group(1)), int(m.group(2)))] = [m.group(3)] + cells
    assert set(rows) == _critical_points(), f"the table lists {sorted(rows)}"
    H = sp.hessian(F11, (x, y))
    for p, (hess, det, eig, kind, value) in rows.items():
        Hp = H.subs({x: p[0], y: p[1]})
        assert _numbers(hess) == [float(v) for v in Hp], p
        assert _numbers(det) == [round(float(Hp.det()), 2)], p
        eigs = sorted(round(float(sp.N(e)), 2) for e, mult in Hp.eigenvals().items() for _ in range(mult))
        assert _numbers(eig) == eigs, p
        assert kind.startswith(_classify(p)), (p, kind)
        assert _numbers(value) == [round(float(F11.subs({x: p[0], y: p[1]})), 2)], p
        for cell in (det, eig, value):  # "round to two decimals"
            assert all(re.fullmatch(r"-?\d+\.\d\d", v) for v in re.findall(r"-?\d+(?:\.\d+)?", cell)), cell


# =========================================================================== 1.2
def _relu(b, w, xx):
    return max(0.0, b + xx * w)


def check_relu_gradient(tex):
    chains = equations(tex, "relu-gradient", functions=["relu_prime"])
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


def check_relu_convention(tex):
    """The gradient used in the code, everywhere including the kink, equals PyTorch's."""
    chains = equations(tex, "relu-convention")
    assert [len(c) for c in chains] == [1]
    rng = np.random.default_rng(13)
    cases = [(b, w, xx) for b, w, xx in rng.normal(size=(20, 3))] + [(1.5, -0.5, 3.0), (-2.0, 1.0, 2.0)]
    for b, w, xx in cases:  # the last two sit exactly on the kink b + x w = 0
        bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        torch.relu(bt + xx * wt).backward()
        ref = [bt.grad.item(), wt.grad.item()]
        check_equations(chains, {"b": b, "w": w, "x": xx}, {}, reference=lambda c, idx: ref)


# =========================================================================== 1.4
def _defined_function(tex, name, letter):
    """The function ``letter(z) = ...`` stated in block ``name``."""
    chains = equations(tex, name, functions=[letter])
    assert len(chains) == 1 and len(chains[0]) == 2, f"block {name}: expected `{letter}(z) = ...`"
    return lambda z: evaluate(chains[0][1], {"z": z})


def _last_parts(tex, name, variables):
    return [evaluate(chain[-1], variables) for chain in equations(tex, name)]


def check_1_4(tex):
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
        variables = {"x_1": x1, "x_2": x2, "g": g, "o": o, "h_1": h[0, 0], "h_2": h[1, 0], **params}
        check_equations(equations(tex, "hidden-units", functions=["g"]), variables, {})
        check_equations(equations(tex, "output", functions=["o"]), variables, {},
                        reference=lambda c, idx: target, atol=1e-10)


# =========================================================================== 1.5
D, H1, H2, K = 6, 5, 4, 3
RANGES = {"i": H1, "j": D, "k": K, "l": K, "m": H2}
ETA = 0.1


def _random_network(seed):
    """Random weights, biases, input and one-hot target; redrawn until each ReLU layer has
    both active and inactive units and no pre-activation sits near a kink."""
    rng = np.random.default_rng(seed)
    while True:
        p = {"W1": rng.normal(size=(H1, D)), "b1": rng.normal(size=H1) * 0.3,
             "W2": rng.normal(size=(H2, H1)), "b2": rng.normal(size=H2) * 0.3,
             "W3": rng.normal(size=(K, H2)), "b3": rng.normal(size=K) * 0.3}
        xv, yv = rng.normal(size=D), np.eye(K)[rng.integers(K)]
        a1 = p["W1"] @ xv + p["b1"]
        a2 = p["W2"] @ np.maximum(a1, 0) + p["b2"]
        if all(0 < np.sum(a > 0) < a.size and np.all(np.abs(a) > 1e-3) for a in (a1, a2)):
            return p, xv, yv


def network_variables(seed):
    """Every quantity of 1.5 for one random network, computed by PyTorch (float64)."""
    p, xv, yv = _random_network(seed)
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p.items()}
    xt, yt = torch.tensor(xv, dtype=torch.float64), torch.tensor(yv, dtype=torch.float64)
    a1 = t["W1"] @ xt + t["b1"]
    h1 = torch.relu(a1)
    a2 = t["W2"] @ h1 + t["b2"]
    h2 = torch.relu(a2)
    a3 = t["W3"] @ h2 + t["b3"]
    f = torch.softmax(a3, dim=0)
    L = 0.5 * torch.sum((f - yt) ** 2)
    gW1, gb1, ga1, ga2, ga3, gf = torch.autograd.grad(L, [t["W1"], t["b1"], a1, a2, a3, f])
    jac = torch.autograd.functional.jacobian
    np_ = lambda v: v.detach().numpy().copy()  # noqa: E731
    W1 = torch.tensor(p["W1"], dtype=torch.float64, requires_grad=True)  # one torch.optim.SGD step
    opt = torch.optim.SGD([W1], lr=ETA)
    loss = 0.5 * torch.sum((torch.softmax(t["W3"] @ torch.relu(t["W2"] @ torch.relu(W1 @ xt + t["b1"])
                                                               + t["b2"]) + t["b3"], dim=0) - yt) ** 2)
    loss.backward()
    opt.step()
    v = {"x": xv, "y": yv, "f": np_(f), "a1": np_(a1), "a2": np_(a2), "a3": np_(a3), "h1": np_(h1), "h2": np_(h2),
         "L": L.item(), "K": K, "H1": H1, "H2": H2, "d": D, "eta": ETA, "diag": np.diagflat,
         "delta1": np_(ga1), "delta2": np_(ga2), "delta3": np_(ga3),
         "J": np_(jac(lambda a: torch.softmax(a, dim=0), a3.detach())),
         "w1_next": np_(W1), "W1_next": np_(W1)}
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


NETWORKS = [network_variables(seed) for seed in range(3)]
BLOCKS_1_5 = {  # block -> (functions it calls, number of parts of each equation)
    "loss": ((), [2, 2]),
    "update": ((), [2]),
    "chain-rule": ((), [3]),
    "deltas": ((), [4, 3, 3, 2, 2]),
    "update-one-sample": ((), [2]),
    "jacobian": (("diag",), [2]),
    "matrix-form": ((), [3, 2, 2, 2, 2, 2]),
}


def check_1_5(tex, name):
    functions, shape = BLOCKS_1_5[name]
    chains = equations(tex, name, functions=functions)
    assert [len(c) for c in chains] == shape, f"block {name}: equations of {[len(c) for c in chains]} parts"
    for variables in NETWORKS:
        assert np.abs(variables[("d", "L", "w1")]).max() > 1e-4  # a non-trivial gradient
        check_equations(chains, variables, RANGES, atol=1e-12)


# =========================================================================== the checks on theory.tex
CHECKS = {
    "gradient": check_gradient,
    "hessian": check_hessian,
    "critical-points": check_critical_points,
    "relu-gradient": check_relu_gradient,
    "relu-convention": check_relu_convention,
    "1.4": check_1_4,
    **{name: (lambda tex, name=name: check_1_5(tex, name)) for name in BLOCKS_1_5},
}


@pytest.mark.parametrize("name", CHECKS)
def test_formula_in_tex_is_right(name):
    CHECKS[name](SOURCE)


# Typical wrong edits, most of them mistakes students make (see the "Common mistakes"
# paragraphs): each, applied to a copy of theory.tex, must be rejected by its check.
MUTATIONS = [
    ("gradient", "2xy + y^2 - 6y", "2xy + y^2 - 6x"),
    ("gradient", r"x\,(x + 2y - 6)", r"x\,(x + 2y + 6)"),
    ("hessian", r"2y & 2x + 2y - 6 \\", r"2y & 2x + 2y - 6y \\"),
    ("hessian", r"2x + 2y - 6 & 2x \end", r"2x + 2y - 6 & 2y \end"),
    ("critical-points", r"& $12.00$ & $2.00,\ 6.00$ & local minimum", r"& $12.00$ & $2.00,\ 6.00$ & local maximum"),
    ("critical-points", r"$-8.00$ \\", r"$-8$ \\"),
    ("critical-points", r"  $(6,0)$ & $\begin{psmallmatrix} 0 & 6 \\ 6 & 12 \end{psmallmatrix}$ & $-36.00$ & $-2.49,\ 14.49$ & saddle point & $0.00$ \\" + "\n", ""),
    ("relu-gradient", r"\begin{pmatrix} 1 \\ x \end{pmatrix} & \text{if } b + xw > 0.",
     r"\begin{pmatrix} 1 \\ 1 \end{pmatrix} & \text{if } b + xw > 0."),
    ("relu-gradient", r"& \text{if } b + xw < 0, \\[8pt]", r"& \text{if } b + xw > 0, \\[8pt]"),
    ("relu-convention", r"\ind{b + xw > 0}\,(1, x)^\top", r"\ind{b + xw \ge 0}\,(1, x)^\top"),
    ("1.4", r"w\lay{2} = \begin{pmatrix} \tfrac{\beta_1}{4} & -\tfrac{\beta_1}{4} \end{pmatrix}",
     r"w\lay{2} = \begin{pmatrix} \tfrac{\beta_1}{2} & -\tfrac{\beta_1}{2} \end{pmatrix}"),
    ("1.4", r"o\Bigl(\beta_0 + \tfrac{\beta_1}{4} h_1", r"o\Bigl(\beta_0 + \tfrac{\beta_1}{2} h_1"),
    ("1.4", "$g(z) = z^2$", "$g(z) = z$"),
    ("1.4", r"\begin{pmatrix} 1 & 1 \\ 1 & -1 \end{pmatrix}", r"\begin{pmatrix} 1 & 1 \\ 1 & 1 \end{pmatrix}"),
    ("1.4", r"h_2 = g(x_1 - x_2) = (x_1 - x_2)^2", r"h_2 = g(x_1 - x_2) = (x_1 + x_2)^2"),
    ("1.4", r"o(z) = \frac{1}{1 + e^{-z}}", r"o(z) = \frac{1}{1 + e^{z}}"),
    ("1.4", r"b\lay{2} = \beta_0", r"b\lay{2} = 0"),
    ("loss", r"\pd{L}{f_k} = f_k - y_k", r"\pd{L}{f_k} = y_k - f_k"),
    ("loss", r"L = \frac12 \sum_{k=1}^{K}", r"L = \sum_{k=1}^{K}"),
    ("update", r"w_{ij}\lay{1}(r) - \eta\, \pd{L}{w_{ij}\lay{1}}", r"w_{ij}\lay{1}(r) + \eta\, \pd{L}{w_{ij}\lay{1}}"),
    ("chain-rule", r"(f_k - y_k)\, f_k\,(\ind{k = l} - f_l)." + "\n%@end chain-rule",
     r"(f_k - y_k)\, f_k\,(1 - f_k)." + "\n%@end chain-rule"),
    ("chain-rule", r"\sum_{m=1}^{H\lay{2}} w_{mi}\lay{2}\; \ind{a_m\lay{2} > 0}",
     r"\sum_{m=1}^{H\lay{2}} w_{mi}\lay{2}"),
    ("deltas", r"= \sum_{k=1}^{K} (f_k - y_k)\, f_k\,(\ind{k = l} - f_l)",
     r"= \sum_{k=1}^{K} (f_k - y_k)\, f_k\,(1 - f_k)"),
    ("deltas", r"\ind{a_i\lay{1} > 0} \sum_{m=1}^{H\lay{2}} w_{mi}\lay{2}\, \delta_m\lay{2}",
     r"\ind{a_i\lay{1} > 0} \sum_{m=1}^{H\lay{2}} w_{mi}\lay{2}"),
    ("deltas", r"f_l \Bigl[(f_l - y_l) - \sum_{k=1}^{K}", r"f_l \Bigl[(f_l - y_l) + \sum_{k=1}^{K}"),
    ("deltas", r"= \ind{a_m\lay{2} > 0} \sum_{l=1}^{K} w_{lm}\lay{3}\, \delta_l\lay{3}",
     r"= \sum_{l=1}^{K} w_{lm}\lay{3}\, \delta_l\lay{3}"),
    ("deltas", r"\pd{L}{b_i\lay{1}} = \delta_i\lay{1}.", r"\pd{L}{b_i\lay{1}} = \delta_i\lay{1} x_j."),
    ("update-one-sample", r"- \eta\, \delta_i\lay{1}(r)\, x_j", r"+ \eta\, \delta_i\lay{1}(r)\, x_j"),
    ("update-one-sample", r"- \eta\, \delta_i\lay{1}(r)\, x_j", r"- \eta\, \delta_i\lay{1}(r)"),
    ("jacobian", r"$J = \diag(f) - f f^\top$", r"$J = \diag(f)$"),
    ("matrix-form", r"\langle f - y, f\rangle", r"\langle f - y, y\rangle"),
    ("matrix-form", r"\bigl(W\layT{3} \delta\lay{3}\bigr) \odot \ind{a\lay{2} > 0}",
     r"\bigl(W\layT{3} \delta\lay{3}\bigr) \odot \ind{a\lay{2} < 0}"),
    ("matrix-form", r"\bigl(W\layT{2} \delta\lay{2}\bigr) \odot \ind{a\lay{1} > 0}",
     r"\bigl(W\layT{2} \delta\lay{2}\bigr)"),
    ("matrix-form", r"W\lay{1}(r+1) = W\lay{1}(r) - \eta", r"W\lay{1}(r+1) = W\lay{1}(r) + \eta"),
]


@pytest.mark.parametrize("name, old, new", MUTATIONS, ids=[f"{m[0]}-{i}" for i, m in enumerate(MUTATIONS)])
def test_check_rejects_wrong_edit_of_tex(name, old, new):
    assert SOURCE.count(old) == 1, f"the text to edit must occur exactly once in theory.tex: {old!r}"
    mutated = SOURCE.replace(old, new)
    with pytest.raises(AssertionError):
        CHECKS[name](mutated)


def test_every_marked_block_is_checked():
    marked = set(re.findall(r"^%@begin (\S+)", SOURCE, re.M))
    checked = set(CHECKS) - {"1.4"} | {"hidden-activation", "hidden-weights", "hidden-units",
                                        "output-weights", "output-activation", "output"}
    assert marked == checked
    assert len(re.findall(r"^%@end (\S+)", SOURCE, re.M)) == len(marked)


def test_one_meaning_per_symbol_and_transposes_outside_layer_brackets():
    body = SOURCE[SOURCE.index(r"\begin{document}"):]
    assert body.count(r"\sigma") == 1, "sigma is named once, as the problem's ReLU hidden activation"
    assert r"\delta_{kl}" not in body, "the Kronecker delta is written \\ind{k = l}: delta is the backprop delta"
    assert not re.search(r"\\lay\{\d\\top\}", body), "write \\layT{n} (transpose outside the layer bracket)"


def test_code_variant_matches_network_scratch_backward_pass():
    """'How the code differs': logistic hidden units, no biases, mean MSE (2/K (f - y)) give
    the gradient of network_scratch._backward_pass, checked against PyTorch autograd."""
    network_scratch = pytest.importorskip("network_scratch")
    p, xv, yv = _random_network(7)
    net = network_scratch.NeuralNetwork([D, H1, H2, K], random_state=0)
    net.weights = [p["W1"].copy(), p["W2"].copy(), p["W3"].copy()]
    grads = net._backward_pass(yv, net._forward_pass(xv))
    t = [torch.tensor(p[f"W{n}"], dtype=torch.float64, requires_grad=True) for n in (1, 2, 3)]
    f = torch.softmax(t[2] @ torch.sigmoid(t[1] @ torch.sigmoid(t[0] @ torch.tensor(xv))), dim=0)
    torch.nn.functional.mse_loss(f, torch.tensor(yv)).backward()
    for g, w in zip(grads, t):
        np.testing.assert_allclose(g, w.grad.numpy(), rtol=0, atol=1e-12)


# =========================================================================== 1.3: text and data
RESULTS = json.loads((FIGURES / "results.json").read_text())


def _flat(text):
    return re.sub(r"\s+", " ", text)


def _chosen(r):
    cx = r["complexity"]
    return cx["hidden_units"].index(cx["chosen_hidden"])


def _stop(r):
    return r["epochs"]["stop_epoch"] - 1


# Each sentence of 1.3 that describes data, and what it claims of results.json.
CLAIMS = {
    "The training error never falls as the training set grows, and rises from":
        lambda r: (np.all(np.diff(r["size"]["train_error"]) >= 0)
                   and r["size"]["train_error"][-1] > r["size"]["train_error"][0]),
    "the test error falls with every increase of the size":
        lambda r: np.all(np.diff(r["size"]["test_error"]) < 0),
    "the test error is above the training error at every size":
        lambda r: np.all(np.array(r["size"]["test_error"]) > np.array(r["size"]["train_error"])),
    "With few digits the training error lies \\emph{below} the best possible error":
        lambda r: r["size"]["train_error"][0] < r["best_possible_error"],
    "so its curves meet above the dashed line":
        lambda r: min(r["size"]["train_error"][-1], r["size"]["test_error"][-1]) > r["best_possible_error"],
    "until a block lowered the least training error reached so far by less than 0.5 percentage points":
        lambda r: r["size"]["plateau_tol"] == 0.005 and all(r["size"]["stopped_at_plateau"]),
    "The mean training error falls at every step of the width":
        lambda r: np.all(np.diff(r["complexity"]["train_error_mean"]) < 0),
    "(chance level)":
        lambda r: abs(r["complexity"]["test_error_mean"][0] - 0.9) < 0.02,
    "Left of the line training and test errors are both higher than at the line":
        lambda r: all(r["complexity"][k][i] > r["complexity"][k][_chosen(r)]
                      for k in ("train_error_mean", "test_error_mean") for i in range(_chosen(r))),
    "right of it the training error keeps falling while the validation and test errors end higher than at the line":
        lambda r: (np.all(np.diff(r["complexity"]["train_error_mean"][_chosen(r):]) < 0)
                   and r["complexity"]["val_error_mean"][-1] > r["complexity"]["val_error_mean"][_chosen(r)]
                   and r["complexity"]["test_error_mean"][-1] > r["complexity"]["test_error_mean"][_chosen(r)]),
    "The mean test error has the U":
        lambda r: (0 < _chosen(r) < len(r["complexity"]["hidden_units"]) - 1
                   and r["complexity"]["test_error_mean"][-1] > r["complexity"]["test_error_mean"][_chosen(r)] + 0.02),
    "The line sits \\CxChosenPosition\\,\\% of the way along the axis":  # not in the outer 20 %
        lambda r: 0.2 <= r["complexity"]["chosen_position"] <= 0.8 and len(r["complexity"]["repeats"]) >= 3,
    "while the training error falls from \\StopTrainErr\\,\\% at epoch \\StopEpoch{} to \\EndTrainErr\\,\\% at the end":
        lambda r: r["epochs"]["train_error"][-1] < r["epochs"]["train_error"][_stop(r)],
    "\\StopTestErr\\,\\%, and \\EndTestErr\\,\\% after \\EpMax{} epochs":  # the held-out error rose again
        lambda r: (r["epochs"]["test_error"][-1] > r["epochs"]["test_error"][_stop(r)]
                   and r["epochs"]["val_error"][-1] > r["epochs"]["val_error"][_stop(r)]),
}


@pytest.mark.parametrize("sentence", CLAIMS)
def test_1_3_sentence_holds_for_measured_data(sentence):
    assert sentence in _flat(SOURCE), f"theory.tex no longer says: {sentence!r}"
    assert CLAIMS[sentence](RESULTS), f"results.json contradicts: {sentence!r}"


def _flattened(value, results=RESULTS):
    """A copy of the results in which every error curve is the constant ``value``, no run
    stopped at a plateau and the line sits at the right edge."""
    def walk(obj, key=""):
        if isinstance(obj, dict):
            return {k: walk(v, k) for k, v in obj.items()}
        if isinstance(obj, list) and "error" in key:
            return [walk(v, key) if isinstance(v, (list, dict)) else value for v in obj]
        if isinstance(obj, list):
            return [walk(v, key) for v in obj]
        return obj
    out = walk(json.loads(json.dumps(results)))
    out["size"]["stopped_at_plateau"] = [False] * len(out["size"]["stopped_at_plateau"])
    out["complexity"]["chosen_position"] = 0.95
    return out


@pytest.mark.parametrize("sentence", CLAIMS)
def test_1_3_claim_check_can_fail(sentence):
    """Each claim is rejected for curves that show nothing (all flat at 50 % or at 0 %)."""
    assert not all(CLAIMS[sentence](_flattened(v)) for v in (0.5, 0.0))


def test_1_3_marks_follow_the_recorded_curves():
    """The line and the star sit where the recorded *validation* errors are least (the line:
    their mean over at least 3 repetitions), and the recorded mean and range are those of
    the repetitions: results.json agrees with itself and with what the captions say."""
    CX, EP = RESULTS["complexity"], RESULTS["epochs"]
    assert len(CX["repeats"]) >= 3
    assert CX["chosen_hidden"] == CX["hidden_units"][int(np.argmin(CX["val_error_mean"]))]
    assert EP["stop_epoch"] == int(np.argmin(EP["val_error"])) + 1
    for key in ("train_error", "val_error", "test_error"):  # mean and range of the repetitions
        reps = np.array([r[key] for r in CX["repeats"]])
        np.testing.assert_allclose(CX[key + "_mean"], reps.mean(axis=0))
        np.testing.assert_allclose(CX[key + "_min"], reps.min(axis=0))
    # the sketch's line lies in the middle third of its axis
    assert 1 / 3 <= RESULTS["sketch_complexity_line"] <= 2 / 3


def test_1_3_data_source_and_setting():
    assert RESULTS["data_source"].startswith("embedded") and RESULTS["n_digits"] == 5000
    assert RESULTS["best_possible_error"] == pytest.approx(RESULTS["label_noise"] * 0.9)
    # the noise hit all labels alike: about label_noise x 9/10 of them changed
    assert abs((1 - RESULTS["share_of_labels_unchanged"]) - RESULTS["best_possible_error"]) < 0.02


def _figures_module():
    spec = importlib.util.spec_from_file_location("theory_figures", THEORY / "figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_results_tex_holds_the_numbers_of_results_json():
    assert (FIGURES / "results.tex").read_text() == _figures_module().latex_macros(RESULTS)


def test_figures_use_the_embedded_digits_even_when_mnist_path_is_set(monkeypatch, tmp_path):
    """mnist.load_mnist() would follow $MNIST_PATH (here: a folder without MNIST, so it
    raises); figures.py pins the embedded 5,000 digits unless given --mnist PATH."""
    monkeypatch.setenv("MNIST_PATH", str(tmp_path))
    figures = _figures_module()
    with pytest.raises(FileNotFoundError):
        figures.mnist.load_mnist()
    data = figures.load_digits()
    assert len(data[0]) == 5000 and data.source.startswith("embedded")


# =========================================================================== figures and PDF
def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


FIGURE_FILES = ["sketch_size.pdf", "error_vs_training_size.pdf", "sketch_complexity.pdf",
                "error_vs_hidden_units.pdf", "sketch_epochs.pdf", "error_vs_epochs.pdf"]


@pytest.fixture(scope="module")
def pypdf():
    return pytest.importorskip("pypdf")


def test_figures_included_unscaled_and_fit_the_text_width(pypdf):
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


def test_measured_figures_text_sizes_in_the_pdf_files(pypdf):
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
    figures = _figures_module()
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


@pytest.fixture(scope="module")
def pdf(pypdf):
    assert PDF.is_file(), "theory/theory.pdf is missing: run `make theory`"
    return pypdf.PdfReader(str(PDF))


def test_pdf_built_from_current_sources(pdf):
    meta = pdf.metadata
    fingerprints = {
        "/TheoryTexMD5": TEX,
        "/TheoryResultsMD5": FIGURES / "results.tex",
        "/TheoryFig1MD5": FIGURES / "error_vs_training_size.pdf",
        "/TheoryFig2MD5": FIGURES / "error_vs_hidden_units.pdf",
        "/TheoryFig3MD5": FIGURES / "error_vs_epochs.pdf",
        "/TheorySketch1MD5": FIGURES / "sketch_size.pdf",
        "/TheorySketch2MD5": FIGURES / "sketch_complexity.pdf",
        "/TheorySketch3MD5": FIGURES / "sketch_epochs.pdf",
    }
    for key, path in fingerprints.items():
        assert str(meta.get(key, "")).lower() == _md5(path), (
            f"theory.pdf was not rebuilt after {path.name} changed: run `make -C theory pdf`")


def test_pdf_shows_title_page_and_every_section(pdf):
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in pdf.pages))
    for heading in ("1.1Optimization", "1.2Activationfunctions", "1.3Overfitting",
                    "1.4Capacityofneuralnetwork", "1.5Neuralnetworktheory", "References"):
        assert heading in text, heading
    first = re.sub(r"\s+", "", pdf.pages[0].extract_text())
    for must in ("DeepLearningE1394", "Problemset1", "DanialRiaz", "201678", "216319", "Teamnumber"):
        assert must in first, must
    assert "CarloGre" in first
