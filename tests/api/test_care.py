"""Care (关爱) over HTTP: tags on households and care plans. Bad paths first: refused roles (403),
other communities' and grids' households and plans (404, as for a missing one), malformed bodies
and schedules (400 naming the field); nothing written on any. Then the happy paths, the audit
trail, and where tags must never appear (order answers, pickers, the resident's own profile)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask.testing import FlaskClient

from app.areas.models import AreaKind
from app.areas.tree import create_area
from app.audit.models import AuditEntry, AuditKind
from app.care.models import CarePlan, CareVisit, HouseholdCareTag
from app.care.visits import run_care_visits
from app.core.clock import SHANGHAI
from app.identity.roles import Role
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from tests.factories import People, Person, World, make_order, make_people, make_person, make_world

#: "Today" for every test here: Tuesday 2026-12-01, 10:00 Shanghai.
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
NOTE = "子女在外地，独居多年"


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


class Cast:
    def __init__(self, client: FlaskClient, rt: Runtime) -> None:
        self.world: World = make_world(rt)
        with rt.db.write() as session:
            create_area(session, AreaKind.GRID, "SQ1-G2", "向阳小区", self.world.community)
        self.people: People = make_people(rt, self.world, client=client)
        self.g1_worker = make_person(rt, "gw-g1", (Role.GRID_WORKER, self.world.grid), client=client)
        self.g2_worker = make_person(rt, "gw-g2", (Role.GRID_WORKER, "SQ1-G2"), client=client)
        self.sq2_secretary = make_person(rt, "sec-sq2", (Role.SECRETARY, self.world.other_community), client=client)
        self.sq2_volunteer = make_person(rt, "vol-sq2", (Role.VOLUNTEER, self.world.other_community), client=client)
        self.sq2_resident = make_person(
            rt, "res-sq2", home=(self.world.other_community, self.world.other_grid), client=client
        )
        self.g2_resident = make_person(rt, "res-g2", home=(self.world.community, "SQ1-G2"), client=client)


@pytest.fixture
def cast(client: FlaskClient, rt: Runtime) -> Cast:
    return Cast(client, rt)


def _counts(rt: Runtime) -> tuple[int, ...]:
    with rt.db.read() as session:
        return tuple(
            session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            for table in (HouseholdCareTag, CarePlan, CareVisit, AuditEntry)
        )


def _call(client: FlaskClient, method: str, path: str, who: Person, body: Any = None) -> Any:
    return client.open(path, method=method, json=body, headers=who.headers)


def _tags_path(person: Person) -> str:
    return f"/api/v1/households/{person.id}/care-tags"


def _plan_body(cast: Cast, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "household": cast.people.resident.id,
        "volunteer": cast.people.volunteer.id,
        "category": "grocery",
        "every": "week",
        "weekday": 3,
        "time": "09:30",
        "starts_on": "2026-12-01",
        "note": "看看药够不够",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


# -- bad paths -----------------------------------------------------------------------------------


def test_callers_without_a_care_role_are_refused(client: FlaskClient, rt: Runtime, cast: Cast) -> None:
    before = _counts(rt)
    p = cast.people
    for who in (p.resident, p.volunteer, p.street_admin):
        for method, path, body in (
            ("GET", "/api/v1/care/tags", None),
            ("GET", "/api/v1/care/households?area=SQ1", None),
            ("PUT", _tags_path(p.resident), {"tags": [{"tag": "living_alone"}]}),
            ("POST", "/api/v1/care/plans", _plan_body(cast)),
            ("GET", "/api/v1/care/plans?area=SQ1", None),
        ):
            answer = _call(client, method, path, who, body)
            assert (answer.status_code, answer.get_json()["error"]["code"]) == (403, "forbidden"), (who, path)
    assert _counts(rt) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tags": [{"tag": "rich"}]}, "tags.0.tag"),
        ({"tags": [{"tag": "living_alone"}, {"tag": "living_alone", "note": "x"}]}, "tags.1.tag"),
        ({"tags": [{"tag": "hardship", "note": "长" * 101}]}, "tags.0.note"),
        ({"tags": [{"tag": "hardship", "level": 3}]}, "tags.0.level"),
        ({}, "tags"),
    ],
)
def test_malformed_tags_are_400_naming_the_field_and_write_nothing(
    client: FlaskClient, rt: Runtime, cast: Cast, body: dict[str, Any], field: str
) -> None:
    before = _counts(rt)
    answer = _call(client, "PUT", _tags_path(cast.people.resident), cast.people.secretary, body)
    assert answer.status_code == 400, answer.get_json()
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert field in json.dumps(error["details"]["fields"], ensure_ascii=False), error
    assert _counts(rt) == before


def test_households_of_another_community_or_grid_are_404_like_missing_ones(
    client: FlaskClient, rt: Runtime, cast: Cast
) -> None:
    before = _counts(rt)
    body = {"tags": [{"tag": "living_alone"}]}
    missing = _call(client, "PUT", "/api/v1/households/999999/care-tags", cast.people.secretary, body)
    assert missing.status_code == 404
    for who, household in (
        (cast.people.secretary, cast.sq2_resident),  # another community
        (cast.sq2_secretary, cast.people.resident),
        (cast.g2_worker, cast.people.resident),  # another grid of the same community
        (cast.g1_worker, cast.g2_resident),
    ):
        answer = _call(client, "PUT", _tags_path(household), who, body)
        assert (answer.status_code, answer.get_json()) == (404, missing.get_json()), (who, household)
    for who, area in ((cast.people.secretary, "SQ2"), (cast.g1_worker, "SQ1-G2"), (cast.sq2_secretary, "SQ1-G1")):
        for path in (f"/api/v1/care/households?area={area}", f"/api/v1/care/plans?area={area}"):
            assert _call(client, "GET", path, who).status_code == 404, (who, path)
    assert _call(client, "GET", "/api/v1/care/households?area=NOPE", cast.people.secretary).status_code == 404
    assert _call(client, "GET", "/api/v1/care/households?area=SQ1&tag=rich", cast.people.secretary).status_code == 400
    assert _counts(rt) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"weekday": None}, "weekday"),
        ({"weekday": 8}, "weekday"),
        ({"every": "month", "weekday": None}, "day"),
        ({"every": "month", "weekday": None, "day": 0}, "day"),
        ({"every": "daily"}, "every"),
        ({"time": "25:00"}, "time"),
        ({"time": "9点"}, "time"),
        ({"starts_on": "2026-11-30"}, "starts_on"),
        ({"ends_on": "2026-11-30"}, "ends_on"),
        ({"starts_on": "2026-13-01"}, "starts_on"),
        ({"volunteer": 999999}, "volunteer"),
        ({"category": "nope"}, "category"),
        ({"note": "长" * 201}, "note"),
        ({"household": 0}, "household"),
    ],
)
def test_unusable_plans_are_400_naming_the_field_and_write_nothing(
    client: FlaskClient, rt: Runtime, cast: Cast, changes: dict[str, Any], field: str
) -> None:
    before = _counts(rt)
    answer = _call(client, "POST", "/api/v1/care/plans", cast.people.secretary, _plan_body(cast, **changes))
    assert answer.status_code == 400, answer.get_json()
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert field in json.dumps(error["details"]["fields"]), error
    assert _counts(rt) == before


def test_a_plan_for_another_communitys_household_or_volunteer_is_refused(
    client: FlaskClient, rt: Runtime, cast: Cast
) -> None:
    before = _counts(rt)
    secretary = cast.people.secretary
    foreign_home = _call(
        client, "POST", "/api/v1/care/plans", secretary, _plan_body(cast, household=cast.sq2_resident.id)
    )
    missing_home = _call(client, "POST", "/api/v1/care/plans", secretary, _plan_body(cast, household=999999))
    assert foreign_home.status_code == 404
    assert foreign_home.get_json() == missing_home.get_json()
    other_grid = _call(client, "POST", "/api/v1/care/plans", cast.g2_worker, _plan_body(cast))
    assert other_grid.status_code == 404
    foreign_volunteer = _call(
        client, "POST", "/api/v1/care/plans", secretary, _plan_body(cast, volunteer=cast.sq2_volunteer.id)
    )
    assert foreign_volunteer.status_code == 400
    assert foreign_volunteer.get_json()["error"]["details"]["fields"][0]["field"] == "volunteer"
    not_a_volunteer = _call(client, "POST", "/api/v1/care/plans", secretary, _plan_body(cast, volunteer=secretary.id))
    assert not_a_volunteer.status_code == 400
    assert _counts(rt) == before


def test_plans_of_another_community_are_404_and_bad_changes_400(client: FlaskClient, rt: Runtime, cast: Cast) -> None:
    created = _call(client, "POST", "/api/v1/care/plans", cast.people.secretary, _plan_body(cast))
    assert created.status_code == 201, created.get_json()
    plan_id = created.get_json()["plan"]["id"]
    before = _counts(rt)
    for who in (cast.sq2_secretary, cast.g2_worker):
        for method, path, body in (
            ("PATCH", "/api/v1/care/plans/{}", {"status": "paused"}),
            ("POST", "/api/v1/care/plans/{}/end", {}),
            ("GET", "/api/v1/care/plans/{}/visits", None),
        ):
            answer = _call(client, method, path.format(plan_id), who, body)
            missing = _call(client, method, path.format(999999), who, body)
            assert answer.status_code == 404, (who, path)
            assert answer.get_json() == missing.get_json()
    secretary = cast.people.secretary
    changes: tuple[tuple[dict[str, Any], str], ...] = (
        ({}, "status"),
        ({"status": "ended"}, "status"),
        ({"status": "sleeping"}, "status"),
        ({"volunteer": cast.sq2_volunteer.id}, "volunteer"),
    )
    for change, field in changes:
        answer = _call(client, "PATCH", f"/api/v1/care/plans/{plan_id}", secretary, change)
        assert answer.status_code == 400, (change, answer.get_json())
        assert field in json.dumps(answer.get_json()["error"]["details"]["fields"])
    assert _counts(rt) == before


# -- happy paths ---------------------------------------------------------------------------------


def _audit(rt: Runtime) -> list[tuple[int | None, int | None, str]]:
    with rt.db.read() as session:
        return [
            (actor, subject, detail)
            for actor, subject, detail in session.execute(
                sa.select(AuditEntry.actor_id, AuditEntry.subject_id, AuditEntry.detail)
                .where(AuditEntry.kind == AuditKind.CARE_TAG_CHANGED)
                .order_by(AuditEntry.id)
            )
        ]


def test_tags_are_set_changed_and_cleared_each_change_audited(client: FlaskClient, rt: Runtime, cast: Cast) -> None:
    alice, worker, secretary = cast.people.resident, cast.g1_worker, cast.people.secretary
    vocabulary = _call(client, "GET", "/api/v1/care/tags", worker).get_json()["items"]
    assert {"tag": "living_alone", "label": "独居老人"} in vocabulary
    assert len(vocabulary) == 5
    first = _call(client, "PUT", _tags_path(alice), worker, {"tags": [{"tag": "living_alone", "note": NOTE}]})
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["tags"][0] | {"set_at": None} == {
        "tag": "living_alone",
        "label": "独居老人",
        "note": NOTE,
        "set_at": None,
    }
    same = {"tags": [{"tag": "living_alone", "note": NOTE}, {"tag": "elderly_80"}]}
    assert _call(client, "PUT", _tags_path(alice), secretary, same).status_code == 200
    assert _call(client, "PUT", _tags_path(alice), secretary, same).status_code == 200  # no change: no entry
    changed = {"tags": [{"tag": "living_alone", "note": "已与子女联系"}, {"tag": "elderly_80"}]}
    assert _call(client, "PUT", _tags_path(alice), secretary, changed).status_code == 200
    cleared = _call(client, "PUT", _tags_path(alice), secretary, {"tags": []})
    assert cleared.get_json() == {"household": alice.id, "tags": []}
    assert _audit(rt) == [
        (worker.id, alice.id, "living_alone:set"),
        (secretary.id, alice.id, "elderly_80:set"),
        (secretary.id, alice.id, "living_alone:changed"),
        (secretary.id, alice.id, "elderly_80:cleared"),  # in the order of the tags' codes
        (secretary.id, alice.id, "living_alone:cleared"),
    ]
    listed = _call(client, "GET", "/api/v1/audit/entries?area=SQ1&kind=care_tag_changed", secretary).get_json()
    assert [entry["kind_label"] for entry in listed["items"]] == ["关爱标签"] * 5


def test_staff_list_tagged_households_by_area_and_tag_in_pages(client: FlaskClient, rt: Runtime, cast: Cast) -> None:
    secretary = cast.people.secretary
    _call(client, "PUT", _tags_path(cast.people.resident), secretary, {"tags": [{"tag": "living_alone"}]})
    _call(
        client, "PUT", _tags_path(cast.g2_resident), secretary, {"tags": [{"tag": "hardship"}, {"tag": "living_alone"}]}
    )
    _call(client, "PUT", _tags_path(cast.sq2_resident), cast.sq2_secretary, {"tags": [{"tag": "living_alone"}]})

    def households(who: Person, query: str) -> list[int]:
        answer = _call(client, "GET", f"/api/v1/care/households?{query}", who)
        assert answer.status_code == 200, answer.get_json()
        return [item["household"] for item in answer.get_json()["items"]]

    assert households(secretary, "area=SQ1") == [cast.people.resident.id, cast.g2_resident.id]
    assert households(secretary, "area=SQ1&tag=hardship") == [cast.g2_resident.id]
    assert households(secretary, "area=SQ1-G1") == [cast.people.resident.id]
    assert households(cast.g1_worker, "area=SQ1") == [cast.people.resident.id]  # only their grid
    assert households(cast.sq2_secretary, "area=SQ2") == [cast.sq2_resident.id]
    first = _call(client, "GET", "/api/v1/care/households?area=SQ1&limit=1", secretary).get_json()
    assert [item["household"] for item in first["items"]] == [cast.people.resident.id]
    assert first["items"][0]["has_wechat"] is True
    assert first["items"][0]["grid"]["code"] == "SQ1-G1"
    second = _call(client, "GET", f"/api/v1/care/households?area=SQ1&limit=1&cursor={first['next_cursor']}", secretary)
    assert [item["household"] for item in second.get_json()["items"]] == [cast.g2_resident.id]
    assert second.get_json()["next_cursor"] is None


def test_tags_never_reach_residents_volunteers_or_order_answers(client: FlaskClient, rt: Runtime, cast: Cast) -> None:
    p = cast.people
    _call(client, "PUT", _tags_path(p.resident), p.secretary, {"tags": [{"tag": "living_alone", "note": NOTE}]})
    order_id = make_order(rt, p, cast.world, status=OrderStatus.ACCEPTED)
    words = ("living_alone", "独居老人", NOTE, "care_tags")
    seen: list[tuple[str, str]] = []
    for who, path in (
        (p.volunteer, f"/api/v1/orders/{order_id}"),
        (p.volunteer, "/api/v1/orders?scope=assigned"),
        (p.secretary, f"/api/v1/orders/{order_id}"),
        (p.secretary, "/api/v1/orders?scope=community"),
        (p.secretary, f"/api/v1/orders/{order_id}/candidates"),
        (p.secretary, "/api/v1/volunteers?community=SQ1"),
        (p.resident, "/api/v1/me"),
        (p.resident, f"/api/v1/orders/{order_id}"),
        (p.volunteer, "/api/v1/me"),
        (cast.sq2_secretary, "/api/v1/care/households?area=SQ1"),
    ):
        answer = _call(client, "GET", path, who)
        seen.append((path, answer.get_data(as_text=True)))
    assert all(not any(word in text for word in words) for _, text in seen), [
        path for path, text in seen if any(word in text for word in words)
    ]
    # The resident's own export holds them: the right of access.
    export = client.get("/api/v1/me/export", headers=p.resident.headers).get_json()
    assert [(t["tag"], t["label"], t["note"]) for t in export["care_tags"]] == [("living_alone", "独居老人", NOTE)]
    assert client.get("/api/v1/me/export", headers=p.volunteer.headers).get_json()["care_tags"] == []


def test_a_plan_is_made_listed_paused_handed_over_and_ended(client: FlaskClient, rt: Runtime, cast: Cast) -> None:
    worker, secretary = cast.g1_worker, cast.people.secretary
    created = _call(client, "POST", "/api/v1/care/plans", worker, _plan_body(cast))
    assert created.status_code == 201, created.get_json()
    plan = created.get_json()["plan"]
    assert (plan["every_label"], plan["weekday"], plan["time"], plan["status"]) == ("每周", 3, "09:30", "active")
    assert plan["household"] == {"id": cast.people.resident.id, "name": plan["household"]["name"]}
    monthly = _call(
        client, "POST", "/api/v1/care/plans", secretary, _plan_body(cast, every="month", weekday=None, day=31)
    )
    assert monthly.status_code == 201, monthly.get_json()
    listed = _call(client, "GET", "/api/v1/care/plans?area=SQ1", worker).get_json()
    assert [item["id"] for item in listed["items"]] == [monthly.get_json()["plan"]["id"], plan["id"]]
    assert _call(client, "GET", "/api/v1/care/plans?area=SQ1-G2", cast.g2_worker).get_json()["items"] == []
    paused = _call(client, "PATCH", f"/api/v1/care/plans/{plan['id']}", secretary, {"status": "paused"})
    assert paused.get_json()["plan"]["status_label"] == "已暂停"
    only_paused = _call(client, "GET", "/api/v1/care/plans?area=SQ1&status=paused", secretary).get_json()["items"]
    assert [item["id"] for item in only_paused] == [plan["id"]]
    handed = _call(
        client,
        "PATCH",
        f"/api/v1/care/plans/{plan['id']}",
        secretary,
        {"status": "active", "volunteer": cast.people.other_volunteer.id},
    )
    assert (handed.get_json()["plan"]["status"], handed.get_json()["plan"]["volunteer"]["id"]) == (
        "active",
        cast.people.other_volunteer.id,
    )
    # The job makes Wednesday's visit a day ahead; the visits list shows it with its order.
    tuesday = datetime.combine(date(2026, 12, 1), time(10), tzinfo=SHANGHAI).astimezone(UTC)
    assert run_care_visits(rt, tuesday).made == 1
    visits = _call(client, "GET", f"/api/v1/care/plans/{plan['id']}/visits", worker).get_json()["items"]
    assert [(v["on_date"], v["state"], v["state_label"]) for v in visits] == [("2026-12-02", "scheduled", "待探访")]
    assert visits[0]["order_number"]
    assert visits[0]["due_start"] == "2026-12-02T09:30:00+08:00"
    ended = _call(client, "POST", f"/api/v1/care/plans/{plan['id']}/end", worker, {})
    assert (ended.get_json()["plan"]["status"], ended.get_json()["plan"]["ends_on"]) == ("ended", "2026-12-01")
    again = _call(client, "POST", f"/api/v1/care/plans/{plan['id']}/end", worker, {})
    assert again.get_json() == ended.get_json()
    refused = _call(client, "PATCH", f"/api/v1/care/plans/{plan['id']}", secretary, {"status": "active"})
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "conflict")
    assert run_care_visits(rt, tuesday + timedelta(days=7)).made == 0
