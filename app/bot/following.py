"""Following the Official Account, and who a follower is: the bound user, or the mini-program
user with the same unionid, whom we then bind without a code (app/identity/followers.py has the
rules). Each public function looks WeChat up first, outside any transaction, then writes once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from app.identity.actor import Actor, load_actor
from app.identity.followers import (
    bind_by_unionid,
    known_unionid,
    look_up_follower,
    mark_unfollowed,
    remember_follower,
    user_of_unionid,
)
from app.identity.models import User
from app.runtime import Runtime


class Bound(StrEnum):
    BEFORE = "before"  # bound already (by code, or by unionid earlier)
    NOW = "now"  # bound by unionid just now
    NO = "no"  # nobody we know: the bind code is their way in


@dataclass(frozen=True, slots=True)
class Followed:
    bound: Bound
    nickname: str = ""


def _unionid_of(rt: Runtime, oa_openid: str) -> str | None:
    # The remembered unionid first: a follower who writes again costs no user/info call.
    unionid = known_unionid(rt, oa_openid)
    if unionid is None:
        follower = look_up_follower(rt, oa_openid)
        unionid = follower.unionid if follower is not None else None
    return unionid


def follow(rt: Runtime, oa_openid: str) -> Followed:
    """A ``subscribe`` event: mark the bound user following again (and no longer blocking
    template messages), else bind the follower by unionid when one user matches. A failing
    ``user/info`` only costs the automatic binding."""
    follower = look_up_follower(rt, oa_openid)
    unionid = follower.unionid if follower is not None else None
    with rt.db.write() as session:
        remember_follower(session, oa_openid, unionid=unionid, following=True)
        updated = session.execute(
            sa.update(User)
            .where(User.oa_openid == oa_openid)
            .values(oa_following=True, oa_blocked_at=None)
            .execution_options(synchronize_session=False)
        )
        if updated.rowcount:  # type: ignore[attr-defined]
            return Followed(Bound.BEFORE)
        user = bind_by_unionid(session, oa_openid, unionid)
        return Followed(Bound.NOW, user.nickname) if user is not None else Followed(Bound.NO)


def unfollow(rt: Runtime, oa_openid: str) -> None:
    """An ``unsubscribe`` event: no template messages to them from now on; the binding stays, so
    following again needs no new code."""
    with rt.db.write() as session:
        session.execute(sa.update(User).where(User.oa_openid == oa_openid).values(oa_following=False))
        mark_unfollowed(session, oa_openid)


def adopt_follower(rt: Runtime, oa_openid: str) -> Actor | None:
    """An unbound follower wrote or clicked the menu: bind them by unionid if we can (the
    remembered unionid, else ``user/info``); the Actor, or None."""
    unionid = _unionid_of(rt, oa_openid)
    if unionid is None:
        return None
    with rt.db.write() as session:
        remember_follower(session, oa_openid, unionid=unionid, following=True)
        user = bind_by_unionid(session, oa_openid, unionid)
        return load_actor(session, user) if user is not None else None


def user_for_sender(rt: Runtime, sender: str) -> int | None:
    """Whose push is this? Consent events come from the mini-program (its openid) or from the
    Official Account (an OA openid): the user with that mini-program openid, else the one bound to
    that OA openid, else the live user with the follower's unionid (bound on the way if free)."""
    with rt.db.read() as session:
        user_id = session.scalar(sa.select(User.id).where(User.openid == sender, User.deleted_at.is_(None)))
        if user_id is None:
            user_id = session.scalar(sa.select(User.id).where(User.oa_openid == sender))
    if user_id is not None:
        return user_id
    unionid = _unionid_of(rt, sender)
    if unionid is None:
        return None
    with rt.db.write() as session:
        remember_follower(session, sender, unionid=unionid, following=True)
        bind_by_unionid(session, sender, unionid)
        user = user_of_unionid(session, unionid)
        return user.id if user is not None else None
