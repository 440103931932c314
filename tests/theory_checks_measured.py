"""Theory checks of Appendix A: every number macro, every sentence that describes data and
the stated lower bound of the Bayes error, against figures/results.json."""

import math
import re

import numpy as np
import pytest

from theory_tex import block
from theory_doc import FIGURES, RESULTS, _body, _chosen, _flat


def _pct1(v):
    return f"{100 * v:.1f}"


def _signed(v):
    return ("$-$" if v < 0 else "$+$") + _pct1(abs(v))


def _listed(values):
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def _patience_rule(val_error, patience):
    """1.3.3's procedure, read here on its own: after each epoch keep the weights if the
    validation error is the least so far; stop when that has not happened for ``patience``
    epochs.  Returns (the epoch training stops after, the epoch whose weights are kept)."""
    least, kept = val_error[0], 1
    for epoch in range(2, len(val_error) + 1):
        if val_error[epoch - 1] < least:
            least, kept = val_error[epoch - 1], epoch
        if epoch - kept == patience:
            return epoch, kept
    return len(val_error), kept


def _side(cx, w):
    """Per width: training error above (True) or below (False) the wrong-label share of its
    draw in every repetition, or None if the repetitions disagree."""
    sides = {rep["train_error"][w] > rep["wrong_share_train"] for rep in cx["repeats"]}
    return sides.pop() if len(sides) == 1 else None


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
    rules = [_patience_rule(rep["val_error"], ep["patience"]) for rep in ep_reps]
    changes = [rep["test_error"][kept - 1] - rep["test_error"][-1] for rep, (_, kept) in zip(ep_reps, rules)]
    below = [all(_side(cx, v) is False for v in range(w, len(widths))) for w in range(len(widths))]
    wrong = [rep["wrong_share_train"] for rep in cx_reps]
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
        "CxUnderfit": _listed([f"{w:,}" for i, w in enumerate(widths) if _side(cx, i) is True]),
        "CxNoiseFrom": f"{widths[below.index(True)]:,}",
        "CxWrongMin": _pct1(min(wrong)), "CxWrongMax": _pct1(max(wrong)),
        "Patience": str(ep["patience"]),
        "PatStopMin": str(min(s for s, _ in rules)), "PatStopMax": str(max(s for s, _ in rules)),
        "PatKeptMin": str(min(k for _, k in rules)), "PatKeptMax": str(max(k for _, k in rules)),
        "PatChanges": _listed([_signed(c) for c in changes]), "PatChangeMean": _signed(float(np.mean(changes))),
        "PatBetterIn": (f"all {len(changes)}" if min(changes) < 0 and max(changes) < 0
                        else f"{sum(c < 0 for c in changes)} of {len(changes)}"),
    }


MACROS = _macro_values(RESULTS)
TRAIN_BLOCK = 20  # epochs per block in the claim that the training error keeps falling


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
def _seeds_differ(reps):
    return len({rep["seed"] for rep in reps}) == len(reps)


def _pat_changes(r):
    ep = r["epochs"]
    return [rep["test_error"][_patience_rule(rep["val_error"], ep["patience"])[1] - 1] - rep["test_error"][-1]
            for rep in ep["repeats"]]


def _cx_sides(r):
    return [_side(r["complexity"], w) for w in range(len(r["complexity"]["hidden_units"]))]


