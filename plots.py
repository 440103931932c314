"""Figures and summaries for the notebook, drawn from the networks' returned histories.

Everything here takes plain data (history dicts, label arrays, images) and knows nothing
about the frameworks, so the notebook stays a thin driver and the tests can reach it all.
A *history* is a dict with per-epoch lists ``'accuracy'`` and ``'val_accuracy'`` (the
scratch and PyTorch networks return one; for Keras pass its ``History`` object or
``History.history``).
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["as_history", "plot_history", "plot_validation_curves", "summary_rows", "summary_markdown",
           "confusion_matrix", "plot_confusion_matrix", "plot_misclassified"]

CHANCE = 0.1  # ten balanced classes


def as_history(history):
    """A plain dict of float lists from a history dict or a Keras ``History`` object."""
    history = getattr(history, "history", history)
    if not isinstance(history, dict) or "accuracy" not in history or "val_accuracy" not in history:
        raise ValueError("a history must be a dict (or Keras History) with 'accuracy' and 'val_accuracy' lists; "
                         f"received {type(history).__name__}")
    return {key: [float(v) for v in values] for key, values in history.items()}


def _save(fig, path):
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")


def _accuracy_axes(ax, n_epochs, chance):
    ax.axhline(chance, color="grey", linestyle=":", linewidth=1.2, label=f"chance ({chance:.0%})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0.5, n_epochs + 0.5)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")


def plot_history(history, title, path=None, chance=CHANCE):
    """Training and validation accuracy over the epochs of one network; returns the figure."""
    h = as_history(history)
    epochs = np.arange(1, len(h["accuracy"]) + 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(epochs, h["accuracy"], marker=".", label="training")
    ax.plot(epochs, h["val_accuracy"], marker=".", label="validation")
    ax.set_title(title)
    _accuracy_axes(ax, len(epochs), chance)
    _save(fig, path)
    return fig


def plot_validation_curves(histories, path=None, chance=CHANCE):
    """The validation accuracy of several networks (``{name: history}``) in one figure."""
    fig, ax = plt.subplots(figsize=(7, 4))
    n_max = 1
    for name, history in histories.items():
        h = as_history(history)
        epochs = np.arange(1, len(h["val_accuracy"]) + 1)
        n_max = max(n_max, len(epochs))
        ax.plot(epochs, h["val_accuracy"], marker=".", label=name)
    ax.set_title("Validation accuracy of the three networks")
    _accuracy_axes(ax, n_max, chance)
    _save(fig, path)
    return fig


def summary_rows(histories, train_seconds):
    """One row per network: final and best validation accuracy, epoch of the best, time.

    ``histories`` is ``{name: history}``, ``train_seconds`` is ``{name: seconds}``.  Epochs
    count from 1; ties for the best take the earliest epoch.
    """
    rows = []
    for name, history in histories.items():
        val = as_history(history)["val_accuracy"]
        best = int(np.argmax(val))
        rows.append({"network": name, "final_val_accuracy": val[-1], "best_val_accuracy": val[best],
                     "best_epoch": best + 1, "epochs": len(val), "train_seconds": float(train_seconds[name])})
    return rows


def summary_markdown(rows):
    """The rows of :func:`summary_rows` as a Markdown table."""
    lines = ["| network | final val. accuracy | best val. accuracy | epoch of best | training time |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['network']} | {r['final_val_accuracy']:.2%} | {r['best_val_accuracy']:.2%} | "
                     f"{r['best_epoch']} / {r['epochs']} | {r['train_seconds']:.1f} s |")
    return "\n".join(lines)


def confusion_matrix(y_true, y_pred, k=10):
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as class ``j``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be label vectors of equal length; received shapes "
                         f"{y_true.shape} and {y_pred.shape}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= k):
            raise ValueError(f"{name} must hold labels in 0..{k - 1}; received {y.min()}..{y.max()}")
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def plot_confusion_matrix(cm, title, path=None):
    """Heat map of a confusion matrix, counts written in the cells; rows = true class."""
    cm = np.asarray(cm)
    k = len(cm)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(cm, cmap="Blues")
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
    _save(fig, path)
    return fig


def plot_misclassified(images, y_true, y_pred, n=10, path=None):
    """The first ``n`` misclassified digits, each titled 'true -> predicted'."""
    images, y_true, y_pred = np.asarray(images), np.asarray(y_true), np.asarray(y_pred)
    wrong = np.flatnonzero(y_true != y_pred)[:n]
    cols = max(1, min(len(wrong), 5))
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(1.8 * cols, 2.0 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong):
        ax.imshow(images[i].reshape(28, 28), cmap="gray_r")
        ax.set_title(f"true {y_true[i]} → {y_pred[i]}", fontsize=9)
    if not len(wrong):
        axes[0, 0].set_title("no misclassified digits")
    fig.suptitle("Misclassified validation digits (true → predicted)", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    return fig
