"""Theory checks of 1.3: the sketches and the measured curves of Appendix A against
figures/results.json."""

import math
import re

import numpy as np
import pytest

from theory_tex import block
from theory_doc import FIGURES, RESULTS, THEORY, _body, _chosen, _flat, _module


# =========================================================================== 1.3: the sketches
SKETCHES = RESULTS["sketches"]


def _curve(sketch, label):
    return np.array(SKETCHES[sketch]["curves"][label])


def _direction(values):
    d = np.diff(values)
    return "rises" if np.all(d > 0) else "falls" if np.all(d < 0) else "neither"


def _u_shaped(values):
    i = int(np.argmin(values))
    return 0 < i < len(values) - 1 and np.all(np.diff(values[:i + 1]) <= 1e-9) and values[-1] > values[i] + 0.05


def _noisy_u(values, smooth=15):
    """Falls, reaches a minimum inside and rises, after a moving average (the validation
    curve is noisy on purpose)."""
    v = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
    i = int(np.argmin(v))
    return 0 < i < len(v) - 1 and v[0] > v[i] + 0.1 and v[-1] > v[i] + 0.05


def _diminishing(values, part=50):
    """Steep first, flat last: the mean step of the first ``part`` points is over three times
    that of the last."""
    steps = np.abs(np.diff(values))
    return np.mean(steps[:part]) > 3 * np.mean(steps[-part:])


def _arrow_spans_gap(sketch):
    """The gap arrow runs from the training curve to the test curve at its x."""
    arrow = sketch["marks"]["gap_arrow"]
    ends = [np.interp(arrow["x"], sketch["x"], sketch["curves"][label]) for label in ("training error", "test error")]
    return np.allclose([arrow["from"], arrow["to"]], ends, atol=1e-3)


SIZE, CX, EP = "sketch_size.pdf", "sketch_complexity.pdf", "sketch_epochs.pdf"
# Each sentence (a regex on the flattened source, direction words captured) and its test on
# the recorded sketch: a direction word must be the one the curve shows.
SKETCH_CLAIMS = [
    (r"The \\emph\{training error (rises|falls)\} with the training-set size",
     lambda w: w == _direction(_curve(SIZE, "training error"))),
    (r"a few points can be fitted exactly \(zero training error\)",
     lambda: _curve(SIZE, "training error")[0] < 0.03),
    (r"The \\emph\{test error (rises|falls)\} with the training-set size, quickly at first, then\s+with "
     r"diminishing returns",
     lambda w: w == _direction(_curve(SIZE, "test error")) and _diminishing(_curve(SIZE, "test error"))),
    (r"The test error stays above the training error, and the gap between them shrinks",
     lambda: (np.all(_curve(SIZE, "test error") > _curve(SIZE, "training error"))
              and _direction(_curve(SIZE, "test error") - _curve(SIZE, "training error")) == "falls")),
    (r"both approach a common level, the best error this model can reach, at or above the Bayes error",
     lambda: (min(_curve(SIZE, "training error")[-1], _curve(SIZE, "test error")[-1]) >= SKETCHES[SIZE]["bayes"]
              and (_curve(SIZE, "test error") - _curve(SIZE, "training error"))[-1]
              < 0.25 * (_curve(SIZE, "test error") - _curve(SIZE, "training error"))[0])),
    (r"the arrow the gap between them", lambda: _arrow_spans_gap(SKETCHES[SIZE])),
    (r"The \\emph\{training error (rises|falls)\} as the model becomes more complex, towards zero",
     lambda w: w == _direction(_curve(CX, "training error")) and _curve(CX, "training error")[-1] < 0.05),
    (r"The \\emph\{test error falls, reaches a minimum and\s+rises\}", lambda: _u_shaped(_curve(CX, "test error"))),
    (r"The most complex model the data support sits at\s+the minimum of the test error \(vertical line\); the "
     r"\$x\$-range puts it in the middle",
     lambda: (np.isclose(SKETCHES[CX]["marks"]["line"], SKETCHES[CX]["x"][int(np.argmin(_curve(CX, "test error")))], atol=1e-3)
              and 1 / 3 <= SKETCHES[CX]["marks"]["line"] <= 2 / 3)),
    (r"The \\emph\{training error (rises|falls)\} with the epochs",
     lambda w: w == _direction(_curve(EP, "training error"))),
    (r"The \\emph\{validation and test errors fall,\s+reach a minimum and rise\}",
     lambda: _u_shaped(_curve(EP, "test error")) and _noisy_u(_curve(EP, "validation error"))),
    (r"The validation error scatters around the test error, without an offset",
     lambda: (abs(np.mean(_curve(EP, "validation error") - _curve(EP, "test error"))) < 0.005
              and np.any(_curve(EP, "validation error") > _curve(EP, "test error"))
              and np.any(_curve(EP, "validation error") < _curve(EP, "test error")))),
    (r"the star and the dotted line mark the epoch with\s+the least validation error",
     lambda: np.isclose(SKETCHES[EP]["marks"]["stop"], SKETCHES[EP]["x"][int(np.argmin(_curve(EP, "validation error")))],
                        atol=1e-3)),
]


