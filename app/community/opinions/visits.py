"""Logging a visit and reading the log: who may write and read which community's visits, and
the visits as the API answers them (each item with its order's number and status)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from app.areas.models import Area, AreaKind
from app.community.opinions.models import (
    OpinionItem,
    OpinionVisit,
    OpinionVisitHousehold,
    OpinionVisitStaff,
    VisitKind,
)
from app.community.opinions.rules import KIND_LABELS, check_batches, check_held_at, field_error
from app.community.opinions.shapes import ItemOrder, ItemOut, PersonRef, VisitEnvelope, VisitOut, VisitPage
from app.core.clock import now_utc, shanghai_day_bounds
from app.core.errors import ForbiddenError, InvalidInputError, NotFoundError
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor, community_for
from app.identity.models import Household, RoleMembership, User
from app.identity.roles import Role
from app.identity.shapes import display_name
from app.orders.content import check_texts
from app.orders.models import Order
from app.orders.workflow import STATUS_LABELS, OrderStatus
from app.runtime import Runtime

#: Who logs visits and reads the log: the community's staff (a grid worker held for a grid: the
#: visits of that grid and those logged without one), a street admin all of the street's.
STAFF: Final = (Role.SECRETARY, Role.GRID_WORKER, Role.STREET_ADMIN)
_REFUSAL: Final = "只有社区工作人员可以记录和查看民情走访"
#: Who may be named among the staff present, by where their role is held.
_COMMUNITY_ROLES: Final = (Role.SECRETARY, Role.GRID_WORKER)


@dataclass(frozen=True)
class NewItem:
    text: str
    category: str = ""


@dataclass(frozen=True)
class NewVisit:
    """A visit as the API's schema validated it (lengths, counts, kinds)."""

    community: str
    kind: VisitKind
    held_at: datetime
    place: str
    staff: tuple[int, ...]
    residents_met: int
    items: tuple[NewItem, ...]
    grid: str | None = None
    households: tuple[int, ...] = ()


def _require_staff(actor: Actor) -> None:
    # Judged before any query: the answer is the same whatever the codes and ids name.
    if not actor.communities_as(*STAFF):
        raise ForbiddenError(_REFUSAL)


def _texts(visit: NewVisit) -> dict[str, str]:
    """What others will read, by the field that holds it (as the schema's errors name fields)."""
    fields = {"place": visit.place}
    for i, item in enumerate(visit.items):
        fields[f"items.{i}.text"] = item.text
        fields[f"items.{i}.category"] = item.category
    return fields


def record_visit(rt: Runtime, actor: Actor, visit: NewVisit) -> VisitEnvelope:
    """Staff of the community: log a visit. The time and the texts are judged before any write
    transaction opens (content security is an HTTP call); then the community, the grid, the staff
    and the households, in the transaction. Raises ForbiddenError (not staff anywhere),
    NotFoundError (a community not theirs), InvalidInputError naming the field,
    ContentRejectedError (a risky text, as for orders). Nothing is written on any of them."""
    _require_staff(actor)
    check_held_at(visit.held_at, now_utc())
    # A REVIEW verdict, or WeChat not answering, lets the log through: it is staff's own record.
    # Fifty items do not fit in one call: the texts are asked in batches WeChat takes.
    for batch in check_batches(_texts(visit)):
        check_texts(rt, actor, batch)
    with rt.db.write() as session:
        community = community_for(session, actor, visit.community, *STAFF, refusal=_REFUSAL)
        grid_id = _grid_of(session, community, visit.grid)
        if not actor.covers(community.id, grid_id, *STAFF):
            raise field_error("grid", "不是您负责的网格")
        _check_staff(session, community, visit.staff)
        _check_households(session, community, visit.households)
        row = OpinionVisit(
            community_id=community.id,
            grid_id=grid_id,
            kind=visit.kind,
            held_at=visit.held_at,
            place=visit.place,
            residents_met=visit.residents_met,
            recorded_by_id=actor.user_id,
            created_at=now_utc(),
        )
        session.add(row)
        session.flush()
        session.add_all(OpinionVisitStaff(visit_id=row.id, user_id=user_id) for user_id in visit.staff)
        session.add_all(OpinionVisitHousehold(visit_id=row.id, household_id=h) for h in visit.households)
        session.add_all(
            OpinionItem(visit_id=row.id, position=n, text=item.text, category=item.category)
            for n, item in enumerate(visit.items, start=1)
        )
        session.flush()
        return VisitEnvelope(visit=present_visits(session, [row])[0])


