"""network_pytorch.NeuralNetworkTorch against independent references.

The forward pass and the cross-entropy are recomputed in NumPy (utils.sigmoid /
utils.softmax), gradients are checked by finite differences (torch.autograd.gradcheck,
float64) and against the closed form dC/da = (f - y) / n, and a bare PyTorch loop on the same
tensors must end with the same weights as the template's ``fit``.
"""

import math
import re

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import utils
from mnist import load_mnist, train_val_split
from mnist_loader import make_loader
from network_pytorch import NeuralNetworkTorch

SIZES = [784, 16, 12, 10]
SMALL = [6, 5, 4, 3]  # a tiny network for exact-maths checks
PROGRESS = (r"Epoch: (\d+), Training Time: \d+\.\d\ds, Learning Rate: ([0-9.e-]+), "
            r"Training Accuracy: \d+\.\d\d%, Validation Accuracy: \d+\.\d\d%")


@pytest.fixture(scope="module")
def digits():
    """200 training / 100 validation embedded digits, stratified (the data is sorted by class)."""
    images, labels = load_mnist()
    return train_val_split(images, labels, 200, 100, seed=42)


def course_loader(images, labels, batch_size=1):
    """Built as the course notebook builds it: (1, 28, 28) float tensors, mean/std 0.5, int labels."""
    x = torch.tensor(images, dtype=torch.float32).div(255).sub(0.5).div(0.5).unsqueeze(1)
    return DataLoader(TensorDataset(x, torch.tensor(labels, dtype=torch.int64)), batch_size=batch_size)


def numpy_log_softmax(a):
    a = a - a.max(axis=1, keepdims=True)
    return a - np.log(np.exp(a).sum(axis=1, keepdims=True))


def batch(n, k, seed, d=SMALL[0], dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=dtype)
    return x, F.one_hot(torch.randint(0, k, (n,), generator=gen), k)  # int64 one-hot rows, as fit passes them


# --------------------------------------------------------------------------- the loss
def test_loss_is_cross_entropy_of_the_output_layer_not_of_softmax_twice():
    net = NeuralNetworkTorch(SMALL, random_state=3)
    x, y = batch(7, SMALL[-1], 0)
    a = net._forward_pass(x)
    assert net._backward_pass(y, a) is None  # as the template's fit expects: it ignores the return value
    loss = net.loss_func(a, y.float()).item()
    a = a.detach().double().numpy()
    expected = -np.mean(np.sum(y.numpy() * numpy_log_softmax(a), axis=1))
    double_softmax = -np.mean(np.sum(y.numpy() * numpy_log_softmax(np.apply_along_axis(utils.softmax, 1, a)), axis=1))
    assert loss == pytest.approx(expected, rel=1e-6)
    assert abs(double_softmax - expected) > 1e-2


def test_backward_gradients_match_central_finite_differences_float64():
    net = NeuralNetworkTorch(SMALL, random_state=5).double()
    x, y = batch(4, SMALL[-1], 6, dtype=torch.float64)
    net.optimizer.zero_grad()
    net._backward_pass(y, net._forward_pass(x))
    eps, worst = 1e-6, 0.0
    with torch.no_grad():
        for p in net.parameters():  # every weight and bias
            flat = p.view(-1)
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + eps
                up = net.loss_func(net._forward_pass(x), y.double()).item()
                flat[i] = old - eps
                down = net.loss_func(net._forward_pass(x), y.double()).item()
                flat[i] = old
                numeric, analytic = (up - down) / (2 * eps), p.grad.view(-1)[i].item()
                worst = max(worst, abs(numeric - analytic) / max(abs(numeric), abs(analytic), 1e-8))
    assert worst < 1e-6


