"""Notifications: the outbox (delivery state apart from the order's), the in-app inbox, and the
users' one-time subscribe-message grants."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import ID_TYPE, created_at, fk, intpk
from app.core.db import Base


class Channel(StrEnum):
    SUBSCRIBE = "subscribe"  # mini-program subscribe message (订阅消息), needs a one-time grant
    TEMPLATE = "template"  # Official Account template message, to followers
    WECOM = "wecom"  # WeCom group robot of a community's work group
    CUSTOMER_SERVICE = "customer_service"  # Official Account 客服消息: a bot reply that missed its 5 s


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker until ``locked_until``; a crash leaves it to be re-claimed
    SENT = "sent"
    DEAD = "dead"  # gave up: a payload bug, or too many failed attempts
    SKIPPED = "skipped"  # never to be sent: no grant, user refused, not a follower


#: Not yet final: a later message to the same queue key waits for these.
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
OPEN_SQL = "status IN ('pending', 'sending')"


def _default_queue_key(context: DefaultExecutionContext) -> str:
    """A row inserted without a queue key queues behind its recipient's other messages."""
    values = context.get_current_parameters()  # type: ignore[no-untyped-call]
    user_id = values.get("recipient_user_id")
    return f"user:{user_id}" if user_id is not None else f"robot:{values.get('recipient', '')}"


class OutboxMessage(Base):
    """One message to push, written in the transaction of the change that causes it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The delivery worker's scan: due pending rows, and expired leases, oldest first.
        sa.Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        # Per-recipient order: "is an earlier message to this person still open?" reads only the
        # open rows of one queue key, however large the table of delivered ones grows.
        sa.Index(
            "ix_outbox_messages_open_queue_key_id",
            "queue_key",
            "id",
            postgresql_where=sa.text(OPEN_SQL),
            sqlite_where=sa.text(OPEN_SQL),
        ),
        # Receipts (TEMPLATESENDJOBFINISH) name the message by WeChat's msgid.
        sa.Index(
            "ix_outbox_messages_wechat_msgid",
            "wechat_msgid",
            postgresql_where=sa.text("wechat_msgid IS NOT NULL"),
            sqlite_where=sa.text("wechat_msgid IS NOT NULL"),
        ),
    )

    id: Mapped[intpk]
    #: One logical message, one row: the same reminder is never queued twice.
    dedupe_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    #: The channel being tried now, or the one that delivered (or was tried last).
    channel: Mapped[Channel]
    #: The channels still to try, this one first (config ``[notify.chains]``, as it was at queueing).
    chain: Mapped[list[str]] = mapped_column(sa.JSON(), default=list)
    #: One queue per recipient ("user:<id>", "robot:<key>"): its messages go out in id order.
    queue_key: Mapped[str] = mapped_column(sa.String(160), default=_default_queue_key)
    template_key: Mapped[str] = mapped_column(sa.String(32))
    recipient_user_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", nullable=True)
    #: The address on ``channel``: the openid (subscribe, template, customer service) or the robot
    #: key (WeCom), resolved when the channel is chosen.
    recipient: Mapped[str] = mapped_column(sa.String(128))
    #: Exactly what goes to WeChat: data, page/url, or the robot body.
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON())
    order_id: Mapped[int | None] = fk("orders.id", ondelete="SET NULL", index=False, nullable=True)
    status: Mapped[DeliveryStatus]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(sa.Text(), default="")
    sent_at: Mapped[datetime | None]
    #: Each channel tried, in order: ``{"channel", "outcome", "detail", "at"}`` (outcome: sent,
    #: skipped, failed, deferred).
    trail: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON(), default=list)
    #: A one-time subscribe grant was spent on this message (at its first subscribe attempt): a
    #: retry after a network error does not spend another.
    grant_taken: Mapped[bool] = mapped_column(default=False)
    #: WeChat's msgid of a sent template message, to match its delivery receipt.
    wechat_msgid: Mapped[str | None] = mapped_column(sa.String(64))
    #: TEMPLATESENDJOBFINISH's ``Status`` (success, failed:user block, failed:system failed).
    receipt: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]


class Notification(Base):
    """The in-app inbox: always written, so nothing is lost when WeChat cannot deliver."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_id_id", "user_id", "id"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE", index=False)
    template_key: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.String(64))
    body: Mapped[str] = mapped_column(sa.Text())
    order_id: Mapped[int | None] = fk("orders.id", ondelete="SET NULL", index=False, nullable=True)
    #: Same rule as the outbox: one inbox entry per logical message.
    dedupe_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    read_at: Mapped[datetime | None]
    created_at: Mapped[created_at]


class SubscriptionGrant(Base):
    """How many one-time subscribe messages of a template a user has allowed and we have not used."""

    __tablename__ = "subscription_grants"

    user_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    template_key: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    remaining: Mapped[int] = mapped_column(default=0)


class ChannelPause(Base):
    """A channel backed off as a whole after a quota error (45009)."""

    __tablename__ = "channel_pauses"

    channel: Mapped[Channel] = mapped_column(primary_key=True)
    paused_until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
