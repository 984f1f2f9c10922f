"""Queue notifications in the caller's transaction: the inbox entry always, a WeChat push when the
channel allows it (a grant for subscribe messages, a follower for template messages)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.areas.models import Area
from app.core.clock import now_utc
from app.core.config import NotifySection
from app.identity.models import User
from app.notify.models import Channel, DeliveryStatus, Notification, OutboxMessage, SubscriptionGrant
from app.notify.payloads import Rendered

log = logging.getLogger(__name__)


def _insert_once(session: Session, model: type[Notification] | type[OutboxMessage], **values: object) -> bool:
    """Insert unless a row with the same dedupe key exists; True if inserted.

    ``INSERT … ON CONFLICT (dedupe_key) DO NOTHING`` (SQLite and PostgreSQL alike): a duplicate
    (two job processes, a retried request) neither spoils the caller's transaction nor costs a
    savepoint and its release around every message."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(model).values(**values).on_conflict_do_nothing(index_elements=[model.dedupe_key]).returning(model.id)
    )
    # RETURNING answers the new id, or no row when the key was taken (rowcount is not reliable
    # for an ORM-enabled INSERT on every driver).
    return session.execute(statement).scalar() is not None


def user_queue(user_id: int) -> str:
    """The queue of one person's messages: delivered in the order they were queued."""
    return f"user:{user_id}"


def robot_queue(key: str) -> str:
    return f"robot:{key}"


def queue_customer_service_text(
    session: Session, *, user_id: int | None, oa_openid: str, text: str, dedupe_key: str, now: datetime | None = None
) -> bool:
    """Queue a customer-service text (客服消息) to an Official Account follower: a bot reply that
    missed WeChat's 5 s window goes out this way, within the 48 h WeChat allows after their
    message. False if queued before (same dedupe key)."""
    now = now or now_utc()
    return _insert_once(
        session,
        OutboxMessage,
        dedupe_key=f"{dedupe_key}:{Channel.CUSTOMER_SERVICE.value}",
        channel=Channel.CUSTOMER_SERVICE,
        chain=[Channel.CUSTOMER_SERVICE.value],
        # In the follower's queue when we know who they are, so it keeps its place among their
        # other messages; an unbound follower's replies queue by their openid.
        queue_key=user_queue(user_id) if user_id is not None else f"oa:{oa_openid}",
        template_key="bot_reply",
        recipient_user_id=user_id,
        recipient=oa_openid,
        payload={"text": text},
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
    )


def _take_grant(session: Session, user_id: int, template_key: str) -> bool:
    # Conditional decrement: two sends can never spend one grant.
    taken = session.execute(
        sa.update(SubscriptionGrant)
        .where(
            SubscriptionGrant.user_id == user_id,
            SubscriptionGrant.template_key == template_key,
            SubscriptionGrant.remaining > 0,
        )
        .values(remaining=SubscriptionGrant.remaining - 1)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def notify_user(
    session: Session,
    cfg: NotifySection,
    *,
    user: User,
    template_key: str,
    rendered: Rendered,
    dedupe_key: str,
    channel: Channel,
    order_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Queue one logical message to ``user``; False if it was queued before (same dedupe key) or
    the user deleted their account.

    ``channel`` is the WeChat channel to try: SUBSCRIBE for residents and volunteers (needs a
    grant), TEMPLATE for staff who follow the Official Account.
    """
    if user.deleted_at is not None:
        return False  # a deleted account hears nothing more: there is nobody left to tell
    now = now or now_utc()
    inserted = _insert_once(
        session,
        Notification,
        user_id=user.id,
        template_key=template_key,
        title=rendered.title,
        body=rendered.body,
        order_id=order_id,
        dedupe_key=dedupe_key,
        created_at=now,
    )
    if not inserted:
        return False
    status, reason, recipient, template_id = DeliveryStatus.PENDING, "", "", ""
    payload: dict[str, object] = {"data": rendered.data}
    if channel is Channel.SUBSCRIBE:
        template_id = cfg.subscribe_templates.get(template_key, "")
        recipient = user.openid or ""  # empty for someone imported who never logged in
        payload.update(page=rendered.page, miniprogram_state=cfg.miniprogram_state)
        if not template_id:
            return True  # this message has no subscribe template: the inbox is all there is
        if not _take_grant(session, user.id, template_key):
            status, reason = DeliveryStatus.SKIPPED, "no_grant"  # never sent blind
    else:
        template_id = cfg.oa_templates.get(template_key, "")
        recipient = user.oa_openid or ""
        if not template_id:
            return True
        if not user.oa_openid or not user.oa_following:
            status, reason = DeliveryStatus.SKIPPED, "not_following"
        payload.update(page=rendered.page)
    payload["template_id"] = template_id
    _insert_once(
        session,
        OutboxMessage,
        dedupe_key=f"{dedupe_key}:{channel.value}",
        channel=channel,
        chain=[channel.value],
        queue_key=user_queue(user.id),
        template_key=template_key,
        recipient_user_id=user.id,
        recipient=recipient,
        payload=payload,
        order_id=order_id,
        status=status,
        next_attempt_at=now,
        last_error=reason,
        created_at=now,
    )
    return True


def queue_robot_message(
    session: Session, *, community: Area, template_key: str, markdown: str, dedupe_key: str, now: datetime | None = None
) -> bool:
    """Queue a WeCom group-robot markdown message for a community; False without a robot or if
    already queued."""
    if not community.wecom_robot_key:
        return False
    now = now or now_utc()
    # The robot's markdown limit is 4096 bytes: cut on a character boundary, never mid-UTF-8.
    body = markdown.encode("utf-8")[:4000].decode("utf-8", errors="ignore")
    return _insert_once(
        session,
        OutboxMessage,
        dedupe_key=f"{dedupe_key}:{Channel.WECOM.value}",
        channel=Channel.WECOM,
        chain=[Channel.WECOM.value],
        queue_key=robot_queue(community.wecom_robot_key),
        template_key=template_key,
        recipient_user_id=None,
        recipient=community.wecom_robot_key,
        payload={"msgtype": "markdown", "markdown": {"content": body}},
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
    )


def notify_each(
    session: Session,
    cfg: NotifySection,
    users: Iterable[User],
    *,
    template_key: str,
    rendered: Rendered,
    dedupe_key: str,
    channel: Channel,
    order_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """:func:`notify_user` for each of ``users``, the dedupe key made per person; answers how many
    were queued now (those queued before are skipped)."""
    return sum(
        notify_user(
            session,
            cfg,
            user=user,
            template_key=template_key,
            rendered=rendered,
            dedupe_key=f"{dedupe_key}:user:{user.id}",
            channel=channel,
            order_id=order_id,
            now=now,
        )
        for user in users
    )
