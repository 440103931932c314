"""Pre-marks for 1.4 (a hidden activation that makes x1·x2) and 1.5 (the weight update)."""

import re

from .premark import CANNOT, RIGHT, WRONG, PremarkSet

P14 = PremarkSet("1.4", {
    "activation": ("the hidden activation g", ("1.4.activation", "1.4.linear_activation")),
    "identity": ("the identity (x1+x2)² − (x1−x2)² = 4x1x2", ("1.4.weights", "1.4.wrong_factor")),
})
P15 = PremarkSet("1.5", {
    "sign": ("the sign of the update", ("1.5.update_rule", "1.5.gradient_ascent")),
    "jacobian": ("the softmax Jacobian", ("1.5.softmax_jacobian", "1.5.diagonal_jacobian")),
    "sums": ("the sums of the chain rule", ("1.5.chain_rule", "1.5.missing_sums")),
})

# ----------------------------------------------------------------------------- 1.4
LAYER = r"(?:\s*[\[(]\s*\d\s*[\])])?"  # a layer index written as a superscript: g[1], z(1)
G_DEF = re.compile(rf"\bg{LAYER}\s*\(\s*(?P<arg>[a-z]){LAYER}\s*\)\s*=\s*(?P<rhs>[^=;]{{0,40}})")
CANNOT_WORK = r"cannot|can't|can ?not|does ?n[o']t work|impossible|not possible"
LINEAR_WORDS = re.compile(r"(?<!non)(?<!non-)\b(?:linear|identity)\b(?!\s+combination)", re.I)
QUADRATIC_WORDS = re.compile(r"\b(?:quadratic|squared?|square function)\b", re.I)
SQUARED_UNITS = re.compile(r"h_?\d(?:\[\d\])?=(?:g\()?\(x_?1[+-]x_?2\)\^?2")  # h1 = (x1 + x2)²
IDENTITY = re.compile(r"(?:\(x_?1\+x_?2\)\^?2-\(x_?1-x_?2\)\^?2|h_?1-h_?2)(?:=[^=]{1,60}?)*?"
                      r"=(?P<k>\d*(?:\.\d+)?)·?x_?1·?x_?2(?!\d)")  # expansion steps may come between


def _g_kind(a, i, m):
    """``"quadratic"``, ``"linear"`` or ``None`` for one ``g(z) = ...`` in line ``i``."""
    arg = m.group("arg")
    rhs = re.sub(r"\s+", " ", m.group("rhs")).strip()
    rhs = re.sub(rf"^{arg}\s?[\[(]\s?\d\s?[\])]", arg, rhs)  # z[1] is z of layer 1
    if re.match(rf"(?:\(?{arg}\)?\s?(?:\^\s?2|²|2)|{arg}\s?[·*]\s?{arg})(?![\d\w])", rhs):
        return "quadratic"
    if re.match(rf"(?:[a-z0-9.]*\s?·?\s?)?{arg}(?:\s?[+-]\s?[a-z0-9.]+)?\s?(?:[,.:]|$|and\b|in\b|for\b|as\b|with\b|where\b)",
                rhs):
        col = m.start("rhs") + m.group("rhs").find(arg)
        if a.near(i, col, {"2", "(2)"}):  # z² with its 2 on the line above or below
            return "quadratic"
        return "linear"
    return None


