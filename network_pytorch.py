"""Part 2 (PyTorch): the course's ``NeuralNetworkTorch``, in the idiom of PyTorch's examples/mnist.

``sizes[0]`` inputs, one ``nn.Linear`` per consecutive pair of ``sizes``, sigmoid hidden
activations, softmax output, cross-entropy, plain stochastic gradient descent (``optim.SGD``).
Symbols follow ``theory/theory.tex``: ``a`` is a pre-activation, ``h = sigmoid(a)`` a hidden
activation, ``f = softmax(a)`` the output, ``eta`` the learning rate.

``forward`` returns the output layer's pre-activations ``a`` (the logits), and the loss is
``F.cross_entropy(a, y) = -(1/n) sum_i log softmax(a_i)[y_i]``: the softmax is applied once,
inside the loss, as a stable log-softmax (examples/mnist pairs ``log_softmax`` with
``nll_loss``, the same thing in two calls).  Prediction takes ``argmax a = argmax softmax(a)``.

Shapes: a batch is ``(n, sizes[0])``; image batches ``(n, 1, 28, 28)`` are flattened by
:meth:`NeuralNetworkTorch._flatten`.  Labels are integer class indices ``(n,)``.

:func:`make_loader` builds the loaders the course notebook builds (images ``(1, 28, 28)``
normalised with mean 0.5 and std 0.5, integer labels) from the raw arrays of
:func:`mnist.load_mnist`, without torchvision.
"""

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import TensorDataset

import checks
from mnist import IMAGE_SHAPE, N_CLASSES

__all__ = ["NeuralNetworkTorch", "BatchLoader", "make_loader"]

NORMALISE_MEAN = 0.5  # the course notebook's transforms.Normalize((0.5,), (0.5,))
NORMALISE_STD = 0.5


