"""What every judge shares: the observations of a part, comparisons, the learning criterion.

Judges run in the grader's own process and read only data: JSON values and NumPy arrays that
the sandboxed part wrote down (grade/observe/), and the arrays a right answer gives
(``obs.expected``: computed by grade/reference.py for the grader, shipped as data with the
handout's checks).  They never import the submission, and hold no reference implementation.
"""

import math

import numpy as np

from ..items import Verdict


class Observations:
    """One part's observations: ``obs["forward"]`` is a probe's values (arrays in place of ``{"array": key}``),
    ``obs.error("forward")`` its error record, if any."""

    def __init__(self, records, arrays, inputs, settings, expected=None, notes=()):
        self.records, self.arrays, self.inputs, self.settings = records, arrays, inputs, settings
        self.expected = expected or {}
        self.notes = list(notes)  # said in every message of the part (e.g. graded under Keras 2)

    def _resolve(self, value):
        if isinstance(value, dict) and set(value) == {"array"}:
            return self.arrays.get(value["array"])
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value

    def ran(self, probe):
        return probe in self.records

    def error(self, probe):
        record = self.records.get(probe)
        if record is None:
            return {"what": probe, "type": "not_run", "message": "the part stopped before this check ran", "where": ""}
        return record.get("error")

    def __getitem__(self, probe):
        record = self.records.get(probe) or {}
        return self._resolve(record.get("values")) or {}


def failure(record, prefix=""):
    """The verdict for a probe that raised: the message names the call, the error and the line."""
    kind, message = record.get("type"), record.get("message", "")
    where = f" ({record['where']})" if record.get("where") else ""
    what = record.get("what", "")
    if kind == "NotImplementedError" or "NotImplementedError" in message:
        method = record.get("where", "").rpartition(", in ")[2]
        if not method or method in what:
            text = f"`{what}` is not implemented yet: it raises NotImplementedError{where}"
        else:
            text = f"`{what}` reaches `{method}`, which is not implemented yet: it raises NotImplementedError{where}"
    elif kind == "not_run":
        text = f"not graded: {message}"
    elif kind == "timeout":
        text = f"`{what}` {message} (this check's time limit): an endless loop, or a step far too slow"
    elif kind == "interface":
        text = f"`{what}` {message}"
    elif kind == "FileNotFoundError" and what.startswith("import "):
        text = message
    else:
        text = f"`{what}` raised {kind}: {message}{where}"
    return Verdict.fail(prefix + text)


def relative_error(a, b):
    """``||a - b|| / max(||a||, ||b||)`` (cs231n's form, whole arrays); ``None`` when the shapes differ."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return None
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def close(a, b, tol):
    err = relative_error(a, b)
    return err is not None and err < tol


def flat(arrays):
    return np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in arrays])


def chance_threshold(n, k=10, alpha=1e-3):
    """Smallest accuracy on ``n`` samples that guessing among ``k`` classes reaches with probability < alpha."""
    from scipy.stats import binom
    return (int(binom.isf(alpha, n, 1.0 / k)) + 1) / n


def learning(predictions, labels, what):
    """The problem set's criterion on the accuracy after each epoch: it rises, and ends significantly above guessing."""
    accs = [float(np.mean(np.asarray(p).ravel()[:len(labels)] == labels)) if np.size(p) == len(labels) else 0.0
            for p in predictions]
    n = len(labels)
    threshold = chance_threshold(n)
    shown = " ".join(f"{a:.1%}" for a in accs) or "none"
    last = f"; the last epoch got {round(accs[-1] * n)} right" if accs else ""
    facts = (f"training accuracy after each of {len(accs)} epoch(s) ({what}): {shown}; guessing gives 10%, and "
             f"at least {round(threshold * n)} of {n} digits right ({threshold:.1%}) is significantly better "
             f"(binomial test, p < 0.001){last}")
    if not accs or not all(map(math.isfinite, accs)) or accs[-1] < threshold:
        return Verdict.fail(f"the network does not learn: {facts}")
    if not (accs[-1] > accs[0] or accs[-1] >= 0.99):
        return Verdict.fail(f"the training accuracy does not rise over the epochs: {facts}")
    return Verdict.ok(f"learns: {facts}")
