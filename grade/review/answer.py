"""A located answer as the pre-mark checks read it: its lines, normalised and run together.

:class:`Answer` gives the views the checks match against (each line normalised, without
spaces, the whole answer as one line) and says whether a position lies in a sentence that
discusses a mistake ("a common mistake is ...", a "Common mistakes." paragraph): what such a
sentence shows is not the team's answer.
"""

import re

from .text import compact, norm, squash

# A sentence with these words discusses a mistake ("a common mistake is ... assuming k = l"):
# what it shows is not the team's answer.
DISCUSSION = re.compile(r"\b(?:mistakes?|wrong|incorrect|instead of|common|do ?n[o']t|never|avoid)\b", re.I)
MISTAKES_PARAGRAPH = re.compile(r"(?:^|[.!?)]\s+)(?:common|typical|frequent)\s+(?:mistakes|errors|pitfalls)\s*[.:]"
                                r"|(?:^|[.!?)]\s+)pitfalls\s*[.:]", re.I)  # a paragraph headed "Common mistakes."


class Answer:
    """A located answer's lines, with normalised and run-together views for matching."""

    def __init__(self, located):
        self.lines = [(page, text) for page, text in located.get("lines", [])]
        self.norm = [norm(text) for _, text in self.lines]
        self.compact = [compact(text) for _, text in self.lines]
        starts, parts, pos = [], [], 0
        for n in self.norm:  # an empty line adds nothing: words around it stay one space apart
            starts.append(pos)
            part = squash(n)
            if part:
                parts.append(part)
                pos += len(part) + 1
        self.flow = " ".join(parts)  # the answer as one line, for patterns that wrap
        self._starts = starts
        self._cstarts = [sum(len(c) for c in self.compact[:i]) for i in range(len(self.compact))]
        self.cflow = "".join(self.compact)  # the same without any space
        paragraph = MISTAKES_PARAGRAPH.search(self.flow)  # "Common mistakes." to the end: discussion
        self._mistakes_from = paragraph.start() if paragraph else len(self.flow) + 1

    def __bool__(self):
        return any(t.strip() for _, t in self.lines)

    def sentence(self, pos):
        """The sentence of :attr:`flow` around position ``pos``."""
        start = max((m.end() for m in re.finditer(r"[.!?]\s+(?=[A-Z(•])", self.flow[:pos])), default=0)
        end = re.search(r"[.!?](?:\s+[A-Z(•]|\s*$)", self.flow[pos:])
        return self.flow[start:pos + (end.start() + 1 if end else len(self.flow))]

    def discussed(self, pos, extra=None):
        """Whether the sentence around ``pos`` of :attr:`flow` discusses a mistake (or ``extra``)."""
        if pos >= self._mistakes_from:
            return True
        sentence = self.sentence(pos)
        return bool(DISCUSSION.search(sentence) or (extra and re.search(extra, sentence, re.I)))

    def discussed_line(self, i, extra=None, col=None):
        """:meth:`discussed` for column ``col`` of line ``i`` (its middle by default)."""
        row = self.norm[i]
        pos = self._starts[i] + (len(squash(row[:col])) + 1 if col else len(squash(row)) // 2)
        return self.discussed(pos, extra)

    def line_of(self, pos, starts=None):
        """Index of the line holding position ``pos`` of :attr:`flow` (of :attr:`cflow` with its starts)."""
        lo = 0
        for i, start in enumerate(self._starts if starts is None else starts):
            if start <= pos:
                lo = i
        return lo

    def find(self, pattern, extra=None):
        """``(match, evidence)`` of the first match of ``pattern`` in a compact line, else in the
        compact run of all lines (a formula that wraps), outside sentences that discuss a
        mistake (:meth:`discussed`); ``(None, None)`` if there is none."""
        for i, row in enumerate(self.compact):
            for m in re.finditer(pattern, row):
                if not self.discussed_line(i, extra):
                    return m, self.evidence(i)
        for m in re.finditer(pattern, self.cflow):
            first, last = self.line_of(m.start(), self._cstarts), self.line_of(m.end() - 1, self._cstarts)
            if not self.discussed_line(first, extra):
                return m, self.lines_evidence(first, last)
        return None, None

    def lines_evidence(self, first, last):
        """Evidence quoting lines ``first``..``last`` (at most three, as one line)."""
        last = min(last, first + 2)
        quote = " ".join(squash(t) for _, t in self.lines[first:last + 1])
        return {"page": self.lines[first][0], "quote": quote[:240] + ("…" if len(quote) > 240 else "")}

    def evidence(self, i, match=None):
        """``{"page", "quote"}`` for line ``i`` (the part around ``match`` if the line is long)."""
        page, text = self.lines[i]
        quote = squash(text)
        if match and len(quote) > 160:
            at = max(0, quote.find(squash(match)[:20]) - 60)
            quote = ("…" if at else "") + quote[at:at + 160] + "…"
        return {"page": page, "quote": quote}

    def flow_evidence(self, start, end):
        """Evidence for the span ``start:end`` of :attr:`flow`: the lines it covers."""
        return self.lines_evidence(self.line_of(start), self.line_of(max(start, end - 1)))

    def near(self, i, col, chars, width=(2, 8), lines=(-1, 1)):
        """Whether a neighbouring line (offsets ``lines``) holds one of ``chars`` alone near ``col``."""
        for d in lines:
            j = i + d
            if 0 <= j < len(self.norm):
                seg = self.norm[j][max(0, col - width[0]):col + width[1]]
                if seg.strip() and seg.strip() in chars:
                    return True
        return False

    def search_lines(self, pattern, view="compact"):
        """``[(line index, match)]`` of a regex over each line's ``view`` (compact or norm)."""
        rows = self.compact if view == "compact" else self.norm
        return [(i, m) for i, row in enumerate(rows) for m in re.finditer(pattern, row)]
