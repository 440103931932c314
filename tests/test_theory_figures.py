"""figures.py and figures/results.json: the measured claims can fail, the recorded
repetitions agree with themselves, the figures' layout (theory/theory.tex, section 1.3)."""

import ast
import json
import re

import numpy as np
import pypdf
import pytest
from theory_checks_measured import CLAIMS
from theory_doc import FIGURES, RESULTS, SOURCE, THEORY, _module


# =========================================================================== figures.py, results.json
def _flattened(value, results=RESULTS):
    """A copy of the results in which every error curve is the constant ``value`` and every
    repetition has the same draw (seed and training digits)."""
    def walk(obj, key=""):
        if isinstance(obj, dict):
            return {k: walk(v, k) for k, v in obj.items()}
        if isinstance(obj, list) and "error" in key:
            return [walk(v, key) if isinstance(v, (list, dict)) else value for v in obj]
        if isinstance(obj, list):
            return [walk(v, key) for v in obj]
        return obj
    out = walk(json.loads(json.dumps(results)))
    for part in ("size", "complexity"):
        for rep in out[part]["repeats"]:
            rep["stopped_at_plateau"] = [False] * len(rep["stopped_at_plateau"])
    for part in ("size", "complexity", "epochs"):  # and every repetition the same draw
        for rep in out[part]["repeats"]:
            rep["seed"] = 0
            rep.update({k: 0.2 for k in ("wrong_share_train", "wrong_share_val") if k in rep})
            if "wrong_labels" in rep:
                rep["wrong_labels"] = [0] * len(rep["wrong_labels"])
    out["size"]["plateau_tol"] = 0.01
    out["complexity"]["chosen_position"] = 0.95
    out["complexity"]["chosen_hidden"] = out["complexity"]["hidden_units"][-1]
    out["epochs"]["stop_epoch"] = 0
    return out


@pytest.mark.parametrize("sentence", CLAIMS)
def test_measured_claim_can_fail(sentence):
    """Each claim about data is rejected for repetitions that show nothing (curves all flat at
    50 % or at 0 %, every repetition the same draw)."""
    assert not all(CLAIMS[sentence](_flattened(v)) for v in (0.5, 0.0))


def test_results_record_repetitions_and_agree_with_themselves():
    """Means and ranges are those of the recorded repetitions; marks sit where the recorded
    validation errors are least; the realised shares of wrong labels are near the expected."""
    for part in ("size", "complexity", "epochs"):
        res = RESULTS[part]
        assert len(res["repeats"]) >= 3, part
        for key in ("train_error", "test_error") + (("val_error",) if part != "size" else ()):
            reps = np.array([r[key] for r in res["repeats"]])
            np.testing.assert_allclose(res[key + "_mean"], reps.mean(axis=0))
            np.testing.assert_allclose(res[key + "_min"], reps.min(axis=0))
            np.testing.assert_allclose(res[key + "_max"], reps.max(axis=0))
    cx, ep = RESULTS["complexity"], RESULTS["epochs"]
    assert cx["chosen_hidden"] == cx["hidden_units"][int(np.argmin(cx["val_error_mean"]))]
    assert ep["stop_epoch"] == int(np.argmin(ep["val_error_mean"])) + 1
    assert all(rep["stop_epoch"] == int(np.argmin(rep["val_error"])) + 1 for rep in ep["repeats"])
    for share in RESULTS["wrong_share"].values():
        assert abs(share - RESULTS["best_possible_error"]) < 0.03


def test_1_3_data_source_and_setting():
    assert RESULTS["data_source"].startswith("embedded") and RESULTS["n_digits"] == 5000
    assert RESULTS["best_possible_error"] == pytest.approx(RESULTS["label_noise"] * 0.9)


def test_results_tex_holds_the_numbers_of_results_json():
    assert (FIGURES / "results.tex").read_text() == _module("theory_figures", THEORY / "figures.py").latex_macros(RESULTS)


def test_figures_use_the_embedded_digits_even_when_mnist_path_is_set(monkeypatch, tmp_path):
    """mnist.load_mnist() would follow $MNIST_PATH (here: a folder without MNIST, so it
    raises); experiments.py pins the embedded 5,000 digits unless given --mnist PATH."""
    monkeypatch.setenv("MNIST_PATH", str(tmp_path))
    experiments = _module("theory_experiments", THEORY / "experiments.py")
    with pytest.raises(FileNotFoundError):
        experiments.mnist.load_mnist()
    data = experiments.load_digits()
    assert len(data[0]) == 5000 and data.source.startswith("embedded")


