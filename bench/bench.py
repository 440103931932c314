"""Speed, accuracy and memory of the three networks on this machine (``make bench``).

    python bench/bench.py                          # the benchmark (~6 min quiet), writes bench/results.{md,json,png}
    python bench/bench.py --notebook               # ... and the wall time of the default notebook run
    python bench/bench.py --full-scale DIR         # ... and full MNIST from the four IDX files in DIR
    python bench/bench.py --quick --out /tmp/b     # smoke run with tiny sizes (CI)
    python bench/bench.py --from-json bench/results.json   # rewrite results.md/png, measure nothing

* **side by side**: ``NeuralNetworkTorch.fit`` against a bare PyTorch loop at batch 1, 32 and
  128 (training time per epoch), and the scratch network's fast engine at batch 128 in float32
  against a bare PyTorch loop on the same layers, cost and per-epoch evaluation (time per
  epoch, evaluation included).  Each row is a fresh interpreter, the rows of a pair run one
  after the other, and the rounds are interleaved, so a burst of load hits both sides alike.
* **speed**: training samples/s of every network on [784, 128, 64, 10] and 4,000 embedded
  digits, the best over ``--rounds`` interleaved rounds of the median epoch; the roofline beside them.
* **accuracy**: at course scale (the notebook's parameters, ``COURSE``) and on 4,000/1,000 with
  each network's mini-batch setting (``MINIBATCH``), beside scikit-learn's ``MLPClassifier``.
* **full scale** (``--full-scale``): the official 60,000 training and 10,000 test digits,
  ``FULL_SCALE_EPOCHS`` epochs of the ``MINIBATCH`` settings for every network.

results.json holds exactly the figures results.md shows; results.md is rendered from it,
followed by bench/notes.md (measurements behind choices made in the code).
"""

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]
from runners import RESULT_TAG  # noqa: E402

