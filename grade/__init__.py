"""Grade problem set 1 submissions against this model answer; see grade/README.md.

``python -m grade SUBMISSION_DIR ... --out build/grades --jobs 2`` grades folders;
``python -m grade.handout`` writes the student version (``make handout``).
"""

from .runner import ITEMS, PARTS, grade_submissions

__all__ = ["ITEMS", "PARTS", "grade_submissions"]
