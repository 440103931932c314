"""Theory checks of the PDF (theory/theory.pdf): built from the current sources (the MD5
fingerprints pdflatex writes into it), every section and the title page shown, the answers to
1.1-1.5 within 5 pages, the rubric of Appendix C shown with every item and mistake.  Only these
read the PDF; every check of the content reads theory.tex (tests/test_theory.py holds both)."""

import hashlib
import re

from theory_checks_document import _notebook_team, _rubric


FINGERPRINTS = {"/TheoryTexMD5": "theory.tex", "/TheoryRubricMD5": "rubric.tex",
                "/TheoryResultsMD5": "figures/results.tex", "/TheoryFig1MD5": "figures/error_vs_training_size.pdf",
                "/TheoryFig2MD5": "figures/error_vs_hidden_units.pdf", "/TheoryFig3MD5": "figures/error_vs_epochs.pdf",
                "/TheorySketch1MD5": "figures/sketch_size.pdf", "/TheorySketch2MD5": "figures/sketch_complexity.pdf",
                "/TheorySketch3MD5": "figures/sketch_epochs.pdf"}


def check_pdf_fresh(doc):
    """The PDF was built from these sources: the staleness check (not a check of content)."""
    meta = doc.reader.metadata
    folder = doc.pdf_path.parent
    for key, name in FINGERPRINTS.items():
        md5 = hashlib.md5((folder / name).read_bytes()).hexdigest()
        assert str(meta.get(key, "")).lower() == md5, \
            f"{doc.pdf_path} was not rebuilt after {name} changed: run `make -C theory pdf`"


def check_pdf_sections(doc):
    text = re.sub(r"\s+", "", "".join(doc.pages))
    for heading in ("1.1Optimization", "1.2Activationfunctions", "1.3Overfitting", "1.3.1Errorrateversusdatasetsize",
                    "1.3.2Errorrateversusmodelcomplexity", "1.3.3Trainingepochs", "1.4Capacityofneuralnetwork",
                    "1.5Neuralnetworktheory", "AThecurvesof1.3,measured", "Forgraders", "References"):
        assert heading in text, heading
    first = re.sub(r"\s+", "", doc.pages[0])
    names = [re.sub(r"\s+", "", v) for member in _notebook_team() for v in member]
    for must in ["DeepLearningE1394", "Problemset1", "Part1:theoreticalanswers"] + names:
        assert must in first, must


def check_answers_pages(doc):
    """The answers to 1.1-1.5 (sketches included) fill at most 5 pages."""
    squeezed = [re.sub(r"\s+", "", p) for p in doc.pages]
    first = next(i for i, p in enumerate(squeezed) if "1.1Optimization" in p)
    appendix = next(i for i, p in enumerate(squeezed) if "AThecurvesof1.3,measured" in p)
    assert appendix - first <= 5, f"the answers fill {appendix - first} pages"


def check_rubric_in_pdf(doc):
    """The PDF's appendix shows every question, item and mistake of rubric.toml with its points."""
    pages = doc.pages
    start = next(i for i, p in enumerate(pages) if re.search(r"C\s*For graders", p))
    text = re.sub(r"\s+", "", "".join(pages[start:]).replace("−", "-").replace("’", "'"))
    for q in _rubric()["questions"]:
        assert re.sub(r"\s+", "", f"{q['title']}{q['points']:g}points") in text, q["id"]
        for e in q["items"] + q["mistakes"]:
            desc = re.sub(r"\s+", "", e["description"])
            assert e["id"] in text and desc in text, e["id"]
    assert f"Total:{_rubric()['meta']['total']:g}points." in text
