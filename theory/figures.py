"""Figures of theory.tex, Section 1.3, measured with this project's from-scratch network.

Every curve is a real training run of ``network_scratch.NeuralNetwork`` (sigmoid hidden
layer, softmax output, MSE, mini-batch SGD) on the embedded 5,000 MNIST digits of
``mnist.load_mnist()``.  The digits are split once, stratified and seeded:

* a **test set** of 1,000 digits, never used for any choice: it stands in for the
  "infinite test set" of the problem;
* a **validation set** of 1,000 digits: it picks the model size (Fig. 2) and the
  early-stopping epoch (Fig. 3);
* a **training pool** of 3,000 digits, from which the training sets are taken.

Figs. 2 and 3 are drawn twice: with the clean labels, and with 20% of the *training*
labels replaced by a uniformly random class (validation and test labels stay clean).  The
noisy version is the setting the problem describes (overlapping classes, a non-zero best
possible error); clean MNIST is almost noise-free.

Writes ``figures/error_vs_training_size.pdf``, ``figures/error_vs_hidden_units.pdf``,
``figures/error_vs_epochs.pdf``, ``figures/results.json`` (all measured numbers) and
``figures/results.tex`` (the numbers quoted in the text, as LaTeX macros).
Run: ``python theory/figures.py`` (about 1-2 minutes on 2 cores).
"""

import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import mnist  # noqa: E402
from network_scratch import NeuralNetwork  # noqa: E402

OUT = HERE / "figures"
SEED = 42  # the one seed: data split, label noise, weights and shuffling all derive from it

N_TEST, N_VAL, N_POOL = 1000, 1000, 3000
N_CLASSES = 10
LABEL_NOISE = 0.2        # share of training labels replaced by a random class (Figs. 2b, 3b)
BATCH_SIZE = 10
LEARNING_RATE = 3.0      # mini-batch mean gradient of the course's MSE (which carries 2/K)

# Fig. 1: training-set size; each run gets at least MIN_EPOCHS and SAMPLE_BUDGET samples,
# so the small sets are trained to (near) zero training error too.
SIZES = [50, 100, 200, 400, 800, 1600, 3000]
SIZE_HIDDEN = 64
MIN_EPOCHS, SAMPLE_BUDGET = 20, 60_000
# Fig. 2: model complexity = hidden units of one hidden layer, fixed training set.
WIDTHS = [1, 2, 4, 8, 16, 32, 64, 128, 256]
COMPLEXITY_N, COMPLEXITY_EPOCHS = 300, 100
# Fig. 3: epochs.
EPOCHS_N, EPOCHS_HIDDEN, EPOCHS_MAX = 300, 64, 150


def load_splits():
    data = mnist.load_mnist()
    images, labels = data
    x = mnist.scale_images(images, flatten=True)
    x_rest, y_rest, x_test, y_test = mnist.train_val_split(x, labels, N_POOL + N_VAL, N_TEST, seed=SEED)
    x_pool, y_pool, x_val, y_val = mnist.train_val_split(x_rest, y_rest, N_POOL, N_VAL, seed=SEED + 1)
    return data, (x_pool, y_pool), (x_val, y_val), (x_test, y_test)


def noisy(labels, share, seed):
    """A copy of ``labels`` with ``share`` of them replaced by a uniformly random class."""
    rng = np.random.default_rng(seed)
    out = labels.copy()
    flip = rng.random(len(out)) < share
    out[flip] = rng.integers(0, N_CLASSES, flip.sum())
    return out


def train(x, y, val, hidden, epochs, test=None):
    """Train one network; return its history (errors, not accuracies) and test error."""
    net = NeuralNetwork([x.shape[1], hidden, N_CLASSES], epochs=epochs,
                        learning_rate=LEARNING_RATE, random_state=SEED)
    hist = net.fit(x, mnist.one_hot(y), val[0], mnist.one_hot(val[1]),
                   batch_size=BATCH_SIZE, shuffle=True, verbose=False)
    result = {"train_error": [1 - a for a in hist["accuracy"]],
              "val_error": [1 - a for a in hist["val_accuracy"]]}
    if test is not None:
        result["test_error"] = 1 - net.compute_accuracy(test[0], test[1])
    return result


