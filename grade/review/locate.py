"""Find each team's answer to each question in the text of its PDF.

Teams keep the numbered headings of the problem set (``1.1 Optimization`` ... ``1.5``, often
with "Solution" headings between) and repeat each statement before the answer.  A question's
section runs from its heading to the next heading of another question (or the start of part 2);
its leading lines that repeat the statement (word pairs shared with
:data:`questions.STATEMENTS`) are stripped.  Nothing after the answers counts: from an appendix
or the references on (after the first question's heading), no heading is read.  A heading
without its number (``Training epochs``) counts only as a capitalised line at the page's left
margin, so an axis label or a caption is not one.  Of several headings of one question, the
first whose section holds more than the statement is taken.  A question without a heading is
reported as not found.
"""

import re

from .questions import END_HEADINGS, QUESTIONS, STATEMENTS, TITLES
from .text import norm, squash, words

_PREFIX = r"(?:problem|question|exercise|task|aufgabe|part|section|solution|answer|l(?:ö|oe)sung)"
HEADING = re.compile(rf"^(?P<prefix>{_PREFIX}(?:\s+(?:to|for|of|zu))?\s*:?\s*)?"
                     r"(?P<num>1\s?\.\s?[1-5](?:\s?\.\s?[1-3])?)(?!\d|\.\d)\s*[.:)]?\s*(?P<rest>.*)$", re.I)
MARKER = re.compile(r"^(?:solution|answer|l(?:ö|oe)sung|antwort)s?\b(?:\s+(?:to|for|of|zu)\s+1[.\d]*)?\s*[.:]?\s*",
                    re.I)
TOC_ENTRY = re.compile(r"(?:\.\s*){3,}\d+\s*$|\s{3,}\d{1,3}\s*$")
END = re.compile(END_HEADINGS, re.I)
CAPTION = re.compile(r"^\s*(?:figure|fig\.?|abbildung)\s*(\d+)\s*[:.]", re.I)
FIGURE_REF = re.compile(r"\b(?:figure|fig\.?|abbildung)\s*(\d+)", re.I)
SKETCH_WORDS = {"1.3.1": r"training[- ]?set size|data ?set size|training size|number of (?:training )?samples",
                "1.3.2": r"complexity", "1.3.3": r"epoch"}
APPENDIX = re.compile(r"(?:appendix|appendices|anhang|annex)\b[^.!?]{0,60}|(?:references|bibliography|sources|literature"
                      r"|literatur)\s*:?", re.I)
APPENDIX_SECTION = re.compile(r"[A-H](?:\.\d)?\s{2,}[A-Z](?:[^.!?]|(?<=\d)\.(?=\d)){0,80}")  # LaTeX's "A    The curves ..." after \appendix
MARGIN = 4  # a heading without its number starts at most this many columns right of the page's left margin
STATEMENT_SHARE = 0.6  # a line whose word pairs are at least this much the statement's is statement
STATEMENT_COVER = 0.25  # ... but only a block covering this much of the statement is stripped


def _title_of(rest):
    """The question whose title ``rest`` starts with, or None."""
    ws = words(rest)
    for qid, title in TITLES.items():
        tw = words(title)
        if ws[:len(tw)] == tw:
            return qid
    return None


def heading_of(line):
    """``(question id or "end", text after the heading)`` if ``line`` is a heading, else None."""
    h = _heading(line)
    return h[:2] if h else None


