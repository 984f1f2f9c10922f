"""Ranking volunteers for a dispatch: skill, same grid, free at the order's preferred time, current
load against their capacity, response speed and past ratings, each with a reason in Chinese.

The database does all of it (only the returned rows travel). In a large community it first narrows
to those who have the order's skill or live in its grid (two indexes: user_skills (skill, user),
households (grid, user)) and scores only them; only when fewer than a page of those can take the
order is the whole community scored. Volunteers already holding as many orders as they take at once
(``max_active``) are left out: they could not take this one, and the picker still lists them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.areas.models import ServiceCategory, Skill
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
from app.volunteers.availability import Slot, week_window
from app.volunteers.models import UserSkill, VolunteerAvailability, VolunteerProfile, VolunteerStats
from app.volunteers.profiles import DEFAULT_MAX_ACTIVE

#: Weights of the ranking: a skill match matters most, then living nearby, then being free then.
SKILL_WEIGHT = 3.0
SAME_GRID_WEIGHT = 2.0
AVAILABLE_WEIGHT = 1.5
#: Per order held now.
LOAD_PENALTY = 1.0
#: A response time of zero earns this much, one of RESPONSE_HORIZON_MINUTES or more earns nothing.
RESPONSE_WEIGHT = 1.0
RESPONSE_HORIZON_MINUTES = 120
#: A rating average is compared with this neutral score (3 of 5 stars).
NEUTRAL_RATING = 3.0
MAX_CANDIDATES = 20
#: Orders a volunteer is already holding.
ACTIVE = (OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE)


def ranking(order: Order, skill: str | None, window: Slot | None, *, narrow: bool) -> sa.Select[Any]:
    """The community's volunteers who can take one more order, with their factors and score, best
    first. ``narrow``: only those with the skill or living in the order's grid."""
    member = RoleMembership
    # Orders held now, counted over the community's open orders (its status index), not over
    # every order of every volunteer.
    load = (
        sa.select(Order.assignee_id.label("user_id"), sa.func.count().label("active"))
        .where(Order.community_id == order.community_id, Order.status.in_(ACTIVE), Order.assignee_id.is_not(None))
        .group_by(Order.assignee_id)
        .subquery("load")
    )
    stats = VolunteerStats
    average = sa.cast(stats.score_sum, sa.Float) / sa.func.nullif(stats.rated_count, 0)
    response = sa.cast(stats.accept_minutes_sum, sa.Float) / sa.func.nullif(stats.accepted_count, 0)
    skilled: sa.ColumnElement[bool] = (
        sa.exists().where(UserSkill.user_id == member.user_id, UserSkill.skill == skill) if skill else sa.false()
    )
    same_grid: sa.ColumnElement[bool] = (
        sa.and_(Household.grid_id.is_not(None), Household.grid_id == order.grid_id) if order.grid_id else sa.false()
    )
    slot_starts, slot_ends = _free_slot(member.user_id, window)
    skill_match = sa.case((skilled, 1), else_=0)
    grid_match = sa.case((same_grid, 1), else_=0)
    free = sa.case((slot_starts.is_not(None), 1), else_=0)
    active = sa.func.coalesce(load.c.active, 0)
    capacity = sa.func.coalesce(VolunteerProfile.max_active, DEFAULT_MAX_ACTIVE)
    quick = sa.case(
        (response.is_(None), 0.0),
        (response >= RESPONSE_HORIZON_MINUTES, 0.0),
        else_=1.0 - response / RESPONSE_HORIZON_MINUTES,
    )
    score = (
        SKILL_WEIGHT * skill_match
        + SAME_GRID_WEIGHT * grid_match
        + AVAILABLE_WEIGHT * free
        - LOAD_PENALTY * active
        + RESPONSE_WEIGHT * quick
        + sa.func.coalesce(average - NEUTRAL_RATING, 0.0)
    ).label("score")
    statement = (
        sa.select(
            member.user_id,
            User.nickname,
            skill_match.label("skilled"),
            grid_match.label("same_grid"),
            slot_starts.label("slot_starts"),
            slot_ends.label("slot_ends"),
            active.label("active"),
            capacity.label("capacity"),
            response.label("response"),
            average.label("average"),
            sa.func.coalesce(stats.rated_count, 0).label("rated"),
            score,
        )
        .join(User, User.id == member.user_id)
        .outerjoin(Household, Household.user_id == member.user_id)
        .outerjoin(load, load.c.user_id == member.user_id)
        .outerjoin(stats, stats.user_id == member.user_id)
        .outerjoin(VolunteerProfile, VolunteerProfile.user_id == member.user_id)
        .where(member.role == Role.VOLUNTEER, member.area_id == order.community_id, active < capacity)
        .order_by(score.desc(), member.user_id)
        .limit(MAX_CANDIDATES)
    )
    if narrow:
        statement = statement.where(member.user_id.in_(_likely(order, skill)))
    return statement


