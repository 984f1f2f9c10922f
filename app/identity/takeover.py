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

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.identity.models import Household, RoleMembership, User

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
    # A role the WeChat user already holds in the same area would collide on the unique key.
    mine = sa.select(RoleMembership.role, RoleMembership.area_id).where(RoleMembership.user_id == user.id)
    session.execute(
        sa.delete(RoleMembership).where(
            RoleMembership.user_id == imported_id,
            sa.tuple_(RoleMembership.role, RoleMembership.area_id).in_(mine),
        )
    )
    for table, column in _columns_pointing_at_users(session):
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