def _heading(line):
    """:func:`heading_of` and how the heading was read: ``"number"`` or ``"title"`` (no number)."""
    s = norm(line).strip()
    if not s or len(s) > 200:
        return None
    if END.fullmatch(s):
        return "end", "", "number"
    m = HEADING.match(s)
    if m:
        num = re.sub(r"\s", "", m.group("num"))
        rest = m.group("rest").strip()
        if TOC_ENTRY.search(rest):
            return None
        by_title = _title_of(rest)
        if by_title:  # a title overrides the number ("1.3.2 Training epochs" when 1.3.2 was skipped)
            title = re.match(r"\s+".join(map(re.escape, TITLES[by_title].split())), rest, re.I)
            return by_title, (rest[title.end():].strip(" .:") if title else ""), "number"
        if num not in TITLES:
            return None
        marker = MARKER.match(rest)
        if marker:
            return num, rest[marker.end():], "number"
        if not rest or m.group("prefix"):
            return num, rest, "number"
        if rest[:1].isupper() and len(rest.split()) <= 8:
            return num, "", "number"
        return None
    bare = re.sub(r"^(?:\(?[a-z0-9ivx]{1,3}[.)]\s+)", "", s, flags=re.I).rstrip(".:")
    qid = _title_of(bare)
    if qid and bare[:1].isupper() and len(words(bare)) == len(words(TITLES[qid])):
        return qid, "", "title"
    return None


def document_lines(pages):
    """``[(page, text)]`` of the whole document, page numbers from 1, page-number footers dropped."""
    lines = []
    for number, text in enumerate(pages, start=1):
        page = text.split("\n")
        while page and not page[-1].strip():
            page.pop()
        if page and re.fullmatch(r"\s*(?:\d{1,3}|page \d+(?: of \d+)?|\d+\s*/\s*\d+)\s*", page[-1], re.I):
            page.pop()
        lines.extend((number, t.rstrip()) for t in page)
    return lines


def _keep_columns(text, rest):
    """``rest`` (the end of ``text``) at the columns it had in ``text``: formulas stay aligned."""
    at = norm(text).rfind(rest) if rest else -1
    return " " * at + rest if at >= 0 else rest


def _bigrams(ws):
    return set(zip(ws, ws[1:]))


def strip_statement(qid, content):
    """Split ``content`` (``[(page, text)]`` after the heading) into ``(statement, answer)`` lines.

    Lines are read from the top: a line with enough word pairs of the statement is statement,
    a formula or short line is decided by its neighbours, the first other line (or a
    "Solution" marker, or a repeated heading of the question) starts the answer.  A short line
    right after the statement made only of its words (the end of its last sentence) goes too.
    """
    ref_text = STATEMENTS[qid] + (" " + STATEMENTS["1.3"] if qid.startswith("1.3.") else "")
    ref, vocabulary = _bigrams(words(ref_text)), set(words(ref_text, min_len=1))
    last, covered, start, marker = -1, set(), None, False
    for i, (page, text) in enumerate(content):
        again = heading_of(text)
        m = MARKER.match(norm(text).strip())
        if m or (again and again[0] == qid):
            rest = again[1] if again and again[0] == qid else norm(text).strip()[m.end():]
            content = content[:i] + [(page, _keep_columns(text, rest))] + content[i + 1:]
            start, marker = last + 1, True  # a formula line just above a marker belongs to the answer
            break
        bg = _bigrams(words(text))
        if len(bg) < 2:
            continue  # a formula or a short line: decided by its neighbours
        shared = bg & ref
        if len(shared) >= STATEMENT_SHARE * len(bg):
            last, covered = i, covered | shared
            continue
        start = last + 1
        break
    if start is None:
        start = last + 1
    if not marker and len(covered) < STATEMENT_COVER * len(ref):
        return [], content  # no real copy of the statement: keep everything
    while (last >= 0 and start < len(content) and start == last + 1 and content[start][1].strip()
           and len(_bigrams(words(content[start][1]))) < 2
           and set(words(content[start][1], min_len=1)) <= vocabulary):
        last = start = start + 1
    return content[:start], content[start:]


def _indent(text):
    return len(text) - len(text.lstrip())


def _answers_end(lines, first):
    """Index of the first line from ``first`` on that starts an appendix or the references."""
    for i in range(first, len(lines)):
        s = norm(lines[i][1]).strip()
        if s and len(s.split()) <= 10 and (APPENDIX.fullmatch(s) or APPENDIX_SECTION.fullmatch(s)):
            return i
    return len(lines)


