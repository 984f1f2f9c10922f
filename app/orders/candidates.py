"""Ranking volunteers for a dispatch: skill, same grid, current load, past ratings, with reasons."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.areas.catalogue import skill_name
from app.areas.models import ServiceCategory
from app.core.errors import ForbiddenError
from app.identity.actor import Actor
from app.identity.models import Household, RoleMembership, User
from app.identity.roles import Role
from app.orders import texts
from app.orders.access import STAFF_PARTIES, load_visible_order
from app.orders.models import Order
from app.orders.shapes import CandidateList, CandidateOut
from app.orders.workflow import OrderStatus, Party
from app.runtime import Runtime
from app.volunteers.models import UserSkill, VolunteerStats

#: Weights of the ranking; a skill match matters most, then living nearby.
SKILL_WEIGHT = 3.0
SAME_GRID_WEIGHT = 2.0
LOAD_PENALTY = 1.0
#: A rating average is compared with this neutral score (3 of 5 stars).
NEUTRAL_RATING = 3.0
MAX_CANDIDATES = 20
#: Orders a volunteer is already holding.
ACTIVE = (OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE)


def ranking(order: Order, skill: str | None) -> sa.Select[Any]:
    """The community's volunteers with their factors and score, best first, computed by the
    database: only the rows returned travel, and no list of ids is ever sent back as parameters."""
    volunteers = (
        sa.select(RoleMembership.user_id.label("user_id"))
        .where(RoleMembership.role == Role.VOLUNTEER, RoleMembership.area_id == order.community_id)
        .subquery("volunteers")
    )
    # Orders held now, counted over the community's open orders (its status index), not over
    # every order of every volunteer.
    load = (
        sa.select(Order.assignee_id.label("user_id"), sa.func.count().label("active"))
        .where(Order.community_id == order.community_id, Order.status.in_(ACTIVE), Order.assignee_id.is_not(None))
        .group_by(Order.assignee_id)
        .subquery("load")
    )
    # Past ratings: the running figures kept as each rating is written (app.volunteers.stats).
    rated = VolunteerStats
    average = sa.cast(rated.score_sum, sa.Float) / sa.func.nullif(rated.rated_count, 0)
    skilled: sa.ColumnElement[bool] = (
        sa.exists().where(UserSkill.user_id == volunteers.c.user_id, UserSkill.skill == skill) if skill else sa.false()
    )
    same_grid: sa.ColumnElement[bool] = (
        sa.and_(Household.grid_id.is_not(None), Household.grid_id == order.grid_id) if order.grid_id else sa.false()
    )
    skill_match = sa.case((skilled, 1), else_=0)
    grid_match = sa.case((same_grid, 1), else_=0)
    active = sa.func.coalesce(load.c.active, 0)
    score = (
        SKILL_WEIGHT * skill_match
        + SAME_GRID_WEIGHT * grid_match
        - LOAD_PENALTY * active
        + sa.func.coalesce(average - NEUTRAL_RATING, 0.0)
    ).label("score")
    return (
        sa.select(
            volunteers.c.user_id,
            User.nickname,
            skill_match.label("skilled"),
            grid_match.label("same_grid"),
            active.label("active"),
            average.label("average"),
            sa.func.coalesce(rated.rated_count, 0).label("rated"),
            score,
        )
        .join(User, User.id == volunteers.c.user_id)
        .outerjoin(Household, Household.user_id == volunteers.c.user_id)
        .outerjoin(load, load.c.user_id == volunteers.c.user_id)
        .outerjoin(rated, rated.user_id == volunteers.c.user_id)
        .order_by(score.desc(), volunteers.c.user_id)
        .limit(MAX_CANDIDATES)
    )


def _reasons(row: sa.Row[Any], skill: str | None) -> list[str]:
    reasons = []
    if row.skilled:
        reasons.append(texts.skill_match(skill_name(skill) if skill else ""))
    if row.same_grid:
        reasons.append(texts.SAME_GRID)
    reasons.append(texts.holding(int(row.active)) if row.active else texts.IDLE)
    if row.rated:
        reasons.append(texts.past_rating(float(row.average), int(row.rated)))
    return reasons


def rank_candidates(rt: Runtime, actor: Actor, order_id: int) -> CandidateList:
    """Secretary or grid worker of the order's community: the volunteers best suited, each with
    the reasons in Chinese. Raises NotFoundError (not their order to see), ForbiddenError.

    The database scores every volunteer of the community (skill, same grid, orders held now, past
    ratings) and returns the top ones: a constant number of queries and of rows whatever the size
    of the community.
    """
    with rt.db.read() as session:
        order, parties = load_visible_order(session, actor, order_id)
        if not parties & (STAFF_PARTIES - {Party.STREET_ADMIN}):
            raise ForbiddenError("只有社区书记或网格员可以派单")
        skill = session.scalar(sa.select(ServiceCategory.skill).where(ServiceCategory.id == order.category_id))
        rows = session.execute(ranking(order, skill)).all()
    return CandidateList(
        items=[
            CandidateOut(
                volunteer_id=row.user_id,
                name=row.nickname or texts.unnamed(row.user_id),
                score=round(float(row.score), 2),
                reasons=_reasons(row, skill),
            )
            for row in rows
        ]
    )
