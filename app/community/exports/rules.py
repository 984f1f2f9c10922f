"""Pure rules of background exports: when a running export counts as abandoned, when one may be
tried again, and the file's name. No database here."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Final

from app.community.exports.models import ExportStatus

#: A file name: 32 random bytes in URL-safe base64 (43 characters), nothing derived from the id,
#: the user or the area, so a name seen in a log or a directory listing gives nothing away.
_TOKEN_BYTES: Final = 32


def file_name() -> str:
    """``ledger-<random>.xlsx``: the prefix keeps a name from starting with "-" (safe in a shell)."""
    return f"ledger-{secrets.token_urlsafe(_TOKEN_BYTES)}.xlsx"


def is_abandoned(status: ExportStatus, started_at: datetime | None, now: datetime, timeout: timedelta) -> bool:
    """A ``running`` export whose process has not finished it within ``timeout`` was killed (or
    hung): another job process may take it again."""
    return status is ExportStatus.RUNNING and started_at is not None and started_at + timeout <= now


def may_retry(attempts: int, max_attempts: int) -> bool:
    """Another attempt after a failure or an abandoned run, while fewer than ``max_attempts``."""
    return attempts < max_attempts


def expiry(created: datetime, keep_days: int) -> datetime:
    """When an export's file goes: ``keep_days`` after it was asked for."""
    return created + timedelta(days=keep_days)
