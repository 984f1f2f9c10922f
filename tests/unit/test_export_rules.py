"""Background exports' pure rules: when a running export is abandoned, retries, file names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.community.exports.models import ExportStatus
from app.community.exports.rules import expiry, file_name, is_abandoned, may_retry

_AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
_TIMEOUT = timedelta(minutes=30)


@pytest.mark.parametrize(
    ("status", "started", "abandoned"),
    [
        (ExportStatus.RUNNING, _AT - _TIMEOUT, True),  # exactly the timeout: taken again
        (ExportStatus.RUNNING, _AT - _TIMEOUT + timedelta(seconds=1), False),
        (ExportStatus.RUNNING, None, False),
        (ExportStatus.QUEUED, _AT - 2 * _TIMEOUT, False),
        (ExportStatus.DONE, _AT - 2 * _TIMEOUT, False),
    ],
)
def test_only_a_running_export_past_the_timeout_is_abandoned(
    status: ExportStatus, started: datetime | None, abandoned: bool
) -> None:
    assert is_abandoned(status, started, _AT, _TIMEOUT) is abandoned


def test_attempts_stop_at_the_maximum() -> None:
    assert [may_retry(n, 3) for n in range(5)] == [True, True, True, False, False]


def test_file_names_are_random_and_shell_safe() -> None:
    names = {file_name() for _ in range(50)}
    assert len(names) == 50
    assert all(n.startswith("ledger-") and n.endswith(".xlsx") and len(n) <= 64 for n in names)


def test_files_expire_keep_days_after() -> None:
    assert expiry(_AT, 7) == _AT + timedelta(days=7)