NETWORK = [784, 128, 64, 10]
SEED = 42
N_TRAIN, N_VAL = 4000, 1000
# The notebook's parameters cell (tests/test_bench.py checks that these agree with it).
COURSE = {
    "scratch": dict(n_train=800, n_val=200, sizes=[784, 128, 64, 10], epochs=50, learning_rate=1.5, batch_size=1,
                    fast=False),
    "pytorch": dict(n_train=1000, n_val=1000, sizes=[784, 128, 64, 10], epochs=50, learning_rate=0.05, batch_size=1),
    "keras": dict(n_train=1000, n_val=1000, sizes=[784, 128, 32, 10], epochs=50,
                  learning_rate={"schedule": "TimeBasedLearningRate", "initial": 10}, batch_size=8),
}
# Each network's mini-batch setting on 4,000/1,000, chosen by sweeps (bench/notes.md).
MINIBATCH = {
    "scratch": dict(sizes=[784, 128, 64, 10], batch_size=4, learning_rate=3.0, epochs=30, shuffle=True, fast=True,
                    dtype="float32"),
    "pytorch": dict(sizes=[784, 128, 64, 10], batch_size=32, learning_rate=1.0, epochs=60, shuffle=True),
    "keras": dict(sizes=[784, 128, 32, 10], batch_size=16, learning_rate=1.0, epochs=40),
}
FULL_SCALE_EPOCHS = 5
# Speed rows: key -> (label, job settings).  Learning rates only must not diverge.
SPEED = {
    "scratch_template": ("scratch, template loop (the default fit), float64", dict(net="scratch", batch_size=1,
                                                                                   learning_rate=1.5, fast=False)),
    "scratch_fast_f64_1": ("scratch, scratch_engine.fit, float64", dict(net="scratch", batch_size=1, learning_rate=1.5,
                                                                     fast=True, dtype="float64")),
    "scratch_fast_f32_1": ("scratch, scratch_engine.fit, float32", dict(net="scratch", batch_size=1, learning_rate=1.5,
                                                                     fast=True, dtype="float32")),
    "scratch_fast_f64_128": ("scratch, scratch_engine.fit, float64", dict(net="scratch", batch_size=128,
                                                                       learning_rate=8.0, fast=True, dtype="float64")),
    "scratch_fast_f32_128": ("scratch, scratch_engine.fit, float32", dict(net="scratch", batch_size=128,
                                                                       learning_rate=8.0, fast=True, dtype="float32")),
    "torch_mse_128": ("bare PyTorch loop, the scratch network's layers and cost, float32",
                      dict(net="torch_mse", batch_size=128, learning_rate=8.0)),
    "baseline_1": ("plain NumPy loop (bench/baseline_numpy.py), float64",
                   dict(net="baseline", batch_size=1, learning_rate=1.5)),
    # NeuralNetworkTorch.fit and the bare loop alternate epoch by epoch in one process (the torch_bare rows)
    **{f"pytorch_{bs}": ("NeuralNetworkTorch.fit", dict(net="torch_pair", batch_size=bs, learning_rate=lr))
       for bs, lr in ((1, 0.05), (32, 0.5), (128, 0.5))},
    "keras_1": ("Keras compile_and_fit", dict(net="keras", batch_size=1, learning_rate=0.05)),
    "keras_128": ("Keras compile_and_fit", dict(net="keras", batch_size=128, learning_rate=0.5)),
}
TIMED_EPOCHS = {1: 3, 32: 5, 128: 10}
# Side-by-side pairs: (first row, second row, what is timed, the goal, the largest time ratio first /
# second that meets it).  "train": training time per epoch; "epoch": the whole fit per epoch, the
# per-epoch evaluation of training and validation accuracy included.
PAIRS = [
    *((f"pytorch_{bs}", f"torch_bare_{bs}", "train", "time <= 1.15x", 1.15) for bs in (1, 32, 128)),
    ("scratch_fast_f32_128", "torch_mse_128", "epoch", "speed >= 1.0x", 1.0),
    ("scratch_fast_f64_1", "baseline_1", "train", "speed >= 3x", 1 / 3),
    ("scratch_fast_f64_1", "scratch_template", "train", None, None),
]
SPEED_GOALS = [("scratch_fast_f32_1", 18_000), ("scratch_fast_f32_128", 120_000)]
ACCURACY_GOALS = [("4000/1000", "scratch", 0.95), ("4000/1000", "pytorch", 0.96), ("4000/1000", "keras", 0.96),
                  ("course", "scratch", 0.88), ("course", "pytorch", 0.88), ("course", "keras", 0.88)]
NOTEBOOK_GOAL_S, SCRATCH_MEMORY_GOAL_MIB = 60.0, 300.0
BARE_TORCH = "bare PyTorch loop, same tensors, layers, optimizer and threads"
LABEL = {"scratch": "scratch (NumPy)", "pytorch": "PyTorch", "keras": "Keras", "sklearn": "scikit-learn MLPClassifier"}
FRAMEWORK = {"scratch": "numpy", "baseline": "numpy", "sklearn": "numpy", "pytorch": "torch", "torch_pair": "torch",
             "torch_mse": "torch", "keras": "tensorflow"}


# --------------------------------------------------------------------------- plan and run
def plan(args):
    """The jobs of each section, as dicts for bench/runners.py."""
    q = args.quick
    n_tr, n_val = (100, 50) if q else (N_TRAIN, N_VAL)

    def job(**kw):
        quick = {"warmup": False} if q else {}
        return {"sizes": NETWORK, "seed": SEED, "n_train": n_tr, "n_val": n_val, **kw} | quick

    speed = [job(key=key, purpose="speed", round=r, **dict(s, epochs=(1 if q else TIMED_EPOCHS[s["batch_size"]])
                                                         + (s["net"] == "keras")))
             for r in range(args.rounds) for key, (_, s) in SPEED.items()]
    accuracy = []
    for net, s in COURSE.items():
        accuracy.append(job(net=net, scale="course", purpose="accuracy", **dict(s, epochs=1 if q else s["epochs"],
                                                                                 n_train=60 if q else s["n_train"],
                                                                                 n_val=60 if q else s["n_val"])))
    for split in sorted({(j["n_train"], j["n_val"]) for j in accuracy}):
        accuracy.append(job(net="sklearn", scale="course", purpose="accuracy", n_train=split[0], n_val=split[1],
                            batch_size=200, epochs=5 if q else 200, warmup=False))
    for net, s in MINIBATCH.items():
        accuracy.append(job(net=net, scale="4000/1000", purpose="accuracy", **dict(s, epochs=1 if q else s["epochs"])))
    accuracy.append(job(net="sklearn", scale="4000/1000", purpose="accuracy", batch_size=200, epochs=5 if q else 200,
                        warmup=False))
    full = []
    if args.full_scale:
        n_full = (300, 100) if q else (60000, 10000)
        for net, s in [*MINIBATCH.items(), ("sklearn", dict(batch_size=200))]:
            full.append(job(net=net, purpose="full", data=str(args.full_scale), n_train=n_full[0], n_val=n_full[1],
                            warmup=net != "sklearn", **dict(s, epochs=1 if q else FULL_SCALE_EPOCHS)))
    return speed, accuracy, full