def best(order: Order, skill: str | None, window: Slot | None) -> sa.Select[Any]:
    """The top MAX_CANDIDATES in one statement: the narrowed ranking when it fills a page, else the
    whole community's. The whole community's branch is guarded by a condition on the narrowed
    one's count that the database evaluates once (PostgreSQL: a one-time filter), so it is not
    scored at all when the narrowed ranking is full."""
    if not (skill or order.grid_id):
        return ranking(order, skill, window, narrow=False)
    narrowed = ranking(order, skill, window, narrow=True).cte("narrowed")
    found = sa.select(sa.func.count()).select_from(narrowed).scalar_subquery()
    whole = ranking(order, skill, window, narrow=False).subquery("whole")
    either = sa.union_all(
        sa.select(narrowed).where(found >= MAX_CANDIDATES),
        sa.select(whole).where(found < MAX_CANDIDATES),
    ).subquery("best")
    return sa.select(either).order_by(either.c.score.desc(), either.c.user_id)


def _likely(order: Order, skill: str | None) -> sa.CompoundSelect[Any] | sa.Select[Any]:
    """Who has the skill or lives in the grid, each from its own index."""
    branches: list[sa.Select[Any]] = []
    if skill:
        branches.append(sa.select(UserSkill.user_id).where(UserSkill.skill == skill))
    if order.grid_id:
        branches.append(sa.select(Household.user_id).where(Household.grid_id == order.grid_id))
    return sa.union(*branches) if len(branches) > 1 else branches[0]


def _free_slot(user_id: Any, window: Slot | None) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """The first of the volunteer's weekly slots that overlaps ``window`` (its start and end), by
    the primary key (user, starts). Slots of one volunteer never overlap, so the smallest start
    and the smallest end belong to the same slot."""
    if window is None:
        none = sa.null()
        return none, none
    slot = VolunteerAvailability
    overlapping = sa.and_(slot.user_id == user_id, slot.starts < window.ends, slot.ends > window.starts)
    starts = sa.select(sa.func.min(slot.starts)).where(overlapping).scalar_subquery()
    ends = sa.select(sa.func.min(slot.ends)).where(overlapping).scalar_subquery()
    return starts, ends


def _reasons(row: sa.Row[Any], skill_label: str | None) -> list[str]:
    reasons = []
    if row.skilled and skill_label:
        reasons.append(texts.skill_match(skill_label))
    if row.same_grid:
        reasons.append(texts.SAME_GRID)
    if row.slot_starts is not None:
        reasons.append(texts.free_then(Slot(int(row.slot_starts), int(row.slot_ends)).says()))
    reasons.append(texts.holding(int(row.active), int(row.capacity)))
    if row.response is not None:
        reasons.append(texts.responds_in(float(row.response)))
    if row.rated:
        reasons.append(texts.past_rating(float(row.average), int(row.rated)))
    return reasons


def rank_candidates(rt: Runtime, actor: Actor, order_id: int) -> CandidateList:
    """Secretary or grid worker of the order's community: the volunteers best suited who can take
    it, each with the reasons in Chinese. Raises NotFoundError (not their order to see), ForbiddenError.

    Two statements whatever the size of the community: the category, then :func:`best`."""
    with rt.db.read() as session:
        order, parties = load_visible_order(session, actor, order_id)
        if not parties & (STAFF_PARTIES - {Party.STREET_ADMIN}):
            raise ForbiddenError("只有社区书记或网格员可以派单")
        # The category's skill with its name in the community's catalogue, in one statement.
        skill, label = session.execute(
            sa.select(ServiceCategory.skill, sa.func.coalesce(Skill.name, ServiceCategory.skill))
            .outerjoin(Skill, sa.and_(Skill.community_id == order.community_id, Skill.code == ServiceCategory.skill))
            .where(ServiceCategory.id == order.category_id)
        ).one()
        window = week_window(order.preferred_start, order.preferred_end)
        rows = session.execute(best(order, skill, window)).all()
    return CandidateList(
        items=[
            CandidateOut(
                volunteer_id=row.user_id,
                name=row.nickname or texts.unnamed(row.user_id),
                score=round(float(row.score), 2),
                reasons=_reasons(row, label),
            )
            for row in rows
        ]
    )
