"""Tests of network_tensorflow.py: the repaired Keras network and TimeBasedLearningRate.

References are independent of the code under test: a NumPy forward pass (utils.sigmoid /
utils.softmax) with the model's own weights, the schedule's formula ``max(10 - step, 1)``,
and a hand-written SGD loop (tf.GradientTape) that applies the rates 10, 9, 8, ... itself.
The mistakes' layout is checked by applying the handout's rules to the source.
"""

import ast
import math
import re
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import mnist  # noqa: E402
import utils  # noqa: E402
from network_tensorflow import NeuralNetworkTf, TimeBasedLearningRate  # noqa: E402

SOURCE = Path(__file__).resolve().parent.parent / "network_tensorflow.py"
COURSE_SIZES = [784, 2**7, 2**5, 10]
LINE = re.compile(r"^Epoch (\d+)/(\d+) - \d+\.\d\ds - loss: \d+\.\d{4} - accuracy: \d+\.\d\d%"
                  r"( - val_accuracy: \d+\.\d\d%)?$")


@pytest.fixture(scope="module")
def data():
    """1000 / 1000 stratified images (n, 28, 28) in [0, 1] and one-hot labels, as the notebook."""
    images, labels = mnist.load_mnist()
    x_tr, y_tr, x_val, y_val = mnist.train_val_split(images, labels, 1000, 1000, seed=42)
    return (mnist.scale_images(x_tr), mnist.one_hot(y_tr),
            mnist.scale_images(x_val), mnist.one_hot(y_val))


def numpy_forward(model, x):
    """Reference forward pass: h = sigmoid(x W + b) per hidden layer, f = softmax at the end."""
    h = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    dense = model.layers
    for i, layer in enumerate(dense):
        kernel, bias = (np.asarray(v, dtype=np.float64) for v in layer.get_weights())
        a = h @ kernel + bias
        h = utils.softmax(a) if i == len(dense) - 1 else utils.sigmoid(a)
    return h


# --------------------------------------------------------------------------- part (a): the network
def test_layer_structure_after_the_input_step():
    model = NeuralNetworkTf(COURSE_SIZES, random_state=1)
    assert isinstance(model._layers[0], keras.layers.InputLayer)
    assert tuple(model._layers[0].batch_shape) == (None, 784)
    layers = model.layers  # Sequential.layers omits the InputLayer
    assert [type(layer) for layer in layers] == [keras.layers.Dense] * 3
    assert [layer.units for layer in layers] == [128, 32, 10]
    assert [layer.activation for layer in layers] == [keras.activations.sigmoid, keras.activations.sigmoid,
                                                      keras.activations.softmax]
    assert [layer.kernel.shape for layer in layers] == [(784, 128), (128, 32), (32, 10)]
    assert model.count_params() == 784 * 128 + 128 + 128 * 32 + 32 + 32 * 10 + 10


def test_forward_matches_numpy_for_both_input_shapes(data):
    model = NeuralNetworkTf(COURSE_SIZES, random_state=3)
    images = data[0][:16]
    rows = images.reshape(16, 784)
    out_images = model.predict(images, verbose=0)
    out_rows = model.predict(rows, verbose=0)
    np.testing.assert_array_equal(out_images, out_rows)
    np.testing.assert_allclose(out_images, numpy_forward(model, rows), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out_images.sum(axis=1), 1.0, rtol=1e-6)


def test_compile_and_fit_accepts_both_input_shapes_with_the_same_result(data):
    x, y = data[0][:40], data[1][:40]
    kwargs = dict(epochs=2, learning_rate=0.1, batch_size=8, verbose=False)
    h_images = NeuralNetworkTf([784, 16, 10], random_state=5).compile_and_fit(x, y, **kwargs).history
    h_rows = NeuralNetworkTf([784, 16, 10], random_state=5).compile_and_fit(x.reshape(40, 784), y, **kwargs).history
    assert h_images["loss"] == h_rows["loss"]


