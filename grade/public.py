"""The public checks: the grader's public items, run by students on their own folder (``python check.py``).

The same probes (grade/observe/) and the same public judges (grade/judge/) as the teaching
assistant's grader, on the student's own code in a plain subprocess (it is their own code), with
the arrays a right answer gives read from ``expected.npz`` (data, not code).  What stays with
the TA: the three Keras mistakes (keras.layers, keras.activations, keras.loss) and the named
diagnoses of wrong answers (grade/diagnose/), which would give answers away.

    python check.py                      every public item, one line each; exit status 1 if one fails
    python check.py scratch torch        the items of some parts (scratch, torch, keras, docs)
    python check.py scratch.backward     one item: exit status 0 if it passes (GitHub Classroom)
    python check.py --save FILE          ... and keep the verdicts, so that later calls can use
    python check.py ITEM --from FILE     ... a verdict saved before (runs the part if it is not there)
"""

import argparse
import json
import os
import secrets
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import data as graderdata
from .items import Verdict, registry
from .judge import docs
from .judge.common import Observations, criterion_holds, right_counts
from .observations import OBSERVE, PROBE_MODULE, Reader, judge_part, probe_names

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PART_SECONDS = {"scratch": 300, "torch": 400, "keras": 500}


def expected(inputs):
    """The arrays a right answer gives: shipped as data with the handout (for the students' inputs), computed
    where the references are."""
    path = HERE / "expected.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    from .reference import expected as compute  # the TA's repository: the hidden references are here
    return compute(inputs)


class Context:
    def __init__(self, workdir):
        self.workdir = Path(workdir)
        data = graderdata.load_data(graderdata.prepare_data(self.workdir))
        self.inputs = graderdata.make_inputs(data, seed=graderdata.PUBLIC_SEED)
        self.settings = graderdata.settings()
        self.expected = {**expected(self.inputs), "learns.labels": data["y_held"]}
        self.inputs_file, self.settings_file = self.workdir / "inputs.npz", self.workdir / "settings.json"
        probe_inputs = {k: v for k, v in self.expected.items() if k.startswith("probe.")}
        np.savez(self.inputs_file, **self.inputs, **probe_inputs)
        self.settings_file.write_text(json.dumps(self.settings))


def observe(folder, part, ctx):
    """The part's probes on ``folder`` in a subprocess (no sandbox: the student's own code); its observations."""
    labels = ctx.expected["learns.labels"]
    secret, (channel_r, channel_w) = secrets.token_bytes(32), os.pipe()
    reader = Reader(secret, probe_names(part), stop=lambda p: criterion_holds(right_counts(p, labels), len(labels)),
                    max_epochs=ctx.settings["learns"].get(part, {}).get("epoch_lines", 0))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
           "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-B", str(OBSERVE / "harness.py"), PROBE_MODULE[part], "--submission", str(folder),
           "--inputs", str(ctx.inputs_file), "--settings", str(ctx.settings_file), "--channel", str(channel_w)]
    with tempfile.TemporaryFile(dir=ctx.workdir) as console:
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdin=subprocess.PIPE, stdout=console, stderr=console,
                                pass_fds=[channel_w])
        os.close(channel_w)
        proc.stdin.write(secret.hex().encode() + b"\n")
        proc.stdin.flush()
        deadline, pending = time.monotonic() + PART_SECONDS[part], bytearray()
        while not (timed_out := time.monotonic() >= deadline) and not reader.ended:
            if not select.select([channel_r], [], [], 1)[0]:
                continue
            data = os.read(channel_r, 1 << 20)
            if not data:
                break
            pending += data
            while (end := pending.find(b"\n")) >= 0:
                answer = reader.feed(bytes(pending[:end]))
                del pending[:end + 1]
                try:
                    if answer:
                        proc.stdin.write(answer)
                        proc.stdin.flush()
                except OSError:  # it no longer reads
                    pass
        os.close(channel_r)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        console.seek(0)
        tail = " ".join(console.read()[-300:].decode("utf-8", "replace").split())
    ended = f"it ran longer than {PART_SECONDS[part]} s" if timed_out else \
        f"exit status {proc.returncode}; its last output: {tail}"
    records, arrays, epochs = reader.observations()
    for probe in probe_names(part):
        records.setdefault(probe, {"probe": probe, "values": None, "error": {
            "what": probe, "type": "not_run", "where": "", "message": f"the checks of this part stopped ({ended})"}})
    return Observations(records, arrays, ctx.inputs, ctx.settings, expected=ctx.expected, epochs=epochs)


