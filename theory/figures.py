"""Figures of theory.tex, Section 1.3: three sketches (the answers) and three measured
figures (the evidence, Appendix A).

**Sketches**: idealised curves of the typical behaviour, drawn with matplotlib's hand-drawn
style; no data.  Every sketch uses the same words: ``training error``, ``test error``,
``validation error``, the dashed grey ``best possible error (Bayes error)`` and the marked
``0 (zero error)``.

**Measured figures**: real training runs of this project's from-scratch network
``network_scratch.NeuralNetwork`` (sigmoid hidden layer, softmax output, the course's MSE,
mini-batch SGD through the fast engine, see :func:`train`) on the 5,000 MNIST digits embedded
in this project (``mnist``'s embedded source, pinned here so that an ``MNIST_PATH`` or a Keras
cache cannot silently change the data; ``--mnist PATH`` chooses other data explicitly).

The setting, chosen to match the problem (one smooth joint distribution with overlapping
classes, an i.i.d. test set):

* **label noise on every label**: a seeded 20 % of all 5,000 labels are replaced by a
  uniformly random class *before* the split, so training, validation and test digits come
  from one joint distribution; a random class is wrong 9 times in 10, so the expected share
  of wrong labels, the best possible error, is 20 % x 9/10 = 18 % (the realised shares of
  each set are recorded);
* a **test set** of 1,000 digits, never used for a choice (the stand-in for the infinite
  test set); a **validation set** of 1,000 digits; a **training pool** of 3,000;
* **inputs**: the first 50 principal components of the pixels (fitted on the training pool
  only), each scaled to standard deviation 0.5.  With 50 inputs every run takes seconds and a
  wide network can fit the noisy labels, so overfitting becomes visible;
* every experiment is **repeated** (its own training draw and initial weights); the figures
  show the mean and the range of the repetitions.

Writes into ``figures/``: ``sketch_size.pdf``, ``sketch_complexity.pdf``,
``sketch_epochs.pdf``, ``error_vs_training_size.pdf``, ``error_vs_hidden_units.pdf``,
``error_vs_epochs.pdf``, ``results.json`` (every measured number, the sketches' curves and
labels, the data source and the run time) and ``results.tex`` (the numbers quoted in the
text, as LaTeX macros).  Run: ``python theory/figures.py [--mnist PATH]`` (about 6 minutes on
2 cores; ``results.json`` records the run time), or ``--redraw`` to redraw every figure
from the recorded ``results.json`` without training.
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

# Training "until the training error stops falling" (1.3.1 and 1.3.2): blocks of at least
# PLATEAU_EPOCHS epochs and PLATEAU_SAMPLES sample presentations until a block lowers the
# least training error reached so far by less than PLATEAU_TOL (or MAX_BLOCKS blocks).
PLATEAU_EPOCHS, PLATEAU_SAMPLES, PLATEAU_TOL, MAX_BLOCKS = 20, 20_000, 0.005, 50
# 1.3.1: training-set size (nested subsets of the pool), fixed width.
SIZES = [25, 50, 100, 200, 400, 800, 1600, 3000]
SIZE_HIDDEN, SIZE_REPEATS = 16, 3
# 1.3.2: model complexity = hidden units of one hidden layer, fixed training-set size, every
# width trained to its plateau; repeated with different training/validation draws and weights.
WIDTHS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
COMPLEXITY_N, REPEATS = 300, 5
# 1.3.3: epochs, a fixed number of them, repeated like 1.3.2.
EPOCHS_N, EPOCHS_HIDDEN, EPOCHS_MAX, EPOCHS_REPEATS = 300, 256, 200, 5

BEST_POSSIBLE = LABEL_NOISE * (N_CLASSES - 1) / N_CLASSES  # a random label is wrong 9 times in 10

# Every text is drawn at the size it is printed: theory.tex includes the figures unscaled.
TEXT_PT = 9
SMALL_PT = 8
FIG_WIDTH = 6.3  # inches; the text width of theory.tex is 16.2 cm = 6.38 in
SKETCH_HEIGHT, MEASURED_HEIGHT = 1.85, 3.0
PDF_METADATA = {"CreationDate": None, "Creator": None, "Producer": None}

# The words of the figures, one spelling each (theory.tex uses the same; tests compare).
TRAIN, VAL, TEST = "training error", "validation error", "test error"
BAYES = "best possible error (Bayes error)"
ZERO = "0 (zero error)"
Y_LABEL = "error rate\n(increasing upwards)"


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


class Digits(tuple):
    """``(x, y)`` with ``wrong``: which of the labels ``y`` the noise changed."""

    def __new__(cls, x, y, wrong):
        obj = super().__new__(cls, (x, y))
        obj.wrong = wrong
        return obj

    def take(self, idx):
        return Digits(self[0][idx], self[1][idx], self.wrong[idx])

    def wrong_share(self):
        return float(np.mean(self.wrong))


def prepare(data):
    """Noisy labels, the split, and the principal-component inputs (fitted on the pool)."""
    images, labels = data
    x = mnist.scale_images(images, flatten=True).astype(np.float64)
    y = noisy(labels, LABEL_NOISE, np.random.default_rng(SEED))
    idx = np.arange(len(y))  # split indices, so that the true labels follow the split
    i_pool, _, i_rest, y_rest = mnist.train_val_split(idx, y, N_POOL, N_VAL + N_TEST, seed=SEED)
    i_val, _, i_test, _ = mnist.train_val_split(i_rest, y_rest, N_VAL, N_TEST, seed=SEED + 1)
    mean = x[i_pool].mean(axis=0)
    _, s, vt = np.linalg.svd(x[i_pool] - mean, full_matrices=False)
    scale = INPUT_STD * np.sqrt(len(i_pool)) / s[:N_COMPONENTS]  # component std -> INPUT_STD

    def part(i):
        return Digits((x[i] - mean) @ vt[:N_COMPONENTS].T * scale, y[i], y[i] != labels[i])

    return {"pool": part(i_pool), "val": part(i_val), "test": part(i_test),
            "wrong_share_all": float(np.mean(y != labels))}


def network(hidden, epochs, random_state):
    return NeuralNetwork([N_COMPONENTS, hidden, N_CLASSES], epochs=epochs,
                         learning_rate=LEARNING_RATE, random_state=random_state)


def train(net, x, y, x_val, y_val):
    """``net.epochs`` epochs of mini-batch SGD through the fast engine (scratch_engine.fit); its history."""
    return scratch_engine.fit(net, x, y, x_val, y_val, batch_size=BATCH_SIZE, shuffle=True, verbose=False,
                              dtype=np.float64)


def fit(net, train_set, held_out):
    """Train ``net`` for ``net.epochs`` epochs; errors (1 - accuracy) after every epoch."""
    hist = train(net, train_set[0], mnist.one_hot(train_set[1]), held_out[0], mnist.one_hot(held_out[1]))
    return [1 - a for a in hist["accuracy"]], [1 - a for a in hist["val_accuracy"]]


def error(net, data):
    return 1 - net.compute_accuracy(data[0], mnist.one_hot(data[1]))


def fit_to_plateau(hidden, seed, train_set, held_out):
    """A network trained until its training error stops falling; (net, epochs, stopped)."""
    block = max(PLATEAU_EPOCHS, -(-PLATEAU_SAMPLES // len(train_set[1])))
    net = network(hidden, block, seed)
    best, blocks, plateau = np.inf, 0, False
    while blocks < MAX_BLOCKS and not plateau:
        train_err, _ = fit(net, train_set, held_out)
        blocks += 1
        plateau = min(train_err) > best - PLATEAU_TOL  # this block no longer lowered it
        best = min(best, min(train_err))
    return net, blocks * block, bool(plateau)


def _summary(out, reps, keys):
    """Mean, minimum and maximum over the repetitions, per key."""
    for key in keys:
        values = np.array([rep[key] for rep in reps], dtype=float)
        out[key + "_mean"] = values.mean(axis=0).tolist()
        out[key + "_min"] = values.min(axis=0).tolist()
        out[key + "_max"] = values.max(axis=0).tolist()


# --------------------------------------------------------------------------- experiments
def run_sizes(d):
    """1.3.1: each size trained until its training error stops falling; SIZE_REPEATS draws."""
    reps = []
    for r in range(SIZE_REPEATS):
        # Repetition r: nested training sets, the first n digits of one random order of the
        # pool (repetition 0: the pool's own stratified, shuffled order), and its own weights.
        order = np.arange(N_POOL) if r == 0 else np.random.default_rng(SEED + 30 + r).permutation(N_POOL)
        rep = {"epochs": [], "stopped_at_plateau": [], "train_error": [], "test_error": [], "wrong_labels": []}
        for n in SIZES:
            train_set = d["pool"].take(order[:n])
            net, epochs, stopped = fit_to_plateau(SIZE_HIDDEN, SEED + r, train_set, d["val"])
            rep["epochs"].append(epochs)
            rep["stopped_at_plateau"].append(stopped)
            rep["train_error"].append(error(net, train_set))
            rep["test_error"].append(error(net, d["test"]))
            rep["wrong_labels"].append(int(train_set.wrong.sum()))
        reps.append(rep)
    out = {"train_sizes": SIZES, "hidden": SIZE_HIDDEN, "plateau_epochs": PLATEAU_EPOCHS,
           "plateau_samples": PLATEAU_SAMPLES, "plateau_tol": PLATEAU_TOL, "max_blocks": MAX_BLOCKS,
           "repeats": reps}
    _summary(out, reps, ("train_error", "test_error"))
    return out


def run_complexity(d):
    """1.3.2: errors against hidden units, each width trained to its plateau; REPEATS draws."""
    reps = []
    pool_val = Digits(np.concatenate([d["pool"][0], d["val"][0]]), np.concatenate([d["pool"][1], d["val"][1]]),
                      np.concatenate([d["pool"].wrong, d["val"].wrong]))
    for r in range(REPEATS):
        # Repetition r: its own training set and validation set from pool + validation
        # digits, its own initial weights and shuffling; the test set stays the same.
        i_tr, _, i_va, _ = mnist.train_val_split(np.arange(len(pool_val[1])), pool_val[1], COMPLEXITY_N, N_VAL,
                                                 seed=SEED + 10 + r)
        tr, va = pool_val.take(i_tr), pool_val.take(i_va)
        rep = {"train_error": [], "val_error": [], "test_error": [], "epochs": [], "stopped_at_plateau": [],
               "wrong_share_train": tr.wrong_share(), "wrong_share_val": va.wrong_share()}
        for width in WIDTHS:
            net, epochs, stopped = fit_to_plateau(width, SEED + r, tr, va)
            rep["train_error"].append(error(net, tr))
            rep["val_error"].append(error(net, va))
            rep["test_error"].append(error(net, d["test"]))
            rep["epochs"].append(epochs)
            rep["stopped_at_plateau"].append(stopped)
        reps.append(rep)
    out = {"hidden_units": WIDTHS, "n_train": COMPLEXITY_N, "repeats": reps}
    _summary(out, reps, ("train_error", "val_error", "test_error"))
    best = int(np.argmin(out["val_error_mean"]))
    out["chosen_hidden"] = WIDTHS[best]  # the width with the least mean validation error
    # Where the line sits on the log axis, 0 = left end, 1 = right end.
    out["chosen_position"] = float(np.log(WIDTHS[best] / WIDTHS[0]) / np.log(WIDTHS[-1] / WIDTHS[0]))
    return out


def run_epochs(d):
    """1.3.3: training/validation/test error after every epoch; EPOCHS_REPEATS draws.

    Training does not depend on the held-out set passed to ``fit`` (it is only evaluated),
    and it is seeded, so the run with the test set as the held-out set retraces the run
    with the validation set weight for weight: together they give all three curves.
    """
    reps = []
    for r in range(EPOCHS_REPEATS):
        order = np.arange(N_POOL) if r == 0 else np.random.default_rng(SEED + 20 + r).permutation(N_POOL)
        train_set = d["pool"].take(order[:EPOCHS_N])
        train_err, val_err = fit(network(EPOCHS_HIDDEN, EPOCHS_MAX, SEED + r), train_set, d["val"])
        train_err2, test_err = fit(network(EPOCHS_HIDDEN, EPOCHS_MAX, SEED + r), train_set, d["test"])
        if train_err != train_err2:
            raise RuntimeError("the two seeded runs differ: training is not deterministic")
        reps.append({"train_error": train_err, "val_error": val_err, "test_error": test_err,
                     "stop_epoch": int(np.argmin(val_err)) + 1})  # first epoch with the least validation error
    out = {"n_train": EPOCHS_N, "hidden": EPOCHS_HIDDEN, "epochs": EPOCHS_MAX, "repeats": reps}
    _summary(out, reps, ("train_error", "val_error", "test_error"))
    out["stop_epoch"] = int(np.argmin(out["val_error_mean"])) + 1  # least mean validation error
    return out


# --------------------------------------------------------------------------- sketches
LAYOUT = {}    # per figure file: what tests/test_theory_figures.py checks about its layout
SKETCHES = {}  # per sketch: its curves, marks and texts (tests check the answers' words against them)


def _sketch_axes(ax, xlabel):
    """Axes of a sketch: arrows to the right and upwards, zero error marked, no other numbers."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.0)
    ax.set_xticks([])
    ax.set_yticks([0])
    ax.set_yticklabels([ZERO], fontsize=TEXT_PT)
    ax.plot(1.02, 0, ">k", clip_on=False, ms=6)
    ax.plot(0, 1.0, "^k", clip_on=False, ms=6)
    ax.set_xlabel(xlabel, fontsize=TEXT_PT)
    ax.set_ylabel(Y_LABEL, fontsize=TEXT_PT)


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
            "texts_outside_figure": outside, "legend_over_plot_area": bool(over), "curves_clipped": clipped,
            "texts": sorted({t.get_text() for t in texts})}


