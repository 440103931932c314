"""Probes of ``network_scratch.NeuralNetwork`` through the course template's calls (runs in the sandbox).

Every network is made as the course makes it, ``NeuralNetwork(layer_shapes, epochs=...,
learning_rate=..., random_state=...)``, its ``weights`` then set to the grader's; one sample at a
time, as the template's ``fit`` passes them.  What comes back is written down, never judged here.
"""

import numpy as np

from harness import ProbeError


def as_array(value, what):
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ProbeError(what, "interface", f"returned {type(value).__name__}, not numbers ({err})") from None


def network(ctx, shapes=None, learning_rate=None, epochs=1, random_state=1, weights="inputs"):
    """A NeuralNetwork made by the course's call, its weights set to the grader's (``weights="inputs"``)."""
    s = ctx.settings["scratch"]
    shapes = shapes or s["shapes"]
    learning_rate = s["learning_rate"] if learning_rate is None else learning_rate
    mod = ctx.module(ctx.settings["scratch"]["module"])
    what = f"NeuralNetwork({shapes}, epochs={epochs}, learning_rate={learning_rate}, random_state={random_state})"
    net = ctx.call(what, mod.NeuralNetwork, list(shapes), epochs=epochs, learning_rate=learning_rate,
                   random_state=random_state)
    if weights == "inputs":
        given = [ctx.inputs[f"scratch.W{l}"] for l in range(len(shapes) - 1)]
        have = getattr(net, "weights", None)
        if not isinstance(have, list) or [np.shape(W) for W in have] != [W.shape for W in given]:
            shown = [np.shape(W) for W in have] if isinstance(have, list) else type(have).__name__
            raise ProbeError(what, "interface", f"`self.weights` must be the template's list of arrays of shapes "
                                                f"{[W.shape for W in given]} (n_out, n_in); received {shown}")
        net.weights = [W.copy() for W in given]
    return net


def forward(ctx):
    net = network(ctx)
    return {"outputs": [as_array(ctx.call("_forward_pass(x)", net._forward_pass, x.copy()), "_forward_pass")
                        for x in ctx.inputs["scratch.X"]]}


def backward(ctx):
    """Gradients after the submission's own forward pass, and after a right forward pass's values (given by the
    grader as data) written into ``self.A`` and ``self.Z``."""
    X, Y = ctx.inputs["scratch.XB"], ctx.inputs["scratch.YB"]
    n = len(ctx.settings["scratch"]["shapes"])
    out = {"own": [], "own_error": None, "reference": []}
    for k, (x, y) in enumerate(zip(X, Y)):
        net = network(ctx)
        try:
            output = ctx.call("_forward_pass(x)", net._forward_pass, x.copy())
            grads = ctx.call("_backward_pass(y, output)", net._backward_pass, y.copy(), output)
            out["own"].append(gradients(grads))
        except ProbeError as err:
            out["own_error"] = out["own_error"] or err.record
        net = network(ctx)
        net.A = [ctx.inputs[f"probe.scratch.A{k}.{l}"].copy() for l in range(n)]
        net.Z = [ctx.inputs[f"probe.scratch.Z{k}.{l}"].copy() for l in range(n - 1)]
        grads = ctx.call("_backward_pass(y, output)", net._backward_pass, y.copy(), net.A[-1].copy())
        out["reference"].append(gradients(grads))
    return out


def gradients(grads):
    if not isinstance(grads, (list, tuple)):
        raise ProbeError("_backward_pass(y, output)", "interface",
                         f"returned {type(grads).__name__}; the template's fit passes its result to "
                         f"_update_weights as a list with one gradient per weight matrix")
    return [as_array(g, "_backward_pass") for g in grads]


def update(ctx):
    net = network(ctx)
    n = len(ctx.settings["scratch"]["shapes"]) - 1
    ctx.call("_update_weights(gradients)", net._update_weights, [ctx.inputs[f"scratch.G{l}"].copy() for l in range(n)])
    weights = getattr(net, "weights", None)
    if not isinstance(weights, (list, tuple)):
        raise ProbeError("_update_weights(gradients)", "interface",
                         f"left self.weights a {type(weights).__name__}, not a list of arrays")
    return {"weights": [as_array(W, "self.weights") for W in weights]}


def predict(ctx):
    net = network(ctx)
    got, own = [], []
    for x in ctx.inputs["scratch.X"]:
        got.append(as_array(ctx.call("predict(x)", net.predict, x.copy()), "predict"))
        try:
            own.append(int(np.argmax(as_array(net._forward_pass(x.copy()), "_forward_pass"))))
        except Exception:  # noqa: BLE001 -- the forward pass is graded on its own
            own = None
            break
    return {"predictions": got, "own_argmax": own}


def learns(ctx):
    """The course's call on the learning digits, one ``fit`` per epoch; after each (and before the first) the
    classes its ``_forward_pass`` gives the held-out digits, to the grader, who says when to stop."""
    s = ctx.settings["learns"]["scratch"]

    def rows(name):
        return ctx.inputs[name].reshape(len(ctx.inputs[name]), -1) / 255.0
    x, xv, held = rows("data.x_train"), rows("data.x_val"), rows("data.x_held")
    y, yv = np.eye(10)[ctx.inputs["data.y_train"]], np.eye(10)[ctx.inputs["data.y_val"]]
    net = network(ctx, shapes=s["sizes"], learning_rate=s["learning_rate"], random_state=0, weights=None)

    def classes():
        return [int(np.argmax(as_array(ctx.call("_forward_pass(x)", net._forward_pass, row), "_forward_pass")))
                for row in held]
    epoch, stop = 0, ctx.epoch_end(0, classes())
    while not stop and epoch < s["max_epochs"]:
        epoch += 1
        ctx.call("fit(x_train, y_train, x_val, y_val)", net.fit, x, y, xv, yv)
        stop = ctx.epoch_end(epoch, classes())
    return {"epochs": epoch}


PROBES = [("forward", forward), ("backward", backward), ("update", update), ("predict", predict),
          ("learns", learns)]
