"""Who hears about each step of an order, and through which channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, ServiceCategory
from app.core.config import LanesSection, NotifySection
from app.identity.models import User
from app.identity.roles import Role
from app.identity.staff import community_staff
from app.notify.chains import Addressee
from app.notify.outbox import notify_each
from app.orders import texts
from app.orders.lanes import lane_of
from app.orders.models import Order, OrderEvent
from app.orders.texts import OrderFacts, render
from app.orders.workflow import LEVEL_LABELS, Action, Lane, OrderKind
from app.property.models import PropertyCompanyStaff
from app.volunteers.models import TeamMember


def message_facts(session: Session, order: Order, at: datetime, *, person: str = "", text: str = "") -> OrderFacts:
    """What a message about ``order`` may say, as plain values (``app.orders.texts`` words it)."""
    community = session.get(Area, order.community_id)
    category = session.get(ServiceCategory, order.category_id)
    return OrderFacts(
        order_id=order.id,
        number=order.number,
        title=order.title,
        category=category.name if category else "",
        community=community.name if community else "",
        at=at,
        person=person,
        text=text,
    )


def people(session: Session, *ids: int | None) -> list[User]:
    """The users with these ids (None skipped), in id order."""
    wanted = [user_id for user_id in ids if user_id is not None]
    return list(session.scalars(sa.select(User).where(User.id.in_(wanted)).order_by(User.id))) if wanted else []


@dataclass(frozen=True, slots=True)
class Holding:
    """Who an order is with: a person, or a team or property company whose people may accept it."""

    assignee_id: int | None = None
    team_id: int | None = None
    property_company_id: int | None = None

    @classmethod
    def of(cls, order: Order) -> Holding:
        return cls(order.assignee_id, order.team_id, order.property_company_id)


def holders(session: Session, holding: Holding) -> list[User]:
    """The people ``holding`` names: the assignee, or every member of the team or company."""
    if holding.assignee_id is not None:
        return people(session, holding.assignee_id)
    if holding.team_id is not None:
        ids = list(session.scalars(sa.select(TeamMember.user_id).where(TeamMember.team_id == holding.team_id)))
        return people(session, *ids)
    if holding.property_company_id is not None:
        ids = list(
            session.scalars(
                sa.select(PropertyCompanyStaff.user_id).where(
                    PropertyCompanyStaff.company_id == holding.property_company_id
                )
            )
        )
        return people(session, *ids)
    return []


def dispatch_targets(session: Session, order: Order) -> list[User]:
    """Who the order is dispatched to now: its assignee, or every member of its team or company."""
    return holders(session, Holding.of(order))


def street_admins(session: Session, order: Order) -> list[User]:
    """The street admins above the order's community."""
    community = session.get(Area, order.community_id)
    if community is None or community.parent_id is None:
        return []
    return community_staff(session, community.parent_id, Role.STREET_ADMIN)


def grid_workers(session: Session, order: Order) -> list[User]:
    """The grid workers who look after the order's grid: those whose role is held on that grid,
    else (no grid, or nobody on it) those of the whole community, who cover every grid."""
    if order.grid_id is not None:
        # The same lookup as for a community: users holding the role on that area itself.
        on_grid = community_staff(session, order.grid_id, Role.GRID_WORKER)
        if on_grid:
            return on_grid
    return community_staff(session, order.community_id, Role.GRID_WORKER)


@dataclass(frozen=True)
class _Ctx:
    session: Session
    order: Order
    event: OrderEvent
    actor_name: str
    #: Who held the order before this step (an action that clears the holder still tells them).
    previous: Holding
    lanes: LanesSection

    @property
    def resident(self) -> list[User]:
        return people(self.session, self.order.resident_id)

    @property
    def secretaries(self) -> list[User]:
        return community_staff(self.session, self.order.community_id, Role.SECRETARY)

    @property
    def holder(self) -> list[User]:
        return people(self.session, self.order.assignee_id)

    @property
    def previous_holders(self) -> list[User]:
        return holders(self.session, self.previous)


