"""The theory PDF of a submission: found, checked and read with poppler, treated as untrusted.

Every poppler call goes through :func:`run_tool` (time, memory, CPU and file-size limits, its
own process group, a minimal environment), so the grader can route it through its sandbox in
one place.  A PDF outside the submission (a symbolic link out of it) is never opened.
"""

import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MAX_PDF_BYTES = 50 * 2**20  # a typeset answer is well below this
MAX_PAGES = 40  # pages read and rendered per PDF
MIN_LETTERS = 200  # letters a PDF must hold to count as "a readable PDF with text in it"
CHECK_PDFS, CHECK_PAGES = 3, 3  # pdf_check reads at most this many PDFs (best name first), their first pages
SKIP_DIRS = {"venv", "__pycache__", "node_modules", "site-packages"}  # and every hidden folder
TOOL_LIMITS = {"memory": 1024 * 2**20, "file_size": 256 * 2**20}
TOOLS_PACKAGE = "poppler-utils"  # the Debian package holding pdftotext, pdftoppm and pdfinfo


class ToolMissing(RuntimeError):
    """A poppler tool is not installed."""


@dataclass
class ToolResult:
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool


def _limited(argv, memory, cpu, file_size):
    """``argv`` under resource limits: ``prlimit`` (util-linux) in front of it, or ``None`` and a
    pre-exec function where ``prlimit`` is missing (not thread-safe: only then used)."""
    if shutil.which("prlimit"):
        return ["prlimit", f"--as={memory}", f"--cpu={cpu}", f"--fsize={file_size}", "--core=0", "--", *argv], None
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return list(argv), apply


def run_tool(argv, *, reads, writes, timeout, memory=TOOL_LIMITS["memory"],
             file_size=TOOL_LIMITS["file_size"], output_cap=8 * 2**20):
    """Run one poppler command on an untrusted PDF; the ONE place that starts a tool.

    ``reads`` are the files the command reads (the PDF), ``writes`` the folder it may write
    into (its output files, and here its console output), so a sandbox can expose exactly
    these.  Limits: ``timeout`` seconds of wall-clock (the process group is killed), as many
    of CPU time, ``memory`` bytes of address space, ``file_size`` bytes per written file.
    Returns a :class:`ToolResult`; the console output is cut at ``output_cap`` bytes.
    """
    writes = Path(writes)
    if _sandbox() is not None and _sandbox().available()[0]:
        return _run_sandboxed(argv, reads, writes, timeout, memory, file_size, output_cap)
    out, err = writes / ".stdout", writes / ".stderr"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(writes)}
    timed_out = False
    if not shutil.which(argv[0]):
        raise ToolMissing(f"{argv[0]} is not installed (Debian package {TOOLS_PACKAGE})")
    cmd, preexec = _limited(argv, memory, int(timeout) + 1, file_size)
    try:
        with open(out, "wb") as fo, open(err, "wb") as fe:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, cwd=writes, env=env,
                                    start_new_session=True, preexec_fn=preexec)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
    except FileNotFoundError as exc:
        raise ToolMissing(f"{argv[0]} is not installed (Debian package {TOOLS_PACKAGE})") from exc
    def read(path):
        with open(path, "rb") as fh:
            return fh.read(output_cap).decode("utf-8", "replace")
    result = ToolResult(proc.returncode, read(out), read(err), timed_out)
    out.unlink()
    err.unlink()
    return result


def _sandbox():
    """grade/sandbox.py, or None where it is not shipped (the handout's own checks run the student's PDF as is)."""
    try:
        from . import sandbox
    except ImportError:
        return None
    return sandbox


