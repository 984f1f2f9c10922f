"""The ``Idempotency-Key`` store: a POST answered once per (user, key) within a window; a replay
gets the first answer and writes nothing, the same key with another body is refused (409).

Generic on purpose: posting an order (``app/orders/submit.py``) and redeeming a reward
(``app/timebank/redemptions.py``) share it, so it sits below both. A caller's use case runs
inside :func:`answer_once`, which claims the key in the same transaction as the work.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.clock import now_utc
from app.core.columns import created_at, fk, intpk
from app.core.db import Base, Database
from app.core.errors import ConflictError

Answer = TypeVar("Answer", bound=BaseModel)


class IdempotencyKey(Base):
    """A POST answered once for (user, Idempotency-Key); replays get the same answer."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "key"),
        # The retention job deletes keys past their window: the stored answers hold full phones.
        sa.Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE", index=False)
    key: Mapped[str] = mapped_column(sa.String(128))
    #: SHA-256 of the canonical request body: the same key with another body is refused.
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    response: Mapped[dict[str, Any]] = mapped_column(sa.JSON())
    created_at: Mapped[created_at]


class IdempotencyKeyReusedError(ConflictError):
    code = "idempotency_key_reused"
    default_message = "该请求编号已用于另一份内容不同的请求"


@dataclass(frozen=True, slots=True)
class Keyed:
    """One request under an Idempotency-Key: who sent it, the key, and the hash of what it asks."""

    user_id: int
    key: str
    request_hash: str
    #: How long the first answer is replayed.
    hours: int


def request_hash(payload: object) -> str:
    """SHA-256 of ``payload`` as canonical JSON (sorted keys; dates and the like as strings)."""
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _mine(keyed: Keyed) -> sa.ColumnElement[bool]:
    return sa.and_(IdempotencyKey.user_id == keyed.user_id, IdempotencyKey.key == keyed.key)


def replayed(db: Database, keyed: Keyed, shape: type[Answer]) -> Answer | None:
    """The first answer to this key, if one is stored and still within its window; None for a
    new (or expired, then deleted) key. Raises IdempotencyKeyReusedError for another body."""
    horizon = now_utc() - timedelta(hours=keyed.hours)
    # Almost every key is new: look in a read transaction (on SQLite a write one would queue for
    # the database's one write lock just to find nothing).
    with db.read() as session:
        stored = session.execute(
            sa.select(IdempotencyKey.created_at, IdempotencyKey.request_hash, IdempotencyKey.response).where(
                _mine(keyed)
            )
        ).first()
    if stored is None:
        return None
    if stored.created_at < horizon:
        with db.write() as session:  # expired: the key may be used afresh
            session.execute(sa.delete(IdempotencyKey).where(_mine(keyed), IdempotencyKey.created_at < horizon))
        return None
    if stored.request_hash != keyed.request_hash:
        raise IdempotencyKeyReusedError(details={"idempotency_key": keyed.key})
    return shape.model_validate(stored.response)


def answer_once(db: Database, keyed: Keyed | None, shape: type[Answer], work: Callable[[Session], Answer]) -> Answer:
    """Run ``work`` in one write transaction and, with a key, store its answer in the same one.

    The key is claimed first: a concurrent twin blocks on the unique index, then fails, and is
    answered the winner's result instead of doing the work twice. Without a key it is a plain
    write. Raises whatever ``work`` raises, and IdempotencyKeyReusedError."""
    try:
        with db.write() as session:
            if keyed is not None:
                session.add(
                    IdempotencyKey(user_id=keyed.user_id, key=keyed.key, request_hash=keyed.request_hash, response={})
                )
                session.flush()
            answer = work(session)
            if keyed is not None:
                session.execute(
                    sa.update(IdempotencyKey).where(_mine(keyed)).values(response=answer.model_dump(mode="json"))
                )
            return answer
    except IntegrityError:
        if keyed is None:
            raise
        replay = replayed(db, keyed, shape)
        if replay is None:
            raise
        return replay
