"""Broken variants of the model answer for tests/test_grade.py, made at test time.

A mutant replaces ONE method of the model answer, found by name with ``ast`` (so it survives
edits elsewhere in the file), or changes the notebook.  Each names the items it must lose,
with the fraction of their points it keeps, and a pattern its diagnosis must match.
"""

import ast
import json
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUBMISSION_FILES = ("network_scratch.py", "network_pytorch.py", "network_tensorflow.py", "utils.py",
                    "MNIST_classification.ipynb")


def model_answer(dst):
    """A submission folder holding this repository's answer: the top-level modules, notebook, PDF."""
    dst = Path(dst)
    dst.mkdir(parents=True)
    for path in ROOT.glob("*.py"):
        shutil.copy2(path, dst / path.name)
    shutil.copy2(ROOT / "MNIST_classification.ipynb", dst)
    (dst / "theory").mkdir()
    shutil.copy2(ROOT / "theory" / "theory.pdf", dst / "theory")
    return dst


def replace_method(path, qualname, code):
    """Replace ``Class.method`` (or a module-level function) in ``path`` by ``code``."""
    path = Path(path)
    src = path.read_text()
    tree = ast.parse(src)
    *classes, name = qualname.split(".")
    body = tree.body
    for cls in classes:
        body = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == cls).body
    node = next(n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name)
    lines = src.splitlines(keepends=True)
    start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    indent = " " * node.col_offset
    new = textwrap.indent(textwrap.dedent(code).strip("\n") + "\n", indent)
    path.write_text("".join(lines[:start]) + new + "".join(lines[node.end_lineno:]))


def edit_notebook(path, change):
    nb = json.loads(Path(path).read_text())
    change(nb)
    Path(path).write_text(json.dumps(nb, indent=1))


@dataclass
class Mutant:
    name: str
    file: str
    qualname: str | None  # None: ``code`` is a function changing the file's parsed notebook
    code: object
    lost: dict  # item -> fraction of its points the mutant keeps
    diagnosis: str  # a pattern the first lost item's message must match
    also_lost: dict = field(default_factory=dict)

    def make(self, dst):
        model_answer(dst)
        if self.qualname is None:
            edit_notebook(Path(dst) / self.file, self.code)
        else:
            replace_method(Path(dst) / self.file, self.qualname, self.code)
        return dst


def _no_team(nb):
    del nb["cells"][0]


def _error_output(nb):
    cell = [c for c in nb["cells"] if c["cell_type"] == "code"][-1]
    cell["outputs"].append({"output_type": "error", "ename": "NameError", "evalue": "name 'histories' is not defined",
                            "traceback": ["NameError: name 'histories' is not defined"]})


# Backward passes for one sample, as students write them with the template's utils.
_BACKWARD = '''
def _backward_pass(self, y_train, output):
    import numpy as np
    from utils import mse_deriv, sigmoid_deriv, softmax_backward, softmax_deriv
    {delta}
    gradients = [None] * len(self.weights)
    for l in range(len(self.weights) - 1, -1, -1):
        gradients[l] = {outer}
        if l > 0:
            delta = (self.weights[l].T @ delta) * {hidden}
    return gradients
'''
_EXACT = dict(delta="delta = softmax_backward(output, mse_deriv(y_train, output))",
              outer="np.outer(delta, self.A[l])", hidden="self.A[l] * (1 - self.A[l])")

_KERAS_INIT = '''
def __init__(self, sizes, random_state=1, name=None):
    import keras
    super().__init__(name=name)
    self.sizes = list(sizes)
    self.random_state = random_state
    keras.utils.set_random_seed(random_state)
    self.add(keras.Input(shape=(sizes[0],)))
    for i in range({start}, len(sizes)):
        self.add(keras.layers.Dense(sizes[i], activation={activation}))
'''

_COMPILE_AND_FIT = '''
def compile_and_fit(self, x_train, y_train, epochs=50, learning_rate=0.01, batch_size=1, validation_data=None,
                    **kwargs):
    import tensorflow as tf
    self.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=learning_rate), loss={loss},
                 metrics=["accuracy"])
    return self.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, validation_data=validation_data,
                    verbose=0)
'''

_TORCH_LOSS = '''
def _backward_pass(self, y_train, output):
    import torch
    import torch.nn.functional as F
    labels = y_train if y_train.dim() == 1 else y_train.argmax(dim=1)
    onehot = F.one_hot(labels, output.shape[1]).float()
    loss = {loss}
    loss.backward()
    return loss
'''

