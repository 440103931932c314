"""Run the public checks of problem set 1 on this folder: ``python check.py [part or item ...]``.

The same checks as the teaching assistant's grader, for the items students may check themselves
(see README.md); ``python check.py --help`` lists the options.
"""

import sys

from grade.public import main, section  # noqa: F401 -- `import check; check.section("scratch")` in the notebook

if __name__ == "__main__":
    sys.exit(main())
