"""Tests of network_scratch.NeuralNetwork against independent references.

Gradients: central finite differences and a PyTorch float64 copy.  Fused training path:
the template's forward -> backward -> update loop.  Behaviour: overfitting 20 digits,
seeds, progress lines, every bad input of issue 3, divergence.  Budget: about 10 s.
"""

import math
import re
import warnings

import numpy as np
import pytest

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
    eps = 1e-4  # measured: smallest combined truncation + rounding error for this network
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


# --------------------------------------------------------------------------- fused == plain
@pytest.mark.parametrize("layers", [[30, 8, 6, 4], [30, 4]], ids=["two hidden", "no hidden"])
@pytest.mark.parametrize("batch_size,shuffle", [(1, False), (1, True), (7, False), (7, True)])
def test_fused_path_gives_the_plain_path_weights(layers, batch_size, shuffle):
    rng = np.random.default_rng(3)
    x = rng.random((75, 30)) * (rng.random((75, 30)) < 0.4)  # sparse like MNIST; 75 > one Gram block
    x[:, :3] = 0  # inputs that are zero in every sample (the fused path skips them)
    y = np.eye(4)[rng.integers(0, 4, 75)]
    nets = [NeuralNetwork(layers, epochs=3, learning_rate=1.5, random_state=5) for _ in range(2)]
    hist = [net.fit(x, y, x[:20], y[:20], batch_size=batch_size, shuffle=shuffle, verbose=False, fused=fused)
            for net, fused in zip(nets, (True, False))]
    for Wf, Wp in zip(nets[0].weights, nets[1].weights):
        np.testing.assert_allclose(Wf, Wp, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(hist[0]["loss"], hist[1]["loss"], rtol=1e-12)
    assert hist[0]["accuracy"] == hist[1]["accuracy"]
    assert not np.array_equal(nets[0].weights[0], NeuralNetwork(layers, random_state=5).weights[0])  # it trained


def test_fused_float32_tracks_float64(digits):
    x, y, xv, yv = digits
    nets = [NeuralNetwork([784, 16, 10], epochs=2, learning_rate=1.5, dtype=dt) for dt in (np.float32, np.float64)]
    for net in nets:
        net.fit(x, y, xv, yv, verbose=False)
    assert nets[0].weights[0].dtype == np.float32
    for W32, W64 in zip(nets[0].weights, nets[1].weights):
        np.testing.assert_allclose(W32, W64, atol=1e-4)


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


def test_history_floats_progress_lines_and_no_runtime_warning(digits, capsys):
    x, y, xv, yv = digits
    net = NeuralNetwork([784, 16, 10], epochs=3, learning_rate=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning (overflow, invalid value) fails the test
        history = net.fit(x, y, xv, yv)
    assert set(history) == {"accuracy", "val_accuracy", "loss", "epoch_time"}
    for values in history.values():
        assert len(values) == 3 and all(type(v) is float for v in values)
    lines = capsys.readouterr().out.splitlines()
    pattern = r"Epoch (\d)/3 - \d+\.\d\ds - loss: \d\.\d{4} - accuracy: \d+\.\d\d% - val_accuracy: \d+\.\d\d%"
    assert [re.fullmatch(pattern, line).group(1) for line in lines] == ["1", "2", "3"]
    assert f"val_accuracy: {history['val_accuracy'][-1]:.2%}" in lines[-1]
    net.fit(x, y, xv, yv, verbose=False)
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
@pytest.mark.parametrize("fused", [True, False])
def test_divergence_by_the_data_stops_before_that_step(fused):
    x, y = tiny_data(30, 12)
    x[17] = 1e308  # finite, but with positive weights every a = W x is +inf: softmax gives NaN
    nets = [NeuralNetwork([12, 3], epochs=3, learning_rate=0.1) for _ in range(2)]
    for net in nets:
        net.weights[0][...] = np.abs(net.weights[0]) + 1.0
    net, reference = nets
    with pytest.raises(DivergenceError, match=r"epoch 1/3 \(step 18 of 30\).*\(step 18 of this epoch\)"
                                              r".*smaller learning_rate \(received 0.1\)") as err:
        net.fit(x, y, x[:5], y[:5], verbose=False, fused=fused)
    assert isinstance(err.value, FloatingPointError) and (err.value.epoch, err.value.step) == (1, 18)
    assert err.value.history["loss"] == []
    reference.epochs = 1
    reference.fit(x[:17], y[:17], x[:5], y[:5], verbose=False, fused=False)  # the 17 steps before it
    for W, R in zip(net.weights, reference.weights):
        np.testing.assert_allclose(W, R, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fused,batch_size", [(True, 1), (False, 1), (True, 8)])
def test_divergence_by_a_huge_learning_rate_restores_the_last_finite_weights(fused, batch_size):
    x, y = tiny_data(40, 12)
    net = NeuralNetwork([12, 6, 3], epochs=5, learning_rate=1e300, dtype=np.float32)  # eta * grad overflows float32
    initial = [W.copy() for W in net.weights]
    with pytest.raises(DivergenceError, match=r"epoch 1/5 \(step 2 of \d+\).*\(step 1 of this epoch\)"):
        net.fit(x, y, x, y, verbose=False, fused=fused, batch_size=batch_size)
    for W, W0 in zip(net.weights, initial):  # step 1's update made them non-finite: back to before it
        np.testing.assert_array_equal(W, W0)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,error,message", [
    (dict(layer_shapes=[784]), ValueError, "at least two entries"),
    (dict(layer_shapes=[]), ValueError, "at least two entries"),
    (dict(layer_shapes=784), TypeError, "list of at least two positive integers"),
    (dict(layer_shapes=[784, 12.5, 10]), TypeError, "must be integers; received 12.5"),
    (dict(layer_shapes=[784, True, 10]), TypeError, "must be integers"),
    (dict(layer_shapes=[784, 0, 10]), ValueError, "must be positive; received 0"),
    (dict(layer_shapes=[784, -3, 10]), ValueError, "must be positive; received -3"),
    (dict(epochs=0), ValueError, "`epochs` must be a positive integer; received 0"),
    (dict(epochs=2.5), ValueError, "`epochs` must be a positive integer"),
    (dict(learning_rate=0), ValueError, "`learning_rate` must be a positive finite number; received 0"),
    (dict(learning_rate=-1), ValueError, "received -1"),
    (dict(learning_rate=float("nan")), ValueError, "received nan"),
    (dict(learning_rate=float("inf")), ValueError, "received inf"),
    (dict(learning_rate="0.1"), ValueError, "positive finite number"),
    (dict(random_state=-1), ValueError, "`random_state`"),
    (dict(dtype=np.int32), TypeError, "`dtype`"),
])
def test_bad_constructor_arguments(kwargs, error, message):
    args = dict(layer_shapes=[784, 16, 10]) | kwargs
    with pytest.raises(error, match=re.escape(message)):
        NeuralNetwork(**args)


def _bad_fit_inputs():
    x, y = tiny_data(6, 5)
    nan_x = x.copy()
    nan_x[2, 3] = np.nan
    inf_x = x.copy()
    inf_x[0, 0] = -np.inf
    not_one_hot = y.copy()
    not_one_hot[0] = [0.5, 0.5, 0]
    return [
        ("features", dict(x_train=x[:, :4]), ValueError, r"shape \(5,\) or \(n, 5\).*received shape \(6, 4\)"),
        ("features val", dict(x_val=np.ones((3, 7))), ValueError, r"`x_val` must have shape .*received shape \(3, 7\)"),
        ("images", dict(x_train=x.reshape(6, 5, 1)), ValueError, r"received shape \(6, 5, 1\) \(flatten"),
        ("y width", dict(y_train=y[:, :2]), ValueError, r"one-hot of shape \(n, 3\).*received shape \(6, 2\)"),
        ("y labels", dict(y_train=np.argmax(y, 1)), ValueError, r"received shape \(6,\) \(integer labels"),
        ("y not one-hot", dict(y_train=not_one_hot), ValueError, r"must be one-hot: each row holds one 1"),
        ("y val", dict(y_val=y * 2), ValueError, r"`y_val` must be one-hot"),
        ("lengths", dict(y_train=y[:4]), ValueError, r"same number of samples; received 6 and 4"),
        ("val lengths", dict(y_val=y[:2]), ValueError, r"same number of samples; received 6 and 2"),
        ("nan x", dict(x_train=nan_x), ValueError, r"only finite values; received 1 NaN or infinite"),
        ("inf x val", dict(x_val=inf_x), ValueError, r"`x_val` must contain only finite values"),
        ("strings", dict(x_train=np.full((6, 5), "a")), TypeError, r"real numeric array; received dtype <U1"),
        ("batch size", dict(batch_size=0), ValueError, r"`batch_size` must be a positive integer; received 0"),
        ("shuffle", dict(shuffle="yes"), TypeError, r"`shuffle` must be True or False"),
    ]


@pytest.mark.parametrize("case", _bad_fit_inputs(), ids=lambda c: c[0])
def test_bad_fit_inputs(case):
    _, override, error, pattern = case
    x, y = tiny_data(6, 5)
    args = dict(x_train=x, y_train=y, x_val=x, y_val=y) | override
    net = NeuralNetwork(TINY, epochs=1)
    before = [W.copy() for W in net.weights]
    with pytest.raises(error, match=pattern):
        net.fit(args.pop("x_train"), args.pop("y_train"), args.pop("x_val"), args.pop("y_val"),
                verbose=False, **args)
    for W, W0 in zip(net.weights, before):  # nothing happened
        np.testing.assert_array_equal(W, W0)


def test_bad_inputs_to_forward_predict_and_accuracy():
    net = NeuralNetwork(TINY)
    x, y = tiny_data(6, 5)
    with pytest.raises(ValueError, match=r"shape \(5,\) or \(n, 5\).*received shape \(4,\)"):
        net._forward_pass(x[0, :4])
    with pytest.raises(ValueError, match="finite"):
        net.predict(np.full(5, np.nan))
    with pytest.raises(ValueError, match=r"same number of samples; received 6 and 5"):
        net.compute_accuracy(x, np.argmax(y, 1)[:5])
    with pytest.raises(ValueError, match=r"one-hot of shape \(n, 3\)"):
        net.compute_accuracy(x, y[:, :2])
    f = net._forward_pass(x)
    with pytest.raises(ValueError, match=r"`y_train` must be one-hot of shape \(6, 3\)"):
        net._backward_pass(y[0], f)
    with pytest.raises(ValueError, match=r"must hold 3 arrays; received 2"):
        net._update_weights(net._backward_pass(y, f)[:2])
