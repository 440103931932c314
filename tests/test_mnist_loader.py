"""mnist_loader.py: the course notebook's DataLoader, against a plain ``DataLoader`` of the same tensors."""

import numpy as np
import pytest

from mnist_loader import make_loader
from test_mnist import _fake_digits


def test_make_loader_is_the_course_dataloader():
    torch = pytest.importorskip("torch")
    x, y = _fake_digits(6)
    loader = make_loader(x, y, batch_size=4)
    assert isinstance(loader, torch.utils.data.DataLoader) and len(loader) == 2 and len(loader.dataset) == 6
    xb, yb = next(iter(loader))
    assert xb.shape == (4, 1, 28, 28) and xb.dtype == torch.float32 and yb.dtype == torch.int64
    expected = (torch.from_numpy(x[:4]).float() / 255 - 0.5) / 0.5  # ToTensor() then Normalize((0.5,), (0.5,))
    torch.testing.assert_close(xb[:, 0], expected)
    torch.testing.assert_close(yb, torch.from_numpy(y[:4]).long())
    shuffled = [b.tolist() for _, b in make_loader(x, y, batch_size=2, shuffle=True, seed=5)]
    again = [b.tolist() for _, b in make_loader(x, y, batch_size=2, shuffle=True, seed=5)]
    assert shuffled == again and sorted(sum(shuffled, [])) == sorted(y.tolist())
    with pytest.raises(TypeError, match="dtype uint8"):
        make_loader(x.astype(np.float32), y)


@pytest.mark.parametrize("batch_size", [1, 4, 7, 200])
def test_make_loader_gives_the_batches_of_a_plain_dataloader(batch_size):
    """The same batches in the same order as the template's ``DataLoader(dataset, batch_size,
    shuffle, generator)``, epoch after epoch; shuffled: each epoch a new permutation of all
    samples; without a seed, the order follows torch's global seed as the plain loader's does."""
    torch = pytest.importorskip("torch")
    DataLoader = torch.utils.data.DataLoader
    x, y = _fake_digits(23)

    def epochs(loader, n=3):
        return [[(xb.clone(), yb.clone()) for xb, yb in loader] for _ in range(n)]

    def same(a, b):
        return len(a) == len(b) and all(len(p) == len(q) and all(torch.equal(u, v) and torch.equal(s, t)
                                                                 for (u, s), (v, t) in zip(p, q)) for p, q in zip(a, b))

    loader = make_loader(x, y, batch_size=batch_size)
    assert len(loader) == len(DataLoader(loader.dataset, batch_size=batch_size))
    assert same(epochs(loader), epochs(DataLoader(loader.dataset, batch_size=batch_size)))
    assert isinstance(loader, DataLoader)
    assert type(next(iter(loader))) is type(next(iter(DataLoader(loader.dataset, batch_size=batch_size))))  # a list
    shuffled = epochs(make_loader(x, y, batch_size=batch_size, shuffle=True, seed=5))
    plain = DataLoader(loader.dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(5))
    assert same(shuffled, epochs(plain))
    orders = [torch.cat([yb for _, yb in epoch]).tolist() for epoch in shuffled]
    assert all(sorted(o) == sorted(y.tolist()) for o in orders) and orders[0] != orders[1]
    torch.manual_seed(11)
    unseeded = epochs(make_loader(x, y, batch_size=batch_size, shuffle=True))
    torch.manual_seed(11)
    assert same(unseeded, epochs(DataLoader(loader.dataset, batch_size=batch_size, shuffle=True)))
