"""Opt-in: ``NeuralNetworkTf`` with two of Keras' own options, outside the template's code.

The template's ``compile_and_fit`` passes Keras' ``compile`` and ``fit`` the template's
arguments only, and its given code stays as the template wrote it.  ``NeuralNetworkTfWithOptions``
adds two more without touching it::

    net = NeuralNetworkTfWithOptions(sizes, random_state=42, steps_per_execution=250, verbose=2)
    history = net.compile_and_fit(x_train, y_train, ...)   # the course's call, as NeuralNetworkTf's

* ``steps_per_execution``: mini-batches per compiled call (graph mode: fewer Python round trips;
  the optimizer and the schedule still step once per mini-batch, so the numbers are the same);
* ``verbose``: Keras' ``fit`` output (0 silent, 1 a progress bar, 2 one line per epoch).

The defaults are Keras' own, with which it trains exactly as ``NeuralNetworkTf`` does; the
layers, the loss and the argument checks are ``NeuralNetworkTf``'s.  How: ``_KerasCalls``
comes between ``NeuralNetworkTf`` and Keras' ``Sequential`` in this class's method resolution
order, so the given code's ``super().compile(...)`` and ``super().fit(...)`` reach it, and it
adds the two options (an option passed to ``compile`` or ``fit`` directly wins).
"""

import tensorflow as tf

import checks
from network_tensorflow import NeuralNetworkTf

__all__ = ["NeuralNetworkTfWithOptions"]

VERBOSE = ("auto", 0, 1, 2)  # Keras' fit


class _KerasCalls(tf.keras.Sequential):
    """Keras' ``compile`` and ``fit`` with the model's ``keras_steps_per_execution`` and ``keras_verbose``."""

    def compile(self, *args, **kwargs):
        kwargs.setdefault("steps_per_execution", self.keras_steps_per_execution)
        return super().compile(*args, **kwargs)

    def fit(self, *args, **kwargs):
        kwargs.setdefault("verbose", self.keras_verbose)
        return super().fit(*args, **kwargs)


class NeuralNetworkTfWithOptions(NeuralNetworkTf, _KerasCalls):
    """``NeuralNetworkTf(sizes, random_state)`` whose ``compile_and_fit`` also passes Keras these two options."""

    def __init__(self, sizes, random_state=1, *, steps_per_execution=1, verbose="auto"):
        steps_per_execution = checks.positive_integer("steps_per_execution", steps_per_execution)
        verbose = checks.one_of("verbose", verbose, VERBOSE)
        super().__init__(sizes, random_state)
        self.keras_steps_per_execution = steps_per_execution
        self.keras_verbose = verbose
