"""What the grader and the students' own checks share: reading a part's observations and judging them.

The probes (grade/observe/) write ``observations.jsonl`` and ``.npy`` files; :func:`read_observations`
reads them back as data only, and :func:`judge_part` turns them into verdicts with the registered
judges (and, for the grader, the hidden refinements and the judgement calls of points.toml).
"""

import ast
import json
from pathlib import Path

import numpy as np

from .items import JUDGES, REFINEMENTS, Verdict

OBSERVE = Path(__file__).resolve().parent / "observe"
MAIN_FILE = {"scratch": "network_scratch.py", "torch": "network_pytorch.py", "keras": "network_tensorflow.py"}
PROBE_MODULE = {"scratch": "scratch", "torch": "pytorch", "keras": "keras_tf"}


def read_observations(out, max_bytes=200 * 2**20):
    """The probes' records and arrays, read as data only (JSON and .npy without pickles), size-capped."""
    records, arrays, total = {}, {}, 0
    log = out / "observations.jsonl"
    if log.is_file() and not log.is_symlink():
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines()[:100]:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("probe"), str):
                records.setdefault(record["probe"], record)  # the first line of a probe counts
    for path in sorted(out.glob("*.npy")) if out.is_dir() else []:
        total += path.stat().st_size
        if path.is_symlink() or total > max_bytes:
            continue
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            continue
        if array.dtype.kind in "biuf":
            arrays[path.stem] = array
    return records, arrays


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


def probe_names(part):
    """The probes a part runs (read from its module's PROBES list without importing it)."""
    tree = ast.parse((OBSERVE / f"{PROBE_MODULE[part]}.py").read_text())
    probes = next(n.value for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PROBES")
    return [(elt.elts[0].value, None) for elt in probes.elts]
