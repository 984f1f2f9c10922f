"""Reading orders: the detail, the lists by scope, the volunteers' pool, and the bot's 「待办」."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, ServiceCategory
from app.core.errors import ForbiddenError, InvalidInputError, NotFoundError
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor
from app.identity.models import Household
from app.identity.roles import STAFF_ROLES, Role
from app.orders.access import Groups, groups_of, load_visible_order
from app.orders.models import Order
from app.orders.present import present_orders
from app.orders.shapes import OrderOut, OrderPage
from app.orders.week import free_during
from app.orders.workflow import OPEN, OrderStatus, TriageLevel
from app.runtime import Runtime
from app.volunteers.availability import Slot
from app.volunteers.models import UserSkill, VolunteerAvailability


def get_order(rt: Runtime, actor: Actor, order_id: int) -> OrderOut:
    """The owner, the poster, the assignee, community staff (and pool volunteers while pooled):
    the order with its audit trail. NotFoundError for anyone else."""
    with rt.db.read() as session:
        order, parties = load_visible_order(session, actor, order_id)
        return present_orders(
            session, actor, [order], with_events=True, parties={order.id: parties}, lanes=rt.settings.orders.lanes
        )[0]


def list_orders(
    rt: Runtime,
    actor: Actor,
    *,
    scope: str,
    status: OrderStatus | None,
    community: str | None,
    limit: int,
    cursor: str | None,
    level: TriageLevel | None = None,
) -> OrderPage:
    """``mine``: orders I posted or that are mine; ``assigned``: orders I hold;
    ``community``: a staff member's communities (optionally one, by code). Newest first.
    ``status`` and ``level`` (三事分流) narrow any scope."""
    after = decode_cursor(cursor)
    # Each branch is one indexed equality; the page is the newest of their newest (see newest_orders).
    branches: list[sa.ColumnElement[bool]]
    if scope == "mine":
        branches = [Order.resident_id == actor.user_id, Order.created_by_id == actor.user_id]
    elif scope == "assigned":
        branches = [Order.assignee_id == actor.user_id]
    else:
        communities = actor.communities_as(*STAFF_ROLES)
        if not communities:
            raise ForbiddenError("只有社区工作人员可以查看社区工单")
        branches = [_community_branch(actor, community_id) for community_id in sorted(communities)]
    with rt.db.read() as session:
        groups = groups_of(session, actor.user_id) if scope == "assigned" else None
        if groups is not None:
            branches += _awaiting_my_groups(groups)
        filters: list[sa.ColumnElement[bool]] = []
        if community is not None:
            area = session.scalar(sa.select(Area).where(Area.code == community))
            if area is None or (scope == "community" and area.id not in actor.communities_as(*STAFF_ROLES)):
                raise NotFoundError(f"找不到社区 {community}")
            filters.append(Order.community_id == area.id)
        if status is not None:
            filters.append(Order.status == status)
        if level is not None:
            # A community's 大事 without a status: ix_orders_community_id_level_id walks them alone.
            filters.append(Order.level == level)
        if after is not None:
            filters.append(Order.id < after)
        rows = session.scalars(newest_orders(branches, filters, limit + 1)).all()
        page = list(rows[:limit])
        next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
        shaped = present_orders(session, actor, page, groups=groups, lanes=rt.settings.orders.lanes)
        return OrderPage(items=shaped, next_cursor=next_cursor)


def _awaiting_my_groups(groups: Groups) -> list[sa.ColumnElement[bool]]:
    """Orders dispatched to the caller's teams or property companies that none of their people has
    accepted yet: any member may accept them, so they are the member's to see in ``assigned``."""
    waiting = sa.and_(Order.status == OrderStatus.ASSIGNED, Order.assignee_id.is_(None))
    branches: list[sa.ColumnElement[bool]] = [
        sa.and_(Order.team_id == team_id, waiting) for team_id in sorted(groups.team_ids)
    ]
    branches += [sa.and_(Order.property_company_id == company_id, waiting) for company_id in sorted(groups.company_ids)]
    return branches


def _community_branch(actor: Actor, community_id: int) -> sa.ColumnElement[bool]:
    """A community's orders as the actor covers them (Actor.covers): all of them, or for a grid
    worker of some grids, those grids' orders and the ones with no grid yet."""
    grids = actor.grids_as(community_id, *STAFF_ROLES)
    if grids is None:
        return Order.community_id == community_id
    return sa.and_(
        Order.community_id == community_id, sa.or_(Order.grid_id.in_(sorted(grids)), Order.grid_id.is_(None))
    )


def newest_orders(
    branches: list[sa.ColumnElement[bool]], filters: list[sa.ColumnElement[bool]], count: int
) -> sa.Select[Order]:
    """The ``count`` newest orders matching any branch and every filter.

    ``WHERE a OR b ORDER BY id DESC`` (or ``community_id IN (…)``) makes the database collect and
    sort every match before it can return a page; each branch alone walks its index backwards and
    stops after ``count`` rows. So take the newest ``count`` of each branch, then the newest of those.
    """
    if len(branches) == 1:
        return sa.select(Order).where(branches[0], *filters).order_by(Order.id.desc()).limit(count)
    newest = [
        sa.select(Order.id).where(branch, *filters).order_by(Order.id.desc()).limit(count).subquery()
        for branch in branches
    ]
    ids = sa.union(*(sa.select(part.c.id) for part in newest)).subquery()
    return sa.select(Order).where(Order.id.in_(sa.select(ids.c.id))).order_by(Order.id.desc()).limit(count)


