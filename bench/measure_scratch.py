"""Throughput, accuracy and memory of network_scratch.NeuralNetwork (and the references it is compared with).

Importable functions (bench/bench.py folds them in):

* ``throughput_per_sample(...)``  per-sample SGD, samples/s of the fused path
* ``throughput_minibatch(...)``   mini-batch SGD (default 128), samples/s of the fused path
* ``throughput_baseline(...)``    the plain float64 per-sample loop of bench/baseline_numpy.py
* ``throughput_torch_minibatch(...)`` a minimal PyTorch loop on the same net, batch and data
* ``accuracy(...)``               validation accuracy for a split and training settings
* ``peak_memory_mb(...)``         peak RSS over the interpreter baseline (run in a subprocess)

Each throughput is the median over ``repeats`` runs of (training samples / training seconds);
the training seconds are the sum of ``history['epoch_time']`` (evaluation excluded).

    python bench/measure_scratch.py            # everything, prints a table
    python bench/measure_scratch.py --quick    # fewer repeats
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from mnist import load_mnist, one_hot, scale_images, train_val_split  # noqa: E402
from network_scratch import NeuralNetwork  # noqa: E402

LAYERS = [784, 128, 64, 10]


def data(n_train=800, n_val=200, dtype=np.float32, seed=42):
    """Embedded digits, stratified split (seed 42), scaled to [0, 1] and flattened, one-hot targets."""
    images, labels = load_mnist()
    x_tr, y_tr, x_val, y_val = train_val_split(images, labels, n_train, n_val, seed=seed)
    return (scale_images(x_tr, flatten=True).astype(dtype), one_hot(y_tr, dtype=dtype),
            scale_images(x_val, flatten=True).astype(dtype), one_hot(y_val, dtype=dtype))


def _fit_rate(batch_size, dtype, n_train, epochs, repeats, learning_rate, clock):
    x, y, xv, yv = data(n_train, 200, dtype)
    rates = []
    for _ in range(repeats):
        net = NeuralNetwork(LAYERS, epochs=epochs, learning_rate=learning_rate, dtype=dtype)
        cpu0 = time.process_time()
        h = net.fit(x, y, xv, yv, batch_size=batch_size, verbose=False)
        # "wall": the training seconds of the history; "cpu": the process's CPU seconds for the
        # fit minus those of its per-epoch evaluation (the fit is single-threaded), which other
        # processes on a busy machine inflate much less than wall time
        seconds = sum(h["epoch_time"]) if clock == "wall" else time.process_time() - cpu0 - _eval_cpu(net, x, y, xv, yv) * epochs
        rates.append(len(x) * epochs / seconds)
    return statistics.median(rates), rates


def _eval_cpu(net, x, y, xv, yv):
    """CPU seconds of one epoch's evaluation inside fit (training and validation accuracy)."""
    cpu0 = time.process_time()
    net.compute_accuracy(x, y)
    net.compute_accuracy(xv, yv)
    return time.process_time() - cpu0


def throughput_per_sample(dtype=np.float32, n_train=4000, epochs=2, repeats=5, learning_rate=1.5, clock="wall"):
    """Median samples/s of per-sample SGD (the course setting, batch 1) on [784, 128, 64, 10]."""
    return _fit_rate(1, dtype, n_train, epochs, repeats, learning_rate, clock)


def throughput_minibatch(batch_size=128, dtype=np.float32, n_train=4000, epochs=5, repeats=5, learning_rate=1.5,
                         clock="wall"):
    """Median samples/s of mini-batch SGD on [784, 128, 64, 10]."""
    return _fit_rate(batch_size, dtype, n_train, epochs, repeats, learning_rate, clock)


def throughput_baseline(n_train=800, repeats=3, learning_rate=1.5, blas_threads=None):
    """Median samples/s of bench/baseline_numpy.py (plain per-sample float64 NumPy)."""
    from threadpoolctl import threadpool_limits

    from baseline_numpy import init_weights, train_epoch

    x, y, _, _ = data(n_train, 200, np.float64)
    rates = []
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        for _ in range(repeats):
            weights = init_weights(LAYERS)
            t0 = time.perf_counter()
            train_epoch(weights, x, y, learning_rate)
            rates.append(len(x) / (time.perf_counter() - t0))
    return statistics.median(rates), rates


