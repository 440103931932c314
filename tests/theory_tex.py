"""Read the formulas of theory/theory.tex so that tests can evaluate them.

theory.tex marks every formula that states a result with two comment lines::

    %@begin name
    ... LaTeX math ...
    %@end name

:func:`block` returns the text between them and :func:`equations` turns it into Python:
each equation is a chain ``A = B = C`` (or one expression), each part a Python expression
string over a small set of helpers (:data:`HELPERS`).  :func:`check_equations` evaluates
every part for every value of the free indices and asserts that the parts agree with each
other (and with given reference values).  The tests supply the variables: numbers drawn at
random, and reference derivatives from sympy or PyTorch autograd.

The LaTeX understood is the subset theory.tex uses in the marked blocks: numbers, letters
and Greek letters with subscripts (single letters i, j, k, l, m, s are indices, anything else
is part of the name: ``x_1`` is the variable ``x_1``, ``f_{xy}`` the variable ``f_xy``; a
subscript of index letters and digits, or of digits on a symbol with a layer superscript,
indexes: ``w_{m1}\\lay{1}`` is ``w1[m, 0]``, ``w_2\\lay{2}`` is ``w2[1]``),
``\\lay{n}`` (layer superscript, part of the name: ``w_{ij}\\lay{1}`` is ``w1[i, j]``),
``\\mathcal{L}`` (the variable ``calL``), an evaluation bar ``|_{\\theta(r)}`` (the
derivative at the variables given; ``|_{\\theta(r+1)}`` at those given as
``("at", "theta_next")``),
``\\layT{n}`` (layer and transpose), ``\\nabla f``, ``\\nabla^2 f``, ``\\nabla_{(b,w)} f`` (the
variables ``nabla_f``, ``nabla2_f``, ``nabla_(b,w)_f``), ``^\\top``, powers, implicit multiplication, ``\\frac``,
``\\tfrac``, ``\\pd{A}{B}`` (a partial derivative: looked up in the variables as
``("d", A, B)``), ``\\ind{condition}`` (indicator), ``\\sum_{v=1}^{N}`` (its body is the rest
of the product it stands in), ``\\langle u, v\\rangle``, ``\\odot``, ``\\mathbf{1}``,
``\\diag``, ``pmatrix`` and ``cases``, ``(1, x)`` (a row vector), a variable followed by
``(r)`` (its value at iteration r) or ``(r+1)`` (the variable ``<name>_next``), and
function calls of the names given as ``functions``.  Unknown syntax raises ``SyntaxError``.
Juxtaposition is a product: of numbers, or the matrix product when both factors are arrays
(a 1-D variable is a column vector, so ``\\delta\\lay{1} x^\\top`` is an outer product);
``\\odot`` is the element-wise product of equal shapes.
"""

import ast
import functools
import itertools
import re

import numpy as np

INDEX_LETTERS = "ijklms"
_TOKEN = re.compile(r"""
    (?P<skip>\s+|\\[,;!:\ ]|\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|displaystyle|quad)(?![a-zA-Z]))
  | (?P<rowsep>\\\\(?:\[[^\]]*\])?)
  | (?P<cmd>\\[a-zA-Z]+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<letter>[a-zA-Z])
  | (?P<sym>[{}()\[\]^_+\-=<>,;|&.'/])
""", re.VERBOSE)
_GREEK = {"alpha", "beta", "gamma", "delta", "eta", "theta", "lambda", "mu", "sigma", "tau", "Delta"}
_SEPARATORS = {"rowsep", ",", ".", "\\qquad", ";"}


def block(tex, name, math_only=True):
    """The LaTeX between ``%@begin name`` and ``%@end name`` (comments removed); with
    ``math_only=False`` as written (with its ``$`` and words), else its math."""
    m = re.search(rf"^[ \t]*%@begin {re.escape(name)}[ \t]*\n(.*?)^[ \t]*%@end {re.escape(name)}[ \t]*$",
                  tex, re.S | re.M)
    if m is None:
        raise AssertionError(f"theory.tex has no block %@begin {name} ... %@end {name}")
    text = re.sub(r"(?<!\\)%.*", "", m.group(1))
    if not math_only:
        return text
    for env in ("align*", "equation*"):
        text = text.replace(rf"\begin{{{env}}}", " ").replace(rf"\end{{{env}}}", " ")
    text = re.sub(r"(?<!\\)\\[\[\]]", " ", text).replace("$", " ")  # \[ and \] but not \\[2pt]
    return _unbox(text)


