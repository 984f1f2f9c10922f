"""Writing an audit row inside the caller's unit of work."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.audit.models import AuditEntry, AuditKind


def record(
    session: Session,
    kind: AuditKind,
    *,
    area_id: int,
    actor_id: int | None,
    subject_id: int | None = None,
    order_id: int | None = None,
    detail: str = "",
) -> None:
    """Helper (adds only): the row commits or rolls back with the act it records, so the trail
    never shows an act that did not happen, nor misses one that did."""
    session.add(
        AuditEntry(
            kind=kind, area_id=area_id, actor_id=actor_id, subject_id=subject_id, order_id=order_id, detail=detail
        )
    )
