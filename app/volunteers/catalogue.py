"""A community's skill catalogue as people use it: everyone reads it (volunteers pick their skills
from it), the community's secretary adds to it, operators add from the CLI."""

from __future__ import annotations

import sqlalchemy as sa

from app.areas.models import Area, AreaKind, Skill
from app.areas.skills import create_skill, deactivate_skill
from app.areas.tree import get_area
from app.core.errors import NotFoundError
from app.identity.actor import Actor, community_for
from app.identity.roles import Role
from app.runtime import Runtime
from app.volunteers.shapes import SkillList, SkillOut


def list_skills(rt: Runtime, community: str) -> SkillList:
    """Any logged-in user: the community's active skills, oldest first. NotFoundError for an
    unknown community."""
    with rt.db.read() as session:
        area = session.scalar(sa.select(Area).where(Area.code == community, Area.kind == AreaKind.COMMUNITY))
        if area is None:
            raise NotFoundError(f"找不到社区 {community}")
        rows = session.scalars(
            sa.select(Skill).where(Skill.community_id == area.id, Skill.active.is_(True)).order_by(Skill.id)
        )
        return SkillList(items=[_out(skill) for skill in rows])


def register_skill(rt: Runtime, actor: Actor, *, community: str, code: str, name: str) -> SkillOut:
    """The community's secretary: a new skill in its catalogue. Raises ForbiddenError, NotFoundError
    (unknown or another community), InvalidInputError, ConflictError (the code exists there)."""
    with rt.db.write() as session:
        area = community_for(session, actor, community, Role.SECRETARY, refusal="只有社区书记可以管理技能库")
        return _out(create_skill(session, area.id, code, name))


def add_skill(rt: Runtime, community_code: str, code: str, name: str) -> SkillOut:
    """Operators (CLI): as :func:`register_skill`, with no caller to check."""
    with rt.db.write() as session:
        area = get_area(session, community_code, kinds=[AreaKind.COMMUNITY])
        return _out(create_skill(session, area.id, code, name))


def retire_skill(rt: Runtime, community_code: str, code: str) -> SkillOut:
    """Operators (CLI): the community's skill ``code`` can no longer be chosen (nor asked for by a
    new category); volunteers and categories that have it keep it. Raises NotFoundError."""
    with rt.db.write() as session:
        area = get_area(session, community_code, kinds=[AreaKind.COMMUNITY])
        return _out(deactivate_skill(session, area.id, code))


def _out(skill: Skill) -> SkillOut:
    return SkillOut(code=skill.code, name=skill.name, active=skill.active)