def _unbox(text):
    """``\\boxed{X}`` -> ``X``."""
    while (i := text.find(r"\boxed{")) >= 0:
        depth, j = 0, i + len(r"\boxed")
        for j in range(j, len(text)):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                break
        text = text[:i] + text[i + len(r"\boxed{"):j] + text[j + 1:]
    return text


def tokenize(text):
    # Two spellings of second partial derivatives, rewritten before tokenising.
    text = re.sub(r"\\frac\{\\partial\^2\s*(\w)\}\{\\partial\s*(\w)\^2\}", r"\\pdd{\1}{\2}{\2}", text)
    text = re.sub(r"\\frac\{\\partial\^2\s*(\w)\}\{\\partial\s*(\w)\s*(?:\\,)?\s*\\partial\s*(\w)\}",
                  r"\\pdd{\1}{\2}{\3}", text)
    text = re.sub(r"\\text\{\s*if\s*\}", " ", text)
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SyntaxError(f"cannot read {text[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "skip":
            continue
        tokens.append(("rowsep", "\\\\") if kind == "rowsep" else (kind, m.group()))
    return tokens


class _Parser:
    def __init__(self, tokens, functions):
        self.t, self.p, self.functions = tokens, 0, set(functions)
        self.in_matrix = 0

    # -- token helpers
    def peek(self, k=0):
        return self.t[self.p + k][1] if self.p + k < len(self.t) else None

    def kind(self):
        return self.t[self.p][0] if self.p < len(self.t) else None

    def take(self, expected=None):
        if self.p >= len(self.t):
            raise SyntaxError(f"unexpected end, expected {expected!r}")
        v = self.t[self.p][1]
        if expected is not None and v != expected:
            raise SyntaxError(f"expected {expected!r}, found {v!r} at token {self.p}: "
                              + " ".join(tok[1] for tok in self.t[max(0, self.p - 6):self.p + 6]))
        self.p += 1
        return v

    def skip_amp(self):
        while not self.in_matrix and self.peek() == "&":
            self.p += 1

    def group_tokens(self):
        """The tokens of a ``{...}`` group (or one token), consumed."""
        if self.peek() != "{":
            return [self.t[self._advance()]]
        depth, start = 0, self.p
        while True:
            v = self.take()
            depth += {"{": 1, "}": -1}.get(v, 0)
            if depth == 0:
                return self.t[start + 1:self.p - 1]

    def _advance(self):
        self.p += 1
        return self.p - 1

    def sub(self, tokens):
        parser = _Parser(tokens, self.functions)
        return parser

    def parse_group_expr(self):
        sub = self.sub(self.group_tokens())
        code = sub.condition()
        if sub.p != len(sub.t):
            raise SyntaxError(f"unread tokens in group: {sub.t[sub.p:]}")
        return code

    # -- grammar
    def equations(self):
        """Equations separated by ``\\\\``, ``\\qquad``, commas or full stops."""
        out = []
        while self.p < len(self.t):
            if self.peek() in _SEPARATORS or self.kind() == "rowsep" or self.peek() == "&":
                self.p += 1
                continue
            continued = self.peek() == "="  # a row of an align continuing the previous chain
            parts = self.chain()
            if continued and out:
                out[-1].extend(parts)
            else:
                out.append(parts)
        return out

    def chain(self):
        self.skip_amp()
        parts = []
        if self.peek() == "=":  # a chain continuing a left-hand side outside the block
            self.take()
        parts.append(self.expr())
        while True:
            self.skip_amp()
            if self.peek() != "=":
                break
            self.take()
            self.skip_amp()
            parts.append(self.expr())
        return parts

    def condition(self):
        left = self.expr()
        ops = {"<": "<", ">": ">", "=": "==", "\\le": "<=", "\\ge": ">=", "\\leq": "<=", "\\geq": ">="}
        if self.peek() in ops:
            op = ops[self.take()]
            return f"(({left}) {op} ({self.expr()}))"
        return left

    def expr(self):
        self.skip_amp()
        sign = ""
        if self.peek() in ("+", "-"):
            sign = "-" if self.take() == "-" else ""
        code = self.term()
        code = f"(-{code})" if sign else code
        while self.peek() in ("+", "-"):
            op = self.take()
            code = f"({code} {op} {self.term()})"
        return code

    def starts_factor(self):
        v, k = self.peek(), self.kind()
        if v is None:
            return False
        if k in ("num", "letter"):
            return True
        if v in ("(", "[", "{"):
            return True
        return k == "cmd" and v not in ("\\qquad", "\\odot", "\\cdot", "\\rangle", "\\end", "\\le", "\\ge",
                                        "\\leq", "\\geq")

    def term(self):
        code = self.factor()
        while True:
            v = self.peek()
            if v == "\\sum":
                return f"MUL({code}, {self.factor()})"
            if v == "\\odot":
                self.take()
                code = f"HAD({code}, {self.factor()})"
            elif v == "\\cdot":
                self.take()
                code = f"MUL({code}, {self.factor()})"
            elif v == "/":
                self.take()
                code = f"(({code}) / ({self.factor()}))"
            elif self.starts_factor():
                code = f"MUL({code}, {self.factor()})"
            else:
                return code

    def factor(self):
        code = self.primary()
        while True:
            if self.peek() == "^":
                self.take()
                if self.peek() == "\\top":
                    self.take()
                    code = f"T({code})"
                else:
                    code = f"(({code}) ** ({self.parse_group_expr()}))"
            elif self.peek() == "|" and self.peek(1) == "_":  # evaluation bar: |_{theta(r)}
                self.take(), self.take()
                sub = self.sub(self.group_tokens())
                point, _ = sub.variable(raw=True)
                if sub.p != len(sub.t):
                    raise SyntaxError(f"unread tokens in the evaluation point: {sub.t[sub.p:]}")
                code = f"AT({point!r}, lambda: {code})"
            else:
                return code

    def primary(self):
        v, k = self.peek(), self.kind()
        if k == "num":
            return self.take()
        if v == "(":
            self.take()
            items = [self.condition()]
            while self.peek() == ",":
                self.take()
                items.append(self.condition())
            self.take(")")
            return items[0] if len(items) == 1 else f"ROW({', '.join(items)})"
        if v == "[":
            self.take()
            code = self.expr()
            self.take("]")
            return code
        if v == "{":
            return self.parse_group_expr()
        if v in ("\\frac", "\\tfrac", "\\dfrac"):
            self.take()
            if self.kind() == "num" and len(self.peek()) == 2:  # \frac12 = \frac{1}{2}
                digits = self.take()
                return f"(({digits[0]}) / ({digits[1]}))"
            num = self.parse_group_expr()
            return f"(({num}) / ({self.parse_group_expr()}))"
        if v == "\\pd":
            self.take()
            num, den = self.sub(self.group_tokens()).variable(raw=True), self.sub(self.group_tokens()).variable(raw=True)
            idx = num[1] + den[1]
            return f"IX(PD({num[0]!r}, {den[0]!r}){''.join(', ' + i for i in idx)})"
        if v == "\\pdd":
            self.take()
            f, a, b = ("".join(t[1] for t in self.group_tokens()) for _ in range(3))
            return f"V({f + '_' + a + b!r})"
        if v == "\\ind":
            self.take()
            return f"IND({self.parse_group_expr()})"
        if v == "\\langle":
            self.take()
            a = self.expr()
            self.take(",")
            b = self.expr()
            self.take("\\rangle")
            return f"DOT({a}, {b})"
        if v == "\\mathbf":
            self.take()
            if "".join(t[1] for t in self.group_tokens()) != "1":
                raise SyntaxError("only \\mathbf{1} is understood")
            return "1.0"
        if v == "\\sum":
            return self.sum()
        if v == "\\begin":
            self.take()
            env = "".join(t[1] for t in self.group_tokens())
            if env in ("pmatrix", "psmallmatrix"):
                return self.matrix(env)
            if env == "cases":
                return self.cases()
            raise SyntaxError(f"environment {env} is not understood")
        if v == "e" and self.peek(1) == "^":
            self.take(), self.take()
            return f"np.exp({self.parse_group_expr()})"
        if k == "letter" or (k == "cmd" and v[1:] in _GREEK | {"relu", "diag", "operatorname", "exp", "mathcal", "nabla"}):
            return self.variable()
        raise SyntaxError(f"unexpected {v!r} at token {self.p}: "
                          + " ".join(tok[1] for tok in self.t[max(0, self.p - 6):self.p + 6]))

    def variable(self, raw=False):
        """A name with subscripts/layer/iteration; ``raw`` returns ``(name, [indices])``."""
        v = self.take()
        if v == "\\nabla":  # \nabla^2_{sub} f: the variable "nabla2_sub_f"
            name = "nabla"
            if self.peek() == "^":
                self.take()
                name += "".join(t[1] for t in self.group_tokens())
            if self.peek() == "_":
                self.take()
                name += "_" + "".join(t[1] for t in self.group_tokens())
            name += "_" + self.take()
        elif v == "\\operatorname":
            name = "".join(t[1] for t in self.group_tokens())
        elif v == "\\mathcal":
            name = "cal" + "".join(t[1] for t in self.group_tokens())
        else:
            name = v.lstrip("\\")
        if self.peek() == "'":
            self.take()
            name += "_prime"
        sub = None
        if self.peek() == "_":
            self.take()
            sub = "".join(t[1] for t in self.group_tokens())
        layered = self.peek() in ("\\lay", "\\layT")
        if layered:
            transposed = self.take() == "\\layT"
            layer = "".join(t[1] for t in self.group_tokens())
        else:
            transposed, layer = False, ""
        indices = []
        if sub is not None:
            if sub and all(c in INDEX_LETTERS or c.isdigit() for c in sub) and (
                    layered or any(c in INDEX_LETTERS for c in sub)):
                indices = [c if c in INDEX_LETTERS else str(int(c) - 1) for c in sub]  # digits count from 1
            else:
                name += "_" + sub
        name += layer
        if self.peek() == "(" and self.peek(1) == "r":
            self.take(), self.take()
            if self.peek() == "+":
                self.take(), self.take("1")
                name += "_next"
            self.take(")")
        if raw:
            return name, indices
        if name in INDEX_LETTERS and not indices:  # an index itself, e.g. in \ind{k = l}
            return name
        if name in self.functions and self.peek() == "(":
            self.take()
            args = [self.condition()]
            while self.peek() == ",":
                self.take()
                args.append(self.condition())
            self.take(")")
            return f"V({name!r})({', '.join(args)})"
        code = f"IX(V({name!r}), {', '.join(indices)})" if indices else f"V({name!r})"
        return f"T({code})" if transposed else code

    def sum(self):
        self.take("\\sum")
        self.take("_")
        lower = self.group_tokens()
        if len(lower) != 3 or lower[1][1] != "=" or lower[2][1] != "1":
            raise SyntaxError(f"sum index must read v=1, found {lower}")
        var = lower[0][1]
        self.take("^")
        upper = self.sub(self.group_tokens()).expr()
        body = self.term()
        return f"SUM(lambda {var}: {body}, {upper})"

    def matrix(self, env):
        self.in_matrix += 1
        rows, row = [], []
        while True:
            if self.peek() == "\\end":
                self.take()
                if "".join(t[1] for t in self.group_tokens()) != env:
                    raise SyntaxError("mismatched \\end")
                break
            row.append(self.expr())
            if self.peek() == "&":
                self.take()
            elif self.kind() == "rowsep":
                self.take()
                rows.append(row)
                row = []
        if row:
            rows.append(row)
        self.in_matrix -= 1
        return "MAT([" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "])"

    def cases(self):
        self.in_matrix += 1
        branches = []
        while True:
            if self.peek() == "\\end":
                self.take()
                self.group_tokens()
                break
            value = self.expr()
            self.take("&")
            cond = self.condition()
            while self.peek() in (",", "."):
                self.take()
            if self.kind() == "rowsep":
                self.take()
            branches.append(f"({cond}, {value})")
        self.in_matrix -= 1
        return f"CASES({', '.join(branches)})"


def equations(tex, name, functions=()):
    """The equations of block ``name``: a list of chains, each a list of Python expressions."""
    parser = _Parser(tokenize(block(tex, name)), functions)
    return parser.equations()


def expression(latex, functions=()):
    """One expression (no ``=``) as Python code, e.g. the right-hand side of ``$x = 6 - 2y$``."""
    parser = _Parser(tokenize(latex), functions)
    code = parser.expr()
    if parser.p != len(parser.t):
        raise SyntaxError(f"unread tokens after the expression: {parser.t[parser.p:]}")
    return code


# --------------------------------------------------------------------------- evaluation
def _mul(a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return a * b
    return np.asarray(a) @ np.asarray(b)


def _had(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"element-wise product of shapes {a.shape} and {b.shape}")
    return a * b


def _ix(a, *idx):
    a = np.asarray(a)
    if a.ndim == 2 and 1 in a.shape and len(idx) == 1:
        a = a.ravel()
    return a[idx]


def _t(a):
    a = np.asarray(a)
    return a.T if a.ndim == 2 else a


def _cases(*branches):
    chosen = [value for cond, value in branches if np.all(cond)]
    return chosen[0] if len(chosen) == 1 else np.nan


HELPERS = {
    "np": np, "MUL": _mul, "HAD": _had, "IX": _ix, "T": _t,
    "IND": lambda c: np.asarray(c, dtype=float) if np.ndim(c) else float(c),
    "DOT": lambda a, b: float(np.vdot(np.ravel(a), np.ravel(b))),
    "SUM": lambda body, n: sum(body(v) for v in range(int(n))),
    "ROW": lambda *items: np.array([[float(v) for v in items]]),
    "MAT": lambda rows: np.array([[float(np.squeeze(v)) for v in row] for row in rows]),
    "CASES": _cases,
}


def evaluate(code, variables, **indices):
    """Value of one Python expression from :func:`equations`.

    ``AT(point, thunk)`` (an evaluation bar) evaluates ``thunk`` with the variables given for
    iteration r (point ``theta``) or with ``variables[("at", point)]`` for another point.
    """
    scope = [variables]

    def V(name):
        if name not in scope[-1]:
            raise KeyError(f"theory.tex uses {name!r}, which the test does not define")
        value = scope[-1][name]
        return value.reshape(-1, 1) if isinstance(value, np.ndarray) and value.ndim == 1 else value

    def PD(num, den):
        key = ("d", num, den)
        if key not in scope[-1]:
            raise KeyError(f"theory.tex uses the derivative d{num}/d{den}, which the test does not define")
        return scope[-1][key]

    def AT(point, thunk):
        if point == "theta":
            return thunk()
        if ("at", point) not in variables:
            raise KeyError(f"theory.tex evaluates at {point!r}, for which the test gives no variables")
        scope.append(variables[("at", point)])
        try:
            return thunk()
        finally:
            scope.pop()

    return eval(code, {**HELPERS, "V": V, "PD": PD, "AT": AT, **indices})  # noqa: S307 (our own translation)


@functools.lru_cache(maxsize=4096)
def free_indices(code):
    names = {n.id for n in ast.walk(ast.parse(code, mode="eval")) if isinstance(n, ast.Name)}
    bound = {a.arg for n in ast.walk(ast.parse(code, mode="eval")) if isinstance(n, ast.Lambda)
             for a in n.args.args}
    return sorted((names - bound) & set(INDEX_LETTERS))


def check_equations(chains, variables, ranges, reference=None, atol=1e-9):
    """Assert that the parts of every chain agree for every value of their free indices.

    ``ranges`` maps index letters to their number of values; ``reference(chain_number,
    indices)`` (optional) returns the value every part of that chain must have.
    Returns, per chain, the value of its first part at every index combination.
    """
    values = []
    for c, parts in enumerate(chains):
        free = sorted(set().union(*(free_indices(p) for p in parts)))
        got = {}
        for combo in itertools.product(*(range(ranges[i]) for i in free)):
            idx = dict(zip(free, combo))
            vals = [np.asarray(evaluate(p, variables, **idx), dtype=float) for p in parts]
            if reference is not None:
                ref = reference(c, idx)
                if ref is not None:
                    vals.append(np.asarray(ref, dtype=float))
            for v in vals[1:]:
                assert v.size == vals[0].size and np.allclose(np.ravel(v), np.ravel(vals[0]), atol=atol, rtol=1e-7), (
                    f"equation {c + 1} at {idx}: the parts {parts} evaluate to "
                    f"{[np.round(np.ravel(x), 6).tolist() for x in vals]}")
            got[combo] = vals[0]
        values.append(got)
    return values
