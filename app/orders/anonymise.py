"""Taking personal data out of orders while keeping the orders: when their resident deletes the
account (helpers for ``app/account/erasure.py``), and past the retention period (the use case of
the daily ``privacy_retention`` job).

What goes: the contact phone, the room, a 随手拍's coordinates (sent from home, they may show it)
and the photos. What stays: the order with its community, grid, building and unit, category,
status, times, audit trail and rating, which the work ledger (工作台账), the statistics and the
volunteers' points stand on. ``anonymised_at`` marks an order done, so each order is anonymised
once and a run of the job reads only the orders due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.errors import ConflictError
from app.core.idempotency import IdempotencyKey
from app.orders import handlers, texts
from app.orders.models import RETENTION_CLOSED, RETENTION_ENDED, Order, OrderEvent
from app.orders.notifications import Holding, notify_order_event
from app.orders.steps import Step
from app.orders.workflow import CANCELLABLE, HELD, OrderStatus
from app.runtime import Runtime
from app.uploads.models import Attachment
from app.uploads.removal import StoredFile, delete_attachments, remove_unreferenced_files

#: Orders anonymised per transaction by the retention job: short write transactions, and a fixed
#: number of statements per batch whatever the number of orders in the database.
RETENTION_BATCH: Final = 500

#: A resident's orders that someone is working on (a volunteer on the way, a street department
#: with a deadline): they need the phone and the room, so the account cannot go yet.
_IN_HAND: Final = HELD | {OrderStatus.ESCALATED}
#: What a volunteer (or property staff member) still holds: dispatched to them, or accepted.
_HOLDING: Final = HELD | {OrderStatus.ASSIGNED}


class AccountBusyError(ConflictError):
    """The account cannot be deleted while orders depend on it; ``details.orders`` lists their numbers."""

    code = "account_busy"
    default_message = "您还有进行中的工单，请处理完毕后再注销账号"


def refuse_while_busy(session: Session, user_id: int) -> None:
    """Raise AccountBusyError if ``user_id`` holds an order (dispatched to them, accepted or in
    service: decline or release it first), or owns one that someone is working on (accepted, in
    service, or referred to a street department: wait until it is done)."""
    holding = list(
        session.scalars(
            sa.select(Order.number).where(Order.assignee_id == user_id, Order.status.in_(_HOLDING)).order_by(Order.id)
        )
    )
    if holding:
        raise AccountBusyError("您还有正在服务的工单，请先完成、拒单或退单后再注销账号", details={"orders": holding})
    in_hand = list(
        session.scalars(
            sa.select(Order.number).where(Order.resident_id == user_id, Order.status.in_(_IN_HAND)).order_by(Order.id)
        )
    )
    if in_hand:
        raise AccountBusyError("您的工单正在处理中，请等服务完成后再注销账号", details={"orders": in_hand})


def withdraw_orders(session: Session, rt: Runtime, user_id: int) -> int:
    """Helper: cancel the resident's orders nobody has taken on yet (submitted, dispatched, in the
    pool), as the resident would, with the usual message to whoever they were dispatched to.
    Answers how many. One transition per order, in the caller's transaction."""
    orders = session.scalars(
        sa.select(Order).where(Order.resident_id == user_id, Order.status.in_(CANCELLABLE)).order_by(Order.id)
    ).all()
    for order in orders:
        previous = Holding.of(order)  # the cancel clears it, and they must still hear of it
        handlers.cancel(Step(session, order, user_id, "api"), texts.CANCELLED_BY_DELETION_NOTE)
        event = session.scalars(
            sa.select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id.desc()).limit(1)
        ).one()
        notify_order_event(session, rt.settings.notify, order, event, previous=previous)
    return len(orders)


def _anonymise(session: Session, condition: sa.ColumnElement[bool], now: datetime) -> int:
    """Clear the contact phone and room of the orders matching ``condition``; one UPDATE."""
    result = session.execute(
        sa.update(Order)
        .where(condition)
        # updated_at keeps its value: this is no step of the workflow, and the retention rule reads
        # a cancelled or rejected order's updated_at as the moment it ended.
        .values(
            contact_phone=None, room="", latitude=None, longitude=None, anonymised_at=now, updated_at=Order.updated_at
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def erase_resident_orders(session: Session, user_id: int, now: datetime) -> list[StoredFile]:
    """Helper for account deletion (executes in the caller's transaction, a fixed number of
    statements): the resident's orders lose phone, room and photos (their own and the volunteers'
    completion photos, which show their home); the stored answers of their Idempotency-Keys go
    too. Answers the files to remove after the commit."""
    owned = sa.select(Order.id).where(Order.resident_id == user_id).scalar_subquery()
    files = delete_attachments(session, Attachment.order_id.in_(owned))
    _anonymise(session, Order.resident_id == user_id, now)
    session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id))
    return files


@dataclass
class RetentionReport:
    """What one run of the retention job did."""

    orders: int = 0
    photos: int = 0
    files: int = 0
    idempotency_keys: int = 0


def _due(session: Session, cutoff: datetime, limit: int) -> list[int]:
    """Ids of finished orders past ``cutoff`` and not yet anonymised, at most ``limit``: one
    statement per kind of end, each reading its partial index (``ix_orders_retention_*``).

    In no particular order: every due order goes in the end, and sorting would make each batch of
    a long backlog (the first run after an upgrade) read the whole backlog again."""
    closed = list(
        session.scalars(sa.select(Order.id).where(sa.text(RETENTION_CLOSED), Order.closed_at < cutoff).limit(limit))
    )
    if len(closed) >= limit:
        return closed
    ended = session.scalars(
        sa.select(Order.id).where(sa.text(RETENTION_ENDED), Order.updated_at < cutoff).limit(limit - len(closed))
    )
    return [*closed, *ended]


def apply_retention(rt: Runtime, now: datetime, *, batch: int = RETENTION_BATCH) -> RetentionReport:
    """The job: orders closed, cancelled or rejected more than ``privacy.retention_days`` ago lose
    their photos, contact phone and room, and Idempotency-Keys past their window are deleted.

    Set-based, in batches of ``batch`` orders, one transaction each: a batch costs the same few
    statements however many orders the database holds, so a run costs what is due. Idempotent: an
    anonymised order is never due again, and a run stopped half-way leaves the rest to the next.
    """
    report = RetentionReport()
    cutoff = now - timedelta(days=rt.settings.privacy.retention_days)
    while True:
        files: list[StoredFile] = []
        with rt.db.write() as session:
            ids = _due(session, cutoff, batch)
            if ids:
                files = delete_attachments(session, Attachment.order_id.in_(ids))
                report.orders += _anonymise(session, Order.id.in_(ids), now)
        report.photos += len(files)
        # After the commit: a rolled-back batch must not have lost its files.
        report.files += remove_unreferenced_files(rt, files)
        if len(ids) < batch:
            break
    with rt.db.write() as session:
        # The answers kept for replays hold the order in full (phone, room); past the window they
        # can never be replayed (app/orders/submit.py), so they are only a copy of personal data.
        expired = session.execute(
            sa.delete(IdempotencyKey).where(
                IdempotencyKey.created_at < now - timedelta(hours=rt.settings.orders.idempotency_hours)
            )
        )
        report.idempotency_keys = int(expired.rowcount or 0)  # type: ignore[attr-defined]
    return report