def test_the_loss_is_categorical_cross_entropy(data):
    x, y = data[0][:20], data[1][:20]
    model = NeuralNetworkTf([784, 8, 10], random_state=2)
    history = model.compile_and_fit(x, y, epochs=1, learning_rate=0.01, batch_size=20, verbose=False)
    assert type(model.loss) is keras.losses.CategoricalCrossentropy
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    # One full-batch epoch: the reported loss is the cross-entropy before the only update.
    model_before = NeuralNetworkTf([784, 8, 10], random_state=2)
    expected = utils.cross_entropy(y, numpy_forward(model_before, x))
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_course_notebook_call_runs_and_the_rate_follows_the_schedule(data, capsys):
    """Exactly the notebook's call (batch size 1, schedule), on 7 images for 2 epochs."""
    x_train, y_train, x_val, y_val = data[0][:7], data[1][:7], data[2][:5], data[3][:5]
    model = NeuralNetworkTf(sizes=COURSE_SIZES, random_state=42)
    history = model.compile_and_fit(x_train, y_train, epochs=2, learning_rate=TimeBasedLearningRate(10),
                                    batch_size=1, validation_data=(x_val, y_val))
    assert isinstance(history, keras.callbacks.History)
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "epoch_time"} <= set(history.history)
    assert all(len(v) == 2 for v in history.history.values())
    steps = int(model.optimizer.iterations.numpy())
    assert steps == 14  # 7 samples x 2 epochs, one step per sample
    assert float(model.optimizer.learning_rate) == max(10 - steps, 1) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(LINE.match(line) for line in lines), lines
    assert [LINE.match(line).group(1, 2) for line in lines] == [("1", "2"), ("2", "2")]


def test_each_step_uses_rate_max_10_minus_step_1(data):
    """Three steps at batch size 1 equal a hand-written SGD loop with rates 10, 9, 8."""
    x, y = data[0][:3], data[1][:3]
    model = NeuralNetworkTf([784, 6, 10], random_state=7)
    reference = NeuralNetworkTf([784, 6, 10], random_state=7)
    model.compile_and_fit(x, y, epochs=1, learning_rate=TimeBasedLearningRate(10), batch_size=1,
                          shuffle=False, verbose=False)
    assert int(model.optimizer.iterations.numpy()) == 3
    assert float(model.optimizer.learning_rate) == 7.0
    cce = keras.losses.CategoricalCrossentropy()
    for step in range(3):
        with tf.GradientTape() as tape:
            loss = cce(y[step:step + 1], reference(x[step:step + 1]))
        grads = tape.gradient(loss, reference.trainable_variables)
        for var, grad in zip(reference.trainable_variables, grads):
            var.assign_sub(max(10 - step, 1) * grad)
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_same_seed_same_history_and_steps_per_execution_changes_nothing(data):
    x, y, xv, yv = data[0][:60], data[1][:60], data[2][:30], data[3][:30]

    def run(seed, spe):
        model = NeuralNetworkTf([784, 16, 10], random_state=seed)
        hist = model.compile_and_fit(x, y, epochs=2, learning_rate=TimeBasedLearningRate(3), batch_size=7,
                                     validation_data=(xv, yv), steps_per_execution=spe, verbose=False).history
        return {k: v for k, v in hist.items() if k != "epoch_time"}

    first = run(11, 1)
    # Same seed, a fresh model, 9 steps per epoch run in chunks of 4, 4, 1: bit-identical.
    assert run(11, 4) == first
    # ... while another seed starts from other weights (no fit needed to see that).
    w11, w12 = NeuralNetworkTf([784, 16, 10], random_state=11), NeuralNetworkTf([784, 16, 10], random_state=12)
    assert not np.array_equal(w11.layers[0].get_weights()[0], w12.layers[0].get_weights()[0])


