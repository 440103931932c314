"""Theory half of grading: each team's answer to each question of part 1 beside the rubric.

``python -m grade.review SUBMISSION_DIR ... --out DIR`` writes ``review.html`` (one page per
question across all teams, the TA's marks kept in the browser and saved as a CSV) and
``review.json``.  For the grader: :func:`pdf_check` (the ``theory.pdf`` point),
:func:`read_marks` (the TA's CSV, checked against the rubric) and :func:`marks_markdown`.
"""

from .marks import MarksError, marks_markdown, read_marks
from .prepare import prepare_review, review_submission
from .rubric import DEFAULT_RUBRIC, RubricError, load_rubric
from ..pdftools import ToolMissing, pdf_check, run_tool

__all__ = ["DEFAULT_RUBRIC", "MarksError", "RubricError", "ToolMissing", "load_rubric", "marks_markdown",
           "pdf_check", "prepare_review", "read_marks", "review_submission", "run_tool"]
