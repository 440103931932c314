"""bench/: a smoke run of ``bench.py --quick`` (CI), and checks that its figures are what they claim.

No timing is asserted: speed is measured in bench/, never in tests.  The quick run writes to a
temporary folder and reads full MNIST from tiny IDX files written here (tests never read
the real data set).
"""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

import bench  # noqa: E402
import runners  # noqa: E402
from mnist import load_embedded, train_val_split  # noqa: E402


def write_idx(folder, n_train=300, n_test=100):
    """The four MNIST IDX files (plain, uncompressed) holding embedded digits."""
    images, labels = load_embedded()
    x, y, xt, yt = train_val_split(images, labels, n_train, n_test, seed=0)
    for stem, arr in (("train-images-idx3-ubyte", x), ("train-labels-idx1-ubyte", y),
                      ("t10k-images-idx3-ubyte", xt), ("t10k-labels-idx1-ubyte", yt)):
        arr = np.asarray(arr, dtype=np.uint8)
        header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
        (folder / stem).write_bytes(header + arr.tobytes())
    return folder


def render(json_path, out):
    subprocess.run([sys.executable, str(BENCH / "bench.py"), "--from-json", str(json_path), "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    return (out / "results.md").read_text()


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """``bench.py --quick --full-scale <tiny IDX folder>`` once; returns (folder, results.json as a dict)."""
    out = tmp_path_factory.mktemp("bench")
    idx = write_idx(tmp_path_factory.mktemp("idx"))
    proc = subprocess.run([sys.executable, str(BENCH / "bench.py"), "--quick", "--out", str(out), "--full-scale",
                           str(idx)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out, json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_quick_run_measures_every_row_and_section(quick):
    out, s = quick
    assert s["errors"] == []  # an entry whose network changed its interface shows up here
    bare = {f"torch_bare_{bs}" for bs in (1, 32, 128)}  # from the same processes as NeuralNetworkTorch.fit's rows
    assert set(s["speed"]) == set(bench.SPEED) | bare
    assert all(p["time_ratio"] > 0 for p in s["pairs"])
    for scale in ("course", "4000/1000"):
        assert {a["network"] for a in s["accuracy"] if a["scale"] == scale} == set(bench.LABEL.values())
    assert sorted(a["network"] for a in s["full_scale"]) == sorted(bench.LABEL.values())
    assert {a["split"] for a in s["full_scale"]} == {"300/100"}
    md = (out / "results.md").read_text()
    assert "QUICK MODE" in md and "## Full MNIST" in md and "Not run" not in md
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_results_md_is_rendered_from_results_json(quick, tmp_path):
    out, _ = quick
    assert render(out / "results.json", tmp_path) == (out / "results.md").read_text()


def test_committed_results_md_is_rendered_from_the_committed_json(tmp_path):
    """bench/results.md is exactly bench/results.json rendered (plus bench/notes.md): nobody edited one alone."""
    assert render(BENCH / "results.json", tmp_path) == (BENCH / "results.md").read_text()


def _leaves(obj, key=None):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v, key)
    else:
        yield key, obj


@pytest.mark.parametrize("which", ["committed", pytest.param("quick", marks=pytest.mark.slow)])
def test_results_json_holds_only_what_results_md_shows(which, request):
    """Every number and text in results.json appears in results.md (in one of the formats it is printed in)."""
    folder = BENCH if which == "committed" else request.getfixturevalue("quick")[0]
    text, md = (folder / "results.json").read_text(), (folder / "results.md").read_text()
    s = json.loads(text)
    missing = []
    for key, v in _leaves(s):
        if v is None or isinstance(v, bool) or key in ("num", "den"):  # num/den: SPEED keys, shown by their labels
            continue
        if isinstance(v, str):
            shown = v in md
        else:  # as results.md prints it: accuracies with 4 decimals, time ratios also as speed ratios
            forms = ([f"{v:.4f}"] if key == "val_accuracy" else
                     [f"{v:.2f}", f"{1 / v:.2f}"] if key == "time_ratio" else [])
            shown = any(re.search(r"(?<![\d.])" + re.escape(f) + r"(?![\d])", md) for f in [str(v), f"{v:,}", *forms])
        if not shown:
            missing.append((key, v))
    assert not missing, missing
    assert len(text.splitlines()) < 600


def test_course_settings_are_the_notebooks():
    """bench.COURSE is the notebook's parameters cell (the cell the lead edits; bench imports no notebook)."""
    nb = json.loads((ROOT / "MNIST_classification.ipynb").read_text())
    cell = next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code" and "tf_batch_size" in
                "".join(c["source"]))
    p = {}
    for node in ast.parse(cell).body:
        if isinstance(node, ast.Assign):
            names = [t.id] if isinstance(t := node.targets[0], ast.Name) else [e.id for e in t.elts]
            values = eval(compile(ast.Expression(node.value), "parameters", "eval"), {"__builtins__": {}})  # e.g. 2**7
            p.update(zip(names, values if len(names) > 1 else [values]))
    for net, prefix in (("scratch", "scratch"), ("pytorch", "torch"), ("keras", "tf")):
        c = bench.COURSE[net]
        assert (c["n_train"], c["n_val"], c["sizes"], c["epochs"], c["batch_size"]) == \
            (p[f"{prefix}_n_train"], p[f"{prefix}_n_val"], p[f"{prefix}_sizes"], p[f"{prefix}_epochs"],
             p.get(f"{prefix}_batch_size", 1)), net  # scratch: the course's per-sample loop
    assert bench.COURSE["scratch"]["learning_rate"] == p["scratch_learning_rate"]
    assert bench.COURSE["pytorch"]["learning_rate"] == p["torch_learning_rate"]
    assert bench.COURSE["keras"]["learning_rate"]["initial"] == p["tf_initial_learning_rate"]


def _run(net, **kw):
    job = dict(net=net, n_train=300, n_val=100, epochs=2, sizes=[784, 128, 64, 10], seed=42, warmup=False, **kw)
    out = runners.run_job(job)
    assert "error" not in out, out.get("traceback")
    return out


@pytest.mark.slow
def test_bare_pytorch_loop_trains_the_same_network_as_fit():
    """Same tensors, layers, initial weights, loss and optimizer: the same predictions after two epochs."""
    fit = _run("pytorch", batch_size=32, learning_rate=0.5)
    bare = _run("torch_bare", batch_size=32, learning_rate=0.5)
    assert bare["val_accuracy"] == pytest.approx(fit["val_accuracy"], abs=1e-6)


@pytest.mark.slow
def test_bare_mse_loop_trains_the_same_network_as_the_scratch_engine():
    """No biases, the template's initial weights, the course's MSE: the scratch engine's loss and accuracies."""
    scratch = _run("scratch", batch_size=128, learning_rate=8.0, fast=True, dtype="float32")
    bare = _run("torch_mse", batch_size=128, learning_rate=8.0)
    for key in ("loss", "accuracy", "val_accuracy"):
        assert np.allclose(bare["history"][key], scratch["history"][key], rtol=1e-4, atol=1e-4), key


def test_peak_memory_sees_an_allocation():
    """PeakMemory reports the block's peak above its start: a 200 MiB array shows as ~200 MiB."""
    with runners.PeakMemory() as mem:
        block = np.ones(200 * 2**20 // 8)
        del block
    assert 190 < mem.delta_mib < 230
    with runners.PeakMemory() as small:
        np.ones(1000).sum()
    assert small.delta_mib < 20


def test_a_failing_run_is_reported_not_raised():
    out = runners.run_job({"net": "scratch", "sizes": [784], "n_train": 20, "n_val": 10, "epochs": 1,
                           "batch_size": 1, "learning_rate": 1.0, "seed": 1, "warmup": False})
    assert out["error"].startswith(("ValueError", "TypeError")) and "layer_shapes" in out["error"]
    out = runners.run_job({"net": "no-such-network", "sizes": [784, 10], "n_train": 20, "n_val": 10})
    assert out["error"].startswith("KeyError")
