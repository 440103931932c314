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
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import data as graderdata
from .items import Verdict, not_public, registry
from .observations import judge_part
from .parts import BY_NAME, PARTS
from .pipeline import Context, observe
from .supervise import Limits, run

HERE = Path(__file__).resolve().parent


def expected(inputs):
    """The arrays a right answer gives: shipped as data with the handout (for the students' inputs), computed
    where the references are (the teaching assistant's repository)."""
    path = HERE / "expected.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    try:
        from .reference import expected as compute
    except ImportError:
        raise FileNotFoundError(f"{path} is missing: it holds the numbers the checks compare with (it comes with the "
                                f"handout)") from None
    return compute(inputs)


def context(work):
    """The students' inputs (another seed than the grader's) and what a right answer gives for them."""
    work = Path(work)
    return Context(work, graderdata.prepare_data(work), graderdata.PUBLIC_SEED, expected)


def runner(folder, ctx):
    """``run`` for grade/pipeline.py: the harness in a plain subprocess on ``folder`` (the student's own code: no
    sandbox), in a session of its own, killed with everything it started at its time limit or at the end."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
           "CUDA_VISIBLE_DEVICES": ""}

    def run_harness(args, stdin, on_message, seconds):
        def command(channel):
            return [sys.executable, "-B", str(ctx.code / "harness.py"), *args, "--submission", str(folder),
                    "--channel", str(channel)]
        return run(command, env=env, cwd=folder, limits=Limits(wall_seconds=seconds), stdin=stdin,
                   on_message=on_message)
    return run_harness


def check(folder, parts, ctx):
    """``{item: Verdict}`` of the public items of ``parts`` (names) for the submission in ``folder``."""
    items, judgement = registry(hidden=False)
    verdicts = {}
    for name in parts:
        obs, _, _ = observe(BY_NAME[name], ctx, runner(folder, ctx))
        verdicts.update(judge_part(name, obs, items, judgement, hidden=False))
    return {i: verdicts[i] for i in items if i in verdicts}


def _selection(names, items):
    parts, wanted = [], []
    for name in names or [p.name for p in PARTS]:
        if name in BY_NAME:
            parts.append(name)
            wanted += [i for i, it in items.items() if it.part == name]
        elif name in items:
            parts.append(items[name].part)
            wanted.append(name)
        else:
            raise SystemExit(f"check.py: {name!r} is neither a part ({', '.join(BY_NAME)}) nor a public item "
                             f"({', '.join(items)})")
    return sorted(set(parts), key=parts.index), wanted


def main(argv=None, folder=None):
    parser = argparse.ArgumentParser(prog="python check.py", description="Run the public checks on this folder.")
    parser.add_argument("names", nargs="*", help=f"parts ({', '.join(BY_NAME)}) or item ids; default: all")
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
            verdicts.update(check(folder, missing_parts, context(work)))
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
          f"assistant's grader also checks {_listed(not_public())} (not public), and names the mistakes it recognises.")
    return 0 if len(passed) == len(wanted) else 1


def _listed(names):
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def section(part, folder=None):
    """For a notebook cell after each section: ``check.section("scratch")`` prints that part's public checks."""
    main([part], folder=folder)
