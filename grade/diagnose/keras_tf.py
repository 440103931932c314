"""Named mistakes of keras.input and tblr.values (hidden from the handout's checks)."""

import numpy as np

from ..items import Verdict, refine
from ..judge.common import failure
from ..judge.keras_tf import expected_rates, shown

SCHEDULE_MISTAKES = [
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


@refine("tblr.values")
def values(obs, verdict):
    if obs.error("schedule_values"):
        return None
    got = obs["schedule_values"]
    for name, rule in SCHEDULE_MISTAKES:
        if all(np.allclose(got[str(i)], [rule(i, s) for s in range(15)]) for i in (10, 3)):
            return Verdict.fail(f"the schedule {name}: TimeBasedLearningRate(10) gives {shown(got['10'])}, ...; "
                                f"expected {shown(expected_rates(obs, 10))}, ...")
    return None


@refine("keras.input")
def input_shape(obs, verdict):
    got = obs["fit_images"]
    shape = got.get("output_shape")
    if got.get("ok") is False and shape is not None and len(shape) == 3:
        return failure(got["error"], prefix=f"the network does not flatten the (n, 28, 28) images: it treats each of "
                                            f"the 28 rows of an image as a sample (output shape {tuple(shape)} for 5 "
                                            f"images). ")
    return None


@refine("tblr.tensor_steps")
def tensor_steps(obs, verdict):
    """How to make a schedule work on tensors (a hint the students' own checks do not give)."""
    if "fails on tensor steps" not in verdict.message:
        return None
    return Verdict.fail(verdict.message + ". Use tensor operations on `step` (e.g. tf.maximum after a cast to "
                        "float32), not Python's if/max/int()/float().")
