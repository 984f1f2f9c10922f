"""Official Account followers and the mini-program users they are (WECHAT.md "UnionID").

A push from the Official Account names the follower only by their OA openid; ``user/info``
answers their unionid, which the mini-program's login answered for the same person. When the two
meet, the follower is bound to the user without a bind code: on follow, when an unknown follower
writes, or at the user's next login if the follow came first. The bind code stays for accounts
that WeChat gives no unionid.

Binding never takes: a deleted account, a user already bound to another openid, an openid that
is bound to someone else, or a unionid that two live users share (nobody can tell which).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.clock import now_utc
from app.identity.models import OaFollower, User
from app.runtime import Runtime
from app.wechat.errors import WeChatError
from app.wechat.gateway import Follower

log = logging.getLogger(__name__)


def look_up_follower(rt: Runtime, oa_openid: str) -> Follower | None:
    """``user/info`` for ``oa_openid``; None (logged) when WeChat fails or the openid is empty.

    Call it outside any transaction: a slow WeChat must never hold a database lock.
    """
    if not oa_openid:
        return None
    try:
        return rt.wechat.get_follower(oa_openid)
    except WeChatError as exc:
        log.warning("follower lookup failed: %s", exc)
        return None


def known_unionid(rt: Runtime, oa_openid: str) -> str | None:
    """The unionid remembered for a follower, so that a follower who writes again costs no
    ``user/info`` call; None when never looked up (or WeChat gave none)."""
    with rt.db.read() as session:
        return session.scalar(sa.select(OaFollower.unionid).where(OaFollower.oa_openid == oa_openid))


def remember_follower(session: Session, oa_openid: str, *, unionid: str | None, following: bool) -> None:
    """Helper (flushes only): store what we know of a follower. A row is kept only once a unionid
    is known (it is what the row is for); a lookup that answers none leaves an earlier one."""
    row = session.get(OaFollower, oa_openid)
    if row is None:
        if unionid is None:
            return
        session.add(OaFollower(oa_openid=oa_openid, unionid=unionid, following=following))
    else:
        row.unionid = unionid or row.unionid
        row.following = following
        row.updated_at = now_utc()
    session.flush()


def mark_unfollowed(session: Session, oa_openid: str) -> None:
    """Helper: the follower left; a later login must not bind them."""
    session.execute(sa.update(OaFollower).where(OaFollower.oa_openid == oa_openid).values(following=False))


def user_of_unionid(session: Session, unionid: str | None) -> User | None:
    """The one live user with this unionid; None when there is none or more than one."""
    if not unionid:
        return None
    users = session.scalars(
        sa.select(User).where(User.unionid == unionid, User.deleted_at.is_(None)).order_by(User.id).limit(2)
    ).all()
    if len(users) > 1:
        log.warning("unionid shared by several live users; not binding by it")
        return None
    return users[0] if users else None


def bind_by_unionid(session: Session, oa_openid: str, unionid: str | None) -> User | None:
    """Helper (flushes only): bind ``oa_openid`` to the live user with ``unionid`` if the rules of
    this module allow it; answers the user bound now, or None.

    A conditional UPDATE does it, so a user bound by code in the meantime is left alone; an
    openid taken by a concurrent bind code is left to that code.
    """
    user = user_of_unionid(session, unionid)
    if user is None or user.oa_openid is not None:
        return None
    taken = session.scalar(sa.select(User.id).where(User.oa_openid == oa_openid))
    if taken is not None:
        return None  # someone else's binding (by code, or an earlier unionid): never stolen
    try:
        # A savepoint: a bind code giving this openid to someone else in a concurrent transaction
        # trips the unique oa_openid here, and that must not spoil the caller's transaction.
        with session.begin_nested():
            bound = session.execute(
                sa.update(User)
                .where(User.id == user.id, User.oa_openid.is_(None), User.deleted_at.is_(None))
                .values(oa_openid=oa_openid, oa_following=True, oa_blocked_at=None)
                .execution_options(synchronize_session=False)
            )
    except IntegrityError:
        log.info("follower's openid was bound by someone else meanwhile; not binding by unionid")
        return None
    if bound.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.refresh(user)
    log.info("follower bound by unionid to user %s", user.id)
    return user


def bind_remembered_follower(session: Session, user: User) -> bool:
    """Helper for login (flushes only): a user who logs in with a unionid that a following
    follower has, and who has no binding yet, is bound to that follower now."""
    if not user.unionid or user.oa_openid is not None or user.deleted_at is not None:
        return False
    oa_openid = session.scalar(
        sa.select(OaFollower.oa_openid)
        .where(OaFollower.unionid == user.unionid, OaFollower.following.is_(True))
        .order_by(OaFollower.updated_at.desc())
        .limit(1)
    )
    return oa_openid is not None and bind_by_unionid(session, oa_openid, user.unionid) is not None


def followers_of(user: User) -> sa.ColumnElement[bool] | None:
    """The follower rows that are this user's (their OA openid, their unionid); None if none can be."""
    named = [OaFollower.oa_openid == user.oa_openid] if user.oa_openid else []
    if user.unionid:
        named.append(OaFollower.unionid == user.unionid)
    return sa.or_(*named) if named else None


def forget_followers(session: Session, user: User) -> None:
    """Helper for account deletion (before the user's identifiers are cleared): their follower
    rows go."""
    mine = followers_of(user)
    if mine is not None:
        session.execute(sa.delete(OaFollower).where(mine))