def test_chosen_batch_size_learns_above_chance(data):
    """The notebook's setting (TimeBasedLearningRate(10), batch size 4, seed 42), cut to 5 epochs."""
    x_tr, y_tr, x_val, y_val = data
    model = NeuralNetworkTf(COURSE_SIZES, random_state=42)
    history = model.compile_and_fit(x_tr, y_tr, epochs=5, learning_rate=TimeBasedLearningRate(10),
                                    batch_size=4, validation_data=(x_val, y_val), verbose=False).history
    assert history["val_accuracy"][-1] > 0.5  # chance is 0.1; measured 0.64 after 5 epochs, 0.90 after 50
    assert history["accuracy"][-1] > history["accuracy"][0]
    assert int(model.optimizer.iterations.numpy()) == 5 * 250


def test_non_finite_loss_raises_naming_the_epoch(data):
    model = NeuralNetworkTf([784, 8, 10], random_state=1)
    with pytest.raises(FloatingPointError, match=r"epoch 1\b.*smaller learning rate"):
        model.compile_and_fit(data[0][:16], data[1][:16], epochs=3, learning_rate=1e38, batch_size=4,
                              verbose=False)


def test_bad_arguments_are_rejected_through_checks(data):
    """One case per entry point; checks.py's own tests hold the full table."""
    with pytest.raises(TypeError, match=r"^Argument `sizes` must be .* Received: sizes=\[784, 2\.5, 10\]"):
        NeuralNetworkTf([784, 2.5, 10])
    model = NeuralNetworkTf([784, 10])
    with pytest.raises(ValueError, match=r"^Argument `epochs` must be a positive integer\. Received: epochs=0"):
        model.compile_and_fit(data[0][:4], data[1][:4], epochs=0, verbose=False)
    with pytest.raises(ValueError, match=r"^Argument `y_train` must be one-hot targets of shape \(4, 10\)"):
        model.compile_and_fit(data[0][:4], data[1][:4].argmax(axis=1), verbose=False)
    with pytest.raises(TypeError, match=r"^Argument `initial_learning_rate` must be a positive integer\. "
                                        r"Received: initial_learning_rate=2\.5 \(of type float\)"):
        TimeBasedLearningRate(2.5)


MISTAKE = re.compile(r"^(?P<indent> *)# Mistake (?P<n>\d)(?P<cont> \(continued\)|): .+\n"
                     r"(?P<original>(?:(?P=indent)# (?!Repair ).*\n)*?)"
                     r"(?P=indent)# Repair (?P=n)(?P=cont):\n"
                     r"(?:.*\n)+?"
                     r" *# End of repair (?P=n)(?P=cont)\.\n", re.M)
REGION = re.compile(r"^(?P<indent> *)# BEGIN SOLUTION(?P<init> \(init\))?\n(?:.*\n)*?(?P=indent)# END SOLUTION\n",
                    re.M)


def handout(text):
    """The student version, by the rules of `make handout`: mistakes back in, solutions out."""
    text = MISTAKE.sub(lambda m: re.sub(r"^( *)# ", r"\1", m["original"], flags=re.M), text)
    return REGION.sub(lambda m: m["indent"] + ("pass  # TODO\n" if m["init"] else 'raise NotImplementedError("TODO")\n'),
                      text)


def test_the_handout_gets_the_three_template_mistakes_back_and_a_todo_schedule():
    text = SOURCE.read_text()
    assert [m["n"] + m["cont"] for m in MISTAKE.finditer(text)] == ["1", "2", "2 (continued)", "1 (continued)", "3"]
    student = handout(text)
    tree = ast.parse(student)  # still a valid module
    indent = " " * 16
    for line in ["for i in range(0, len(sizes)):",
                 f"if i == len(sizes) - 1:\n{indent}self.add(tf.keras.layers.Dense(sizes[i], activation='sigmoid'))",
                 f"else:\n{indent}self.add(tf.keras.layers.Dense(sizes[i], activation='softmax'))",
                 "loss_function = tf.keras.losses.BinaryCrossentropy()"]:
        pattern = re.compile(r"^ *" + re.escape(line) + "$", re.M)  # a code line, not a comment
        assert pattern.search(student) and not pattern.search(text), line
    assert not re.search(r"^ *# (Mistake|Repair|End of repair|BEGIN SOLUTION|END SOLUTION)", student, re.M)
    assert "keras.Input(" not in student and "CategoricalCrossentropy()" not in student  # the repairs are gone
    assert "def call(" not in student  # repair 1 also adds the flattening, which the template lacks
    schedule = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "TimeBasedLearningRate")
    methods = {f.name: ast.unparse(f) for f in schedule.body if isinstance(f, ast.FunctionDef)}
    assert methods["__init__"].endswith("pass")
    assert methods["__call__"].endswith("raise NotImplementedError('TODO')")
    # ... while the answer's live code has none of the mistaken lines.
    code = ast.unparse(ast.parse(text))
    assert "BinaryCrossentropy" not in code and "range(0, len(sizes))" not in code
    assert "run_functions_eagerly(True)" not in code


