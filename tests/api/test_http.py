"""HTTP plumbing: the error envelope everywhere, health, readiness, metrics, OpenAPI and docs."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.runtime import Runtime


def _assert_envelope(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]  # a Chinese sentence to show
    assert re.search(r"[\u4e00-\u9fff]", body["error"]["message"])


def test_unknown_path_is_404_envelope(client: FlaskClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    _assert_envelope(response.get_json(), "not_found")


def test_wrong_method_is_405_envelope(client: FlaskClient) -> None:
    response = client.get("/api/v1/auth/login")
    assert response.status_code == 405
    _assert_envelope(response.get_json(), "method_not_allowed")


def test_oversized_body_is_413_envelope(client: FlaskClient, rt: Runtime) -> None:
    too_big = b"x" * (rt.settings.uploads.max_bytes + 128 * 1024)
    response = client.post("/api/v1/auth/login", data=too_big, content_type="application/json")
    assert response.status_code == 413
    _assert_envelope(response.get_json(), "payload_too_large")


def test_unexpected_error_is_logged_with_request_id_and_answered_500(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["LINLI_ENVELOPE_500"] = True

    @app.get("/boom")
    def _boom() -> str:
        raise RuntimeError("kaboom")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom", headers={"X-Request-Id": "req-123"})
    assert response.status_code == 500
    body = response.get_json()
    _assert_envelope(body, "internal_error")
    assert body["error"]["details"] == {"request_id": "req-123"}
    assert response.headers["X-Request-Id"] == "req-123"
    assert "kaboom" not in response.get_data(as_text=True)  # no internals leak to the client
    assert any("req-123" in record.getMessage() and record.exc_info for record in caplog.records)


def test_request_id_is_generated_when_missing_or_unsafe(client: FlaskClient) -> None:
    generated = client.get("/healthz").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    unsafe = client.get("/healthz", headers={"X-Request-Id": "bad id <script>"}).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe)


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ok", "database": "ok"}


def test_readiness_fails_when_the_database_is_gone(rt: Runtime, tmp_path: Path) -> None:
    from app.runtime import build_runtime
    from miniprogram_api import create_app
    from tests.conftest import make_settings

    # A SQLite path inside a directory that does not exist cannot be opened.
    settings = make_settings(f"sqlite:///{tmp_path}/missing/dir/x.db", rt.settings.wechat.api_base, tmp_path)
    runtime = build_runtime(settings)
    response = create_app(runtime=runtime).test_client().get("/readyz")
    runtime.db.dispose()
    assert response.status_code == 503
    _assert_envelope(response.get_json(), "database_unavailable")


def test_metrics_count_requests_by_route(client: FlaskClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'linli_http_requests_total{endpoint="/healthz",method="GET",status="200"}' in text
    assert "linli_http_request_duration_seconds_bucket" in text
    assert 'linli_outbox_messages{status="dead"} 0.0' in text


def test_metrics_read_the_shared_directory_when_multiprocess(
    client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This process counts in memory (the variable was not set when prometheus_client was
    # imported), so the empty directory is all the page has; the outbox family still comes from
    # the database. tests/integration/test_metrics_multiprocess.py runs the real thing.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert "linli_http_requests_total" not in text
    assert 'linli_outbox_messages{status="pending"} 0.0' in text


def test_openapi_describes_every_route(app: Flask, client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} is not in /openapi.json"
    login = doc["paths"]["/api/v1/auth/login"]["post"]
    schema_ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert schema["required"] == ["code"]
    assert "400" in login["responses"]
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]
    upload = doc["paths"]["/api/v1/uploads"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["file"]["format"] == "binary"


def test_docs_page_renders_the_document(client: FlaskClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'url: "/openapi.json"' in page  # Swagger UI is pointed at our document
    # Offline: every http(s) URL in the page is this server's own (none today).
    for url in re.findall(r"https?://[^\s\"'<>)]+", page):
        assert url.startswith("http://localhost/"), url
    assert "validatorUrl: null" in page  # else Swagger UI asks validator.swagger.io about the document


def test_docs_assets_are_served_by_the_app(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/docs/static/[^"]+)"', page)
    assert {a.rsplit("/", 1)[1] for a in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    types = {"js": {"text/javascript", "application/javascript"}, "css": {"text/css"}, "png": {"image/png"}}
    for asset in assets:
        with client.get(asset) as response:  # a file answer: closed, or its file stays open
            assert response.status_code == 200, asset
            assert response.mimetype in types[asset.rsplit(".", 1)[1]], (asset, response.mimetype)
            assert response.content_length
    with client.get("/docs/static/swagger-ui-bundle.js") as response:
        assert "SwaggerUIBundle" in response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["LICENSE", "index.template.html", "..%2Fflask_swagger_ui.py", "nothing.js"])
def test_docs_assets_are_only_the_pages_own(client: FlaskClient, name: str) -> None:
    response = client.get(f"/docs/static/{name}")
    assert response.status_code == 404
    _assert_envelope(response.get_json(), "not_found")
