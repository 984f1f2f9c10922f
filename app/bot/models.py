"""The Official Account bot's own state: one-time bind codes, failed bind attempts, and the
dedupe/replay store of inbound callbacks (in the database, so every API process shares it)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import created_at, fk, intpk
from app.core.db import Base


class BotBindCode(Base):
    """A short one-time code, asked for in the mini-program and sent as 「绑定 <code>」 to the
    Official Account, that links the chat user (an OA openid) to a Linli user."""

    __tablename__ = "bot_bind_codes"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    #: The Official Account openid that used the code (kept for the audit of who bound what).
    used_by_oa_openid: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]

    def __repr__(self) -> str:
        return f"<BotBindCode user={self.user_id} used={self.used_at is not None}>"


class BotBindFailure(Base):
    """One wrong code sent by a chat user; a few of these in a row lock that user out for a while."""

    __tablename__ = "bot_bind_failures"
    __table_args__ = (sa.Index("ix_bot_bind_failures_oa_openid_created_at", "oa_openid", "created_at"),)

    id: Mapped[intpk]
    oa_openid: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]


class BotInbound(Base):
    """A callback already taken: ``nonce:<timestamp>:<nonce>`` (a signed request is good once) or
    ``msg:<MsgId>`` / ``evt:<FromUserName>:<CreateTime>:<Event>`` (WeChat resends the same
    message when it gets no answer in 5 s). The unique key makes the check-and-take one INSERT."""

    __tablename__ = "bot_inbound"
    __table_args__ = (sa.Index("ix_bot_inbound_created_at", "created_at"),)

    id: Mapped[intpk]
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[created_at]
