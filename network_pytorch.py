"""A fully connected MNIST classifier in PyTorch with a true cross-entropy loss.

The network is the course template's ``NeuralNetworkTorch``: ``sizes[0]`` inputs, one
``nn.Linear`` per consecutive pair of ``sizes``, sigmoid hidden activations, softmax output,
trained by plain stochastic gradient descent (``optim.SGD``).

Symbols follow ``theory/theory.tex`` and ``network_scratch.py``: ``a`` is a pre-activation,
``h = sigmoid(a)`` a hidden activation, ``f = softmax(a)`` the output, ``eta`` the learning rate.

Cross-entropy is applied exactly once.  The loss of a batch is
``-(1/n) sum_i sum_k y_ik log softmax(a_i)_k`` of the output-layer pre-activations (logits)
``a``; ``nn.CrossEntropyLoss`` computes it from ``a`` with a stable log-softmax.  Feeding the
softmax *probabilities* into that loss (softmax twice) or keeping the template's
``BCEWithLogitsLoss`` are the classic mistakes this module avoids: ``_forward_pass`` returns
the probabilities for prediction but keeps the logits in ``self.logits`` for the loss.

Shape convention: a batch is ``(n_samples, n_features)``; image batches ``(n, 1, 28, 28)``
are flattened to ``(n, 784)`` by :meth:`NeuralNetworkTorch._flatten`.  Labels are integer
class indices ``(n,)`` or one-hot rows ``(n, n_classes)``.

:func:`make_loader` builds the data loaders the way the course notebook does (images
``(1, 28, 28)`` normalised with mean 0.5 and std 0.5, integer labels), from the raw arrays of
:func:`mnist.load_mnist`, without torchvision.
"""

import contextlib
import math
import numbers
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler, TensorDataset
from torch.utils.data import default_collate

__all__ = ["NeuralNetworkTorch", "make_loader"]

NORMALISE_MEAN = 0.5  # the course notebook's transforms.Normalize((0.5,), (0.5,))
NORMALISE_STD = 0.5
EVAL_CHUNK = 1024  # samples per forward pass when evaluating


