"""An order's preferred time as minutes of the week in Asia/Shanghai, computed by the database (the
pool ranks every pooled order by it in one statement). China keeps no summer time, so Shanghai is
UTC+8 all year and the minute of the week is arithmetic on the epoch."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.volunteers.availability import DAY, WEEK, Slot

#: 1970-01-01 00:00 UTC was a Thursday, 08:00 in Shanghai: 3 days and 8 hours into its week.
_EPOCH_IN_WEEK = 3 * DAY + 8 * 60
#: A preferred time with no end lasts this long (as ``availability.week_window``).
_DEFAULT_LENGTH = 60


def _epoch_minutes(dialect: str, column: Any) -> sa.ColumnElement[int]:
    if dialect == "postgresql":
        return sa.cast(sa.func.floor(sa.extract("epoch", column) / 60), sa.BigInteger)
    # SQLite keeps UTC wall times (app.core.db.UTCDateTime); %s reads them as UTC. The fraction
    # is cut off first: strftime rounds to the millisecond, so 10:59:59.9996 would be 11:00.
    whole_seconds = sa.func.strftime("%s", sa.func.substr(column, 1, 19))
    return sa.cast(sa.cast(whole_seconds, sa.Integer) / 60, sa.Integer)


def free_during(dialect: str, start: Any, end: Any, slots: list[Slot]) -> sa.ColumnElement[bool]:
    """True where the window from ``start`` to ``end`` (columns; no end: an hour), on the day it
    starts, overlaps one of ``slots``. False for no slots or no start."""
    if not slots:
        return sa.false()
    begin = (_epoch_minutes(dialect, start) + _EPOCH_IN_WEEK) % WEEK
    length = sa.case(
        (end.is_(None), _DEFAULT_LENGTH),
        else_=_epoch_minutes(dialect, end) - _epoch_minutes(dialect, start),
    )
    day_end = (begin / DAY + 1) * DAY
    finish = sa.case((begin + length > day_end, day_end), else_=begin + length)
    overlaps = [sa.and_(sa.literal(slot.starts) < finish, sa.literal(slot.ends) > begin) for slot in slots]
    return sa.and_(start.is_not(None), sa.or_(*overlaps))