def check_sketch_answers(doc):
    flat = _flat(doc.tex)
    for pattern, holds in SKETCH_CLAIMS:
        m = re.search(pattern, flat)
        assert m, f"theory.tex no longer says: {pattern!r}"
        assert holds(*m.groups()), f"the sketch contradicts: {m.group(0)!r}"


def check_sketch_figures(doc):
    """Every sketch: zero marked (its only number), the axis words, the same curve names as
    the text, the dashed Bayes line labelled alike; each caption says how to read it."""
    figures = _module("theory_figures", THEORY / "figures.py")
    for name, sketch in SKETCHES.items():
        texts = set(sketch["texts"])
        assert {figures.ZERO, figures.Y_LABEL, figures.BAYES, figures.TRAIN, figures.TEST} <= texts, name
        assert any(t.endswith("(increasing rightwards)") for t in texts), name
        assert [t for t in texts if re.search(r"\d", t)] == [figures.ZERO], f"{name}: numbers other than the zero"
    assert figures.VAL in SKETCHES[EP]["texts"]
    for label in ("sketch-size", "sketch-complexity", "sketch-epochs"):
        caption = re.search(r"\\caption\{((?:[^{}]|\{[^{}]*\})*)\}\s*\\label\{fig:" + label + r"\}", doc.tex).group(1)
        assert "Read it" in caption and "dashed grey: the best possible error (Bayes error)" in _flat(caption), label


def check_dashed_line_meaning(doc):
    """One meaning for the dashed grey line: the best possible error (Bayes error)."""
    flat = _flat(_body(doc.tex))
    for m in re.finditer(r"dashed grey", flat):
        assert re.match(r"dashed grey(:| line is| line,)? (the )?best possible error \(Bayes error\)", flat[m.start():]), \
            flat[m.start():m.start() + 80]
    figures = _module("theory_figures", THEORY / "figures.py")
    for name, report in RESULTS["layout"].items():
        if name.startswith("error_vs"):
            assert f"{figures.BAYES}, {100 * RESULTS['best_possible_error']:g} % expected" in report["texts"], name


# =========================================================================== 1.3: the measured curves (Appendix A)
def _pct1(v):
    return f"{100 * v:.1f}"


