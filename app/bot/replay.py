"""The replay and dedupe store of inbound callbacks (in the database, so every API process shares
it): a signed request is good once, and WeChat's resends of a message are done once."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.bot.models import BotInbound
from app.core.clock import now_utc
from app.runtime import Runtime

#: Replay keys must outlive the ±300 s timestamp window; a day is plenty and keeps the table small.
INBOUND_RETENTION = timedelta(days=1)


class InboundClaim(StrEnum):
    NEW = "new"
    REPLAY = "replay"  # the same signed request again: an attacker's replay (or a very late resend)
    DUPLICATE = "duplicate"  # a message already handled, re-signed: WeChat's own retry


def _take(session: Session, key: str) -> bool:
    try:
        with session.begin_nested():
            session.add(BotInbound(dedupe_key=key[:200]))
    except IntegrityError:
        return False
    return True


def claim_inbound(rt: Runtime, *, nonce_key: str, message_key: str | None) -> InboundClaim:
    """Take a verified callback exactly once, across processes (a unique key per INSERT).

    ``nonce_key`` names the signed request (timestamp + nonce): seen before, it is a replay.
    ``message_key`` names the message (MsgId, or sender + CreateTime + Event): seen before under
    a new signature, it is WeChat resending. Old keys are pruned on the way.
    """
    with rt.db.write() as session:
        session.execute(sa.delete(BotInbound).where(BotInbound.created_at < now_utc() - INBOUND_RETENTION))
        if not _take(session, nonce_key):
            return InboundClaim.REPLAY
        if message_key is not None and not _take(session, message_key):
            return InboundClaim.DUPLICATE
        return InboundClaim.NEW