def _grid_of(session: Session, community: Area, code: str | None) -> int | None:
    if code is None:
        return None
    grid = session.scalar(
        sa.select(Area).where(Area.code == code, Area.kind == AreaKind.GRID, Area.parent_id == community.id)
    )
    if grid is None:
        raise field_error("grid", "该网格不属于这个社区")
    if grid.retired:
        raise field_error("grid", "该网格已停用")
    return grid.id


def _check_staff(session: Session, community: Area, staff: Sequence[int]) -> None:
    """Each id holds a staff role in the community: secretary or grid worker of it or one of its
    grids, or street admin of its street."""
    held = sa.or_(
        sa.and_(RoleMembership.role.in_(_COMMUNITY_ROLES), Area.community_id == community.id),
        sa.and_(RoleMembership.role == Role.STREET_ADMIN, Area.id == community.parent_id),
    )
    found = set(
        session.scalars(
            sa.select(RoleMembership.user_id)
            .join(Area, Area.id == RoleMembership.area_id)
            .where(RoleMembership.user_id.in_(list(staff)), held)
        )
    )
    missing = [user_id for user_id in staff if user_id not in found]
    if missing:
        raise InvalidInputError(
            "在场人员须是本社区的工作人员",
            details={"fields": [{"field": "staff", "problem": "不是本社区的工作人员"}], "ids": missing},
        )


def _check_households(session: Session, community: Area, households: Sequence[int]) -> None:
    if not households:
        return
    found = set(
        session.scalars(
            sa.select(Household.id).where(Household.id.in_(list(households)), Household.community_id == community.id)
        )
    )
    missing = [h for h in households if h not in found]
    if missing:
        raise InvalidInputError(
            "走访的住户须属于本社区",
            details={"fields": [{"field": "households", "problem": "不属于本社区的住户"}], "ids": missing},
        )


# -- reading -------------------------------------------------------------------------------------


def _readable(actor: Actor, visit: OpinionVisit) -> bool:
    return actor.covers(visit.community_id, visit.grid_id, *STAFF)


def get_visit(rt: Runtime, actor: Actor, visit_id: int) -> VisitEnvelope:
    """Staff covering the visit's community (and grid): one visit. NotFoundError for one that does
    not exist and one of another community alike; ForbiddenError for non-staff."""
    _require_staff(actor)
    with rt.db.read() as session:
        visit = session.get(OpinionVisit, visit_id)
        if visit is None or not _readable(actor, visit):
            raise NotFoundError("找不到该走访记录")
        return VisitEnvelope(visit=present_visits(session, [visit])[0])


def _scope(session: Session, actor: Actor, code: str) -> list[sa.ColumnElement[bool]]:
    """The conditions of the visits ``actor`` reads under the area ``code``: a street (its admin:
    all its communities), a community (its staff; a grid worker held for grids: theirs and no
    grid), a grid (staff covering it). NotFoundError for any other area, or none."""
    area = session.scalar(sa.select(Area).where(Area.code == code)) if "\x00" not in code else None
    if area is not None and area.kind is AreaKind.STREET:
        if any(m.role is Role.STREET_ADMIN and m.area_id == area.id for m in actor.memberships):
            communities = sa.select(Area.id).where(Area.parent_id == area.id, Area.kind == AreaKind.COMMUNITY)
            return [OpinionVisit.community_id.in_(communities.scalar_subquery())]
    elif area is not None and area.kind is AreaKind.COMMUNITY:
        if area.id in actor.communities_as(*STAFF):
            grids = actor.grids_as(area.id, *STAFF)
            if grids is None:
                return [OpinionVisit.community_id == area.id]
            return [
                OpinionVisit.community_id == area.id,
                sa.or_(OpinionVisit.grid_id.is_(None), OpinionVisit.grid_id.in_(sorted(grids))),
            ]
    elif (
        area is not None
        and area.kind is AreaKind.GRID
        and area.community_id is not None
        and actor.covers(area.community_id, area.id, *STAFF)
    ):
        return [OpinionVisit.grid_id == area.id]
    raise NotFoundError("找不到该区域")


