"""Tests of network_tensorflow.py (the repaired Keras network and TimeBasedLearningRate) and of
keras_options.py (the same network with two of Keras' own options).

References are independent of the code under test: a NumPy forward pass (utils.sigmoid /
utils.softmax) with the model's own weights, categorical cross-entropy written out, the
schedule's values 10, 9, ..., 1, 1, a hand-written SGD loop (tf.GradientTape) that
applies those rates itself, and Keras' batch callbacks (one call per compiled call).  The module turns on eager mode as the template does; these
tests run in graph mode (the same numbers, faster) except where they test eager mode itself.
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
from keras_options import NeuralNetworkTfWithOptions  # noqa: E402
from network_tensorflow import NeuralNetworkTf, TimeBasedLearningRate  # noqa: E402

SOURCE = Path(__file__).resolve().parent.parent / "network_tensorflow.py"
COURSE_SIZES = [784, 2**7, 2**5, 10]
EAGER_AT_IMPORT = tf.config.functions_run_eagerly()


@pytest.fixture(autouse=True)
def graph_mode():
    tf.config.run_functions_eagerly(False)
    yield
    tf.config.run_functions_eagerly(EAGER_AT_IMPORT)


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
    dense = [layer for layer in model.layers if layer.get_weights()]
    for i, layer in enumerate(dense):
        kernel, bias = (np.asarray(v, dtype=np.float64) for v in layer.get_weights())
        a = h @ kernel + bias
        h = np.apply_along_axis(utils.softmax, 1, a) if i == len(dense) - 1 else utils.sigmoid(a)
    return h


def cross_entropy(y, f):
    return float(np.mean(-np.sum(y * np.log(f), axis=1)))


def train_63(model, data):
    """63 images in mini-batches of 7 (9 steps an epoch), 2 epochs, TimeBasedLearningRate(3)."""
    x, y, xv, yv = data[0][:63], data[1][:63], data[2][:30], data[3][:30]
    return model.compile_and_fit(x, y, epochs=2, learning_rate=TimeBasedLearningRate(3), batch_size=7,
                                 validation_data=(xv, yv))


# --------------------------------------------------------------------------- part (a): the network
def test_the_template_turns_on_eager_mode_at_import():
    assert EAGER_AT_IMPORT is True


def test_layer_structure_flatten_then_the_dense_layers_of_sizes_1_on():
    model = NeuralNetworkTf(COURSE_SIZES, random_state=1)
    model.build((None, 28, 28))
    layers = model.layers
    assert [type(layer) for layer in layers] == [keras.layers.Flatten] + [keras.layers.Dense] * 3
    dense = layers[1:]
    assert [layer.units for layer in dense] == [128, 32, 10]
    assert [layer.activation for layer in dense] == [keras.activations.sigmoid, keras.activations.sigmoid,
                                                     keras.activations.softmax]
    assert [layer.kernel.shape for layer in dense] == [(784, 128), (128, 32), (32, 10)]
    assert model.count_params() == 784 * 128 + 128 + 128 * 32 + 32 + 32 * 10 + 10


def test_forward_matches_numpy_for_images_and_for_rows(data):
    images = data[0][:16]
    rows = images.reshape(16, 784)
    out_images = NeuralNetworkTf(COURSE_SIZES, random_state=3).predict(images, verbose=0)
    model = NeuralNetworkTf(COURSE_SIZES, random_state=3)
    out_rows = model.predict(rows, verbose=0)
    np.testing.assert_array_equal(out_images, out_rows)
    np.testing.assert_allclose(out_images, numpy_forward(model, rows), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out_images.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.slow
def test_compile_and_fit_accepts_both_input_shapes_with_the_same_result(data):
    x, y = data[0][:40], data[1][:40]
    kwargs = dict(epochs=2, learning_rate=0.1, batch_size=8)
    h_images = NeuralNetworkTf([784, 16, 10], random_state=5).compile_and_fit(x, y, **kwargs).history
    h_rows = NeuralNetworkTf([784, 16, 10], random_state=5).compile_and_fit(x.reshape(40, 784), y, **kwargs).history
    assert h_images["loss"] == h_rows["loss"]


def test_the_loss_is_categorical_cross_entropy(data):
    x, y = data[0][:20], data[1][:20]
    model = NeuralNetworkTf([784, 8, 10], random_state=2)
    model_before = NeuralNetworkTf([784, 8, 10], random_state=2)
    model_before.build((None, 28, 28))
    expected = cross_entropy(y, numpy_forward(model_before, x))
    history = model.compile_and_fit(x, y, epochs=1, learning_rate=0.01, batch_size=20)
    assert type(model.loss) is keras.losses.CategoricalCrossentropy
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    # One full-batch epoch: the reported loss is the cross-entropy before the only update.
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Even though the `tf.config.experimental_run_functions_eagerly`:UserWarning")
def test_course_notebook_call_runs_in_the_templates_eager_mode(data, capsys):
    """Exactly the notebook's call (batch size 1, schedule, Keras' default output), on 7 images for 2 epochs."""
    tf.config.run_functions_eagerly(True)
    x_train, y_train, x_val, y_val = data[0][:7], data[1][:7], data[2][:5], data[3][:5]
    model = NeuralNetworkTf(sizes=COURSE_SIZES, random_state=42)
    history = model.compile_and_fit(x_train, y_train, epochs=2, learning_rate=TimeBasedLearningRate(10),
                                    batch_size=1, validation_data=(x_val, y_val))
    assert isinstance(history, keras.callbacks.History)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 2 for v in history.history.values())
    steps = int(model.optimizer.iterations.numpy())
    assert steps == 14  # 7 samples x 2 epochs, one step per sample
    assert float(model.optimizer.learning_rate) == max(10 - steps, 1) == 1
    out = capsys.readouterr().out
    assert re.findall(r"^Epoch (\d)/2$", out, re.M) == ["1", "2"]  # Keras' own progress output
    assert len(re.findall(r"val_accuracy: \d\.\d{4}", out)) == 2


def test_each_step_uses_the_rates_10_9_8(data):
    """Three steps at batch size 1 (one image, three epochs) equal a hand-written SGD loop at 10, 9, 8."""
    x, y = data[0][:1], data[1][:1]
    model = NeuralNetworkTf([784, 6, 10], random_state=7)
    reference = NeuralNetworkTf([784, 6, 10], random_state=7)
    model.compile_and_fit(x, y, epochs=3, learning_rate=TimeBasedLearningRate(10), batch_size=1)
    assert int(model.optimizer.iterations.numpy()) == 3
    assert float(model.optimizer.learning_rate) == 7.0
    cce = keras.losses.CategoricalCrossentropy()
    for rate in (10, 9, 8):
        with tf.GradientTape() as tape:
            loss = cce(y, reference(x))
        grads = tape.gradient(loss, reference.trainable_variables)
        for var, grad in zip(reference.trainable_variables, grads):
            var.assign_sub(rate * grad)
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_same_seed_same_history_another_seed_other_weights(data):
    first = train_63(NeuralNetworkTf([784, 16, 10], random_state=11), data).history
    assert train_63(NeuralNetworkTf([784, 16, 10], random_state=11), data).history == first  # a fresh model
    # ... while another seed starts from other weights (no fit needed to see that).
    w11, w12 = NeuralNetworkTf([784, 16, 10], random_state=11), NeuralNetworkTf([784, 16, 10], random_state=12)
    for w in (w11, w12):
        w.build((None, 784))
    assert not np.array_equal(w11.layers[1].get_weights()[0], w12.layers[1].get_weights()[0])


@pytest.mark.slow
def test_chosen_batch_size_learns_above_chance(data):
    """The notebook's setting (TimeBasedLearningRate(10), batch size 8, seed 42), cut to 8 epochs."""
    x_tr, y_tr, x_val, y_val = data
    model = NeuralNetworkTfWithOptions(COURSE_SIZES, random_state=42, steps_per_execution=125, verbose=0)
    history = model.compile_and_fit(x_tr, y_tr, epochs=8, learning_rate=TimeBasedLearningRate(10),
                                    batch_size=8, validation_data=(x_val, y_val)).history
    assert history["val_accuracy"][-1] > 0.5  # chance is 0.1; measured 0.80 after 8 epochs
    assert history["accuracy"][-1] > history["accuracy"][0]
    assert int(model.optimizer.iterations.numpy()) == 8 * 125


