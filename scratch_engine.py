"""Opt-in fast training for ``network_scratch.NeuralNetwork``: ``scratch_engine.fit(net, ...)``.

``fit(net, x_train, y_train, x_val, y_val)`` trains ``net`` as its own ``net.fit`` does (the
template's loop: forward, backward and update per sample, in data order) and gives the same
weights up to floating-point rounding (``tests/test_network_scratch.py`` checks it), many
times faster.  It also offers what the template does not: mini-batches (``batch_size``),
reshuffling every epoch (``shuffle``), float32 (``dtype``), a history that adds the mean
training loss and the training seconds of each epoch, and :class:`DivergenceError` when the
loss or the weights stop being finite.  It computes the gradients itself (the derivation of
``theory/theory.pdf``, 1.5), so it does not call the network's own methods: it is a
measuring tool beside the template, not a replacement for it.

How the arithmetic is arranged:

* Per-sample SGD changes the first layer by rank-1 steps ``W <- W - eta delta x^T``.  Within
  a block of ``B`` consecutive samples, ``W_{t-1} x_t = W_0 x_t - eta sum_{s<t} delta_s
  (x_s . x_t)``: one matrix product gives ``W_0 x_t`` for the whole block, the Gram matrix
  ``x_s . x_t`` gives the correction (one small matrix-vector product per sample), and the
  block's ``B`` rank-1 updates are applied as one matrix product at the block's end.  The
  first layer, most of the weights, is thus touched by BLAS-3 calls only.
* Inputs that are zero in every training sample (the border pixels of MNIST) get a zero
  gradient, so their weights never change: the engine leaves them out.
* The small layers are updated in place by BLAS ``gemv``/``ger`` calls on preallocated,
  Fortran-ordered copies of the weights.  Mini-batches go through whole-batch products.
* Training runs on one BLAS thread: its matrices are too small to share between threads.
  The per-epoch evaluation splits the samples over as many Python threads as BLAS may use
  (NumPy releases the GIL), each on one BLAS thread, so no BLAS thread pool is left
  spinning beside training.

Divergence is checked once per block of ``GRAM_BLOCK`` samples (or per mini-batch): every
step's loss, and the weights at the block's end, must be finite.  If not, the weights are
put back as they were at the block's start and :class:`DivergenceError` names the epoch and
the samples of that block.
"""

import functools
import math
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.linalg import blas
from scipy.special import expit  # utils.sigmoid without its conversions, with `out=`
from threadpoolctl import ThreadpoolController

import checks

__all__ = ["fit", "DivergenceError", "Engine", "GRAM_BLOCK"]

GRAM_BLOCK = 32  # samples per block: large enough for BLAS-3 products, small enough for the O(B^2) correction


