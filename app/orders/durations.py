"""How long an order waited at each step, kept on the order as whole microseconds by the
database itself (generated columns), for the statistics' percentiles (app/community/stats.py).

Why generated columns and not values the workflow writes: every place that sets or clears a
moment (dispatch, publish, reassign, accept, claim, complete, resolve, a dispute's reopening, a
seed or a hand-written UPDATE) keeps the duration right without knowing about it, in the same
statement. Why microseconds: the moments are kept to the microsecond, so the durations are exact
and the percentiles equal the ones computed from the moments themselves (whole seconds could
move a rounded median across a tenth of a minute). Integers sort about twice as fast as the
intervals PostgreSQL would otherwise compute per row.

A duration is NULL while either moment is unset, and when the later one is before the earlier
(a moment set by hand): the statistics leave those orders out of that duration."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement


class Microseconds(ColumnElement[int]):
    """``later − earlier`` in whole microseconds, or NULL (see the module): the expression of a
    generated column, in each database's own words."""

    inherit_cache = True
    type = sa.BigInteger()

    def __init__(self, later: str, earlier: str) -> None:
        self.later, self.earlier = later, earlier


def postgresql_sql(later: str, earlier: str) -> str:
    return f"CASE WHEN {later} >= {earlier} THEN (EXTRACT(EPOCH FROM {later} - {earlier}) * 1000000)::bigint END"


def sqlite_sql(later: str, earlier: str) -> str:
    # SQLite keeps UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy always writes the six
    # digits): whole seconds from the text without its fraction, the microseconds from the
    # fraction, both exact. Not strftime('%s') of the whole text: SQLite rounds a moment to the
    # millisecond first, so '…:00.999500' would count as the next second (a duration 1 s off).
    def micros(moment: str) -> str:
        whole = f"CAST(strftime('%s', substr({moment}, 1, 19)) AS INTEGER)"
        return f"({whole} * 1000000 + CAST(substr({moment}, 21, 6) AS INTEGER))"

    return f"CASE WHEN {later} >= {earlier} THEN {micros(later)} - {micros(earlier)} END"


@compiles(Microseconds, "postgresql")
def _postgresql(element: Microseconds, compiler: SQLCompiler, **kw: Any) -> str:
    return postgresql_sql(element.later, element.earlier)


@compiles(Microseconds, "sqlite")
def _sqlite(element: Microseconds, compiler: SQLCompiler, **kw: Any) -> str:
    return sqlite_sql(element.later, element.earlier)


def duration_column(later: str, earlier: str) -> Any:
    """A generated BIGINT column of ``later − earlier`` (STORED: written with the row, so reading
    it costs nothing; SQLite databases migrated from before it hold it VIRTUAL, computed on read)."""
    return sa.orm.mapped_column(sa.BigInteger(), sa.Computed(Microseconds(later, earlier), persisted=True))
