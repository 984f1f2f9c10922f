"""Turn orders into what the API answers, loading related rows in batches (no N+1) and masking
private details for viewers who may not see them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, ServiceCategory
from app.core.privacy import mask_phone, mask_room
from app.identity.actor import Actor
from app.identity.models import User
from app.orders import texts
from app.orders.access import groups_for, parties_of, sees_private_details
from app.orders.models import Order, OrderEvent, Rating
from app.orders.shapes import AddressOut, EscalationOut, EventOut, NamedCode, OrderOut, PhotoOut, RatingOut, Ref
from app.orders.workflow import ACTION_LABELS, STATUS_LABELS, Party
from app.property.models import PropertyCompany
from app.uploads.models import Attachment
from app.volunteers.models import Team


class _HasId(Protocol):
    id: int


M = TypeVar("M", bound=_HasId)


def _by_id(session: Session, model: type[M], ids: set[int]) -> dict[int, M]:
    if not ids:
        return {}
    column = sa.inspect(model).mapper.columns["id"]
    return {row.id: row for row in session.scalars(sa.select(model).where(column.in_(ids)))}


def _user_ref(users: dict[int, User], user_id: int | None) -> Ref | None:
    if user_id is None or user_id not in users:
        return None
    user = users[user_id]
    return Ref(id=user.id, name=user.nickname or texts.unnamed(user.id))


def present_orders(
    session: Session,
    actor: Actor,
    orders: Sequence[Order],
    *,
    with_events: bool = False,
    parties: Mapping[int, frozenset[Party]] | None = None,
) -> list[OrderOut]:
    """The API shape of ``orders``, as ``actor`` may see them. ``parties`` (order id → the actor's
    parties) spares working them out again where the caller already has them."""
    if not orders:
        return []
    order_ids = [order.id for order in orders]
    areas = _by_id(session, Area, {o.community_id for o in orders} | {o.grid_id for o in orders if o.grid_id})
    categories = _by_id(session, ServiceCategory, {o.category_id for o in orders})
    teams = _by_id(session, Team, {o.team_id for o in orders if o.team_id})
    companies = _by_id(session, PropertyCompany, {o.property_company_id for o in orders if o.property_company_id})
    photos: dict[tuple[int, str], list[PhotoOut]] = defaultdict(list)
    for attachment in session.scalars(
        sa.select(Attachment).where(Attachment.order_id.in_(order_ids)).order_by(Attachment.id)
    ):
        assert attachment.order_id is not None  # noqa: S101 - selected by order_id
        photos[(attachment.order_id, attachment.purpose)].append(PhotoOut(id=attachment.id))
    ratings = {r.order_id: r for r in session.scalars(sa.select(Rating).where(Rating.order_id.in_(order_ids)))}
    events: dict[int, list[OrderEvent]] = defaultdict(list)
    if with_events:
        for event in session.scalars(
            sa.select(OrderEvent).where(OrderEvent.order_id.in_(order_ids)).order_by(OrderEvent.id)
        ):
            events[event.order_id].append(event)
    user_ids = {o.resident_id for o in orders} | {o.created_by_id for o in orders}
    user_ids |= {o.assignee_id for o in orders if o.assignee_id}
    user_ids |= {e.actor_id for evs in events.values() for e in evs if e.actor_id}
    users = _by_id(session, User, user_ids)
    known = dict(parties or {})
    groups = groups_for(session, actor, [order for order in orders if order.id not in known])

    shaped = []
    for order in orders:
        mine = known[order.id] if order.id in known else parties_of(session, actor, order, groups=groups)
        private = sees_private_details(actor, order, mine)
        grid = areas.get(order.grid_id) if order.grid_id else None
        community = areas[order.community_id]
        category = categories[order.category_id]
        team = teams.get(order.team_id) if order.team_id else None
        company = companies.get(order.property_company_id) if order.property_company_id else None
        rating = ratings.get(order.id)
        resident = _user_ref(users, order.resident_id)
        posted_by = _user_ref(users, order.created_by_id)
        assert resident is not None  # noqa: S101 - a foreign key guarantees it
        assert posted_by is not None  # noqa: S101 - a foreign key guarantees it
        shaped.append(
            OrderOut(
                id=order.id,
                number=order.number,
                community=NamedCode(code=community.code, name=community.name),
                category=NamedCode(code=category.code, name=category.name),
                kind=order.kind.value,
                status=order.status.value,
                status_label=STATUS_LABELS[order.status],
                level=order.level.value if order.level else None,
                title=order.title,
                description=order.description,
                address=AddressOut(
                    grid=NamedCode(code=grid.code, name=grid.name) if grid else None,
                    building=order.building,
                    unit=order.unit,
                    room=order.room if private else mask_room(order.room),
                ),
                contact_phone=order.contact_phone if private else mask_phone(order.contact_phone),
                resident=resident,
                posted_by=posted_by,
                assignee=_user_ref(users, order.assignee_id),
                team=Ref(id=team.id, name=team.name) if team else None,
                property_company=Ref(id=company.id, name=company.name) if company else None,
                photos=photos.get((order.id, "request"), []),
                completion_photos=photos.get((order.id, "completion"), []),
                completion_note=order.completion_note,
                needs_review=order.needs_review,
                preferred_start=order.preferred_start,
                preferred_end=order.preferred_end,
                escalation=EscalationOut(department=order.escalated_department, due_at=order.escalation_due_at)
                if order.escalated_department
                else None,
                rating=RatingOut(
                    score=rating.score, speed=rating.speed, attitude=rating.attitude, comment=rating.comment
                )
                if rating
                else None,
                created_at=order.created_at,
                updated_at=order.updated_at,
                events=[
                    EventOut(
                        action=event.action.value,
                        action_label=ACTION_LABELS[event.action],
                        from_status=event.from_status.value if event.from_status else None,
                        to_status=event.to_status.value,
                        actor=_user_ref(users, event.actor_id),
                        channel=event.channel,
                        note=event.note,
                        at=event.created_at,
                    )
                    for event in events[order.id]
                ]
                if with_events
                else None,
            )
        )
    return shaped
