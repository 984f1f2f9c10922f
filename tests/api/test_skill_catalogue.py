"""Each community's skill catalogue over HTTP: its secretary adds to it, everyone logged in reads
it; another community's catalogue is not theirs to change (404); a new community starts with the
skills every community had before catalogues existed, so the categories' codes keep working."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.areas.catalogue import create_category
from app.areas.models import Skill
from app.areas.skills import SKILL_NAMES
from app.core.errors import InvalidInputError
from app.runtime import Runtime
from app.volunteers.catalogue import retire_skill
from tests.factories import People, World, make_people, make_world


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def people(rt: Runtime, client: FlaskClient, world: World) -> People:
    return make_people(rt, world, client=client)


def _skills(rt: Runtime) -> list[tuple[int, str, str, bool]]:
    with rt.db.read() as session:
        rows = session.execute(sa.select(Skill.community_id, Skill.code, Skill.name, Skill.active).order_by(Skill.id))
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _add(client: FlaskClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/skills", json=body, headers=headers)


# -- refused --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"community": "SQ1", "code": "", "name": "缝补"}, "code"),
        ({"community": "SQ1", "code": "   ", "name": "缝补"}, "code"),
        ({"community": "SQ1", "code": "s" * 33, "name": "缝补"}, "code"),
        ({"community": "SQ1", "code": "sewing", "name": ""}, "name"),
        ({"community": "SQ1", "code": "sewing", "name": "缝" * 33}, "name"),
        ({"community": "SQ1", "code": "sewing"}, "name"),
        ({"code": "sewing", "name": "缝补"}, "community"),
        ({"community": "SQ1", "code": "sewing", "name": "缝补", "active": False}, "active"),
    ],
)
def test_a_bad_body_is_400_naming_the_field(
    rt: Runtime, client: FlaskClient, people: People, body: dict[str, Any], field: str
) -> None:
    before = _skills(rt)
    response = client.post("/api/v1/skills", json=body, headers=people.secretary.headers)
    assert response.status_code == 400, response.get_json()
    assert field in [f["field"] for f in response.get_json()["error"]["details"]["fields"]]
    assert _skills(rt) == before


@pytest.mark.parametrize("who", ["resident", "volunteer", "grid_worker", "street_admin"])
def test_only_a_secretary_adds_skills(rt: Runtime, client: FlaskClient, people: People, who: str) -> None:
    before = _skills(rt)
    response = _add(client, getattr(people, who).headers, community="SQ1", code="sewing", name="缝补")
    assert response.status_code == 403, response.get_json()
    assert _skills(rt) == before


def test_another_communitys_catalogue_is_404_like_a_missing_one(
    rt: Runtime, client: FlaskClient, world: World, people: People
) -> None:
    before = _skills(rt)
    theirs = _add(client, people.secretary.headers, community=world.other_community, code="sewing", name="缝补")
    missing = _add(client, people.secretary.headers, community="NOPE", code="sewing", name="缝补")
    assert theirs.status_code == 404
    assert (theirs.status_code, theirs.get_json()["error"]["code"]) == (missing.status_code, "not_found")
    assert _skills(rt) == before


def test_a_code_is_taken_once_per_community(rt: Runtime, client: FlaskClient, people: People) -> None:
    before = _skills(rt)
    response = _add(client, people.secretary.headers, community="SQ1", code="electrician", name="水电工")
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["fields"] == [{"field": "code", "problem": "taken"}]
    assert _skills(rt) == before


def test_reading_an_unknown_community_is_404(client: FlaskClient, people: People) -> None:
    assert client.get("/api/v1/skills?community=NOPE", headers=people.volunteer.headers).status_code == 404
    assert client.get("/api/v1/skills?community=SQ1").status_code == 401


def test_a_category_asks_only_for_a_skill_of_its_community(rt: Runtime, client: FlaskClient, people: People) -> None:
    assert _add(client, people.secretary.headers, community="SQ1", code="sewing", name="缝补").status_code == 201
    with rt.db.write() as session, pytest.raises(InvalidInputError, match="sewing"):
        create_category(session, "SQ2", "mend", "缝补衣物", points=1, sla_hours=24, skill="sewing")


# -- kept -----------------------------------------------------------------------------------------


def test_a_new_community_starts_with_the_known_skills(client: FlaskClient, world: World, people: People) -> None:
    for community in (world.community, world.other_community):
        response = client.get(f"/api/v1/skills?community={community}", headers=people.resident.headers)
        assert response.status_code == 200
        assert {item["code"]: item["name"] for item in response.get_json()["items"]} == SKILL_NAMES


def test_the_secretary_adds_a_skill_only_to_their_community(client: FlaskClient, world: World, people: People) -> None:
    response = _add(client, people.secretary.headers, community=world.community, code=" sewing ", name=" 缝补 ")
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"skill": {"code": "sewing", "name": "缝补", "active": True}}

    def codes(community: str) -> list[str]:
        answer = client.get(f"/api/v1/skills?community={community}", headers=people.volunteer.headers)
        return [item["code"] for item in answer.get_json()["items"]]

    assert codes(world.community)[-1] == "sewing"
    assert "sewing" not in codes(world.other_community)
    # Volunteers of the community may now declare it, by its code; it is named as the catalogue names it.
    declared = client.put("/api/v1/me/skills", json={"skills": ["sewing"]}, headers=people.volunteer.headers)
    assert declared.status_code == 200, declared.get_json()
    registry = client.get("/api/v1/me/volunteer", headers=people.volunteer.headers).get_json()
    assert (registry["skills"], registry["skill_names"]) == (["sewing"], ["缝补"])


def test_a_deactivated_skill_is_kept_by_who_has_it_and_chosen_by_nobody_else(
    rt: Runtime, client: FlaskClient, world: World, people: People
) -> None:
    keep = client.put("/api/v1/me/skills", json={"skills": ["haircut"]}, headers=people.volunteer.headers)
    assert keep.status_code == 200
    retire_skill(rt, world.community, "haircut")

    listed = client.get(f"/api/v1/skills?community={world.community}", headers=people.volunteer.headers)
    assert "haircut" not in [item["code"] for item in listed.get_json()["items"]]
    refused = client.put("/api/v1/me/skills", json={"skills": ["haircut"]}, headers=people.other_volunteer.headers)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["details"]["unknown"] == ["haircut"]
    registry = client.get("/api/v1/me/volunteer", headers=people.volunteer.headers).get_json()
    assert (registry["skills"], registry["skill_names"]) == (["haircut"], ["理发"])
    # Saving their entry again keeps it.
    again = client.put("/api/v1/me/skills", json={"skills": ["haircut", "cooking"]}, headers=people.volunteer.headers)
    assert again.status_code == 200, again.get_json()
