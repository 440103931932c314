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
