"""What the grader and the students' own checks share: reading a part's observations and judging them.

The probes (grade/observe/harness.py) send their observations as tagged lines on a channel;
:class:`Reader` checks each line (its HMAC under the run's secret, its sequence number, its place
among the probes), keeps records and arrays as data only (JSON and ``.npy`` without pickles,
size-capped), answers the learning probes' ``epoch`` lines (stop or go, from the held-out labels,
which only this process has), and names every probe whose observations were tampered with.
:func:`judge_part` turns observations into verdicts with the registered judges (and, for the
grader, the hidden refinements and the judgement calls of points.toml).
"""

import base64
import hmac
import io
import json

import numpy as np

from .items import JUDGES, REFINEMENTS, Verdict

MAX_BYTES = 512 * 2**20  # bytes of observations read from one part


class Reader:
    """One part's channel, line by line (:meth:`feed`); then ``records``, ``arrays``, ``epochs``, ``tampered``.

    ``stop(predictions per epoch) -> bool`` answers a learning probe's epoch lines, at most ``max_epochs`` of
    them (each answer tells whether the held-out labels are met: no oracle to ask at will; later ones are not
    read and get "stop").  Tampering: a line
    whose tag is not the secret's, a sequence number out of order, a probe started twice or not of this
    part, a record or epoch of another probe than the one running, anything after the end.  It is
    charged to the probe running when it came and to the probe it names (to every probe if neither).
    """

    def __init__(self, secret, probes, stop=lambda predictions: False, max_epochs=0, max_bytes=MAX_BYTES):
        self.secret, self.probes, self.stop, self.max_bytes = secret, list(probes), stop, max_bytes
        self.records, self.arrays, self.epochs, self.tampered = {}, {}, {}, {}
        self.seq, self.current, self.started, self.ended, self.size = 0, None, [], False, 0
        self.answers_left = max_epochs  # epoch lines the course's calls make at most: each answer tells a bit

    def _tamper(self, why, named=None):
        blamed = {p for p in (self.current, named) if p in self.probes} or set(self.probes)
        for p in blamed:
            self.tampered.setdefault(p, why)

    def feed(self, line):
        """One line of the channel; the answer to send back (bytes), if any."""
        self.size += len(line)
        try:
            tag, _, body = line.partition(b" ")
            expected = hmac.new(self.secret, body, "sha256").hexdigest().encode()
            message = json.loads(body) if hmac.compare_digest(tag, expected) else None
        except Exception:  # noqa: BLE001 -- a line that is not even readable (e.g. nested past the recursion limit)
            message = None
        named = message.get("probe") if isinstance(message, dict) else None
        if not isinstance(message, dict):
            return self._tamper("a line on the observations' channel that the grader's harness did not write")
        if self.size > self.max_bytes:
            return self._tamper(f"more than {self.max_bytes // 2**20} MB of observations", named)
        if message.get("seq") != self.seq or self.ended:
            return self._tamper("a line of the harness repeated, or out of its order", named)
        self.seq += 1
        try:
            return self._handle(message, message.get("kind"), named)
        except Exception as err:  # noqa: BLE001 -- a well-tagged line the harness cannot have written
            return self._tamper(f"a line of unexpected content ({type(err).__name__})", named)

    def _handle(self, message, kind, probe):
        if kind == "end":
            self.ended, self.current = True, None
        elif kind == "start":
            if probe not in self.probes or probe in self.started:
                return self._tamper(f"a second start of the check {probe!r}", probe)
            self.started.append(probe)
            self.current = probe
        elif probe != self.current:
            return self._tamper(f"a {kind} line for {probe!r} while {self.current!r} ran", probe)
        elif kind == "epoch":
            self.answers_left -= 1
            if self.answers_left < 0:  # more than the course's calls make: not read, and told to stop
                return b"stop\n"
            seen = self.epochs.setdefault(probe, [])
            if message["epoch"] == 0:
                seen.clear()  # the training starts (again)
            elif message["epoch"] != len(seen):
                return self._tamper("learning epochs out of order", probe)
            seen.append(_array(message["arrays"]["predictions"]))
            return b"stop\n" if self.stop(seen) else b"go\n"
        elif kind == "record":
            self.records[probe] = {"probe": probe, **message["record"]}
            for key, value in (message.get("arrays") or {}).items():
                array = _array(value)
                if array.dtype.kind in "biuf":
                    self.arrays[key] = array
            self.current = None
        else:
            return self._tamper(f"a line of unknown kind {kind!r}", probe)
        return None

    def observations(self):
        """``(records, arrays, epochs)``: a tampered probe's record replaced by an error saying so."""
        records = dict(self.records)
        for probe, why in self.tampered.items():
            records[probe] = {"probe": probe, "values": None, "error": {
                "what": probe, "type": "tampered", "where": "", "message": f"observations tampered: {why}"}}
        return records, self.arrays, {p: e for p, e in self.epochs.items() if p not in self.tampered}


def _array(text):
    return np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)


def judge_part(part, obs, items, judgement, hidden=True):
    """The verdict of every item of ``part`` from its observations (judges, then hidden refinements)."""
    verdicts = {}
    for item_id, item in items.items():
        if item.part != part:
            continue
        try:
            verdict = JUDGES[item_id](obs)
        except Exception as err:  # noqa: BLE001 -- a judge tripping over odd observations is a grader bug
            verdict = Verdict.fail(f"not graded: the grader could not judge this item ({type(err).__name__}: {err}); "
                                   f"tell the teaching assistant", code="grader_error")
        if verdict.fraction < 1 and hidden:
            for refinement in REFINEMENTS.get(item_id, []):
                try:
                    better = refinement(obs, verdict)
                except Exception:  # noqa: BLE001 -- a diagnosis that does not apply
                    better = None
                if better is not None:
                    verdict = better
                    verdict.notes.append("refined")
                    break
        if verdict.code in judgement:
            fraction, why = judgement[verdict.code]
            verdict.fraction = fraction
            verdict.message += f" [judgement call {verdict.code}: {why}]"
        for note in obs.notes:
            verdict.message += f" ({note})"
        verdicts[item_id] = verdict
    return verdicts
