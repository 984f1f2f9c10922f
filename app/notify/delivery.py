"""Deliver the outbox: claim a batch, send it outside any transaction, record each outcome.

- Claiming takes rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several job processes
  share the work; SQLite has no such clause (SQLAlchemy drops it) but serialises writers, and the
  ``sending`` state with ``locked_until`` is the lease on both.
- A process killed mid-batch leaves its rows in ``sending``; when the lease runs out another
  worker takes them again. So a crash can duplicate the batch in flight, never lose a message.
- Outcomes: sent; skipped (the recipient refused or has no grant; 43101 also clears the grant);
  dead at once for payload bugs (logged loudly); quota backs off the whole channel; anything else
  is retried with exponential backoff and full jitter, up to ``notify.max_attempts``.
"""

from __future__ import annotations

import logging
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.clock import now_utc
from app.core.config import NotifySection
from app.notify.models import Channel, ChannelPause, DeliveryStatus, OutboxMessage, SubscriptionGrant
from app.runtime import Runtime
from app.wechat.errors import WeChatError, WeChatPayloadError, WeChatQuotaError, WeChatRecipientError

log = logging.getLogger(__name__)

#: Parallel sends per batch: delivery waits on WeChat, not on the CPU.
SEND_THREADS = 8
WECOM_WINDOW = timedelta(seconds=60)


@dataclass
class DeliveryReport:
    """What one run did; the counts add up to ``claimed``."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    skipped: int = 0
    dead: int = 0
    deferred: int = 0  # put back untouched: channel paused or robot over its per-minute limit
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.skipped += other.skipped
        self.dead += other.dead
        self.deferred += other.deferred
        self.errors.extend(other.errors)


@dataclass(frozen=True)
class _Claimed:
    id: int
    channel: Channel
    template_key: str
    recipient: str
    recipient_user_id: int | None
    payload: dict[str, object]
    attempts: int


def backoff_delay(cfg: NotifySection, attempts: int, rng: random.Random | None = None) -> timedelta:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempts-1))] (AWS's recommendation)."""
    ceiling = min(cfg.backoff_max_seconds, cfg.backoff_base_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=(rng or random).uniform(0, ceiling))


