"""Speed, memory and accuracy of the three networks, measured on this machine (``make bench``).

    python bench/bench.py               # the full benchmark (~15 min), writes bench/results.{md,png,json}
    python bench/bench.py --notebook    # ... and the wall time of the default notebook run
    python bench/bench.py --quick --out /tmp/b   # < 1 min smoke run with tiny sizes (CI)

What is measured (issue 7):

* **throughput**: training samples per second of the scratch network (per sample and
  mini-batch 128), PyTorch and Keras (batch 1 and 128), all on [784, 128, 64, 10] and the
  same 4,000 embedded digits; the median epoch time after one warm-up epoch, and the median
  over ``--rounds`` fresh processes run interleaved.  Beside them the roofline: the measured
  float32 matrix-multiply rate divided by the network's 6 x (number of weights) FLOPs per
  sample.
* **ratios** from the same run: scratch mini-batch / PyTorch mini-batch and scratch
  per-sample / the plain float64 NumPy baseline in ``bench/baseline_numpy.py``.
* **accuracy**: validation accuracy at course scale (the notebook's own parameters, read from
  its parameters cell) and on 4,000/1,000 with mini-batches, beside scikit-learn's
  ``MLPClassifier((128, 64))`` on identical splits.
* **memory**: peak resident memory of every training run above the RSS before it.
* **scaling**: time per epoch at 1,000, 2,000 and 4,000 training samples (and 60,000 when
  full MNIST is available locally).
* **notebook**: wall time of the whole default notebook run (``--notebook``; written to a
  temporary folder, so the committed notebook and figures are not touched).

Every training run happens in a fresh interpreter (``bench/runners.py``), one after the other:
never two at once on this 2-core machine.
"""

import argparse
import ast
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
sys.path.insert(0, str(BENCH))
from runners import RESULT_TAG  # noqa: E402

NETWORK = [784, 128, 64, 10]          # the one network every throughput figure uses
SEED = 42                             # data split and network seeds, as in the notebook
NETS = ("scratch", "pytorch", "keras")
LABEL = {"scratch": "scratch (NumPy)", "scratch_f32": "scratch (NumPy), dtype=float32", "pytorch": "PyTorch",
         "keras": "Keras", "keras_spe1": "Keras, steps_per_execution=1", "sklearn": "scikit-learn MLP",
         "baseline": "plain NumPy baseline (float64)",
         "torch_loop": "PyTorch, minimal loop (measure_scratch.py: no DataLoader, no biases, MSE)"}

# Mini-batch settings of the 4000/1000 accuracy runs: batch size, learning rate, epochs,
# reshuffling each epoch.  Each network's author chose them in its bench/measure_*.py; they are
# read from there (see minibatch_settings) and these are only the fall-backs.
MINIBATCH = {
    # scratch: measure_scratch.py names no mini-batch setting, so bench chose it (float32, shuffled,
    # seed 42 unless noted): batch 4, eta 3.0, 30 epochs -> 0.956 (seeds 1, 7: 0.957, 0.948);
    # batch 16, eta 8.0, 30 epochs -> 0.953 (0.949, 0.947); batch 16, eta 2 / 4 / 8, 60 epochs ->
    # 0.948 / 0.946 / 0.946 (the MSE cost overfits after ~30 epochs); batch 64, eta 16, 60 -> 0.943.
    "scratch": dict(batch_size=4, learning_rate=3.0, epochs=30, shuffle=True),
    "pytorch": dict(batch_size=16, learning_rate=0.5, epochs=60, shuffle=True),
    "keras": dict(batch_size=32, learning_rate=0.5, epochs=30),
}
# Learning rates of the throughput runs (speed does not depend on them; they only must not diverge).
THROUGHPUT_LR = {("scratch", 1): 1.5, ("scratch", 128): 8.0, ("pytorch", 1): 0.05, ("pytorch", 128): 0.5,
                 ("keras", 1): 0.05, ("keras", 128): 0.5, ("baseline", 1): 1.5, ("torch_loop", 128): 1.5}
# Throughput rows: (tag, network entry, batch size, extra job settings).  The tags without a
# suffix are each network as the notebook runs it (scratch: float64 weights; Keras: the
# compile_and_fit defaults, steps_per_execution = 1000 // batch_size); the others are the same
# code with one documented option changed.
THROUGHPUT_ROWS = [
    ("scratch", "scratch", 1, {}), ("scratch_f32", "scratch", 1, {"dtype": "float32"}),
    ("scratch", "scratch", 128, {}), ("scratch_f32", "scratch", 128, {"dtype": "float32"}),
    ("pytorch", "pytorch", 1, {}), ("pytorch", "pytorch", 128, {}),
    ("keras", "keras", 1, {}), ("keras_spe1", "keras", 1, {"steps_per_execution": 1, "timed": 2}), ("keras", "keras", 128, {}),
    ("torch_loop", "torch_loop", 128, {}), ("baseline", "baseline", 1, {}),
]
SHORT = {"scratch": "scratch (float64)", "scratch_f32": "scratch (float32)", "pytorch": "PyTorch", "keras": "Keras",
         "keras_spe1": "Keras (steps_per_exec. 1)", "torch_loop": "PyTorch minimal loop",
         "baseline": "plain NumPy baseline"}
# The interpreter a --quick run uses for each entry (one per framework: start-up dominates there).
FRAMEWORK = {"scratch": "numpy", "baseline": "numpy", "sklearn": "numpy", "pytorch": "torch", "torch_loop": "torch",
             "keras": "tensorflow"}
