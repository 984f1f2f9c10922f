"""Posting an order: content security, Idempotency-Key, the resident (or 代下单), the number."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind, ServiceCategory
from app.core.clock import now_utc, to_shanghai
from app.core.config import Settings
from app.core.errors import ForbiddenError, InvalidInputError
from app.core.idempotency import Keyed, answer_once, replayed, request_hash
from app.identity.actor import Actor
from app.identity.models import Household, RoleMembership, User
from app.identity.roles import Role
from app.orders import texts
from app.orders.content import check_texts
from app.orders.duplicates import find_likely
from app.orders.location import Coordinates, coordinates
from app.orders.models import Order, OrderEvent, OrderNumberCounter
from app.orders.notifications import notify_order_event
from app.orders.present import present_orders
from app.orders.shapes import OrderOut
from app.orders.workflow import Action, OrderKind, OrderStatus
from app.runtime import Runtime
from app.uploads.store import attach_uploads
from app.wechat.gateway import Verdict


@dataclass(frozen=True)
class NewOrder:
    """What a resident (or a grid worker for them) asks for; validated by the API schema."""

    community: str
    category: str
    kind: OrderKind
    title: str
    description: str
    grid: str | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    contact_phone: str | None = None
    preferred_start: datetime | None = None
    preferred_end: datetime | None = None
    photos: tuple[int, ...] = ()
    on_behalf_of: int | None = None
    #: 随手拍: where the problem is, as wx.getLocation gave it (GCJ-02 degrees); both or neither.
    latitude: float | None = None
    longitude: float | None = None

    @property
    def gives_address(self) -> bool:
        """Any part of an address was given (an empty ``address`` object gives none)."""
        return any(part is not None for part in (self.grid, self.building, self.unit, self.room))


def _field_error(field: str, problem: str) -> InvalidInputError:
    return InvalidInputError(problem, details={"fields": [{"field": field, "problem": problem}]})


def next_order_number(session: Session, community_id: int, moment: datetime) -> str:
    """YYYYMMDD-NNNN, counted per community and Shanghai day; serialised by the counter row."""
    day = to_shanghai(moment).strftime("%Y%m%d")
    key = {"counter_community": community_id, "counter_day": day}
    last = session.scalar(_BUMP, key)
    if last is None:
        try:
            with session.begin_nested():
                session.add(OrderNumberCounter(community_id=community_id, day=day, last=1))
            last = 1
        except IntegrityError:
            # Another transaction created today's counter between our UPDATE and INSERT.
            last = session.scalar(_BUMP, key)
    return f"{day}-{last:04d}"


#: Built once: every order posted runs it.
_BUMP = (
    sa.update(OrderNumberCounter)
    .where(
        # Not the columns' own names: an UPDATE keeps those for the values it sets.
        OrderNumberCounter.community_id == sa.bindparam("counter_community"),
        OrderNumberCounter.day == sa.bindparam("counter_day"),
    )
    .values(last=OrderNumberCounter.last + 1)
    .returning(OrderNumberCounter.last)
)


def _content_verdict(rt: Runtime, actor: Actor, order: NewOrder) -> bool:
    """True when the text needs a secretary's review; ContentRejectedError when it is risky."""
    verdict = check_texts(rt, actor, {"title": order.title, "description": order.description})
    # WeChat not answering (None) flags the order too: residents must not be blocked because
    # WeChat is slow, and the secretary looks before others do.
    return verdict is not Verdict.PASS


def _resolve_resident(session: Session, actor: Actor, order: NewOrder, community: Area) -> tuple[User, int]:
    """The resident the order belongs to and who posted it (the actor)."""
    if order.on_behalf_of is None:
        if community.id not in actor.communities_as(Role.RESIDENT):
            raise ForbiddenError("只有本社区登记的居民可以下单，请先登记住址")
        user = session.get(User, actor.user_id)
        assert user is not None  # noqa: S101 - the actor was loaded from this row
        return user, actor.user_id
    if community.id not in actor.communities_as(Role.GRID_WORKER, Role.SECRETARY):
        raise ForbiddenError("只有网格员可以代居民下单")
    resident = session.get(User, order.on_behalf_of)
    is_resident = resident is not None and session.scalar(
        sa.select(RoleMembership.id).where(
            RoleMembership.user_id == resident.id,
            RoleMembership.role == Role.RESIDENT,
            RoleMembership.area_id == community.id,
        )
    )
    if resident is None or not is_resident:
        raise _field_error("on_behalf_of", "该居民不存在或不属于本社区")
    home_grid = session.scalar(
        sa.select(Household.grid_id).where(Household.user_id == resident.id, Household.community_id == community.id)
    )
    if not actor.covers(community.id, home_grid, Role.GRID_WORKER, Role.SECRETARY):
        # A grid worker orders for the residents of their own grid; others are not theirs to know.
        raise _field_error("on_behalf_of", "该居民不存在或不属于本社区")
    return resident, actor.user_id


