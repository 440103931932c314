"""Broken variants of the model answer for tests/test_grade.py, made at test time, written as students write.

A mutant replaces ONE method of the model answer, found by name with ``ast`` (so it survives
edits elsewhere in the file), with code in the course template's style (the given attributes,
one sample at a time), or changes the notebook.  Each names the items it must lose, with the
fraction of their points it keeps, and a pattern its diagnosis must match.
"""

import ast
import json
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from .real_work import SIGMOID_OUTPUT

ROOT = Path(__file__).resolve().parents[2]


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
        elif isinstance(self.code, str):
            replace_method(Path(dst) / self.file, self.qualname, self.code)
        else:
            for qualname, code in self.code:
                replace_method(Path(dst) / self.file, qualname, code)
        return dst


def _no_team(nb):
    nb["cells"] = [c for c in nb["cells"] if "team" not in c.get("metadata", {}).get("tags", [])]


def _error_output(nb):
    cell = [c for c in nb["cells"] if c["cell_type"] == "code"][-1]
    cell["outputs"].append({"output_type": "error", "ename": "NameError", "evalue": "name 'histories' is not defined",
                            "traceback": ["NameError: name 'histories' is not defined"]})


def _typed_by_hand(nb):
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = None
            for out in cell.get("outputs", []):
                out.pop("execution_count", None)


# A student's backward pass in the template's style; {delta} and {hidden} vary.
_BACKWARD = '''
def _backward_pass(self, y_train, output):
    weight_gradients = [None] * len(self.weights)
    delta = {delta}
    for l in range(len(self.weights) - 1, -1, -1):
        weight_gradients[l] = {outer}
        if l > 0:
            delta = np.dot(self.weights[l].T, delta) * {hidden}
    return weight_gradients
'''
_EXACT = dict(delta="output * (self.cost_func_deriv(y_train, output) - np.dot(self.cost_func_deriv(y_train, output), output))",
              outer="np.outer(delta, self.A[l])", hidden="self.activation_func_deriv(self.Z[l - 1])")

_KERAS_INIT = '''
def __init__(self, sizes, random_state=1):
    super().__init__()
    self.sizes = sizes
    self.random_state = random_state
    tf.random.set_seed(random_state)
    self.add(tf.keras.layers.Flatten())
    for i in range({start}, len(sizes)):
        if i == len(sizes) - 1:
            self.add(tf.keras.layers.Dense(sizes[i], activation='{output}'))
        else:
            self.add(tf.keras.layers.Dense(sizes[i], activation='{hidden}'))
'''

_TORCH_FORWARD_PROBABILITIES = '''
def _forward_pass(self, x_train):
    *hidden, last = self.layers
    h = x_train
    for layer in hidden:
        h = self.activation_func(layer(h))
    return self.output_func(last(h), dim=1)
'''