# Which rows the goals of issue 7 are judged on.
GOAL_ROWS = {"per_sample": ("scratch_f32", 1), "mini_batch": ("scratch_f32", 128)}
# Ratios of two throughput rows measured in the same run: (key, numerator row, denominator row).
# The baseline ratio is like for like (float64 / float64): the gain of the fast path alone.
RATIOS = [
    ("scratch_mb128_over_pytorch_mb128", ("scratch_f32", 128), ("pytorch", 128)),
    ("scratch_f64_mb128_over_pytorch_mb128", ("scratch", 128), ("pytorch", 128)),
    ("scratch_mb128_over_torch_loop_mb128", ("scratch_f32", 128), ("torch_loop", 128)),
    ("scratch_bs1_over_baseline", ("scratch", 1), ("baseline", 1)),
    ("scratch_f32_bs1_over_baseline", ("scratch_f32", 1), ("baseline", 1)),
    ("scratch_bs1_over_pytorch_bs1", ("scratch", 1), ("pytorch", 1)),
    ("scratch_bs1_over_keras_bs1", ("scratch", 1), ("keras", 1)),
]
SKLEARN = dict(hidden_layer_sizes=(128, 64))  # everything else: scikit-learn's defaults, random_state fixed

# The goals of issue 7 (and the per-network numbers of issues 3, 4, 8).
GOALS = {
    "scratch_bs1": 18_000, "scratch_vs_baseline": 3.0, "scratch_mb128": 120_000, "scratch_vs_torch": 1.5,
    "acc_scratch": 0.95, "acc_pytorch": 0.96, "acc_keras": 0.96, "notebook_s": 90.0,
    "course_acc": 0.88, "scratch_mem_mib": 300.0,
}