def submit_order(rt: Runtime, actor: Actor, order: NewOrder, *, idempotency_key: str | None = None) -> OrderOut:
    """A resident of the community, or a grid worker for one (代下单): post an order.

    Content security runs first, outside the transaction. With an Idempotency-Key, a replay from
    the same user within the configured hours answers the first order and creates nothing.
    Raises InvalidInputError, ForbiddenError, ContentRejectedError, IdempotencyKeyReusedError.
    """
    keyed = None
    if idempotency_key:
        keyed = Keyed(
            actor.user_id, idempotency_key, request_hash(order.__dict__), rt.settings.orders.idempotency_hours
        )
        replay = replayed(rt.db, keyed, OrderOut)
        if replay is not None:
            return replay
    _place(order)  # a report's photo and place before asking WeChat about its words
    needs_review = _content_verdict(rt, actor, order)

    def work(session: Session) -> OrderOut:
        created = _create(session, rt.settings, actor, order, needs_review, numbering=_numbering(rt, session))
        shaped = present_orders(session, actor, [created], lanes=rt.settings.orders.lanes)[0]
        if created.kind is not OrderKind.REPORT:
            return shaped
        likely = find_likely(session, rt.settings.orders.reports, created, until=created.created_at)
        return shaped.model_copy(update={"likely_duplicates": likely})

    return answer_once(rt.db, keyed, OrderOut, work)


def needs_review(rt: Runtime, actor: Actor, order: NewOrder) -> bool:
    """The content check of :func:`submit_order`, for a caller that creates the order in its own
    transaction (:func:`create_in`): ask before that transaction opens. Raises
    ContentRejectedError for a risky text."""
    return _content_verdict(rt, actor, order)


def create_in(
    rt: Runtime, session: Session, actor: Actor, order: NewOrder, *, flagged: bool, note: str = ""
) -> OrderOut:
    """:func:`submit_order`'s order, created in the caller's transaction ``session`` (no
    Idempotency-Key): the same rules, number, event and notifications. ``flagged`` is what
    :func:`needs_review` answered; ``note`` goes on the submit event (where the order came from)."""
    created = _create(session, rt.settings, actor, order, flagged, numbering=_numbering(rt, session), note=note)
    return present_orders(session, actor, [created], lanes=rt.settings.orders.lanes)[0]


Numbering = Callable[[int, datetime], str]


def _numbering(rt: Runtime, session: Session) -> Numbering:
    """Where the order's number comes from.

    SQLite has one writer at a time anyway: the counter is bumped in the order's transaction.
    On PostgreSQL it is bumped in a short transaction of its own, committed at once, so that the
    writers of one community queue on its counter row for one statement instead of for the whole
    order's transaction (its event, the secretaries' messages, the answer). The price: an order
    whose transaction fails after its number was taken leaves a gap in the day's numbers, as a
    database sequence would.
    """
    if rt.db.is_sqlite:
        return lambda community_id, moment: next_order_number(session, community_id, moment)

    def own_transaction(community_id: int, moment: datetime) -> str:
        with rt.db.write() as counter:
            return next_order_number(counter, community_id, moment)

    return own_transaction


def _place(order: NewOrder) -> Coordinates | None:
    """A 随手拍 shows the problem and where it is: at least one photo, and coordinates or a
    building. Coordinates come with reports only. InvalidInputError naming the field."""
    given = order.latitude is not None or order.longitude is not None
    if order.kind is not OrderKind.REPORT:
        if given:
            raise _field_error("location", "只有随手拍可以附带位置")
        return None
    if not order.photos:
        raise _field_error("photos", "随手拍请至少附一张照片")
    if given:
        if order.latitude is None or order.longitude is None:
            raise _field_error("location", "位置需要同时包含纬度和经度")
        return coordinates(order.latitude, order.longitude)
    if not (order.building or "").strip():
        raise _field_error("location", "请提供问题所在位置：定位，或填写楼栋")
    return None


