"""The in-app inbox: always written with every message, read and marked read by its owner."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.clock import now_utc
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor
from app.notify.models import Notification
from app.notify.shapes import NotificationOut, NotificationPage
from app.runtime import Runtime


def list_notifications(rt: Runtime, actor: Actor, *, limit: int, cursor: str | None) -> NotificationPage:
    """Any user: their inbox, newest first."""
    after = decode_cursor(cursor)
    with rt.db.read() as session:
        query = sa.select(Notification).where(Notification.user_id == actor.user_id)
        if after is not None:
            query = query.where(Notification.id < after)
        rows = session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)).all()
        page = rows[:limit]
        unread = session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        )
        return NotificationPage(
            items=[
                NotificationOut(
                    id=n.id,
                    template_key=n.template_key,
                    title=n.title,
                    body=n.body,
                    order_id=n.order_id,
                    read=n.read_at is not None,
                    created_at=n.created_at,
                )
                for n in page
            ],
            next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None,
            unread=int(unread or 0),
        )


def mark_read(rt: Runtime, actor: Actor, notification_ids: list[int]) -> int:
    """Any user: mark their own inbox entries read; others' ids are ignored. Answers how many."""
    with rt.db.write() as session:
        result = session.execute(
            sa.update(Notification)
            .where(
                Notification.user_id == actor.user_id,
                Notification.id.in_(notification_ids),
                Notification.read_at.is_(None),
            )
            .values(read_at=now_utc())
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