LOAD = []  # the 1-minute load average after each run


def run_jobs(jobs, grouped, log):
    """Each job in a fresh interpreter, one at a time (``grouped``: one interpreter per framework)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore::DeprecationWarning")
    if grouped:
        by = {}
        for j in jobs:
            by.setdefault(FRAMEWORK[j["net"]], []).append(j)
        batches = list(by.values())
    else:
        batches = [[j] for j in jobs]
    results = []
    for batch in batches:
        proc = subprocess.run([sys.executable, str(BENCH / "runners.py"), json.dumps(batch)], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        got = [json.loads(line[len(RESULT_TAG):]) for line in proc.stdout.splitlines() if line.startswith(RESULT_TAG)]
        got += [{"job": j, "error": f"worker exited with code {proc.returncode}: {proc.stderr[-600:]}"}
                for j in batch[len(got):]]
        for r in got:
            j = r["job"]
            log(f"  {j.get('key') or j['net']} n={j['n_train']} batch {j['batch_size']}: " +
                (f"ERROR {r['error'].splitlines()[0][:200]}" if r.get("error") else
                 f"{r['samples_per_s']:,.0f} samples/s, val {r['val_accuracy']}"))
        results += got
        LOAD.append(os.getloadavg()[0])
    return results


def measure_sgemm(quick):
    """Best float32 matrix-multiply rate (FLOP/s) of numpy's BLAS, (512 x 784) @ (784 x 1024)."""
    a, b = np.ones((512, 784), np.float32), np.ones((784, 1024), np.float32)
    reps, rates = (5, 3) if quick else (100, 5)
    for _ in range(rates):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        yield 2.0 * 512 * 784 * 1024 * reps / (time.perf_counter() - t0)


