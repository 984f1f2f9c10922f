"""A community's service catalogue (买菜代购, 家电维修 …): adding entries and reading them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind, ServiceCategory
from app.areas.shapes import CategoryList, CategoryOut
from app.areas.tree import get_area
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.runtime import Runtime

#: The skills volunteers declare and categories ask for (``ServiceCategory.skill``,
#: ``UserSkill.skill``), by code, with the Chinese name a person reads: codes stay in the data and
#: the API fields, names in every sentence (技能匹配：电工). A code not listed here is shown as it
#: is, so an operator's own skill is never hidden.
SKILL_NAMES: dict[str, str] = {
    "electrician": "电工",
    "plumber": "水暖工",
    "carpenter": "木工",
    "locksmith": "开锁",
    "appliance": "家电维修",
    "computer": "电脑手机维修",
    "escort": "陪诊陪护",
    "nursing": "护理",
    "elder_care": "助老服务",
    "medical": "医疗健康",
    "psychology": "心理疏导",
    "legal": "法律咨询",
    "tutoring": "课业辅导",
    "cleaning": "保洁",
    "haircut": "理发",
    "cooking": "烹饪",
    "driving": "驾驶接送",
    "delivery": "跑腿代购",
    "translation": "翻译",
    "sign_language": "手语",
}


def skill_name(code: str) -> str:
    """The Chinese name of a skill code (the code itself when it has none)."""
    return SKILL_NAMES.get(code, code)


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
    (negative points, no time limit), NotFoundError (unknown community), ConflictError (code taken)."""
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
        )
        return CategoryList(
            items=[
                CategoryOut(
                    code=c.code,
                    name=c.name,
                    points=c.points,
                    sla_hours=c.sla_hours,
                    skill=c.skill,
                    skill_name=skill_name(c.skill) if c.skill else None,
                )
                for c in rows
            ]
        )
