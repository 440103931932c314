"""Git plumbing for collecting: clone bare, find the commit, measure its tree, write it out with ``git archive``.

Every command runs in a bare clone this process made (never in a folder a team controls), with
no hooks, no prompts, no submodules or LFS objects fetched, and the team's ``.gitattributes``
overridden so that the files written are the blobs of the tree, byte for byte (no
``export-ignore``, ``export-subst``, line-ending or filter conversions).
"""

import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024
# Protocols a clone may use (ext:: and the like run commands); file is a local folder or file:// URL.
_PROTOCOLS = ("https", "http", "ssh", "git", "file")
_SAFE = ["-c", "core.hooksPath=/dev/null", "-c", "protocol.allow=never",
         *(arg for p in _PROTOCOLS for arg in ("-c", f"protocol.{p}.allow=always"))]
_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
             "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE")
# Overrides every .gitattributes of the tree: the archive holds the blobs as they are.
_ATTRIBUTES = "* -text -eol -crlf -filter -ident -export-ignore -export-subst -working-tree-encoding\n"
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"


class CollectError(Exception):
    """A repository or commit that cannot be collected (the reason, for the teaching assistant)."""


@dataclass(frozen=True)
class Limits:
    """What a collected tree may hold: refused with its size beyond these (measured before extracting)."""
    max_file: int = 256 * MiB      # the sandbox's own file-size limit
    max_total: int = 1024 * MiB
    max_files: int = 20000
    clone_seconds: float = 900


def _env():
    env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_LFS_SKIP_SMUDGE="1", LC_ALL="C")
    if not env.get("GIT_SSH_COMMAND") and not env.get("GIT_SSH"):
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"  # a private repository fails instead of asking
    return env


def git(*args, git_dir=None, timeout=120, check=True, binary=False, index=None):
    cmd = ["git", *_SAFE, *([f"--git-dir={git_dir}"] if git_dir else []), *args]
    env = {**_env(), **({"GIT_INDEX_FILE": str(index)} if index else {})}
    try:
        proc = subprocess.run(cmd, capture_output=True, env=env, timeout=timeout, text=not binary,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise CollectError(f"git {args[0]} did not finish within {timeout:g} s") from None
    if check and proc.returncode != 0:
        err = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode(errors="replace")
        lines = [line.strip() for line in err.splitlines() if line.strip()]
        said = [line for line in lines if line.startswith(("fatal:", "error:", "remote:"))] or lines[-1:]
        raise CollectError(" ".join(said[:2])[:400] or f"git {args[0]} failed with status {proc.returncode}")
    return proc


def clone(location, dest, limits):
    """A bare clone of ``location`` (URL or folder) at ``dest``: the branches and HEAD, nothing checked out."""
    try:
        git("clone", "--bare", "--quiet", "--", str(location), str(dest), timeout=limits.clone_seconds)
    except CollectError as err:
        raise CollectError(f"cannot clone {location}: {err} (a missing or private repository, or not a git "
                           f"repository; for a private one git needs your credentials: gh auth setup-git)") from None
    (Path(dest) / "info").mkdir(exist_ok=True)
    (Path(dest) / "info" / "attributes").write_text(_ATTRIBUTES)
    return Path(dest)


def remote_head(location):
    """The commit the default branch of ``location`` (URL or folder) points at now (``git ls-remote``)."""
    try:
        out = git("ls-remote", "--", str(location), "HEAD", timeout=120).stdout.split()
    except CollectError as err:
        raise CollectError(f"cannot read {location}: {err}") from None
    if not out:
        raise CollectError(f"{location} has no commit on its default branch (empty)")
    return out[0]


def head_commit(repo):
    proc = git("rev-parse", "--verify", "--quiet", "HEAD^{commit}", git_dir=repo, check=False)
    if proc.returncode != 0:
        raise CollectError("the repository has no commit on its default branch (empty)")
    return proc.stdout.strip()


def resolve(repo, commit, location):
    """The full SHA of ``commit`` (hex, 7-40 digits) in ``repo``, or CollectError saying why not.

    A full SHA on no branch (a history rewritten after it) is asked of ``location`` by its id, as GitHub
    serves it."""
    if not (7 <= len(commit) <= 40 and all(c in "0123456789abcdefABCDEF" for c in commit)):
        raise CollectError(f"{commit!r} is not a commit SHA (7 to 40 hexadecimal digits)")
    for attempt in range(2):
        proc = git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}", git_dir=repo, check=False)
        if proc.returncode == 0:
            return proc.stdout.strip()
        if attempt or len(commit) != 40:
            break
        git("fetch", "--quiet", "--no-tags", "--", str(location), commit, git_dir=repo, check=False)
    raise CollectError(f"commit {commit} is not in the repository (a typo, another repository's SHA, or a history "
                       f"rewritten after it that the server no longer gives out)")


