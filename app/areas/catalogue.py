"""A community's service catalogue (买菜代购, 家电维修 …): adding entries and reading them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind, ServiceCategory
from app.areas.shapes import CategoryList, CategoryOut
from app.areas.skills import require_skills, skill_names
from app.areas.tree import get_area
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.runtime import Runtime


def add_category(
    rt: Runtime,
    community_code: str,
    code: str,
    name: str,
    *,
    points: int,
    sla_hours: int,
    skill: str | None = None,
) -> ServiceCategory:
    """Operators (CLI): add an entry to a community's service catalogue. Raises InvalidInputError
    (negative points, no time limit, a skill not in the community's skill catalogue),
    NotFoundError (unknown community), ConflictError (code taken)."""
    with rt.db.write() as session:
        return create_category(session, community_code, code, name, points=points, sla_hours=sla_hours, skill=skill)


def create_category(
    session: Session,
    community_code: str,
    code: str,
    name: str,
    *,
    points: int,
    sla_hours: int,
    skill: str | None = None,
) -> ServiceCategory:
    """Helper (flushes only): :func:`add_category` inside the caller's unit of work."""
    if points < 0 or sla_hours <= 0:
        raise InvalidInputError("积分不能为负，时限必须大于 0", details={"points": points, "sla_hours": sla_hours})
    community = get_area(session, community_code, kinds=[AreaKind.COMMUNITY])
    if skill is not None:
        require_skills(session, [community.id], [skill], "skill")
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


def list_categories(rt: Runtime, community: str) -> CategoryList:
    """Any logged-in user: the active service catalogue of a community (public within the
    mini-program). Raises NotFoundError for an unknown community."""
    with rt.db.read() as session:
        area = session.scalar(sa.select(Area).where(Area.code == community, Area.kind == AreaKind.COMMUNITY))
        if area is None:
            raise NotFoundError(f"找不到社区 {community}")
        rows = session.scalars(
            sa.select(ServiceCategory)
            .where(ServiceCategory.community_id == area.id, ServiceCategory.active.is_(True))
            .order_by(ServiceCategory.id)
        ).all()
        names = skill_names(session, [area.id], (c.skill for c in rows if c.skill))
        return CategoryList(
            items=[
                CategoryOut(
                    code=c.code,
                    name=c.name,
                    points=c.points,
                    sla_hours=c.sla_hours,
                    skill=c.skill,
                    skill_name=names[c.skill] if c.skill else None,
                )
                for c in rows
            ]
        )