def _sigmoid(a):
    """``sigma(a) = (1 + tanh(a / 2)) / 2`` in place: NumPy's vectorised tanh beats ``expit``
    on whole batches (``expit`` stays for the per-sample vectors, where one call beats four)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


class DivergenceError(FloatingPointError):
    """Training stopped because a step's loss, or the weights after a block of steps, were not finite.

    Attributes: ``epoch`` (1-based), ``samples`` (the ``range`` of the epoch's samples in the
    block that diverged) and ``history`` (the completed epochs).  The network's weights are
    left as they were before that block.
    """

    def __init__(self, message, epoch, samples, history=None):
        super().__init__(message)
        self.epoch, self.samples, self.history = epoch, samples, history


def fit(net, x_train, y_train, x_val, y_val, *, batch_size=1, shuffle=False, dtype=np.float64, verbose=True):
    """Train ``net`` for ``net.epochs`` epochs; return ``{'accuracy', 'val_accuracy', 'loss', 'epoch_time'}``.

    With the defaults it makes exactly the steps of ``net.fit`` (per sample, in data order).
    ``batch_size > 1`` steps on the mean gradient of each mini-batch; ``shuffle=True``
    reshuffles the samples every epoch (seeded with ``net.random_state``); ``dtype`` is
    ``np.float64`` or ``np.float32`` (about twice as fast): ``net.weights`` are converted to
    it.  Each history entry is a list with one Python float per epoch: training and
    validation accuracy after the epoch, the mean training loss of its steps (each measured
    before its update) and its training seconds (evaluation excluded).  ``verbose`` prints
    one line per epoch.  Raises :class:`DivergenceError` (see the module docstring).
    """
    d, k = net.layer_shapes[0], net.layer_shapes[-1]
    dtype = checks.float_dtype("dtype", dtype)
    x, y, x_val, y_val = (np.asarray(a, dtype=dtype) for a in
                          checks.training_data(d, k, x_train, y_train, x_val, y_val))
    batch_size = checks.positive_integer("batch_size", batch_size)
    shuffle, verbose = checks.boolean("shuffle", shuffle), checks.boolean("verbose", verbose)
    net.weights = [np.asarray(W, dtype=dtype) for W in net.weights]
    labels, val_labels = np.argmax(y, axis=1), np.argmax(y_val, axis=1)
    rng = np.random.default_rng(net.random_state)  # the shuffling's only seed
    engine = Engine(net, x, y, batch_size)
    history = {"accuracy": [], "val_accuracy": [], "loss": [], "epoch_time": []}
    for epoch in range(1, net.epochs + 1):
        order = rng.permutation(len(x)) if shuffle else slice(None)  # slice(None): data order, no copy
        start = time.perf_counter()
        try:
            loss_sum = engine.train_epoch(order, epoch)
        except DivergenceError as error:
            error.history = history
            raise
        history["epoch_time"].append(time.perf_counter() - start)
        history["loss"].append(loss_sum / len(x))
        history["accuracy"].append(engine.accuracy(x, labels))
        history["val_accuracy"].append(engine.accuracy(x_val, val_labels))
        if verbose:
            print(f"Epoch {epoch}/{net.epochs} - {history['epoch_time'][-1]:.2f}s - loss: {history['loss'][-1]:.4f}"
                  f" - accuracy: {history['accuracy'][-1]:.2%} - val_accuracy: {history['val_accuracy'][-1]:.2%}",
                  flush=True)
    return history


@functools.cache
def _thread_pool(workers):
    """One pool per size, made once: its threads wait idle between evaluations."""
    return ThreadPoolExecutor(workers, thread_name_prefix="scratch_engine")


class Engine:
    """Trains ``net`` on ``x`` (n, d), one-hot ``y`` (n, K), both of the weights' dtype, epoch by epoch.

    Works on copies of the weights in BLAS-friendly layouts (the first layer transposed and
    restricted to the active inputs, the others Fortran-ordered for in-place ``ger``) and
    writes them back into ``net.weights`` at the end of every epoch.
    """

    def __init__(self, net, x, y, batch_size):
        self.net, self.x, self.y, self.batch_size = net, x, y, min(batch_size, len(x))
        self.active = np.flatnonzero((x != 0).any(axis=0))  # inputs that are non-zero somewhere
        self.x_active = x.take(self.active, axis=1)  # take: much faster than x[:, active] here
        p = "s" if x.dtype == np.float32 else "d"
        self.gemv, self.ger, self.dot = (getattr(blas, p + name) for name in ("gemv", "ger", "dot"))
        self.blas = ThreadpoolController()  # after scipy's BLAS is loaded, so it is seen too
        # evaluation threads: as many as BLAS may use (all cores, unless limited by the user)
        self.workers = max((lib["num_threads"] for lib in self.blas.info() if lib["user_api"] == "blas"),
                           default=1)
        self.block = GRAM_BLOCK if self.batch_size == 1 else self.batch_size
        self.deltas = np.empty((GRAM_BLOCK, net.layer_shapes[1]), dtype=x.dtype)  # delta^[1] of a block
        self._load()

    def accuracy(self, x, labels):
        """Fraction of the rows of ``x`` whose predicted class is ``labels`` (fit's evaluation).

        The rows are split over ``self.workers`` Python threads, one BLAS thread each.
        """
        W = self.net.weights
        bounds = [len(x) * k // self.workers for k in range(self.workers + 1)]

        def correct(rows):
            h = x[rows]
            for Wl in W[:-1]:
                h = _sigmoid(h @ Wl.T)
            return np.count_nonzero(np.argmax(h @ W[-1].T, axis=1) == labels[rows])  # argmax f = argmax a^[L]

        with self.blas.limit(limits=1, user_api="blas"):
            parts = _thread_pool(self.workers).map(correct, map(slice, bounds[:-1], bounds[1:]))
            return float(sum(parts) / len(x))

    def _load(self):
        """(Re)load the working copies from ``net.weights``."""
        W = self.net.weights
        self.W1 = np.ascontiguousarray(W[0].T[self.active])  # (d_active, n_1) = W^[1]^T
        self.rest = [np.asfortranarray(Wl) for Wl in W[1:]]  # W^[2..L], (n_out, n_in)
        self.rest_saved = [np.empty_like(Wl) for Wl in self.rest]

    def _store(self):
        """Write the working copies back into ``net.weights`` (in place)."""
        W = self.net.weights
        W[0][:, self.active] = self.W1.T
        for Wl, Wc in zip(W[1:], self.rest):
            Wl[...] = Wc

    def train_epoch(self, order, epoch):
        """One epoch over the samples in ``order`` (an index array, or ``slice(None)``).

        Returns the summed per-sample loss, each measured before its update.
        """
        x, y = self.x_active[order], self.y[order]
        step = self._per_sample_block if self.batch_size == 1 else self._mini_batch_step
        loss_sum = 0.0
        with self.blas.limit(limits=1, user_api="blas"):
            for i in range(0, len(x), self.block):
                for saved, W in zip(self.rest_saved, self.rest):
                    saved[...] = W
                loss, W1_next = step(x[i:i + self.block], y[i:i + self.block])
                if loss is None or not self._finite(W1_next, *self.rest):
                    for saved, W in zip(self.rest_saved, self.rest):  # back to the block's start
                        W[...] = saved
                    self._store()
                    samples = range(i, min(i + self.block, len(x)))
                    raise DivergenceError(
                        f"the training loss or the weights became NaN or infinite in epoch {epoch}/"
                        f"{self.net.epochs}, samples {samples.start + 1}-{samples.stop} of the epoch; the "
                        f"weights are left as they were before those samples. Try a smaller learning_rate "
                        f"(received {self.net.learning_rate}).", epoch, samples)
                self.W1 = W1_next
                loss_sum += loss
        self._store()
        return loss_sum

    @staticmethod
    def _finite(*arrays):
        return all(np.isfinite(a).all() for a in arrays)

    def _per_sample_block(self, xb, yb):
        """Per-sample SGD through one block; ``W^[1]`` changes once, at its end (module docstring).

        Returns the block's summed loss and ``W^[1]^T`` after it, or ``(None, None)`` at the
        first step whose loss is not finite.
        """
        gemv, ger, dot, W1, rest, D = self.gemv, self.ger, self.dot, self.W1, self.rest, self.deltas
        K = yb.shape[1]
        ones = np.ones(K, dtype=W1.dtype)
        c = 2.0 * self.net.learning_rate / K  # eta * 2/K: the factor of dC/df = 2 (f - y)/K, applied once
        P = xb @ W1    # row t: W_0 x_t (W_0 = first layer at the block's start)
        G = xb @ xb.T  # Gram matrix x_s . x_t
        loss = 0.0
        for t in range(len(xb)):
            a = P[t]
            if t:  # a^[1] = W_{t-1} x_t = W_0 x_t - eta sum_{s<t} delta_s (x_s . x_t)
                gemv(-c, D[:t].T, G[t, :t], beta=1.0, y=a, overwrite_y=1)
            hs = []
            for W in rest:  # h^[l] = sigma(a^[l]),  a^[l+1] = W^[l+1] h^[l]
                h = expit(a, out=a)
                hs.append(h)
                a = gemv(1.0, W, h)
            a -= a[a.argmax()]  # f = softmax(a^[L]), shifted so exp cannot overflow
            f = np.exp(a, out=a)
            f /= dot(f, ones)
            r = f - yb[t]       # (K/2) dC/df
            sq = dot(r, r)      # K * C
            if not math.isfinite(sq):
                return None, None
            loss += sq
            r -= dot(r, f)      # delta^[L] = f * (g - g.f)  (times K/2)
            delta = np.multiply(r, f, out=r)
            for l in range(len(rest) - 1, -1, -1):
                h = hs[l]
                # delta^[l] = (W^[l+1]^T delta^[l+1]) * h (1 - h), before W^[l+1] changes
                if l:
                    prev = gemv(1.0, rest[l], delta, trans=1)
                else:
                    prev = gemv(1.0, rest[l], delta, beta=0.0, y=D[t], overwrite_y=1, trans=1)
                prev *= h - h * h
                ger(-c, delta, h, a=rest[l], overwrite_a=1)  # W <- W - eta delta h^T, in place
                delta = prev
            if not rest:
                D[t] = delta
        # the block's rank-1 updates at once: W^[1] <- W^[1] - eta sum_t delta_t x_t^T
        W1_next = xb.T @ (c * D[:len(xb)])
        return loss / K, np.subtract(W1, W1_next, out=W1_next)

    def _mini_batch_step(self, xb, yb):
        """One step on the batch-mean gradient; whole-batch matrix products.

        Returns the batch's summed loss and ``W^[1]^T`` after the step, or ``(None, None)`` if
        the loss is not finite.
        """
        W1, rest = self.W1, self.rest
        n, K = yb.shape
        c = 2.0 * self.net.learning_rate / (K * n)  # eta * (2/K) * (1/n): batch mean
        a = xb @ W1                                 # a^[1] = W^[1] x, row by row
        hs = []
        for W in rest:
            h = _sigmoid(a)
            hs.append(h)
            a = h @ W.T
        a -= a.max(axis=1, keepdims=True)           # f = softmax(a^[L]) per row
        f = np.exp(a, out=a)
        f /= f.sum(axis=1, keepdims=True)
        r = f - yb
        sq = float(np.vdot(r, r))
        if not math.isfinite(sq):
            return None, None
        r -= np.einsum("ij,ij->i", r, f)[:, None]   # delta^[L] = f * (g - g.f), row by row
        delta = np.multiply(r, f, out=r)
        for l in range(len(rest) - 1, -1, -1):
            h = hs[l]
            prev = delta @ rest[l]                  # W^T delta, before W changes
            prev *= h - h * h
            rest[l] -= c * (delta.T @ h)            # W <- W - eta dC/dW
            delta = prev
        W1_next = xb.T @ (c * delta)
        return sq / K, np.subtract(W1, W1_next, out=W1_next)
