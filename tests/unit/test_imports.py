"""Importing the domain code and the jobs never loads Flask or werkzeug.

import-linter holds the same rule for the imports it can see; this checks what a clean
interpreter actually loads, including imports made by third-party packages on the way.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import app
import jobs

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WEB = ("flask", "werkzeug")


def modules_of(package: ModuleType) -> list[str]:
    """The package and every module under it."""
    name = package.__name__
    return [name, *(info.name for info in pkgutil.walk_packages(package.__path__, f"{name}."))]


def loaded_web_modules(modules: list[str]) -> list[str]:
    """Import ``modules`` in a fresh interpreter; the flask and werkzeug modules it then holds."""
    code = f"import sys, {', '.join(modules)}; print(sorted(m for m in sys.modules if m.split('.')[0] in {set(WEB)!r}))"
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    return loaded


def test_app_and_jobs_load_neither_flask_nor_werkzeug() -> None:
    modules = [*modules_of(jobs), *modules_of(app)]
    assert {"jobs.scheduler", "jobs.registry", "app.models", "app.orders.actions"} <= set(modules)
    assert loaded_web_modules(modules) == []


def test_the_check_sees_flask_where_it_is_loaded() -> None:
    """The same check on the API package, which is built on Flask, is not empty."""
    loaded = loaded_web_modules(["miniprogram_api"])
    assert {"flask", "werkzeug"} <= set(loaded)