# Each sentence of Appendix A that describes data (flattened source, macros as written) and
# what it claims of results.json.
CLAIMS = {
    "Every experiment is repeated, with other initial weights and other training digits as each caption says":
        lambda r: all(_seeds_differ(_reps(r, part)) for part in ("size", "complexity", "epochs")),
    "each with its own initial weights and nested training sets, the first digits of its own order of the pool: "
    "with all \\SizeLastN{} digits they train on the same set":
        lambda r: (_seeds_differ(_reps(r, "size")) and r["size"]["train_sizes"][-1] == r["n_pool"]
                   and all(np.all(np.diff(rep["wrong_labels"]) >= 0) for rep in _reps(r, "size"))
                   and len({rep["wrong_labels"][0] for rep in _reps(r, "size")}) > 1
                   and len({rep["wrong_labels"][-1] for rep in _reps(r, "size")}) == 1),
    "each with its own draw of training and validation digits from pool and validation set and its own initial weights":
        lambda r: (_seeds_differ(_reps(r, "complexity"))
                   and len({(rep["wrong_share_train"], rep["wrong_share_val"]) for rep in _reps(r, "complexity")})
                   == len(_reps(r, "complexity"))),
    "each with its own draw of training digits from the pool and its own initial weights":
        lambda r: _seeds_differ(_reps(r, "epochs")) and len({rep["wrong_share_train"] for rep in _reps(r, "epochs")}) > 1,
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
    "Left of it the mean test error falls as units are added":
        lambda r: np.all(np.diff(r["complexity"]["test_error_mean"][:_chosen(r) + 1]) < 0),
    "(chance level)":
        lambda r: abs(r["complexity"]["test_error_mean"][0] - 0.9) < 0.02,
    "With \\CxUnderfit{} units the training error is above the share of wrong labels in the training draw "
    "(\\CxWrongMin\\,\\% to \\CxWrongMax\\,\\%) in every repetition: these networks miss digits whose labels are right, "
    "they underfit":
        lambda r: True in _cx_sides(r) and max(i for i, v in enumerate(_cx_sides(r)) if v is True) < _chosen(r),
    "units on it is below that share in every repetition: the networks predict some of the wrong labels, they fit "
    "noise, although the test error still falls up to the line":
        lambda r: (False in _cx_sides(r) and (first := _cx_sides(r).index(False)) < _chosen(r)
                   and all(v is False for v in _cx_sides(r)[first:])
                   and np.all(np.diff(r["complexity"]["test_error_mean"][first:_chosen(r) + 1]) < 0)),
    "Right of the line the picture is flatter than the sketch: the mean training error stays between "
    "\\CxWideTrainMin\\,\\% and \\CxWideTrainMax\\,\\%":
        lambda r: np.ptp(r["complexity"]["train_error_mean"][_chosen(r):]) < 0.02
        and r["complexity"]["train_error_mean"][_chosen(r)] < r["complexity"]["train_error_mean"][0] - 0.5,
    "and the mean test error rises only to \\CxLargestTestErr\\,\\% with \\CxLargest{} units":
        lambda r: 0 < r["complexity"]["test_error_mean"][-1] - r["complexity"]["test_error_mean"][_chosen(r)] < 0.05,
    "It is higher with \\CxLargest{} than with \\ChosenHidden{} units in \\CxRiseIn{} repetitions":
        lambda r: any(rep["test_error"][-1] > rep["test_error"][_chosen(r)] for rep in _reps(r, "complexity")),
    "these data locate the most complex model they support only roughly":
        lambda r: len({int(np.argmin(rep["val_error"])) for rep in _reps(r, "complexity")}) > 1,
    "The training error keeps falling: its mean over each block of 20 epochs is below the block before "
    "(\\EndTrainErr\\,\\% after \\EpMax{} epochs)":
        lambda r: np.all(np.diff(np.mean(np.reshape(r["epochs"]["train_error_mean"], (-1, TRAIN_BLOCK)), axis=1)) < 0),
    "The mean validation error is least at epoch \\StopEpoch{}":
        lambda r: r["epochs"]["stop_epoch"] == int(np.argmin(r["epochs"]["val_error_mean"])) + 1,
    "Early stopping as 1.3.3 applies it, with a patience of \\Patience{} epochs, stops the repetitions at epochs "
    "\\PatStopMin{} to \\PatStopMax{} and returns the weights of epochs \\PatKeptMin{} to \\PatKeptMax{}":
        lambda r: all((rep["patience_stop"], rep["patience_kept"]) == _patience_rule(rep["val_error"], r["epochs"]["patience"])
                      for rep in _reps(r, "epochs")),
    "Early stopping thus lowers the test error in \\PatBetterIn{} repetitions; the held-out errors rise only slowly "
    "after their minimum":
        lambda r: (any(c < 0 for c in _pat_changes(r))
                   and all(0 < r["epochs"][k][-1] - min(r["epochs"][k]) < 0.05 for k in ("test_error_mean", "val_error_mean"))),
    "there the test error is lower than after \\EpMax{} epochs in every repetition":
        lambda r: all(rep["test_error"][rep["stop_epoch"] - 1] < rep["test_error"][-1] for rep in _reps(r, "epochs")),
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
    m = re.search(r"the dashed grey line\. It is an? (lower|upper) bound of the Bayes error of these data, which it "
                  r"equals only if the true class of every digit can be told from the network's inputs\.", _flat(doc.tex))
    assert m, "what the dashed line is, against the Bayes error"
    # The Bayes error of labels with noise q, at an input whose true class has posterior p:
    # 1 - max_k((1 - q) p_k + q / K).  Random posteriors, and sure ones (one-hot).
    q, bound = RESULTS["label_noise"], RESULTS["best_possible_error"]
    rng = np.random.default_rng(19)
    posteriors = np.concatenate([rng.dirichlet(np.full(k, a), size=200) for a in (0.05, 0.5, 5)] + [np.eye(k)])
    bayes = 1 - np.max((1 - q) * posteriors + q / k, axis=1)
    sure, unsure = posteriors.max(axis=1) == 1, posteriors.max(axis=1) < 1 - 1e-9
    if m.group(1) == "lower":
        assert np.all(bayes >= bound - 1e-12), "the line is a lower bound of the Bayes error"
    else:
        assert np.all(bayes <= bound + 1e-12), "the line is not an upper bound of the Bayes error"
    assert np.allclose(bayes[sure], bound) and np.all(bayes[unsure] > bound), \
        "equal to the Bayes error exactly when the true class is sure"
