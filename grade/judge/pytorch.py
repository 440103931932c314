"""Items torch.*: what ``NeuralNetworkTorch`` did (grade/observe/pytorch.py), held against what a right answer gives.

``obs.expected`` holds, for the grader's parameters and images, the outputs of the network the
problem describes (sigmoid hidden layers, softmax output) as probabilities, log-probabilities
and logits, the gradients of the categorical cross-entropy (mean and sum over the batch), and
the parameters after one SGD step.
"""

import numpy as np

from ..items import Verdict, judge
from .common import failure, learning, relative_error


def student_grads(obs):
    return np.concatenate([np.asarray(g).ravel() for g in obs["loss"].get("grads") or [np.zeros(0)]])


def target_note(obs):
    got = obs["loss"]
    if got.get("form", "one-hot int64 rows") == "one-hot int64 rows":
        return ""
    first = got.get("first_error") or {}
    return (f" (note: `_backward_pass` fails on the one-hot int64 targets that the template's fit passes "
            f"({first.get('type')}: {first.get('message', '')}), so it was graded with {got['form']})")


@judge("torch.forward")
def forward(obs):
    if obs.error("forward"):
        return failure(obs.error("forward"))
    out = obs["forward"].get("output")
    n, K = len(obs.inputs["torch.X"]), obs.settings["torch"]["sizes"][-1]
    if np.shape(out) != (n, K):
        return Verdict.fail(f"`_forward_pass(x)` for a batch of {n} rows must return shape ({n}, {K}); received "
                            f"shape {np.shape(out)}")
    forms = {"the softmax probabilities": "torch.softmax", "the log-probabilities": "torch.log_softmax",
             "the output layer's pre-activations (logits)": "torch.logits"}
    for name, key in forms.items():
        if np.allclose(out, obs.expected[key], rtol=1e-4, atol=1e-5):
            return Verdict.ok(f"`_forward_pass` matches the reference network (sigmoid hidden layers, softmax "
                              f"output); it returns {name}")
    err = float(np.max(np.abs(out - obs.expected["torch.softmax"])))
    return Verdict.fail(f"`_forward_pass` differs from the network the problem describes (sigmoid hidden layers, "
                        f"softmax output) for the same weights: by up to {err:.2g} from its probabilities, and it is "
                        f"neither its log-probabilities nor its logits")


@judge("torch.loss")
def loss(obs):
    if obs.error("loss"):
        return failure(obs.error("loss"))
    if any(obs["loss"].get("missing") or [True]):
        return Verdict.fail("after `_backward_pass` some parameters have no gradient: compute the loss of the "
                            "forward pass's output and call backward() on it")
    grads = student_grads(obs)
    err = relative_error(grads, obs.expected["torch.grads_mean"])
    if err is not None and err < 1e-4:
        return Verdict.ok(f"the gradients of `_backward_pass` are those of the categorical cross-entropy (relative "
                          f"error {err:.1e}){target_note(obs)}")
    total = relative_error(grads, obs.expected["torch.grads_sum"])
    if total is not None and total < 1e-4:
        return Verdict(1.0, f"the gradients of `_backward_pass` are those of the categorical cross-entropy summed "
                            f"over the batch (not averaged){target_note(obs)}", code="torch.loss.sum_not_mean")
    shown = "of another number of parameters" if err is None else f"relative error {err:.2g}"
    return Verdict.fail(f"the gradients of `_backward_pass` are not those of the categorical cross-entropy "
                        f"({shown}){target_note(obs)}")


def expected_update(obs, factor=None):
    """Every parameter after the step (or plus ``factor`` times the grader's gradient), in the layers' order."""
    out = []
    biases = obs["structure"].get("biases") or [True] * (len(obs.settings["torch"]["sizes"]) - 1)
    for l, has_bias in enumerate(biases):
        for kind in ("W", "b") if has_bias else ("W",):
            if factor is None:
                out.append(obs.expected[f"torch.updated.{kind}{l}"])
            else:
                out.append(obs.inputs[f"torch.{kind}{l}"].astype(np.float64) + factor * obs.inputs[f"torch.G{kind}{l}"])
    return out


@judge("torch.backward_update")
def backward_update(obs):
    if obs.error("loss"):
        return failure(obs.error("loss"))
    got = obs["loss"]
    if any(got.get("missing") or [True]) or all(float(np.max(np.abs(g))) == 0 for g in got["grads"] if np.size(g)):
        return Verdict.fail("`_backward_pass` leaves the parameters without gradients: it must call backward() on "
                            "the loss")
    if obs.error("update"):
        return failure(obs.error("update"))
    lr, after, expected = obs.settings["torch"]["learning_rate"], obs["update"].get("params") or [], expected_update(obs)
    if len(after) == len(expected) and all(np.allclose(a, e, rtol=1e-5, atol=1e-7) for a, e in zip(after, expected)):
        return Verdict.ok(f"`_backward_pass` gives every layer its gradients and `_update_weights` makes the SGD step "
                          f"p <- p - eta grad (eta = {lr}){target_note(obs)}")
    return Verdict.fail(f"`_update_weights()` does not make the plain SGD step p <- p - eta grad (eta = learning_rate "
                        f"= {lr}) with the gradients in .grad")


@judge("torch.predict")
def predict(obs):
    if obs.error("predict"):
        return failure(obs.error("predict"))
    got, expected = obs["predict"], obs.expected["torch.argmax"]
    K = obs.settings["torch"]["sizes"][-1]
    for p in got.get("one") or []:
        if np.size(p) != 1:
            return Verdict.fail(f"`predict(x)` for one image of shape (1, 1, 28, 28) returns shape {np.shape(p)} (a "
                                f"score per class?); it must return the index of the most likely class (argmax over "
                                f"the {K} outputs)")
    one = np.array([int(np.asarray(p).ravel()[0]) for p in got.get("one") or []])
    own = got.get("own_argmax")
    if not (np.array_equal(one, expected) or (own is not None and np.array_equal(one, own))):
        return Verdict.fail(f"`predict` returns classes {one.tolist()}; the most likely are {expected.tolist()}")
    batch = got.get("batch")
    if batch is not None and np.shape(batch) == expected.shape and (
            np.array_equal(batch, expected) or (own is not None and np.array_equal(batch, own))):
        return Verdict.ok(f"`predict` returns the most likely class of each image ({len(one)} images, one at a time "
                          f"and as a batch)")
    return Verdict(1.0, f"`predict` returns the most likely class of one image at a time, as compute_accuracy passes "
                        f"them with the course's loaders (batch size 1); for a batch of {len(one)} it returns "
                        f"{'an error' if batch is None else f'shape {np.shape(batch)}'}",
                   code="torch.predict.one_sample")


@judge("torch.learns")
def learns(obs):
    s = obs.settings["learns"]["torch"]
    return learning(obs, "torch.learns", f"NeuralNetworkTorch(sizes={s['sizes']}, learning_rate={s['learning_rate']}) "
                                         f"trained by the course's fit() with loaders of batch size 1 on "
                                         f"{s['train_digits']} digits, one epoch at a time, up to {s['max_epochs']} epochs")
