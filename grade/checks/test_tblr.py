"""Items tblr.*: TimeBasedLearningRate for Python int steps and for the tensors optimizers pass."""

import keras  # imported while collecting, outside the items' time limits (TensorFlow takes seconds)
import numpy as np
import tensorflow as tf

from conftest import Fail, call, load

STEPS = 15


def expected(initial, steps=STEPS):
    return [float(max(initial - s, 1)) for s in range(steps)]


def value(v, what):
    try:
        return float(np.asarray(v))
    except (TypeError, ValueError) as err:
        raise Fail(f"`{what}` must return a number or a scalar tensor; received {type(v).__name__} ({err})") from None


def python_values(mod, initial):
    sched = call(f"TimeBasedLearningRate({initial})", mod.TimeBasedLearningRate, initial)
    return [value(call(f"TimeBasedLearningRate({initial})({s})", sched, s), f"TimeBasedLearningRate({initial})({s})")
            for s in range(STEPS)]


MISTAKES = [
    ("is off by one: it starts one below the initial rate (step 0 must give the initial learning rate)",
     lambda i, s: max(i - s - 1, 1)),
    ("is off by one: it starts one above the initial rate (step 0 must give the initial learning rate)",
     lambda i, s: max(i - s + 1, 1)),
    ("reaches 1 one step late (it keeps 2 for one step too many)", lambda i, s: max(i - s, 2) if s < i else 1),
    ("does not stop at 1: it keeps going down to 0 and below", lambda i, s: i - s),
    ("goes down to 0 instead of stopping at 1", lambda i, s: max(i - s, 0)),
    ("never changes: it must drop by 1 at every step", lambda i, s: i),
    ("drops only every other step", lambda i, s: max(i - s // 2, 1)),
]


def test_values(graded):
    mod = load("network_tensorflow")
    got = {initial: python_values(mod, initial) for initial in (10, 3)}
    if all(np.allclose(got[i], expected(i)) for i in got):
        graded(1.0, "TimeBasedLearningRate(10) gives 10, 9, ..., 2, 1, 1, ... for steps 0, 1, 2, ... "
                    "(and TimeBasedLearningRate(3) gives 3, 2, 1, 1, ...)")
        return
    shown = ", ".join(f"{v:g}" for v in got[10][:13])
    for name, rule in MISTAKES:
        if all(np.allclose(got[i], [rule(i, s) for s in range(STEPS)]) for i in got):
            raise Fail(f"the schedule {name}: TimeBasedLearningRate(10) gives {shown}, ...; expected 10, 9, ..., 2, 1, 1, ...")
    raise Fail(f"TimeBasedLearningRate(10) gives {shown}, ... for steps 0, 1, 2, ...; expected 10, 9, ..., 2, 1, 1, ...")


def test_tensor_steps(graded):
    mod = load("network_tensorflow")
    try:
        reference = python_values(mod, 10)
    except Fail:
        reference = expected(10)
    sched = call("TimeBasedLearningRate(10)", mod.TimeBasedLearningRate, 10)
    failures = []
    kinds = {
        "an int64 tensor": lambda s: tf.constant(s, dtype=tf.int64),
        "a float32 tensor": lambda s: tf.constant(float(s), dtype=tf.float32),
        "an int64 tf.Variable": lambda s: tf.Variable(s, dtype=tf.int64),
    }
    for kind, make in kinds.items():
        try:
            vals = [value(call(f"schedule(step as {kind})", sched, make(s)), "schedule") for s in range(STEPS)]
            if not np.allclose(vals, reference):
                failures.append(f"for {kind} it gives {', '.join(f'{v:g}' for v in vals[:12])}, ... instead of the "
                                "values for Python ints")
        except Fail as fail:
            failures.append(f"for {kind}: {fail.message}")
    eager = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(False)  # optimizers call the schedule inside a compiled tf.function
    try:
        optimizer = keras.optimizers.SGD(learning_rate=sched)
        w = keras.Variable(0.0)
        optimizer.build([w])

        @tf.function
        def step():
            optimizer.apply_gradients([(tf.constant(1.0), w)])

        rates = []
        for _ in range(12):
            before = float(w.numpy())
            call("keras.optimizers.SGD(learning_rate=schedule) step (graph mode)", step)
            rates.append(before - float(w.numpy()))
        if not np.allclose(rates, reference[:12], rtol=1e-5):
            failures.append(f"an SGD optimizer using it in graph mode steps by {', '.join(f'{r:g}' for r in rates)} "
                            "instead of the values for Python ints")
    except Fail as fail:
        failures.append(f"inside an optimizer's compiled step (the step is an int64 tf.Variable in a "
                        f"tf.function): {fail.message}")
    finally:
        tf.config.run_functions_eagerly(eager)
    if failures and all("not implemented yet" in f for f in failures):
        raise Fail("`TimeBasedLearningRate.__call__` is not implemented yet: it raises NotImplementedError")
    if not failures:
        graded(1.0, "the schedule gives the same rates for int64 and float32 tensors, a tf.Variable, and "
                    "inside an optimizer's compiled step")
        return
    raise Fail("the schedule fails on tensor steps, as optimizers pass them: " + "; ".join(failures) +
               ". Use tensor operations on `step` (e.g. keras.ops.maximum / tf.maximum after a cast to "
               "float32), not Python's if/max/int()/float().")
