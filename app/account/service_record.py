"""服务证明: a volunteer's own record of service over a range of Shanghai days, from the ledger (the
same minutes and points as the hours report): each order served, with totals, and who they are
(name, communities, teams, 双报到 unit). Shown as JSON and as a printable page.

An order is listed when its minutes in the range still count (a reversed order, a forfeited hold
are not); its date is the day of its first entry in the range."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.account.shapes import ServedOrder, ServiceRecordOut
from app.areas.models import Area, ServiceCategory
from app.core.clock import now_utc, shanghai_day_bounds, shanghai_today, to_shanghai
from app.core.day_range import check_range
from app.core.errors import ForbiddenError
from app.identity.actor import Actor
from app.identity.models import User
from app.identity.roles import Role
from app.identity.shapes import display_name
from app.orders.models import Order
from app.runtime import Runtime
from app.timebank.hours import hours
from app.timebank.ledger import PointsEntry, service_minutes_sum, service_points_sum
from app.volunteers.models import Team, TeamMember, VolunteerProfile


def _served(session: Session, user_id: int, start: date, end: date) -> list[ServedOrder]:
    since, _ = shanghai_day_bounds(start)
    _, until = shanghai_day_bounds(end)
    per_order = (
        sa.select(
            PointsEntry.order_id.label("order_id"),
            sa.func.min(PointsEntry.created_at).label("first"),
            service_minutes_sum().label("minutes"),
            service_points_sum().label("points"),
        )
        .where(
            PointsEntry.user_id == user_id,
            PointsEntry.order_id.is_not(None),
            PointsEntry.created_at >= since,
            PointsEntry.created_at < until,
        )
        .group_by(PointsEntry.order_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(
            Order.id, Order.number, ServiceCategory.name, per_order.c.first, per_order.c.minutes, per_order.c.points
        )
        .join(Order, Order.id == per_order.c.order_id)
        .join(ServiceCategory, ServiceCategory.id == Order.category_id)
        .where(per_order.c.minutes > 0)
        .order_by(per_order.c.first, Order.id)
    )
    return [
        ServedOrder(
            order_id=order_id,
            number=number,
            category=category,
            date=to_shanghai(first).date().isoformat(),
            minutes=int(minutes),
            hours=float(hours(int(minutes))),
            points=int(points or 0),
        )
        for order_id, number, category, first, minutes, points in rows
    ]


def service_record(rt: Runtime, actor: Actor, start: date, end: date) -> ServiceRecordOut:
    """The caller's record from ``start`` to ``end`` (``end`` included). ForbiddenError for anyone
    who is not a volunteer; InvalidInputError for a range backwards or too long."""
    if not actor.has_role(Role.VOLUNTEER):
        raise ForbiddenError("只有志愿者可以开具服务证明")
    check_range(start, end)
    communities = sorted(actor.communities_as(Role.VOLUNTEER))
    with rt.db.read() as session:
        user = session.get(User, actor.user_id)
        nickname = user.nickname if user else ""
        community_names = list(session.scalars(sa.select(Area.name).where(Area.id.in_(communities)).order_by(Area.id)))
        teams = list(
            session.scalars(
                sa.select(Team.name)
                .join(TeamMember, TeamMember.team_id == Team.id)
                .where(TeamMember.user_id == actor.user_id, Team.community_id.in_(communities))
                .order_by(Team.name)
            )
        )
        profile = session.get(VolunteerProfile, actor.user_id)
        served = _served(session, actor.user_id, start, end)
    in_service = profile is not None and profile.in_service and bool(profile.employer_unit)
    minutes = sum(order.minutes for order in served)
    return ServiceRecordOut(
        name=display_name(actor.user_id, nickname),
        communities=community_names,
        teams=teams,
        employer_unit=profile.employer_unit if in_service and profile else None,
        unit_hours=profile.unit_hours if in_service and profile else None,
        date_from=start.isoformat(),
        date_to=end.isoformat(),
        orders=served,
        total_orders=len(served),
        total_minutes=minutes,
        total_hours=float(hours(minutes)),
        total_points=sum(order.points for order in served),
        issued=shanghai_today(now_utc()).isoformat(),
    )