def measure_notebook(log):
    """Wall time of ``run_notebook.py`` with its defaults, written to a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "run_notebook.py", "--output", str(Path(tmp) / "nb.ipynb")], cwd=ROOT,
                              capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
        wall = time.perf_counter() - t0
    log(f"  notebook: {wall:.1f} s (exit code {proc.returncode})")
    return {"wall_s": round(wall, 1)} if proc.returncode == 0 else {"error": proc.stderr[-300:]}


def machine_info(full_scale):
    import threadpoolctl

    def version(dist):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    blas = "; ".join(f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)"
                     for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes"),
            "cpu": f"{cpu}, {os.cpu_count()} cores",
            "code": git.stdout.strip() or "not a git checkout",
            "python": platform.python_version(),
            "versions": " / ".join(version(d) for d in ("numpy", "torch", "tensorflow-cpu", "keras", "scikit-learn")),
            "blas": blas, "load_before": [round(x, 2) for x in os.getloadavg()],
            "full_scale_data": str(full_scale) if full_scale else None}


# --------------------------------------------------------------------------- summary (= results.json)
def summarise(args, machine, sgemm, speed, accuracy, full, notebook, total_s):
    """Exactly the figures results.md shows."""
    ok = [r for r in speed + accuracy + full if not r.get("error")]
    s = {"quick": args.quick, "machine": machine, "rounds": args.rounds, "total_min": round(total_s / 60, 1),
         "roofline": {"sgemm_gflops": round(sgemm / 1e9, 1),
                      "samples_per_s": round(sgemm / (6 * sum(a * b for a, b in zip(NETWORK, NETWORK[1:]))))},
         "speed": {}, "pairs": [], "accuracy": [], "full_scale": [], "goals": [],
         "notebook": notebook, "errors": [f"{r['job'].get('key') or r['job']['net']} ({r['job']['purpose']}): "
                                          f"{r['error'].splitlines()[0][:300]}" for r in speed + accuracy + full
                                          if r.get("error")]}
    rows = []  # (row, the job it comes from, label, batch size, prefix of the runner's fields)
    for key, (label, settings) in SPEED.items():
        rows.append((key, key, label, settings["batch_size"], ""))
        if settings["net"] == "torch_pair":  # the bare loop's epochs, from the same processes
            rows.append((key.replace("pytorch", "torch_bare"), key, BARE_TORCH, settings["batch_size"], "bare_"))
    for key, source, label, batch_size, side in rows:
        rs = [r for r in ok if r["job"]["purpose"] == "speed" and r["job"]["key"] == source]
        if rs:  # the best round: on a shared machine the least disturbed one
            train = [r[side + "train_s_per_epoch"] for r in rs]
            wall = None if rs[0]["job"]["net"] == "torch_pair" else min(r["wall_s_per_epoch"] for r in rs)
            s["speed"][key] = {"label": label, "batch_size": batch_size,
                               "samples_per_s": round(rs[0]["job"]["n_train"] / min(train)),
                               "rounds": [round(r["job"]["n_train"] / x) for r, x in zip(rs, train)],
                               "train_ms_per_epoch": round(1000 * min(train), 1),
                               "wall_ms_per_epoch": wall and round(1000 * wall, 1),
                               "peak_mib": round(max(r["peak_mib"] or 0 for r in rs), 1),
                               "threads": rs[0].get("torch_threads")}
    for num, den, timed, goal, max_ratio in PAIRS:
        a, b = s["speed"].get(num), s["speed"].get(den)
        field = "train_ms_per_epoch" if timed == "train" else "wall_ms_per_epoch"
        ratio = round(a[field] / b[field], 3) if a and b else None
        label = {key: label for key, _, label, _, _ in rows}
        s["pairs"].append({"first": label[num], "second": label[den], "batch_size": SPEED[num][1]["batch_size"],
                           "timed": timed, "time_ratio": ratio, "goal": goal,
                           "met": None if ratio is None or goal is None else ratio <= max_ratio})
    for r in (r for r in ok if r["job"]["purpose"] in ("accuracy", "full")):
        j = r["job"]
        lr = j.get("learning_rate")
        lr = f"{lr['schedule']}({lr['initial']})" if isinstance(lr, dict) else lr
        settings = (f"{r['n_iter']} iterations of Adam, batch 200" if j["net"] == "sklearn" else
                    f"{j['sizes']}, batch {j['batch_size']}, lr {lr}, {j['epochs']} epochs"
                    + ", shuffled" * bool(j.get("shuffle")) + (", scratch_engine.fit" if j.get("fast") else
                                                                 ", the template loop" * (j["net"] == "scratch"))
                    + (f", {j['dtype']}" if j.get("dtype") else ""))
        s["full_scale" if j["purpose"] == "full" else "accuracy"].append({
            "scale": j.get("scale", "full"), "network": LABEL[j["net"]], "split": f"{j['n_train']}/{j['n_val']}",
            "settings": settings, "val_accuracy": round(r["val_accuracy"], 4), "train_s": round(r["wall_s"], 1),
            "samples_per_s": round(r["samples_per_s"]), "peak_mib": round(r["peak_mib"] or 0, 1),
            "process_peak_mib": round(r["process_peak_mib"] or 0)})
    # the goals: (text, measured value, shown as, met?)
    goals = []
    for key, threshold in SPEED_GOALS:
        v = s["speed"].get(key, {}).get("samples_per_s")
        goals.append((f"{SPEED[key][0]}, batch {SPEED[key][1]['batch_size']}: >= {threshold:,} samples/s", v,
                      f"{v:,} samples/s", v is not None and v >= threshold))
    for p in s["pairs"]:
        if p["goal"]:
            v = p["time_ratio"]
            goals.append((f"{p['first']} vs {p['second']}, batch {p['batch_size']}: {p['goal']}", v,
                          v and f"{v:.2f}x the time ({1 / v:.2f}x the speed)", p["met"]))
    acc = {(a["scale"], a["network"]): a for a in s["accuracy"]}
    for scale, net, threshold in ACCURACY_GOALS:
        v = acc.get((scale, LABEL[net]), {}).get("val_accuracy")
        goals.append((f"{LABEL[net]} validation accuracy, {scale} scale: >= {threshold}", v, f"{v}",
                      v is not None and v >= threshold))
    v = acc.get(("4000/1000", LABEL["scratch"]), {}).get("process_peak_mib")
    goals.append((f"scratch (NumPy) 4000/1000 run: peak memory over the bare interpreter < "
                  f"{SCRATCH_MEMORY_GOAL_MIB:.0f} MiB", v, f"{v} MiB", v is not None and v < SCRATCH_MEMORY_GOAL_MIB))
    v = notebook.get("wall_s")
    goals.append((f"whole default notebook run: <= {NOTEBOOK_GOAL_S:.0f} s", v, v and f"{v:.1f} s",
                  v is not None and v <= NOTEBOOK_GOAL_S))
    s["goals"] = [{"goal": text, "measured": shown if v is not None else "not measured",
                   "met": met if v is not None else None} for text, v, shown, met in goals]
    return s


# --------------------------------------------------------------------------- results.md / results.png
def fmt(value, unit):
    return "–" if value is None else f"{value}{unit}"


def write_markdown(path, s):
    m = s["machine"]
    L = ["# Benchmark results\n"]
    w = L.append
    if s["quick"]:
        w("**QUICK MODE (`--quick`): tiny sizes for the smoke test. These figures are not the benchmark.**\n")
    w(f"Written by `bench/bench.py` from `results.json` (bars: `results.png`); the run took {s['total_min']} min.\n")
    w("## Machine\n\n| | |\n|---|---|")
    w(f"| date (UTC) | {m['date']} |\n| code (git describe) | {m['code']} |\n| CPU | {m['cpu']} |\n"
      f"| Python | {m['python']} |")
    w(f"| numpy / torch / tensorflow / keras / scikit-learn | {m['versions']} |\n| BLAS | {m['blas']} |")
    w(f"| load average (1 / 5 / 15 min) before / after | {m['load_before']} / {m['load_after']} |")
    if m.get("load_during"):
        w(f"| 1-min load after each run, median / max (this benchmark adds 1-2) | {m['load_during'][0]} / "
          f"{m['load_during'][1]} |")
    if m["load_before"][0] > 0.5 or (m.get("load_during") or [0])[0] > 2.5:
        w("\n**The machine was shared** with other jobs: absolute speeds are lower bounds; the side-by-side ratios, "
          "measured in adjacent processes (PyTorch: in one process, epoch by epoch) and interleaved rounds, are "
          "the figures to read.")
    w("\n## Goals\n\n| goal | measured | met? |\n|---|---|---|")
    for g in s["goals"]:
        met = "not measured" if g["met"] is None else ("**met**" if g["met"] else "**not met**")
        w(f"| {g['goal']} | {g['measured']} | {met} |")
    w("\n## Side by side\n")
    w("Time per epoch of the first row over the second, from the speed table below; *train*: "
      "training only, *epoch*: the whole fit, the per-epoch evaluation of training and validation accuracy "
      "included.\n")
    w("| first | second | batch | timed | time ratio | speed ratio | goal |\n|---|---|---:|---|---:|---:|---|")
    for p in s["pairs"]:
        r = p["time_ratio"]
        w(f"| {p['first']} | {p['second']} | {p['batch_size']} | {p['timed']} | "
          f"{f'{r:.2f} | {1 / r:.2f}' if r else '– | –'} | {p['goal'] or ''} |")
    w(f"\n## Speed (network {NETWORK}, {N_TRAIN if not s['quick'] else 100} of the embedded digits)\n")
    w(f"Each round is a fresh interpreter per row, timing the median epoch of "
      f"{', '.join(f'{v} at batch {k}' for k, v in TIMED_EPOCHS.items())} (after a 256-sample warm-up; Keras: one "
      f"more epoch, the first left out); the table gives the best of {s['rounds']} interleaved rounds, the least "
      "disturbed on a shared machine. *samples/s* and *train*: training only; *epoch*: the whole fit per epoch, "
      "evaluation included. Memory: peak RSS of the timed training above the RSS before it (after the warm-up).\n")
    w("| run | batch | samples/s | per round | train | epoch | torch threads | memory |")
    w("|---|---:|---:|---|---:|---:|---:|---:|")
    for key, r in s["speed"].items():
        w(f"| {r['label']} | {r['batch_size']} | {r['samples_per_s']:,} | {', '.join(f'{v:,}' for v in r['rounds'])} | "
          f"{r['train_ms_per_epoch']} ms | {fmt(r['wall_ms_per_epoch'], ' ms')} | {r['threads'] or ''} | "
          f"+{r['peak_mib']} MiB |")
    rf = s["roofline"]
    w(f"| **roofline** | | **{rf['samples_per_s']:,}** | | | | | |")
    w(f"\nRoofline: float32 matrix products run at {rf['sgemm_gflops']} GFLOP/s here (best of several "
      f"(512 x 784) @ (784 x 1024)); one sample costs 6 x {sum(a * b for a, b in zip(NETWORK, NETWORK[1:])):,} FLOP "
      "(forward and backward), so no dense implementation trains faster than the roofline row (the scratch "
      "engine can: it skips the input pixels that are zero in every training image).")
    for title, rows in (("Accuracy", s["accuracy"]), ("Full MNIST", s["full_scale"])):
        w(f"\n## {title}\n")
        if title == "Accuracy":
            w("Validation accuracy after the last epoch. Course scale: the notebook's parameters (scratch: the "
              "default template loop); 4000/1000: each network's mini-batch setting. The embedded digits, splits "
              "stratified, seed 42; "
              "scikit-learn: `MLPClassifier` with the same hidden layers, `random_state=42`, its defaults otherwise "
              "(ReLU, Adam, batch 200, up to 200 iterations).\n")
        elif not rows:
            w(f"Not run: give the folder of the four IDX files with `make bench ARGS=\"--full-scale DIR\"`.")
            continue
        else:
            w(f"The official 60,000 training digits, and accuracy on the official 10,000 test digits after "
              f"{FULL_SCALE_EPOCHS} epochs of each network's 4000/1000 mini-batch setting (scikit-learn: "
              f"{FULL_SCALE_EPOCHS} iterations). Data: `{m['full_scale_data']}`.\n")
        w("| scale | network | split | settings | accuracy | fit time | samples/s (training) | "
          "memory (training / process) |")
        w("|---|---|---|---|---:|---:|---:|---:|")
        for a in rows:
            w(f"| {a['scale']} | {a['network']} | {a['split']} | {a['settings']} | {a['val_accuracy']:.4f} | "
              f"{a['train_s']} s | {a['samples_per_s']:,} | +{a['peak_mib']} / +{a['process_peak_mib']} MiB |")
    nb = s["notebook"]
    w("\n## Notebook\n\n" + (f"Whole default run (`python run_notebook.py`, interpreter start to exit): "
                            f"{nb['wall_s']:.1f} s." if "wall_s" in nb else
                            f"Failed: {nb['error']}" if "error" in nb else "Not measured (`--notebook`)."))
    if s["errors"]:
        w("\n## Runs that failed\n\n" + "\n".join(f"- `{e}`" for e in s["errors"]))
    notes = BENCH / "notes.md"
    path.write_text("\n".join(L) + "\n" + ("\n" + notes.read_text() if notes.exists() else ""))


def write_png(path, s):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 6), gridspec_kw={"width_ratios": [1.3, 1]})
    rows = list(s["speed"].values())[::-1]
    ax1.barh(range(len(rows)), [r["samples_per_s"] for r in rows], color="tab:blue")
    ax1.set_yticks(range(len(rows)), [f"{r['label']}, batch {r['batch_size']}" for r in rows], fontsize=8)
    ax1.axvline(s["roofline"]["samples_per_s"], color="k", ls="--", lw=1, label="roofline")
    ax1.set_xscale("log")
    ax1.set_xlabel("training samples/s (log scale)")
    ax1.legend(loc="lower right")
    acc = s["accuracy"] + s["full_scale"]
    ax2.barh(range(len(acc)), [a["val_accuracy"] for a in acc], color="tab:orange")
    ax2.set_yticks(range(len(acc)), [f"{a['scale']}: {a['network']}" for a in acc], fontsize=8)
    ax2.set_xlim(min([a["val_accuracy"] for a in acc] + [0.8]) - 0.02, 1.0)
    ax2.set_xlabel("validation / test accuracy")
    for i, a in enumerate(acc):
        ax2.text(a["val_accuracy"], i, f" {a['val_accuracy']:.3f}", va="center", fontsize=8)
    fig.suptitle(("QUICK MODE, not the benchmark - " if s["quick"] else "") + f"measured {s['machine']['date'][:10]}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one interpreter per framework (smoke test)")
    parser.add_argument("--out", type=Path, default=BENCH, help="folder for results.md/json/png (default: bench/)")
    parser.add_argument("--notebook", action="store_true", help="also time the whole default notebook run")
    parser.add_argument("--full-scale", type=Path, metavar="DIR", help="folder with the four IDX files of full MNIST")
    parser.add_argument("--rounds", type=int, help="rounds of the speed rows (default 3, quick 1)")
    parser.add_argument("--from-json", type=Path, metavar="RESULTS_JSON", help="measure nothing: rewrite md/png")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        s = json.loads(args.from_json.read_text())
    else:
        args.rounds = args.rounds or (1 if args.quick else 3)
        if args.rounds < 1:
            parser.error(f"--rounds must be a positive integer; received {args.rounds}")
        if args.full_scale and not args.full_scale.is_dir():
            parser.error(f"--full-scale must be a folder with the four MNIST IDX files; received {args.full_scale}")
        start = time.perf_counter()

        def log(msg):
            print(f"[{time.perf_counter() - start:6.1f} s] {msg}", flush=True)

        machine = machine_info(args.full_scale)
        speed_jobs, accuracy_jobs, full_jobs = plan(args)
        sgemm = max(measure_sgemm(args.quick))
        if args.quick:  # one interpreter per framework for all runs: start-up dominates at these sizes
            done = run_jobs(speed_jobs + accuracy_jobs + full_jobs, True, log)
            speed, accuracy, full = ([r for r in done if r["job"]["purpose"] == p]
                                     for p in ("speed", "accuracy", "full"))
        else:
            speed, accuracy, full = (log(f"{len(jobs)} runs") or run_jobs(jobs, False, log)
                                     for jobs in (speed_jobs, accuracy_jobs, full_jobs))
        notebook = measure_notebook(log) if args.notebook else {}
        machine["load_after"] = [round(x, 2) for x in os.getloadavg()]
        machine["load_during"] = [round(float(np.median(LOAD)), 2), round(max(LOAD), 2)] if LOAD else None
        sgemm = max(sgemm, *measure_sgemm(args.quick))
        s = summarise(args, machine, sgemm, speed, accuracy, full, notebook, time.perf_counter() - start)
        (args.out / "results.json").write_text(json.dumps(s, indent=1) + "\n")
    write_markdown(args.out / "results.md", s)
    write_png(args.out / "results.png", s)
    print(f"wrote {args.out / 'results.md'}, results.json, results.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
