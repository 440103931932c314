"""Tests of network_pytorch: NeuralNetworkTorch, BatchLoader and make_loader.

References are independent of the code under test: the forward pass and the cross-entropy
are recomputed in NumPy (utils.sigmoid / utils.softmax), gradients are checked by finite
differences (torch.autograd.gradcheck, float64) and against the closed form
dC/da = (f - y) / n, and a bare PyTorch loop on the same tensors must end with the same weights.
"""

import ast
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import network_pytorch
import utils
from mnist import load_mnist, train_val_split
from network_pytorch import BatchLoader, NeuralNetworkTorch, make_loader

SIZES = [784, 16, 12, 10]
SMALL = [6, 5, 4, 3]  # a tiny network for exact-maths checks


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


# --------------------------------------------------------------------------- the loss
def test_loss_is_cross_entropy_of_the_logits_and_not_of_softmax_twice():
    net = NeuralNetworkTorch(SMALL, random_state=3)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(7, SMALL[0], generator=gen)
    labels = torch.randint(0, SMALL[-1], (7,), generator=gen)
    y = F.one_hot(labels, SMALL[-1]).numpy()

    a = net._forward_pass(x)
    loss = net._backward_pass(labels, a)

    a = a.detach().double().numpy()
    expected = -np.mean(np.sum(y * numpy_log_softmax(a), axis=1))
    double_softmax = -np.mean(np.sum(y * numpy_log_softmax(utils.softmax(a)), axis=1))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert abs(double_softmax - expected) > 1e-2
    # One-hot rows, int64 as the template's fit passes them or float, give the same loss.
    for rows in (torch.from_numpy(y), torch.from_numpy(y).float()):
        assert net._backward_pass(rows, net._forward_pass(x)).item() == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------- gradients
