"""The transition table against an independent reading of the contract's "from → to" column.

The expectations below are written out by hand from the API contract (docs/api.md, Actions) and
the order lifecycle (docs/architecture.md), never derived from ``app.orders.workflow.TRANSITIONS``,
so a wrong entry in the table makes these tests fail.
"""

from __future__ import annotations

import itertools

import pytest

from app.core.errors import InvalidTransitionError
from app.orders.workflow import (
    ACTION_LABELS,
    STATUS_LABELS,
    TERMINAL,
    TRANSITIONS,
    Action,
    OrderStatus,
    Party,
    transition_for,
)

S = OrderStatus
A = Action

#: action → {source status → target status}, copied by hand from the "from → to" column of docs/api.md.
#: ``dispatch`` with ``{"pool": true}`` is the separate action ``publish``; ``expire`` and
#: ``close_unrated`` are the scheduled jobs'; ``triage`` and ``urge`` leave the status as it is.
EXPECTED: dict[Action, dict[OrderStatus, OrderStatus]] = {
    A.SUBMIT: {},  # creates the order; never a transition from an existing status
    A.TRIAGE: {S.SUBMITTED: S.SUBMITTED},
    A.DISPATCH: {S.SUBMITTED: S.ASSIGNED},
    A.PUBLISH: {S.SUBMITTED: S.POOLED},
    A.CLAIM: {S.POOLED: S.ACCEPTED},
    A.ACCEPT: {S.ASSIGNED: S.ACCEPTED},
    A.DECLINE: {S.ASSIGNED: S.SUBMITTED},
    A.START: {S.ACCEPTED: S.IN_SERVICE},
    A.COMPLETE: {S.ACCEPTED: S.COMPLETED, S.IN_SERVICE: S.COMPLETED},
    A.RATE: {S.COMPLETED: S.CLOSED},
    # A closed order too, within [timebank] dispute_window_days (the handler checks the window).
    A.DISPUTE: {S.COMPLETED: S.ACCEPTED, S.CLOSED: S.ACCEPTED},
    # "any open state": everything that still waits for someone other than the resident.
    A.URGE: {
        S.SUBMITTED: S.SUBMITTED,
        S.ASSIGNED: S.ASSIGNED,
        S.POOLED: S.POOLED,
        S.ACCEPTED: S.ACCEPTED,
        S.IN_SERVICE: S.IN_SERVICE,
        S.ESCALATED: S.ESCALATED,
    },
    A.CANCEL: {S.SUBMITTED: S.CANCELLED, S.ASSIGNED: S.CANCELLED, S.POOLED: S.CANCELLED},
    A.REJECT: {S.SUBMITTED: S.REJECTED},
    A.ESCALATE: {S.SUBMITTED: S.ESCALATED, S.ASSIGNED: S.ESCALATED, S.POOLED: S.ESCALATED},
    A.RESOLVE: {S.ESCALATED: S.COMPLETED},
    # To another person or group by default; the body may choose the pool or the queue instead.
    A.REASSIGN: {S.ASSIGNED: S.ASSIGNED, S.ACCEPTED: S.ASSIGNED, S.IN_SERVICE: S.ASSIGNED},
    A.RELEASE: {S.ACCEPTED: S.SUBMITTED, S.IN_SERVICE: S.SUBMITTED},
    A.EXPIRE: {S.ASSIGNED: S.SUBMITTED},
    A.CLOSE_UNRATED: {S.COMPLETED: S.CLOSED},
    # 合并重复 (docs/api.md "随手拍"): while nobody has taken the work on.
    A.MERGE: {S.SUBMITTED: S.CANCELLED, S.ASSIGNED: S.CANCELLED, S.POOLED: S.CANCELLED},
}

#: Targets an action may choose instead of its usual one (docs/api.md: reassign → assigned /
#: pooled / submitted).
EXPECTED_ALTERNATIVES: dict[Action, frozenset[OrderStatus]] = {A.REASSIGN: frozenset({S.POOLED, S.SUBMITTED})}

