"""Deliver the outbox: claim a batch, choose each message's channel, send outside any transaction,
record every outcome.

- **Order per recipient.** A message is claimed only when no earlier message of its queue key
  (one person, one robot) is still open: pending, backing off or in flight. So messages to one
  person arrive in the order they were queued, across any number of job processes, while
  different people's go out side by side.
- **Claiming** takes rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several job processes
  share the work; SQLite has no such clause (SQLAlchemy drops it) but serialises writers, and the
  ``sending`` state with ``locked_until`` is the lease on both. A process killed mid-batch leaves
  its rows in ``sending``; when the lease runs out another worker takes them again: a crash can
  duplicate the batch in flight, never lose a message.
- **The channel** is chosen when the message is claimed, by walking its chain
  (app/notify/chains.py) with the person as they are then: a grant left, following and bound, a
  robot for their community. A subscribe grant is spent at that moment, once per message.
- **Outcomes**: sent; a refusal by the recipient (43101, 43004, 45015, 40003) skips that channel and
  the message moves on to the next one at once (the same run takes it up again); with no channel
  left the inbox is all there is (skipped). Payload bugs are dead at once (logged loudly); quota
  backs off the whole channel; anything else is retried with exponential backoff and full
  jitter, up to ``notify.max_attempts``.
- **Stopping** (``Runtime.stopping``, set on SIGTERM): sends in flight finish and are recorded;
  the rest of the batch goes back to the queue untouched, and no further batch is claimed.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area
from app.core.clock import now_utc
from app.core.config import NotifySection
from app.identity.models import User
from app.notify.chains import Reach, Route, Skip, choose, trail_entry
from app.notify.models import Channel, ChannelPause, DeliveryStatus, OutboxMessage, SubscriptionGrant
from app.runtime import Runtime
from app.wechat.errors import WeChatError, WeChatPayloadError, WeChatQuotaError, WeChatRecipientError

log = logging.getLogger(__name__)

WECOM_WINDOW = timedelta(seconds=60)
_TABLE = sa.Table("outbox_messages", OutboxMessage.metadata)  # the mapped table, for Core executemany
#: The order a message is about, by table name: notify sits below orders in the layers
#: (pyproject's import contracts), and the robot of the order's community is all it needs.
_ORDERS = sa.table("orders", sa.column("id"), sa.column("community_id"))


@dataclass
class DeliveryReport:
    """What one run did; the counts add up to ``claimed``."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    skipped: int = 0  # no channel could reach the person: the inbox has it
    rerouted: int = 0  # refused on one channel, on to the next at once
    dead: int = 0
    deferred: int = 0  # put back untouched: channel paused, robot over its per-minute limit, stopping
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.skipped += other.skipped
        self.rerouted += other.rerouted
        self.dead += other.dead
        self.deferred += other.deferred
        self.errors.extend(other.errors)


@dataclass(frozen=True)
class _Claimed:
    id: int
    route: Route
    template_key: str
    recipient_user_id: int | None
    #: What goes to WeChat on this route (built at claim time; the row keeps the stored payload).
    body: dict[str, Any]
    attempts: int
    #: The chain from this route's channel on.
    chain: list[Channel]
    trail: list[dict[str, str]]


