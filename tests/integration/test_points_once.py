"""At most once per order, volunteer and settlement, by the database: retried and raced ratings and
reopenings never pay (or take back) twice, also when the order's own guard is not in the way.
Run on PostgreSQL too (LINLI_TEST_DATABASE_URL), where the racing transactions really overlap."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.core.errors import AlreadySettledError, InvalidTransitionError, LinliError
from app.orders.actions import ActionInput, act
from app.orders.workflow import Action, OrderStatus
from app.runtime import Runtime
from app.timebank import settle
from app.timebank.ledger import PointsEntry, balance_of
from app.timebank.rules import Earning
from tests.factories import People, World, make_order, make_people, make_world

T = TypeVar("T")


def _entries(rt: Runtime, user_id: int) -> list[tuple[str | None, int, int | None]]:
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(PointsEntry.kind, PointsEntry.delta, PointsEntry.settlement)
            .where(PointsEntry.user_id == user_id)
            .order_by(PointsEntry.id)
        ).all()
    return [(kind, delta, settlement) for kind, delta, settlement in rows]


def _race(calls: list[Callable[[], T]]) -> list[T | LinliError]:
    """Run ``calls`` at once, each in its own thread from one barrier; their results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list[T | LinliError] = [LinliError()] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except LinliError as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def cast(rt: Runtime) -> People:
    return make_people(rt, make_world(rt))


def test_the_database_itself_refuses_a_second_earning_of_one_settlement(rt: Runtime, cast: People) -> None:
    order_id = make_order(rt, cast, World(), status=OrderStatus.COMPLETED)
    user_id = cast.volunteer.id

    def insert(kind: str, settlement: int | None, order: int | None = order_id) -> None:
        with rt.db.write() as session:
            session.add(
                PointsEntry(user_id=user_id, delta=1, reason="test", order_id=order, kind=kind, settlement=settlement)
            )

    insert("earned", 1)
    for kind in ("earned", "held"):  # paid or held: one earning per settlement
        with pytest.raises(IntegrityError):
            insert(kind, 1)
    insert("earned", 2)  # the next settlement earns again
    insert("released", 2)
    with pytest.raises(IntegrityError):
        insert("forfeited", 2)
    insert("reversed", 1)
    with pytest.raises(IntegrityError):
        insert("reversed", 1)
    # Entries of no order (adjustments, the redemptions another branch writes) are never limited.
    with rt.db.write() as session:
        for reason in ("redeemed", "redemption_refunded", "redeemed"):
            session.add(PointsEntry(user_id=user_id, delta=-1, reason=reason, order_id=None))
    assert len(_entries(rt, user_id)) == 7


def test_a_second_earning_is_a_409_that_rolls_the_whole_transaction_back(rt: Runtime, cast: People) -> None:
    order_id = make_order(rt, cast, World(), status=OrderStatus.CLOSED, score=4)
    assert _entries(rt, cast.volunteer.id) == [("earned", 5, 1)]

    def earn_again() -> None:
        with rt.db.write() as session:
            session.add(PointsEntry(user_id=cast.volunteer.id, delta=100, reason="adjusted by a test", kind="adjusted"))
            settle.earn(session, cast.volunteer.id, order_id, 1, Earning(paid=5, held=0, minutes=60))

    with pytest.raises(AlreadySettledError):
        earn_again()
    assert _entries(rt, cast.volunteer.id) == [("earned", 5, 1)]


def test_two_ratings_at_once_pay_once(rt: Runtime, cast: People) -> None:
    order_id = make_order(rt, cast, World(), status=OrderStatus.COMPLETED)
    owner = cast.resident.actor(rt)
    results = _race([lambda: act(rt, owner, order_id, Action.RATE, ActionInput(score=5)) for _ in range(4)])
    assert sum(not isinstance(result, LinliError) for result in results) == 1, results
    assert all(
        isinstance(r, InvalidTransitionError | AlreadySettledError) for r in results if isinstance(r, LinliError)
    )
    assert _entries(rt, cast.volunteer.id) == [("earned", 7, 1)]


def test_earnings_racing_past_the_order_guard_pay_once(rt: Runtime, cast: People) -> None:
    """What the unique index alone guarantees: writers that never touch the order race to insert."""
    order_id = make_order(rt, cast, World(), status=OrderStatus.COMPLETED)

    def earn() -> int:
        with rt.db.write() as session:
            entry = settle.earn(session, cast.volunteer.id, order_id, 1, Earning(paid=5, held=0, minutes=60))
            assert entry is not None
            return entry.id

    results = _race([earn for _ in range(4)])
    assert sum(isinstance(result, int) for result in results) == 1, results
    assert sum(isinstance(result, AlreadySettledError) for result in results) == 3, results
    assert _entries(rt, cast.volunteer.id) == [("earned", 5, 1)]


def test_two_disputes_after_closing_at_once_reverse_once(rt: Runtime, cast: People) -> None:
    order_id = make_order(rt, cast, World(), status=OrderStatus.CLOSED, score=5)
    owner = cast.resident.actor(rt)
    results = _race([lambda: act(rt, owner, order_id, Action.DISPUTE, ActionInput(reason="又坏了")) for _ in range(3)])
    assert sum(not isinstance(result, LinliError) for result in results) == 1, results
    assert _entries(rt, cast.volunteer.id) == [("earned", 7, 1), ("reversed", -7, 1)]
    with rt.db.read() as session:
        assert balance_of(session, cast.volunteer.id) == 0
