"""A community's skill catalogue (技能特长): the codes categories ask for and volunteers declare,
each with its Chinese name. Helpers for use cases (flush only); who may change it is decided above
(``app.volunteers.catalogue``)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Skill
from app.core.errors import ConflictError, InvalidInputError, NotFoundError

#: The catalogue a new community starts with (code → the Chinese name every sentence shows: 技能匹配：电工).
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

#: The longest code and name (the columns' lengths).
CODE_MAX = 32
NAME_MAX = 32


def seed_catalogue(session: Session, community_id: int, names: dict[str, str]) -> None:
    """A new community starts with ``names`` (code → Chinese name)."""
    session.add_all(Skill(community_id=community_id, code=code, name=name) for code, name in names.items())
    session.flush()


def create_skill(session: Session, community_id: int, code: str, name: str) -> Skill:
    """A new entry of the community's catalogue. Raises InvalidInputError (a code or name empty or
    too long), ConflictError (the code exists there; a deactivated one comes back
    active with the new name instead)."""
    code, name = code.strip(), name.strip()
    problems = [
        {"field": field, "problem": "length"}
        for field, value, longest in (("code", code, CODE_MAX), ("name", name, NAME_MAX))
        if not value or len(value) > longest
    ]
    if problems:
        raise InvalidInputError(f"技能编码、名称须为 1–{CODE_MAX} 个字符", details={"fields": problems})
    existing = session.scalar(sa.select(Skill).where(Skill.community_id == community_id, Skill.code == code))
    if existing is not None:
        if existing.active:
            raise _taken(code)
        existing.active, existing.name = True, name
        session.flush()
        return existing
    skill = Skill(community_id=community_id, code=code, name=name)
    session.add(skill)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        # Two secretaries adding the same code at once: the unique constraint decides.
        raise _taken(code) from None
    return skill


def _taken(code: str) -> ConflictError:
    return ConflictError(
        f"技能 {code} 已在本社区的技能库中", details={"fields": [{"field": "code", "problem": "taken"}]}
    )


def deactivate_skill(session: Session, community_id: int, code: str) -> Skill:
    """The skill can no longer be chosen (those who have it keep it, and its name); already
    inactive: the same. Raises NotFoundError (no such code in the community)."""
    skill = session.scalar(sa.select(Skill).where(Skill.community_id == community_id, Skill.code == code))
    if skill is None:
        raise NotFoundError(f"本社区的技能库中没有 {code}", details={"code": code})
    skill.active = False
    session.flush()
    return skill


def require_skills(
    session: Session, community_ids: Collection[int], codes: Iterable[str], field: str, kept: Iterable[str] = ()
) -> None:
    """Every code is an active skill of one of ``community_ids``, or one of ``kept`` (what they have
    already: a skill deactivated since is theirs to keep when they save again); else
    InvalidInputError naming the unknown codes under ``field``."""
    wanted = set(codes) - set(kept)
    if not wanted:
        return
    known = set(
        session.scalars(
            sa.select(Skill.code).where(
                Skill.community_id.in_(sorted(community_ids)), Skill.code.in_(sorted(wanted)), Skill.active.is_(True)
            )
        )
    )
    unknown = sorted(wanted - known)
    if unknown:
        raise InvalidInputError(
            "技能不在本社区的技能库中：" + "、".join(unknown),
            details={"fields": [{"field": field, "problem": "unknown skill"}], "unknown": unknown},
        )


def skill_names(session: Session, community_ids: Collection[int], codes: Iterable[str]) -> dict[str, str]:
    """The Chinese names of ``codes`` in those communities' catalogues (deactivated ones too: who
    has a skill keeps its name); a code in none of them is named by itself."""
    wanted = sorted(set(codes))
    names = {code: code for code in wanted}
    if wanted and community_ids:
        rows = session.execute(
            sa.select(Skill.code, Skill.name)
            .where(Skill.community_id.in_(sorted(community_ids)), Skill.code.in_(wanted))
            .order_by(Skill.community_id.desc())
        )
        names.update({row.code: row.name for row in rows})
    return names