def backoff_delay(cfg: NotifySection, attempts: int, rng: random.Random | None = None) -> timedelta:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempts-1))] (AWS's recommendation)."""
    ceiling = min(cfg.backoff_max_seconds, cfg.backoff_base_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=(rng or random).uniform(0, ceiling))


def _due_heads_statement(*, paused: bool) -> sa.Select[Any]:
    """Due messages that are first in their queue, oldest first, locked for this worker: plain
    rows of the table (building ORM objects for a batch cost more than its statements did)."""
    table = _TABLE
    now = sa.bindparam("now", type_=table.c.next_attempt_at.type)
    due = sa.or_(
        sa.and_(table.c.status == DeliveryStatus.PENDING, table.c.next_attempt_at <= now),
        sa.and_(table.c.status == DeliveryStatus.SENDING, table.c.locked_until < now),
    )
    earlier = table.alias("earlier")
    # Literal statuses, so that both databases match the partial index of open rows
    # (ix_outbox_messages_open_queue_key_id) to this subquery.
    open_earlier = (
        sa.select(earlier.c.id)
        .where(
            earlier.c.queue_key == table.c.queue_key,
            earlier.c.id < table.c.id,
            earlier.c.status.in_([sa.literal_column("'pending'"), sa.literal_column("'sending'")]),
        )
        .exists()
    )
    query = sa.select(table).where(due, ~open_earlier)
    if paused:
        query = query.where(table.c.channel.not_in(sa.bindparam("paused", expanding=True)))
    return (
        query.order_by(table.c.id)
        .limit(sa.bindparam("limit", type_=sa.Integer()))
        .with_for_update(skip_locked=True, of=table)
    )


#: Built once: the claim runs every couple of seconds in every job process.
_DUE_HEADS = {paused: _due_heads_statement(paused=paused) for paused in (False, True)}


def _due_heads(session: Session, now: datetime, paused: list[Channel], limit: int) -> list[sa.Row[Any]]:
    params: dict[str, Any] = {"now": now, "limit": limit}
    if paused:
        params["paused"] = paused
    return list(session.execute(_DUE_HEADS[bool(paused)], params).all())


@dataclass
class _People:
    """What the claimed batch's recipients have, read in three statements for the whole batch."""

    users: dict[int, Any]
    grants: set[tuple[int, str]]
    robots: dict[int, str]

    @classmethod
    def of(cls, session: Session, rows: list[sa.Row[Any]]) -> _People:
        user_ids = {row.recipient_user_id for row in rows if row.recipient_user_id is not None}
        users: dict[int, Any] = {}
        grants: set[tuple[int, str]] = set()
        if user_ids:
            users = {
                row.id: row
                for row in session.execute(
                    sa.select(
                        User.id,
                        User.openid,
                        User.nickname,
                        User.oa_openid,
                        User.oa_following,
                        User.oa_blocked_at,
                        User.deleted_at,
                    ).where(User.id.in_(user_ids))
                )
            }
            keys = {row.template_key for row in rows}
            grants = {
                (user_id, key)
                for user_id, key in session.execute(
                    sa.select(SubscriptionGrant.user_id, SubscriptionGrant.template_key).where(
                        SubscriptionGrant.user_id.in_(user_ids),
                        SubscriptionGrant.template_key.in_(keys),
                        SubscriptionGrant.remaining > 0,
                    )
                )
            }
        order_ids = {row.order_id for row in rows if row.order_id is not None and Channel.WECOM.value in row.chain}
        robots: dict[int, str] = {}
        if order_ids:
            robots = dict(
                session.execute(
                    sa.select(_ORDERS.c.id, Area.wecom_robot_key)
                    .join(Area, Area.id == _ORDERS.c.community_id)
                    .where(_ORDERS.c.id.in_(order_ids), Area.wecom_robot_key.is_not(None))
                ).all()
            )
        return cls(users, grants, robots)

    def reach(self, cfg: NotifySection, row: sa.Row[Any], *, grant: bool | None = None) -> Reach:
        user = self.users.get(row.recipient_user_id) if row.recipient_user_id is not None else None
        template_ids = {
            Channel.SUBSCRIBE: cfg.subscribe_templates.get(row.template_key, ""),
            Channel.TEMPLATE: cfg.oa_templates.get(row.template_key, ""),
        }
        robot = self.robots.get(row.order_id) if row.order_id is not None else None
        if user is None or user.deleted_at is not None:
            # A deleted account (or a robot's own message): no personal channel is left.
            return Reach(robot_key=robot, template_ids=template_ids)
        has_grant = row.grant_taken or (user.id, row.template_key) in self.grants
        return Reach(
            openid=user.openid,
            grant=has_grant if grant is None else grant,
            oa_openid=user.oa_openid,
            following=bool(user.oa_following),
            blocked=user.oa_blocked_at is not None,
            robot_key=robot,
            template_ids=template_ids,
        )


def _body(cfg: NotifySection, row: sa.Row[Any], route: Route, nickname: str) -> dict[str, Any]:
    """What goes to WeChat for ``row`` on ``route``."""
    stored = dict(row.payload)
    if route.channel is Channel.SUBSCRIBE:
        return {
            "template_id": route.template_id,
            "data": stored.get("data") or {},
            "page": stored.get("page"),
            "miniprogram_state": cfg.miniprogram_state,
        }
    if route.channel is Channel.TEMPLATE:
        return {"template_id": route.template_id, "data": stored.get("data") or {}, "page": stored.get("page")}
    if route.channel is Channel.WECOM and "msgtype" not in stored:
        # A person's message in their community's work group: addressed to them by name.
        lines = [f"**{stored.get('title', '')}**", str(stored.get("body", "")), f"> 请 {nickname or '值班人员'} 查看"]
        content = "\n".join(lines).encode("utf-8")[:4000].decode("utf-8", errors="ignore")
        return {"msgtype": "markdown", "markdown": {"content": content}}
    return stored  # robot markdown and customer-service text are stored ready to send


def _over_robot_limit(session: Session, cfg: NotifySection, key: str, now: datetime, in_batch: int) -> datetime | None:
    """When the robot may speak again, or None if it is under its per-minute limit (counting the
    messages this batch already sends to it)."""
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
    if len(recent) + in_batch < cfg.wecom_per_minute:
        return None
    if in_batch or not recent:
        return now + WECOM_WINDOW
    oldest = recent[-cfg.wecom_per_minute] if len(recent) >= cfg.wecom_per_minute else recent[0]
    return (oldest or now) + WECOM_WINDOW


def _plan(cfg: NotifySection, people: _People, row: sa.Row[Any]) -> tuple[Route | None, list[Skip], list[Channel]]:
    """The channel for one claimed row, and what was skipped on the way."""
    if row.recipient_user_id is None or row.channel is Channel.CUSTOMER_SERVICE:
        # Addressed when queued (a community robot's own message, a bot reply): nothing to choose.
        return Route(row.channel, row.recipient), [], [row.channel]
    return choose([Channel(c) for c in row.chain], people.reach(cfg, row))


def _spend_grants(session: Session, wanted: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Spend one grant for each (user, template key): one conditional UPDATE per template key
    (a batch holds one or two), answering those spent. Two workers can never spend one grant:
    the decrement is guarded by ``remaining > 0``."""
    by_key: dict[str, list[int]] = {}
    for user_id, key in wanted:
        by_key.setdefault(key, []).append(user_id)
    spent: set[tuple[int, str]] = set()
    for key, user_ids in sorted(by_key.items()):
        result = session.execute(
            _SPEND_GRANTS, {"key": key, "user_ids": sorted(user_ids)}, execution_options={"synchronize_session": False}
        )
        spent.update((int(user_id), key) for (user_id,) in result)
    return spent


_GRANTS = sa.Table("subscription_grants", SubscriptionGrant.metadata)
_SPEND_GRANTS = (
    sa.update(_GRANTS)
    .where(
        _GRANTS.c.template_key == sa.bindparam("key"),
        _GRANTS.c.user_id.in_(sa.bindparam("user_ids", expanding=True)),
        _GRANTS.c.remaining > 0,
    )
    .values(remaining=_GRANTS.c.remaining - 1)
    .returning(_GRANTS.c.user_id)
)


def claim_batch(rt: Runtime, now: datetime, limit: int, report: DeliveryReport | None = None) -> list[_Claimed]:
    """Take up to ``limit`` due messages for this worker until the lease runs out, each with the
    channel it goes by. Messages no channel can carry are settled here (skipped), as are robot
    messages over the robot's limit (deferred); ``report`` counts them."""
    cfg = rt.settings.notify
    report = report if report is not None else DeliveryReport()
    with rt.db.write() as session:
        paused = list(session.scalars(sa.select(ChannelPause.channel).where(ChannelPause.paused_until > now)))
        rows = _due_heads(session, now, paused, limit)
        if not rows:
            return []
        report.claimed += len(rows)
        people = _People.of(session, rows)
        plans = {row.id: _plan(cfg, people, row) for row in rows}
        wanted = {
            (row.recipient_user_id, row.template_key)
            for row in rows
            if (route := plans[row.id][0]) is not None
            and route.channel is Channel.SUBSCRIBE
            and not row.grant_taken
            and row.recipient_user_id is not None
        }
        spent = _spend_grants(session, wanted)
        updates: list[dict[str, Any]] = []
        claimed: list[_Claimed] = []
        robot_sends: dict[str, int] = {}
        for row in rows:
            route, skips, chain = plans[row.id]
            grant_taken = row.grant_taken
            if route is not None and route.channel is Channel.SUBSCRIBE and not grant_taken:
                if (row.recipient_user_id, row.template_key) in spent:
                    grant_taken = True
                else:  # lost the grant in a race with another message: walk on without it
                    route, skips, chain = choose([Channel(c) for c in row.chain], people.reach(cfg, row, grant=False))
            trail = list(row.trail) + [trail_entry(s.channel, "skipped", s.reason, now) for s in skips]
            base = {
                "m_id": row.id,
                "m_trail": trail,
                "m_grant_taken": grant_taken,
                "m_attempts": row.attempts,
                "m_locked_until": None,
                "m_next_attempt_at": row.next_attempt_at,
            }
            if route is None:
                # After a refusal on an earlier channel its answer comes first: that is the news.
                skipped = " ".join(f"{s.channel.value}:{s.reason}" for s in skips) or "no_channel"
                reason = f"{row.last_error}; {skipped}" if row.last_error else skipped
                updates.append(
                    base
                    | {
                        "m_status": DeliveryStatus.SKIPPED,
                        "m_channel": row.channel,
                        "m_chain": [],
                        "m_recipient": row.recipient,
                        "m_last_error": reason[:500],
                    }
                )
                report.skipped += 1
                continue
            if route.channel is Channel.WECOM:
                later = _over_robot_limit(session, cfg, route.recipient, now, robot_sends.get(route.recipient, 0))
                if later is not None:
                    updates.append(
                        base
                        | {
                            "m_status": DeliveryStatus.PENDING,
                            "m_channel": route.channel,
                            "m_chain": [c.value for c in chain],
                            "m_recipient": route.recipient,
                            "m_next_attempt_at": later,
                            "m_last_error": row.last_error,
                        }
                    )
                    report.deferred += 1
                    continue
                robot_sends[route.recipient] = robot_sends.get(route.recipient, 0) + 1
            updates.append(
                base
                | {
                    "m_status": DeliveryStatus.SENDING,
                    "m_channel": route.channel,
                    "m_chain": [c.value for c in chain],
                    "m_recipient": route.recipient,
                    "m_attempts": row.attempts + 1,
                    "m_locked_until": now + timedelta(seconds=cfg.lease_seconds),
                    "m_last_error": row.last_error,
                }
            )
            user = people.users.get(row.recipient_user_id) if row.recipient_user_id is not None else None
            claimed.append(
                _Claimed(
                    id=row.id,
                    route=route,
                    template_key=row.template_key,
                    recipient_user_id=row.recipient_user_id,
                    body=_body(cfg, row, route, user.nickname if user is not None else ""),
                    attempts=row.attempts + 1,
                    chain=chain,
                    trail=trail,
                )
            )
        # One executemany for the whole batch, whatever each row's outcome.
        session.connection().execute(_CLAIM_UPDATE, updates)
        return claimed


_CLAIM_UPDATE = (
    sa.update(_TABLE)
    .where(_TABLE.c.id == sa.bindparam("m_id"))
    .values(
        status=sa.bindparam("m_status"),
        channel=sa.bindparam("m_channel"),
        chain=sa.bindparam("m_chain"),
        recipient=sa.bindparam("m_recipient"),
        trail=sa.bindparam("m_trail"),
        grant_taken=sa.bindparam("m_grant_taken"),
        attempts=sa.bindparam("m_attempts"),
        locked_until=sa.bindparam("m_locked_until"),
        next_attempt_at=sa.bindparam("m_next_attempt_at"),
        last_error=sa.bindparam("m_last_error"),
    )
)


class _Stopped:
    """Not sent: the process is stopping (the message goes back to the queue)."""


def _send(rt: Runtime, message: _Claimed, stop: threading.Event) -> WeChatError | _Stopped | str | None:
    """Send one message; answers the error, _Stopped, or (sent) WeChat's msgid or None."""
    if stop.is_set():
        return _Stopped()
    body = message.body
    route = message.route
    try:
        if route.channel is Channel.SUBSCRIBE:
            rt.wechat.send_subscribe_message(
                route.recipient,
                route.template_id,
                body["data"],
                page=body.get("page"),
                miniprogram_state=body.get("miniprogram_state"),
            )
        elif route.channel is Channel.TEMPLATE:
            return rt.wechat.send_template_message(
                route.recipient,
                route.template_id,
                body["data"],
                page=body.get("page"),
                # WeChat drops a repeat of this id: a resend after a crash is not shown twice.
                client_msg_id=f"linli-{message.id}",
            )
        elif route.channel is Channel.CUSTOMER_SERVICE:
            rt.wechat.send_customer_service_text(route.recipient, str(body["text"]))
        else:
            rt.wechat.send_robot_message(route.recipient, body)
    except WeChatError as exc:
        return exc
    return None


_RECORD_UPDATE = (
    sa.update(_TABLE)
    .where(
        # Only if we still hold the lease: a worker that stalled past it must not overwrite the
        # outcome of the one that took the message over.
        _TABLE.c.id == sa.bindparam("m_id"),
        _TABLE.c.status == DeliveryStatus.SENDING,
        _TABLE.c.attempts == sa.bindparam("m_held"),
    )
    .values(
        status=sa.bindparam("m_status"),
        channel=sa.bindparam("m_channel"),
        chain=sa.bindparam("m_chain"),
        trail=sa.bindparam("m_trail"),
        attempts=sa.bindparam("m_attempts"),
        locked_until=None,
        next_attempt_at=sa.bindparam("m_next_attempt_at"),
        last_error=sa.bindparam("m_last_error"),
        sent_at=sa.bindparam("m_sent_at"),
        wechat_msgid=sa.bindparam("m_msgid"),
    )
)


def _outcome(  # noqa: PLR0911 - one return per outcome, each with its row values
    session: Session,
    cfg: NotifySection,
    message: _Claimed,
    result: WeChatError | _Stopped | str | None,
    *,
    now: datetime,
    report: DeliveryReport,
) -> dict[str, Any]:
    """The row's new values for one send's result (and the side effects a refusal or a quota
    error calls for)."""
    channel = message.route.channel
    values: dict[str, Any] = {
        "m_id": message.id,
        "m_held": message.attempts,
        "m_status": DeliveryStatus.PENDING,
        "m_channel": channel,
        "m_chain": [c.value for c in message.chain],
        "m_trail": message.trail,
        "m_attempts": message.attempts,
        "m_next_attempt_at": now,
        "m_last_error": "",
        "m_sent_at": None,
        "m_msgid": None,
    }
    if isinstance(result, _Stopped):
        report.deferred += 1
        return values | {"m_attempts": message.attempts - 1}
    if not isinstance(result, WeChatError):
        report.sent += 1
        return values | {
            "m_status": DeliveryStatus.SENT,
            "m_sent_at": now,
            "m_msgid": result,
            "m_trail": [*message.trail, trail_entry(channel, "sent", result or "", now)],
        }
    reason = f"{result.api} errcode={result.errcode} {result.errmsg}"[:500]
    values["m_last_error"] = reason
    if isinstance(result, WeChatRecipientError):
        _refused(session, message, result)
        rest = message.chain[1:]
        trail = [*message.trail, trail_entry(channel, "skipped", reason, now)]
        if not rest:
            report.skipped += 1
            return values | {"m_status": DeliveryStatus.SKIPPED, "m_trail": trail, "m_chain": []}
        # Not a failure: the next channel is tried at once (no backoff; the send still counts
        # among the attempts, which is what they are).
        report.rerouted += 1
        return values | {"m_channel": rest[0], "m_chain": [c.value for c in rest], "m_trail": trail}
    trail = [*message.trail, trail_entry(channel, "failed", reason, now)]
    if isinstance(result, WeChatPayloadError):
        log.error("outbox %s is dead: WeChat refused our payload (a bug to fix): %s", message.id, reason)
        report.dead += 1
        return values | {"m_status": DeliveryStatus.DEAD, "m_trail": trail}
    if isinstance(result, WeChatQuotaError):
        until = now + timedelta(seconds=cfg.quota_pause_seconds)
        _pause(session, channel, until, reason)
        # Not the message's fault: give the attempt back.
        report.deferred += 1
        return values | {"m_next_attempt_at": until, "m_attempts": message.attempts - 1, "m_trail": trail}
    if message.attempts >= cfg.max_attempts:
        log.warning("outbox %s is dead after %s attempts: %s", message.id, message.attempts, reason)
        report.dead += 1
        return values | {"m_status": DeliveryStatus.DEAD, "m_trail": trail}
    report.retried += 1
    return values | {"m_next_attempt_at": now + backoff_delay(cfg, message.attempts), "m_trail": trail}


def _refused(session: Session, message: _Claimed, error: WeChatRecipientError) -> None:
    """What a refusal tells us about the person, so that the next message does not ask again."""
    user_id = message.recipient_user_id
    if user_id is None:
        return
    if message.route.channel is Channel.SUBSCRIBE and error.errcode == 43101:  # noqa: PLR2004
        # The user turned the template off or has no grant left: stop counting on one.
        session.execute(
            sa.update(SubscriptionGrant)
            .where(SubscriptionGrant.user_id == user_id, SubscriptionGrant.template_key == message.template_key)
            .values(remaining=0)
        )
    elif message.route.channel is Channel.TEMPLATE and error.errcode == 43004:  # noqa: PLR2004
        # "require subscribe": they no longer follow the account (we missed the unfollow event).
        session.execute(sa.update(User).where(User.id == user_id).values(oa_following=False))


def _pause(session: Session, channel: Channel, until: datetime, reason: str) -> None:
    pause = session.get(ChannelPause, channel)
    if pause is None:
        session.add(ChannelPause(channel=channel, paused_until=until, reason=reason))
    elif pause.paused_until < until:
        pause.paused_until, pause.reason = until, reason
    session.flush()


@dataclass
class _SendPool:
    pid: int
    size: int
    executor: ThreadPoolExecutor


_POOL_LOCK = threading.Lock()
_POOL: list[_SendPool] = []  # the process's one pool, once made


def _send_pool(size: int) -> ThreadPoolExecutor:
    """The process's send threads, kept from batch to batch: starting 16 threads per batch was a
    tenth of delivery's CPU (docs/operations.md, "Outbox goals"). One pool per process, whichever
    scheduler thread runs the delivery (the job runs one instance at a time), so that idle send
    threads do not pile up per scheduler thread; made again after a fork (threads do not survive
    it) or when ``send_threads`` changes."""
    with _POOL_LOCK:
        current = _POOL[0] if _POOL else None
        if current is not None and current.pid == os.getpid() and current.size == size:
            return current.executor
        if current is not None and current.pid == os.getpid():
            current.executor.shutdown(wait=False)  # its queued sends still run; new ones go to the new pool
        made = _SendPool(os.getpid(), size, ThreadPoolExecutor(max_workers=size, thread_name_prefix="outbox-send"))
        _POOL[:] = [made]
        return made.executor


def deliver_batch(
    rt: Runtime, now: datetime | None = None, limit: int | None = None, *, stop: threading.Event | None = None
) -> DeliveryReport:
    """Claim one batch, send it (in parallel threads), record every outcome in one transaction."""
    cfg = rt.settings.notify
    now = now or now_utc()
    stop = stop or rt.stopping
    report = DeliveryReport()
    claimed = claim_batch(rt, now, limit or cfg.batch_size, report)
    if not claimed:
        return report
    # Parallel sends: delivery waits on WeChat, not on the CPU.
    results = list(_send_pool(cfg.send_threads).map(lambda message: _send(rt, message, stop), claimed))
    with rt.db.write() as session:
        rows = [
            _outcome(session, cfg, message, result, now=now, report=report)
            for message, result in zip(claimed, results, strict=True)
        ]
        session.connection().execute(_RECORD_UPDATE, rows)
    return report


def deliver_due(
    rt: Runtime, now: datetime | None = None, *, max_batches: int = 100, stop: threading.Event | None = None
) -> DeliveryReport:
    """Deliver until nothing is due (or ``max_batches``, so that one run never starves the rest,
    or until the process is asked to stop)."""
    stop = stop or rt.stopping
    total = DeliveryReport()
    for _ in range(max_batches):
        if stop.is_set():
            break
        report = deliver_batch(rt, now, stop=stop)
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
