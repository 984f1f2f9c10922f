"""POST /auth/logout: the token used stops working (one device), or every token of the user
(``{"all": true}``); revocations are forgotten once their tokens expired; authentication stays
one statement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import time_machine
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from app.core.clock import now_utc
from app.identity.models import RevokedToken, User
from app.identity.revocation import prune_revocations
from app.runtime import Runtime
from jobs import prune_revocations as prune_job
from tests.api.test_statement_counts import counting
from tests.factories import login


def _me(client: FlaskClient, headers: dict[str, str]) -> int:
    return client.get("/api/v1/me", headers=headers).status_code


def _revoked(rt: Runtime) -> list[str]:
    with rt.db.read() as session:
        return list(session.scalars(sa.select(RevokedToken.jti)))


def test_logout_without_a_token_is_401(client: FlaskClient, rt: Runtime) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer forged.token.value"}):
        response = client.post("/api/v1/auth/logout", json={}, headers=headers)
        assert response.status_code == 401, headers
        assert response.get_json()["error"]["code"] == "unauthenticated"
    assert _revoked(rt) == []


def test_logout_bodies_are_checked(client: FlaskClient, rt: Runtime) -> None:
    headers = login(client, "alice")
    cases: list[dict[str, Any]] = [
        {},  # no body: like every POST here, it takes a JSON object ({} at least)
        {"json": {"all": "yes"}},
        {"json": {"all": 1}},
        {"json": {"everywhere": True}},
        {"json": []},
    ]
    for kwargs in cases:
        response = client.post("/api/v1/auth/logout", headers=headers, **kwargs)
        assert response.status_code == 400, kwargs
        assert response.get_json()["error"]["code"] == "invalid_input"
    assert _me(client, headers) == 200  # nothing was revoked


def test_logout_revokes_the_token_used_and_no_other(client: FlaskClient, rt: Runtime) -> None:
    phone, tablet = login(client, "alice"), login(client, "alice")
    response = client.post("/api/v1/auth/logout", json={}, headers=phone)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert _me(client, phone) == 401
    assert client.get("/api/v1/me", headers=phone).get_json()["error"]["code"] == "unauthenticated"
    assert _me(client, tablet) == 200
    # Logging out again with the revoked token is just another request with a dead token.
    assert client.post("/api/v1/auth/logout", json={}, headers=phone).status_code == 401
    assert len(_revoked(rt)) == 1
    # Logging in again gives a token that works.
    assert _me(client, login(client, "alice")) == 200


def test_logout_all_revokes_every_token_of_the_user_only(client: FlaskClient, rt: Runtime) -> None:
    phone, tablet, other = login(client, "alice"), login(client, "alice"), login(client, "bob")
    client.post("/api/v1/auth/logout", json={}, headers=tablet)
    response = client.post("/api/v1/auth/logout", json={"all": True}, headers=phone)
    assert response.status_code == 204
    assert (_me(client, phone), _me(client, tablet), _me(client, other)) == (401, 401, 200)
    # The generation covers every earlier token: the one-device record is no longer needed.
    assert _revoked(rt) == []
    assert _me(client, login(client, "alice")) == 200


def test_a_token_from_before_token_ids_logs_out_everywhere(client: FlaskClient, rt: Runtime) -> None:
    """Tokens issued before this change carry no id: they cannot be revoked alone, and a logout
    must still end them, so it ends every token of the user."""
    current = login(client, "alice")
    with rt.db.read() as session:
        user_id, generation = session.execute(
            sa.select(User.id, User.token_generation).where(User.openid == "alice")
        ).one()
    old_style = URLSafeTimedSerializer("test-signing-key", salt="linli.api-token.v1").dumps(
        {"u": user_id, "g": generation}
    )
    legacy = {"Authorization": f"Bearer {old_style}"}
    assert _me(client, legacy) == 200
    assert client.post("/api/v1/auth/logout", json={}, headers=legacy).status_code == 204
    assert (_me(client, legacy), _me(client, current)) == (401, 401)


def test_authentication_stays_one_statement_whatever_was_revoked(client: FlaskClient, rt: Runtime) -> None:
    headers = login(client, "alice")
    with counting(rt) as before:
        assert _me(client, headers) == 200
    for _ in range(3):
        client.post("/api/v1/auth/logout", json={}, headers=login(client, "alice"))
    with counting(rt) as after:
        assert _me(client, headers) == 200
    assert len(after) == len(before)
    (auth,) = [s for s in after if "revoked_tokens" in s]
    assert "role_memberships" in auth  # the revocation probe rides in the Actor's one statement


def test_revocations_are_pruned_once_their_tokens_expired(client: FlaskClient, rt: Runtime) -> None:
    client.post("/api/v1/auth/logout", json={}, headers=login(client, "alice"))
    later = login(client, "alice")
    client.post("/api/v1/auth/logout", json={}, headers=later)
    assert len(_revoked(rt)) == 2
    ttl = timedelta(seconds=rt.tokens.ttl_seconds)
    assert prune_revocations(rt, now_utc() + ttl - timedelta(minutes=1)) == 0
    assert prune_job.run(rt, now_utc() + ttl + timedelta(seconds=5)) == "pruned=2"
    assert _revoked(rt) == []
    # Pruning is safe: by then the token fails on its own age.
    with time_machine.travel(now_utc() + ttl + timedelta(seconds=5), tick=False):
        response = client.get("/api/v1/me", headers=later)
    assert response.get_json()["error"]["code"] == "token_expired"


def test_a_token_with_a_malformed_id_is_refused(client: FlaskClient, rt: Runtime) -> None:
    login(client, "alice")
    with rt.db.read() as session:
        user_id = session.scalar(sa.select(User.id).where(User.openid == "alice"))
    signer = URLSafeTimedSerializer("test-signing-key", salt="linli.api-token.v1")
    for jti in (5, "", "x" * 33, ["a"]):
        forged = signer.dumps({"u": user_id, "g": 0, "j": jti})
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401, jti
