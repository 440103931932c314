"""Items torch.*: NeuralNetworkTorch through the template's methods, against float64 references."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from conftest import SETTINGS, Fail, call, load
from _grading import data, judge_learning, relative_error

torch.set_num_threads(1)
SIZES = [784, 9, 7, 10]
LR = 0.1
N = 6
TIMEOUT = SETTINGS["timeouts"]


def images(x):
    """uint8 ``(n, 28, 28)`` -> the course's tensors ``(n, 1, 28, 28)``: ToTensor, Normalize(0.5, 0.5)."""
    return torch.from_numpy(x).to(torch.float32).div(255).sub(0.5).div(0.5).unsqueeze(1)


_x, _y, _, _ = data()
X_IMG = images(_x[:N])
X = X_IMG.reshape(N, -1)
LABELS = torch.from_numpy(_y[:N].astype(np.int64))
Y = F.one_hot(LABELS, SIZES[-1])  # as the template's fit passes the targets
GEN = torch.Generator().manual_seed(7)
PARAMS = [(torch.randn(o, i, generator=GEN, dtype=torch.float64) * (1.5 / i ** 0.5),
           torch.randn(o, generator=GEN, dtype=torch.float64) * 0.5)
          for i, o in zip(SIZES[:-1], SIZES[1:])]


def linear_layers(net):
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


def new_network(mod, sizes=SIZES, lr=LR, params=PARAMS, epochs=1):
    net = call(f"NeuralNetworkTorch(sizes={sizes}, epochs={epochs}, learning_rate={lr}, random_state=0)",
               mod.NeuralNetworkTorch, sizes, epochs=epochs, learning_rate=lr, random_state=0)
    layers = linear_layers(net)
    shapes = [tuple(m.weight.shape) for m in layers]
    expected = [(o, i) for i, o in zip(sizes[:-1], sizes[1:])]
    if shapes != expected:
        raise Fail(f"`NeuralNetworkTorch(sizes={sizes})` must build one nn.Linear per consecutive pair of sizes, "
                   f"weights {expected}; found nn.Linear weights {shapes}")
    if params is not None:
        with torch.no_grad():
            for m, (W, b) in zip(layers, params):
                m.weight.copy_(W)
                if m.bias is not None:
                    m.bias.copy_(b)
    return net


def ref_logits(params, x, hidden=torch.sigmoid):
    h = x.to(torch.float64)
    for l, (W, b) in enumerate(params):
        a = h @ W.T + b
        h = a if l == len(params) - 1 else hidden(a)
    return h


def as_numpy(value, what):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().to(torch.float64).numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Fail(f"`{what}` must return a tensor or an array; received {type(value).__name__}") from None


def test_forward(graded):
    mod = load("network_pytorch")
    net = new_network(mod)
    out = as_numpy(call("_forward_pass(x)", net._forward_pass, X.clone()), "_forward_pass")
    z = ref_logits(PARAMS, X)
    if out.shape != (N, SIZES[-1]):
        raise Fail(f"`_forward_pass(x)` for a batch of shape {tuple(X.shape)} must return shape "
                   f"({N}, {SIZES[-1]}); received {out.shape}")
    forms = {"the softmax probabilities": torch.softmax(z, 1), "the log-probabilities (log_softmax)":
             torch.log_softmax(z, 1), "the logits (the loss then applies softmax)": z}
    for name, ref in forms.items():
        if np.allclose(out, ref.numpy(), rtol=1e-4, atol=1e-5):
            graded(1.0, f"`_forward_pass` matches the reference network (sigmoid hidden layers, softmax "
                        f"output); it returns {name}")
            return
    mistakes = [
        ("the hidden and output activations are swapped (softmax in the hidden layers, sigmoid at the output)",
         torch.sigmoid(ref_logits(PARAMS, X, hidden=lambda a: torch.softmax(a, 1)))),
        ("the output layer uses sigmoid instead of softmax", torch.sigmoid(z)),
        ("softmax is taken over the batch (dim=0) instead of over the classes (dim=1)", torch.softmax(z, 0)),
        ("the hidden layers have no activation (sigmoid is missing)", torch.softmax(ref_logits(PARAMS, X, hidden=lambda a: a), 1)),
        ("the hidden layers use ReLU; the problem set asks for sigmoid", torch.softmax(ref_logits(PARAMS, X, hidden=torch.relu), 1)),
    ]
    for name, ref in mistakes:
        if np.allclose(out, ref.numpy(), rtol=1e-4, atol=1e-5):
            raise Fail(f"`_forward_pass`: {name}")
    raise Fail(f"`_forward_pass` differs from the reference network (sigmoid hidden layers, softmax output) "
               f"for the same weights by up to {np.max(np.abs(out - torch.softmax(z, 1).numpy())):.2g}")


