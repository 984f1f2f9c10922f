"""Deleting one's account (DELETE /me; PIPL art. 47): the person is erased, what others rely on
stays, anonymous.

Erased, in one transaction: nickname (→ 已注销用户), phone, openid (→ a tombstone, so the same
WeChat account logging in again is a new user), unionid, the Official Account binding, its bind
codes and what user/info told us of that follower (oa_followers), session key, every token,
roles, household, skills, teams, property companies, merchants, unused invitations they issued,
unused redemption codes (cancelled, their points refunded), subscribe grants, the inbox, the
outbox's copies of messages to them (unsent ones cancelled), their Idempotency-Keys, their photos
and the photos of their orders.

Kept, pointing at the anonymous tombstone: their orders (without phone and room; building and
unit stay for the statistics), the orders' audit trails and ratings, the points ledger (a
volunteer's sum does not change), their redemptions (which reward, when: the merchant's and the
stock's accounts), the audit trail of who saw whose contact or granted what.

Orders nobody has taken on yet are cancelled. While someone works on the person's order, or the
person holds one as a volunteer, the deletion is refused (409 ``account_busy``), because the
worker needs the contact or the order needs its worker.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.clock import now_utc
from app.identity.actor import Actor
from app.identity.erasure import erase_identity
from app.identity.models import User
from app.notify.forget import forget_recipient
from app.orders.anonymise import erase_resident_orders, refuse_while_busy, withdraw_orders
from app.property.companies import unlink_staff_everywhere
from app.runtime import Runtime
from app.timebank.merchants import unlink_merchant_staff_everywhere
from app.timebank.redemptions import cancel_open_redemptions
from app.uploads.models import Attachment
from app.uploads.removal import delete_attachments, remove_unreferenced_files
from app.volunteers.profiles import forget_profile
from app.volunteers.teams import leave_teams

#: What a layer above the account's (the bot) forgets of a user, inside the deletion's transaction.
Forget = Callable[[Session, int], None]


def delete_account(rt: Runtime, actor: Actor, *, forget_elsewhere: tuple[Forget, ...] = ()) -> None:
    """Any user: delete their own account, as this module describes; the files of their photos
    go after the commit, unless another photo row shares them (files are stored by content).

    ``forget_elsewhere``: helpers of layers above this one (the bot's ``forget_chat``), run in the
    same transaction before the identity is cleared. Deleting an account already deleted does
    nothing. Raises AccountBusyError (409) while an order depends on the account.
    """
    now = now_utc()
    with rt.db.write() as session:
        # FOR UPDATE: two deletions racing on PostgreSQL run one after the other (SQLite's
        # write transactions already do).
        user = session.scalar(sa.select(User).where(User.id == actor.user_id).with_for_update())
        if user is None or user.deleted_at is not None:
            return
        refuse_while_busy(session, user.id)
        withdraw_orders(session, rt, user.id)
        files = erase_resident_orders(session, user.id, now)
        # Their uploads elsewhere: unused ones, and completion photos on others' orders.
        files += delete_attachments(session, Attachment.uploader_id == user.id)
        forget_profile(session, user.id)
        leave_teams(session, user.id)
        unlink_staff_everywhere(session, user.id)
        unlink_merchant_staff_everywhere(session, user.id)
        cancel_open_redemptions(session, user.id, now)
        forget_recipient(session, user.id)
        for forget in forget_elsewhere:
            forget(session, user.id)
        erase_identity(session, user, now)
    remove_unreferenced_files(rt, files)
