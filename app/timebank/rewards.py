"""Each community's catalogue of rewards (积分兑换): set up by its secretary (API) or operators
(CLI), read by its volunteers and staff, withdrawn by the secretary."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import AreaKind
from app.areas.tree import get_area
from app.core.errors import ForbiddenError, InvalidInputError, NotFoundError
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor, community_for
from app.identity.roles import STAFF_ROLES, Role
from app.runtime import Runtime
from app.timebank.merchants import merchant_of
from app.timebank.models import Merchant, Reward
from app.timebank.shapes import MerchantRef, RewardOut, RewardPage

NAME_MAX: Final = 64
#: Who reads a community's catalogue: its volunteers, who spend points, and its staff.
READERS: Final = (Role.VOLUNTEER, *STAFF_ROLES)
_ONLY_READERS = "只有志愿者和社区工作人员可以查看积分兑换"
_ONLY_SECRETARY = "只有社区书记可以设置积分兑换"


def add_reward(
    rt: Runtime, community: str, *, merchant_id: int, name: str, points: int, stock: int | None = None
) -> RewardOut:
    """Operators (CLI): a reward of ``community`` (a code) given by one of its merchants.
    Raises NotFoundError (no such community), InvalidInputError (the merchant not of it, a bad
    name, price or stock)."""
    with rt.db.write() as session:
        return create_reward(session, community, merchant_id=merchant_id, name=name, points=points, stock=stock)


def create_reward(
    session: Session, community: str, *, merchant_id: int, name: str, points: int, stock: int | None = None
) -> RewardOut:
    """Helper (flushes only): :func:`add_reward` inside the caller's unit of work (the demo set)."""
    area = get_area(session, community, kinds=[AreaKind.COMMUNITY])
    return _new_reward(
        session, area.id, merchant_id=merchant_id, name=name, points=points, stock=stock, created_by_id=None
    )


def list_rewards(rt: Runtime, actor: Actor, community: str, *, limit: int, cursor: str | None) -> RewardPage:
    """A volunteer or staff member of the community: the rewards on offer, oldest first.
    Raises ForbiddenError (neither, anywhere), NotFoundError (unknown or another community)."""
    after = decode_cursor(cursor)
    with rt.db.read() as session:
        area = community_for(session, actor, community, *READERS, refusal=_ONLY_READERS)
        statement = (
            _rewards()
            .where(Reward.community_id == area.id, Reward.active.is_(True))
            .order_by(Reward.id)
            .limit(limit + 1)
        )
        if after is not None:
            statement = statement.where(Reward.id > after)
        rows = session.execute(statement).all()
    page = rows[:limit]
    return RewardPage(
        items=[reward_out(*row) for row in page],
        next_cursor=encode_cursor(page[-1][0].id) if len(rows) > limit else None,
    )


def register_reward(
    rt: Runtime, actor: Actor, *, community: str, merchant_id: int, name: str, points: int, stock: int | None
) -> RewardOut:
    """The secretary of the community: a reward given by one of its merchants, at ``points``,
    ``stock`` of them (None: no limit). Raises ForbiddenError, NotFoundError (unknown or another
    community), InvalidInputError (the merchant not of this community, a bad price or stock)."""
    with rt.db.write() as session:
        area = community_for(session, actor, community, Role.SECRETARY, refusal=_ONLY_SECRETARY)
        return _new_reward(
            session,
            area.id,
            merchant_id=merchant_id,
            name=name,
            points=points,
            stock=stock,
            created_by_id=actor.user_id,
        )


def withdraw_reward(rt: Runtime, actor: Actor, reward_id: int) -> RewardOut:
    """The secretary of the reward's community: it leaves the catalogue (codes issued for it stay
    valid); withdrawing it again changes nothing. Raises ForbiddenError (not a secretary),
    NotFoundError (unknown, or of another community)."""
    if not actor.has_role(Role.SECRETARY):
        raise ForbiddenError(_ONLY_SECRETARY)
    with rt.db.write() as session:
        row = session.execute(_rewards().where(Reward.id == reward_id)).first()
        if row is None or row[0].community_id not in actor.communities_as(Role.SECRETARY):
            raise NotFoundError("找不到该兑换项目")
        row[0].active = False
        session.flush()
        return reward_out(*row)


# -- helpers ----------------------------------------------------------------------------------------


def reward_out(reward: Reward, merchant: Merchant) -> RewardOut:
    return RewardOut(
        id=reward.id,
        name=reward.name,
        points=reward.points,
        merchant=MerchantRef(id=merchant.id, name=merchant.name),
        stock=reward.stock,
        active=reward.active,
    )


def _rewards() -> sa.Select[Reward, Merchant]:
    return sa.select(Reward, Merchant).join(Merchant, Merchant.id == Reward.merchant_id)


def _field(field: str, problem: str, message: str) -> InvalidInputError:
    return InvalidInputError(message, details={"fields": [{"field": field, "problem": problem}]})


def _new_reward(
    session: Session,
    community_id: int,
    *,
    merchant_id: int,
    name: str,
    points: int,
    stock: int | None,
    created_by_id: int | None,
) -> RewardOut:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise _field("name", "length", f"兑换项目名称须为 1–{NAME_MAX} 个字")
    if points <= 0:
        raise _field("points", "not_positive", "所需积分须大于 0")
    if stock is not None and stock < 0:
        raise _field("stock", "negative", "库存不能为负数")
    if not merchant_of(session, merchant_id, community_id):
        # The same answer for a merchant that does not exist and one of another community.
        raise _field("merchant_id", "unknown", "商户不存在或不属于本社区")
    reward = Reward(
        community_id=community_id,
        merchant_id=merchant_id,
        name=name,
        points=points,
        stock=stock,
        created_by_id=created_by_id,
    )
    session.add(reward)
    session.flush()
    merchant = session.get(Merchant, merchant_id)
    assert merchant is not None  # noqa: S101 - checked above, in this transaction
    return reward_out(reward, merchant)
