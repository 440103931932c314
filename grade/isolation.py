"""How one part of a submission runs: on a copy, in its own process group, with limits.

The copy lives in a temporary folder; the process gets a home folder of its own there, a
wall-clock limit (its whole process group is killed at the end), a size limit for files it
writes, a cap on the console output kept, and no network (a network namespace of its own
where ``unshare`` works).  This keeps mistakes and endless loops from breaking a grading
run; it is not a security sandbox (grade/README.md).
"""

import os
import resource
import shutil
import signal
import subprocess
from pathlib import Path

FILE_SIZE_LIMIT = 256 * 2**20  # bytes any file written by a part may reach (RLIMIT_FSIZE)
LOG_CAP = 64 * 1024  # bytes of a part's own console output kept for the report
COPY_IGNORE = {".git", ".venv", "venv", "__pycache__", "build", ".ipynb_checkpoints", "node_modules",
               ".pytest_cache"}
COPY_MAX_FILE = 50 * 2**20  # larger files are not copied (a submission is source, a notebook, a PDF)

_NETNS = None


def netns_prefix():
    """``unshare --net`` (no network interface at all) where this machine allows it, else nothing."""
    global _NETNS
    if _NETNS is None:
        _NETNS = []
        for prefix in (["unshare", "--net"], ["unshare", "--map-root-user", "--net"]):
            try:
                if subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0:
                    _NETNS = prefix
                    break
            except (OSError, subprocess.SubprocessError):
                pass
    return _NETNS


def copy_submission(src, dst):
    """A copy of the submission folder, without caches, environments and oversized files."""
    def ignore(folder, names):
        skip = set()
        for n in names:
            p = Path(folder) / n
            if n in COPY_IGNORE or (p.is_file() and not p.is_symlink() and p.stat().st_size > COPY_MAX_FILE):
                skip.add(n)
        return skip
    shutil.copytree(src, dst, ignore=ignore, symlinks=True)


def _limits():
    """In the child, before it starts: no file above FILE_SIZE_LIMIT, no core dumps."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def environment(run, submission, settings_file):
    """The child's environment: a home folder of its own in ``run``, one thread per library, no GPU."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PYTEST")) and k not in ("MNIST_PATH",)}
    home = run / "home"
    home.mkdir()
    env.update(GRADE_SUBMISSION=str(submission), GRADE_SETTINGS=str(settings_file), HOME=str(home),
               KERAS_HOME=str(home / ".keras"), MPLCONFIGDIR=str(home / "mpl"), MPLBACKEND="Agg",
               XDG_CACHE_HOME=str(home / ".cache"), TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", PYTHONNOUSERSITE="1")
    return env


def run_limited(cmd, cwd, env, seconds, log_path):
    """Run ``cmd`` for at most ``seconds``; return ``(exit status, killed, console output)``.

    The console output (stdout and stderr) goes to ``log_path``; its first ``LOG_CAP`` bytes
    come back.  At the end the whole process group is killed: the student's code may have
    started children.
    """
    killed = False
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_limits)
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            killed = True
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    with open(log_path, "rb") as fh:
        console = fh.read(LOG_CAP).decode("utf-8", "replace")
    return proc.returncode, killed, console
