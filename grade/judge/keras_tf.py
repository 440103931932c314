"""Items keras.* and tblr.*: what ``NeuralNetworkTf`` and ``TimeBasedLearningRate`` did (grade/observe/keras_tf.py).

keras.layers, keras.activations and keras.loss are the three mistakes the students must find:
they are not public (grade/points.toml), so their judges may name the mistakes outright.
"""

import numpy as np

from ..items import Verdict, judge
from .common import failure, learning, softmax

PROBE = np.array([[-2.0, -0.5, 0.3, 1.7, 0.0], [1.0, 2.0, -1.0, 0.5, 3.0]], dtype=np.float32)


def expected_rates(initial, steps=15):
    return [float(max(initial - s, 1)) for s in range(steps)]


def shown(values, n=13):
    return ", ".join(f"{v:g}" for v in values[:n])


@judge("tblr.values")
def values(obs):
    if obs.error("schedule_values"):
        return failure(obs.error("schedule_values"))
    got = obs["schedule_values"]
    if all(np.allclose(got[str(i)], expected_rates(i)) for i in (10, 3)):
        return Verdict.ok("TimeBasedLearningRate(10) gives 10, 9, ..., 2, 1, 1, ... for steps 0, 1, 2, ... (and "
                          "TimeBasedLearningRate(3) gives 3, 2, 1, 1, ...)")
    return Verdict.fail(f"TimeBasedLearningRate(10) gives {shown(got['10'])}, ... for steps 0, 1, 2, ...; expected "
                        f"10, 9, ..., 2, 1, 1, ...")


def _failures(kinds, reference):
    out = []
    for kind, result in kinds.items():
        if "error" in result:
            e = result["error"]
            out.append(f"for {kind}: {e.get('type')}: {e.get('message')}")
        elif not np.allclose(result["values"], reference[:len(result["values"])], rtol=1e-5):
            out.append(f"for {kind} it gives {shown(result['values'], 12)}, ... instead of {shown(reference, 12)}, ...")
    return out


@judge("tblr.tensor_steps")
def tensor_steps(obs):
    if obs.error("schedule_tensors"):
        return failure(obs.error("schedule_tensors"))
    got = obs["schedule_tensors"]
    reference = expected_rates(10)
    if not obs.error("schedule_values") and np.allclose(obs["schedule_values"]["10"], reference):
        reference = obs["schedule_values"]["10"]
    own, graph = _failures(got["own"], reference), _failures(got.get("graph", {}), reference)
    if own and all("NotImplementedError" in f for f in own):
        return Verdict.fail("`TimeBasedLearningRate.__call__` is not implemented yet: it raises NotImplementedError")
    if not own and not graph:
        return Verdict.ok("the schedule gives the same rates for int64 and float32 tensors and a tf.Variable, also "
                          "inside a tf.function and an optimizer's compiled step")
    if not own and got.get("eager_mode"):
        return Verdict(1.0, "the schedule gives the right rates for tensor steps in the eager mode the template turns "
                            "on, but not in graph mode: " + "; ".join(graph), code="tblr.tensor_steps.eager_only")
    return Verdict.fail("the schedule fails on tensor steps, as optimizers pass them: " + "; ".join(own + graph) +
                        ". Use tensor operations on `step` (e.g. tf.maximum after a cast to float32), not Python's "
                        "if/max/int()/float().")


@judge("keras.input")
def input_shape(obs):
    if obs.error("fit_images"):
        return failure(obs.error("fit_images"))
    got = obs["fit_images"]
    if got.get("ok"):
        return Verdict.ok("compile_and_fit trains on (n, 28, 28) images as the course notebook passes them")
    return failure(got["error"], prefix="compile_and_fit fails on (n, 28, 28) images, as the course notebook passes "
                                        "them: ")


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


def activation_name(out):
    if out is None:
        return "unknown"
    refs = {"sigmoid": 1 / (1 + np.exp(-PROBE)), "softmax": softmax(PROBE.astype(np.float64)), "linear": PROBE,
            "relu": np.maximum(PROBE, 0), "tanh": np.tanh(PROBE)}
    return next((name for name, ref in refs.items()
                 if np.shape(out) == ref.shape and np.allclose(out, ref, rtol=1e-4, atol=1e-6)), "unknown")


def activations_after_dense(obs):
    """The activation after each Dense layer (an Activation layer right after a linear Dense counts)."""
    all_layers, names = obs["layers"]["layers"], []
    for k, layer in enumerate(all_layers):
        if layer["type"] == "Dense":
            name = activation_name(layer.get("activation"))
            if name == "linear" and k + 1 < len(all_layers) and all_layers[k + 1]["type"] == "Activation":
                name = activation_name(all_layers[k + 1].get("activation"))
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


@judge("keras.learns")
def learns(obs):
    if obs.error("learns"):
        return failure(obs.error("learns"))
    s, got = obs.settings["learns"]["keras"], obs["learns"]
    note = ""
    if got.get("note"):
        note = (f" (on flattened rows: (n, 28, 28) images failed: {got['note'].get('type')}: "
                f"{got['note'].get('message')})")
    verdict = learning(got.get("predictions", []), obs.inputs["data.y_train"],
                       f"{len(obs.inputs['data.y_train'])} embedded MNIST digits, NeuralNetworkTf(sizes={s['sizes']}), "
                       f"learning_rate={s['learning_rate']}, batch size {s['batch_size']}, seeded, one "
                       f"compile_and_fit(epochs=1) per epoch, at most {s['max_epochs']} epochs")
    verdict.message += note
    return verdict
