"""Make the project's top-level modules importable from the tests, wherever pytest starts, and let the
tests start `make` as a user's shell does."""

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
