"""Ranking volunteers for a dispatch: skill, same grid, free at the order's preferred time, current
load against their capacity, response speed and past ratings, each with a reason in Chinese.

The database does all of it (only the returned rows travel), and in a large community it scores
few of the volunteers, exactly: the skill and the grid are worth more than all the other factors
can add (at most ``MAX_EXTRA``), so volunteers are scored by tiers, from three indexes
(user_skills (skill, user), households (grid, user), volunteer_availability (starts, ends, user)):

1. those with the skill who live in the grid (base SKILL_WEIGHT + SAME_GRID_WEIGHT),
2. those with one of the two (base at most SKILL_WEIGHT),
3. everyone else of the community (base 0),

each split, when the order has a preferred time, into those free then (base + AVAILABLE_WEIGHT)
and the others, best base first. A tier is scored only when the tiers before it found fewer than
MAX_CANDIDATES, or their MAX_CANDIDATES-th score is at most the most anyone in it can score
(``Tier.ceiling``: someone there could still rank among them). Each gate is a condition the
database evaluates once, before the tier (PostgreSQL: a one-time filter; the tier's plan says
"never executed"). Volunteers already holding as many orders as they take at once
(``max_active``) are left out: they could not take this one, and the picker still lists them."""

from __future__ import annotations

from dataclasses import dataclass, replace
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
from app.volunteers.availability import DAY, Slot, week_window
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
BEST_RATING = 5.0
#: The most the factors besides skill and grid can add (free, quickest, five stars, nothing held).
MAX_EXTRA = AVAILABLE_WEIGHT + RESPONSE_WEIGHT + (BEST_RATING - NEUTRAL_RATING)
MAX_CANDIDATES = 20
#: Orders a volunteer is already holding.
ACTIVE = (OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE)


@dataclass(frozen=True, slots=True)
class Tier:
    """Volunteers scored together: their base score at most, which they are, and whether they
    have the skill and live in the grid when that is known for all of them (None: ask each)."""

    base: float
    among: sa.ColumnElement[bool] | None = None
    skilled: bool | None = None
    in_grid: bool | None = None
    #: Whether they have a slot at the order's preferred time.
    free: bool | None = None

    @property
    def ceiling(self) -> float:
        """The most anyone of the tier can score."""
        return self.base + MAX_EXTRA - (AVAILABLE_WEIGHT if self.free is not None else 0.0)


def ranking(order: Order, skill: str | None, window: Slot | None, tier: Tier | None = None) -> sa.Select[Any]:
    """The community's volunteers who can take one more order (those of ``tier``), with their
    factors and score, the best MAX_CANDIDATES first. Per volunteer only primary-key and index
    probes; the name and the slot's end are looked up for the rows returned only (:func:`best`)."""
    tier = tier or Tier(0.0)
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
    skill_match = _flag(tier.skilled, _skilled(member.user_id, skill))
    grid_match = _flag(tier.in_grid, _in_grid(member.user_id, order.grid_id))
    free = _flag(tier.free, _free_slot(member.user_id, window).is_not(None) if window else sa.false())
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
    columns: list[Any] = [
        member.user_id,
        skill_match.label("skilled"),
        grid_match.label("same_grid"),
        active.label("active"),
        capacity.label("capacity"),
        response.label("response"),
        average.label("average"),
        sa.func.coalesce(stats.rated_count, 0).label("rated"),
        score,
    ]
    statement = (
        sa.select(*columns)
        .outerjoin(load, load.c.user_id == member.user_id)
        .outerjoin(stats, stats.user_id == member.user_id)
        .outerjoin(VolunteerProfile, VolunteerProfile.user_id == member.user_id)
        .where(member.role == Role.VOLUNTEER, member.area_id == order.community_id, active < capacity)
        .order_by(score.desc(), member.user_id)
        .limit(MAX_CANDIDATES)
    )
    return statement.where(tier.among) if tier.among is not None else statement


