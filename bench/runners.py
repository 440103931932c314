"""One training run per call, in a fresh interpreter: the pluggable entries of the benchmark.

``bench.py`` starts ``python bench/runners.py '<job as JSON>'`` (or a JSON list of jobs, which
the ``--quick`` mode uses to save interpreter start-ups) and reads one JSON result per job
from the last line of stdout.  A job names a network entry, the data split and the training
settings::

    {"net": "scratch", "n_train": 4000, "n_val": 1000, "epochs": 6, "batch_size": 128,
     "learning_rate": 1.5, "seed": 42, "warmup": 1, ...}

Every entry (``ENTRIES`` below) has the same shape: ``prepare(job, data)`` imports its framework
and builds its inputs *before* the memory baseline is taken, and returns ``train()``, which
trains one model and returns ``{"history": ..., "epoch_time": [...]}``.  ``epoch_time`` is
the training time of each epoch only (no evaluation); throughput is ``n_train`` divided by
the median of the epochs after the ``warmup`` ones.

Memory: after ``prepare`` the kernel's peak-RSS counter (``VmHWM``) is reset through
``/proc/self/clear_refs``, so ``peak RSS during train() - RSS before train()`` is the memory
the training run itself needed, not the interpreter's or the imports' (Linux; elsewhere the
fallback is a 5 ms psutil sampler).  ``rss_process_peak_over_start_mib`` is the whole
process's peak (framework import, data preparation and training) above the RSS of the bare
interpreter with numpy and mnist.py imported.
"""

