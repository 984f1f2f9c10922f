"""The OpenAPI document as the mini-program team's code generator reads it: operation ids, enums,
formats, headers, examples and who may call each action."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

import pytest
import time_machine
from flask import Flask, g
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer

from app.areas.models import AreaKind
from app.identity.actor import Actor
from app.identity.roles import Role
from app.orders.workflow import TRANSITIONS, Action, OrderKind, OrderStatus, Party, TriageLevel
from app.uploads.shapes import PHOTO_URL
from miniprogram_api import examples
from miniprogram_api.examples import order_after
from miniprogram_api.orders import ACTIONS
from miniprogram_api.registry import ANSWER_CONTEXT, OPERATIONS, Operation, camel_case

_CAMEL = re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$")


@pytest.fixture
def doc(client: FlaskClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").get_json()
    return document


def _key(op: Operation) -> str:
    return f"{op.method.upper()} {op.path}"


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in doc["paths"].items() for method, op in item.items()]


def test_camel_case() -> None:
    assert camel_case("list_orders") == "listOrders"
    assert camel_case("login") == "login"
    assert camel_case("create_bind_code") == "createBindCode"


def test_every_operation_has_a_unique_camel_case_id(doc: dict[str, Any]) -> None:
    ids = [op.get("operationId", "") for _, _, op in _operations(doc)]
    for method, path, op in _operations(doc):
        assert _CAMEL.match(op.get("operationId", "")), f"{method} {path}: {op.get('operationId')!r}"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates


def test_operation_ids_are_the_agreed_names(doc: dict[str, Any]) -> None:
    # Generated client code calls these names: changing one breaks the mini-program's build.
    by_route = {(method, path): op["operationId"] for method, path, op in _operations(doc)}
    assert by_route[("post", "/api/v1/orders")] == "submitOrder"
    assert by_route[("get", "/api/v1/orders")] == "listOrders"
    assert by_route[("get", "/api/v1/orders/{order_id}")] == "getOrder"
    assert by_route[("post", "/api/v1/orders/{order_id}/claim")] == "claimOrder"
    assert by_route[("post", "/api/v1/orders/{order_id}/dispatch")] == "dispatchOrder"
    assert by_route[("get", "/api/v1/me")] == "getMe"
    assert by_route[("get", "/api/v1/tasks/pool")] == "listPoolOrders"


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The schema itself, its ``$ref`` target, or the non-null branch of ``X | None``."""
    if "$ref" in schema:
        return _resolve(doc, doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        return _resolve(doc, branches[0])
    return schema


@pytest.mark.parametrize(
    ("schema", "field", "enum"),
    [
        ("OrderOut", "status", OrderStatus),
        ("OrderOut", "kind", OrderKind),
        ("OrderOut", "level", TriageLevel),
        ("EventOut", "action", Action),
        ("EventOut", "from_status", OrderStatus),
        ("EventOut", "to_status", OrderStatus),
        ("RoleOut", "role", Role),
        ("AreaRef", "kind", AreaKind),
    ],
)
def test_answers_name_their_enums(doc: dict[str, Any], schema: str, field: str, enum: type[StrEnum]) -> None:
    prop = doc["components"]["schemas"][schema]["properties"][field]
    assert _resolve(doc, prop)["enum"] == [member.value for member in enum]


def test_the_status_filter_is_an_enum(doc: dict[str, Any]) -> None:
    params = {p["name"]: p for p in doc["paths"]["/api/v1/orders"]["get"]["parameters"]}
    assert _resolve(doc, params["status"]["schema"])["enum"] == [s.value for s in OrderStatus]


def test_times_are_date_time(doc: dict[str, Any]) -> None:
    times = 0
    for name, schema in doc["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            if field == "at" or field.endswith(("_at", "_start", "_end")):
                assert _resolve(doc, prop).get("format") == "date-time", f"{name}.{field}"
                times += 1
    assert times >= 8  # created_at, updated_at, due_at, expires_at, preferred_start …


def test_answers_and_bodies_have_one_schema_each(doc: dict[str, Any]) -> None:
    # No "OrderOut-Output": a generator would name the class after it.
    assert not [name for name in doc["components"]["schemas"] if name.endswith(("-Input", "-Output"))]


def test_submit_declares_the_idempotency_key_header(doc: dict[str, Any]) -> None:
    params = doc["paths"]["/api/v1/orders"]["post"]["parameters"]
    (header,) = [p for p in params if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key"
    assert header["required"] is False
    assert header["schema"] == {"type": "string", "minLength": 1, "maxLength": 128}
    assert re.search(r"[\u4e00-\u9fff]", header["description"])


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_action_descriptions_name_who_may_act(doc: dict[str, Any], action: Action) -> None:
    description = doc["paths"][f"/api/v1/orders/{{order_id}}/{action.value}"]["post"]["description"]
    allowed = TRANSITIONS[action].parties
    for party in Party:
        assert (f"`{party.value}`" in description) == (party in allowed), (action, party)
    target = TRANSITIONS[action].target
    assert target is None or target.value in description


def test_every_operation_shows_an_example_answer(doc: dict[str, Any]) -> None:
    for method, path, op in _operations(doc):
        status = next(code for code in op["responses"] if code.startswith("2"))
        if status == "204":
            assert "content" not in op["responses"][status], f"{method} {path}: a 204 has no body"
            continue
        (media,) = op["responses"][status]["content"].values()
        if media["schema"].get("format") == "binary":
            continue  # a file (a photo, the page's scripts): nothing to show in text
        assert "example" in media, f"{method} {path} has no example"


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op.response is not None], ids=_key)
def test_example_answers_are_what_the_shape_answers(operation: Operation) -> None:
    assert operation.response is not None
    shaped = operation.response.model_validate(operation.example)
    # A real photo link depends on the viewer, the clock and the key; the examples carry made-up
    # ones, held to what the server mints by the test below.
    context = {PHOTO_URL: examples.PHOTO_LINKS.__getitem__}
    assert shaped.model_dump(mode="json", context=context) == operation.example


def test_example_photo_links_are_what_the_server_mints(app: Flask) -> None:
    """The same path and the same signed claims (photo 1, user 8, the expiry) as the server would
    answer at the examples' moment; only the signature, made with another key, differs."""
    zhang = Actor(user_id=8, openid="sim:zhang", memberships=())
    examples_moment = datetime.fromisoformat("2026-12-01T17:26:01+08:00")
    with time_machine.travel(examples_moment, tick=False), app.test_request_context():
        g.actor = zhang
        minted = ANSWER_CONTEXT[PHOTO_URL](1)
    (example,) = examples.PHOTO_LINKS.values()
    (minted_path, minted_token), (example_path, example_token) = minted.rsplit("/", 1), example.rsplit("/", 1)
    assert minted_path == example_path == "/api/v1/photos/1"
    unsigned = URLSafeSerializer("any key: only the payload is read")
    assert unsigned.loads_unsafe(example_token)[1] == unsigned.loads_unsafe(minted_token)[1] == [1, 8, 1796119200]
    assert minted_token != example_token  # the example's key is not the server's


def test_photo_links_are_documented_as_needing_no_token(doc: dict[str, Any]) -> None:
    link = doc["paths"]["/api/v1/photos/{upload_id}/{token}"]["get"]
    assert link["operationId"] == "getPhotoByLink"
    assert link["security"] == []
    assert {"403", "404"} <= set(link["responses"])
    assert "image/*" in link["responses"]["200"]["content"]
    assert doc["paths"]["/api/v1/uploads/{upload_id}"]["get"]["security"] == [{"bearer": []}]


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op.body is not None], ids=_key)
def test_every_body_has_a_valid_example(doc: dict[str, Any], operation: Operation) -> None:
    assert operation.body is not None
    schema = doc["components"]["schemas"][operation.body.__name__]
    (example,) = schema["examples"]
    operation.body.model_validate(example)


def test_action_examples_end_in_the_actions_status() -> None:
    for action in ACTIONS:
        order = order_after(action)["order"]
        assert order["events"][-1]["action"] == action.value
        assert order["status"] == order["events"][-1]["to_status"]
