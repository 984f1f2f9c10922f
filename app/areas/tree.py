"""The area tree: adding areas, finding them by code, a community's digest robot.

Public use cases take the Runtime and own their transaction; the ``create_*`` / ``store_*`` helpers
take a session and only flush, for use cases that do more in the same unit of work (demo data)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import PARENT_KIND, Area, AreaKind
from app.areas.skills import SKILL_NAMES, seed_catalogue
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.runtime import Runtime


def add_area(rt: Runtime, kind: AreaKind, code: str, name: str, parent_code: str | None = None) -> Area:
    """Operators (CLI): create one area under its parent. Raises InvalidInputError (wrong parent
    kind or none), NotFoundError (unknown parent), ConflictError (code taken)."""
    with rt.db.write() as session:
        return create_area(session, kind, code, name, parent_code)


def create_area(session: Session, kind: AreaKind, code: str, name: str, parent_code: str | None = None) -> Area:
    """Helper (flushes only): :func:`add_area` inside the caller's unit of work."""
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
        seed_catalogue(session, area.id, SKILL_NAMES)
    elif parent is not None:
        area.community_id = parent.community_id
    session.flush()
    return area


def database_is_empty(rt: Runtime) -> bool:
    """True when no area exists yet (a fresh installation)."""
    with rt.db.read() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Area)) == 0


def set_robot_key(rt: Runtime, community_code: str, key: str) -> None:
    """Operators (CLI): set (or clear, with "") a community's WeCom robot key. Raises NotFoundError."""
    with rt.db.write() as session:
        store_robot_key(session, community_code, key)


def store_robot_key(session: Session, community_code: str, key: str) -> None:
    """Helper (flushes only): :func:`set_robot_key` inside the caller's unit of work."""
    community = get_area(session, community_code, kinds=[AreaKind.COMMUNITY])
    community.wecom_robot_key = key.strip() or None
    session.flush()


def get_area(session: Session, code: str, *, kinds: Iterable[AreaKind] | None = None) -> Area:
    """The area with ``code`` (of one of ``kinds``), or NotFoundError naming the code."""
    area = session.scalar(sa.select(Area).where(Area.code == code))
    if area is None or (kinds is not None and area.kind not in set(kinds)):
        raise NotFoundError(f"找不到区域 {code}", details={"area": code})
    return area
