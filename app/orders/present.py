"""Turn orders into what the API answers, masking private details for viewers who may not see them.

Presentation reads plain rows, not mapped objects, in a constant number of statements whatever the
page holds: one for everything an order points at (community, grid, category, team, company,
rating and the names of its people), one for the photos and, for a detail, one for the audit trail
with the names of who acted. Building ORM objects for reference rows cost more CPU than the queries
themselves on the seeded city (bench/README.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from app.areas.models import Area, ServiceCategory
from app.core.config import LanesSection
from app.core.privacy import mask_phone, mask_room
from app.identity.actor import Actor
from app.identity.models import User
from app.orders import texts
from app.orders.access import Groups, groups_for, holds_actively, parties_of, sees_private_details
from app.orders.lanes import lane_out
from app.orders.location import sees_location
from app.orders.models import Order, OrderEvent, Rating
from app.orders.shapes import (
    AddressOut,
    EscalationOut,
    EventOut,
    LocationOut,
    NamedCode,
    OrderOut,
    OriginalRef,
    PhotoOut,
    RatingOut,
    Ref,
)
from app.orders.workflow import ACTION_LABELS, STATUS_LABELS, Action, OrderStatus, Party
from app.property.models import PropertyCompany
from app.uploads.models import Attachment
from app.volunteers.models import Team


def _ref(user_id: int | None, nickname: str | None) -> Ref | None:
    if user_id is None:
        return None
    return Ref(id=user_id, name=nickname or texts.unnamed(user_id))


def _name_of(column: Any, key: Any, ref: Any) -> Any:
    """``column`` of the row whose ``key`` is the order's ``ref``, as a correlated subquery."""
    return sa.select(column).where(key == ref).correlate(Order).scalar_subquery()


_ORIGINAL = aliased(Order, name="original")


def _references_query() -> Any:
    # Correlated scalar subqueries rather than ten joins: PostgreSQL searches join orders for
    # every execution of a ten-way join (19 ms of planning for 1.8 ms of work on the seeded
    # city), while each subquery here is planned on its own in a fraction of a millisecond and
    # runs as one primary-key lookup per order.
    return (
        sa.select(
            Order.id,
            _name_of(Area.code, Area.id, Order.community_id).label("community_code"),
            _name_of(Area.name, Area.id, Order.community_id).label("community_name"),
            _name_of(Area.code, Area.id, Order.grid_id).label("grid_code"),
            _name_of(Area.name, Area.id, Order.grid_id).label("grid_name"),
            _name_of(ServiceCategory.code, ServiceCategory.id, Order.category_id).label("category_code"),
            _name_of(ServiceCategory.name, ServiceCategory.id, Order.category_id).label("category_name"),
            _name_of(Team.name, Team.id, Order.team_id).label("team_name"),
            _name_of(PropertyCompany.name, PropertyCompany.id, Order.property_company_id).label("company_name"),
            _name_of(User.nickname, User.id, Order.resident_id).label("resident_name"),
            _name_of(User.nickname, User.id, Order.created_by_id).label("poster_name"),
            _name_of(User.nickname, User.id, Order.assignee_id).label("assignee_name"),
            _name_of(_ORIGINAL.number, _ORIGINAL.id, Order.duplicate_of_id).label("original_number"),
            Rating.score,
            Rating.speed,
            Rating.attitude,
            Rating.comment,
        )
        .outerjoin(Rating, Rating.order_id == Order.id)
        .where(Order.id.in_(sa.bindparam("order_ids", expanding=True)))
    )


#: Built once: constructing a statement costs more CPU than running it
#: (bench/request_cost.py --profile detail). The ids are an expanding parameter.
_REFERENCES = _references_query()

_PHOTOS = (
    sa.select(Attachment.id, Attachment.order_id, Attachment.purpose)
    .where(Attachment.order_id.in_(sa.bindparam("order_ids", expanding=True)))
    .order_by(Attachment.id)
)

_EVENTS = (
    sa.select(
        OrderEvent.order_id,
        OrderEvent.action,
        OrderEvent.from_status,
        OrderEvent.to_status,
        OrderEvent.actor_id,
        User.nickname,
        OrderEvent.channel,
        OrderEvent.note,
        OrderEvent.created_at,
    )
    .outerjoin(User, User.id == OrderEvent.actor_id)
    .where(OrderEvent.order_id.in_(sa.bindparam("order_ids", expanding=True)))
    .order_by(OrderEvent.id)
)


def _references(session: Session, order_ids: Sequence[int]) -> dict[int, sa.Row[Any]]:
    """Order id → the names and codes of what it points at, in one statement."""
    return {row.id: row for row in session.execute(_REFERENCES, {"order_ids": list(order_ids)})}


