"""Where background exports' files live: ``<app.var_dir>/exports/``, one random name each."""

from __future__ import annotations

from pathlib import Path

from app.core.config import Settings


def exports_dir(settings: Settings) -> Path:
    return settings.var_path / "exports"