class NeuralNetworkTorch(nn.Module):
    """Fully connected network: sigmoid hidden layers, softmax output, cross-entropy, SGD.

    Parameters
    ----------
    sizes : list of int
        ``sizes[0]`` input features, ``sizes[-1]`` classes, hidden layer widths in between.
    epochs : int
        Passes over the training loader made by :meth:`fit`.
    learning_rate : float
        SGD step size ``eta``.
    random_state : int
        Seed given to ``torch.manual_seed`` before the layers are created.
    """

    def __init__(self, sizes, epochs=10, learning_rate=0.01, random_state=1):
        super().__init__()
        self.sizes = sizes = checks.layer_sizes("sizes", sizes)
        self.epochs = checks.positive_integer("epochs", epochs)
        self.learning_rate = checks.positive_number("learning_rate", learning_rate)
        self.random_state = checks.integer("random_state", random_state, minimum=0)

        torch.manual_seed(self.random_state)
        # BEGIN SOLUTION (init)
        # One affine layer a = W h + b per consecutive pair of sizes; W is (n_out, n_in).
        self.layers = nn.ModuleList(nn.Linear(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:]))
        # END SOLUTION
        self.optimizer = optim.SGD(self.parameters(), lr=self.learning_rate)

    def forward(self, x):
        """Logits ``a`` ``(n, sizes[-1])`` for rows ``x`` ``(n, sizes[0])``; ``net(x)`` runs this."""
        return self._forward_pass(x)

    def _forward_pass(self, x_train):
        """Logits ``a`` of the output layer ``(n, sizes[-1])`` for rows ``x_train`` ``(n, sizes[0])``.

        Hidden layers: ``h = sigmoid(W h_prev + b)``.  The output softmax ``f = softmax(a)``
        is left to the loss, which takes the logits.
        """
        # BEGIN SOLUTION
        *hidden, output = self.layers
        h = x_train
        for layer in hidden:
            h = torch.sigmoid(layer(h))
        return output(h)
        # END SOLUTION

    def _backward_pass(self, y_train, output):
        """Backpropagate the mean cross-entropy of the logits ``output``; return the loss (0-d tensor).

        ``y_train``: class indices ``(n,)`` (int64) or one-hot rows ``(n, sizes[-1])`` of any
        dtype (the template's ``fit`` passes ``one_hot(y, 10)``, int64).
        """
        # BEGIN SOLUTION
        if y_train.dim() == 2:  # one-hot rows: cross_entropy takes them as float target probabilities
            y_train = y_train.to(output.dtype)
        loss = F.cross_entropy(output, y_train)  # log-softmax of the logits, then the mean -log f_y
        loss.backward()  # dC/dW and dC/db of every layer, accumulated in .grad
        return loss
        # END SOLUTION

    def _update_weights(self):
        """One plain SGD step ``W <- W - eta dC/dW`` (and the same for the biases)."""
        # BEGIN SOLUTION
        self.optimizer.step()
        # END SOLUTION

    def _flatten(self, x):
        """``(n, 1, 28, 28)`` images -> ``(n, 784)`` rows (a view when possible); rows pass unchanged."""
        return torch.flatten(x, start_dim=1)

    def predict(self, x):
        """Class indices, an int64 tensor ``(n,)``, of a batch ``x``.

        ``x``: images ``(n, 1, 28, 28)`` or rows ``(n, sizes[0])``, a float tensor or array
        normalised as :func:`make_loader` does.
        """
        checks.features("x", x, self.sizes[0], batch_only=True, images=True, dtype="floating")
        x = torch.as_tensor(x, dtype=next(self.parameters()).dtype)
        # BEGIN SOLUTION
        with torch.no_grad():
            return self._forward_pass(self._flatten(x)).argmax(dim=1)  # argmax a = argmax softmax(a)
        # END SOLUTION

    def compute_accuracy(self, data_loader):
        """Fraction of correctly classified samples of ``data_loader``, as a Python float.

        As examples/mnist's ``test()``: evaluation mode, no autograd graph, one pass over the loader.
        """
        self.eval()
        correct = 0
        with torch.no_grad():
            for x, y in data_loader:
                pred = self._forward_pass(self._flatten(x)).argmax(dim=1)
                correct += int((pred == y).sum())
        return correct / len(data_loader.dataset)

    def fit(self, train_loader, val_loader, *, verbose=True, num_threads=1):
        """Train for ``self.epochs`` epochs of per-batch SGD; return the history.

        For each ``(x, y)`` batch of ``train_loader`` (images or rows, integer labels):
        flatten ``x``, zero the gradients, forward, backward, update.  After each epoch the
        training and validation accuracy are computed and, if ``verbose``, one line printed::

            Epoch 3/50 - 0.41s - lr: 0.05 - loss: 0.4123 - accuracy: 88.10% - val_accuracy: 85.30%

        ``num_threads``: intra-op CPU threads during ``fit`` (restored afterwards; ``None``
        leaves torch's setting alone).

        Returns a dict of lists, one Python float per epoch: ``accuracy`` and ``val_accuracy``
        (fractions), ``loss`` (mean training cross-entropy per sample) and ``epoch_time``
        (seconds of training, evaluation excluded).  Raises ``FloatingPointError`` if the
        training loss becomes NaN or infinite.
        """
        verbose = checks.boolean("verbose", verbose)
        if num_threads is not None:
            num_threads = checks.positive_integer("num_threads", num_threads)
        history = {"accuracy": [], "val_accuracy": [], "loss": [], "epoch_time": []}
        previous_threads = torch.get_num_threads()
        # One thread is fastest for layers this small: waking a second costs more than it computes.
        torch.set_num_threads(num_threads or previous_threads)
        try:
            for epoch in range(1, self.epochs + 1):
                self.train()
                start = time.perf_counter()
                loss_sum, n_samples = 0.0, 0
                for x, y in train_loader:
                    x = self._flatten(x)
                    # The template one-hot encodes y here; the class indices give the same loss
                    # -log f_y, and F.cross_entropy reads them directly (no (n, 10) rows to build).
                    self.optimizer.zero_grad()
                    output = self._forward_pass(x)
                    loss = self._backward_pass(y, output)
                    self._update_weights()
                    loss_sum += loss.item() * len(y)
                    n_samples += len(y)
                epoch_time = time.perf_counter() - start
                epoch_loss = loss_sum / n_samples
                if not math.isfinite(epoch_loss):
                    raise FloatingPointError(
                        f"the training loss became {epoch_loss} in epoch {epoch}/{self.epochs} with "
                        f"learning_rate={self.learning_rate:g}: SGD diverged; try a smaller learning rate")
                accuracy = self.compute_accuracy(train_loader)
                val_accuracy = self.compute_accuracy(val_loader)
                for key, value in zip(history, (accuracy, val_accuracy, epoch_loss, epoch_time)):
                    history[key].append(float(value))
                if verbose:
                    lr = self.optimizer.param_groups[0]["lr"]
                    print(f"Epoch {epoch}/{self.epochs} - {epoch_time:.2f}s - lr: {lr:g} - loss: {epoch_loss:.4f}"
                          f" - accuracy: {accuracy:.2%} - val_accuracy: {val_accuracy:.2%}")
        finally:
            torch.set_num_threads(previous_threads)
        return history


