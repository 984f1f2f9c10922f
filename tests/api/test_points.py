"""The time-bank ledger through the API: what a rating earns, held points and the return visit's
decision, a dispute after closing, the volunteer's statement, the secretary's adjustments.

The grocery category of ``make_world`` earns 5 points an hour; ``[timebank]`` as shipped counts at
least one hour and adds 2 points for 5 stars."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.audit.models import AuditEntry, AuditKind
from app.core.clock import now_utc
from app.identity.roles import Role
from app.orders.actions import ActionInput, Target, act
from app.orders.models import Order, OrderEvent, Rating, ReturnVisit
from app.orders.workflow import Action, OrderStatus
from app.runtime import Runtime
from app.timebank.ledger import PointsEntry
from app.volunteers.teams import create_team
from tests.factories import People, Person, World, make_order, make_people, make_person, make_world

S = OrderStatus


@pytest.fixture
def people(rt: Runtime, client: FlaskClient) -> People:
    return make_people(rt, make_world(rt), client=client)


def _completed(rt: Runtime, people: People, *, worked_minutes: int | None = None) -> int:
    """An order dispatched to volunteer-li, started and completed; ``worked_minutes``: its start
    moved that far before the completion."""
    order_id = make_order(rt, people, World(), status=S.COMPLETED)
    if worked_minutes is not None:
        with rt.db.write() as session:
            completed_at = session.scalar(sa.select(Order.completed_at).where(Order.id == order_id))
            assert completed_at is not None
            session.execute(
                sa.update(OrderEvent)
                .where(OrderEvent.order_id == order_id, OrderEvent.action == Action.START)
                .values(created_at=completed_at - timedelta(minutes=worked_minutes))
            )
    return order_id


def _post(client: FlaskClient, who: Person, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json=body, headers=who.headers)


def _rate(client: FlaskClient, people: People, order_id: int, score: int) -> Any:
    return _post(client, people.resident, f"/api/v1/orders/{order_id}/rate", {"score": score, "comment": "好"})


def _ledger(rt: Runtime, user_id: int) -> list[tuple[str | None, int, int | None, int | None, int | None]]:
    """(kind, delta, settlement, minutes, held_points) of the user's entries, oldest first."""
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(
                PointsEntry.kind,
                PointsEntry.delta,
                PointsEntry.settlement,
                PointsEntry.minutes,
                PointsEntry.held_points,
            )
            .where(PointsEntry.user_id == user_id)
            .order_by(PointsEntry.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _points(client: FlaskClient, who: Person, query: str = "") -> Any:
    response = client.get(f"/api/v1/points{query}", headers=who.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _inbox(client: FlaskClient, who: Person) -> list[str]:
    page = client.get("/api/v1/notifications", headers=who.headers).get_json()
    return [f"{item['title']} {item['body']}" for item in page["items"]]


def _visit(client: FlaskClient, people: People, order_id: int, reason: str = "low_rating") -> dict[str, Any]:
    items = client.get("/api/v1/return-visits", headers=people.secretary.headers).get_json()["items"]
    return next(v for v in items if v["order_id"] == order_id and v["reason"] == reason)


def _snapshot(rt: Runtime) -> tuple[int, int, int, int]:
    with rt.db.read() as session:
        return (
            session.scalar(sa.select(sa.func.count()).select_from(PointsEntry)) or 0,
            session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) or 0,
            session.scalar(sa.select(sa.func.count()).select_from(ReturnVisit).where(ReturnVisit.done.is_(True))) or 0,
            session.scalar(sa.select(sa.func.sum(Order.version))) or 0,
        )


# -- the statement ---------------------------------------------------------------------------------


def test_only_volunteers_have_a_statement(client: FlaskClient, people: People) -> None:
    for who in (people.resident, people.secretary):
        response = client.get("/api/v1/points", headers=who.headers)
        assert (response.status_code, response.get_json()["error"]["code"]) == (403, "forbidden")
    assert client.get("/api/v1/points").status_code == 401
    assert _points(client, people.volunteer) == {"balance": 0, "held": 0, "items": [], "next_cursor": None}


# -- earning ---------------------------------------------------------------------------------------


def test_a_rating_pays_the_hours_worked_and_the_five_star_bonus(
    client: FlaskClient, rt: Runtime, people: People
) -> None:
    order_id = _completed(rt, people, worked_minutes=140)  # 140 min → 2.5 h → 12.5 → 13 points
    assert _rate(client, people, order_id, 5).status_code == 200
    statement = _points(client, people.volunteer)
    assert statement["balance"] == 13 + 2
    [item] = statement["items"]
    assert {k: item[k] for k in ("delta", "kind", "reason", "label", "order_id", "minutes", "held_points")} == {
        "delta": 15,
        "kind": "earned",
        "reason": "order_rated",
        "label": "完成服务并获评价",
        "order_id": order_id,
        "minutes": 150,
        "held_points": None,
    }
    assert item["kind_label"] == "服务积分"
    assert item["at"].endswith("+08:00")
    assert any("积分 +15" in text for text in _inbox(client, people.volunteer))
    me = client.get("/api/v1/me", headers=people.volunteer.headers).get_json()
    assert me["points_balance"] == 15


def test_an_order_completed_without_a_start_counts_the_default_hours(
    client: FlaskClient, rt: Runtime, people: People
) -> None:
    world = World()
    order_id = make_order(rt, people, world, status=S.ACCEPTED)
    act(rt, people.volunteer.actor(rt), order_id, Action.COMPLETE, ActionInput())
    assert _rate(client, people, order_id, 4).status_code == 200
    assert _ledger(rt, people.volunteer.id) == [("earned", 5, 1, 60, None)]


def test_a_team_order_pays_the_member_who_accepted_it(client: FlaskClient, rt: Runtime, people: People) -> None:
    world = World()
    with rt.db.write() as session:
        team_id = create_team(
            session, world.community, "先锋队", [people.volunteer.openid, people.other_volunteer.openid]
        ).id
    order_id = make_order(rt, people.resident, world)
    act(rt, people.secretary.actor(rt), order_id, Action.DISPATCH, ActionInput(target=Target(team_id=team_id)))
    member = people.other_volunteer.actor(rt)
    for action in (Action.ACCEPT, Action.START, Action.COMPLETE):
        act(rt, member, order_id, action, ActionInput())
    assert _rate(client, people, order_id, 4).status_code == 200
    assert _ledger(rt, people.other_volunteer.id) == [("earned", 5, 1, 60, None)]
    assert _ledger(rt, people.volunteer.id) == []


# -- held points and the return visit ----------------------------------------------------------------


def test_a_low_rating_holds_the_points_until_the_return_visit_pays_them(
    client: FlaskClient, rt: Runtime, people: People
) -> None:
    order_id = _completed(rt, people, worked_minutes=90)
    assert _rate(client, people, order_id, 2).status_code == 200
    held = _points(client, people.volunteer)
    assert (held["balance"], held["held"]) == (0, 8)
    assert [(i["kind"], i["delta"], i["held_points"]) for i in held["items"]] == [("held", 0, 8)]
    assert any("8 积分待社区回访后确认" in text for text in _inbox(client, people.volunteer))
    visit = _visit(client, people, order_id)
    assert visit["held_points"] == 8

    # Bad paths first: no decision while points are held; nothing changes.
    before = _snapshot(rt)
    path = f"/api/v1/return-visits/{visit['id']}"
    missing = _post(client, people.secretary, path, {"note": "已回访"})
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (400, "invalid_input")
    assert missing.get_json()["error"]["details"]["held_points"] == 8
    wrong = _post(client, people.secretary, path, {"note": "已回访", "points": "maybe"})
    assert wrong.status_code == 400
    assert _snapshot(rt) == before

    paid = _post(client, people.secretary, path, {"note": "居民说其实还行", "points": "pay"})
    assert paid.status_code == 200, paid.get_json()
    assert (paid.get_json()["done"], paid.get_json()["held_points"]) == (True, None)
    after = _points(client, people.volunteer)
    assert (after["balance"], after["held"]) == (8, 0)
    assert [(i["kind"], i["delta"], i["label"]) for i in after["items"]] == [
        ("released", 8, "回访后发放"),
        ("held", 0, "完成服务并获评价"),
    ]
    assert any("积分 +8" in text for text in _inbox(client, people.volunteer))
    # Recorded once: a second call, with or without a decision, changes nothing.
    assert _post(client, people.secretary, path, {"note": "再次回访", "points": "pay"}).status_code == 409
    assert _points(client, people.volunteer)["balance"] == 8


def test_a_return_visit_may_withhold_held_points(client: FlaskClient, rt: Runtime, people: People) -> None:
    order_id = _completed(rt, people)
    assert _rate(client, people, order_id, 1).status_code == 200
    visit = _visit(client, people, order_id)
    withheld = _post(
        client, people.secretary, f"/api/v1/return-visits/{visit['id']}", {"note": "确实没做好", "points": "withhold"}
    )
    assert withheld.status_code == 200
    assert _ledger(rt, people.volunteer.id) == [("held", 0, 1, 60, 5), ("forfeited", 0, 1, -60, None)]
    statement = _points(client, people.volunteer)
    assert (statement["balance"], statement["held"]) == (0, 0)
    assert any("未予发放" in text for text in _inbox(client, people.volunteer))


def test_a_decision_where_no_points_are_held_is_409_and_records_nothing(
    client: FlaskClient, rt: Runtime, people: People
) -> None:
    order_id = _completed(rt, people)
    dispute = _post(client, people.resident, f"/api/v1/orders/{order_id}/dispute", {"reason": "灯还是不亮"})
    assert dispute.status_code == 200
    visit = _visit(client, people, order_id, reason="dispute")
    before = _snapshot(rt)
    refused = _post(
        client, people.secretary, f"/api/v1/return-visits/{visit['id']}", {"note": "已回访", "points": "pay"}
    )
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "conflict")
    assert _snapshot(rt) == before
    assert (
        _post(client, people.secretary, f"/api/v1/return-visits/{visit['id']}", {"note": "已回访"}).status_code == 200
    )