def _run_sandboxed(argv, reads, writes, timeout, memory, file_size, output_cap):
    """``run_tool`` in the grader's bubblewrap sandbox: only ``reads`` (read-only) and ``writes`` visible."""
    sandbox = _sandbox()
    if not shutil.which(argv[0]):
        raise ToolMissing(f"{argv[0]} is not installed (Debian package {TOOLS_PACKAGE})")
    limits = sandbox.Limits(wall_seconds=timeout, memory_bytes=memory, processes=32, file_size_bytes=file_size,
                            output_bytes=4096)
    cmd = ["/bin/sh", "-c", 'exec "$@" >.stdout 2>.stderr', "sh", *argv]
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(writes)}
    outside = [r for r in reads if not Path(r).resolve().is_relative_to(writes.resolve())]
    try:
        res = sandbox.run(cmd, workdir=writes, env=env, limits=limits, readonly=outside, cwd=writes)
    except sandbox.SandboxError as err:
        raise ToolMissing(f"the sandbox did not start for {argv[0]}: {err}") from err

    def read(name):
        path = writes / name
        if not path.is_file() or path.is_symlink():
            return ""
        with open(path, "rb") as fh:
            text = fh.read(output_cap).decode("utf-8", "replace")
        path.unlink()
        return text
    return ToolResult(res.returncode, read(".stdout"), read(".stderr"), res.killed_reason == "timeout")


# ----------------------------------------------------------------------------- finding PDFs
NAME_HINTS = [(re.compile(r"theor", re.I), 4), (re.compile(r"part[\s_-]*(1|one|i)\b|teil[\s_-]*1", re.I), 3),
              (re.compile(r"answer|solution|loesung|lösung|written", re.I), 2),
              (re.compile(r"problem[\s_-]*set|assignment|sheet|handout", re.I), -2)]


def name_score(rel):
    """How much a PDF's path suggests the theory answers (higher first)."""
    return sum(points for pattern, points in NAME_HINTS if pattern.search(str(rel)))


