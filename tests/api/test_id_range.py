"""Identifiers outside the database's range (issue 10): an id ≤ 0 or ≥ 2^63 in a path, a body, a
cursor or a token's subject answers 404, 400 or 401 with nothing written, the same on SQLite and
PostgreSQL, and never a 500 from the driver."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from pydantic import BaseModel
from werkzeug.routing import IntegerConverter, Rule

from app.core.clock import now_utc
from app.models import Base
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from miniprogram_api.registry import OPERATIONS, endpoint
from tests.factories import People, World, make_order, make_people, make_world

#: The largest id a BIGINT (PostgreSQL) or an INTEGER (SQLite) column holds.
MAX_ID = 2**63 - 1
#: Path values no row can have: zero, negative, just past the 64-bit range, past it again, a
#: 30-digit number, one longer than Python turns into an int (4300 digits), and an Arabic-Indic
#: one, which int() reads as 1 (an id that exists in these tests) but is no id in a URL.
BAD_PATH_IDS = ["0", "-1", str(2**63), str(2**64), "9" * 30, "9" * 5000, "\u0661"]
OUT_OF_RANGE_BODY = [0, -1, 2**63, 2**64]
_PLACEHOLDER = re.compile(r"<[^>]+>")


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


def _id_rules(app: Flask) -> list[Rule]:
    """Every rule with an integer path parameter (``int`` or any converter built on it)."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if any(isinstance(converter, IntegerConverter) for converter in rule._converters.values())
    ]


#: What to send for each path parameter that is not an id.
_NON_ID_PARAMS = {"token"}  # a photo link's token (/api/v1/photos/<id>/<token>)


def _url(rule: Rule, value: str, signed: str = "not-signed") -> str:
    """``rule`` with ``value`` for every id and ``signed`` for a photo link's token."""
    others = {name for name, c in rule._converters.items() if not isinstance(c, IntegerConverter)}
    assert others <= _NON_ID_PARAMS, f"{rule.rule} has parameters {others}: teach this test what to send for them"
    return _PLACEHOLDER.sub(lambda m: signed if m.group(0) == "<token>" else value, rule.rule)


def _world(rt: Runtime, client: FlaskClient) -> tuple[People, int, int]:
    """The usual cast signed in, a submitted order and one the volunteer holds."""
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    submitted = make_order(rt, people, world)
    held = make_order(rt, people, world, status=OrderStatus.ACCEPTED)
    return people, submitted, held


# -- path ids --------------------------------------------------------------------------------------


def test_every_id_route_is_walked(app: Flask) -> None:
    """The walk below is only as good as the rules it finds."""
    endpoints = {rule.endpoint for rule in _id_rules(app)}
    expected = {
        "orders.get_order",
        "uploads.get_upload",
        "uploads.get_photo",
        "identity.verify_household",
        "orders.record_return_visit",
        "directory.add_team_member",
        "directory.remove_team_member",  # two ids in one path
        "timebank.withdraw_reward",
        "timebank.cancel_redemption",
    }
    assert expected <= endpoints
    # One route per action the API offers (reassign and release included).
    assert len({e for e in endpoints if e.startswith("orders.action_")}) == 16


def test_out_of_range_path_ids_are_404_on_every_route_and_method(
    app_500: Flask, client: FlaskClient, rt: Runtime
) -> None:
    """The rule asserted: exactly 404 ``not_found``, whatever the method and whether or not a token
    comes with it. An out-of-range id is refused while the URL is matched, before the method, the
    token or the body is looked at; the path then names nothing, like an unknown path. So it is
    not a 405 (no rule matches the path for any method) and not a 401 (there is nothing behind the
    path to protect)."""
    people, _submitted, _held = _world(rt, client)
    before = _snapshot(rt)
    problems: list[str] = []
    cases = 0
    for rule in _id_rules(app_500):
        for value in BAD_PATH_IDS:
            url = _url(rule, value)
            for method in sorted(rule.methods or ()):
                for who, headers in (("secretary", people.secretary.headers), ("anonymous", {})):
                    cases += 1
                    body: dict[str, Any] | None = {} if method in {"POST", "PUT"} else None
                    response = client.open(url, method=method, headers=headers, json=body)
                    case = f"{method} {rule.rule} with {value[:24]} as {who}"
                    if response.status_code != 404:
                        problems.append(f"{case}: {response.status_code} {response.get_data(as_text=True)[:200]}")
                    elif method != "HEAD" and response.get_json()["error"]["code"] != "not_found":
                        problems.append(f"{case}: {response.get_json()}")
    assert cases > 400
    assert not problems, "\n".join(problems)
    assert _snapshot(rt) == before


