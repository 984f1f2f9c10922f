"""Subscribe-message grants reported by the mini-program, and the in-app inbox."""

from __future__ import annotations

import sqlalchemy as sa

from app.clock import now_utc
from app.config import TEMPLATE_KEYS
from app.errors import InvalidInputError
from app.models import Notification, SubscriptionGrant
from app.runtime import Runtime
from app.services.access import Actor
from app.services.orders import decode_cursor, encode_cursor
from app.services.shapes import GrantsOut, NotificationOut, NotificationPage


def add_grants(session: sa.orm.Session, user_id: int, template_keys: list[str]) -> None:
    """One more one-time grant per key (flush only; the bot's consent events call this too)."""
    for key in template_keys:
        grant = session.get(SubscriptionGrant, (user_id, key))
        if grant is None:
            session.add(SubscriptionGrant(user_id=user_id, template_key=key, remaining=1))
        else:
            grant.remaining += 1
    session.flush()


def record_grants(rt: Runtime, actor: Actor, accepted: list[str]) -> GrantsOut:
    """Any user: what ``wx.requestSubscribeMessage`` answered ``accept`` for, by Linli template key.

    Each acceptance allows exactly one message (WeChat's one-time subscription).
    """
    unknown = sorted(set(accepted) - set(TEMPLATE_KEYS))
    if unknown:
        raise InvalidInputError("未知的消息模板", details={"unknown": unknown, "known": list(TEMPLATE_KEYS)})
    with rt.db.write() as session:
        add_grants(session, actor.user_id, accepted)
        rows = session.scalars(sa.select(SubscriptionGrant).where(SubscriptionGrant.user_id == actor.user_id))
        return GrantsOut(remaining={row.template_key: row.remaining for row in rows})


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
