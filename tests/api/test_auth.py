"""Login through the simulator, tokens, and every bad-input path of authentication."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import time_machine
from flask.testing import FlaskClient

from app.core.clock import now_utc
from app.core.tokens import TokenSigner
from app.identity.models import User
from app.runtime import Runtime
from tests.factories import login
from wechat_sim import SimulatorServer


def _user_count(rt: Runtime) -> int:
    with rt.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(User)) or 0)


def test_login_creates_the_user_and_answers_a_token(client: FlaskClient, rt: Runtime) -> None:
    response = client.post("/api/v1/auth/login", json={"code": "sim:alice"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["token"]
    assert body["expires_in"] == rt.settings.auth.token_ttl_hours * 3600
    assert body["user"]["roles"] == []
    assert "session_key" not in response.get_data(as_text=True)
    with rt.db.read() as session:
        user = session.scalar(sa.select(User).where(User.openid == "alice"))
        assert user is not None
        assert user.unionid == "union-alice"
        assert user.session_key  # kept on the server
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json()["id"] == body["user"]["id"]
    assert me.get_json()["points_balance"] == 0


def test_second_login_reuses_the_user(client: FlaskClient, rt: Runtime) -> None:
    first = client.get("/api/v1/me", headers=login(client, "bob")).get_json()
    second = client.get("/api/v1/me", headers=login(client, "bob")).get_json()
    assert first["id"] == second["id"]
    assert _user_count(rt) == 1


def test_invalid_code_is_400_invalid_code_and_creates_nothing(client: FlaskClient, rt: Runtime) -> None:
    response = client.post("/api/v1/auth/login", json={"code": "not-a-sim-code"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_code"
    assert error["details"] == {"errcode": 40029}
    assert _user_count(rt) == 0


def test_reused_code_is_400_invalid_code(client: FlaskClient, rt: Runtime) -> None:
    assert client.post("/api/v1/auth/login", json={"code": "sim:carol"}).status_code == 200
    again = client.post("/api/v1/auth/login", json={"code": "sim:carol"})
    assert again.status_code == 400
    assert again.get_json()["error"] == {
        "code": "invalid_code",
        "message": again.get_json()["error"]["message"],
        "details": {"errcode": 40163},
    }
    assert _user_count(rt) == 1


def test_malformed_login_bodies_are_400_invalid_input(client: FlaskClient, rt: Runtime) -> None:
    cases: list[dict[str, Any]] = [
        {"data": "not json", "content_type": "application/json"},
        {"json": []},
        {"json": {}},
        {"json": {"code": ""}},
        {"json": {"code": "   "}},
        {"json": {"code": 12345}},
        {"json": {"code": "x" * 129}},
        {"json": {"code": "sim:dave", "extra": 1}},
    ]
    for kwargs in cases:
        response = client.post("/api/v1/auth/login", **kwargs)
        assert response.status_code == 400, kwargs
        assert response.get_json()["error"]["code"] == "invalid_input", kwargs
    missing = client.post("/api/v1/auth/login", json={}).get_json()["error"]
    assert missing["details"]["fields"][0]["field"] == "code"
    assert _user_count(rt) == 0


def test_requests_without_valid_tokens_are_401(client: FlaskClient, rt: Runtime) -> None:
    assert client.get("/api/v1/me").get_json()["error"]["code"] == "unauthenticated"
    for header in ("Bearer", "Bearer ", "Basic abc", "Bearer forged.token.value", "token"):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.get_json()["error"]["code"] == "unauthenticated"
    # Signed with another key: the right shape, the wrong signature.
    forged = TokenSigner("someone-elses-key", ttl_seconds=3600).issue(1, 0)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_expired_token_is_401_token_expired(client: FlaskClient, rt: Runtime) -> None:
    headers = login(client, "erin")
    later = now_utc().timestamp() + rt.tokens.ttl_seconds + 60
    with time_machine.travel(later, tick=False):
        response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "token_expired"


def test_token_of_a_deleted_or_revoked_user_is_401(client: FlaskClient, rt: Runtime) -> None:
    headers = login(client, "frank")
    with rt.db.write() as session:
        session.execute(sa.update(User).values(token_generation=User.token_generation + 1))
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_wechat_down_gives_503_quickly(rt: Runtime, simulator: SimulatorServer) -> None:
    """A stopped simulator: login answers 503 wechat_unavailable within the configured timeout."""
    import time

    from app.runtime import build_runtime
    from miniprogram_api import create_app
    from tests.conftest import make_settings

    down = SimulatorServer(host="127.0.0.1", port=0)
    down_url = down.start()
    down.stop()
    settings = make_settings(rt.settings.database_url, down_url, rt.settings.var_path)
    runtime = build_runtime(settings)
    try:
        flask_app = create_app(runtime=runtime)
        started = time.monotonic()
        response = flask_app.test_client().post("/api/v1/auth/login", json={"code": "sim:gina"})
        elapsed = time.monotonic() - started
    finally:
        runtime.db.dispose()
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "wechat_unavailable"
    assert elapsed < settings.wechat.timeout_seconds + 1
    assert _user_count(rt) == 0


def test_slow_wechat_times_out_with_503(client: FlaskClient, rt: Runtime, simulator: SimulatorServer) -> None:
    simulator.state.inject_fault("/sns/jscode2session", delay_seconds=rt.settings.wechat.timeout_seconds + 1)
    response = client.post("/api/v1/auth/login", json={"code": "sim:hank"})
    assert response.status_code == 503
    assert _user_count(rt) == 0
