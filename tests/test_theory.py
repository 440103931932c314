"""theory/theory.tex checked by code: each answer of part 1 re-derived independently.

* 1.1 with sympy (gradient, Hessian, critical points, classification, values), compared
  with the numbers typeset in the table of theory.tex;
* 1.2 against central finite differences and PyTorch's value at the kink;
* 1.4 the stated weights give sigma(b0 + b1 x1 x2) exactly, and a linear g cannot;
* 1.5 the index form (explicit sums) and the matrix form, coded in NumPy, against PyTorch
  autograd in float64; the code variant (sigmoid, no biases, mean MSE) likewise;
* the committed PDF is built from the current sources (MD5 fingerprints in its metadata)
  and shows every section heading.
"""

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

import utils

THEORY = Path(__file__).resolve().parents[1] / "theory"
TEX = THEORY / "theory.tex"
PDF = THEORY / "theory.pdf"
FIGURES = THEORY / "figures"

x, y = sp.symbols("x y", real=True)
F11 = x**2 * y + x * y**2 - 6 * x * y


# =========================================================================== 1.1
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


def test_1_1_gradient_and_hessian():
    grad = [sp.diff(F11, v) for v in (x, y)]
    assert sp.expand(grad[0] - (2 * x * y + y**2 - 6 * y)) == 0
    assert sp.expand(grad[1] - (x**2 + 2 * x * y - 6 * x)) == 0
    H = sp.hessian(F11, (x, y))
    assert sp.expand(H[0, 0] - 2 * y) == 0
    assert sp.expand(H[1, 1] - 2 * x) == 0
    assert sp.expand(H[0, 1] - (2 * x + 2 * y - 6)) == 0  # not 2x + 2y - 6y
    assert sp.expand(H[0, 1] - H[1, 0]) == 0


def test_1_1_critical_points_classification_values():
    points = _critical_points()
    assert points == {(0, 0), (6, 0), (0, 6), (2, 2)}
    expected = {(0, 0): ("saddle point", 0), (6, 0): ("saddle point", 0),
                (0, 6): ("saddle point", 0), (2, 2): ("local minimum", -8)}
    for p, (kind, value) in expected.items():
        assert _classify(p) == kind
        assert F11.subs({x: p[0], y: p[1]}) == value
    # The minimum is only local: f(t, t) -> -oo as t -> -oo.
    t = sp.symbols("t", real=True)
    assert sp.limit(F11.subs({x: t, y: t}), t, -sp.oo) == -sp.oo


def _tex_table_rows():
    """The rows ``$(x,y)$ & H & det & eigenvalues & type & value`` of the 1.1 table."""
    rows = {}
    for line in TEX.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*\$\((-?\d+),(-?\d+)\)\$\s*&(.*)\\\\\s*$", line)
        if m:
            hess = re.search(r"\\begin\{psmallmatrix\}(.*?)\\end\{psmallmatrix\}", m.group(3))
            rest = m.group(3).replace(hess.group(0), "")
            cells = [c.strip() for c in rest.split("&")]
            rows[(int(m.group(1)), int(m.group(2)))] = [hess.group(1)] + cells[1:]
    return rows


def _numbers(cell):
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", cell)]


def test_1_1_table_in_tex_matches_sympy():
    rows = _tex_table_rows()
    assert set(rows) == _critical_points()
    H = sp.hessian(F11, (x, y))
    for p, (hess, det, eig, kind, value) in rows.items():
        Hp = H.subs({x: p[0], y: p[1]})
        assert _numbers(hess) == [float(v) for v in Hp], p
        assert _numbers(det) == [round(float(Hp.det()), 2)], p
        eigs = sorted(round(float(sp.N(e)), 2) for e, mult in Hp.eigenvals().items() for _ in range(mult))
        assert _numbers(eig) == eigs, p
        assert kind.startswith(_classify(p)), p
        assert _numbers(value) == [round(float(F11.subs({x: p[0], y: p[1]})), 2)], p
        for cell in (det, eig, value):  # "round to two decimals"
            assert all(re.fullmatch(r"-?\d+\.\d\d", v) for v in re.findall(r"-?\d+(?:\.\d+)?", cell)), cell


# =========================================================================== 1.2
def test_1_2_gradient_matches_finite_differences_and_torch_kink():
    rng = np.random.default_rng(12)

    def f(b, w, xx):
        return max(0.0, b + xx * w)

    for _ in range(50):
        b, w, xx = rng.normal(size=3)
        if abs(b + xx * w) < 1e-3:
            continue
        on = float(b + xx * w > 0)  # the formula of 1.2: 1[b + xw > 0] * (1, x)
        eps = 1e-7
        db = (f(b + eps, w, xx) - f(b - eps, w, xx)) / (2 * eps)
        dw = (f(b, w + eps, xx) - f(b, w - eps, xx)) / (2 * eps)
        np.testing.assert_allclose([db, dw], [on, on * xx], atol=1e-6)
    # At the kink: PyTorch returns the subgradient s = 0, as utils.relu_deriv does.
    b = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(-0.5, dtype=torch.float64, requires_grad=True)
    torch.relu(b + 3.0 * w).backward()  # b + x w = 0 exactly
    assert (b.grad.item(), w.grad.item()) == (0.0, 0.0)
    assert utils.relu_deriv(np.array([0.0]))[0] == 0.0


