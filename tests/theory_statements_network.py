"""Statement checks of 1.4, 1.5 and Appendix B: the mathematics written outside the marked
blocks and the words that carry a fact (symmetric, zero gradient, ascent, a sign, every/only),
each read from its sentence and compared with PyTorch autograd in float64, sympy, or the code of
network_scratch.py / utils.py (see tests/theory_statements_calculus.py for the form)."""

import re

import numpy as np
import sympy as sp
import torch

import utils
from theory_tex import block, equations, evaluate, expression
from theory_checks_network import BATCHES, D, ETA, H1, K, N_BATCH, NETWORKS, _code_network, _random_network, _tensors
from theory_doc import statements_hold

X1, X2, B0, B1 = sp.symbols("x_1 x_2 beta_0 beta_1")
_SYM = {"x_1": X1, "x_2": X2, "beta_0": B0, "beta_1": B1}


def _sym(latex):
    return sp.sympify(evaluate(expression(latex), _SYM))


# --------------------------------------------------------------------------- 1.4
def _inputs_are_the_outputs_variables(m, tex):
    """The named inputs are those the network's output (the last part of block output) uses."""
    last = equations(tex, "output", functions=["o"])[0][-1]
    return {m["a"], m["b"]} == {"x_1", "x_2"} and all(f"V('{v}')" in last for v in ("x_1", "x_2"))


STATEMENTS_14 = [
    (r"For the inputs \$(?P<a>x_1)\$ and \$(?P<b>x_2)\$: hidden activation", "tex", _inputs_are_the_outputs_variables),
    (r"a logistic regression on the feature \$(?P<feature>[^$]+)\$, for every \$\\beta_0, \\beta_1 \\in (?P<set>\\R)\$ "
     r"and all inputs", lambda m: sp.expand(_sym(m["feature"]) - X1 * X2) == 0),
    (r"affine maps composed are affine, so \$(?P<feature>[^$]+)\$ never appears",
     lambda m: sp.expand(_sym(m["feature"]) - X1 * X2) == 0),
    (r"Assuming a hidden unit already outputs \$(?P<target>[^$]+)\$ and only naming values of \$\\beta_0\$, "
     r"\$\\beta_1\$: the network must \\emph\{produce\} the product from \$x_1\$ and \$x_2\$",
     lambda m: sp.expand(_sym(m["target"]) - (B0 + B1 * X1 * X2)) == 0),
    (r"Weights off by a factor: \$(?P<lhs>[^$]+)\$ is \$(?P<rhs>[^$]+)\$, so the output weights need "
     r"\$(?P<weight>[^$]+)\$",
     lambda m: (sp.expand(_sym(m["lhs"]) - _sym(m["rhs"])) == 0
                and sp.simplify(_sym(m["weight"]) - B1 / sp.Poly(_sym(m["rhs"]), X1, X2).coeffs()[0]) == 0)),
]


# --------------------------------------------------------------------------- 1.5
def _network_and_loss(seed, zero_unit=None):
    """A random network of 1.5 (ReLU, softmax, quadratic loss) and its loss as a function; with
    ``zero_unit``, that unit of layer 1 gets a pre-activation of exactly 0."""
    p, xv, yv = _random_network(seed)
    if zero_unit is not None:
        p["W1"][zero_unit], p["b1"][zero_unit] = 0.0, 0.0
    t = _tensors(p)
    xt, yt = torch.tensor(xv), torch.tensor(yv)

    def loss(params):
        a1 = params["W1"] @ xt + params["b1"]
        a3 = params["W3"] @ torch.relu(params["W2"] @ torch.relu(a1) + params["b2"]) + params["b3"]
        return 0.5 * torch.sum((torch.softmax(a3, dim=0) - yt) ** 2), a1
    return t, loss