# --------------------------------------------------------------------------- experiments
def run_sizes(pool, val, test):
    out = {"train_sizes": SIZES, "hidden": SIZE_HIDDEN, "epochs": [], "train_error": [], "test_error": []}
    for n in SIZES:
        # The pool is stratified and shuffled, so its first n digits are a stratified sample.
        epochs = max(MIN_EPOCHS, -(-SAMPLE_BUDGET // n))
        r = train(pool[0][:n], pool[1][:n], val, SIZE_HIDDEN, epochs, test=test)
        out["epochs"].append(epochs)
        out["train_error"].append(r["train_error"][-1])
        out["test_error"].append(r["test_error"])
    return out


def run_complexity(pool, val, test, noise):
    x, y = pool[0][:COMPLEXITY_N], pool[1][:COMPLEXITY_N]
    if noise:
        y = noisy(y, noise, SEED)
    out = {"hidden_units": WIDTHS, "n_train": COMPLEXITY_N, "epochs": COMPLEXITY_EPOCHS,
           "label_noise": noise, "train_error": [], "val_error": [], "test_error": []}
    for width in WIDTHS:
        r = train(x, y, val, width, COMPLEXITY_EPOCHS, test=test)
        out["train_error"].append(r["train_error"][-1])
        out["val_error"].append(r["val_error"][-1])
        out["test_error"].append(r["test_error"])
    best = int(np.argmin(out["val_error"]))  # the most complex model the data support
    out["chosen_hidden"] = WIDTHS[best]
    return out


def run_epochs(pool, val, test, noise):
    """Training/validation/test error after every epoch.

    Training does not depend on the held-out set passed to ``fit`` (it is only evaluated),
    and it is seeded, so the run with the test set as ``x_val`` retraces the run with the
    validation set weight for weight: together they give all three curves.
    """
    x, y = pool[0][:EPOCHS_N], pool[1][:EPOCHS_N]
    if noise:
        y = noisy(y, noise, SEED)
    with_val = train(x, y, val, EPOCHS_HIDDEN, EPOCHS_MAX)
    with_test = train(x, y, test, EPOCHS_HIDDEN, EPOCHS_MAX)
    if with_val["train_error"] != with_test["train_error"]:
        raise RuntimeError("the two seeded runs differ: training is not deterministic")
    stop = int(np.argmin(with_val["val_error"])) + 1  # first epoch with the least validation error
    return {"n_train": EPOCHS_N, "hidden": EPOCHS_HIDDEN, "label_noise": noise,
            "train_error": with_val["train_error"], "val_error": with_val["val_error"],
            "test_error": with_test["val_error"], "stop_epoch": stop}


# --------------------------------------------------------------------------- plotting
COLORS = {"train": "#1f77b4", "val": "#2ca02c", "test": "#d62728"}


def _pct(v):
    return 100 * np.asarray(v, dtype=float)


def _zero_axis(ax, top):
    """Error increases upwards from an explicitly marked zero."""
    ax.set_ylim(0, top)
    ax.axhline(0, color="black", lw=1.2)
    ticks = [t for t in ax.get_yticks() if 0 <= t <= top]
    ax.set_yticks(ticks)
    ax.set_yticklabels(["0 (no error)" if t == 0 else f"{t:g}" for t in ticks])
    ax.grid(alpha=0.3)


def plot_sizes(res, path):
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    n = res["train_sizes"]
    ax.plot(n, _pct(res["test_error"]), "o-", color=COLORS["test"], label="test error (1,000 held-out digits)")
    ax.plot(n, _pct(res["train_error"]), "s-", color=COLORS["train"], label="training error")
    ax.set_xscale("log")
    ax.set_xticks(n)
    ax.set_xticklabels([str(v) for v in n])
    ax.set_xlabel("training-set size (digits, log scale)  \u2192")
    ax.set_ylabel("error rate (%)  \u2192")
    _zero_axis(ax, max(_pct(res["test_error"])) * 1.1)
    ax.legend(frameon=False, loc="upper right")
    # The training error is small: the inset magnifies it (same x axis, own y scale).
    inset = ax.inset_axes([0.45, 0.45, 0.3, 0.27])
    inset.plot(n, _pct(res["train_error"]), "s-", color=COLORS["train"], ms=3)
    inset.set_xscale("log")
    inset.set_xticks([])
    inset.set_xticks([], minor=True)
    inset.set_ylim(0, max(_pct(res["train_error"])) * 1.3 + 1e-9)
    inset.axhline(0, color="black", lw=1)
    inset.set_title("training error, magnified (%)", fontsize=7)
    inset.tick_params(labelsize=7)
    inset.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, metadata={"CreationDate": None, "Creator": None, "Producer": None})
    plt.close(fig)


def _finish(fig, axes, results, top, path):
    """The two panels' common titles, axes and legends; save the figure reproducibly."""
    for ax, r in zip(axes, results):
        title = "clean labels" if not r["label_noise"] else f"{r['label_noise']:.0%} of training labels random"
        ax.set_title(f"({'ab'[results.index(r)]}) {title}", fontsize=10)
        _zero_axis(ax, top)
        ax.legend(frameon=False, fontsize=8)
    axes[0].set_ylabel("error rate (%)  \u2192")
    fig.tight_layout()
    fig.savefig(path, metadata={"CreationDate": None, "Creator": None, "Producer": None})
    plt.close(fig)


def plot_complexity(results, path):
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.7), sharey=True)
    top = max(max(_pct(r["test_error"]).max(), _pct(r["train_error"]).max()) for r in results) * 1.08
    for ax, r in zip(axes, results):
        w = r["hidden_units"]
        ax.plot(w, _pct(r["test_error"]), "o-", color=COLORS["test"], label="test error")
        ax.plot(w, _pct(r["val_error"]), "^--", color=COLORS["val"], alpha=0.7, label="validation error")
        ax.plot(w, _pct(r["train_error"]), "s-", color=COLORS["train"], label="training error")
        ax.axvline(r["chosen_hidden"], color="black", ls=":", lw=1.5,
                   label=f"most complex model supported ({r['chosen_hidden']} units)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(w)
        ax.set_xticklabels([str(v) for v in w])
        ax.set_xlabel("model complexity: hidden units (log scale)  \u2192")
    _finish(fig, axes, results, top, path)


def plot_epochs(results, path):
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.7), sharey=True)
    top = max(max(_pct(r["val_error"][2:]).max(), _pct(r["test_error"][2:]).max()) for r in results) * 1.25
    for ax, r in zip(axes, results):
        e = np.arange(1, len(r["train_error"]) + 1)
        ax.plot(e, _pct(r["test_error"]), color=COLORS["test"], label="test error")
        ax.plot(e, _pct(r["val_error"]), color=COLORS["val"], ls="--", label="validation error")
        ax.plot(e, _pct(r["train_error"]), color=COLORS["train"], label="training error")
        s = r["stop_epoch"]
        ax.axvline(s, color="black", ls=":", lw=1.5, label=f"early stop (epoch {s})")
        ax.plot([s], [_pct(r["val_error"][s - 1])], "k*", ms=10)
        ax.set_xlabel("training epochs  \u2192")
    _finish(fig, axes, results, top, path)