def pool(rt: Runtime, actor: Actor, *, limit: int, cursor: str | None) -> OrderPage:
    """A volunteer: pooled orders of their communities, best matches first: their skills, then
    their own grid, then a preferred time within their weekly slots, then whoever has waited longest."""
    communities = actor.communities_as(Role.VOLUNTEER)
    if not communities:
        raise ForbiddenError("只有志愿者可以查看任务池")
    offset = decode_cursor(cursor) or 0
    with rt.db.read() as session:
        # The volunteer's skills and home grid inside the ranking statement, not fetched first:
        # two round trips fewer. No skill or no home: the match is false (NULL) for every order.
        skills = sa.select(UserSkill.skill).where(UserSkill.user_id == actor.user_id)
        home_grid = sa.select(Household.grid_id).where(Household.user_id == actor.user_id).scalar_subquery()
        skill_match = sa.case((ServiceCategory.skill.in_(skills), 1), else_=0)
        grid_match = sa.case((Order.grid_id == home_grid, 1), else_=0)
        slots = [
            Slot(row.starts, row.ends)
            for row in session.scalars(
                sa.select(VolunteerAvailability).where(VolunteerAvailability.user_id == actor.user_id)
            )
        ]
        dialect = session.get_bind().dialect.name
        free = sa.case((free_during(dialect, Order.preferred_start, Order.preferred_end, slots), 1), else_=0)
        rows = session.scalars(
            sa.select(Order)
            .join(ServiceCategory, ServiceCategory.id == Order.category_id)
            .where(Order.community_id.in_(communities), Order.status == OrderStatus.POOLED)
            .order_by(skill_match.desc(), grid_match.desc(), free.desc(), Order.id.asc())
            .offset(offset)
            .limit(limit + 1)
        ).all()
        page = list(rows[:limit])
        next_cursor = encode_cursor(offset + limit) if len(rows) > limit else None
        shaped = present_orders(session, actor, page, lanes=rt.settings.orders.lanes)
        return OrderPage(items=shaped, next_cursor=next_cursor)


#: Lines per section of 「待办」; a chat reply is no place for a long list.
PENDING_LIMIT = 8


#: What a volunteer holds: dispatched to them, or accepted / under way.
HELD_BY_VOLUNTEER = frozenset({OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE})


#: What a resident waits on: open orders, and finished ones still to be rated.
RESIDENT_PENDING = OPEN | {OrderStatus.COMPLETED}


@dataclass(frozen=True, slots=True)
class PendingLine:
    order_id: int
    number: str
    title: str
    status: OrderStatus
    community: str


@dataclass(frozen=True, slots=True)
class PendingSection:
    """One block of 「待办」: ``kind`` is ``dispatch`` (secretary), ``held`` (volunteer) or ``mine`` (resident)."""

    kind: str
    lines: tuple[PendingLine, ...]
    total: int


def _section(session: Session, kind: str, where: sa.ColumnElement[bool]) -> PendingSection | None:
    total = session.scalar(sa.select(sa.func.count()).select_from(Order).where(where)) or 0
    if not total:
        return None
    rows = session.execute(
        sa.select(Order.id, Order.number, Order.title, Order.status, Area.name)
        .join(Area, Area.id == Order.community_id)
        .where(where)
        .order_by(Order.id)
        .limit(PENDING_LIMIT)
    ).all()
    lines = tuple(
        PendingLine(order_id=oid, number=number, title=title, status=status, community=community)
        for oid, number, title, status, community in rows
    )
    return PendingSection(kind=kind, lines=lines, total=int(total))


def pending_for(rt: Runtime, actor: Actor) -> list[PendingSection]:
    """「待办」 by role: a secretary's communities' submitted orders, what a volunteer holds
    (assigned, accepted, in service), and the caller's own open orders as a resident."""
    sections: list[PendingSection | None] = []
    with rt.db.read() as session:
        dispatching = actor.communities_as(Role.SECRETARY)
        if dispatching:
            sections.append(
                _section(
                    session,
                    "dispatch",
                    sa.and_(Order.community_id.in_(dispatching), Order.status == OrderStatus.SUBMITTED),
                )
            )
        sections.append(
            _section(session, "held", sa.and_(Order.assignee_id == actor.user_id, Order.status.in_(HELD_BY_VOLUNTEER)))
        )
        sections.append(
            _section(session, "mine", sa.and_(Order.resident_id == actor.user_id, Order.status.in_(RESIDENT_PENDING)))
        )
    return [section for section in sections if section is not None]


def find_order(rt: Runtime, actor: Actor, number: str) -> tuple[int, OrderStatus]:
    """The order called ``number`` among the communities the actor belongs to (any role).

    Numbers are unique per community only, so another community's order is simply not found:
    NotFoundError, the same as for a number that does not exist. Whether the actor may act on
    it is for ``app.orders.actions.act`` to say.
    """
    communities = actor.communities_as(*Role)
    if not communities:
        raise NotFoundError("找不到该工单")
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(Order.id, Order.status)
            .where(Order.number == number, Order.community_id.in_(communities))
            .order_by(Order.id)
        ).all()
    if not rows:
        raise NotFoundError("找不到该工单")
    if len(rows) > 1:
        # A street admin sees several communities, each with its own 20261123-0001.
        raise InvalidInputError("该单号在您负责的多个社区都有，请在小程序中处理", details={"number": number})
    order_id, status = rows[0]
    return int(order_id), status
