"""The revision that gives return visits the resident's words (``comment``) fills it for visits
made before it, and rewrites the audit trail's triage codes in Chinese; its downgrade puts both
back."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from app.core.migrate import alembic_config
from tests.dbutil import fresh_database_url
from tests.migrations.test_due_at_backfill import _insert
from tests.migrations.test_migrations import connect

BEFORE = "afe366f8b9f3"  # the revision before return visits kept a comment
REVISION = "47cf6311f1be"


def _order(connection: sa.Connection, order_id: int) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO orders (id, number, community_id, category_id, kind, status, title, description,"
            " resident_id, created_by_id, building, unit, room, needs_review, completion_note, version)"
            " VALUES (:id, :number, 1, 1, 'service', 'closed', 't', '', 1, 1, '', '', '', false, '', 1)"
        ),
        {"id": order_id, "number": f"20261123-000{order_id}"},
    )


def _event(connection: sa.Connection, order_id: int, action: str, note: str) -> None:
    _insert(
        connection, "order_events", order_id=order_id, action=action, from_status="submitted",
        to_status="submitted", note=note, channel="api",
    )  # fmt: skip


def test_visits_get_the_residents_words_and_triage_notes_their_level(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path, "words")
    config = alembic_config(url)
    command.upgrade(config, BEFORE)
    with connect(url) as connection:
        _insert(connection, "areas", id=1, kind="community", code="SQ1", name="社区", community_id=1)
        _insert(connection, "users", id=1, openid="res", nickname="", oa_following=False, token_generation=0)
        _insert(
            connection, "service_categories", id=1, community_id=1, code="repair", name="维修", points=5,
            sla_hours=6, active=True,
        )  # fmt: skip
        for order_id in (1, 2, 3):
            _order(connection, order_id)
        _event(connection, 1, "triage", "major")
        _event(connection, 1, "triage", "routine")
        _event(connection, 3, "dispute", "灯还是不亮")
        _insert(connection, "ratings", order_id=1, score=1, comment="来得太晚")
        # A low rating, an open dispute (its reason still in `note`), a recorded one (overwritten).
        _insert(connection, "return_visits", id=1, order_id=1, community_id=1, reason="low_rating", done=False, note="")
        _insert(
            connection, "return_visits", id=2, order_id=2, community_id=1, reason="dispute", done=False, note="没修"
        )
        _insert(
            connection, "return_visits", id=3, order_id=3, community_id=1, reason="dispute", done=True,
            note="已回访，明天再修",
        )  # fmt: skip
        connection.commit()

    command.upgrade(config, REVISION)

    visits = sa.text("SELECT id, comment, note FROM return_visits ORDER BY id")
    notes = sa.text("SELECT note FROM order_events WHERE action = 'triage' ORDER BY id")
    with connect(url) as connection:
        assert [tuple(row) for row in connection.execute(visits)] == [
            (1, "来得太晚", ""),
            (2, "没修", ""),
            (3, "灯还是不亮", "已回访，明天再修"),
        ]
        assert list(connection.scalars(notes)) == ["三事分流：大事", "三事分流：一般事"]

    command.downgrade(config, BEFORE)

    with connect(url) as connection:
        rows = connection.execute(sa.text("SELECT id, note FROM return_visits ORDER BY id"))
        assert [tuple(row) for row in rows] == [(1, ""), (2, "没修"), (3, "已回访，明天再修")]
        assert list(connection.scalars(notes)) == ["major", "routine"]
