"""A person imported by their community (no openid) taken over by their WeChat account.

When someone binds a phone (POST /auth/phone) and exactly one imported person who never logged in
has that phone, everything that points at the imported person (household, roles, orders posted
for them, …) is moved to the WeChat user, and the imported row is deleted: once, since it is gone
afterwards. Never for another phone. Never across communities by surprise: only a WeChat user
with no household yet takes someone over (one who registered an address of their own keeps it,
and the secretary's record stays as it is). Two imported people with the same phone (listed by
two communities) are ambiguous: neither is taken over.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.identity.models import Household, User

log = logging.getLogger(__name__)


def _columns_pointing_at_users(session: Session) -> list[tuple[str, str]]:
    """(table, column) of every foreign key to users.id, as the database has them: read from the
    schema rather than the models, so that a table whose model this process never imported is
    moved too (its rows would otherwise be cascaded away with the imported row). Only on a
    takeover, which is rare: the few catalogue queries do not matter."""
    inspector = sa.inspect(session.connection())
    return [
        (table, column)
        for table in inspector.get_table_names()
        for fk in inspector.get_foreign_keys(table)
        if fk["referred_table"] == "users" and fk["referred_columns"] == ["id"]
        for column in fk["constrained_columns"]
    ]


def _keys_with(inspector: Any, table: str, column: str) -> list[list[str]]:
    """The table's primary and unique keys that include ``column`` (a key repeated is harmless)."""
    keys = [inspector.get_pk_constraint(table).get("constrained_columns") or []]
    keys += [unique["column_names"] for unique in inspector.get_unique_constraints(table)]
    # A unique column may be a unique index rather than a constraint (as PostgreSQL reflects it).
    keys += [index["column_names"] for index in inspector.get_indexes(table) if index["unique"]]
    return [list(key) for key in keys if column in key and None not in key]


def _drop_collisions(session: Session, columns: list[tuple[str, str]], imported_id: int, user_id: int) -> None:
    """Rows of the imported person that would repeat a key the WeChat user holds already (the same
    role in the same area, the same skill or team, a registry entry of their own): the WeChat
    user's row is kept, the imported one dropped, so that moving the rest cannot collide."""
    inspector = sa.inspect(session.connection())
    for table, column in columns:
        for key in _keys_with(inspector, table, column):
            others = [name for name in key if name != column]
            target = sa.table(table, *(sa.column(name) for name in key))
            clash: sa.ColumnElement[bool]
            if others:
                theirs = sa.select(*(target.c[name] for name in others)).where(target.c[column] == user_id)
                clash = sa.tuple_(*(target.c[name] for name in others)).in_(theirs)
            else:
                clash = sa.exists(sa.select(target.c[column]).where(target.c[column] == user_id))
            session.execute(sa.delete(target).where(target.c[column] == imported_id, clash))


def take_over_imported(session: Session, user: User, phone: str) -> int | None:
    """Helper (flushes only): move the imported person with ``phone`` to ``user``; their former id, or None."""
    if session.scalar(sa.select(Household.id).where(Household.user_id == user.id)) is not None:
        return None
    candidates = session.scalars(
        sa.select(User.id).where(
            User.phone == phone,
            User.openid.is_(None),
            User.imported_at.is_not(None),
            User.deleted_at.is_(None),
            User.id != user.id,
        )
    ).all()
    if len(candidates) != 1:
        if candidates:
            log.warning("phone of user %s matches %d imported people: none taken over", user.id, len(candidates))
        return None
    imported_id = candidates[0]
    session.flush()
    columns = _columns_pointing_at_users(session)
    _drop_collisions(session, columns, imported_id, user.id)
    for table, column in columns:
        target = sa.table(table, sa.column(column))
        session.execute(sa.update(target).where(target.c[column] == imported_id).values({column: user.id}))
    imported = session.get(User, imported_id)
    assert imported is not None  # noqa: S101 - found above in this transaction
    if not user.nickname:
        user.nickname = imported.nickname
    user.imported_at = imported.imported_at
    session.delete(imported)
    session.flush()
    session.expire(user)
    log.info("user %s took over imported person %s", user.id, imported_id)
    return imported_id
