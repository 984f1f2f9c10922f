"""Login (wx.login code → our token), the bearer token → Actor, and phone binding."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.core.clock import now_utc
from app.core.errors import InvalidCodeError, UnauthenticatedError, WeChatUnavailableServiceError
from app.core.privacy import mask_phone
from app.identity.actor import Actor, actor_for_token, load_user
from app.identity.followers import bind_remembered_follower
from app.identity.models import User
from app.identity.shapes import LoginOut, PhoneOut, UserOut, roles_out
from app.identity.takeover import take_over_imported
from app.runtime import Runtime
from app.wechat.errors import WeChatError, WeChatRejectedError

log = logging.getLogger(__name__)

#: jscode2session / getuserphonenumber answers that mean "this code is no good".
_BAD_CODE_ERRCODES = frozenset({40029, 40163, 40226})


def _translate_wechat(exc: WeChatError) -> Exception:
    if isinstance(exc, WeChatRejectedError) and exc.errcode in _BAD_CODE_ERRCODES:
        return InvalidCodeError(details={"errcode": exc.errcode})
    log.warning("wechat call failed: %s", exc)
    return WeChatUnavailableServiceError()


def login(rt: Runtime, code: str) -> LoginOut:
    """Anyone: exchange a ``wx.login`` code for our token, creating the user on first login.

    Raises InvalidCodeError (bad or reused code), WeChatUnavailableServiceError or
    RateLimitedError (this WeChat user logged in too often lately, ``limits.login_per_openid``).
    """
    try:
        # Outside any transaction: never hold a database lock while waiting on WeChat.
        wx = rt.wechat.code_to_session(code)
    except WeChatError as exc:
        raise _translate_wechat(exc) from exc
    # Per person, now that WeChat has said who it is (the API counts per address before this);
    # the code is spent either way, as every wx.login code is after one exchange.
    rt.rate_limits.hit("login_per_openid", wx.openid)
    for attempt in (1, 2):
        try:
            with rt.db.write() as session:
                user = session.scalar(sa.select(User).where(User.openid == wx.openid))
                if user is None:
                    user = User(openid=wx.openid, nickname="")
                    session.add(user)
                user.session_key = wx.session_key
                user.unionid = wx.unionid or user.unionid
                user.last_login_at = now_utc()
                session.flush()
                # Followed the Official Account before the first login: bound by unionid now.
                bind_remembered_follower(session, user)
                user = load_user(session, user.id)
                return LoginOut(
                    token=rt.tokens.issue(user.id, user.token_generation),
                    expires_in=rt.tokens.ttl_seconds,
                    user=UserOut(id=user.id, nickname=user.nickname, roles=roles_out(user)),
                )
        except IntegrityError:
            # Two first logins of one person raced on the unique openid; the second finds the row.
            if attempt == 2:  # noqa: PLR2004
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def authenticate(rt: Runtime, token: str) -> Actor:
    """Resolve a bearer token to an Actor; raise UnauthenticatedError / TokenExpiredError."""
    claims = rt.tokens.verify(token)
    with rt.db.read() as session:
        actor = actor_for_token(session, claims.user_id, claims.generation, claims.token_id)
    if actor is None:
        raise UnauthenticatedError("登录凭证已失效，请重新登录")
    return actor


def bind_phone(rt: Runtime, actor: Actor, code: str) -> PhoneOut:
    """Any user: bind the phone number behind a ``getPhoneNumber`` code; answer it masked. A
    person the community imported with that phone is taken over (app/identity/takeover.py)."""
    try:
        phone = rt.wechat.get_phone_number(code)
    except WeChatError as exc:
        raise _translate_wechat(exc) from exc
    with rt.db.write() as session:
        user = load_user(session, actor.user_id)
        user.phone = phone
        # Someone the community imported with this phone is this person: theirs from now on.
        take_over_imported(session, user, phone)
    return PhoneOut(phone=mask_phone(phone) or "")
