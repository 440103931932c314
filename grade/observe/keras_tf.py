"""Probes of ``network_tensorflow`` (``NeuralNetworkTf``, ``TimeBasedLearningRate``) as the course calls them.

Runs in the sandbox, under Keras 3 or, when the grader sets ``TF_USE_LEGACY_KERAS=1``, Keras 2
(``tf-keras``).  The module keeps the mode its import sets (the template turns eager mode on);
only the graph-mode probes of the schedule switch it off for their own call.
"""

import numpy as np
import tensorflow as tf

from harness import ProbeError

def value(v, what):
    try:
        return float(np.asarray(v))
    except (TypeError, ValueError) as err:
        raise ProbeError(what, "interface", f"returned {type(v).__name__}, not a number or a scalar tensor "
                                            f"({err})") from None


def environment(ctx):
    import keras  # noqa: F401 -- Keras 3, or tf_keras under TF_USE_LEGACY_KERAS=1
    ctx.module(ctx.settings["keras"]["module"])
    version = getattr(tf.keras, "__version__", None) or getattr(keras, "__version__", "?")
    return {"keras": str(version), "legacy": type(tf.keras).__module__.startswith("tf_keras")
            or "tf_keras" in getattr(tf.keras, "__name__", ""), "eager": bool(tf.config.functions_run_eagerly())}


def schedule_values(ctx):
    mod = ctx.module(ctx.settings["keras"]["module"])
    out = {}
    for initial in (10, 3):
        sched = ctx.call(f"TimeBasedLearningRate({initial})", mod.TimeBasedLearningRate, initial)
        out[str(initial)] = [value(ctx.call(f"TimeBasedLearningRate({initial})({s})", sched, s),
                                   f"TimeBasedLearningRate({initial})({s})") for s in range(15)]
    return out


def _kind_values(ctx, sched, make, what):
    try:
        return {"values": [value(ctx.call(f"schedule(step as {what})", sched, make(s)), "schedule") for s in range(15)]}
    except ProbeError as err:
        return {"error": err.record}


def schedule_tensors(ctx):
    """The rates for tensor steps in the module's own mode (eager in the template), then in graph mode."""
    mod = ctx.module(ctx.settings["keras"]["module"])
    sched = ctx.call("TimeBasedLearningRate(10)", mod.TimeBasedLearningRate, 10)
    kinds = {"an int64 tensor": lambda s: tf.constant(s, dtype=tf.int64),
             "a float32 tensor": lambda s: tf.constant(float(s), dtype=tf.float32),
             "an int64 tf.Variable": lambda s: tf.Variable(s, dtype=tf.int64)}
    own_mode = tf.config.functions_run_eagerly()
    out = {"eager_mode": bool(own_mode), "own": {k: _kind_values(ctx, sched, make, k) for k, make in kinds.items()}}
    tf.config.run_functions_eagerly(False)  # how an optimizer calls it inside a compiled training step
    try:
        compiled = tf.function(lambda step: sched(step))
        out["graph"] = {"an int64 tensor in a tf.function": _kind_values(
            ctx, compiled, lambda s: tf.constant(s, dtype=tf.int64), "an int64 tensor in a tf.function")}
        try:
            optimizer = tf.keras.optimizers.SGD(learning_rate=sched)
            w = tf.Variable(0.0)

            @tf.function
            def step():
                optimizer.apply_gradients([(tf.constant(1.0), w)])

            rates = []
            for _ in range(12):
                before = float(w.numpy())
                ctx.call("an SGD optimizer's compiled step with the schedule", step)
                rates.append(before - float(w.numpy()))
            out["graph"]["inside an SGD optimizer's compiled step"] = {"values": rates}
        except ProbeError as err:
            out["graph"]["inside an SGD optimizer's compiled step"] = {"error": err.record}
    finally:
        tf.config.run_functions_eagerly(own_mode)
    return out


def network(ctx, sizes=None):
    mod = ctx.module(ctx.settings["keras"]["module"])
    sizes = sizes or ctx.settings["keras"]["sizes"]
    tf.keras.utils.set_random_seed(0)  # the grader's seed: the same numbers in every run
    return ctx.call(f"NeuralNetworkTf(sizes={sizes}, random_state=0)", mod.NeuralNetworkTf, list(sizes), random_state=0)


def _fit(ctx, net, x, y, epochs=1, learning_rate=0.1, batch_size=10):
    return ctx.call(f"compile_and_fit(x of shape {x.shape}, y, epochs={epochs}, learning_rate={learning_rate}, "
                    f"batch_size={batch_size}, validation_data=(x, y))", net.compile_and_fit, x, y, epochs=epochs,
                    learning_rate=learning_rate, batch_size=batch_size, validation_data=(x, y))


def _train_data(ctx, n=40):
    x = (ctx.inputs["data.x_train"][:n] / 255.0).astype(np.float32)
    return x, np.eye(10, dtype=np.float32)[ctx.inputs["data.y_train"][:n]]


def fit_images(ctx):
    """The course's call on (n, 28, 28) images; on failure, the output shape for five images."""
    net = network(ctx)
    x, y = _train_data(ctx)
    try:
        _fit(ctx, net, x, y)
        return {"ok": True}
    except ProbeError as err:
        try:
            shape = list(np.shape(net(x[:5])))
        except Exception:  # noqa: BLE001
            shape = None
        return {"ok": False, "error": err.record, "output_shape": shape}


