"""Part 2 (Keras): the course's ``NeuralNetworkTf``, repaired, and ``TimeBasedLearningRate``.

The class is written as the course template has it. Each of the three mistakes is kept
visible, as the problem set asks: a ``# Mistake N:`` line says why it is wrong, the template's
line follows commented out, and the repair sits between ``# Repair N:`` and ``# End of repair N.``

Shapes: a batch of images is ``(n, 28, 28)`` or already flattened ``(n, 784)`` (both are
accepted; see :meth:`NeuralNetworkTf.call`), labels are one-hot ``(n, n_classes)``.

Keras here is Keras 3 (``tensorflow-cpu`` 2.21 ships ``tf.keras`` = Keras 3).
"""

import math
import time

import keras
import numpy as np
import tensorflow as tf

import checks

__all__ = ["NeuralNetworkTf", "TimeBasedLearningRate", "EpochProgress"]

_PACKAGE = "mnist_three_networks"  # namespace under which both classes are registered for saving

# The template starts with tf.config.run_functions_eagerly(True); it is left out. Graph mode
# (TensorFlow's default) gives bit-identical losses and is much faster, and the flag would
# switch every other TensorFlow user in the process to eager mode too.


@keras.saving.register_keras_serializable(package=_PACKAGE)
class NeuralNetworkTf(tf.keras.Sequential):
    """Fully connected network: sigmoid hidden layers, softmax output, cross-entropy loss.

    Parameters
    ----------
    sizes : list of int
        ``sizes[0]`` is the number of input features (784 for MNIST), the last entry the
        number of classes, the entries in between the hidden layer widths.
    random_state : int
        Seeds Python, NumPy, TensorFlow and Keras' own generator (weights and shuffling).
    name : str, optional
        Keras model name (lets a saved model load back under its own name).
    """

    def __init__(self, sizes, random_state=1, name=None):
        sizes = checks.layer_sizes("sizes", sizes)
        random_state = checks.integer("random_state", random_state, minimum=0, maximum=2**32 - 1)
        super().__init__(name=name)

        self.sizes = sizes
        self.random_state = random_state

        tf.random.set_seed(random_state)  # (template) seeds TensorFlow's ops: the shuffling in fit()
        # Keras 3 draws the initial weights from its own generator, seeded from Python's `random`,
        # so the line above does not fix them; this one seeds Python, NumPy, TF and that generator.
        keras.utils.set_random_seed(self.random_state)

        # Mistake 1: sizes[0] is the input size, not a layer; from 0 the loop adds a Dense(sizes[0]) layer.
        # for i in range(0, len(sizes)):
        # Repair 1:
        self.add(keras.Input(shape=(sizes[0],)))  # sizes[0] inputs; call() flattens (28, 28) images to rows
        for i in range(1, len(sizes)):
        # End of repair 1.
            if i == len(sizes) - 1:
                # Mistake 2: the activations are swapped; the output layer needs softmax (class probabilities).
                # self.add(tf.keras.layers.Dense(sizes[i], activation='sigmoid'))
                # Repair 2:
                self.add(tf.keras.layers.Dense(sizes[i], activation='softmax'))
                # End of repair 2.
            else:
                # Mistake 2 (continued): the hidden layers need sigmoid; softmax would couple their units.
                # self.add(tf.keras.layers.Dense(sizes[i], activation='softmax'))
                # Repair 2 (continued):
                self.add(tf.keras.layers.Dense(sizes[i], activation='sigmoid'))
                # End of repair 2 (continued).

    # Mistake 1 (continued): nothing flattens the (n, 28, 28) images into the rows Dense layers take.
    # Repair 1 (continued):
    def call(self, inputs, training=None, mask=None, **kwargs):
        """Forward pass; flattens ``(n, 28, 28)`` images to rows ``(n, 784)`` first.

        Rows ``(n, sizes[0])`` pass unchanged; any other number of features per sample is
        an error. Written with dynamic shapes because ``predict`` may trace with unknown rank.
        """
        rows = tf.reshape(inputs, tf.stack([tf.shape(inputs)[0], -1]))  # keep n, flatten the rest
        rows = tf.ensure_shape(rows, [None, self.sizes[0]])
        return super().call(rows, training=training, mask=mask, **kwargs)
    # End of repair 1 (continued).

    def compile_and_fit(self, x_train, y_train,
                        epochs=50, learning_rate=0.01,
                        batch_size=1, validation_data=None,
                        verbose=True, shuffle=True, steps_per_execution=None,
                        validation_batch_size=1000):
        """Compile with plain SGD and categorical cross-entropy, then train.

        Parameters
        ----------
        x_train : array ``(n, 28, 28)`` or ``(n, sizes[0])``, float
        y_train : array ``(n, sizes[-1])``, one-hot
        epochs, batch_size : int
        learning_rate : positive float or a ``LearningRateSchedule`` (e.g.
            ``TimeBasedLearningRate(10)``; the schedule sees the optimizer's step counter,
            which counts mini-batches, not epochs)
        validation_data : tuple ``(x_val, y_val)``, optional
        verbose : bool
            One line per epoch (``Epoch 3/50 - 0.52s - loss: ... - accuracy: ...%``).
        shuffle : bool
            Reshuffle the training samples before every epoch (seeded by ``random_state``).
        steps_per_execution : int, optional
            Mini-batches per compiled call. Values > 1 cut Keras' per-step Python overhead
            without changing the numbers: the optimizer and the schedule still step once per
            mini-batch (same history, checked in the tests).
            Default: ``max(1, 1000 // batch_size)``, i.e. about 1000 samples per call.
        validation_batch_size : int
            Batch size for the validation pass (no training there, so only speed changes).

        Returns
        -------
        keras.callbacks.History
            ``.history`` holds per-epoch ``loss``, ``accuracy``, ``val_loss``,
            ``val_accuracy`` and ``epoch_time`` (seconds of training, validation excluded).

        Raises
        ------
        FloatingPointError
            The training loss became NaN or infinite (the message names the epoch).
        """
        x_train, y_train = self._checked_data("x_train", x_train, "y_train", y_train)
        if validation_data is not None:
            x_val, y_val = checks.pair("validation_data", validation_data, ("x_val", "y_val"))
            validation_data = self._checked_data("x_val", x_val, "y_val", y_val)
        epochs = checks.positive_integer("epochs", epochs)
        batch_size = checks.positive_integer("batch_size", batch_size)
        if steps_per_execution is None:
            steps_per_execution = max(1, 1000 // batch_size)
        steps_per_execution = checks.positive_integer("steps_per_execution", steps_per_execution)
        validation_batch_size = checks.positive_integer("validation_batch_size", validation_batch_size)
        verbose = checks.boolean("verbose", verbose)
        shuffle = checks.boolean("shuffle", shuffle)
        if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            learning_rate = checks.positive_number("learning_rate", learning_rate)

        optimizer = tf.keras.optimizers.SGD(learning_rate=learning_rate)
        # Mistake 3: binary cross-entropy treats the 10 outputs as independent yes/no questions, not one class.
        # loss_function = tf.keras.losses.BinaryCrossentropy()
        # Repair 3:
        loss_function = tf.keras.losses.CategoricalCrossentropy()
        # End of repair 3.
        eval_metrics = ['accuracy']
        super().compile(optimizer=optimizer, loss=loss_function, metrics=eval_metrics,
                        steps_per_execution=steps_per_execution)
        return super().fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                           validation_data=validation_data, validation_batch_size=validation_batch_size,
                           shuffle=shuffle, verbose=0, callbacks=[EpochProgress(verbose=verbose)])

    def _checked_data(self, x_name, x, y_name, y):
        """``x`` (``sizes[0]`` values per sample) and one-hot ``y``, checked, as float32 arrays."""
        checks.features(x_name, x, self.sizes[0], batch_only=True, images=True)
        checks.one_hot(y_name, y, len(x), self.sizes[-1])
        return np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32)

    def get_config(self):
        """The constructor arguments (the layers are rebuilt from ``sizes``)."""
        return {"sizes": list(self.sizes), "random_state": self.random_state, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


class EpochProgress(keras.callbacks.Callback):
    """Times each epoch's training, adds ``epoch_time`` to the logs, prints one line per epoch.

    Also raises ``FloatingPointError`` when the epoch's training loss is NaN or infinite.
    """

    def __init__(self, verbose=True):
        super().__init__()
        self.verbose = verbose
        self._start = self._train_time = None

    def on_epoch_begin(self, epoch, logs=None):
        self._train_time = None
        self._start = time.perf_counter()

    def on_test_begin(self, logs=None):  # validation starts: training of this epoch is over
        if self._start is not None and self._train_time is None:
            self._train_time = time.perf_counter() - self._start

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if self._train_time is None:
            self._train_time = time.perf_counter() - self._start
        logs["epoch_time"] = self._train_time
        loss = float(logs.get("loss", float("nan")))
        if not math.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss} in epoch {epoch + 1}; "
                                     "try a smaller learning rate")
        if self.verbose:
            line = (f"Epoch {epoch + 1}/{self.params['epochs']} - {self._train_time:.2f}s"
                    f" - loss: {loss:.4f} - accuracy: {100 * logs['accuracy']:.2f}%")
            if "val_accuracy" in logs:
                line += f" - val_accuracy: {100 * logs['val_accuracy']:.2f}%"
            print(line, flush=True)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class TimeBasedLearningRate(tf.keras.optimizers.schedules.LearningRateSchedule):
    """Learning rate that starts at a positive integer and drops by 1 per step down to 1.

    ``lr(step) = max(initial_learning_rate - step, 1)``: for ``TimeBasedLearningRate(10)``
    the rates of steps 0, 1, 2, ... are 10, 9, ..., 2, 1, 1, 1, ... A step is one optimizer
    update, i.e. one mini-batch.
    """

    def __init__(self, initial_learning_rate):
        initial_learning_rate = checks.positive_integer("initial_learning_rate", initial_learning_rate)
        # BEGIN SOLUTION (init)
        self.initial_learning_rate = initial_learning_rate
        # END SOLUTION

    def __call__(self, step):
        """The rate for ``step`` (Python int or integer/float tensor) as a float32 scalar tensor."""
        # BEGIN SOLUTION
        step = keras.ops.cast(step, "float32")
        return keras.ops.maximum(float(self.initial_learning_rate) - step, 1.0)
        # END SOLUTION

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate}
