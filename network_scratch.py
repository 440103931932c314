"""A fully connected network written from scratch in NumPy (problem set 1, part A).

Sigmoid hidden layers, a softmax output layer, the course's mean-squared-error cost, no
biases, plain stochastic gradient descent: the problem set fixes these.  The class keeps the
course template's interface (``NeuralNetwork``, ``_forward_pass``, ``_backward_pass``,
``_update_weights``, ``predict``, ``compute_accuracy``, ``fit``).

Shapes: one sample is ``(d,)``, a batch ``(n, d)``; ``weights[l]`` is ``(n_out, n_in)``.
Symbols follow ``theory/theory.tex`` (layer ``l = 1..L``, ``h^[0] = x``)::

    a^[l] = W^[l] h^[l-1]                      pre-activation          (self.Z[l-1])
    h^[l] = sigma(a^[l]),  f = softmax(a^[L])  activation / output     (self.A[l])
    C     = (1/K) sum_k (f_k - y_k)^2          the course's MSE cost
    delta^[L] = J_softmax(a^[L])^T dC/df,      dC/df = 2 (f - y) / K   (full Jacobian)
    delta^[l] = (W^[l+1]^T delta^[l+1]) * h^[l] (1 - h^[l])            (sigma' = h (1 - h))
    dC/dW^[l] = delta^[l] h^[l-1]^T,           W^[l] <- W^[l] - eta dC/dW^[l]

``fit`` trains through a *fused* path by default; it gives the same weights as
``_forward_pass`` -> ``_backward_pass`` -> ``_update_weights`` (``fused=False``) up to
floating-point rounding (``tests/test_network_scratch.py`` checks it).  Two ideas make it fast:

* Per-sample SGD changes the first layer by rank-1 steps ``W <- W - eta delta x^T``.  Within
  a block of ``B`` consecutive samples, ``W_{t-1} x_t = W_0 x_t - eta sum_{s<t} delta_s
  (x_s . x_t)``: one matrix product gives ``W_0 x_t`` for the whole block, the Gram matrix
  ``x_s . x_t`` gives the correction (one small matrix-vector product per sample), and the
  block's ``B`` rank-1 updates are applied as one matrix product at the block's end.  The
  first layer, 98% of the weights, is thus touched by BLAS-3 calls only, instead of
  gathering and scattering it for every sample.
* Input pixels that are zero in every training sample (126 of 784 in the 4,000-digit split)
  get a zero gradient, so their weights never change: the fused path leaves them out.

Everything else (the small layers) uses in-place BLAS ``gemv``/``ger`` calls on
preallocated Fortran-ordered copies, single-threaded (measured faster at these sizes).
"""

import math
import time

import numpy as np
from scipy.linalg import blas
from scipy.special import expit  # utils.sigmoid without its checks, for the in-place `out=` of the fused path
from threadpoolctl import threadpool_limits

from utils import sigmoid, softmax, softmax_backward, mse, mse_deriv

__all__ = ["NeuralNetwork", "DivergenceError"]

GRAM_BLOCK = 32  # samples per block of the fused per-sample path (16/32/48/64 tried; 32 best, noisy machine)


class DivergenceError(FloatingPointError):
    """The training loss became NaN or infinite.

    Attributes: ``epoch`` (1-based), ``step`` (1-based step within the epoch whose loss was
    not finite) and ``history`` (the completed epochs).  The network's weights are left as
    they were before the step that diverged: that step itself when the weights were still
    finite (its update is never made), otherwise the earlier update that made them
    non-finite (the message names it).
    """

    def __init__(self, message, epoch, step, history):
        super().__init__(message)
        self.epoch, self.step, self.history = epoch, step, history