def _photos(session: Session, order_ids: Sequence[int]) -> dict[tuple[int, str], list[PhotoOut]]:
    photos: dict[tuple[int, str], list[PhotoOut]] = defaultdict(list)
    rows = session.execute(_PHOTOS, {"order_ids": list(order_ids)})
    for attachment_id, order_id, purpose in rows:
        assert order_id is not None  # noqa: S101 - selected by order_id
        photos[(order_id, purpose)].append(PhotoOut(id=attachment_id))
    return photos


def _events(session: Session, order_ids: Sequence[int]) -> dict[int, list[EventOut]]:
    events: dict[int, list[EventOut]] = defaultdict(list)
    rows = session.execute(_EVENTS, {"order_ids": list(order_ids)})
    for row in rows:
        action: Action = row.action
        from_status: OrderStatus | None = row.from_status
        events[row.order_id].append(
            EventOut(
                action=action,
                action_label=ACTION_LABELS[action],
                from_status=from_status,
                to_status=row.to_status,
                actor=_ref(row.actor_id, row.nickname),
                channel=row.channel,
                note=row.note,
                at=row.created_at,
            )
        )
    return events


def present_orders(
    session: Session,
    actor: Actor,
    orders: Sequence[Order],
    *,
    with_events: bool = False,
    parties: Mapping[int, frozenset[Party]] | None = None,
    groups: Groups | None = None,
    lanes: LanesSection | None = None,
) -> list[OrderOut]:
    """The API shape of ``orders``, as ``actor`` may see them. ``parties`` (order id → the actor's
    parties) and ``groups`` (the actor's teams and companies) spare working them out again where
    the caller already has them. ``lanes``: the deployment's ``[orders.lanes]`` (default: the
    documented defaults)."""
    if not orders:
        return []
    order_ids = [order.id for order in orders]
    references = _references(session, order_ids)
    photos = _photos(session, order_ids)
    events = _events(session, order_ids) if with_events else {}
    known = dict(parties or {})
    if groups is None:
        groups = groups_for(session, actor, [order for order in orders if order.id not in known])

    lanes = lanes or LanesSection()
    shaped = []
    for order in orders:
        mine = known[order.id] if order.id in known else parties_of(session, actor, order, groups=groups)
        private = sees_private_details(actor, order, mine)
        ref = references[order.id]
        resident = _ref(order.resident_id, ref.resident_name)
        posted_by = _ref(order.created_by_id, ref.poster_name)
        assert resident is not None  # noqa: S101 - the column is not nullable
        assert posted_by is not None  # noqa: S101 - the column is not nullable
        shaped.append(
            OrderOut(
                id=order.id,
                number=order.number,
                community=NamedCode(code=ref.community_code, name=ref.community_name),
                category=NamedCode(code=ref.category_code, name=ref.category_name),
                kind=order.kind,
                status=order.status,
                status_label=STATUS_LABELS[order.status],
                level=order.level,
                lane=lane_out(order.level, lanes),
                title=order.title,
                description=order.description,
                address=AddressOut(
                    grid=NamedCode(code=ref.grid_code, name=ref.grid_name) if ref.grid_code else None,
                    building=order.building,
                    unit=order.unit,
                    room=order.room if private else mask_room(order.room),
                ),
                contact_phone=order.contact_phone if private else mask_phone(order.contact_phone),
                resident=resident,
                posted_by=posted_by,
                assignee=_ref(order.assignee_id, ref.assignee_name),
                team=Ref(id=order.team_id, name=ref.team_name) if order.team_id else None,
                property_company=Ref(id=order.property_company_id, name=ref.company_name)
                if order.property_company_id
                else None,
                photos=photos.get((order.id, "request"), []),
                completion_photos=photos.get((order.id, "completion"), []),
                completion_note=order.completion_note,
                needs_review=order.needs_review,
                preferred_start=order.preferred_start,
                preferred_end=order.preferred_end,
                escalation=EscalationOut(department=order.escalated_department, due_at=order.escalation_due_at)
                if order.escalated_department
                else None,
                rating=RatingOut(score=ref.score, speed=ref.speed, attitude=ref.attitude, comment=ref.comment)
                if ref.score is not None
                else None,
                created_at=order.created_at,
                updated_at=order.updated_at,
                events=events.get(order.id, []) if with_events else None,
                location=_location(actor, order, mine),
                duplicate_of=OriginalRef(id=order.duplicate_of_id, number=ref.original_number)
                if order.duplicate_of_id is not None and ref.original_number
                else None,
            )
        )
    return shaped


def _location(actor: Actor, order: Order, parties: frozenset[Party]) -> LocationOut | None:
    if order.latitude is None or order.longitude is None:
        return None
    if not sees_location(parties, holds_actively=holds_actively(actor, order)):
        return None
    return LocationOut(latitude=float(order.latitude), longitude=float(order.longitude))