def _macro_values(r):
    """The value each number macro of theory.tex must have, computed here from results.json
    (independently of figures.latex_macros)."""
    sz, cx, ep = r["size"], r["complexity"], r["epochs"]
    ci = cx["hidden_units"].index(cx["chosen_hidden"])
    sizes_reps, cx_reps, ep_reps = sz["repeats"], cx["repeats"], ep["repeats"]
    mean = lambda reps, key: np.mean([rep[key] for rep in reps], axis=0)  # noqa: E731
    cx_rise = [rep["test_error"][-1] - rep["test_error"][ci] for rep in cx_reps]
    stops = [int(np.argmin(rep["val_error"])) + 1 for rep in ep_reps]
    ep_rise = [rep["test_error"][-1] - rep["test_error"][s - 1] for rep, s in zip(ep_reps, stops)]
    argmins = sorted({cx["hidden_units"][int(np.argmin(rep["val_error"]))] for rep in cx_reps})
    stop = int(np.argmin(mean(ep_reps, "val_error"))) + 1
    wide = mean(cx_reps, "train_error")[ci:]
    widths = cx["hidden_units"]
    return {
        "NDigits": f"{r['n_digits']:,}", "NTest": f"{r['n_test']:,}", "NVal": f"{r['n_val']:,}",
        "NPool": f"{r['n_pool']:,}", "LabelNoise": f"{100 * r['label_noise']:g}",
        "BestPossible": f"{100 * r['label_noise'] * (r['n_classes'] - 1) / r['n_classes']:g}",
        "NComponents": str(r["n_components"]), "InputStd": f"{r['input_std']:g}",
        "BatchSize": str(r["batch_size"]), "LearningRate": f"{r['learning_rate']:g}",
        "WrongPool": _pct1(r["wrong_share"]["pool"]), "WrongVal": _pct1(r["wrong_share"]["val"]),
        "WrongTest": _pct1(r["wrong_share"]["test"]),
        "PlateauEpochs": str(sz["plateau_epochs"]), "PlateauSamples": f"{sz['plateau_samples']:,}",
        "PlateauTol": f"{100 * sz['plateau_tol']:g}", "SizeHidden": str(sz["hidden"]),
        "SizeRepeats": str(len(sizes_reps)), "SizeFirstN": f"{sz['train_sizes'][0]:,}",
        "SizeLastN": f"{sz['train_sizes'][-1]:,}",
        "SizeFirstTrainErr": _pct1(mean(sizes_reps, "train_error")[0]),
        "SizeLastTrainErr": _pct1(mean(sizes_reps, "train_error")[-1]),
        "SizeFirstTestErr": _pct1(mean(sizes_reps, "test_error")[0]),
        "SizeLastTestErr": _pct1(mean(sizes_reps, "test_error")[-1]),
        "SizeMinEpochs": f"{min(min(rep['epochs']) for rep in sizes_reps):,}",
        "SizeMaxEpochs": f"{max(max(rep['epochs']) for rep in sizes_reps):,}",
        "SizeFirstWrongMin": str(min(rep["wrong_labels"][0] for rep in sizes_reps)),
        "SizeFirstWrongMax": str(max(rep["wrong_labels"][0] for rep in sizes_reps)),
        "CxN": f"{cx['n_train']:,}", "CxRepeats": str(len(cx_reps)),
        "CxMinEpochs": f"{min(min(rep['epochs']) for rep in cx_reps):,}",
        "CxMaxEpochs": f"{max(max(rep['epochs']) for rep in cx_reps):,}",
        "CxFirst": str(cx["hidden_units"][0]), "CxLargest": str(cx["hidden_units"][-1]),
        "ChosenHidden": str(cx["hidden_units"][int(np.argmin(mean(cx_reps, "val_error")))]),
        "CxChosenTestErr": _pct1(mean(cx_reps, "test_error")[ci]),
        "CxChosenValErr": _pct1(mean(cx_reps, "val_error")[ci]),
        "CxFirstTestErr": _pct1(mean(cx_reps, "test_error")[0]),
        "CxLargestTestErr": _pct1(mean(cx_reps, "test_error")[-1]),
        "CxWideTrainMin": _pct1(min(wide)), "CxWideTrainMax": _pct1(max(wide)),
        "CxRiseIn": (f"all {len(cx_rise)}" if min(cx_rise) > 0 else f"{sum(d > 0 for d in cx_rise)} of {len(cx_rise)}"),
        "CxRiseMin": _pct1(min(d for d in cx_rise if d > 0)), "CxRiseMax": _pct1(max(cx_rise)),
        "CxArgmins": ", ".join(f"{v:,}" for v in argmins[:-1]) + (" or " if len(argmins) > 1 else "") + f"{argmins[-1]:,}",
        "CxChosenPosition": f"{100 * math.log(cx['chosen_hidden'] / widths[0]) / math.log(widths[-1] / widths[0]):.0f}",
        "EpN": f"{ep['n_train']:,}", "EpHidden": str(ep["hidden"]), "EpMax": str(len(ep_reps[0]["train_error"])),
        "EpRepeats": str(len(ep_reps)), "StopEpoch": str(stop), "StopMin": str(min(stops)), "StopMax": str(max(stops)),
        "StopValErr": _pct1(mean(ep_reps, "val_error")[stop - 1]),
        "RiseMin": _pct1(min(ep_rise)), "RiseMax": _pct1(max(ep_rise)),
        "EndTrainErr": _pct1(mean(ep_reps, "train_error")[-1]),
    }