def _zero_grad(net):
    for p in net.parameters():
        p.grad = None


TARGETS = [  # the template's fit passes one_hot(y, 10) (int64 rows); other forms are accepted with a note
    ("one-hot int64 rows", lambda: Y.clone()),
    ("one-hot float rows", lambda: Y.to(torch.float32)),
    ("class indices", lambda: LABELS.clone()),
]


def _student_step(net):
    """Forward and backward as the template's fit does; the gradients of every nn.Linear and a note."""
    note, first = "", None
    for form, target in TARGETS:
        _zero_grad(net)
        out = call("_forward_pass(x)", net._forward_pass, X.clone())
        try:
            call(f"_backward_pass(y as {form}, output)", net._backward_pass, target(), out)
            break
        except Fail as fail:
            first = first or fail
    else:
        raise first
    if first is not None:
        note = (f" (note: `_backward_pass` fails on the one-hot int64 targets that the template's fit passes, "
                f"so it was graded with {form})")
    grads = []
    for m in linear_layers(net):
        for p in (m.weight, m.bias):
            if p is not None:
                grads.append(None if p.grad is None else p.grad.detach().to(torch.float64).clone())
    return grads, note


LOSSES = [  # (diagnosis or None when right, loss of logits z and one-hot y)
    (None, lambda z, y: F.cross_entropy(z, y.argmax(1))),
    (None, lambda z, y: F.cross_entropy(z, y.argmax(1), reduction="sum")),
    ("softmax is applied twice: the cross-entropy is computed from the softmax probabilities, and "
     "cross_entropy applies log-softmax again; give it the logits (or use nll_loss on log_softmax)",
     lambda z, y: F.cross_entropy(torch.softmax(z, 1), y.argmax(1))),
    ("binary cross-entropy is kept (the template's BCEWithLogitsLoss); one-hot targets over 10 classes need "
     "the categorical cross-entropy", lambda z, y: F.binary_cross_entropy_with_logits(z, y.to(z.dtype))),
    ("binary cross-entropy is kept (the template's BCEWithLogitsLoss, here applied to the softmax "
     "probabilities); one-hot targets over 10 classes need the categorical cross-entropy",
     lambda z, y: F.binary_cross_entropy_with_logits(torch.softmax(z, 1), y.to(z.dtype))),
    ("binary cross-entropy of the probabilities; one-hot targets over 10 classes need the categorical "
     "cross-entropy", lambda z, y: F.binary_cross_entropy(torch.softmax(z, 1), y.to(z.dtype))),
    ("the loss is the mean squared error of the probabilities; the problem set asks for cross-entropy",
     lambda z, y: F.mse_loss(torch.softmax(z, 1), y.to(z.dtype))),
    ("nll_loss is given the probabilities: the log is missing (use log_softmax, or cross_entropy on the logits)",
     lambda z, y: F.nll_loss(torch.softmax(z, 1), y.argmax(1))),
    ("nll_loss is given the logits: log_softmax is missing", lambda z, y: F.nll_loss(z, y.argmax(1))),
]


def _reference_grads(loss_fn):
    params = [(W.clone().requires_grad_(), b.clone().requires_grad_()) for W, b in PARAMS]
    loss = loss_fn(ref_logits(params, X), Y)
    loss.backward()
    return [g for W, b in params for g in (W.grad, b.grad)]


def test_loss(graded):
    mod = load("network_pytorch")
    net = new_network(mod)
    got, note = _student_step(net)
    if any(g is None for g in got):
        raise Fail("the loss cannot be identified: after `_backward_pass` some parameters have no gradient "
                   "(call loss.backward() on the loss of the forward pass's output)")
    flat = torch.cat([g.ravel() for g in got])
    for diagnosis, loss_fn in LOSSES:
        ref = torch.cat([g.ravel() for g in _reference_grads(loss_fn)])
        err = relative_error(flat.numpy(), ref.numpy())
        if err < 1e-4:
            if diagnosis is None:
                graded(1.0, f"the gradients of `_backward_pass` are those of the categorical cross-entropy "
                            f"(relative error {err:.1e}){note}")
                return
            raise Fail(f"the loss: {diagnosis} (identified from the gradients, relative error {err:.1e}){note}")
    ref = torch.cat([g.ravel() for g in _reference_grads(LOSSES[0][1])])
    raise Fail(f"the gradients of `_backward_pass` are not those of the categorical cross-entropy (relative "
               f"error {relative_error(flat.numpy(), ref.numpy()):.2g}) nor of any loss the grader knows")


