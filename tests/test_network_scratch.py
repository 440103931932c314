"""network_scratch.NeuralNetwork and its opt-in engine (scratch_engine.fit) against independent references.

Gradients: central finite differences and a PyTorch float64 copy.  ``fit``: the template's
loop, its progress line and history.  The engine: ``net.fit``'s own weights (per sample), a
reference loop made of the network's own verified steps (mini-batches, shuffling), float32,
BLAS threads, divergence.  Bad input: one case per kind (the checks are tested in
test_checks.py).
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
from network_scratch import NeuralNetwork
from scratch_engine import DivergenceError
from utils import mse

TINY = [5, 4, 3, 3]
PROGRESS = r"Epoch: (\d+), Training Time: \d+\.\d\ds, Training Accuracy: (\d+\.\d\d)%, Validation Accuracy: (\d+\.\d\d)%"


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
def test_template_initialisation_and_attributes():
    net = NeuralNetwork([784, 128, 64, 10])
    np.random.seed(1)  # the template's draw, reproduced independently
    expected = [np.random.rand(128, 784) - 0.5, np.random.rand(64, 128) - 0.5, np.random.rand(10, 64) - 0.5]
    assert len(net.weights) == 3
    for W, E in zip(net.weights, expected):
        np.testing.assert_array_equal(W, E)
    assert net.A == [None] * 4 and net.Z == [None] * 3
    assert (net.epochs, net.learning_rate, net.random_state, net.layer_shapes) == (50, 0.01, 1, [784, 128, 64, 10])
    import utils
    assert (net.activation_func, net.activation_func_deriv, net.output_func, net.output_func_deriv,
            net.cost_func, net.cost_func_deriv) == (utils.sigmoid, utils.sigmoid_deriv, utils.softmax,
                                                    utils.softmax_deriv, utils.mse, utils.mse_deriv)


def test_forward_of_one_sample_fills_A_and_Z():
    net = NeuralNetwork(TINY)
    x, _ = tiny_data()
    f = net._forward_pass(x[0])
    assert f.shape == (3,) and math.isclose(f.sum(), 1.0)
    assert [a.shape for a in net.Z] == [(4,), (3,), (3,)] and [h.shape for h in net.A] == [(5,), (4,), (3,), (3,)]
    np.testing.assert_allclose(net.A[1], 1 / (1 + np.exp(-net.weights[0] @ x[0])), rtol=1e-14)
    assert net.A[-1] is f


# --------------------------------------------------------------------------- gradients
def test_backward_matches_central_finite_differences():
    net = NeuralNetwork(TINY, learning_rate=0.5)
    x, y = tiny_data()
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


def test_outputs_and_gradients_match_pytorch_float64():
    torch = pytest.importorskip("torch")
    net = NeuralNetwork(TINY)
    x, y = tiny_data()
    x, y = x[0], y[0]
    f = net._forward_pass(x)
    grads = net._backward_pass(y, f)

    weights = [torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in net.weights]
    h = torch.tensor(x, dtype=torch.float64)
    for l, W in enumerate(weights):  # the same network, no biases
        a = W @ h
        h = torch.softmax(a, dim=0) if l == len(weights) - 1 else torch.sigmoid(a)
    torch.nn.functional.mse_loss(h, torch.tensor(y, dtype=torch.float64)).backward()  # mean over the K outputs
    assert np.max(np.abs(h.detach().numpy() - f)) < 1e-12
    for G, W in zip(grads, weights):
        assert np.max(np.abs(W.grad.numpy() - G)) < 1e-12


def test_the_given_diagonal_softmax_deriv_would_give_other_gradients():
    """Why _backward_pass does not use self.output_func_deriv: the diagonal alone is not dC/da^[L]."""
    net = NeuralNetwork(TINY)
    x, y = tiny_data()
    f = net._forward_pass(x[0])
    exact = net._backward_pass(y[0], f)[-1]
    diagonal = np.outer(net.cost_func_deriv(y[0], f) * net.output_func_deriv(net.Z[-1]), net.A[-2])
    assert np.abs(exact - diagonal).max() > 1e-3 * np.abs(exact).max()


def test_update_weights_is_plain_sgd_in_place():
    net = NeuralNetwork(TINY, learning_rate=0.25)
    arrays = list(net.weights)
    before = [W.copy() for W in net.weights]
    net._update_weights([np.full_like(W, 2.0) for W in net.weights])
    for W, W0, same in zip(net.weights, before, arrays):
        np.testing.assert_allclose(W, W0 - 0.5, rtol=0, atol=1e-15)
        assert W is same


def test_predict_returns_the_index_of_the_largest_output():
    net = NeuralNetwork(TINY)
    x, _ = tiny_data()
    for xi in x:
        assert net.predict(xi) == np.argmax(net._forward_pass(xi))


# --------------------------------------------------------------------------- fit: the template's loop
def test_fit_runs_the_template_steps_once_per_sample_in_order(capsys):
    x, y = tiny_data(7, 5)
    net = NeuralNetwork(TINY, epochs=3, learning_rate=0.5, random_state=4)
    calls = []

    def spy(name):
        method = getattr(net, name)

        def recorded(*args):
            calls.append((name, args[0]))
            return method(*args)
        setattr(net, name, recorded)

    for name in ("_forward_pass", "_backward_pass", "_update_weights"):
        spy(name)
    history = net.fit(x, y, x, y)
    assert set(history) == {"accuracy", "val_accuracy"} and len(history["accuracy"]) == 3
    backward = [arg for name, arg in calls if name == "_backward_pass"]
    assert len(backward) == 21 and all(np.array_equal(b, y[i % 7]) for i, b in enumerate(backward))  # in order
    steps = [name for name, _ in calls]
    assert steps[:21] == ["_forward_pass", "_backward_pass", "_update_weights"] * 7  # epoch 1, then evaluation
    assert all(arg.shape == (5,) for name, arg in calls if name == "_forward_pass")  # one sample at a time
    lines = capsys.readouterr().out.splitlines()
    assert [re.fullmatch(PROGRESS, line).group(1) for line in lines] == ["1", "2", "3"]
    assert lines[-1].endswith(f"Validation Accuracy: {history['val_accuracy'][-1] * 100:.2f}%")


def test_fit_history_is_what_compute_accuracy_gives(digits):
    x, y, xv, yv = digits
    net = NeuralNetwork([784, 16, 10], epochs=2, learning_rate=1.5)
    history = net.fit(x, y, xv, yv)
    assert history["accuracy"][-1] == net.compute_accuracy(x, y)
    assert history["val_accuracy"][-1] == np.mean([net.predict(a) == np.argmax(b) for a, b in zip(xv, yv)])


def test_learns_20_digits_to_full_training_accuracy():
    images, labels = load_mnist()
    x, y, _, _ = train_val_split(images, labels, 20)
    assert len(set(y.tolist())) == 10  # two of each class, not one sorted class
    x, y = scale_images(x, flatten=True), one_hot(y)
    net = NeuralNetwork([784, 128, 64, 10], epochs=30, learning_rate=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning (overflow, invalid value) fails the test
        history = net.fit(x, y, x, y)
    assert history["accuracy"][-1] == 1.0


def test_ctrl_c_during_fit_keeps_the_epochs_done(digits):
    x, y, xv, yv = digits
    net = NeuralNetwork([784, 16, 10], epochs=5, learning_rate=1.5)
    progress = net._print_learning_progress

    def interrupted(start_time, iteration, *args):
        if iteration == 2:
            raise KeyboardInterrupt
        return progress(start_time, iteration, *args)

    net._print_learning_progress = interrupted
    with pytest.raises(KeyboardInterrupt):
        net.fit(x, y, xv, yv)
    assert len(net.history["accuracy"]) == len(net.history["val_accuracy"]) == 2


def test_a_dataframe_trains_as_its_array_does(digits):
    pd = pytest.importorskip("pandas")
    x, y, xv, yv = digits
    nets = [NeuralNetwork([784, 8, 10], epochs=1, learning_rate=1.5) for _ in range(2)]
    a = nets[0].fit(x[:30], y[:30], xv, yv)
    b = nets[1].fit(pd.DataFrame(x[:30]), pd.DataFrame(y[:30]), pd.DataFrame(xv), yv)
    assert a == b
    for Wa, Wb in zip(nets[0].weights, nets[1].weights):
        np.testing.assert_array_equal(Wa, Wb)


# --------------------------------------------------------------------------- the engine
def reference_fit(net, x, y, batch_size, shuffle):
    """Mini-batch SGD built from the network's own (finite-difference-checked) per-sample steps."""
    rng = np.random.default_rng(net.random_state)
    for _ in range(net.epochs):
        order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
        for i in range(0, len(x), batch_size):
            rows = order[i:i + batch_size]
            grads = [net._backward_pass(y[r], net._forward_pass(x[r])) for r in rows]
            net._update_weights([np.mean(g, axis=0) for g in zip(*grads)])