def find_pdfs(submission):
    """``(usable, refused)``: PDFs inside ``submission`` (paths relative to it), best name first.

    Hidden folders (``.git`` ...) and environments are skipped.  ``refused`` maps a path to why
    it is not opened: a symbolic link pointing outside the submission, or not a regular file.
    """
    root = Path(submission).resolve()
    usable, refused = [], {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
        for name in sorted(files):
            if not name.lower().endswith(".pdf") or name.startswith("."):
                continue
            path = Path(folder) / name
            rel = path.relative_to(root)
            target = path.resolve()
            if not target.is_relative_to(root):
                refused[rel] = "a link to a file outside the submission"
            elif not target.is_file():
                refused[rel] = "not a regular file"
            else:
                usable.append(rel)
    usable.sort(key=lambda rel: (-name_score(rel), len(rel.parts), str(rel)))
    return usable, refused


# ----------------------------------------------------------------------------- reading a PDF
def _safe_copy(submission, rel, work):
    """Copy the PDF into ``work`` (no link followed outside the submission); its new path."""
    root = Path(submission).resolve()
    src = (root / rel).resolve()
    if not src.is_relative_to(root) or not src.is_file():
        raise ValueError(f"{rel}: not a file inside the submission")
    if src.stat().st_size > MAX_PDF_BYTES:
        raise ValueError(f"{rel}: {src.stat().st_size / 2**20:.0f} MB, above the {MAX_PDF_BYTES // 2**20} MB limit")
    dst = Path(work) / "in.pdf"
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        fo.write(fi.read(MAX_PDF_BYTES + 1))
    return dst


def pdf_pages(pdf, work, timeout=15):
    """Number of pages (pdfinfo), or raise ``ValueError`` with poppler's reason."""
    res = run_tool(["pdfinfo", str(pdf)], reads=[pdf], writes=work, timeout=timeout)
    m = re.search(r"^Pages:\s+(\d+)", res.stdout, re.M)
    if res.timed_out or res.returncode != 0 or not m:
        why = "timed out" if res.timed_out else (res.stderr.strip().splitlines() or ["no page count"])[-1]
        raise ValueError(f"not a readable PDF (pdfinfo: {why})")
    return int(m.group(1))


def pdf_text(pdf, work, layout=True, last=MAX_PAGES, timeout=60):
    """The text of pages 1..``last``, one string per page (``pdftotext``, ``-layout`` by default)."""
    out = Path(work) / "text.txt"
    argv = ["pdftotext", "-enc", "UTF-8", "-l", str(last), *(["-layout"] if layout else []), str(pdf), str(out)]
    res = run_tool(argv, reads=[pdf], writes=work, timeout=timeout)
    if res.timed_out or res.returncode != 0 or not out.exists():
        raise ValueError(f"pdftotext failed: {'timed out' if res.timed_out else res.stderr.strip()[-300:]}")
    with open(out, "rb") as fh:
        text = fh.read(16 * 2**20).decode("utf-8", "replace")
    out.unlink()
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    return pages


def render_pages(pdf, work, height=1050, quality=60, last=MAX_PAGES):
    """JPEG bytes of pages 1..``last``, each scaled to ``height`` pixels at most: ``{page: bytes}``."""
    prefix = Path(work) / "page"
    argv = ["pdftoppm", "-jpeg", "-jpegopt", f"quality={quality}", "-scale-to", str(height), "-l", str(last),
            str(pdf), str(prefix)]
    res = run_tool(argv, reads=[pdf], writes=work, timeout=120)
    images = {}
    for path in Path(work).glob("page-*.jpg"):
        images[int(path.stem.rsplit("-", 1)[1])] = path.read_bytes()
        path.unlink()
    if not images and (res.timed_out or res.returncode != 0):
        raise ValueError(f"pdftoppm failed: {'timed out' if res.timed_out else res.stderr.strip()[-300:]}")
    return images


def read_pdf(submission, rel, layout=True, images=True, height=1050, text=True, seconds=None, last=MAX_PAGES):
    """``{"pdf", "pages": [text per page], "n_pages", "images": {page: jpeg bytes}}`` of one PDF
    (``text=False``: no text, ``images=False``: no images; pages 1..``last``).  ``seconds``: the most its page
    count and text may take (poppler's usual limits otherwise)."""
    deadline = None if seconds is None else time.monotonic() + seconds

    def left(usual):
        return usual if deadline is None else max(min(usual, deadline - time.monotonic()), 0.5)
    with tempfile.TemporaryDirectory(prefix="review-") as work:
        pdf = _safe_copy(submission, rel, work)
        n_pages = pdf_pages(pdf, work, timeout=left(15))
        pages = pdf_text(pdf, work, layout=layout, last=last, timeout=left(60)) if text else []
        rendered = render_pages(pdf, work, height=height, last=last) if images else {}
    return {"pdf": str(rel), "pages": pages, "n_pages": n_pages, "images": rendered}


def pdf_check(submission_dir, seconds=None):
    """``(ok, message)`` for the item ``theory.pdf``: a readable PDF with text, inside the submission.

    A file that only starts like a PDF, a link to a file outside the submission and a PDF
    without text (a scan, images only) do not earn it; the message says which and why.  At most
    ``CHECK_PDFS`` PDFs are read (the best names first: the theory PDF), their first ``CHECK_PAGES``
    pages, within ``seconds`` in all (if given): many or slow PDFs do not stall grading.
    """
    usable, refused = find_pdfs(submission_dir)
    problems = [f"{rel} is {why}: not read" for rel, why in refused.items()]
    deadline = None if seconds is None else time.monotonic() + seconds
    for k, rel in enumerate(usable[:CHECK_PDFS]):
        left = 60 if deadline is None else deadline - time.monotonic()
        if left < 1:
            problems.append(f"{', '.join(map(str, usable[k:CHECK_PDFS]))}: not read (the {seconds} s for reading the "
                            f"PDFs ran out)")
            break
        try:
            doc = read_pdf(submission_dir, rel, layout=False, images=False, seconds=left, last=CHECK_PAGES)
        except ValueError as exc:
            problems.append(f"{rel}: {exc}".replace(f"{rel}: {rel}: ", f"{rel}: "))
            continue
        n_pages, letters = doc["n_pages"], sum(ch.isalpha() for ch in "".join(doc["pages"]))
        if letters >= MIN_LETTERS:
            return True, f"theory PDF {rel}: {n_pages} page{'s' * (n_pages != 1)} with text"
        problems.append(f"{rel}: {n_pages} page{'s' * (n_pages != 1)} but no text was found in its first "
                        f"{CHECK_PAGES} ({letters} letters; a scan or images only?): the answers must be typeset")
    if len(usable) > CHECK_PDFS:
        problems.append(f"{len(usable) - CHECK_PDFS} more PDF(s) not read (at most {CHECK_PDFS}, the theory PDF by "
                        f"name first)")
    if not problems:
        return False, "no PDF with the answers to the theoretical part was found in the submission"
    return False, "; ".join(problems)