# --------------------------------------------------------------------------- the network
class NeuralNetworkTorch(nn.Module):
    """Fully connected network: sigmoid hidden layers, softmax output, cross-entropy, SGD.

    Parameters
    ----------
    sizes : list of int
        ``sizes[0]`` input features, ``sizes[-1]`` classes, hidden layer widths in between
        (at least two entries, each a positive integer).
    epochs : int
        Passes over the training loader made by :meth:`fit` (positive integer).
    learning_rate : float
        SGD step size ``eta`` (positive, finite).
    random_state : int
        Seed given to ``torch.manual_seed`` before the layers are created.
    device : str or torch.device, optional
        ``None`` or ``"cpu"`` (default) runs on the CPU; ``"cuda"`` (or ``"cuda:1"``) on a GPU.
        Raises ``ValueError`` if a GPU is requested but not available.
    """

    def __init__(self, sizes, epochs=10, learning_rate=0.01, random_state=1, device=None):
        super().__init__()
        self.sizes = _check_sizes(sizes)
        self.epochs = _check_positive_int(epochs, "epochs")
        self.learning_rate = _check_learning_rate(learning_rate)
        self.random_state = _check_int(random_state, "random_state")
        self.device = _check_device(device)

        torch.manual_seed(self.random_state)  # the one place this class seeds torch
        # One affine layer a = W h + b per consecutive pair of sizes; W is (n_out, n_in).
        self.layers = nn.ModuleList(nn.Linear(n_in, n_out) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]))
        self.to(self.device)
        self.activation_func = torch.sigmoid
        self.output_func = torch.softmax
        # Cross-entropy on the logits a (it applies log-softmax itself); the template's
        # BCEWithLogitsLoss would treat the 10 classes as 10 independent yes/no questions.
        self.loss_func = nn.CrossEntropyLoss()
        self.optimizer = optim.SGD(self.parameters(), lr=self.learning_rate)  # layers exist by now

        self.logits = None  # output-layer pre-activations a of the last _forward_pass
        self._output = None  # the probabilities f returned by the last _forward_pass

    # ----------------------------------------------------------------------- forward
    def forward(self, x):
        """Logits ``a`` of the output layer for a batch ``x`` of shape ``(n, sizes[0])``."""
        *hidden, output = self.layers  # (slicing a ModuleList would build a new module per call)
        h = x
        for layer in hidden:
            h = self.activation_func(layer(h))  # h = sigmoid(W h_prev + b)
        return output(h)  # a = W h + b (no activation: the loss takes the logits)

    def _forward_pass(self, x_train):
        """Softmax probabilities ``f`` ``(n, n_classes)`` for a batch ``(n, sizes[0])``.

        The logits ``a`` are kept in ``self.logits``; :meth:`_backward_pass` computes the loss
        from them.  ``f`` itself is returned *detached* from the autograd graph: it is for
        reading off predictions, and a loss built on it by mistake (softmax applied twice)
        fails loudly instead of training the wrong objective.
        """
        if x_train.dim() != 2 or x_train.shape[1] != self.sizes[0]:
            raise ValueError(f"a batch must have shape (n, {self.sizes[0]}) after flattening "
                             f"(sizes[0] = {self.sizes[0]} input features); received shape {tuple(x_train.shape)}")
        a = self.forward(x_train)
        self.logits = a
        self._output = self.output_func(a.detach(), dim=1)  # f = softmax(a)
        return self._output

    def loss(self, logits, y):
        """Mean cross-entropy ``-(1/n) sum_i sum_k y_ik log softmax(a_i)_k`` of the logits ``a``.

        ``y`` holds integer class indices ``(n,)``, one-hot integer rows ``(n, n_classes)``
        (as the course's ``fit`` passes them), or float probability rows ``(n, n_classes)``.
        """
        n, k = logits.shape
        if y.dim() == 2 and tuple(y.shape) == (n, k):
            if y.dtype.is_floating_point:
                return self.loss_func(logits, y.to(logits.dtype))  # probability targets
            # One-hot integer rows -> class indices: the same value, one op cheaper.
            return self.loss_func(logits, y.argmax(dim=1))
        if y.dim() == 1 and y.shape[0] == n and not y.dtype.is_floating_point and y.dtype != torch.bool:
            if n and (int(y.min()) < 0 or int(y.max()) >= k):
                raise ValueError(f"labels must lie in 0..{k - 1} (sizes[-1] = {k} classes); "
                                 f"received values {int(y.min())}..{int(y.max())}")
            return self.loss_func(logits, y)
        raise ValueError(f"targets must be integer labels of shape ({n},) or one-hot/probability rows "
                         f"of shape ({n}, {k}); received dtype {y.dtype}, shape {tuple(y.shape)}")

    def _backward_pass(self, y_train, output):
        """Backpropagate the cross-entropy of the last forward pass; return the loss (a 0-d tensor).

        ``output`` must be what the latest :meth:`_forward_pass` returned; the loss is taken
        from its logits ``self.logits`` (softmax is applied once, inside the loss).
        ``y_train``: integer labels ``(n,)`` or one-hot rows ``(n, n_classes)``.
        """
        if output is not self._output or self.logits is None:
            raise ValueError("`output` must be the tensor returned by the latest _forward_pass; "
                             "call _forward_pass(x) first and pass its result")
        loss = self.loss(self.logits, y_train)
        loss.backward()  # dC/dW, dC/db for every layer, accumulated in .grad
        return loss

    def _update_weights(self):
        """One plain SGD step ``W <- W - eta dC/dW`` (and the same for the biases)."""
        self.optimizer.step()

    def _flatten(self, x):
        """``(n, 1, 28, 28)`` images -> ``(n, 784)`` rows (a view when possible)."""
        try:
            return x.view(x.size(0), -1)
        except RuntimeError:  # a non-contiguous input cannot be viewed; reshape copies it
            return x.reshape(x.size(0), -1)

    # ----------------------------------------------------------------------- inference
    def predict(self, x):
        """Class indices of a batch: an ``int64`` tensor ``(n,)`` on the CPU.

        ``x`` may be image-shaped ``(n, 1, 28, 28)`` or rows ``(n, 784)`` (a tensor or a
        float NumPy array, normalised as :func:`make_loader` does); a single sample
        ``(784,)`` gives a 0-d tensor.  Runs in ``eval()`` mode under ``torch.no_grad()``
        and restores the previous mode.
        """
        x = torch.as_tensor(x)
        single = x.dim() == 1
        if single:
            x = x.unsqueeze(0)
        pred = self._predict_batch(self._flatten(self._as_input(x)))
        return pred.cpu()[0] if single else pred.cpu()

    def _as_input(self, x):
        """``x`` on the network's device and in its dtype; integer (raw) images are refused."""
        if not x.dtype.is_floating_point:
            raise TypeError(f"inputs must be floating point (images normalised with mean {NORMALISE_MEAN}, "
                            f"std {NORMALISE_STD}, as make_loader gives them); received dtype {x.dtype}")
        return x.to(device=self.device, dtype=self.layers[0].weight.dtype)

    def _predict_batch(self, x):
        """``argmax_k a_k`` for rows ``x`` (argmax of the logits = argmax of softmax)."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                if x.dim() != 2 or x.shape[1] != self.sizes[0]:
                    raise ValueError(f"a batch must have shape (n, {self.sizes[0]}) after flattening; "
                                     f"received shape {tuple(x.shape)}")
                return torch.cat([self.forward(chunk).argmax(dim=1) for chunk in x.split(EVAL_CHUNK)]) \
                    if len(x) else torch.empty(0, dtype=torch.int64, device=x.device)
        finally:
            self.train(was_training)

    def compute_accuracy(self, data_loader):
        """Fraction of correctly classified samples in ``data_loader``, as a Python float.

        Evaluated in batches of up to ``EVAL_CHUNK`` samples, never one forward pass per
        image: a plain ``DataLoader`` over a ``TensorDataset`` is evaluated straight from the
        dataset's tensors; any other loader is iterated and its small batches are gathered.
        The denominator is the number of samples seen (``len(data_loader.dataset)`` for an
        ordinary loader).
        """
        correct, total = 0, 0
        for x, y in _evaluation_chunks(data_loader):
            if y.dim() == 2:  # one-hot rows -> class indices
                y = y.argmax(dim=1)
            pred = self._predict_batch(self._flatten(self._as_input(x)))
            correct += int((pred == y.to(pred.device)).sum())
            total += len(y)
        if total == 0:
            raise ValueError("compute_accuracy received an empty data loader")
        return correct / total

    # ----------------------------------------------------------------------- training
    def fit(self, train_loader, val_loader, *, verbose=True, num_threads=1):
        """Train for ``self.epochs`` epochs of per-batch SGD; return the history.

        The course loop: for each ``(x, y)`` batch of ``train_loader``, flatten ``x``,
        one-hot ``y``, zero the gradients, forward, backward, update.  After each epoch the
        training and validation accuracy are computed and (``verbose=True``) one line is
        printed::

            Epoch 3/50 - 0.41s - lr: 0.05 - loss: 0.4123 - accuracy: 88.10% - val_accuracy: 85.30%

        Parameters
        ----------
        train_loader, val_loader : iterables of ``(x, y)`` batches (e.g. :func:`make_loader`)
            ``x`` images ``(n, 1, 28, 28)`` or rows ``(n, sizes[0])``, ``y`` integer labels ``(n,)``.
        verbose : bool
            Print the progress line of each epoch.
        num_threads : int or None
            Intra-op CPU threads used during ``fit`` (``torch.set_num_threads``), restored
            afterwards.  The default 1 is fastest for these tiny layers (thread start-up costs
            more than the maths at batch size 1); ``None`` leaves torch's setting alone.

        Returns
        -------
        dict of lists of Python floats, one entry per epoch: ``accuracy`` and
        ``val_accuracy`` (fractions in [0, 1]), ``loss`` (mean training cross-entropy over
        the epoch's samples) and ``epoch_time`` (seconds spent training in that epoch,
        evaluation excluded).

        Raises
        ------
        FloatingPointError
            The training loss became NaN or infinite (the updates diverged); the message names
            the epoch and suggests a smaller learning rate.
        ValueError
            A batch of the wrong width, or labels outside ``0..sizes[-1]-1``.
        """
        if num_threads is not None:
            num_threads = _check_positive_int(num_threads, "num_threads")
        history = {"accuracy": [], "val_accuracy": [], "loss": [], "epoch_time": []}
        with _torch_threads(num_threads):
            for epoch in range(1, self.epochs + 1):
                start = time.perf_counter()
                epoch_loss = self._train_one_epoch(train_loader)
                epoch_time = time.perf_counter() - start
                if not math.isfinite(epoch_loss):
                    lr = self.optimizer.param_groups[0]["lr"]
                    raise FloatingPointError(
                        f"the training loss became {epoch_loss} in epoch {epoch}/{self.epochs} with "
                        f"learning_rate={lr:g}: SGD diverged; try a smaller learning rate, e.g. {lr / 10:g}")
                accuracy = self.compute_accuracy(train_loader)
                val_accuracy = self.compute_accuracy(val_loader)
                for key, value in zip(history, (accuracy, val_accuracy, epoch_loss, epoch_time)):
                    history[key].append(float(value))
                if verbose:
                    self._print_learning_progress(epoch, epoch_time, epoch_loss, accuracy, val_accuracy)
        return history

    def _train_one_epoch(self, train_loader):
        """One pass of per-batch SGD over ``train_loader``; the mean loss per sample (float)."""
        self.train()
        n_classes = self.sizes[-1]
        losses, counts = [], []
        for x, y in train_loader:
            x = self._flatten(self._as_input(x))
            y = _one_hot(y.to(self.device), n_classes)
            self.optimizer.zero_grad(set_to_none=True)
            output = self._forward_pass(x)
            loss = self._backward_pass(y, output)
            self._update_weights()
            losses.append(loss.detach())  # no .item() here: one conversion per epoch
            counts.append(len(x))
        if not losses:
            raise ValueError("the training loader yielded no batches")
        # Batch means weighted by batch size = mean over the samples of the epoch.
        weights = torch.tensor(counts, dtype=losses[0].dtype, device=losses[0].device)
        return float((torch.stack(losses) * weights).sum() / weights.sum())

    def _print_learning_progress(self, epoch, epoch_time, loss, accuracy, val_accuracy):
        lr = self.optimizer.param_groups[0]["lr"]
        print(f"Epoch {epoch}/{self.epochs} - {epoch_time:.2f}s - lr: {lr:g} - loss: {loss:.4f} - "
              f"accuracy: {accuracy:.2%} - val_accuracy: {val_accuracy:.2%}")


# --------------------------------------------------------------------------- data loaders
def make_loader(images, labels, batch_size=1, shuffle=False, seed=None):
    """A ``DataLoader`` built as the course notebook builds it, from raw MNIST arrays.

    Parameters
    ----------
    images : uint8 array ``(n, 28, 28)`` in 0..255 (as :func:`mnist.load_mnist` returns)
    labels : integer array ``(n,)``
    batch_size : int (the course uses 1)
    shuffle : bool, reshuffle the samples every epoch
    seed : int, optional; seeds the shuffling (a private ``torch.Generator``).  Without it a
        shuffling loader draws from torch's global generator.

    Returns
    -------
    ``DataLoader`` over a ``TensorDataset`` of ``float32`` images ``(1, 28, 28)`` scaled as
    torchvision's ``ToTensor()`` then ``Normalize((0.5,), (0.5,))`` do (``x/255``, then
    ``(x - 0.5) / 0.5``, so values in [-1, 1]) and ``int64`` labels.  The tensors are
    prepared once, not per item.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be a uint8 array of shape (n, height, width) in 0..255; "
                         f"received dtype {images.dtype}, shape {images.shape}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers of shape (n,); received dtype {labels.dtype}, shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"images and labels must have the same length; received {len(images)} and {len(labels)}")
    batch_size = _check_positive_int(batch_size, "batch_size")
    x = torch.from_numpy(images).to(torch.float32).div(255)  # ToTensor(): [0, 1]
    x = x.sub(NORMALISE_MEAN).div(NORMALISE_STD).unsqueeze(1)  # Normalize: [-1, 1], (n, 1, 28, 28)
    y = torch.from_numpy(labels.astype(np.int64))
    generator = None
    if shuffle and seed is not None:
        generator = torch.Generator().manual_seed(_check_int(seed, "seed"))
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=bool(shuffle), generator=generator)


