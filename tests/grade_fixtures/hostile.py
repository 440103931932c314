"""Hostile submissions for tests/test_grade.py: the model answer with one file made unfriendly.

Each is graded beside clean copies of the model answer; none may change their grades, the
grader's files, its cache or its data, read the model answer, or leave a process behind.
"""

from pathlib import Path

from .mutants import model_answer, replace_method

DAEMON_MARK = "grade-hostile-daemon-0b5e"  # in the daemon's command line: tests look for it after grading


def _prepend(path, code):
    path = Path(path)
    path.write_text(code + path.read_text())


def _hostile(file, code):
    def build(dst):
        model_answer(dst)
        _prepend(Path(dst) / file, code)
        return dst
    return build


# At import, every file the process can name: the harness and its probes (sys.argv, sys.path), the
# inputs and settings (sys.argv), the repository around the virtual environment (sys.prefix), the
# grader's cache and outputs under it.  In the sandbox they are read-only or absent.
_TARGETS = '''
import os, sys
from pathlib import Path
_repo = Path(sys.prefix).resolve().parent
_targets = [Path(a) for a in sys.argv if a.startswith("/")] + [Path(p) for p in sys.path if p.startswith("/")]
_targets += [_repo / "grade", _repo / "build", _repo / "network_scratch.py", Path("/tmp")]
def _files():
    for t in _targets:
        if t.is_file():
            yield t
        elif t.is_dir():
            yield from (p for p in t.rglob("*") if p.is_file() and "site-packages" not in str(p))
'''

REWRITES_CHECKS = _TARGETS + '''
for _f in list(_files())[:2000]:
    if _f.suffix in (".py", ".toml", ".json", ".jsonl"):
        try:
            _f.write_text("raise SystemExit('sabotaged')\\n")
        except OSError:
            pass
'''

POISONS_DATA = _TARGETS + '''
for _f in list(_files())[:2000]:
    if _f.suffix in (".npz", ".npy"):
        try:
            _f.write_bytes(b"\\0" * 64)
        except OSError:
            pass
'''

FORGES_CACHE = _TARGETS + '''
import json
for _d in (_repo / "build" / "grade-cache" / "parts", Path("/tmp") / "grade-cache" / "parts"):
    try:
        _d.mkdir(parents=True, exist_ok=True)
        (_d / ("0" * 64 + ".json")).write_text(json.dumps({"verdicts": {}, "notes": []}))
        for _f in list(_d.glob("*.json")):
            _f.write_text(json.dumps({"verdicts": {"scratch.backward": {"fraction": 1.0, "message": "forged",
                                                                        "code": None, "notes": []}}, "notes": []}))
    except OSError:
        pass
'''

# The handout's stubs in network_scratch.py, then the model answer's own module if it can be found.
EXECUTES_MODEL_ANSWER = '''
import importlib.util, sys
from pathlib import Path
_answer = Path(sys.prefix).resolve().parent / "network_scratch.py"
if _answer.is_file():
    _spec = importlib.util.spec_from_file_location("_the_answer", _answer)
    _mod = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_mod)
    _ANSWER = _mod.NeuralNetwork
else:
    _ANSWER = None
'''

REPLACES_FAILURE_CLASS = '''
import sys
for _name in ("harness", "__main__"):
    _m = sys.modules.get(_name)
    if _m is not None and hasattr(_m, "ProbeError"):
        class _Swallow(Exception):
            def __init__(self, *a, **k):
                self.record = None
        _m.ProbeError = _Swallow
        _m.Context.call = lambda self, what, fn, *a, **k: 0
'''

REWRITES_REPORT_AT_EXIT = '''
import atexit, json, sys
from pathlib import Path
def _forge():
    out = Path(sys.argv[sys.argv.index("--out") + 1]) if "--out" in sys.argv else None
    if out is not None:
        lines = [json.dumps({"probe": p, "values": {"outputs": [], "predictions": [], "weights": []}, "error": None})
                 for p in ("forward", "backward", "update", "predict", "learns")]
        (out / "observations.jsonl").write_text("\\n".join(lines) + "\\n")
atexit.register(_forge)
'''

DOUBLE_FORK = f'''
import os, subprocess, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)  # {DAEMON_MARK}"])
        os._exit(0)
    os._exit(0)
'''

KILLS_EVERYTHING = '''
import os, signal
for _pid in (os.getppid(), 1):
    try:
        os.kill(_pid, signal.SIGKILL)
    except OSError:
        pass
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
'''

