"""Build the review fixtures: each ``team_*.tex`` here becomes ``<out>/<team>/theory.pdf``.

The sketches of 1.3 are images in real submissions (photographs of paper drawings); here they
are PNGs drawn at build time (:func:`sketch_png`), so the PDFs hold images, not text.
``python -m review_fixtures.build --out DIR`` (from tests/) builds them by hand.
"""

import argparse
import concurrent.futures
import re
import shutil
import struct
import subprocess
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


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    for name, pdf in build_all(args.out, args.names or None).items():
        print(name, pdf)