def _save(fig, name):
    LAYOUT[name] = _layout_report(fig)
    fig.savefig(OUT / name, metadata=PDF_METADATA)
    plt.close(fig)


@contextlib.contextmanager
def _sketch(name, xlabel, x, curves, bayes):
    """A hand-drawn figure at print width with ``curves`` ({label: y}) and the dashed Bayes
    line at height ``bayes``; draw the marks on the axes it yields; labelled and saved after."""
    with plt.xkcd(scale=0.6, length=120, randomness=2):
        plt.rcParams["font.family"] = "DejaVu Sans"
        fig, ax = plt.subplots(figsize=(FIG_WIDTH, SKETCH_HEIGHT))
        ax.axhline(bayes, color="grey", ls="--", lw=1)
        for label, values in curves.items():
            key = {TRAIN: "train", VAL: "val", TEST: "test"}[label]
            ax.plot(x, values, color=COLORS[key], lw=2, ls="--" if key == "val" else "-", label=label)
        marks = {}
        yield ax, marks
        _sketch_axes(ax, xlabel)
        fig.tight_layout()
        _save(fig, name)
        SKETCHES[name] = {"x": _rounded(x), "curves": {k: _rounded(v) for k, v in curves.items()},
                          "bayes": bayes, "marks": marks, "texts": LAYOUT[name]["texts"]}


