"""``python -m grade.collect``: each team's submission as it stood at the deadline, ready for ``python -m grade``.

From folders of cloned team repositories or repository URLs (cloned bare into a temporary
folder: no hooks, nothing checked out, no submodules or LFS objects fetched), and optionally a
commit file naming each team's commit (else HEAD as cloned), it writes ``<out>/<team>/`` as the
tree of that commit (``git archive``, no ``.git``) and ``<out>/collected.csv``.  See
grade/README.md, "From Classroom to Moodle".
"""

from .gitrepo import CollectError, Limits
from .run import COLLECTED, COLUMNS, collect, graded_commit, read_collected, snapshot
from .teams import TeamError, assign, read_commits, read_roster_keys, read_url_list, source

__all__ = ["COLLECTED", "COLUMNS", "CollectError", "Limits", "TeamError", "assign", "collect", "graded_commit",
           "read_collected", "read_commits", "read_roster_keys", "read_url_list", "snapshot", "source"]
