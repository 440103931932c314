# BEGIN ANSWER ONLY
"""Part 2.2: the course's ``NeuralNetworkTf`` with its three mistakes, and ``TimeBasedLearningRate``.

The given code is the template's (``../shared/TEMPLATE.md``).  Each mistake is kept visible,
as the problem set asks: a ``# Mistake N:`` line says why it is wrong, the template's lines
follow commented out, and the repair sits between ``# Repair N:`` and ``# End of repair N.``
The schedule, the students' part, sits between ``# BEGIN SOLUTION`` and ``# END SOLUTION``.

This answer's own additions (argument checks, a seed for Keras 3) are decorators above the
given methods (:mod:`wrappers`), never inside them; two of Keras' own options
(``steps_per_execution``, ``verbose``) are opt-in through the subclass in ``keras_options.py``.

Written with ``tf.keras`` only, so it runs under Keras 3 (``tensorflow`` 2.16 and later) and
Keras 2 (TensorFlow 2.13-2.15, or ``tf-keras`` with ``TF_USE_LEGACY_KERAS=1``).  The template
turns on eager mode below; ``tf.config.run_functions_eagerly(False)`` before training gives
the same numbers in graph mode, about ten times faster (the notebook does that).
"""
# END ANSWER ONLY
import tensorflow as tf
tf.config.run_functions_eagerly(True)
# BEGIN ANSWER ONLY

import checks
from wrappers import before


def _before_init(self, sizes, random_state):
    checks.layer_sizes("sizes", sizes)
    checks.integer("random_state", random_state, minimum=0, maximum=2**32 - 1)
    # Keras 3 draws initial weights from its own generator, which the template's tf.random.set_seed
    # does not seed; this seeds it (and Python's and NumPy's), so the same random_state gives the
    # same network.
    tf.keras.utils.set_random_seed(random_state)


def _check_compile_and_fit(self, x_train, y_train, epochs, learning_rate, batch_size, validation_data):
    checks.features("x_train", x_train, self.sizes[0], batch_only=True, images=True)
    checks.one_hot("y_train", y_train, len(x_train), self.sizes[-1])
    if validation_data is not None:
        x_val, y_val = checks.pair("validation_data", validation_data, ("x_val", "y_val"))
        checks.features("x_val", x_val, self.sizes[0], batch_only=True, images=True)
        checks.one_hot("y_val", y_val, len(x_val), self.sizes[-1])
    checks.positive_integer("epochs", epochs)
    checks.positive_integer("batch_size", batch_size)
    if not isinstance(learning_rate, tf.keras.optimizers.schedules.LearningRateSchedule):
        checks.positive_number("learning_rate", learning_rate)


def _check_schedule(self, initial_learning_rate):
    checks.positive_integer("initial_learning_rate", initial_learning_rate)
# END ANSWER ONLY


# BEGIN ANSWER ONLY
@tf.keras.utils.register_keras_serializable(package="mnist_three_networks")  # so a saved model loads back
# END ANSWER ONLY
class NeuralNetworkTf(tf.keras.Sequential):

    # BEGIN ANSWER ONLY
    @before(_before_init)
    # END ANSWER ONLY
    def __init__(self, sizes, random_state=1):
        super().__init__()
        self.sizes = sizes
        self.random_state = random_state
        tf.random.set_seed(random_state)

        # Mistake 1: sizes[0] is the input size, not a layer (i = 0 adds a Dense(784)); nothing flattens the images.
        # for i in range(0, len(sizes)):
        # Repair 1:
        self.add(tf.keras.layers.Flatten())  # (n, 28, 28) images -> rows (n, 784) of the input size; rows pass as they are
        for i in range(1, len(sizes)):
        # End of repair 1.

            if i == len(sizes) - 1:
                # Mistake 2: the activations are swapped: softmax at the output (class probabilities), sigmoid inside.
                # self.add(tf.keras.layers.Dense(sizes[i], activation='sigmoid'))
                # Repair 2:
                self.add(tf.keras.layers.Dense(sizes[i], activation='softmax'))
                # End of repair 2.

            else:
                # Mistake 2 (continued):
                # self.add(tf.keras.layers.Dense(sizes[i], activation='softmax'))
                # Repair 2 (continued):
                self.add(tf.keras.layers.Dense(sizes[i], activation='sigmoid'))
                # End of repair 2 (continued).

    # BEGIN ANSWER ONLY
    @before(_check_compile_and_fit)
    # END ANSWER ONLY
    def compile_and_fit(self, x_train, y_train,
                        epochs=50, learning_rate=0.01,
                        batch_size=1, validation_data=None):
        optimizer = tf.keras.optimizers.SGD(learning_rate=learning_rate)
        # Mistake 3: binary cross-entropy scores 10 independent yes/no outputs; one class of 10 needs categorical.
        # loss_function = tf.keras.losses.BinaryCrossentropy()
        # Repair 3:
        loss_function = tf.keras.losses.CategoricalCrossentropy()
        # End of repair 3.
        eval_metrics = ['accuracy']

        super().compile(optimizer=optimizer, loss=loss_function,
                        metrics=eval_metrics)
        return super().fit(x_train, y_train, epochs=epochs,
                           batch_size=batch_size,
                           validation_data=validation_data)

    # BEGIN ANSWER ONLY
    def get_config(self):
        """The constructor arguments (the layers are rebuilt from ``sizes``): a saved model loads back."""
        return {"sizes": list(self.sizes), "random_state": self.random_state}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)
    # END ANSWER ONLY


# BEGIN ANSWER ONLY
@tf.keras.utils.register_keras_serializable(package="mnist_three_networks")
# END ANSWER ONLY
class TimeBasedLearningRate(tf.keras.optimizers.schedules.LearningRateSchedule):
    '''TODO: Implement a time-based learning rate that takes as input a
    positive integer (initial_learning_rate) and at each step reduces the
    learning rate by 1 until minimal learning rate of 1 is reached.
    '''

    # BEGIN ANSWER ONLY
    @before(_check_schedule)
    # END ANSWER ONLY
    def __init__(self, initial_learning_rate):
        # BEGIN SOLUTION (init)
        self.initial_learning_rate = initial_learning_rate
        # END SOLUTION

    def __call__(self, step):
        # BEGIN SOLUTION
        # eta(step) = max(eta_0 - step, 1): 10, 9, ..., 2, 1, 1, ... for eta_0 = 10.  `step` is the
        # optimizer's update counter, a tensor (int64, or a variable), also in graph mode: tensor
        # operations only, no Python `max` or `if` on it.
        step = tf.cast(step, tf.float32)
        tf.debugging.assert_greater_equal(
            step, 0.0, message="TimeBasedLearningRate: `step` must be a number >= 0 (an optimizer step count)")
        return tf.maximum(float(self.initial_learning_rate) - step, 1.0)
        # END SOLUTION

    # BEGIN ANSWER ONLY
    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate}
    # END ANSWER ONLY
