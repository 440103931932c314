"""Items scratch.*: the NumPy network through the template's methods, against reference maths."""

import numpy as np
import pytest

from conftest import SETTINGS, Fail, call, load
from _grading import (close, data, flat, judge_learning, one_hot, relative_error, sigmoid, softmax)

SHAPES = [12, 7, 5, 4]  # small enough for finite differences of every weight
LR = 0.1
RNG = np.random.default_rng(20240918)
WEIGHTS = [RNG.normal(0.0, 0.9, (n_out, n_in)) for n_in, n_out in zip(SHAPES[:-1], SHAPES[1:])]
X = RNG.random((8, SHAPES[0]))
Y = one_hot(np.array([2, 0, 3, 1, 2, 1, 0, 3]), SHAPES[-1])
TIMEOUT = SETTINGS["timeouts"]


def identity(a):
    return a


def ref_forward(weights, x, hidden=sigmoid, out=softmax):
    """Output, activations ``A`` (``A[0] = x``) and pre-activations ``Z`` of one sample."""
    h, A, Z = x, [x], []
    for l, W in enumerate(weights):
        a = W @ h
        h = out(a) if l == len(weights) - 1 else hidden(a)
        Z.append(a)
        A.append(h)
    return h, A, Z


def mse(y, f):
    return np.mean((f - y) ** 2)