@P14.check
def check_14(a):
    kinds = [(_g_kind(a, i, m), i, m) for i, row in enumerate(a.norm) for m in G_DEF.finditer(row)
             if not a.discussed_line(i, CANNOT_WORK)]
    kinds = [k for k in kinds if k[0]]
    lin_words = next((m for m in LINEAR_WORDS.finditer(a.flow) if not a.discussed(m.start(), CANNOT_WORK)), None)
    quad_words = QUADRATIC_WORDS.search(a.flow)
    found = {k for k, _, _ in kinds}
    ev = [a.evidence(i, m.group()) for _, i, m in kinds]
    marks = []
    squares, squares_ev = a.find(SQUARED_UNITS)
    if found == {"linear"} and squares:
        marks.append(P14.mark("activation", CANNOT, None, "g reads as linear, but the hidden units are squares "
                             "(a superscript 2 lost by the text extraction?)", ev + [squares_ev]))
    elif found == {"linear"}:
        conf = "high" if lin_words else "medium"
        marks.append(P14.mark("activation", WRONG, conf, "linear hidden activation: the network is then affine in "
                             "(x1, x2) and cannot produce x1·x2, whatever the text claims",
                             ev + ([a.flow_evidence(lin_words.start(), lin_words.end())] if lin_words else [])))
    elif found == {"quadratic"}:
        marks.append(P14.mark("activation", RIGHT, "high" if not lin_words else "medium",
                             "quadratic hidden activation (can make x1·x2 from (x1 ± x2)²)", ev))
    elif not found and quad_words and not lin_words:
        marks.append(P14.mark("activation", RIGHT, "medium", "the hidden activation is called quadratic / a square",
                             [a.flow_evidence(quad_words.start(), quad_words.end())]))
    elif not found and lin_words and not quad_words:
        marks.append(P14.mark("activation", WRONG, "medium", "the hidden activation is called linear / the identity",
                             [a.flow_evidence(lin_words.start(), lin_words.end())]))
    else:
        marks.append(P14.mark("activation", CANNOT, None, "no formula for g found" if not found
                             else "both a linear and a quadratic g appear", ev))
    ident, quote = a.find(IDENTITY)
    if not ident:
        marks.append(P14.mark("identity", CANNOT, None, "no identity (x1+x2)² - (x1-x2)² = ... x1x2 found"))
    else:
        k = ident.group("k") or "1"
        if float(k) == 4:
            marks.append(P14.mark("identity", RIGHT, "high", "(x1+x2)² - (x1-x2)² = 4 x1x2 stated", [quote]))
        else:
            marks.append(P14.mark("identity", WRONG, "high", f"stated with {k} x1x2 (right: 4 x1x2)", [quote]))
    return marks


# ----------------------------------------------------------------------------- 1.5
ETA = re.compile(r"(?P<sign>[+-])\s*η(?=(?P<after>[^η]{0,16}))")
UPDATE_CONTEXT = re.compile(r"r\s*\+\s*1|t\s*\+\s*1|n\s*\+\s*1|←|:=|\bnew\b|Δ|updat", re.I)
GRADIENT = re.compile(r"^[\[(·\s]*(?:∂|∇|d\s*L|δ|\(?[fŷy]\w*\s*-|grad)", re.I)
DIAG_ASSUMED = re.compile(r"assum\w*\s+(?:that\s+)?k\s*=\s*l|only\s+(?:the\s+)?diagonal|for\s+k\s*=\s*l\s+only"
                          r"|(?:if|when|since)\s+k\s*=\s*l\s*,?\s*(?:this|it|we|then)\s+(?:simplif|becom|reduc|get)", re.I)
DIAG_FORM = re.compile(r"([a-zŷ]\w{0,1}|o\([\w\[\]]+\))\(1-\1\)")
FULL_FORM = re.compile(r"(?:δ|1|⊮|𝟙|I)[\[_({]?k[,=]?l[\])}]?-|-[fŷyop]\w?[·*]?[fŷyop]l|diag\(|-ff\^?T|f_?kf_?l", re.I)
CHAIN_LINE = re.compile(r"(?:∂.*){3,}|δ(?!\s*k\s*,?\s*l)\S*\s*=")
BACKPROP_DELTA = re.compile(r"δ(?!\s*k\s*,?\s*[lL])")  # δ_kl is the Kronecker delta
LOSS_DEF = re.compile(r"(?<![∂\w])L\s*=")
SUM_LIMIT = re.compile(r"(?<![\w])(?P<i>[klm])\s*[KH]?\s*=\s*1\b|(?:∑|Σ|\bsum(?:s|ming)? over(?: all| the)*\b)\s*_?\s*\(?"
                       r"(?P<j>[klm])\b")
