"""The revision that brings skill catalogues seeds every existing community with the skills known
until then and any other code already in use there (a category's, a volunteer's), so nothing that
worked before is refused after; a response time starts at zero accepts. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from app.areas.skills import SKILL_NAMES
from app.core.migrate import alembic_config
from tests.dbutil import fresh_database_url
from tests.migrations.test_due_at_backfill import _insert
from tests.migrations.test_migrations import connect

BEFORE = "aa828fde385d"  # the revision before skill catalogues


def test_existing_communities_get_the_known_skills_and_the_codes_they_use(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path, "skills")
    command.upgrade(alembic_config(url), BEFORE)
    with connect(url) as connection:
        _insert(connection, "areas", id=1, kind="street", code="JD1", name="街道")
        for area_id, code in ((2, "SQ1"), (3, "SQ2")):
            _insert(connection, "areas", id=area_id, kind="community", code=code, name=code, community_id=area_id)
        _insert(connection, "areas", id=4, kind="grid", code="G1", name="网格", community_id=2)
        _insert(connection, "users", id=1, openid="vol", nickname="", oa_following=False, token_generation=0)
        _insert(connection, "role_memberships", id=1, user_id=1, role="volunteer", area_id=3)
        _insert(connection, "user_skills", user_id=1, skill="风筝")
        _insert(connection, "user_skills", user_id=1, skill="electrician")
        _insert(
            connection, "service_categories", id=1, community_id=2, code="kites", name="风筝修补", points=1,
            sla_hours=6, active=True, skill="kites",
        )  # fmt: skip
        _insert(connection, "volunteer_stats", user_id=1, rated_count=2, score_sum=9)
        connection.commit()

    command.upgrade(alembic_config(url), "head")

    with connect(url) as connection:
        rows = connection.execute(sa.text("SELECT community_id, code, name, active FROM skills")).all()
        stats = connection.execute(
            sa.text("SELECT rated_count, score_sum, accepted_count, accept_minutes_sum FROM volunteer_stats")
        ).one()
    catalogues: dict[int, dict[str, str]] = {}
    for community_id, code, name, active in rows:
        assert active
        catalogues.setdefault(community_id, {})[code] = name
    # Only communities; each code once; the codes in use named by themselves.
    assert catalogues == {2: {**SKILL_NAMES, "kites": "kites"}, 3: {**SKILL_NAMES, "风筝": "风筝"}}
    assert tuple(stats) == (2, 9, 0, 0)