def test_the_largest_id_reaches_the_views_and_answers_like_a_missing_one(
    app_500: Flask, client: FlaskClient, rt: Runtime
) -> None:
    """The other side of the bound: 2^63 − 1 is a valid id, so it passes the URL, goes to the
    database as it is and finds nothing (404), or the empty body is refused first (400). A photo
    link gets a genuine signature for that id, so that it too reaches the database."""
    people, _submitted, _held = _world(rt, client)
    before = _snapshot(rt)
    problems: list[str] = []
    token = rt.photo_links.mint(MAX_ID, people.secretary.id, now_utc())
    for rule in _id_rules(app_500):
        for method in sorted((rule.methods or set()) - {"OPTIONS", "HEAD"}):
            body: dict[str, Any] | None = {} if method in {"POST", "PUT"} else None
            url = _url(rule, str(MAX_ID), token)
            response = client.open(url, method=method, headers=people.secretary.headers, json=body)
            if response.status_code not in {400, 404}:
                problems.append(f"{method} {rule.rule}: {response.status_code} {response.get_data(as_text=True)[:200]}")
    assert not problems, "\n".join(problems)
    assert _snapshot(rt) == before


def test_openapi_documents_path_ids_as_bounded_integers(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    params = [
        (path, param)
        for path, item in doc["paths"].items()
        for op in item.values()
        for param in op.get("parameters", [])
        # /docs/static/{filename} is a file name, /api/v1/photos/{upload_id}/{token} a signed token,
        # /api/v1/redemptions/{code}/verify a redemption code as a till types it
        if param["in"] == "path" and param["name"] not in {"filename", "token", "code"}
    ]
    assert len(params) >= 18
    for path, param in params:
        assert param["schema"] == {"type": "integer", "minimum": 1, "maximum": MAX_ID}, (path, param)


def test_a_route_with_an_unbounded_int_parameter_is_refused_when_declared() -> None:
    """``<int:…>`` takes any size of number, which is how the 500s came; the registry takes only
    converters it can document (``<id:…>``)."""
    with pytest.raises(ValueError, match="thing_id"):
        endpoint(Blueprint("probe", __name__), "/things/<int:thing_id>", method="GET", summary="探针")(lambda: {})


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


#: The integers that are amounts which may be negative (taking points away), not ids or counts.
SIGNED_AMOUNTS = {"PointsAdjustmentIn.properties.delta"}


def test_every_integer_an_input_accepts_is_bounded() -> None:
    """An unbounded integer is how an id reaches the driver out of range; ids are 1..2^63 − 1 and
    other integers (stars, hours, limits) have bounds of their own, so every one must have both."""
    models: set[type[BaseModel]] = {m for op in OPERATIONS for m in (op.body, op.query) if m is not None}
    assert len(models) >= 15
    integers = [found for m in models for found in _integers(m.model_json_schema(mode="validation"), m.__name__)]
    assert len(integers) >= 10
    for where, node in integers:
        if where in SIGNED_AMOUNTS:
            # Bounded both ways, far inside what a column holds.
            assert -MAX_ID < node["minimum"] < 0 < node["maximum"], (where, node)
            continue
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
        (
            "secretary",
            "/api/v1/teams",
            {"community": World().community, "name": "先锋队", "leader_id": bad},
            "leader_id",
        ),
        ("secretary", "/api/v1/teams/1/members", {"volunteer_id": bad}, "volunteer_id"),
        ("secretary", "/api/v1/points/adjustments", {"volunteer_id": bad, "delta": 1, "reason": "补"}, "volunteer_id"),
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


# -- cursors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [0, -1, 2**63, 2**64])
def test_a_cursor_holding_an_out_of_range_number_is_400(
    app_500: Flask, client: FlaskClient, rt: Runtime, number: int
) -> None:
    """A cursor is opaque, but it carries an id (or a page offset) into a query: one the server
    did not make is a 400 (docs/api.md, Paging), also when it decodes to a number."""
    people = make_people(rt, make_world(rt), client=client)
    cursor = base64.urlsafe_b64encode(str(number).encode()).decode().rstrip("=")
    lists = [
        ("/api/v1/orders", people.resident),
        ("/api/v1/tasks/pool", people.volunteer),
        ("/api/v1/notifications", people.resident),
        ("/api/v1/return-visits", people.secretary),
        ("/api/v1/points", people.volunteer),
        (f"/api/v1/volunteers?community={World().community}", people.secretary),
        (f"/api/v1/teams?community={World().community}", people.secretary),
        (f"/api/v1/property-companies?community={World().community}", people.secretary),
    ]
    for path, who in lists:
        response = client.get(f"{path}{'&' if '?' in path else '?'}cursor={cursor}", headers=who.headers)
        assert response.status_code == 400, (path, response.get_json())
        assert response.get_json()["error"]["code"] == "invalid_input", path


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
