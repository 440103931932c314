"""Hostile submissions for tests/test_grade.py: the model answer with one file made unfriendly."""

from pathlib import Path

from .mutants import model_answer, replace_method


def _prepend(path, code):
    path = Path(path)
    path.write_text(code + path.read_text())


def import_raises(dst):
    model_answer(dst)
    _prepend(Path(dst) / "network_pytorch.py", 'raise RuntimeError("half-finished edit")\n')


def fit_never_returns(dst):
    model_answer(dst)
    replace_method(Path(dst) / "network_scratch.py", "NeuralNetwork.fit", '''
        def fit(self, x_train, y_train, x_val, y_val, **kwargs):
            while True:
                pass
        ''')


def exits_at_import(dst):
    model_answer(dst)
    _prepend(Path(dst) / "network_tensorflow.py", "import sys\nsys.exit(0)\n")


def file_missing(dst):
    model_answer(dst)
    (Path(dst) / "network_pytorch.py").unlink()


def prints_10_mb(dst):
    model_answer(dst)
    _prepend(Path(dst) / "utils.py", 'print("x" * 10_000_000)\n')


def downloads_at_import(dst):
    model_answer(dst)
    _prepend(Path(dst) / "network_scratch.py",
             'import urllib.request\nurllib.request.urlopen("http://example.com/mnist.npz", timeout=5)\n')


# name -> (builder, {item prefix or id: pattern of its message}; items not named keep full marks)
HOSTILE = {
    "import_raises": (import_raises, {"torch.": r"`import network_pytorch` raised RuntimeError: half-finished edit"}),
    "fit_never_returns": (fit_never_returns, {"scratch.learns": r"did not finish within \d+(\.\d+)? s"}),
    "exits_at_import": (exits_at_import, {"keras.": r"called sys\.exit\(0\)", "tblr.": r"called sys\.exit\(0\)"}),
    "file_missing": (file_missing, {"torch.": r"`network_pytorch\.py` is missing"}),
    "prints_10_mb": (prints_10_mb, {}),
    "downloads_at_import": (downloads_at_import, {"scratch.": r"`import network_scratch` raised URLError"}),
}
