"""Build the review fixtures: each ``team_*.tex`` here becomes ``<out>/<team>/theory.pdf``.

The sketches of 1.3 are images in real submissions (photographs of paper drawings); here they
are PNGs drawn at build time (:func:`sketch_png`), so the PDFs hold images, not text.
``python -m review_fixtures.build --out DIR`` (from tests/) builds them by hand; ``--word``
writes the texts of the Word-like teams again (see below).
"""

import argparse
import concurrent.futures
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TRUTH_LINE = re.compile(r"^%\s*truth:\s*(\S+)\s*=\s*(right|wrong|none)\s*(?:#.*)?$")
ANSWER_LINE = re.compile(r"^%\s*answer:\s*(\S+)\s*=\s*(.+?)\s*$")


def fixtures():
    """The fixture teams: ``{name: path of its .tex}``."""
    return {p.stem: p for p in sorted(HERE.glob("team_*.tex"))}


def truth(tex):
    """A fixture's stated truth per pre-mark: ``{premark id: "right" | "wrong" | "none"}``.

    ``none`` means the text does not show it (the pre-mark must say it cannot tell).
    """
    found = {}
    for line in Path(tex).read_text().splitlines():
        m = TRUTH_LINE.match(line.strip())
        if m:
            found[m.group(1)] = m.group(2)
    return found


def answers(tex):
    """A phrase of each answer that the located text must hold: ``{question: phrase}``
    (``"NOT FOUND"``: the fixture does not answer the question)."""
    found = {}
    for line in Path(tex).read_text().splitlines():
        m = ANSWER_LINE.match(line.strip())
        if m:
            found[m.group(1)] = m.group(2)
    return found


def write_png(path, gray):
    """Write a 2-D uint8 array as an 8-bit greyscale PNG (no imaging library needed)."""
    h, w = gray.shape
    raw = b"".join(b"\0" + gray[r].tobytes() for r in range(h))
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def sketch_png(path, curves, size=(360, 560), seed=0):
    """A 'photographed' sketch: axes and wobbly hand-drawn curves on off-white paper.

    ``curves`` are functions of t in [0, 1] giving a height in [0, 1].
    """
    h, w = size
    rng = np.random.default_rng(seed)
    img = np.full((h, w), 236, np.uint8) - rng.integers(0, 12, (h, w), dtype=np.uint8)
    x0, y0 = 40, h - 40
    img[40:y0, x0 - 2:x0 + 1] = 30   # y-axis
    img[y0 - 1:y0 + 2, x0:w - 20] = 30  # x-axis
    t = np.linspace(0, 1, 4 * w)
    for k, f in enumerate(curves):
        wobble = 0.01 * np.sin(t * 37 + k) + 0.006 * np.sin(t * 91 + 2 * k)
        ys = (y0 - (np.clip(f(t) + wobble, 0, 1) * (y0 - 60))).astype(int)
        xs = (x0 + t * (w - 80)).astype(int)
        for d in (-1, 0, 1):
            img[np.clip(ys + d, 0, h - 1), xs] = 20 + 50 * k
    write_png(path, img)


SKETCHES = {
    "sketch_size.png": [lambda t: 0.15 + 0.25 * (1 - np.exp(-4 * t)), lambda t: 0.4 + 0.5 * np.exp(-4 * t)],
    "sketch_complexity.png": [lambda t: 0.8 * np.exp(-3 * t), lambda t: 0.3 + 1.6 * (t - 0.5) ** 2],
    "sketch_epochs.png": [lambda t: 0.8 * np.exp(-4 * t), lambda t: 0.35 + 1.2 * (t - 0.45) ** 2],
    "network.png": [lambda t: 0.5 + 0.3 * np.sin(6 * t)],
}


def build_one(tex, out):
    """Compile ``tex`` into ``out/<team>/theory.pdf`` (pdflatex, one pass); return the PDF path."""
    tex = Path(tex)
    work = Path(out) / ".build" / tex.stem
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy2(tex, work / tex.name)
    shutil.copy2(HERE / "statement.tex", work / "statement.tex")
    for i, (name, curves) in enumerate(SKETCHES.items()):
        sketch_png(work / name, curves, seed=i)
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
                          cwd=work, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"pdflatex failed on {tex.name}:\n{proc.stdout[-3000:]}")
    team = Path(out) / tex.stem
    team.mkdir(exist_ok=True)
    pdf = team / "theory.pdf"
    shutil.copy2(work / (tex.stem + ".pdf"), pdf)
    return pdf


