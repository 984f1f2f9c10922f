"""A pooled PostgreSQL connection that died (a restart, an idle timeout) costs one 503 with
``Retry-After``, not a 500, and the next request works: connections are recycled, not pinged."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.runtime import Runtime
from tests.dbutil import TEST_DATABASE_URL
from tests.factories import login, make_world


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs LINLI_TEST_DATABASE_URL (PostgreSQL)")
def test_a_dead_pooled_connection_gives_one_503_then_recovers(rt: Runtime, client: FlaskClient) -> None:
    make_world(rt)
    headers = login(client, "someone")
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # the pool holds a connection now
    killer = sa.create_engine(rt.db.engine.url, isolation_level="AUTOCOMMIT")
    try:
        with killer.connect() as connection:
            killed = connection.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        killer.dispose()
    assert killed >= 1

    lost = client.get("/api/v1/me", headers=headers)
    assert lost.status_code == 503
    assert lost.get_json()["error"]["code"] == "database_unavailable"
    assert lost.headers["Retry-After"] == "1"
    assert client.get("/api/v1/me", headers=headers).status_code == 200
