"""Make the project's top-level modules importable from the tests, wherever pytest starts, let the tests
start `make` as a user's shell does, and choose how many workers run the suite (pytest.ini: ``-n auto``)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# `make test` runs pytest as a sub-make: GNU make then exports MAKELEVEL/MAKEFLAGS/MFLAGS, and every
# `make` a test starts would print "Entering directory ..." and inherit make's flags.  The tests run
# the documented commands as a user types them in a shell, so they start without those variables.
for _name in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"):
    os.environ.pop(_name, None)


MAX_WORKERS = 4  # a grading run's sandboxes hold up to 3 GiB each: more workers than this want more memory than a laptop has


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker per core this process may run on, at most MAX_WORKERS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


# pytest-xdist hands the test files to the workers in the order they are collected: the files whose runs take
# longest (a grading run, the benchmark's smoke run, a notebook) go first, so that none starts when the others end.
LONGEST_FIRST = ["test_grade_hostile.py", "test_grade.py", "test_grade_environment.py", "test_bench.py",
                 "test_public.py", "test_grade_cli.py", "test_collect.py", "test_template.py",
                 "test_network_tensorflow.py", "test_grade_code.py", "test_sandbox.py", "test_notebook.py",
                 "test_review.py"]


def pytest_collection_modifyitems(config, items):
    rank = {name: k for k, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file keeps its own order