def test_figures_train_through_one_engine_call(monkeypatch):
    """The figures' runs reach the fast engine through experiments.train() only, with the documented keywords."""
    experiments = _module("theory_experiments", THEORY / "experiments.py")
    calls = []

    def fake_fit(net, x, y, x_val, y_val, **kwargs):
        calls.append(kwargs)
        return {"accuracy": [0.5] * net.epochs, "val_accuracy": [0.5] * net.epochs, "loss": [0.0] * net.epochs,
                "epoch_time": [0.0] * net.epochs}

    monkeypatch.setattr(experiments.scratch_engine, "fit", fake_fit, raising=False)
    net = experiments.network(3, 2, 0)
    train_err, val_err = experiments.fit(net, (np.zeros((4, experiments.N_COMPONENTS)), np.arange(4)),
                                         (np.zeros((2, experiments.N_COMPONENTS)), np.arange(2)))
    assert calls == [{"batch_size": experiments.BATCH_SIZE, "shuffle": True, "verbose": False, "dtype": np.float64}]
    assert train_err == [0.5, 0.5] and val_err == [0.5, 0.5]
    for name, expected in (("experiments.py", {"train"}), ("figures.py", set())):
        tree = ast.parse((THEORY / name).read_text())
        engine_calls = {fn.name for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef) for node in ast.walk(fn)
                        if isinstance(node, ast.Call) and (ast.unparse(node.func).endswith("scratch_engine.fit")
                                                           or any(k.arg == "fast" for k in node.keywords))}
        assert engine_calls == expected, f"{name}: the engine is called from {sorted(engine_calls)}"


# =========================================================================== figure layout
FIGURE_FILES = ["sketch_size.pdf", "sketch_complexity.pdf", "sketch_epochs.pdf",
                "error_vs_training_size.pdf", "error_vs_hidden_units.pdf", "error_vs_epochs.pdf"]


def test_figures_included_unscaled_and_fit_the_text_width():
    """Drawn at the size they are printed, so the font sizes of the drawing are the printed ones."""
    included = re.findall(r"\\includegraphics(\[[^\]]*\])?\{([^}]+)\}", SOURCE)
    assert [name for _, name in included] == FIGURE_FILES
    assert all(opts == "" for opts, _ in included), "a scaled figure changes its font sizes"
    text_width_pt = (21.0 - 2 * 2.4) / 2.54 * 72  # a4paper, margin=2.4cm
    for name in FIGURE_FILES:
        box = pypdf.PdfReader(str(FIGURES / name)).pages[0].mediabox
        assert float(box.width) <= text_width_pt, name


def test_figure_layout_recorded_by_figures_py():
    """figures.py measures every figure as drawn (tests do not run it): printed at its own
    width, no text under 8 pt, no text outside the figure, no legend over a plot area, no
    curve cut off by the axis limits."""
    assert sorted(RESULTS["layout"]) == sorted(FIGURE_FILES)
    for name, report in RESULTS["layout"].items():
        assert report["width_in"] <= (21.0 - 2 * 2.4) / 2.54, name
        assert report["min_font_pt"] >= 8, name
        assert report["texts_outside_figure"] == [], name
        assert not report["legend_over_plot_area"], name
        assert report["curves_clipped"] == [], name


def test_measured_figures_text_sizes_in_the_pdf_files():
    """Independent of the report: the font size of every text operator in the PDF files of
    the measured figures (the sketches draw their hand-written text as outlines)."""
    for name in FIGURE_FILES:
        if name.startswith("sketch"):
            continue
        content = pypdf.PdfReader(str(FIGURES / name)).pages[0].get_contents().get_data().decode("latin-1")
        sizes = [float(v) for v in re.findall(r"/\S+\s+([\d.]+)\s+Tf", content)]
        assert sizes and min(sizes) >= 8, (name, sorted(set(sizes)))


def test_layout_report_flags_small_text_clipping_and_legend_over_curves():
    """The layout check can fail: a figure with each defect is flagged."""
    figures = _module("theory_figures", THEORY / "figures.py")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, 5, 1], label="curve")
    ax.set_ylim(0, 3)                                   # cuts off the point at 5
    ax.legend(loc="center")                             # inside the plot area
    ax.text(0.5, 0.5, "tiny", fontsize=6)               # under 8 pt
    fig.tight_layout()                                  # (tick labels inside the figure)
    fig.text(1.05, 0.5, "outside")                      # beyond the right edge
    report = figures._layout_report(fig)
    plt.close(fig)
    assert report["min_font_pt"] == 6
    assert report["texts_outside_figure"] == ["outside"]
    assert report["legend_over_plot_area"]
    assert report["curves_clipped"] == ["curve"]
