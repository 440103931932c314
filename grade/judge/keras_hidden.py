"""Items keras.layers, keras.activations, keras.loss: the three mistakes students must find (not public).

Their judges name the mistakes outright, so this module stays with the TA's grader: the
handout's checks do not ship it (grade/points.toml marks the items public = false).
"""

import numpy as np

from ..items import Verdict, judge
from ..reference import softmax
from .common import failure

def dense(obs):
    return [layer for layer in obs["layers"].get("layers", []) if layer["type"] == "Dense"]


@judge("keras.layers")
def layers(obs):
    if obs.error("layers"):
        return failure(obs.error("layers"))
    sizes = obs.settings["keras"]["sizes"]
    all_layers = obs["layers"]["layers"]
    units = [int(layer["units"]) for layer in dense(obs)]
    other = [layer["type"] for layer in all_layers
             if layer["type"] not in ("Dense", "Flatten", "InputLayer", "Activation", "Reshape")]
    if other:
        return Verdict.fail(f"NeuralNetworkTf(sizes={sizes}) builds {', '.join(other)} layers besides Dense layers "
                            f"of widths {units}: the problem's network is the template's fully connected one, Dense "
                            f"layers of widths sizes[1:] = {sizes[1:]}")
    if units == sizes[1:]:
        return Verdict.ok(f"NeuralNetworkTf(sizes={sizes}) has Dense layers of widths sizes[1:] = {sizes[1:]}")
    if units == sizes:
        return Verdict.fail(f"NeuralNetworkTf(sizes={sizes}) has an extra Dense({sizes[0]}) layer: Dense widths "
                            f"{units}. sizes[0] is the number of inputs, not a layer: the loop must start at i = 1")
    return Verdict.fail(f"NeuralNetworkTf(sizes={sizes}) has Dense layers of widths {units}; expected sizes[1:] = "
                        f"{sizes[1:]}")


def activation_name(out, probe):
    """Which activation gives ``out`` for the ``probe`` inputs (the probe applied each layer's to them)."""
    if out is None:
        return "unknown"
    refs = {"sigmoid": 1 / (1 + np.exp(-probe)), "softmax": softmax(probe.astype(np.float64)), "linear": probe,
            "relu": np.maximum(probe, 0), "tanh": np.tanh(probe)}
    return next((name for name, ref in refs.items()
                 if np.shape(out) == ref.shape and np.allclose(out, ref, rtol=1e-4, atol=1e-6)), "unknown")


def activations_after_dense(obs):
    """The activation after each Dense layer (an Activation layer right after a linear Dense counts)."""
    all_layers, names, probe = obs["layers"]["layers"], [], obs.inputs["keras.activation_probe"]
    for k, layer in enumerate(all_layers):
        if layer["type"] == "Dense":
            name = activation_name(layer.get("activation"), probe)
            if name == "linear" and k + 1 < len(all_layers) and all_layers[k + 1]["type"] == "Activation":
                name = activation_name(all_layers[k + 1].get("activation"), probe)
            names.append(name)
    return names


@judge("keras.activations")
def activations(obs):
    if obs.error("layers"):
        return failure(obs.error("layers"))
    names = activations_after_dense(obs)
    hidden, output = names[:-1], names[-1:]
    if names and all(n == "sigmoid" for n in hidden) and output == ["softmax"]:
        return Verdict.ok(f"sigmoid in the hidden layers, softmax at the output ({names})")
    if names and hidden and all(n == "softmax" for n in hidden) and output == ["sigmoid"]:
        return Verdict.fail(f"the hidden and output activations are swapped: the layers use {names}; the hidden "
                            f"layers need sigmoid, the output layer softmax (a probability vector over the classes)")
    return Verdict.fail(f"the Dense layers use the activations {names}; expected sigmoid in every hidden layer and "
                        f"softmax in the output layer")


@judge("keras.loss")
def loss(obs):
    if obs.error("loss"):
        return failure(obs.error("loss"))
    got = obs["loss"]
    if not got.get("compiled"):
        return failure(got.get("error") or {}, prefix="compile_and_fit did not compile the model, so its loss cannot "
                                                      "be read: ")
    y, p = obs.inputs["keras.loss_y"].astype(np.float64), obs.inputs["keras.loss_p"].astype(np.float64)
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    known = [
        (None, None, float(np.mean(-np.sum(y * np.log(pc), axis=1)))),
        ("binary cross-entropy is kept (the template's BinaryCrossentropy): it scores each of the 10 outputs as an "
         "independent yes/no question; one class out of 10 needs categorical cross-entropy", None,
         float(np.mean(-(y * np.log(pc) + (1 - y) * np.log(1 - pc))))),
        ("softmax is applied twice: CategoricalCrossentropy(from_logits=True) applies softmax to outputs that already "
         "went through softmax", "keras.loss.from_logits_softmax",
         float(np.mean(-np.sum(y * np.log(softmax(p)), axis=1)))),
        ("the loss is the mean squared error; the problem set asks for cross-entropy", None,
         float(np.mean((p - y) ** 2))),
    ]
    value = got["value"]
    for diagnosis, code, ref in known:
        if abs(value - ref) <= 1e-4 * max(1.0, abs(ref)):
            if diagnosis is None:
                return Verdict.ok("the model is compiled with categorical cross-entropy (checked on numbers)")
            return Verdict.fail(f"the loss: {diagnosis}", code=code)
    return Verdict.fail(f"the compiled loss gives {value:.4g} where categorical cross-entropy gives {known[0][2]:.4g}")


