"""Tests of network_scratch.NeuralNetwork (and its fast engine) against independent references.

Gradients: central finite differences and a PyTorch float64 copy.  The fast engine: the
template's forward -> backward -> update loop.  Behaviour: the default fit is that loop,
overfitting 20 digits, seeds, progress lines, BLAS threads, divergence, one bad-input case
(the checks themselves are tested in test_checks.py).
"""

import math
import re
import threading
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import scratch_engine
from mnist import load_mnist, one_hot, scale_images, train_val_split
from network_scratch import DivergenceError, NeuralNetwork
from utils import mse

TINY = [5, 4, 3, 3]


def tiny_data(n=6, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)) * 2, np.eye(k)[rng.integers(0, k, n)]


@pytest.fixture(scope="module")
def digits():
    """120 training and 60 validation digits (stratified), flattened in [0, 1], one-hot."""
    images, labels = load_mnist()
    x, y, xv, yv = train_val_split(images, labels, 120, 60)
    return (scale_images(x, flatten=True).astype(np.float64), one_hot(y, dtype=np.float64),
            scale_images(xv, flatten=True).astype(np.float64), one_hot(yv, dtype=np.float64))


# --------------------------------------------------------------------------- construction, shapes
def test_template_initialisation_and_shapes():
    net = NeuralNetwork([784, 128, 64, 10])
    np.random.seed(1)  # the template's draw, reproduced independently
    expected = [np.random.rand(128, 784) - 0.5, np.random.rand(64, 128) - 0.5, np.random.rand(10, 64) - 0.5]
    assert len(net.weights) == 3
    for W, E in zip(net.weights, expected):
        assert W.dtype == np.float64 and W.shape == E.shape
        np.testing.assert_array_equal(W, E)
    assert net.A == [None] * 4 and net.Z == [None] * 3
    assert (net.epochs, net.learning_rate, net.random_state) == (50, 0.01, 1)


def test_forward_one_sample_and_batch_fill_A_and_Z():
    net = NeuralNetwork(TINY)
    x, _ = tiny_data()
    f1 = net._forward_pass(x[0])
    assert f1.shape == (3,) and math.isclose(f1.sum(), 1.0)
    assert [a.shape for a in net.Z] == [(4,), (3,), (3,)] and [h.shape for h in net.A] == [(5,), (4,), (3,), (3,)]
    fb = net._forward_pass(x)
    assert fb.shape == (6, 3)
    np.testing.assert_allclose(fb[0], f1, rtol=1e-14)
    # closed form of the first layer: h^[1] = 1 / (1 + exp(-W^[1] x))
    np.testing.assert_allclose(net.A[1], 1 / (1 + np.exp(-x @ net.weights[0].T)), rtol=1e-14)


# --------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("batch", [False, True], ids=["one sample", "batch of 6"])
def test_backward_matches_central_finite_differences(batch):
    net = NeuralNetwork(TINY, learning_rate=0.5)
    x, y = tiny_data()
    if not batch:
        x, y = x[0], y[0]
    grads = net._backward_pass(y, net._forward_pass(x))
    eps = 1e-4  # balances the truncation error (eps^2) and the rounding error (1/eps) in float64
    worst = 0.0
    for W, G in zip(net.weights, grads):
        assert G.shape == W.shape
        for i in np.ndindex(W.shape):  # every weight
            w0 = W[i]
            W[i] = w0 + eps
            c_plus = mse(y, net._forward_pass(x))
            W[i] = w0 - eps
            c_minus = mse(y, net._forward_pass(x))
            W[i] = w0
            numeric = (c_plus - c_minus) / (2 * eps)
            worst = max(worst, abs(G[i] - numeric) / max(abs(G[i]), abs(numeric)))
    assert worst < 1e-7


@pytest.mark.parametrize("batch", [False, True], ids=["one sample", "batch of 6"])
def test_outputs_and_gradients_match_pytorch_float64(batch):
    torch = pytest.importorskip("torch")
    net = NeuralNetwork(TINY)
    x, y = tiny_data()
    if not batch:
        x, y = x[0], y[0]
    f = net._forward_pass(x)
    grads = net._backward_pass(y, f)

    weights = [torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in net.weights]
    h = torch.tensor(x, dtype=torch.float64)
    for l, W in enumerate(weights):  # the same network, no biases: a = h W^T
        a = h @ W.T
        h = torch.softmax(a, dim=-1) if l == len(weights) - 1 else torch.sigmoid(a)
    loss = torch.nn.functional.mse_loss(h, torch.tensor(y, dtype=torch.float64))  # mean over all entries
    loss.backward()
    assert np.max(np.abs(h.detach().numpy() - f)) < 1e-10
    for G, W in zip(grads, weights):
        assert np.max(np.abs(W.grad.numpy() - G)) < 1e-10