def test_backward_leaves_the_closed_form_gradients():
    """dC/da = (f - y)/n at the output, dC/dW_L = delta^T h, dC/db_L = sum of delta (float64)."""
    net = NeuralNetworkTorch(SMALL, random_state=7).double()
    x, y = batch(5, SMALL[-1], 8, dtype=torch.float64)
    net.optimizer.zero_grad()
    net._backward_pass(y, net._forward_pass(x))
    linear = [m for m in net.modules() if isinstance(m, nn.Linear)]
    w = [layer.weight.detach().numpy() for layer in linear]
    b = [layer.bias.detach().numpy() for layer in linear]
    h = x.numpy()
    for wi, bi in zip(w[:-1], b[:-1]):
        h = utils.sigmoid(h @ wi.T + bi)
    f = np.apply_along_axis(utils.softmax, 1, h @ w[-1].T + b[-1])
    delta = (f - y.numpy()) / len(x)
    np.testing.assert_allclose(linear[-1].weight.grad.numpy(), delta.T @ h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(linear[-1].bias.grad.numpy(), delta.sum(axis=0), rtol=1e-10, atol=1e-12)


def test_update_weights_is_one_plain_sgd_step():
    net = NeuralNetworkTorch(SMALL, learning_rate=0.25, random_state=1)
    before = [p.detach().clone() for p in net.parameters()]
    for p in net.parameters():
        p.grad = torch.full_like(p, 2.0)
    net._update_weights()
    for p, p0 in zip(net.parameters(), before):
        torch.testing.assert_close(p.detach(), p0 - 0.5)


# --------------------------------------------------------------------------- forward = NumPy
def test_forward_and_predict_equal_numpy_with_the_same_weights():
    rng = np.random.default_rng(9)
    weights = [rng.random((n_out, n_in)) - 0.5 for n_in, n_out in zip(SIZES[:-1], SIZES[1:])]
    net = NeuralNetworkTorch(SIZES)
    linear = [m for m in net.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for layer, w in zip(linear, weights):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.zero_()
    x = rng.random((6, SIZES[0])).astype(np.float32)
    h = x.astype(np.float64)
    for w in weights[:-1]:
        h = utils.sigmoid(h @ w.T)
    expected = np.apply_along_axis(utils.softmax, 1, h @ weights[-1].T)
    out = net._forward_pass(torch.from_numpy(x))
    np.testing.assert_allclose(torch.softmax(out, dim=1).detach().numpy(), expected, rtol=1e-4, atol=1e-6)
    images = torch.from_numpy(x).reshape(6, 1, 28, 28)  # predict gets image batches from compute_accuracy
    predicted = net.predict(images)
    assert predicted.dtype == torch.int64 and not predicted.requires_grad
    np.testing.assert_array_equal(predicted.numpy(), expected.argmax(axis=1))


def test_initial_loss_is_near_ln10(digits):
    x_tr, y_tr, _, _ = digits
    x, y = next(iter(make_loader(x_tr, y_tr, batch_size=len(y_tr))))
    net = NeuralNetworkTorch([784, 128, 64, 10], random_state=42)
    loss = net.loss_func(net._forward_pass(net._flatten(x)), F.one_hot(y, 10).float()).item()
    assert abs(loss - math.log(10)) < 0.15


# --------------------------------------------------------------------------- fit: the template's loop
@pytest.mark.parametrize("batch_size", [1, 7])
def test_fit_equals_a_bare_pytorch_loop_on_the_same_tensors(digits, batch_size):
    """fit's training steps are the ten-line loop of PyTorch's examples: the same weights."""
    x_tr, y_tr, x_val, y_val = digits
    train = make_loader(x_tr[:30], y_tr[:30], batch_size=batch_size)
    net = NeuralNetworkTorch([784, 8, 10], epochs=2, learning_rate=0.3, random_state=4)
    net.fit(train, make_loader(x_val, y_val, batch_size=50))

    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(784, 8), nn.Sigmoid(), nn.Linear(8, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
    x, y = train.dataset.tensors
    for _ in range(2):
        for i in range(0, len(y), batch_size):
            optimizer.zero_grad()
            F.cross_entropy(model(x[i:i + batch_size].reshape(-1, 784)), y[i:i + batch_size]).backward()
            optimizer.step()
    for got, want in zip(net.parameters(), model.parameters()):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)


def test_twenty_samples_are_learned_to_100_percent(digits):
    x_tr, y_tr, _, _ = digits
    loader = make_loader(x_tr[:20], y_tr[:20])
    net = NeuralNetworkTorch([784, 32, 10], epochs=40, learning_rate=0.1, random_state=1)
    history = net.fit(loader, loader)
    assert history["accuracy"][-1] == 1.0


@pytest.mark.slow
def test_fit_prints_the_template_line_and_returns_compute_accuracy(digits, capsys):
    x_tr, y_tr, x_val, y_val = digits
    train, val = course_loader(x_tr, y_tr), course_loader(x_val, y_val)
    net = NeuralNetworkTorch([784, 128, 64, 10], epochs=2, learning_rate=0.2, random_state=42)
    history = net.fit(train, val)
    assert set(history) == {"accuracy", "val_accuracy"} and len(history["accuracy"]) == 2
    assert float(history["val_accuracy"][-1]) == float(net.compute_accuracy(val))
    lines = capsys.readouterr().out.splitlines()
    assert [re.fullmatch(PROGRESS, line).groups() for line in lines] == [("1", "0.2"), ("2", "0.2")]


@pytest.mark.slow
def test_same_seed_gives_identical_history_and_other_seed_differs(digits):
    x_tr, y_tr, x_val, y_val = digits

    def run(seed):
        train = make_loader(x_tr[:100], y_tr[:100], batch_size=10, shuffle=True, seed=seed)
        net = NeuralNetworkTorch(SIZES, epochs=3, learning_rate=0.5, random_state=seed)
        h = net.fit(train, make_loader(x_val, y_val, batch_size=50))
        return {k: [float(v) for v in vs] for k, vs in h.items()}, [p.detach().clone() for p in net.parameters()]
    (first, pa), (second, pb), (_, pc) = run(11), run(11), run(12)
    assert first == second
    assert all(torch.equal(a, b) for a, b in zip(pa, pb)) and not torch.equal(pa[0], pc[0])


def test_ctrl_c_during_fit_keeps_the_epochs_done(digits):
    x_tr, y_tr, x_val, y_val = digits
    net = NeuralNetworkTorch(SIZES, epochs=5, learning_rate=0.5)
    progress = net._print_learning_progress

    def interrupted(start_time, iteration, *args):
        if iteration == 2:
            raise KeyboardInterrupt
        return progress(start_time, iteration, *args)

    net._print_learning_progress = interrupted
    with pytest.raises(KeyboardInterrupt):
        net.fit(make_loader(x_tr[:20], y_tr[:20]), make_loader(x_val, y_val, batch_size=50))
    assert len(net.history["accuracy"]) == 2


def test_compute_accuracy_matches_a_manual_count_for_any_batch_size(digits):
    x_tr, y_tr, _, _ = digits
    net = NeuralNetworkTorch(SIZES, random_state=2)
    x, y = make_loader(x_tr, y_tr).dataset.tensors
    with torch.no_grad():
        expected = int((net._forward_pass(x.reshape(len(y), -1)).argmax(dim=1) == y).sum()) / len(y)
    assert 0 < expected < 1
    for loader in (make_loader(x_tr, y_tr, batch_size=len(y_tr)), make_loader(x_tr, y_tr, shuffle=True, seed=0),
                   course_loader(x_tr, y_tr, batch_size=9)):
        assert float(net.compute_accuracy(loader)) == pytest.approx(expected, abs=1e-7)


# --------------------------------------------------------------------------- bad input
def test_bad_arguments_are_rejected_through_checks(digits):
    """One case per entry point family; checks.py's own tests hold the full table."""
    with pytest.raises(TypeError, match=r"^Argument `sizes` must be .* Received: sizes=\[784, 2\.5, 10\]"):
        NeuralNetworkTorch([784, 2.5, 10])
    with pytest.raises(ValueError, match=r"^Argument `epochs` must be a positive integer\. Received: epochs=0"):
        NeuralNetworkTorch(SIZES, epochs=0)
    net = NeuralNetworkTorch(SIZES)
    with pytest.raises(TypeError, match=r"^Argument `train_loader` must be a DataLoader .* Received: "
                                        r"train_loader=\[\] \(of type list\)"):
        net.fit([], [])
    x_tr, y_tr, _, _ = digits
    empty = DataLoader(TensorDataset(torch.zeros(0, 1, 28, 28), torch.zeros(0, dtype=torch.int64)))
    with pytest.raises(ValueError, match=r"^Argument `val_loader` must be a DataLoader"):
        net.fit(make_loader(x_tr[:5], y_tr[:5]), empty)
