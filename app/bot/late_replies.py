"""Bot replies that missed WeChat's 5 s: sent afterwards as a customer-service text (客服消息).

A passive reply is only possible within the callback's answer; past the reply budget the view
answers ``success`` and the handler keeps running. Its text then goes to the outbox, and the
delivery job sends it through ``message/custom/send``, which WeChat allows for 48 h after the
follower's message: a late reply is always within that.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from app.bot.security import clip_reply
from app.identity.models import User
from app.notify.outbox import queue_customer_service_text
from app.runtime import Runtime

log = logging.getLogger(__name__)


def queue_late_reply(rt: Runtime, *, oa_openid: str, text: str, inbound_key: str) -> bool:
    """Queue ``text`` to the follower, in its own transaction; False if queued before.

    ``inbound_key`` names the message it answers (app/bot/security.py ``message_key``), so the
    same push handled twice queues one reply. The bound user's id, if any, puts the reply in that
    person's queue among their other messages.
    """
    if not oa_openid or not text:
        return False
    with rt.db.write() as session:
        user_id = session.scalar(sa.select(User.id).where(User.oa_openid == oa_openid))
        queued = queue_customer_service_text(
            session, user_id=user_id, oa_openid=oa_openid, text=clip_reply(text), dedupe_key=f"bot-reply:{inbound_key}"
        )
    if queued:
        log.info("late bot reply queued as a customer-service message")
    return queued
