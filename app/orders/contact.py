"""联系方式: staff ask for a resident's full phone and address when they must call or visit,
and each time they do is written to the audit trail (PIPL: minimum necessary, accountable)."""

from __future__ import annotations

from app.areas.models import Area
from app.audit.models import AuditKind
from app.audit.record import record
from app.core.errors import ForbiddenError
from app.identity.actor import Actor
from app.orders.access import holds_actively, load_visible_order
from app.orders.models import Order
from app.orders.shapes import AddressOut, ContactOut, NamedCode
from app.orders.workflow import Party
from app.runtime import Runtime

#: The capacity a reveal is recorded in, most specific first (a secretary who is also a grid
#: worker is recorded as the secretary).
_STAFF_ORDER = (Party.SECRETARY, Party.GRID_WORKER, Party.STREET_ADMIN)


def reveal_contact(rt: Runtime, actor: Actor, order_id: int) -> ContactOut:
    """The order's contact phone and address in full, for community staff (a grid worker: of the
    order's grid) and the assignee who holds it. Writes one audit row per call, in the same
    transaction; the owner's own details are theirs and write none.

    Raises NotFoundError when the actor may not see the order at all, ForbiddenError when they
    see it but not its contact details (a volunteer browsing the pool, an assignee not yet accepted
    or done, the poster of an order for someone else who is not staff)."""
    with rt.db.write() as session:
        order, parties = load_visible_order(session, actor, order_id)
        capacity = _capacity(actor, order, parties)
        if capacity is None and Party.OWNER not in parties:
            raise ForbiddenError("只有社区工作人员或正在服务的志愿者可以查看居民的联系方式")
        if capacity is not None:
            record(
                session,
                AuditKind.CONTACT_REVEALED,
                area_id=order.community_id,
                actor_id=actor.user_id,
                subject_id=order.resident_id,
                order_id=order.id,
                detail=capacity.value,
            )
        grid = session.get(Area, order.grid_id) if order.grid_id is not None else None
        return ContactOut(
            phone=order.contact_phone,
            address=AddressOut(
                grid=NamedCode(code=grid.code, name=grid.name) if grid else None,
                building=order.building,
                unit=order.unit,
                room=order.room,
            ),
        )


def _capacity(actor: Actor, order: Order, parties: frozenset[Party]) -> Party | None:
    """Staff, or the assignee at work; None for anyone else (the owner included)."""
    if holds_actively(actor, order):
        return Party.ASSIGNEE
    return next((party for party in _STAFF_ORDER if party in parties), None)
