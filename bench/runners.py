"""One training run per fresh interpreter: ``python bench/runners.py '<job as JSON>'``.

A job names an entry of ``ENTRIES``, the data and the training settings, e.g.::

    {"net": "scratch", "n_train": 4000, "n_val": 1000, "epochs": 5, "batch_size": 128,
     "learning_rate": 8.0, "sizes": [784, 128, 64, 10], "seed": 42, "fast": true}

``prepare(job, data)`` imports the framework and builds the inputs; it returns
``train(epochs)``, which builds a fresh model, trains it and returns ``(history,
epoch_time)``, ``epoch_time`` being the training seconds of each epoch (evaluation
excluded).  Before the timed run, one warm-up epoch on the first 256 samples pays the
one-time costs (imports inside the framework, BLAS and allocator start-up).  The result is
printed as one JSON line after ``RESULT_TAG``.
"""

import contextlib
import io
import json
import sys
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import numpy as np  # noqa: E402

from mnist import load_embedded, load_mnist, one_hot, scale_images, train_val_split  # noqa: E402
from mnist_loader import NORMALISE_MEAN, NORMALISE_STD  # noqa: E402  (the bare PyTorch loop normalises as make_loader does)

RESULT_TAG = "BENCH-RESULT "
WARMUP_SAMPLES = 256
TORCH_THREADS = 1  # NeuralNetworkTorch and the bare loop alike: one thread is fastest for layers this small


def load_split(job):
    """``(x_train, y_train, x_val, y_val)`` as raw uint8 images and integer labels, and the source.

    ``data`` absent: the 5,000 embedded digits (whatever ``$MNIST_PATH`` holds), stratified split
    with seed 42.  ``data`` a
    folder of the IDX files: the first ``n_train`` official training digits and the first
    ``n_val`` official test digits.
    """
    if job.get("data"):
        images, labels = data = load_mnist(job["data"])
        n0 = data.n_train
        return (images[:job["n_train"]], labels[:job["n_train"]],
                images[n0:n0 + job["n_val"]], labels[n0:n0 + job["n_val"]]), data.source
    images, labels = data = load_embedded()
    return train_val_split(images, labels, job["n_train"], job["n_val"], seed=42), data.source


def rows(data, dtype=np.float32):
    """Flattened rows in [0, 1] and one-hot targets, as the scratch network takes them."""
    x, y, xv, yv = data
    return (scale_images(x, flatten=True).astype(dtype), one_hot(y, dtype=dtype),
            scale_images(xv, flatten=True).astype(dtype), one_hot(yv, dtype=dtype))


# --------------------------------------------------------------------------- entries
class EpochClock:
    """Training seconds of each epoch of a template ``fit``, evaluation excluded.

    The template's ``fit`` calls ``_print_learning_progress`` (which evaluates and prints) at the
    end of every epoch; wrapped on the instance, its start ends an epoch's training and its end
    starts the next epoch.  Its printing goes nowhere.
    """

    def __init__(self, net):
        self.epoch_time, self._start = [], None
        progress = net._print_learning_progress

        def timed(*args):
            self.epoch_time.append(time.perf_counter() - self._start)
            with contextlib.redirect_stdout(io.StringIO()):
                result = progress(*args)
            self._start = time.perf_counter()
            return result
        net._print_learning_progress = timed

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        return False


def prepare_scratch(job, data):
    """network_scratch.NeuralNetwork: ``fast`` true -> scratch_engine.fit, false -> the template's fit."""
    import scratch_engine
    from network_scratch import NeuralNetwork

    dtype = np.dtype(job.get("dtype", "float64")).type
    x, y, xv, yv = rows(data, dtype)

    def train(epochs):
        net = NeuralNetwork(job["sizes"], epochs=epochs, learning_rate=job["learning_rate"], random_state=job["seed"])
        if job.get("fast"):
            h = scratch_engine.fit(net, x, y, xv, yv, batch_size=job["batch_size"], shuffle=job.get("shuffle", False),
                                   dtype=dtype, verbose=False)
            return h, h["epoch_time"]
        with EpochClock(net) as clock:
            h = net.fit(x, y, xv, yv)
        return h, clock.epoch_time
    return train