#: recipients, template key, whom it is for (the channels follow from it), reminder text
Step = tuple[list[User], str, Addressee, str]


def _urge(c: _Ctx) -> list[Step]:
    if c.order.assignee_id:
        return [(c.holder, "reminder", Addressee.MEMBER, texts.URGED_HOLDER)]
    return [(c.secretaries, "reminder", Addressee.STAFF, texts.URGED_SECRETARIES)]


def _reassign(c: _Ctx) -> list[Step]:
    steps: list[Step] = [
        (c.previous_holders, "reminder", Addressee.MEMBER, texts.reassigned_away(c.event.note)),
        (c.resident, "reminder", Addressee.MEMBER, texts.REASSIGNED_TO_RESIDENT),
    ]
    new = dispatch_targets(c.session, c.order)
    if new:
        steps.append((new, "order_dispatched", Addressee.MEMBER, ""))
    return steps


def _triage(c: _Ctx) -> list[Step]:
    """三事分流: the people of the level's lane hear of it; nothing is dispatched. Whoever triaged
    is not told of their own step."""
    level = c.order.level
    if level is None:
        return []
    lane = lane_of(level, c.lanes)
    told: list[User] = []
    if lane is Lane.ESCALATE:
        told = street_admins(c.session, c.order)
        secretaries = c.secretaries
        if all(user.id != c.event.actor_id for user in secretaries):
            # A grid worker triaged it, and only a secretary may escalate: they must hear too.
            told += secretaries
    elif lane is Lane.GRID_WORKER:
        told = grid_workers(c.session, c.order)
    recipients = [user for user in told if user.id != c.event.actor_id]
    if not recipients:
        return []
    return [(recipients, "reminder", Addressee.STAFF, texts.triaged(LEVEL_LABELS[level], lane))]


_PLANS: dict[Action, Callable[[_Ctx], list[Step]]] = {
    Action.TRIAGE: _triage,
    Action.SUBMIT: lambda c: [(c.secretaries, "order_submitted", Addressee.STAFF, "")],
    Action.DISPATCH: lambda c: [(dispatch_targets(c.session, c.order), "order_dispatched", Addressee.MEMBER, "")],
    Action.CLAIM: lambda c: [(c.resident, "order_claimed", Addressee.MEMBER, "")],
    Action.ACCEPT: lambda c: [(c.resident, "order_claimed", Addressee.MEMBER, "")],
    Action.START: lambda c: [(c.resident, "order_started", Addressee.MEMBER, "")],
    Action.COMPLETE: lambda c: [(c.resident, "order_completed", Addressee.MEMBER, "")],
    Action.RESOLVE: lambda c: [(c.resident, "order_completed", Addressee.MEMBER, "")],
    Action.ESCALATE: lambda c: [
        (
            street_admins(c.session, c.order),
            "order_escalated",
            Addressee.STAFF,
            # The event's note already names the department once (texts.escalation_note).
            c.event.note,
        )
    ],
    Action.DECLINE: lambda c: [
        (c.secretaries, "reminder", Addressee.STAFF, texts.declined(c.actor_name, c.event.note))
    ],
    Action.DISPUTE: lambda c: [
        (c.holder, "reminder", Addressee.MEMBER, texts.disputed_to_holder(c.event.note)),
        (c.secretaries, "reminder", Addressee.STAFF, texts.disputed_to_secretaries(c.event.note)),
    ],
    Action.URGE: _urge,
    Action.CANCEL: lambda c: [(c.previous_holders, "reminder", Addressee.MEMBER, texts.CANCELLED)],
    Action.REASSIGN: _reassign,
    Action.RELEASE: lambda c: [
        (c.secretaries, "reminder", Addressee.STAFF, texts.released(c.actor_name, c.event.note)),
        (c.resident, "reminder", Addressee.MEMBER, texts.RELEASED_TO_RESIDENT),
    ],
    Action.EXPIRE: lambda c: [(c.secretaries, "reminder", Addressee.STAFF, texts.EXPIRED)],
    Action.REJECT: lambda c: [(c.resident, "reminder", Addressee.MEMBER, texts.rejected(c.event.note))],
    Action.MERGE: lambda c: [
        (c.resident, "reminder", Addressee.MEMBER, texts.merged_to_reporter(_original_number(c))),
        (c.previous_holders, "reminder", Addressee.MEMBER, texts.MERGED_TO_HOLDER),
    ],
}