ALLOCATES_4_GB = '''
_hoard = bytearray(4 * 2**30)
'''


def _stubbed_scratch(dst):
    """The model answer with the four student methods of network_scratch.py turned into the handout's stubs."""
    for name in ("_forward_pass", "_backward_pass", "_update_weights", "predict"):
        args = {"_forward_pass": "x_train", "_backward_pass": "y_train, output", "_update_weights": "weight_gradients",
                "predict": "x"}[name]
        replace_method(Path(dst) / "network_scratch.py", f"NeuralNetwork.{name}", f'''
            def {name}(self, {args}):
                if _ANSWER is not None:
                    return _ANSWER.{name}(self, {args})
                raise NotImplementedError("TODO: {name}")
            ''')


def executes_model_answer(dst):
    model_answer(dst)
    _stubbed_scratch(dst)
    _prepend(Path(dst) / "network_scratch.py", EXECUTES_MODEL_ANSWER)
    return dst


def replaces_failure_class(dst):
    model_answer(dst)
    _stubbed_scratch(dst)
    _prepend(Path(dst) / "network_scratch.py", "_ANSWER = None\n" + REPLACES_FAILURE_CLASS)
    return dst


def rewrites_report_at_exit(dst):
    model_answer(dst)
    _stubbed_scratch(dst)
    _prepend(Path(dst) / "network_scratch.py", "_ANSWER = None\n" + REWRITES_REPORT_AT_EXIT)
    return dst


def fit_never_returns(dst):
    model_answer(dst)
    replace_method(Path(dst) / "network_scratch.py", "NeuralNetwork.fit", '''
        def fit(self, x_train, y_train, x_val, y_val):
            while True:
                try:
                    pass
                except BaseException:
                    pass
        ''')
    return dst


def file_missing(dst):
    model_answer(dst)
    (Path(dst) / "network_pytorch.py").unlink()
    return dst


LONG_NAME = "team_" + "x" * 240  # 245 characters: the longest name most file systems allow, with room for ".md"
STUBS = r"not implemented yet: it raises NotImplementedError"

# name -> (builder, {item prefix or id: pattern of its message}); items not named keep full marks.
HOSTILE = {
    # it can rewrite its own copy only: the files it reaches in the sandbox are its own modules (then its
    # import stops at the sabotage), everything of the grader is read-only or not there
    "rewrites_the_checks": (_hostile("network_scratch.py", REWRITES_CHECKS), {"scratch.": r"sabotaged"}),
    "poisons_the_data": (_hostile("network_pytorch.py", POISONS_DATA), {}),
    "forges_the_cache": (_hostile("network_scratch.py", FORGES_CACHE), {}),
    "executes_the_model_answer": (executes_model_answer, {"scratch.": STUBS}),
    "replaces_the_failure_class": (replaces_failure_class, {"scratch.": r"."}),
    "rewrites_the_report_at_exit": (rewrites_report_at_exit, {"scratch.": r"."}),
    "double_forks_a_daemon": (_hostile("network_scratch.py", DOUBLE_FORK), {}),
    # inside its PID namespace the grader is not there to signal, and the namespace's init ignores it:
    # it kills nothing (not even its own part), and everything is graded
    "kills_everything": (_hostile("network_tensorflow.py", KILLS_EVERYTHING), {}),
    "allocates_4_gb": (_hostile("network_pytorch.py", ALLOCATES_4_GB), {"torch.": r"MemoryError|memory"}),
    "import_raises": (_hostile("network_pytorch.py", 'raise RuntimeError("half-finished edit")\n'),
                      {"torch.": r"`import network_pytorch` raised RuntimeError: half-finished edit"}),
    "fit_never_returns": (fit_never_returns, {"scratch.learns": r"did not finish within \d+ s|stopped \(timeout"}),
    "exits_at_import": (_hostile("network_tensorflow.py", "import sys\nsys.exit(0)\n"),
                        {"keras.": r"called sys\.exit\(0\)", "tblr.": r"called sys\.exit\(0\)"}),
    "file_missing": (file_missing, {"torch.": r"`network_pytorch\.py` is missing"}),
    "prints_10_mb": (_hostile("utils.py", 'print("x" * 10_000_000)\n'), {}),
    "downloads_at_import": (_hostile("network_scratch.py", 'import urllib.request\n'
                                     'urllib.request.urlopen("http://example.com/mnist.npz", timeout=5)\n'),
                            {"scratch.": r"`import network_scratch` raised URLError"}),
    LONG_NAME: (model_answer, {}),
}