def finite_differences(weights, x, y, eps=1e-6):
    """Centred differences of the course's MSE with respect to every weight (float64)."""
    grads = []
    for W in weights:
        g = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            old = W[idx]
            W[idx] = old + eps
            up = mse(y, ref_forward(weights, x)[0])
            W[idx] = old - eps
            down = mse(y, ref_forward(weights, x)[0])
            W[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def ref_backward(weights, x, y, output="full", hidden="pre"):
    """Backpropagation with a chosen (possibly mistaken) output and hidden-layer derivative.

    ``output``: "full" (the exact softmax Jacobian at a^[L]), "diagonal" (only f(1-f), what the
    template's softmax_deriv returns), "none" (dC/df taken as dC/da), or "full_post" /
    "diagonal_post" (the Jacobian evaluated at the output f instead of a^[L]).  ``hidden``:
    "pre" evaluates sigmoid's derivative at the pre-activations (exact), "post" at the
    activations h = sigmoid(a).
    """
    f, A, Z = ref_forward(weights, x)
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


OUTPUT_MISTAKES = {
    "full": "",
    "diagonal": "uses only the diagonal f(1 - f) of the softmax Jacobian (what utils.softmax_deriv returns)",
    "none": ("applies the gradient dC/df to the output instead of the pre-activation: it leaves out the softmax "
             "derivative (delta^[L] must be J_softmax^T dC/df)"),
    "full_post": ("evaluates the softmax Jacobian at the output f = self.A[-1] instead of the pre-activation "
                  "a^[L] = self.Z[-1]"),
    "diagonal_post": ("uses only the diagonal of the softmax Jacobian, evaluated at the output f instead of the "
                      "pre-activation a^[L]"),
}
HIDDEN_MISTAKE = ("evaluates sigmoid's derivative at the layer outputs self.A instead of the pre-activations self.Z "
                  "(sigmoid'(a) = sigmoid(a)(1 - sigmoid(a)) with a = self.Z[l]: applied to h it is sigmoid(h)(1 - sigmoid(h)))")


def new_network(mod, shapes=SHAPES, weights=WEIGHTS, lr=LR):
    net = call(f"NeuralNetwork({shapes}, epochs=1, learning_rate={lr}, random_state=1)",
               mod.NeuralNetwork, shapes, epochs=1, learning_rate=lr, random_state=1)
    if weights is not None:
        have = getattr(net, "weights", None)
        expected = [W.shape for W in weights]
        if not isinstance(have, list) or [np.shape(W) for W in have] != expected:
            raise Fail(f"`NeuralNetwork({shapes})` must keep `self.weights` as a list of arrays of shapes "
                       f"{expected} (n_out, n_in), as the template's __init__ does; received "
                       f"{[np.shape(W) for W in have] if isinstance(have, list) else type(have).__name__}")
        for W, V in zip(have, weights):
            W[...] = V
    return net


def as_array(value, what):
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise Fail(f"`{what}` must return numbers; received {type(value).__name__} ({err})") from None


FORWARD_MISTAKES = [
    ("the output layer uses sigmoid instead of softmax", dict(out=sigmoid)),
    ("the hidden and output activations are swapped (softmax in the hidden layers, sigmoid at the output)",
     dict(hidden=softmax, out=sigmoid)),
    ("the output layer has no activation (it returns the pre-activation a^[L], not softmax(a^[L]))",
     dict(out=identity)),
    ("softmax is applied in every layer; the hidden layers need sigmoid", dict(hidden=softmax)),
    ("the hidden layers have no activation (sigmoid is missing)", dict(hidden=identity)),
]


def test_forward(graded):
    mod = load("network_scratch")
    net = new_network(mod)
    errors = []
    for x in X:
        out = as_array(call("_forward_pass(x)", net._forward_pass, x.copy()), "_forward_pass")
        K = SHAPES[-1]
        if out.shape != (K,):
            raise Fail(f"`_forward_pass(x)` for one sample of shape ({SHAPES[0]},) must return the {K} softmax "
                       f"outputs, shape ({K},); received shape {out.shape}")
        errors.append((out, ref_forward(WEIGHTS, x)[0]))
    err = max(float(np.max(np.abs(o - r))) for o, r in errors)
    if err < 1e-8:
        graded(1.0, f"`_forward_pass` matches the reference softmax(W3 sigmoid(W2 sigmoid(W1 x))) "
                    f"(largest difference {err:.1e})")
        return
    for name, kwargs in FORWARD_MISTAKES:
        if all(np.allclose(o, ref_forward(WEIGHTS, x, **kwargs)[0], rtol=1e-7, atol=1e-10)
               for (o, _), x in zip(errors, X)):
            raise Fail(f"`_forward_pass`: {name}. The template's network is softmax(W3 sigmoid(W2 sigmoid(W1 x))).")
    raise Fail(f"`_forward_pass` differs from the reference softmax(W3 sigmoid(W2 sigmoid(W1 x))) by up to "
               f"{err:.2g} for the same weights")


def _student_gradients(net, x, y):
    """``_backward_pass`` after a forward pass; with the reference A/Z if the student's forward is wrong."""
    note = ""
    try:
        out = call("_forward_pass(x)", net._forward_pass, x.copy())
        ok = np.allclose(np.asarray(out, dtype=np.float64), ref_forward(WEIGHTS, x)[0], rtol=1e-7, atol=1e-10)
    except (Fail, TypeError, ValueError):
        ok = False
    if not ok:  # grade the backward pass on its own: give it the reference forward pass's values
        f, A, Z = ref_forward(WEIGHTS, x)
        net.A, net.Z, out = list(A), list(Z), f
        note = (" (your _forward_pass is not right, so self.A and self.Z were filled with the reference "
                "forward pass's values for this check)")
    grads = call("_backward_pass(y, output)", net._backward_pass, y.copy(), out)
    if not isinstance(grads, (list, tuple)) or len(grads) != len(WEIGHTS):
        raise Fail(f"`_backward_pass` must return a list of {len(WEIGHTS)} gradients, one per weight matrix; "
                   f"received {type(grads).__name__}" + (f" of length {len(grads)}" if hasattr(grads, '__len__') else ""))
    return [as_array(g, "_backward_pass") for g in grads], note


def test_backward(graded):
    mod = load("network_scratch")
    net = new_network(mod)
    samples = list(zip(X[:3], Y[:3]))
    got, notes = [], ""
    for x, y in samples:
        g, notes = _student_gradients(net, x, y)
        got.append(g)
    fd = [finite_differences([W.copy() for W in WEIGHTS], x, y) for x, y in samples]
    shapes_ok = all(a.shape == b.shape for gs, fs in zip(got, fd) for a, b in zip(gs, fs))
    err = relative_error(flat(sum(got, [])), flat(sum(fd, []))) if shapes_ok else np.inf
    if err < 1e-5:
        graded(1.0, f"`_backward_pass` matches finite differences of the course's MSE for every weight "
                    f"(relative error {err:.1e}){notes}")
        return

    def matches(variant):
        return all(close(flat(g), flat(v), 1e-6) for g, v in zip(got, variant))

    def variant(**kwargs):
        return [ref_backward(WEIGHTS, x, y, **kwargs) for x, y in samples]

    if matches(variant(output="diagonal")):
        raise Fail(f"`_backward_pass` uses only the diagonal f(1 - f) of the softmax Jacobian (what the "
                   f"template's utils.softmax_deriv returns). Every softmax output depends on every "
                   f"pre-activation: the exact delta^[L] = J^T dC/df with J = diag(f) - f f^T. Relative error "
                   f"against finite differences: {err:.2g}. Partial credit.{notes}",
                   fraction=0.5, code="diagonal_jacobian")
    for output, output_mistake in OUTPUT_MISTAKES.items():
        for hidden in ("pre", "post"):
            if (output, hidden) == ("full", "pre") or not matches(variant(output=output, hidden=hidden)):
                continue
            found = [m for m in (output_mistake, HIDDEN_MISTAKE if hidden == "post" else "") if m]
            raise Fail(f"`_backward_pass` {'; and it '.join(found)}. Relative error against finite differences: "
                       f"{err:.2g}.{notes}")
    exact = variant()
    if all(all(g.shape == e.T.shape and close(g.T, e, 1e-6) for g, e in zip(gs, es))
           for gs, es in zip(got, exact)) and not shapes_ok:
        raise Fail(f"`_backward_pass` returns the gradients transposed: dC/dW^[l] = delta^[l] h^[l-1]^T has "
                   f"the shape (n_out, n_in) of W^[l].{notes}")
    if all(all(g.shape == e.shape and close(g, e, 1e-6) for g, e in zip(gs, es[::-1])) for gs, es in zip(got, exact)):
        raise Fail(f"`_backward_pass` returns the gradients in reverse order: gradients[l] must belong to "
                   f"weights[l].{notes}")
    if shapes_ok and matches([[-e for e in es] for es in exact]):
        raise Fail(f"`_backward_pass` returns the gradient with the wrong sign (the gradient of -C).{notes}")
    if shapes_ok:
        a, b = flat(sum(got, [])), flat(sum(exact, []))
        c = float(np.dot(a, b) / np.dot(b, b))
        if abs(c) > 1e-12 and close(a, c * b, 1e-6):
            raise Fail(f"`_backward_pass` returns {c:.4g} times the exact gradient: the course's MSE "
                       f"C = mean((f - y)^2) has dC/df = 2 (f - y) / K.{notes}")
    shown = [tuple(g.shape) for g in got[0]]
    raise Fail(f"`_backward_pass` does not match finite differences of the course's MSE (relative error "
               f"{err:.2g}; gradient shapes {shown}, weights {[W.shape for W in WEIGHTS]}).{notes}")


def test_update(graded):
    mod = load("network_scratch")
    net = new_network(mod)
    grads = [RNG.normal(0.0, 1.0, W.shape) for W in WEIGHTS]
    call("_update_weights(gradients)", net._update_weights, [g.copy() for g in grads])
    new = [as_array(W, "self.weights") for W in net.weights]
    if [W.shape for W in new] != [W.shape for W in WEIGHTS]:
        raise Fail(f"after `_update_weights` the weights have shapes {[W.shape for W in new]}; "
                   f"expected {[W.shape for W in WEIGHTS]}")

    def equals(expected):
        return all(np.allclose(n, e, rtol=1e-9, atol=1e-12) for n, e in zip(new, expected))

    if equals([W - LR * g for W, g in zip(WEIGHTS, grads)]):
        graded(1.0, f"`_update_weights` makes the SGD step W <- W - eta dC/dW (eta = {LR})")
        return
    if equals([W + LR * g for W, g in zip(WEIGHTS, grads)]):
        raise Fail("`_update_weights` has the wrong sign: W + eta dC/dW climbs the cost; gradient descent "
                   "subtracts the gradient, W <- W - eta dC/dW")
    if equals([W - g for W, g in zip(WEIGHTS, grads)]):
        raise Fail("`_update_weights` leaves out the learning rate: W <- W - eta dC/dW")
    if equals(WEIGHTS):
        raise Fail("`_update_weights` does not change self.weights (update the arrays in place, or assign "
                   "the new list to self.weights)")
    raise Fail("`_update_weights` does not make the step W <- W - eta dC/dW")


def test_predict(graded):
    mod = load("network_scratch")
    net = new_network(mod)
    expected = [int(np.argmax(ref_forward(WEIGHTS, x)[0])) for x in X]
    got = []
    for x in X:
        p = call("predict(x)", net.predict, x.copy())
        if np.ndim(p) != 0:
            shape = np.shape(p)
            what = "probabilities" if shape == (SHAPES[-1],) else "an array"
            raise Fail(f"`predict(x)` for one sample returns {what} of shape {shape}; it must return the index "
                       f"of the most likely class (np.argmax of the network's output)")
        got.append(p)
    try:
        got = [int(p) for p in got]
    except (TypeError, ValueError):
        raise Fail(f"`predict(x)` must return a class index (an integer); received {type(got[0]).__name__}")
    if got == expected:
        graded(1.0, f"`predict` returns the most likely class ({len(X)} samples checked)")
        return
    try:  # the student's own forward pass may be wrong: predict is right if it takes its argmax
        own = [int(np.argmax(np.asarray(net._forward_pass(x.copy()), dtype=np.float64))) for x in X]
    except Exception:  # noqa: BLE001
        own = None
    if own == got:
        graded(1.0, "`predict` returns the argmax of your _forward_pass (whose output is graded separately)")
        return
    raise Fail(f"`predict` returns classes {got}; the most likely classes are {expected}")


@pytest.mark.timeout(TIMEOUT["learns"])
def test_learns(graded):
    mod = load("network_scratch")
    s = SETTINGS["learns"]["scratch"]
    x_train, y_train, x_val, y_val = data()
    X_train = x_train.reshape(len(x_train), -1) / 255.0
    X_val = x_val.reshape(len(x_val), -1) / 255.0
    net = call(f"NeuralNetwork({s['sizes']}, epochs=1, learning_rate={s['learning_rate']}, random_state=0)",
               mod.NeuralNetwork, s["sizes"], epochs=1, learning_rate=s["learning_rate"], random_state=0)
    accs = []
    for epoch in range(s["epochs"]):
        call("fit(x_train, y_train, x_val, y_val)", net.fit, X_train, one_hot(y_train), X_val, one_hot(y_val))
        weights = [as_array(W, "self.weights") for W in net.weights]
        try:  # the grader measures the accuracy itself, from the trained weights
            h = X_train
            for W in weights[:-1]:
                h = sigmoid(h @ W.T)
            accs.append(float(np.mean(np.argmax(h @ weights[-1].T, axis=1) == y_train)))
        except ValueError as err:
            raise Fail(f"after `fit` the weights have shapes {[W.shape for W in weights]}: {err}") from None
    graded(1.0, judge_learning(accs, len(y_train),
                               f"{len(y_train)} embedded MNIST digits, layer_shapes={s['sizes']}, "
                               f"learning_rate={s['learning_rate']}, one fit() call per epoch"))
