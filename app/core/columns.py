"""Annotated column types shared by the models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from sqlalchemy.orm import mapped_column

from app.core.clock import now_utc
from app.core.db import UTCDateTime

#: 64-bit ids on PostgreSQL; plain INTEGER on SQLite, where only that aliases the rowid. Both are
#: signed 64-bit and ids count from 1, so the API accepts 1..2^63 − 1 (``app/core/ids.py``).
ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

intpk = Annotated[int, mapped_column(ID_TYPE, primary_key=True)]
created_at = Annotated[
    datetime, mapped_column(UTCDateTime(), default=now_utc, server_default=sa.func.now(), nullable=False)
]
updated_at = Annotated[
    datetime,
    mapped_column(UTCDateTime(), default=now_utc, onupdate=now_utc, server_default=sa.func.now(), nullable=False),
]


def fk(
    target: str, *, ondelete: str | None = None, index: bool = True, nullable: bool = False, unique: bool = False
) -> Any:
    """A foreign-key id column of :data:`ID_TYPE`, indexed unless told otherwise."""
    return mapped_column(
        ID_TYPE,
        sa.ForeignKey(target, ondelete=ondelete),
        index=index and not unique,
        unique=unique,
        nullable=nullable,
    )