MUTANTS = [
    Mutant("scratch_backward_diagonal", "network_scratch.py", "NeuralNetwork._backward_pass",
           _BACKWARD.format(**{**_EXACT, "delta": "delta = mse_deriv(y_train, output) * softmax_deriv(self.Z[-1])"}),
           {"scratch.backward": 0.5}, r"diagonal .*softmax Jacobian"),
    Mutant("scratch_backward_at_output", "network_scratch.py", "NeuralNetwork._backward_pass",
           _BACKWARD.format(**{**_EXACT, "hidden": "sigmoid_deriv(self.A[l])"}),
           {"scratch.backward": 0.0}, r"at the layer outputs self\.A instead of the pre-activations"),
    Mutant("scratch_backward_transposed", "network_scratch.py", "NeuralNetwork._backward_pass",
           _BACKWARD.format(**{**_EXACT, "outer": "np.outer(self.A[l], delta)"}),
           {"scratch.backward": 0.0}, r"transposed", also_lost={"scratch.learns": 0.0}),
    Mutant("scratch_update_sign", "network_scratch.py", "NeuralNetwork._update_weights", '''
           def _update_weights(self, weight_gradients):
               for W, dW in zip(self.weights, weight_gradients):
                   W += self.learning_rate * dW
           ''', {"scratch.update": 0.0}, r"wrong sign", also_lost={"scratch.learns": 0.0}),
    Mutant("scratch_forward_sigmoid_output", "network_scratch.py", "NeuralNetwork._forward_pass", '''
           def _forward_pass(self, x_train):
               from utils import sigmoid
               h = self.A[0] = x_train
               for l, W in enumerate(self.weights):
                   a = h @ W.T
                   h = sigmoid(a)
                   self.Z[l], self.A[l + 1] = a, h
               return h
           ''', {"scratch.forward": 0.0}, r"output layer uses sigmoid instead of softmax",
           also_lost={"scratch.learns": 0.0}),
    Mutant("scratch_predict_probabilities", "network_scratch.py", "NeuralNetwork.predict", '''
           def predict(self, x):
               return self._forward_pass(x)
           ''', {"scratch.predict": 0.0}, r"returns probabilities"),
    Mutant("torch_bce_kept", "network_pytorch.py", "NeuralNetworkTorch._backward_pass",
           _TORCH_LOSS.format(loss="torch.nn.BCEWithLogitsLoss()(output, onehot)"),
           {"torch.loss": 0.0}, r"binary cross-entropy is kept"),
    Mutant("torch_softmax_twice", "network_pytorch.py", "NeuralNetworkTorch._backward_pass",
           _TORCH_LOSS.format(loss="F.cross_entropy(torch.softmax(output, dim=1), labels)"),
           {"torch.loss": 0.0}, r"softmax is applied twice"),
    Mutant("torch_update_sign", "network_pytorch.py", "NeuralNetworkTorch._update_weights", '''
           def _update_weights(self):
               import torch
               with torch.no_grad():
                   for group in self.optimizer.param_groups:
                       for p in group["params"]:
                           if p.grad is not None:
                               p += group["lr"] * p.grad
           ''', {"torch.backward_update": 0.0}, r"wrong sign", also_lost={"torch.learns": 0.0}),
    Mutant("torch_predict_probabilities", "network_pytorch.py", "NeuralNetworkTorch.predict", '''
           def predict(self, x):
               import torch
               with torch.no_grad():
                   return torch.softmax(self._forward_pass(self._flatten(torch.as_tensor(x, dtype=torch.float32))), dim=1)
           ''', {"torch.predict": 0.0}, r"score per class"),
    Mutant("keras_extra_dense", "network_tensorflow.py", "NeuralNetworkTf.__init__",
           _KERAS_INIT.format(start=0, activation='"softmax" if i == len(sizes) - 1 else "sigmoid"'),
           {"keras.layers": 0.0}, r"extra Dense\(784\) layer"),
    Mutant("keras_activations_swapped", "network_tensorflow.py", "NeuralNetworkTf.__init__",
           _KERAS_INIT.format(start=1, activation='"sigmoid" if i == len(sizes) - 1 else "softmax"'),
           {"keras.activations": 0.0}, r"activations are swapped"),
    Mutant("keras_bce_kept", "network_tensorflow.py", "NeuralNetworkTf.compile_and_fit",
           _COMPILE_AND_FIT.format(loss="tf.keras.losses.BinaryCrossentropy()"),
           {"keras.loss": 0.0}, r"binary cross-entropy is kept"),
    Mutant("tblr_off_by_one", "network_tensorflow.py", "TimeBasedLearningRate.__call__", '''
           def __call__(self, step):
               import keras
               return keras.ops.maximum(float(self.initial_learning_rate) - keras.ops.cast(step, "float32") - 1.0, 1.0)
           ''', {"tblr.values": 0.0}, r"off by one"),
    Mutant("tblr_python_only", "network_tensorflow.py", "TimeBasedLearningRate.__call__", '''
           def __call__(self, step):
               return float(max(self.initial_learning_rate - step, 1))
           ''', {"tblr.tensor_steps": 0.0}, r"fails on tensor steps"),
    Mutant("notebook_no_team", "MNIST_classification.ipynb", None, _no_team,
           {"notebook.team": 0.0}, r"does not start with a comment naming the team"),
    Mutant("notebook_error_output", "MNIST_classification.ipynb", None, _error_output,
           {"notebook.executed": 0.0}, r"error output.*NameError"),
]
