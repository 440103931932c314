"""Prepare the theory review of many submissions: each team's PDF read, answers located,
pre-marked, pages rendered; one HTML page (:mod:`grade.review.page`) and ``review.json``."""

import concurrent.futures
import hashlib
import json
import time
from pathlib import Path

from .checks import premarks_for
from .locate import locate_answers
from .marks import read_marks
from .page import write_page
from .rubric import load_rubric
from ..pdftools import find_pdfs, read_pdf

MAX_CANDIDATES = 5  # PDFs of one submission compared by their content
READ_SECONDS = 60  # for reading their text, all together: a theory PDF takes a second or two, a PDF bomb all of it


def _answered(located):
    return sum(1 for a in located.values() if a["found"] and any(t.strip() for _, t in a["lines"]))


def review_submission(folder, height=1050, layout=True):
    """One team: ``{"team", "pdf", "problem", "n_pages", "answers", "premarks", "images"}``.

    Several PDFs: the one whose text answers most questions is read (its name breaks ties:
    theory / part 1 first).  ``problem`` says why there is nothing to review, else is ``""``.
    """
    folder = Path(folder)
    team = {"team": folder.name, "pdf": None, "problem": "", "n_pages": 0, "answers": {}, "premarks": {},
            "images": {}}
    usable, refused = find_pdfs(folder)
    notes = [f"{rel}: {why}, not read" for rel, why in refused.items()]
    best, deadline = None, time.monotonic() + READ_SECONDS
    for rank, rel in enumerate(usable[:MAX_CANDIDATES]):
        left = deadline - time.monotonic()
        if left < 1:
            notes.append(f"{', '.join(map(str, usable[rank:MAX_CANDIDATES]))}: not read (the {READ_SECONDS} s for "
                         f"reading this team's PDFs ran out)")
            break
        try:
            doc = read_pdf(folder, rel, layout=layout, images=False, seconds=left)
        except ValueError as exc:
            notes.append(f"{rel}: {exc}")
            continue
        located = locate_answers(doc["pages"])
        key = (_answered(located), -rank)
        if best is None or key > best[0]:
            best = (key, rel, doc, located)
    if best is None:
        team["problem"] = "; ".join(notes) or "no PDF in the submission"
        return team
    _, rel, doc, located = best
    team.update(pdf=str(rel), n_pages=doc["n_pages"], answers=located, premarks=premarks_for(located))
    if notes:
        team["problem"] = "; ".join(notes)
    shown = {p for a in located.values() for p in a["pages"]}
    if any(not a["pages"] for a in located.values()):
        shown = None  # an answer not found: every page is shown for it
    try:
        images = read_pdf(folder, rel, images=True, height=height, text=False)["images"]
        team["images"] = {p: data for p, data in images.items() if shown is None or p in shown}
    except ValueError as exc:
        team["problem"] = "; ".join(filter(None, [team["problem"], f"pages not rendered: {exc}"]))
    return team


def prepare_review(submissions, out, rubric_path=None, marks_path=None, jobs=2, height=1050):
    """Review ``submissions`` (folders; the folder name is the team) into ``out``.

    Writes ``out/review.html`` (the page, self-contained) and ``out/review.json`` (everything
    but the images).  Returns ``{"html", "json", "teams": [names], "seconds", "html_bytes"}``.
    Raises ``ValueError`` for two submissions with one name.
    """
    start = time.monotonic()
    folders = [Path(s) for s in submissions]
    names = [f.name for f in folders]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"two submissions share a folder name: {', '.join(twice)} (the name is the team key)")
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        raise ValueError(f"not a folder: {', '.join(missing)}")
    rubric = load_rubric(rubric_path)
    marks_csv = Path(marks_path).read_text(encoding="utf-8-sig") if marks_path else ""
    if marks_path:
        read_marks(marks_path, rubric, teams=names)  # refuse a file that does not fit before any work
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
        teams = list(pool.map(lambda f: review_submission(f, height=height), folders))
    images = {}
    for team in teams:
        refs = {}
        for page, data in team.pop("images").items():
            key = hashlib.sha256(data).hexdigest()[:20]
            images[key] = data
            refs[page] = key
        team["image_refs"] = refs
    (out / "review.json").write_text(json.dumps({"rubric": rubric, "teams": teams}, indent=1, ensure_ascii=False),
                                     encoding="utf-8")
    html = write_page(out / "review.html", rubric, teams, images, marks_csv)
    return {"html": str(html), "json": str(out / "review.json"), "teams": names,
            "seconds": time.monotonic() - start, "html_bytes": html.stat().st_size}
