"""Argument checks for the public entry points of the networks and the data helpers.

One policy, as in scikit-learn and Keras: a ``TypeError`` when an argument has the wrong
type, a ``ValueError`` when its type is right but its value is not.  One message form,
Keras'::

    Argument `epochs` must be a positive integer. Received: epochs=2.5 (of type float)

Each check returns the argument as the plain type its caller works with (``int``,
``float``, ``bool``, ``list`` of ``int``); the array checks return NumPy arrays and
framework tensors unchanged, and anything else array-like (a list, a pandas DataFrame) as
a NumPy array.  Only ``.shape``, ``.dtype`` and ``numpy.asarray`` are used: nothing here
imports a framework.  The checks never change what valid input does: they only refuse, early
and by name, what the code behind them would fail on later, or silently get wrong.
"""

import math
import numbers

import numpy as np

__all__ = ["integer", "positive_integer", "positive_number", "boolean", "one_of", "float_dtype", "layer_sizes",
           "pair", "features", "one_hot", "labels", "same_length", "training_data", "loader"]


def _describe(value):
    """How a received value is shown: arrays by shape and dtype, everything else by repr."""
    if isinstance(value, type):  # a class such as np.float16 has `shape` and `dtype` descriptors
        return f"{value.__module__}.{value.__qualname__} (a type)"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"array of shape {tuple(value.shape)} and dtype {value.dtype}"
    if hasattr(value, "shape") and hasattr(value, "dtypes"):  # a pandas DataFrame
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    text = repr(value)
    return (text if len(text) <= 80 else text[:77] + "...") + f" (of type {type(value).__name__})"


def _fail(error, name, expected, value):
    raise error(f"Argument `{name}` must be {expected}. Received: {name}={_describe(value)}")


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


