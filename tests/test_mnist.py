"""mnist.py: the offline loader, the IDX/npz readers and their failure modes, the split."""

import gzip
import re

import numpy as np
import pytest

import mnist


@pytest.fixture
def empty_home(tmp_path, monkeypatch):
    """A HOME with no Keras cache, no MNIST_PATH: load_mnist() must use the embedded digits."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("MNIST_PATH", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return home


# --------------------------------------------------------------------------- embedded default
def test_embedded_default_offline(empty_home):
    images, labels = data = mnist.load_mnist()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.int64
    assert images.min() == 0 and images.max() == 255
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)
    assert "embedded" in data.source and data.n_train is None
    # these are real digits: about 80% of the pixels are background
    assert 0.7 < np.mean(images == 0) < 0.9
    # the first parse writes a per-user cache; the second load reads it and is identical
    cached = list((empty_home / ".cache").rglob("*.npz"))
    assert len(cached) == 1
    again = mnist.load_mnist()
    assert "cache" in again.source
    # outputs (the committed notebook's among them) show the cache under ~, not the home path
    assert "cache ~/.cache/" in again.source and str(empty_home) not in again.source
    np.testing.assert_array_equal(again[0], images)
    np.testing.assert_array_equal(again[1], labels)


def test_corrupt_cache_is_ignored(empty_home):
    mnist.load_mnist()
    cache = next((empty_home / ".cache").rglob("*.npz"))
    cache.write_bytes(b"not an npz")
    images, labels = mnist.load_mnist()
    assert images.shape == (5000, 28, 28)


def test_keras_cache_is_preferred(empty_home):
    target = empty_home / ".keras" / "datasets"
    target.mkdir(parents=True)
    x, y = _fake_digits(12, seed=1)
    np.savez(target / "mnist.npz", x_train=x[:8], y_train=y[:8], x_test=x[8:], y_test=y[8:])
    data = mnist.load_mnist()
    assert "npz" in data.source and data.n_train == 8
    np.testing.assert_array_equal(data[0], x)
    np.testing.assert_array_equal(data[1], y)


# --------------------------------------------------------------------------- IDX files
def _fake_digits(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), rng.integers(0, 10, size=n).astype(np.int64)


def _idx_bytes(array, magic):
    header = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _write_idx_folder(folder, x, y, n_train, gz):
    folder.mkdir(parents=True, exist_ok=True)
    parts = {"train": (x[:n_train], y[:n_train]), "t10k": (x[n_train:], y[n_train:])}
    for prefix, (images, labels) in parts.items():
        for stem, arr, magic in ((f"{prefix}-images-idx3-ubyte", images, 0x803),
                                 (f"{prefix}-labels-idx1-ubyte", labels, 0x801)):
            raw = _idx_bytes(arr, magic)
            if gz:
                with gzip.open(folder / (stem + ".gz"), "wb") as fh:
                    fh.write(raw)
            else:
                (folder / stem).write_bytes(raw)
    return folder


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_plain_and_gzip(tmp_path, gz, monkeypatch):
    monkeypatch.delenv("MNIST_PATH", raising=False)
    x, y = _fake_digits(15, seed=2)
    folder = _write_idx_folder(tmp_path / "idx", x, y, n_train=10, gz=gz)
    data = mnist.load_mnist(folder)
    assert data.n_train == 10 and "IDX" in data.source
    np.testing.assert_array_equal(data[0], x)
    np.testing.assert_array_equal(data[1], y)
    assert data[0].dtype == np.uint8 and data[1].dtype == np.int64


def test_mnist_path_environment_variable(tmp_path, monkeypatch):
    x, y = _fake_digits(6, seed=3)
    folder = _write_idx_folder(tmp_path / "env", x, y, n_train=4, gz=True)
    monkeypatch.setenv("MNIST_PATH", str(folder))
    np.testing.assert_array_equal(mnist.load_mnist()[1], y)


def test_npz_file_and_folder(tmp_path):
    x, y = _fake_digits(9, seed=4)
    np.savez(tmp_path / "mnist.npz", x_train=x[:5], y_train=y[:5], x_test=x[5:], y_test=y[5:])
    for where in (tmp_path / "mnist.npz", tmp_path):
        data = mnist.load_mnist(where)
        np.testing.assert_array_equal(data[0], x)
        assert data.n_train == 5


def test_read_idx_shapes(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    f = tmp_path / "a-idx3-ubyte"
    f.write_bytes(_idx_bytes(arr, 0x803))
    np.testing.assert_array_equal(mnist.read_idx(f), arr)


# --------------------------------------------------------------------------- failures
def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mnist.load_mnist(tmp_path / "nowhere")


def test_folder_without_mnist_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        mnist.load_mnist(tmp_path)


def test_missing_one_idx_file(tmp_path):
    x, y = _fake_digits(6)
    folder = _write_idx_folder(tmp_path / "d", x, y, n_train=4, gz=False)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        mnist.load_mnist(folder)


def test_wrong_magic_number(tmp_path):
    x, y = _fake_digits(6)
    folder = _write_idx_folder(tmp_path / "d", x, y, n_train=4, gz=False)
    # a labels file where the images file should be
    (folder / "train-images-idx3-ubyte").write_bytes(_idx_bytes(y[:4], 0x801))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*0x00000801.*expected 0x00000803"):
        mnist.load_mnist(folder)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_file(tmp_path, gz):
    x, y = _fake_digits(6)
    folder = _write_idx_folder(tmp_path / "d", x, y, n_train=4, gz=gz)
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    raw = (folder / name).read_bytes()
    (folder / name).write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte"):
        mnist.load_mnist(folder)


def test_image_and_label_counts_differ(tmp_path):
    x, y = _fake_digits(6)
    folder = _write_idx_folder(tmp_path / "d", x, y, n_train=4, gz=False)
    (folder / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(y[:3], 0x801))
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        mnist.load_mnist(folder)


def test_npz_without_expected_arrays(tmp_path):
    np.savez(tmp_path / "mnist.npz", images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"mnist\.npz.*x_train"):
        mnist.load_mnist(tmp_path / "mnist.npz")


def test_npz_with_bad_labels(tmp_path):
    x, y = _fake_digits(4)
    np.savez(tmp_path / "m.npz", x_train=x, y_train=y + 10, x_test=x, y_test=y)
    with pytest.raises(ValueError, match="0..9"):
        mnist.load_mnist(tmp_path / "m.npz")


def test_not_an_npz(tmp_path):
    (tmp_path / "m.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="m.npz"):
        mnist.load_mnist(tmp_path / "m.npz")


# --------------------------------------------------------------------------- preparing
def test_split_is_stratified_shuffled_and_reproducible():
    labels = np.repeat(np.arange(10), 500)  # sorted by class, like the embedded data
    x = np.arange(5000)
    x_tr, y_tr, x_va, y_va = mnist.train_val_split(x, labels, 800, 200, seed=42)
    np.testing.assert_array_equal(np.bincount(y_tr, minlength=10), [80] * 10)
    np.testing.assert_array_equal(np.bincount(y_va, minlength=10), [20] * 10)
    assert len(np.intersect1d(x_tr, x_va)) == 0
    np.testing.assert_array_equal(labels[x_tr], y_tr)  # x and y stay paired
    assert len(set(y_tr[:50])) >= 8  # shuffled: the first rows are not one class
    again = mnist.train_val_split(x, labels, 800, 200, seed=42)
    np.testing.assert_array_equal(again[0], x_tr)
    other = mnist.train_val_split(x, labels, 800, 200, seed=7)
    assert not np.array_equal(other[0], x_tr)


def test_split_proportional_with_unequal_classes():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    x_tr, y_tr, x_va, y_va = mnist.train_val_split(np.arange(100), labels, 50)
    np.testing.assert_array_equal(np.bincount(y_tr), [30, 15, 5])
    np.testing.assert_array_equal(np.bincount(y_va), [30, 15, 5])
    assert len(y_tr) == 50 and len(y_va) == 50


def test_split_sizes_exact_with_rounding():
    labels = np.repeat(np.arange(10), 500)
    _, y_tr, _, y_va = mnist.train_val_split(np.arange(5000), labels, 333, 101, seed=0)
    assert len(y_tr) == 333 and len(y_va) == 101
    assert set(y_tr) == set(range(10)) and set(y_va) == set(range(10))


def test_split_is_scikit_learns_stratified_split():
    """The split is scikit-learn's StratifiedShuffleSplit with these sizes and seed, (train, val) in that order."""
    from sklearn.model_selection import StratifiedShuffleSplit

    labels = np.random.default_rng(0).integers(0, 10, 700)
    x = np.arange(700)
    train, val = next(StratifiedShuffleSplit(1, train_size=300, test_size=200, random_state=5).split(x, labels))
    x_tr, y_tr, x_va, y_va = mnist.train_val_split(x, labels, 300, 200, seed=5)
    np.testing.assert_array_equal(x_tr, train)
    np.testing.assert_array_equal(x_va, val)
    np.testing.assert_array_equal(y_tr, labels[train])


