"""One pipeline for the grader (``make grade``) and the students' ``check.py``: inputs, probes, observations, verdicts.

    ctx = Context(workdir, data_path, seed, expected)    # the inputs, settings and right answers of a run
    obs, result, missing = observe(part, ctx, run)      # the part's probes, run by ``run``; what they sent
    judge_part(part.name, obs, items, judgement, hidden) # grade/observations.py: the verdicts

The two differ only in ``run`` (the grader: a bubblewrap sandbox on a staged copy, grade/runner.py;
check.py: a plain subprocess on the student's own folder, grade/public.py), in the seed of the inputs
and where the right answers come from (grade/reference.py, or the handout's ``expected.npz``), and in
whether the hidden judges and diagnoses load.  The probes run from a copy of grade/observe/ with the
public package beside it, the same files the handout ships (grade/shipped.py).
"""

import json
import secrets
from pathlib import Path

import numpy as np

from . import data as graderdata
from .judge.common import Observations, criterion_holds, right_counts
from .observations import Reader
from .shipped import copy_probes

class Context:
    """What every part of a run shares: the inputs and settings files (read-only for the probes), what a right
    answer gives (``expected``, with the held-out digits' labels, which only this process has), the probes' code.

    ``data_path``: the learning digits (grade/data.py); ``seed``: of the inputs; ``expected(inputs)``: the arrays
    a right answer gives for them; ``probe_seconds``: other time limits per probe.  The names of the arrays are
    held to grade/data.py's lists (an unknown or a missing one stops the run)."""

    def __init__(self, workdir, data_path, seed, expected, probe_seconds=None):
        self.workdir = Path(workdir)
        data = graderdata.load_data(data_path)
        self.data_hash = graderdata.file_hash(data_path)
        self.inputs = graderdata.checked(graderdata.make_inputs(data, seed=seed), graderdata.INPUTS,
                                         "grade/data.py's make_inputs")
        self.settings = graderdata.settings()
        self.settings["probe_seconds"].update(probe_seconds or {})
        self.expected = graderdata.checked({**expected(self.inputs), "learns.labels": data["y_held"]},
                                           graderdata.EXPECTED, "what a right answer gives (grade/reference.py, or "
                                           "the handout's grade/expected.npz)")
        self.inputs_file, self.settings_file = self.workdir / "inputs.npz", self.workdir / "settings.json"
        probe_inputs = {k: v for k, v in self.expected.items() if k.startswith("probe.")}
        np.savez(self.inputs_file, **self.inputs, **probe_inputs)
        self.settings_file.write_text(json.dumps(self.settings))
        self.code = copy_probes(self.workdir / "observe")

    def stop(self, predictions):
        """A learning probe's answer after an epoch: stop once the criterion holds on the held-out digits."""
        labels = self.expected["learns.labels"]
        return criterion_holds(right_counts(predictions, labels), len(labels))


def stopped(result, part):
    """Why probes of ``part`` sent no record: a limit of the run, or its abrupt end."""
    tail = " ".join(result.output[-300:].split())
    if result.killed_reason:
        limit = "time" if result.killed_reason == "timeout" else result.killed_reason
        return f"the {part} part was stopped ({result.killed_reason}: its {limit} limit) before this check ran; its " \
               f"last output: {tail}"
    return f"the process running the {part} part ended (exit status {result.returncode}) before this check ran; " \
           f"its last output: {tail}"


def observe(part, ctx, run):
    """``part``'s probes (a grade/parts.py record) run by ``run(args, stdin=, on_message=, seconds=)``, which starts
    ``ctx.code``/harness.py with ``args`` on the submission and returns a grade/supervise.py Result.

    Returns ``(Observations, result, missing)``: a probe that sent no record (``missing``) has an error saying why."""
    names = part.probe_names()
    secret = secrets.token_bytes(32)
    reader = Reader(secret, names, stop=ctx.stop,
                    max_epochs=ctx.settings["learns"].get(part.name, {}).get("epoch_lines", 0))
    args = [part.probes, "--inputs", str(ctx.inputs_file), "--settings", str(ctx.settings_file)]
    result = run(args, stdin=secret.hex().encode() + b"\n", on_message=reader.feed,
                 seconds=part.wall_seconds(ctx.settings["probe_seconds"]))
    records, arrays, epochs = reader.observations()
    missing = [p for p in names if p not in records]
    for p in missing:
        records[p] = {"probe": p, "values": None, "error": {"what": p, "type": "not_run", "where": "",
                                                            "message": stopped(result, part.name)}}
    return Observations(records, arrays, ctx.inputs, ctx.settings, expected=ctx.expected, epochs=epochs), result, \
        missing