def _zero_rows(m):
    """Rows i of dL/dW^[1] with a_i^[1] <= 0 (exactly 0 included, ReLU'(0) = 0) are zero, the
    others not: for the stated relation and for no other."""
    rel = {r"\le": np.less_equal, "<": np.less, r"\ge": np.greater_equal, ">": np.greater}[m["rel"]]
    for seed, zero_unit in ((0, None), (1, 2), (2, 0)):
        t, loss = _network_and_loss(seed, zero_unit)
        value, a1 = loss(t)
        (grad,) = torch.autograd.grad(value, [t["W1"]])
        rows_zero = np.all(grad.numpy() == 0, axis=1)
        if not np.array_equal(rows_zero, rel(a1.detach().numpy(), 0)) or m["what"] != "zero":
            return False
    return True


def _ascent(m):
    """w + eta dL/dw (eta > 0 small) raises the mean loss: gradient ascent."""
    t, loss = _network_and_loss(3)
    value, _ = loss(t)
    (grad,) = torch.autograd.grad(value, [t["W1"]])
    sign = {"+": 1, "-": -1}[m["sign"]]
    with torch.no_grad():
        moved = dict(t, W1=t["W1"] + sign * 1e-3 * grad)
        after = loss(moved)[0].item()
    return (after > value.item()) == (m["kind"] == "ascent")


def _learning_rate_sign(m):
    """The stated sign of eta is the one gradient descent takes: torch.optim.SGD accepts a
    learning rate of that sign, and its step is w - eta dL/dw (the boxed update)."""
    eta = {">": ETA, "<": -ETA}[m["rel"]]
    try:
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=eta)
    except ValueError:
        return False
    v = BATCHES[0]
    return np.allclose(v["w1"] - eta * v[("d", "calL", "w1")], v["W1_next"], rtol=0, atol=1e-12)


def _dependencies(m):
    """Which pre-activation each quantity enters, from the network's Jacobians (PyTorch)."""
    v = NETWORKS[0]
    d_a1_w1 = v[("d", "a1", "w1")]  # (H1, H1, D): a1_i' by W1[i, j]
    only = all(np.count_nonzero(d_a1_w1[:, i, j]) == 1 and d_a1_w1[i, i, j] != 0 for i in range(H1) for j in range(D))
    every = all(np.all(v[("d", a, h)] != 0) for a, h in (("a2", "h1"), ("a3", "h2"), ("f", "a3")))
    return only and every


def _symmetric_jacobian(m, tex):
    v = NETWORKS[0]
    stated = np.asarray(evaluate(equations(tex, "jacobian", functions=["diag"])[0][1], v), dtype=float)
    symmetric = np.allclose(stated, stated.T) and np.allclose(v["J"], v["J"].T)
    return symmetric == (m["sym"] == "symmetric")


def _shapes(m):
    """The stated sizes of X and Delta^[1] are those of the mini-batch (n samples, d inputs, H^[1] units)."""
    size = {"n": N_BATCH, "d": D, r"H\lay{1}": H1}
    v = BATCHES[0]
    return (v["X"].shape == (size[m["xr"]], size[m["xc"]]) and v["Delta1"].shape == (size[m["dr"]], size[m["dc"]]))


def _diagonal_mistake(m):
    v = NETWORKS[0]
    f, J = v["f"], v["J"]
    diag = np.array([evaluate(expression(m["diag"]), {"f": f}, k=k) for k in range(K)], dtype=float)
    off = np.array([[evaluate(expression(m["off"]), {"f": f}, k=k, l=l) for l in range(K)] for k in range(K)], dtype=float)
    reduced = np.diag(np.diag(J)) @ (f - v["y"])
    return (np.allclose(diag, np.diag(J)) and np.allclose(off[~np.eye(K, dtype=bool)], J[~np.eye(K, dtype=bool)])
            and np.all(J != 0) and not np.allclose(reduced, v["delta3"]))


def _sums_over(m, tex):
    return set(re.findall(r"\\sum_\{(\w)=1\}", block(tex, "chain-rule"))) == {m["a"], m["b"], m["c"]}


