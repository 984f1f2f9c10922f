"""Queue notifications in the caller's transaction: the inbox entry always, and a WeChat push that
goes by its chain of channels (app/notify/chains.py) when the delivery job takes it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Final, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.areas.models import Area
from app.core.clock import now_utc
from app.core.config import NotifySection
from app.identity.models import User
from app.notify.chains import Addressee, chain_for
from app.notify.models import Channel, DeliveryStatus, Notification, OutboxMessage
from app.notify.payloads import Rendered

log = logging.getLogger(__name__)


def _insert_once(session: Session, model: type[Notification] | type[OutboxMessage], **values: object) -> bool:
    """Insert unless a row with the same dedupe key exists; True if inserted.

    ``INSERT … ON CONFLICT (dedupe_key) DO NOTHING`` (SQLite and PostgreSQL alike): a duplicate
    (two job processes, a retried request) neither spoils the caller's transaction nor costs a
    savepoint and its release around every message."""
    # What the session holds is written first, as an ORM insert would have autoflushed it: the
    # transaction takes its row locks in the same order as before.
    session.flush()
    statement = _INSERTS[(session.get_bind().dialect.name, model.__tablename__)]
    # RETURNING answers the new id, or no row when the key was taken (rowcount is not reliable
    # for an INSERT … ON CONFLICT on every driver).
    return session.execute(statement, values).scalar() is not None


def _insert_statement(dialect: str, table: sa.Table) -> sa.Executable:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=[table.c.dedupe_key]).returning(table.c.id)


#: Built once per database and table, on the tables rather than the models: the VALUES come from
#: each call's keys (compiled once per set of keys, then cached), so a message costs no statement
#: building. Building an ORM insert per message was about a fifth of creating an order's CPU.
_INSERTS: Final = {
    (dialect, model.__tablename__): _insert_statement(dialect, cast("sa.Table", model.__table__))
    for dialect in ("postgresql", "sqlite")
    for model in (Notification, OutboxMessage)
}


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


def notify_user(
    session: Session,
    cfg: NotifySection,
    *,
    user: User,
    template_key: str,
    rendered: Rendered,
    dedupe_key: str,
    addressee: Addressee,
    order_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Queue one logical message to ``user``: the inbox entry, and a push that will go by the first
    channel of its chain (``[notify.chains]``) that can reach them when it is delivered. False if
    it was queued before (same dedupe key) or the user deleted their account.

    Two statements whatever the chain: which channel carries it, and whether a subscribe grant is
    spent, is decided at delivery (app/notify/delivery.py), with the person as they are then.
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
    # Channels with no template for this message can never carry it: left out now, so that a
    # message with none at all is the inbox's alone (no outbox row to deliver).
    chain = [
        channel
        for channel in chain_for(cfg.chains, addressee, template_key)
        if _has_template(cfg, channel, template_key)
    ]
    if not chain:
        return True
    _insert_once(
        session,
        OutboxMessage,
        dedupe_key=f"{dedupe_key}:push",
        channel=chain[0],
        chain=[channel.value for channel in chain],
        queue_key=user_queue(user.id),
        template_key=template_key,
        recipient_user_id=user.id,
        recipient="",
        payload={
            "data": rendered.data,
            "page": rendered.page,
            "title": rendered.title,
            "body": rendered.body,
        },
        order_id=order_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
    return True


def _has_template(cfg: NotifySection, channel: Channel, template_key: str) -> bool:
    if channel is Channel.SUBSCRIBE:
        return bool(cfg.subscribe_templates.get(template_key))
    if channel is Channel.TEMPLATE:
        return bool(cfg.oa_templates.get(template_key))
    return True  # the robot speaks markdown: no template


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
    addressee: Addressee,
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
            addressee=addressee,
            order_id=order_id,
            now=now,
        )
        for user in users
    )
