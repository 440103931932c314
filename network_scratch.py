"""A fully connected network written from scratch in NumPy: the course template, filled in.

Sigmoid hidden layers, a softmax output layer, the course's mean-squared-error cost, no
biases, stochastic gradient descent: problem set 1, part A, fixes these.  The four methods
the students write (``_forward_pass``, ``_backward_pass``, ``_update_weights``, ``predict``)
sit between ``# BEGIN SOLUTION`` and ``# END SOLUTION``; the rest is the template's.

Shapes: one sample is ``(d,)``, a batch ``(n, d)``; ``weights[l - 1]`` is ``W^[l]``, of shape
``(n_out, n_in)``.  Symbols follow ``theory/theory.tex`` (layers ``l = 1..L``, ``h^[0] = x``)::

    a^[l] = W^[l] h^[l-1]                      pre-activation          (self.Z[l-1])
    h^[l] = sigma(a^[l]),  f = softmax(a^[L])  activation / output     (self.A[l])
    C     = (1/K) sum_k (f_k - y_k)^2          the course's MSE cost
    delta^[L] = J_softmax(a^[L])^T dC/df,      dC/df = 2 (f - y) / K   (full Jacobian)
    delta^[l] = (W^[l+1]^T delta^[l+1]) * h^[l] (1 - h^[l])            (sigma' = h (1 - h))
    dC/dW^[l] = delta^[l] h^[l-1]^T,           W^[l] <- W^[l] - eta dC/dW^[l]

``fit`` runs the template's loop: for each sample in data order, forward, backward, update.
``fit(..., fast=True)`` hands that loop to :mod:`scratch_engine`, which gives the same
weights up to rounding in far fewer, larger operations (``tests/test_network_scratch.py``).
"""

import math
import time

import numpy as np

import checks
from utils import mse, mse_deriv, sigmoid, softmax, softmax_backward

__all__ = ["NeuralNetwork", "DivergenceError"]


class DivergenceError(FloatingPointError):
    """Training stopped because a step's loss, or the weights after its update, were not finite.

    Attributes: ``epoch`` and ``step`` (both 1-based) of that step, and ``history`` (the
    completed epochs).  The weights are left as they were before that step.
    """

    def __init__(self, message, epoch, step):
        super().__init__(message)
        self.epoch, self.step, self.history = epoch, step, None


