"""The 08:30 daily digest to every secretary: yesterday's numbers, pending and overdue orders."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind
from app.core.clock import shanghai_day_bounds, shanghai_today
from app.core.config import RemindersSection
from app.identity.roles import Role
from app.identity.staff import community_staff
from app.notify.chains import Addressee
from app.notify.outbox import notify_each, queue_robot_message
from app.orders.models import Order, Rating
from app.orders.reminders import escalation_overdue, sla_overdue, undispatched_due
from app.orders.texts import DigestFacts, digest_markdown, render_digest
from app.orders.waiting import queued_at
from app.orders.workflow import HELD, OPEN, OrderStatus
from app.runtime import Runtime


def digest_facts(session: Session, cfg: RemindersSection, community: Area, now: datetime) -> DigestFacts:
    """Numbers for the Shanghai day before ``now``; they add up with the order list for that day."""
    day = shanghai_today(now) - timedelta(days=1)
    start, end = shanghai_day_bounds(day)
    in_community = Order.community_id == community.id

    def count(*conditions: sa.ColumnElement[bool]) -> int:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Order).where(in_community, *conditions)) or 0)

    average = session.scalar(
        sa.select(sa.func.avg(Rating.score))
        .join(Order, Order.id == Rating.order_id)
        .where(in_community, Rating.created_at >= start, Rating.created_at < end)
    )
    # "Overdue" means what the reminder rules mean (app.orders.reminders), on the same moments.
    overdue_held = sum(
        1
        for (due_at,) in session.execute(sa.select(Order.due_at).where(in_community, Order.status.in_(list(HELD))))
        if sla_overdue(due_at, now)
    )
    waiting = sum(
        1
        for (entered,) in session.execute(
            sa.select(queued_at()).where(in_community, Order.status == OrderStatus.SUBMITTED)
        )
        if undispatched_due(entered, cfg, now)
    )
    escalations = sum(
        1
        for (due_at,) in session.execute(
            sa.select(Order.escalation_due_at).where(in_community, Order.status == OrderStatus.ESCALATED)
        )
        if escalation_overdue(due_at, now)
    )
    return DigestFacts(
        community=community.name,
        day=day.isoformat(),
        submitted=count(Order.created_at >= start, Order.created_at < end),
        closed=count(Order.closed_at >= start, Order.closed_at < end),
        open=count(Order.status.in_(list(OPEN))),
        overdue=overdue_held + waiting + escalations,
        average_rating=float(average) if average is not None else None,
        at=now,
    )


def send_daily_digests(rt: Runtime, now: datetime) -> int:
    """Queue the digest for every community: template message to each secretary who follows the
    Official Account (inbox for all), and the community's WeCom robot if it has one. Once per day."""
    queued = 0
    with rt.db.read() as session:
        community_ids = list(session.scalars(sa.select(Area.id).where(Area.kind == AreaKind.COMMUNITY)))
    for community_id in community_ids:
        with rt.db.write() as session:
            community = session.get(Area, community_id)
            if community is None:
                continue
            facts = digest_facts(session, rt.settings.reminders, community, now)
            rendered = render_digest(facts)
            key = f"digest:{community.id}:{facts.day}"
            queued += notify_each(
                session,
                rt.settings.notify,
                community_staff(session, community.id, Role.SECRETARY),
                template_key="digest",
                rendered=rendered,
                dedupe_key=key,
                addressee=Addressee.STAFF,
                now=now,
            )
            queued += queue_robot_message(
                session,
                community=community,
                template_key="digest",
                markdown=digest_markdown(facts),
                dedupe_key=key,
                now=now,
            )
    return queued