def run(folder, parts, ctx):
    """``{item: Verdict}`` of the public items of ``parts`` for the submission in ``folder``."""
    items, judgement = registry(hidden=False)
    verdicts = {}
    for part in parts:
        if part == "docs":
            from .pdftools import ToolMissing, pdf_check
            try:
                obs = docs.observations(folder, pdf_check)
            except ToolMissing as err:
                why = f"cannot check the PDF here: {err}"
                obs = docs.observations(folder, lambda _: (False, why))
        else:
            obs = observe(folder, part, ctx)
        verdicts.update(judge_part(part, obs, items, judgement, hidden=False))
    return {i: verdicts[i] for i in items if i in verdicts}


def _selection(names, items):
    parts, wanted = [], []
    for name in names or ["scratch", "torch", "keras", "docs"]:
        if name in ("scratch", "torch", "keras", "docs"):
            parts.append(name)
            wanted += [i for i, it in items.items() if it.part == name]
        elif name in items:
            parts.append(items[name].part)
            wanted.append(name)
        else:
            public = ", ".join(items)
            raise SystemExit(f"check.py: {name!r} is neither a part (scratch, torch, keras, docs) nor a public item "
                             f"({public})")
    return sorted(set(parts), key=parts.index), wanted


def main(argv=None, folder=None):
    parser = argparse.ArgumentParser(prog="python check.py", description="Run the public checks on this folder.")
    parser.add_argument("names", nargs="*", help="parts (scratch, torch, keras, docs) or item ids; default: all")
    parser.add_argument("--save", type=Path, help="keep the verdicts in this JSON file")
    parser.add_argument("--from", dest="saved", type=Path, help="use the verdicts saved in this JSON file")
    args = parser.parse_args(argv)
    folder = Path(folder or Path.cwd()).resolve()
    items, _ = registry(hidden=False)
    parts, wanted = _selection(args.names, items)
    saved = {}
    if args.saved and args.saved.is_file():
        saved = {i: Verdict(**v) for i, v in json.loads(args.saved.read_text()).items()}
    missing_parts = [p for p in parts if any(i not in saved for i in wanted if items[i].part == p)]
    start = time.perf_counter()
    verdicts = dict(saved)
    if missing_parts:
        with tempfile.TemporaryDirectory(prefix="check-") as work:
            verdicts.update(run(folder, missing_parts, Context(work)))
    if args.save:
        args.save.write_text(json.dumps({i: vars(v) for i, v in verdicts.items()}, indent=1))
    passed = [i for i in wanted if verdicts[i].fraction == 1]
    if len(wanted) == 1:  # one item (GitHub Classroom): pass -> stdout and 0, fail -> stderr and 1
        item, v = wanted[0], verdicts[wanted[0]]
        print(f"{'PASS' if item in passed else 'FAIL'} {item} ({items[item].checks}): {v.message}",
              file=sys.stdout if item in passed else sys.stderr)
        return 0 if item in passed else 1
    width = max(map(len, wanted))
    for item in wanted:
        print(f"{item:<{width}}  {'PASS' if item in passed else 'FAIL'}  {verdicts[item].message}")
    print(f"\n{len(passed)} of {len(wanted)} public checks pass ({time.perf_counter() - start:.0f} s). The teaching "
          f"assistant's grader also checks keras.layers, keras.activations and keras.loss (the three mistakes), and "
          f"names the mistakes it recognises.")
    return 0 if len(passed) == len(wanted) else 1


def section(part, folder=None):
    """For a notebook cell after each section: ``check.section("scratch")`` prints that part's public checks."""
    main([part], folder=folder)