# --------------------------------------------------------------------------- scalars
def integer(name, value, *, minimum=None, maximum=None):
    """An integer (not a bool) in ``[minimum, maximum]``, returned as ``int``."""
    low = "" if minimum is None else f" >= {minimum}"
    high = "" if maximum is None else f" <= {maximum}"
    expected = f"an integer{low}{' and' if low and high else ''}{high}"
    if not _is_integer(value):
        _fail(TypeError, name, expected, value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        _fail(ValueError, name, expected, value)
    return int(value)


def positive_integer(name, value):
    """An integer >= 1 (epochs, batch sizes, widths), returned as ``int``."""
    if not _is_integer(value):
        _fail(TypeError, name, "a positive integer", value)
    if value < 1:
        _fail(ValueError, name, "a positive integer", value)
    return int(value)


def positive_number(name, value):
    """A finite real number > 0 (a learning rate), returned as ``float``."""
    if not _is_number(value):
        _fail(TypeError, name, "a positive finite number", value)
    if not (math.isfinite(value) and value > 0):
        _fail(ValueError, name, "a positive finite number", value)
    return float(value)


def boolean(name, value):
    """``True`` or ``False`` (also NumPy's), returned as ``bool``."""
    if not isinstance(value, (bool, np.bool_)):
        _fail(TypeError, name, "True or False", value)
    return bool(value)


def one_of(name, value, options):
    """One of ``options`` (compared with ``==``), returned unchanged."""
    if not any(_equal(value, option) for option in options):
        _fail(ValueError, name, "one of " + ", ".join(map(repr, options)), value)
    return value


def _equal(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. an array compared with a string
        return False


def float_dtype(name, value, options=("float32", "float64")):
    """A floating dtype among ``options`` (``np.float32``, ``"float32"``, ``np.dtype(...)``), as ``np.dtype``."""
    expected = "one of the dtypes " + ", ".join(options)
    try:
        dtype = np.dtype(value) if value is not None else None  # np.dtype(None) would be float64
    except TypeError:
        dtype = None
    if dtype is None:
        _fail(TypeError, name, expected, value)
    if dtype.name not in options:
        _fail(ValueError, name, expected, value)
    return dtype


def layer_sizes(name, value):
    """``[n_inputs, n_hidden..., n_classes]``: at least two positive integers, as a list."""
    expected = "a list of at least two positive integers (inputs, ..., classes)"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or hasattr(value, "shape"):
        _fail(TypeError, name, expected, value)
    sizes = list(value)
    if not all(_is_integer(s) for s in sizes):
        _fail(TypeError, name, expected, value)
    if len(sizes) < 2 or min(sizes) < 1:
        _fail(ValueError, name, expected, value)
    return [int(s) for s in sizes]


def pair(name, value, parts):
    """A tuple or list of two items (e.g. ``validation_data = (x_val, y_val)``), returned as a tuple."""
    if not isinstance(value, (tuple, list)):
        _fail(TypeError, name, f"a tuple ({', '.join(parts)})", value)
    if len(value) != 2:
        _fail(ValueError, name, f"a tuple ({', '.join(parts)})", value)
    return tuple(value)


# --------------------------------------------------------------------------- arrays
def features(name, x, n_features, *, batch_only=False, images=False, dtype=None):
    """Real-valued samples: one ``(n_features,)`` or a batch ``(n, n_features)``, all finite.

    ``batch_only`` rejects a single sample; ``images`` also accepts image-shaped batches
    ``(n, ...)`` whose trailing dimensions multiply to ``n_features`` (e.g. ``(n, 28, 28)``);
    ``dtype`` is ``"floating"`` (any float type) or the one dtype accepted (e.g. ``"uint8"``).
    """
    if batch_only:
        expected = f"a batch of shape (n, {n_features})"
    else:
        expected = f"one sample of shape ({n_features},) or a batch of shape (n, {n_features})"
    if images:
        expected += f" or images of shape (n, ...) with {n_features} values each"
    x = _array(name, x, expected)
    if dtype is None and _kind(x) not in "biuf":
        _fail(TypeError, name, expected + " of real numbers", x)
    if dtype == "floating" and _kind(x) != "f":
        _fail(TypeError, name, expected + " of floating-point numbers", x)
    if dtype not in (None, "floating") and str(x.dtype).removeprefix("torch.") != dtype:
        _fail(TypeError, name, expected + f" of dtype {dtype}", x)
    shape = tuple(x.shape)
    rows = (len(shape) == 2 and shape[1] == n_features) or (len(shape) == 1 and not batch_only
                                                            and shape[0] == n_features)
    picture = images and len(shape) > 2 and math.prod(shape[1:]) == n_features
    if not (rows or picture) or (len(shape) > 1 and shape[0] == 0):
        _fail(ValueError, name, expected + " (n >= 1)", x)
    if _kind(x) == "f" and not np.isfinite(np.asarray(x)).all():
        _fail(ValueError, name, expected + " of finite values (no NaN or inf)", x)
    return x


def _array(name, x, expected):
    """``x`` if it is a NumPy array or a tensor (has ``.shape`` and ``.dtype``), else ``np.asarray(x)``."""
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, type):
        return x
    try:
        return np.asarray(x)
    except (TypeError, ValueError):  # e.g. ragged nested lists
        _fail(TypeError, name, expected, x)


def _kind(x):
    """NumPy's kind letter of an array's or tensor's dtype ('f', 'i', 'u', 'b'; 'O' if unknown)."""
    try:
        return np.dtype(str(x.dtype).removeprefix("torch.")).kind
    except TypeError:
        return "O"


def one_hot(name, y, n_samples, n_classes):
    """One-hot targets of shape ``(n_samples, n_classes)``: each row one 1 and zeros."""
    expected = f"one-hot targets of shape ({n_samples}, {n_classes})"
    y = _array(name, y, expected)
    if tuple(y.shape) != (n_samples, n_classes):
        if len(y.shape) == 1:
            expected += " (integer labels y become one-hot with mnist.one_hot(y))"
        _fail(ValueError, name, expected, y)
    if _kind(y) not in "biuf":
        _fail(TypeError, name, expected, y)
    values = np.asarray(y)
    if not (np.isin(values, (0, 1)).all() and (values.sum(axis=1) == 1).all()):
        _fail(ValueError, name, expected + ", each row holding one 1", y)
    return y


def labels(name, y, n_samples, n_classes):
    """Integer class labels of shape ``(n_samples,)`` in ``0 .. n_classes - 1``."""
    expected = f"integer labels of shape ({n_samples},) in 0..{n_classes - 1}"
    y = _array(name, y, expected)
    if _kind(y) not in "iu":
        _fail(TypeError, name, expected, y)
    values = np.asarray(y)
    if values.shape != (n_samples,) or (values.size and not 0 <= values.min() <= values.max() < n_classes):
        _fail(ValueError, name, expected, y)
    return y


def same_length(name_a, a, name_b, b):
    """``a`` and ``b`` hold the same number of samples (their first dimension)."""
    if len(a) != len(b):
        raise ValueError(f"Arguments `{name_a}` and `{name_b}` must hold the same number of samples. "
                         f"Received: {len(a)} and {len(b)}")


def training_data(n_features, n_classes, x_train, y_train, x_val, y_val):
    """The scratch network's ``fit`` arguments: rows ``(n, n_features)`` and one-hot ``(n, n_classes)``.

    Returns the four as arrays (see the module docstring): the training loop gets rows.
    """
    x_train = features("x_train", x_train, n_features, batch_only=True)
    y_train = one_hot("y_train", y_train, len(x_train), n_classes)
    x_val = features("x_val", x_val, n_features, batch_only=True)
    y_val = one_hot("y_val", y_val, len(x_val), n_classes)
    return x_train, y_train, x_val, y_val


def loader(name, value):
    """A data loader: iterable, with a non-empty ``.dataset`` (``compute_accuracy`` divides by its length)."""
    expected = "a DataLoader (an iterable of (x, y) batches with a non-empty .dataset)"
    dataset = getattr(value, "dataset", None)
    if dataset is None or not hasattr(value, "__iter__") or not hasattr(dataset, "__len__"):
        _fail(TypeError, name, expected, value)
    if len(dataset) == 0:
        _fail(ValueError, name, expected, value)
    return value
