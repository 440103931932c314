"""Reference maths and the learning criterion shared by the checks (runs in the subprocess)."""

import math

import numpy as np

from conftest import SETTINGS, Fail


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def softmax(a, axis=-1):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def close(a, b, tol):
    """Relative error ``||a - b|| / max(||a||, ||b||)`` (cs231n's form, whole arrays) below ``tol``."""
    return relative_error(a, b) < tol


def relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def flat(arrays):
    return np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in arrays])


def data():
    """The learning data: uint8 images ``(n, 28, 28)`` and int labels, training and validation."""
    with np.load(SETTINGS["data"]) as z:
        return z["x_train"], z["y_train"], z["x_val"], z["y_val"]


def one_hot(labels, k=10):
    out = np.zeros((len(labels), k))
    out[np.arange(len(labels)), labels] = 1
    return out


def chance_threshold(n, k=10, alpha=1e-3):
    """Smallest accuracy on ``n`` samples that guessing among ``k`` classes reaches with probability < alpha."""
    from scipy.stats import binom
    hits = int(binom.isf(alpha, n, 1.0 / k)) + 1
    return hits / n


def judge_learning(accuracies, n, what):
    """The problem set's criterion: accuracy rises over the epochs, ends significantly above chance.

    Returns the message on success; raises :class:`Fail` otherwise.
    """
    accs = [float(a) for a in accuracies]
    threshold = chance_threshold(n)
    shown = " ".join(f"{a:.0%}" for a in accs)
    facts = (f"training accuracy after each of {len(accs)} epochs ({what}): {shown}; guessing gives 10%, "
             f"and above {threshold:.1%} on {n} digits is significantly better (binomial test, p < 0.001)")
    rises = accs[-1] > accs[0] or accs[-1] >= 0.99
    if not all(map(math.isfinite, accs)):
        raise Fail(f"the network does not learn: {facts}")
    if accs[-1] < threshold:
        raise Fail(f"the network does not learn: {facts}")
    if not rises:
        raise Fail(f"the training accuracy does not rise over the epochs: {facts}")
    return f"learns: {facts}"
