"""One firing of the reminder job (``sla_reminders``) on a seeded city, timed, beside a baseline.

What it measures, on a copy of a database ``bench/seed.py`` made (``CREATE DATABASE … TEMPLATE``:
the city itself is left as it was; the copy is dropped at the end):

* **first firing**: ``app.orders.reminder_scan.run_reminders`` at the seed's now. The city holds
  open orders in every status, each as young as its status lasts, so some are due: the firing
  queues their reminders and makes their moves (one transaction per due order);
* **nothing due**: the same use case again at the same moment, ``--runs`` times: every reminder
  was queued by the first firing and recorded in ``order_reminders``, so nothing is written. The
  goal is a firing under 2 s when nothing is due, whatever the number of orders;
* **baseline**: what the firing read before the reminder windows were indexed: the ids of every
  order in a status some rule watches (one SELECT over ``status``), the rows a firing had to
  look at one by one, measured in the same run. Its ratio to "nothing due" is the figure to keep.

Statements per firing are counted on the engine. The WeChat side is not involved: reminders are
queued in the outbox, which the delivery job sends.

Usage::

    .venv/bin/python bench/reminders.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test_linli_city_1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from bench_common import bench_settings
from sqlalchemy.engine import make_url

from app.core.clock import now_utc
from app.core.migrate import upgrade
from app.orders.models import Order, OrderReminder
from app.orders.reminder_scan import run_reminders
from app.orders.reminders import WINDOWS
from app.orders.workflow import OrderStatus
from app.runtime import Runtime, build_runtime

#: The issue's goal for a firing with nothing due.
GOAL_SECONDS = 2.0


def _copy(url: str) -> tuple[str, sa.Engine, str]:
    base = make_url(url)
    name = f"{base.database}_reminders_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    started = time.perf_counter()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"'))
    print(f"copied {base.database} → {name} in {time.perf_counter() - started:.1f} s", flush=True)
    return base.set(database=name).render_as_string(hide_password=False), admin, name


def _counting(engine: sa.Engine) -> list[int]:
    seen = [0]

    def count(*_args: Any) -> None:
        seen[0] += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    return seen


def _first_firing(rt: Runtime, statements: list[int], now: datetime) -> None:
    statements[0] = 0
    started = time.perf_counter()
    report = run_reminders(rt, now)
    took = time.perf_counter() - started
    with rt.db.read() as session:
        recorded = session.scalar(sa.select(sa.func.count()).select_from(OrderReminder)) or 0
    print(
        f"first firing: {took * 1000:,.0f} ms, {statements[0]:,} statements; queued "
        f"{sum(report.queued.values())} ({dict(report.queued)}), moved {sum(report.moved.values())} "
        f"({report.moved}); reminders recorded as queued: {recorded:,} (on a database from before "
        "order_reminders the first firing records every reminder queued before, once)"
    )


def _nothing_due(rt: Runtime, statements: list[int], now: datetime, runs: int) -> tuple[float, int]:
    took: list[float] = []
    for _ in range(runs):
        statements[0] = 0
        started = time.perf_counter()
        again = run_reminders(rt, now)
        took.append(time.perf_counter() - started)
        if sum(again.queued.values()) or again.moved:
            print(f"warning: a later firing at the same moment still did work: {again}")
    return statistics.median(took), statements[0]


def _baseline(rt: Runtime, watched: list[OrderStatus], runs: int) -> tuple[float, int]:
    took: list[float] = []
    ids: list[int] = []
    for _ in range(runs):
        started = time.perf_counter()
        with rt.db.read() as session:
            ids = list(session.scalars(sa.select(Order.id).where(Order.status.in_(watched))))
        took.append(time.perf_counter() - started)
    return statistics.median(took), len(ids)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database seeded by bench/seed.py")
    parser.add_argument("--runs", type=int, default=5, help="firings with nothing due, and baseline scans (median)")
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        parser.error("PostgreSQL only (a copy is made with CREATE DATABASE … TEMPLATE)")
    url, admin, name = _copy(args.database_url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # No WeChat is called by the firing: the address is never dialled.
            settings = bench_settings(url, "http://127.0.0.1:9", Path(tmp), timeout_seconds=1)
            upgrade(settings)  # the copy brought to this checkout's schema
            rt = build_runtime(settings)
            statements = _counting(rt.db.engine)
            watched = sorted({status for window in WINDOWS for status in window.statuses}, key=str)
            with rt.db.read() as session:
                orders = session.scalar(sa.select(sa.func.count()).select_from(Order)) or 0
                open_ = session.scalar(sa.select(sa.func.count()).where(Order.status.in_(watched))) or 0
            print(f"orders: {orders:,}; in a status some reminder rule watches: {open_:,}")
            now = now_utc()
            _first_firing(rt, statements, now)
            quiet, quiet_statements = _nothing_due(rt, statements, now, args.runs)
            base, ids = _baseline(rt, watched, args.runs)
            rt.db.dispose()
        print(
            f"nothing due: median {quiet * 1000:,.1f} ms of {args.runs}, {quiet_statements} statements"
            f" (goal < {GOAL_SECONDS * 1000:,.0f} ms)"
        )
        print(f"baseline (read every watched order's id, {ids:,} ids): median {base * 1000:,.1f} ms")
        print(f"nothing due ÷ baseline: {quiet / base:.3f}")
        print("RESULT: ok" if quiet < GOAL_SECONDS else "RESULT: goal not met")
        return 0
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