# --------------------------------------------------------------------------- settings
def notebook_parameters():
    """The notebook's parameters cell, evaluated: the course-scale settings of the three networks."""
    nb = json.loads((ROOT / "MNIST_classification.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "tf_batch_size" in "".join(cell["source"]):
            namespace = {}
            exec(compile(ast.parse("".join(cell["source"])), "parameters", "exec"), namespace)  # literals only
            return {k: v for k, v in namespace.items() if not k.startswith("__")}
    raise RuntimeError("MNIST_classification.ipynb has no parameters cell with tf_batch_size")


def module_constants(path):
    """Literal module constants and function-argument defaults of a Python file, read without importing it.

    ``{"NAME": value, "func()": {"arg": default}}``; ``dict(a=1)`` calls count as literals.
    bench.py reads the helpers' chosen settings this way, so that measuring them needs no
    TensorFlow import in this process.
    """
    out = {}
    try:
        tree = ast.parse(Path(path).read_text())
    except (OSError, SyntaxError):
        return out

    def literal(node):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "dict" and not node.args:
            return {k.arg: ast.literal_eval(k.value) for k in node.keywords}
        return ast.literal_eval(node)

    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = literal(node.value)
            except (ValueError, TypeError):
                pass
        elif isinstance(node, ast.FunctionDef) and node.args.defaults:
            names = [a.arg for a in node.args.args][-len(node.args.defaults):]
            defaults = {}
            for name, value in zip(names, node.args.defaults):
                try:
                    defaults[name] = literal(value)
                except (ValueError, TypeError):
                    pass
            out[node.name + "()"] = defaults
    return out


def minibatch_settings():
    """The 4000/1000 mini-batch settings each network's author chose, with where they come from."""
    keys = ("batch_size", "learning_rate", "epochs", "shuffle")
    found = {
        "scratch": (module_constants(BENCH / "measure_scratch.py").get("MINIBATCH"),
                    "bench/measure_scratch.py MINIBATCH"),
        "pytorch": (module_constants(BENCH / "measure_pytorch.py").get("MINIBATCH"),
                    "bench/measure_pytorch.py MINIBATCH"),
        "keras": (module_constants(BENCH / "measure_tensorflow.py").get("measure_large()"),
                  "bench/measure_tensorflow.py measure_large() defaults"),
    }
    out = {}
    for net, (got, where) in found.items():
        if got and {"batch_size", "learning_rate", "epochs"} <= set(got):
            out[net] = dict({k: got[k] for k in keys if k in got}, source=where)
        else:
            out[net] = dict(MINIBATCH[net], source="bench/bench.py MINIBATCH (a sweep, see the comment there)")
    return out


def plan(args):
    """All jobs, as dicts for bench/runners.py, grouped by section."""
    p = notebook_parameters()
    q = args.quick
    n_tr, n_val = (100, 50) if q else (4000, 1000)
    scale_sizes = [n_tr] if q else [1000, 2000, 4000]
    timed = {1: 1 if q else 5, 128: 1 if q else 10}
    jobs = {"throughput": [], "accuracy": [], "full": []}

    def job(net, **kw):
        base = dict(net=net, sizes=list(NETWORK), seed=SEED, split_seed=SEED, warmup=0)
        base.update(kw)
        return base

    # throughput and scaling: same network, same data, batch 1 and 128
    for n in scale_sizes:
        last = n == scale_sizes[-1]
        for tag, net, bs, extra in THROUGHPUT_ROWS:
            if not last and tag not in NETS:  # the variants and the baseline only at the largest size
                continue
            if q and tag == "keras_spe1":  # a Keras fit costs seconds of tracing; the smoke run skips it
                continue
            extra = dict(extra)
            n_timed = 1 if q else extra.pop("timed", timed[bs])  # per-row override for very slow rows
            extra.pop("timed", None)
            for r in range(args.rounds if last else 1):
                jobs["throughput"].append(job(net, tag=tag, n_train=n, n_val=n_val, batch_size=bs, warmup=1,
                                              epochs=1 + n_timed, learning_rate=THROUGHPUT_LR[net, bs],
                                              round=r, purpose="throughput", **extra))

    # accuracy at course scale: the notebook's own parameters
    ep = (lambda e: 1) if q else (lambda e: e)
    cs = (lambda n: 60) if q else (lambda n: n)
    course = [
        job("scratch", n_train=cs(p["scratch_n_train"]), n_val=cs(p["scratch_n_val"]), sizes=p["scratch_sizes"],
            epochs=ep(p["scratch_epochs"]), learning_rate=p["scratch_learning_rate"],
            batch_size=p["scratch_batch_size"]),
        job("pytorch", n_train=cs(p["torch_n_train"]), n_val=cs(p["torch_n_val"]), sizes=p["torch_sizes"],
            epochs=ep(p["torch_epochs"]), learning_rate=p["torch_learning_rate"], batch_size=p["torch_batch_size"]),
        job("keras", n_train=cs(p["tf_n_train"]), n_val=cs(p["tf_n_val"]), sizes=p["tf_sizes"],
            epochs=ep(p["tf_epochs"]),
            learning_rate={"schedule": "TimeBasedLearningRate", "initial": p["tf_initial_learning_rate"]},
            batch_size=p["tf_batch_size"]),
    ]
    for j in course:
        j["purpose"], j["scale"] = "accuracy", "course"
    jobs["accuracy"] += course
    for split in sorted({(j["n_train"], j["n_val"]) for j in course}):
        jobs["accuracy"].append(job("sklearn", n_train=split[0], n_val=split[1], purpose="accuracy", scale="course",
                                    epochs=1, batch_size=200, params=dict(SKLEARN, max_iter=5 if q else 200)))
    # accuracy on 4000/1000 with mini-batches
    chosen = minibatch_settings()
    own_sizes = {"scratch": p["scratch_sizes"], "pytorch": p["torch_sizes"], "keras": p["tf_sizes"]}
    for net in NETS:
        s = dict(chosen[net])
        if q:
            s["epochs"] = 1
        jobs["accuracy"].append(job(net, n_train=n_tr, n_val=n_val, purpose="accuracy", scale="4000/1000",
                                    sizes=own_sizes[net], **s))
    jobs["accuracy"].append(job("sklearn", n_train=n_tr, n_val=n_val, purpose="accuracy", scale="4000/1000",
                                epochs=1, batch_size=200, params=dict(SKLEARN, max_iter=5 if q else 200)))

    # full MNIST, only when it is on this machine
    if args.full_mnist:
        for net, bs in (("scratch", 1), ("scratch", 128), ("pytorch", 128), ("keras", 128)):
            jobs["full"].append(job(net, tag=net, data="full", n_train=60000, n_val=10000, batch_size=bs, warmup=0,
                                    epochs=2, learning_rate=THROUGHPUT_LR[net, bs], purpose="full"))
    return jobs, p


# --------------------------------------------------------------------------- running
def run_jobs(jobs, grouped, log):
    """Run each job in a fresh interpreter (``grouped``: one interpreter per network, for --quick)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore::DeprecationWarning")
    if grouped:
        batches = {}
        for j in jobs:
            batches.setdefault(FRAMEWORK[j["net"]], []).append(j)
        batches = list(batches.values())
    else:
        # interleave the repeated rounds so that a burst of load on the machine hits all networks alike
        batches = [[j] for j in sorted(jobs, key=lambda j: j.get("round", 0))]
    results = []
    for batch in batches:
        label = ", ".join(f"{j['net']} n={j['n_train']} bs={j['batch_size']}" for j in batch[:3])
        log(f"  {label}{' ...' if len(batch) > 3 else ''}")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(BENCH / "runners.py"), json.dumps(batch)], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        got = [json.loads(line[len(RESULT_TAG):]) for line in proc.stdout.splitlines() if line.startswith(RESULT_TAG)]
        for j in batch[len(got):]:  # the interpreter died before reporting these
            got.append({"job": j, "error": f"worker exited with code {proc.returncode}: {proc.stderr[-600:]}"})
        for r in got:
            if r.get("error"):
                log(f"    ERROR {r['job']['net']}: {r['error'].splitlines()[0][:200]}")
            else:
                log(f"    {r['samples_per_s']:,.0f} samples/s, val {r['val_accuracy']}, "
                    f"+{r['rss_delta_mib']:.0f} MiB ({time.perf_counter() - t0:.1f} s)")
        results += got
    return results


def measure_sgemm(quick):
    """float32 matrix-multiply rate (FLOP/s) of numpy's BLAS: a (512 x 784) @ (784 x 1024) product.

    Returns (median, best) over 7 repeats of ~0.5 s each (quick: 3 short ones).  512 rows
    because at 128 rows OpenBLAS' two-thread split is still far from its peak here.
    """
    m, k, n = 512, 784, 1024
    rng = np.random.default_rng(0)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    for _ in range(5):
        np.matmul(a, b, out=c)
    rates = []
    for _ in range(3 if quick else 7):
        reps = 5 if quick else 100
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=c)
        rates.append(2.0 * m * k * n * reps / (time.perf_counter() - t0))
    return float(np.median(rates)), float(np.max(rates)), (m, k, n)


def measure_notebook(log):
    """Wall time of ``run_notebook.py`` with the default parameters, executed into a temporary folder."""
    script = ROOT / "run_notebook.py"
    if not script.is_file():
        return {"error": "run_notebook.py not found"}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script), "--output", str(Path(tmp) / "nb.ipynb")], cwd=ROOT,
                              capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": f"run_notebook.py exited with {proc.returncode}: {proc.stderr[-500:]}", "wall_s": wall}
    inner = re.search(r">> done in ([\d.]+) s", proc.stdout)
    log(f"  notebook: {wall:.1f} s")
    return {"wall_s": wall, "execute_s": float(inner.group(1)) if inner else None}


# --------------------------------------------------------------------------- machine
def machine_info():
    import threadpoolctl

    def version(dist):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    cpu = platform.processor() or "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = [f"{i['internal_api']} {i['version']} ({i.get('architecture', '?')}, {i['num_threads']} threads, "
            f"{Path(i['filepath']).name})" for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    full = None
    try:
        sys.path.insert(0, str(ROOT))
        from mnist import load_mnist
        data = load_mnist()
        full = data.n_train is not None and data.n_train >= 60000
        source = data.source
    except Exception as err:  # noqa: BLE001 (reported, not hidden)
        source = f"load_mnist() failed: {err}"
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu, "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_before": os.getloadavg(),
        "python": platform.python_version(), "platform": platform.platform(),
        "numpy": np.__version__, "torch": version("torch"), "tensorflow": version("tensorflow-cpu"),
        "keras": version("keras"), "scikit-learn": version("scikit-learn"), "blas": "; ".join(blas) or "unknown",
        "data_source": source, "full_mnist": bool(full),
    }


# --------------------------------------------------------------------------- summarising
def label(name):
    """Display name of a network entry (``"sklearn 800/200"`` -> ``"scikit-learn MLP (800/200)"``)."""
    net, _, split = name.partition(" ")
    return LABEL.get(net, net) + (f" ({split})" if split else "")


def n_weights(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def summarise(results):
    """Throughput per (network, batch, n): the median over rounds; accuracy per (scale, network)."""
    thr, acc, errors = {}, {}, []
    for r in results:
        j = r["job"]
        if r.get("error"):
            errors.append(r)
            continue
        if j["purpose"] == "throughput":
            thr.setdefault((j.get("tag", j["net"]), j["batch_size"], j["n_train"]), []).append(r)
        elif j["purpose"] == "accuracy":
            name = j["net"] if j["net"] != "sklearn" else f"sklearn {j['n_train']}/{j['n_val']}"
            acc[j["scale"], name] = r
    throughput = {}
    for key, rs in thr.items():
        sps = [r["samples_per_s"] for r in rs]
        throughput[key] = {"samples_per_s": float(np.median(sps)), "rounds": sps,
                           "epoch_time_s": float(np.median([r["epoch_time_median"] for r in rs])),
                           "rss_delta_mib": float(max(r["rss_delta_mib"] for r in rs)),
                           "process_peak_mib": float(max(r["rss_process_peak_over_start_mib"] for r in rs))}
    return throughput, acc, errors


def evaluate_goals(s):
    """Each goal of issue 7 (and issues 3, 4, 8) with the figure measured; met is None when not measured."""
    goals = []

    def add(text, figure, value, threshold, issue):
        met = None if value is None else bool(value >= threshold) if threshold >= 0 else bool(value <= -threshold)
        goals.append({"goal": text, "figure": figure if value is not None else "not measured", "value": value,
                      "threshold": abs(threshold), "met": met, "issue": issue})

    tp, n = s["throughput"], s["n_throughput"]
    get = lambda net, bs: tp.get((net, bs, n), {}).get("samples_per_s")  # noqa: E731
    v = get(*GOAL_ROWS["per_sample"])
    add(f"scratch per-sample >= 18,000 samples/s [{label(GOAL_ROWS['per_sample'][0])}]",
        f"{v:,.0f} samples/s" if v else "", v, GOALS["scratch_bs1"], 7)
    v = s["ratios"].get("scratch_bs1_over_baseline")
    add("scratch per-sample >= 3x the plain NumPy baseline [float64 / float64]", f"{v:.2f}x" if v else "", v,
        GOALS["scratch_vs_baseline"], 7)
    v = get(*GOAL_ROWS["mini_batch"])
    add(f"scratch mini-batch 128 >= 120,000 samples/s [{label(GOAL_ROWS['mini_batch'][0])}]",
        f"{v:,.0f} samples/s" if v else "", v, GOALS["scratch_mb128"], 7)
    v = s["ratios"].get("scratch_mb128_over_pytorch_mb128")
    add("scratch mini-batch 128 >= 1.5x PyTorch mini-batch 128 [float32 / float32]", f"{v:.2f}x" if v else "", v,
        GOALS["scratch_vs_torch"], 7)
    for net, key, issue in (("scratch", "acc_scratch", 7), ("pytorch", "acc_pytorch", 7), ("keras", "acc_keras", 7)):
        r = s["accuracy"].get(("4000/1000", net))
        v = r["val_accuracy"] if r else None
        add(f"{LABEL[net]} validation accuracy on 4000/1000 >= {GOALS[key]:.2f}", f"{v:.4f}" if v else "", v,
            GOALS[key], issue)
    r = next((r for (scale, net), r in s["accuracy"].items() if scale == "4000/1000" and net.startswith("sklearn")),
             None)
    v = r["val_accuracy"] if r else None
    goals.append({"goal": "(reference) scikit-learn on 4000/1000 in 0.936-0.945", "value": v,
                  "figure": f"{v:.4f}" if v is not None else "not measured", "threshold": None, "issue": 7,
                  "met": None if v is None else bool(0.936 <= v <= 0.945)})
    nb = s["notebook"]
    v = nb.get("wall_s") if not nb.get("error") else None
    add("whole default notebook run <= 90 s", f"{v:.1f} s" if v else "", v, -GOALS["notebook_s"], 7)
    for net, issue in (("scratch", 3), ("pytorch", 4), ("keras", 8)):
        r = s["accuracy"].get(("course", net))
        v = r["val_accuracy"] if r else None
        add(f"{LABEL[net]} validation accuracy at course scale >= 0.88", f"{v:.4f}" if v else "", v,
            GOALS["course_acc"], issue)
    r = s["accuracy"].get(("4000/1000", "scratch"))
    v = r.get("rss_process_peak_over_start_mib") if r else None
    add(f"scratch peak memory of the {r['job']['n_train'] + r['job']['n_val'] if r else '?'}-digit run "
        "(4000/1000) < 300 MB over the interpreter's baseline", f"{v:.1f} MiB" if v is not None else "",
        v, -GOALS["scratch_mem_mib"], 3)
    return goals


# --------------------------------------------------------------------------- writing
def fmt(v, spec=",.0f", missing="–"):
    return missing if v is None else format(v, spec)


def write_markdown(path, s):
    m, tp, n = s["machine"], s["throughput"], s["n_throughput"]
    roof = s["roofline_samples_per_s"]
    L = []
    w = L.append
    w("# Benchmark results\n")
    if s["quick"]:
        w("**QUICK MODE (`--quick`): tiny sizes for the smoke test. These figures are not the benchmark.**\n")
    w(f"Written by `bench/bench.py` (`make bench`{' ARGS=--notebook' if s['notebook_requested'] else ''}); "
      f"raw numbers in `results.json`, bars in `results.png`. Total run time {s['total_s'] / 60:.1f} min.\n")
    w("## Machine\n")
    w("| | |\n|---|---|")
    w(f"| date | {m['date']} |")
    w(f"| CPU | {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable) |")
    w(f"| load average (1/5/15 min) before / after | {' / '.join(f'{x:.2f}' for x in m['load_before'])} ; "
      f"{' / '.join(f'{x:.2f}' for x in m['load_after'])} |")
    w(f"| Python | {m['python']} ({m['platform']}) |")
    w(f"| numpy / torch / tensorflow / keras / scikit-learn | {m['numpy']} / {m['torch']} / {m['tensorflow']} / "
      f"{m['keras']} / {m['scikit-learn']} |")
    w(f"| BLAS (threadpoolctl) | {m['blas']} |")
    w(f"| torch intra-op threads | {s.get('torch_threads', '?')} (torch's default; `NeuralNetworkTorch.fit` sets its "
      "own `num_threads`, see network_pytorch.py) |")
    w(f"| data | {m['data_source']} |")
    busy = max(m["load_before"][0], m["load_after"][0]) > 0.5 * m["cores"]
    if busy:
        w(f"\n**The machine was busy** (load average above {0.5 * m['cores']:.1f} on {m['cores']} cores): other "
          "processes shared the CPU, so the speed figures are lower bounds.")
    w("\n## Goals (issue 7; course-scale accuracy and memory from issues 3, 4, 8)\n")
    w("| goal | measured | met? |\n|---|---|---|")
    for g in s["goals"]:
        met = "not measured" if g["met"] is None else ("**met**" if g["met"] else "**not met**")
        w(f"| {g['goal']} (issue {g['issue']}) | {g['figure']} | {met} |")

    w(f"\n## Throughput (training samples/s, network {NETWORK}, {n} training digits)\n")
    w(f"Median epoch time after one warm-up epoch ({s['timed_epochs'][1]} timed epochs at batch 1, "
      f"{s['timed_epochs'][128]} at batch 128), median over {s['rounds']} fresh processes run interleaved; "
      "only training is timed (no evaluation). Peak memory: RSS above the process's RSS just before training.\n")
    w("| network | batch | samples/s | per round | epoch time | % of roofline | peak memory |")
    w("|---|---:|---:|---|---:|---:|---:|")
    for tag, _, bs, _ in THROUGHPUT_ROWS:
        t = tp.get((tag, bs, n))
        if t is None:
            w(f"| {label(tag)} | {bs} | not measured | | | | |")
        else:
            w(f"| {label(tag)} | {bs} | {t['samples_per_s']:,.0f} | "
              f"{', '.join(f'{x:,.0f}' for x in t['rounds'])} | {t['epoch_time_s'] * 1000:.1f} ms | "
              f"{100 * t['samples_per_s'] / roof:.1f} % | +{t['rss_delta_mib']:.1f} MiB |")
    g = s["sgemm"]
    w(f"| **roofline** | | **{roof:,.0f}** | | | 100 % | |")
    w(f"\nRoofline: float32 `numpy.matmul` of {g['shape'][0]}x{g['shape'][1]} @ {g['shape'][1]}x{g['shape'][2]} "
      f"runs at {g['best'] / 1e9:.1f} GFLOP/s (best of the repeats, measured before and after the training runs; "
      f"median {g['median'] / 1e9:.1f}); the network "
      f"needs 6 x {n_weights(NETWORK):,} = {6 * n_weights(NETWORK) / 1e6:.3f} MFLOP per sample (forward + "
      "backward), so no implementation can train faster than the roofline figure on this machine.\n")
    w("### Ratios (same run)\n")
    r = s["ratios"]
    w("| ratio | value |\n|---|---:|")
    for key, (num, den) in ((k, (a, b)) for k, a, b in RATIOS):
        w(f"| {label(num[0])}, batch {num[1]} / {label(den[0])}, batch {den[1]} | {fmt(r.get(key), '.2f')}x |")

    w("\n## Accuracy (validation accuracy after the last epoch)\n")
    w("Splits: stratified, shuffled, seed 42, from the same data; every network seeded with 42. "
      "Course scale = the notebook's default parameters. scikit-learn: "
      f"`MLPClassifier(hidden_layer_sizes=(128, 64), random_state=42)`, all else default "
      "(ReLU, Adam lr 0.001, batch 200, L2 alpha 1e-4, up to 200 epochs, no early stopping), "
      "on the same [0, 1]-scaled rows.\n")
    w("| scale | network | split | settings | val. accuracy | best epoch's | train time | peak memory |")
    w("|---|---|---|---|---:|---:|---:|---:|")
    for (scale, net), res in sorted(s["accuracy"].items(), key=lambda kv: (kv[0][0] != "course", kv[0][1])):
        j = res["job"]
        if net.startswith("sklearn"):
            settings = f"{res.get('n_iter')} iterations (Adam)"
        else:
            lr = j["learning_rate"]
            lr = f"{lr['schedule']}({lr['initial']})" if isinstance(lr, dict) else lr
            settings = f"{j['sizes']}, batch {j['batch_size']}, lr {lr}, {j['epochs']} epochs" + (
                ", shuffled" if j.get("shuffle") else "")
        w(f"| {scale} | {label(net)} | {j['n_train']}/{j['n_val']} | {settings} | {res['val_accuracy']:.4f} | "
          f"{res['best_val_accuracy']:.4f} | {res['wall_time']:.1f} s | +{res['rss_delta_mib']:.1f} MiB |")

    w("\nMini-batch settings on 4000/1000 (each network's own architecture and its author's choice): " + "; ".join(
        f"{LABEL[net]} from {v['source']}" for net, v in s["minibatch_settings"].items()) + ". "
      "Course-scale settings: the parameters cell of MNIST_classification.ipynb. "
      "Peak memory: the resident memory the training run added at its peak (kernel counter VmHWM, reset "
      "through /proc/self/clear_refs just before training; fresh interpreter per run).")
    w("\n## Memory (peak resident memory of each training run)\n")
    w("Each run in a fresh interpreter. *Training*: the peak RSS during training above the RSS just before it "
      "(data prepared, framework imported): what training itself allocates. *Whole process*: the process's peak "
      "RSS above the bare interpreter with numpy and mnist.py imported, so it includes importing the framework "
      "and preparing the data.\n")
    w("| run | training | whole process |\n|---|---:|---:|")
    for (scale, net), res in sorted(s["accuracy"].items(), key=lambda kv: (kv[0][0] != "course", kv[0][1])):
        split = "" if net.startswith("sklearn") else f" ({res['job']['n_train']}/{res['job']['n_val']})"
        w(f"| accuracy, {scale}, {label(net)}{split} | "
          f"+{res['rss_delta_mib']:.1f} MiB | +{res.get('rss_process_peak_over_start_mib', float('nan')):.0f} MiB |")
    for tag, _, bs, _ in THROUGHPUT_ROWS:
        t = tp.get((tag, bs, n))
        if t:
            w(f"| throughput, {label(tag)}, batch {bs} ({n} digits) | +{t['rss_delta_mib']:.1f} MiB | "
              f"+{t['process_peak_mib']:.0f} MiB |")
    w("\n## Scaling (training time per epoch)\n")
    sizes = s["scale_sizes"]
    w("| network | batch | " + " | ".join(f"n = {k:,}" for k in sizes) +
      f" | time per sample at {sizes[0]:,} / at {sizes[-1]:,} |")
    w("|---|---:|" + "---:|" * (len(sizes) + 1))
    for net in NETS:
        for bs in (1, 128):
            ts = [tp.get((net, bs, k), {}).get("epoch_time_s") for k in sizes]
            cells = [f"{t * 1000:.1f} ms" if t else "–" for t in ts]
            lin = f"{(ts[0] / sizes[0]) / (ts[-1] / sizes[-1]):.2f}" if ts[0] and ts[-1] else "–"
            w(f"| {LABEL[net]} | {bs} | " + " | ".join(cells) + f" | {lin} |")
    w("\nA ratio near 1 in the last column means the cost per sample does not change with the data size: "
      "the time per epoch grows linearly.")
    if s["full"]:
        w("\n### Full MNIST (60,000 / 10,000)\n")
        w("| network | batch | samples/s | epoch time | val. accuracy after 2 epochs | peak memory |")
        w("|---|---:|---:|---:|---:|---:|")
        for res in s["full"]:
            j = res["job"]
            if res.get("error"):
                w(f"| {LABEL[j['net']]} | {j['batch_size']} | failed: {res['error'][:80]} | | | |")
            else:
                w(f"| {LABEL[j['net']]} | {j['batch_size']} | {res['samples_per_s']:,.0f} | "
                  f"{res['epoch_time_median']:.1f} s | {res['val_accuracy']:.4f} | +{res['rss_delta_mib']:.0f} MiB |")
    else:
        w(f"\nFull MNIST (60,000/10,000): not run: not available locally (load_mnist() gives: {m['data_source']}).")

    w("\n## Notebook\n")
    nb = s["notebook"]
    if not s["notebook_requested"]:
        w("| whole default notebook run (`run_notebook.py`) | not measured (run `bench/bench.py --notebook`) |")
    elif nb.get("error"):
        w(f"| whole default notebook run | failed: {nb['error'][:300]} |")
    else:
        w("| | wall time |\n|---|---:|")
        w(f"| whole default notebook run (`python run_notebook.py`, interpreter start to exit) | "
          f"{nb['wall_s']:.1f} s |")
        if nb.get("execute_s"):
            w(f"| of which papermill's execution (kernel start to last cell) | {nb['execute_s']:.1f} s |")
    if s["errors"]:
        w("\n## Runs that failed\n")
        for e in s["errors"]:
            j = e["job"]
            w(f"- {LABEL.get(j['net'], j['net'])} ({j['purpose']}, n={j['n_train']}, batch {j['batch_size']}): "
              f"`{e['error'].splitlines()[0][:300]}`")
    path.write_text("\n".join(L) + "\n")


def write_png(path, s):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tp, n = s["throughput"], s["n_throughput"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 5.8), gridspec_kw={"width_ratios": [1.1, 1]})
    # throughput: horizontal bars, log scale, the roofline and the goals as lines
    rows = [(f"{SHORT[tag]}, batch {bs}", tp[(tag, bs, n)]["samples_per_s"], net)
            for tag, net, bs, _ in THROUGHPUT_ROWS[::-1] if (tag, bs, n) in tp]
    colours = {"scratch": "tab:blue", "pytorch": "tab:orange", "keras": "tab:red", "baseline": "tab:gray",
               "sklearn": "tab:purple"}
    ys = np.arange(len(rows))
    ax1.barh(ys, [r[1] for r in rows], color=[colours.get(r[2], "tab:orange") for r in rows])
    for y, (_, v, _) in zip(ys, rows):
        ax1.text(v * 1.08, y, f"{v:,.0f}", va="center", fontsize=10)
    ax1.set_yticks(ys, [r[0] for r in rows], fontsize=10)
    ax1.set_xscale("log")
    ax1.axvline(s["roofline_samples_per_s"], color="k", ls="--", lw=1.2)
    ax1.text(s["roofline_samples_per_s"], len(rows) - 0.4, " roofline", fontsize=9, va="top", ha="right",
             rotation=90)
    for goal in (GOALS["scratch_bs1"], GOALS["scratch_mb128"]):
        ax1.axvline(goal, color="tab:green", ls=":", lw=1.2)
    ax1.set_xlim(right=max([r[1] for r in rows] + [s["roofline_samples_per_s"]]) * 4)
    ax1.set_xlabel("training samples per second (log scale)")
    ax1.set_title(f"Throughput, network {NETWORK}, {n} digits\n(dotted green: goals 18k and 120k/s)", fontsize=11)
    # accuracy: grouped bars per scale (networks, then scikit-learn on each of that scale's splits)
    scales = ["course", "4000/1000"]
    width = 0.16
    lowest = min([r["val_accuracy"] for r in s["accuracy"].values()] + [0.8])
    ax2.set_ylim(max(0.0, np.floor(10 * lowest - 1) / 10), 1.06)
    for g, scale in enumerate(scales):
        names = [net for net in NETS if (scale, net) in s["accuracy"]]
        names += sorted(name for sc, name in s["accuracy"] if sc == scale and name.startswith("sklearn"))
        for i, name in enumerate(names):
            v = s["accuracy"][scale, name]["val_accuracy"]
            x = g + (i - (len(names) - 1) / 2) * width
            ax2.bar(x, v, width * 0.95, color=colours.get(name.split()[0], "tab:purple"),
                    label=LABEL[name.split()[0]] if g == len(scales) - 1 or name.split()[0] != "sklearn" else None)
            ax2.text(x, min(v, 1.0) + 0.006, f"{v:.3f}", ha="center", va="bottom", fontsize=9, rotation=90)
            if name.startswith("sklearn"):
                ax2.text(x, ax2.get_ylim()[0] + 0.005, name.split()[1], ha="center", va="bottom", fontsize=7,
                         rotation=90, color="w")
    handles, labels = ax2.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax2.axhline(GOALS["course_acc"], xmin=0.02, xmax=0.48, color="tab:green", ls=":", lw=1.2)
    ax2.axhline(GOALS["acc_pytorch"], xmin=0.52, xmax=0.98, color="tab:green", ls=":", lw=1.2)
    ax2.axhline(GOALS["acc_scratch"], xmin=0.52, xmax=0.98, color="tab:blue", ls=":", lw=1.0)
    ax2.set_xticks(range(len(scales)), ["course scale\n(notebook defaults)", "4000 / 1000\nmini-batches"],
                   fontsize=10)
    ax2.set_ylabel("validation accuracy")
    ax2.set_title("Validation accuracy (dotted: goals 0.88; 0.95 scratch, 0.96 others)", fontsize=11)
    ax2.legend(uniq.values(), uniq.keys(), loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, fontsize=9)
    fig.suptitle(("QUICK MODE, not the benchmark - " if s["quick"] else "") +
                 f"measured {s['machine']['date'][:10]} on {s['machine']['cores']} cores", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def save_results(path, s, results):
    """results.json: every figure of the report and every run's raw result (tuple keys flattened)."""
    raw = dict(s, throughput=[dict(tag=k[0], batch_size=k[1], n_train=k[2], **v) for k, v in s["throughput"].items()],
               accuracy=[dict(scale=k[0], name=k[1], **v) for k, v in s["accuracy"].items()], runs=results)
    path.write_text(json.dumps(raw, indent=1, default=str) + "\n")


def load_results(path):
    """The summary dict back from results.json (inverse of :func:`save_results`)."""
    s = json.loads(Path(path).read_text())
    s["throughput"] = {(t.pop("tag"), t.pop("batch_size"), t.pop("n_train")): t for t in s["throughput"]}
    s["accuracy"] = {(a.pop("scale"), a.pop("name")): a for a in s["accuracy"]}
    s["timed_epochs"] = {int(k): v for k, v in s["timed_epochs"].items()}
    return s


# --------------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, < 1 minute (smoke test)")
    parser.add_argument("--out", type=Path, default=BENCH, help="folder for results.md/png/json (default: bench/)")
    parser.add_argument("--notebook", action="store_true", help="also time the whole default notebook run")
    parser.add_argument("--rounds", type=int, default=None,
                        help="fresh processes per throughput figure (default 3, quick 1)")
    parser.add_argument("--from-json", type=Path, metavar="RESULTS_JSON",
                        help="measure nothing: rewrite results.md/png in --out from a saved results.json")
    args = parser.parse_args(argv)
    if args.from_json:
        args.out.mkdir(parents=True, exist_ok=True)
        s = load_results(args.from_json)
        write_markdown(args.out / "results.md", s)
        write_png(args.out / "results.png", s)
        return 0
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.rounds < 1:
        parser.error(f"--rounds must be a positive integer; received {args.rounds}")
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - start:6.1f} s] {msg}", flush=True)

    machine = machine_info()
    args.full_mnist = machine["full_mnist"] and not args.quick
    log(f"{machine['cores']} cores, load {machine['load_before'][0]:.2f}, BLAS {machine['blas']}")
    jobs, params = plan(args)
    median, best, shape = measure_sgemm(args.quick)
    log(f"sgemm: {best / 1e9:.1f} GFLOP/s best, {median / 1e9:.1f} median")
    if args.quick:  # one interpreter per network for all its runs: start-up dominates at these sizes
        log(f"throughput, scaling and accuracy ({len(jobs['throughput']) + len(jobs['accuracy'])} runs)")
        results = run_jobs(jobs["throughput"] + jobs["accuracy"], True, log)
    else:
        log(f"throughput and scaling ({len(jobs['throughput'])} runs)")
        results = run_jobs(jobs["throughput"], False, log)
        log(f"accuracy ({len(jobs['accuracy'])} runs)")
        results += run_jobs(jobs["accuracy"], False, log)
    full = run_jobs(jobs["full"], False, log) if jobs["full"] else []
    notebook = measure_notebook(log) if args.notebook else {}
    machine["load_after"] = os.getloadavg()
    # the sgemm rate again after the runs: a burst of load at the start must not shrink the roofline
    median2, best2, _ = measure_sgemm(args.quick)
    log(f"sgemm again: {best2 / 1e9:.1f} GFLOP/s best, {median2 / 1e9:.1f} median")
    if best2 > best:
        median, best = median2, best2

    throughput, accuracy, errors = summarise(results)
    n = max(j["n_train"] for j in jobs["throughput"])
    sps = lambda net, bs: throughput.get((net, bs, n), {}).get("samples_per_s")  # noqa: E731
    ratio = lambda a, b: a / b if a and b else None  # noqa: E731
    s = {
        "quick": args.quick, "notebook_requested": args.notebook, "machine": machine, "rounds": args.rounds,
        "notebook_parameters": params, "minibatch_settings": minibatch_settings(), "sklearn_settings": SKLEARN,
        "timed_epochs": {bs: next(j["epochs"] - j["warmup"] for j in jobs["throughput"] if j["batch_size"] == bs)
                         for bs in (1, 128)},
        "sgemm": {"median": median, "best": best, "shape": shape},
        "roofline_samples_per_s": best / (6 * n_weights(NETWORK)),
        "n_throughput": n, "scale_sizes": sorted({j["n_train"] for j in jobs["throughput"]}),
        "throughput": throughput, "accuracy": accuracy, "errors": errors, "full": full, "notebook": notebook,
        "torch_threads": next((r["torch_threads"] for r in results if "torch_threads" in r), "?"),
        "ratios": {key: ratio(sps(*num), sps(*den)) for key, num, den in RATIOS},
    }
    s["goals"] = evaluate_goals(s)
    s["total_s"] = time.perf_counter() - start
    write_markdown(args.out / "results.md", s)
    write_png(args.out / "results.png", s)
    save_results(args.out / "results.json", s, results)
    log(f"wrote {args.out / 'results.md'}, results.png, results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
