"""The theory rubric (``theory/rubric.toml``) for the review page and the marks: loaded and checked.

The schema (``[meta] total``; ``[[questions]]`` 1.1 ... 1.5 with ``title``, ``points`` = the sum of
their ``[[questions.items]]`` (``id`` "<question>.<snake_case>", ``points``, ``description``) and
``[[questions.mistakes]]`` (``id``, ``deduction``, ``description``, ``applies_to`` = the item of the
same question whose points it caps, at most that item's points)) is declared and checked once, by
``theory/rubric.py``, which also writes the rubric's tables into theory.pdf; it is loaded here by its
path (it needs nothing but the standard library, so theory/ never imports the grader).  How marks and
mistakes combine into a score: :mod:`grade.review.marks`.
"""

import importlib.util
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_RUBRIC = REPO / "theory" / "rubric.toml"


def _schema():
    spec = importlib.util.spec_from_file_location("_grade_theory_rubric", REPO / "theory" / "rubric.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCHEMA = _schema()
QUESTION_IDS = SCHEMA.QUESTION_IDS


class RubricError(ValueError):
    """The rubric file does not follow the schema (the message lists every problem)."""


def load_rubric(path=None):
    """The rubric as ``{"total", "questions": [{"id", "title", "points", "items", "mistakes"}], "path"}``.

    ``path`` defaults to ``theory/rubric.toml``.  Raises :class:`RubricError` naming every problem, each with
    what was expected and what was received (theory/rubric.py's check).
    """
    path = Path(path) if path else DEFAULT_RUBRIC
    if not path.is_file():
        raise RubricError(f"no rubric at {path}: expected theory/rubric.toml (or pass --rubric FILE)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{path} is not valid TOML: {exc}") from exc
    problems = SCHEMA.problems(data)
    if problems:
        raise RubricError(f"{path}:\n  " + "\n  ".join(problems))
    return {"total": data["meta"]["total"], "questions": data["questions"], "path": str(path)}