def commit_info(repo, commit):
    """``(tree, parents, committer date, default branch, commits after it on that branch or None, note)``."""
    tree, parents, date = git("show", "-s", "--format=%T%n%P%n%cI", commit, git_dir=repo).stdout.split("\n")[:3]
    branch = git("symbolic-ref", "--quiet", "--short", "HEAD", git_dir=repo, check=False).stdout.strip()
    after, note = None, ""
    if not branch:
        note = "HEAD is detached in the source: commits after it cannot be counted"
    else:
        after = int(git("rev-list", "--count", f"{commit}..HEAD", git_dir=repo).stdout)
        if git("merge-base", "--is-ancestor", commit, "HEAD", git_dir=repo, check=False).returncode != 0:
            note = f"the commit is not on {branch} (its history was rewritten after it)"
    return tree, parents.split(), date, branch, after, note


def all_trees(repo):
    """The trees of every commit on every branch of ``repo`` (the template's starter trees)."""
    return set(git("log", "--all", "--format=%T", git_dir=repo).stdout.split())


@dataclass
class TreeSize:
    files: int
    total: int
    largest: int
    largest_path: str
    submodules: list
    symlinks: list


def _bad_path(path):
    parts = path.split("/")
    return any(p in ("", ".", "..") or p.lower() == ".git" for p in parts) or "\0" in path


def measure(repo, commit, limits):
    """Sizes of the tree's blobs (``git ls-tree -r -l``), refused beyond ``limits`` before anything is written."""
    out = git("ls-tree", "-r", "-l", "-z", "--full-tree", commit, git_dir=repo, binary=True).stdout
    size = TreeSize(0, 0, 0, "", [], [])
    for entry in filter(None, out.split(b"\0")):
        meta, _, raw = entry.partition(b"\t")
        mode, kind, _, length = meta.split()
        path = raw.decode(errors="surrogateescape")
        if _bad_path(path):
            raise CollectError(f"the tree holds a path git itself would not check out: {path!r}")
        if kind == b"commit":
            size.submodules.append(path)
            continue
        if mode == b"120000":
            size.symlinks.append(path)
        size.files, size.total = size.files + 1, size.total + int(length)
        if int(length) > size.largest:
            size.largest, size.largest_path = int(length), path
    if size.largest > limits.max_file:
        raise CollectError(f"the file {size.largest_path!r} is {size.largest / MiB:.1f} MB, over the limit of "
                           f"{limits.max_file / MiB:g} MB a file")
    if size.total > limits.max_total:
        raise CollectError(f"the tree holds {size.total / MiB:.1f} MB, over the limit of {limits.max_total / MiB:g} MB")
    if size.files > limits.max_files:
        raise CollectError(f"the tree holds {size.files} files, over the limit of {limits.max_files}")
    return size


def extract(repo, commit, dest, limits):
    """Write the tree of ``commit`` into the new folder ``dest`` from ``git archive`` (no ``.git``).

    Symbolic links are kept as they are (the grader refuses those leading outside the submission),
    submodules are empty folders; nothing is written outside ``dest``, no file twice, and the
    bytes written are capped again at ``limits`` whatever the archive says.  Returns the LFS
    pointer files found.
    """
    dest = Path(dest)
    dest.mkdir()
    root = os.path.realpath(dest)
    proc = subprocess.Popen(["git", *_SAFE, f"--git-dir={repo}", "archive", "--format=tar", commit],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=_env())
    written, lfs, done = 0, [], False
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                written += member.size
                if member.size > limits.max_file or written > limits.max_total:
                    raise CollectError(f"the archive holds more than the limits ({limits.max_file / MiB:g} MB a "
                                       f"file, {limits.max_total / MiB:g} MB in all)")
                if _write_member(tar, member, dest, root):
                    lfs.append(member.name)
        rest = proc.stdout.read(MiB)  # what follows the end-of-archive blocks: the record's zero padding only
        if rest.strip(b"\0") or proc.stdout.read(1):
            raise CollectError("git archive wrote something after the end of the archive")
        done = True
    except (tarfile.TarError, OSError) as err:
        raise CollectError(f"cannot write the tree: {err}") from None
    finally:
        if not done:
            proc.kill()
        proc.stdout.close()
        stderr = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
        proc.wait()
    if proc.returncode != 0:
        raise CollectError(f"git archive failed: {stderr}")
    return lfs


def _write_member(tar, member, dest, root):
    """Write one archive entry below ``dest`` (whose real path is ``root``); True for an LFS pointer file."""
    name = member.name.rstrip("/")
    if _bad_path(name) or name.startswith("/"):
        raise CollectError(f"the archive holds a path outside the tree: {name!r}")
    target = dest / name
    if os.path.realpath(target.parent) != os.path.join(root, os.path.dirname(name)).rstrip("/"):
        raise CollectError(f"the archive's path {name!r} goes through a symbolic link")
    if member.isdir():
        target.mkdir(exist_ok=True)
    elif member.issym():
        os.symlink(member.linkname, target)
    elif member.isreg():
        source = tar.extractfile(member)
        head = source.read(len(LFS_POINTER))
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                     0o755 if member.mode & 0o111 else 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(head)
            shutil.copyfileobj(source, fh, MiB)
        return head == LFS_POINTER and member.size < 1024
    else:
        raise CollectError(f"the archive holds {name!r}, neither a file, a folder nor a symbolic link")
    return False