# --------------------------------------------------------------------------- validation
def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_real(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _check_layer_shapes(layer_shapes):
    if isinstance(layer_shapes, (str, bytes)) or not hasattr(layer_shapes, "__len__"):
        raise TypeError("`layer_shapes` must be a list of at least two positive integers "
                        f"(inputs, ..., classes); received {layer_shapes!r}")
    shapes = list(layer_shapes)
    if len(shapes) < 2:
        raise ValueError("`layer_shapes` must have at least two entries (inputs and classes); "
                         f"received {shapes!r}")
    for i, s in enumerate(shapes):
        if not _is_int(s):
            raise TypeError(f"`layer_shapes` entries must be integers; received {s!r} "
                            f"({type(s).__name__}) at index {i}")
        if s < 1:
            raise ValueError(f"`layer_shapes` entries must be positive; received {s} at index {i}")
    return [int(s) for s in shapes]


class NeuralNetwork:
    """Sigmoid hidden layers, softmax output, MSE cost, no biases, trained by SGD.

    Parameters
    ----------
    layer_shapes : list of int
        ``[n_inputs, n_hidden_1, ..., n_classes]``, at least two entries.
    epochs : int, default 50
    learning_rate : float, default 0.01
        ``eta``, the step size of gradient descent.
    random_state : int, default 1
        Seed of ``np.random.seed`` before the weights are drawn (and of the shuffling in
        ``fit(shuffle=True)``).
    dtype : np.float64 (default) or np.float32
        Floating type of the weights and of all computations.  float64 keeps the template's
        weights exactly; float32 is about twice as fast for mini-batches (see bench/).
    """

    def __init__(self, layer_shapes, epochs=50, learning_rate=0.01, random_state=1, dtype=np.float64):
        self.layer_shapes = _check_layer_shapes(layer_shapes)
        if not _is_int(epochs) or epochs < 1:
            raise ValueError(f"`epochs` must be a positive integer; received {epochs!r}")
        if not _is_real(learning_rate) or not math.isfinite(learning_rate) or learning_rate <= 0:
            raise ValueError(f"`learning_rate` must be a positive finite number; received {learning_rate!r}")
        if not _is_int(random_state) or not 0 <= random_state < 2**32:
            raise ValueError(f"`random_state` must be an integer in [0, 2**32); received {random_state!r}")
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise TypeError(f"`dtype` must be np.float32 or np.float64; received {dtype!r}")
        self.epochs = int(epochs)
        self.learning_rate = float(learning_rate)
        self.random_state = int(random_state)
        self.dtype = np.dtype(dtype)

        np.random.seed(self.random_state)  # the template's initialisation: uniform in [-0.5, 0.5)
        self.weights = [(np.random.rand(n_out, n_in) - 0.5).astype(self.dtype, copy=False)
                        for n_in, n_out in zip(self.layer_shapes[:-1], self.layer_shapes[1:])]
        self.A = [None] * len(self.layer_shapes)      # h^[0] = x, h^[1], ..., f
        self.Z = [None] * (len(self.layer_shapes) - 1)  # a^[1], ..., a^[L]

    # ----------------------------------------------------------------------- input checks
    def _check_x(self, x, name="x"):
        x = np.asarray(x)
        d = self.layer_shapes[0]
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) or np.iscomplexobj(x):
            raise TypeError(f"`{name}` must be a real numeric array; received dtype {x.dtype}")
        if x.ndim not in (1, 2) or x.shape[-1] != d:
            hint = " (flatten images first: x.reshape(len(x), -1))" if x.ndim > 2 and math.prod(x.shape[1:]) == d else ""
            raise ValueError(f"`{name}` must have shape ({d},) or (n, {d}) (layer_shapes[0] = {d} "
                             f"features); received shape {x.shape}{hint}")
        x = np.asarray(x, dtype=self.dtype)
        if not np.isfinite(x).all():
            raise ValueError(f"`{name}` must contain only finite values; received "
                             f"{np.size(x) - np.count_nonzero(np.isfinite(x))} NaN or infinite entries")
        return x

    def _check_y(self, y, n, name="y"):
        """``y`` as one-hot rows ``(n, K)`` of the network's dtype."""
        y = np.asarray(y)
        k = self.layer_shapes[-1]
        if y.ndim != 2 or y.shape[1] != k:
            raise ValueError(f"`{name}` must be one-hot of shape (n, {k}) (layer_shapes[-1] = {k} "
                             f"classes); received shape {y.shape}"
                             + (" (integer labels: use mnist.one_hot(y))" if y.ndim == 1 else ""))
        if len(y) != n:
            x_name = "x_val" if name == "y_val" else "x_train" if name == "y_train" else "x"
            raise ValueError(f"`{x_name}` and `{name}` must have the same number of samples; "
                             f"received {n} and {len(y)}")
        if not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_) or not (
                np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
            raise ValueError(f"`{name}` must be one-hot: each row holds one 1 and {k - 1} zeros")
        return np.asarray(y, dtype=self.dtype)

    # ----------------------------------------------------------------------- the template's four steps
    def _forward_pass(self, x_train):
        """Output ``f`` of one sample ``(d,) -> (K,)`` or a batch ``(n, d) -> (n, K)``.

        Fills ``self.A`` (``h^[0] = x``, the hidden activations, ``f``) and ``self.Z``
        (the pre-activations ``a^[l]``).
        """
        h = self._check_x(x_train)
        self.A[0] = h
        last = len(self.weights) - 1
        for l, W in enumerate(self.weights):
            a = h @ W.T                                     # a^[l] = W^[l] h^[l-1] (row-wise for a batch)
            h = softmax(a) if l == last else sigmoid(a)     # h^[l] = sigma(a^[l]); f = softmax(a^[L])
            self.Z[l], self.A[l + 1] = a, h
        return h

    def _backward_pass(self, y_train, output):
        """Gradients ``dC/dW^[l]`` (same shapes as ``self.weights``) of the last forward pass.

        ``y_train`` is one one-hot target ``(K,)`` or a batch ``(n, K)``; for a batch the cost
        is the batch mean of the per-sample MSE.  Goes through the full softmax Jacobian.
        """
        f = np.asarray(output)
        if self.A[-1] is None or f.shape != self.A[-1].shape:
            raise ValueError("`output` must be the result of the last _forward_pass, shape "
                             f"{None if self.A[-1] is None else self.A[-1].shape}; received shape {f.shape}")
        y = np.asarray(y_train)
        if y.shape != f.shape:
            raise ValueError(f"`y_train` must be one-hot of shape {f.shape} like `output`; received shape {y.shape}")
        n = len(f) if f.ndim == 2 else 1
        g = mse_deriv(y, f) / n                  # dC/df = 2 (f - y) / K, averaged over the batch
        delta = softmax_backward(f, g)           # delta^[L] = J_softmax^T dC/df (full Jacobian)
        grads = [None] * len(self.weights)
        for l in range(len(self.weights) - 1, -1, -1):
            h_prev = self.A[l]
            # dC/dW^[l] = delta^[l] h^[l-1]^T (summed over the rows of a batch)
            grads[l] = delta.T @ h_prev if f.ndim == 2 else np.outer(delta, h_prev)
            if l > 0:  # delta^[l-1] = (W^[l]^T delta^[l]) * sigma'(a^[l-1]),  sigma' = h (1 - h)
                delta = (delta @ self.weights[l]) * (h_prev * (1 - h_prev))
        return grads

    def _update_weights(self, weight_gradients):
        """Plain gradient descent, in place: ``W^[l] <- W^[l] - eta dC/dW^[l]``."""
        if len(weight_gradients) != len(self.weights):
            raise ValueError(f"`weight_gradients` must hold {len(self.weights)} arrays; "
                             f"received {len(weight_gradients)}")
        for W, grad in zip(self.weights, weight_gradients):
            grad = np.asarray(grad)
            if grad.shape != W.shape:
                raise ValueError(f"each gradient must have its weight's shape {W.shape}; received {grad.shape}")
            W -= self.learning_rate * grad

    # ----------------------------------------------------------------------- prediction
    def _output(self, x):
        """Softmax output of validated ``x`` without touching ``self.A``/``self.Z``."""
        h = x
        last = len(self.weights) - 1
        for l, W in enumerate(self.weights):
            h = softmax(h @ W.T) if l == last else sigmoid(h @ W.T)
        return h

    def predict(self, x):
        """Most likely class: an ``int`` for one sample ``(d,)``, an int64 array for ``(n, d)``."""
        x = self._check_x(x)
        idx = np.argmax(self._output(x), axis=-1)
        return int(idx) if x.ndim == 1 else idx

    def compute_accuracy(self, x_val, y_val):
        """Fraction of samples whose predicted class is ``argmax(y)`` (a Python float).

        ``y_val`` is one-hot ``(n, K)`` as in the template, or integer labels ``(n,)``.
        """
        x = self._check_x(x_val, "x_val")
        if x.ndim == 1:
            x = x[None]
        y = np.asarray(y_val)
        if y.ndim == 1 and len(x) == 1 and y.shape[0] == self.layer_shapes[-1]:
            y = y[None]  # one sample, one one-hot target
        if y.ndim == 1:
            if len(y) != len(x):
                raise ValueError(f"x_val and `y_val` must have the same number of samples; "
                                 f"received {len(x)} and {len(y)}")
            if not np.issubdtype(y.dtype, np.integer):
                raise ValueError(f"`y_val` must be one-hot (n, K) or integer labels (n,); received dtype {y.dtype}")
            labels = y
        else:
            labels = np.argmax(self._check_y(y, len(x), "y_val"), axis=1)
        if len(x) == 0:
            raise ValueError("x_val must hold at least one sample; received 0")
        return self._accuracy(x, labels)

    def _accuracy(self, x, labels):
        return float(np.mean(np.argmax(self._output(x), axis=1) == labels))

    def _print_learning_progress(self, epoch, history):
        print(f"Epoch {epoch + 1}/{self.epochs} - {history['epoch_time'][-1]:.2f}s - "
              f"loss: {history['loss'][-1]:.4f} - accuracy: {history['accuracy'][-1]:.2%} - "
              f"val_accuracy: {history['val_accuracy'][-1]:.2%}", flush=True)

    # ----------------------------------------------------------------------- training
    def fit(self, x_train, y_train, x_val, y_val, *, batch_size=1, shuffle=False, verbose=True, fused=True):
        """Train for ``self.epochs`` epochs; return the history dict of Python floats.

        By default the course behaviour: per-sample SGD in data order, one progress line per
        epoch.  ``batch_size`` > 1 averages the gradient over mini-batches; ``shuffle=True``
        reshuffles the training order each epoch (seeded with ``random_state``);
        ``fused=False`` trains through ``_forward_pass``/``_backward_pass``/``_update_weights``
        (slow, the reference the fused path is tested against).

        Returns ``{'accuracy', 'val_accuracy', 'loss', 'epoch_time'}``: per epoch, the
        training and validation accuracy after the epoch, the mean training loss over the
        epoch's steps (each measured before its update) and the seconds spent training.

        Raises :class:`DivergenceError` (a ``FloatingPointError``) if the loss becomes NaN or
        infinite; the weights are then those before the update that caused it.
        """
        x = self._check_x(x_train, "x_train")
        if x.ndim != 2:
            raise ValueError(f"`x_train` must be a batch of shape (n, {self.layer_shapes[0]}); received shape {x.shape}")
        y = self._check_y(y_train, len(x), "y_train")
        if len(x) == 0:
            raise ValueError("`x_train` must hold at least one sample; received 0")
        xv = self._check_x(x_val, "x_val")
        if xv.ndim != 2:
            raise ValueError(f"`x_val` must be a batch of shape (n, {self.layer_shapes[0]}); received shape {xv.shape}")
        yv = self._check_y(y_val, len(xv), "y_val")
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer; received {batch_size!r}")
        for name, flag in (("shuffle", shuffle), ("verbose", verbose), ("fused", fused)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"`{name}` must be True or False; received {flag!r}")
        for l, W in enumerate(self.weights):
            if W.shape != (self.layer_shapes[l + 1], self.layer_shapes[l]) or not np.isfinite(W).all():
                raise ValueError(f"weights[{l}] must be a finite array of shape "
                                 f"{(self.layer_shapes[l + 1], self.layer_shapes[l])}; received shape {W.shape}")
        batch_size = min(int(batch_size), len(x))
        n_steps = -(-len(x) // batch_size)
        labels, val_labels = np.argmax(y, axis=1), np.argmax(yv, axis=1)
        rng = np.random.default_rng(self.random_state)  # the shuffling's only seed

        history = {"accuracy": [], "val_accuracy": [], "loss": [], "epoch_time": []}
        trainer = _FusedTrainer(self, x, y, batch_size) if fused else _PlainTrainer(self, x, y, batch_size)
        previous = None  # (weights, order) at the start of the previous epoch, for restoring
        with threadpool_limits(limits=trainer.blas_threads, user_api="blas"), \
                np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and raised below
            for epoch in range(self.epochs):
                order = rng.permutation(len(x)) if shuffle else None
                start = ([W.copy() for W in self.weights], order)
                t0 = time.perf_counter()
                loss_sum, bad_step = trainer.run_epoch(order)
                elapsed = time.perf_counter() - t0
                if bad_step is not None:
                    culprit = self._restore(trainer, bad_step, n_steps, start, previous)
                    where = (f"step {culprit} of this epoch" if culprit > 0
                             else f"step {culprit + n_steps} of the previous epoch")
                    raise DivergenceError(
                        f"the training loss became {loss_sum} at epoch {epoch + 1}/{self.epochs} "
                        f"(step {bad_step + 1} of {n_steps}); the weights were left as they were before the "
                        f"step that diverged ({where}). Try a smaller learning_rate "
                        f"(received {self.learning_rate}).", epoch + 1, bad_step + 1, history)
                history["loss"].append(float(loss_sum / len(x)))
                history["epoch_time"].append(float(elapsed))
                history["accuracy"].append(self._accuracy(x, labels))
                history["val_accuracy"].append(self._accuracy(xv, val_labels))
                if verbose:
                    self._print_learning_progress(epoch, history)
                previous = start
        return history

    def _restore(self, trainer, bad_step, n_steps, start, previous):
        """Leave the weights as they were before the step that diverged; return that step (1-based).

        Step ``bad_step`` (0-based) of the epoch had a non-finite loss and its update was not
        made.  If the weights are still finite, that step diverged and they stay.  Otherwise an
        earlier update made them non-finite (non-finite entries stay non-finite): the last
        finite weights are found by replaying the epoch from its saved start (training is
        deterministic) with a bisection over the number of steps.  Runs only after a failure.
        """
        def finite():
            return all(np.isfinite(W).all() for W in self.weights)

        def replay(state, steps):
            weights, order = state
            for W, W0 in zip(self.weights, weights):
                W[...] = W0
            trainer.reset()
            trainer.run_epoch(order, stop=steps)

        if finite():
            return bad_step + 1
        epoch_offset = 0
        if not all(np.isfinite(W).all() for W in start[0]):  # the previous epoch's last steps did it
            start, bad_step, epoch_offset = previous, n_steps, -1
        lo, hi = 0, bad_step  # after `lo` steps the weights are finite, after `hi` steps they are not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            replay(start, mid)
            lo, hi = (mid, hi) if finite() else (lo, mid)
        replay(start, lo)
        return lo + 1 if epoch_offset == 0 else lo + 1 - n_steps


class _PlainTrainer:
    """One epoch through the template's own methods: forward -> backward -> update per step."""

    blas_threads = None  # leave BLAS as configured

    def __init__(self, net, x, y, batch_size):
        self.net, self.x, self.y, self.batch_size = net, x, y, batch_size

    def reset(self):
        pass

    def run_epoch(self, order, stop=None):
        """Train one epoch (only its first ``stop`` steps if given).

        Returns ``(sum of the per-sample losses, None)``, or ``(the loss, step index)`` at the
        first step whose loss is not finite (that step's update is not made).
        """
        net, bs = self.net, self.batch_size
        idx = np.arange(len(self.x)) if order is None else order
        loss_sum = 0.0
        for step, i0 in enumerate(range(0, len(idx), bs)):
            if step == stop:
                break
            rows = idx[i0:i0 + bs]
            xb, yb = (self.x[rows], self.y[rows]) if bs > 1 else (self.x[rows[0]], self.y[rows[0]])
            f = net._forward_pass(xb)
            loss = float(mse(yb, f))
            if not math.isfinite(loss):
                return loss, step
            loss_sum += loss * len(rows)
            net._update_weights(net._backward_pass(yb, f))
        return loss_sum, None


class _FusedTrainer:
    """The fast path: same updates as :class:`_PlainTrainer`, fewer and larger operations.

    Works on copies of the weights in BLAS-friendly layouts (first layer transposed and
    restricted to the active inputs, the others Fortran-ordered for in-place ``ger``) and
    writes them back into ``net.weights`` at the end of every epoch.
    """

    blas_threads = 1  # measured: 2 OpenBLAS threads are slower at these sizes (bench/measure_scratch.py)

    def __init__(self, net, x, y, batch_size):
        self.net, self.batch_size = net, batch_size
        dt = net.dtype
        self.active = np.flatnonzero((x != 0).any(axis=0))  # inputs that are non-zero somewhere
        self.x = np.ascontiguousarray(x[:, self.active], dtype=dt)
        self.y = np.ascontiguousarray(y, dtype=dt)
        p = "s" if dt == np.float32 else "d"
        # BLAS level 1/2 on tiny vectors: ~0.2 us per call where NumPy's a.sum(), a @ b take 2-4 us
        self.gemv, self.ger, self.dot = (getattr(blas, p + name) for name in ("gemv", "ger", "dot"))
        self.reset()

    def reset(self):
        """(Re)load the working copies from ``net.weights``."""
        W = self.net.weights
        dt = self.net.dtype
        self.W1 = np.ascontiguousarray(W[0].T[self.active], dtype=dt)  # (d_active, n_1) = W^[1]^T
        self.rest = [np.asfortranarray(Wl, dtype=dt) for Wl in W[1:]]   # W^[2..L], (n_out, n_in)

    def _write_back(self):
        W = self.net.weights
        W[0][:, self.active] = self.W1.T
        for Wl, Wc in zip(W[1:], self.rest):
            Wl[...] = Wc

    def run_epoch(self, order, stop=None):
        x, y = (self.x, self.y) if order is None else (self.x[order], self.y[order])
        if stop is not None:
            x, y = x[:stop * self.batch_size], y[:stop * self.batch_size]
        run = self._per_sample if self.batch_size == 1 else self._mini_batch
        loss_sum, bad = run(x, y)
        self._write_back()
        if bad is not None and stop is None:
            return loss_sum, bad
        return loss_sum, None

    def _per_sample(self, x, y):
        """Per-sample SGD; the first layer through the Gram-matrix block trick (module docstring)."""
        gemv, ger, dot, W1, rest = self.gemv, self.ger, self.dot, self.W1, self.rest
        K = y.shape[1]
        ones = np.ones(K, dtype=W1.dtype)
        c = 2.0 * self.net.learning_rate / K  # eta * 2/K: the factor of dC/df = 2 (f - y)/K, applied once
        n_1 = W1.shape[1]
        D = np.empty((GRAM_BLOCK, n_1), dtype=W1.dtype)  # deltas of layer 1 (without the factor 2/K)
        no_hidden = not rest
        loss_sum = 0.0
        for b0 in range(0, len(x), GRAM_BLOCK):
            xb, yb = x[b0:b0 + GRAM_BLOCK], y[b0:b0 + GRAM_BLOCK]
            P = xb @ W1       # row t: W_0 x_t (W_0 = first layer at the block's start)
            G = xb @ xb.T     # Gram matrix x_s . x_t
            for t in range(len(xb)):
                a = P[t]
                if t:  # a^[1] = W_{t-1} x_t = W_0 x_t - eta sum_{s<t} delta_s (x_s . x_t)
                    gemv(-c, D[:t].T, G[t, :t], beta=1.0, y=a, overwrite_y=1)
                hs = []
                for W in rest:  # h^[l] = sigma(a^[l]),  a^[l+1] = W^[l+1] h^[l]
                    h = expit(a, out=a)
                    hs.append(h)
                    a = gemv(1.0, W, h)
                a -= a[a.argmax()]                 # f = softmax(a^[L]), shifted so exp cannot overflow
                f = np.exp(a, out=a)
                f /= dot(f, ones)
                r = f - yb[t]                      # (K/2) dC/df
                sq = dot(r, r)                     # K * C
                if not math.isfinite(sq):          # stop before this step's update (finish the block's)
                    W1 -= c * (xb[:t].T @ D[:t])
                    return sq / K, b0 + t
                loss_sum += sq
                r -= dot(r, f)                     # delta^[L] = f * (g - g.f)  (times K/2)
                delta = np.multiply(r, f, out=r)
                for l in range(len(rest) - 1, -1, -1):
                    h = hs[l]
                    # delta^[l] = (W^[l+1]^T delta^[l+1]) * h (1 - h), before W^[l+1] changes
                    if l:
                        prev = gemv(1.0, rest[l], delta, trans=1)
                    else:
                        prev = gemv(1.0, rest[l], delta, beta=0.0, y=D[t], overwrite_y=1, trans=1)
                    prev *= h - h * h
                    ger(-c, delta, h, a=rest[l], overwrite_a=1)   # W <- W - eta delta h^T, in place
                    delta = prev
                if no_hidden:
                    D[t] = delta
            # the block's rank-1 updates at once: W^[1] <- W^[1] - eta sum_t delta_t x_t^T
            W1 -= c * (xb.T @ D[:len(xb)])
        return loss_sum / K, None

    def _mini_batch(self, x, y):
        """Mini-batch SGD, the gradient of the batch-mean cost; whole-batch matrix products."""
        W1, rest = self.W1, self.rest
        K = y.shape[1]
        bs = self.batch_size
        loss_sum = 0.0
        for step, b0 in enumerate(range(0, len(x), bs)):
            xb, yb = x[b0:b0 + bs], y[b0:b0 + bs]
            n = len(xb)
            c = 2.0 * self.net.learning_rate / (K * n)    # eta * (2/K) * (1/n): batch mean
            a = xb @ W1                                   # a^[1] = W^[1] x, row-wise
            hs = []
            for W in rest:
                h = expit(a, out=a)
                hs.append(h)
                a = h @ W.T
            a -= a.max(axis=1, keepdims=True)             # f = softmax(a^[L]) per row
            f = np.exp(a, out=a)
            f /= f.sum(axis=1, keepdims=True)
            r = f - yb
            sq = float(np.vdot(r, r))
            if not math.isfinite(sq):
                return sq / K, step
            loss_sum += sq
            r -= np.einsum("ij,ij->i", r, f)[:, None]     # delta^[L] = f * (g - g.f), row-wise
            delta = np.multiply(r, f, out=r)
            for l in range(len(rest) - 1, -1, -1):
                h = hs[l]
                prev = delta @ rest[l]                    # W^T delta, before W changes
                prev *= h - h * h
                rest[l] -= c * (delta.T @ h)              # W <- W - eta dC/dW
                delta = prev
            W1 -= c * (xb.T @ delta)
        return loss_sum / K, None