def _sections(lines):
    """``({question: [(first line, end line, heading text), ...]}, end of the answers)`` in
    document order, from the headings in ``lines`` before any appendix or references."""
    margins = {}
    for page, text in lines:
        if text.strip():
            margins[page] = min(margins.get(page, len(text)), _indent(text))
    events = []
    for i, (page, text) in enumerate(lines):
        h = _heading(text)
        if h and not (h[2] == "title" and _indent(text) > margins[page] + MARGIN):
            events.append((i, h[0], h[1]))
    first = next((i for i, qid, _ in events if qid != "end"), len(lines))
    stop = _answers_end(lines, first + 1)
    events = [e for e in events if e[0] < stop]
    found = {}
    for k, (i, qid, rest) in enumerate(events):
        if qid == "end" or (k and events[k - 1][1] == qid):
            continue
        end = next((j for j, q, _ in events[k + 1:] if q != qid), stop)
        found.setdefault(qid, []).append((i, end, rest))
    return found, stop


def _read_section(lines, qid, span):
    """``(statement, answer)`` lines of the section ``span`` = (first line, end line, heading text)."""
    first, end, rest = span
    content = ([(lines[first][0], _keep_columns(lines[first][1], rest))] if rest else []) + lines[first + 1:end]
    statement, answer = strip_statement(qid, content)
    while answer and not answer[0][1].strip():
        answer = answer[1:]
    while answer and not answer[-1][1].strip():
        answer = answer[:-1]
    return statement, answer


def _pages_of(items):
    return sorted({page for page, text in items if text.strip()})


def locate_answers(pages):
    """Each question's answer in a document given as text per page.

    Returns ``{question: {"found", "heading": {"page", "text"} | None, "lines": [[page, text]],
    "pages": [page numbers to show], "stripped": lines of statement removed, "note"}}``.
    """
    lines = document_lines(pages)
    candidates, stop = _sections(lines)
    captions = {}
    for page, text in lines[:stop]:
        m = CAPTION.match(norm(text))
        if m:
            captions.setdefault(m.group(1), (page, text))
    sections = {qid: spans[0] for qid, spans in candidates.items()}
    result = {}
    for qid in QUESTIONS:
        if qid not in sections:
            parent = sections.get("1.3") if qid.startswith("1.3.") else None
            note = f"not found: no heading {qid} or \"{TITLES[qid]}\" in the text"
            shown = _pages_of(lines[parent[0]:parent[1]]) if parent else []
            if parent:
                note += "; the pages of section 1.3 are shown"
            result[qid] = {"found": False, "heading": None, "lines": [], "pages": shown, "stripped": 0,
                           "note": note}
            continue
        read = [(span, *_read_section(lines, qid, span)) for span in candidates[qid]]
        (first, end, _), statement, answer = next((r for r in read if any(t.strip() for _, t in r[2])), read[0])
        shown = set(_pages_of(answer)) or {lines[first][0]}
        if qid.startswith("1.3."):
            shown |= set(_pages_of(lines[first:end]))
            text = " ".join(t for _, t in answer)
            for number in FIGURE_REF.findall(text):
                if number in captions:
                    shown.add(captions[number][0])
            for page, caption in captions.values():
                if re.search(SKETCH_WORDS[qid], caption, re.I) and abs(page - lines[first][0]) <= 2:
                    shown.add(page)
        note = "" if any(t.strip() for _, t in answer) else "only the statement: no answer text (images?)"
        result[qid] = {"found": True, "heading": {"page": lines[first][0], "text": squash(lines[first][1])},
                       "lines": [[p, t] for p, t in answer], "pages": sorted(shown),
                       "stripped": sum(1 for _, t in statement if t.strip()), "note": note}
    return result
