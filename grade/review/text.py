"""Normalising what ``pdftotext`` gives for matching: one character per math sign, no spacing."""

import re
import unicodedata

_REPLACE = {
    "\u2212": "-", "\u2013": "-", "\u2010": "-", "\u2011": "-",  # minus, en dash, hyphens
    "\u2206": "Δ", "\u2207": "∇", "\u2113": "l", "\u2032": "'", "\u2019": "'", "\u00b7": "·",
    "\u2264": "≤", "\u2265": "≥", "\u2a7d": "≤", "\u2a7e": "≥",
    "\u03f5": "ε", "\u03c9": "w",  # a team writing omega for w means w
}
_NOT_EQUAL = re.compile("\u0338\\s*=|/=|=\u0338")  # "̸=" is how pdftotext spells ≠


def norm(s):
    """``s`` with the look-alike characters of typeset math mapped to one spelling each."""
    s = unicodedata.normalize("NFKC", s)
    s = _NOT_EQUAL.sub("≠", s)
    return "".join(_REPLACE.get(ch, ch) for ch in s)


def compact(s):
    """:func:`norm` without any white space: ``f (2, 2) = − 8`` becomes ``f(2,2)=-8``."""
    return re.sub(r"\s+", "", norm(s))


def words(s, min_len=3):
    """Lower-case words of at least ``min_len`` letters (math symbols and indices drop out)."""
    return [w for w in re.findall(r"[^\W\d_]+", norm(s).lower()) if len(w) >= min_len]


def squash(s):
    """One line of display text: runs of white space become one space."""
    return re.sub(r"\s+", " ", s).strip()