# a sum sign: ∑ (Word, Unicode fonts) or what pdftotext makes of LaTeX's: X (display) and P (in a line)
SUM_SIGN = re.compile(r"[∑Σ]|(?<![^\s\]])[XP]+(?=\s|$|[A-Z\[])")
BELOW = re.compile(r"(?<!\S)(?P<i>[a-z])(?:\s*=\s*\d)?(?!\S)")  # a limit under a sum sign: "k", "m=1"
RANGE = re.compile(r"(?<!\S)(K|d|H\s?\[\s?2\s?\]|H\s?\[\s?1\s?\])(?!\S)")
RANGE_INDEX = {"K": "k", "d": "j", "H[2]": "m", "H[1]": "i"}  # a sum up to K runs over the classes, ...
W3 = re.compile(r"[wω]\s*_?\s*(?:\[3\])?\s*(?:[lk]\s?m|m\s?[lk]|k\s?l)\b")  # an output-layer weight w_lm
OTHER_EQUATION = re.compile(r"∂\s*L.*=\s*\S")  # a line holding an equation of its own: "∂L/∂w = ..."
XJ = re.compile(r"\bx\s?_?\s?j\b")
MATRIX_FORM = re.compile(r"⊙|\bdiag\b|W\s*\[\d\]\s*T|\bT\s*δ|J\s*T")


def _eta_signs(a):
    """``(minus, plus)``: evidence of updates that subtract / add η times a gradient."""
    minus, plus = [], []
    for i, row in enumerate(a.norm):
        for m in ETA.finditer(row):
            after = m.group("after").strip()
            context = " ".join(a.norm[max(0, i - 3):i + 3])
            if (after.startswith(("Δ", "∆")) or not UPDATE_CONTEXT.search(context)
                    or a.discussed_line(i, r"\bascent\b")):
                continue  # w + ηΔw says nothing about the sign; η outside an update, or in a warning, neither
            col = m.start("after")
            fraction = a.near(i, col, {"∂L", "∂ L", "∂L(ŷ,", "∂L(ŷ, y)"}, width=(1, 30), lines=(-2, -1, 1))
            if GRADIENT.search(after) or fraction or not after.strip(" .,"):
                (minus if m.group("sign") == "-" else plus).append(a.evidence(i, m.group()))
    return minus, plus


@P15.check
def check_15(a):
    marks = []
    minus, plus = _eta_signs(a)
    if plus and minus:
        marks.append(P15.mark("sign", WRONG, "medium", "an update adds η times the gradient (gradient ascent) "
                             "while another subtracts it: check which is the final update", plus + minus))
    elif plus:
        marks.append(P15.mark("sign", WRONG, "high", "the update adds η times the gradient (gradient ascent)", plus))
    elif minus:
        marks.append(P15.mark("sign", RIGHT, "high", "the update subtracts η times the gradient", minus))
    else:
        marks.append(P15.mark("sign", CANNOT, None, "no update w ± η·(gradient) found"))
    assumed = next((m for m in DIAG_ASSUMED.finditer(a.flow) if not a.discussed(m.start())), None)
    diag, diag_ev = a.find(DIAG_FORM)
    full, full_ev = a.find(FULL_FORM)
    if assumed:
        marks.append(P15.mark("jacobian", WRONG, "high", "the softmax Jacobian is reduced to its diagonal "
                             "(k = l assumed): the off-diagonal -f_k f_l terms are lost",
                             [a.flow_evidence(assumed.start(), assumed.end())]))
    elif diag and not full:
        marks.append(P15.mark("jacobian", WRONG, "medium", f"only the diagonal form {diag.group()} appears",
                             [diag_ev]))
    elif full:
        marks.append(P15.mark("jacobian", RIGHT, "medium", "the full softmax Jacobian (δ_kl - f_l, -f_k f_l or "
                             "diag(f) - ff^T) appears", [full_ev]))
    else:
        marks.append(P15.mark("jacobian", CANNOT, None, "no softmax derivative found"))
    marks.append(_sums_mark(a))
    return marks


def _indices(a, rows):
    """``({index letter: line}, unknown)``: the indices summed over in lines ``rows``, read from
    limits (k = 1, ∑_k, "sum over m") and from a letter just below a sum sign; ``unknown`` lists
    the lines of sum signs whose index cannot be read."""
    found, unknown = {}, []
    for i in rows:
        for m in SUM_LIMIT.finditer(a.norm[i]):
            found.setdefault(m.group("i") or m.group("j"), i)
        for m in SUM_SIGN.finditer(a.norm[i]):
            below = [b.group("i") for j in range(i + 1, min(i + 5, len(a.norm))) for b in BELOW.finditer(a.norm[j])
                     if m.start() - 2 <= b.start() <= m.end() + 2]  # under a stacked fraction: up to 4 lines
            above = [RANGE_INDEX[re.sub(r"\s", "", t.group(1))] for j in (i - 1, i - 2) if j >= 0 for t in RANGE.finditer(a.norm[j])
                     if m.start() - 2 <= t.start() <= m.end() + 4]  # the upper limit names the range: K, H[2], d
            inline = re.match(r"\s*_?\s*\(?([a-z])\b", a.norm[i][m.end():])
            letters = below or ([inline.group(1)] if inline else []) or above
            for letter in letters:
                found.setdefault(letter, i)
            if not letters:
                unknown.append(i)
    return found, unknown