# =========================================================================== 1.4
def _network_1_4(X, beta0, beta1, g=np.square):
    W_hidden = np.array([[1.0, 1.0], [1.0, -1.0]])  # rows = hidden units, no biases
    v = np.array([beta1 / 4, -beta1 / 4])           # output weights
    h = g(X @ W_hidden.T)
    return utils.sigmoid(beta0 + h @ v)


def test_1_4_construction_gives_logistic_of_product():
    rng = np.random.default_rng(14)
    for _ in range(20):
        beta0, beta1 = rng.normal(scale=3, size=2)
        X = rng.normal(scale=2, size=(100, 2))
        expected = 1 / (1 + np.exp(-(beta0 + beta1 * X[:, 0] * X[:, 1])))
        np.testing.assert_allclose(_network_1_4(X, beta0, beta1), expected, rtol=1e-12, atol=1e-15)


def test_1_4_linear_hidden_activation_has_no_product_term():
    """Mixed second difference of the output pre-activation: 0 for linear g, beta1 h^2 for z^2."""
    rng = np.random.default_rng(41)
    d = 0.5
    for _ in range(20):
        W, bias, v = rng.normal(size=(2, 2)), rng.normal(size=2), rng.normal(size=2)
        c, c0 = rng.normal(size=2)
        pre = lambda p: (c * (p @ W.T + bias) + c0) @ v  # noqa: E731  (linear g)
        p = rng.normal(size=2)
        mixed = pre(p + [d, d]) - pre(p + [d, 0]) - pre(p + [0, d]) + pre(p)
        assert abs(mixed) < 1e-12
        beta1 = rng.normal()
        logit = lambda q: np.log(_network_1_4(q[None], 0.0, beta1)[0] / (1 - _network_1_4(q[None], 0.0, beta1)[0]))  # noqa: E731
        mixed_sq = logit(p + [d, d]) - logit(p + [d, 0]) - logit(p + [0, d]) + logit(p)
        np.testing.assert_allclose(mixed_sq, beta1 * d * d, rtol=1e-9, atol=1e-12)


# =========================================================================== 1.5
D, H1, H2, K = 6, 5, 4, 3


def _random_network(seed):
    """Random weights, biases, input and target; redrawn until each ReLU layer has both
    active and inactive units and no pre-activation sits at a kink."""
    rng = np.random.default_rng(seed)
    while True:
        p, xv, yv = _draw_network(rng)
        a1, _, a2, _, _, _ = _forward(p, xv)
        if all(0 < np.sum(a > 0) < a.size and np.all(np.abs(a) > 1e-6) for a in (a1, a2)):
            return p, xv, yv


def _draw_network(rng):
    p = {"W1": rng.normal(size=(H1, D)), "b1": rng.normal(size=H1) * 0.3,
         "W2": rng.normal(size=(H2, H1)), "b2": rng.normal(size=H2) * 0.3,
         "W3": rng.normal(size=(K, H2)), "b3": rng.normal(size=K) * 0.3}
    xv = rng.normal(size=D)
    yv = np.eye(K)[rng.integers(K)]
    return p, xv, yv


def _forward(p, xv, act=utils.relu, bias=True):
    a1 = p["W1"] @ xv + (p["b1"] if bias else 0)
    h1 = act(a1)
    a2 = p["W2"] @ h1 + (p["b2"] if bias else 0)
    h2 = act(a2)
    a3 = p["W3"] @ h2 + (p["b3"] if bias else 0)
    return a1, h1, a2, h2, a3, utils.softmax(a3)


def _grad_w1_index_form(p, xv, yv):
    """dL/dw_ij^[1] with the explicit sums over k, l, m of the write-up (L = 1/2 sum (f-y)^2)."""
    a1, _, a2, _, _, f = _forward(p, xv)
    W2, W3 = p["W2"], p["W3"]
    grad = np.zeros((H1, D))
    for i in range(H1):
        for j in range(D):
            total = 0.0
            for m in range(H2):
                for l in range(K):  # noqa: E741  (the write-up's index)
                    for k in range(K):
                        dL_df = f[k] - yv[k]
                        df_da3 = f[k] * ((k == l) - f[l])  # softmax Jacobian f_k (delta_kl - f_l)
                        total += dL_df * df_da3 * W3[l, m] * (a2[m] > 0) * W2[m, i]
            grad[i, j] = total * (a1[i] > 0) * xv[j]
    return grad


def _grad_w1_matrix_form(p, xv, yv, act_deriv=utils.relu_deriv, bias=True, dL_df=None):
    a1, _, a2, _, _, f = _forward(p, xv, act=utils.relu if act_deriv is utils.relu_deriv else utils.sigmoid,
                                  bias=bias)
    g = f - yv if dL_df is None else dL_df(yv, f)
    delta3 = f * (g - np.dot(g, f))                     # J^T (f - y)
    delta2 = (p["W3"].T @ delta3) * act_deriv(a2)       # (W3^T delta3) . 1[a2 > 0]
    delta1 = (p["W2"].T @ delta2) * act_deriv(a1)       # (W2^T delta2) . 1[a1 > 0]
    return np.outer(delta1, xv)                         # delta1 x^T


