"""Where a notebook names its team: the members' names and matriculation numbers in its first cells.

Read as students write them (the course asks for "a comment at the top"; teams also use a
markdown cell under the title): code comments and strings, markdown headings, tables, bullets,
dashes, e-mail addresses, HTML comments, surname-first names, names with accents and particles.
A name is two or more capitalised words (labels such as "Name" or "Team" are not names); a
matriculation number is 5 to 9 digits on their own.
"""

import io
import re
import tokenize

TEAM_NUMBER = re.compile(r"\b(?:team|group|gruppe)\b\W{0,3}(?:number|no\.?|nr\.?|#)?\W{0,3}(\d{1,3})\b", re.IGNORECASE)
MATRICULATION = re.compile(r"(?<!\d)(?<!\d[.,])\d{5,9}(?!\d|[.,]\d)")  # not part of 12,345.678 or a date
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
NAME_GAP = re.compile(r"\s+|,\s*")  # between the words of one name ("Ada Lovelace", "Lovelace, Ada")
PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "del", "della", "la", "le", "du", "dos", "das", "do",
             "bin", "al", "el", "zu", "ten", "ter", "y"}
LABELS = {"team", "group", "gruppe", "name", "names", "surname", "first", "last", "matriculation", "matrikel",
          "matrikelnummer", "number", "numbers", "nr", "no", "student", "students", "member", "members", "id",
          "email", "e-mail", "mail", "and", "und"}
QUOTES = re.compile(r"^[rRbBuUfF]{0,2}(?:'''|\"\"\"|'|\")|(?:'''|\"\"\"|'|\")$")
MARKUP = re.compile(r"<!--|-->|<[^>]{0,40}>|[|#>]")  # becomes a space; emphasis and code marks go
EMPHASIS = re.compile(r"[*_`]")


def names_in(line):
    """How many person names (two or more capitalised words, particles between them allowed) ``line`` holds."""
    found, words, end = 0, 0, None
    for m in WORD.finditer(line):
        word = m.group()
        is_name = word[0].isupper() and word.lower() not in LABELS
        joined = end is not None and NAME_GAP.fullmatch(line[end:m.start()]) is not None
        if is_name and joined and words:
            words += 1
        elif word in PARTICLES and joined and words:
            pass
        else:
            found += words >= 2
            words = 1 if is_name else 0
        end = m.end()
    return found + (words >= 2)


def _code_text(source):
    """The comments and string literals of a code cell, line by line (where team details go in code)."""
    texts = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                texts.append(tok.string.lstrip("#"))
            elif tok.type == tokenize.STRING:
                texts.append(QUOTES.sub("", tok.string))
    except (tokenize.TokenError, SyntaxError):
        texts = [line.lstrip().lstrip("#") for line in source.splitlines() if line.lstrip().startswith("#")]
    return [line for text in texts for line in text.splitlines()]


def team_cells(cells, first=4):
    """The text lines of the notebook's first ``first`` non-empty cells, a list per cell: markdown and raw cells
    without their markup (headings, tables, bullets, emphasis), code cells' comments and strings."""
    out = []
    for cell in [c for c in cells if c["source"].strip()][:first]:
        lines = _code_text(cell["source"]) if cell["type"] == "code" else cell["source"].splitlines()
        out.append([EMPHASIS.sub("", MARKUP.sub(" ", line))[:1000] for line in lines])
    return out


def members(cells):
    """Team members named with a matriculation number in one cell: on one line ("Ada Lovelace - 225984"), or on
    lines of their own ("Name: Ada Lovelace" above "Matriculation number: 225984"), as many as it has of both."""
    return sum(min(sum(map(names_in, lines)), sum(len(MATRICULATION.findall(line)) for line in lines))
               for lines in cells)
