"""The expire_redemptions job's use case: codes nobody verified within
``timebank.redemptions.valid_hours`` expire, their points come back and their stock returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.identity.models import User
from app.notify.chains import Addressee
from app.notify.outbox import notify_user
from app.runtime import Runtime
from app.timebank import texts
from app.timebank.models import Redemption, RedemptionStatus, Reward
from app.timebank.redemptions import settle


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    #: Codes this run expired (and refunded).
    expired: int
    #: Points given back by this run.
    points: int


def expire_redemptions(rt: Runtime, now: datetime) -> ExpiryReport:
    """The job: every issued code past its expiry becomes ``expired``, with a refund entry, its
    stock back and a message to the volunteer, each code in a transaction of its own.

    One code per transaction (the house rule for jobs) also keeps the lock order of a redemption
    (the volunteer, then the reward): a batch that had put one reward's stock back while waiting
    for another volunteer, who waits for that reward, would deadlock on PostgreSQL. The codes due
    are looked up ``timebank.redemptions.expiry_batch`` at a time. Idempotent, and exactly once
    under several job processes: :func:`settle` changes a code only while it is still issued."""
    cfg = rt.settings.timebank.redemptions
    due = sa.and_(Redemption.status == RedemptionStatus.ISSUED, Redemption.expires_at <= now)
    expired = points = 0
    after = 0
    while True:
        with rt.db.read() as session:
            ids = list(
                session.scalars(
                    sa.select(Redemption.id)
                    .where(due, Redemption.id > after)
                    .order_by(Redemption.id)
                    .limit(cfg.expiry_batch)
                )
            )
        for redemption_id in ids:
            refunded = _expire_one(rt, redemption_id, now)
            if refunded is not None:
                expired += 1
                points += refunded
        if len(ids) < cfg.expiry_batch:
            return ExpiryReport(expired=expired, points=points)
        after = ids[-1]


def _expire_one(rt: Runtime, redemption_id: int, now: datetime) -> int | None:
    """Expire one code and tell its volunteer; the points refunded, or None if it was no longer
    issued (verified, cancelled or expired by another process meanwhile)."""
    with rt.db.write() as session:
        settled = settle(session, redemption_id, RedemptionStatus.EXPIRED, now)
        if settled is None:
            return None
        reward = session.get(Reward, settled.reward_id)
        user = session.get(User, settled.user_id)
        if reward is not None and user is not None:
            notify_user(
                session,
                rt.settings.notify,
                user=user,
                template_key=texts.EXPIRED_KEY,
                rendered=texts.expired(settled.code, reward.name, settled.points, now),
                dedupe_key=f"redemption:{settled.id}:expired",
                addressee=Addressee.MEMBER,
                now=now,
            )
        return settled.points
