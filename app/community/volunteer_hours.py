"""志愿服务时长统计: service hours, orders and points of an area's volunteers over a range of Shanghai
days, by volunteer, team or 双报到 unit (the report a party member's employer unit asks for).

What counts (docs/api.md, Volunteer hours):

* An entry of an order counts for the order's community (the ledger joined to orders), whoever the
  volunteer is a volunteer of now; it counts on the day it was written, so an order earned in one
  range and reversed in the next shows its minutes and points back out in the second.
* An adjustment has no order: it counts for the area when the volunteer is a volunteer of one of
  its communities (once, however many of them), since the ledger does not say whose secretary made it.
* Redemptions are spending, not service: not in the report.

The figures are one GROUP BY over the ledger (per volunteer and order, then per volunteer), the
people one statement, their teams one more: the statement count does not grow with the volunteers.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind
from app.community.hours_rules import Figures, Group, GroupBy, Volunteer, group, total
from app.core.clock import shanghai_day_bounds
from app.core.day_range import check_range
from app.core.errors import ForbiddenError, NotFoundError
from app.identity.actor import Actor
from app.identity.models import RoleMembership, User
from app.identity.roles import Role
from app.identity.shapes import display_name
from app.orders.models import Order
from app.runtime import Runtime
from app.timebank.ledger import PointsEntry, PointsKind, service_minutes_sum, service_points_sum
from app.volunteers.models import Team, TeamMember, VolunteerProfile

REPORT_ROLES = (Role.SECRETARY, Role.STREET_ADMIN)


@dataclass(frozen=True)
class Report:
    area_code: str
    area_name: str
    start: date
    end: date
    days: int
    by: GroupBy
    groups: list[Group]
    volunteers: list[Volunteer]
    totals: Figures


def _communities_of(session: Session, area: Area) -> list[int]:
    if area.kind is AreaKind.COMMUNITY:
        return [area.id]
    return list(
        session.scalars(
            sa.select(Area.id).where(Area.parent_id == area.id, Area.kind == AreaKind.COMMUNITY).order_by(Area.id)
        )
    )


def _named_area(session: Session, code: str) -> Area | None:
    kinds = [AreaKind.COMMUNITY, AreaKind.STREET]
    return session.scalar(sa.select(Area).where(Area.code == code, Area.kind.in_(kinds)))


def report_area(session: Session, actor: Actor, code: str) -> tuple[Area, list[int]]:
    """The area ``code`` names and its communities, for a secretary of that community or a street
    admin of it or of its street. ForbiddenError for anyone else (before any query), NotFoundError
    for an area that is not theirs, the same as for one that does not exist."""
    if not actor.communities_as(*REPORT_ROLES):
        raise ForbiddenError("只有社区书记和街道管理员可以查看服务时长统计")
    area = _named_area(session, code)
    if area is None:
        raise NotFoundError(f"找不到社区或街道 {code}")
    if area.kind is AreaKind.STREET:
        if not any(m.role is Role.STREET_ADMIN and m.area_id == area.id for m in actor.memberships):
            raise NotFoundError(f"找不到社区或街道 {code}")
    elif area.id not in actor.communities_as(*REPORT_ROLES):
        raise NotFoundError(f"找不到社区或街道 {code}")
    return area, _communities_of(session, area)


def _volunteers_of(communities: Collection[int]) -> sa.Select[int]:
    return sa.select(RoleMembership.user_id).where(
        RoleMembership.role == Role.VOLUNTEER, RoleMembership.area_id.in_(list(communities))
    )


def _figures(session: Session, communities: Collection[int], start: date, end: date) -> dict[int, Figures]:
    """Each volunteer's figures in the range: one statement, grouped per (volunteer, order) so an
    order whose minutes were taken back (reversed, forfeited) is not counted as served."""
    since, _ = shanghai_day_bounds(start)
    _, until = shanghai_day_bounds(end)
    kind = PointsEntry.kind
    per_order = (
        sa.select(
            PointsEntry.user_id.label("user_id"),
            PointsEntry.order_id.label("order_id"),
            service_minutes_sum().label("minutes"),
            service_points_sum().label("service"),
            sa.func.sum(sa.case((kind == PointsKind.ADJUSTED.value, PointsEntry.delta), else_=0)).label("adjusted"),
        )
        .outerjoin(Order, Order.id == PointsEntry.order_id)
        .where(
            PointsEntry.created_at >= since,
            PointsEntry.created_at < until,
            sa.or_(
                Order.community_id.in_(list(communities)),
                sa.and_(
                    PointsEntry.order_id.is_(None),
                    kind == PointsKind.ADJUSTED.value,
                    PointsEntry.user_id.in_(_volunteers_of(communities)),
                ),
            ),
        )
        .group_by(PointsEntry.user_id, PointsEntry.order_id)
        .subquery()
    )
    served = sa.case((sa.and_(per_order.c.order_id.is_not(None), per_order.c.minutes > 0), 1), else_=0)
    rows = session.execute(
        sa.select(
            per_order.c.user_id,
            sa.func.sum(per_order.c.minutes),
            sa.func.sum(served),
            sa.func.sum(per_order.c.service),
            sa.func.sum(per_order.c.adjusted),
        ).group_by(per_order.c.user_id)
    )
    return {
        user_id: Figures(int(minutes or 0), int(orders or 0), int(service or 0), int(adjusted or 0))
        for user_id, minutes, orders, service, adjusted in rows
    }


def _people(session: Session, communities: Collection[int], figures: dict[int, Figures]) -> list[Volunteer]:
    """The area's volunteers and everyone with figures, with their 双报到 unit and teams of the area
    (two statements)."""
    ids = set(session.scalars(_volunteers_of(communities).distinct())) | figures.keys()
    if not ids:
        return []
    several = len(communities) > 1
    teams: dict[int, list[str]] = {}
    team_rows = session.execute(
        sa.select(TeamMember.user_id, Team.name, Area.name)
        .join(Team, Team.id == TeamMember.team_id)
        .join(Area, Area.id == Team.community_id)
        .where(Team.community_id.in_(list(communities)), TeamMember.user_id.in_(sorted(ids)))
        .order_by(Area.name, Team.name)
    )
    for user_id, team, community in team_rows:
        # In a street's report two communities may each have a team of one name.
        teams.setdefault(user_id, []).append(f"{community}·{team}" if several else team)
    people = session.execute(
        sa.select(
            User.id,
            User.nickname,
            VolunteerProfile.in_service,
            VolunteerProfile.employer_unit,
            VolunteerProfile.unit_hours,
        )
        .outerjoin(VolunteerProfile, VolunteerProfile.user_id == User.id)
        .where(User.id.in_(sorted(ids)))
    )
    return [
        Volunteer(
            user_id=user_id,
            name=display_name(user_id, nickname),
            figures=figures.get(user_id, Figures()),
            teams=tuple(teams.get(user_id, ())),
            unit=unit if in_service and unit else None,
            unit_hours=unit_hours if in_service and unit else None,
        )
        for user_id, nickname, in_service, unit, unit_hours in people
    ]


def area_report(session: Session, area: Area, communities: list[int], *, start: date, end: date, by: GroupBy) -> Report:
    """The report of ``communities`` (``area``'s); no access check (the callers do it)."""
    days = (end - start).days + 1
    figures = _figures(session, communities, start, end) if communities else {}
    volunteers = _people(session, communities, figures) if communities else []
    return Report(
        area_code=area.code,
        area_name=area.name,
        start=start,
        end=end,
        days=days,
        by=by,
        groups=group(volunteers, by, days),
        volunteers=volunteers,
        totals=total(volunteers),
    )


def volunteer_hours(rt: Runtime, actor: Actor, code: str, *, start: date, end: date, by: GroupBy) -> Report:
    """The report for area ``code`` (a community, or a street: all its communities) from ``start``
    to ``end`` (Shanghai days, ``end`` included). Raises ForbiddenError, NotFoundError (see
    ``report_area``), InvalidInputError (a range backwards or too long)."""
    if not actor.communities_as(*REPORT_ROLES):
        raise ForbiddenError("只有社区书记和街道管理员可以查看服务时长统计")
    check_range(start, end)
    with rt.db.read() as session:
        area, communities = report_area(session, actor, code)
        return area_report(session, area, communities, start=start, end=end, by=by)


def operator_report(rt: Runtime, code: str, *, start: date, end: date, by: GroupBy) -> Report:
    """The same report for the operator at the command line (``linli report volunteer-hours``):
    any community or street. NotFoundError for a code that names neither."""
    check_range(start, end)
    with rt.db.read() as session:
        area, communities = operator_area(session, code)
        return area_report(session, area, communities, start=start, end=end, by=by)


def operator_area(session: Session, code: str) -> tuple[Area, list[int]]:
    """Any community or street and its communities, for the operator at the command line (no
    access check); NotFoundError for a code that names neither."""
    area = _named_area(session, code)
    if area is None:
        raise NotFoundError(f"找不到社区或街道 {code}")
    return area, _communities_of(session, area)