def _flag(known: bool | None, asked: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    """1 or 0: what the tier knows of all its volunteers, else asked of each."""
    if known is not None:
        return sa.literal(int(known))
    return sa.case((asked, 1), else_=0)


def best(order: Order, skill: str | None, window: Slot | None) -> sa.Select[Any]:
    """The top MAX_CANDIDATES in one statement, scoring tier after tier while a tier could still
    place someone among them (see the module), with each row's name and free slot."""
    so_far: Any = None
    for tier in _tiers(order, skill, window):
        scored = sa.select(ranking(order, skill, window, tier).subquery())
        if so_far is not None:
            top = sa.select(so_far.c.score).order_by(so_far.c.score.desc()).limit(MAX_CANDIDATES).subquery()
            found = sa.select(sa.func.count()).select_from(top).scalar_subquery()
            floor = sa.select(sa.func.min(top.c.score)).scalar_subquery()
            # "<=": someone there could tie with the last one and win on the lower id.
            scored = scored.where(sa.or_(found < MAX_CANDIDATES, floor <= tier.ceiling))
            so_far = sa.union_all(sa.select(so_far), scored).cte()
        else:
            so_far = scored.cte()
    slot_starts = _free_slot(so_far.c.user_id, window)
    slot_ends = _free_slot(so_far.c.user_id, window, ends=True)
    return (
        sa.select(so_far, User.nickname, slot_starts.label("slot_starts"), slot_ends.label("slot_ends"))
        .join(User, User.id == so_far.c.user_id)
        .order_by(so_far.c.score.desc(), so_far.c.user_id)
        .limit(MAX_CANDIDATES)
    )


def _tiers(order: Order, skill: str | None, window: Slot | None) -> list[Tier]:
    """From the best tier down; disjoint, together the whole community. With a preferred time each
    tier of skill and grid is split into those free then and the others; without one, nobody is."""
    user = RoleMembership.user_id
    skilled = user.in_(sa.select(UserSkill.user_id).where(UserSkill.skill == skill))
    in_grid = user.in_(sa.select(Household.user_id).where(Household.grid_id == order.grid_id))
    tiers: list[Tier]
    if skill and order.grid_id:
        tiers = [
            Tier(SKILL_WEIGHT + SAME_GRID_WEIGHT, sa.and_(skilled, in_grid), skilled=True, in_grid=True),
            Tier(max(SKILL_WEIGHT, SAME_GRID_WEIGHT), sa.or_(skilled, in_grid) & ~sa.and_(skilled, in_grid)),
            Tier(0.0, sa.and_(~skilled, ~in_grid), skilled=False, in_grid=False),
        ]
    elif skill:
        tiers = [Tier(SKILL_WEIGHT, skilled, skilled=True), Tier(0.0, ~skilled, skilled=False)]
    elif order.grid_id:
        tiers = [Tier(SAME_GRID_WEIGHT, in_grid, in_grid=True), Tier(0.0, ~in_grid, in_grid=False)]
    else:
        tiers = [Tier(0.0)]
    if window is None:
        # Nobody earns the availability weight: the tiers' ceilings are that much lower.
        return [replace(tier, free=False) for tier in tiers]
    free = user.in_(_free_during(window))
    split = [
        replace(
            tier,
            base=tier.base + weight,
            among=is_free if tier.among is None else sa.and_(tier.among, is_free),
            free=flag,
        )
        for tier in tiers
        for flag, weight, is_free in ((True, AVAILABLE_WEIGHT, free), (False, 0.0, ~free))
    ]
    return sorted(split, key=lambda tier: -tier.base)


def _free_during(window: Slot) -> sa.Select[Any]:
    """Who has a slot overlapping ``window``: slots never cross midnight, so those starting that day
    before the window ends, a range of ix_volunteer_availability_starts_ends_user_id."""
    slot = VolunteerAvailability
    day = window.starts - window.starts % DAY
    return sa.select(slot.user_id).where(slot.starts >= day, slot.starts < window.ends, slot.ends > window.starts)


def _skilled(user_id: Any, skill: str | None) -> sa.ColumnElement[bool]:
    if not skill:
        return sa.false()
    return sa.exists().where(UserSkill.user_id == user_id, UserSkill.skill == skill)


def _in_grid(user_id: Any, grid_id: int | None) -> sa.ColumnElement[bool]:
    """By the households' unique user index: a probe per volunteer scored, not a scan of them all."""
    if not grid_id:
        return sa.false()
    return sa.exists().where(Household.user_id == user_id, Household.grid_id == grid_id)


def _free_slot(user_id: Any, window: Slot | None, *, ends: bool = False) -> sa.ColumnElement[Any]:
    """The start (or end) of the first of the volunteer's weekly slots that overlaps ``window``, by
    the primary key (user, starts). Slots of one volunteer never overlap, so the smallest start
    and the smallest end belong to the same slot."""
    if window is None:
        return sa.null()
    slot = VolunteerAvailability
    column = slot.ends if ends else slot.starts
    overlapping = sa.and_(slot.user_id == user_id, slot.starts < window.ends, slot.ends > window.starts)
    return sa.select(sa.func.min(column)).where(overlapping).scalar_subquery()


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
    # A transaction of its own (even inside a request's shared reads): jit is turned off for it.
    with rt.db.read(transaction=True) as session:
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
        if session.get_bind().dialect.name == "postgresql":
            # The planner prices the tiers it will skip too, which crosses jit_above_cost: compiling
            # the plan took 2.7 s of a 3.3 s ranking at 100,000 volunteers (bench/match.py), for a
            # query that runs in milliseconds. For this transaction only.
            session.execute(sa.text("SET LOCAL jit = off"))
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
