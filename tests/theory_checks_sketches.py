"""Theory checks of 1.3's answers: every sentence that describes a sketch against the sketch's
recorded curves (figures/results.json), the sketches' words, the dashed line's meaning."""

import re

import numpy as np

from theory_doc import RESULTS, THEORY, _body, _flat, _module


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
    (r"The most complex model the data support sits at\s+the minimum of the test error, the expected error on "
     r"new data \(vertical line\); the \$x\$-range puts it in the middle",
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
    m = re.search(r"In each the \$y\$-axis is the (error rate), increasing (upwards) from the marked (zero) \(its only "
                  r"number\), the \$x\$-axis increases (rightwards)", _flat(doc.tex))
    assert m and m.groups() == ("error rate", "upwards", "zero", "rightwards"), "how to read the sketches"
    assert figures.Y_LABEL == "error rate\n(increasing upwards)" and figures.ZERO.startswith("0 ")
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
    """The dashed grey line: the best possible error (Bayes error) in the sketches of 1.3, a
    lower bound of the Bayes error in the measured figures of Appendix A (their legends too)."""
    body = _body(doc.tex)
    answers, appendix = (_flat(part) for part in body.split(r"\section{The curves of 1.3, measured}"))
    for text, meaning in ((answers, r"dashed grey(:| line is) the best possible error \(Bayes error\)"),
                          (appendix, r"dashed grey(: a| line\. It is a) lower bound of the Bayes error")):
        for m in re.finditer(r"dashed grey", text):
            assert re.match(meaning, text[m.start():]), text[m.start():m.start() + 80]
    figures = _module("theory_figures", THEORY / "figures.py")
    for name, report in RESULTS["layout"].items():
        if name.startswith("error_vs"):
            assert f"{figures.BAYES_BOUND}: {100 * RESULTS['best_possible_error']:g} % wrong labels expected" \
                in report["texts"], name