def _iterates(m, tex):
    """The gradient at theta(r+1) differs from that at theta(r), which the update uses."""
    v = BATCHES[0]
    update = equations(tex, "update")[0][1]
    differ = not np.allclose(v[("at", "theta_next")][("d", "calL", "w1")], v[("d", "calL", "w1")])
    return m["wrong"] == r"\theta(r+1)" and m["right"] == r"\theta(r)" and "AT('theta'" in update and differ


STATEMENTS_15 = [
    (r"with \$\\sigma = \\relu\$ in both hidden layers of \$H\\lay\{1\}\$ and \$H\\lay\{2\}\$ units, \$o = \$ softmax, "
     r"\$f_k = o\(a\\lay\{3\}\)_k\$, one sample \$x \\in \\R\^d\$ with one-hot target \$y \\in \\\{0,1\\\}\^K\$",
     lambda m: NETWORKS[0]["x"].shape == (D,) and sorted(NETWORKS[0]["y"]) == [0] * (K - 1) + [1]),
    (r"\$L_s\$ being the loss of sample \$s\$", "tex", lambda m, tex: "L_s" in block(tex, "mean-loss")),
    (r"\\textbf\{Update rule\} \(learning rate \$\\eta (?P<rel>[<>]) 0\$; derivatives at the parameters "
     r"\$\\theta\(r\)\$ of iteration \$r\$\)", _learning_rate_sign),
    (r"\(the convention of 1\.2 at \$a = (?P<at>[^$]+)\$\)", "tex",
     lambda m, tex: float(evaluate(equations(tex, "relu-derivative", functions=["relu_prime"])[0][1],
                                   {"a": _value_of(m["at"])})) == 0.0),  # ReLU'(0) = 0, 1.2's convention
    (r"\$w_\{ij\}\\lay\{1\}\$ enters only \$a_i\\lay\{1\}\$; but \$h_i\\lay\{1\}\$ feeds every \$a_m\\lay\{2\}\$, "
     r"each \$h_m\\lay\{2\}\$ every \$a_l\\lay\{3\}\$, and each \$a_l\\lay\{3\}\$ moves every \$f_k\$", _dependencies),
    (r"\\textbf\{Deltas\} \(\$\\delta = \\partial L / \\partial a\$ of a unit, computed backwards\)", "tex",
     lambda m, tex: all(rf"\delta_{u}\lay{{{n}}} &= \pd{{L}}{{a_{u}\lay{{{n}}}}}" in block(tex, "deltas")
                        or rf"\delta_{u}\lay{{{n}}} = \pd{{L}}{{a_{u}\lay{{{n}}}}}" in block(tex, "deltas")
                        for u, n in (("l", 3), ("m", 2), ("i", 1)))),
    (r"For one sample \(\$n = (?P<n>\d+)\$, \$\\mathcal\{L\} = L\$\), and for a mini-batch of \$n\$ samples with "
     r"\$\\delta_\{is\}\\lay\{1\}\$ and \$x_\{js\}\$ those of sample \$s\$", "tex",
     lambda m, tex: np.isclose(float(evaluate(equations(tex, "mean-loss")[0][1], {"n": int(m["n"]), "L": np.array([0.7])})),
                               0.7) and int(m["n"]) == 1),
    (r"with every \$\\delta\$ and \$f\$ computed from \$\\theta\(r\)\$\. If \$a_i\\lay\{1\} (?P<rel>\\le|<|\\ge|>) 0\$, "
     r"row \$i\$ of \$W\\lay\{1\}\$ gets a (?P<what>zero|non-zero) gradient from that sample", _zero_rows),
    (r"In matrix form, with \$\\odot\$ the element-wise product and the (?P<sym>symmetric|antisymmetric) Jacobian",
     "tex", _symmetric_jacobian),
    (r"the rows of \$X \\in \\R\^\{(?P<xr>\w) \\times (?P<xc>\w)\}\$ \(here a matrix, not the problem's single sample "
     r"\$X\$\) and \$\\Delta\\lay\{1\} \\in \\R\^\{(?P<dr>\w) \\times (?P<dc>H\\lay\{1\})\}\$ being the \$x\^\\top\$ "
     r"and \$\\delta\\layT\{1\}\$ of the \$n\$ samples", _shapes),
    (r"Reducing the softmax Jacobian to its diagonal \$(?P<diag>[^$]+)\$ \(``assuming \$k = l\$''\): every output "
     r"depends on every pre-activation, and the off-diagonal terms \$(?P<off>[^$]+)\$ change the gradient",
     _diagonal_mistake),
    (r"One chain of single terms without the sums over \$(?P<a>\w)\$, \$(?P<b>\w)\$ and \$(?P<c>\w)\$", "tex", _sums_over),
    (r"The update \$w (?P<sign>[+-]) \\eta\\,\\partial\\mathcal\{L\}/\\partial w\$: gradient \\emph\{(?P<kind>ascent|descent)\}",
     _ascent),
    (r"Evaluating the derivative at \$(?P<wrong>[^$]+)\$, or not saying where: the step uses the gradient at "
     r"\$(?P<right>[^$]+)\$", "tex", _iterates),
]


