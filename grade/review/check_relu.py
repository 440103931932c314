"""Pre-marks for 1.2: the gradient of ReLU(b + xw) in each region, and the kink b + xw = 0."""

import re

from .premark import CANNOT, RIGHT, WRONG, PremarkSet

P12 = PremarkSet("1.2", {
    "db": ("∂f/∂b per region", ("1.2.partial_b",)),
    "dw": ("∂f/∂w per region", ("1.2.partial_w", "1.2.inner_derivative")),
    "kink": ("the kink b + xw = 0", ("1.2.kink", "1.2.kink_not_addressed")),
})

SUM = r"(?:b\s*\+\s*(?:x\s*·?\s*w|w\s*·?\s*x)|(?:x\s*·?\s*w|w\s*·?\s*x)\s*\+\s*b)"
COND = rf"(?:{SUM}|z)\s*(?P<op><=|>=|<|>|≤|≥)\s*0"
CASE = re.compile(rf"(?<![\w.∂/])(?P<val>-?[01xwb])\s*,?\s*(?:(?:if|for|when|where)\s+)?(?:{COND}|(?P<other>otherwise|else))")
VECTOR = re.compile(rf"\(\s*(?P<vb>[01])\s*,\s*(?P<vw>[01x])\s*\)\s*T?\s*,?\s*(?:(?:if|for|when)\s+)?"
                    rf"(?:{COND}|(?P<other>otherwise|else))")
MARKERS = {"b": re.compile(r"∂\s*b(?![\w])|d\s*f\s*/\s*d\s*b\b"), "w": re.compile(r"∂\s*w(?![\w])|d\s*f\s*/\s*d\s*w\b")}
INDICATOR = {v: re.compile(rf"∂\s*{v}\s*=\s*(?P<x>x\s*·?\s*)?(?:⊮|𝟙|1|I|H)\s*[\[(_]\s*{COND}") for v in "bw"}
VALUE = {v: re.compile(rf"∂\s*{v}\s*=\s*(?P<val>-?[01xwb])(?![\w\[(])") for v in "bw"}
BOTH = re.compile(r"both (?:partial )?derivatives (?:are|=|equal) (?P<val>0)")
RIGHT_12 = {"b": {"neg": "0", "pos": "1"}, "w": {"neg": "0", "pos": "x"}}
KINK_EQ = rf"{SUM}\s*=\s*0|\bz\s*=\s*0|at (?:zero|0|the origin|the kink)"
KINK_WORD = (r"undefined|not defined|differentiab|no derivative|does ?n[o']t exist"
             r"|sub-?gradient|sub-?differential|kink|convention")


def _region(op):
    return "neg" if op in ("<", "<=", "≤") else "pos"


def _cases(a):
    """``[(variable, region, value, evidence)]`` read from case distinctions and inline formulas."""
    out, geq = [], False
    markers = [(i, m.start(), v) for v, rx in MARKERS.items() for i, row in enumerate(a.norm) for m in rx.finditer(row)]
    for i, row in enumerate(a.norm):
        for m in CASE.finditer(row):
            region = "other" if m.group("other") else _region(m.group("op"))
            geq |= m.group("op") in (">=", "≥", "<=", "≤")
            near = [(col, -abs(j - i), v) for j, col, v in markers if abs(j - i) <= 2 and col <= m.start() + 2]
            if not near:
                continue
            best = max(near)
            if any(n[2] != best[2] and n[0] >= best[0] - 2 and n[1] == best[1] for n in near):
                continue  # two markers equally near: the four-row "vector" of both derivatives
            out.append((best[2], region, m.group("val"), a.evidence(i, m.group())))
        for m in VECTOR.finditer(row):
            region = "other" if m.group("other") else _region(m.group("op"))
            out += [("b", region, m.group("vb"), a.evidence(i, m.group())),
                    ("w", region, m.group("vw"), a.evidence(i, m.group()))]
    for sentence in re.finditer(r"[^.;]+", a.flow):
        text = sentence.group()
        conds = list(re.finditer(COND, text))
        cond = conds[0] if conds else None
        for v in "bw":
            for m in INDICATOR[v].finditer(text):  # ∂f/∂w = x·1[b + xw > 0]
                if _region(m.group("op")) == "pos":
                    ev = a.flow_evidence(sentence.start() + m.start(), sentence.start() + m.end())
                    out += [(v, "pos", "x" if m.group("x") else "1", ev), (v, "neg", "0", ev)]
            for m in VALUE[v].finditer(text):  # "For b + xw > 0 ... ∂f/∂b = 1": the condition comes first
                if cond and cond.end() <= m.start() and not any(c.start() >= m.end() for c in conds):
                    # (a condition after the value too, "∂f/∂b = 1 ... if b + xw > 0": which one applies is unclear)
                    ev = a.flow_evidence(sentence.start() + m.start(), sentence.start() + m.end())
                    out.append((v, _region(cond.group("op")), m.group("val"), ev))
        both = BOTH.search(text)
        if both and cond:
            ev = a.flow_evidence(sentence.start() + both.start(), sentence.start() + both.end())
            out += [(v, _region(cond.group("op")), "0", ev) for v in "bw"]
    return out, geq


