"""Applying a transition when the order changed after it was read (``app.orders.steps``).

The races are staged in one session: the order is read, then the row is changed behind the
session's back (as another transaction would), then the step runs on what was read.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from app.core.errors import AlreadyClaimedError, InvalidTransitionError
from app.orders import handlers
from app.orders.models import Order, OrderEvent
from app.orders.steps import Step
from app.orders.workflow import Action, OrderStatus
from app.runtime import Runtime
from tests.factories import make_order, make_people, make_world


def _events(rt: Runtime, order_id: int) -> list[Action]:
    with rt.db.read() as session:
        return list(
            session.scalars(sa.select(OrderEvent.action).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))
        )


def test_a_claim_wins_on_a_pooled_order_whose_version_moved_on(rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world)
    order_id = make_order(rt, people, world, status=OrderStatus.POOLED)
    with rt.db.write() as session:
        order = session.get(Order, order_id)
        assert order is not None
        # Read before the resident urged it: an urge keeps it pooled but bumps the version.
        set_committed_value(order, "version", order.version - 1)
        handlers.claim(Step(session, order, people.volunteer.id, "api"))
    with rt.db.read() as session:
        claimed = session.get(Order, order_id)
        assert claimed is not None
        assert (claimed.status, claimed.assignee_id) == (OrderStatus.ACCEPTED, people.volunteer.id)
    assert _events(rt, order_id)[-1] is Action.CLAIM


def test_a_claim_on_an_order_someone_took_meanwhile_is_already_claimed(rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world)
    order_id = make_order(rt, people, world, status=OrderStatus.POOLED)
    with rt.db.write() as session:
        order = session.get(Order, order_id)
        assert order is not None
        session.execute(
            sa.update(Order)
            .where(Order.id == order_id)
            .values(status=OrderStatus.ACCEPTED, assignee_id=people.other_volunteer.id)
            .execution_options(synchronize_session=False)
        )
        with pytest.raises(AlreadyClaimedError):
            handlers.claim(Step(session, order, people.volunteer.id, "api"))
        session.rollback()  # what the unit of work does when the error leaves it
    with rt.db.read() as session:
        kept = session.get(Order, order_id)
        assert kept is not None
        assert (kept.status, kept.assignee_id) == (OrderStatus.POOLED, None)
    assert Action.CLAIM not in _events(rt, order_id)


def test_a_second_claim_by_the_winner_says_the_order_is_theirs(rt: Runtime) -> None:
    """A double tap: both claims read the pooled order, the first took it; the second learns it is
    its own, with the same code a lost race has."""
    world = make_world(rt)
    people = make_people(rt, world)
    order_id = make_order(rt, people, world, status=OrderStatus.POOLED)
    with rt.db.write() as session:
        order = session.get(Order, order_id)
        assert order is not None
        session.execute(
            sa.update(Order)
            .where(Order.id == order_id)
            .values(status=OrderStatus.ACCEPTED, assignee_id=people.volunteer.id)
            .execution_options(synchronize_session=False)
        )
        with pytest.raises(AlreadyClaimedError) as raised:
            handlers.claim(Step(session, order, people.volunteer.id, "api"))
        session.rollback()
    assert (raised.value.code, raised.value.details) == ("already_claimed", {"yours": True})
    assert raised.value.message == "该工单已由您接下，无需重复接单"


def test_any_other_action_on_a_stale_read_changes_nothing(rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world)
    order_id = make_order(rt, people, world, status=OrderStatus.ACCEPTED)
    with rt.db.write() as session:
        order = session.get(Order, order_id)
        assert order is not None
        set_committed_value(order, "version", order.version - 1)
        with pytest.raises(InvalidTransitionError, match="刚被其他人处理过"):
            handlers.start(Step(session, order, people.volunteer.id, "api"))
        session.rollback()
    with rt.db.read() as session:
        kept = session.get(Order, order_id)
        assert kept is not None
        assert kept.status is OrderStatus.ACCEPTED
    assert Action.START not in _events(rt, order_id)
