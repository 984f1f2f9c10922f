"""The area tree: street → community → grid → building."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.columns import created_at, fk, intpk
from app.core.db import Base


class AreaKind(StrEnum):
    STREET = "street"  # 街道
    COMMUNITY = "community"  # 社区
    GRID = "grid"  # 网格 / 小区
    BUILDING = "building"  # 楼栋


#: The kind of parent each kind of area must have (a street has none).
PARENT_KIND: dict[AreaKind, AreaKind | None] = {
    AreaKind.STREET: None,
    AreaKind.COMMUNITY: AreaKind.STREET,
    AreaKind.GRID: AreaKind.COMMUNITY,
    AreaKind.BUILDING: AreaKind.GRID,
}


class Area(Base):
    """One node of the area tree; a community is the tenant boundary."""

    __tablename__ = "areas"

    id: Mapped[intpk]
    kind: Mapped[AreaKind]
    #: Stable code used by the API, the CLI and Excel sheets (e.g. "SQ001").
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    parent_id: Mapped[int | None] = fk("areas.id", ondelete="RESTRICT", nullable=True)
    #: The community this area belongs to (itself for a community, None for a street); denormalised
    #: so that tenancy checks never walk the tree.
    community_id: Mapped[int | None] = fk("areas.id", ondelete="RESTRICT", nullable=True)
    #: A community's WeCom work-group robot key (daily digest); a secret, never shown in the API.
    wecom_robot_key: Mapped[str | None] = mapped_column(sa.String(128))
    #: Retired areas are kept (households and orders point at them) but take no new ones.
    retired: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[created_at]

    parent: Mapped[Area | None] = relationship(remote_side="Area.id", foreign_keys="Area.parent_id")

    def __repr__(self) -> str:
        return f"<Area {self.kind.value} {self.code}>"


class ServiceCategory(Base):
    """One entry of a community's service catalogue (买菜代购, 家电维修 …)."""

    __tablename__ = "service_categories"
    __table_args__ = (sa.UniqueConstraint("community_id", "code"),)

    id: Mapped[intpk]
    community_id: Mapped[int] = fk("areas.id", ondelete="CASCADE")
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(50))
    #: Time-bank points a volunteer earns per hour worked on a rated order of this category
    #: (app/timebank/rules.py: hours rounded, floored and capped by `[timebank]`).
    points: Mapped[int] = mapped_column(default=0)
    #: Hours within which an order of this category should be finished.
    sla_hours: Mapped[int] = mapped_column(default=48)
    #: Volunteer skill that makes someone a good match (e.g. "electrician").
    skill: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]

    community: Mapped[Area] = relationship()


class Skill(Base):
    """One entry of a community's skill catalogue (技能特长): the codes its categories ask for and
    its volunteers declare (``ServiceCategory.skill``, ``UserSkill.skill``), with the Chinese name
    every sentence shows. Categories and volunteers keep the code (what the API and Excel carry);
    each write checks it against the catalogue of the community concerned."""

    __tablename__ = "skills"
    __table_args__ = (sa.UniqueConstraint("community_id", "code"),)

    id: Mapped[intpk]
    # No index of its own: the unique constraint's index leads with the community.
    community_id: Mapped[int] = fk("areas.id", ondelete="CASCADE", index=False)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(32))
    #: A deactivated skill can no longer be chosen; those who have it keep it (and its name).
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]
