"""Settling an order's points, inside the caller's transaction (flush only): the earning when the
resident rates, the return visit's decision on held points, the reversal when a dispute reopens
a closed order. The order domain calls these with plain values; the time bank knows no orders.

Once per order, volunteer and settlement is the database's to guarantee (the partial unique
indexes of ``PointsEntry``): an entry that would be a second one is refused by the insert itself,
and the caller's whole transaction is refused with it (409 ``already_settled``), so a retried or
raced rating can never pay twice, whatever the order's own guards did or did not catch.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app.core.errors import AlreadySettledError
from app.timebank.ledger import PointsEntry, PointsKind, credit, lock_account
from app.timebank.rules import Earning


def _once(session: Session, user_id: int, delta: int, reason: str, **facts: object) -> PointsEntry:
    """``credit`` in a savepoint: a duplicate turns into a ConflictError, not a broken transaction."""
    try:
        with session.begin_nested():
            return credit(session, user_id, delta, reason, **facts)  # type: ignore[arg-type]
    except IntegrityError:
        raise AlreadySettledError(details={"order_id": facts.get("order_id")}) from None


def earn(session: Session, user_id: int, order_id: int, settlement: int, earning: Earning) -> PointsEntry | None:
    """The rating's entry: the points paid, or held for the return visit; None when the order
    earns nothing at all (a category of 0 points)."""
    if earning.paid == 0 and earning.held == 0:
        return None
    if earning.held:
        return _once(
            session,
            user_id,
            0,
            "order_rated",
            order_id=order_id,
            kind=PointsKind.HELD,
            settlement=settlement,
            minutes=earning.minutes,
            held_points=earning.held,
        )
    return _once(
        session,
        user_id,
        earning.paid,
        "order_rated",
        order_id=order_id,
        kind=PointsKind.EARNED,
        settlement=settlement,
        minutes=earning.minutes,
    )


def undecided() -> sa.ColumnElement[bool]:
    """Where a ``held`` entry has no decision yet (no ``released`` or ``forfeited`` entry of the
    same order, volunteer and settlement): a predicate on ``PointsEntry``."""
    decision = aliased(PointsEntry)
    return sa.and_(
        PointsEntry.kind == PointsKind.HELD.value,
        ~sa.select(decision.id)
        .where(
            decision.order_id == PointsEntry.order_id,
            decision.user_id == PointsEntry.user_id,
            decision.settlement == PointsEntry.settlement,
            decision.kind.in_([PointsKind.RELEASED.value, PointsKind.FORFEITED.value]),
        )
        .exists(),
    )


def pending_hold(session: Session, order_id: int) -> PointsEntry | None:
    """The order's held points still waiting for a decision, if any."""
    return session.scalars(
        sa.select(PointsEntry).where(PointsEntry.order_id == order_id, undecided()).order_by(PointsEntry.id.desc())
    ).first()


def pending_holds(session: Session, order_ids: list[int]) -> dict[int, int]:
    """Order id → the points held for it and not yet decided, for those of ``order_ids`` with any."""
    if not order_ids:
        return {}
    rows = session.execute(
        sa.select(PointsEntry.order_id, sa.func.sum(PointsEntry.held_points))
        .where(PointsEntry.order_id.in_(order_ids), undecided())
        .group_by(PointsEntry.order_id)
    ).all()
    return {order_id: int(points or 0) for order_id, points in rows if order_id is not None}


def decide_hold(session: Session, hold: PointsEntry, *, pay: bool, reason: str) -> PointsEntry:
    """Pay the held points (``released``), or withhold them (``forfeited``: no points, and the
    minutes no longer count)."""
    if pay:
        return _once(
            session,
            hold.user_id,
            hold.held_points or 0,
            reason,
            order_id=hold.order_id,
            kind=PointsKind.RELEASED,
            settlement=hold.settlement,
        )
    return _once(
        session,
        hold.user_id,
        0,
        reason,
        order_id=hold.order_id,
        kind=PointsKind.FORFEITED,
        settlement=hold.settlement,
        minutes=-(hold.minutes or 0),
    )


def reverse(session: Session, order_id: int, settlement: int) -> list[PointsEntry]:
    """A reopened order gives back what settlement ``settlement`` paid: a pending hold is
    forfeited, and whatever was paid (points and minutes) is taken back by one ``reversed``
    entry per volunteer. Nothing is edited; a settlement that paid nothing writes nothing more.

    The balance may go below zero (points earned and already spent): the ledger tells the truth,
    and spending checks the balance first."""
    written: list[PointsEntry] = []
    hold = pending_hold(session, order_id)
    if hold is not None and hold.settlement == settlement:
        written.append(decide_hold(session, hold, pay=False, reason="order_reopened"))
    totals = session.execute(
        sa.select(
            PointsEntry.user_id,
            sa.func.coalesce(sa.func.sum(PointsEntry.delta), 0),
            sa.func.coalesce(sa.func.sum(PointsEntry.minutes), 0),
        )
        .where(PointsEntry.order_id == order_id, PointsEntry.settlement == settlement)
        .group_by(PointsEntry.user_id)
        .order_by(PointsEntry.user_id)
    ).all()
    for user_id, points, minutes in totals:
        if not points and not minutes:
            continue
        lock_account(session, user_id)
        written.append(
            _once(
                session,
                user_id,
                -int(points),
                "order_reopened",
                order_id=order_id,
                kind=PointsKind.REVERSED,
                settlement=settlement,
                minutes=-int(minutes or 0),
            )
        )
    return written
