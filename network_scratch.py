# BEGIN ANSWER ONLY
"""Part 2.1 (a): the course's ``NeuralNetwork`` in NumPy, with the four methods students write.

The given code is the template's (``../shared/TEMPLATE.md``); the students' part sits between
``# BEGIN SOLUTION`` and ``# END SOLUTION``, and ``make handout`` turns it back into TODOs.
This answer's own additions (argument checks, ``net.history`` kept after Ctrl-C) are
decorators above the given methods (:mod:`wrappers`), never inside them.
One sample at a time: ``x`` is ``(d,)``, the output ``f`` is ``(K,)``; ``self.weights[l - 1]``
is ``W^[l]``, of shape ``(n_out, n_in)``; no biases.  Symbols as in ``theory/theory.tex``::

    a^[l] = W^[l] h^[l-1]   (self.Z[l - 1]),   h^[l] = sigma(a^[l])   (self.A[l]),   h^[0] = x
    f = softmax(a^[L]),     C = mean_k (f_k - y_k)^2   (utils.mse)

Faster training (mini-batches, shuffling, float32, a loss history, divergence checks) is
opt-in and lives in :mod:`scratch_engine`: ``scratch_engine.fit(net, x_train, ...)``.
"""
# END ANSWER ONLY
import time
import numpy as np
import utils
# BEGIN ANSWER ONLY
import checks
from wrappers import before, keeps_history


def _check_init(self, layer_shapes, epochs, learning_rate, random_state):
    checks.layer_sizes("layer_shapes", layer_shapes)
    checks.positive_integer("epochs", epochs)
    checks.positive_number("learning_rate", learning_rate)
    checks.integer("random_state", random_state, minimum=0, maximum=2**32 - 1)


def _check_fit(self, x_train, y_train, x_val, y_val):
    """Rows (n, d) and one-hot targets (n, K); fit gets them as arrays (a DataFrame as its array)."""
    arrays = checks.training_data(self.layer_shapes[0], self.layer_shapes[-1], x_train, y_train, x_val, y_val)
    return dict(zip(("x_train", "y_train", "x_val", "y_val"), arrays))
# END ANSWER ONLY


class NeuralNetwork():
    # BEGIN ANSWER ONLY
    @before(_check_init)
    # END ANSWER ONLY
    def __init__(self, layer_shapes, epochs=50, learning_rate=0.01, random_state=1):
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.random_state = random_state

        self.layer_shapes = layer_shapes
        self.weights = self._initialize_weights()

        self.A = [None] * len(layer_shapes)
        self.Z = [None] * (len(layer_shapes) - 1)

        self.activation_func = utils.sigmoid
        self.activation_func_deriv = utils.sigmoid_deriv
        self.output_func = utils.softmax
        self.output_func_deriv = utils.softmax_deriv
        self.cost_func = utils.mse
        self.cost_func_deriv = utils.mse_deriv

    def _initialize_weights(self):
        np.random.seed(self.random_state)
        weights = []
        for i in range(1, len(self.layer_shapes)):
            weights.append(np.random.rand(self.layer_shapes[i], self.layer_shapes[i - 1]) - 0.5)
        return weights

    def _forward_pass(self, x_train):
        '''
        TODO: Implement the forward propagation algorithm.
        The method should return the output of the network.
        '''
        # BEGIN SOLUTION
        # h^[0] = x;  a^[l] = W^[l] h^[l-1];  h^[l] = sigma(a^[l]) in the hidden layers, f = softmax(a^[L]).
        L = len(self.weights)
        self.A[0] = x_train
        for l in range(1, L + 1):
            self.Z[l - 1] = self.weights[l - 1] @ self.A[l - 1]
            g = self.output_func if l == L else self.activation_func
            self.A[l] = g(self.Z[l - 1])
        return self.A[L]
        # END SOLUTION

    def _backward_pass(self, y_train, output):
        '''
        TODO: Implement the backpropagation algorithm responsible for updating the weights of the neural network.
        '''
        # BEGIN SOLUTION
        # delta^[L] = dC/da^[L] = J^T dC/df, with the full softmax Jacobian J = diag(f) - f f^T (symmetric):
        #   delta^[L] = f * (g - g.f),  g = dC/df = 2 (f - y) / K.
        # self.output_func_deriv is only J's diagonal f (1 - f): every f_k depends on every a^[L]_j.
        f = output
        g = self.cost_func_deriv(y_train, f)
        delta = f * (g - g @ f)
        L = len(self.weights)
        weight_gradients = [None] * L
        for l in range(L, 0, -1):
            weight_gradients[l - 1] = np.outer(delta, self.A[l - 1])  # dC/dW^[l] = delta^[l] h^[l-1]^T
            if l > 1:  # delta^[l-1] = (W^[l]^T delta^[l]) * sigma'(a^[l-1])
                delta = (self.weights[l - 1].T @ delta) * self.activation_func_deriv(self.Z[l - 2])
        return weight_gradients
        # END SOLUTION

    def _update_weights(self, weight_gradients):
        '''
        TODO: Update the network weights according to stochastic gradient descent.
        '''
        # BEGIN SOLUTION
        for W, dW in zip(self.weights, weight_gradients):
            W -= self.learning_rate * dW  # W^[l] <- W^[l] - eta dC/dW^[l], in place
        # END SOLUTION

    def _print_learning_progress(self, start_time, iteration, x_train, y_train, x_val, y_val):
        train_accuracy = self.compute_accuracy(x_train, y_train)
        val_accuracy = self.compute_accuracy(x_val, y_val)
        print(
            f'Epoch: {iteration + 1}, ' \
            f'Training Time: {time.time() - start_time:.2f}s, ' \
            f'Training Accuracy: {train_accuracy * 100:.2f}%, ' \
            f'Validation Accuracy: {val_accuracy * 100:.2f}%'
            )
        return train_accuracy, val_accuracy

    def compute_accuracy(self, x_val, y_val):
        predictions = []
        for x, y in zip(x_val, y_val):
            pred = self.predict(x)
            predictions.append(pred == np.argmax(y))
        return np.mean(predictions)

    def predict(self, x):
        '''
        TODO: Implement the prediction making of the network.
        The method should return the index of the most likeliest output class.
        '''
        # BEGIN SOLUTION
        return np.argmax(self._forward_pass(x))  # argmax_k f_k
        # END SOLUTION

    # BEGIN ANSWER ONLY
    @before(_check_fit)
    @keeps_history  # net.history: the epochs done, also when training is interrupted (Ctrl-C)
    # END ANSWER ONLY
    def fit(self, x_train, y_train, x_val, y_val):
        history = {'accuracy': [], 'val_accuracy': []}
        start_time = time.time()

        for iteration in range(self.epochs):
            for x, y in zip(x_train, y_train):
                output = self._forward_pass(x)
                weight_gradients = self._backward_pass(y, output)
                self._update_weights(weight_gradients)

            train_accuracy, val_accuracy = self._print_learning_progress(
                start_time, iteration, x_train, y_train, x_val, y_val)
            history['accuracy'].append(train_accuracy)
            history['val_accuracy'].append(val_accuracy)
        return history