def _rounded(values):
    return [round(float(v), 4) for v in values]


def sketch_size():
    x = np.linspace(0.02, 1, 200)
    level, bayes = 0.36, 0.25  # the curves' common limit for this model lies above the Bayes error
    train = level * (1 - np.exp(-x / 0.4))
    test = level + 0.5 * np.exp(-x / 0.4)
    with _sketch("sketch_size.pdf", "training-set size (increasing rightwards)", x,
                 {TEST: test, TRAIN: train}, bayes) as (ax, marks):
        ax.text(0.98, bayes - 0.03, BAYES, ha="right", va="top", fontsize=SMALL_PT, color="dimgrey")
        ax.text(0.1, 0.78, TEST, color=COLORS["test"], fontsize=TEXT_PT)
        ax.text(0.2, 0.05, TRAIN, color=COLORS["train"], fontsize=TEXT_PT)
        i = int(np.searchsorted(x, 0.8))
        ax.annotate("", xy=(x[i], test[i]), xytext=(x[i], train[i]),
                    arrowprops={"arrowstyle": "<->", "color": "black", "lw": 1, "shrinkA": 0, "shrinkB": 0})
        ax.text(x[i], test[i] + 0.08, "gap: shrinks as the set grows", fontsize=SMALL_PT, ha="center", va="bottom")
        marks["gap_arrow"] = {"x": float(x[i]), "from": float(train[i]), "to": float(test[i])}


