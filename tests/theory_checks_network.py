"""Theory checks of 1.4 (a network that computes logistic(beta0 + beta1 x1 x2)), 1.5 (the
backward pass, against PyTorch autograd and torch.optim.SGD in float64) and Appendix B
(the code's variant)."""

import re

import numpy as np
import sympy as sp
import torch

from theory_tex import check_equations, equations, evaluate, expression
from theory_doc import _body, _flat


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
    mixed derivative (it is affine in x1, x2), while beta_0 + beta_1 x1 x2 has beta_1: the
    sentence that says so is read and its parts compared with these derivatives."""
    x1, x2, c1, c0 = sp.symbols("x_1 x_2 c_1 c_0")
    g_chain = equations(doc.tex, "linear-g", functions=["g"])
    assert len(g_chain) == 1 and len(g_chain[0]) == 2
    g = lambda z: evaluate(g_chain[0][1], {"z": z, "c_1": c1, "c_0": c0})  # noqa: E731
    assert sp.diff(g(sp.Symbol("z")), sp.Symbol("z"), 2) == 0 and sp.diff(g(sp.Symbol("z")), sp.Symbol("z")) != 0, \
        "g must be linear (affine, not constant)"
    w1 = np.array(sp.symbols("w11 w12 w21 w22"), dtype=object).reshape(2, 2)
    b1, w2 = np.array(sp.symbols("b1_1 b1_2"), dtype=object), np.array(sp.symbols("w2_1 w2_2"), dtype=object)
    b2 = sp.Symbol("b2")
    (code,), = equations(doc.tex, "linear-g-output", functions=["g"])
    out = sp.expand(evaluate(code, {"x_1": x1, "x_2": x2, "g": g, "w1": w1, "b1": b1, "w2": w2, "b2": b2}))
    assert out.free_symbols >= {x1, x2} | set(w1.ravel()), "the argument uses every weight and both inputs"
    assert all(sp.diff(out, u, v) == 0 for u in (x1, x2) for v in (x1, x2)), f"not affine in x: {out}"
    assert re.search(r"\\textbf\{A linear \$g\$ cannot work\.\} With \$g\(z\) =", _flat(_body(doc.tex))), \
        "the argument names the hidden activation g of block linear-g"
    m = re.search(r"is affine in \$\(x_1, x_2\)\$ for all weights: its mixed derivative "
                  r"\$\\partial\^2/\\partial x_1\\partial x_2\$ is \$([^$]+)\$, that of \$([^$]+)\$ is \$([^$]+)\$\. "
                  r"So no weights give the product unless \$([^$]+)\$\.", _flat(doc.tex))
    assert m, "the argument against a linear g is not found"
    beta0, beta1 = sp.symbols("beta_0 beta_1")
    sym = {"x_1": x1, "x_2": x2, "beta_0": beta0, "beta_1": beta1}
    stated_out, target, stated_target, unless = m.groups()
    assert sp.simplify(evaluate(expression(stated_out), sym) - sp.diff(out, x1, x2)) == 0, "the argument's mixed derivative"
    assert sp.simplify(evaluate(expression(target), sym) - (beta0 + beta1 * x1 * x2)) == 0, "the target's argument"
    assert sp.simplify(evaluate(expression(stated_target), sym) - sp.diff(beta0 + beta1 * x1 * x2, x1, x2)) == 0
    lhs, rhs = (evaluate(expression(side), sym) for side in unless.split("="))
    assert sp.simplify(lhs - rhs - sp.diff(beta0 + beta1 * x1 * x2, x1, x2)) == 0, \
        "the exception is where the target's mixed derivative vanishes"


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