# --------------------------------------------------------------------------- numbers for the text
def latex_macros(res):
    """The numbers quoted in Section 1.3, two decimals (errors in percent)."""
    pct = lambda v: f"{100 * v:.2f}"  # noqa: E731
    sz, cx, cxn, ep, epn = (res["size"], res["complexity"], res["complexity_noisy"],
                            res["epochs"], res["epochs_noisy"])
    m = {
        "NDigits": f"{res['n_digits']:,}",
        "SizeFirstN": str(sz["train_sizes"][0]), "SizeLastN": str(sz["train_sizes"][-1]),
        "SizeFirstTrainErr": pct(sz["train_error"][0]), "SizeLastTrainErr": pct(sz["train_error"][-1]),
        "SizeFirstTestErr": pct(sz["test_error"][0]), "SizeLastTestErr": pct(sz["test_error"][-1]),
        "SizeHidden": str(sz["hidden"]),
        "CxN": str(cx["n_train"]), "CxEpochs": str(cx["epochs"]),
        "ChosenHidden": str(cx["chosen_hidden"]), "ChosenHiddenNoisy": str(cxn["chosen_hidden"]),
        "CxBestTestErr": pct(cx["test_error"][cx["hidden_units"].index(cx["chosen_hidden"])]),
        "CxLargestTestErr": pct(cx["test_error"][-1]), "CxLargest": str(cx["hidden_units"][-1]),
        "CxNoisyBestTestErr": pct(cxn["test_error"][cxn["hidden_units"].index(cxn["chosen_hidden"])]),
        "CxNoisyLargestTestErr": pct(cxn["test_error"][-1]),
        "CxNoisyLargestTrainErr": pct(cxn["train_error"][-1]),
        "EpN": str(ep["n_train"]), "EpHidden": str(ep["hidden"]), "EpMax": str(len(ep["train_error"])),
        "StopEpoch": str(ep["stop_epoch"]), "StopEpochNoisy": str(epn["stop_epoch"]),
        "StopTestErr": pct(ep["test_error"][ep["stop_epoch"] - 1]), "EndTestErr": pct(ep["test_error"][-1]),
        "StopTestErrNoisy": pct(epn["test_error"][epn["stop_epoch"] - 1]),
        "EndTestErrNoisy": pct(epn["test_error"][-1]),
        "EndTrainErrNoisy": pct(epn["train_error"][-1]),
        "LabelNoise": f"{100 * LABEL_NOISE:.0f}",
        "BatchSize": str(BATCH_SIZE), "LearningRate": f"{LEARNING_RATE:g}",
    }
    lines = ["% Written by theory/figures.py from figures/results.json; do not edit."]
    lines += [f"\\newcommand{{\\{k}}}{{{v}}}" for k, v in m.items()]
    return "\n".join(lines) + "\n"


