"""The candidates ranking as it was before the volunteer registry (skill, same grid, load, rating
over every volunteer of the community, no narrowing, no capacity), kept only so that bench/match.py
can measure it beside the current one in the same run on the same data. Not used by the app."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.identity.models import Household, RoleMembership, User
from app.identity.roles import Role
from app.orders.candidates import ACTIVE, LOAD_PENALTY, MAX_CANDIDATES, NEUTRAL_RATING, SAME_GRID_WEIGHT, SKILL_WEIGHT
from app.orders.models import Order
from app.volunteers.models import UserSkill, VolunteerStats


def baseline_ranking(order: Order, skill: str | None) -> sa.Select[Any]:
    """The old ranking: every volunteer of the community scored, best first (see the module)."""
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