@pytest.mark.parametrize("args, error, match", [
    ((5000, 0), ValueError, "Argument `n_train` must be an integer >= 10 and <= 4990. Received: n_train=5000 "
                            "(of type int)"),
    ((-1,), ValueError, "Argument `n_train` must be an integer >= 10 and <= 4990. Received: n_train=-1"),
    ((10.5,), TypeError, "Argument `n_train` must be an integer >= 10 and <= 4990. Received: n_train=10.5 "
                         "(of type float)"),
    ((4000, 1001), ValueError, "Argument `n_val` must be an integer >= 10 and <= 1000. Received: n_val=1001"),
    ((100, 9), ValueError, "Argument `n_val` must be an integer >= 10 and <= 4900. Received: n_val=9"),
    ((4995,), ValueError, "Argument `n_train` must be an integer >= 10 and <= 4990. Received: n_train=4995"),
])
def test_split_bad_sizes(args, error, match):
    with pytest.raises(error, match="^" + re.escape(match)):
        mnist.train_val_split(np.arange(5000), np.repeat(np.arange(10), 500), *args)


def test_split_bad_labels():
    with pytest.raises(ValueError, match=r"^Argument `y` must be integer labels of shape \(5000,\) in 0\.\.9\. "
                                         r"Received: y=array of shape \(4999,\)"):
        mnist.train_val_split(np.arange(5000), np.repeat(np.arange(10), 500)[1:], 100)
    with pytest.raises(TypeError, match=r"^Argument `y` must be integer labels"):
        mnist.train_val_split(np.arange(5000), np.repeat(np.arange(10.0), 500), 100)


