"""Operator set-up used by the CLI and demo data: areas, the service catalogue, role grants."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.errors import ConflictError, InvalidInputError
from app.models import (
    PARENT_KIND,
    Area,
    AreaKind,
    PropertyCompany,
    PropertyCompanyStaff,
    RoleMembership,
    ServiceCategory,
    Team,
    TeamMember,
    User,
)
from app.runtime import Runtime
from app.services.access import get_area
from app.workflow import Role


def add_area(session: Session, kind: AreaKind, code: str, name: str, parent_code: str | None = None) -> Area:
    """Create one area under its parent (flush only; the caller owns the transaction)."""
    wanted_parent = PARENT_KIND[kind]
    parent: Area | None = None
    if wanted_parent is None:
        if parent_code:
            raise InvalidInputError("街道不能有上级区域", details={"parent": parent_code})
    else:
        if not parent_code:
            raise InvalidInputError(f"{kind.value} 需要上级区域 (--parent)", details={"parent": None})
        parent = get_area(session, parent_code, kinds=[wanted_parent])
    if session.scalar(sa.select(Area.id).where(Area.code == code)) is not None:
        raise ConflictError(f"区域编码 {code} 已存在", details={"code": code})
    area = Area(kind=kind, code=code, name=name, parent_id=parent.id if parent else None)
    session.add(area)
    session.flush()
    if kind is AreaKind.COMMUNITY:
        area.community_id = area.id
    elif parent is not None:
        area.community_id = parent.community_id
    session.flush()
    return area


def add_category(
    session: Session,
    community_code: str,
    code: str,
    name: str,
    *,
    points: int,
    sla_hours: int,
    skill: str | None = None,
) -> ServiceCategory:
    """Add an entry to a community's service catalogue (flush only)."""
    if points < 0 or sla_hours <= 0:
        raise InvalidInputError("积分不能为负，时限必须大于 0", details={"points": points, "sla_hours": sla_hours})
    community = get_area(session, community_code, kinds=[AreaKind.COMMUNITY])
    exists = session.scalar(
        sa.select(ServiceCategory.id).where(ServiceCategory.community_id == community.id, ServiceCategory.code == code)
    )
    if exists is not None:
        raise ConflictError(f"服务类别 {code} 已存在", details={"code": code})
    category = ServiceCategory(
        community_id=community.id, code=code, name=name, points=points, sla_hours=sla_hours, skill=skill
    )
    session.add(category)
    session.flush()
    return category


def grant_role(session: Session, openid: str, role: Role, area_code: str, *, nickname: str = "") -> User:
    """Give ``openid`` a role in an area, creating the user if new (flush only). Idempotent."""
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
        session.flush()
    return user


def database_is_empty(rt: Runtime) -> bool:
    """True when no area exists yet (a fresh installation)."""
    with rt.db.read() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Area)) == 0


def add_team(session: Session, community_code: str, name: str, member_openids: list[str]) -> Team:
    """A volunteer team of existing users (flush only)."""
    community = get_area(session, community_code, kinds=[AreaKind.COMMUNITY])
    team = Team(community_id=community.id, name=name)
    session.add(team)
    session.flush()
    for openid in member_openids:
        user = session.scalar(sa.select(User).where(User.openid == openid))
        if user is None:
            raise InvalidInputError(f"用户 {openid} 不存在", details={"openid": openid})
        session.add(TeamMember(team_id=team.id, user_id=user.id))
    session.flush()
    return team


def add_property_company(session: Session, community_code: str, name: str, staff_openids: list[str]) -> PropertyCompany:
    """A property company serving a community, with the users who act for it (flush only)."""
    community = get_area(session, community_code, kinds=[AreaKind.COMMUNITY])
    company = PropertyCompany(community_id=community.id, name=name)
    session.add(company)
    session.flush()
    for openid in staff_openids:
        user = grant_role(session, openid, Role.PROPERTY_COMPANY, community_code)
        session.add(PropertyCompanyStaff(company_id=company.id, user_id=user.id))
    session.flush()
    return company


def set_robot_key(session: Session, community_code: str, key: str) -> None:
    """Set (or clear, with "") a community's WeCom robot key (flush only)."""
    community = get_area(session, community_code, kinds=[AreaKind.COMMUNITY])
    community.wecom_robot_key = key.strip() or None
    session.flush()
