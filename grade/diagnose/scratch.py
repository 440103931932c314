"""Named mistakes of scratch.* (hidden from the handout's checks): which known mistake a failing answer is.

Each refinement compares the observations with a reference computation of one mistake; a
match replaces the public verdict's message with the mistake's name (and, for a judgement call
in grade/points.toml, its points).
"""

import numpy as np

from ..items import Verdict, refine
from ..judge.common import close, flat, relative_error
from ..judge.scratch import NETWORK, student_gradients
from ..reference import identity, scratch_backward, scratch_forward, scratch_weights, sigmoid, softmax


def samples(obs):
    return list(zip(obs.inputs["scratch.XB"], obs.inputs["scratch.YB"]))


FORWARD_MISTAKES = [
    ("the output layer uses sigmoid instead of softmax", dict(out=sigmoid)),
    ("the hidden and output activations are swapped (softmax in the hidden layers, sigmoid at the output)",
     dict(hidden=softmax, out=sigmoid)),
    ("the output layer has no activation (it returns the pre-activation a^[L], not softmax(a^[L]))",
     dict(out=identity)),
    ("softmax is applied in every layer; the hidden layers need sigmoid", dict(hidden=softmax)),
    ("the hidden layers have no activation (sigmoid is missing)", dict(hidden=identity)),
]


@refine("scratch.forward")
def forward(obs, verdict):
    outs = obs["forward"].get("outputs") or []
    for name, kwargs in FORWARD_MISTAKES:
        refs = [scratch_forward(scratch_weights(obs.inputs), x, **kwargs)[0] for x in obs.inputs["scratch.X"]]
        if len(outs) == len(refs) and all(np.shape(o) == r.shape and np.allclose(o, r, rtol=1e-7, atol=1e-10)
                                          for o, r in zip(outs, refs)):
            return Verdict.fail(f"`_forward_pass`: {name}. The template's network is {NETWORK}.")
    return None


OUTPUT_MISTAKES = {
    "none": ("applies the gradient dC/df to the output instead of the pre-activation: it leaves out the softmax "
             "derivative (delta^[L] must be J_softmax^T dC/df)"),
    "full_post": ("evaluates the softmax Jacobian at the output f = self.A[-1] instead of the pre-activation "
                  "a^[L] = self.Z[-1]"),
    "diagonal_post": ("uses only the diagonal of the softmax Jacobian, evaluated at the output f instead of the "
                      "pre-activation a^[L]"),
    "full": "",
}
HIDDEN_MISTAKE = ("evaluates sigmoid's derivative at the layer outputs self.A instead of the pre-activations self.Z "
                  "(sigmoid'(a) = sigmoid(a)(1 - sigmoid(a)) with a = self.Z[l]: applied to h it is "
                  "sigmoid(h)(1 - sigmoid(h)))")


@refine("scratch.backward")
def backward(obs, verdict):
    got, note = student_gradients(obs)
    W = scratch_weights(obs.inputs)
    if not got or any(len(g) != len(W) for g in got):
        return None
    shapes_ok = all(np.shape(g) == w.shape for gs in got for g, w in zip(gs, W))

    def variant(**kwargs):
        return [scratch_backward(W, x, y, **kwargs) for x, y in samples(obs)]

    def matches(reference):
        return shapes_ok and all(close(flat(g), flat(v), 1e-6) for g, v in zip(got, reference))

    if matches(variant(output="diagonal")):
        return Verdict.fail(f"`_backward_pass` uses only the diagonal f(1 - f) of the softmax Jacobian (what the "
                            f"template's utils.softmax_deriv returns). Every softmax output depends on every "
                            f"pre-activation: the exact delta^[L] = J^T dC/df with J = diag(f) - f f^T.{note}",
                            code="scratch.backward.diagonal_softmax_deriv")
    for output, output_mistake in OUTPUT_MISTAKES.items():
        for hidden in ("pre", "post"):
            if (output, hidden) == ("full", "pre") or not matches(variant(output=output, hidden=hidden)):
                continue
            found = [m for m in (output_mistake, HIDDEN_MISTAKE if hidden == "post" else "") if m]
            return Verdict.fail(f"`_backward_pass` {'; and it '.join(found)}.{note}")
    exact = variant()
    if not shapes_ok and all(np.shape(g) == e.T.shape and close(np.transpose(g), e, 1e-6)
                             for gs, es in zip(got, exact) for g, e in zip(gs, es)):
        return Verdict.fail(f"`_backward_pass` returns the gradients transposed: dC/dW^[l] = delta^[l] "
                            f"h^[l-1]^T has the shape (n_out, n_in) of W^[l].{note}")
    if all(np.shape(g) == e.shape and close(g, e, 1e-6) for gs, es in zip(got, exact) for g, e in zip(gs, es[::-1])):
        return Verdict.fail(f"`_backward_pass` returns the gradients in reverse order: gradients[l] must belong "
                            f"to weights[l].{note}")
    if matches([[-e for e in es] for es in exact]):
        return Verdict.fail(f"`_backward_pass` returns the gradient with the wrong sign (the gradient of -C).{note}")
    if shapes_ok:
        a, b = flat([g for gs in got for g in gs]), flat([e for es in exact for e in es])
        c = float(np.dot(a, b) / np.dot(b, b))
        if abs(c) > 1e-12 and relative_error(a, c * b) < 1e-6:
            return Verdict.fail(f"`_backward_pass` returns {c:.4g} times the exact gradient: the course's MSE "
                                f"C = mean((f - y)^2) has dC/df = 2 (f - y) / K.{note}")
    return None


@refine("scratch.update")
def update(obs, verdict):
    if obs.error("update"):
        return None
    new, lr, W = obs["update"]["weights"], obs.settings["scratch"]["learning_rate"], scratch_weights(obs.inputs)
    grads = [obs.inputs[f"scratch.G{l}"] for l in range(len(W))]

    def equals(expected):
        return all(np.shape(n) == e.shape and np.allclose(n, e, rtol=1e-9, atol=1e-12) for n, e in zip(new, expected))

    if equals([w + lr * g for w, g in zip(W, grads)]):
        return Verdict.fail("`_update_weights` has the wrong sign: W + eta dC/dW climbs the cost; gradient descent "
                            "subtracts the gradient, W <- W - eta dC/dW")
    if equals([w - g for w, g in zip(W, grads)]):
        return Verdict.fail("`_update_weights` leaves out the learning rate: W <- W - eta dC/dW")
    if equals(W):
        return Verdict.fail("`_update_weights` does not change self.weights (update the arrays in place, or "
                            "assign the new list to self.weights)")
    return None


@refine("scratch.predict")
def predict(obs, verdict):
    got = obs["predict"].get("predictions") or []
    K = obs.settings["scratch"]["shapes"][-1]
    if got and all(np.shape(p) == (K,) for p in got):
        return Verdict.fail(f"`predict(x)` returns probabilities of shape ({K},) for one sample; it must return the "
                            f"index of the most likely class (np.argmax of the network's output)")
    return None
