"""Who stands in what relation to an order, who may see it, and who may see its private details."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.errors import ForbiddenError, NotFoundError
from app.identity.actor import Actor
from app.identity.roles import Role
from app.orders.models import Order
from app.orders.workflow import HELD, OrderStatus, Party
from app.property.models import PropertyCompanyStaff
from app.volunteers.models import TeamMember

#: Parties that work for the community and see everything of its orders.
STAFF_PARTIES = frozenset({Party.SECRETARY, Party.GRID_WORKER, Party.STREET_ADMIN})


@dataclass(frozen=True, slots=True)
class Groups:
    """The volunteer teams and property companies a user acts for."""

    team_ids: frozenset[int] = frozenset()
    company_ids: frozenset[int] = frozenset()

    def include(self, order: Order) -> bool:
        """The order was dispatched to one of these groups."""
        if order.team_id is not None:
            return order.team_id in self.team_ids
        return order.property_company_id is not None and order.property_company_id in self.company_ids


#: One statement for both kinds of group: (kind, id) rows, "t" a team and "c" a property company.
_GROUPS = sa.union_all(
    sa.select(sa.literal("t").label("kind"), TeamMember.team_id.label("id")).where(
        TeamMember.user_id == sa.bindparam("user_id")
    ),
    sa.select(sa.literal("c"), PropertyCompanyStaff.company_id).where(
        PropertyCompanyStaff.user_id == sa.bindparam("user_id")
    ),
)


def groups_of(session: Session, user_id: int) -> Groups:
    """One statement, whatever the number of orders asked about afterwards."""
    rows = session.execute(_GROUPS, {"user_id": user_id}).all()
    return Groups(
        frozenset(group_id for kind, group_id in rows if kind == "t"),
        frozenset(group_id for kind, group_id in rows if kind == "c"),
    )


def _awaits_group(order: Order) -> bool:
    """Dispatched to a team or company and not yet accepted by one of its people."""
    return (
        order.assignee_id is None
        and order.status is OrderStatus.ASSIGNED
        and (order.team_id is not None or order.property_company_id is not None)
    )


def groups_for(session: Session, actor: Actor, orders: Sequence[Order]) -> Groups:
    """The actor's groups if any of ``orders`` needs them to decide a party, else none (no query)."""
    return groups_of(session, actor.user_id) if any(_awaits_group(order) for order in orders) else Groups()


def parties_of(session: Session, actor: Actor, order: Order, *, groups: Groups | None = None) -> frozenset[Party]:
    """Every capacity in which ``actor`` may act on ``order``. Pass ``groups`` (from
    :func:`groups_for`) when asking about many orders: then this runs no query at all."""
    parties: set[Party] = set()
    if order.resident_id == actor.user_id:
        parties.add(Party.OWNER)
    if groups is None:
        groups = groups_for(session, actor, [order])
    if order.assignee_id == actor.user_id or (_awaits_group(order) and groups.include(order)):
        parties.add(Party.ASSIGNEE)
    community = order.community_id
    if community in actor.communities_as(Role.VOLUNTEER):
        parties.add(Party.VOLUNTEER)
    if community in actor.communities_as(Role.SECRETARY):
        parties.add(Party.SECRETARY)
    if community in actor.communities_as(Role.STREET_ADMIN):
        parties.add(Party.STREET_ADMIN)
    if actor.covers(order.community_id, order.grid_id, Role.GRID_WORKER):
        parties.add(Party.GRID_WORKER)
    return frozenset(parties)


def can_view(actor: Actor, order: Order, parties: frozenset[Party]) -> bool:
    """The owner, whoever posted it, the assignee, community staff, and volunteers while it is
    in their community's pool. Everyone else gets a 404, as if it did not exist."""
    if parties & ({Party.OWNER, Party.ASSIGNEE} | STAFF_PARTIES):
        return True
    if order.created_by_id == actor.user_id:
        return True
    return Party.VOLUNTEER in parties and order.status is OrderStatus.POOLED


def holds_actively(actor: Actor, order: Order) -> bool:
    """The actor is the volunteer (or staff member of a team or company) who accepted the order
    and is doing it now: they need to call and find the resident."""
    return order.assignee_id == actor.user_id and order.accepted_at is not None and order.status in HELD


def sees_private_details(actor: Actor, order: Order, parties: frozenset[Party]) -> bool:
    """Phone and room in full: the owner, and the assignee while they hold the order (PIPL minimum
    necessary). Staff, whoever posted for the resident, and a volunteer merely assigned see them
    masked; staff ask for them with :func:`app.orders.contact.reveal_contact`, which is audited."""
    return Party.OWNER in parties or holds_actively(actor, order)


def load_visible_order(session: Session, actor: Actor, order_id: int) -> tuple[Order, frozenset[Party]]:
    """The order and the actor's parties to it; NotFoundError if it does not exist or is not theirs
    to see (the two are indistinguishable to the caller)."""
    order = session.get(Order, order_id)
    if order is None:
        raise NotFoundError("找不到该工单")
    parties = parties_of(session, actor, order)
    if not can_view(actor, order, parties):
        raise NotFoundError("找不到该工单")
    return order, parties


def check_may_dispatch(actor: Actor) -> None:
    """ForbiddenError unless the actor dispatches somewhere (secretary or grid worker). A quick,
    clear answer for the chat; ``act`` still checks the order's own community and grid."""
    if not actor.communities_as(Role.SECRETARY, Role.GRID_WORKER):
        raise ForbiddenError("只有社区书记或网格员可以派单")
