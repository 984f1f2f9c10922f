"""Logging out: revoking the token of one device, or every token of a user, and forgetting
revocations once the tokens they name have expired anyway.

Two mechanisms, so that authenticating stays one statement (``app/identity/actor.py``):
- every token carries the user's ``token_generation``; bumping it revokes all tokens issued before
  (logout everywhere, account deletion), with nothing to store per token;
- a token also carries its own id; logging out of one device records that id in
  ``revoked_tokens``, which the Actor's statement probes by primary key.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.errors import UnauthenticatedError
from app.identity.actor import Actor
from app.identity.models import RevokedToken, User
from app.runtime import Runtime


def revoke_all_tokens(session: Session, user_id: int) -> None:
    """Helper (flushes only): every token of the user issued so far stops working.

    The one-device revocations of the user are no longer needed once the generation moved on."""
    session.execute(
        sa.update(User)
        .where(User.id == user_id)
        .values(token_generation=User.token_generation + 1)
        .execution_options(synchronize_session=False)
    )
    session.execute(sa.delete(RevokedToken).where(RevokedToken.user_id == user_id))
    session.flush()


def logout(rt: Runtime, actor: Actor, token: str, *, everywhere: bool) -> None:
    """Any user: the token of this request stops working; with ``everywhere``, every token of theirs.

    ``token`` is the bearer token the request was authenticated with. A token issued before tokens
    had ids cannot be revoked alone, so it logs the user out everywhere: after a logout the token
    used must fail, whatever else that costs. Logging out twice is harmless. Raises
    UnauthenticatedError if ``token`` is not the actor's.
    """
    claims = rt.tokens.verify(token)
    if claims.user_id != actor.user_id:
        raise UnauthenticatedError()
    with rt.db.write() as session:
        if everywhere or claims.token_id is None:
            revoke_all_tokens(session, actor.user_id)
            return
        try:
            # A savepoint: two logouts racing with one token both mean "revoked", and the one that
            # loses on the primary key must not fail.
            with session.begin_nested():
                session.add(RevokedToken(jti=claims.token_id, user_id=actor.user_id, issued_at=claims.issued_at))
        except IntegrityError:
            pass


def prune_revocations(rt: Runtime, now: datetime) -> int:
    """The job: forget revocations of tokens that have expired by now (they fail to verify on their
    own). One indexed DELETE; answers how many went."""
    horizon = now - timedelta(seconds=rt.tokens.ttl_seconds)
    with rt.db.write() as session:
        result = session.execute(sa.delete(RevokedToken).where(RevokedToken.issued_at < horizon))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
