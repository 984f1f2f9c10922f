"""The Official Account bot's use cases: bind codes, who is chatting, the replay/dedupe store of
callbacks, subscribe-consent events, and the reads behind 「待办」 and order numbers.

Like every service: no Flask, no wechatpy; each public function is one unit of work. ``app.bot``
parses and verifies the XML, then calls these (and ``order_actions.act`` for the actions).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.clock import now_utc
from app.errors import ForbiddenError, InvalidInputError, LinliError, NotFoundError, RateLimitedError
from app.models import Area, BotBindCode, BotBindFailure, BotInbound, Order, SubscriptionGrant, User
from app.runtime import Runtime
from app.services.access import Actor, load_actor
from app.services.invitations import CODE_ALPHABET
from app.services.shapes import ShanghaiTime, Shape
from app.services.subscriptions import add_grants
from app.workflow import OPEN, OrderStatus, Role

log = logging.getLogger(__name__)

#: 31^8 ≈ 8.5e11 codes, ten minutes each, five wrong tries per chat user per ten minutes:
#: guessing someone else's live code is hopeless, and typing one on a phone is still easy.
BIND_CODE_LENGTH = 8
MAX_BIND_FAILURES = 5
BIND_FAILURE_WINDOW = timedelta(minutes=10)
#: Replay keys must outlive the ±300 s timestamp window; a day is plenty and keeps the table small.
INBOUND_RETENTION = timedelta(days=1)
#: Lines per section of 「待办」; a chat reply is no place for a long list.
PENDING_LIMIT = 8
#: What a volunteer holds: dispatched to them, or accepted / under way.
HELD_BY_VOLUNTEER = frozenset({OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE})
#: What a resident waits on: open orders, and finished ones still to be rated.
RESIDENT_PENDING = OPEN | {OrderStatus.COMPLETED}

ROLE_LABELS: dict[Role, str] = {
    Role.RESIDENT: "居民",
    Role.VOLUNTEER: "志愿者",
    Role.GRID_WORKER: "网格员",
    Role.SECRETARY: "社区书记",
    Role.STREET_ADMIN: "街道管理员",
    Role.PROPERTY_COMPANY: "物业",
    Role.MERCHANT: "商户",
}


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


class InboundClaim(StrEnum):
    NEW = "new"
    REPLAY = "replay"  # the same signed request again: an attacker's replay (or a very late resend)
    DUPLICATE = "duplicate"  # a message already handled, re-signed: WeChat's own retry


@dataclass(frozen=True, slots=True)
class PendingLine:
    order_id: int
    number: str
    title: str
    status: OrderStatus
    community: str


@dataclass(frozen=True, slots=True)
class PendingSection:
    """One block of 「待办」: ``kind`` is ``dispatch`` (secretary), ``held`` (volunteer) or ``mine`` (resident)."""

    kind: str
    lines: tuple[PendingLine, ...]
    total: int


# -- binding -----------------------------------------------------------------------------------


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
        failures = session.scalar(
            sa.select(sa.func.count())
            .select_from(BotBindFailure)
            .where(BotBindFailure.oa_openid == oa_openid, BotBindFailure.created_at > now - BIND_FAILURE_WINDOW)
        )
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
        raise RateLimitedError("绑定码错误次数太多，请 10 分钟后再试")
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


def actor_for_chat(rt: Runtime, oa_openid: str) -> Actor | None:
    """The Linli user bound to this Official Account openid, as an Actor; None if unbound."""
    with rt.db.read() as session:
        user = session.scalar(sa.select(User).where(User.oa_openid == oa_openid))
        return load_actor(session, user) if user is not None else None


def set_following(rt: Runtime, oa_openid: str, *, following: bool) -> bool:
    """Follow / unfollow of the Official Account: template messages go only to followers.

    Answers whether a bound user was found.
    """
    with rt.db.write() as session:
        result = session.execute(sa.update(User).where(User.oa_openid == oa_openid).values(oa_following=following))
        return bool(result.rowcount)  # type: ignore[attr-defined]


# -- subscribe-message consent (mini-program push: the sender is the mini-program openid) --------


def record_consent(
    rt: Runtime, mp_openid: str, decisions: Sequence[tuple[str, str]], *, popup: bool
) -> dict[str, int] | None:
    """WeChat told us what a user chose for subscribe-message templates.

    ``decisions`` are (template id, SubscribeStatusString). In a popup, ``accept`` is one more
    one-time send for the Linli template key configured with that id. ``reject`` (or ``ban``), in a
    popup or a settings change, leaves none. A change to ``accept`` grants nothing: it is a
    setting, not consent to a send. Unknown template ids are ignored. Answers the user's remaining
    grants, or None if no user has this openid.
    """
    by_template = {template_id: key for key, template_id in rt.settings.notify.subscribe_templates.items()}
    accepted = [by_template[t] for t, status in decisions if popup and status == "accept" and t in by_template]
    refused = {by_template[t] for t, status in decisions if status in {"reject", "ban"} and t in by_template}
    with rt.db.write() as session:
        user_id = session.scalar(sa.select(User.id).where(User.openid == mp_openid))
        if user_id is None:
            return None
        add_grants(session, user_id, accepted)
        if refused:
            session.execute(
                sa.update(SubscriptionGrant)
                .where(SubscriptionGrant.user_id == user_id, SubscriptionGrant.template_key.in_(refused))
                .values(remaining=0)
            )
        rows = session.scalars(sa.select(SubscriptionGrant).where(SubscriptionGrant.user_id == user_id))
        return {row.template_key: row.remaining for row in rows}


# -- replay and dedupe ---------------------------------------------------------------------------


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


# -- reads behind the chat commands ------------------------------------------------------------


def _section(session: Session, kind: str, where: sa.ColumnElement[bool]) -> PendingSection | None:
    total = session.scalar(sa.select(sa.func.count()).select_from(Order).where(where)) or 0
    if not total:
        return None
    rows = session.execute(
        sa.select(Order.id, Order.number, Order.title, Order.status, Area.name)
        .join(Area, Area.id == Order.community_id)
        .where(where)
        .order_by(Order.id)
        .limit(PENDING_LIMIT)
    ).all()
    lines = tuple(
        PendingLine(order_id=oid, number=number, title=title, status=status, community=community)
        for oid, number, title, status, community in rows
    )
    return PendingSection(kind=kind, lines=lines, total=int(total))


def pending_for(rt: Runtime, actor: Actor) -> list[PendingSection]:
    """「待办」 by role: a secretary's communities' submitted orders, what a volunteer holds
    (assigned, accepted, in service), and the caller's own open orders as a resident."""
    sections: list[PendingSection | None] = []
    with rt.db.read() as session:
        dispatching = actor.communities_as(Role.SECRETARY)
        if dispatching:
            sections.append(
                _section(
                    session,
                    "dispatch",
                    sa.and_(Order.community_id.in_(dispatching), Order.status == OrderStatus.SUBMITTED),
                )
            )
        sections.append(
            _section(session, "held", sa.and_(Order.assignee_id == actor.user_id, Order.status.in_(HELD_BY_VOLUNTEER)))
        )
        sections.append(
            _section(session, "mine", sa.and_(Order.resident_id == actor.user_id, Order.status.in_(RESIDENT_PENDING)))
        )
    return [section for section in sections if section is not None]


