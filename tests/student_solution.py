"""A team's solution written the way students write it against the course template, and a way to paste it.

The methods use the template's given attributes (``self.activation_func``,
``self.output_func_deriv``, ``self.cost_func_deriv``, ``self.loss_func`` ...), handle one sample
at a time, rebind ``self.weights`` instead of updating in place, and in PyTorch return nothing
from ``_backward_pass`` and predict one sample (``torch.argmax`` without ``dim``).  They also
carry two mistakes real teams made (the diagonal ``softmax_deriv`` in the NumPy backward pass,
softmax before ``CrossEntropyLoss`` in PyTorch): this fixture is about the given code running
them unchanged, not about them being right.

:func:`paste` replaces methods of a class in a file by name, as a student copying their
methods into another copy of the template would.
"""

import ast
import re
import textwrap
from pathlib import Path

SCRATCH = {
    "_forward_pass": '''
    def _forward_pass(self, x_train):
        self.A[0] = x_train
        for i in range(len(self.weights)):
            self.Z[i] = np.dot(self.weights[i], self.A[i])
            if i == len(self.weights) - 1:
                self.A[i + 1] = self.output_func(self.Z[i])
            else:
                self.A[i + 1] = self.activation_func(self.Z[i])
        return self.A[-1]
''',
    "_backward_pass": '''
    def _backward_pass(self, y_train, output):
        weight_gradients = [None] * len(self.weights)
        delta = self.cost_func_deriv(y_train, output) * self.output_func_deriv(self.Z[-1])
        weight_gradients[-1] = np.outer(delta, self.A[-2])
        for i in range(len(self.weights) - 2, -1, -1):
            delta = np.dot(self.weights[i + 1].T, delta) * self.activation_func_deriv(self.Z[i])
            weight_gradients[i] = np.outer(delta, self.A[i])
        return weight_gradients
''',
    "_update_weights": '''
    def _update_weights(self, weight_gradients):
        for i in range(len(self.weights)):
            self.weights[i] = self.weights[i] - self.learning_rate * weight_gradients[i]
''',
    "predict": '''
    def predict(self, x):
        output = self._forward_pass(x)
        return np.argmax(output)
''',
}

TORCH = {
    "__init__": '''
    def __init__(self, sizes, epochs=10, learning_rate=0.01, random_state=1):
        super().__init__()
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.random_state = random_state

        torch.manual_seed(self.random_state)

        self.linear1 = nn.Linear(sizes[0], sizes[1])
        self.linear2 = nn.Linear(sizes[1], sizes[2])
        self.linear3 = nn.Linear(sizes[2], sizes[3])

        self.activation_func = torch.sigmoid
        self.output_func = torch.softmax
        self.loss_func = nn.CrossEntropyLoss()
        self.optimizer = optim.SGD(self.parameters(), lr=learning_rate)
''',
    "_forward_pass": '''
    def _forward_pass(self, x_train):
        x = self.activation_func(self.linear1(x_train))
        x = self.activation_func(self.linear2(x))
        x = self.output_func(self.linear3(x), dim=1)
        return x
''',
    "_backward_pass": '''
    def _backward_pass(self, y_train, output):
        loss = self.loss_func(output, y_train.float())
        loss.backward()
''',
    "_update_weights": '''
    def _update_weights(self):
        self.optimizer.step()
''',
    "predict": '''
    def predict(self, x):
        x = self._flatten(x)
        output = self._forward_pass(x)
        return torch.argmax(output)
''',
}

SOLUTION = {"network_scratch.py": ("NeuralNetwork", SCRATCH), "network_pytorch.py": ("NeuralNetworkTorch", TORCH)}


def paste(path, class_name, methods):
    """Replace the methods ``methods`` (name -> source) of ``class_name`` in the file ``path``."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    cls = next(n for n in ast.parse("\n".join(lines)).body if isinstance(n, ast.ClassDef) and n.name == class_name)
    found = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name in methods}
    missing = set(methods) - set(found)
    if missing:
        raise ValueError(f"{path}: class {class_name} has no method(s) {sorted(missing)} to replace")
    for name, func in sorted(found.items(), key=lambda kv: -kv[1].lineno):  # bottom up: line numbers stay valid
        start = min([func.lineno] + [d.lineno for d in func.decorator_list]) - 1
        indent = lines[func.lineno - 1][:len(lines[func.lineno - 1]) - len(lines[func.lineno - 1].lstrip())]
        new = textwrap.indent(textwrap.dedent(methods[name]).strip("\n"), indent).split("\n")
        lines[start:func.end_lineno] = new
    path.write_text("\n".join(lines), encoding="utf-8")


def paste_solution(folder):
    """Paste the whole solution into the network files of ``folder`` (a copy of the template, answer or handout)."""
    for file, (class_name, methods) in SOLUTION.items():
        paste(Path(folder) / file, class_name, methods)


# The same students' style, with the mistakes fixed: what a team that gets every public check right wrote.
SCRATCH_RIGHT = {**SCRATCH, "_backward_pass": '''
    def _backward_pass(self, y_train, output):
        weight_gradients = [None] * len(self.weights)
        error = self.cost_func_deriv(y_train, output)
        # the whole softmax Jacobian, not only its diagonal self.output_func_deriv
        jacobian = np.diag(output) - np.outer(output, output)
        delta = np.dot(jacobian.T, error)
        weight_gradients[-1] = np.outer(delta, self.A[-2])
        for i in range(len(self.weights) - 2, -1, -1):
            delta = np.dot(self.weights[i + 1].T, delta) * self.activation_func_deriv(self.Z[i])
            weight_gradients[i] = np.outer(delta, self.A[i])
        return weight_gradients
'''}
TORCH_RIGHT = {**TORCH, "_forward_pass": '''
    def _forward_pass(self, x_train):
        x = self.activation_func(self.linear1(x_train))
        x = self.activation_func(self.linear2(x))
        return self.linear3(x)
''', "predict": '''
    def predict(self, x):
        x = self._flatten(x)
        output = self.output_func(self._forward_pass(x), dim=1)
        return torch.argmax(output, dim=1)
'''}
SCHEDULE_RIGHT = {
    "__init__": '''
    def __init__(self, initial_learning_rate):
        self.initial_learning_rate = initial_learning_rate
''',
    "__call__": '''
    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        return tf.maximum(self.initial_learning_rate - step, 1.0)
'''}


def paste_right_solution(folder):
    """Every TODO of a copy of the template or the handout done as a careful team does it (2-space Keras edits too)."""
    folder = Path(folder)
    paste(folder / "network_scratch.py", "NeuralNetwork", SCRATCH_RIGHT)
    paste(folder / "network_pytorch.py", "NeuralNetworkTorch", TORCH_RIGHT)
    keras = folder / "network_tensorflow.py"
    text = keras.read_text(encoding="utf-8")
    text, n1 = re.subn(r"^(\s*)for i in range\(0, len\(sizes\)\):", r"\1self.add(tf.keras.layers.Flatten())\n"
                       r"\1for i in range(1, len(sizes)):", text, flags=re.M)
    text = text.replace("activation='sigmoid'", "activation='@'").replace("activation='softmax'", "activation='sigmoid'")
    text = text.replace("activation='@'", "activation='softmax'")
    text, n3 = re.subn(r"BinaryCrossentropy\(\)", "CategoricalCrossentropy()", text)
    assert n1 == 1 and n3 == 1, keras
    keras.write_text(text, encoding="utf-8")
    paste(keras, "TimeBasedLearningRate", SCHEDULE_RIGHT)
