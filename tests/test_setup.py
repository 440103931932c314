"""The set-up a new user follows: the README's plain commands are what the make targets run."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "python3.11"  # the README's first command names it; make is told the same below


def readme_plain_commands():
    """The commands of the README's 'Without make' block, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("**Without make**", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]


def make_commands(*targets):
    """What `make` would run for ``targets`` from scratch (a dry run: nothing is executed)."""
    out = subprocess.run(["make", "-n", "-B", "-s", f"PYTHON={PYTHON}", *targets], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines()
            if line.strip() and not line.startswith(("echo ", "touch "))]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_and_make_test_wrap_exactly_the_readme_plain_commands():
    plain = readme_plain_commands()
    assert plain[0] == f"{PYTHON} -m venv .venv"
    set_up = plain[:3]
    assert make_commands("run") == set_up + [plain[3]]
    assert make_commands("test") == set_up + [plain[4]]
    assert make_commands("test-fast") == set_up + [plain[5]]
    assert len(plain) == 6


def test_licence_is_there_and_permissive():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text
