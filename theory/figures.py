"""Figures of theory.tex, Section 1.3: three sketches and three measured figures.

**Sketches** (the answers to 1.3.1-1.3.3): idealised curves of the typical behaviour, drawn
with matplotlib's hand-drawn style; no data.

**Measured figures** (the evidence): real training runs of this project's from-scratch
network ``network_scratch.NeuralNetwork`` (sigmoid hidden layer, softmax output, the course's
MSE, mini-batch SGD, ``scratch_engine.fit``) on the 5,000 MNIST digits embedded in this
project (``mnist``'s embedded source, pinned here so that an ``MNIST_PATH`` or a Keras cache
cannot silently change the data; ``--mnist PATH`` chooses other data explicitly).

The setting, chosen to match the problem (one smooth joint distribution with overlapping
classes, an i.i.d. test set):

* **label noise on every label**: a seeded 20 % of all 5,000 labels are replaced by a
  uniformly random class *before* the split, so training, validation and test digits come
  from one joint distribution whose best possible error is 20 % x 9/10 = 18 %;
* a **test set** of 1,000 digits, never used for a choice (the stand-in for the infinite
  test set); a **validation set** of 1,000 digits; a **training pool** of 3,000;
* **inputs**: the first 50 principal components of the pixels (fitted on the training pool
  only), each scaled to standard deviation 0.5.  With 50 inputs every run takes seconds and a
  wide network can fit the noisy labels, so overfitting becomes visible.

Writes into ``figures/``: ``sketch_size.pdf``, ``sketch_complexity.pdf``,
``sketch_epochs.pdf``, ``error_vs_training_size.pdf``, ``error_vs_hidden_units.pdf``,
``error_vs_epochs.pdf``, ``results.json`` (every measured number, the data source and the
run time) and ``results.tex`` (the numbers quoted in the text, as LaTeX macros).
Run: ``python theory/figures.py [--mnist PATH]`` (about 1.5-2 minutes on 2 cores;
``results.json`` records the run time).
"""

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import mnist  # noqa: E402
import scratch_engine  # noqa: E402
from network_scratch import NeuralNetwork  # noqa: E402

OUT = HERE / "figures"
SEED = 42  # data split, label noise and the first repetition's weights derive from it

N_TEST, N_VAL, N_POOL = 1000, 1000, 3000
N_CLASSES = 10
LABEL_NOISE = 0.2        # share of ALL labels replaced by a uniformly random class
N_COMPONENTS = 50        # principal components fed to the network
INPUT_STD = 0.5          # standard deviation of each component after scaling
BATCH_SIZE = 10
LEARNING_RATE = 1.0      # on the mini-batch mean gradient of the course's MSE

# 1.3.1: training-set size; each run is trained in blocks of at least PLATEAU_EPOCHS epochs
# and PLATEAU_SAMPLES sample presentations until a block lowers the least training error
# reached so far by less than PLATEAU_TOL (or MAX_BLOCKS blocks).
SIZES = [25, 50, 100, 200, 400, 800, 1600, 3000]
SIZE_HIDDEN = 16
PLATEAU_EPOCHS, PLATEAU_SAMPLES, PLATEAU_TOL, MAX_BLOCKS = 20, 20_000, 0.005, 50
# 1.3.2: model complexity = hidden units of one hidden layer, fixed training-set size,
# repeated with different training/validation draws and initial weights.
WIDTHS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
COMPLEXITY_N, COMPLEXITY_EPOCHS, REPEATS = 300, 200, 5
# 1.3.3: epochs.
EPOCHS_N, EPOCHS_HIDDEN, EPOCHS_MAX = 300, 256, 200

BEST_POSSIBLE = LABEL_NOISE * (N_CLASSES - 1) / N_CLASSES  # a random label is wrong 9 times in 10