# -- exactly once ------------------------------------------------------------------------------------


def test_a_retried_rating_pays_once(client: FlaskClient, rt: Runtime, people: People) -> None:
    order_id = _completed(rt, people)
    assert _rate(client, people, order_id, 5).status_code == 200
    again = _rate(client, people, order_id, 5)
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "invalid_transition")
    assert _ledger(rt, people.volunteer.id) == [("earned", 7, 1, 60, None)]


# -- a dispute after closing ----------------------------------------------------------------------------


def test_a_dispute_after_closing_reverses_the_points_and_a_new_rating_earns_again(
    client: FlaskClient, rt: Runtime, people: People
) -> None:
    order_id = _completed(rt, people)
    assert _rate(client, people, order_id, 5).status_code == 200
    reopened = _post(client, people.resident, f"/api/v1/orders/{order_id}/dispute", {"reason": "第二天又坏了"})
    assert reopened.status_code == 200, reopened.get_json()
    order = reopened.get_json()["order"]
    assert (order["status"], order["assignee"]["id"]) == ("accepted", people.volunteer.id)
    assert _ledger(rt, people.volunteer.id) == [("earned", 7, 1, 60, None), ("reversed", -7, 1, -60, None)]
    statement = _points(client, people.volunteer)
    assert statement["balance"] == 0 == sum(item["delta"] for item in statement["items"])
    assert statement["items"][0]["label"] == "居民申诉，工单重新处理"
    assert any("积分 -7" in text for text in _inbox(client, people.volunteer))
    assert _visit(client, people, order_id, reason="dispute")["comment"] == "第二天又坏了"

    # Done again and rated again: the second settlement earns, once.
    assert _post(client, people.volunteer, f"/api/v1/orders/{order_id}/complete", {}).status_code == 200
    assert _rate(client, people, order_id, 4).status_code == 200
    assert _ledger(rt, people.volunteer.id)[2:] == [("earned", 5, 2, 60, None)]
    statement = _points(client, people.volunteer)
    assert statement["balance"] == 5 == sum(item["delta"] for item in statement["items"])
    detail = client.get(f"/api/v1/orders/{order_id}", headers=people.resident.headers).get_json()["order"]
    assert detail["rating"]["score"] == 4
    # The statistics count the score kept on the order: the latest rating's, as the row says.
    with rt.db.read() as session:
        kept = session.execute(
            sa.select(Order.rating_score, Rating.score)
            .join(Rating, Rating.order_id == Order.id)
            .where(Order.id == order_id)
        ).one()
    assert tuple(kept) == (4, 4)