def _create(
    session: Session,
    settings: Settings,
    actor: Actor,
    order: NewOrder,
    needs_review: bool,
    *,
    numbering: Numbering,
    note: str = "",
) -> Order:
    place = _place(order)
    community = session.scalar(sa.select(Area).where(Area.code == order.community, Area.kind == AreaKind.COMMUNITY))
    if community is None:
        raise _field_error("community", "社区不存在")
    category = session.scalar(
        sa.select(ServiceCategory).where(
            ServiceCategory.community_id == community.id,
            ServiceCategory.code == order.category,
            ServiceCategory.active.is_(True),
        )
    )
    if category is None:
        raise _field_error("category", "该社区没有这个服务类别")
    resident, posted_by = _resolve_resident(session, actor, order, community)
    household = session.scalar(sa.select(Household).where(Household.user_id == resident.id))
    home = household if household is not None and household.community_id == community.id else None
    # A report (随手拍) is about where the problem is, never where the reporter lives. A service or
    # a wish is at the resident's home only when no address was given at all: a given one is taken
    # as it stands, since filling its gaps from the home makes an address nobody gave.
    if order.kind is OrderKind.REPORT or order.gives_address:
        home = None

    grid_id = home.grid_id if home else None
    if order.grid:
        grid = session.scalar(
            sa.select(Area).where(Area.code == order.grid, Area.kind == AreaKind.GRID, Area.parent_id == community.id)
        )
        if grid is None:
            raise _field_error("address.grid", "该网格不属于这个社区")
        if grid.retired:
            raise _field_error("address.grid", "该网格已停用")
        grid_id = grid.id
    if posted_by != resident.id and not actor.covers(community.id, grid_id, Role.GRID_WORKER, Role.SECRETARY):
        raise _field_error("address.grid", "不是您负责的网格")
    if order.preferred_start and order.preferred_end and order.preferred_end <= order.preferred_start:
        raise _field_error("preferred_end", "结束时间必须晚于开始时间")

    moment = now_utc()
    created = Order(
        number=numbering(community.id, moment),
        community_id=community.id,
        grid_id=grid_id,
        category_id=category.id,
        kind=order.kind,
        status=OrderStatus.SUBMITTED,
        title=order.title,
        description=order.description,
        resident_id=resident.id,
        created_by_id=posted_by,
        contact_phone=order.contact_phone or resident.phone,
        building=home.building if home else (order.building or ""),
        unit=home.unit if home else (order.unit or ""),
        room=home.room if home else (order.room or ""),
        preferred_start=order.preferred_start,
        preferred_end=order.preferred_end,
        needs_review=needs_review,
        latitude=place.latitude if place else None,
        longitude=place.longitude if place else None,
        created_at=moment,
        updated_at=moment,
    )
    session.add(created)
    session.flush()
    if order.photos:
        attach_uploads(session, actor.user_id, list(order.photos), created.id, "request")
    note = "；".join(part for part in (texts.ON_BEHALF_NOTE if posted_by != resident.id else "", note) if part)
    event = OrderEvent(
        order_id=created.id,
        actor_id=actor.user_id,
        action=Action.SUBMIT,
        from_status=None,
        to_status=OrderStatus.SUBMITTED,
        note=note,
        channel="api",
        created_at=moment,
    )
    session.add(event)
    session.flush()
    notify_order_event(session, settings.notify, created, event)
    return created


def submit_in(session: Session, settings: Settings, actor: Actor, order: NewOrder) -> Order:
    """Helper for another domain's use case (flushes only): post ``order`` as ``actor`` inside the
    caller's transaction, with the same checks, event and messages as ``submit_order``, numbered
    in that transaction. No content check (the caller checked the texts when they were written)
    and no Idempotency-Key (the caller makes it once by its own unique key)."""
    return _create(
        session,
        settings,
        actor,
        order,
        False,
        numbering=lambda community_id, moment: next_order_number(session, community_id, moment),
    )


def describe_new_order(data: dict[str, Any]) -> NewOrder:
    """Build a NewOrder from the API's validated body (kept here so the bot can share it)."""
    address = data.get("address") or {}
    location = data.get("location") or {}
    return NewOrder(
        community=data["community"],
        category=data["category"],
        kind=OrderKind(data["kind"]),
        title=data["title"],
        description=data.get("description", ""),
        grid=address.get("grid"),
        building=address.get("building"),
        unit=address.get("unit"),
        room=address.get("room"),
        contact_phone=data.get("contact_phone"),
        preferred_start=data.get("preferred_start"),
        preferred_end=data.get("preferred_end"),
        photos=tuple(data.get("photos") or ()),
        on_behalf_of=data.get("on_behalf_of"),
        latitude=location.get("latitude"),
        longitude=location.get("longitude"),
    )
