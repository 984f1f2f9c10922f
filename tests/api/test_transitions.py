"""Every action the API offers, posted in every status that does not allow it: a 409 that changes
nothing (status, version, audit trail).

The allowed pairs are written out by hand from the Actions table of docs/api.md ("from → to"), not taken
from ``app.orders.workflow.TRANSITIONS``. Each disallowed pair gets a fresh order, driven to the status
through the API, and the action is posted by a user who could do it in the right status, so that
only the status is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.identity.roles import Role
from app.orders.models import Order, OrderEvent
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from tests.factories import People, Person, World, grant, make_people, make_world

S = OrderStatus

#: Who posts an action: a member of the cast (``tests.factories.People``), by attribute name.
OWNER = "resident"
SECRETARY = "secretary"
#: The volunteer every "assigned" order is dispatched to; the assignee wherever there is one.
ASSIGNEE = "volunteer"
#: A volunteer of the community who is also its grid worker, and so sees every order of it:
#: claims where nobody holds the order (a plain volunteer sees only pooled orders and their own).
#: The cast's grid worker, made a volunteer as well (``_people``).
STAFF_VOLUNTEER = "grid_worker"
#: A plain volunteer of the community.
OTHER_VOLUNTEER = "other_volunteer"


@dataclass(frozen=True)
class ApiAction:
    name: str  # test id
    path: str  # POST /api/v1/orders/{id}/<path>
    who: str
    body: dict[str, Any]
    #: Statuses the action is allowed from, per docs/api.md.
    allowed: frozenset[OrderStatus]


OPEN = frozenset({S.SUBMITTED, S.ASSIGNED, S.POOLED, S.ACCEPTED, S.IN_SERVICE, S.ESCALATED})
BEFORE_ACCEPTED = frozenset({S.SUBMITTED, S.ASSIGNED, S.POOLED})

#: One entry per API action (dispatch twice: to a volunteer, and to the pool). The dispatch body's
#: volunteer id is filled in once the volunteer exists.
API_ACTIONS: tuple[ApiAction, ...] = (
    ApiAction("triage", "triage", SECRETARY, {"level": "routine"}, frozenset({S.SUBMITTED})),
    ApiAction("dispatch", "dispatch", SECRETARY, {"volunteer_id": None}, frozenset({S.SUBMITTED})),
    ApiAction("dispatch-pool", "dispatch", SECRETARY, {"pool": True}, frozenset({S.SUBMITTED})),
    ApiAction("claim", "claim", STAFF_VOLUNTEER, {}, frozenset({S.POOLED})),
    ApiAction("accept", "accept", ASSIGNEE, {}, frozenset({S.ASSIGNED})),
    ApiAction("decline", "decline", ASSIGNEE, {"reason": "今天在外地"}, frozenset({S.ASSIGNED})),
    ApiAction("start", "start", ASSIGNEE, {}, frozenset({S.ACCEPTED})),
    ApiAction("complete", "complete", ASSIGNEE, {"note": "已送到"}, frozenset({S.ACCEPTED, S.IN_SERVICE})),
    ApiAction("rate", "rate", OWNER, {"score": 5, "comment": "谢谢"}, frozenset({S.COMPLETED})),
    # From closed too, within [timebank] dispute_window_days of closing.
    ApiAction("dispute", "dispute", OWNER, {"reason": "没有送到"}, frozenset({S.COMPLETED, S.CLOSED})),
    ApiAction("urge", "urge", OWNER, {}, OPEN),
    ApiAction("cancel", "cancel", OWNER, {"reason": "不需要了"}, BEFORE_ACCEPTED),
    ApiAction("reject", "reject", SECRETARY, {"reason": "重复提交"}, frozenset({S.SUBMITTED})),
    ApiAction(
        "escalate",
        "escalate",
        SECRETARY,
        {"department": "城管中队", "note": "占道经营", "due_hours": 48},
        BEFORE_ACCEPTED,
    ),
    ApiAction("resolve", "resolve", SECRETARY, {"note": "已办结"}, frozenset({S.ESCALATED})),
)

#: Statuses in which an order driven here has no assignee at all: nobody is Party.ASSIGNEE.
NO_ASSIGNEE = frozenset({S.SUBMITTED, S.POOLED, S.REJECTED, S.ESCALATED, S.CANCELLED})


def actor_for(action: ApiAction, status: OrderStatus) -> str:
    """Who posts ``action`` in ``status``. A claim comes from a volunteer who sees the order: the
    one holding it where there is one, else the volunteer who is also the grid worker."""
    if action.path == "claim" and status not in NO_ASSIGNEE:
        return ASSIGNEE  # a volunteer of the community, and sees the order they hold
    return action.who


def expected_refusal(action: ApiAction, status: OrderStatus) -> tuple[int, str]:
    """What posting ``action`` on an order in ``status`` must answer."""
    if action.path == "claim":
        # app.orders.actions (claim): an order someone holds (or has finished) is "already claimed",
        # one in any other status that is not pooled an invalid transition.
        if status in {S.ACCEPTED, S.IN_SERVICE, S.COMPLETED}:
            return 409, "already_claimed"
        return 409, "invalid_transition"
    if action.who == ASSIGNEE and status in NO_ASSIGNEE:
        # Inherently unreachable: without an assignee nobody is Party.ASSIGNEE, so no user can both
        # see the order and be allowed to act. We post as the community volunteer who holds the
        # order in the other statuses: pooled orders are visible to the community's volunteers, so
        # the role check answers 403; everywhere else the volunteer does not see the order (404).
        return (403, "forbidden") if status is S.POOLED else (404, "not_found")
    return 409, "invalid_transition"


def _post(client: FlaskClient, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), (path, response.status_code, response.get_json())
    order: dict[str, Any] = response.get_json()["order"]
    return order


def _people(client: FlaskClient, rt: Runtime, world: World) -> People:
    """The usual cast, logged in through the API; its grid worker is a volunteer as well."""
    people = make_people(rt, world, client=client)
    grant(rt, people.grid_worker.openid, Role.VOLUNTEER, world.community)
    return people


def _headers(people: People, who: str) -> dict[str, str]:
    """The Authorization header of the member of the cast named ``who``."""
    person: Person = getattr(people, who)
    return person.headers


def _body(action: ApiAction, people: People) -> dict[str, Any]:
    if "volunteer_id" in action.body:
        return {**action.body, "volunteer_id": people.volunteer.id}
    return action.body


#: How each status is reached from submitted: (action, who, body) steps.
_TO_ACCEPTED: list[tuple[str, str, dict[str, Any]]] = [
    ("dispatch", SECRETARY, {"volunteer_id": None}),
    ("accept", ASSIGNEE, {}),
]
_PATHS: dict[OrderStatus, list[tuple[str, str, dict[str, Any]]]] = {
    S.SUBMITTED: [],
    S.ASSIGNED: [("dispatch", SECRETARY, {"volunteer_id": None})],
    S.POOLED: [("dispatch", SECRETARY, {"pool": True})],
    S.ACCEPTED: _TO_ACCEPTED,
    S.IN_SERVICE: [*_TO_ACCEPTED, ("start", ASSIGNEE, {})],
    S.COMPLETED: [*_TO_ACCEPTED, ("start", ASSIGNEE, {}), ("complete", ASSIGNEE, {"note": "已送到"})],
    S.CLOSED: [
        *_TO_ACCEPTED,
        ("start", ASSIGNEE, {}),
        ("complete", ASSIGNEE, {"note": "已送到"}),
        ("rate", OWNER, {"score": 4}),
    ],
    S.REJECTED: [("reject", SECRETARY, {"reason": "不属于服务范围"})],
    S.ESCALATED: [("escalate", SECRETARY, {"department": "城管中队", "due_hours": 24})],
    S.CANCELLED: [("cancel", OWNER, {"reason": "不需要了"})],
}


def drive_to(client: FlaskClient, people: People, world: World, status: OrderStatus) -> int:
    """A fresh order of the owner, brought to ``status`` through the API; its id."""
    new = {"community": world.community, "category": "grocery", "title": "帮忙买菜", "description": "两斤青菜"}
    order = _post(client, "/api/v1/orders", _headers(people, OWNER), new)
    assert order["status"] == "submitted"
    oid = int(order["id"])
    for path, who, step_body in _PATHS[status]:
        body = {**step_body, "volunteer_id": people.volunteer.id} if "volunteer_id" in step_body else step_body
        order = _post(client, f"/api/v1/orders/{oid}/{path}", _headers(people, who), body)
    assert order["status"] == status.value
    return oid


@dataclass(frozen=True)
class Snapshot:
    status: OrderStatus
    version: int
    events: int
    assignee_id: int | None
    level: str | None
    last_urged_at: datetime | None
    updated_at: datetime


def snapshot(rt: Runtime, oid: int) -> Snapshot:
    with rt.db.read() as session:
        order = session.get(Order, oid)
        assert order is not None
        events = session.scalar(sa.select(sa.func.count()).select_from(OrderEvent).where(OrderEvent.order_id == oid))
        return Snapshot(
            status=order.status,
            version=order.version,
            events=int(events or 0),
            assignee_id=order.assignee_id,
            level=order.level.value if order.level else None,
            last_urged_at=order.last_urged_at,
            updated_at=order.updated_at,
        )


def test_the_allowed_pairs_are_the_documented_ones() -> None:
    allowed = {(a.name, s) for a in API_ACTIONS for s in a.allowed}
    # 14 API actions (dispatch counted twice) over 10 statuses: 26 allowed pairs, 124 refused.
    assert len(allowed) == 26
    assert len(API_ACTIONS) * len(OrderStatus) - len(allowed) == 124


@pytest.mark.parametrize("status", list(OrderStatus), ids=lambda s: s.value)
def test_actions_not_allowed_in_a_status_are_refused_and_change_nothing(
    client: FlaskClient, rt: Runtime, status: OrderStatus
) -> None:
    world = make_world(rt)
    people = _people(client, rt, world)
    refused = [a for a in API_ACTIONS if status not in a.allowed]
    assert refused, status  # every status refuses something
    for action in refused:
        oid = drive_to(client, people, world, status)
        before = snapshot(rt, oid)
        response = client.post(
            f"/api/v1/orders/{oid}/{action.path}",
            json=_body(action, people),
            headers=_headers(people, actor_for(action, status)),
        )
        got = (response.status_code, response.get_json()["error"]["code"])
        assert got == expected_refusal(action, status), (action.name, status.value, response.get_json())
        assert snapshot(rt, oid) == before, (action.name, status.value)


def test_claim_answers_by_what_the_caller_may_see(client: FlaskClient, rt: Runtime) -> None:
    """A plain volunteer who never could see an order gets 404 for it, as for any hidden order;
    one who saw it in the pool learns it was taken; non-volunteers who see it get 403."""
    world = make_world(rt)
    people = _people(client, rt, world)
    volunteer = _headers(people, OTHER_VOLUNTEER)
    cases: list[tuple[OrderStatus, str, tuple[int, str]]] = [
        (S.SUBMITTED, OTHER_VOLUNTEER, (404, "not_found")),
        (S.ASSIGNED, OTHER_VOLUNTEER, (404, "not_found")),
        (S.POOLED, OWNER, (403, "forbidden")),
        (S.POOLED, SECRETARY, (403, "forbidden")),
    ]
    for status, who, expected in cases:
        oid = drive_to(client, people, world, status)
        before = snapshot(rt, oid)
        response = client.post(f"/api/v1/orders/{oid}/claim", json={}, headers=_headers(people, who))
        assert (response.status_code, response.get_json()["error"]["code"]) == expected, (status.value, who)
        assert snapshot(rt, oid) == before
    # Claimed from the pool by someone else: the loser of the race is told so.
    oid = drive_to(client, people, world, S.POOLED)
    _post(client, f"/api/v1/orders/{oid}/claim", _headers(people, ASSIGNEE), {})
    late = client.post(f"/api/v1/orders/{oid}/claim", json={}, headers=volunteer)
    assert (late.status_code, late.get_json()["error"]["code"]) == (409, "already_claimed")
