"""bench/: the smoke run of ``bench.py --quick`` and the checks that its figures are what they claim.

No timing is asserted (speed is measured in bench/, never in tests).  One ``--quick`` run
(~30 s on this 2-core machine) is shared by the tests below; it writes to a temporary folder,
and the committed bench/results.* must come out of it unchanged.
"""

import hashlib
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

import runners  # noqa: E402

SECTIONS = ["## Machine", "## Goals", "## Throughput", "### Ratios", "## Accuracy", "## Scaling", "## Notebook"]
COMMITTED = [BENCH / name for name in ("results.md", "results.png", "results.json")]


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Run ``bench/bench.py --quick --out <tmp>`` once; return (folder, results.json, committed digests before)."""
    out = tmp_path_factory.mktemp("bench")
    before = {p: _digest(p) for p in COMMITTED}
    proc = subprocess.run([sys.executable, str(BENCH / "bench.py"), "--quick", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out, json.loads((out / "results.json").read_text()), before


@pytest.mark.slow
def test_quick_run_writes_the_three_files(quick):
    out, res, _ = quick
    md = (out / "results.md").read_text()
    for heading in SECTIONS:
        assert heading in md, f"results.md lacks the section {heading!r}"
    assert "QUICK MODE" in md
    # the machine table states what it measured on
    assert f"{os.cpu_count()} cores" in md
    assert f"| numpy / torch / tensorflow / keras / scikit-learn | {np.__version__} /" in md
    assert "openblas" in md.lower() or "mkl" in md.lower() or "blis" in md.lower()
    # a real PNG, wider than high (two panels side by side)
    png = (out / "results.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image
    img = matplotlib.image.imread(out / "results.png")
    assert img.shape[1] > img.shape[0] > 200
    # every entry ran: a network whose interface changed shows up here
    failed = [(r["job"]["net"], r["error"]) for r in res["runs"] if r.get("error")]
    assert not failed, failed
    tags = {(t["tag"], t["batch_size"]) for t in res["throughput"]}
    for row in [("scratch", 1), ("scratch", 128), ("pytorch", 1), ("pytorch", 128), ("keras", 1), ("keras", 128),
                ("baseline", 1)]:
        assert row in tags, f"throughput row {row} missing"
    names = {(a["scale"], a["name"].split()[0]) for a in res["accuracy"]}
    for scale in ("course", "4000/1000"):
        for net in ("scratch", "pytorch", "keras", "sklearn"):
            assert (scale, net) in names, f"accuracy of {net} at {scale} missing"


@pytest.mark.slow
def test_committed_results_are_not_touched(quick):
    _, _, before = quick
    assert {p: _digest(p) for p in COMMITTED} == before


@pytest.mark.slow
def test_throughput_is_samples_over_median_epoch_time(quick):
    """Each figure is recomputed from the raw epoch times of its runs: n / median(timed epochs), median of rounds."""
    _, res, _ = quick
    for t in res["throughput"]:
        runs = [r for r in res["runs"] if r["job"]["purpose"] == "throughput" and not r.get("error")
                and r["job"].get("tag") == t["tag"] and r["job"]["batch_size"] == t["batch_size"]
                and r["job"]["n_train"] == t["n_train"]]
        assert runs
        rates = []
        for r in runs:
            timed = r["epoch_time"][r["job"]["warmup"]:]
            assert len(timed) == r["job"]["epochs"] - r["job"]["warmup"] >= 1
            assert all(x > 0 for x in timed)
            rates.append(t["n_train"] / statistics.median(timed))
        assert t["samples_per_s"] == pytest.approx(statistics.median(rates), rel=1e-9)
    # roofline: the sgemm rate over 6 x the weights of [784, 128, 64, 10]
    weights = 784 * 128 + 128 * 64 + 64 * 10
    assert res["roofline_samples_per_s"] == pytest.approx(res["sgemm"]["best"] / (6 * weights), rel=1e-9)
    assert res["sgemm"]["best"] >= res["sgemm"]["median"] > 0


@pytest.mark.slow
def test_ratios_and_goal_verdicts_follow_the_figures(quick):
    """Ratios are quotients of the throughput figures; each goal's verdict is the issue's threshold applied."""
    _, res, _ = quick
    n = max(t["n_train"] for t in res["throughput"])
    sps = {(t["tag"], t["batch_size"]): t["samples_per_s"] for t in res["throughput"] if t["n_train"] == n}
    r = res["ratios"]
    assert r["scratch_mb128_over_pytorch_mb128"] == pytest.approx(sps["scratch_f32", 128] / sps["pytorch", 128])
    assert r["scratch_bs1_over_baseline"] == pytest.approx(sps["scratch", 1] / sps["baseline", 1])
    # thresholds as issue 7 states them (not read from bench.py)
    goals = {g["goal"]: g for g in res["goals"]}
    expect = {
        "per-sample >= 18,000": sps["scratch_f32", 1] >= 18_000,
        "3x the plain NumPy baseline": r["scratch_bs1_over_baseline"] >= 3,
        "mini-batch 128 >= 120,000": sps["scratch_f32", 128] >= 120_000,
        "1.5x PyTorch": r["scratch_mb128_over_pytorch_mb128"] >= 1.5,
    }
    acc = {(a["scale"], a["name"]): a["val_accuracy"] for a in res["accuracy"]}
    expect["scratch (NumPy) validation accuracy on 4000/1000"] = acc["4000/1000", "scratch"] >= 0.95
    expect["PyTorch validation accuracy on 4000/1000"] = acc["4000/1000", "pytorch"] >= 0.96
    expect["Keras validation accuracy on 4000/1000"] = acc["4000/1000", "keras"] >= 0.96
    for fragment, met in expect.items():
        hits = [g for text, g in goals.items() if fragment in text]
        assert len(hits) == 1, (fragment, list(goals))
        assert hits[0]["met"] is met, (fragment, hits[0])
    notebook = [g for text, g in goals.items() if "notebook" in text]
    assert len(notebook) == 1 and notebook[0]["met"] is None  # --quick does not run the notebook


@pytest.mark.slow
def test_sklearn_reference_reproduces(quick):
    """The scikit-learn figure is what MLPClassifier gives on the same split, rebuilt here independently."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from mnist import load_mnist, scale_images, train_val_split

    _, res, _ = quick
    a = next(a for a in res["accuracy"] if a["scale"] == "4000/1000" and a["name"].startswith("sklearn"))
    job = a["job"]
    images, labels = load_mnist()
    x_tr, y_tr, x_val, y_val = train_val_split(images, labels, job["n_train"], job["n_val"], seed=42)
    clf = MLPClassifier(hidden_layer_sizes=(128, 64), random_state=42, max_iter=job["params"]["max_iter"])
    with pytest.warns(ConvergenceWarning):
        clf.fit(scale_images(x_tr, flatten=True), y_tr)
    assert a["val_accuracy"] == pytest.approx(clf.score(scale_images(x_val, flatten=True), y_val), abs=1e-12)


def test_peak_memory_sees_an_allocation():
    """PeakMemory reports the peak of the block above its start: a 200 MiB array shows as ~200 MiB."""
    with runners.PeakMemory() as mem:
        block = np.ones(200 * 2**20 // 8)
        del block
    assert 190 < mem.delta_mib < 230, (mem.delta_mib, mem.method)
    with runners.PeakMemory() as small:
        np.ones(1000).sum()
    assert small.delta_mib < 20


def test_a_failing_entry_is_reported_not_raised():
    """A training run that raises comes back as an ``error`` (bench.py lists it in results.md)."""
    out = runners.run_job({"net": "scratch", "sizes": [784], "n_train": 20, "n_val": 10, "epochs": 1,
                           "batch_size": 1, "learning_rate": 1.0, "seed": 1})
    assert "ValueError" in out["error"] and "layer_shapes" in out["error"]
    out = runners.run_job({"net": "no-such-network", "sizes": [784, 10], "n_train": 20, "n_val": 10})
    assert out["error"].startswith("KeyError")
