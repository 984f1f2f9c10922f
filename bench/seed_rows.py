"""What seed.py writes: the tables, their columns in row order, and timestamps as the database keeps them.

Table names come from the models; the column lists are checked against the models at start-up, so
that a column added to a model stops the seeder with a clear message instead of loading rows the
app cannot read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Final

import app.models  # noqa: F401 - importing the models registers every table on Base.metadata
from app.areas.models import Area, ServiceCategory
from app.core.clock import SHANGHAI
from app.core.db import Base
from app.identity.models import Household, RoleMembership, User
from app.orders.models import Order, OrderEvent, OrderNumberCounter, Rating, ReturnVisit
from app.property.models import PropertyCompany, PropertyCompanyCommunity, PropertyCompanyStaff
from app.timebank.ledger import PointsEntry
from app.volunteers.models import Team, TeamMember, UserSkill

#: One row, in the order of its table's entry in COLUMNS.
Row = tuple[object, ...]

AREAS: Final = Area.__tablename__
CATEGORIES: Final = ServiceCategory.__tablename__
USERS: Final = User.__tablename__
MEMBERSHIPS: Final = RoleMembership.__tablename__
HOUSEHOLDS: Final = Household.__tablename__
SKILLS: Final = UserSkill.__tablename__
TEAMS: Final = Team.__tablename__
TEAM_MEMBERS: Final = TeamMember.__tablename__
COMPANIES: Final = PropertyCompany.__tablename__
COMPANY_COMMUNITIES: Final = PropertyCompanyCommunity.__tablename__
COMPANY_STAFF: Final = PropertyCompanyStaff.__tablename__
ORDERS: Final = Order.__tablename__
EVENTS: Final = OrderEvent.__tablename__
RATINGS: Final = Rating.__tablename__
POINTS: Final = PointsEntry.__tablename__
VISITS: Final = ReturnVisit.__tablename__
COUNTERS: Final = OrderNumberCounter.__tablename__

COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    AREAS: ("id", "kind", "code", "name", "parent_id", "community_id", "wecom_robot_key", "created_at"),
    CATEGORIES: ("id", "community_id", "code", "name", "points", "sla_hours", "skill", "active", "created_at"),
    USERS: (
        "id",
        "openid",
        "unionid",
        "nickname",
        "oa_openid",
        "oa_following",
        "phone",
        "session_key",
        "token_generation",
        "last_login_at",
        "created_at",
    ),
    MEMBERSHIPS: ("id", "user_id", "role", "area_id", "granted_by_id", "created_at"),
    HOUSEHOLDS: (
        "id",
        "user_id",
        "community_id",
        "grid_id",
        "building_id",
        "building",
        "unit",
        "room",
        "verified",
        "created_at",
        "updated_at",
    ),
    SKILLS: ("user_id", "skill"),
    TEAMS: ("id", "community_id", "name", "leader_id", "created_at"),
    TEAM_MEMBERS: ("team_id", "user_id"),
    COMPANIES: ("id", "name", "created_at"),
    COMPANY_COMMUNITIES: ("company_id", "community_id"),
    COMPANY_STAFF: ("company_id", "user_id"),
    ORDERS: (
        "id",
        "number",
        "community_id",
        "grid_id",
        "building_id",
        "category_id",
        "kind",
        "status",
        "level",
        "title",
        "description",
        "resident_id",
        "created_by_id",
        "assignee_id",
        "team_id",
        "property_company_id",
        "contact_phone",
        "building",
        "unit",
        "room",
        "preferred_start",
        "preferred_end",
        "needs_review",
        "completion_note",
        "escalated_department",
        "escalation_due_at",
        "last_urged_at",
        "dispatched_at",
        "accepted_at",
        "due_at",
        "completed_at",
        "closed_at",
        "rating_score",
        "version",
        "created_at",
        "updated_at",
    ),
    EVENTS: ("id", "order_id", "actor_id", "action", "from_status", "to_status", "note", "channel", "created_at"),
    RATINGS: ("id", "order_id", "score", "speed", "attitude", "comment", "assignee_id", "created_at"),
    POINTS: ("id", "user_id", "delta", "reason", "order_id", "created_at"),
    VISITS: ("id", "order_id", "community_id", "reason", "done", "note", "called_by_id", "called_at", "created_at"),
    COUNTERS: ("community_id", "day", "last"),
}


#: Columns the seeder leaves to the database (NULL, or the column's server default) on purpose:
#: what a seeded history does not have (retired areas, deleted or imported users, anonymised,
#: located or merged orders, notes), and the time bank's newer ledger columns, which a seeded
#: entry goes without as entries written before them do (``kind`` NULL: ``kind_of`` reads the
#: reason, ``order_rated`` = earned; ``minutes`` NULL: the hours report counts none for them).
LEFT_TO_DEFAULT: Final[dict[str, frozenset[str]]] = {
    AREAS: frozenset({"retired"}),
    USERS: frozenset({"deleted_at", "imported_at", "oa_blocked_at"}),
    HOUSEHOLDS: frozenset({"note"}),
    ORDERS: frozenset({"anonymised_at", "duplicate_of_id", "latitude", "longitude"}),
    POINTS: frozenset({"kind", "minutes", "settlement", "held_points"}),
    VISITS: frozenset({"comment"}),
}


def check_columns() -> None:
    """SystemExit if a table's columns here and in the models differ (the models changed)."""
    problems = []
    for table, columns in COLUMNS.items():
        # Generated columns (the orders' durations) are the database's to write, never the seeder's.
        model = {column.name for column in Base.metadata.tables[table].columns if column.computed is None}
        model -= LEFT_TO_DEFAULT.get(table, frozenset())
        missing, unknown = sorted(model - set(columns)), sorted(set(columns) - model)
        if missing or unknown:
            problems.append(f"{table}: not written {missing}, not in the model {unknown}")
    if problems:
        raise SystemExit("bench/seed_rows.py is out of date with the models:\n  " + "\n  ".join(problems))


#: Microseconds, the unit of every instant here (since the Unix epoch, UTC).
SECOND: Final = 1_000_000
HOUR: Final = 3600 * SECOND
DAY: Final = 24 * HOUR


def shanghai_midnight(day: date) -> int:
    """The instant (µs, UTC) a Shanghai calendar day starts."""
    return int(datetime.combine(day, time.min, tzinfo=SHANGHAI).timestamp()) * SECOND


class Stamper:
    """Formats an instant (µs since the epoch) as the column keeps it.

    SQLite: the UTC wall time ``YYYY-MM-DD HH:MM:SS.ffffff``, exactly what ``UTCDateTime`` binds
    (SQLAlchemy's SQLite DATETIME always writes the microseconds; queries compare the strings).
    PostgreSQL: the same with ``+00`` for ``timestamptz``.
    """

    def __init__(self, *, with_offset: bool) -> None:
        self._suffix = "+00" if with_offset else ""
        self._days: dict[int, str] = {}

    def __call__(self, instant: int) -> str:
        seconds, micro = divmod(instant, SECOND)
        day, second_of_day = divmod(seconds, 86400)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")
            self._days[day] = prefix
        hour, rest = divmod(second_of_day, 3600)
        minute, sec = divmod(rest, 60)
        return f"{prefix} {hour:02d}:{minute:02d}:{sec:02d}.{micro:06d}{self._suffix}"

    def maybe(self, instant: int | None) -> str | None:
        return None if instant is None else self(instant)