def sketch_complexity():
    x = np.linspace(0, 1, 200)
    train = 0.72 * np.exp(-3.2 * x)
    test = train + 0.12 + 0.55 * x**2
    best = x[np.argmin(test)]
    with _sketch("sketch_complexity.pdf", "model complexity (increasing rightwards)", x,
                 {TEST: test, TRAIN: train}, 0.08) as (ax, marks):
        ax.axvline(best, color="black", ls=":", lw=1.5)
        ax.text(best + 0.01, 0.95, "most complex model\nthe data support", fontsize=SMALL_PT, va="top")
        ax.text(0.72, 0.62, TEST, color=COLORS["test"], fontsize=TEXT_PT, ha="center")
        ax.text(0.9, 0.12, TRAIN, color=COLORS["train"], fontsize=TEXT_PT, ha="center")
        ax.text(0.03, 0.1, BAYES, fontsize=SMALL_PT, color="dimgrey", va="top")
        ax.text(best / 2, 0.5, "underfitting\n(high bias)", fontsize=SMALL_PT, ha="center")
        ax.text((best + 1) / 2, 0.25, "overfitting\n(high variance)", fontsize=SMALL_PT, ha="center")
        marks["line"] = float(best)


def sketch_epochs():
    x = np.linspace(0, 1, 200)
    train = 0.75 * np.exp(-4.5 * x) + 0.02
    test = 0.75 * np.exp(-5.5 * x) + 0.2 + 0.28 * x**2
    wiggle = 0.022 * np.sin(29 * x) + 0.012 * np.sin(67 * x + 1)
    val = test + wiggle  # a finite validation set: a noisy, unbiased estimate of the test error
    stop = int(np.argmin(val))
    with _sketch("sketch_epochs.pdf", "training epochs (increasing rightwards)", x,
                 {TEST: test, VAL: val, TRAIN: train}, 0.15) as (ax, marks):
        ax.axvline(x[stop], color="black", ls=":", lw=1.5)
        ax.plot([x[stop]], [val[stop]], "k*", ms=12)
        ax.annotate("early stopping: least validation error,\nkeep the weights of this epoch",
                    xy=(x[stop], val[stop]), xytext=(0.22, 0.8),
                    fontsize=SMALL_PT, arrowprops={"arrowstyle": "->", "lw": 1})
        ax.text(0.98, test[-1] + 0.05, TEST, color=COLORS["test"], fontsize=TEXT_PT, ha="right", va="bottom")
        j = int(np.searchsorted(x, 0.8))
        ax.text(x[j], min(val[j], test[j]) - 0.05, VAL, color=COLORS["val"], fontsize=TEXT_PT, ha="center", va="top")
        ax.text(0.32, 0.2, TRAIN, color=COLORS["train"], fontsize=TEXT_PT, ha="left", va="bottom")
        ax.text(0.03, 0.13, BAYES, fontsize=SMALL_PT, color="dimgrey", va="top")
        marks["stop"] = float(x[stop])


