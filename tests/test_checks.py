"""checks.py: one table of accepted and one of rejected arguments, each row one check.

The networks' own tests keep one integration case each (bad input reaches these checks);
the policy itself (TypeError for a wrong type, ValueError for a wrong value, Keras' message
form) is pinned here, once.
"""

import re

import numpy as np
import pytest

import checks

ROWS_784 = np.zeros((3, 784))
IMAGES = np.zeros((3, 28, 28), dtype=np.float32)
ONE_HOT = np.eye(10)[[1, 2, 3]]


def call(check, args):
    *positional, keywords = args if isinstance(args[-1], dict) else (*args, {})
    return getattr(checks, check)(*positional, **keywords)


# check, arguments, value returned (None: the array argument itself, unchanged)
ACCEPTED = [
    ("integer", ("random_state", 0), 0),
    ("integer", ("random_state", np.int64(7), {"minimum": 0, "maximum": 9}), 7),
    ("positive_integer", ("epochs", 3), 3),
    ("positive_integer", ("epochs", np.uint8(2)), 2),
    ("positive_number", ("learning_rate", 1), 1.0),
    ("positive_number", ("learning_rate", np.float32(0.5)), 0.5),
    ("boolean", ("shuffle", np.bool_(True)), True),
    ("one_of", ("device", "cpu", ("cpu", "cuda")), "cpu"),
    ("layer_sizes", ("sizes", (784, np.int32(16), 10)), [784, 16, 10]),
    ("features", ("x", np.zeros(784), 784), None),
    ("features", ("x", ROWS_784, 784), None),
    ("features", ("x", IMAGES, 784, {"images": True}), None),
    ("features", ("x", IMAGES, 784, {"images": True, "dtype": "floating"}), None),
    ("features", ("x", IMAGES.astype(np.uint8), 784, {"images": True, "dtype": "uint8"}), None),
    ("pair", ("validation_data", [1, 2], ("x_val", "y_val")), (1, 2)),
    ("one_hot", ("y", ONE_HOT, 3, 10), None),
    ("one_hot", ("y", ONE_HOT.astype(bool), 3, 10), None),
    ("labels", ("y", np.array([0, 9, 3]), 3, 10), None),
    ("float_dtype", ("dtype", np.float32), np.dtype("float32")),
    ("float_dtype", ("dtype", "float64"), np.dtype("float64")),
]


@pytest.mark.parametrize("check,args,expected", ACCEPTED)
def test_accepted_arguments_come_back_as_plain_values(check, args, expected):
    result = call(check, args)
    if expected is None:
        assert result is args[1]
    else:
        assert result == expected and type(result) is type(expected)


