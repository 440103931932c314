"""Grade problem set 1 submissions against this model answer; see grade/README.md.

``python -m grade SUBMISSION_DIR ... --out build/grades`` grades folders;
``python -m grade.handout`` writes the student version (``make handout``).
"""

from .batch import grade_submissions

__all__ = ["grade_submissions"]
