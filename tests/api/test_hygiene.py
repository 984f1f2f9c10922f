"""HTTP hygiene on every answer: 405 with Allow, security headers (the docs page with a policy of
its own that still loads Swagger UI), CORS only for configured origins, and bodies over the limit
answered 413 in the error envelope."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, TestResponse, run_wsgi_app

from app.identity.models import Household, User
from app.orders.models import Order
from app.runtime import Runtime, build_runtime
from miniprogram_api import create_app
from tests.conftest import make_settings
from tests.factories import login, make_people, make_world
from wechat_sim import SimulatorServer


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/auth/login", {"POST", "OPTIONS"}),
        ("DELETE", "/api/v1/orders", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("PUT", "/api/v1/orders/1/claim", {"POST", "OPTIONS"}),
        ("POST", "/api/v1/me", {"GET", "HEAD", "OPTIONS", "DELETE"}),
        ("PATCH", "/healthz", {"GET", "HEAD", "OPTIONS"}),
        ("DELETE", "/wechat/callback", {"GET", "HEAD", "POST", "OPTIONS"}),
    ],
)
def test_405_lists_the_allowed_methods_in_the_envelope(
    client: FlaskClient, method: str, path: str, allowed: set[str]
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == allowed
    assert response.get_json() == {
        "error": {"code": "method_not_allowed", "message": "不支持该请求方法", "details": {}}
    }


def _assert_security_headers(headers: dict[str, str]) -> None:
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_every_json_answer_carries_security_headers_and_is_not_stored(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    answers = [
        client.get("/api/v1/me", headers=people.resident.headers),  # authenticated
        client.get("/api/v1/me"),  # 401
        client.get("/api/v1/nowhere"),  # 404
        client.post("/api/v1/orders", json={"title": "x"}, headers=people.resident.headers),  # 400
        client.get("/healthz"),
    ]
    for answer in answers:
        headers = dict(answer.headers)
        _assert_security_headers(headers)
        assert headers["Cache-Control"] == "no-store"
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_photos_keep_their_own_caching_and_get_the_headers(client: FlaskClient) -> None:
    """Files are not JSON: their Cache-Control is their own, and their policy only forbids framing
    (default-src 'none' can keep a browser from showing an image opened on its own)."""
    asset = client.get("/docs/static/swagger-ui.css")
    asset.close()
    assert asset.status_code == 200
    _assert_security_headers(dict(asset.headers))
    assert asset.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert asset.headers.get("Cache-Control") != "no-store"


def test_the_docs_page_allows_its_own_files_and_its_one_script(client: FlaskClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    _assert_security_headers(dict(page.headers))
    html = page.get_data(as_text=True)
    nonce = re.search(r'<script nonce="([^"]+)">', html)
    assert nonce is not None
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == f"'self' 'nonce-{nonce.group(1)}'"
    assert directives["connect-src"] == "'self'"  # /openapi.json and "Try it out"
    assert "'self'" in directives["style-src"]
    assert "data:" in directives["img-src"]  # Swagger UI's icons
    # Every file the page loads is this app's own.
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert src.startswith("/"), src
        loaded = client.get(src)
        loaded.close()
        assert loaded.status_code == 200, src
    # A new nonce per answer.
    assert client.get("/docs").headers["Content-Security-Policy"] != policy


# -- CORS -------------------------------------------------------------------------------------

ADMIN = "https://admin.example.cn"


@pytest.fixture
def cors_client(rt: Runtime, simulator: SimulatorServer, tmp_path: Path) -> Iterator[FlaskClient]:
    settings = make_settings(rt.settings.database_url, simulator.base_url, tmp_path, server={"cors_origins": [ADMIN]})
    runtime = build_runtime(settings)
    app = create_app(runtime=runtime)
    app.testing = True
    yield app.test_client()
    runtime.db.dispose()


def test_no_cors_headers_by_default(client: FlaskClient) -> None:
    answer = client.get("/healthz", headers={"Origin": ADMIN})
    assert "Access-Control-Allow-Origin" not in answer.headers
    preflight = client.options("/api/v1/orders", headers={"Origin": ADMIN, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_a_configured_origin_gets_cors_and_no_other_does(cors_client: FlaskClient) -> None:
    answer = cors_client.get("/healthz", headers={"Origin": ADMIN})
    assert answer.headers["Access-Control-Allow-Origin"] == ADMIN
    assert "Retry-After" in answer.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in answer.headers  # bearer tokens, not cookies
    preflight = cors_client.options(
        "/api/v1/orders",
        headers={
            "Origin": ADMIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ADMIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    stranger = cors_client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


# -- body size --------------------------------------------------------------------------------


def _orders(rt: Runtime) -> int:
    with rt.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Order)) or 0)


def test_a_json_body_over_the_json_limit_is_413_and_creates_nothing(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    limit = rt.settings.server.max_json_bytes
    body = {"community": world.community, "category": "grocery", "title": "买菜", "description": "菜" * limit}
    response = client.post("/api/v1/orders", json=body, headers=people.resident.headers)
    assert response.status_code == 413
    assert response.get_json()["error"] == {
        "code": "payload_too_large",
        "message": "提交的内容太大",
        "details": {"max_bytes": limit},
    }
    assert _orders(rt) == 0
    # Well under the upload limit: JSON endpoints have the smaller one.
    assert len(response.request.get_data()) < rt.settings.uploads.max_bytes


def test_a_body_without_a_length_stops_at_the_json_limit(client: FlaskClient, rt: Runtime) -> None:
    """A chunked body declares no length: it is cut off as it is read, still a 413, never a 500."""
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    limit = rt.settings.server.max_json_bytes
    payload = b'{"community": "' + world.community.encode() + b'", "title": "' + b"x" * limit + b'"}'

    def chunked(body: bytes) -> TestResponse:
        # The test client always declares a length; a server's environ for a chunked body has none.
        environ = EnvironBuilder(
            path="/api/v1/orders",
            method="POST",
            input_stream=io.BytesIO(body),
            content_type="application/json",
            headers=list(people.resident.headers.items()),
        ).get_environ()
        del environ["CONTENT_LENGTH"]
        environ["wsgi.input_terminated"] = True
        chunks, status, headers = run_wsgi_app(client.application, environ, buffered=True)
        return TestResponse(chunks, status, headers, request=None)  # type: ignore[arg-type]

    response = chunked(payload)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert _orders(rt) == 0
    # Under the limit, the same way in, it is read whole.
    fits = json.dumps(
        {"community": world.community, "category": "grocery", "title": "买菜"}, ensure_ascii=False
    ).encode()
    assert chunked(fits).status_code == 201


def test_an_endpoint_that_reads_no_body_still_refuses_a_huge_one(client: FlaskClient) -> None:
    headers = login(client, "amy")
    response = client.post("/api/v1/bot/bind-code", data=b"x" * (1024 * 1024), headers=headers)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


# -- NUL characters --------------------------------------------------------------------------


def _rows(rt: Runtime) -> tuple[int, ...]:
    with rt.db.read() as session:
        return tuple(
            int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
            for table in (Order, Household, User)
        )


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "/api/v1/orders?scope=community&community=SQ-HP%00", None, "community"),
        ("GET", "/api/v1/categories?community=%00", None, "community"),
        ("POST", "/api/v1/orders/1/reject", {"reason": "重复\u0000"}, "reason"),
        (
            "PUT",
            "/api/v1/me/household",
            {"community": "SQ\u0000", "building": "1", "unit": "1", "room": "1"},
            "community",
        ),
        ("PUT", "/api/v1/me/volunteer", {"skills": ["a\u0000"]}, "skills.0"),
    ],
)
def test_a_nul_character_anywhere_in_the_input_is_a_400_naming_the_field(
    client: FlaskClient, rt: Runtime, method: str, path: str, body: dict[str, object] | None, field: str
) -> None:
    """PostgreSQL's text cannot hold U+0000: such input is refused before it gets there (psycopg's
    DataError was answered as a 503 there), and the same on SQLite."""
    people = make_people(rt, make_world(rt), client=client)
    before = _rows(rt)
    response = client.open(path, method=method, json=body, headers=people.secretary.headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["fields"] == [{"field": field, "problem": "contains a NUL character"}]
    assert _rows(rt) == before


def test_a_nul_character_in_a_path_is_the_404_of_an_unknown_code(client: FlaskClient, rt: Runtime) -> None:
    people = make_people(rt, make_world(rt), client=client)
    response = client.post("/api/v1/redemptions/AB%00CD/verify", json={}, headers=people.secretary.headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
