"""Items scratch.*: what ``NeuralNetwork`` did (grade/observe/scratch.py), held against what a right answer gives.

``obs.expected`` holds, for the grader's weights and samples, the outputs of the network the
problem describes (no biases, sigmoid hidden layers, softmax output), the gradients of the
course's MSE by centred finite differences, and the weights after one SGD step.
"""

import numpy as np

from ..items import Verdict, judge
from .common import failure, learning, relative_error

NETWORK = "softmax(W3 sigmoid(W2 sigmoid(W1 x)))"


def n_layers(obs):
    return len(obs.settings["scratch"]["shapes"]) - 1


def forward_matches(obs):
    """``(outputs match, largest difference)``; ``(False, None)`` when a shape is wrong."""
    outs, ref = obs["forward"].get("outputs") or [], obs.expected["scratch.forward"]
    if len(outs) != len(ref) or any(np.shape(o) != r.shape for o, r in zip(outs, ref)):
        return False, None
    err = max(float(np.max(np.abs(o - r))) for o, r in zip(outs, ref))
    return err < 1e-8, err


@judge("scratch.forward")
def forward(obs):
    if obs.error("forward"):
        return failure(obs.error("forward"))
    ok, err = forward_matches(obs)
    d, K = obs.settings["scratch"]["shapes"][0], obs.settings["scratch"]["shapes"][-1]
    if err is None:
        shapes = sorted({tuple(np.shape(o)) for o in obs["forward"].get("outputs") or []})
        return Verdict.fail(f"`_forward_pass(x)` for one sample of shape ({d},) must return the {K} softmax outputs, "
                            f"shape ({K},); received shape(s) {shapes}")
    if ok:
        return Verdict.ok(f"`_forward_pass` matches the reference {NETWORK} (largest difference {err:.1e})")
    return Verdict.fail(f"`_forward_pass` differs from the network the problem describes (sigmoid hidden layers, "
                        f"softmax output, no biases: {NETWORK}) by up to {err:.2g} for the same weights")


def student_gradients(obs):
    """The gradients to grade and a note: after the student's own forward pass if it is right, else after the
    reference forward pass written into ``self.A`` and ``self.Z``."""
    got = obs["backward"]
    own_right = not obs.error("forward") and forward_matches(obs)[0]
    if own_right and not got.get("own_error") and len(got.get("own") or []) == 3:
        return got["own"], ""
    return got.get("reference") or [], (" (your _forward_pass is not right, so self.A and self.Z were filled with "
                                        "the reference forward pass's values for this check)")


def exact_gradients(obs):
    return [[obs.expected[f"scratch.fd{k}.{l}"] for l in range(n_layers(obs))] for k in range(3)]


@judge("scratch.backward")
def backward(obs):
    if obs.error("backward"):
        return failure(obs.error("backward"))
    got, note = student_gradients(obs)
    expected = [g.shape for g in exact_gradients(obs)[0]]
    if not got or any(len(g) != len(expected) for g in got):
        return Verdict.fail(f"`_backward_pass` must return a list of {len(expected)} gradients, one per weight "
                            f"matrix; received {len(got[0]) if got else 0}{note}")
    shapes = [tuple(np.shape(g)) for g in got[0]]
    if shapes != expected:
        return Verdict.fail(f"`_backward_pass` returns gradients of shapes {shapes}, but the weights have shapes "
                            f"{expected}: dC/dW^[l] has the shape (n_out, n_in) of W^[l]{note}")
    err = relative_error(np.concatenate([g.ravel() for gs in got for g in gs]),
                         np.concatenate([g.ravel() for gs in exact_gradients(obs) for g in gs]))
    if err < 1e-5:
        return Verdict.ok(f"`_backward_pass` matches centred finite differences of the course's MSE for every "
                          f"weight (relative error {err:.1e}){note}")
    return Verdict.fail(f"`_backward_pass` does not match centred finite differences of the course's MSE "
                        f"(relative error {err:.2g} over every weight of three samples){note}")


@judge("scratch.update")
def update(obs):
    if obs.error("update"):
        return failure(obs.error("update"))
    new, lr = obs["update"].get("weights") or [], obs.settings["scratch"]["learning_rate"]
    expected = [obs.expected[f"scratch.updated{l}"] for l in range(n_layers(obs))]
    if [np.shape(w) for w in new] != [w.shape for w in expected]:
        return Verdict.fail(f"after `_update_weights` the weights have shapes {[np.shape(w) for w in new]}; "
                            f"expected {[w.shape for w in expected]}")
    if all(np.allclose(n, e, rtol=1e-9, atol=1e-12) for n, e in zip(new, expected)):
        return Verdict.ok(f"`_update_weights` makes the SGD step W <- W - eta dC/dW (eta = {lr})")
    return Verdict.fail(f"`_update_weights(gradients)` does not make the SGD step W <- W - eta gradient "
                        f"(eta = learning_rate = {lr})")


@judge("scratch.predict")
def predict(obs):
    if obs.error("predict"):
        return failure(obs.error("predict"))
    got, K = obs["predict"].get("predictions") or [], obs.settings["scratch"]["shapes"][-1]
    for p in got:
        if np.ndim(p) != 0:
            return Verdict.fail(f"`predict(x)` for one sample returns an array of shape {np.shape(p)}; it must "
                                f"return the index of the most likely class (a number in 0..{K - 1})")
    classes, expected = [int(p) for p in got], [int(c) for c in obs.expected["scratch.argmax"]]
    if classes == expected:
        return Verdict.ok(f"`predict` returns the most likely class ({len(classes)} samples checked)")
    if obs["predict"].get("own_argmax") == classes:
        return Verdict.ok("`predict` returns the argmax of your _forward_pass (whose output is graded separately)")
    return Verdict.fail(f"`predict` returns classes {classes}; the most likely classes are {expected}")


@judge("scratch.learns")
def learns(obs):
    s = obs.settings["learns"]["scratch"]
    return learning(obs, "scratch.learns", f"NeuralNetwork({s['sizes']}, learning_rate={s['learning_rate']}) "
                                           f"trained by the course's fit() on {s['train_digits']} digits, one epoch "
                                           f"at a time, up to {s['max_epochs']} epochs")