MACROS = _macro_values(RESULTS)


def _results_tex_macros():
    text = (FIGURES / "results.tex").read_text()
    return dict(re.findall(r"\\newcommand\{\\(\w+)\}\{([^}]*)\}", text))


def check_macros(doc):
    """Every number macro used in the text has the value computed here from results.json,
    and results.tex defines exactly the macros the text uses."""
    defined = _results_tex_macros()
    used = set(re.findall(r"\\([A-Z]\w+)", _body(doc.tex))) & set(defined)
    assert used == set(defined), f"defined but unused: {sorted(set(defined) - used)}"
    assert set(MACROS) == set(defined), f"not checked here: {sorted(set(defined) ^ set(MACROS))}"
    for name, value in MACROS.items():
        assert defined[name] == value, f"\\{name} is {defined[name]!r}, results.json gives {value!r}"


def _reps(r, part):
    return r[part]["repeats"]


# Each sentence of Appendix A that describes data (flattened source, macros as written) and
# what it claims of results.json.
CLAIMS = {
    "The training error never falls from one size to the next in any repetition":
        lambda r: all(np.all(np.diff(rep["train_error"]) >= 0) and rep["train_error"][-1] > rep["train_error"][0]
                      for rep in _reps(r, "size")),
    "its mean rises from \\SizeFirstTrainErr\\,\\% with \\SizeFirstN{} digits to \\SizeLastTrainErr\\,\\% with \\SizeLastN{}":
        lambda r: r["size"]["train_error_mean"][-1] > r["size"]["train_error_mean"][0],
    "The test error falls at every step of the size in every repetition":
        lambda r: all(np.all(np.diff(rep["test_error"]) < 0) for rep in _reps(r, "size")),
    "and it is above the training error at every size":
        lambda r: all(np.all(np.array(rep["test_error"]) > np.array(rep["train_error"])) for rep in _reps(r, "size")),
    "digits the training error is zero in every repetition although \\SizeFirstWrongMin{} to "
    "\\SizeFirstWrongMax{} of their labels are wrong":
        lambda r: all(rep["train_error"][0] == 0 and rep["wrong_labels"][0] > 0 for rep in _reps(r, "size")),
    "At \\SizeLastN{} digits the mean curves are still apart":
        lambda r: r["size"]["test_error_mean"][-1] - r["size"]["train_error_mean"][-1] > 0.03,
    "every size trained to its plateau":
        lambda r: all(all(rep["stopped_at_plateau"]) for rep in _reps(r, "size")),
    "every width trained to its plateau":
        lambda r: all(all(rep["stopped_at_plateau"]) for rep in _reps(r, "complexity")),
    "by less than \\PlateauTol{} percentage points":
        lambda r: r["size"]["plateau_tol"] == 0.005,
    "The least mean validation error, \\CxChosenValErr\\,\\%, is at \\ChosenHidden{} units":
        lambda r: r["complexity"]["chosen_hidden"]
        == r["complexity"]["hidden_units"][int(np.argmin(r["complexity"]["val_error_mean"]))],
    "the line sits \\CxChosenPosition\\,\\% of the way along the axis":
        lambda r: 0.2 <= r["complexity"]["chosen_position"] <= 0.8,
    "Left of it the networks underfit: the mean training and test errors both fall as units are added":
        lambda r: all(np.all(np.diff(r["complexity"][k][:_chosen(r) + 1]) < 0) for k in ("train_error_mean", "test_error_mean")),
    "(chance level)":
        lambda r: abs(r["complexity"]["test_error_mean"][0] - 0.9) < 0.02,
    "from \\ChosenHidden{} units on the mean training error stays between \\CxWideTrainMin\\,\\% and \\CxWideTrainMax\\,\\%":
        lambda r: np.ptp(r["complexity"]["train_error_mean"][_chosen(r):]) < 0.02
        and r["complexity"]["train_error_mean"][_chosen(r)] < r["complexity"]["train_error_mean"][0] - 0.5,
    "and the mean test error rises only to \\CxLargestTestErr\\,\\% with \\CxLargest{} units":
        lambda r: 0 < r["complexity"]["test_error_mean"][-1] - r["complexity"]["test_error_mean"][
            r["complexity"]["hidden_units"].index(r["complexity"]["chosen_hidden"])] < 0.05,
    "It is higher with \\CxLargest{} than with \\ChosenHidden{} units in \\CxRiseIn{} repetitions":
        lambda r: any(rep["test_error"][-1] > rep["test_error"][_chosen(r)] for rep in _reps(r, "complexity")),
    "these data locate the most complex model they support only roughly":
        lambda r: len({int(np.argmin(rep["val_error"])) for rep in _reps(r, "complexity")}) > 1,
    "The mean validation error is least at epoch \\StopEpoch{}":
        lambda r: r["epochs"]["stop_epoch"] == int(np.argmin(r["epochs"]["val_error_mean"])) + 1,
    "In every repetition the test error after \\EpMax{} epochs is higher than at that repetition's own stopping epoch":
        lambda r: all(rep["test_error"][-1] > rep["test_error"][rep["stop_epoch"] - 1] for rep in _reps(r, "epochs")),
    "while its training error is lower":
        lambda r: all(rep["train_error"][-1] < rep["train_error"][rep["stop_epoch"] - 1] for rep in _reps(r, "epochs")),
    "Early stopping thus returns weights with less test error in every repetition":
        lambda r: all(rep["test_error"][rep["stop_epoch"] - 1] < rep["test_error"][-1] for rep in _reps(r, "epochs")),
    "the gain is small here because the held-out errors level off instead of rising steeply":
        lambda r: 0 < max(rep["test_error"][-1] - rep["test_error"][rep["stop_epoch"] - 1] for rep in _reps(r, "epochs")) < 0.05,
}


def check_measured_claims(doc):
    flat = _flat(doc.tex)
    for sentence, holds in CLAIMS.items():
        assert sentence in flat, f"theory.tex no longer says: {sentence!r}"
        assert holds(RESULTS), f"results.json contradicts: {sentence!r}"


def check_best_possible(doc):
    """``noise % x (K-1)/K = best %``: the expected share of wrong labels."""
    text = block(doc.tex, "best-possible", math_only=False)
    m = re.fullmatch(r"\s*\$\\LabelNoise\\,\\% \\times (\d+)/(\d+) = \\BestPossible\\,\\%\$\s*", text)
    assert m, f"unreadable: {text!r}"
    k = RESULTS["n_classes"]
    assert (int(m.group(1)), int(m.group(2))) == (k - 1, k), "a random class is wrong (K-1)/K of the time"
    assert float(MACROS["LabelNoise"]) * int(m.group(1)) / int(m.group(2)) == float(MACROS["BestPossible"])
    assert RESULTS["best_possible_error"] == pytest.approx(RESULTS["label_noise"] * (k - 1) / k)