# --------------------------------------------------------------------------- measured plots
COLORS = {"train": "#1f77b4", "val": "#2ca02c", "test": "#d62728"}
STYLES = {"test": ("o-", TEST), "val": ("^--", VAL), "train": ("s-", TRAIN)}


def _pct(v):
    return 100 * np.asarray(v, dtype=float)


def _measured_axes(ax, top):
    """Error increases upwards from a marked zero; the best possible error as a dashed line."""
    ax.set_ylim(0, top)
    ticks = [t for t in ax.get_yticks() if 0 <= t <= top]
    ax.set_yticks(ticks)
    ax.set_yticklabels([ZERO if t == 0 else f"{t:g}" for t in ticks])
    ax.axhline(100 * BEST_POSSIBLE, color="grey", ls="--", lw=1,
               label=f"{BAYES}, {100 * BEST_POSSIBLE:g} % expected")
    ax.set_ylabel("error rate (%)")
    ax.grid(alpha=0.3)


def _measured_figure(height):
    plt.rcParams.update({"font.size": TEXT_PT, "legend.fontsize": TEXT_PT,
                         "xtick.labelsize": TEXT_PT, "ytick.labelsize": TEXT_PT})
    return plt.subplots(figsize=(FIG_WIDTH, height))


def _finish(fig, ax, ncol, rows):
    """The legend in its own strip of ``rows`` rows above the axes (no curve can run through
    it), then a tight layout below it."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=ncol, frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.08 + 0.17 * rows) / fig.get_figheight()))


def _bands(ax, xs, res, keys, markers=True):
    """Mean over the repetitions (line) and their range (shaded band), per key."""
    for key in keys:
        style, name = STYLES[key]
        ax.fill_between(xs, _pct(res[key + "_error_min"]), _pct(res[key + "_error_max"]),
                        color=COLORS[key], alpha=0.15, lw=0)
        ax.plot(xs, _pct(res[key + "_error_mean"]), style if markers else style.strip("os^"),
                color=COLORS[key], label=name)


def _log_ticks(ax, values, base=10):
    """A log x-axis labelled at exactly ``values`` (no minor ticks)."""
    ax.set_xscale("log", base=base)
    ax.set_xticks(values)
    ax.set_xticklabels([f"{v:,}" for v in values])
    ax.set_xticks([], minor=True)


def plot_sizes(res):
    fig, ax = _measured_figure(MEASURED_HEIGHT)
    n = res["train_sizes"]
    _bands(ax, n, res, ("test", "train"))
    _log_ticks(ax, n)
    ax.set_xlabel("training-set size (digits, log scale)")
    _measured_axes(ax, 100)
    _finish(fig, ax, 2, 2)
    _save(fig, "error_vs_training_size.pdf")


def plot_complexity(res):
    fig, ax = _measured_figure(MEASURED_HEIGHT)
    w = res["hidden_units"]
    _bands(ax, w, res, ("test", "val", "train"))
    ax.axvline(res["chosen_hidden"], color="black", ls=":", lw=1.5, label="least mean validation error")
    _log_ticks(ax, w, base=2)
    ax.set_xlim(w[0] / 1.2, w[-1] * 1.2)
    ax.set_xlabel("model complexity: hidden units (log scale)")
    _measured_axes(ax, 95)
    _finish(fig, ax, 2, 3)
    _save(fig, "error_vs_hidden_units.pdf")


def plot_epochs(res):
    fig, ax = _measured_figure(MEASURED_HEIGHT)
    e = np.arange(1, res["epochs"] + 1)
    _bands(ax, e, res, ("test", "val", "train"), markers=False)
    s = res["stop_epoch"]
    ax.axvline(s, color="black", ls=":", lw=1.5, label="least mean validation error")
    ax.plot([s], [_pct(res["val_error_mean"][s - 1])], "k*", ms=10)
    ax.set_xlim(0, len(e))
    ax.set_xlabel("training epochs")
    top = max(_pct(res["train_error_max"]).max(), _pct(res["test_error_max"]).max()) * 1.05
    _measured_axes(ax, min(100, top))
    _finish(fig, ax, 2, 3)
    _save(fig, "error_vs_epochs.pdf")


# --------------------------------------------------------------------------- numbers for the text
def _pct1(v):
    return f"{100 * v:.1f}"


def _words(values):
    """``[16, 32, 128]`` -> ``"16, 32 or 128"``."""
    values = [f"{v:,}" for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def latex_macros(res):
    """The numbers quoted in theory.tex (errors in percent with one decimal, differences in
    percentage points, counts with a thousands separator), as LaTeX macros."""
    sz, cx, ep = res["size"], res["complexity"], res["epochs"]
    chosen = cx["hidden_units"].index(cx["chosen_hidden"])
    stop = ep["stop_epoch"] - 1
    wide_train = cx["train_error_mean"][chosen:]
    cx_rise = [rep["test_error"][-1] - rep["test_error"][chosen] for rep in cx["repeats"]]
    cx_argmins = sorted({cx["hidden_units"][int(np.argmin(rep["val_error"]))] for rep in cx["repeats"]})
    stops = [rep["stop_epoch"] for rep in ep["repeats"]]
    ep_rise = [rep["test_error"][-1] - rep["test_error"][rep["stop_epoch"] - 1] for rep in ep["repeats"]]
    m = {
        "NDigits": f"{res['n_digits']:,}", "NTest": f"{res['n_test']:,}", "NVal": f"{res['n_val']:,}",
        "NPool": f"{res['n_pool']:,}", "LabelNoise": f"{100 * res['label_noise']:g}",
        "BestPossible": f"{100 * res['best_possible_error']:g}", "NComponents": str(res["n_components"]),
        "InputStd": f"{res['input_std']:g}", "BatchSize": str(res["batch_size"]),
        "LearningRate": f"{res['learning_rate']:g}",
        "WrongPool": _pct1(res["wrong_share"]["pool"]), "WrongVal": _pct1(res["wrong_share"]["val"]),
        "WrongTest": _pct1(res["wrong_share"]["test"]),
        "PlateauEpochs": str(sz["plateau_epochs"]), "PlateauSamples": f"{sz['plateau_samples']:,}",
        "PlateauTol": f"{100 * sz['plateau_tol']:g}",
        "SizeHidden": str(sz["hidden"]), "SizeRepeats": str(len(sz["repeats"])),
        "SizeFirstN": f"{sz['train_sizes'][0]:,}", "SizeLastN": f"{sz['train_sizes'][-1]:,}",
        "SizeFirstTrainErr": _pct1(sz["train_error_mean"][0]), "SizeLastTrainErr": _pct1(sz["train_error_mean"][-1]),
        "SizeFirstTestErr": _pct1(sz["test_error_mean"][0]), "SizeLastTestErr": _pct1(sz["test_error_mean"][-1]),
        "SizeMinEpochs": f"{min(min(r['epochs']) for r in sz['repeats']):,}",
        "SizeMaxEpochs": f"{max(max(r['epochs']) for r in sz['repeats']):,}",
        "SizeFirstWrongMin": str(min(r["wrong_labels"][0] for r in sz["repeats"])),
        "SizeFirstWrongMax": str(max(r["wrong_labels"][0] for r in sz["repeats"])),
        "CxN": f"{cx['n_train']:,}", "CxRepeats": str(len(cx["repeats"])),
        "CxMinEpochs": f"{min(min(r['epochs']) for r in cx['repeats']):,}",
        "CxMaxEpochs": f"{max(max(r['epochs']) for r in cx['repeats']):,}",
        "CxFirst": str(cx["hidden_units"][0]), "CxLargest": str(cx["hidden_units"][-1]),
        "ChosenHidden": str(cx["chosen_hidden"]),
        "CxChosenTestErr": _pct1(cx["test_error_mean"][chosen]),
        "CxChosenValErr": _pct1(cx["val_error_mean"][chosen]),
        "CxFirstTestErr": _pct1(cx["test_error_mean"][0]),
        "CxLargestTestErr": _pct1(cx["test_error_mean"][-1]),
        "CxWideTrainMin": _pct1(min(wide_train)), "CxWideTrainMax": _pct1(max(wide_train)),
        "CxRiseIn": (f"all {len(cx_rise)}" if all(d > 0 for d in cx_rise)
                     else f"{sum(d > 0 for d in cx_rise)} of {len(cx_rise)}"),
        "CxRiseMin": _pct1(min(d for d in cx_rise if d > 0)), "CxRiseMax": _pct1(max(cx_rise)),
        "CxArgmins": _words(cx_argmins),
        "CxChosenPosition": f"{100 * cx['chosen_position']:.0f}",
        "EpN": f"{ep['n_train']:,}", "EpHidden": str(ep["hidden"]), "EpMax": str(ep["epochs"]),
        "EpRepeats": str(len(ep["repeats"])), "StopEpoch": str(ep["stop_epoch"]),
        "StopMin": str(min(stops)), "StopMax": str(max(stops)),
        "StopValErr": _pct1(ep["val_error_mean"][stop]),
        "RiseMin": _pct1(min(ep_rise)), "RiseMax": _pct1(max(ep_rise)),
        "EndTrainErr": _pct1(ep["train_error_mean"][-1]),
    }
    lines = ["% Written by theory/figures.py from figures/results.json; do not edit."]
    lines += [f"\\newcommand{{\\{k}}}{{{v}}}" for k, v in m.items()]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", metavar="PATH", default=None,
                        help="MNIST data to use instead of the embedded 5,000 digits")
    parser.add_argument("--redraw", action="store_true",
                        help="no training: redraw every figure from the recorded figures/results.json")
    args = parser.parse_args(argv)
    if args.redraw:
        draw(json.loads((OUT / "results.json").read_text()))
        print(f"figures redrawn in {OUT} from results.json")
        return
    t0, c0 = time.perf_counter(), time.process_time()
    OUT.mkdir(exist_ok=True)
    data = load_digits(args.mnist)
    print(f"data: {len(data[0])} digits from {data.source}")
    d = prepare(data)
    res = {"data_source": data.source, "n_digits": len(data[0]), "seed": SEED,
           "n_test": N_TEST, "n_val": N_VAL, "n_pool": N_POOL, "n_classes": N_CLASSES,
           "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE, "label_noise": LABEL_NOISE,
           "best_possible_error": BEST_POSSIBLE,
           "wrong_share": {"all": d["wrong_share_all"], **{k: d[k].wrong_share() for k in ("pool", "val", "test")}},
           "n_components": N_COMPONENTS, "input_std": INPUT_STD}
    for name, step in (("size", run_sizes), ("complexity", run_complexity), ("epochs", run_epochs)):
        t = time.perf_counter()
        res[name] = step(d)
        print(f"{name}: {time.perf_counter() - t:.1f} s", flush=True)
    res["run_seconds"] = time.perf_counter() - t0
    res["cpu_seconds"] = time.process_time() - c0
    draw(res)
    print(f"figures written to {OUT} in {res['run_seconds']:.0f} s ({res['cpu_seconds']:.0f} s of CPU time)")


def draw(res):
    """Draw every figure from ``res`` and write results.json and results.tex."""
    sketch_size()
    sketch_complexity()
    sketch_epochs()
    plot_sizes(res["size"])
    plot_complexity(res["complexity"])
    plot_epochs(res["epochs"])
    res["sketches"] = SKETCHES
    res["layout"] = LAYOUT
    (OUT / "results.json").write_text(json.dumps(res, indent=1) + "\n")
    (OUT / "results.tex").write_text(latex_macros(res))


if __name__ == "__main__":
    main()
