"""Template-message receipts (TEMPLATESENDJOBFINISH): what became of a message WeChat accepted.

WeChat answers a template send with a msgid at once and reports later whether the follower got
it: ``success``, ``failed:user block`` (they turned this account's template messages off) or
``failed: system failed``. A blocking user gets no more template messages (delivery skips the
channel for users with ``oa_blocked_at`` and falls back to the next one) until they follow again.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from app.core.clock import now_utc
from app.identity.models import User
from app.notify.models import OutboxMessage
from app.runtime import Runtime

log = logging.getLogger(__name__)

#: The column's width; WeChat's statuses are far shorter.
_STATUS_MAX = 64


def is_user_block(status: str) -> bool:
    """``failed:user block``, however WeChat spaces it (its documents write both)."""
    return status.replace(" ", "").lower() == "failed:userblock"


def record_receipt(rt: Runtime, msgid: str, status: str) -> bool:
    """Store the receipt on the outbox message WeChat named, and mark a blocking recipient.

    Answers whether a message had that msgid; an unknown one (a send from before msgids were
    kept, another system on the same account) is logged and ignored.
    """
    status = status.strip()[:_STATUS_MAX]
    if not msgid or not status:
        log.warning("template receipt without MsgID or Status; ignored")
        return False
    with rt.db.write() as session:
        recipients = session.scalars(
            sa.update(OutboxMessage)
            .where(OutboxMessage.wechat_msgid == msgid)
            .values(receipt=status)
            .returning(OutboxMessage.recipient_user_id)
        ).all()
        if not recipients:
            log.info("template receipt for an unknown msgid; ignored")
            return False
        blocked = {user_id for user_id in recipients if user_id is not None} if is_user_block(status) else set()
        if blocked:
            session.execute(
                sa.update(User)
                .where(User.id.in_(blocked), User.oa_blocked_at.is_(None))
                .values(oa_blocked_at=now_utc())
                .execution_options(synchronize_session=False)
            )
        return True
