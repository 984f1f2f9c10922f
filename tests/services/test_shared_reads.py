"""A request's shared read session (``Database.shared_reads``): on PostgreSQL it runs without a
transaction, so what would need one is refused there, loudly, and changes nothing; on SQLite it is
a deferred read transaction as before."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.db import ReadOnlySessionError
from app.identity.models import User
from app.runtime import Runtime


def _nicknames(rt: Runtime) -> list[str]:
    with rt.db.read() as session:
        return list(session.scalars(sa.select(User.nickname).order_by(User.id)))


def _user(rt: Runtime) -> int:
    with rt.db.write() as session:
        user = User(openid="reader", nickname="读者")
        session.add(user)
        session.flush()
        return user.id


def _open_transaction(session: Session) -> bool:
    """Whether the driver's connection is inside a transaction after a SELECT (the driver's own
    word, not SQLAlchemy's settings)."""
    session.execute(sa.select(1))
    driver: Any = session.connection().connection.dbapi_connection
    if session.get_bind().dialect.name == "sqlite":
        return bool(driver.in_transaction)
    return str(driver.info.transaction_status.name) != "IDLE"


def _in_transaction(rt: Runtime) -> bool:
    with rt.db.read() as session:
        return _open_transaction(session)


def test_a_request_reads_without_a_transaction_on_postgresql_only(rt: Runtime) -> None:
    with rt.db.shared_reads():
        assert _in_transaction(rt) is rt.db.is_sqlite
        # A read that asks for a transaction has one, inside the shared block too (on SQLite the
        # shared session is one).
        with rt.db.read(transaction=True) as session:
            assert _open_transaction(session)
    assert _in_transaction(rt)  # a read of its own, outside the block: a transaction as ever


def test_a_write_or_a_set_local_in_the_shared_session_is_refused_and_changes_nothing(rt: Runtime) -> None:
    if rt.db.is_sqlite:
        pytest.skip("SQLite's shared reads are a transaction, rolled back at the end")
    user_id = _user(rt)
    with rt.db.shared_reads(), rt.db.read() as session:
        with pytest.raises(ReadOnlySessionError):
            session.execute(sa.update(User).where(User.id == user_id).values(nickname="改了"))
        with pytest.raises(ReadOnlySessionError):
            session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
        with pytest.raises(ReadOnlySessionError):
            session.execute(sa.text("UPDATE users SET nickname = '改了'"))
        with pytest.raises(ReadOnlySessionError):
            session.execute(sa.text("SELECT set_config('work_mem', '64MB', false)"))
        assert session.scalar(sa.text("SELECT count(*) FROM users")) == 1  # a plain read passes
        user = session.get(User, user_id)
        assert user is not None
        user.nickname = "也改了"
        with pytest.raises(ReadOnlySessionError):
            session.flush()
        session.rollback()
    assert _nicknames(rt) == ["读者"]


def test_set_local_holds_in_a_read_of_its_own_inside_the_shared_block(rt: Runtime) -> None:
    if rt.db.is_sqlite:
        pytest.skip("SET LOCAL is PostgreSQL's")
    with rt.db.shared_reads(), rt.db.read(transaction=True) as session:
        session.execute(sa.text("SET LOCAL work_mem = '77MB'"))
        assert session.scalar(sa.text("SHOW work_mem")) == "77MB"
    with rt.db.read() as session:
        assert session.scalar(sa.text("SHOW work_mem")) != "77MB"  # gone with its transaction
