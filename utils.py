"""Activations and losses shared by the three networks, each beside its derivative.

Shape convention (used everywhere in this project):

* one sample is a vector of shape ``(k,)``;
* a batch is a matrix of shape ``(n, k)``: one row per sample, classes/units along the
  last axis;
* weight matrices are ``(n_out, n_in)``.

Every function is pure (it never modifies its arguments) and keeps the floating dtype of
its input (float32 in, float32 out); integer input is promoted to float64.

Symbols follow ``theory/theory.tex``: ``a`` is a pre-activation, ``h = sigma(a)`` a hidden
activation, ``f = softmax(a)`` the output, ``y`` the one-hot target.
"""

import numpy as np
from scipy.special import expit as _expit

__all__ = [
    "sigmoid", "sigmoid_deriv",
    "relu", "relu_deriv",
    "softmax", "softmax_deriv", "softmax_jacobian", "softmax_backward",
    "mse", "mse_deriv",
    "cross_entropy", "cross_entropy_deriv",
]


def _as_float(x):
    """``x`` as a floating array; float32/float64 kept, anything else -> float64."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


# --------------------------------------------------------------------------- sigmoid
def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``, element-wise, any shape.

    Computed by ``scipy.special.expit``, which evaluates ``exp(x) / (1 + exp(x))`` for
    negative ``x`` and ``1 / (1 + exp(-x))`` otherwise, so it never overflows and raises
    no warning, even at ``x = +-1e4`` in float32.
    """
    return _expit(_as_float(x))


def sigmoid_deriv(x):
    """Derivative of :func:`sigmoid` at the pre-activation ``x``: ``s * (1 - s)``."""
    s = sigmoid(x)
    return s * (1 - s)


# --------------------------------------------------------------------------- ReLU
def relu(x):
    """Rectified linear unit ``max(0, x)``, element-wise, any shape."""
    x = _as_float(x)
    return np.maximum(x, 0, dtype=x.dtype)


def relu_deriv(x):
    """(Sub)gradient of :func:`relu`: 1 where ``x > 0``, else 0.

    At the kink ``x = 0`` ReLU has no derivative; every subgradient in ``[0, 1]`` is valid.
    This project uses 0 there, as PyTorch and TensorFlow do.
    """
    x = _as_float(x)
    return (x > 0).astype(x.dtype)


# --------------------------------------------------------------------------- softmax
def softmax(x):
    """Softmax along the last (class) axis: ``(k,) -> (k,)`` or ``(n, k) -> (n, k)``.

    The row maximum is subtracted before exponentiating (softmax is invariant to that
    shift), so no exponent exceeds 0: it cannot overflow.
    """
    x = _as_float(x)
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_jacobian(x):
    """Full Jacobian ``J[k, l] = d f_k / d x_l = f_k (delta_kl - f_l)`` of one sample.

    ``x`` has shape ``(k,)``; the result ``(k, k)`` is ``diag(f) - f f^T``.  Building the
    matrix costs O(k^2): backpropagation uses :func:`softmax_backward` instead, which is
    the same product without forming it.
    """
    f = softmax(x)
    if f.ndim != 1:
        raise ValueError(f"softmax_jacobian expects one sample of shape (k,); received shape {f.shape}")
    return np.diag(f) - np.outer(f, f)


def softmax_deriv(x):
    """Diagonal of the softmax Jacobian only, ``f * (1 - f)`` (the course template's version).

    Kept because the course template defines it, but it is **not** enough for
    backpropagation: each output ``f_k`` depends on every input ``x_l`` (off-diagonal
    terms ``-f_k f_l``).  Use :func:`softmax_backward` for exact gradients.
    """
    f = softmax(x)
    return f * (1 - f)


def softmax_backward(f, g):
    """Exact backward pass through softmax: the vector-Jacobian product ``J^T g``.

    ``f`` is the softmax *output* and ``g = dC/df`` the upstream gradient, both ``(k,)`` or
    ``(n, k)``.  Since ``J = diag(f) - f f^T`` is symmetric,
    ``dC/dx = J g = f * (g - sum(g * f))``, with the sum over the class axis (per row).
    """
    f = _as_float(f)
    g = _as_float(g)
    return f * (g - np.sum(g * f, axis=-1, keepdims=True))


# --------------------------------------------------------------------------- MSE
def mse(y_true, y_pred):
    """Mean squared error with the course definition: mean of ``(y_pred - y_true)**2``.

    For one sample ``(k,)`` this is the mean over the ``k`` outputs; for a batch ``(n, k)``
    it is the mean over all ``n * k`` entries, i.e. the batch mean of the per-sample cost.
    Returns a Python-float-like NumPy scalar.
    """
    y_true, y_pred = _as_float(y_true), _as_float(y_pred)
    return np.mean((y_pred - y_true) ** 2)


def mse_deriv(y_true, y_pred):
    """Gradient of the **per-sample** :func:`mse` with respect to ``y_pred``: ``2 (y_pred - y_true) / k``.

    ``k`` is the number of outputs (the last axis).  For a batch the result is row-wise:
    row ``i`` is the gradient of sample ``i``'s own cost (divide by ``n`` for the batch mean).
    """
    y_true, y_pred = _as_float(y_true), _as_float(y_pred)
    return 2.0 * (y_pred - y_true) / y_pred.shape[-1]


# --------------------------------------------------------------------------- cross-entropy
_TINY = 1e-12  # probabilities are clipped here so that log(0) never happens


def cross_entropy(y_true, y_pred):
    """Categorical cross-entropy ``-sum_k y_k log f_k``, averaged over the samples of a batch.

    ``y_true`` is one-hot (or any probability vector), ``y_pred`` the softmax output, both
    ``(k,)`` or ``(n, k)``.  ``y_pred`` is clipped to ``[1e-12, 1]`` before the logarithm.
    """
    y_true, y_pred = _as_float(y_true), _as_float(y_pred)
    per_sample = -np.sum(y_true * np.log(np.clip(y_pred, _TINY, 1.0)), axis=-1)
    return np.mean(per_sample)


def cross_entropy_deriv(y_true, y_pred):
    """Gradient of the **per-sample** :func:`cross_entropy` with respect to ``y_pred``: ``-y / f``.

    Chained through :func:`softmax_backward` it gives the familiar ``f - y`` with respect
    to the output pre-activations (for one-hot ``y``).
    """
    y_true, y_pred = _as_float(y_true), _as_float(y_pred)
    return -y_true / np.clip(y_pred, _TINY, 1.0)
