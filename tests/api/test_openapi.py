"""The OpenAPI document as the mini-program team's code generator reads it: operation ids, enums,
formats, headers, examples and who may call each action."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from miniprogram_api.registry import camel_case

_CAMEL = re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$")


@pytest.fixture
def doc(client: FlaskClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").get_json()
    return document


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
