"""The reminder rules as a table of cases: facts of one order and a moment in, reminders out.

No database and no clock: ``should_remind`` and ``should_move`` are pure. The thresholds are the
defaults of config.toml, restated here so that a changed default shows up as a failing case.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.core.clock import SHANGHAI
from app.core.config import RemindersSection
from app.notify.chains import Addressee
from app.orders.reminders import WINDOWS, Audience, Move, OrderTimes, should_move, should_remind
from app.orders.workflow import Action, OrderStatus

CFG = RemindersSection(
    undispatched_hours=2,
    unaccepted_remind_hours=2,
    unaccepted_return_hours=8,
    overdue_escalate_hours=24,
    unrated_remind_hours=24,
    unrated_close_days=7,
    appointment_soon_minutes=60,
)
#: 10:00 in Shanghai on 2026-11-24 (02:00 UTC).
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
S = timedelta(seconds=1)
H = timedelta(hours=1)


def times(status: OrderStatus, *, sla_hours: float = 24, **moments: object) -> OrderTimes:
    """The facts of an order; an accepted one is due ``sla_hours`` after its acceptance."""
    facts = replace(OrderTimes(status=status, queued_at=NOW - 100 * H), **moments)  # type: ignore[arg-type]
    if facts.accepted_at is not None and "due_at" not in moments:
        facts = replace(facts, due_at=facts.accepted_at + sla_hours * H)
    return facts


def fired(facts: OrderTimes, now: datetime = NOW) -> list[tuple[str, Audience, Addressee]]:
    return [(r.rule, r.audience, r.addressee) for r in should_remind(facts, CFG, now)]


UNDISPATCHED = ("undispatched", Audience.SECRETARIES, Addressee.STAFF)
UNACCEPTED = ("unaccepted", Audience.DISPATCH_TARGETS, Addressee.MEMBER)
OVERDUE = ("overdue", Audience.HOLDER, Addressee.MEMBER)
OVERDUE_ESCALATE = ("overdue_escalate", Audience.SECRETARIES, Addressee.STAFF)
UNRATED = ("unrated", Audience.RESIDENT, Addressee.MEMBER)
ESCALATION = ("escalation_overdue", Audience.STREET_ADMINS, Addressee.STAFF)
DAY_BEFORE = ("appointment_day", Audience.APPOINTMENT, Addressee.MEMBER)
SOON = ("appointment_soon", Audience.APPOINTMENT, Addressee.MEMBER)

CASES = [
    # (case, facts, expected reminders)
    ("queued just now", times(OrderStatus.SUBMITTED, queued_at=NOW), []),
    ("queued 1 s short of 2 h", times(OrderStatus.SUBMITTED, queued_at=NOW - 2 * H + S), []),
    ("queued exactly 2 h ago", times(OrderStatus.SUBMITTED, queued_at=NOW - 2 * H), [UNDISPATCHED]),
    ("long queued but dispatched", times(OrderStatus.ASSIGNED, queued_at=NOW - 9 * H, dispatched_at=NOW), []),
    ("dispatched 1 s short of 2 h", times(OrderStatus.ASSIGNED, dispatched_at=NOW - 2 * H + S), []),
    ("dispatched 2 h ago", times(OrderStatus.ASSIGNED, dispatched_at=NOW - 2 * H), [UNACCEPTED]),
    ("dispatched 1 s short of 8 h", times(OrderStatus.ASSIGNED, dispatched_at=NOW - 8 * H + S), [UNACCEPTED]),
    ("dispatched 8 h ago: returned, not reminded", times(OrderStatus.ASSIGNED, dispatched_at=NOW - 8 * H), []),
    ("pooled orders are nobody's yet", times(OrderStatus.POOLED, queued_at=NOW - 9 * H), []),
    ("accepted within the SLA", times(OrderStatus.ACCEPTED, accepted_at=NOW - 23 * H, sla_hours=24), []),
    ("accepted past the SLA", times(OrderStatus.ACCEPTED, accepted_at=NOW - 24 * H, sla_hours=24), [OVERDUE]),
    (
        "in service, past SLA + 24 h",
        times(OrderStatus.IN_SERVICE, accepted_at=NOW - 48 * H, sla_hours=24),
        [OVERDUE, OVERDUE_ESCALATE],
    ),
    ("completed long ago is not overdue", times(OrderStatus.COMPLETED, accepted_at=NOW - 99 * H, sla_hours=1), []),
    ("completed 1 s short of 24 h", times(OrderStatus.COMPLETED, completed_at=NOW - 24 * H + S), []),
    ("completed 24 h ago", times(OrderStatus.COMPLETED, completed_at=NOW - 24 * H), [UNRATED]),
    ("completed 7 days ago: closed, not asked", times(OrderStatus.COMPLETED, completed_at=NOW - 7 * 24 * H), []),
    ("escalation due in 1 s", times(OrderStatus.ESCALATED, escalation_due_at=NOW + S), []),
    ("escalation due now", times(OrderStatus.ESCALATED, escalation_due_at=NOW), [ESCALATION]),
    ("closed orders are quiet", times(OrderStatus.CLOSED, completed_at=NOW - 99 * H, accepted_at=NOW - 99 * H), []),
    # Appointments: "tomorrow" is the Shanghai calendar day; "soon" is within 60 minutes.
    ("appointment later today", times(OrderStatus.ACCEPTED, preferred_start=NOW + 3 * H, accepted_at=NOW), []),
    ("appointment tomorrow", times(OrderStatus.ASSIGNED, preferred_start=NOW + 24 * H), [DAY_BEFORE]),
    ("appointment in 60 min", times(OrderStatus.ACCEPTED, preferred_start=NOW + H, accepted_at=NOW), [SOON]),
    ("appointment passed", times(OrderStatus.ACCEPTED, preferred_start=NOW - S, accepted_at=NOW), []),
    ("appointment of a submitted order", times(OrderStatus.SUBMITTED, queued_at=NOW, preferred_start=NOW + H), []),
]


@pytest.mark.parametrize(("case", "facts", "expected"), CASES, ids=[case for case, _f, _e in CASES])
def test_should_remind(case: str, facts: OrderTimes, expected: list[tuple[str, Audience, Addressee]]) -> None:
    assert fired(facts) == expected, case


def test_tomorrow_is_the_shanghai_day_even_when_the_utc_date_is_the_same() -> None:
    # 23:30 Shanghai on the 24th is 15:30 UTC on the 24th; 00:30 Shanghai on the 25th is 16:30 UTC
    # on the 24th: the same UTC date, but "tomorrow" in Shanghai.
    late = datetime(2026, 11, 24, 23, 30, tzinfo=SHANGHAI).astimezone(UTC)
    start = datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI).astimezone(UTC)
    assert fired(times(OrderStatus.ASSIGNED, preferred_start=start), late) == [DAY_BEFORE]
    morning = datetime(2026, 11, 25, 7, 0, tzinfo=SHANGHAI).astimezone(UTC)
    assert fired(times(OrderStatus.ASSIGNED, preferred_start=start), morning) == []


def test_each_reminder_counts_from_the_moment_its_rule_names() -> None:
    # The dedupe key is built from ``since``: a re-dispatch (a new dispatched_at) is a new reminder.
    dispatched = NOW - 3 * H
    (reminder,) = should_remind(times(OrderStatus.ASSIGNED, dispatched_at=dispatched), CFG, NOW)
    assert reminder.since == dispatched
    queued = NOW - 5 * H
    (reminder,) = should_remind(times(OrderStatus.SUBMITTED, queued_at=queued), CFG, NOW)
    assert reminder.since == queued
    assert reminder.text == "超时未派单，请尽快处理"


MOVES = [
    ("dispatched 1 s short of 8 h", times(OrderStatus.ASSIGNED, dispatched_at=NOW - 8 * H + S), None),
    (
        "dispatched 8 h ago",
        times(OrderStatus.ASSIGNED, dispatched_at=NOW - 8 * H),
        ("unaccepted_returned", Action.EXPIRE, OrderStatus.ASSIGNED),
    ),
    ("completed 1 s short of 7 days", times(OrderStatus.COMPLETED, completed_at=NOW - 7 * 24 * H + S), None),
    (
        "completed 7 days ago",
        times(OrderStatus.COMPLETED, completed_at=NOW - 7 * 24 * H),
        ("closed_unrated", Action.CLOSE_UNRATED, OrderStatus.COMPLETED),
    ),
    ("accepted long ago stays", times(OrderStatus.ACCEPTED, dispatched_at=NOW - 99 * H, accepted_at=NOW), None),
]


@pytest.mark.parametrize(("case", "facts", "expected"), MOVES, ids=[case for case, _f, _e in MOVES])
def test_should_move(case: str, facts: OrderTimes, expected: tuple[str, Action, OrderStatus] | None) -> None:
    move: Move | None = should_move(facts, CFG, NOW)
    assert (None if move is None else (move.rule, move.action, move.expected)) == expected, case


FIRING = [(case, facts) for case, facts, expected in [*CASES, *MOVES] if expected]


@pytest.mark.parametrize(("case", "facts"), FIRING, ids=[case for case, _f in FIRING])
def test_whatever_fires_lies_in_a_window_the_job_scans(case: str, facts: OrderTimes) -> None:
    # The job loads only the orders inside WINDOWS: a rule firing outside all of them would never run.
    assert should_remind(facts, CFG, NOW) or should_move(facts, CFG, NOW), case
    assert any(window.holds(facts, CFG, NOW) for window in WINDOWS), case
