"""The care job's use case: make each due visit's order, once, and alert the secretaries, once,
about a visit not completed in time.

Making a visit: its row goes in first, under the unique key (plan, date), in a savepoint; only
the transaction that inserted it goes on to post the order (on behalf of the household's
resident, by the plan's author) and dispatch it to the plan's volunteer, through the order
domain's own steps, so its events, messages and due times are those of any order. A concurrent
run finds the key taken and does nothing. One transaction per visit: one bad plan (its volunteer
left, its author lost the role) is logged and counted, and blocks no other.

Missed visits: a conditional UPDATE sets ``missed_alerted_at`` only where it is still NULL, and
only the run that set it queues the messages (which carry a dedupe key besides).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.areas.models import Area, ServiceCategory
from app.care.models import ALERTED_PENDING, PENDING, CarePlan, CareVisit
from app.care.schedule import Rule, due_for_orders, visit_window
from app.care.texts import MISSED_KEY, MissedFacts, render_missed
from app.care.vocabulary import PlanStatus
from app.core.config import CareSection
from app.core.errors import LinliError
from app.identity.actor import actor_by_id
from app.identity.models import User
from app.identity.roles import Role
from app.identity.staff import community_staff
from app.notify.chains import Addressee
from app.notify.outbox import notify_user
from app.orders.actions import dispatch_in
from app.orders.models import Order
from app.orders.submit import NewOrder, submit_in
from app.orders.workflow import OrderKind
from app.runtime import Runtime

log = logging.getLogger(__name__)

#: The order's title: it says what the visit is, never why the household is looked after.
VISIT_TITLE = "关爱探访"
#: Rows per scan query.
_BATCH = 500


@dataclass
class CareReport:
    made: int = 0
    failed: int = 0
    alerted: int = 0
    done: int = 0
    late: int = 0


def _rule(plan: CarePlan) -> Rule:
    return Rule(plan.every, plan.weekday, plan.day, plan.at, plan.starts_on, plan.ends_on)


def _due_visits(rt: Runtime, now: datetime, cfg: CareSection) -> list[tuple[int, date]]:
    """(plan, date) pairs whose order should exist at ``now`` and has no row yet."""
    horizon = (now + timedelta(hours=cfg.lead_hours, days=1)).date()
    earliest = (now - timedelta(days=2)).date()
    with rt.db.read() as session:
        plans = session.scalars(
            sa.select(CarePlan).where(
                CarePlan.status == PlanStatus.ACTIVE,
                CarePlan.starts_on <= horizon,
                sa.or_(CarePlan.ends_on.is_(None), CarePlan.ends_on >= earliest),
            )
        ).all()
        wanted = [
            (plan.id, day)
            for plan in plans
            for day in due_for_orders(_rule(plan), now, lead_hours=cfg.lead_hours, visit_hours=cfg.visit_hours)
        ]
        if not wanted:
            return []
        made = {
            (plan_id, day)
            for plan_id, day in session.execute(
                sa.select(CareVisit.plan_id, CareVisit.on_date).where(
                    CareVisit.plan_id.in_(sorted({plan_id for plan_id, _ in wanted})),
                    CareVisit.on_date >= min(day for _, day in wanted),
                )
            )
        }
    return [pair for pair in wanted if pair not in made]


def _claim_visit(session: Session, plan: CarePlan, day: date, cfg: CareSection) -> CareVisit | None:
    """Insert the visit's row; None when another run holds the key already."""
    start, end = visit_window(day, plan.at, cfg.visit_hours)
    visit = CareVisit(plan_id=plan.id, on_date=day, due_start=start, due_end=end)
    try:
        with session.begin_nested():
            session.add(visit)
    except IntegrityError:
        return None
    return visit


def make_visit(rt: Runtime, plan_id: int, day: date) -> bool:
    """Make the visit of ``plan_id`` on ``day`` and its order; False when it exists already or
    the plan is no longer active. Raises LinliError when the order cannot be placed (nothing is
    written then)."""
    cfg = rt.settings.care
    with rt.db.write() as session:
        plan = session.get(CarePlan, plan_id)
        if plan is None or plan.status is not PlanStatus.ACTIVE:
            return False
        visit = _claim_visit(session, plan, day, cfg)
        if visit is None:
            return False
        author = actor_by_id(session, plan.created_by_id)
        community = session.get(Area, plan.community_id)
        category = session.get(ServiceCategory, plan.category_id)
        assert author is not None  # noqa: S101 - foreign keys, all three
        assert community is not None  # noqa: S101
        assert category is not None  # noqa: S101
        order = submit_in(
            session,
            rt.settings,
            author,
            NewOrder(
                community=community.code,
                category=category.code,
                kind=OrderKind.SERVICE,
                title=VISIT_TITLE,
                description=plan.note,
                preferred_start=visit.due_start,
                preferred_end=visit.due_end,
                on_behalf_of=plan.resident_id,
            ),
        )
        dispatch_in(session, rt, author, order, plan.volunteer_id, note="")
        visit.order_id = order.id
        session.flush()
        return True


