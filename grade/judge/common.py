"""What every judge shares: the observations of a part, comparisons, the learning criterion.

Judges run in the grader's own process and read only data: JSON values and NumPy arrays that
the sandboxed part wrote down (grade/observe/), and the arrays a right answer gives
(``obs.expected``: computed by grade/reference.py for the grader, shipped as data with the
handout's checks).  They never import the submission, and hold no reference implementation.
"""

import numpy as np

from ..items import Verdict


class Observations:
    """One part's observations: ``obs["forward"]`` is a probe's values (arrays in place of ``{"array": key}``),
    ``obs.error("forward")`` its error record, if any."""

    def __init__(self, records, arrays, inputs, settings, expected=None, notes=(), epochs=None):
        self.records, self.arrays, self.inputs, self.settings = records, arrays, inputs, settings
        self.expected = expected or {}  # with "learns.labels": the held-out digits' labels (never in ``inputs``)
        self.notes = list(notes)  # said in every message of the part (e.g. graded under Keras 2)
        self.epochs = epochs or {}  # learning probe -> held-out digits' predicted classes per epoch (0: untrained)

    def _resolve(self, value):
        if isinstance(value, dict) and set(value) == {"array"}:
            return self.arrays.get(value["array"])
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value

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
    elif kind == "tampered":
        text = message
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


def chance_count(n, k=10, alpha=1e-3):
    """Fewest right of ``n`` samples that guessing among ``k`` classes reaches with probability < alpha."""
    from scipy.stats import binom
    return int(binom.isf(alpha, n, 1.0 / k)) + 1


def right_counts(predictions, labels):
    """How many held-out digits each epoch's predicted classes get right (0 for an array of another size)."""
    labels = np.asarray(labels)
    return [int(np.sum(np.asarray(p).ravel() == labels)) if np.size(p) == len(labels) else 0 for p in predictions]


def criterion_holds(rights, n):
    """The problem set's criterion: after training, the accuracy is above where it started (before training) and
    significantly above guessing."""
    return len(rights) >= 2 and rights[-1] >= chance_count(n) and rights[-1] > rights[0]


def _shown(rights, n, head=3, tail=8):
    pct = [f"{100 * r / n:.{max(1, len(str(n)) - 3)}f}%" for r in rights]
    after = pct[1:] if len(pct) <= head + tail + 1 else pct[1:head + 1] + ["..."] + pct[-tail:]
    return f"{pct[0]} before training, then {' '.join(after) or 'no epoch'}"


def learning(obs, item, what):
    """``item``'s verdict from its probe's epochs: the problem set's criterion on the held-out digits' accuracy.

    Passing only after ``slow_after`` epochs is the judgement call ``<item>.slow`` (grade/points.toml)."""
    labels = obs.expected["learns.labels"]
    n, rights = len(labels), right_counts(obs.epochs.get("learns", []), labels)
    need, slow_after = chance_count(n), obs.settings["learns"][item.split(".")[0]]["slow_after"]
    error = obs.error("learns")
    if error and (error.get("type") != "timeout" or len(rights) < 2):
        return failure(error)
    facts = (f"accuracy on {n} held-out digits ({what}): {_shown(rights, n)}; after {max(len(rights) - 1, 0)} epoch(s) "
             f"it ends at {rights[-1] if rights else 0} of {n} right, and {need} of {n} ({need / n:.1%}) or more is "
             f"significantly better than guessing (10%; binomial test, p < 0.001)")
    stopped = f" (stopped by its time limit after {len(rights) - 1} epoch(s))" if error else ""
    if criterion_holds(rights, n):
        if len(rights) - 1 > slow_after:
            return Verdict(1.0, f"learns, slowly: it needed {len(rights) - 1} epochs: {facts}", code=f"{item}.slow")
        return Verdict.ok(f"learns: {facts}")
    if rights and rights[-1] >= need:
        return Verdict.fail(f"the accuracy does not rise over the epochs: {facts}{stopped}")
    return Verdict.fail(f"the network does not learn: {facts}{stopped}")