# Every text is drawn at the size it is printed: theory.tex includes the figures unscaled.
TEXT_PT = 9
SMALL_PT = 8
FIG_WIDTH = 6.3  # inches; the text width of theory.tex is 16.2 cm = 6.38 in
SKETCH_HEIGHT, MEASURED_HEIGHT = 2.4, 2.7
PDF_METADATA = {"CreationDate": None, "Creator": None, "Producer": None}


# --------------------------------------------------------------------------- data
def load_digits(path=None):
    """The embedded 5,000 digits, or the data at ``path`` when it is given."""
    return mnist.load_mnist(path) if path is not None else mnist.load_embedded()


def noisy(labels, share, rng):
    """A copy of ``labels`` with ``share`` of them replaced by a uniformly random class."""
    out = labels.copy()
    flip = rng.random(len(out)) < share
    out[flip] = rng.integers(0, N_CLASSES, flip.sum())
    return out


def prepare(data):
    """Noisy labels, the split, and the principal-component inputs (fitted on the pool)."""
    images, labels = data
    x = mnist.scale_images(images, flatten=True).astype(np.float64)
    y = noisy(labels, LABEL_NOISE, np.random.default_rng(SEED))
    x_pool, y_pool, x_rest, y_rest = mnist.train_val_split(x, y, N_POOL, N_VAL + N_TEST, seed=SEED)
    x_val, y_val, x_test, y_test = mnist.train_val_split(x_rest, y_rest, N_VAL, N_TEST, seed=SEED + 1)
    mean = x_pool.mean(axis=0)
    _, s, vt = np.linalg.svd(x_pool - mean, full_matrices=False)
    scale = INPUT_STD * np.sqrt(len(x_pool)) / s[:N_COMPONENTS]  # component std -> INPUT_STD

    def project(a):
        return (a - mean) @ vt[:N_COMPONENTS].T * scale

    return {"pool": (project(x_pool), y_pool), "val": (project(x_val), y_val),
            "test": (project(x_test), y_test), "clean_share": float(np.mean(y == labels))}


def network(hidden, epochs, random_state):
    return NeuralNetwork([N_COMPONENTS, hidden, N_CLASSES], epochs=epochs,
                         learning_rate=LEARNING_RATE, random_state=random_state)


def fit(net, train, held_out):
    """Train ``net`` for ``net.epochs`` epochs; errors (1 - accuracy) after every epoch."""
    hist = scratch_engine.fit(net, train[0], mnist.one_hot(train[1]), held_out[0], mnist.one_hot(held_out[1]),
                              batch_size=BATCH_SIZE, shuffle=True, verbose=False)
    return [1 - a for a in hist["accuracy"]], [1 - a for a in hist["val_accuracy"]]


def error(net, data):
    return 1 - net.compute_accuracy(data[0], mnist.one_hot(data[1]))


