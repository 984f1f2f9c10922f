"""Giving a role to a person by openid (operators' CLI and the demo data)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area
from app.areas.tree import get_area
from app.audit.models import AuditKind
from app.audit.record import record
from app.identity.models import RoleMembership, User
from app.identity.roles import Role
from app.runtime import Runtime


def grant_role(rt: Runtime, openid: str, role: Role, area_code: str, *, nickname: str = "") -> User:
    """Operators (CLI): give ``openid`` a role in an area, creating the user if new. Idempotent.
    Raises NotFoundError for an unknown area."""
    with rt.db.write() as session:
        return assign_role(session, openid, role, area_code, nickname=nickname)


def assign_role(session: Session, openid: str, role: Role, area_code: str, *, nickname: str = "") -> User:
    """Helper (flushes only): :func:`grant_role` inside the caller's unit of work."""
    area = get_area(session, area_code)
    user = session.scalar(sa.select(User).where(User.openid == openid))
    if user is None:
        user = User(openid=openid, nickname=nickname)
        session.add(user)
        session.flush()
    elif nickname and not user.nickname:
        user.nickname = nickname
    exists = session.scalar(
        sa.select(RoleMembership.id).where(
            RoleMembership.user_id == user.id, RoleMembership.role == role, RoleMembership.area_id == area.id
        )
    )
    if exists is None:
        session.add(RoleMembership(user_id=user.id, role=role, area_id=area.id))
        record_grant(session, area, user.id, role, granted_by_id=None)
        session.flush()
    return user


def record_grant(session: Session, area: Area, user_id: int, role: Role, *, granted_by_id: int | None) -> None:
    """Helper: the audit row of a new role, filed under the community it is held in (a grid's
    role under its community, a street's under the street), where that community's secretary and
    the street admin can list it."""
    record(
        session,
        AuditKind.ROLE_GRANTED,
        area_id=area.community_id or area.id,
        actor_id=granted_by_id,
        subject_id=user_id,
        detail=role.value,
    )
