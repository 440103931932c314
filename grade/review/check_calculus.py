"""Pre-marks for 1.1: the critical points of x²y + xy² - 6xy, their classes, f_xy, f(2,2)."""

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

TRUTH_11 = {(0.0, 0.0): "saddle", (0.0, 6.0): "saddle", (6.0, 0.0): "saddle", (2.0, 2.0): "minimum"}
NUM = r"-?\d+(?:\.\d+)?"
COORD = rf"{NUM}(?:\s*/\s*\d+)?"  # 3/2 is a coordinate too
POINT = re.compile(rf"(?P<fn>[A-Za-z\d\]')]\s*)?\(\s*(?P<x>{COORD})\s*[,;/|]\s*(?P<y>{COORD})\s*\)")
CLASSES = [  # first match after a point decides; order matters only for overlapping phrases
    ("undecided", r"minim\w*\s+or\s+(?:a\s+)?(?:local\s+)?maxim\w*|maxim\w*\s+or\s+(?:a\s+)?(?:local\s+)?minim\w*"),
    ("inconclusive", r"inconclusive|cannot be (?:classified|determined)|can ?not (?:be )?(?:classif|determin)\w*"
                     r"|no (?:conclusion|answer|decision)|undetermined|degenerate|test fails"),
    ("saddle", r"saddle"), ("minimum", r"minim(?:um|a)\b|\bmin\b"), ("maximum", r"maxim(?:um|a)\b|\bmax\b"),
]
CLASS_RE = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in CLASSES), re.I)
FXX_EVIDENCE = re.compile(r"f_?xx(?:\(2[,/]2\))?=4|4>0|eigen|positive-?definite|2y>0|2·2=4>0", re.I)  # on compact lines
# f_xx (or the second derivative in x) and a sign or comparison in one sentence; a rule ("if ... f_xx > 0")
# shows the test is known, not that it was used at (2,2)
SECOND_X = r"(?:\bf_?xx\b|∂\s*2\s*f\s*/?\s*∂\s*x\s*2|second(?:\s+order)?(?:\s+partial)?\s+derivatives?\s+" \
           r"(?:with\s+respect\s+to|w\.?\s?r\.?\s?t\.?|in|by|for)\s+x\b)"
SIGN_WORDS = r"(?:>|<|≥|≤|\bpositive\b|\bnegative\b|\bgreater\b|\blarger\b|\bbigger\b|\bsmaller\b|\bless\b|\babove\b)"
SECOND_SIGN = re.compile(rf"{SECOND_X}[^.;]{{0,60}}?{SIGN_WORDS}", re.I)
OTHER_TESTS = re.compile(r"eigen|definite|\btrace\b|principal minor|leading minor|upper[- ]left|top[- ]left|sylvester"
                         r"|\bH\s*_?\s*11\b|\bf\s*_?\s*11\b", re.I)  # other ways to the sign: WRONG is then unsafe
RULE = re.compile(r"\b(?:if|when|whenever|iff)\b", re.I)
MINUS_SURVIVES = re.compile(r"(?:^|[\s=(])-\s*\d|\d\s*-\s*[\d(a-z]")  # a minus sign in the text layer


def _coord(text):
    num, _, den = text.replace(" ", "").partition("/")
    return float(num) / float(den) if den and float(den) else float(num)


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
        point = (_coord(m.group("x")), _coord(m.group("y")))
        found.append((m.start("x") - 1, m.end(), point, bool(fn)))
        name = re.search(r"\b([PQ])\s?_?\s?(\d)\s*=\s*$", a.flow[max(0, m.start() - 12):m.start()])
        if name:
            names[name.group(1) + name.group(2)] = point
    for label, point in names.items():
        for m in re.finditer(rf"\b{label[0]}\s?_?\s?{label[1]}\b(?!\s*=\s*\()", a.flow):
            found.append((m.start(), m.end(), point, False))
    return sorted(found)