def test_engine_defaults_give_the_template_loops_weights_and_history(digits, capsys):
    x, y, xv, yv = digits
    nets = [NeuralNetwork([784, 16, 12, 10], epochs=3, learning_rate=1.5, random_state=5) for _ in range(2)]
    fast = scratch_engine.fit(nets[0], x, y, xv, yv, verbose=False)
    template = nets[1].fit(x, y, xv, yv)
    for Wf, Wt in zip(nets[0].weights, nets[1].weights):
        np.testing.assert_allclose(Wf, Wt, rtol=1e-11, atol=1e-13)
    assert fast["accuracy"] == template["accuracy"] and fast["val_accuracy"] == template["val_accuracy"]


@pytest.mark.parametrize("layers", [[30, 8, 6, 4], [30, 4]], ids=["two hidden", "no hidden"])
@pytest.mark.parametrize("batch_size,shuffle", [(1, True), (7, False), (7, True)])
def test_engine_mini_batches_and_shuffling_match_the_reference(layers, batch_size, shuffle):
    rng = np.random.default_rng(3)
    x = rng.random((75, 30)) * (rng.random((75, 30)) < 0.4)  # sparse like MNIST; 75 > two Gram blocks
    x[:, :3] = 0  # inputs that are zero in every sample (the engine leaves them out)
    y = np.eye(4)[rng.integers(0, 4, 75)]
    nets = [NeuralNetwork(layers, epochs=3, learning_rate=1.5, random_state=5) for _ in range(2)]
    history = scratch_engine.fit(nets[0], x, y, x[:20], y[:20], batch_size=batch_size, shuffle=shuffle,
                                 verbose=False)
    reference_fit(nets[1], x, y, batch_size, shuffle)
    for Wf, Wr in zip(nets[0].weights, nets[1].weights):
        np.testing.assert_allclose(Wf, Wr, rtol=1e-11, atol=1e-13)
    assert history["val_accuracy"][-1] == nets[1].compute_accuracy(x[:20], y[:20])
    assert not np.array_equal(nets[0].weights[0], NeuralNetwork(layers, random_state=5).weights[0])  # it trained


