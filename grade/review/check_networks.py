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
SUM_LIMIT = re.compile(r"(?<![\w])(?P<i>[klm])\s*[KH]?\s*=\s*1\b|(?:∑|Σ|\bsum over\b)\s*_?\s*(?P<j>[klm])\b")
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
    partial = [i for i, row in enumerate(a.norm) if "∂" in row or BACKPROP_DELTA.search(row)]
    chain = [i for i in partial if CHAIN_LINE.search(a.norm[i])]
    loss = {j for i, row in enumerate(a.norm) if LOSS_DEF.search(row) for j in (i - 1, i, i + 1)}
    region = sorted({j for i in partial for j in range(i - 2, i + 3) if 0 <= j < len(a.norm)} - loss)
    indices = {}
    for i in region:
        for m in SUM_LIMIT.finditer(a.norm[i]):
            indices.setdefault(m.group("i") or m.group("j"), i)
    matrix = any(MATRIX_FORM.search(a.norm[i]) for i in region)
    if "m" in indices and ({"k", "l"} & set(indices)):
        marks.append(P15.mark("sums", RIGHT, "medium", f"sums over {', '.join(sorted(indices))} in the chain rule",
                             [a.evidence(i) for i in sorted(set(indices.values()))]))
    elif not indices and not matrix and chain:
        marks.append(P15.mark("sums", WRONG, "medium", "the chain rule is one product of single terms: "
                             "no sum over the units k, l, m found", [a.evidence(chain[0])]))
    else:
        marks.append(P15.mark("sums", CANNOT, None, "some sums or a matrix form: check the paths are all summed",
                             [a.evidence(i) for i in sorted(set(indices.values()))]))
    return marks