def test_bad_arguments_are_rejected_through_checks(data):
    """One case per entry point; checks.py's own tests hold the full table."""
    with pytest.raises(TypeError, match=r"^Argument `sizes` must be .* Received: sizes=\[784, 2\.5, 10\]"):
        NeuralNetworkTf([784, 2.5, 10])
    model = NeuralNetworkTf([784, 10])
    with pytest.raises(ValueError, match=r"^Argument `epochs` must be a positive integer\. Received: epochs=0"):
        model.compile_and_fit(data[0][:4], data[1][:4], epochs=0)
    with pytest.raises(ValueError, match=r"^Argument `y_train` must be one-hot targets of shape \(4, 10\)"):
        model.compile_and_fit(data[0][:4], data[1][:4].argmax(axis=1))
    with pytest.raises(ValueError, match=r"^Argument `x_train` must be .* Received: x_train=array of shape \(4, 27, 27\)"):
        model.compile_and_fit(data[0][:4, :27, :27], data[1][:4])
    with pytest.raises(TypeError, match=r"^Argument `initial_learning_rate` must be a positive integer\. "
                                        r"Received: initial_learning_rate=2\.5 \(of type float\)"):
        TimeBasedLearningRate(2.5)


def test_the_answer_runs_none_of_the_mistaken_lines_and_keeps_each_visible():
    text = SOURCE.read_text()
    code = ast.unparse(ast.parse(text))  # comments dropped: the live code
    assert "BinaryCrossentropy" not in code and "range(0, len(sizes))" not in code
    for n in ("1", "2", "2 (continued)", "3"):
        assert re.search(rf"^ *# Mistake {re.escape(n)}:", text, re.M) and f"# End of repair {n}." in text
    assert "# loss_function = tf.keras.losses.BinaryCrossentropy()" in text
    assert "# for i in range(0, len(sizes)):" in text


