# BEGIN ANSWER ONLY
"""Part 2.1 (b): the course's ``NeuralNetworkTorch``, with the five pieces students write.

The given code is the template's (``../shared/TEMPLATE.md``); the students' part sits between
``# BEGIN SOLUTION`` and ``# END SOLUTION`` (``make handout`` turns it back into TODOs), and
this answer's own additions (argument checks, ``net.history`` kept after Ctrl-C) are decorators
above the given methods (:mod:`wrappers`), never inside them.  One
``nn.Linear`` per consecutive pair of ``sizes``, sigmoid hidden layers, softmax output,
cross-entropy, plain SGD.  Symbols as in ``theory/theory.tex``: ``a`` a pre-activation,
``h = sigma(a)`` a hidden activation, ``f = softmax(a^[L])`` the output.

``fit`` receives loaders of image batches ``(n, 1, 28, 28)`` and integer labels (as
``mnist_loader.make_loader`` builds them), flattens the images and one-hot encodes the labels
before the student's methods see them; ``compute_accuracy`` passes unflattened batches to
``predict``.
"""
# END ANSWER ONLY
import time

import torch
import torch.nn as nn
import torch.optim as optim
# BEGIN ANSWER ONLY

import checks
from wrappers import before, keeps_history


def _check_init(self, sizes, epochs, learning_rate, random_state):
    checks.layer_sizes("sizes", sizes)
    checks.positive_integer("epochs", epochs)
    checks.positive_number("learning_rate", learning_rate)
    checks.integer("random_state", random_state, minimum=0)


def _check_fit(self, train_loader, val_loader):
    checks.loader("train_loader", train_loader)
    checks.loader("val_loader", val_loader)
# END ANSWER ONLY


class NeuralNetworkTorch(nn.Module):
    # BEGIN ANSWER ONLY
    @before(_check_init)
    # END ANSWER ONLY
    def __init__(self, sizes, epochs=10, learning_rate=0.01, random_state=1):
        '''
        TODO: Create the layers of the network from `sizes` here, before the optimizer is
        created (the optimizer needs the parameters of the layers).
        '''
        super().__init__()
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.random_state = random_state

        torch.manual_seed(self.random_state)

        # BEGIN SOLUTION (init)
        # One affine layer a^[l] = W^[l] h^[l-1] + b^[l] per consecutive pair of sizes (W is (n_out, n_in)).
        self.layers = nn.ModuleList(nn.Linear(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:]))
        # END SOLUTION

        self.activation_func = torch.sigmoid
        self.output_func = torch.softmax
        # BEGIN SOLUTION
        # TEMPLATE: self.loss_func = nn.BCEWithLogitsLoss()
        # The problem asks for cross-entropy over the K classes; BCE would score each output as an
        # independent yes/no question.  CrossEntropyLoss takes the output layer's pre-activations
        # a^[L] and computes -sum_k y_k log softmax(a^[L])_k stably (softmax applied once, inside).
        self.loss_func = nn.CrossEntropyLoss()
        # END SOLUTION
        self.optimizer = optim.SGD(self.parameters(), lr=learning_rate)

    def _forward_pass(self, x_train):
        '''
        TODO: Implement the forward propagation algorithm.
        The method should return the output of the network.
        '''
        # BEGIN SOLUTION
        # h^[l] = sigma(W^[l] h^[l-1] + b^[l]) in the hidden layers; returns a^[L] (the logits),
        # whose softmax f is taken by the loss and by predict.
        *hidden, output_layer = self.layers
        h = x_train
        for layer in hidden:
            h = self.activation_func(layer(h))
        return output_layer(h)
        # END SOLUTION

    def _backward_pass(self, y_train, output):
        '''
        TODO: Implement the backpropagation algorithm responsible for updating the weights of the neural network.
        '''
        # BEGIN SOLUTION
        # C = mean over the batch of -sum_k y_k log f_k = -log f_c, c the true class: y_train is
        # one-hot, its argmax is c, and CrossEntropyLoss reads class indices directly.
        loss = self.loss_func(output, y_train.argmax(dim=1))
        loss.backward()  # dC/dW and dC/db of every layer, accumulated into .grad
        # END SOLUTION

    def _update_weights(self):
        '''
        TODO: Update the network weights according to stochastic gradient descent.
        '''
        # BEGIN SOLUTION
        self.optimizer.step()  # p <- p - eta dC/dp for every parameter p
        # END SOLUTION

    def _flatten(self, x):
        return x.view(x.size(0), -1)

    def _print_learning_progress(self, start_time, iteration, train_loader, val_loader):
        train_accuracy = self.compute_accuracy(train_loader)
        val_accuracy = self.compute_accuracy(val_loader)
        print(
            f'Epoch: {iteration + 1}, ' \
            f'Training Time: {time.time() - start_time:.2f}s, ' \
            f'Learning Rate: {self.optimizer.param_groups[0]["lr"]}, ' \
            f'Training Accuracy: {train_accuracy * 100:.2f}%, ' \
            f'Validation Accuracy: {val_accuracy * 100:.2f}%'
            )
        return train_accuracy, val_accuracy

    def predict(self, x):
        '''
        TODO: Implement the prediction making of the network.

        The method should return the index of the most likeliest output class.
        '''
        # BEGIN SOLUTION
        # compute_accuracy passes image batches (n, 1, 28, 28): flatten them to rows first.
        with torch.no_grad():
            f = self.output_func(self._forward_pass(self._flatten(x)), dim=1)  # class probabilities
        return torch.argmax(f, dim=1)
        # END SOLUTION

    # BEGIN ANSWER ONLY
    @before(_check_fit)
    @keeps_history  # net.history: the epochs done, also when training is interrupted (Ctrl-C)
    # END ANSWER ONLY
    def fit(self, train_loader, val_loader):
        start_time = time.time()
        history = {'accuracy': [], 'val_accuracy': []}

        for iteration in range(self.epochs):
            for x, y in train_loader:
                x = self._flatten(x)
                y = nn.functional.one_hot(y, 10)
                self.optimizer.zero_grad()

                output = self._forward_pass(x)
                self._backward_pass(y, output)
                self._update_weights()

            train_accuracy, val_accuracy = self._print_learning_progress(start_time, iteration, train_loader, val_loader)
            history['accuracy'].append(train_accuracy)
            history['val_accuracy'].append(val_accuracy)
        return history

    def compute_accuracy(self, data_loader):
        correct = 0
        for x, y in data_loader:
            pred = self.predict(x)
            correct += torch.sum(torch.eq(pred, y))

        return correct / len(data_loader.dataset)
