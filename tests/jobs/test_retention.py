"""The retention job (privacy_retention): finished orders past ``privacy.retention_days`` lose their
photos, contact phone and room, and nothing else does; a second run finds nothing; a run costs
what is due, not what the database holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.core.clock import now_utc
from app.core.idempotency import IdempotencyKey
from app.orders.anonymise import apply_retention
from app.orders.models import Order
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from app.uploads.models import Attachment
from app.uploads.store import file_path
from jobs import privacy_retention
from jobs.registry import job_specs
from tests.api.test_statement_counts import counting
from tests.factories import People, World, make_order, make_people, make_photo, make_world, photo_bytes

DAY = timedelta(days=1)


def _backdate(rt: Runtime, order_ids: Sequence[int], days: float) -> None:
    """Make the orders look finished ``days`` ago (closed_at for closed ones, updated_at for all)."""
    moment = now_utc() - timedelta(days=days)
    with rt.db.write() as session:
        session.execute(
            sa.update(Order)
            .where(Order.id.in_(order_ids))
            .values(
                updated_at=moment,
                closed_at=sa.case((Order.closed_at.is_not(None), moment), else_=None),
                # Open orders keep their own moments; only the age matters here.
            )
        )


def _row(rt: Runtime, order_id: int) -> Any:
    with rt.db.read() as session:
        return session.execute(
            sa.select(
                Order.status, Order.contact_phone, Order.room, Order.building, Order.anonymised_at, Order.updated_at
            ).where(Order.id == order_id)
        ).one()


def _photos_of(rt: Runtime, order_id: int) -> list[Any]:
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(Attachment.sha256, Attachment.content_type).where(Attachment.order_id == order_id)
        ).all()
    return [file_path(rt.settings.var_path, sha256, content_type) for sha256, content_type in rows]


class Town:
    def __init__(self, rt: Runtime) -> None:
        self.world: World = make_world(rt)
        self.people: People = make_people(rt, self.world)
        self.days = rt.settings.privacy.retention_days

    def order(self, rt: Runtime, status: OrderStatus, *, photos: int = 0, shared: bytes | None = None) -> int:
        ids = [make_photo(rt, self.people.resident) for _ in range(photos)]
        if shared is not None:
            ids.append(make_photo(rt, self.people.resident, shared))
        return make_order(rt, self.people, self.world, status=status, photos=tuple(ids))


def test_only_finished_orders_past_the_period_are_anonymised(rt: Runtime) -> None:
    town = Town(rt)
    shared = photo_bytes()
    due = {
        status: town.order(rt, status, photos=2)
        for status in (OrderStatus.CLOSED, OrderStatus.CANCELLED, OrderStatus.REJECTED)
    }
    recent = town.order(rt, OrderStatus.CLOSED, photos=1, shared=shared)
    old_but_open = town.order(rt, OrderStatus.COMPLETED, photos=1)  # not finished: it may still be disputed
    old_shared = town.order(rt, OrderStatus.CANCELLED, shared=shared)
    _backdate(rt, [*due.values(), old_but_open, old_shared], town.days + 1)
    _backdate(rt, [recent], town.days - 1)
    files = {order_id: _photos_of(rt, order_id) for order_id in [*due.values(), recent, old_but_open, old_shared]}
    before = {order_id: _row(rt, order_id) for order_id in files}

    report = apply_retention(rt, now_utc())

    assert (report.orders, report.photos) == (4, 7)
    assert report.files == 6  # the shared photo's file stays: the recent order still shows it
    for order_id in [*due.values(), old_shared]:
        row = _row(rt, order_id)
        assert (row.contact_phone, row.room, row.building) == (None, "", "3")
        assert row.anonymised_at is not None
        assert row.status is before[order_id].status
        assert row.updated_at == before[order_id].updated_at  # no step of the workflow
        assert _photos_of(rt, order_id) == []
        assert not any(path.exists() for path in files[order_id] if path is not None and path not in files[recent])
    for order_id in (recent, old_but_open):
        assert _row(rt, order_id) == before[order_id]
        assert all(path is not None and path.exists() for path in files[order_id])


def test_a_second_run_finds_nothing(rt: Runtime) -> None:
    town = Town(rt)
    order_id = town.order(rt, OrderStatus.CLOSED, photos=1)
    _backdate(rt, [order_id], town.days + 1)
    assert privacy_retention.run(rt, now_utc()) == "orders=1 photos=1 files=1 idempotency_keys=0"
    anonymised = _row(rt, order_id)
    assert privacy_retention.run(rt, now_utc() + DAY) == "orders=0 photos=0 files=0 idempotency_keys=0"
    assert _row(rt, order_id) == anonymised


def test_batches_take_every_due_order(rt: Runtime) -> None:
    town = Town(rt)
    orders = [town.order(rt, OrderStatus.CANCELLED) for _ in range(3)]
    orders += [town.order(rt, OrderStatus.CLOSED) for _ in range(2)]
    _backdate(rt, orders, town.days + 1)
    assert apply_retention(rt, now_utc(), batch=2).orders == 5
    assert all(_row(rt, order_id).anonymised_at is not None for order_id in orders)


def _statements(rt: Runtime, now: datetime) -> list[str]:
    with counting(rt) as statements:
        apply_retention(rt, now)
    return statements


def test_a_run_costs_the_due_rows_not_the_database(rt: Runtime) -> None:
    town = Town(rt)
    finished = (OrderStatus.CLOSED, OrderStatus.CANCELLED, OrderStatus.REJECTED)
    # Orders the job must not read: open, recent, or anonymised by an earlier run.
    background = [town.order(rt, status) for status in (*finished, OrderStatus.SUBMITTED)]
    old = [town.order(rt, status) for status in finished]
    _backdate(rt, old, town.days + 1)
    apply_retention(rt, now_utc())
    idle = _statements(rt, now_utc())

    for status in (*finished, OrderStatus.ACCEPTED) * 3:
        background.append(town.order(rt, status))
    more_old = [town.order(rt, status) for status in finished * 2]
    _backdate(rt, more_old, town.days + 1)
    apply_retention(rt, now_utc())
    assert _statements(rt, now_utc()) == idle  # three times the orders, not one statement more

    # With orders due, a run costs the same for two of them as for six (one batch).
    two = [town.order(rt, OrderStatus.CLOSED, photos=1), town.order(rt, OrderStatus.REJECTED, photos=1)]
    _backdate(rt, two, town.days + 1)
    few = _statements(rt, now_utc())
    six = [town.order(rt, status, photos=1) for status in finished * 2]
    _backdate(rt, six, town.days + 1)
    assert len(_statements(rt, now_utc())) == len(few)


def test_the_due_queries_read_the_partial_indexes(rt: Runtime) -> None:
    """The statements the job runs, explained as SQLite plans them (with their real parameters)."""
    if not rt.db.is_sqlite:
        pytest.skip("the plan's wording is SQLite's")
    town = Town(rt)
    order_id = town.order(rt, OrderStatus.CLOSED)
    _backdate(rt, [order_id], town.days + 1)
    plans: list[str] = []

    def explain(_conn: Any, cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if statement.startswith("SELECT") and "anonymised_at IS NULL" in statement:
            rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            plans.append(" ".join(str(row[-1]) for row in rows))

    sa.event.listen(rt.db.engine, "before_cursor_execute", explain)
    try:
        apply_retention(rt, now_utc())
    finally:
        sa.event.remove(rt.db.engine, "before_cursor_execute", explain)
    assert len(plans) == 2, plans  # one batch, short of full: closed orders, then cancelled or rejected
    assert "USING INDEX ix_orders_retention_closed_at" in plans[0], plans
    assert "USING INDEX ix_orders_retention_ended_at" in plans[1], plans


def test_expired_idempotency_keys_go_and_live_ones_stay(rt: Runtime) -> None:
    town = Town(rt)
    actor = town.people.resident.actor(rt)
    hours = rt.settings.orders.idempotency_hours
    with rt.db.write() as session:
        for key, age in (("old", hours + 1), ("live", hours - 1)):
            session.add(
                IdempotencyKey(
                    user_id=actor.user_id,
                    key=key,
                    request_hash="0" * 64,
                    response={"order": {"contact_phone": "13812345678"}},
                    created_at=now_utc() - timedelta(hours=age),
                )
            )
    assert apply_retention(rt, now_utc()).idempotency_keys == 1
    with rt.db.read() as session:
        assert list(session.scalars(sa.select(IdempotencyKey.key))) == ["live"]


def test_the_job_runs_daily_at_a_quiet_hour(rt: Runtime) -> None:
    specs = {spec.id: spec for spec in job_specs(rt.settings)}
    assert specs["privacy_retention"].daily_at == (3, 30)
    assert specs["privacy_retention"].exclusive
    assert specs["prune_revocations"].every_seconds == 3600