class BatchLoader:
    """Mini-batches ``(x, y)`` sliced from a ``TensorDataset`` of two prepared tensors.

    Iterates as a ``DataLoader`` over the same dataset would (``len`` = number of batches,
    ``.dataset``, ``.batch_size``), but each batch is one slice of the tensors instead of
    ``batch_size`` indexed samples collated into a new tensor.  ``shuffle`` reorders the
    samples before every pass, drawing from ``generator`` (torch's global one if ``None``).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, generator=None):
        self.dataset, self.batch_size, self.shuffle, self.generator = dataset, batch_size, shuffle, generator

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        x, y = self.dataset.tensors
        if self.shuffle:
            order = torch.randperm(len(y), generator=self.generator)
            x, y = x[order], y[order]
        for start in range(0, len(y), self.batch_size):
            yield x[start:start + self.batch_size], y[start:start + self.batch_size]


def make_loader(images, labels, batch_size=1, shuffle=False, seed=None):
    """A :class:`BatchLoader` as the course notebook builds its ``DataLoader``, from raw MNIST arrays.

    Parameters
    ----------
    images : uint8 array ``(n, 28, 28)`` in 0..255 (as :func:`mnist.load_mnist` returns)
    labels : integer array ``(n,)`` in 0..9
    batch_size : int (the course uses 1)
    shuffle : bool, reshuffle the samples before every epoch
    seed : int, optional; seeds the shuffling (a private ``torch.Generator``)

    The dataset is a ``TensorDataset`` of ``float32`` images ``(1, 28, 28)`` scaled as
    torchvision's ``ToTensor()`` then ``Normalize((0.5,), (0.5,))`` do (``(x/255 - 0.5) / 0.5``,
    values in [-1, 1]) and ``int64`` labels, prepared once.
    """
    checks.features("images", images, math.prod(IMAGE_SHAPE), batch_only=True, images=True, dtype="uint8")
    checks.labels("labels", labels, len(images), N_CLASSES)
    batch_size = checks.positive_integer("batch_size", batch_size)
    shuffle = checks.boolean("shuffle", shuffle)
    generator = None
    if seed is not None:
        generator = torch.Generator().manual_seed(checks.integer("seed", seed, minimum=0))
    x = torch.from_numpy(np.asarray(images)).to(torch.float32).div(255)  # ToTensor(): [0, 1]
    x = x.sub(NORMALISE_MEAN).div(NORMALISE_STD).reshape(len(x), 1, *IMAGE_SHAPE)  # Normalize: [-1, 1]
    y = torch.from_numpy(np.asarray(labels).astype(np.int64))
    return BatchLoader(TensorDataset(x, y), batch_size, shuffle, generator)
