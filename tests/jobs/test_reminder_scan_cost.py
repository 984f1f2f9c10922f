"""The reminder job's cost follows the due rows, not the open ones: over many open orders of which
none is due it runs one query per window, finds nothing, loads nothing and writes nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.core.clock import now_utc
from app.orders.reminder_scan import run_reminders
from app.orders.reminders import WINDOWS
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from tests.factories import make_order, make_people, make_world


def test_nothing_due_means_one_select_per_window_and_no_write(rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world)
    for status in (OrderStatus.SUBMITTED, OrderStatus.ASSIGNED, OrderStatus.POOLED, OrderStatus.ACCEPTED):
        for _ in range(5):
            make_order(rt, people, world, status=status)
    for _ in range(3):
        make_order(rt, people, world, status=OrderStatus.COMPLETED)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    sa.event.listen(rt.db.engine, "before_cursor_execute", record)
    try:
        report = run_reminders(rt, now_utc())
    finally:
        sa.event.remove(rt.db.engine, "before_cursor_execute", record)

    assert sum(report.queued.values()) == 0
    assert report.moved == {}
    assert [s for s in statements if s not in {"BEGIN", "ROLLBACK", "COMMIT"}] == ["SELECT"] * len(WINDOWS)
