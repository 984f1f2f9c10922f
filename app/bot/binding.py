"""Binding a chat user (an Official Account openid) to a Linli user: one-time bind codes, who is
chatting, and following / unfollowing. Each public function is one unit of work."""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.bot.models import BotBindCode, BotBindFailure
from app.core.clock import now_utc
from app.core.errors import LinliError, RateLimitedError
from app.core.shapes import ShanghaiTime, Shape
from app.identity.actor import Actor, load_actor
from app.identity.invitations import CODE_ALPHABET
from app.identity.models import User
from app.identity.roles import ROLE_LABELS
from app.runtime import Runtime

log = logging.getLogger(__name__)

#: 31^8 ≈ 8.5e11 codes, ten minutes each, five wrong tries per chat user per ten minutes:
#: guessing someone else's live code is hopeless, and typing one on a phone is still easy.
BIND_CODE_LENGTH = 8
MAX_BIND_FAILURES = 5
BIND_FAILURE_WINDOW = timedelta(minutes=10)


class BindCodeInvalidError(LinliError):
    code = "bind_code_invalid"
    default_message = "绑定码无效或已过期，请在小程序中重新获取"


class BindCodeOut(Shape):
    code: str
    expires_at: ShanghaiTime
    #: Exactly what to send to the Official Account.
    send: str


@dataclass(frozen=True, slots=True)
class BoundUser:
    user_id: int
    nickname: str
    roles: tuple[str, ...]


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(BIND_CODE_LENGTH))


def normalise_bind_code(text: str) -> str:
    """Codes are case-insensitive for the person typing them."""
    return text.strip().upper()


def create_bind_code(rt: Runtime, actor: Actor) -> BindCodeOut:
    """Any logged-in user: a fresh one-time code to send to the Official Account as 「绑定 <code>」.

    Asking again replaces the user's earlier unused codes. Raises nothing of its own.
    """
    expires_at = now_utc() + timedelta(minutes=rt.settings.bot.bind_code_ttl_minutes)
    with rt.db.write() as session:
        session.execute(
            sa.delete(BotBindCode).where(BotBindCode.user_id == actor.user_id, BotBindCode.used_at.is_(None))
        )
        for _attempt in range(5):
            code = _new_code()
            try:
                with session.begin_nested():
                    session.add(BotBindCode(code=code, user_id=actor.user_id, expires_at=expires_at))
            except IntegrityError:  # pragma: no cover - a collision in 8.5e11 codes
                continue
            return BindCodeOut(code=code, expires_at=expires_at, send=f"绑定 {code}")
    raise AssertionError("no free bind code after 5 tries")  # pragma: no cover


def bind_official_account(rt: Runtime, oa_openid: str, code: str) -> BoundUser:
    """A chat user sent 「绑定 <code>」: link their Official Account openid to the code's Linli user.

    The openid moves if it was bound to someone else; the user's earlier openid is replaced.
    Raises BindCodeInvalidError (unknown, used or expired code) or RateLimitedError (too many
    wrong codes from this chat user lately; then even a right code waits).
    """
    now = now_utc()
    wanted = normalise_bind_code(code)
    with rt.db.write() as session:
        failures, oldest = session.execute(
            sa.select(sa.func.count(), sa.func.min(BotBindFailure.created_at)).where(
                BotBindFailure.oa_openid == oa_openid, BotBindFailure.created_at > now - BIND_FAILURE_WINDOW
            )
        ).one()
        locked = (failures or 0) >= MAX_BIND_FAILURES
        if not locked:
            # One conditional UPDATE takes the code: two chats racing for it cannot both win.
            taken = session.execute(
                sa.update(BotBindCode)
                .where(BotBindCode.code == wanted, BotBindCode.used_at.is_(None), BotBindCode.expires_at > now)
                .values(used_at=now, used_by_oa_openid=oa_openid)
                .returning(BotBindCode.user_id)
            ).scalar_one_or_none()
            if taken is not None:
                return _link(session, taken, oa_openid)
            session.add(BotBindFailure(oa_openid=oa_openid))
    # Outside the block: the failure above is committed before we say no.
    if locked:
        # The lock lifts when the oldest failure of the window leaves it.
        wait = math.ceil((oldest + BIND_FAILURE_WINDOW - now).total_seconds())
        raise RateLimitedError(f"绑定码错误次数太多，请 {math.ceil(wait / 60)} 分钟后再试", retry_after=wait)
    raise BindCodeInvalidError()


def _link(session: Session, user_id: int, oa_openid: str) -> BoundUser:
    # oa_openid is unique: free it from whoever held it before giving it to this user.
    session.execute(
        sa.update(User)
        .where(User.oa_openid == oa_openid, User.id != user_id)
        .values(oa_openid=None, oa_following=False)
    )
    user = session.get(User, user_id)
    if user is None:  # pragma: no cover - codes are deleted with their user (ON DELETE CASCADE)
        raise BindCodeInvalidError()
    user.oa_openid = oa_openid
    user.oa_following = True
    session.execute(sa.delete(BotBindFailure).where(BotBindFailure.oa_openid == oa_openid))
    session.flush()
    actor = load_actor(session, user)
    roles = tuple(dict.fromkeys(ROLE_LABELS[m.role] for m in actor.memberships))
    return BoundUser(user_id=user.id, nickname=user.nickname, roles=roles)


def forget_chat(session: Session, user_id: int) -> None:
    """Helper for account deletion (flushes only; before the user's ``oa_openid`` is cleared): the
    user's bind codes, used or not (a used one names the chat that used it), and the wrong-code
    record of their chat. The API passes it to ``app.account.erasure.delete_account``, which sits
    below the bot and cannot import it."""
    oa_openid = session.scalar(sa.select(User.oa_openid).where(User.id == user_id))
    session.execute(sa.delete(BotBindCode).where(BotBindCode.user_id == user_id))
    if oa_openid:
        session.execute(sa.delete(BotBindFailure).where(BotBindFailure.oa_openid == oa_openid))
    session.flush()


def actor_for_chat(rt: Runtime, oa_openid: str) -> Actor | None:
    """The Linli user bound to this Official Account openid, as an Actor; None if unbound."""
    with rt.db.read() as session:
        user = session.scalar(sa.select(User).where(User.oa_openid == oa_openid))
        return load_actor(session, user) if user is not None else None
