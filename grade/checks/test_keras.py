"""Items keras.*: the repaired NeuralNetworkTf, read through Keras' own objects and numbers."""

import keras  # imported while collecting, outside the items' time limits
import numpy as np
import pytest

from conftest import SETTINGS, Fail, call, load
from _grading import data, judge_learning, one_hot, softmax

SIZES = [784, 16, 12, 10]
TIMEOUT = SETTINGS["timeouts"]
_x, _y, _, _ = data()
X_IMG = (_x[:40] / 255.0).astype(np.float32)
Y = one_hot(_y[:40]).astype(np.float32)


def new_network(mod, sizes=SIZES):
    return call(f"NeuralNetworkTf(sizes={sizes}, random_state=0)", mod.NeuralNetworkTf, sizes, random_state=0)


def fit(net, x, y, epochs=1, learning_rate=0.1, batch_size=10):
    return call(f"compile_and_fit(x of shape {x.shape}, y, epochs={epochs}, learning_rate={learning_rate}, "
                f"batch_size={batch_size})", net.compile_and_fit, x, y, epochs=epochs,
                learning_rate=learning_rate, batch_size=batch_size, validation_data=(x, y))


def test_input(graded):
    mod = load("network_tensorflow")
    net = new_network(mod)
    try:
        fit(net, X_IMG, Y)
    except Fail as fail:
        try:
            shape = tuple(np.shape(net(X_IMG[:5])))
        except Exception:  # noqa: BLE001
            shape = None
        if shape is not None and len(shape) == 3:
            raise Fail(f"the network does not accept (n, 28, 28) images: it treats each of the 28 rows of an "
                       f"image as a sample (output shape {shape} for 5 images); flatten the images first "
                       f"(e.g. a Flatten layer). {fail.message}") from None
        raise Fail(f"the network does not accept (n, 28, 28) images: {fail.message}") from None
    graded(1.0, "compile_and_fit trains on (n, 28, 28) images as the course notebook passes them")


def dense_layers(net):
    return [l for l in net.layers if isinstance(l, keras.layers.Dense)]


def test_layers(graded):
    mod = load("network_tensorflow")
    net = new_network(mod)
    units = [int(l.units) for l in dense_layers(net)]
    if units == SIZES[1:]:
        graded(1.0, f"NeuralNetworkTf(sizes={SIZES}) has Dense layers of widths sizes[1:] = {SIZES[1:]}")
        return
    if units == SIZES:
        raise Fail(f"NeuralNetworkTf(sizes={SIZES}) has an extra Dense({SIZES[0]}) layer: Dense widths {units}. "
                   f"sizes[0] is the number of inputs, not a layer: the loop must start at i = 1")
    raise Fail(f"NeuralNetworkTf(sizes={SIZES}) has Dense layers of widths {units}; expected sizes[1:] = {SIZES[1:]}")


PROBE = np.array([[-2.0, -0.5, 0.3, 1.7, 0.0], [1.0, 2.0, -1.0, 0.5, 3.0]], dtype=np.float32)


def activation_name(fn):
    out = np.asarray(fn(PROBE), dtype=np.float64)
    refs = {"sigmoid": 1 / (1 + np.exp(-PROBE)), "softmax": softmax(PROBE.astype(np.float64)),
            "linear": PROBE, "relu": np.maximum(PROBE, 0), "tanh": np.tanh(PROBE)}
    for name, ref in refs.items():
        if np.allclose(out, ref, rtol=1e-4, atol=1e-6):
            return name
    return "unknown"


def layer_activations(net):
    """The activation after each Dense layer (an Activation layer right after a linear Dense counts)."""
    layers = list(net.layers)
    names = []
    for k, layer in enumerate(layers):
        if isinstance(layer, keras.layers.Dense):
            name = activation_name(layer.activation)
            if name == "linear" and k + 1 < len(layers) and isinstance(layers[k + 1], keras.layers.Activation):
                name = activation_name(layers[k + 1].activation)
            names.append(name)
    return names


def test_activations(graded):
    mod = load("network_tensorflow")
    net = new_network(mod)
    names = layer_activations(net)
    hidden, output = names[:-1], names[-1:]
    if names and all(n == "sigmoid" for n in hidden) and output == ["softmax"]:
        graded(1.0, f"sigmoid in the hidden layers, softmax at the output ({names})")
        return
    if names and hidden and all(n == "softmax" for n in hidden) and output == ["sigmoid"]:
        raise Fail(f"the hidden and output activations are swapped: the layers use {names}; the hidden layers "
                   f"need sigmoid, the output layer softmax (a probability vector over the classes)")
    raise Fail(f"the Dense layers use the activations {names}; expected sigmoid in every hidden layer and "
               f"softmax in the output layer")


