"""The course notebook's PyTorch ``DataLoader``, built offline from the raw arrays of :mod:`mnist`.

:func:`make_loader` gives the batches that ``DataLoader(dataset, batch_size, shuffle,
generator)`` gives, from tensors prepared once; the rest of this module is the plumbing that
makes that cheap (a sampler of whole batches, an iteration without ``DataLoader``'s per-batch
bookkeeping).  ``torch`` is imported only when a loader is made.
"""

import functools
import math

import numpy as np

from mnist import IMAGE_SHAPE, N_CLASSES

NORMALISE_MEAN = NORMALISE_STD = 0.5  # the course notebook's transforms.Normalize((0.5,), (0.5,))


def make_loader(images, labels, batch_size=1, shuffle=False, seed=None):
    """A PyTorch ``DataLoader`` as the course notebook builds it, from raw MNIST arrays, offline.

    ``images``: ``uint8 (n, 28, 28)`` in 0..255 (as ``mnist.load_mnist`` returns them);
    ``labels``: integers ``(n,)`` in 0..9.  Each sample is a ``float32`` tensor ``(1, 28, 28)``
    scaled as torchvision's ``ToTensor()`` then ``Normalize((0.5,), (0.5,))`` do
    (``(x/255 - 0.5) / 0.5``, values in [-1, 1]) and an ``int64`` label; the tensors are
    prepared once, in a ``TensorDataset``.  ``shuffle`` reshuffles before every epoch, from a
    private generator seeded with ``seed`` (``None``: torch's global generator).

    Iterating gives what ``DataLoader(dataset, batch_size, shuffle, generator=...)`` gives (the
    same batches in the same order; ``len``, ``.dataset`` alike), but each batch is taken
    from the tensors in one indexing step instead of being stacked sample by sample: at batch
    size 128 the stacking took 1.7 times the training's own time (``make bench``).
    """
    import torch
    from torch.utils.data import TensorDataset

    import checks

    checks.features("images", images, math.prod(IMAGE_SHAPE), batch_only=True, images=True, dtype="uint8")
    checks.labels("labels", labels, len(images), N_CLASSES)
    batch_size = checks.positive_integer("batch_size", batch_size)
    shuffle = checks.boolean("shuffle", shuffle)
    generator = None if seed is None else torch.Generator().manual_seed(checks.integer("seed", seed, minimum=0))
    x = torch.from_numpy(np.asarray(images)).to(torch.float32).div(255)  # ToTensor(): [0, 1]
    x = x.sub(NORMALISE_MEAN).div(NORMALISE_STD).reshape(len(x), 1, *IMAGE_SHAPE)  # Normalize: [-1, 1]
    y = torch.from_numpy(np.asarray(labels).astype(np.int64))
    dataset = TensorDataset(x, y)
    # batch_size=None: the sampler's items are whole batches, dataset[batch] indexes the tensors once.
    return _tensor_loader()(dataset, sampler=_Batches(len(dataset), batch_size, shuffle, generator), batch_size=None,
                            generator=generator)


@functools.cache
def _tensor_loader():
    """The ``DataLoader`` subclass of :func:`make_loader` (made on first use: torch is imported only then)."""
    import torch
    from torch.utils.data import DataLoader

    class TensorLoader(DataLoader):
        """A ``DataLoader`` (no workers, ``batch_size=None``) whose iteration yields what
        ``DataLoader``'s own iterator yields, ``collate_fn(dataset[batch])`` for each ``batch`` of
        the sampler, without its per-batch bookkeeping (a profiler record per batch, about 25 us:
        3-4 % of a batch-1 SGD step of the notebook's network)."""

        def __iter__(self):
            batches = iter(self.sampler)
            # DataLoader's iterator draws a base seed for its workers first: drawn here too, so that
            # the shuffled order that follows from the same generator is the plain loader's.
            torch.empty((), dtype=torch.int64).random_(generator=self.generator)
            dataset, convert = self.dataset, self.collate_fn
            return (convert(dataset[batch]) for batch in batches)

    return TensorLoader


class _Batches:
    """The batches of one epoch as indices into a dataset: ``slice``s in order, or slices of a
    fresh permutation when shuffled, drawn as ``DataLoader(..., shuffle=True)``'s sampler draws
    it (from ``generator``; ``None``: from a generator seeded from torch's global one), so the
    order is that of the plain loader too."""

    def __init__(self, n, batch_size, shuffle, generator):
        self.n, self.batch_size, self.shuffle, self.generator = n, batch_size, shuffle, generator

    def __len__(self):
        return -(-self.n // self.batch_size)

    def __iter__(self):
        import torch

        order, generator = None, self.generator
        if self.shuffle:
            if generator is None:
                generator = torch.Generator().manual_seed(int(torch.empty((), dtype=torch.int64).random_().item()))
            order = torch.randperm(self.n, generator=generator)
            torch.randperm(self.n, generator=generator)  # RandomSampler draws (and drops) a second one per epoch
        for start in range(0, self.n, self.batch_size):
            stop = min(start + self.batch_size, self.n)
            yield slice(start, stop) if order is None else order[start:stop]
