"""每月服务小结: on the 1st, each volunteer whose points moved last month (they served, or points
were held, paid, taken back, adjusted or spent) hears their hours, the points service earned them
and their balance. The inbox always; the ``points_changed`` subscribe message where granted.

Once per volunteer and month: the dedupe key ``month_summary:YYYY-MM`` in the outbox, so a second
run, or a second job process, queues nothing more. Set-based: one statement finds everyone with
their figures and balance, one more loads the users of each batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.clock import shanghai_day_bounds, shanghai_today
from app.identity.models import User
from app.notify.chains import Addressee
from app.notify.outbox import notify_user
from app.runtime import Runtime
from app.timebank.hours import hours
from app.timebank.ledger import PointsEntry, service_minutes_sum, service_points_sum
from app.timebank.texts import POINTS_KEY, month_summary

#: Volunteers told per transaction: a city's month is many short transactions, not one long one.
BATCH = 500


@dataclass(frozen=True)
class MonthFigures:
    user_id: int
    minutes: int
    service_points: int
    balance: int


def last_month(now: datetime) -> tuple[date, date]:
    """The first day of the Shanghai month before ``now``'s and the first day of ``now``'s."""
    this_month = shanghai_today(now).replace(day=1)
    return (this_month - timedelta(days=1)).replace(day=1), this_month


def month_figures(session: Session, first: date, following: date) -> list[MonthFigures]:
    """Everyone with a ledger entry from ``first`` up to ``following``: their service minutes and
    service points in that month and their balance now (one statement)."""
    since, _ = shanghai_day_bounds(first)
    until, _ = shanghai_day_bounds(following)
    month = (
        sa.select(
            PointsEntry.user_id.label("user_id"),
            service_minutes_sum().label("minutes"),
            service_points_sum().label("service"),
        )
        .where(PointsEntry.created_at >= since, PointsEntry.created_at < until)
        .group_by(PointsEntry.user_id)
        .subquery()
    )
    balance = (
        sa.select(PointsEntry.user_id.label("user_id"), sa.func.sum(PointsEntry.delta).label("balance"))
        .where(PointsEntry.user_id.in_(sa.select(month.c.user_id)))
        .group_by(PointsEntry.user_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(month.c.user_id, month.c.minutes, month.c.service, balance.c.balance)
        .join(balance, balance.c.user_id == month.c.user_id)
        .order_by(month.c.user_id)
    )
    return [MonthFigures(u, int(m or 0), int(s or 0), int(b or 0)) for u, m, s, b in rows]


def send_month_summaries(rt: Runtime, now: datetime) -> int:
    """Queue last month's summary to everyone whose points moved in it; answers how many were
    queued now (none on a second run for the same month)."""
    first, following = last_month(now)
    key = f"month_summary:{first:%Y-%m}"
    label = f"{first.year}年{first.month}月"
    with rt.db.read() as session:
        figures = month_figures(session, first, following)
    queued = 0
    for start in range(0, len(figures), BATCH):
        batch = figures[start : start + BATCH]
        with rt.db.write() as session:
            users = {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_([f.user_id for f in batch])))}
            for each in batch:
                user = users.get(each.user_id)
                if user is None:
                    continue  # the account went meanwhile
                rendered = month_summary(label, str(hours(each.minutes)), each.service_points, each.balance, now)
                queued += notify_user(
                    session,
                    rt.settings.notify,
                    user=user,
                    template_key=POINTS_KEY,
                    rendered=rendered,
                    dedupe_key=f"{key}:user:{user.id}",
                    addressee=Addressee.MEMBER,
                    now=now,
                )
    return queued