def test_gradcheck_float64():
    net = NeuralNetworkTorch(SMALL, random_state=5).double()
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(4, SMALL[0], dtype=torch.float64, generator=gen, requires_grad=True)
    labels = torch.randint(0, SMALL[-1], (4,), generator=gen)
    names = [name for name, _ in net.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in net.parameters())

    def loss_of(x, *params):
        return F.cross_entropy(torch.func.functional_call(net, dict(zip(names, params)), (x,)), labels)

    assert torch.autograd.gradcheck(loss_of, (x, *params), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_gradients_match_backprop_closed_form():
    """dC/da = (f - y)/n at the output, dC/dW_L = delta^T h, dC/db_L = sum of delta (float64)."""
    net = NeuralNetworkTorch(SMALL, random_state=7).double()
    gen = torch.Generator().manual_seed(8)
    x = torch.randn(5, SMALL[0], dtype=torch.float64, generator=gen)
    labels = torch.randint(0, SMALL[-1], (5,), generator=gen)
    net.optimizer.zero_grad()
    a = net._forward_pass(x)
    net._backward_pass(labels, a)

    w = [layer.weight.detach().numpy() for layer in net.layers]
    b = [layer.bias.detach().numpy() for layer in net.layers]
    h = x.numpy()
    for wi, bi in zip(w[:-1], b[:-1]):
        h = utils.sigmoid(h @ wi.T + bi)
    f = utils.softmax(h @ w[-1].T + b[-1])
    delta = (f - np.eye(SMALL[-1])[labels.numpy()]) / len(x)
    np.testing.assert_allclose(net.layers[-1].weight.grad.numpy(), delta.T @ h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(net.layers[-1].bias.grad.numpy(), delta.sum(axis=0), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- forward = NumPy
def test_forward_equals_numpy_with_scratch_layout_weights():
    rng = np.random.default_rng(9)
    weights = [rng.random((n_out, n_in)) - 0.5 for n_in, n_out in zip(SIZES[:-1], SIZES[1:])]
    net = NeuralNetworkTorch(SIZES)
    with torch.no_grad():
        for layer, w in zip(net.layers, weights):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.zero_()
    x = rng.random((6, SIZES[0])).astype(np.float32)

    h = x.astype(np.float64)
    for w in weights[:-1]:
        h = utils.sigmoid(h @ w.T)
    expected = utils.softmax(h @ weights[-1].T)

    logits = net(torch.from_numpy(x))
    np.testing.assert_allclose(torch.softmax(logits, dim=1).detach().numpy(), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(net.predict(torch.from_numpy(x)).numpy(), expected.argmax(axis=1))


def test_initial_loss_is_near_ln10(digits):
    x_tr, y_tr, _, _ = digits
    x, y = next(iter(make_loader(x_tr, y_tr, batch_size=len(y_tr))))
    net = NeuralNetworkTorch([784, 128, 64, 10], random_state=42)
    loss = net._backward_pass(y, net._forward_pass(net._flatten(x))).item()
    assert abs(loss - math.log(10)) < 0.15


# --------------------------------------------------------------------------- training
@pytest.mark.parametrize("batch_size", [1, 7])
def test_fit_equals_a_bare_pytorch_loop_on_the_same_tensors(digits, batch_size):
    """fit's training steps are exactly the ten-line loop of PyTorch's examples: same weights."""
    x_tr, y_tr, x_val, y_val = digits
    train = make_loader(x_tr[:30], y_tr[:30], batch_size=batch_size)
    net = NeuralNetworkTorch([784, 8, 10], epochs=2, learning_rate=0.3, random_state=4)
    net.fit(train, make_loader(x_val, y_val, batch_size=50), verbose=False)

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
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_twenty_samples_are_learned_to_100_percent(digits):
    x_tr, y_tr, _, _ = digits
    loader = make_loader(x_tr[:20], y_tr[:20])
    net = NeuralNetworkTorch([784, 32, 10], epochs=40, learning_rate=0.1, random_state=1)
    history = net.fit(loader, loader, verbose=False)
    assert history["accuracy"][-1] == 1.0
    assert history["loss"][-1] < history["loss"][0] / 10


def test_same_seed_gives_identical_history_and_other_seed_differs(digits):
    x_tr, y_tr, x_val, y_val = digits

    def run(seed):
        train = make_loader(x_tr[:100], y_tr[:100], batch_size=10, shuffle=True, seed=seed)
        net = NeuralNetworkTorch(SIZES, epochs=3, learning_rate=0.5, random_state=seed)
        h = net.fit(train, make_loader(x_val, y_val, batch_size=50), verbose=False)
        return {k: v for k, v in h.items() if k != "epoch_time"}
    first, second, other = run(11), run(11), run(12)
    assert first == second
    assert first["loss"] != other["loss"]


def test_course_notebook_loader_trains_and_history_has_python_floats(digits, capsys):
    x_tr, y_tr, x_val, y_val = digits
    train, val = course_loader(x_tr, y_tr), course_loader(x_val, y_val)
    net = NeuralNetworkTorch([784, 128, 64, 10], epochs=2, learning_rate=0.2, random_state=42)
    history = net.fit(train, val)
    assert set(history) == {"accuracy", "val_accuracy", "loss", "epoch_time"}
    assert all(len(v) == 2 and all(type(e) is float for e in v) for v in history.values())
    assert history["loss"][1] < history["loss"][0] < 3  # it learns (ln 10 = 2.30 at the start)
    lines = capsys.readouterr().out.splitlines()
    pattern = (r"Epoch [12]/2 - \d+\.\d\ds - lr: 0\.2 - loss: \d+\.\d{4} - "
               r"accuracy: \d+\.\d\d% - val_accuracy: \d+\.\d\d%")
    assert len(lines) == 2 and all(re.fullmatch(pattern, line) for line in lines)
    net.epochs = 1
    net.fit(train, val, verbose=False)
    assert capsys.readouterr().out == ""


def test_fit_trains_on_the_requested_threads_and_restores_the_setting(digits):
    x_tr, y_tr, _, _ = digits
    loader = make_loader(x_tr[:10], y_tr[:10])
    seen = []

    class Recording(BatchLoader):
        def __iter__(self):
            seen.append(torch.get_num_threads())
            return super().__iter__()

    recording = Recording(loader.dataset)
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # not torch's start-up value and not fit's default of 1
    try:
        NeuralNetworkTorch(SIZES, epochs=1).fit(recording, loader, verbose=False)
        assert torch.get_num_threads() == 3
        NeuralNetworkTorch(SIZES, epochs=1).fit(recording, loader, verbose=False, num_threads=2)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 1, 2, 2]  # training pass and training-accuracy pass of each fit


def test_nan_loss_stops_fit_naming_the_epoch(digits):
    x_tr, y_tr, _, _ = digits
    loader = make_loader(x_tr[:20], y_tr[:20])
    net = NeuralNetworkTorch(SIZES, epochs=3, learning_rate=1e38)  # weights overflow: inf - inf = nan
    with pytest.raises(FloatingPointError, match=r"epoch 1/3.*smaller learning rate"):
        net.fit(loader, loader, verbose=False)


# --------------------------------------------------------------------------- prediction, accuracy
def test_predict_accepts_images_rows_arrays_and_non_contiguous_input(digits):
    x_tr, y_tr, _, _ = digits
    x, _ = next(iter(make_loader(x_tr, y_tr, batch_size=30)))
    net = NeuralNetworkTorch(SIZES, random_state=2)
    from_images = net.predict(x)
    assert from_images.shape == (30,) and from_images.dtype == torch.int64
    assert torch.equal(from_images, net(x.reshape(30, 784)).argmax(dim=1))
    assert torch.equal(from_images, net.predict(x.reshape(30, 784).numpy()))
    transposed = x.transpose(2, 3)  # non-contiguous: flattening must copy, not fail
    assert torch.equal(net.predict(transposed), net.predict(transposed.contiguous()))
    assert not net.predict(x).requires_grad


def test_compute_accuracy_matches_a_manual_count_for_any_batch_size(digits):
    x_tr, y_tr, _, _ = digits
    net = NeuralNetworkTorch(SIZES, random_state=2)
    x, y = make_loader(x_tr, y_tr).dataset.tensors
    expected = int((net(x.reshape(len(y), -1)).argmax(dim=1) == y).sum()) / len(y)
    assert 0 < expected < 1
    for loader in (make_loader(x_tr, y_tr, batch_size=len(y_tr)),
                   make_loader(x_tr, y_tr, batch_size=1, shuffle=True, seed=0),
                   make_loader(x_tr, y_tr, batch_size=64), course_loader(x_tr, y_tr, batch_size=9)):
        acc = net.compute_accuracy(loader)
        assert type(acc) is float and acc == expected
        assert not net.training  # evaluated in eval mode, as examples/mnist's test()


# --------------------------------------------------------------------------- make_loader
def test_make_loader_normalises_as_the_course():
    images = np.array([[0, 255], [51, 128]], dtype=np.uint8)
    images = np.tile(images, (3, 14, 14))  # three 28 x 28 images
    loader = make_loader(images, np.array([1, 2, 3]))
    x, y = next(iter(loader))
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    expected = (images[0].astype(np.float32) / 255 - 0.5) / 0.5
    np.testing.assert_allclose(x[0, 0].numpy(), expected, rtol=0, atol=1e-7)
    assert x.min() == -1 and x.max() == 1


def test_make_loader_slices_prepared_tensors_and_keeps_the_dataset_interface():
    images = np.arange(10 * 784, dtype=np.int64).reshape(10, 28, 28).astype(np.uint8)
    loader = make_loader(images, np.arange(10), batch_size=4)
    x_all, y_all = loader.dataset.tensors
    assert len(loader) == 3 and len(loader.dataset) == 10 and x_all.shape == (10, 1, 28, 28)
    x0, y0 = loader.dataset[0]
    assert x0.shape == (1, 28, 28) and int(y0) == 0
    batches = list(loader)
    assert [len(y) for _, y in batches] == [4, 4, 2]
    # Each batch is a view of the prepared tensors (no per-sample indexing and collation).
    for i, (x, y) in enumerate(batches):
        assert x.data_ptr() == x_all[4 * i].data_ptr() and y.data_ptr() == y_all[4 * i].data_ptr()


def test_make_loader_shuffles_reproducibly_every_epoch():
    images = np.zeros((50, 28, 28), dtype=np.uint8)
    labels = np.arange(50) % 10
    order = lambda loader: torch.cat([y for _, y in loader]).tolist()  # noqa: E731
    loader = make_loader(images, labels, batch_size=5, shuffle=True, seed=1)
    first, second = order(loader), order(loader)
    assert first != second  # a new order each epoch
    again = make_loader(images, labels, batch_size=5, shuffle=True, seed=1)
    assert [order(again), order(again)] == [first, second]
    assert first != labels.tolist() and sorted(first) == sorted(labels.tolist())
    assert order(make_loader(images, labels, batch_size=5)) == labels.tolist()


# --------------------------------------------------------------------------- bad input
def test_bad_arguments_are_rejected_through_checks():
    """One case per entry point family; checks.py's own tests hold the full table."""
    with pytest.raises(TypeError, match=r"^Argument `sizes` must be .* Received: sizes=\[784, 2\.5, 10\]"):
        NeuralNetworkTorch([784, 2.5, 10])
    with pytest.raises(ValueError, match=r"^Argument `epochs` must be a positive integer\. Received: epochs=0"):
        NeuralNetworkTorch(SIZES, epochs=0)
    net = NeuralNetworkTorch(SIZES)
    with pytest.raises(ValueError, match=r"^Argument `x` must be .* Received: x=array of shape \(2, 100\)"):
        net.predict(torch.zeros(2, 100))
    with pytest.raises(TypeError, match=r"^Argument `verbose` must be True or False\. Received: verbose=1"):
        net.fit(None, None, verbose=1)


def test_make_loader_rejects_bad_input_through_checks():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    with pytest.raises(TypeError, match=r"^Argument `images` must be a batch .* of dtype uint8\. Received: images=array"):
        make_loader(images.astype(np.float32), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"^Argument `labels` must be integer labels of shape \(3,\) in 0\.\.9"):
        make_loader(images, np.array([0, 1, 10]))
    with pytest.raises(ValueError, match=r"^Argument `batch_size` must be a positive integer\. Received: batch_size=0"):
        make_loader(images, np.array([0, 1, 2]), batch_size=0)


# --------------------------------------------------------------------------- the handout
REGION = re.compile(r"^(?P<indent> *)# BEGIN SOLUTION(?P<init> \(init\))?\n(?:.*\n)*?(?P=indent)# END SOLUTION\n",
                    re.M)


def test_solution_regions_are_the_template_todos():
    """`make handout` replaces each region; the student's file has TODOs exactly where the template has them."""
    text = Path(network_pytorch.__file__).read_text()
    student = REGION.sub(lambda m: m["indent"] + ("pass  # TODO\n" if m["init"] else 'raise NotImplementedError("TODO")\n'),
                         text)
    assert "SOLUTION" not in student
    cls = next(n for n in ast.parse(student).body if isinstance(n, ast.ClassDef) and n.name == "NeuralNetworkTorch")
    methods = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}
    todo = {name for name, f in methods.items() if ast.unparse(f.body[-1]) == "raise NotImplementedError('TODO')"}
    assert todo == {"_forward_pass", "_backward_pass", "_update_weights", "predict"}
    init = ast.unparse(methods["__init__"])
    assert re.search(r"torch\.manual_seed\(self\.random_state\)\n +pass\n +self\.optimizer = optim\.SGD", init)
    assert "nn.Linear(" not in init
