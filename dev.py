#!/usr/bin/env python3
"""Set up the project's virtual environment when needed, then run Linli or its tests.

    python3 dev.py run      # migrate, load demo data, serve API + WeChat simulator
    python3 dev.py test     # the test suite with branch coverage and its floor (extra arguments go to pytest)

Needs only Python 3.11+. Dependencies are installed from pyproject.toml into .venv, again
whenever pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".linli-installed"
COVERAGE = ("--cov", "--cov-branch", "--cov-report=term:skip-covered")


def _requirements_hash() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the project with its dev extras, unless already current."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must explain itself on old Pythons
        sys.exit(f"Linli needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _requirements_hash()
    if STAMP.exists() and STAMP.read_text(encoding="utf-8").strip() == wanted:
        return
    print("dev.py: installing dependencies into .venv (first run takes a minute)", flush=True)
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", "--editable", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted, encoding="utf-8")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "setup"}:
        print(__doc__)
        return 2
    ensure_venv()
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "setup":
        return 0
    if command == "run":
        return subprocess.call([str(BIN / "linli"), "run", *rest])
    # The whole suite measures branch coverage and fails under the floor in pyproject.toml.
    # pytest's exit 5 ("no tests collected") is passed on as the failure it is.
    return subprocess.call([str(PYTHON), "-m", "pytest", *COVERAGE, *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
