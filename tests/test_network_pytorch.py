"""Tests of network_pytorch.NeuralNetworkTorch and make_loader (issue 4).

References are independent of the code under test: the cross-entropy and the forward pass are
recomputed in NumPy (utils.sigmoid / utils.softmax), gradients are checked by finite
differences (torch.autograd.gradcheck, float64) and against the closed form
dC/da = (f - y) / n.  Budget 40 s: measured 19 s (25 s wall with the torch import) on the
2-core machine under a load of about 5; about 4 s of it is the first ``optim.SGD`` importing
``torch._dynamo``, once per process.
"""

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import utils
from mnist import load_mnist, train_val_split
from network_pytorch import NeuralNetworkTorch, make_loader

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
    y = F.one_hot(labels, SMALL[-1])  # what the course's fit passes

    f = net._forward_pass(x)
    loss = net._backward_pass(y, f)

    a = net.logits.detach().double().numpy()
    expected = -np.mean(np.sum(y.numpy() * numpy_log_softmax(a), axis=1))
    double_softmax = -np.mean(np.sum(y.numpy() * numpy_log_softmax(utils.softmax(a)), axis=1))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert abs(double_softmax - expected) > 1e-2
    np.testing.assert_allclose(f.numpy(), utils.softmax(a), rtol=1e-5, atol=1e-7)
    # integer labels and float probability rows give the same loss
    assert net.loss(net.logits, labels).item() == pytest.approx(expected, rel=1e-6)
    assert net.loss(net.logits, y.float()).item() == pytest.approx(expected, rel=1e-6)


def test_soft_targets_use_the_full_formula():
    net = NeuralNetworkTorch(SMALL, random_state=4)
    x = torch.randn(5, SMALL[0], generator=torch.Generator().manual_seed(1))
    y = torch.softmax(torch.randn(5, SMALL[-1], generator=torch.Generator().manual_seed(2)), dim=1)
    net._forward_pass(x)
    a = net.logits.detach().double().numpy()
    expected = -np.mean(np.sum(y.double().numpy() * numpy_log_softmax(a), axis=1))
    assert net.loss(net.logits, y).item() == pytest.approx(expected, rel=1e-6)


def test_probabilities_are_detached_so_softmax_cannot_be_fed_to_the_loss_by_mistake():
    net = NeuralNetworkTorch(SMALL)
    f = net._forward_pass(torch.randn(2, SMALL[0]))
    assert not f.requires_grad and net.logits.requires_grad
    with pytest.raises(RuntimeError):
        torch.nn.CrossEntropyLoss()(f, torch.tensor([0, 1])).backward()


def test_backward_pass_needs_the_latest_output():
    net = NeuralNetworkTorch(SMALL)
    stale = net._forward_pass(torch.randn(2, SMALL[0]))
    net._forward_pass(torch.randn(2, SMALL[0]))
    with pytest.raises(ValueError, match="latest _forward_pass"):
        net._backward_pass(torch.tensor([0, 1]), stale)


