"""The audit trail as secretaries and street admins read it: who saw whose contact details,
who granted which role, who verified which household, in their communities."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.areas.models import Area, AreaKind
from app.areas.tree import get_area
from app.audit.models import AuditEntry, AuditKind
from app.community.shapes import AuditEntryOut, AuditOrder, AuditPage, AuditPerson
from app.core.errors import ForbiddenError, NotFoundError
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor
from app.identity.models import User
from app.identity.roles import ROLE_LABELS, Role
from app.orders.models import Order
from app.runtime import Runtime

KIND_LABELS: Final = {
    AuditKind.CONTACT_REVEALED: "查看联系方式",
    AuditKind.ROLE_GRANTED: "授予角色",
    AuditKind.HOUSEHOLD_VERIFIED: "核实住址",
    AuditKind.POINTS_ADJUSTED: "调整积分",
    AuditKind.AREA_CHANGED: "调整区域",
    AuditKind.CARE_TAG_CHANGED: "关爱标签",
}

#: A reveal's detail is the capacity the contact was seen in: a role, or the assignee.
_CAPACITY_LABELS: Final = {"assignee": "接单人", **{role.value: label for role, label in ROLE_LABELS.items()}}

_READERS: Final = (Role.SECRETARY, Role.STREET_ADMIN)

_ACTOR = aliased(User)
_SUBJECT = aliased(User)
_AREA = aliased(Area)


def readable_areas(session: sa.orm.Session, actor: Actor, area: Area) -> list[int]:
    """The area ids whose entries ``actor`` may read under ``area``; NotFoundError when none (an
    area of another community is never confirmed to exist)."""
    if area.kind is AreaKind.COMMUNITY:
        if area.id not in actor.communities_as(*_READERS):
            raise NotFoundError("找不到该区域")
        return [area.id]
    if area.kind is AreaKind.STREET and any(
        m.role is Role.STREET_ADMIN and m.area_id == area.id for m in actor.memberships
    ):
        communities = session.scalars(
            sa.select(Area.id).where(Area.parent_id == area.id, Area.kind == AreaKind.COMMUNITY)
        ).all()
        return [area.id, *communities]
    raise NotFoundError("找不到该区域")


def list_audit(
    rt: Runtime, actor: Actor, *, area: str, kind: AuditKind | None, limit: int, cursor: str | None
) -> AuditPage:
    """Secretaries (their community) and street admins (their street and its communities): the
    audit trail, newest first, of one kind or all. ForbiddenError for anyone else."""
    if not actor.communities_as(*_READERS):
        raise ForbiddenError("只有社区书记或街道管理员可以查看审计记录")
    before = decode_cursor(cursor)
    with rt.db.read() as session:
        area_ids = readable_areas(session, actor, get_area(session, area))
        query = (
            sa.select(
                AuditEntry,
                _AREA.code,
                _ACTOR.nickname,
                _SUBJECT.nickname,
                Order.number,
            )
            .join(_AREA, _AREA.id == AuditEntry.area_id)
            .outerjoin(_ACTOR, _ACTOR.id == AuditEntry.actor_id)
            .outerjoin(_SUBJECT, _SUBJECT.id == AuditEntry.subject_id)
            .outerjoin(Order, Order.id == AuditEntry.order_id)
            .where(AuditEntry.area_id.in_(area_ids))
            .order_by(AuditEntry.id.desc())
            .limit(limit + 1)
        )
        if kind is not None:
            query = query.where(AuditEntry.kind == kind)
        if before is not None:
            query = query.where(AuditEntry.id < before)
        rows = session.execute(query).all()
    items = [
        AuditEntryOut(
            id=entry.id,
            kind=entry.kind,
            kind_label=KIND_LABELS[entry.kind],
            area=area_code,
            actor=AuditPerson(id=entry.actor_id, name=actor_name or "") if entry.actor_id else None,
            subject=AuditPerson(id=entry.subject_id, name=subject_name or "") if entry.subject_id else None,
            order=AuditOrder(id=entry.order_id, number=number) if entry.order_id and number else None,
            detail=_CAPACITY_LABELS.get(entry.detail, entry.detail),
            at=entry.created_at,
        )
        for entry, area_code, actor_name, subject_name, number in rows[:limit]
    ]
    more = len(rows) > limit
    return AuditPage(items=items, next_cursor=encode_cursor(items[-1].id) if more and items else None)
