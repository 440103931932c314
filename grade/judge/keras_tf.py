"""Items keras.input, keras.learns and tblr.*: what ``NeuralNetworkTf`` and ``TimeBasedLearningRate`` did.

(The observations come from grade/observe/keras_tf.py.  keras.layers, keras.activations and
keras.loss, the three mistakes students must find, are judged in keras_hidden.py, which the
handout's checks do not ship.)
"""

import numpy as np

from ..items import Verdict, judge
from .common import failure, learning


def expected_rates(obs, initial):
    return list(obs.expected[f"tblr.rates{initial}"])


def shown(values, n=13):
    return ", ".join(f"{v:g}" for v in values[:n])


@judge("tblr.values")
def values(obs):
    if obs.error("schedule_values"):
        return failure(obs.error("schedule_values"))
    got = obs["schedule_values"]
    if all(np.allclose(got[str(i)], expected_rates(obs, i)) for i in (10, 3)):
        return Verdict.ok("TimeBasedLearningRate(10) gives 10, 9, ..., 2, 1, 1, ... for steps 0, 1, 2, ... (and "
                          "TimeBasedLearningRate(3) gives 3, 2, 1, 1, ...)")
    return Verdict.fail(f"TimeBasedLearningRate(10) gives {shown(got['10'])}, ... for steps 0, 1, 2, ...; expected "
                        f"10, 9, ..., 2, 1, 1, ...")


def _failures(kinds, reference):
    out = []
    for kind, result in kinds.items():
        if "error" in result:
            e = result["error"]
            out.append(f"for {kind}: {e.get('type')}: {e.get('message')}")
        elif not np.allclose(result["values"], reference[:len(result["values"])], rtol=1e-5):
            out.append(f"for {kind} it gives {shown(result['values'], 12)}, ... where Python int steps give "
                       f"{shown(reference, 12)}, ...")
    return out


@judge("tblr.tensor_steps")
def tensor_steps(obs):
    if obs.error("schedule_tensors"):
        return failure(obs.error("schedule_tensors"))
    got = obs["schedule_tensors"]
    # the rates for Python int steps, the submission's own (tblr.values judges whether they are right)
    reference = expected_rates(obs, 10) if obs.error("schedule_values") else obs["schedule_values"]["10"]
    own, graph = _failures(got["own"], reference), _failures(got.get("graph", {}), reference)
    if own and all("NotImplementedError" in f for f in own):
        return Verdict.fail("`TimeBasedLearningRate.__call__` is not implemented yet: it raises NotImplementedError")
    if not own and not graph:
        return Verdict.ok("the schedule gives the same rates for int64 and float32 tensors and a tf.Variable, also "
                          "inside a tf.function and an optimizer's compiled step")
    if not own and got.get("eager_mode"):
        return Verdict(1.0, "the schedule gives the right rates for tensor steps in the eager mode the template turns "
                            "on, but not in graph mode: " + "; ".join(graph), code="tblr.tensor_steps.eager_only")
    return Verdict.fail("the schedule fails on tensor steps, as optimizers pass them: " + "; ".join(own + graph))


@judge("keras.input")
def input_shape(obs):
    if obs.error("fit_images"):
        return failure(obs.error("fit_images"))
    got = obs["fit_images"]
    if got.get("ok"):
        return Verdict.ok("compile_and_fit trains on (n, 28, 28) images as the course notebook passes them")
    return failure(got["error"], prefix="compile_and_fit fails on (n, 28, 28) images, as the course notebook passes "
                                        "them: ")


@judge("keras.learns")
def learns(obs):
    s, got = obs.settings["learns"]["keras"], obs["learns"]
    note = ""
    if got.get("note"):
        note = (f" (on rows of 784 pixels: (n, 28, 28) images failed: {got['note'].get('type')}: "
                f"{got['note'].get('message')})")
    verdict = learning(obs, "keras.learns", f"NeuralNetworkTf(sizes={s['sizes']}), seeded, trained by the course's "
                                            f"compile_and_fit on {s['train_digits']} digits with learning_rate="
                                            f"{s['learning_rate']}, batch size {s['batch_size']}, up to "
                                            f"{s['max_epochs']} epochs")
    verdict.message += note
    return verdict
