"""Probes of ``network_pytorch.NeuralNetworkTorch`` through the course template's calls (runs in the sandbox).

The network is made as the course makes it; its ``nn.Linear`` layers (in the order they were
registered) get the grader's parameters.  Targets are the one-hot int64 rows the template's
``fit`` passes; ``predict`` gets image batches as ``compute_accuracy`` passes them.
"""

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from harness import ProbeError

torch.set_num_threads(1)


def tensor(name, ctx, dtype=None):
    t = torch.from_numpy(np.array(ctx.inputs[name]))
    return t if dtype is None else t.to(dtype)


def as_array(value, what):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().to(torch.float64).numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ProbeError(what, "interface", f"returned {type(value).__name__}, not a tensor ({err})") from None


def linear_layers(net):
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


def network(ctx, sizes=None, learning_rate=None, params=True):
    s = ctx.settings["torch"]
    sizes = sizes or s["sizes"]
    learning_rate = s["learning_rate"] if learning_rate is None else learning_rate
    mod = ctx.module(ctx.settings["torch"]["module"])
    what = f"NeuralNetworkTorch(sizes={sizes}, epochs=1, learning_rate={learning_rate}, random_state=0)"
    torch.manual_seed(0)
    net = ctx.call(what, mod.NeuralNetworkTorch, sizes=list(sizes), epochs=1, learning_rate=learning_rate,
                   random_state=0)
    layers = linear_layers(net)
    shapes = [tuple(m.weight.shape) for m in layers]
    expected = [(o, i) for i, o in zip(sizes[:-1], sizes[1:])]
    if shapes != expected:
        raise ProbeError(what, "interface", f"must build one nn.Linear per consecutive pair of sizes, weights "
                                            f"{expected}; found nn.Linear weights {shapes}")
    if params:
        with torch.no_grad():
            for l, m in enumerate(layers):
                m.weight.copy_(tensor(f"torch.W{l}", ctx))
                if m.bias is not None:
                    m.bias.copy_(tensor(f"torch.b{l}", ctx))
    return net


def parameters(net):
    return [p for m in linear_layers(net) for p in (m.weight, m.bias) if p is not None]


def structure(ctx):
    net = network(ctx, params=False)
    return {"biases": [m.bias is not None for m in linear_layers(net)]}


def forward(ctx):
    net = network(ctx)
    x = tensor("torch.X", ctx).reshape(len(ctx.inputs["torch.X"]), -1)
    return {"output": as_array(ctx.call("_forward_pass(x)", net._forward_pass, x), "_forward_pass")}


TARGETS = [("one-hot int64 rows", lambda y: y), ("one-hot float rows", lambda y: y.float()),
           ("class indices", lambda y: y.argmax(dim=1))]


def loss(ctx):
    """The gradients ``_backward_pass`` leaves, with the target form the template's fit passes (others if it fails)."""
    net = network(ctx)
    x = tensor("torch.X", ctx).reshape(len(ctx.inputs["torch.X"]), -1)
    y = tensor("torch.Y", ctx)
    first, reached = None, []
    for form, make in TARGETS:
        for p in net.parameters():
            p.grad = None
        reached.clear()
        try:
            output = ctx.call("_forward_pass(x)", net._forward_pass, x.clone())
            if isinstance(output, torch.Tensor) and output.grad_fn is not None:  # did backward() reach the output?
                output.register_hook(lambda grad: reached.append(True))
            ctx.call(f"_backward_pass(y as {form}, output)", net._backward_pass, make(y.clone()), output)
            break
        except ProbeError as err:
            first = first or err
    else:
        raise first
    grads = [None if p.grad is None else as_array(p.grad, "grad") for p in parameters(net)]
    return {"form": form, "first_error": None if first is None else first.record,
            "grads": [np.zeros(0) if g is None else g for g in grads], "missing": [g is None for g in grads],
            "backward_reached_output": bool(reached)}


def update(ctx):
    """The parameters after ``_update_weights()``, every gradient set to the grader's."""
    net = network(ctx)
    for l, m in enumerate(linear_layers(net)):
        m.weight.grad = tensor(f"torch.GW{l}", ctx, m.weight.dtype)
        if m.bias is not None:
            m.bias.grad = tensor(f"torch.Gb{l}", ctx, m.bias.dtype)
    ctx.call("_update_weights()", net._update_weights)
    return {"params": [as_array(p, "parameter") for p in parameters(net)],
            "grads_cleared": all(p.grad is None or not bool(p.grad.any()) for p in parameters(net))}


def predict(ctx):
    net = network(ctx)
    images = tensor("torch.X", ctx)
    one = [as_array(ctx.call("predict(x)", net.predict, images[k:k + 1].clone()), "predict") for k in range(len(images))]
    try:
        batch = as_array(ctx.call("predict(x)", net.predict, images.clone()), "predict")
        batch_error = None
    except ProbeError as err:
        batch, batch_error = None, err.record
    try:
        with torch.no_grad():
            own = as_array(net._forward_pass(images.reshape(len(images), -1)), "_forward_pass").argmax(axis=1)
    except Exception:  # noqa: BLE001 -- the forward pass is graded on its own
        own = None
    return {"one": one, "batch": batch, "batch_error": batch_error, "own_argmax": own}


def _images(x):
    """uint8 ``(n, 28, 28)`` -> the course's tensors ``(n, 1, 28, 28)``: ToTensor, then Normalize(0.5, 0.5)."""
    return torch.from_numpy(np.array(x)).to(torch.float32).div(255).sub(0.5).div(0.5).unsqueeze(1)


def learns(ctx):
    """The course's call (batch-1 loaders), one ``fit`` per epoch; after each (and before the first) the classes
    its ``_forward_pass`` gives the held-out digits, to the grader, who says when to stop."""
    s = ctx.settings["learns"]["torch"]
    x, labels = _images(ctx.inputs["data.x_train"]), torch.from_numpy(ctx.inputs["data.y_train"].astype(np.int64))
    xv, vlabels = _images(ctx.inputs["data.x_val"]), torch.from_numpy(ctx.inputs["data.y_val"].astype(np.int64))
    train = DataLoader(TensorDataset(x, labels), batch_size=1)
    val = DataLoader(TensorDataset(xv, vlabels), batch_size=1)
    net = network(ctx, sizes=s["sizes"], learning_rate=s["learning_rate"], params=False)
    rows = _images(ctx.inputs["data.x_held"]).reshape(len(ctx.inputs["data.x_held"]), -1)

    def classes():
        with torch.no_grad():
            try:
                return as_array(net._forward_pass(rows.clone()), "_forward_pass").reshape(len(rows), -1).argmax(axis=1)
            except Exception:  # noqa: BLE001 -- a forward pass for one sample at a time only
                return np.array([as_array(ctx.call("_forward_pass(x)", net._forward_pass, r[None]), "_forward_pass")
                                 .ravel().argmax() for r in rows])
    epoch, stop = 0, ctx.epoch_end(0, classes())
    while not stop and epoch < s["max_epochs"]:
        epoch += 1
        ctx.call("fit(train_loader, val_loader)", net.fit, train, val)
        stop = ctx.epoch_end(epoch, classes())
    return {"epochs": epoch}


PROBES = [("structure", structure), ("forward", forward), ("loss", loss), ("update", update), ("predict", predict),
          ("learns", learns)]
