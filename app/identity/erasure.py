"""Turning a user into an anonymous tombstone (account deletion): who they were goes, the row
stays for what points at it (orders, ratings, the points ledger, the audit trail)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.identity.followers import forget_followers
from app.identity.models import Household, Invitation, RoleMembership, User
from app.identity.revocation import revoke_all_tokens

#: How a deleted account is named wherever it still appears (an order's resident, an event's actor).
DELETED_NICKNAME: Final = "已注销用户"


def tombstone_openid(user_id: int) -> str:
    """The openid a deleted account keeps: unique like every openid, and never one WeChat gives,
    so the same person logging in again becomes a new user."""
    return f"deleted:{user_id}"


def erase_identity(session: Session, user: User, now: datetime) -> None:
    """Helper (flushes only): ``user`` loses their roles, household, the invitations they issued
    and nobody used yet, their WeChat identifiers (and what we remembered of them as a follower),
    phone, nickname and every token.

    Role grants and contact reveals in the audit trail keep pointing at the tombstone: what was
    done stays on record, with nobody's name on it.
    """
    session.execute(sa.delete(RoleMembership).where(RoleMembership.user_id == user.id))
    session.execute(sa.delete(Household).where(Household.user_id == user.id))
    # An unused code would hand out a role on the authority of someone who is gone.
    session.execute(sa.delete(Invitation).where(Invitation.created_by_id == user.id, Invitation.redeemed_at.is_(None)))
    revoke_all_tokens(session, user.id)
    session.refresh(user)  # the generation just moved on in SQL
    # What user/info told us of them: else a new account of the same person would be bound to it.
    forget_followers(session, user)
    user.openid = tombstone_openid(user.id)
    user.unionid = None
    user.oa_openid = None
    user.oa_following = False
    user.oa_blocked_at = None
    user.nickname = DELETED_NICKNAME
    user.phone = None
    user.session_key = None
    user.last_login_at = None
    user.deleted_at = now
    session.flush()