def layers(ctx):
    """Each layer's class and width, and what its activation does to a fixed probe."""
    net = network(ctx)
    out = []
    for layer in net.layers:
        entry = {"type": type(layer).__name__, "units": getattr(layer, "units", None)}
        activation = getattr(layer, "activation", None)
        if activation is not None:
            try:
                entry["activation"] = np.asarray(activation(tf.constant(ctx.inputs["keras.activation_probe"])), dtype=np.float64)
            except Exception as err:  # noqa: BLE001
                entry["activation_error"] = f"{type(err).__name__}: {err}"[:200]
        out.append(entry)
    return {"layers": out}


def loss(ctx):
    """The compiled loss evaluated on the grader's targets and probabilities (after the course's call)."""
    net = network(ctx)
    x, y = _train_data(ctx, 20)
    error = None
    for data in (x, x.reshape(len(x), -1)):
        try:
            _fit(ctx, net, data, y)
            break
        except ProbeError as err:
            error = error or err.record
            if getattr(net, "loss", None) is not None:
                break
    fn = getattr(net, "loss", None)
    if fn is None:
        return {"compiled": False, "error": error}
    if isinstance(fn, str):
        fn = tf.keras.losses.get(fn)
    got = ctx.call("the compiled loss(y_true, y_pred)", fn, tf.constant(ctx.inputs["keras.loss_y"]),
                   tf.constant(ctx.inputs["keras.loss_p"]))
    return {"compiled": True, "value": float(np.mean(np.asarray(got))), "name": type(fn).__name__}


class _EpochEnd:
    """While active, every Keras ``fit`` call gets a callback that sends the classes the model gives the held-out
    digits, before training and after each epoch, to the grader, and stops the training when it says so."""

    def __init__(self, ctx, x):
        self.ctx, self.x = ctx, x

    def __enter__(self):
        probe = self

        class Callback(tf.keras.callbacks.Callback):
            def classes(self):
                return np.asarray(self.model(probe.x, training=False)).reshape(len(probe.x), -1).argmax(axis=1)

            def on_train_begin(self, logs=None):
                if probe.ctx.epoch_end(0, self.classes()):
                    self.model.stop_training = True

            def on_epoch_end(self, epoch, logs=None):
                if probe.ctx.epoch_end(epoch + 1, self.classes()):
                    self.model.stop_training = True

        self.owner = next(c for c in tf.keras.Model.__mro__ if "fit" in vars(c))
        self.original = original = vars(self.owner)["fit"]

        def fit(model, *args, **kwargs):
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), Callback()]
            return original(model, *args, **kwargs)

        setattr(self.owner, "fit", fit)
        return self

    def __exit__(self, *exc):
        setattr(self.owner, "fit", self.original)


def _train(ctx, data, y, shape):
    """The course's call, once, for at most ``max_epochs`` epochs (the grader stops it earlier)."""
    s = ctx.settings["learns"]["keras"]
    net = network(ctx, s["sizes"])
    with _EpochEnd(ctx, data[2]):
        ctx.call(f"compile_and_fit(x_train as {shape}, y_train, epochs={s['max_epochs']}, learning_rate="
                 f"{s['learning_rate']}, batch_size={s['batch_size']}, validation_data=...)", net.compile_and_fit,
                 data[0], y[0], epochs=s["max_epochs"], learning_rate=s["learning_rate"], batch_size=s["batch_size"],
                 validation_data=(data[1], y[1]))


def learns(ctx):
    """The course's call on the learning digits; the classes the model gives the held-out digits, before training
    and after each epoch, go to the grader (who says when to stop).

    Trained in graph mode (the same numbers as eager mode, several times faster); in the module's own
    mode if that fails.  On flattened rows if (n, 28, 28) images fail (graded under keras.input).
    """
    x = (ctx.inputs["data.x_train"] / 255.0).astype(np.float32)
    xv = (ctx.inputs["data.x_val"] / 255.0).astype(np.float32)
    xh = (ctx.inputs["data.x_held"] / 255.0).astype(np.float32)
    y = (np.eye(10, dtype=np.float32)[ctx.inputs["data.y_train"]], np.eye(10, dtype=np.float32)[ctx.inputs["data.y_val"]])
    own_mode = tf.config.functions_run_eagerly()
    note = None
    for shape in ("images", "rows"):
        data = (x, xv, xh) if shape == "images" else tuple(a.reshape(len(a), -1) for a in (x, xv, xh))
        for graph in (True, False) if own_mode else (False,):
            tf.config.run_functions_eagerly(not graph and own_mode)
            try:
                _train(ctx, data, y, shape)
                return {"shape": shape, "note": note}
            except ProbeError as err:
                if shape == "rows" and not graph:
                    raise
                note = note or (err.record if shape == "images" else None)
            finally:
                tf.config.run_functions_eagerly(own_mode)
    return {}


PROBES = [("environment", environment), ("schedule_values", schedule_values), ("schedule_tensors", schedule_tensors),
          ("fit_images", fit_images), ("layers", layers), ("loss", loss), ("learns", learns)]
