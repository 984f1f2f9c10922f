"""Identifiers outside the database's range (issue 10): an id ≤ 0 or ≥ 2^63 in a body or a token's
subject answers 400 or 401 with nothing written, the same on SQLite and PostgreSQL, and never a
500 from the driver."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from pydantic import BaseModel

from app.models import Base
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from miniprogram_api.registry import OPERATIONS
from tests.factories import People, World, make_order, make_people, make_world

#: The largest id a BIGINT (PostgreSQL) or an INTEGER (SQLite) column holds.
MAX_ID = 2**63 - 1
OUT_OF_RANGE_BODY = [0, -1, 2**63, 2**64]


@pytest.fixture
def app_500(app: Flask) -> Flask:
    """The app answering an unexpected error with the 500 envelope instead of raising it into the
    test, so one run lists every case that fails."""
    app.config["LINLI_ENVELOPE_500"] = True
    return app


def _snapshot(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: "nothing changed" means exactly this is equal before and after."""
    with rt.db.read() as session:
        return {
            table.name: [tuple(row) for row in session.execute(sa.select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
        }


def _world(rt: Runtime, client: FlaskClient) -> tuple[People, int, int]:
    """The usual cast signed in, a submitted order and one the volunteer holds."""
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    submitted = make_order(rt, people, world)
    held = make_order(rt, people, world, status=OrderStatus.ACCEPTED)
    return people, submitted, held


# -- body ids --------------------------------------------------------------------------------------


def _integers(schema: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """Every ``{"type": "integer"}`` node of a JSON schema, with where it sits."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "integer":
            found.append((where, schema))
        for key, value in schema.items():
            found += _integers(value, f"{where}.{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found += _integers(value, f"{where}[{index}]")
    return found


def test_every_integer_an_input_accepts_is_bounded() -> None:
    """An unbounded integer is how an id reaches the driver out of range; ids are 1..2^63 − 1 and
    other integers (stars, hours, limits) have bounds of their own, so every one must have both."""
    models: set[type[BaseModel]] = {m for op in OPERATIONS for m in (op.body, op.query) if m is not None}
    assert len(models) >= 15
    integers = [found for m in models for found in _integers(m.model_json_schema(mode="validation"), m.__name__)]
    assert len(integers) >= 10
    for where, node in integers:
        assert node.get("minimum", 0) >= 1, (where, node)
        assert "maximum" in node, (where, node)
        assert node["maximum"] <= MAX_ID, (where, node)


def _body_cases(people: People, submitted: int, held: int, bad: int) -> list[tuple[str, str, dict[str, Any], str]]:
    """(who, path, body, the field the 400 must name) for every id a body carries."""
    order = {"community": World().community, "category": "grocery", "title": "帮忙买菜"}
    return [
        ("resident", "/api/v1/orders", {**order, "photos": [bad]}, "photos.0"),
        ("grid_worker", "/api/v1/orders", {**order, "on_behalf_of": bad}, "on_behalf_of"),
        ("secretary", f"/api/v1/orders/{submitted}/dispatch", {"volunteer_id": bad}, "volunteer_id"),
        ("secretary", f"/api/v1/orders/{submitted}/dispatch", {"team_id": bad}, "team_id"),
        ("secretary", f"/api/v1/orders/{submitted}/dispatch", {"property_company_id": bad}, "property_company_id"),
        ("volunteer", f"/api/v1/orders/{held}/complete", {"photos": [bad]}, "photos.0"),
        ("resident", "/api/v1/notifications/read", {"ids": [bad]}, "ids.0"),
    ]


@pytest.mark.parametrize("bad", OUT_OF_RANGE_BODY)
def test_out_of_range_body_ids_are_400_naming_the_field(
    app_500: Flask, client: FlaskClient, rt: Runtime, bad: int
) -> None:
    people, submitted, held = _world(rt, client)
    before = _snapshot(rt)
    problems: list[str] = []
    for who, path, body, field in _body_cases(people, submitted, held, bad):
        response = client.post(path, json=body, headers=getattr(people, who).headers)
        answer = response.get_json()
        case = f"{who} POST {path} {body}"
        if response.status_code != 400 or answer["error"]["code"] != "invalid_input":
            problems.append(f"{case}: {response.status_code} {answer}")
        elif field not in [f["field"] for f in answer["error"]["details"].get("fields", [])]:
            problems.append(f"{case}: {field} not named in {answer['error']['details']}")
    assert not problems, "\n".join(problems)
    assert _snapshot(rt) == before


# -- the token's subject ---------------------------------------------------------------------------


#: Out of range, and ``true``: JSON's boolean is an int to Python, and user 1 to the database.
@pytest.mark.parametrize("subject", [0, -1, 2**63, 2**64, True])
def test_a_token_naming_an_out_of_range_user_is_401(
    app_500: Flask, client: FlaskClient, rt: Runtime, subject: int
) -> None:
    def bearer(user_id: int) -> dict[str, str]:
        # Signed by the app's own signer (the app runs on this runtime), so only the subject is wrong.
        return {"Authorization": f"Bearer {rt.tokens.issue(user_id, 0)}"}

    people = make_people(rt, make_world(rt))
    assert client.get("/api/v1/me", headers=bearer(people.resident.id)).status_code == 200
    response = client.get("/api/v1/me", headers=bearer(subject))
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "unauthenticated"