# --------------------------------------------------------------------------- helpers
def _evaluation_chunks(data_loader):
    """``(x, y)`` chunks of up to ``EVAL_CHUNK`` samples covering ``data_loader`` once."""
    if _is_plain_tensor_loader(data_loader):
        x, y = data_loader.dataset.tensors
        for start in range(0, len(y), EVAL_CHUNK):
            yield x[start:start + EVAL_CHUNK], y[start:start + EVAL_CHUNK]
        return
    xs, ys, n = [], [], 0
    for x, y in data_loader:
        xs.append(x)
        ys.append(y)
        n += len(y)
        if n >= EVAL_CHUNK:
            yield torch.cat(xs), torch.cat(ys)
            xs, ys, n = [], [], 0
    if xs:
        yield torch.cat(xs), torch.cat(ys)


def _is_plain_tensor_loader(loader):
    """Whether ``loader`` visits every sample of a ``TensorDataset`` once, unchanged.

    Then the accuracy (order-independent) can be read straight off the dataset's tensors.
    """
    if not isinstance(loader, DataLoader) or type(loader.dataset) is not TensorDataset:
        return False
    if len(loader.dataset.tensors) != 2 or loader.batch_size is None or loader.collate_fn is not default_collate:
        return False
    sampler = loader.sampler
    full_pass = type(sampler) is SequentialSampler or (
        type(sampler) is RandomSampler and not sampler.replacement and sampler.num_samples == len(loader.dataset))
    n = len(loader.dataset)
    return full_pass and not (loader.drop_last and n % loader.batch_size)


