"""Last month's statistics computed ahead for every street and community (the stats_prefill job),
so that a month's first ``GET /stats`` in any process reads one row (app/community/kept_stats.py)
instead of computing: a street's month takes over a second to compute, and every street admin and
secretary asks for last month in the first days of the next one (the monthly evaluation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import sqlalchemy as sa

from app.areas.models import Area, AreaKind
from app.community import kept_stats
from app.community.stats import prefill, prefill_needed
from app.community.stats_rules import period
from app.core.clock import shanghai_today
from app.runtime import Runtime

#: Rows of ranges that ended before the first day of this many months ago are deleted: the
#: evaluation reads last month and compares with the one before; older months are rare, and
#: computed (and kept in the asking process) when asked.
KEEP_MONTHS: Final = 3


@dataclass(frozen=True)
class PrefillReport:
    month: str
    #: Areas whose figures were computed and written (no row, or orders changed since).
    computed: int
    #: Areas whose row was made from the orders as they are (nothing computed).
    unchanged: int
    #: Rows of old months deleted.
    pruned: int


def last_month(today: date) -> tuple[date, date]:
    """The first and last day of the calendar month before ``today``'s."""
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def months_back(day: date, months: int) -> date:
    """The first day of the month ``months`` before ``day``'s."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def prefill_last_month(rt: Runtime, now: datetime) -> PrefillReport:
    """Write last month's figures of each community and each street whose row is missing or was
    made from orders that have changed since; delete old months' rows. Each area is read in a
    transaction of its own and written in a short one after, so that no write lock is held while
    a street computes (SQLite has one for the whole database)."""
    first, last = last_month(shanghai_today(now))
    span = period(first, last)
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(Area.id, Area.kind, Area.parent_id)
            .where(Area.kind.in_([AreaKind.STREET, AreaKind.COMMUNITY]))
            .order_by(Area.id)
        ).all()
    under: dict[int, list[int]] = {i: [] for i, kind, _parent in rows if kind is AreaKind.STREET}
    targets: list[tuple[list[int], bool]] = []
    for area_id, kind, parent_id in rows:
        if kind is AreaKind.COMMUNITY:
            targets.append(([area_id], False))
            if parent_id in under:
                under[parent_id].append(area_id)
    targets.extend((communities, True) for communities in under.values() if communities)
    computed = unchanged = 0
    for communities, street in targets:
        with rt.db.read() as session:
            seen = prefill_needed(session, communities, span, street=street)
            if seen is None:
                unchanged += 1
                continue
            made = prefill(session, communities, span, now, street=street, seen=seen)
        with rt.db.write() as session:
            kept_stats.store(session, made.key, last=span.last, seen=made.seen, groups=made.groups, body=made.body)
        computed += 1
    with rt.db.write() as session:
        pruned = kept_stats.prune(session, months_back(first, KEEP_MONTHS - 1))
    return PrefillReport(month=first.strftime("%Y-%m"), computed=computed, unchanged=unchanged, pruned=pruned)
