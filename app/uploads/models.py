"""An uploaded photo, linked to an order once used."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import created_at, fk, intpk
from app.core.db import Base


class Attachment(Base):
    """An uploaded photo, stored content-addressed under var/; linked to an order once used."""

    __tablename__ = "attachments"
    __table_args__ = (
        # The daily quota counts a user's uploads since the Shanghai day began.
        sa.Index("ix_attachments_uploader_id_created_at", "uploader_id", "created_at"),
        # The purge asks whether any other row still has a content before deleting its file, and an
        # upload locks the rows of its content.
        sa.Index("ix_attachments_sha256", "sha256"),
        # The purge scans the unused uploads by age; only those are in this index.
        sa.Index(
            "ix_attachments_unattached_created_at",
            "created_at",
            postgresql_where=sa.text("order_id IS NULL"),
            sqlite_where=sa.text("order_id IS NULL"),
        ),
    )

    id: Mapped[intpk]
    uploader_id: Mapped[int] = fk("users.id", ondelete="CASCADE", index=False)
    order_id: Mapped[int | None] = fk("orders.id", ondelete="SET NULL", nullable=True)
    #: "request" (the resident's photos) or "completion" (the volunteer's proof of work).
    purpose: Mapped[str] = mapped_column(sa.String(16), default="request")
    #: Hex SHA-256 of the stored (EXIF-stripped) bytes; also the file name.
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content_type: Mapped[str] = mapped_column(sa.String(32))
    byte_size: Mapped[int]
    created_at: Mapped[created_at]