def _torch_grad_w1(p, xv, yv, act=torch.relu, bias=True, loss="half_sse"):
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p.items()}
    xt, yt = torch.tensor(xv, dtype=torch.float64), torch.tensor(yv, dtype=torch.float64)
    h1 = act(t["W1"] @ xt + (t["b1"] if bias else 0))
    h2 = act(t["W2"] @ h1 + (t["b2"] if bias else 0))
    f = torch.softmax(t["W3"] @ h2 + (t["b3"] if bias else 0), dim=0)
    L = 0.5 * torch.sum((f - yt) ** 2) if loss == "half_sse" else torch.nn.functional.mse_loss(f, yt)
    L.backward()
    return t["W1"].grad.numpy()


@pytest.mark.parametrize("seed", range(5))
def test_1_5_index_and_matrix_form_equal_autograd(seed):
    p, xv, yv = _random_network(seed)
    a1, _, a2, _, _, _ = _forward(p, xv)
    assert np.all(np.abs(a1) > 1e-9) and np.all(np.abs(a2) > 1e-9)  # away from the kinks
    reference = _torch_grad_w1(p, xv, yv)
    assert np.abs(reference).max() > 1e-4  # a non-trivial gradient
    np.testing.assert_allclose(_grad_w1_index_form(p, xv, yv), reference, rtol=0, atol=1e-10)
    np.testing.assert_allclose(_grad_w1_matrix_form(p, xv, yv), reference, rtol=0, atol=1e-10)


def test_1_5_diagonal_softmax_jacobian_is_wrong():
    """The trap of the student answer: f_k (1 - f_k) alone gives a different gradient."""
    p, xv, yv = _random_network(3)
    a1, _, a2, _, _, f = _forward(p, xv)
    delta3_diag = (f - yv) * f * (1 - f)
    delta2 = (p["W3"].T @ delta3_diag) * (a2 > 0)
    wrong = np.outer((p["W2"].T @ delta2) * (a1 > 0), xv)
    assert np.abs(wrong - _torch_grad_w1(p, xv, yv)).max() > 1e-3


def test_1_5_code_variant_sigmoid_no_bias_mean_mse():
    """What network_scratch.py computes: sigma' replaces 1[a > 0], f - y becomes 2(f - y)/K."""
    for seed in range(3):
        p, xv, yv = _random_network(seed)
        ours = _grad_w1_matrix_form(p, xv, yv, act_deriv=utils.sigmoid_deriv, bias=False,
                                    dL_df=utils.mse_deriv)
        ref = _torch_grad_w1(p, xv, yv, act=torch.sigmoid, bias=False, loss="mse")
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
        # and the 2/K relation to the half sum of squares of the write-up
        half = _grad_w1_matrix_form(p, xv, yv, act_deriv=utils.sigmoid_deriv, bias=False)
        np.testing.assert_allclose(ours, 2 / K * half, rtol=1e-12, atol=1e-15)


def test_1_5_matches_network_scratch_backward_pass():
    """The project's _backward_pass on the same weights gives the code variant's gradient."""
    network_scratch = pytest.importorskip("network_scratch")
    p, xv, yv = _random_network(7)
    net = network_scratch.NeuralNetwork([D, H1, H2, K], random_state=0)
    net.weights = [p["W1"].copy(), p["W2"].copy(), p["W3"].copy()]
    grads = net._backward_pass(yv, net._forward_pass(xv))
    ours = _grad_w1_matrix_form(p, xv, yv, act_deriv=utils.sigmoid_deriv, bias=False, dL_df=utils.mse_deriv)
    np.testing.assert_allclose(grads[0], ours, rtol=0, atol=1e-12)


# =========================================================================== PDF and figures
def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def pdf():
    pypdf = pytest.importorskip("pypdf")
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


def test_measured_numbers_follow_from_recorded_curves():
    """figures/results.json (written by figures.py) -> the marks and the quoted numbers."""
    res = json.loads((FIGURES / "results.json").read_text())
    macros = dict(re.findall(r"\\newcommand\{\\(\w+)\}\{([^}]*)\}", (FIGURES / "results.tex").read_text()))
    ep = res["epochs"]
    best = int(np.argmin(ep["val_error"]))  # first epoch of minimal validation error
    assert ep["stop_epoch"] == best + 1
    assert macros["StopEpoch"] == str(best + 1)
    cx = res["complexity"]
    chosen = int(np.argmin(cx["val_error"]))
    assert cx["chosen_hidden"] == cx["hidden_units"][chosen]
    assert macros["ChosenHidden"] == str(cx["chosen_hidden"])
    sz = res["size"]
    assert sz["train_sizes"] == sorted(sz["train_sizes"])
    assert macros["SizeFirstTrainErr"] == f"{100 * sz['train_error'][0]:.2f}"
    assert macros["SizeLastTestErr"] == f"{100 * sz['test_error'][-1]:.2f}"