# --------------------------------------------------------------------------- part (b): the schedule
def test_schedule_values_for_python_steps_0_to_15():
    schedule = TimeBasedLearningRate(10)
    for step in range(16):
        rate = schedule(step)
        assert rate.dtype == tf.float32 and rate.shape == ()
        assert float(rate) == max(10 - step, 1)
    assert [float(schedule(s)) for s in range(12)] == [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 1]


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64, tf.float32])
def test_schedule_values_for_tensor_steps(dtype):
    schedule = TimeBasedLearningRate(4)
    for step in [0, 1, 2, 3, 4, 5, 1000, 10**6]:
        rate = schedule(tf.constant(step, dtype=dtype))
        assert rate.dtype == tf.float32
        assert float(rate) == max(4 - step, 1)
    variable = tf.Variable(2, dtype=tf.int64)  # what a Keras optimizer passes: its `iterations`
    assert float(schedule(variable)) == 2.0
    compiled = tf.function(schedule)  # inside a graph too
    assert float(compiled(tf.constant(1, dtype=dtype))) == 3.0


def test_schedule_accepts_numpy_integers_and_stores_a_python_int():
    schedule = TimeBasedLearningRate(np.int64(3))
    assert type(schedule.initial_learning_rate) is int and float(schedule(1)) == 2.0
    assert float(TimeBasedLearningRate(1)(0)) == 1.0


def test_schedule_config_round_trip():
    schedule = TimeBasedLearningRate(7)
    assert schedule.get_config() == {"initial_learning_rate": 7}
    rebuilt = TimeBasedLearningRate.from_config(schedule.get_config())
    assert type(rebuilt) is TimeBasedLearningRate and rebuilt.get_config() == schedule.get_config()
    # Registered with Keras: it deserialises by name, without custom_objects.
    serialized = keras.saving.serialize_keras_object(schedule)
    again = keras.saving.deserialize_keras_object(serialized)
    assert type(again) is TimeBasedLearningRate
    assert [float(again(s)) for s in range(9)] == [float(schedule(s)) for s in range(9)]


# Keras 3.15 saving calls np.array() on TF variables, which NumPy 2.4 flags (Keras internals).
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_compiled_model_saves_and_loads_back(data, tmp_path):
    x, y = data[0][:12], data[1][:12]
    model = NeuralNetworkTf([784, 16, 8, 10], random_state=4)
    model.compile_and_fit(x, y, epochs=1, learning_rate=TimeBasedLearningRate(5), batch_size=4, verbose=False)
    path = tmp_path / "net.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # no custom_objects: both classes are registered
    assert type(loaded) is NeuralNetworkTf
    assert loaded.get_config() == model.get_config()
    assert loaded.sizes == [784, 16, 8, 10] and loaded.random_state == 4
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(loaded.loss) is keras.losses.CategoricalCrossentropy
    schedule = loaded.optimizer._learning_rate
    assert type(schedule) is TimeBasedLearningRate and schedule.get_config() == {"initial_learning_rate": 5}
    assert int(loaded.optimizer.iterations.numpy()) == 3
    assert math.isclose(float(loaded.optimizer.learning_rate), 2.0)
