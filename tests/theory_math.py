"""Every piece of mathematics of theory.tex outside the marked result blocks (inline, display,
align/gather; in the answers, mistakes, captions, appendices and references), and the ones
that no check needs to read, each with its reason.

:func:`occurrences` enumerates them with their place in the source; tests/test_theory.py
replaces each in turn by a poison token and requires some check of the source to reject the
result ("read by a check"), unless it is listed in :data:`NEEDS_NO_CHECK`.  The marked blocks
are read by their own checks (test_every_marked_block_is_checked)."""

import re

from theory_doc import _flat

POISON = r"\POISON"

# Mathematics no check reads, and why none needs to.  Key: the expression as written
# (whitespace flattened), or (expression, regex its flattened context must match: the
# 50 characters before and after, joined by "@").
NEEDS_NO_CHECK = {
    ("y", r"No zero marked on the @-axis"):
        "the axis on which the zero is marked (check sketch-figures holds that every sketch marks it there)",
    ("n", r"the mean loss over the @ samples"): "a name, defined here: the number of samples (block mean-loss uses it)",
    ("L^2", r"relation to @ regularisation\)\. \\bibitem"): "words of a citation (what the cited section covers)",
}


def _masked(tex):
    """``tex`` with the preamble and comments blanked and every marked block replaced by "\u00a7"
    (newlines kept, so positions stay those of the source)."""
    out = list(tex)

    def blank(start, end, char):
        for i in range(start, end):
            if out[i] != "\n":
                out[i] = char

    for m in re.finditer(r"^[ \t]*%@begin (\S+)\n.*?^[ \t]*%@end \1[ \t]*$", tex, re.S | re.M):
        blank(m.start(), m.end(), "\u00a7")
    text = "".join(out)
    for m in re.finditer(r"(?<!\\)%.*", text):
        blank(m.start(), m.end(), " ")
    blank(0, tex.index(r"\begin{document}"), " ")
    return "".join(out)


_EMPTY = re.compile(r"(\\[,;:!]|\\q?quad|\\\\|[\s,.;])*")


def occurrences(tex):
    """``[(start, end, text, context)]``: each piece of mathematics outside the blocks, its span
    in ``tex``, its flattened text and flattened context ("before@after")."""
    masked = _masked(tex)
    found = []
    pattern = r"\\begin\{(align\*|gather\*)\}(.*?)\\end\{\1\}|\\\[(.*?)\\\]|(?<!\\)\$([^$]+)\$"
    for m in re.finditer(pattern, masked, re.S):
        group = next(g for g in (2, 3, 4) if m.group(g) is not None)
        for piece in re.finditer(r"[^\u00a7]+", m.group(group)):
            if _EMPTY.fullmatch(piece.group()):
                continue
            start, end = m.start(group) + piece.start(), m.start(group) + piece.end()
            context = _flat(masked[max(0, m.start() - 50):m.start()]) + "@" + _flat(masked[m.end():m.end() + 50])
            found.append((start, end, _flat(tex[start:end]).strip(), context))
    return found


def needs_no_check(text, context):
    """The reason a piece of mathematics needs no check, or None."""
    for key, reason in NEEDS_NO_CHECK.items():
        if key == text or (isinstance(key, tuple) and key[0] == text and re.search(key[1], context)):
            return reason
    return None


def poisoned(tex, start, end):
    return tex[:start] + POISON + tex[end:]