def build_all(out, names=None, jobs=2):
    """Build every fixture (or ``names``) into ``out``, ``jobs`` at once; ``{team: pdf path}``."""
    todo = {n: p for n, p in fixtures().items() if names is None or n in names}
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {n: pool.submit(build_one, p, out) for n, p in todo.items()}
        return {n: f.result() for n, f in futures.items()}




# ----------------------------------------------------------------------------- Word-like fixtures
# word_*.html: teams that write in Word, whose PDF export gives math italic letters (𝑓, 𝑥),
# superscripts raised onto their own line, stacked fractions and sums with their limits above and
# below.  No Word or LibreOffice here: headless Chromium prints the HTML (math in Latin Modern
# Math, as Word's Cambria Math) and ``pdftotext -layout`` of that PDF is committed beside it as
# word_*.txt (pages split by form feeds), which the tests read: fonts differ between machines, the
# committed text does not.  ``python -m review_fixtures.build --word`` writes the texts again.
UPRIGHT = {"det", "ReLU", "exp", "max", "min", "diag", "if", "and", "otherwise", "for", "sigmoid", "log"}
MARKUP = [  # the fixtures' shorthand for Word's built-up math
    (re.compile(r"<frac>(.*?)\|(.*?)</frac>", re.S), r'<span class="frac"><span>\1</span><span>\2</span></span>'),
    (re.compile(r"<sum>(.*?)\|(.*?)</sum>", re.S),
     r'<span class="nary"><span>\2</span><span class="op">∑</span><span>\1</span></span>'),
    (re.compile(r"<cases>(.*?)\|(.*?)</cases>", re.S),
     r'<span class="brace">{</span><span class="cases"><span style="display:block">\1</span>'
     r'<span style="display:block">\2</span></span>'),
]


def _math_italic(text):
    """Letters as Word's equations give them: 𝑎..𝑧, 𝐴..𝑍 (ℎ for h), 𝜂 𝛿 𝜎 𝛽 𝜃; function names upright."""
    def letter(ch):
        if ch == "h":
            return "\u210e"
        if "a" <= ch <= "z":
            return chr(0x1D44E + ord(ch) - ord("a"))
        if "A" <= ch <= "Z":
            return chr(0x1D434 + ord(ch) - ord("A"))
        return {"η": "𝜂", "δ": "𝛿", "σ": "𝜎", "β": "𝛽", "θ": "𝜃"}.get(ch, ch)
    return re.sub(r"&#?\w+;|[A-Za-zηδσβθ]+", lambda m: m.group() if m.group() in UPRIGHT or m.group()[0] == "&"
                  else "".join(map(letter, m.group())), text)


def word_html(source):
    """The fixture's HTML as Chromium prints it: the shorthand expanded, math letters italic."""
    for rx, repl in MARKUP:
        while rx.search(source):
            source = rx.sub(repl, source)
    def math(m):
        return '<span class="m">' + re.sub(r"(?<=>)[^<]+|^[^<]+", lambda t: _math_italic(t.group()), m.group(1)) + "</span>"
    source = re.sub(r"<m>(.*?)</m>", math, source, flags=re.S)
    css = (HERE / "word_style.css").read_text()
    return source.replace("</head>", f"<style>{css}</style></head>", 1)


def word_text(html_path, chromium, work):
    """``pdftotext -layout`` of the PDF headless Chromium prints from ``html_path``."""
    work = Path(work)
    page, pdf = work / (Path(html_path).stem + ".html"), work / (Path(html_path).stem + ".pdf")
    page.write_text(word_html(Path(html_path).read_text()), encoding="utf-8")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--user-data-dir={work / 'profile'}", f"--print-to-pdf={pdf}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def word_fixtures():
    """The Word-like teams: ``{name: (path of its .html, path of its committed .txt)}``."""
    return {p.stem: (p, p.with_suffix(".txt")) for p in sorted(HERE.glob("word_*.html"))}


def word_pages(name):
    """The committed text of a Word-like team, one string per page (as grade.pdftools.pdf_text splits it)."""
    pages = word_fixtures()[name][1].read_text(encoding="utf-8").split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    return pages


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="build the LaTeX teams into this folder")
    ap.add_argument("--word", action="store_true", help="write word_*.txt again from word_*.html (Chromium)")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    if args.out:
        for name, pdf in build_all(args.out, args.names or None).items():
            print(name, pdf)
    if args.word:
        browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))))
        for name, (html, txt) in word_fixtures().items():
            if not args.names or name in args.names:
                with tempfile.TemporaryDirectory() as work:
                    txt.write_text(word_text(html, browser, work), encoding="utf-8")
                print(name, txt)