import json
import os
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for _p in (str(ROOT), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import numpy as np  # noqa: E402

from mnist import load_mnist, one_hot, scale_images, train_val_split  # noqa: E402

RESULT_TAG = "BENCH-RESULT "


# --------------------------------------------------------------------------- data
def load_split(job):
    """The job's training/validation split as raw ``uint8`` images and integer labels.

    ``data='embedded'`` (default): the 5,000 embedded digits, stratified split with ``split_seed``
    (42).  ``data='full'``: full MNIST from ``load_mnist()``, the first ``n_train`` images of the
    official training part and the first ``n_val`` of the official test part.
    """
    images, labels = data = load_mnist()
    if job.get("data", "embedded") == "full":
        if data.n_train is None:
            raise RuntimeError(f"full MNIST is not available locally (load_mnist() gives {data.source})")
        n0 = data.n_train
        return (images[:job["n_train"]], labels[:job["n_train"]],
                images[n0:n0 + job["n_val"]], labels[n0:n0 + job["n_val"]], data.source)
    x_tr, y_tr, x_val, y_val = train_val_split(images, labels, job["n_train"], job["n_val"],
                                               seed=job.get("split_seed", 42))
    return x_tr, y_tr, x_val, y_val, data.source


def _median_after_warmup(epoch_time, warmup):
    timed = epoch_time[warmup:] or epoch_time
    return float(np.median(timed))


# --------------------------------------------------------------------------- entries
def prepare_scratch(job, data):
    """network_scratch.NeuralNetwork: rows (n, 784) in [0, 1], one-hot targets, MSE, plain SGD."""
    from network_scratch import NeuralNetwork

    x_tr, y_tr, x_val, y_val, _ = data
    x_tr, x_val = scale_images(x_tr, flatten=True), scale_images(x_val, flatten=True)
    y_tr, y_val = one_hot(y_tr), one_hot(y_val)

    def train():
        extra = {"dtype": np.dtype(job["dtype"]).type} if "dtype" in job else {}
        net = NeuralNetwork(job["sizes"], epochs=job["epochs"], learning_rate=job["learning_rate"],
                            random_state=job["seed"], **extra)
        history = net.fit(x_tr, y_tr, x_val, y_val, batch_size=job["batch_size"],
                          shuffle=job.get("shuffle", False), verbose=False)
        return {"history": history, "epoch_time": list(history["epoch_time"])}
    return train


def prepare_pytorch(job, data):
    """network_pytorch.NeuralNetworkTorch, fed by its own loader helper (images normalised as the course)."""
    import torch
    import network_pytorch as npt

    x_tr, y_tr, x_val, y_val, _ = data
    make_loader = npt.make_loader

    def train():
        train_loader = make_loader(x_tr, y_tr, batch_size=job["batch_size"], shuffle=job.get("shuffle", False),
                                   seed=job["seed"])
        val_loader = make_loader(x_val, y_val, batch_size=1000, shuffle=False, seed=job["seed"])
        net = npt.NeuralNetworkTorch(job["sizes"], epochs=job["epochs"], learning_rate=job["learning_rate"],
                                     random_state=job["seed"])
        history = net.fit(train_loader, val_loader, verbose=False)
        return {"history": history, "epoch_time": list(history["epoch_time"]),
                "torch_threads": torch.get_num_threads()}
    return train


def prepare_keras(job, data):
    """network_tensorflow.NeuralNetworkTf through measure_tensorflow.train: (n, 28, 28) images in [0, 1]."""
    import measure_tensorflow
    import network_tensorflow as ntf

    x_tr, y_tr, x_val, y_val, _ = data
    arrays = (scale_images(x_tr), one_hot(y_tr), scale_images(x_val), one_hot(y_val))

    def train():
        lr = job["learning_rate"]
        if isinstance(lr, dict):  # {"schedule": "TimeBasedLearningRate", "initial": 10}
            lr = getattr(ntf, lr["schedule"])(lr["initial"])
        _, history, _ = measure_tensorflow.train(arrays, sizes=job["sizes"], epochs=job["epochs"], learning_rate=lr,
                                                 batch_size=job["batch_size"], random_state=job["seed"],
                                                 steps_per_execution=job.get("steps_per_execution"))
        # history["epoch_time"]: training seconds of each epoch, validation excluded (EpochProgress)
        return {"history": history, "epoch_time": list(history["epoch_time"])}
    return train


def prepare_sklearn(job, data):
    """scikit-learn's MLPClassifier((128, 64)): the reference a user would pick instead."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x_tr, y_tr, x_val, y_val, _ = data
    x_tr, x_val = scale_images(x_tr, flatten=True), scale_images(x_val, flatten=True)
    params = dict(hidden_layer_sizes=tuple(job["sizes"][1:-1]), random_state=job["seed"])
    params.update(job.get("params", {}))

    def train():
        clf = MLPClassifier(**params)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(x_tr, y_tr)
        elapsed = time.perf_counter() - t0
        history = {"accuracy": [float(clf.score(x_tr, y_tr))],
                   "val_accuracy": [float(clf.score(x_val, y_val))],
                   "loss": [float(clf.loss_)], "epoch_time": [elapsed / clf.n_iter_] * clf.n_iter_}
        return {"history": history, "epoch_time": history["epoch_time"], "n_iter": int(clf.n_iter_),
                "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in clf.get_params().items()}}
    return train


def prepare_baseline(job, data):
    """bench/baseline_numpy.py: the plain per-sample float64 NumPy network (forward, backward, update)."""
    from baseline_numpy import init_weights, train_epoch

    x_tr, y_tr, _, _, _ = data
    x_tr = scale_images(x_tr, flatten=True).astype(np.float64)
    y_tr = one_hot(y_tr, dtype=np.float64)

    def train():
        weights = init_weights(job["sizes"], random_state=job["seed"])
        epoch_time, loss = [], []
        for _ in range(job["epochs"]):
            t0 = time.perf_counter()
            loss.append(float(train_epoch(weights, x_tr, y_tr, job["learning_rate"])))
            epoch_time.append(time.perf_counter() - t0)
        return {"history": {"loss": loss, "epoch_time": epoch_time}, "epoch_time": epoch_time}
    return train


def prepare_torch_loop(job, data):
    """measure_scratch.throughput_torch_minibatch: a minimal PyTorch loop (no DataLoader, no biases, MSE).

    The lower bound of PyTorch's own overhead on this network: tensors sliced directly, one
    ``repeats=1`` run of ``epochs`` epochs; each epoch's time is the run's mean.
    """
    import torch
    import measure_scratch

    def train():
        rate, _ = measure_scratch.throughput_torch_minibatch(
            job["batch_size"], n_train=job["n_train"], epochs=job["epochs"], repeats=1,
            learning_rate=job["learning_rate"])
        epoch_time = [job["n_train"] / rate] * job["epochs"]
        return {"history": {"epoch_time": epoch_time}, "epoch_time": epoch_time,
                "torch_threads": torch.get_num_threads()}
    return train


ENTRIES = {
    "scratch": prepare_scratch,
    "pytorch": prepare_pytorch,
    "keras": prepare_keras,
    "sklearn": prepare_sklearn,
    "baseline": prepare_baseline,
    "torch_loop": prepare_torch_loop,
}


# --------------------------------------------------------------------------- memory
def _status_kib(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _rss_mib():
    try:
        return _status_kib("VmRSS") / 1024
    except (OSError, KeyError):
        import psutil
        return psutil.Process().memory_info().rss / 2**20


class PeakMemory:
    """Peak resident memory of the block, in MiB above the RSS at its start."""

    def __enter__(self):
        import psutil
        self._proc = psutil.Process()
        self.method = "VmHWM after clear_refs"
        try:
            self.before_kib = _status_kib("VmHWM")  # the peak so far: imports and data preparation
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # resets VmHWM (the peak RSS) to the current RSS
            self.start_kib = _status_kib("VmRSS")
            if _status_kib("VmHWM") > self.start_kib * 1.05 + 1024:
                raise OSError("VmHWM was not reset")
        except OSError:
            self.method = "psutil sampler (5 ms)"
            self.start_kib = self._proc.memory_info().rss / 1024
            self.before_kib = self.start_kib
            self._peak = self.start_kib
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.005):
            self._peak = max(self._peak, self._proc.memory_info().rss / 1024)

    def __exit__(self, *exc):
        if self.method.startswith("VmHWM"):
            peak = _status_kib("VmHWM")
        else:
            self._stop.set()
            self._thread.join()
            peak = max(self._peak, self._proc.memory_info().rss / 1024)
        self.baseline_mib = self.start_kib / 1024
        self.peak_mib = peak / 1024
        self.delta_mib = (peak - self.start_kib) / 1024
        self.process_peak_mib = max(peak, self.before_kib) / 1024  # the whole process's peak RSS
        return False


# --------------------------------------------------------------------------- one job
def run_job(job):
    """Run one job; never raises: failures come back as ``{"error": ...}``."""
    out = {"job": job}
    try:
        start_mib = _rss_mib()  # the interpreter with numpy and mnist.py imported, nothing else
        data = load_split(job)
        train = ENTRIES[job["net"]](job, data)
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            result = train()
            wall = time.perf_counter() - t0
        out.update(result)
        hist = result["history"]
        timed = result["epoch_time"][job.get("warmup", 0):] or result["epoch_time"]
        out.update(
            wall_time=wall,
            epoch_time_median=float(np.median(timed)),
            epoch_time_min=float(np.min(timed)),
            epoch_time_max=float(np.max(timed)),
            samples_per_s=job["n_train"] / float(np.median(timed)),
            val_accuracy=float(hist["val_accuracy"][-1]) if hist.get("val_accuracy") else None,
            best_val_accuracy=float(max(hist["val_accuracy"])) if hist.get("val_accuracy") else None,
            rss_baseline_mib=mem.baseline_mib, rss_peak_mib=mem.peak_mib, rss_delta_mib=mem.delta_mib,
            rss_start_mib=start_mib, rss_process_peak_over_start_mib=mem.process_peak_mib - start_mib,
            memory_method=mem.method, data_source=data[4],
        )
    except Exception as err:  # reported in results.md, never hidden
        out["error"] = f"{type(err).__name__}: {err}"
        out["traceback"] = traceback.format_exc(limit=6)
    return out


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def main(argv):
    jobs = json.loads(argv[1])
    for job in (jobs if isinstance(jobs, list) else [jobs]):
        print(RESULT_TAG + json.dumps(_jsonable(run_job(job))), flush=True)


if __name__ == "__main__":
    main(sys.argv)
