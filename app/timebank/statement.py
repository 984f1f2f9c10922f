"""A volunteer's own ledger as they read it: the balance, what is held, every entry newest first."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.errors import ForbiddenError
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor
from app.identity.roles import Role
from app.runtime import Runtime
from app.timebank.labels import KIND_LABELS, reason_label
from app.timebank.ledger import PointsEntry, balance_of, kind_of
from app.timebank.settle import undecided
from app.timebank.shapes import PointsEntryOut, PointsPage


def entry_out(entry: PointsEntry) -> PointsEntryOut:
    kind = kind_of(entry)
    return PointsEntryOut(
        id=entry.id,
        delta=entry.delta,
        kind=kind.value,
        kind_label=KIND_LABELS[kind],
        reason=entry.reason,
        label=reason_label(entry.reason),
        order_id=entry.order_id,
        minutes=entry.minutes,
        held_points=entry.held_points,
        at=entry.created_at,
    )


def held_of(session: Session, user_id: int) -> int:
    """The points of the user's holds that no decision (paid, withheld) has settled yet."""
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.held_points), 0)).where(
            PointsEntry.user_id == user_id, undecided()
        )
    )
    return int(total or 0)


def list_points(rt: Runtime, actor: Actor, *, limit: int, cursor: str | None) -> PointsPage:
    """A volunteer: their balance (the sum of their ledger) and its entries, newest first."""
    if not actor.has_role(Role.VOLUNTEER):
        raise ForbiddenError("只有志愿者有时间银行积分")
    after = decode_cursor(cursor)
    with rt.db.read() as session:
        query = sa.select(PointsEntry).where(PointsEntry.user_id == actor.user_id)
        if after is not None:
            query = query.where(PointsEntry.id < after)
        rows = list(session.scalars(query.order_by(PointsEntry.id.desc()).limit(limit + 1)))
        page = rows[:limit]
        return PointsPage(
            balance=balance_of(session, actor.user_id),
            held=held_of(session, actor.user_id),
            items=[entry_out(entry) for entry in page],
            next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None,
        )