#: The moves after which the reporters of the reports merged into an order hear it was dealt with.
_DONE: Final = frozenset({Action.COMPLETE, Action.RESOLVE, Action.RATE, Action.CLOSE_UNRATED})


def _original_number(c: _Ctx) -> str:
    original = c.session.get(Order, c.order.duplicate_of_id) if c.order.duplicate_of_id else None
    return original.number if original else ""


def _tell_merged_reporters(session: Session, cfg: NotifySection, order: Order, event: OrderEvent) -> None:
    """The original of merged 随手拍 was completed or closed: each of their reporters hears it once,
    whichever of those moves comes first (the dedupe key is the original's, not the event's), and
    once however many of their reports were merged into it. The message is about their own report
    (the one they may open); the original's own resident hears as usual."""
    if order.kind is not OrderKind.REPORT:
        return
    duplicates = session.scalars(
        sa.select(Order)
        .where(Order.duplicate_of_id == order.id, Order.resident_id != order.resident_id)
        .order_by(Order.id)
    ).all()
    first: dict[int, Order] = {}
    for duplicate in duplicates:
        first.setdefault(duplicate.resident_id, duplicate)
    reporters = {user.id: user for user in people(session, *first)}
    for resident_id, duplicate in first.items():
        reporter = reporters.get(resident_id)
        if reporter is None:
            continue
        facts = message_facts(session, duplicate, event.created_at, text=texts.original_done(order.number))
        notify_each(
            session,
            cfg,
            [reporter],
            template_key="reminder",
            rendered=render("reminder", facts),
            dedupe_key=f"order:{order.id}:duplicates-done",
            addressee=Addressee.MEMBER,
            order_id=duplicate.id,
            now=event.created_at,
        )


def notify_order_event(
    session: Session,
    cfg: NotifySection,
    order: Order,
    event: OrderEvent,
    *,
    previous: Holding | None = None,
    lanes: LanesSection | None = None,
) -> None:
    """Queue the messages one applied transition calls for (in the transaction that applied it).
    ``previous``: who held the order before the transition (default: who holds it now);
    ``lanes``: the deployment's ``[orders.lanes]`` (who hears of a triage; default: the defaults)."""
    plan = _PLANS.get(event.action)
    if plan is None:
        # publish, rate: nobody needs a push (but a rated report's merged duplicates' reporters).
        if event.action in _DONE:
            _tell_merged_reporters(session, cfg, order, event)
        return
    actor = session.get(User, event.actor_id) if event.actor_id else None
    name = (actor.nickname if actor else "") or texts.SOMEONE
    ctx = _Ctx(
        session, order, event, name, previous if previous is not None else Holding.of(order), lanes or LanesSection()
    )
    if event.action in _DONE:
        _tell_merged_reporters(session, cfg, order, event)
    for recipients, template_key, addressee, text in plan(ctx):
        facts = message_facts(session, order, event.created_at, person=ctx.actor_name, text=text)
        notify_each(
            session,
            cfg,
            recipients,
            template_key=template_key,
            rendered=render(template_key, facts),
            dedupe_key=f"order:{order.id}:event:{event.id}:{template_key}",
            addressee=addressee,
            order_id=order.id,
            now=event.created_at,
        )