def claim_batch(rt: Runtime, now: datetime, limit: int) -> list[_Claimed]:
    """Take up to ``limit`` due messages for this worker until the lease runs out."""
    cfg = rt.settings.notify
    with rt.db.write() as session:
        paused = list(session.scalars(sa.select(ChannelPause.channel).where(ChannelPause.paused_until > now)))
        due = sa.or_(
            sa.and_(OutboxMessage.status == DeliveryStatus.PENDING, OutboxMessage.next_attempt_at <= now),
            sa.and_(OutboxMessage.status == DeliveryStatus.SENDING, OutboxMessage.locked_until < now),
        )
        query = sa.select(OutboxMessage).where(due)
        if paused:
            query = query.where(OutboxMessage.channel.not_in(paused))
        rows = session.scalars(query.order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)).all()
        if not rows:
            return []
        session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_([row.id for row in rows]))
            .values(
                status=DeliveryStatus.SENDING,
                locked_until=now + timedelta(seconds=cfg.lease_seconds),
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return [
            _Claimed(
                id=row.id,
                channel=row.channel,
                template_key=row.template_key,
                recipient=row.recipient,
                recipient_user_id=row.recipient_user_id,
                payload=dict(row.payload),
                attempts=row.attempts + 1,
            )
            for row in rows
        ]


def _send(rt: Runtime, message: _Claimed) -> WeChatError | None:
    payload = message.payload
    data = payload.get("data") or {}
    try:
        if message.channel is Channel.SUBSCRIBE:
            rt.wechat.send_subscribe_message(
                message.recipient,
                str(payload["template_id"]),
                data,  # type: ignore[arg-type]
                page=payload.get("page"),  # type: ignore[arg-type]
                miniprogram_state=payload.get("miniprogram_state"),  # type: ignore[arg-type]
            )
        elif message.channel is Channel.TEMPLATE:
            rt.wechat.send_template_message(
                message.recipient,
                str(payload["template_id"]),
                data,  # type: ignore[arg-type]
                page=payload.get("page"),  # type: ignore[arg-type]
                # WeChat drops a repeat of this id: a resend after a crash is not shown twice.
                client_msg_id=f"linli-{message.id}",
            )
        elif message.channel is Channel.CUSTOMER_SERVICE:
            rt.wechat.send_customer_service_text(message.recipient, str(payload["text"]))
        else:
            rt.wechat.send_robot_message(message.recipient, payload)
    except WeChatError as exc:
        return exc
    return None


def _robot_over_limit(session: Session, cfg: NotifySection, key: str, now: datetime) -> datetime | None:
    """When the robot may speak again, or None if it is under its per-minute limit."""
    recent = session.scalars(
        sa.select(OutboxMessage.sent_at)
        .where(
            OutboxMessage.channel == Channel.WECOM,
            OutboxMessage.recipient == key,
            OutboxMessage.status == DeliveryStatus.SENT,
            OutboxMessage.sent_at > now - WECOM_WINDOW,
        )
        .order_by(OutboxMessage.sent_at)
    ).all()
    if len(recent) < cfg.wecom_per_minute:
        return None
    oldest = recent[-cfg.wecom_per_minute]
    return (oldest or now) + WECOM_WINDOW


def _record(
    session: Session,
    cfg: NotifySection,
    message: _Claimed,
    error: WeChatError | None,
    *,
    now: datetime,
    report: DeliveryReport,
) -> None:
    # Only if we still hold the lease: a worker that stalled past it must not overwrite the
    # outcome of the one that took the message over.
    mine = sa.and_(
        OutboxMessage.id == message.id,
        OutboxMessage.status == DeliveryStatus.SENDING,
        OutboxMessage.attempts == message.attempts,
    )

    def finish(status: DeliveryStatus, **values: object) -> None:
        session.execute(
            sa.update(OutboxMessage)
            .where(mine)
            .values(status=status, locked_until=None, **values)
            .execution_options(synchronize_session=False)
        )

    if error is None:
        finish(DeliveryStatus.SENT, sent_at=now, last_error="")
        report.sent += 1
        return
    reason = f"{error.api} errcode={error.errcode} {error.errmsg}"[:500]
    if isinstance(error, WeChatRecipientError):
        if message.channel is Channel.SUBSCRIBE and error.errcode == 43101 and message.recipient_user_id:  # noqa: PLR2004
            # The user turned the template off or has no grant left: stop counting on one.
            session.execute(
                sa.update(SubscriptionGrant)
                .where(
                    SubscriptionGrant.user_id == message.recipient_user_id,
                    SubscriptionGrant.template_key == message.template_key,
                )
                .values(remaining=0)
            )
        finish(DeliveryStatus.SKIPPED, last_error=reason)
        report.skipped += 1
    elif isinstance(error, WeChatPayloadError):
        log.error("outbox %s is dead: WeChat refused our payload (a bug to fix): %s", message.id, reason)
        finish(DeliveryStatus.DEAD, last_error=reason)
        report.dead += 1
    elif isinstance(error, WeChatQuotaError):
        until = now + timedelta(seconds=cfg.quota_pause_seconds)
        _pause(session, message.channel, until, reason)
        # Not the message's fault: give the attempt back.
        finish(DeliveryStatus.PENDING, next_attempt_at=until, attempts=message.attempts - 1, last_error=reason)
        report.deferred += 1
    elif message.attempts >= cfg.max_attempts:
        log.warning("outbox %s is dead after %s attempts: %s", message.id, message.attempts, reason)
        finish(DeliveryStatus.DEAD, last_error=reason)
        report.dead += 1
    else:
        finish(DeliveryStatus.PENDING, next_attempt_at=now + backoff_delay(cfg, message.attempts), last_error=reason)
        report.retried += 1


def _pause(session: Session, channel: Channel, until: datetime, reason: str) -> None:
    pause = session.get(ChannelPause, channel)
    if pause is None:
        session.add(ChannelPause(channel=channel, paused_until=until, reason=reason))
    elif pause.paused_until < until:
        pause.paused_until, pause.reason = until, reason
    session.flush()


def deliver_batch(rt: Runtime, now: datetime | None = None, limit: int | None = None) -> DeliveryReport:
    """Claim one batch, send it (in parallel threads), record every outcome in one transaction."""
    cfg = rt.settings.notify
    now = now or now_utc()
    report = DeliveryReport()
    claimed = claim_batch(rt, now, limit or cfg.batch_size)
    report.claimed = len(claimed)
    if not claimed:
        return report
    to_send: list[_Claimed] = []
    with rt.db.write() as session:
        for message in claimed:
            if message.channel is Channel.WECOM:
                later = _robot_over_limit(session, cfg, message.recipient, now)
                if later is not None or sum(m.recipient == message.recipient for m in to_send) >= cfg.wecom_per_minute:
                    session.execute(
                        sa.update(OutboxMessage)
                        .where(OutboxMessage.id == message.id)
                        .values(
                            status=DeliveryStatus.PENDING,
                            attempts=message.attempts - 1,
                            locked_until=None,
                            next_attempt_at=later or now + WECOM_WINDOW,
                        )
                    )
                    report.deferred += 1
                    continue
            to_send.append(message)
    with ThreadPoolExecutor(max_workers=SEND_THREADS) as pool:
        outcomes = list(pool.map(lambda message: _send(rt, message), to_send))
    with rt.db.write() as session:
        for message, error in zip(to_send, outcomes, strict=True):
            _record(session, cfg, message, error, now=now, report=report)
    return report


def deliver_due(rt: Runtime, now: datetime | None = None, *, max_batches: int = 100) -> DeliveryReport:
    """Deliver until nothing is due (or ``max_batches``, so that one run never starves the rest)."""
    total = DeliveryReport()
    for _ in range(max_batches):
        report = deliver_batch(rt, now)
        total.add(report)
        if report.claimed == 0:
            break
    return total


def outbox_counts(rt: Runtime) -> dict[str, int]:
    """Messages by delivery status (for metrics and the accounting check)."""
    with rt.db.read() as session:
        rows = session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all()
    counts = {status.value: 0 for status in DeliveryStatus}
    counts.update({status.value: int(count) for status, count in rows})
    return counts
