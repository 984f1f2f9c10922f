"""The time-bank ledger (时间银行): append-only entries of points; a balance is their sum.

Points are written here and nowhere else: ``credit`` is called by the order's rate action in the
same transaction that closes the order.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.columns import created_at, fk, intpk
from app.core.db import Base
from app.identity.models import User


class PointsEntry(Base):
    """One line of a volunteer's time-bank ledger; the balance is the sum."""

    __tablename__ = "points_entries"

    id: Mapped[intpk]
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    delta: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(64))
    order_id: Mapped[int | None] = fk("orders.id", ondelete="SET NULL", index=False, nullable=True)
    created_at: Mapped[created_at]


def credit(session: Session, user_id: int, delta: int, reason: str, *, order_id: int | None = None) -> None:
    """Helper for a use case (flushes only): one more entry in the user's ledger."""
    session.add(PointsEntry(user_id=user_id, delta=delta, reason=reason, order_id=order_id))
    session.flush()


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