# check, arguments, error, fragment the message must contain after "Received: "
REJECTED = [
    ("integer", ("random_state", 1.0), TypeError, "random_state=1.0 (of type float)"),
    ("integer", ("random_state", True), TypeError, "random_state=True (of type bool)"),
    ("integer", ("random_state", -1, {"minimum": 0}), ValueError, "random_state=-1"),
    ("integer", ("random_state", 2**32, {"minimum": 0, "maximum": 2**32 - 1}), ValueError,
     "random_state=4294967296"),
    ("positive_integer", ("epochs", 2.5), TypeError, "epochs=2.5 (of type float)"),
    ("positive_integer", ("epochs", "3"), TypeError, "epochs='3' (of type str)"),
    ("positive_integer", ("epochs", 0), ValueError, "epochs=0 (of type int)"),
    ("positive_number", ("learning_rate", "0.1"), TypeError, "learning_rate='0.1' (of type str)"),
    ("positive_number", ("learning_rate", False), TypeError, "learning_rate=False"),
    ("positive_number", ("learning_rate", 0.0), ValueError, "learning_rate=0.0"),
    ("positive_number", ("learning_rate", float("nan")), ValueError, "learning_rate=nan"),
    ("positive_number", ("learning_rate", float("inf")), ValueError, "learning_rate=inf"),
    ("boolean", ("verbose", 1), TypeError, "verbose=1 (of type int)"),
    ("one_of", ("device", "tpu", ("cpu", "cuda")), ValueError, "device='tpu'"),
    ("layer_sizes", ("sizes", "784,10"), TypeError, "sizes='784,10'"),
    ("layer_sizes", ("sizes", 784), TypeError, "sizes=784"),
    ("layer_sizes", ("sizes", [784, 2.5, 10]), TypeError, "sizes=[784, 2.5, 10]"),
    ("layer_sizes", ("sizes", [784]), ValueError, "sizes=[784]"),
    ("layer_sizes", ("sizes", [784, 0, 10]), ValueError, "sizes=[784, 0, 10]"),
    ("features", ("x", np.zeros((3, 783)), 784), ValueError, "x=array of shape (3, 783)"),
    ("features", ("x", np.zeros((0, 784)), 784), ValueError, "x=array of shape (0, 784)"),
    ("features", ("x", np.zeros(784), 784, {"batch_only": True}), ValueError, "x=array of shape (784,)"),
    ("features", ("x", IMAGES, 784), ValueError, "x=array of shape (3, 28, 28)"),  # images=False
    ("features", ("x", np.full((2, 784), "a"), 784), TypeError, "dtype <U1"),
    ("features", ("x", np.full((2, 784), np.nan), 784), ValueError, "finite"),
    ("features", ("x", IMAGES.astype(np.uint8), 784, {"images": True, "dtype": "floating"}), TypeError,
     "dtype uint8"),
    ("features", ("x", IMAGES, 784, {"images": True, "dtype": "uint8"}), TypeError, "dtype float32"),
    ("pair", ("validation_data", np.zeros(2), ("x_val", "y_val")), TypeError, "array of shape (2,)"),
    ("pair", ("validation_data", (1, 2, 3), ("x_val", "y_val")), ValueError, "(1, 2, 3) (of type tuple)"),
    ("one_hot", ("y", np.array([1, 2, 3]), 3, 10), ValueError, "y=array of shape (3,)"),
    ("one_hot", ("y", ONE_HOT[:2], 3, 10), ValueError, "y=array of shape (2, 10)"),
    ("one_hot", ("y", 2 * ONE_HOT, 3, 10), ValueError, "each row holding one 1"),
    ("one_hot", ("y", ONE_HOT + np.eye(10)[[4, 5, 6]], 3, 10), ValueError, "each row holding one 1"),
    ("one_hot", ("y", 0 * ONE_HOT, 3, 10), ValueError, "each row holding one 1"),
    ("one_hot", ("y", ONE_HOT.astype(str), 3, 10), TypeError, "dtype <U"),
    ("labels", ("y", np.array([0.0, 1.0]), 2, 10), TypeError, "dtype float64"),
    ("labels", ("y", np.array([0, 10]), 2, 10), ValueError, "y=array of shape (2,)"),
    ("labels", ("y", np.array([0, -1]), 2, 10), ValueError, "in 0..9"),
    ("float_dtype", ("dtype", np.float16), ValueError, "dtype=numpy.float16 (a type)"),
    ("float_dtype", ("dtype", "int32"), ValueError, "dtype='int32'"),
    ("float_dtype", ("dtype", None), TypeError, "dtype=None"),
    ("float_dtype", ("dtype", "half a float"), TypeError, "dtype='half a float'"),
    ("training_data", ("y_train", 784, 10, np.zeros((3, 784)), np.array([1, 2, 3]), ROWS_784, ONE_HOT),
     ValueError, "y_train=array of shape (3,)"),
    ("training_data", ("x_train", 784, 10, [[0.0] * 783] * 3, ONE_HOT, ROWS_784, ONE_HOT), ValueError,
     "x_train=array of shape (3, 783)"),
    ("loader", ("train_loader", []), TypeError, "train_loader=[] (of type list)"),
]


@pytest.mark.parametrize("check,args,error,fragment", REJECTED)
def test_rejected_arguments_raise_the_policy_error_in_keras_form(check, args, error, fragment):
    name = args[0]
    if check == "training_data":  # the first item names the argument that is wrong, not an argument
        args = args[1:]
    with pytest.raises(Exception) as info:
        call(check, args)
    assert type(info.value) is error  # exactly the policy's class, not a subclass or the other one
    message = str(info.value)
    assert re.fullmatch(rf"Argument `{name}` must be .+\. Received: {name}=.+", message), message
    assert fragment in message


def test_policy_table_covers_every_public_check():
    assert {row[0] for row in REJECTED} | {"same_length"} == set(checks.__all__)


def test_same_length_names_both_arguments_and_both_lengths():
    checks.same_length("x", [1, 2], "y", [3, 4])
    with pytest.raises(ValueError, match=r"`x` and `y` .* Received: 2 and 3"):
        checks.same_length("x", [1, 2], "y", [3, 4, 5])


def test_tensors_are_checked_without_conversion_by_the_caller():
    torch = pytest.importorskip("torch")
    x = torch.zeros(2, 1, 28, 28)
    assert checks.features("x", x, 784, images=True) is x
    with pytest.raises(TypeError, match="dtype torch.complex64"):
        checks.features("x", torch.zeros(2, 784, dtype=torch.complex64), 784)
    with pytest.raises(TypeError, match="dtype torch.float32"):
        checks.labels("y", torch.zeros(2), 2, 10)


def test_array_likes_come_back_as_arrays_with_the_same_rows():
    rows = [[0.5] * 784, [0.25] * 784]
    x = checks.features("x", rows, 784)
    assert isinstance(x, np.ndarray) and x.shape == (2, 784) and x[1, 0] == 0.25
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(np.arange(2 * 784, dtype=float).reshape(2, 784))
    x, y, xv, yv = checks.training_data(784, 10, frame, ONE_HOT[:2], ROWS_784, ONE_HOT)
    np.testing.assert_array_equal(x, frame.to_numpy())
    with pytest.raises(TypeError, match=r"Received: x_train=array of shape \(2, 785\) and dtype object"):
        checks.training_data(784, 10, frame.assign(name=["a", "b"]), ONE_HOT[:2], ROWS_784, ONE_HOT)


def test_a_loader_with_an_empty_dataset_is_refused():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset
    empty = DataLoader(TensorDataset(torch.zeros(0, 784), torch.zeros(0, dtype=torch.long)))
    with pytest.raises(ValueError, match="non-empty .dataset"):
        checks.loader("val_loader", empty)
