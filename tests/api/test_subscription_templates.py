"""GET /api/v1/subscriptions/templates: what the mini-program passes to wx.requestSubscribeMessage."""

from __future__ import annotations

from flask.testing import FlaskClient

from app.runtime import Runtime
from tests.factories import login


def test_needs_a_token(client: FlaskClient) -> None:
    response = client.get("/api/v1/subscriptions/templates")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_any_logged_in_user_gets_the_configured_templates(client: FlaskClient, rt: Runtime) -> None:
    headers = login(client, "newcomer")  # no role, no household
    response = client.get("/api/v1/subscriptions/templates", headers=headers)
    assert response.status_code == 200
    items = response.get_json()["items"]
    configured = rt.settings.notify.subscribe_templates
    assert {item["key"]: item["template_id"] for item in items} == configured
    by_key = {item["key"]: item for item in items}
    assert by_key["order_claimed"] == {
        "key": "order_claimed",
        "template_id": "sim-tmpl-order-claimed",
        "title": "已有志愿者接单",
    }
    # What the mini-program reports back after the popup is exactly these keys.
    accepted = client.post("/api/v1/subscriptions", json={"accepted": list(by_key)}, headers=headers)
    assert accepted.status_code == 200
    assert accepted.get_json()["remaining"] == dict.fromkeys(by_key, 1)


def test_is_documented(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    op = doc["paths"]["/api/v1/subscriptions/templates"]["get"]
    assert op["operationId"] == "listSubscriptionTemplates"
    assert op["security"] == [{"bearer": []}]
    assert "401" in op["responses"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    listing = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    item = doc["components"]["schemas"][listing["properties"]["items"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert item["required"] == ["key", "template_id", "title"]
