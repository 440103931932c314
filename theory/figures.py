"""Figures of theory.tex, Section 1.3: three sketches (the answers) and three measured
figures (the evidence, Appendix A).

**Sketches**: idealised curves of the typical behaviour, drawn with matplotlib's hand-drawn
style; no data.  Every sketch uses the same words: ``training error``, ``test error``,
``validation error``, the dashed grey ``best possible error (Bayes error)`` and the marked
``0 (zero error)``.

**Measured figures**: the training runs of ``experiments.py`` (its docstring describes the
data, the label noise and the repetitions), drawn as the mean and range of the repetitions.

Writes into ``figures/``: ``sketch_size.pdf``, ``sketch_complexity.pdf``,
``sketch_epochs.pdf``, ``error_vs_training_size.pdf``, ``error_vs_hidden_units.pdf``,
``error_vs_epochs.pdf``, ``results.json`` (every measured number, the sketches' curves and
labels, the data source and the run time) and ``results.tex`` (the numbers quoted in the
text, as LaTeX macros).  Run: ``python theory/figures.py [--mnist PATH]`` (about 1.5 minutes on
2 cores; ``results.json`` records the run time), or ``--redraw`` to redraw every figure
from the recorded ``results.json`` without training.
"""

import argparse
import contextlib
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import experiments  # noqa: E402
from experiments import BEST_POSSIBLE  # noqa: E402

OUT = HERE / "figures"

# Every text is drawn at the size it is printed: theory.tex includes the figures unscaled.
TEXT_PT = 9
SMALL_PT = 8
FIG_WIDTH = 6.3  # inches; the text width of theory.tex is 16.2 cm = 6.38 in
SKETCH_HEIGHT, MEASURED_HEIGHT = 1.85, 2.75
PDF_METADATA = {"CreationDate": None, "Creator": None, "Producer": None}

# The words of the figures, one spelling each (theory.tex uses the same; tests compare).
TRAIN, VAL, TEST = "training error", "validation error", "test error"
BAYES = "best possible error (Bayes error)"
BAYES_BOUND = "lower bound of the Bayes error"  # the measured figures' dashed line (Appendix A)
ZERO = "0 (zero error)"
Y_LABEL = "error rate\n(increasing upwards)"


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
        for label, values in curves.items():  # the noisy validation curve thin, under the test curve
            key = {TRAIN: "train", VAL: "val", TEST: "test"}[label]
            ax.plot(x, values, color=COLORS[key], lw=1.6 if key == "val" else 2, ls="--" if key == "val" else "-",
                    zorder=2 if key == "val" else 3, label=label)
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
        ax.text(0.98, bayes - 0.06, BAYES, ha="right", va="top", fontsize=SMALL_PT, color="dimgrey")
        ax.text(0.1, 0.78, TEST, color=COLORS["test"], fontsize=TEXT_PT)
        ax.text(0.3, 0.04, TRAIN, color=COLORS["train"], fontsize=TEXT_PT)
        i = int(np.searchsorted(x, 0.3))  # where the gap is wide enough for a legible arrow
        ax.annotate("", xy=(x[i], test[i]), xytext=(x[i], train[i]),
                    arrowprops={"arrowstyle": "<|-|>,head_length=0.5,head_width=0.25", "color": "black", "lw": 1.2,
                                "shrinkA": 0, "shrinkB": 0})
        ax.text(x[i] + 0.02, (train[i] + test[i]) / 2, "gap: shrinks as\nthe set grows", fontsize=SMALL_PT,
                ha="left", va="center")
        marks["gap_arrow"] = {"x": float(x[i]), "from": float(train[i]), "to": float(test[i])}


def sketch_complexity():
    x = np.linspace(0, 1, 200)
    train = 0.72 * np.exp(-3.2 * x)
    test = train + 0.12 + 0.55 * x**2
    best = x[np.argmin(test)]
    bayes = 0.15
    with _sketch("sketch_complexity.pdf", "model complexity (increasing rightwards)", x,
                 {TEST: test, TRAIN: train}, bayes) as (ax, marks):
        ax.axvline(best, color="black", ls=":", lw=1.5)
        ax.text(best + 0.01, 0.95, "most complex model\nthe data support", fontsize=SMALL_PT, va="top")
        ax.text(0.72, 0.62, TEST, color=COLORS["test"], fontsize=TEXT_PT, ha="center")
        ax.text(0.56, 0.2, TRAIN, color=COLORS["train"], fontsize=TEXT_PT, ha="center", va="bottom")
        ax.text(0.03, bayes - 0.02, BAYES, fontsize=SMALL_PT, color="dimgrey", va="top")
        ax.text(0.2, 0.64, "underfitting\n(high bias)", fontsize=SMALL_PT, ha="center", va="bottom")
        ax.text(0.82, 0.22, "overfitting\n(high variance)", fontsize=SMALL_PT, ha="center", va="bottom")
        marks["line"] = float(best)