# --------------------------------------------------------------------------- experiments
def run_sizes(d):
    """1.3.1: train each size until its training error stops falling."""
    out = {"train_sizes": SIZES, "hidden": SIZE_HIDDEN, "plateau_epochs": PLATEAU_EPOCHS,
           "plateau_samples": PLATEAU_SAMPLES, "plateau_tol": PLATEAU_TOL, "max_blocks": MAX_BLOCKS,
           "epochs": [], "stopped_at_plateau": [], "train_error": [], "test_error": []}
    for n in SIZES:
        # The pool is stratified and shuffled, so its first n digits are a random sample.
        train = (d["pool"][0][:n], d["pool"][1][:n])
        block = max(PLATEAU_EPOCHS, -(-PLATEAU_SAMPLES // n))
        net = network(SIZE_HIDDEN, block, SEED)
        best, blocks, plateau = np.inf, 0, False
        while blocks < MAX_BLOCKS and not plateau:
            train_err, _ = fit(net, train, d["val"])
            blocks += 1
            plateau = min(train_err) > best - PLATEAU_TOL  # this block no longer lowered it
            best = min(best, min(train_err))
        out["epochs"].append(blocks * block)
        out["stopped_at_plateau"].append(bool(plateau))
        out["train_error"].append(error(net, train))
        out["test_error"].append(error(net, d["test"]))
    return out


def run_complexity(d):
    """1.3.2: errors against hidden units; REPEATS training/validation draws and seeds."""
    reps = []
    x_all = np.concatenate([d["pool"][0], d["val"][0]])
    y_all = np.concatenate([d["pool"][1], d["val"][1]])
    for r in range(REPEATS):
        # Repetition r: its own training set and validation set from pool + validation
        # digits, its own initial weights and shuffling; the test set stays the same.
        x_tr, y_tr, x_va, y_va = mnist.train_val_split(x_all, y_all, COMPLEXITY_N, N_VAL, seed=SEED + 10 + r)
        rep = {"train_error": [], "val_error": [], "test_error": []}
        for width in WIDTHS:
            net = network(width, COMPLEXITY_EPOCHS, SEED + r)
            train_err, val_err = fit(net, (x_tr, y_tr), (x_va, y_va))
            rep["train_error"].append(train_err[-1])
            rep["val_error"].append(val_err[-1])
            rep["test_error"].append(error(net, d["test"]))
        reps.append(rep)
    out = {"hidden_units": WIDTHS, "n_train": COMPLEXITY_N, "epochs": COMPLEXITY_EPOCHS,
           "repeats": reps}
    for key in ("train_error", "val_error", "test_error"):
        values = np.array([rep[key] for rep in reps])
        out[key + "_mean"] = values.mean(axis=0).tolist()
        out[key + "_min"] = values.min(axis=0).tolist()
        out[key + "_max"] = values.max(axis=0).tolist()
    best = int(np.argmin(out["val_error_mean"]))  # the most complex model the data support
    out["chosen_hidden"] = WIDTHS[best]
    # Where the line sits on the log axis, 0 = left end, 1 = right end.
    out["chosen_position"] = float(np.log(WIDTHS[best] / WIDTHS[0]) / np.log(WIDTHS[-1] / WIDTHS[0]))
    return out


def run_epochs(d):
    """1.3.3: training/validation/test error after every epoch.

    Training does not depend on the held-out set passed to ``fit`` (it is only evaluated),
    and it is seeded, so the run with the test set as the held-out set retraces the run
    with the validation set weight for weight: together they give all three curves.
    """
    train = (d["pool"][0][:EPOCHS_N], d["pool"][1][:EPOCHS_N])
    train_err, val_err = fit(network(EPOCHS_HIDDEN, EPOCHS_MAX, SEED), train, d["val"])
    train_err2, test_err = fit(network(EPOCHS_HIDDEN, EPOCHS_MAX, SEED), train, d["test"])
    if train_err != train_err2:
        raise RuntimeError("the two seeded runs differ: training is not deterministic")
    stop = int(np.argmin(val_err)) + 1  # first epoch with the least validation error
    return {"n_train": EPOCHS_N, "hidden": EPOCHS_HIDDEN, "train_error": train_err,
            "val_error": val_err, "test_error": test_err, "stop_epoch": stop}


# --------------------------------------------------------------------------- sketches
def _sketch_axes(ax, xlabel):
    """Axes of a sketch: arrows to the right and upwards, zero error marked, no numbers."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.0)
    ax.set_xticks([])
    ax.set_yticks([0])
    ax.set_yticklabels(["0 (zero error)"], fontsize=TEXT_PT)
    ax.plot(1.02, 0, ">k", clip_on=False, ms=6)
    ax.plot(0, 1.0, "^k", clip_on=False, ms=6)
    ax.set_xlabel(xlabel, fontsize=TEXT_PT)
    ax.set_ylabel("error rate (increasing upwards)", fontsize=TEXT_PT)


LAYOUT = {}  # per figure file: what tests/test_theory.py checks about its layout


def _layout_report(fig):
    """Width, smallest text, texts not wholly inside the figure, legends over a plot area."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    undrawn = set()  # labels of ticks outside the axis limits exist but are not drawn
    for ax in fig.axes:
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = sorted(limits)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo <= tick.get_loc() <= hi:
                    undrawn.update({id(tick.label1), id(tick.label2)})
    texts = [t for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip() and id(t) not in undrawn]
    box = fig.bbox
    outside = [t.get_text() for t in texts
               if not (box.x0 - 0.5 <= (e := t.get_window_extent(renderer)).x0 and e.x1 <= box.x1 + 0.5
                       and box.y0 - 0.5 <= e.y0 and e.y1 <= box.y1 + 0.5)]
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    over = any(leg.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
               for leg in legends for ax in fig.axes)
    clipped = []  # curves with a point outside their axes' limits
    for ax in fig.axes:
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        for line in ax.lines:
            if line.get_transform() is ax.transData:
                xs, ys = (np.asarray(v, dtype=float) for v in line.get_data())
                if np.any((xs < x0) | (xs > x1) | (ys < y0) | (ys > y1)):
                    clipped.append(line.get_label())
    return {"width_in": float(fig.get_figwidth()), "min_font_pt": float(min(t.get_fontsize() for t in texts)),
            "texts_outside_figure": outside, "legend_over_plot_area": bool(over), "curves_clipped": clipped}


def _save(fig, name):
    LAYOUT[name] = _layout_report(fig)
    fig.savefig(OUT / name, metadata=PDF_METADATA)
    plt.close(fig)


@contextlib.contextmanager
def _sketch(name, xlabel):
    """A hand-drawn figure at print width: draw on the axes it yields; it is labelled and saved after."""
    with plt.xkcd(scale=0.6, length=120, randomness=2):
        plt.rcParams["font.family"] = "DejaVu Sans"
        fig, ax = plt.subplots(figsize=(FIG_WIDTH, SKETCH_HEIGHT))
        yield ax
        _sketch_axes(ax, xlabel)
        fig.tight_layout()
        _save(fig, name)


def sketch_size():
    x = np.linspace(0.02, 1, 200)
    floor = 0.3
    train = floor * (1 - np.exp(-x / 0.45))
    test = floor + 0.55 * np.exp(-x / 0.45)
    with _sketch("sketch_size.pdf", "training-set size (increasing rightwards)") as ax:
        ax.plot(x, test, color=COLORS["test"], lw=2)
        ax.plot(x, train, color=COLORS["train"], lw=2)
        ax.axhline(floor, color="grey", ls="--", lw=1)
        ax.text(0.15, floor + 0.02, "best error the model can reach (\u2265 Bayes error)",
                ha="left", va="bottom", fontsize=SMALL_PT, color="dimgrey")
        ax.text(0.09, 0.8, "test error", color=COLORS["test"], fontsize=TEXT_PT)
        ax.text(0.45, 0.07, "training error", color=COLORS["train"], fontsize=TEXT_PT)
        i = np.searchsorted(x, 0.9)
        ax.annotate("", xy=(x[i], test[i]), xytext=(x[i], train[i]),
                    arrowprops={"arrowstyle": "<->", "color": "black", "lw": 1})
        ax.text(x[i] - 0.02, test[i] + 0.05, "gap: shrinks as\nthe set grows", fontsize=SMALL_PT, ha="center")


def sketch_complexity():
    x = np.linspace(0, 1, 200)
    train = 0.72 * np.exp(-3.2 * x)
    test = train + 0.12 + 0.55 * x**2
    best = x[np.argmin(test)]
    with _sketch("sketch_complexity.pdf", "model complexity (increasing rightwards)") as ax:
        ax.plot(x, test, color=COLORS["test"], lw=2)
        ax.plot(x, train, color=COLORS["train"], lw=2)
        ax.axvline(best, color="black", ls=":", lw=1.5)
        ax.text(best + 0.01, 0.93, "most complex model\nthe data support", fontsize=SMALL_PT, va="top")
        ax.text(0.72, 0.62, "test error", color=COLORS["test"], fontsize=TEXT_PT, ha="center")
        ax.text(0.88, 0.09, "training error", color=COLORS["train"], fontsize=TEXT_PT, ha="center")
        ax.text(best / 2, 0.03, "underfitting\n(high bias)", fontsize=SMALL_PT, ha="center")
        ax.text((best + 1) / 2 - 0.03, 0.2, "overfitting\n(high variance)", fontsize=SMALL_PT, ha="center")
    return float(best)


def sketch_epochs():
    x = np.linspace(0, 1, 200)
    train = 0.75 * np.exp(-4.5 * x) + 0.02
    test = 0.75 * np.exp(-5.5 * x) + 0.2 + 0.28 * x**2
    wiggle = 0.012 * np.sin(37 * x) + 0.008 * np.sin(71 * x + 1)
    val = test - 0.03 + wiggle  # a finite validation set: a noisy estimate of the test error
    stop = int(np.argmin(val))
    with _sketch("sketch_epochs.pdf", "training epochs (increasing rightwards)") as ax:
        ax.plot(x, test, color=COLORS["test"], lw=2)
        ax.plot(x, val, color=COLORS["val"], lw=2, ls="--")
        ax.plot(x, train, color=COLORS["train"], lw=2)
        ax.axvline(x[stop], color="black", ls=":", lw=1.5)
        ax.plot([x[stop]], [val[stop]], "k*", ms=12)
        ax.annotate("early stopping: least validation error,\nkeep the weights of this epoch",
                    xy=(x[stop], val[stop]), xytext=(x[stop] + 0.08, 0.8),
                    fontsize=SMALL_PT, arrowprops={"arrowstyle": "->", "lw": 1})
        ax.text(0.98, test[-1] + 0.02, "test error", color=COLORS["test"], fontsize=TEXT_PT, ha="right", va="bottom")
        j = np.searchsorted(x, 0.8)
        ax.text(x[j], val[j] - 0.05, "validation error", color=COLORS["val"], fontsize=TEXT_PT, ha="center", va="top")
        ax.text(0.98, 0.07, "training error", color=COLORS["train"], fontsize=TEXT_PT, ha="right")
    return float(x[stop])


# --------------------------------------------------------------------------- measured plots
COLORS = {"train": "#1f77b4", "val": "#2ca02c", "test": "#d62728"}


def _pct(v):
    return 100 * np.asarray(v, dtype=float)


def _measured_axes(ax, top):
    """Error increases upwards from a marked zero; the best possible error as a dashed line."""
    ax.set_ylim(0, top)
    ticks = [t for t in ax.get_yticks() if 0 <= t <= top]
    ax.set_yticks(ticks)
    ax.set_yticklabels(["0 (zero error)" if t == 0 else f"{t:g}" for t in ticks])
    ax.axhline(100 * BEST_POSSIBLE, color="grey", ls="--", lw=1,
               label=f"best possible ({100 * BEST_POSSIBLE:g} %)")
    ax.set_ylabel("error rate (%)")
    ax.grid(alpha=0.3)


def _legend_above(fig, ax, ncol):
    """The legend in its own strip above the axes: no curve can run through it."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=ncol, frameon=False,
               bbox_to_anchor=(0.5, 1.0))


def _measured_figure(height):
    plt.rcParams.update({"font.size": TEXT_PT, "legend.fontsize": TEXT_PT,
                         "xtick.labelsize": TEXT_PT, "ytick.labelsize": TEXT_PT})
    return plt.subplots(figsize=(FIG_WIDTH, height))


def _finish(fig, ax, ncol, rows):
    """Legend strip of ``rows`` rows above the axes, then a tight layout below it."""
    _legend_above(fig, ax, ncol)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.08 + 0.17 * rows) / fig.get_figheight()))


def plot_sizes(res):
    fig, ax = _measured_figure(MEASURED_HEIGHT)
    n = res["train_sizes"]
    ax.plot(n, _pct(res["test_error"]), "o-", color=COLORS["test"], label="test error")
    ax.plot(n, _pct(res["train_error"]), "s-", color=COLORS["train"], label="training error")
    _log_ticks(ax, n)
    ax.set_xlabel("training-set size (digits, log scale)")
    _measured_axes(ax, 100)
    _finish(fig, ax, 3, 1)
    _save(fig, "error_vs_training_size.pdf")


def _log_ticks(ax, values, base=10):
    """A log x-axis labelled at exactly ``values`` (no minor ticks)."""
    ax.set_xscale("log", base=base)
    ax.set_xticks(values)
    ax.set_xticklabels([str(v) for v in values])
    ax.set_xticks([], minor=True)


def plot_complexity(res):
    fig, ax = _measured_figure(MEASURED_HEIGHT)
    w = res["hidden_units"]
    for key, name, style in (("test", "test error", "o-"), ("val", "validation error", "^--"),
                             ("train", "training error", "s-")):
        ax.fill_between(w, _pct(res[key + "_error_min"]), _pct(res[key + "_error_max"]),
                        color=COLORS[key], alpha=0.15, lw=0)
        ax.plot(w, _pct(res[key + "_error_mean"]), style, color=COLORS[key], label=name)
    ax.axvline(res["chosen_hidden"], color="black", ls=":", lw=1.5,
               label="most complex model supported")
    _log_ticks(ax, w, base=2)
    ax.set_xlim(w[0] / 1.2, w[-1] * 1.2)
    ax.set_xlabel("model complexity: hidden units (log scale)")
    _measured_axes(ax, 95)
    _finish(fig, ax, 3, 2)
    _save(fig, "error_vs_hidden_units.pdf")


def plot_epochs(res):
    fig, ax = _measured_figure(MEASURED_HEIGHT)
    e = np.arange(1, len(res["train_error"]) + 1)
    ax.plot(e, _pct(res["test_error"]), color=COLORS["test"], label="test error")
    ax.plot(e, _pct(res["val_error"]), color=COLORS["val"], ls="--", label="validation error")
    ax.plot(e, _pct(res["train_error"]), color=COLORS["train"], label="training error")
    s = res["stop_epoch"]
    ax.axvline(s, color="black", ls=":", lw=1.5, label="early stopping")
    ax.plot([s], [_pct(res["val_error"][s - 1])], "k*", ms=10)
    ax.set_xlim(0, len(e))
    ax.set_xlabel("training epochs")
    top = max(_pct(res["train_error"]).max(), _pct(res["test_error"]).max()) * 1.05
    _measured_axes(ax, min(100, top))
    _finish(fig, ax, 3, 2)
    _save(fig, "error_vs_epochs.pdf")


# --------------------------------------------------------------------------- numbers for the text
def latex_macros(res):
    """The numbers quoted in Section 1.3 (errors in percent, one decimal)."""
    pct = lambda v: f"{100 * v:.1f}"  # noqa: E731
    sz, cx, ep = res["size"], res["complexity"], res["epochs"]
    chosen = cx["hidden_units"].index(cx["chosen_hidden"])
    stop = ep["stop_epoch"] - 1
    m = {
        "NDigits": f"{res['n_digits']:,}", "LabelNoise": f"{100 * LABEL_NOISE:.0f}",
        "BestPossible": f"{100 * BEST_POSSIBLE:.0f}", "NComponents": str(N_COMPONENTS),
        "InputStd": f"{INPUT_STD:g}", "BatchSize": str(BATCH_SIZE), "LearningRate": f"{LEARNING_RATE:g}",
        "RunMinutes": f"{res['run_seconds'] / 60:.1f}", "CpuMinutes": f"{res['cpu_seconds'] / 60:.1f}",
        "SizeHidden": str(sz["hidden"]), "PlateauEpochs": str(sz["plateau_epochs"]), "PlateauSamples": f"{sz['plateau_samples']:,}",
        "SizeFirstN": str(sz["train_sizes"][0]), "SizeLastN": str(sz["train_sizes"][-1]),
        "SizeFirstTrainErr": pct(sz["train_error"][0]), "SizeLastTrainErr": pct(sz["train_error"][-1]),
        "SizeFirstTestErr": pct(sz["test_error"][0]), "SizeLastTestErr": pct(sz["test_error"][-1]),
        "SizeMinEpochs": str(min(sz["epochs"])), "SizeMaxEpochs": str(max(sz["epochs"])),
        "CxN": str(cx["n_train"]), "CxEpochs": str(cx["epochs"]), "CxRepeats": str(len(cx["repeats"])),
        "CxFirst": str(cx["hidden_units"][0]), "CxLargest": str(cx["hidden_units"][-1]),
        "ChosenHidden": str(cx["chosen_hidden"]),
        "CxChosenTestErr": pct(cx["test_error_mean"][chosen]),
        "CxChosenValErr": pct(cx["val_error_mean"][chosen]),
        "CxLargestTestErr": pct(cx["test_error_mean"][-1]),
        "CxLargestTrainErr": pct(cx["train_error_mean"][-1]),
        "CxFirstTestErr": pct(cx["test_error_mean"][0]),
        "CxChosenPosition": f"{100 * cx['chosen_position']:.0f}",
        "EpN": str(ep["n_train"]), "EpHidden": str(ep["hidden"]), "EpMax": str(len(ep["train_error"])),
        "StopEpoch": str(ep["stop_epoch"]),
        "StopValErr": pct(ep["val_error"][stop]), "StopTestErr": pct(ep["test_error"][stop]),
        "EndTestErr": pct(ep["test_error"][-1]), "EndTrainErr": pct(ep["train_error"][-1]),
        "StopTrainErr": pct(ep["train_error"][stop]),
    }
    lines = ["% Written by theory/figures.py from figures/results.json; do not edit."]
    lines += [f"\\newcommand{{\\{k}}}{{{v}}}" for k, v in m.items()]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", metavar="PATH", default=None,
                        help="MNIST data to use instead of the embedded 5,000 digits")
    args = parser.parse_args(argv)
    t0, c0 = time.perf_counter(), time.process_time()
    OUT.mkdir(exist_ok=True)
    data = load_digits(args.mnist)
    print(f"data: {len(data[0])} digits from {data.source}")
    d = prepare(data)
    res = {"data_source": data.source, "n_digits": len(data[0]), "seed": SEED,
           "n_test": N_TEST, "n_val": N_VAL, "n_pool": N_POOL, "batch_size": BATCH_SIZE,
           "learning_rate": LEARNING_RATE, "label_noise": LABEL_NOISE,
           "share_of_labels_unchanged": d["clean_share"], "best_possible_error": BEST_POSSIBLE,
           "n_components": N_COMPONENTS, "input_std": INPUT_STD}
    res["sketch_complexity_line"] = sketch_complexity()
    res["sketch_early_stop"] = sketch_epochs()
    sketch_size()
    for name, step in (("size", run_sizes), ("complexity", run_complexity), ("epochs", run_epochs)):
        t = time.perf_counter()
        res[name] = step(d)
        print(f"{name}: {time.perf_counter() - t:.1f} s", flush=True)
    plot_sizes(res["size"])
    plot_complexity(res["complexity"])
    plot_epochs(res["epochs"])
    res["layout"] = LAYOUT
    res["run_seconds"] = time.perf_counter() - t0
    res["cpu_seconds"] = time.process_time() - c0
    (OUT / "results.json").write_text(json.dumps(res, indent=1) + "\n")
    (OUT / "results.tex").write_text(latex_macros(res))
    print(f"figures written to {OUT} in {res['run_seconds']:.0f} s ({res['cpu_seconds']:.0f} s of CPU time)")


if __name__ == "__main__":
    main()