def test_backward_update(graded):
    mod = load("network_pytorch")
    net = new_network(mod)
    before = [p.detach().clone().to(torch.float64) for m in linear_layers(net) for p in (m.weight, m.bias)
              if p is not None]
    grads, note = _student_step(net)
    if any(g is None for g in grads) or all(float(g.abs().max()) == 0 for g in grads):
        raise Fail("`_backward_pass` leaves the parameters without gradients: it must call backward() on the loss")
    call("_update_weights()", net._update_weights)
    after = [p.detach().clone().to(torch.float64) for m in linear_layers(net) for p in (m.weight, m.bias)
             if p is not None]

    def equals(expected):
        return all(torch.allclose(a, e, rtol=1e-5, atol=1e-7) for a, e in zip(after, expected))

    if equals([p - LR * g for p, g in zip(before, grads)]):
        graded(1.0, f"`_backward_pass` computes gradients for every layer and `_update_weights` makes the SGD "
                    f"step p <- p - eta grad (eta = {LR}){note}")
        return
    if equals([p + LR * g for p, g in zip(before, grads)]):
        raise Fail("`_update_weights` has the wrong sign: p + eta grad climbs the loss; SGD subtracts it")
    if equals(before):
        raise Fail("`_update_weights` does not change the parameters: call self.optimizer.step()")
    raise Fail("`_update_weights` does not make the plain SGD step p <- p - eta grad with the gradients of "
               "`_backward_pass` (learning_rate as given to the constructor)")


def test_predict(graded):
    mod = load("network_pytorch")
    net = new_network(mod)
    expected = ref_logits(PARAMS, X).argmax(1).numpy()
    got = as_numpy(call("predict(x)", net.predict, X_IMG.clone()), "predict")
    if got.shape == (N, SIZES[-1]):
        raise Fail(f"`predict(x)` returns a score per class, shape {got.shape} (probabilities?); it must "
                   f"return the class indices, shape ({N},): take the argmax over dim 1")
    if got.shape != (N,):
        raise Fail(f"`predict(x)` for image-shaped x {tuple(X_IMG.shape)} must return {N} class indices, "
                   f"shape ({N},); received shape {got.shape}")
    if np.array_equal(got, expected):
        graded(1.0, f"`predict` returns the most likely class for image-shaped input ({N} images)")
        return
    try:
        own = as_numpy(net._forward_pass(X.clone()), "_forward_pass").argmax(1)
    except Exception:  # noqa: BLE001
        own = None
    if own is not None and np.array_equal(got, own):
        graded(1.0, "`predict` returns the argmax of your _forward_pass (whose output is graded separately)")
        return
    raise Fail(f"`predict` returns classes {got.astype(int).tolist()}; the most likely are {expected.tolist()}")


@pytest.mark.timeout(TIMEOUT["learns"])
def test_learns(graded):
    mod = load("network_pytorch")
    s = SETTINGS["learns"]["torch"]
    x_train, y_train, x_val, y_val = data()
    train = DataLoader(TensorDataset(images(x_train), torch.from_numpy(y_train.astype(np.int64))),
                       batch_size=s["batch_size"])
    val = DataLoader(TensorDataset(images(x_val), torch.from_numpy(y_val.astype(np.int64))), batch_size=100)
    torch.manual_seed(0)
    net = new_network(mod, sizes=s["sizes"], lr=s["learning_rate"], params=None)
    x_rows = images(x_train).reshape(len(x_train), -1)
    accs = []
    for epoch in range(s["epochs"]):
        call("fit(train_loader, val_loader)", net.fit, train, val)
        params = [(m.weight.detach().to(torch.float64),
                   0.0 if m.bias is None else m.bias.detach().to(torch.float64)) for m in linear_layers(net)]
        accs.append(float((ref_logits(params, x_rows).argmax(1).numpy() == y_train).mean()))
    graded(1.0, judge_learning(accs, len(y_train),
                               f"{len(y_train)} embedded MNIST digits, sizes={s['sizes']}, learning_rate="
                               f"{s['learning_rate']}, batch size {s['batch_size']}, one fit() call per epoch"))