# --------------------------------------------------------------------------- gradients
def test_gradcheck_float64():
    net = NeuralNetworkTorch(SMALL, random_state=5).double()
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(4, SMALL[0], dtype=torch.float64, generator=gen, requires_grad=True)
    labels = torch.randint(0, SMALL[-1], (4,), generator=gen)
    names = [name for name, _ in net.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in net.parameters())

    def loss_of(x, *params):
        a = torch.func.functional_call(net, dict(zip(names, params)), (x,))
        return net.loss(a, labels)

    assert torch.autograd.gradcheck(loss_of, (x, *params), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_gradients_match_backprop_closed_form():
    """dC/da = (f - y)/n at the output, dC/dW_L = delta^T h, dC/db_L = sum of delta (float64)."""
    net = NeuralNetworkTorch(SMALL, random_state=7).double()
    gen = torch.Generator().manual_seed(8)
    x = torch.randn(5, SMALL[0], dtype=torch.float64, generator=gen)
    y = F.one_hot(torch.randint(0, SMALL[-1], (5,), generator=gen), SMALL[-1])
    net.optimizer.zero_grad()
    f = net._forward_pass(x)
    net._backward_pass(y, f)

    w = [layer.weight.detach().numpy() for layer in net.layers]
    b = [layer.bias.detach().numpy() for layer in net.layers]
    h = x.numpy()
    for wi, bi in zip(w[:-1], b[:-1]):
        h = utils.sigmoid(h @ wi.T + bi)
    delta = (f.numpy() - y.numpy()) / len(x)
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

    f = net._forward_pass(torch.from_numpy(x))
    np.testing.assert_allclose(f.numpy(), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(net.predict(torch.from_numpy(x)).numpy(), expected.argmax(axis=1))


def test_initial_loss_is_near_ln10(digits):
    x_tr, y_tr, _, _ = digits
    loader = make_loader(x_tr, y_tr, batch_size=len(y_tr))
    x, y = next(iter(loader))
    net = NeuralNetworkTorch([784, 128, 64, 10], random_state=42)
    f = net._forward_pass(net._flatten(x))
    loss = net._backward_pass(y, f).item()
    assert abs(loss - math.log(10)) < 0.15


# --------------------------------------------------------------------------- training
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
    x, y = next(iter(train))
    assert x.shape == (1, 1, 28, 28) and y.dtype == torch.int64
    net = NeuralNetworkTorch([784, 128, 64, 10], epochs=2, learning_rate=0.2, random_state=42)
    history = net.fit(train, val)
    assert set(history) == {"accuracy", "val_accuracy", "loss", "epoch_time"}
    assert all(len(v) == 2 and all(type(e) is float for e in v) for v in history.values())
    assert history["loss"][1] < history["loss"][0] < 3  # it learns (ln 10 = 2.30 at the start)
    assert net.training
    lines = capsys.readouterr().out.splitlines()
    pattern = (r"Epoch [12]/2 - \d+\.\d\ds - lr: 0\.2 - loss: \d+\.\d{4} - "
               r"accuracy: \d+\.\d\d% - val_accuracy: \d+\.\d\d%")
    assert len(lines) == 2 and all(re.fullmatch(pattern, line) for line in lines)
    net.epochs = 1
    net.fit(train, val, verbose=False)
    assert capsys.readouterr().out == ""


def test_fit_restores_the_thread_setting(digits):
    x_tr, y_tr, _, _ = digits
    loader = make_loader(x_tr[:10], y_tr[:10])
    before = torch.get_num_threads()
    NeuralNetworkTorch(SIZES, epochs=1).fit(loader, loader, verbose=False)
    assert torch.get_num_threads() == before


# --------------------------------------------------------------------------- prediction, accuracy
def test_predict_accepts_images_and_rows_and_restores_train_mode(digits):
    x_tr, y_tr, _, _ = digits
    x, _ = next(iter(make_loader(x_tr, y_tr, batch_size=30)))
    net = NeuralNetworkTorch(SIZES, random_state=2)
    from_images = net.predict(x)
    from_rows = net.predict(x.reshape(30, 784))
    assert from_images.shape == (30,) and from_images.dtype == torch.int64
    assert torch.equal(from_images, from_rows)
    assert torch.equal(from_images, net.forward(x.reshape(30, 784)).argmax(dim=1))
    assert net.predict(x[0].reshape(784)).shape == ()
    assert net.predict(x.permute(0, 1, 3, 2)).shape == (30,)  # non-contiguous input
    assert net.training


def test_compute_accuracy_matches_a_manual_count_for_any_loader(digits):
    x_tr, y_tr, _, _ = digits
    net = NeuralNetworkTorch(SIZES, random_state=2)
    batched = make_loader(x_tr, y_tr, batch_size=len(y_tr))
    x, y = next(iter(batched))
    expected = int((net.forward(net._flatten(x)).argmax(dim=1) == y).sum()) / len(y)
    per_sample = make_loader(x_tr, y_tr, batch_size=1, shuffle=True, seed=0)
    plain_list = [(x[i:i + 7], y[i:i + 7]) for i in range(0, len(y), 7)]  # not a DataLoader
    for loader in (batched, per_sample, plain_list):
        acc = net.compute_accuracy(loader)
        assert type(acc) is float and acc == expected


# --------------------------------------------------------------------------- make_loader
def test_make_loader_normalises_as_the_course():
    images = np.array([[[0, 255], [51, 128]]], dtype=np.uint8).repeat(3, axis=0)
    loader = make_loader(images, np.array([1, 2, 3]))
    x, y = next(iter(loader))
    assert x.shape == (1, 1, 2, 2) and x.dtype == torch.float32 and y.dtype == torch.int64
    expected = (images[0].astype(np.float32) / 255 - 0.5) / 0.5
    np.testing.assert_allclose(x[0, 0].numpy(), expected, rtol=0, atol=1e-7)
    assert x.min() == -1 and x.max() == 1


def test_make_loader_shuffles_reproducibly():
    images = np.zeros((50, 28, 28), dtype=np.uint8)
    labels = np.arange(50) % 10
    order = lambda loader: torch.cat([y for _, y in loader]).tolist()  # noqa: E731
    first = order(make_loader(images, labels, batch_size=5, shuffle=True, seed=1))
    assert first == order(make_loader(images, labels, batch_size=5, shuffle=True, seed=1))
    assert first != labels.tolist() and sorted(first) == sorted(labels.tolist())
    assert order(make_loader(images, labels, batch_size=5)) == labels.tolist()


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("sizes, error", [
    (784, TypeError), ("784,10", TypeError), ([784], ValueError), ([784, 0, 10], ValueError),
    ([784, 2.5, 10], ValueError), ([784, True, 10], ValueError), ([784, -3, 10], ValueError),
])
def test_bad_sizes(sizes, error):
    with pytest.raises(error, match="sizes"):
        NeuralNetworkTorch(sizes)


@pytest.mark.parametrize("kwargs, error", [
    (dict(epochs=0), ValueError), (dict(epochs=-1), ValueError), (dict(epochs=2.5), TypeError),
    (dict(epochs=True), TypeError), (dict(learning_rate=0), ValueError), (dict(learning_rate=-1), ValueError),
    (dict(learning_rate=float("nan")), ValueError), (dict(learning_rate=float("inf")), ValueError),
    (dict(learning_rate="0.1"), TypeError), (dict(learning_rate=True), TypeError),
    (dict(random_state="1"), TypeError), (dict(device="tpu"), ValueError),
])
def test_bad_constructor_arguments(kwargs, error):
    name = next(iter(kwargs))
    with pytest.raises(error, match=f"`{name}`.*received"):
        NeuralNetworkTorch(SIZES, **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_requested_but_unavailable():
    with pytest.raises(ValueError, match="CUDA is not available"):
        NeuralNetworkTorch(SIZES, device="cuda")


def test_batch_of_the_wrong_width(digits):
    x_tr, y_tr, _, _ = digits
    narrow = make_loader(x_tr[:4, :, :27], y_tr[:4])  # 28 x 27 = 756 pixels
    net = NeuralNetworkTorch(SIZES, epochs=1)
    with pytest.raises(ValueError, match=r"\(n, 784\).*756"):
        net.fit(narrow, narrow, verbose=False)
    with pytest.raises(ValueError, match=r"\(n, 784\)"):
        net.predict(torch.zeros(2, 100))


@pytest.mark.parametrize("bad_label", [10, -1])
def test_labels_out_of_range(bad_label):
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    loader = make_loader(images, np.array([0, 1, bad_label, 2]))
    net = NeuralNetworkTorch(SIZES, epochs=1)
    with pytest.raises(ValueError, match=r"0\.\.9"):
        net.fit(loader, loader, verbose=False)
    f = net._forward_pass(torch.zeros(2, 784))
    with pytest.raises(ValueError, match=r"0\.\.9"):
        net._backward_pass(torch.tensor([0, bad_label]), f)


def test_float_labels_are_rejected():
    loader = [(torch.zeros(2, 784), torch.tensor([0.0, 1.0]))]
    with pytest.raises(TypeError, match="integer"):
        NeuralNetworkTorch(SIZES, epochs=1).fit(loader, loader, verbose=False)


def test_nan_loss_stops_fit_naming_the_epoch(digits):
    x_tr, y_tr, _, _ = digits
    loader = make_loader(x_tr[:20], y_tr[:20])
    net = NeuralNetworkTorch(SIZES, epochs=3, learning_rate=1e38)  # weights overflow: inf - inf = nan
    with pytest.raises(FloatingPointError, match=r"epoch 1/3.*smaller learning rate"):
        net.fit(loader, loader, verbose=False)


def test_make_loader_bad_input():
    with pytest.raises(ValueError, match="uint8"):
        make_loader(np.zeros((2, 28, 28), dtype=np.float32), np.array([0, 1]))
    with pytest.raises(ValueError, match="same length"):
        make_loader(np.zeros((2, 28, 28), dtype=np.uint8), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="batch_size"):
        make_loader(np.zeros((2, 28, 28), dtype=np.uint8), np.array([0, 1]), batch_size=0)