def _classes(a, mentions):
    """The class each point gets: the last decisive class phrase after one of its mentions.

    Points listed together ("(0, 0), (0, 6) and (6, 0) are saddle points") share the class the
    list's last point gets.
    """
    given, own = {}, {}
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
            given[point] = own[k] = (m.lastgroup, a.flow_evidence(start, end + m.end()))
    for k in range(len(mentions) - 2, -1, -1):  # back to front: a list inherits from its last point
        between = a.flow[mentions[k][1]:mentions[k + 1][0]]
        if k not in own and k + 1 in own and re.fullmatch(r"(?:\s|,|;|=|&|\band\b)*(?:[A-Za-z]\w?)?", between):
            own[k] = own[k + 1]
            given.setdefault(mentions[k][2], own[k])
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
    given = _classes(a, mentions)
    return [_points_mark(a, mentions, given), _classes_mark(mentions, given), _mixed_partial_mark(a),
            _det_alone_mark(a, given), _min_value_mark(a)]


def _extra_points(mentions, given):
    """Points given a class that are not critical (named as points, not evaluations like f(2.1, 2))."""
    spoken = {p for _, _, p, evaluation in mentions if not evaluation}
    return [p for p in given if p not in TRUTH_11 and p in spoken]


def _points_mark(a, mentions, given):
    named = {p for _, _, p, _ in mentions}
    missing = [p for p in TRUTH_11 if p not in named and not _named_in_prose(a, p)]
    extra = _extra_points(mentions, given)
    ev = [given[p][1] for p in TRUTH_11 if p in given]
    if not named:
        return P11.mark("points", CANNOT, None, "no point written as (x, y) was found")
    if missing or extra:
        parts = ([f"missing {', '.join(map(_fmt, missing))}"] if missing else []) + \
                ([f"a point that is not critical given a class: {', '.join(map(_fmt, extra))}"] if extra else [])
        return P11.mark("points", WRONG, "medium", "; ".join(parts) + " (right: (0,0), (0,6), (6,0), (2,2))",
                        [given[p][1] for p in extra] + ev)
    conf = "high" if len(ev) == 4 else "medium"
    return P11.mark("points", RIGHT, conf, "all four critical points named, no other point classified", ev)


def _classes_mark(mentions, given):
    """Right only if (2,2) is called a minimum, every classified critical point gets its class and
    no point that is not critical is called an extremum (a missed or spurious point is
    1.1.points' business; a spurious "saddle" is left to it)."""
    named = {p for _, _, p, _ in mentions}
    wrong = {p: given[p] for p in TRUTH_11 if p in given and given[p][0] != TRUTH_11[p]}
    extra = [p for p in _extra_points(mentions, given) if given[p][0] in ("minimum", "maximum")]
    unclassified = [p for p in TRUTH_11 if p in named and p not in given]
    if wrong or extra:
        msg = "; ".join([f"{_fmt(p)} called {c} (right: {TRUTH_11[p]})" for p, (c, _) in wrong.items()]
                        + [f"{_fmt(p)}, not a critical point, called {given[p][0]}" for p in extra])
        return P11.mark("classes", WRONG, "medium", msg, [e for _, e in wrong.values()] + [given[p][1] for p in extra])
    if (2.0, 2.0) not in given:
        return P11.mark("classes", CANNOT, None, "(2,2) is not given a class")
    if unclassified:
        return P11.mark("classes", CANNOT, None, f"no class found for {', '.join(map(_fmt, unclassified))}")
    return P11.mark("classes", RIGHT, "medium", "each named critical point gets its right class (saddles; (2,2) "
                    "local minimum)", [given[p][1] for p in TRUTH_11 if p in given])


def _mixed_partial_mark(a):
    forms = [(i, c, t) for i, col, c, t in _linear_forms(a) if not a.discussed_line(i, col=col)]
    bad = [(i, t) for i, c, t in forms if c == {"x": 2, "y": -4}]
    good = [(i, t) for i, c, t in forms if c == {"x": 2, "y": 2, "1": -6}]
    good += [(i, m.group()) for i, m in a.search_lines(r"2\(x\+y-3\)")]
    if bad:
        conf = "high" if any(t.endswith("6y") for _, t in bad) else "medium"
        return P11.mark("mixed_partial", WRONG, conf, f"mixed partial written {bad[0][1]} (right: 2x + 2y - 6)",
                        [a.evidence(i, t) for i, t in bad + good])
    if good:
        return P11.mark("mixed_partial", RIGHT, "high", "mixed partial 2x + 2y - 6 appears",
                        [a.evidence(i, t) for i, t in good])
    return P11.mark("mixed_partial", CANNOT, None, "no formula for the mixed partial found")