MUTANTS = [
    Mutant("scratch_backward_diagonal", "network_scratch.py", "NeuralNetwork._backward_pass",
           _BACKWARD.format(**{**_EXACT, "delta": "self.cost_func_deriv(y_train, output) * self.output_func_deriv(self.Z[-1])"}),
           {"scratch.backward": 0.5}, r"diagonal .*softmax Jacobian.*judgement call scratch\.backward\.diagonal_softmax_deriv"),
    Mutant("scratch_backward_at_output", "network_scratch.py", "NeuralNetwork._backward_pass",
           _BACKWARD.format(**{**_EXACT, "hidden": "self.activation_func_deriv(self.A[l])"}),
           {"scratch.backward": 0.0}, r"at the layer outputs self\.A instead of the pre-activations"),
    Mutant("scratch_backward_transposed", "network_scratch.py", "NeuralNetwork._backward_pass",
           _BACKWARD.format(**{**_EXACT, "outer": "np.outer(self.A[l], delta)"}),
           {"scratch.backward": 0.0}, r"transposed", also_lost={"scratch.learns": 0.0}),
    Mutant("scratch_update_sign", "network_scratch.py", "NeuralNetwork._update_weights", '''
           def _update_weights(self, weight_gradients):
               for i in range(len(self.weights)):
                   self.weights[i] = self.weights[i] + self.learning_rate * weight_gradients[i]
           ''', {"scratch.update": 0.0}, r"wrong sign", also_lost={"scratch.learns": 0.0}),
    # the forward pass of the real-work team with a sigmoid output layer (real_work.SIGMOID_OUTPUT)
    Mutant("scratch_forward_sigmoid_output", "network_scratch.py", "NeuralNetwork._forward_pass",
           SIGMOID_OUTPUT["_forward_pass"], {"scratch.forward": 0.0}, r"output layer uses sigmoid instead of softmax",
           also_lost={"scratch.learns": 0.0}),
    Mutant("scratch_predict_probabilities", "network_scratch.py", "NeuralNetwork.predict", '''
           def predict(self, x):
               return self._forward_pass(x)
           ''', {"scratch.predict": 0.0}, r"returns probabilities"),
    Mutant("torch_bce_kept", "network_pytorch.py", "NeuralNetworkTorch._backward_pass", '''
           def _backward_pass(self, y_train, output):
               loss = nn.BCEWithLogitsLoss()(output, y_train.float())
               loss.backward()
           ''', {"torch.loss": 0.0}, r"binary cross-entropy is kept.*judgement call torch\.loss\.bce_kept"),
    Mutant("torch_softmax_twice", "network_pytorch.py", "NeuralNetworkTorch._forward_pass",
           _TORCH_FORWARD_PROBABILITIES, {"torch.loss": 0.0}, r"softmax is applied twice"),
    Mutant("torch_update_sign", "network_pytorch.py", "NeuralNetworkTorch._update_weights", '''
           def _update_weights(self):
               with torch.no_grad():
                   for p in self.parameters():
                       p += self.learning_rate * p.grad
           ''', {"torch.backward_update": 0.0}, r"wrong sign", also_lost={"torch.learns": 0.0}),
    Mutant("torch_predict_probabilities", "network_pytorch.py", "NeuralNetworkTorch.predict", '''
           def predict(self, x):
               with torch.no_grad():
                   return self.output_func(self._forward_pass(self._flatten(x)), dim=1)
           ''', {"torch.predict": 0.0}, r"score per class"),
    Mutant("keras_extra_dense", "network_tensorflow.py", "NeuralNetworkTf.__init__",
           _KERAS_INIT.format(start=0, output="softmax", hidden="sigmoid"),
           {"keras.layers": 0.0}, r"extra Dense\(784\) layer"),
    Mutant("keras_activations_swapped", "network_tensorflow.py", "NeuralNetworkTf.__init__",
           _KERAS_INIT.format(start=1, output="sigmoid", hidden="softmax"),
           {"keras.activations": 0.0}, r"activations are swapped"),  # learns, slowly: 73 of 500 by epoch 10
    Mutant("keras_bce_kept", "network_tensorflow.py", "NeuralNetworkTf.compile_and_fit", '''
           def compile_and_fit(self, x_train, y_train, epochs=50, learning_rate=0.01, batch_size=1,
                               validation_data=None):
               optimizer = tf.keras.optimizers.SGD(learning_rate=learning_rate)
               loss_function = tf.keras.losses.BinaryCrossentropy()
               super().compile(optimizer=optimizer, loss=loss_function, metrics=['accuracy'])
               return super().fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                                  validation_data=validation_data, verbose=0)
           ''', {"keras.loss": 0.0}, r"binary cross-entropy is kept"),
    Mutant("tblr_off_by_one", "network_tensorflow.py", "TimeBasedLearningRate.__call__", '''
           def __call__(self, step):
               return tf.maximum(float(self.initial_learning_rate) - tf.cast(step, tf.float32) - 1.0, 1.0)
           ''', {"tblr.values": 0.0}, r"off by one"),
    Mutant("tblr_rounds_the_step", "network_tensorflow.py", "TimeBasedLearningRate.__call__", '''
           def __call__(self, step):
               return max(self.initial_learning_rate - round(step), 1)
           ''', {"tblr.tensor_steps": 0.0}, r"fails on tensor steps, as optimizers pass them: for an int64 tensor"),
    Mutant("tblr_python_max_works_only_eagerly", "network_tensorflow.py", "TimeBasedLearningRate.__call__", '''
           def __call__(self, step):
               return float(max(self.initial_learning_rate - step, 1))
           ''', {}, r"", also_lost={}),
    Mutant("notebook_no_team", "MNIST_classification.ipynb", None, _no_team,
           {"notebook.team": 0.0}, r"name no team member with a matriculation number"),
    Mutant("notebook_error_output", "MNIST_classification.ipynb", None, _error_output,
           {"notebook.executed": 0.0}, r"error output.*code cell \d+ \(In \[\d+\]\): NameError"),
    Mutant("notebook_typed_by_hand", "MNIST_classification.ipynb", None, _typed_by_hand,
           {"notebook.executed": 0.0}, r"no execution count.*teaching assistant to check",
           also_lost={"notebook.progress": 0.0, "notebook.plots": 0.0}),
]
JUDGEMENT = {"tblr_python_max_works_only_eagerly": ("tblr.tensor_steps",
                                                    r"judgement call tblr\.tensor_steps\.eager_only")}