def test_engine_float32_tracks_the_float64_template_loop(digits):
    x, y, xv, yv = digits
    fast32 = NeuralNetwork([784, 16, 10], epochs=2, learning_rate=1.5)
    template64 = NeuralNetwork([784, 16, 10], epochs=2, learning_rate=1.5)
    scratch_engine.fit(fast32, x, y, xv, yv, dtype=np.float32, verbose=False)
    template64.fit(x, y, xv, yv)
    assert fast32.weights[0].dtype == np.float32
    for W32, W64 in zip(fast32.weights, template64.weights):
        assert np.abs(W32 - W64).max() < 1e-4


def test_engine_trains_on_one_blas_thread_and_evaluates_on_all_blas_threads(digits, monkeypatch):
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
        history = scratch_engine.fit(net, x, y, xv, yv, verbose=False)
    main = threading.get_ident()
    assert {blas for _, blas in calls} == {frozenset({1})}  # every step on one BLAS thread
    # evaluation of the training and the validation set, each split in two halves on two threads
    assert sum(thread != main for thread, _ in calls) == 2 * 2
    assert sum(thread == main for thread, _ in calls) == len(x)  # training: one sigmoid per sample
    assert history["accuracy"] == [net.compute_accuracy(x, y)]  # the split evaluation is exact
    assert history["val_accuracy"] == [net.compute_accuracy(xv, yv)]