# --------------------------------------------------------------------------- keras_options.py: two Keras options
@pytest.mark.slow
def test_the_options_reach_keras_and_change_no_number(data, monkeypatch, capsys):
    calls = []
    original = keras.callbacks.CallbackList.on_train_batch_end

    def counted(self, batch, logs=None):
        calls.append(batch)
        return original(self, batch, logs)

    monkeypatch.setattr(keras.callbacks.CallbackList, "on_train_batch_end", counted)
    plain = train_63(NeuralNetworkTf([784, 16, 10], random_state=11), data).history
    assert len(calls) == 2 * 9  # 63 images in mini-batches of 7: one call per step
    capsys.readouterr()
    calls.clear()
    model = NeuralNetworkTfWithOptions([784, 16, 10], random_state=11, steps_per_execution=4, verbose=0)
    assert train_63(model, data).history == plain  # bit-identical
    assert len(calls) == 2 * 3  # 9 steps in compiled calls of 4, 4, 1
    assert capsys.readouterr().out == ""  # verbose=0
    assert int(model.optimizer.iterations.numpy()) == 18 and isinstance(model, NeuralNetworkTf)


@pytest.mark.slow
def test_verbose_2_prints_one_line_per_epoch(data, capsys):
    train_63(NeuralNetworkTfWithOptions([784, 8, 10], random_state=1, verbose=2), data)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert [line for line in lines if line.startswith("Epoch")] == ["Epoch 1/2", "Epoch 2/2"]
    assert len(lines) == 4 and all("val_accuracy" in line for line in lines[1::2])


@pytest.mark.parametrize("options, error, fragment", [
    ({"steps_per_execution": 0}, ValueError, "steps_per_execution=0 (of type int)"),
    ({"steps_per_execution": 2.0}, TypeError, "steps_per_execution=2.0 (of type float)"),
    ({"verbose": 3}, ValueError, "verbose=3 (of type int)"),
])
def test_bad_options_are_refused_in_the_checks_form(options, error, fragment):
    with pytest.raises(error, match=r"^Argument `\w+` must be .*Received: " + re.escape(fragment)):
        NeuralNetworkTfWithOptions([784, 10], **options)


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


def test_schedule_accepts_numpy_integers():
    schedule = TimeBasedLearningRate(np.int64(3))
    assert float(schedule(1)) == 2.0
    assert float(TimeBasedLearningRate(1)(0)) == 1.0


@pytest.mark.parametrize("step", [-5, float("nan"), tf.constant(-1, dtype=tf.int64)])
def test_schedule_refuses_a_negative_or_nan_step(step):
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`step` must be a number >= 0"):
        TimeBasedLearningRate(10)(step)


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
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_compiled_model_saves_and_loads_back(data, tmp_path):
    x, y = data[0][:12], data[1][:12]
    model = NeuralNetworkTf([784, 16, 8, 10], random_state=4)
    model.compile_and_fit(x, y, epochs=1, learning_rate=TimeBasedLearningRate(5), batch_size=4)
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


def test_ctrl_c_during_compile_and_fit_keeps_the_epochs_done(data, monkeypatch):
    """Keras keeps a History on the model (model.history) while fit runs: an interrupt loses nothing done."""
    x, y = data[0][:20], data[1][:20]
    model = NeuralNetworkTf([784, 8, 10], random_state=1)
    original = keras.callbacks.CallbackList.on_epoch_begin

    def interrupt(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt
        return original(self, epoch, logs)

    monkeypatch.setattr(keras.callbacks.CallbackList, "on_epoch_begin", interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.compile_and_fit(x, y, epochs=5, learning_rate=0.1, batch_size=10)
    assert len(model.history.history["loss"]) == 2
