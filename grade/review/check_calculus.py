"""Pre-marks for 1.1 (critical points of x²y + xy² - 6xy) and 1.2 (gradient of ReLU(b + xw))."""

import re

from .premark import CANNOT, RIGHT, WRONG, PremarkSet

P11 = PremarkSet("1.1", {
    "points": ("the set of critical points",
               ("1.1.critical_points", "1.1.missed_critical_point", "1.1.spurious_critical_point")),
    "classes": ("the class of each point", ("1.1.classification",)),
    "mixed_partial": ("the mixed partial f_xy", ("1.1.hessian", "1.1.mixed_partial")),
    "det_alone": ("how (2,2) is classified", ("1.1.classification", "1.1.determinant_only")),
    "min_value": ("the value f(2,2)", ("1.1.classification",)),
})
P12 = PremarkSet("1.2", {
    "db": ("∂f/∂b per region", ("1.2.partial_b",)),
    "dw": ("∂f/∂w per region", ("1.2.partial_w", "1.2.inner_derivative")),
    "kink": ("the kink b + xw = 0", ("1.2.kink", "1.2.kink_not_addressed")),
})

# ----------------------------------------------------------------------------- 1.1
TRUTH_11 = {(0.0, 0.0): "saddle", (0.0, 6.0): "saddle", (6.0, 0.0): "saddle", (2.0, 2.0): "minimum"}
NUM = r"-?\d+(?:\.\d+)?"
POINT = re.compile(rf"(?P<fn>[A-Za-z\d\]')]\s*)?\(\s*(?P<x>{NUM})\s*[,;/|]\s*(?P<y>{NUM})\s*\)")
CLASSES = [  # first match after a point decides; order matters only for overlapping phrases
    ("undecided", r"minim\w*\s+or\s+(?:a\s+)?(?:local\s+)?maxim\w*|maxim\w*\s+or\s+(?:a\s+)?(?:local\s+)?minim\w*"),
    ("inconclusive", r"inconclusive|cannot be (?:classified|determined)|can ?not (?:be )?(?:classif|determin)\w*"
                     r"|no (?:conclusion|answer|decision)|undetermined|degenerate|test fails"),
    ("saddle", r"saddle"), ("minimum", r"minim(?:um|a)\b|\bmin\b"), ("maximum", r"maxim(?:um|a)\b|\bmax\b"),
]
CLASS_RE = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in CLASSES), re.I)
FXX_EVIDENCE = re.compile(r"f_?xx(?:\(2[,/]2\))?=4|4>0|eigen|definite|trace|2y>0|2·2=4>0", re.I)


def _fmt(p):
    return "(" + ", ".join(f"{v:g}" for v in p) + ")"


def _mentions(a):
    """Point mentions in reading order: ``(flow start, flow end, point, is an evaluation f(p))``.

    A point given a name (``P1 = (0, 0)``) is mentioned again wherever its name appears.
    """
    found, names = [], {}
    for m in POINT.finditer(a.flow):
        if a.discussed(m.start()):
            continue
        fn = (m.group("fn") or "").strip()
        point = (float(m.group("x")), float(m.group("y")))
        found.append((m.start("x") - 1, m.end(), point, bool(fn)))
        name = re.search(r"\b([PQ])\s?_?\s?(\d)\s*=\s*$", a.flow[max(0, m.start() - 12):m.start()])
        if name:
            names[name.group(1) + name.group(2)] = point
    for label, point in names.items():
        for m in re.finditer(rf"\b{label[0]}\s?_?\s?{label[1]}\b(?!\s*=\s*\()", a.flow):
            found.append((m.start(), m.end(), point, False))
    return sorted(found)