def _alert_missed(rt: Runtime, visit_id: int, now: datetime) -> str:
    """One visit past its due end and grace: "done" (its order was completed: settled quietly),
    "alerted" (this run set the alert and queued the messages), or "" (someone else did)."""
    with rt.db.write() as session:
        visit = session.get(CareVisit, visit_id)
        if visit is None or visit.missed_alerted_at is not None or visit.done_at is not None:
            return ""
        order = session.get(Order, visit.order_id) if visit.order_id is not None else None
        if order is not None and order.completed_at is not None:
            visit.done_at = order.completed_at
            session.flush()
            return "done"
        set_alert = session.execute(
            sa.update(CareVisit)
            .where(CareVisit.id == visit_id, CareVisit.missed_alerted_at.is_(None))
            .values(missed_alerted_at=now)
            .execution_options(synchronize_session=False)
        )
        if set_alert.rowcount != 1:  # type: ignore[attr-defined]
            return ""
        plan = session.get(CarePlan, visit.plan_id)
        assert plan is not None  # noqa: S101 - foreign key
        resident = session.get(User, plan.resident_id)
        volunteer = session.get(User, plan.volunteer_id)
        rendered = render_missed(
            MissedFacts(
                plan_id=plan.id,
                number=order.number if order is not None else "",
                resident=resident.nickname if resident else "",
                volunteer=volunteer.nickname if volunteer else "",
                due_end=visit.due_end,
            )
        )
        for secretary in community_staff(session, plan.community_id, Role.SECRETARY):
            notify_user(
                session,
                rt.settings.notify,
                user=secretary,
                template_key=MISSED_KEY,
                rendered=rendered,
                dedupe_key=f"care_missed:{visit.id}:{secretary.id}",
                addressee=Addressee.STAFF,
                order_id=order.id if order is not None else None,
                now=now,
            )
        return "alerted"


def _record_late(rt: Runtime, now: datetime, report: CareReport) -> None:
    """Visits alerted as missed whose order was completed since: recorded as late (once)."""
    with rt.db.write() as session:
        rows = session.execute(
            sa.select(CareVisit.id, Order.completed_at)
            .join(Order, Order.id == CareVisit.order_id)
            .where(sa.text(ALERTED_PENDING), Order.completed_at.is_not(None))
            .limit(_BATCH)
        ).all()
        for visit_id, completed_at in rows:
            changed = session.execute(
                sa.update(CareVisit)
                .where(CareVisit.id == visit_id, CareVisit.late_at.is_(None))
                .values(late_at=completed_at or now)
                .execution_options(synchronize_session=False)
            )
            report.late += changed.rowcount  # type: ignore[attr-defined]


def run_care_visits(rt: Runtime, now: datetime) -> CareReport:
    """Make the visits due by ``now`` and settle the ones past their due end and grace."""
    cfg = rt.settings.care
    report = CareReport()
    for plan_id, day in _due_visits(rt, now, cfg):
        try:
            if make_visit(rt, plan_id, day):
                report.made += 1
        except LinliError as error:
            # The plan's volunteer left the community, its author lost the role …: staff must
            # fix the plan; the other plans go on.
            report.failed += 1
            log.warning("care plan %s: the visit of %s was not made: %s", plan_id, day, error)
    threshold = now - timedelta(hours=cfg.missed_grace_hours)
    with rt.db.read() as session:
        pending = session.scalars(
            sa.select(CareVisit.id)
            .where(sa.text(PENDING), CareVisit.due_end <= threshold)
            .order_by(CareVisit.due_end)
            .limit(_BATCH)
        ).all()
    for visit_id in pending:
        outcome = _alert_missed(rt, visit_id, now)
        if outcome == "alerted":
            report.alerted += 1
        elif outcome == "done":
            report.done += 1
    _record_late(rt, now, report)
    return report
