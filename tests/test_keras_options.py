"""keras_options.py: NeuralNetworkTf with Keras' steps_per_execution and verbose, the given code untouched.

References: NeuralNetworkTf itself (the same numbers with the options as without), Keras'
batch callbacks (one call per compiled call, so steps_per_execution is seen to arrive) and the
printed output.
"""

import re

import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import mnist  # noqa: E402
from keras_options import NeuralNetworkTfWithOptions  # noqa: E402
from network_tensorflow import NeuralNetworkTf, TimeBasedLearningRate  # noqa: E402

EAGER_AT_IMPORT = tf.config.functions_run_eagerly()


@pytest.fixture(autouse=True)
def graph_mode():
    tf.config.run_functions_eagerly(False)
    yield
    tf.config.run_functions_eagerly(EAGER_AT_IMPORT)


@pytest.fixture(scope="module")
def data():
    images, labels = mnist.load_embedded()
    x, y, xv, yv = mnist.train_val_split(images, labels, 63, 30, seed=1)
    return mnist.scale_images(x), mnist.one_hot(y), mnist.scale_images(xv), mnist.one_hot(yv)


def train(model, data):
    x, y, xv, yv = data
    return model.compile_and_fit(x, y, epochs=2, learning_rate=TimeBasedLearningRate(3), batch_size=7,
                                 validation_data=(xv, yv))


def test_the_options_reach_keras_and_change_no_number(data, monkeypatch, capsys):
    calls = []
    original = keras.callbacks.CallbackList.on_train_batch_end

    def counted(self, batch, logs=None):
        calls.append(batch)
        return original(self, batch, logs)

    monkeypatch.setattr(keras.callbacks.CallbackList, "on_train_batch_end", counted)
    plain = train(NeuralNetworkTf([784, 16, 10], random_state=11), data).history
    assert len(calls) == 2 * 9  # 63 images in mini-batches of 7: one call per step
    capsys.readouterr()
    calls.clear()
    model = NeuralNetworkTfWithOptions([784, 16, 10], random_state=11, steps_per_execution=4, verbose=0)
    assert train(model, data).history == plain  # bit-identical
    assert len(calls) == 2 * 3  # 9 steps in compiled calls of 4, 4, 1
    assert capsys.readouterr().out == ""  # verbose=0
    assert int(model.optimizer.iterations.numpy()) == 18 and isinstance(model, NeuralNetworkTf)


def test_verbose_2_prints_one_line_per_epoch(data, capsys):
    train(NeuralNetworkTfWithOptions([784, 8, 10], random_state=1, verbose=2), data)
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
