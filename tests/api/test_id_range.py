"""Identifiers outside the database's range (issue 10): a token whose subject is ≤ 0 or ≥ 2^63
answers 401, the same on SQLite and PostgreSQL, and never a 500 from the driver."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.runtime import Runtime
from tests.factories import make_people, make_world


@pytest.fixture
def app_500(app: Flask) -> Flask:
    """The app answering an unexpected error with the 500 envelope instead of raising it into the
    test, so one run lists every case that fails."""
    app.config["LINLI_ENVELOPE_500"] = True
    return app


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