def test_a_dispute_after_the_window_is_refused_and_changes_nothing(
    client: FlaskClient, rt: Runtime, people: People
) -> None:
    order_id = _completed(rt, people)
    assert _rate(client, people, order_id, 5).status_code == 200
    days = rt.settings.timebank.dispute_window_days
    with rt.db.write() as session:
        session.execute(
            sa.update(Order).where(Order.id == order_id).values(closed_at=now_utc() - timedelta(days=days, minutes=1))
        )
    before = _snapshot(rt)
    late = _post(client, people.resident, f"/api/v1/orders/{order_id}/dispute", {"reason": "又坏了"})
    assert (late.status_code, late.get_json()["error"]["code"]) == (409, "invalid_transition")
    assert _snapshot(rt) == before
    assert _ledger(rt, people.volunteer.id) == [("earned", 7, 1, 60, None)]


def test_reopening_an_order_whose_points_are_held_forfeits_the_hold(
    client: FlaskClient, rt: Runtime, people: People
) -> None:
    order_id = _completed(rt, people)
    assert _rate(client, people, order_id, 2).status_code == 200
    assert _post(client, people.resident, f"/api/v1/orders/{order_id}/dispute", {"reason": "没修好"}).status_code == 200
    # Nothing was paid, so nothing is reversed: the hold is closed, its minutes no longer count.
    assert _ledger(rt, people.volunteer.id) == [("held", 0, 1, 60, 5), ("forfeited", 0, 1, -60, None)]
    visit = _visit(client, people, order_id)
    assert visit["held_points"] is None
    late = _post(client, people.secretary, f"/api/v1/return-visits/{visit['id']}", {"note": "已回访", "points": "pay"})
    assert late.status_code == 409
    assert _points(client, people.volunteer)["balance"] == 0