def _classes(a, mentions):
    """The class each point gets: the last decisive class phrase after one of its mentions."""
    given = {}
    for k, (start, end, point, _) in enumerate(mentions):
        stop = mentions[k + 1][0] if k + 1 < len(mentions) else len(a.flow)
        window = a.flow[end:min(stop, end + 250)]
        m = CLASS_RE.search(window)
        if m and re.match(r"\w*(?:\s+points?)?\s*:", window[m.end():]):
            m = None  # "...; local minimum: (2,2)" labels the points after it, not this one
        if m and a.discussed(end + m.start()):
            continue
        if not m:  # "Saddle points: (0,0), (0,6)": a class named just before a list of points
            before = a.flow[max(0, start - 120):start]
            lead = list(CLASS_RE.finditer(before))
            if lead and re.fullmatch(r"[\s\w]*?(?:points?|at|are|is)?\s*:?[\s,()\d./|;-]*(?:and\s*)?",
                                     before[lead[-1].end():]):
                m = lead[-1]
            else:
                continue
        if m.lastgroup != "undecided":
            given[point] = (m.lastgroup, a.flow_evidence(start, end + m.end()))
    return given


def _named_in_prose(a, point):
    """``x = 6`` and ``y = 0`` on one line: the point named without brackets."""
    x, y = (f"{v:g}" for v in point)
    tail = r"(?![\d.]|[-+*/·]\d*[a-z(])"
    return any(re.search(rf"x={x}{tail}", row) and re.search(rf"y={y}{tail}", row) for row in a.compact)


def _linear_forms(a):
    """``[(line, column, coefficients {"x","y","1"}, text)]`` of sums of terms like 2x + 2y - 6y."""
    found = []
    for i, row in enumerate(a.norm):
        for cell in re.finditer(r"\S+(?: \S+)*", row):  # layout columns are 2+ spaces apart
            cols = [cell.start() + k for k, ch in enumerate(cell.group()) if not ch.isspace()]
            c = "".join(ch for ch in cell.group() if not ch.isspace())
            for m in re.finditer(r"(?<![\w^\]])((?:-?\d*[xy]?)(?:[-+]\d*[xy]?){2,3})(?![\w(^\[])", c):
                coef = {}
                for sign, num, var in re.findall(r"([-+]?)(\d*)([xy]?)", m.group(1)):
                    if not num and not var:
                        continue
                    v = (-1 if sign == "-" else 1) * (int(num) if num else 1)
                    coef[var or "1"] = coef.get(var or "1", 0) + v
                found.append((i, cols[m.start()], coef, m.group(1)))
    return found