def throughput_torch_minibatch(batch_size=128, n_train=4000, epochs=5, repeats=5, learning_rate=1.5, threads=None):
    """Median samples/s of a minimal PyTorch float32 loop: same net (no biases), MSE, SGD."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    x, y, _, _ = data(n_train, 200, np.float32)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    rates = []
    for _ in range(repeats):
        torch.manual_seed(1)
        layers = []
        for n_in, n_out in zip(LAYERS[:-1], LAYERS[1:]):
            layers += [torch.nn.Linear(n_in, n_out, bias=False), torch.nn.Sigmoid()]
        layers[-1] = torch.nn.Softmax(dim=1)
        model = torch.nn.Sequential(*layers)
        opt = torch.optim.SGD(model.parameters(), lr=learning_rate)
        loss_fn = torch.nn.MSELoss()
        t0 = time.perf_counter()
        for _ in range(epochs):
            for b0 in range(0, len(x), batch_size):
                opt.zero_grad()
                loss = loss_fn(model(x[b0:b0 + batch_size]), y[b0:b0 + batch_size])
                loss.backward()
                opt.step()
        rates.append(len(x) * epochs / (time.perf_counter() - t0))
    return statistics.median(rates), rates


def accuracy(n_train=800, n_val=200, epochs=50, learning_rate=1.5, batch_size=1, shuffle=False,
             dtype=np.float32, random_state=1):
    """Final validation accuracy (and the history) of one training run."""
    x, y, xv, yv = data(n_train, n_val, dtype)
    net = NeuralNetwork(LAYERS, epochs=epochs, learning_rate=learning_rate, random_state=random_state, dtype=dtype)
    h = net.fit(x, y, xv, yv, batch_size=batch_size, shuffle=shuffle, verbose=False)
    return h["val_accuracy"][-1], h


_MEMORY_CHILD = """
import sys, resource
def peak_rss():  # VmHWM is reset by exec; ru_maxrss is not (it would count the parent's peak)
    try:
        with open("/proc/self/status") as fh:
            return next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
import numpy as np, psutil
import measure_scratch as m
from network_scratch import NeuralNetwork
proc = psutil.Process()
base = proc.memory_info().rss
x, y, xv, yv = m.data(4000, 1000, np.{dtype})
net = NeuralNetwork(m.LAYERS, epochs={epochs}, learning_rate=1.5, dtype=np.{dtype})
net.fit(x, y, xv, yv, batch_size={batch_size}, verbose=False)
peak = peak_rss()
print((peak - base) / 2**20)
"""


def peak_memory_mb(dtype="float32", epochs=2, batch_size=1):
    """Peak RSS (MiB) of a fresh interpreter loading all 5,000 digits and training, minus the
    RSS right after importing numpy/network_scratch (the interpreter's baseline)."""
    code = _MEMORY_CHILD.format(root=str(ROOT), bench=str(ROOT / "bench"), dtype=dtype,
                                epochs=epochs, batch_size=batch_size)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no 50-epoch accuracy runs")
    args = parser.parse_args(argv)
    r = 3 if args.quick else 7
    print(f"load average before: {os.getloadavg()}")
    for dt in (np.float32, np.float64):
        med, runs = throughput_per_sample(dt, repeats=r)
        print(f"per-sample SGD, {dt.__name__}: {med:,.0f} samples/s (runs {[round(v) for v in runs]})")
    for dt in (np.float32, np.float64):
        med, runs = throughput_minibatch(128, dt, repeats=r)
        print(f"mini-batch 128, {dt.__name__}: {med:,.0f} samples/s (runs {[round(v) for v in runs]})")
    for threads in (1, 2):
        med, runs = throughput_baseline(repeats=r, blas_threads=threads)
        print(f"plain float64 baseline, {threads} BLAS thread(s): {med:,.0f} samples/s "
              f"(runs {[round(v) for v in runs]})")
    # the ratio to PyTorch, measured back to back in this run
    ours, _ = throughput_minibatch(128, np.float32, repeats=r)
    torch_rate, runs = throughput_torch_minibatch(128, repeats=r)
    print(f"PyTorch mini-batch 128 float32: {torch_rate:,.0f} samples/s (runs {[round(v) for v in runs]}); "
          f"ours {ours:,.0f}: ratio {ours / torch_rate:.2f}")
    print(f"peak memory, 5,000 digits, per-sample: {peak_memory_mb():.1f} MiB over baseline")
    if not args.quick:
        acc, _ = accuracy(800, 200, 50, 1.5, 1)
        print(f"course settings 800/200, eta 1.5, 50 epochs, batch 1: val accuracy {acc:.3f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
