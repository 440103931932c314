"""plots.py: the summaries and figures the notebook shows."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import plots  # noqa: E402


def test_confusion_matrix_counts_against_a_loop():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    expected = np.zeros((10, 10), int)
    for t, p in zip(y_true, y_pred):
        expected[t, p] += 1
    cm = plots.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(cm, expected)
    assert cm.sum() == 500 and np.trace(cm) == np.sum(y_true == y_pred)


def test_confusion_matrix_rejects_bad_labels():
    with pytest.raises(ValueError, match="0..9"):
        plots.confusion_matrix(np.array([1, 10]), np.array([1, 2]))
    with pytest.raises(ValueError, match="equal length"):
        plots.confusion_matrix(np.array([1, 2]), np.array([1]))


class FakeKerasHistory:  # what keras.callbacks.History exposes
    history = {"accuracy": [np.float32(0.5), np.float32(0.75)], "val_accuracy": [0.4, 0.6], "loss": [1.0, 0.5]}


def test_summary_rows_best_epoch_and_markdown():
    histories = {"A": {"accuracy": [0.2, 0.5, 0.9], "val_accuracy": [0.3, 0.8, 0.7]}, "C": FakeKerasHistory()}
    rows = plots.summary_rows(histories, {"A": 1.25, "C": 3.0})
    assert rows[0] == {"network": "A", "final_val_accuracy": 0.7, "best_val_accuracy": 0.8, "best_epoch": 2,
                       "epochs": 3, "train_seconds": 1.25}
    assert rows[1]["best_epoch"] == 2 and rows[1]["final_val_accuracy"] == 0.6
    table = plots.summary_markdown(rows)
    assert "| A | 70.00% | 80.00% | 2 / 3 | 1.2 s |" in table


def test_as_history_rejects_other_objects():
    with pytest.raises(ValueError, match="val_accuracy"):
        plots.as_history({"accuracy": [1.0]})
    assert plots.as_history(FakeKerasHistory())["accuracy"] == [0.5, 0.75]


def test_figures_are_written(tmp_path):
    h = {"accuracy": [0.2, 0.5], "val_accuracy": [0.3, 0.4]}
    plots.plot_history(h, "t", path=tmp_path / "a.png")
    plots.plot_validation_curves({"x": h, "y": FakeKerasHistory()}, path=tmp_path / "b.png")
    plots.plot_confusion_matrix(np.eye(10, dtype=int) * 3, "cm", path=tmp_path / "c.png")
    images = np.random.default_rng(1).integers(0, 255, (6, 28, 28))
    fig = plots.plot_misclassified(images, np.arange(6), np.array([0, 1, 5, 3, 2, 5]), path=tmp_path / "d.png")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["true 2 → 5", "true 4 → 2"]
    for name in "abcd":
        assert (tmp_path / f"{name}.png").stat().st_size > 2000