def test_engine_history_progress_lines_and_seeds(digits, capsys):
    x, y, xv, yv = digits

    def run(seed, verbose=False):
        net = NeuralNetwork([784, 16, 10], epochs=3, learning_rate=1.5, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            h = scratch_engine.fit(net, x, y, xv, yv, batch_size=4, shuffle=True, verbose=verbose)
        return net, h

    (a, ha), (b, hb), (c, _) = run(7, verbose=True), run(7), run(8)
    assert set(ha) == {"accuracy", "val_accuracy", "loss", "epoch_time"}
    assert all(len(v) == 3 and all(type(e) is float for e in v) for v in ha.values())
    assert {k: v for k, v in ha.items() if k != "epoch_time"} == {k: v for k, v in hb.items() if k != "epoch_time"}
    for Wa, Wb, Wc in zip(a.weights, b.weights, c.weights):
        np.testing.assert_array_equal(Wa, Wb)
        assert not np.array_equal(Wa, Wc)
    lines = capsys.readouterr().out.splitlines()
    pattern = r"Epoch (\d)/3 - \d+\.\d\ds - loss: \d\.\d{4} - accuracy: \d+\.\d\d% - val_accuracy: \d+\.\d\d%"
    assert [re.fullmatch(pattern, line).group(1) for line in lines] == ["1", "2", "3"]


# NumPy warns about the overflow before the engine raises; the warnings are expected here.
diverging = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                                       "ignore:invalid value encountered:RuntimeWarning")


@diverging
def test_engine_divergence_by_the_data_leaves_the_weights_before_the_block():
    x, y = tiny_data(30, 12)
    x[17] = 1e308  # finite, but with positive weights every a = W x is +inf: softmax gives NaN
    net = NeuralNetwork([12, 3], epochs=3, learning_rate=0.1)
    net.weights[0][...] = np.abs(net.weights[0]) + 1.0
    initial = [W.copy() for W in net.weights]
    with pytest.raises(DivergenceError, match=r"NaN or infinite in epoch 1/3, samples 1-30 of the epoch;.*"
                                              r"smaller learning_rate \(received 0.1\)") as err:
        scratch_engine.fit(net, x, y, x[:5], y[:5], verbose=False)
    assert isinstance(err.value, FloatingPointError) and err.value.epoch == 1
    assert err.value.samples == range(0, 30) and err.value.history["loss"] == []
    for W, W0 in zip(net.weights, initial):
        np.testing.assert_array_equal(W, W0)


@diverging
def test_engine_an_overflowing_update_in_the_second_block_keeps_the_first():
    x, y = tiny_data(60, 4)
    x[:, 0] = 0
    x[44, 0] = 1e308  # in the second block of 32: eta * gradient * x_0 overflows in the update
    nets = [NeuralNetwork([4, 3], epochs=2, learning_rate=20.0) for _ in range(2)]
    for net in nets:
        net.weights[0][:, 0] = 0.5
    net, reference = nets
    with pytest.raises(DivergenceError, match=r"epoch 1/2, samples 33-60 of the epoch"):
        scratch_engine.fit(net, x, y, x, y, verbose=False)
    reference.epochs = 1
    reference.fit(x[:32], y[:32], x, y)  # the first block's 32 steps, through the template loop
    for W, R in zip(net.weights, reference.weights):
        assert np.isfinite(W).all()
        np.testing.assert_allclose(W, R, rtol=1e-10)


# --------------------------------------------------------------------------- bad input
def test_bad_input_is_rejected_before_anything_changes():
    with pytest.raises(TypeError, match=re.escape("Argument `layer_shapes` must be a list of at least two "
                                                  "positive integers (inputs, ..., classes). Received: "
                                                  "layer_shapes=[784, 2.5, 10]")):
        NeuralNetwork([784, 2.5, 10])
    net = NeuralNetwork(TINY, epochs=1)
    before = [W.copy() for W in net.weights]
    x, y = tiny_data(6, 5)
    with pytest.raises(ValueError, match=r"Argument `x_val` must be a batch of shape \(n, 5\).*"
                                         r"Received: x_val=array of shape \(6, 4\)"):
        net.fit(x, y, x[:, :4], y)
    with pytest.raises(ValueError, match=r"Argument `dtype` must be one of the dtypes float32, float64\. "
                                         r"Received: dtype=numpy\.float16"):
        scratch_engine.fit(net, x, y, x, y, dtype=np.float16)
    for W, W0 in zip(net.weights, before):
        np.testing.assert_array_equal(W, W0)
