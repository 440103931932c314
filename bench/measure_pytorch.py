"""Accuracy and speed of network_pytorch.NeuralNetworkTorch (issue 4).

Importable functions (bench/bench.py may fold them in):

* ``loaders(n_train, n_val, batch_size, shuffle, seed)``  embedded digits, stratified split (seed
  42), loaders built by ``network_pytorch.make_loader`` (normalised as the course does)
* ``train(...)``            one training run; returns the history dict
* ``lr_sweep(...)``         course scale (1000/1000, batch 1, 50 epochs) for several learning rates
* ``epoch_times(...)``      seconds per epoch at course scale: training only, and training plus
  the two accuracy evaluations (what the notebook's PyTorch section pays per epoch)
* ``floor_epoch_seconds(...)`` the same per-sample SGD as a bare loop (no DataLoader, no
  one-hot, integer labels straight into ``F.cross_entropy``): what batch size 1 costs in
  PyTorch itself, the floor under ``epoch_times``
* ``section_seconds(...)``  the notebook's whole PyTorch section in a fresh interpreter: import
  torch, build the loaders, construct the network, fit 50 epochs at course scale

    python bench/measure_pytorch.py                 # sweep + mini-batch run + timing, prints tables
    python bench/measure_pytorch.py --only timing   # one part: sweep, minibatch, timing or section
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mnist import load_mnist, train_val_split  # noqa: E402
from network_pytorch import NeuralNetworkTorch, make_loader  # noqa: E402

SIZES = [784, 128, 64, 10]  # the course notebook's network
SEED = 42  # data split, loader shuffling and network seed, as in the notebook
COURSE = dict(n_train=1000, n_val=1000, batch_size=1, epochs=50)
SWEEP_RATES = (0.01, 0.02, 0.05, 0.1)
COURSE_LR = 0.05  # chosen from the sweep below (see the report of issue 4)
MINIBATCH = dict(n_train=4000, n_val=1000, batch_size=32, learning_rate=1.0, epochs=60, shuffle=True)


def loaders(n_train, n_val, batch_size=1, shuffle=False, seed=SEED):
    """``(train_loader, val_loader)`` from the embedded digits, split stratified with seed 42."""
    images, labels = load_mnist()
    x_tr, y_tr, x_val, y_val = train_val_split(images, labels, n_train, n_val, seed=SEED)
    return (make_loader(x_tr, y_tr, batch_size=batch_size, shuffle=shuffle, seed=seed),
            make_loader(x_val, y_val, batch_size=1000))


def train(n_train, n_val, batch_size, learning_rate, epochs, shuffle=False, seed=SEED, verbose=False):
    """Train one network; return its history (accuracy, val_accuracy, loss, epoch_time)."""
    train_loader, val_loader = loaders(n_train, n_val, batch_size, shuffle, seed)
    net = NeuralNetworkTorch(SIZES, epochs=epochs, learning_rate=learning_rate, random_state=seed)
    return net.fit(train_loader, val_loader, verbose=verbose)


def summary(history):
    """Final/best validation accuracy and the epoch of the best."""
    val = history["val_accuracy"]
    best = max(range(len(val)), key=val.__getitem__)
    return {"final_val": val[-1], "best_val": val[best], "best_epoch": best + 1,
            "final_train": history["accuracy"][-1], "final_loss": history["loss"][-1],
            "median_epoch_time": statistics.median(history["epoch_time"])}


def lr_sweep(rates=SWEEP_RATES, **course):
    """``{rate: summary}`` at course scale (1000/1000, batch 1, 50 epochs unless overridden)."""
    settings = {**COURSE, **course}
    return {lr: summary(train(learning_rate=lr, **settings)) for lr in rates}


def epoch_times(epochs=5, repeats=3, learning_rate=COURSE_LR, n_train=1000, n_val=1000, batch_size=1):
    """Median seconds per epoch at course scale over ``repeats`` fits of ``epochs`` epochs.

    Returns ``{"train": s, "train_and_eval": s}``: ``train`` is ``history['epoch_time']`` (the
    SGD loop only); ``train_and_eval`` is the wall time of ``fit`` divided by the epochs, so it
    includes the training- and validation-accuracy evaluation after each epoch.
    """
    train_loader, val_loader = loaders(n_train, n_val, batch_size)
    train_s, total_s = [], []
    for _ in range(repeats):
        net = NeuralNetworkTorch(SIZES, epochs=epochs, learning_rate=learning_rate, random_state=SEED)
        t0 = time.perf_counter()
        history = net.fit(train_loader, val_loader, verbose=False)
        total_s.append((time.perf_counter() - t0) / epochs)
        train_s.extend(history["epoch_time"])
    return {"train": statistics.median(train_s), "train_and_eval": statistics.median(total_s)}


def floor_epoch_seconds(repeats=5, learning_rate=COURSE_LR, n_train=1000):
    """Median seconds of one epoch of the bare per-sample loop on the same data and network."""
    import torch
    import torch.nn.functional as F

    train_loader, _ = loaders(n_train, 1)
    x_all, y_all = train_loader.dataset.tensors
    rows = [(x.reshape(1, -1), y.reshape(1)) for x, y in zip(x_all, y_all)]  # prepared once, outside the timing
    net = NeuralNetworkTorch(SIZES, learning_rate=learning_rate, random_state=SEED)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # as fit does
    try:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for x, y in rows:
                net.optimizer.zero_grad(set_to_none=True)
                F.cross_entropy(net(x), y).backward()
                net.optimizer.step()
            times.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(previous)
    return statistics.median(times)


_SECTION = """
import time
t0 = time.perf_counter()
import json, sys
sys.path.insert(0, {root!r})
import torch
from mnist import load_mnist, train_val_split
from network_pytorch import NeuralNetworkTorch, make_loader
t_import = time.perf_counter() - t0
images, labels = load_mnist()
x_tr, y_tr, x_val, y_val = train_val_split(images, labels, 1000, 1000, seed=42)
train_loader, val_loader = make_loader(x_tr, y_tr), make_loader(x_val, y_val)
t1 = time.perf_counter()
net = NeuralNetworkTorch([784, 128, 64, 10], epochs={epochs}, learning_rate={lr}, random_state=42)
t_construct = time.perf_counter() - t1
history = net.fit(train_loader, val_loader, verbose=False)
print(json.dumps(dict(total=time.perf_counter() - t0, imports=t_import, construct=t_construct,
                      val_accuracy=history["val_accuracy"][-1])))