def list_visits(
    rt: Runtime,
    actor: Actor,
    *,
    area: str,
    first: date | None = None,
    last: date | None = None,
    kind: VisitKind | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> VisitPage:
    """Staff: the visits of ``area`` held from ``first`` to ``last`` (Shanghai days, both
    included; either may be left open), of one kind or all, newest logged first."""
    _require_staff(actor)
    if first is not None and last is not None and first > last:
        raise InvalidInputError("开始日期不能晚于结束日期", details={"fields": ["from", "to"]})
    before = decode_cursor(cursor)
    with rt.db.read() as session:
        query = sa.select(OpinionVisit).where(*_scope(session, actor, area))
        if first is not None:
            query = query.where(OpinionVisit.held_at >= shanghai_day_bounds(first)[0])
        if last is not None:
            query = query.where(OpinionVisit.held_at < shanghai_day_bounds(last)[1])
        if kind is not None:
            query = query.where(OpinionVisit.kind == kind)
        if before is not None:
            query = query.where(OpinionVisit.id < before)
        rows = list(session.scalars(query.order_by(OpinionVisit.id.desc()).limit(limit + 1)))
        visits = present_visits(session, rows[:limit])
    more = len(rows) > limit
    return VisitPage(items=visits, next_cursor=encode_cursor(visits[-1].id) if more and visits else None)


# -- presenting ----------------------------------------------------------------------------------

_Recorder = aliased(User)


def present_visits(session: Session, visits: Sequence[OpinionVisit]) -> list[VisitOut]:
    """The visits as answered: five statements whatever their number (areas, staff, households,
    items with their orders, recorders)."""
    if not visits:
        return []
    ids = [v.id for v in visits]
    area_ids = {v.community_id for v in visits} | {v.grid_id for v in visits if v.grid_id is not None}
    codes = dict(session.execute(sa.select(Area.id, Area.code).where(Area.id.in_(sorted(area_ids)))).all())
    staff: dict[int, list[PersonRef]] = defaultdict(list)
    for visit_id, user_id, nickname in session.execute(
        sa.select(OpinionVisitStaff.visit_id, User.id, User.nickname)
        .join(User, User.id == OpinionVisitStaff.user_id)
        .where(OpinionVisitStaff.visit_id.in_(ids))
        .order_by(OpinionVisitStaff.visit_id, User.id)
    ):
        staff[visit_id].append(PersonRef(id=user_id, name=display_name(user_id, nickname)))
    households: dict[int, list[int]] = defaultdict(list)
    for visit_id, household_id in session.execute(
        sa.select(OpinionVisitHousehold.visit_id, OpinionVisitHousehold.household_id)
        .where(OpinionVisitHousehold.visit_id.in_(ids))
        .order_by(OpinionVisitHousehold.visit_id, OpinionVisitHousehold.household_id)
    ):
        households[visit_id].append(household_id)
    items: dict[int, list[ItemOut]] = defaultdict(list)
    for item, number, status in session.execute(
        sa.select(OpinionItem, Order.number, Order.status)
        .outerjoin(Order, Order.id == OpinionItem.order_id)
        .where(OpinionItem.visit_id.in_(ids))
        .order_by(OpinionItem.visit_id, OpinionItem.position)
    ):
        items[item.visit_id].append(item_out(item, number, status))
    recorders = {v.recorded_by_id for v in visits if v.recorded_by_id is not None}
    names = dict(session.execute(sa.select(User.id, User.nickname).where(User.id.in_(sorted(recorders)))).all())
    return [
        VisitOut(
            id=v.id,
            community=codes[v.community_id],
            grid=codes.get(v.grid_id) if v.grid_id is not None else None,
            kind=v.kind,
            kind_label=KIND_LABELS[v.kind],
            held_at=v.held_at,
            place=v.place,
            staff=staff[v.id],
            households=households[v.id],
            residents_met=v.residents_met,
            items=items[v.id],
            recorded_by=(
                PersonRef(id=v.recorded_by_id, name=display_name(v.recorded_by_id, names.get(v.recorded_by_id)))
                if v.recorded_by_id is not None
                else None
            ),
            created_at=v.created_at,
        )
        for v in visits
    ]


def item_out(item: OpinionItem, number: str | None, status: OrderStatus | None) -> ItemOut:
    """An item, with its order's number and status once it has one."""
    order = None
    if item.order_id is not None and number is not None and status is not None:
        order = ItemOrder(id=item.order_id, number=number, status=status, status_label=STATUS_LABELS[status])
    return ItemOut(n=item.position, text=item.text, category=item.category, order=order)
