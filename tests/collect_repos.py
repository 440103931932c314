"""Git repositories for tests/test_collect.py: bare remotes reached by file:// URLs, as a team pushes to them."""

import os
import subprocess
from pathlib import Path


def git(*args, cwd=None, **env):
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


class Remote:
    """A repository on the 'server' (bare, reached by file://) and the working clone its owners push from."""

    def __init__(self, root, name, files, message="Initial commit"):
        self.bare, self.work = root / "remotes" / f"{name}.git", root / "work" / name
        git("init", "-q", "--bare", "-b", "main", str(self.bare))
        git("init", "-q", "-b", "main", str(self.work))
        git("remote", "add", "origin", str(self.bare), cwd=self.work)
        self.starter = self.commit(files, message)

    url = property(lambda self: f"file://{self.bare}")

    def commit(self, files, message, date=None, force=False):
        for name, data in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
        git("add", "-A", cwd=self.work)
        dates = {"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date} if date else {}
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.work, **dates)
        git("push", "-q", *["--force"][:force], "origin", "main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


def blobs(remote, commit):
    """``{path: bytes}`` of the commit's tree, as git stores it (the independent reference)."""
    listing = git("ls-tree", "-r", "-z", "--full-tree", commit, cwd=remote.work).split("\0")
    return {line.split("\t", 1)[1]: subprocess.run(["git", "cat-file", "blob", line.split()[2]], cwd=remote.work,
                                                   capture_output=True, check=True).stdout
            for line in listing if line and " blob " in line}


def folder_files(folder):
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = ("link", os.readlink(p)) if p.is_symlink() else p.read_bytes() if p.is_file() else None
    return {k: v for k, v in out.items() if v is not None}


def git_clone(remote, tmp_path):
    git("clone", "-q", "--bare", remote.url, str(tmp_path / "plain-clone.git"))
    return tmp_path / "plain-clone.git"


def crafted(tmp_path, name, entries):
    """A repository whose one commit's tree is made by hand (``git mktree``), as no checkout would make it.

    ``entries``: ``(name, content)``, a string content is a symbolic link's target, None a folder holding ``f``."""
    bare = tmp_path / "remotes" / f"{name}.git"
    git("init", "-q", "--bare", "-b", "main", str(bare))

    def plumbing(cmd, data):
        return subprocess.run(["git", *cmd], cwd=bare, input=data, text=True, capture_output=True,
                              check=True).stdout.strip()
    folder = plumbing(["mktree"], f"100644 blob {plumbing(['hash-object', '-w', '--stdin'], 'written')}\tf\n")
    lines = [f"040000 tree {folder}\t{n}\n" if target is None else
             f"120000 blob {plumbing(['hash-object', '-w', '--stdin'], target)}\t{n}\n" for n, target in entries]
    starter = git("commit-tree", plumbing(["mktree"], ""), "-m", "Initial commit", cwd=bare)
    commit = git("commit-tree", plumbing(["mktree"], "".join(lines)), "-p", starter, "-m", "crafted", cwd=bare)
    git("update-ref", "refs/heads/main", commit, cwd=bare)
    return f"file://{bare}"
