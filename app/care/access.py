"""Who works with care data: the secretaries of a community and the grid workers of its grids.

Street admins, volunteers and residents never see it (a resident sees their own tags only in
their data export). Other people's households answer 404, as elsewhere.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind
from app.areas.tree import get_area
from app.core.errors import ForbiddenError, NotFoundError
from app.identity.actor import Actor
from app.identity.models import Household
from app.identity.roles import Role

#: The roles that keep care tags and plans.
CARE_STAFF: Final = (Role.SECRETARY, Role.GRID_WORKER)


def require_care_staff(actor: Actor) -> None:
    """ForbiddenError unless the actor is a secretary or grid worker somewhere (asked before any
    query, so the answer is the same whatever the request names)."""
    if not actor.communities_as(*CARE_STAFF):
        raise ForbiddenError("只有社区书记或网格员可以管理关爱对象")


def covered_household(session: Session, actor: Actor, user_id: int) -> Household:
    """The household of resident ``user_id`` if the actor covers it; NotFoundError otherwise."""
    household = session.scalar(sa.select(Household).where(Household.user_id == user_id))
    if household is None or not actor.covers(household.community_id, household.grid_id, *CARE_STAFF):
        raise NotFoundError("找不到该住户")
    return household


def area_scope(session: Session, actor: Actor, code: str) -> tuple[int, frozenset[int] | None]:
    """The community of area ``code`` and the grids of it the actor may look at (None: all of
    them, and the households with no grid). NotFoundError for an area they do not cover."""
    area: Area = get_area(session, code, kinds=[AreaKind.COMMUNITY, AreaKind.GRID])
    community_id = area.community_id
    assert community_id is not None  # noqa: S101 - communities and grids always have one
    if area.kind is AreaKind.GRID:
        if not actor.covers(community_id, area.id, *CARE_STAFF):
            raise NotFoundError(f"找不到区域 {code}", details={"area": code})
        return community_id, frozenset({area.id})
    if community_id not in actor.communities_as(*CARE_STAFF):
        raise NotFoundError(f"找不到区域 {code}", details={"area": code})
    return community_id, actor.grids_as(community_id, *CARE_STAFF)


def grid_condition(grids: frozenset[int] | None) -> sa.ColumnElement[bool]:
    """Households in ``grids``; a grid worker also has those with no grid yet (Actor.covers)."""
    if grids is None:
        return sa.true()
    return sa.or_(Household.grid_id.in_(sorted(grids)), Household.grid_id.is_(None))