def _loss_function(net):
    loss = getattr(net, "loss", None)
    if loss is None:
        return None
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    return loss


def test_loss(graded):
    mod = load("network_tensorflow")
    net = new_network(mod)
    error = None
    for x in (X_IMG[:20], X_IMG[:20].reshape(20, -1)):
        try:
            fit(net, x, Y[:20])
            break
        except Fail as fail:
            error = error or fail
            if _loss_function(net) is not None:
                break
    fn = _loss_function(net)
    if fn is None:
        raise Fail(f"compile_and_fit did not compile the model, so its loss cannot be read: {error.message}")
    y = one_hot(np.array([3, 0, 7, 1]))[:, :10].astype(np.float32)
    p = softmax(np.random.default_rng(1).normal(0, 1.5, (4, 10))).astype(np.float32)
    got = float(np.mean(np.asarray(call("the compiled loss(y_true, y_pred)", fn, y, p))))  # a loss function
    # (not a Loss object) returns one value per sample: the batch mean is what training minimises
    eps = 1e-7
    pc = np.clip(p.astype(np.float64), eps, 1 - eps)
    cce = float(np.mean(-np.sum(y * np.log(pc), axis=1)))
    known = [
        (None, cce),
        ("binary cross-entropy is kept (the template's BinaryCrossentropy); one-hot labels over 10 classes "
         "need categorical cross-entropy", float(np.mean(-(y * np.log(pc) + (1 - y) * np.log(1 - pc))))),
        ("softmax is applied twice: CategoricalCrossentropy(from_logits=True) applies softmax to outputs that "
         "already went through softmax", float(np.mean(-np.sum(y * np.log(softmax(p.astype(np.float64))), axis=1)))),
        ("the loss is the mean squared error; the problem set asks for cross-entropy", float(np.mean((p - y) ** 2))),
    ]
    for diagnosis, ref in known:
        if abs(got - ref) <= 1e-4 * max(1.0, abs(ref)):
            if diagnosis is None:
                graded(1.0, "the model is compiled with categorical cross-entropy (checked on numbers)")
                return
            raise Fail(f"the loss: {diagnosis}")
    raise Fail(f"the compiled loss gives {got:.4g} where categorical cross-entropy gives {cce:.4g}")


class _EpochProbe:
    """Measures the training accuracy after every epoch from inside Keras' fit.

    While active, Keras' own ``fit`` (wherever the submission calls it from) gets one more
    callback; the accuracy is the grader's: argmax of the model's output against the labels.
    """

    def __init__(self, x, labels):
        self.x, self.labels, self.accs = x, labels, []

    def __enter__(self):
        probe = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                out = np.asarray(self.model(probe.x, training=False))
                probe.accs.append(float(np.mean(out.reshape(len(probe.labels), -1).argmax(axis=1) == probe.labels)))

        self.owner = next(c for c in keras.Model.__mro__ if "fit" in vars(c))
        self.original = original = vars(self.owner)["fit"]

        def fit(model, *args, **kwargs):
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), Callback()]
            return original(model, *args, **kwargs)

        setattr(self.owner, "fit", fit)
        return self

    def __exit__(self, *exc):
        setattr(self.owner, "fit", self.original)


@pytest.mark.timeout(TIMEOUT["learns"])
def test_learns(graded):
    mod = load("network_tensorflow")
    s = SETTINGS["learns"]["keras"]
    x_train, y_train, x_val, y_val = data()
    y1, yv1 = one_hot(y_train).astype(np.float32), one_hot(y_val).astype(np.float32)
    note = ""
    for shape in ("images", "rows"):
        xs = [(x / 255.0).astype(np.float32) for x in (x_train, x_val)]
        if shape == "rows":
            xs = [x.reshape(len(x), -1) for x in xs]
        net = new_network(mod, s["sizes"])
        with _EpochProbe(xs[0], y_train) as probe:
            try:
                call(f"compile_and_fit(x_train as {shape}, y_train, epochs={s['epochs']}, ...)", net.compile_and_fit,
                     xs[0], y1, epochs=s["epochs"], learning_rate=s["learning_rate"], batch_size=s["batch_size"],
                     validation_data=(xs[1], yv1))
                break
            except Fail as fail:
                if shape == "rows" or probe.accs:
                    raise
                # images fail (graded under keras.input): train on flattened rows instead
                note = f" (on flattened rows: (n, 28, 28) images failed: {fail.message})"
    graded(1.0, judge_learning(probe.accs, len(y_train),
                               f"{len(y_train)} embedded MNIST digits, sizes={s['sizes']}, learning_rate="
                               f"{s['learning_rate']}, batch size {s['batch_size']}, "
                               f"compile_and_fit(epochs={s['epochs']})") + note)
