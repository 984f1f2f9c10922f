"""Forgetting a recipient whose account is deleted: their inbox, their subscribe grants, and
their messages in the outbox (unsent ones cancelled, every one stripped of address and text)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.notify.models import DeliveryStatus, Notification, OutboxMessage, SubscriptionGrant

#: ``last_error`` of a message cancelled because its recipient deleted their account.
RECIPIENT_DELETED = "recipient_deleted"


def forget_recipient(session: Session, user_id: int) -> None:
    """Helper (executes in the caller's transaction, a fixed number of statements).

    Outbox rows stay, as delivery history and for the metrics' counts, but keep neither the openid
    they were addressed to nor what they said. A message a worker has already claimed (``sending``)
    may still go out: it left with the payload the worker read before this transaction.
    """
    session.execute(sa.delete(Notification).where(Notification.user_id == user_id))
    session.execute(sa.delete(SubscriptionGrant).where(SubscriptionGrant.user_id == user_id))
    mine = OutboxMessage.recipient_user_id == user_id
    session.execute(
        sa.update(OutboxMessage)
        .where(mine, OutboxMessage.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
        .values(status=DeliveryStatus.SKIPPED, last_error=RECIPIENT_DELETED, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(OutboxMessage)
        .where(mine)
        .values(recipient="", payload={}, trail=[])
        .execution_options(synchronize_session=False)
    )