class NeuralNetwork:
    """Sigmoid hidden layers, softmax output, MSE cost, no biases, trained by SGD.

    ``layer_shapes`` is ``[n_inputs, n_hidden_1, ..., n_classes]``; ``learning_rate`` is
    ``eta``; ``random_state`` seeds ``np.random.seed`` before the weights are drawn (and the
    shuffling of ``fit(shuffle=True)``).  ``dtype`` is np.float64 (the template's) or
    np.float32 (about twice as fast with ``fit(fast=True)``).
    """

    def __init__(self, layer_shapes, epochs=50, learning_rate=0.01, random_state=1, dtype=np.float64):
        self.layer_shapes = checks.layer_sizes("layer_shapes", layer_shapes)
        self.epochs = checks.positive_integer("epochs", epochs)
        self.learning_rate = checks.positive_number("learning_rate", learning_rate)
        self.random_state = checks.integer("random_state", random_state, minimum=0, maximum=2**32 - 1)
        self.dtype = np.dtype(checks.one_of("dtype", dtype, (np.float64, np.float32)))

        np.random.seed(self.random_state)  # the template's initialisation: uniform in [-0.5, 0.5)
        self.weights = [(np.random.rand(n_out, n_in) - 0.5).astype(self.dtype, copy=False)
                        for n_in, n_out in zip(self.layer_shapes[:-1], self.layer_shapes[1:])]
        self.A = [None] * len(self.layer_shapes)        # h^[0] = x, h^[1], ..., h^[L] = f
        self.Z = [None] * (len(self.layer_shapes) - 1)  # a^[1], ..., a^[L]

    # ----------------------------------------------------------------------- the four steps students write
    def _forward_pass(self, x_train):
        """Output ``f`` of one sample ``(d,) -> (K,)`` (or of a batch ``(n, d) -> (n, K)``).

        Fills ``self.A`` with ``h^[0] = x, h^[1], ..., f`` and ``self.Z`` with ``a^[1..L]``.
        """
        # BEGIN SOLUTION
        L = len(self.weights)
        h = self.A[0] = x_train
        for l in range(1, L + 1):
            a = h @ self.weights[l - 1].T               # a^[l] = W^[l] h^[l-1]  (row by row for a batch)
            h = softmax(a) if l == L else sigmoid(a)    # h^[l] = sigma(a^[l]);  f = softmax(a^[L])
            self.Z[l - 1], self.A[l] = a, h
        return h
        # END SOLUTION

    def _backward_pass(self, y_train, output):
        """Gradients ``dC/dW^[l]`` for ``l = 1..L`` (shapes of ``self.weights``) of the last forward pass.

        ``y_train`` is the one-hot target of that pass (``(K,)``, or ``(n, K)`` for a batch,
        whose cost is the mean of the per-sample costs).  Goes through the full softmax
        Jacobian, not its diagonal ``utils.softmax_deriv``.
        """
        # BEGIN SOLUTION
        L = len(self.weights)
        f = output
        n = len(f) if f.ndim == 2 else 1
        delta = softmax_backward(f, mse_deriv(y_train, f) / n)  # delta^[L] = J^T dC/df,  J = diag(f) - f f^T
        gradients = [None] * L
        for l in range(L, 0, -1):
            h = self.A[l - 1]                                     # h^[l-1]
            # dC/dW^[l] = delta^[l] h^[l-1]^T  (summed over the rows of a batch)
            gradients[l - 1] = np.outer(delta, h) if f.ndim == 1 else delta.T @ h
            if l > 1:  # delta^[l-1] = (W^[l]^T delta^[l]) * sigma'(a^[l-1]),  sigma' = h (1 - h)
                delta = (delta @ self.weights[l - 1]) * h * (1 - h)
        return gradients
        # END SOLUTION

    def _update_weights(self, weight_gradients):
        """One gradient-descent step, in place: ``W^[l] <- W^[l] - eta dC/dW^[l]``."""
        # BEGIN SOLUTION
        for W, dW in zip(self.weights, weight_gradients):
            W -= self.learning_rate * dW
        # END SOLUTION

    def predict(self, x):
        """Most likely class: an ``int`` for one sample ``(d,)``, an integer array for ``(n, d)``."""
        checks.features("x", x, self.layer_shapes[0])
        x = np.asarray(x, dtype=self.dtype)
        # BEGIN SOLUTION
        f = self._forward_pass(x)
        return int(np.argmax(f)) if f.ndim == 1 else np.argmax(f, axis=1)
        # END SOLUTION

    # ----------------------------------------------------------------------- given by the template
    def compute_accuracy(self, x_val, y_val):
        """Fraction of the samples whose predicted class is ``argmax(y)`` (a Python float).

        ``y_val`` is one-hot ``(n, K)`` as in the template, or integer labels ``(n,)``.
        """
        x = checks.features("x_val", x_val, self.layer_shapes[0], batch_only=True)
        n, k = len(x), self.layer_shapes[-1]
        if np.ndim(y_val) == 1:
            labels = checks.labels("y_val", y_val, n, k)
        else:
            labels = np.argmax(checks.one_hot("y_val", y_val, n, k), axis=1)
        return self._accuracy(np.asarray(x, dtype=self.dtype), np.asarray(labels))

    def _accuracy(self, x, labels):
        """``compute_accuracy`` on inputs already checked (``fit`` evaluates every epoch)."""
        return float(np.mean(np.argmax(self._forward_pass(x), axis=1) == labels))

    def _print_learning_progress(self, epoch, history):
        print(f"Epoch {epoch + 1}/{self.epochs} - {history['epoch_time'][-1]:.2f}s - "
              f"loss: {history['loss'][-1]:.4f} - accuracy: {history['accuracy'][-1]:.2%} - "
              f"val_accuracy: {history['val_accuracy'][-1]:.2%}", flush=True)

    def fit(self, x_train, y_train, x_val, y_val, *, batch_size=1, shuffle=False, verbose=True, fast=False):
        """Train for ``self.epochs`` epochs; return the history, one Python float per epoch and key.

        The template's loop: for each sample in data order, forward, backward, update; one
        progress line per epoch.  ``batch_size > 1`` steps on the mean gradient of each
        mini-batch; ``shuffle=True`` reshuffles the order every epoch (seeded with
        ``random_state``); ``fast=True`` trains through :mod:`scratch_engine` (same weights up
        to rounding, many times faster; it evaluates with one thread per core).

        Returns ``{'accuracy', 'val_accuracy', 'loss', 'epoch_time'}``: the training and
        validation accuracy after each epoch, the mean training loss of its steps (each
        measured before its update) and its training time in seconds.  Raises
        :class:`DivergenceError` when a step's loss or updated weights are not finite.
        """
        d, k = self.layer_shapes[0], self.layer_shapes[-1]
        checks.features("x_train", x_train, d, batch_only=True)
        checks.one_hot("y_train", y_train, len(x_train), k)
        checks.features("x_val", x_val, d, batch_only=True)
        checks.one_hot("y_val", y_val, len(x_val), k)
        batch_size = checks.positive_integer("batch_size", batch_size)
        shuffle, verbose, fast = (checks.boolean(name, value) for name, value in
                                  (("shuffle", shuffle), ("verbose", verbose), ("fast", fast)))
        x, y = np.asarray(x_train, dtype=self.dtype), np.asarray(y_train, dtype=self.dtype)
        x_val, labels, val_labels = np.asarray(x_val, dtype=self.dtype), np.argmax(y, 1), np.argmax(y_val, 1)
        rng = np.random.default_rng(self.random_state)  # the shuffling's only seed
        if fast:  # the engine is this answer's extra, not the template's: imported only when asked for
            import scratch_engine
            engine = scratch_engine.Engine(self, x, y, batch_size)
        accuracy = engine.accuracy if fast else self._accuracy

        history = {"accuracy": [], "val_accuracy": [], "loss": [], "epoch_time": []}
        for epoch in range(self.epochs):
            order = rng.permutation(len(x)) if shuffle else slice(None)  # slice(None): data order, no copy
            start = time.perf_counter()
            try:
                if fast:
                    loss_sum = engine.train_epoch(order, epoch)
                else:
                    loss_sum = self._train_steps(x[order], y[order], batch_size, epoch)
            except DivergenceError as error:
                error.history = history
                raise
            history["epoch_time"].append(time.perf_counter() - start)
            history["loss"].append(loss_sum / len(x))
            history["accuracy"].append(accuracy(x, labels))
            history["val_accuracy"].append(accuracy(x_val, val_labels))
            if verbose:
                self._print_learning_progress(epoch, history)
        return history

    def _train_steps(self, x, y, batch_size, epoch, first_step=1):
        """SGD through the rows of ``x`` in order: forward, backward, update per step.

        Returns the summed per-sample loss.  Raises :class:`DivergenceError` at the first step
        whose loss, or whose updated weights, are not finite, with the weights as before it.
        """
        start = [W.copy() for W in self.weights]  # to redo the steps before a diverging one from
        loss_sum = 0.0
        for step, i in enumerate(range(0, len(x), batch_size), start=first_step):
            x_step, y_step = (x[i], y[i]) if batch_size == 1 else (x[i:i + batch_size], y[i:i + batch_size])
            output = self._forward_pass(x_step)
            loss = float(mse(y_step, output))
            if not math.isfinite(loss):  # this step's update is not made
                raise self._divergence(f"the training loss became {loss}", epoch, step)
            self._update_weights(self._backward_pass(y_step, output))
            if not all(np.isfinite(W).all() for W in self.weights):
                self.weights = start
                self._train_steps(x[:i], y[:i], batch_size, epoch)  # the steps before this one, again
                raise self._divergence("the update made the weights non-finite", epoch, step)
            loss_sum += loss * min(batch_size, len(x) - i)  # the step's loss is its samples' mean
        return loss_sum

    def _divergence(self, what, epoch, step):
        return DivergenceError(
            f"{what} at epoch {epoch + 1}/{self.epochs}, step {step}; the weights are left as they "
            f"were before that step. Try a smaller learning_rate (received {self.learning_rate}).",
            epoch + 1, step)
