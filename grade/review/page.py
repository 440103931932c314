"""The review page: one static HTML file, no network, every page image embedded once.

The data (rubric, teams, located answers, pre-marks) and the images are JSON inside the page;
``static/page.js`` (with ``static/scoring.js``, the rubric's scoring) draws a view per question and keeps the TA's marks in the browser
(localStorage) and in the CSV of :mod:`grade.review.marks` ("Download marks" / "Load marks").
"""

import base64
import hashlib
import html
import json
from pathlib import Path

from .questions import QUESTIONS

STATIC = Path(__file__).resolve().parent / "static"


def _json_for_script(value):
    """JSON that cannot end the ``<script>`` element it sits in (the PDFs' text is untrusted)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_html(rubric, teams, images, marks_csv=""):
    """The page as a string.  ``teams`` as :func:`grade.review.prepare.review_submission` gives
    them (with ``image_refs`` {page: image key}); ``images`` {key: JPEG bytes};
    ``marks_csv`` the marks the page starts from when the browser holds none for it."""
    teams = sorted(teams, key=lambda t: t["team"])
    data = {"rubric": rubric, "questions": list(QUESTIONS), "teams": teams, "initial_csv": marks_csv}
    data["review_id"] = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
    encoded = {k: base64.b64encode(v).decode("ascii") for k, v in images.items()}
    title = f"Theory review: {len(teams)} team{'s' * (len(teams) != 1)}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{html.escape(title)}</title>
<style>
{(STATIC / "page.css").read_text(encoding="utf-8")}
</style>
</head>
<body>
<header>
  <h1>{html.escape(title)}</h1>
  <nav id="tabs"></nav>
  <div class="actions">
    <button id="download" type="button">Download marks</button>
    <label class="button">Load marks<input id="load" type="file" accept=".csv,text/csv" hidden></label>
    <span id="status"></span>
  </div>
</header>
<main id="view"><noscript>This page needs JavaScript (it runs offline, in this file only).</noscript></main>
<pre id="selftest-result" hidden></pre>
<script type="application/json" id="review-data">{_json_for_script(data)}</script>
<script type="application/json" id="review-images">{_json_for_script(encoded)}</script>
<script>
{(STATIC / "scoring.js").read_text(encoding="utf-8")}
{(STATIC / "page.js").read_text(encoding="utf-8")}
</script>
</body>
</html>
"""


def write_page(path, rubric, teams, images, marks_csv=""):
    """Write :func:`page_html` to ``path``; returns the path."""
    path = Path(path)
    path.write_text(page_html(rubric, teams, images, marks_csv), encoding="utf-8")
    return path