def _one_hot(y, n_classes):
    """``nn.functional.one_hot(y, n_classes)`` with a clear error for bad labels."""
    if y.dim() == 2:  # already one-hot (or probability) rows
        return y
    if y.dtype.is_floating_point or y.dtype == torch.bool:
        raise TypeError(f"labels must be integer class indices; received dtype {y.dtype}")
    try:
        return F.one_hot(y, n_classes)
    except RuntimeError as err:
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_classes):
            raise ValueError(f"labels must lie in 0..{n_classes - 1} (sizes[-1] = {n_classes} classes); "
                             f"received values {int(y.min())}..{int(y.max())}") from err
        raise


@contextlib.contextmanager
def _torch_threads(n):
    """Use ``n`` intra-op threads inside the block (``None``: leave as is), then restore."""
    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_sizes(sizes):
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or not hasattr(sizes, "__iter__"):
        raise TypeError(f"`sizes` must be a list of layer widths, e.g. [784, 128, 64, 10]; received {sizes!r}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"`sizes` needs at least 2 entries (inputs and classes); received {sizes!r}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
            raise ValueError(f"every entry of `sizes` must be a positive integer; received {sizes!r}")
    return [int(s) for s in sizes]


def _check_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer; received {value!r}")
    return int(value)


def _check_positive_int(value, name):
    value = _check_int(value, name)
    if value < 1:
        raise ValueError(f"`{name}` must be a positive integer; received {value!r}")
    return value


def _check_learning_rate(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`learning_rate` must be a positive finite number; received {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"`learning_rate` must be a positive finite number; received {value!r}")
    return float(value)


def _check_device(device):
    if device is None:
        return torch.device("cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"`device` must be None, 'cpu' or 'cuda'; received {device!r}") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"`device` {str(device)!r} was requested but CUDA is not available here "
                         f"(torch {torch.__version__}); use device=None for the CPU")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"`device` must be None, 'cpu' or 'cuda'; received {str(device)!r}")
    return device