@P11.check
def check_11(a):
    mentions = _mentions(a)
    named = {p for _, _, p, _ in mentions}
    given = _classes(a, mentions)
    marks = []
    # the set of points
    missing = [p for p in TRUTH_11 if p not in named and not _named_in_prose(a, p)]
    spoken = {p for _, _, p, evaluation in mentions if not evaluation}  # f(2.1, 2) is not a point named
    extra = [p for p in given if p not in TRUTH_11 and p in spoken]
    ev = [given[p][1] for p in TRUTH_11 if p in given]
    if not named:
        marks.append(P11.mark("points", CANNOT, None, "no point written as (x, y) was found"))
    elif missing or extra:
        parts = ([f"missing {', '.join(map(_fmt, missing))}"] if missing else []) + \
                ([f"a point that is not critical given a class: {', '.join(map(_fmt, extra))}"] if extra else [])
        marks.append(P11.mark("points", WRONG, "medium", "; ".join(parts) + " (right: (0,0), (0,6), (6,0), (2,2))",
                             [given[p][1] for p in extra] + ev))
    else:
        conf = "high" if len(ev) == 4 else "medium"
        marks.append(P11.mark("points", RIGHT, conf, "all four critical points named, no other point classified", ev))
    # the class of each right point it names
    wrong = {p: given[p] for p in TRUTH_11 if p in given and given[p][0] != TRUTH_11[p]}
    unclassified = [p for p in TRUTH_11 if p in named and p not in given]
    if wrong:
        msg = "; ".join(f"{_fmt(p)} called {c} (right: {TRUTH_11[p]})" for p, (c, _) in wrong.items())
        marks.append(P11.mark("classes", WRONG, "medium", msg, [e for _, e in wrong.values()]))
    elif unclassified or not given:
        msg = f"no class found for {', '.join(map(_fmt, unclassified))}" if unclassified else "no class found"
        marks.append(P11.mark("classes", CANNOT, None, msg))
    else:
        marks.append(P11.mark("classes", RIGHT, "medium",
                             "each named critical point gets its right class (saddles; (2,2) local minimum)", ev))
    # the mixed partial
    forms = _linear_forms(a)
    forms = [(i, c, t) for i, col, c, t in forms if not a.discussed_line(i, col=col)]
    bad = [(i, t) for i, c, t in forms if c == {"x": 2, "y": -4}]
    good = [(i, t) for i, c, t in forms if c == {"x": 2, "y": 2, "1": -6}]
    good += [(i, m.group()) for i, m in a.search_lines(r"2\(x\+y-3\)")]
    if bad:
        conf = "high" if any(t.endswith("6y") for _, t in bad) else "medium"
        marks.append(P11.mark("mixed_partial", WRONG, conf, f"mixed partial written {bad[0][1]} (right: 2x + 2y - 6)",
                             [a.evidence(i, t) for i, t in bad + good]))
    elif good:
        marks.append(P11.mark("mixed_partial", RIGHT, "high", "mixed partial 2x + 2y - 6 appears",
                             [a.evidence(i, t) for i, t in good]))
    else:
        marks.append(P11.mark("mixed_partial", CANNOT, None, "no formula for the mixed partial found"))
    # (2,2): decided by f_xx (or eigenvalues), or by det H alone
    cls = given.get((2.0, 2.0))
    fxx = a.search_lines(FXX_EVIDENCE)
    det_positive = re.search(r"12>0|det\w*(?:\(H\)|H)?(?:\(2[,/]2\))?=[\d·*\-−() ]*=?12\b", "".join(a.compact))
    if not cls or cls[0] != "minimum":
        marks.append(P11.mark("det_alone", CANNOT, None, "(2,2) is not called a local minimum"))
    elif fxx:
        marks.append(P11.mark("det_alone", RIGHT, "medium", "f_xx, eigenvalues or definiteness are used",
                             [a.evidence(i, m.group()) for i, m in fxx]))
    elif det_positive:
        marks.append(P11.mark("det_alone", WRONG, "medium",
                             "(2,2) called a minimum after det H > 0, no sign of f_xx or eigenvalues found", [cls[1]]))
    else:
        marks.append(P11.mark("det_alone", CANNOT, None, "how (2,2) was classified is not readable"))
    # the value at the minimum
    values = [(i, m) for i, m in a.search_lines(rf"f\(2[,/]2\)((?:=[^=a-z]*?)+)(?=[a-z,;:]|$)")]
    stated = []
    for i, m in values:
        last = re.findall(NUM, m.group(1).split("=")[-1])
        if last:
            stated.append((i, float(last[-1]), m.group()))
    if not stated:
        marks.append(P11.mark("min_value", CANNOT, None, "f(2,2) not stated"))
    elif all(v == -8 for _, v, _ in stated):
        marks.append(P11.mark("min_value", RIGHT, "high", "f(2,2) = -8", [a.evidence(i, t) for i, _, t in stated]))
    else:
        marks.append(P11.mark("min_value", WRONG, "medium", f"f(2,2) stated as {stated[0][1]:g} (right: -8)",
                             [a.evidence(i, t) for i, _, t in stated]))
    return marks


# ----------------------------------------------------------------------------- 1.2
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
KINK_WORD = (r"undefined|not defined|not differentiable|non-?differentiable|no derivative|does ?n[o']t exist"
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
        cond = re.search(COND, text)
        for v in "bw":
            for m in INDICATOR[v].finditer(text):  # ∂f/∂w = x·1[b + xw > 0]
                if _region(m.group("op")) == "pos":
                    ev = a.flow_evidence(sentence.start() + m.start(), sentence.start() + m.end())
                    out += [(v, "pos", "x" if m.group("x") else "1", ev), (v, "neg", "0", ev)]
            for m in VALUE[v].finditer(text):  # "For b + xw > 0 ... ∂f/∂b = 1": the condition comes first
                if cond and cond.end() <= m.start():
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
    else:
        marks.append(P12.mark("kink", WRONG, "low", "no sentence about b + xw = 0 (undefined, subgradient, convention) "
                             "found near the derivatives", [e for *_, e in cases][:2] or [a.lines_evidence(0, 1)]))
    return marks