def _value_of(latex):
    return float(evaluate(expression(latex), {}))


# --------------------------------------------------------------------------- Appendix B
_A = np.random.default_rng(25).normal(size=K) * 2


def _logistic_units(m):
    h = expression(m["h"])
    return np.allclose([float(evaluate(h, {"a": a})) for a in _A], utils.sigmoid(_A)) and m["bias"] == "no biases"


def _three_changes(m, tex):
    """The ReLU derivative of 1.5 becomes the logistic derivative (the code's, by finite
    differences too); the gradients of C are those of L times the stated factor (autograd)."""
    relu = np.asarray(evaluate(expression(m["relu"]), {"a": _A}), dtype=float).ravel()
    logistic = np.array([float(evaluate(expression(m["deriv"]), {"h": utils.sigmoid(a)})) for a in _A])
    fd = (utils.sigmoid(_A + 1e-6) - utils.sigmoid(_A - 1e-6)) / 2e-6
    net = _code_network(0)
    factor = float(evaluate(expression(m["factor"]), {"K": K}))
    return (np.array_equal(relu, (_A > 0).astype(float)) and np.allclose(logistic, fd, atol=1e-8)
            and np.allclose(logistic, utils.sigmoid_deriv(_A)) and np.allclose(net["u"], factor * (net["f"] - net["y"])))


def _cost_derivative(m):
    net = _code_network(1)
    return m["u"] == "u" and np.allclose(utils.mse_deriv(net["y"], net["f"]), net[("d", "C", "f")])


def _softmax_deriv_diagonal(m):
    f = utils.softmax(_A)
    stated = np.asarray(evaluate(expression(m["diag"]), {"f": f}), dtype=float).ravel()
    J = np.diag(f) - np.outer(f, f)
    return np.allclose(stated, utils.softmax_deriv(_A)) and np.allclose(stated, np.diag(J)) and m["only"] == "only"


STATEMENTS_B = [
    (r"logistic hidden units \$h = (?P<h>[^$]+)\$, (?P<bias>no biases), and the mean squared error over the \$K\$ "
     r"outputs", _logistic_units),
    (r"three changes: \$(?P<relu>\\ind\{a > 0\})\$ becomes the logistic derivative \$(?P<deriv>[^$]+)\$ at the same "
     r"pre-activation, the bias gradients are dropped, and every gradient is multiplied by \$(?P<factor>[^$]+)\$",
     "tex", _three_changes),
    (r"with \$(?P<u>\w) = \\partial C / \\partial f\$ from \\texttt\{cost\\_func\\_deriv\}", _cost_derivative),
    (r"\\texttt\{utils\.softmax\\_deriv\} returns (?P<only>only) the diagonal \$(?P<diag>[^$]+)\$ of \$J\$",
     _softmax_deriv_diagonal),
]


def check_statements_14(doc):
    statements_hold(doc, STATEMENTS_14)


def check_statements_15(doc):
    statements_hold(doc, STATEMENTS_15)


def check_statements_b(doc):
    statements_hold(doc, STATEMENTS_B)
