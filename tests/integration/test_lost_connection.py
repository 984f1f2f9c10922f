"""With ``database.pool_pre_ping`` off, a pooled PostgreSQL connection that died (a restart, an
idle timeout) costs one 503 with ``Retry-After``, not a 500, and the next request works.

The test runs its own app on its own engine and kills only that engine's connection, so that no
other test's pool ever holds a dead connection.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.runtime import Runtime, build_runtime
from miniprogram_api import create_app
from tests.dbutil import TEST_DATABASE_URL
from tests.factories import login, make_world


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs LINLI_TEST_DATABASE_URL (PostgreSQL)")
def test_a_dead_pooled_connection_gives_one_503_then_recovers(rt: Runtime) -> None:
    make_world(rt)
    # A pool of its own, not pinged; requests run one at a time, so it holds one connection.
    unpinged = rt.settings.model_copy(
        update={"database": rt.settings.database.model_copy(update={"pool_pre_ping": False})}
    )
    own = build_runtime(unpinged)
    try:
        app = create_app(runtime=own)
        app.testing = True
        client = app.test_client()
        headers = login(client, "someone")
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        with own.db.read() as session:
            pid = session.scalar(sa.text("SELECT pg_backend_pid()"))
        with rt.db.read() as session:  # another connection does the killing
            assert session.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}) is True

        lost = client.get("/api/v1/me", headers=headers)
        assert lost.status_code == 503
        assert lost.get_json()["error"]["code"] == "database_unavailable"
        assert lost.headers["Retry-After"] == "1"
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    finally:
        own.db.dispose()