#: action → who may do it, from the "who" column of docs/api.md (jobs act as the system).
EXPECTED_PARTIES: dict[Action, frozenset[Party]] = {
    A.TRIAGE: frozenset({Party.SECRETARY, Party.GRID_WORKER}),
    A.DISPATCH: frozenset({Party.SECRETARY, Party.GRID_WORKER}),
    A.PUBLISH: frozenset({Party.SECRETARY, Party.GRID_WORKER}),
    A.CLAIM: frozenset({Party.VOLUNTEER}),
    A.ACCEPT: frozenset({Party.ASSIGNEE}),
    A.DECLINE: frozenset({Party.ASSIGNEE}),
    A.START: frozenset({Party.ASSIGNEE}),
    A.COMPLETE: frozenset({Party.ASSIGNEE}),
    A.RATE: frozenset({Party.OWNER}),
    A.DISPUTE: frozenset({Party.OWNER}),
    A.URGE: frozenset({Party.OWNER}),
    A.CANCEL: frozenset({Party.OWNER}),
    A.REJECT: frozenset({Party.SECRETARY}),
    A.ESCALATE: frozenset({Party.SECRETARY}),
    A.RESOLVE: frozenset({Party.SECRETARY, Party.STREET_ADMIN}),
    A.REASSIGN: frozenset({Party.SECRETARY, Party.GRID_WORKER}),
    A.RELEASE: frozenset({Party.ASSIGNEE}),
    A.EXPIRE: frozenset({Party.SYSTEM}),
    A.CLOSE_UNRATED: frozenset({Party.SYSTEM}),
    A.MERGE: frozenset({Party.SECRETARY, Party.GRID_WORKER}),
}

PAIRS = list(itertools.product(OrderStatus, Action))


def test_the_expectations_cover_every_action() -> None:
    assert set(EXPECTED) == set(Action)
    assert set(EXPECTED_PARTIES) == set(Action) - {A.SUBMIT}


@pytest.mark.parametrize(("status", "action"), PAIRS, ids=[f"{s.value}-{a.value}" for s, a in PAIRS])
def test_transition_for_every_status_and_action(status: OrderStatus, action: Action) -> None:
    expected_target = EXPECTED[action].get(status)
    if expected_target is None:
        with pytest.raises(InvalidTransitionError) as caught:
            transition_for(status, action)
        assert caught.value.details == {"status": status.value, "action": action.value}
        assert STATUS_LABELS[status] in caught.value.message
        assert ACTION_LABELS[action] in caught.value.message
        return
    transition = transition_for(status, action)
    assert transition is TRANSITIONS[action]
    assert transition.action is action
    assert status in transition.sources
    assert transition.target_from(status) is expected_target


@pytest.mark.parametrize("action", [a for a in Action if a is not A.SUBMIT], ids=lambda a: a.value)
def test_sources_and_parties_match_the_documented_ones(action: Action) -> None:
    transition = TRANSITIONS[action]
    assert transition.sources == frozenset(EXPECTED[action])
    assert transition.parties == EXPECTED_PARTIES[action]
    assert transition.alternatives == EXPECTED_ALTERNATIVES.get(action, frozenset())


def test_a_chosen_target_must_be_one_the_action_allows() -> None:
    reassign = TRANSITIONS[A.REASSIGN]
    for source in (S.ASSIGNED, S.ACCEPTED, S.IN_SERVICE):
        assert reassign.target_from(source, S.POOLED) is S.POOLED
        assert reassign.target_from(source, S.SUBMITTED) is S.SUBMITTED
        assert reassign.target_from(source, S.ASSIGNED) is S.ASSIGNED
        with pytest.raises(ValueError, match="reassign cannot lead to closed"):
            reassign.target_from(source, S.CLOSED)
    with pytest.raises(ValueError, match="release cannot lead to pooled"):
        TRANSITIONS[A.RELEASE].target_from(S.ACCEPTED, S.POOLED)


def test_only_the_jobs_act_as_the_system() -> None:
    system_actions = {a for a, t in TRANSITIONS.items() if Party.SYSTEM in t.parties}
    assert system_actions == {A.EXPIRE, A.CLOSE_UNRATED}


def test_submit_is_not_a_transition() -> None:
    assert A.SUBMIT not in TRANSITIONS


@pytest.mark.parametrize("status", [S.CLOSED, S.REJECTED, S.CANCELLED], ids=lambda s: s.value)
def test_terminal_statuses_allow_nothing(status: OrderStatus) -> None:
    """Nothing moves a finished order, but a dispute that reopens a closed one (within its window)."""
    assert status in TERMINAL
    for action in Action:
        if (status, action) == (S.CLOSED, A.DISPUTE):
            assert transition_for(status, action).target is S.ACCEPTED
            continue
        with pytest.raises(InvalidTransitionError):
            transition_for(status, action)


def test_terminal_set_is_exactly_closed_rejected_cancelled() -> None:
    assert frozenset({S.CLOSED, S.REJECTED, S.CANCELLED}) == TERMINAL


def _has_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_every_status_has_a_chinese_label() -> None:
    assert set(STATUS_LABELS) == set(OrderStatus)
    assert all(_has_han(label) for label in STATUS_LABELS.values())
    assert len(set(STATUS_LABELS.values())) == len(OrderStatus)  # no two statuses read the same


def test_every_action_has_a_chinese_label() -> None:
    assert set(ACTION_LABELS) == set(Action)
    assert all(_has_han(label) for label in ACTION_LABELS.values())
    assert len(set(ACTION_LABELS.values())) == len(Action)
