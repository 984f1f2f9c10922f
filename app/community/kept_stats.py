"""The kept_stats table: an ended range's statistics, computed once and read by every process.

stats_cache keeps an ended range in one process's memory, so each API process still computes a
month once, and a street's month costs over a second to compute. The stats_prefill job computes
last month for every street and community in a quiet hour and writes it here; a request for it
then reads one row instead (app/community/stats.py). A row is used only while its fingerprint
(stats_cache.fingerprint: count, latest update and versions of the range's and the period
before's orders) equals the database's, so an order reopened or rated since makes the request
compute again, and the next night's run rewrites the row.

Requests only read this table; the job is its one writer, so a GET never writes."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.columns import created_at
from app.core.db import Base

#: Part of every key: raised when what a row's body holds changes shape, so that rows written by
#: an older release are never read as the new shape (they are pruned with their month).
BODY_VERSION: Final = 1


class KeptStats(Base):
    """One ended range's figures for one set of communities, as stats.py serialises them."""

    __tablename__ = "kept_stats"
    __table_args__ = (sa.Index("ix_kept_stats_last", "last"),)

    #: sha256 of what the figures were computed for (store_key).
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    #: The range's last Shanghai day: rows of old months are pruned by it.
    last: Mapped[date]
    #: The orders' fingerprint the figures were computed from (fingerprint_text).
    fingerprint: Mapped[str] = mapped_column(sa.String(200))
    #: How many groups the figures hold (stats_cache weighs entries by it).
    groups: Mapped[int]
    #: The figures as JSON.
    body: Mapped[str] = mapped_column(sa.Text)
    computed_at: Mapped[created_at]


def store_key(parts: tuple[Any, ...]) -> str:
    """The row key of ``parts`` (stats_cache's key without the database): stable text hashed."""
    text = "|".join(str(part) for part in (BODY_VERSION, *parts))
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint_text(seen: tuple[Any, ...]) -> str:
    """stats_cache.fingerprint's (count, max updated_at, sum of versions) as stored text."""
    count, latest, versions = seen
    return f"{count}|{latest.isoformat() if isinstance(latest, datetime) else latest}|{versions}"


def stored_body(session: Session, key: str, seen: tuple[Any, ...]) -> tuple[str, int] | None:
    """The stored (body, groups) under ``key`` if computed from the same orders as ``seen``."""
    row = session.execute(
        sa.select(KeptStats.body, KeptStats.groups).where(
            KeptStats.key == key, KeptStats.fingerprint == fingerprint_text(seen)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


def stored_fingerprint(session: Session, key: str) -> str | None:
    """The fingerprint of the row under ``key`` (without reading its body), if any."""
    return session.scalar(sa.select(KeptStats.fingerprint).where(KeptStats.key == key))


def store(session: Session, key: str, *, last: date, seen: tuple[Any, ...], groups: int, body: str) -> None:
    """Write (or replace) the row under ``key``; the caller's transaction commits it."""
    session.execute(sa.delete(KeptStats).where(KeptStats.key == key))
    session.add(KeptStats(key=key, last=last, fingerprint=fingerprint_text(seen), groups=groups, body=body))


def prune(session: Session, before: date) -> int:
    """Delete the rows of ranges that ended before ``before``; how many."""
    result = session.execute(sa.delete(KeptStats).where(KeptStats.last < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
