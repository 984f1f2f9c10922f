"""One table for the acts staff are answerable for (PIPL: who processed whose personal data)."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import created_at, fk, intpk
from app.core.db import Base


class AuditKind(enum.StrEnum):
    """What was done. Order actions have their own trail (``order_events``)."""

    #: Staff or the assignee asked for a resident's full phone and address (POST /orders/{id}/contact).
    CONTACT_REVEALED = "contact_revealed"
    #: A role was given: by an invitation (the inviter is the actor) or by an operator (no actor).
    ROLE_GRANTED = "role_granted"
    #: Staff marked a resident's household as checked.
    HOUSEHOLD_VERIFIED = "household_verified"
    #: A secretary added or took away a volunteer's points by hand (``detail``: the delta).
    POINTS_ADJUSTED = "points_adjusted"
    #: Staff added, renamed or retired an area (``detail``: added / renamed / retired).
    AREA_CHANGED = "area_changed"
    #: Staff set, changed or cleared a household's care tag (``detail``: the tag and set / changed / cleared).
    CARE_TAG_CHANGED = "care_tag_changed"


class AuditEntry(Base):
    """Immutable: rows are only ever inserted, in the same transaction as the act they record."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        # Secretaries and street admins list their communities' entries of one kind, newest first.
        sa.Index("ix_audit_entries_area_id_kind_id", "area_id", "kind", "id"),
    )

    id: Mapped[intpk]
    kind: Mapped[AuditKind]
    #: The community the act concerns (a street for street roles): what decides who may list it.
    area_id: Mapped[int] = fk("areas.id", ondelete="CASCADE", index=False)
    #: Who did it; None for an operator at the command line.
    actor_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", index=False, nullable=True)
    #: Whose data or whose role.
    subject_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", index=False, nullable=True)
    order_id: Mapped[int | None] = fk("orders.id", ondelete="SET NULL", index=False, nullable=True)
    #: A short fact in code words (the role granted, the capacity the contact was seen in).
    detail: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[created_at]
