"""Print PostgreSQL's plans of the hot queries, built by the same code the API and the jobs run.

What it shows: ``EXPLAIN (ANALYZE, COSTS OFF)`` of a community's newest orders, a resident's
"mine" (two branches), the volunteers' pool, the candidates ranking of an order, a staff lookup,
and each reminder window's scan, against a seeded city (``bench/seed.py``). ANALYZE runs each
query once; the plans say which index each one walks and how many rows it touches.

Usage: ``.venv/bin/python bench/explain.py --database-url postgresql+psycopg://…/CITY
--community SQ0001``. PostgreSQL only (the plans are PostgreSQL's).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, ServiceCategory
from app.core.clock import now_utc
from app.core.config import RemindersSection
from app.identity.models import RoleMembership, User
from app.identity.roles import Role
from app.orders.candidates import best
from app.orders.models import Order
from app.orders.queries import newest_orders
from app.orders.reminder_scan import window_ids
from app.orders.reminders import WINDOWS
from app.orders.workflow import OrderStatus
from app.volunteers.availability import week_window


def _plan(session: Session, title: str, query: sa.Select[Any]) -> None:
    sql = str(query.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}))
    print(f"\n### {title}\n\n```")
    for (line,) in session.execute(sa.text(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}")):
        print(line)
    print("```")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--community", required=True, help="the focus community's code")
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        parser.error("PostgreSQL only")
    engine = sa.create_engine(args.database_url)
    cfg, now = RemindersSection(), now_utc()
    with Session(engine) as session:
        community = session.scalar(sa.select(Area).where(Area.code == args.community))
        if community is None:
            parser.error(f"no community {args.community}")
        resident = session.scalar(
            sa.select(User.id)
            .join(Order, Order.resident_id == User.id)
            .where(Order.community_id == community.id)
            .limit(1)
        )
        _plan(session, "a community's newest 21 orders", newest_orders([Order.community_id == community.id], [], 21))
        _plan(
            session,
            "a resident's orders (mine: resident or poster)",
            newest_orders([Order.resident_id == resident, Order.created_by_id == resident], [], 21),
        )
        _plan(
            session,
            "the pool of the community, oldest first",
            sa.select(Order.id)
            .where(Order.community_id == community.id, Order.status == OrderStatus.POOLED)
            .order_by(Order.id)
            .limit(21),
        )
        order = session.scalar(
            sa.select(Order).where(Order.community_id == community.id, Order.status == OrderStatus.SUBMITTED).limit(1)
        )
        if order is not None:
            skill = session.scalar(sa.select(ServiceCategory.skill).where(ServiceCategory.id == order.category_id))
            _plan(
                session,
                f"candidates for order {order.id} (skill {skill})",
                best(order, skill, week_window(order.preferred_start, order.preferred_end)),
            )
        _plan(
            session,
            "the community's secretaries",
            sa.select(RoleMembership.user_id).where(
                RoleMembership.area_id == community.id, RoleMembership.role == Role.SECRETARY
            ),
        )
        for window in WINDOWS:
            _plan(session, f"reminder window on {window.moment}", window_ids(window, cfg, now))
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
