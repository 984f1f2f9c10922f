"""The time-bank ledger (时间银行): append-only entries of points; a balance is their sum.

Points are written here and nowhere else, always by adding an entry: the app never updates or
deletes one. A correction is a new entry (``reversed``, ``adjusted``), so the ledger reads as
what happened, in order. What an order earns is settled by ``app.timebank.settle``.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.columns import created_at, fk, intpk
from app.core.db import Base
from app.identity.models import User


class PointsKind(enum.StrEnum):
    """What an entry is. Stored as a plain string (NULL for entries written without one)."""

    #: A rating paid the order's points.
    EARNED = "earned"
    #: A low rating: the points wait for the return visit (``delta`` 0, ``held_points`` the amount).
    HELD = "held"
    #: The return visit paid the held points.
    RELEASED = "released"
    #: The return visit withheld them, or the order was reopened first (``delta`` 0).
    FORFEITED = "forfeited"
    #: A dispute reopened the closed order: what its settlement paid is taken back.
    REVERSED = "reversed"
    #: A secretary's correction, with a reason.
    ADJUSTED = "adjusted"
    #: Spent on a reward, and given back when that redemption was refunded.
    REDEEMED = "redeemed"
    REFUNDED = "redemption_refunded"


#: Entries written with a reason only (redemptions): the kind their reason names.
_KIND_OF_REASON = {"redeemed": PointsKind.REDEEMED, "redemption_refunded": PointsKind.REFUNDED}

#: The kinds an order's settlement may hold at most once each, by group: the earning (paid or
#: held), the return visit's decision on a hold (paid or withheld), the reversal. Each group is
#: one partial unique index below: the database, not a check in Python, keeps a retried or raced
#: rating from paying twice.
ONCE_PER_SETTLEMENT = {
    "earning": (PointsKind.EARNED, PointsKind.HELD),
    "decision": (PointsKind.RELEASED, PointsKind.FORFEITED),
    "reversal": (PointsKind.REVERSED,),
}


#: The kinds whose points service earned (what reports and the month's summary call 服务积分):
#: earned + released − reversed; holds pay nothing until released, adjustments are apart.
SERVICE_KINDS = (PointsKind.EARNED, PointsKind.RELEASED, PointsKind.REVERSED)


def _kinds_are(kinds: tuple[PointsKind, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{kind.value}'" for kind in kinds) + ")"


class PointsEntry(Base):
    """One line of a volunteer's time-bank ledger; the balance is the sum of ``delta``.

    An order can be settled more than once: rated (settlement 1), reopened by a dispute after
    closing (its settlement 1 reversed), completed and rated again (settlement 2), and so on.
    ``settlement`` numbers them, so the unique indexes hold "once per order, volunteer and
    settlement": a new rating after a reopening earns again, a repeated one never."""

    __tablename__ = "points_entries"
    __table_args__ = (
        *(
            sa.Index(
                f"uq_points_entries_{group}",
                "order_id",
                "user_id",
                "settlement",
                unique=True,
                postgresql_where=sa.text(_kinds_are(kinds)),
                sqlite_where=sa.text(_kinds_are(kinds)),
            )
            for group, kinds in ONCE_PER_SETTLEMENT.items()
        ),
        # The volunteer-hours report and the month's summary read one range of days of the whole
        # ledger: without this both scan every entry ever written (EXPLAIN on SQLite and PG).
        sa.Index("ix_points_entries_created_at", "created_at"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    delta: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(64))
    order_id: Mapped[int | None] = fk("orders.id", ondelete="SET NULL", index=False, nullable=True)
    #: A ``PointsKind`` value; NULL on entries written with a reason only (see ``kind_of``).
    kind: Mapped[str | None] = mapped_column(sa.String(24))
    #: Which settlement of the order the entry belongs to (1, then 2 after a reopening …).
    settlement: Mapped[int | None]
    #: Service minutes the entry counts: + on an earning, − on a reversal or forfeiture, so the
    #: sum over the ledger is the service time that counts.
    minutes: Mapped[int | None]
    #: On a ``held`` entry: the points waiting for the return visit (not in the balance).
    held_points: Mapped[int | None]
    created_at: Mapped[created_at]


def kind_of(entry: PointsEntry) -> PointsKind:
    """The entry's kind; for one written without a kind, the kind its reason names (adjusted if none)."""
    if entry.kind:
        try:
            return PointsKind(entry.kind)
        except ValueError:
            pass
    return _KIND_OF_REASON.get(entry.reason, PointsKind.ADJUSTED)


def credit(
    session: Session,
    user_id: int,
    delta: int,
    reason: str,
    *,
    order_id: int | None = None,
    kind: PointsKind | None = None,
    **facts: int | None,
) -> PointsEntry:
    """Helper for a use case (flushes only): one more entry in the user's ledger. ``facts``: the
    entry's ``settlement``, ``minutes``, ``held_points``."""
    entry = PointsEntry(
        user_id=user_id, delta=delta, reason=reason, order_id=order_id, kind=kind.value if kind else None, **facts
    )
    session.add(entry)
    session.flush()
    return entry


def service_points_sum() -> sa.ColumnElement[int]:
    """SQL: the sum of ``delta`` over the service kinds among the grouped entries (0 for none)."""
    service = PointsEntry.kind.in_([kind.value for kind in SERVICE_KINDS])
    return sa.func.sum(sa.case((service, PointsEntry.delta), else_=0))


def service_minutes_sum() -> sa.ColumnElement[int]:
    """SQL: the service minutes of the grouped entries (entries without minutes count 0)."""
    return sa.func.sum(sa.func.coalesce(PointsEntry.minutes, 0))


def balance_of(session: Session, user_id: int) -> int:
    """The sum of the user's ledger."""
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.delta), 0)).where(PointsEntry.user_id == user_id)
    )
    return int(total or 0)


def lock_account(session: Session, user_id: int) -> None:
    """Helper for a use case that may take points away (flushes nothing): serialise it with every
    other such write for the same volunteer, so that the balance it reads stays true until it
    commits. Everything that spends or removes points calls this before reading the balance.

    PostgreSQL: the user's row, ``FOR UPDATE`` (a second spender waits for the first to commit,
    then reads the new sum under READ COMMITTED). SQLite: write transactions already begin
    IMMEDIATE, one at a time, and SQLAlchemy leaves ``FOR UPDATE`` out there."""
    session.execute(sa.select(User.id).where(User.id == user_id).with_for_update())