"""


def section_seconds(epochs=50, learning_rate=COURSE_LR):
    """Seconds of the notebook's PyTorch section, measured inside a fresh interpreter.

    Returns ``{"total", "imports", "construct", "val_accuracy"}``; ``construct`` includes
    ``optim.SGD``'s one-time import of ``torch._dynamo`` (first optimizer of a process).
    """
    code = _SECTION.format(root=str(ROOT), epochs=epochs, lr=learning_rate)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _print_summary(label, s):
    print(f"| {label} | {s['final_val']:.3f} | {s['best_val']:.3f} (epoch {s['best_epoch']}) | "
          f"{s['final_train']:.3f} | {s['final_loss']:.4f} | {s['median_epoch_time']:.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("sweep", "minibatch", "timing", "section"), help="run one part only")
    parser.add_argument("--rates", type=float, nargs="+", default=SWEEP_RATES, help="learning rates of the sweep")
    parser.add_argument("--epochs", type=int, default=COURSE["epochs"], help="epochs of the sweep")
    parser.add_argument("--grid", nargs=3, action="append", metavar=("BATCH", "LR", "EPOCHS"),
                        help="mini-batch settings to try instead of the chosen one (repeatable)")
    args = parser.parse_args(argv)
    header = ("| run | final val acc | best val acc | final train acc | final loss | median s/epoch (train) |\n"
              "|---|---|---|---|---|---|")
    if args.only in (None, "sweep"):
        print("Course scale: 1000 train / 1000 val, [784, 128, 64, 10], batch 1, no shuffling, seed 42")
        print(header)
        for lr in args.rates:  # one row as soon as each run ends
            s = lr_sweep([lr], epochs=args.epochs)[lr]
            _print_summary(f"lr {lr:g}, {args.epochs} epochs", s)
    if args.only in (None, "minibatch"):
        print("Mini-batch: 4000 train / 1000 val, reshuffled each epoch, seed 42")
        print(header)
        for config in [MINIBATCH] if args.grid is None else [dict(MINIBATCH, batch_size=int(b), learning_rate=float(lr),
                                                                      epochs=int(e)) for b, lr, e in args.grid]:
            _print_summary(f"batch {config['batch_size']}, lr {config['learning_rate']:g}, {config['epochs']} epochs",
                           summary(train(**config)))
    if args.only in (None, "timing"):
        t = epoch_times()
        print(f"Course scale, batch 1, lr {COURSE_LR:g}: median {t['train']:.3f} s/epoch training, "
              f"{t['train_and_eval']:.3f} s/epoch with both accuracy evaluations "
              f"(50 epochs: {50 * t['train_and_eval']:.1f} s)")
        print(f"Bare per-sample loop (no DataLoader, no one-hot): median {floor_epoch_seconds():.3f} s/epoch")
    if args.only in (None, "section"):
        r = section_seconds()
        print(f"Notebook PyTorch section (fresh interpreter, 50 epochs, lr {COURSE_LR:g}): {r['total']:.1f} s "
              f"(imports {r['imports']:.1f} s, constructor incl. torch._dynamo import {r['construct']:.1f} s); "
              f"final val accuracy {r['val_accuracy']:.3f}")


if __name__ == "__main__":
    main()
