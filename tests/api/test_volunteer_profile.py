"""The volunteer registry over HTTP (GET/PUT /me/volunteer): every rule refused with a 400 naming
the field and nothing written, only volunteers, skills from their community's catalogue; then what
is kept, and where it shows (GET /me, the dispatcher's picker)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.models import Base
from app.runtime import Runtime
from app.volunteers.catalogue import add_skill
from app.volunteers.models import UserSkill, VolunteerAvailability, VolunteerProfile
from tests.factories import People, World, make_people, make_world

GOOD: dict[str, Any] = {
    "skills": ["electrician", "escort"],
    "availability": [
        {"weekday": 3, "start": "09:00", "end": "12:00"},
        {"weekday": 3, "start": "14:00", "end": "24:00"},
        {"weekday": 7, "start": "00:00", "end": "08:30"},
    ],
    "max_active": 2,
    "party_member": True,
    "in_service": True,
    "employer_unit": "区税务局",
    "unit_hours": 40,
}


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def people(rt: Runtime, client: FlaskClient, world: World) -> People:
    return make_people(rt, world, client=client)


def _rows(rt: Runtime) -> list[tuple[Any, ...]]:
    """Every row the registry keeps, to see that a refused request wrote nothing."""
    with rt.db.read() as session:
        rows: list[tuple[Any, ...]] = []
        for name in (VolunteerProfile.__tablename__, VolunteerAvailability.__tablename__, UserSkill.__tablename__):
            table = Base.metadata.tables[name]
            rows += [(table.name, *row) for row in session.execute(sa.select(table).order_by(*table.primary_key))]
        return rows


def _put(client: FlaskClient, people: People, body: dict[str, Any]) -> Any:
    return client.put("/api/v1/me/volunteer", json=body, headers=people.volunteer.headers)


def _slots(*slots: tuple[int, str, str]) -> list[dict[str, Any]]:
    return [{"weekday": day, "start": start, "end": end} for day, start, end in slots]


# -- refused --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"skills": ["electrician", "juggling"]}, "skills"),  # in no catalogue
        ({"skills": ["abseiling"]}, "skills"),  # only the other community's catalogue has it
        ({"availability": _slots((0, "09:00", "10:00"))}, "availability.0.weekday"),
        ({"availability": _slots((8, "09:00", "10:00"))}, "availability.0.weekday"),
        ({"availability": [{"weekday": "3", "start": "09:00", "end": "10:00"}]}, "availability.0.weekday"),
        ({"availability": _slots((1, "09:00", "10:00"), (2, "25:00", "26:00"))}, "availability[1]"),
        ({"availability": _slots((1, "9:00", "10:00"))}, "availability[0]"),
        ({"availability": _slots((1, "09:60", "10:00"))}, "availability[0]"),
        ({"availability": _slots((1, "10:00", "10:00"))}, "availability[0]"),
        ({"availability": _slots((1, "12:00", "09:00"))}, "availability[0]"),
        ({"availability": _slots((1, "24:00", "24:00"))}, "availability[0]"),
        # The second slot (in the order sent) overlaps the first.
        ({"availability": _slots((5, "09:00", "12:00"), (5, "11:00", "13:00"))}, "availability[1]"),
        ({"availability": _slots((5, "11:00", "13:00"), (5, "09:00", "12:00"))}, "availability[0]"),
        (
            {"availability": _slots(*[(1 + n % 7, f"{n // 7:02d}:00", f"{n // 7:02d}:30") for n in range(29)])},
            "availability",
        ),
        ({"max_active": 0}, "max_active"),
        ({"max_active": 11}, "max_active"),
        ({"max_active": "2"}, "max_active"),
        ({"party_member": "yes"}, "party_member"),
        ({"party_member": False}, "in_service"),  # 双报到 is for party members
        ({"in_service": False}, "employer_unit"),  # a unit only with 双报到
        ({"in_service": False, "employer_unit": None}, "unit_hours"),
        ({"employer_unit": None}, "employer_unit"),  # 双报到 names the unit
        ({"employer_unit": "   "}, "employer_unit"),
        ({"employer_unit": "单" * 65}, "employer_unit"),
        ({"unit_hours": 2001}, "unit_hours"),
        ({"unit_hours": 0}, "unit_hours"),
        ({"skills": ["x" * 33]}, "skills.0"),
        ({"nickname": "李师傅"}, "nickname"),  # no such field
    ],
)
def test_every_rule_is_a_400_naming_the_field_and_nothing_is_written(
    rt: Runtime, client: FlaskClient, world: World, people: People, change: dict[str, Any], field: str
) -> None:
    add_skill(rt, world.other_community, "abseiling", "攀岩救援")
    assert _put(client, people, GOOD).status_code == 200
    before = _rows(rt)

    response = _put(client, people, {**GOOD, **change})

    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert field in [f["field"] for f in error["details"]["fields"]], error
    assert _rows(rt) == before


@pytest.mark.parametrize("missing", ["skills", "availability", "max_active", "party_member"])
def test_a_missing_field_is_a_400(client: FlaskClient, people: People, missing: str) -> None:
    body = {key: value for key, value in GOOD.items() if key != missing}
    response = _put(client, people, body)
    assert response.status_code == 400
    assert missing in [f["field"] for f in response.get_json()["error"]["details"]["fields"]]


@pytest.mark.parametrize("who", ["resident", "secretary", "grid_worker", "street_admin"])
def test_only_volunteers_have_a_registry_entry(rt: Runtime, client: FlaskClient, people: People, who: str) -> None:
    headers = getattr(people, who).headers
    assert client.get("/api/v1/me/volunteer", headers=headers).status_code == 403
    assert client.put("/api/v1/me/volunteer", json=GOOD, headers=headers).status_code == 403
    assert _rows(rt) == []


def test_no_token_is_401(client: FlaskClient, people: People) -> None:
    del people
    assert client.get("/api/v1/me/volunteer").status_code == 401
    assert client.put("/api/v1/me/volunteer", json=GOOD).status_code == 401


def test_a_deactivated_or_unknown_skill_cannot_be_declared_through_the_old_endpoint(
    client: FlaskClient, people: People
) -> None:
    response = client.put("/api/v1/me/skills", json={"skills": ["juggling"]}, headers=people.volunteer.headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["unknown"] == ["juggling"]


def test_a_risky_employer_unit_is_422_and_nothing_is_written(rt: Runtime, client: FlaskClient, people: People) -> None:
    response = _put(client, people, {**GOOD, "employer_unit": "这是违规测试"})
    assert response.status_code == 422, response.get_json()
    assert _rows(rt) == []


# -- kept -----------------------------------------------------------------------------------------


def test_defaults_before_anything_is_said(client: FlaskClient, people: People) -> None:
    response = client.get("/api/v1/me/volunteer", headers=people.volunteer.headers)
    assert response.status_code == 200
    assert response.get_json() == {
        "skills": [],
        "skill_names": [],
        "availability": [],
        "max_active": 3,
        "party_member": False,
        "in_service": False,
        "employer_unit": None,
        "unit_hours": None,
    }


def test_the_profile_is_kept_whole_and_shown_where_it_matters(
    rt: Runtime, client: FlaskClient, world: World, people: People
) -> None:
    response = _put(client, people, GOOD)
    assert response.status_code == 200, response.get_json()
    expected = {
        "skills": ["electrician", "escort"],
        "skill_names": ["电工", "陪诊陪护"],
        # Sorted through the week.
        "availability": GOOD["availability"],
        "max_active": 2,
        "party_member": True,
        "in_service": True,
        "employer_unit": "区税务局",
        "unit_hours": 40,
    }
    assert response.get_json() == expected
    assert client.get("/api/v1/me/volunteer", headers=people.volunteer.headers).get_json() == expected
    me = client.get("/api/v1/me", headers=people.volunteer.headers).get_json()
    assert me["volunteer"] == expected
    assert me["skills"] == ["electrician", "escort"]
    assert client.get("/api/v1/me", headers=people.resident.headers).get_json()["volunteer"] is None

    picker = client.get(f"/api/v1/volunteers?community={world.community}", headers=people.secretary.headers)
    (row,) = [item for item in picker.get_json()["items"] if item["id"] == people.volunteer.id]
    assert (row["max_active"], row["party_member"], row["in_service"], row["employer_unit"]) == (
        2,
        True,
        True,
        "区税务局",
    )

    # Replaced whole: a plain volunteer now, free on Monday mornings only.
    plain = {"skills": [], "availability": _slots((1, "08:00", "11:00")), "max_active": 1, "party_member": False}
    again = _put(client, people, plain).get_json()
    assert again["availability"] == plain["availability"]
    assert (again["skills"], again["party_member"], again["in_service"], again["employer_unit"]) == (
        [],
        False,
        False,
        None,
    )
    with rt.db.read() as session:
        slots = session.execute(sa.select(VolunteerAvailability.starts, VolunteerAvailability.ends)).all()
    assert [tuple(slot) for slot in slots] == [(8 * 60, 11 * 60)]  # minutes of the week from Monday 00:00


def test_slots_that_touch_are_not_an_overlap(client: FlaskClient, people: People) -> None:
    body = {**GOOD, "availability": _slots((2, "09:00", "12:00"), (2, "12:00", "15:00"), (1, "12:00", "15:00"))}
    response = _put(client, people, body)
    assert response.status_code == 200, response.get_json()
    assert [(s["weekday"], s["start"]) for s in response.get_json()["availability"]] == [
        (1, "12:00"),
        (2, "09:00"),
        (2, "12:00"),
    ]


def test_the_entry_is_in_the_export_and_gone_with_the_account(rt: Runtime, client: FlaskClient, people: People) -> None:
    assert _put(client, people, GOOD).status_code == 200
    export = client.get("/api/v1/me/export", headers=people.volunteer.headers)
    assert export.status_code == 200
    assert export.get_json()["volunteer"]["employer_unit"] == "区税务局"
    assert client.get("/api/v1/me/export", headers=people.resident.headers).get_json()["volunteer"] is None

    assert client.delete("/api/v1/me", headers=people.volunteer.headers).status_code in (200, 204)
    assert _rows(rt) == []


def test_the_contracts_body_without_in_service_means_dual_reporting_when_a_unit_is_named(
    client: FlaskClient, people: People
) -> None:
    """The contract's body has no ``in_service``: a party member naming an employer unit is an
    in-service party member reporting from it; naming none, not one."""
    contract = {k: v for k, v in GOOD.items() if k not in {"in_service", "unit_hours"}}

    named = _put(client, people, {**contract, "party_member": True, "employer_unit": "区税务局"})
    assert named.status_code == 200, named.get_json()
    assert (named.get_json()["in_service"], named.get_json()["employer_unit"]) == (True, "区税务局")

    unnamed = _put(client, people, {**contract, "party_member": True, "employer_unit": None})
    assert unnamed.status_code == 200, unnamed.get_json()
    assert (unnamed.get_json()["in_service"], unnamed.get_json()["employer_unit"]) == (False, None)