def test_update_weights_is_plain_sgd():
    net = NeuralNetwork(TINY, learning_rate=0.25)
    before = [W.copy() for W in net.weights]
    grads = [np.full_like(W, 2.0) for W in net.weights]
    net._update_weights(grads)
    for W, W0 in zip(net.weights, before):
        np.testing.assert_allclose(W, W0 - 0.5, rtol=0, atol=1e-15)


# --------------------------------------------------------------------------- the default fit is the template loop
@pytest.mark.parametrize("shuffle", [False, True])
def test_default_fit_runs_the_template_methods_once_per_sample_in_order(shuffle):
    x, y = tiny_data(7, 5)
    net = NeuralNetwork(TINY, epochs=3, learning_rate=0.5, random_state=4)
    seen, original = [], net._forward_pass

    def forward(x_step):
        if x_step.ndim == 1:  # a training step (evaluation passes the whole batch)
            seen.append(np.flatnonzero((x == x_step).all(axis=1))[0])
        return original(x_step)

    net._forward_pass = forward
    net.fit(x, y, x, y, verbose=False, shuffle=shuffle)
    rng = np.random.default_rng(4)  # fit's documented seed of the shuffling: random_state
    expected = [rng.permutation(7) if shuffle else np.arange(7) for _ in range(3)]
    assert seen == list(np.concatenate(expected))
    assert shuffle == (seen[:7] != seen[7:14])  # shuffled: a new order every epoch