def _sums_mark(a):
    """The sums over k, l (output classes) and m (hidden units).

    Right only where the final expanded formula (an output-layer weight w_lm and x_j together,
    the last such) shows sums over m and over k or l; with the deltas written separately
    (no expanded formula), where the sums over m and k or l appear.  Wrong only where that final
    formula has no sum sign or limit at all (its w_km then depends on k and m), or where no sum
    over k, l or m appears anywhere (every sum sign's index read) and no matrix form either.
    """
    partial = [i for i, row in enumerate(a.norm) if "∂" in row or BACKPROP_DELTA.search(row)]
    chain = [i for i in partial if CHAIN_LINE.search(a.norm[i])]
    loss = {j for i, row in enumerate(a.norm) if LOSS_DEF.search(row) for j in (i - 1, i, i + 1)}
    region = sorted({j for i in partial for j in range(i - 2, i + 3) if 0 <= j < len(a.norm)} - loss)
    indices, unknown = _indices(a, region)
    summed = {"k", "l", "m"} & set(indices)
    expanded = [i for i, row in enumerate(a.norm) if W3.search(row)
                and any(XJ.search(a.norm[j]) for j in range(max(0, i - 2), min(len(a.norm), i + 3)))]
    if expanded:
        f = expanded[-1]  # the final formula: its line and up to 3 around it, not into another equation
        above = [i for i in range(f - 1, max(-1, f - 4), -1) if OTHER_EQUATION.search(a.norm[i])]
        below = [i for i in range(f + 1, min(len(a.norm), f + 4)) if OTHER_EQUATION.search(a.norm[i])]
        final = range(max(0, f - 3, *(i + 1 for i in above[:1])), min(len(a.norm), f + 4, *below[:1]))
        rows = [i for i in final if i not in loss]
        last, unread = _indices(a, rows)
        shown = {"k", "l", "m"} & set(last)
        ev = [a.evidence(expanded[-1])]
        if "m" in shown and shown & {"k", "l"}:
            return P15.mark("sums", RIGHT, "medium", f"the final formula sums over {', '.join(sorted(shown))}",
                            [a.lines_evidence(final[0], final[-1])])
        if not last and not unread and not any(MATRIX_FORM.search(a.norm[i]) for i in rows):
            return P15.mark("sums", WRONG, "medium", "the final formula keeps an output-layer weight (w_km, w_lm) "
                            "but no sum at all: it depends on k, l or m, which must be summed over", ev)
        if summed or unknown:
            said = f"sums over {', '.join(sorted(shown))} only" if shown else "no sum over k, l or m"
            before = (f"the steps before sum over {', '.join(sorted(summed))}" if summed
                      else "a sum sign whose index is not readable appears")
            return P15.mark("sums", CANNOT, None, f"the final formula shows {said}; {before}: check each "
                            "index is summed", [a.lines_evidence(final[0], final[-1])])
    elif "m" in summed and summed & {"k", "l"}:
        return P15.mark("sums", RIGHT, "medium", f"sums over {', '.join(sorted(summed))} (deltas written separately)",
                        [a.evidence(i) for i in sorted(set(indices.values()))])
    matrix = any(MATRIX_FORM.search(a.norm[i]) for i in region)
    if not summed and not unknown and not matrix and chain:
        return P15.mark("sums", WRONG, "medium", "the chain rule is one product of single terms: no sum over the "
                        "units k, l, m found", [a.evidence(chain[0])])
    return P15.mark("sums", CANNOT, None, "some sums or a matrix form: check the paths are all summed",
                    [a.evidence(i) for i in sorted(set(indices.values()))])
