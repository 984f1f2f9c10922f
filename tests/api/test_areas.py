"""The area tree over the API (issue 13): who sees and changes which part, what each child holds,
refusals that write nothing, and the audit trail of every change."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.areas.models import Area, AreaKind, Skill
from app.areas.tree import create_area
from app.audit.models import AuditEntry, AuditKind
from app.identity.roles import Role
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from tests.api.test_statement_counts import counting
from tests.factories import People, World, make_order, make_people, make_person, make_world

RISKY = "这是违规测试"


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def people(rt: Runtime, world: World, client: FlaskClient) -> People:
    return make_people(rt, world, client=client)


def _snapshot(rt: Runtime) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    with rt.db.read() as session:
        areas = [tuple(r) for r in session.execute(sa.select(Area.code, Area.name, Area.retired).order_by(Area.id))]
        audit = [tuple(r) for r in session.execute(sa.select(AuditEntry.kind, AuditEntry.detail))]
        skills = session.scalar(sa.select(sa.func.count()).select_from(Skill)) or 0
    return areas, audit, skills


def _other_street(rt: Runtime) -> None:
    with rt.db.write() as session:
        create_area(session, AreaKind.STREET, "JD9", "远方街道")
        create_area(session, AreaKind.COMMUNITY, "SQ9", "远方社区", "JD9")
        create_area(session, AreaKind.GRID, "SQ9-G1", "远方网格", "SQ9")


# -- refusals first: each writes nothing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        # Roles that may not add: a resident, a volunteer, a grid worker (403 before any lookup).
        ("resident", {"kind": "grid", "code": "G-NEW", "name": "新网格", "parent": "SQ1"}, 403, "forbidden"),
        ("volunteer", {"kind": "grid", "code": "G-NEW", "name": "新网格", "parent": "SQ1"}, 403, "forbidden"),
        ("grid_worker", {"kind": "building", "code": "B-NEW", "name": "9栋", "parent": "SQ1-G1"}, 403, "forbidden"),
        # A secretary may not add a community, even under their own street.
        ("secretary", {"kind": "community", "code": "SQ-NEW", "name": "新社区", "parent": "JD1"}, 404, "not_found"),
        # Another community's grid, another street: never confirmed to exist.
        ("secretary", {"kind": "building", "code": "B-NEW", "name": "9栋", "parent": "SQ2-G1"}, 404, "not_found"),
        ("street_admin", {"kind": "grid", "code": "G-NEW", "name": "新网格", "parent": "SQ9"}, 404, "not_found"),
        ("street_admin", {"kind": "grid", "code": "G-NEW", "name": "新网格", "parent": "NOPE"}, 404, "not_found"),
        # The kind must fit the parent.
        ("street_admin", {"kind": "grid", "code": "G-NEW", "name": "新网格", "parent": "JD1"}, 400, "invalid_input"),
        ("secretary", {"kind": "building", "code": "B-NEW", "name": "9栋", "parent": "SQ1"}, 400, "invalid_input"),
        ("street_admin", {"kind": "street", "code": "JD-NEW", "name": "街", "parent": "JD1"}, 400, "invalid_input"),
        # Bad codes and names, unknown fields.
        ("secretary", {"kind": "grid", "code": "G NEW", "name": "新网格", "parent": "SQ1"}, 400, "invalid_input"),
        ("secretary", {"kind": "grid", "code": "-G", "name": "新网格", "parent": "SQ1"}, 400, "invalid_input"),
        ("secretary", {"kind": "grid", "code": "G" * 49, "name": "新网格", "parent": "SQ1"}, 400, "invalid_input"),
        ("secretary", {"kind": "grid", "code": "G-NEW", "name": " ", "parent": "SQ1"}, 400, "invalid_input"),
        ("secretary", {"kind": "grid", "code": "G-NEW", "name": "网" * 51, "parent": "SQ1"}, 400, "invalid_input"),
        ("secretary", {"kind": "grid", "code": "G-NEW", "name": "新网格"}, 400, "invalid_input"),
        ("secretary", {"kind": "lane", "code": "G-NEW", "name": "新网格", "parent": "SQ1"}, 400, "invalid_input"),
        ("secretary", {"kind": "grid", "code": "G-NEW", "name": "x", "parent": "SQ1", "x": 1}, 400, "invalid_input"),
        # A code taken anywhere, also in another street.
        ("secretary", {"kind": "grid", "code": "SQ2-G1", "name": "新网格", "parent": "SQ1"}, 409, "area_code_taken"),
        ("secretary", {"kind": "grid", "code": "SQ9-G1", "name": "新网格", "parent": "SQ1"}, 409, "area_code_taken"),
        # Content security on the name.
        ("secretary", {"kind": "grid", "code": "G-NEW", "name": RISKY, "parent": "SQ1"}, 422, "content_rejected"),
    ],
)
def test_refused_additions_write_nothing(
    rt: Runtime, client: FlaskClient, people: People, who: str, body: dict[str, Any], status: int, code: str
) -> None:
    _other_street(rt)
    before = _snapshot(rt)
    response = client.post("/api/v1/areas", json=body, headers=getattr(people, who).headers)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert _snapshot(rt) == before


def test_reading_another_street_or_community_is_404_and_non_staff_403(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    _other_street(rt)
    admin, secretary = people.street_admin.headers, people.secretary.headers
    for path in ("/api/v1/areas?parent=SQ9", "/api/v1/areas/SQ9", "/api/v1/areas/SQ9-G1", "/api/v1/areas/NOPE"):
        assert client.get(path, headers=admin).status_code == 404, path
    for path in ("/api/v1/areas?parent=SQ2", "/api/v1/areas/SQ2-G1", "/api/v1/areas/JD1"):
        assert client.get(path, headers=secretary).status_code == 404, path
    for who in (people.resident, people.volunteer):
        assert client.get(f"/api/v1/areas?parent={world.community}", headers=who.headers).status_code == 403
        assert client.get("/api/v1/areas/SQ9", headers=who.headers).status_code == 403


def test_a_grid_worker_of_one_grid_sees_it_and_its_buildings_only(
    rt: Runtime, client: FlaskClient, world: World
) -> None:
    worker = make_person(rt, "grid-only", (Role.GRID_WORKER, world.grid), client=client)
    answer = client.get(f"/api/v1/areas?parent={world.grid}", headers=worker.headers)
    assert answer.status_code == 200, answer.get_json()
    assert [a["code"] for a in answer.get_json()["items"]] == [world.building]
    assert client.get(f"/api/v1/areas/{world.building}", headers=worker.headers).status_code == 200
    assert client.get(f"/api/v1/areas?parent={world.community}", headers=worker.headers).status_code == 404
    mine = client.get("/api/v1/areas", headers=worker.headers).get_json()
    assert [a["code"] for a in mine["items"]] == [world.grid]


def test_refused_renames_and_retirements_write_nothing(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    _other_street(rt)
    make_order(rt, people, world, grid=world.grid, status=OrderStatus.ACCEPTED)
    before = _snapshot(rt)
    cases = [
        (people.grid_worker, "PATCH", f"/api/v1/areas/{world.grid}", {"name": "改名"}, 403),
        (people.volunteer, "PATCH", f"/api/v1/areas/{world.grid}", {"name": "改名"}, 403),
        (people.secretary, "PATCH", f"/api/v1/areas/{world.community}", {"name": "改名"}, 403),
        (people.secretary, "PATCH", f"/api/v1/areas/{world.other_grid}", {"name": "改名"}, 404),
        (people.street_admin, "PATCH", "/api/v1/areas/SQ9-G1", {"name": "改名"}, 404),
        (people.street_admin, "PATCH", f"/api/v1/areas/{world.street}", {"name": "改名"}, 403),
        (people.secretary, "PATCH", f"/api/v1/areas/{world.grid}", {"name": RISKY}, 422),
        (people.secretary, "PATCH", f"/api/v1/areas/{world.grid}", {"name": ""}, 400),
        (people.grid_worker, "POST", f"/api/v1/areas/{world.grid}/retire", {}, 403),
        (people.secretary, "POST", f"/api/v1/areas/{world.other_grid}/retire", {}, 404),
        (people.street_admin, "POST", "/api/v1/areas/SQ9/retire", {}, 404),
        # Held: a building under it, an open order in it.
        (people.secretary, "POST", f"/api/v1/areas/{world.grid}/retire", {}, 409),
        (people.street_admin, "POST", f"/api/v1/areas/{world.community}/retire", {}, 409),
    ]
    for who, method, path, body, status in cases:
        response = client.open(path, method=method, json=body, headers=who.headers)
        assert response.status_code == status, (who.openid, method, path, response.get_json())
    assert _snapshot(rt) == before
    held = client.post(f"/api/v1/areas/{world.grid}/retire", json={}, headers=people.secretary.headers).get_json()
    assert held["error"]["code"] == "area_in_use"
    assert held["error"]["details"] == {"area": world.grid, "children": 1, "open_orders": 1}


# -- what works ---------------------------------------------------------------------------------------


def test_a_street_admin_compares_the_communities_of_their_street_with_right_counts(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    _other_street(rt)
    # SQ1: alice (resident, household in the grid, building 3) and two volunteers; one open order,
    # one closed. SQ2: one volunteer living there, nothing open.
    make_person(rt, "vol-sq2", (Role.VOLUNTEER, world.other_community), home=(world.other_community, world.other_grid))
    make_person(rt, "res-sq1", home=(world.community, world.grid))
    make_order(rt, people, world, grid=world.grid)
    make_order(rt, people, world, status=OrderStatus.CLOSED)
    answer = client.get(f"/api/v1/areas?parent={world.street}", headers=people.street_admin.headers)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["parent"] == {"code": "JD1", "name": "新华街道", "kind": "street"}
    assert body["items"] == [
        {
            "code": "SQ1",
            "name": "和平社区",
            "kind": "community",
            "retired": False,
            "households": 2,
            "volunteers": 2,
            "open_orders": 1,
        },
        {
            "code": "SQ2",
            "name": "幸福里社区",
            "kind": "community",
            "retired": False,
            "households": 1,
            "volunteers": 1,
            "open_orders": 0,
        },
    ]
    grids = client.get(f"/api/v1/areas?parent={world.other_community}", headers=people.street_admin.headers)
    assert grids.get_json()["items"][0] | {} == {
        "code": "SQ2-G1",
        "name": "幸福里一网格",
        "kind": "grid",
        "retired": False,
        "households": 1,
        "volunteers": 1,
        "open_orders": 0,
    }
    buildings = client.get(f"/api/v1/areas?parent={world.grid}", headers=people.secretary.headers).get_json()
    assert [(b["code"], b["households"]) for b in buildings["items"]] == [(world.building, 2)]


def test_listing_costs_the_same_statements_whatever_the_number_of_children(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    def cost() -> int:
        with counting(rt) as statements:
            answer = client.get(f"/api/v1/areas?parent={world.community}", headers=people.secretary.headers)
        assert answer.status_code == 200
        return len(statements)

    one = cost()
    with rt.db.write() as session:
        for i in range(6):
            create_area(session, AreaKind.GRID, f"SQ1-G{i + 2}", f"网格{i}", world.community)
    for i in range(3):
        make_person(rt, f"res-{i}", home=(world.community, f"SQ1-G{i + 2}"))
    assert cost() == one
    assert one <= 7  # BEGIN, the actor, the parent, the children, three grouped counts


def test_a_secretary_adds_a_grid_and_a_building_and_renames_and_retires_with_audit(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    headers = people.secretary.headers
    added = client.post(
        "/api/v1/areas", json={"kind": "grid", "code": "SQ1-G2", "name": " 二网格 ", "parent": "SQ1"}, headers=headers
    )
    assert added.status_code == 201, added.get_json()
    assert added.get_json() == {
        "area": {
            "code": "SQ1-G2",
            "name": "二网格",
            "kind": "grid",
            "parent": "SQ1",
            "retired": False,
            "path": [
                {"code": "JD1", "name": "新华街道", "kind": "street"},
                {"code": "SQ1", "name": "和平社区", "kind": "community"},
            ],
        }
    }
    building = client.post(
        "/api/v1/areas",
        json={"kind": "building", "code": "SQ1-G2-B1", "name": "1栋", "parent": "SQ1-G2"},
        headers=headers,
    )
    assert building.status_code == 201
    assert [p["code"] for p in building.get_json()["area"]["path"]] == ["JD1", "SQ1", "SQ1-G2"]
    renamed = client.patch("/api/v1/areas/SQ1-G2", json={"name": "东网格"}, headers=headers)
    assert renamed.status_code == 200
    assert renamed.get_json()["area"]["name"] == "东网格"
    assert client.post("/api/v1/areas/SQ1-G2/retire", json={}, headers=headers).status_code == 409
    assert client.post("/api/v1/areas/SQ1-G2-B1/retire", json={}, headers=headers).status_code == 200
    retired = client.post("/api/v1/areas/SQ1-G2/retire", json={}, headers=headers)
    assert retired.status_code == 200
    assert retired.get_json()["area"]["retired"] is True
    again = client.post("/api/v1/areas/SQ1-G2/retire", json={}, headers=headers)
    assert again.status_code == 200
    with rt.db.read() as session:
        sq1 = session.scalar(sa.select(Area.id).where(Area.code == "SQ1"))
        rows = session.execute(
            sa.select(AuditEntry.area_id, AuditEntry.actor_id, AuditEntry.detail)
            .where(AuditEntry.kind == AuditKind.AREA_CHANGED)
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (sq1, people.secretary.id, "added SQ1-G2"),
        (sq1, people.secretary.id, "added SQ1-G2-B1"),
        (sq1, people.secretary.id, "renamed SQ1-G2"),
        (sq1, people.secretary.id, "retired SQ1-G2-B1"),
        (sq1, people.secretary.id, "retired SQ1-G2"),
    ]
    listed = client.get("/api/v1/audit/entries?area=SQ1&kind=area_changed", headers=headers).get_json()
    assert [e["kind_label"] for e in listed["items"]] == ["调整区域"] * 5


def test_a_retired_grid_takes_no_new_households_or_orders(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    headers = people.secretary.headers
    client.post(
        "/api/v1/areas", json={"kind": "grid", "code": "SQ1-G2", "name": "二网格", "parent": "SQ1"}, headers=headers
    )
    assert client.post("/api/v1/areas/SQ1-G2/retire", json={}, headers=headers).status_code == 200
    home = client.put(
        "/api/v1/me/household",
        json={"community": "SQ1", "grid": "SQ1-G2", "building": "1", "unit": "1", "room": "101"},
        headers=people.volunteer.headers,
    )
    assert home.status_code == 400, home.get_json()
    with pytest.raises(Exception, match="停用"):
        make_order(rt, people, world, grid="SQ1-G2")
    under = client.post(
        "/api/v1/areas",
        json={"kind": "building", "code": "SQ1-G2-B1", "name": "1栋", "parent": "SQ1-G2"},
        headers=headers,
    )
    assert under.status_code == 400


def test_a_street_admin_adds_a_community_that_comes_with_its_skill_catalogue(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    added = client.post(
        "/api/v1/areas",
        json={"kind": "community", "code": "SQ3", "name": "新风社区", "parent": "JD1"},
        headers=people.street_admin.headers,
    )
    assert added.status_code == 201, added.get_json()
    skills = client.get("/api/v1/skills?community=SQ3", headers=people.street_admin.headers).get_json()
    assert len(skills["items"]) > 0
    categories = client.get("/api/v1/categories?community=SQ3", headers=people.street_admin.headers).get_json()
    assert categories["items"] == []  # the service catalogue is the secretary's to set up
    listed = client.get("/api/v1/areas?parent=JD1", headers=people.street_admin.headers).get_json()
    assert [c["code"] for c in listed["items"]] == ["SQ1", "SQ2", "SQ3"]
    with rt.db.read() as session:
        sq3 = session.scalar(sa.select(Area).where(Area.code == "SQ3"))
        assert sq3 is not None
        assert sq3.community_id == sq3.id
        audit = session.scalar(sa.select(AuditEntry).where(AuditEntry.kind == AuditKind.AREA_CHANGED))
        assert audit is not None
        assert audit.area_id == sq3.id
        assert audit.detail == "added SQ3"


@pytest.mark.parametrize("code", ["0", "-1", str(2**64), "9" * 5000, "\u0661", "SQ1%00", "%E5%92%8C"])
def test_codes_no_area_has_are_404_and_write_nothing(
    rt: Runtime, client: FlaskClient, people: People, code: str
) -> None:
    before = _snapshot(rt)
    headers = people.street_admin.headers
    assert client.get(f"/api/v1/areas/{code}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/areas/{code}", json={"name": "改名"}, headers=headers).status_code == 404
    assert client.post(f"/api/v1/areas/{code}/retire", json={}, headers=headers).status_code == 404
    assert _snapshot(rt) == before


def test_a_parent_code_longer_than_any_area_code_is_400(client: FlaskClient, people: People) -> None:
    answer = client.get("/api/v1/areas?parent=" + "9" * 65, headers=people.street_admin.headers)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_input"


def test_a_parent_code_with_a_nul_is_400_on_every_database(client: FlaskClient, people: People) -> None:
    # Input in a query, like any other malformed value there (a NUL in a path is a 404).
    answer = client.get("/api/v1/areas?parent=SQ1%00", headers=people.street_admin.headers)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["fields"] == [{"field": "parent", "problem": "contains a NUL character"}]
