"""The grader's judges: one function per item, registered by id (grade/items.py)."""