# -- paging and the export -------------------------------------------------------------------------------


def test_the_statement_pages_newest_first_and_the_export_has_every_kind(
    client: FlaskClient, rt: Runtime, people: People
) -> None:
    for score in (5, 4, 3):
        assert _rate(client, people, _completed(rt, people), score).status_code == 200
    first = _points(client, people.volunteer, "?limit=2")
    assert [item["delta"] for item in first["items"]] == [5, 5]
    assert first["next_cursor"]
    second = _points(client, people.volunteer, f"?limit=2&cursor={first['next_cursor']}")
    assert ([item["delta"] for item in second["items"]], second["next_cursor"]) == ([7], None)
    assert first["balance"] == second["balance"] == 17
    assert client.get("/api/v1/points?cursor=!!", headers=people.volunteer.headers).status_code == 400

    export = client.get("/api/v1/me/export", headers=people.volunteer.headers).get_json()
    assert export["points_balance"] == 17 == sum(entry["delta"] for entry in export["points"])
    assert {(entry["kind"], entry["label"], entry["minutes"]) for entry in export["points"]} == {
        ("earned", "完成服务并获评价", 60)
    }


# -- adjustments ---------------------------------------------------------------------------------------------

ADJUST = "/api/v1/points/adjustments"


def test_adjustments_refuse_bad_callers_and_bad_bodies_and_change_nothing(
    client: FlaskClient, rt: Runtime, people: People
) -> None:
    world = World()
    elsewhere = make_person(rt, "volunteer-sq2", (Role.VOLUNTEER, world.other_community), client=client)
    other_secretary = make_person(rt, "secretary-sq2", (Role.SECRETARY, world.other_community), client=client)
    ok = {"volunteer_id": people.volunteer.id, "delta": 5, "reason": "补登记的服务"}
    before = _snapshot(rt)
    cases: list[tuple[Person, dict[str, Any], int, str]] = [
        (people.volunteer, ok, 403, "forbidden"),
        (people.resident, ok, 403, "forbidden"),
        (people.grid_worker, ok, 403, "forbidden"),
        (people.secretary, {**ok, "volunteer_id": elsewhere.id}, 404, "not_found"),
        (other_secretary, ok, 404, "not_found"),
        (people.secretary, {**ok, "volunteer_id": people.resident.id}, 404, "not_found"),
        (people.secretary, {**ok, "volunteer_id": 99_999}, 404, "not_found"),
        (people.secretary, {**ok, "reason": ""}, 400, "invalid_input"),
        (people.secretary, {**ok, "reason": "   "}, 400, "invalid_input"),
        (people.secretary, {"volunteer_id": people.volunteer.id, "delta": 5}, 400, "invalid_input"),
        (people.secretary, {**ok, "delta": 0}, 400, "invalid_input"),
        (people.secretary, {**ok, "delta": "five"}, 400, "invalid_input"),
        (people.secretary, {**ok, "delta": 1.5}, 400, "invalid_input"),
        (people.secretary, {**ok, "delta": 10_001}, 400, "invalid_input"),
        (people.secretary, {**ok, "delta": -1}, 409, "insufficient_points"),
        (people.secretary, {**ok, "reason": "这是违规测试"}, 422, "content_rejected"),
    ]
    for who, body, status, code in cases:
        response = _post(client, who, ADJUST, body)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), (who.openid, body)
    assert _snapshot(rt) == before
    assert _inbox(client, people.volunteer) == []


