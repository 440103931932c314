"""What the probes observed of this answer, the bare handout and each mutant, kept under tests/grade_fixtures/recorded/.

The grader's slow end-to-end run (tests/test_grade.py) observes every fixture in the sandbox; the parts it
observed are kept here, one ``<fixture>.<part>.npz`` each (this answer's and the handout's four parts, a
mutant's one changed part: its other parts are this answer's), so that tests/test_judges_recorded.py judges
them in its own process in a second, without a sandbox or a training.  Each file holds the probes' records
(JSON, without what timing changes: run times, printed characters), their arrays (float32 where that loses nothing: the PyTorch probes' numbers
are float32), the held-out digits' predicted classes per epoch, and the notes the grader added.

    RECORD_OBSERVATIONS=1 .venv/bin/python -m pytest tests/test_grade.py -k recorded   # write them afresh
"""

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from grade.judge.common import Observations
from grade.parts import PARTS

from .mutants import MUTANTS

FOLDER = Path(__file__).resolve().parent / "recorded"
FIXTURES = ["model_answer", "handout", *(m.name for m in MUTANTS)]
VOLATILE = ("seconds", "printed")  # fields of a record that differ between two runs of the same code (timing)


def parts_of(name):
    """The parts recorded for a fixture: all for this answer and the handout, a mutant's changed part only."""
    mutant = next((m for m in MUTANTS if m.name == name), None)
    return [p.name for p in PARTS if mutant is None or p.main_file == mutant.file]


def _records(records):
    return {p: {k: v for k, v in r.items() if k not in VOLATILE} for p, r in records.items()}


def _compact(array):
    """The array in the smallest dtype that gives it back exactly."""
    for dtype in (np.uint8, np.int16) if array.dtype.kind in "iu" else (np.float32,) if array.dtype == np.float64 else ():
        if np.array_equal(array.astype(dtype).astype(array.dtype), array):
            return array.astype(dtype)
    return array


def save(name, part, obs):
    """``obs`` (a part's Observations) as ``<name>.<part>.npz``: a zip with fixed dates, so that the same observations
    give the same bytes."""
    meta = {"records": _records(obs.records), "notes": obs.notes,
            "dtypes": {k: str(np.asarray(a).dtype) for k, a in obs.arrays.items()},
            "epochs": {p: [str(np.asarray(e).dtype) for e in es] for p, es in obs.epochs.items()}}
    entries = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}  # in the order the probes sent
    entries.update({f"array/{k}": _compact(np.asarray(a)) for k, a in obs.arrays.items()})
    entries.update({f"epoch/{p}/{n}": _compact(np.asarray(e)) for p, es in obs.epochs.items() for n, e in enumerate(es)})
    FOLDER.mkdir(exist_ok=True)
    with zipfile.ZipFile(FOLDER / f"{name}.{part}.npz", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for key in sorted(entries):
            buf = io.BytesIO()
            np.save(buf, entries[key], allow_pickle=False)
            z.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue(),
                       compress_type=zipfile.ZIP_DEFLATED)


def load(name, part, ctx):
    """The recorded Observations of ``part`` of the fixture ``name``, with ``ctx``'s inputs, settings and right
    answers (grade/pipeline.py's Context: computed by this code, not recorded)."""
    with np.load(FOLDER / f"{name}.{part}.npz", allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes())
        arrays = {k: z[f"array/{k}"].astype(dtype) for k, dtype in meta["dtypes"].items()}
        epochs = {p: [z[f"epoch/{p}/{n}"].astype(dtype) for n, dtype in enumerate(dtypes)]
                  for p, dtypes in meta["epochs"].items()}
    return Observations(meta["records"], arrays, ctx.inputs, ctx.settings, expected=ctx.expected, notes=meta["notes"],
                        epochs=epochs)


def _text(value):
    return re.sub(r"0x[0-9a-f]{6,}", "0x...", json.dumps(value, sort_keys=True))  # objects' addresses in messages


def differences(fresh, recorded):
    """How the ``fresh`` observations of a part differ from the ``recorded`` ones (none: an empty list); numbers
    within a float32 rounding, predictions of the held-out digits within 2 % (another CPU's rounding)."""
    new, old = _records(fresh.records), _records(recorded.records)
    out = [f"the record of {p}" for p in sorted(set(new) | set(old)) if _text(new.get(p)) != _text(old.get(p))]
    if fresh.notes != recorded.notes:
        out.append(f"notes {fresh.notes} != {recorded.notes}")
    if set(fresh.arrays) != set(recorded.arrays):
        out.append(f"arrays {sorted(set(fresh.arrays) ^ set(recorded.arrays))}")
    out += [f"array {k}" for k in sorted(set(fresh.arrays) & set(recorded.arrays))
            if np.shape(fresh.arrays[k]) != np.shape(recorded.arrays[k])
            or not np.allclose(fresh.arrays[k], recorded.arrays[k], rtol=1e-5, atol=1e-7)]
    for probe in sorted(set(fresh.epochs) | set(recorded.epochs)):
        new, old = fresh.epochs.get(probe, []), recorded.epochs.get(probe, [])
        if len(new) != len(old) or any(np.shape(a) != np.shape(b) or np.mean(a != b) > 0.02 for a, b in zip(new, old)):
            out.append(f"epochs of {probe}: {len(new)} now, {len(old)} recorded")
    return out
