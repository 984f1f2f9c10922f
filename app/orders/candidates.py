"""Ranking volunteers for a dispatch: skill, same grid, current load, past ratings, with reasons."""

from __future__ import annotations

import sqlalchemy as sa

from app.areas.models import ServiceCategory
from app.core.errors import ForbiddenError
from app.identity.actor import Actor
from app.identity.models import Household, RoleMembership, User
from app.identity.roles import Role
from app.orders import texts
from app.orders.access import STAFF_PARTIES, load_visible_order
from app.orders.models import Order, Rating
from app.orders.shapes import CandidateList, CandidateOut
from app.orders.workflow import OrderStatus, Party
from app.runtime import Runtime
from app.volunteers.models import UserSkill

#: Weights of the ranking; a skill match matters most, then living nearby.
SKILL_WEIGHT = 3.0
SAME_GRID_WEIGHT = 2.0
LOAD_PENALTY = 1.0
#: A rating average is compared with this neutral score (3 of 5 stars).
NEUTRAL_RATING = 3.0
MAX_CANDIDATES = 20
#: Orders a volunteer is already holding.
ACTIVE = (OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE)


def rank_candidates(rt: Runtime, actor: Actor, order_id: int) -> CandidateList:
    """Secretary or grid worker of the order's community: volunteers best suited, each with reasons.

    Four queries whatever the number of volunteers (no per-volunteer lookups).
    """
    with rt.db.read() as session:
        order, parties = load_visible_order(session, actor, order_id)
        if not parties & (STAFF_PARTIES - {Party.STREET_ADMIN}):
            raise ForbiddenError("只有社区书记或网格员可以派单")
        order_grid = order.grid_id
        skill = session.scalar(sa.select(ServiceCategory.skill).where(ServiceCategory.id == order.category_id))
        volunteers = session.execute(
            sa.select(User.id, User.nickname, Household.grid_id)
            .join(RoleMembership, RoleMembership.user_id == User.id)
            .outerjoin(Household, Household.user_id == User.id)
            .where(RoleMembership.role == Role.VOLUNTEER, RoleMembership.area_id == order.community_id)
        ).all()
        ids = [row.id for row in volunteers]
        skilled = (
            set(
                session.scalars(
                    sa.select(UserSkill.user_id).where(UserSkill.user_id.in_(ids), UserSkill.skill == skill)
                )
            )
            if skill and ids
            else set()
        )
        load = dict(
            session.execute(
                sa.select(Order.assignee_id, sa.func.count())
                .where(Order.assignee_id.in_(ids), Order.status.in_(ACTIVE))
                .group_by(Order.assignee_id)
            ).all()
        )
        ratings = {
            row.assignee_id: (float(row.average), int(row.rated))
            for row in session.execute(
                sa.select(
                    Rating.assignee_id, sa.func.avg(Rating.score).label("average"), sa.func.count().label("count")
                )
                .where(Rating.assignee_id.in_(ids))
                .group_by(Rating.assignee_id)
            )
        }
    ranked = []
    for volunteer_id, nickname, grid_id in volunteers:
        score, reasons = 0.0, []
        if volunteer_id in skilled:
            score += SKILL_WEIGHT
            reasons.append(texts.skill_match(skill))
        if order_grid is not None and grid_id == order_grid:
            score += SAME_GRID_WEIGHT
            reasons.append(texts.SAME_GRID)
        active = int(load.get(volunteer_id, 0))
        score -= LOAD_PENALTY * active
        reasons.append(texts.holding(active) if active else texts.IDLE)
        if volunteer_id in ratings:
            average, count = ratings[volunteer_id]
            score += average - NEUTRAL_RATING
            reasons.append(texts.past_rating(average, count))
        ranked.append(
            CandidateOut(
                volunteer_id=volunteer_id,
                name=nickname or texts.unnamed(volunteer_id),
                score=round(score, 2),
                reasons=reasons,
            )
        )
    ranked.sort(key=lambda c: (-c.score, c.volunteer_id))
    return CandidateList(items=ranked[:MAX_CANDIDATES])