@P12.check
def check_12(a):
    cases, geq = _cases(a)
    marks = []
    for v, pid in (("b", "db"), ("w", "dw")):
        found = {"neg": set(), "pos": set()}
        ev = []
        for var, region, value, e in cases:
            if var == v:
                if region == "other":  # "otherwise": the region the other case does not name
                    named = {r for r in found if found[r]}
                    region = "neg" if named == {"pos"} else "pos" if named == {"neg"} else None
                if region:
                    found[region].add(value)
                    ev.append(e)
        right = RIGHT_12[v]
        name = f"∂f/∂{v}"
        wrong = {r: vals for r, vals in found.items() if vals and right[r] not in vals}
        if any(len(vals) > 1 for vals in found.values()):
            marks.append(P12.mark(pid, CANNOT, None, f"{name}: conflicting values {found}"))
        elif wrong:
            said = "; ".join(f"{next(iter(vals))} for b + xw {'<' if r == 'neg' else '>'} 0" for r, vals in wrong.items())
            marks.append(P12.mark(pid, WRONG, "medium", f"{name} given as {said} (right: {right['neg']} / {right['pos']})", ev))
        elif found["neg"] and found["pos"]:
            marks.append(P12.mark(pid, RIGHT, "high", f"{name} = {right['neg']} for b + xw < 0 and {right['pos']} for b + xw > 0", ev))
        else:
            marks.append(P12.mark(pid, CANNOT, None, f"{name}: the values of both regions were not read"
                                 + (f" (found {right['pos' if found['pos'] else 'neg']} for one)" if ev else ""), ev))
    kink, named = [], set()
    for m in re.finditer(KINK_EQ, a.flow, re.I):
        around = a.flow[max(0, m.start() - 200):m.end() + 200]
        words = {w.group().lower() for w in re.finditer(KINK_WORD, around, re.I)}
        if words:
            kink.append(a.flow_evidence(m.start(), m.end()))
            named |= words
    if kink:
        how = ("a subgradient or a convention is named" if any(w.startswith(("sub", "conv")) for w in named)
               else "called undefined / not differentiable; no subgradient or convention named")
        marks.append(P12.mark("kink", RIGHT, "high", f"b + xw = 0 is addressed: {how}", kink))
    elif geq:
        marks.append(P12.mark("kink", CANNOT, None, "b + xw = 0 falls into a case with ≥ (or ≤) without a word about it"))
    elif re.search(KINK_EQ, a.flow, re.I) or re.search(KINK_WORD, a.flow, re.I):
        marks.append(P12.mark("kink", CANNOT, None, "b + xw = 0 or a word about the kink appears, but not plainly together"))
    else:
        marks.append(P12.mark("kink", WRONG, "low", "no sentence about b + xw = 0 (undefined, subgradient, convention) "
                             "found near the derivatives", [e for *_, e in cases][:2] or [a.lines_evidence(0, 1)]))
    return marks