def sketch_epochs():
    x = np.linspace(0, 1, 200)
    train = 0.75 * np.exp(-4.5 * x) + 0.02
    test = 0.75 * np.exp(-5.5 * x) + 0.2 + 0.28 * x**2
    wiggle = 0.035 * np.sin(29 * x) + 0.018 * np.sin(67 * x + 1)
    val = test + wiggle  # a finite validation set: a noisy, unbiased estimate of the test error
    stop = int(np.argmin(val))
    with _sketch("sketch_epochs.pdf", "training epochs (increasing rightwards)", x,
                 {TEST: test, VAL: val, TRAIN: train}, 0.15) as (ax, marks):
        ax.axvline(x[stop], color="black", ls=":", lw=1.5)
        ax.plot([x[stop]], [val[stop]], "k*", ms=12)
        ax.annotate("early stopping: keep the\nweights of the epoch with\nthe least validation error",
                    xy=(x[stop], val[stop]), xytext=(x[stop] + 0.04, 0.64), va="bottom",
                    fontsize=SMALL_PT, arrowprops={"arrowstyle": "->", "lw": 1, "shrinkB": 6})
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
               label=f"{BAYES_BOUND}: {100 * BEST_POSSIBLE:g} % wrong labels expected")
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


def _words(values, last="or"):
    """``[16, 32, 128]`` -> ``"16, 32 or 128"`` (numbers with a thousands separator, text as it is)."""
    values = [v if isinstance(v, str) else f"{v:,}" for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + f" {last} " + values[-1]


def _signed(v):
    """A difference in percentage points with its sign: ``$-$4.3``, ``$+$5.7``."""
    return ("$-$" if v < 0 else "$+$") + _pct1(abs(v))


def fit_to_wrong_labels(cx):
    """Per width of the complexity sweep: "above" if the training error exceeds the share of
    wrong labels of the training draw in every repetition (so digits with right labels are
    missed), "below" if it is under that share in every repetition (so some wrong labels are
    predicted), else "mixed"."""
    out = []
    for w in range(len(cx["hidden_units"])):
        sides = {rep["train_error"][w] > rep["wrong_share_train"] for rep in cx["repeats"]}
        out.append("mixed" if len(sides) > 1 else "above" if sides == {True} else "below")
    return out


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
    pat_change = [rep["test_error"][rep["patience_kept"] - 1] - rep["test_error"][-1] for rep in ep["repeats"]]
    sides = fit_to_wrong_labels(cx)
    noise_from = next(i for i in range(len(sides)) if all(v == "below" for v in sides[i:]))
    wrong = [rep["wrong_share_train"] for rep in cx["repeats"]]
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
        "CxUnderfit": _words([w for w, side in zip(cx["hidden_units"], sides) if side == "above"], "and"),
        "CxNoiseFrom": f"{cx['hidden_units'][noise_from]:,}",
        "CxWrongMin": _pct1(min(wrong)), "CxWrongMax": _pct1(max(wrong)),
        "EpN": f"{ep['n_train']:,}", "EpHidden": str(ep["hidden"]), "EpMax": str(ep["epochs"]),
        "EpRepeats": str(len(ep["repeats"])), "StopEpoch": str(ep["stop_epoch"]),
        "StopMin": str(min(stops)), "StopMax": str(max(stops)),
        "StopValErr": _pct1(ep["val_error_mean"][stop]),
        "RiseMin": _pct1(min(ep_rise)), "RiseMax": _pct1(max(ep_rise)),
        "EndTrainErr": _pct1(ep["train_error_mean"][-1]),
        "Patience": str(ep["patience"]),
        "PatStopMin": str(min(rep["patience_stop"] for rep in ep["repeats"])),
        "PatStopMax": str(max(rep["patience_stop"] for rep in ep["repeats"])),
        "PatKeptMin": str(min(rep["patience_kept"] for rep in ep["repeats"])),
        "PatKeptMax": str(max(rep["patience_kept"] for rep in ep["repeats"])),
        "PatChanges": _words([_signed(v) for v in pat_change], "and"),
        "PatChangeMean": _signed(float(np.mean(pat_change))),
        "PatBetterIn": (f"all {len(pat_change)}" if all(v < 0 for v in pat_change)
                        else f"{sum(v < 0 for v in pat_change)} of {len(pat_change)}"),
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
    OUT.mkdir(exist_ok=True)
    res = experiments.measure(args.mnist)
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