def main():
    t0 = time.perf_counter()
    OUT.mkdir(exist_ok=True)
    raw, pool, val, test = load_splits()
    print(f"data: {len(raw[0])} digits from {raw.source}")
    res = {"n_digits": len(raw[0]), "seed": SEED,
           "n_test": N_TEST, "n_val": N_VAL, "n_pool": N_POOL, "batch_size": BATCH_SIZE,
           "learning_rate": LEARNING_RATE, "label_noise": LABEL_NOISE}
    steps = [("size", lambda: run_sizes(pool, val, test)),
             ("complexity", lambda: run_complexity(pool, val, test, 0.0)),
             ("complexity_noisy", lambda: run_complexity(pool, val, test, LABEL_NOISE)),
             ("epochs", lambda: run_epochs(pool, val, test, 0.0)),
             ("epochs_noisy", lambda: run_epochs(pool, val, test, LABEL_NOISE))]
    for name, step in steps:
        t = time.perf_counter()
        res[name] = step()
        print(f"{name}: {time.perf_counter() - t:.1f} s", flush=True)

    plot_sizes(res["size"], OUT / "error_vs_training_size.pdf")
    plot_complexity([res["complexity"], res["complexity_noisy"]], OUT / "error_vs_hidden_units.pdf")
    plot_epochs([res["epochs"], res["epochs_noisy"]], OUT / "error_vs_epochs.pdf")
    (OUT / "results.json").write_text(json.dumps(res, indent=1) + "\n")
    (OUT / "results.tex").write_text(latex_macros(res))
    print(f"figures written to {OUT} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