def test_an_adjustment_is_an_audited_entry_the_volunteer_hears_of(
    client: FlaskClient, rt: Runtime, people: People
) -> None:
    added = _post(
        client, people.secretary, ADJUST, {"volunteer_id": people.volunteer.id, "delta": 10, "reason": "补登记"}
    )
    assert added.status_code == 201, added.get_json()
    entry = added.get_json()["entry"]
    assert {k: entry[k] for k in ("delta", "kind", "reason", "label", "order_id")} == {
        "delta": 10,
        "kind": "adjusted",
        "reason": "补登记",
        "label": "补登记",
        "order_id": None,
    }
    taken = _post(
        client, people.secretary, ADJUST, {"volunteer_id": people.volunteer.id, "delta": -10, "reason": "重复"}
    )
    assert taken.status_code == 201
    below = _post(
        client, people.secretary, ADJUST, {"volunteer_id": people.volunteer.id, "delta": -1, "reason": "再扣"}
    )
    assert (below.status_code, below.get_json()["error"]["code"]) == (409, "insufficient_points")
    assert below.get_json()["error"]["details"] == {"balance": 0, "delta": -1}

    assert _points(client, people.volunteer)["balance"] == 0
    with rt.db.read() as session:
        audit = session.execute(
            sa.select(AuditEntry.actor_id, AuditEntry.subject_id, AuditEntry.detail)
            .where(AuditEntry.kind == AuditKind.POINTS_ADJUSTED)
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(row) for row in audit] == [
        (people.secretary.id, people.volunteer.id, "+10"),
        (people.secretary.id, people.volunteer.id, "-10"),
    ]
    inbox = _inbox(client, people.volunteer)
    assert any("积分 +10（补登记）" in text for text in inbox)
    assert any("积分 -10（重复）" in text for text in inbox)
    trail = client.get("/api/v1/audit/entries?area=SQ1&kind=points_adjusted", headers=people.secretary.headers)
    assert trail.status_code == 200, trail.get_json()
    assert len(trail.get_json()["items"]) == 2
