"""The plain per-sample NumPy baseline: float64, forward -> backward -> update written the obvious way.

Same network as ``network_scratch.NeuralNetwork`` (sigmoid hidden layers, softmax output,
the course's MSE cost, no biases, per-sample SGD) and the same initial weights; no fused
tricks.  ``bench/`` divides the scratch network's throughput by this one's.
"""

import numpy as np


def init_weights(layer_shapes, random_state=1):
    """The template's initialisation: ``np.random.rand(n_out, n_in) - 0.5`` after seeding."""
    np.random.seed(random_state)
    return [np.random.rand(n_out, n_in) - 0.5 for n_in, n_out in zip(layer_shapes[:-1], layer_shapes[1:])]


def train_epoch(weights, x, y, eta):
    """One epoch of per-sample SGD over ``x`` ``(n, d)``, one-hot ``y`` ``(n, K)``, in order.

    Updates ``weights`` in place and returns the mean training loss of the epoch.
    """
    loss = 0.0
    for x_t, y_t in zip(x, y):
        hs = [x_t]                                   # forward: h^[l] = sigma(W^[l] h^[l-1])
        for W in weights[:-1]:
            hs.append(1.0 / (1.0 + np.exp(-(W @ hs[-1]))))
        a = weights[-1] @ hs[-1]
        e = np.exp(a - a.max())
        f = e / e.sum()                              # f = softmax(a^[L])
        loss += np.mean((f - y_t) ** 2)
        g = 2.0 * (f - y_t) / len(f)                 # dC/df
        delta = f * (g - g @ f)                      # full softmax Jacobian
        grads = []
        for l in range(len(weights) - 1, -1, -1):    # backward
            grads.append(np.outer(delta, hs[l]))
            if l:
                delta = (weights[l].T @ delta) * hs[l] * (1.0 - hs[l])
        for W, grad in zip(weights, reversed(grads)):  # update
            W -= eta * grad
    return loss / len(x)