def prepare_pytorch(job, data):
    """network_pytorch.NeuralNetworkTorch, the template's fit, fed by mnist_loader.make_loader (one thread)."""
    import torch

    import network_pytorch as npt
    from mnist_loader import make_loader

    torch.set_num_threads(TORCH_THREADS)
    x, y, xv, yv = data
    train_loader = make_loader(x, y, batch_size=job["batch_size"], shuffle=job.get("shuffle", False), seed=job["seed"])
    val_loader = make_loader(xv, yv, batch_size=1000)

    def train(epochs):
        net = npt.NeuralNetworkTorch(job["sizes"], epochs=epochs, learning_rate=job["learning_rate"],
                                     random_state=job["seed"])
        with EpochClock(net) as clock:
            h = net.fit(train_loader, val_loader)
        return h, clock.epoch_time
    return train


def prepare_torch_bare(job, data):
    """The ten-line PyTorch loop beside NeuralNetworkTorch.fit: the same normalised tensors, the
    same layers (nn.Linear, sigmoid hidden), SGD, F.cross_entropy, the same threads."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(TORCH_THREADS)
    x, y, xv, yv = (torch.from_numpy(np.asarray(a)) for a in data)
    x, xv = ((t.float().div(255).sub(NORMALISE_MEAN).div(NORMALISE_STD)).reshape(len(t), -1) for t in (x, xv))
    y, yv, bs = y.long(), yv.long(), job["batch_size"]

    def train(epochs):
        torch.manual_seed(job["seed"])
        sizes = job["sizes"]
        layers = [m for a, b in zip(sizes[:-1], sizes[1:]) for m in (torch.nn.Linear(a, b), torch.nn.Sigmoid())]
        model = torch.nn.Sequential(*layers[:-1])
        opt = torch.optim.SGD(model.parameters(), lr=job["learning_rate"])
        epoch_time = []
        for _ in range(epochs):
            t0 = time.perf_counter()
            for i in range(0, len(x), bs):
                opt.zero_grad()
                F.cross_entropy(model(x[i:i + bs]), y[i:i + bs]).backward()
                opt.step()
            epoch_time.append(time.perf_counter() - t0)
        with torch.no_grad():
            val = float((model(xv).argmax(1) == yv).float().mean())
        return {"val_accuracy": [val]}, epoch_time
    return train


def prepare_torch_pair(job, data):
    """NeuralNetworkTorch.fit and the bare loop in one process, one epoch of each in turn (each a fresh
    model), so that load from other processes hits both alike; returns fit's epochs, the bare loop's in
    ``history["bare_epoch_time"]``."""
    sides = prepare_pytorch(job, data), prepare_torch_bare(job, data)

    def train(epochs):
        times = [], []
        for _ in range(epochs):
            for side, t in zip(sides, times):
                history, epoch_time = side(1)
                t += epoch_time
        return {"val_accuracy": history["val_accuracy"], "bare_epoch_time": times[1]}, times[0]
    return train


def prepare_torch_mse(job, data):
    """The scratch network in a bare PyTorch loop: no biases, sigmoid hidden, softmax output, the
    course's MSE, SGD on the same float32 rows, and the same evaluation after every epoch
    (accuracy on the training and the validation rows).  torch's default threads."""
    import torch

    x, y, xv, yv = (torch.from_numpy(a) for a in rows(data))
    labels, val_labels, bs = y.argmax(1), yv.argmax(1), job["batch_size"]

    def train(epochs):
        torch.manual_seed(job["seed"])
        sizes = job["sizes"]
        layers = [m for a, b in zip(sizes[:-1], sizes[1:]) for m in (torch.nn.Linear(a, b, bias=False),
                                                                      torch.nn.Sigmoid())]
        model = torch.nn.Sequential(*layers[:-1], torch.nn.Softmax(dim=1))
        np.random.seed(job["seed"])  # the scratch network's initial weights, drawn in the same order
        with torch.no_grad():
            for linear in model[::2]:
                linear.weight.copy_(torch.from_numpy(np.random.rand(*linear.weight.shape) - 0.5))
        opt = torch.optim.SGD(model.parameters(), lr=job["learning_rate"])
        h = {"loss": [], "accuracy": [], "val_accuracy": []}
        epoch_time = []
        for _ in range(epochs):
            t0 = time.perf_counter()
            total = 0.0
            for i in range(0, len(x), bs):
                opt.zero_grad()
                loss = ((model(x[i:i + bs]) - y[i:i + bs]) ** 2).mean()  # mean over classes and batch
                loss.backward()
                opt.step()
                total += loss.detach() * len(y[i:i + bs])
            epoch_time.append(time.perf_counter() - t0)
            with torch.no_grad():
                h["loss"].append(float(total) / len(x))
                h["accuracy"].append(float((model(x).argmax(1) == labels).float().mean()))
                h["val_accuracy"].append(float((model(xv).argmax(1) == val_labels).float().mean()))
        return h, epoch_time
    return train