def test_one_hot_and_scale():
    np.testing.assert_array_equal(mnist.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="0..2"):
        mnist.one_hot(np.array([3]), 3)
    with pytest.raises(ValueError, match="integers"):
        mnist.one_hot(np.array([0.5]), 3)
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    out = mnist.scale_images(images)
    assert out.dtype == np.float32 and out.shape == (1, 2, 2)
    np.testing.assert_allclose(out, images / 255.0, rtol=1e-7)
    assert mnist.scale_images(images, flatten=True).shape == (1, 4)


def test_truncated_npz_names_the_file(tmp_path):
    x, y = _fake_digits(10)
    np.savez(tmp_path / "m.npz", x_train=x[:5], y_train=y[:5], x_test=x[5:], y_test=y[5:])
    data = (tmp_path / "m.npz").read_bytes()
    (tmp_path / "m.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cannot read .*m\.npz"):
        mnist.load_mnist(tmp_path / "m.npz")


def test_a_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    """A header claiming a few images, followed by 200 MB of zeros compressed to ~200 KB."""
    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = (0x803).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (2, 28, 28))
    with gzip.open(path, "wb") as fh:
        fh.write(header)
        chunk = bytes(2**20)
        for _ in range(200):
            fh.write(chunk)
    assert path.stat().st_size < 2**20
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match="longer than its header states"):
        mnist.read_idx(path, expect_magic=0x803)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB: nothing inflated


def test_a_header_claiming_gigabytes_is_refused(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes((0x803).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (10**6, 280, 280)))
    with pytest.raises(ValueError, match="is not MNIST"):
        mnist.read_idx(path)