def _det_alone_mark(a, given):
    """(2,2) decided by f_xx's sign (or eigenvalues, definiteness), or by det H alone.

    Wrong only where (2,2) is called a minimum after det H > 0 and nothing in the answer speaks of
    the sign of a second derivative in x or of another test: an absence is evidence only then.
    """
    cls = given.get((2.0, 2.0))
    if not cls or cls[0] != "minimum":
        return P11.mark("det_alone", CANNOT, None, "(2,2) is not called a local minimum")
    used = [(i, m.group()) for i, m in a.search_lines(FXX_EVIDENCE)]
    signs = [m for m in SECOND_SIGN.finditer(a.flow) if not a.discussed(m.start())]
    used += [(a.line_of(m.start()), m.group()) for m in signs if not RULE.search(a.sentence(m.start()))]
    if used:
        return P11.mark("det_alone", RIGHT, "medium", "the sign of f_xx (or eigenvalues, definiteness) is used",
                        [a.evidence(i, t) for i, t in used])
    if signs or any(not a.discussed(m.start()) for m in OTHER_TESTS.finditer(a.flow)):
        return P11.mark("det_alone", CANNOT, None, "f_xx's sign or another test is mentioned, but not plainly "
                        "used at (2,2)", [a.flow_evidence(m.start(), m.end()) for m in signs])
    det_positive = re.search(r"12>0|det\w*(?:\(H\)|H)?(?:\(2[,/]2\))?=[\d·*\-−() ]*=?12\b", "".join(a.compact))
    if det_positive:
        return P11.mark("det_alone", WRONG, "medium", "(2,2) called a minimum after det H > 0; nothing about the sign "
                        "of f_xx, eigenvalues or definiteness anywhere in the answer", [cls[1]])
    return P11.mark("det_alone", CANNOT, None, "how (2,2) was classified is not readable")


def _min_value_mark(a):
    """f(2,2) (f alone: not H_f(2,2), f_x(2,2)) = ... = a single final number."""
    stated = []
    for i, row in enumerate(a.norm):
        for m in re.finditer(r"(?<![\w\]'′])f\s*\(\s*2\s*[,;]\s*2\s*\)\s*(=[^=a-zA-Z:;]*(?:=[^=a-zA-Z:;]*)*)", row):
            expression, j = m.group(1), i + 1
            while j < len(a.norm) and re.match(r"\s*=[^=a-zA-Z:;]*$", a.norm[j]):  # continued: "       = -8"
                expression, j = expression + a.norm[j].strip(), j + 1
            last = expression.split("=")[-1].strip(" .,")
            value = re.fullmatch(NUM.replace("-?", r"-?\s*"), last)
            stated.append((i, float(value.group().replace(" ", "")) if value else None, m.group()))
    if not stated:
        return P11.mark("min_value", CANNOT, None, "f(2,2) not stated")
    evidence = [a.evidence(i, t) for i, _, t in stated]
    if any(v is None for _, v, _ in stated):
        return P11.mark("min_value", CANNOT, None, "f(2,2) written without a single final value", evidence)
    if all(v == -8 for _, v, _ in stated):
        return P11.mark("min_value", RIGHT, "high", "f(2,2) = -8", evidence)
    minus = any(MINUS_SURVIVES.search(row) for row in a.norm)
    if not minus and all(abs(v) == 8 for _, v, _ in stated):
        return P11.mark("min_value", CANNOT, None, "f(2,2) = 8, but no minus sign survives in the text: a lost minus?",
                        evidence)
    value = next(v for _, v, _ in stated if v != -8)
    return P11.mark("min_value", WRONG, "medium", f"f(2,2) stated as {value:g} (right: -8)", evidence)