# --------------------------------------------------------------------------- fast engine == template loop
@pytest.mark.parametrize("layers", [[30, 8, 6, 4], [30, 4]], ids=["two hidden", "no hidden"])
@pytest.mark.parametrize("batch_size,shuffle", [(1, False), (1, True), (7, False), (7, True)])
def test_fast_engine_gives_the_template_loop_weights(layers, batch_size, shuffle):
    rng = np.random.default_rng(3)
    x = rng.random((75, 30)) * (rng.random((75, 30)) < 0.4)  # sparse like MNIST; 75 > two Gram blocks
    x[:, :3] = 0  # inputs that are zero in every sample (the engine leaves them out)
    y = np.eye(4)[rng.integers(0, 4, 75)]
    nets = [NeuralNetwork(layers, epochs=3, learning_rate=1.5, random_state=5) for _ in range(2)]
    hist = [net.fit(x, y, x[:20], y[:20], batch_size=batch_size, shuffle=shuffle, verbose=False, fast=fast)
            for net, fast in zip(nets, (True, False))]
    for Wf, Wt in zip(nets[0].weights, nets[1].weights):
        np.testing.assert_allclose(Wf, Wt, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(hist[0]["loss"], hist[1]["loss"], rtol=1e-12)
    assert hist[0]["accuracy"] == hist[1]["accuracy"]
    assert not np.array_equal(nets[0].weights[0], NeuralNetwork(layers, random_state=5).weights[0])  # it trained


def test_fast_float32_tracks_the_float64_template_loop(digits):
    x, y, xv, yv = digits
    fast32 = NeuralNetwork([784, 16, 10], epochs=2, learning_rate=1.5, dtype=np.float32)
    template64 = NeuralNetwork([784, 16, 10], epochs=2, learning_rate=1.5)
    fast32.fit(x, y, xv, yv, verbose=False, fast=True)
    template64.fit(x, y, xv, yv, verbose=False)
    assert fast32.weights[0].dtype == np.float32
    for W32, W64 in zip(fast32.weights, template64.weights):
        assert np.abs(W32 - W64).max() < 1e-4


def test_fast_engine_trains_on_one_blas_thread_and_evaluates_on_all_blas_threads(digits, monkeypatch):
    x, y, xv, yv = digits
    calls = []  # (thread, BLAS threads) of every sigmoid the engine computes

    def spy(sigmoid):
        def recorded(*args, **kwargs):
            blas = frozenset(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")
            calls.append((threading.get_ident(), blas))
            return sigmoid(*args, **kwargs)
        return recorded

    for name in ("expit", "_sigmoid"):  # per sample / whole batches
        monkeypatch.setattr(scratch_engine, name, spy(getattr(scratch_engine, name)))
    net = NeuralNetwork([784, 16, 10], epochs=1, learning_rate=1.5)
    with threadpool_limits(limits=2, user_api="blas"):  # two threads even on a one-core machine
        history = net.fit(x, y, xv, yv, verbose=False, fast=True)
    main = threading.get_ident()
    assert {blas for _, blas in calls} == {frozenset({1})}  # every step on one BLAS thread
    # evaluation of the training and the validation set, each split in two halves on two threads
    assert sum(thread != main for thread, _ in calls) == 2 * 2
    assert sum(thread == main for thread, _ in calls) == len(x)  # training: one sigmoid per sample
    assert history["accuracy"] == [net.compute_accuracy(x, y)]  # the split evaluation is exact
    assert history["val_accuracy"] == [net.compute_accuracy(xv, yv)]


# --------------------------------------------------------------------------- behaviour
def test_learns_20_digits_to_full_training_accuracy():
    images, labels = load_mnist()
    x, y, _, _ = train_val_split(images, labels, 20, 0)
    assert len(set(y.tolist())) == 10  # two of each class, not one sorted class
    x, y = scale_images(x, flatten=True), one_hot(y)
    net = NeuralNetwork([784, 128, 64, 10], epochs=30, learning_rate=1.5)
    history = net.fit(x, y, x, y, verbose=False)
    assert history["accuracy"][-1] == 1.0
    assert history["loss"][-1] < history["loss"][0] / 5


@pytest.mark.parametrize("fast", [False, True])
def test_history_floats_progress_lines_and_no_runtime_warning(digits, capsys, fast):
    x, y, xv, yv = digits
    net = NeuralNetwork([784, 16, 10], epochs=3, learning_rate=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning (overflow, invalid value) fails the test
        history = net.fit(x, y, xv, yv, fast=fast)
    assert set(history) == {"accuracy", "val_accuracy", "loss", "epoch_time"}
    for values in history.values():
        assert len(values) == 3 and all(type(v) is float for v in values)
    lines = capsys.readouterr().out.splitlines()
    pattern = r"Epoch (\d)/3 - \d+\.\d\ds - loss: \d\.\d{4} - accuracy: \d+\.\d\d% - val_accuracy: \d+\.\d\d%"
    assert [re.fullmatch(pattern, line).group(1) for line in lines] == ["1", "2", "3"]
    assert f"val_accuracy: {history['val_accuracy'][-1]:.2%}" in lines[-1]
    net.fit(x, y, xv, yv, verbose=False, fast=fast)
    assert capsys.readouterr().out == ""


def test_predict_and_compute_accuracy_match_per_sample_definition(digits):
    x, y, _, _ = digits
    net = NeuralNetwork([784, 16, 10], epochs=1, learning_rate=1.5)
    net.fit(x, y, x, y, verbose=False)
    one = net.predict(x[0])
    assert isinstance(one, int)
    batch = net.predict(x)
    assert batch.shape == (len(x),) and batch[0] == one
    per_sample = np.mean([net.predict(xi) == np.argmax(yi) for xi, yi in zip(x, y)])
    assert net.compute_accuracy(x, y) == pytest.approx(per_sample, abs=0)
    assert net.compute_accuracy(x, np.argmax(y, axis=1)) == net.compute_accuracy(x, y)  # integer labels


def test_same_seed_same_history_different_seed_different_weights(digits):
    x, y, xv, yv = digits

    def run(seed):
        net = NeuralNetwork([784, 16, 10], epochs=2, learning_rate=1.5, random_state=seed)
        h = net.fit(x, y, xv, yv, batch_size=4, shuffle=True, verbose=False)
        return net, {k: v for k, v in h.items() if k != "epoch_time"}  # the clock is not reproducible

    (a, ha), (b, hb), (c, _) = run(7), run(7), run(8)
    assert ha == hb
    for Wa, Wb, Wc in zip(a.weights, b.weights, c.weights):
        np.testing.assert_array_equal(Wa, Wb)
        assert not np.array_equal(Wa, Wc)


# --------------------------------------------------------------------------- divergence
# NumPy warns about the overflow before fit raises; the warnings are expected here.
diverging = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                                       "ignore:invalid value encountered:RuntimeWarning")


@diverging
@pytest.mark.parametrize("fast", [False, True])
def test_divergence_by_the_data_stops_before_that_step(fast):
    x, y = tiny_data(30, 12)
    x[17] = 1e308  # finite, but with positive weights every a = W x is +inf: softmax gives NaN
    nets = [NeuralNetwork([12, 3], epochs=3, learning_rate=0.1) for _ in range(2)]
    for net in nets:
        net.weights[0][...] = np.abs(net.weights[0]) + 1.0
    net, reference = nets
    with pytest.raises(DivergenceError, match=r"loss became nan at epoch 1/3, step 18;.*"
                                              r"smaller learning_rate \(received 0.1\)") as err:
        net.fit(x, y, x[:5], y[:5], verbose=False, fast=fast)
    assert isinstance(err.value, FloatingPointError) and (err.value.epoch, err.value.step) == (1, 18)
    assert err.value.history["loss"] == []
    reference.epochs = 1
    reference.fit(x[:17], y[:17], x[:5], y[:5], verbose=False)  # the 17 steps before it
    for W, R in zip(net.weights, reference.weights):
        np.testing.assert_allclose(W, R, rtol=1e-12, atol=1e-14)


@diverging
@pytest.mark.parametrize("fast", [False, True])
def test_an_overflowing_update_is_undone_and_named(fast):
    x, y = tiny_data(60, 4)
    x[:, 0] = 0
    # Column 0 of the weights stays equal across classes (x[:, 0] = 0 gives it zero gradient), so
    # at step 45 (in the engine's second block) the huge x_0 shifts every a^[1] alike: the output
    # is uniform, its gradient finite, but eta * gradient * x_0 overflows in the update.
    x[44, 0] = 1e308
    nets = [NeuralNetwork([4, 3], epochs=2, learning_rate=20.0) for _ in range(2)]
    for net in nets:
        net.weights[0][:, 0] = 0.5
    net, reference = nets
    with pytest.raises(DivergenceError, match=r"update made the weights non-finite at epoch 1/2, step 45;"):
        net.fit(x, y, x, y, verbose=False, fast=fast)
    reference.epochs = 1
    reference.fit(x[:44], y[:44], x, y, verbose=False)  # the 44 steps before it
    for W, R in zip(net.weights, reference.weights):
        assert np.isfinite(W).all()
        np.testing.assert_allclose(W, R, rtol=1e-10)  # fast: 32 engine steps, then the template


@diverging
@pytest.mark.parametrize("fast,batch_size", [(False, 1), (True, 1), (False, 8), (True, 8)])
def test_a_learning_rate_too_large_for_float32_stops_at_the_first_step(fast, batch_size):
    x, y = tiny_data(40, 12)
    net = NeuralNetwork([12, 6, 3], epochs=5, learning_rate=1e300, dtype=np.float32)  # eta * grad overflows float32
    initial = [W.copy() for W in net.weights]
    with pytest.raises(DivergenceError, match=r"non-finite at epoch 1/5, step 1;"):
        net.fit(x, y, x, y, verbose=False, fast=fast, batch_size=batch_size)
    for W, W0 in zip(net.weights, initial):
        np.testing.assert_array_equal(W, W0)


# --------------------------------------------------------------------------- bad input
def test_bad_input_is_rejected_through_checks_before_anything_changes():
    with pytest.raises(TypeError, match=re.escape("Argument `layer_shapes` must be a list of at least two "
                                                  "positive integers (inputs, ..., classes). Received: "
                                                  "layer_shapes=[784, 2.5, 10]")):
        NeuralNetwork([784, 2.5, 10])
    net = NeuralNetwork(TINY, epochs=1)
    before = [W.copy() for W in net.weights]
    x, y = tiny_data(6, 5)
    with pytest.raises(ValueError, match=r"Argument `x_val` must be a batch of shape \(n, 5\).*"
                                         r"Received: x_val=array of shape \(6, 4\)"):
        net.fit(x, y, x[:, :4], y, verbose=False)
    for W, W0 in zip(net.weights, before):
        np.testing.assert_array_equal(W, W0)