def find_order(rt: Runtime, actor: Actor, number: str) -> tuple[int, OrderStatus]:
    """The order called ``number`` among the communities the actor belongs to (any role).

    Numbers are unique per community only, so another community's order is simply not found:
    NotFoundError, the same as for a number that does not exist. Whether the actor may act on
    it is for ``order_actions.act`` to say.
    """
    communities = actor.communities_as(*Role)
    if not communities:
        raise NotFoundError("找不到该工单")
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(Order.id, Order.status)
            .where(Order.number == number, Order.community_id.in_(communities))
            .order_by(Order.id)
        ).all()
    if not rows:
        raise NotFoundError("找不到该工单")
    if len(rows) > 1:
        # A street admin sees several communities, each with its own 20261123-0001.
        raise InvalidInputError("该单号在您负责的多个社区都有，请在小程序中处理", details={"number": number})
    order_id, status = rows[0]
    return int(order_id), status


def check_may_dispatch(actor: Actor) -> None:
    """ForbiddenError unless the actor dispatches somewhere (secretary or grid worker). A quick,
    clear answer for the chat; ``act`` still checks the order's own community and grid."""
    if not actor.communities_as(Role.SECRETARY, Role.GRID_WORKER):
        raise ForbiddenError("只有社区书记或网格员可以派单")
