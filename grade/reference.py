"""The grader's reference computations: what a right answer gives for the grader's inputs (hidden).

:func:`expected` turns the inputs into the arrays the judges compare with; the handout's checks
get those arrays as data (``grading/expected.npz``), never this code, which would state the
answers (a forward pass, a backward pass, a loss).  The named diagnoses (grade/diagnose/) use
the functions here to compute what each known mistake gives.
"""

import numpy as np

from .data import SETTINGS


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def softmax(a, axis=-1):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def identity(a):
    return a


# --------------------------------------------------------------------------- the NumPy network
def scratch_weights(inputs):
    return [inputs[f"scratch.W{l}"] for l in range(len(SETTINGS["scratch"]["shapes"]) - 1)]


def scratch_forward(weights, x, hidden=sigmoid, out=softmax):
    """Output, activations ``A`` (``A[0] = x``) and pre-activations ``Z`` of one sample, no biases."""
    h, A, Z = x, [x], []
    for l, W in enumerate(weights):
        a = W @ h
        h = out(a) if l == len(weights) - 1 else hidden(a)
        Z.append(a)
        A.append(h)
    return h, A, Z


def scratch_backward(weights, x, y, output="full", hidden="pre"):
    """Backpropagation of the course's MSE with a chosen (possibly mistaken) output and hidden derivative.

    ``output``: "full" (the exact softmax Jacobian at a^[L]), "diagonal" (only f(1-f), what the
    template's softmax_deriv returns), "none" (dC/df taken as dC/da), or "full_post" /
    "diagonal_post" (the Jacobian evaluated at the output f instead of a^[L]).  ``hidden``: "pre"
    evaluates sigmoid's derivative at the pre-activations (exact), "post" at the activations.
    """
    f, A, Z = scratch_forward(weights, x)
    g = 2 * (f - y) / len(y)
    s = softmax(A[-1] if output.endswith("_post") else Z[-1])
    if output.startswith("full"):
        delta = s * (g - np.dot(g, s))
    elif output.startswith("diagonal"):
        delta = g * s * (1 - s)
    else:
        delta = g
    grads = [None] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        grads[l] = np.outer(delta, A[l])
        if l > 0:
            p = sigmoid(Z[l - 1] if hidden == "pre" else A[l])
            delta = (weights[l].T @ delta) * p * (1 - p)
    return grads


def finite_differences(weights, x, y, eps=1e-6):
    """Centred differences of the course's MSE ``mean((f - y)^2)`` with respect to every weight."""
    weights = [W.copy() for W in weights]
    grads = []
    for W in weights:
        g = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            old = W[idx]
            W[idx] = old + eps
            up = np.mean((scratch_forward(weights, x)[0] - y) ** 2)
            W[idx] = old - eps
            down = np.mean((scratch_forward(weights, x)[0] - y) ** 2)
            W[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


# --------------------------------------------------------------------------- the PyTorch network
def torch_params(inputs):
    import torch
    n = len(SETTINGS["torch"]["sizes"]) - 1
    return [(torch.from_numpy(inputs[f"torch.W{l}"].astype(np.float64)),
             torch.from_numpy(inputs[f"torch.b{l}"].astype(np.float64))) for l in range(n)]


def torch_rows(inputs):
    import torch
    x = inputs["torch.X"]
    return torch.from_numpy(x.reshape(len(x), -1).astype(np.float64))


def torch_logits(params, x, hidden=None):
    import torch
    hidden = hidden or torch.sigmoid
    h = x
    for l, (W, b) in enumerate(params):
        a = h @ W.T + b
        h = a if l == len(params) - 1 else hidden(a)
    return h


def torch_grads(inputs, loss_of):
    """Gradients of ``loss_of(logits, one-hot y)`` for every weight and bias (float64 autograd), one flat array."""
    import torch
    params = [(W.clone().requires_grad_(), b.clone().requires_grad_()) for W, b in torch_params(inputs)]
    loss_of(torch_logits(params, torch_rows(inputs)), torch.from_numpy(inputs["torch.Y"])).backward()
    return np.concatenate([g.numpy().ravel() for W, b in params for g in (W.grad, b.grad)])


# --------------------------------------------------------------------------- everything the judges compare with
def expected(inputs):
    """The arrays a right answer gives for ``inputs`` (names as the public judges read them)."""
    import torch
    import torch.nn.functional as F
    out = {}
    W, X = scratch_weights(inputs), inputs["scratch.X"]
    lr = SETTINGS["scratch"]["learning_rate"]
    out["scratch.forward"] = np.stack([scratch_forward(W, x)[0] for x in X])
    out["scratch.argmax"] = out["scratch.forward"].argmax(axis=1)
    for k, (x, y) in enumerate(zip(inputs["scratch.XB"], inputs["scratch.YB"])):
        for l, g in enumerate(finite_differences(W, x, y)):
            out[f"scratch.fd{k}.{l}"] = g
        _, A, Z = scratch_forward(W, x)  # for the backward probe: self.A, self.Z as a right forward pass fills them
        for l, a in enumerate(A):
            out[f"probe.scratch.A{k}.{l}"] = a
        for l, z in enumerate(Z):
            out[f"probe.scratch.Z{k}.{l}"] = z
    for l, w in enumerate(W):
        out[f"scratch.updated{l}"] = w - lr * inputs[f"scratch.G{l}"]
    z = torch_logits(torch_params(inputs), torch_rows(inputs))
    out["torch.softmax"], out["torch.log_softmax"], out["torch.logits"] = (
        torch.softmax(z, 1).numpy(), torch.log_softmax(z, 1).numpy(), z.numpy())
    out["torch.argmax"] = z.argmax(1).numpy()
    out["torch.grads_mean"] = torch_grads(inputs, lambda a, y: F.cross_entropy(a, y.argmax(1)))
    out["torch.grads_sum"] = torch_grads(inputs, lambda a, y: F.cross_entropy(a, y.argmax(1), reduction="sum"))
    tl = SETTINGS["torch"]["learning_rate"]
    for l in range(len(SETTINGS["torch"]["sizes"]) - 1):
        for kind in ("W", "b"):
            out[f"torch.updated.{kind}{l}"] = inputs[f"torch.{kind}{l}"].astype(np.float64) - tl * inputs[f"torch.G{kind}{l}"]
    for initial in (10, 3):
        out[f"tblr.rates{initial}"] = np.array([float(max(initial - s, 1)) for s in range(15)])
    return out
