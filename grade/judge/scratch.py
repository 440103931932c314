"""Items scratch.*: what ``NeuralNetwork`` did (grade/observe/scratch.py), held against reference maths.

The references are the network the problem describes: no biases, sigmoid hidden layers,
softmax output, the course's MSE ``C = mean_k (f_k - y_k)^2``, for the grader's weights.
"""

import numpy as np

from ..items import Verdict, judge
from .common import failure, learning, relative_error, sigmoid, softmax

NETWORK = "softmax(W3 sigmoid(W2 sigmoid(W1 x)))"


def weights(obs):
    return [obs.inputs[f"scratch.W{l}"] for l in range(len(obs.settings["scratch"]["shapes"]) - 1)]


def reference_forward(weights, x, hidden=sigmoid, out=softmax):
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
    weights = [W.copy() for W in weights]
    grads = []
    for W in weights:
        g = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            old = W[idx]
            W[idx] = old + eps
            up = mse(y, reference_forward(weights, x)[0])
            W[idx] = old - eps
            down = mse(y, reference_forward(weights, x)[0])
            W[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def forward_matches(obs):
    """``(outputs match the reference, largest difference)``; ``(False, None)`` when a shape is wrong."""
    outs = obs["forward"].get("outputs") or []
    refs = [reference_forward(weights(obs), x)[0] for x in obs.inputs["scratch.X"]]
    if len(outs) != len(refs) or any(np.shape(o) != r.shape for o, r in zip(outs, refs)):
        return False, None
    err = max(float(np.max(np.abs(o - r))) for o, r in zip(outs, refs))
    return err < 1e-8, err


@judge("scratch.forward")
def forward(obs):
    if obs.error("forward"):
        return failure(obs.error("forward"))
    ok, err = forward_matches(obs)
    K, d = obs.settings["scratch"]["shapes"][-1], obs.settings["scratch"]["shapes"][0]
    if err is None:
        shapes = sorted({tuple(np.shape(o)) for o in obs["forward"]["outputs"]})
        return Verdict.fail(f"`_forward_pass(x)` for one sample of shape ({d},) must return the {K} softmax outputs, "
                            f"shape ({K},); received shape(s) {shapes}")
    if ok:
        return Verdict.ok(f"`_forward_pass` matches the reference {NETWORK} (largest difference {err:.1e})")
    return Verdict.fail(f"`_forward_pass` differs from the network the problem describes (sigmoid hidden layers, "
                        f"softmax output, no biases: {NETWORK}) by up to {err:.2g} for the same weights")


def student_gradients(obs):
    """The gradients to grade and a note: after the student's own forward pass if it is right, else after the
    reference forward pass filled into ``self.A`` and ``self.Z``."""
    got = obs["backward"]
    own_right = not obs.error("forward") and forward_matches(obs)[0]
    if own_right and not got.get("own_error") and len(got.get("own") or []) == 3:
        return got["own"], ""
    return got.get("reference") or [], (" (your _forward_pass is not right, so self.A and self.Z were filled with "
                                        "the reference forward pass's values for this check)")


def samples(obs):
    return list(zip(obs.inputs["scratch.X"][:3], obs.inputs["scratch.Y"][:3]))


@judge("scratch.backward")
def backward(obs):
    if obs.error("backward"):
        return failure(obs.error("backward"))
    got, note = student_gradients(obs)
    W = weights(obs)
    expected = [w.shape for w in W]
    shapes = [tuple(np.shape(g)) for g in got[0]] if got else []
    if not got or any(len(g) != len(W) for g in got):
        return Verdict.fail(f"`_backward_pass` must return a list of {len(W)} gradients, one per weight matrix; "
                            f"received {len(got[0]) if got else 0}{note}")
    if shapes != expected:
        return Verdict.fail(f"`_backward_pass` returns gradients of shapes {shapes}, but the weights have shapes "
                            f"{expected}: dC/dW^[l] has the shape (n_out, n_in) of W^[l]{note}")
    fd = [finite_differences(W, x, y) for x, y in samples(obs)]
    err = relative_error(np.concatenate([g.ravel() for gs in got for g in gs]),
                         np.concatenate([g.ravel() for gs in fd for g in gs]))
    if err < 1e-5:
        return Verdict.ok(f"`_backward_pass` matches centred finite differences of the course's MSE for every "
                          f"weight (relative error {err:.1e}){note}")
    return Verdict.fail(f"`_backward_pass` does not match centred finite differences of the course's MSE "
                        f"(relative error {err:.2g} over every weight of three samples){note}")


@judge("scratch.update")
def update(obs):
    if obs.error("update"):
        return failure(obs.error("update"))
    new = obs["update"]["weights"]
    lr = obs.settings["scratch"]["learning_rate"]
    W = weights(obs)
    if [np.shape(w) for w in new] != [w.shape for w in W]:
        return Verdict.fail(f"after `_update_weights` the weights have shapes {[np.shape(w) for w in new]}; "
                            f"expected {[w.shape for w in W]}")
    grads = [obs.inputs[f"scratch.G{l}"] for l in range(len(W))]
    if all(np.allclose(n, w - lr * g, rtol=1e-9, atol=1e-12) for n, w, g in zip(new, W, grads)):
        return Verdict.ok(f"`_update_weights` makes the SGD step W <- W - eta dC/dW (eta = {lr})")
    return Verdict.fail(f"`_update_weights(gradients)` does not make the SGD step W <- W - eta gradient "
                        f"(eta = learning_rate = {lr})")


@judge("scratch.predict")
def predict(obs):
    if obs.error("predict"):
        return failure(obs.error("predict"))
    got = obs["predict"]["predictions"]
    K = obs.settings["scratch"]["shapes"][-1]
    for p in got:
        if np.ndim(p) != 0:
            return Verdict.fail(f"`predict(x)` for one sample returns an array of shape {np.shape(p)}; it must "
                                f"return the index of the most likely class (a number in 0..{K - 1})")
    classes = [int(p) for p in got]
    expected = [int(np.argmax(reference_forward(weights(obs), x)[0])) for x in obs.inputs["scratch.X"]]
    if classes == expected:
        return Verdict.ok(f"`predict` returns the most likely class ({len(classes)} samples checked)")
    if obs["predict"].get("own_argmax") == classes:
        return Verdict.ok("`predict` returns the argmax of your _forward_pass (whose output is graded separately)")
    return Verdict.fail(f"`predict` returns classes {classes}; the most likely classes are {expected}")


@judge("scratch.learns")
def learns(obs):
    if obs.error("learns"):
        return failure(obs.error("learns"))
    s = obs.settings["learns"]["scratch"]
    return learning(obs["learns"].get("predictions", []), obs.inputs["data.y_train"],
                    f"{len(obs.inputs['data.y_train'])} embedded MNIST digits, NeuralNetwork({s['sizes']}, "
                    f"learning_rate={s['learning_rate']}), one fit() per epoch, at most {s['max_epochs']} epochs")