class KerasEpochClock:
    """Training seconds of each Keras epoch (validation excluded), from a callback that
    ``attached()`` adds to every ``keras.Model.fit`` call made meanwhile (compile_and_fit's too)."""

    def __init__(self):
        self.epoch_time = []

    @contextlib.contextmanager
    def attached(self):
        import keras

        clock, original = self, keras.Model.fit

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.start, self.done = time.perf_counter(), False

            def on_test_begin(self, logs=None):  # validation starts: this epoch's training is over
                if not self.done:
                    clock.epoch_time.append(time.perf_counter() - self.start)
                    self.done = True

            def on_epoch_end(self, epoch, logs=None):
                self.on_test_begin()

        def fit(model, *args, **kwargs):
            return original(model, *args, callbacks=[*kwargs.pop("callbacks", []), Timer()], **kwargs)

        keras.Model.fit = fit
        try:
            yield
        finally:
            keras.Model.fit = original


def prepare_keras(job, data):
    """network_tensorflow.NeuralNetworkTf.compile_and_fit on (n, 28, 28) images in [0, 1], graph mode,
    ``steps_per_execution`` as the notebook sets it (keras_options: about 1,000 images per compiled call)."""
    import tensorflow as tf

    import network_tensorflow as ntf
    from keras_options import NeuralNetworkTfWithOptions

    tf.config.run_functions_eagerly(False)  # the template turns eager mode on; the notebook turns it off again

    x, y, xv, yv = data
    x, xv, y, yv = scale_images(x), scale_images(xv), one_hot(y), one_hot(yv)

    def train(epochs):
        lr = job["learning_rate"]
        if isinstance(lr, dict):  # {"schedule": "TimeBasedLearningRate", "initial": 10}
            lr = getattr(ntf, lr["schedule"])(lr["initial"])
        net = NeuralNetworkTfWithOptions(job["sizes"], random_state=job["seed"], verbose=0,
                                         steps_per_execution=max(1, 1000 // job["batch_size"]))
        clock = KerasEpochClock()
        with clock.attached():
            h = net.compile_and_fit(x, y, epochs=epochs, learning_rate=lr, batch_size=job["batch_size"],
                                    validation_data=(xv, yv))
        return h.history, clock.epoch_time
    return train


def prepare_sklearn(job, data):
    """scikit-learn's MLPClassifier with the job's hidden layers, Adam and its defaults otherwise;
    ``epochs`` caps its iterations (one iteration is one pass over the data)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x, _, xv, _ = rows(data)
    y, yv = data[1], data[3]

    def train(epochs):
        clf = MLPClassifier(hidden_layer_sizes=tuple(job["sizes"][1:-1]), random_state=job["seed"], max_iter=epochs)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(x, y)
        per_iter = (time.perf_counter() - t0) / clf.n_iter_
        return {"val_accuracy": [float(clf.score(xv, yv))], "n_iter": clf.n_iter_}, [per_iter] * clf.n_iter_
    return train


def prepare_baseline(job, data):
    """bench/baseline_numpy.py: the plain per-sample float64 NumPy loop."""
    from baseline_numpy import init_weights, train_epoch

    x, y, _, _ = rows(data, np.float64)

    def train(epochs):
        weights = init_weights(job["sizes"], random_state=job["seed"])
        epoch_time, loss = [], []
        for _ in range(epochs):
            t0 = time.perf_counter()
            loss.append(train_epoch(weights, x, y, job["learning_rate"]))
            epoch_time.append(time.perf_counter() - t0)
        return {"loss": loss}, epoch_time
    return train


ENTRIES = {"scratch": prepare_scratch, "pytorch": prepare_pytorch, "torch_bare": prepare_torch_bare,
           "torch_pair": prepare_torch_pair,
           "torch_mse": prepare_torch_mse, "keras": prepare_keras, "sklearn": prepare_sklearn,
           "baseline": prepare_baseline}


# --------------------------------------------------------------------------- memory
def _status_mib(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith(key + ":"))


class PeakMemory:
    """Peak resident memory of the block above the RSS at its start (Linux: the kernel's VmHWM
    counter, reset through /proc/self/clear_refs); ``delta_mib`` is None where that fails."""

    def __enter__(self):
        try:
            self.before_peak = _status_mib("VmHWM")  # the peak so far: imports, data preparation
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.start = _status_mib("VmRSS")
        except (OSError, StopIteration):
            self.start = None
        return self

    def __exit__(self, *exc):
        self.delta_mib = self.process_peak_mib = None
        if self.start is not None:
            peak = _status_mib("VmHWM")
            self.delta_mib = peak - self.start
            self.process_peak_mib = max(peak, self.before_peak)
        return False


# --------------------------------------------------------------------------- one job
def run_job(job):
    """Run one job; never raises: a failure comes back as ``{"error": ...}``."""
    out = {"job": job}
    try:
        start_mib = _status_mib("VmRSS")  # the interpreter with numpy and mnist.py imported
        data, source = load_split(job)
        if job.get("warmup", True):
            ENTRIES[job["net"]](job, [a[:WARMUP_SAMPLES] for a in data])(1)
        train = ENTRIES[job["net"]](job, data)
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            history, epoch_time = train(job["epochs"])
            wall = time.perf_counter() - t0
        timed = list(epoch_time)[1:] if job["net"] == "keras" and len(epoch_time) > 1 else list(epoch_time)
        train_s = float(np.median(timed))  # Keras: the first epoch (graph tracing) left out
        val = history.get("val_accuracy") or [None]
        out.update(history={k: [float(v) for v in vs] for k, vs in history.items() if isinstance(vs, list)},
                   epoch_time=[float(t) for t in epoch_time], train_s_per_epoch=train_s,
                   samples_per_s=job["n_train"] / train_s, wall_s=wall, wall_s_per_epoch=wall / job["epochs"],
                   val_accuracy=None if val[-1] is None else float(val[-1]), peak_mib=mem.delta_mib,
                   process_peak_mib=None if mem.process_peak_mib is None else mem.process_peak_mib - start_mib,
                   data_source=source, n_iter=history.get("n_iter"))
        if "bare_epoch_time" in history:
            out["bare_train_s_per_epoch"] = float(np.median(history["bare_epoch_time"]))
        if job["net"] in ("pytorch", "torch_bare", "torch_pair", "torch_mse"):
            import torch
            out["torch_threads"] = torch.get_num_threads()
    except Exception as err:  # reported in results.md, never hidden
        out["error"] = f"{type(err).__name__}: {err}"
        out["traceback"] = traceback.format_exc(limit=6)
    return out


if __name__ == "__main__":
    for one in json.loads(sys.argv[1]):
        print(RESULT_TAG + json.dumps(run_job(one)), flush=True)
