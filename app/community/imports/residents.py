"""Importing a community's residents from Excel: people who may have no WeChat yet become users
without an openid, each with a household and the resident role, so that a grid worker can post
orders for them (代下单); their first login that binds the same phone takes them over
(app/identity/takeover.py).

All rows or none: every problem of every row is collected before anything is written, then the
whole sheet is written in one transaction with a few multi-row INSERTs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind
from app.community.imports.rows import (
    RESIDENT_FIELDS,
    Problem,
    ResidentRow,
    parse_resident,
)
from app.community.imports.runner import (
    CHUNK,
    ImportOut,
    Progress,
    all_or_none,
    import_as_operator,
    import_as_secretary,
    read_records,
)
from app.core.clock import now_utc
from app.identity.actor import Actor
from app.identity.models import Household, RoleMembership, User
from app.identity.roles import Role
from app.runtime import Runtime

_ONLY_SECRETARY = "只有社区书记可以导入居民"


class Places:
    """The community's grids (by code and by name) and each grid's buildings (by name)."""

    def __init__(self, session: Session, community: Area) -> None:
        grids = session.execute(
            sa.select(Area.id, Area.code, Area.name).where(Area.parent_id == community.id, Area.kind == AreaKind.GRID)
        ).all()
        self.grids: dict[str, int] = {name: grid_id for grid_id, _, name in grids}
        self.grids.update({code: grid_id for grid_id, code, _ in grids})
        self.buildings: dict[int, dict[str, int]] = {}
        if grids:
            for building in session.scalars(
                sa.select(Area).where(Area.parent_id.in_([grid.id for grid in grids]), Area.kind == AreaKind.BUILDING)
            ):
                if building.parent_id is not None:
                    self.buildings.setdefault(building.parent_id, {})[building.name] = building.id

    def building(self, grid_id: int, label: str) -> tuple[int | None, bool]:
        """The known building called ``label`` (3, 3栋, 3号楼, 3幢), and whether the label is acceptable:
        a grid with buildings on record must name one of them."""
        known = self.buildings.get(grid_id, {})
        for name in (label, f"{label}栋", f"{label}号楼", f"{label}幢"):
            if label and name in known:
                return known[name], True
        return None, not known


def _existing_phones(session: Session, community_id: int, phones: Sequence[str]) -> set[str]:
    """Which of ``phones`` already belong to a resident of the community."""
    found: set[str] = set()
    for start in range(0, len(phones), CHUNK):
        found.update(
            phone
            for phone in session.scalars(
                sa.select(User.phone)
                .join(RoleMembership, RoleMembership.user_id == User.id)
                .where(
                    RoleMembership.area_id == community_id,
                    RoleMembership.role == Role.RESIDENT,
                    User.deleted_at.is_(None),
                    User.phone.in_(phones[start : start + CHUNK]),
                )
            )
            if phone
        )
    return found


def _validate(
    session: Session,
    community: Area,
    header: Sequence[Any],
    rows: Sequence[tuple[int, Sequence[Any]]],
    progress: Progress | None,
) -> tuple[list[tuple[ResidentRow, int, int | None]], list[Problem]]:
    records, problems = read_records(header, rows, RESIDENT_FIELDS, parse_resident, progress)
    places = Places(session, community)
    taken = _existing_phones(session, community.id, [record.phone for record in records])
    placed: list[tuple[ResidentRow, int, int | None]] = []
    for record in records:
        if record.phone in taken:
            problems.append(Problem(record.row, "手机号", "该手机号已是本社区登记的居民"))
            continue
        grid_id = places.grids.get(record.grid)
        if grid_id is None:
            problems.append(Problem(record.row, "网格", f"本社区没有网格“{record.grid}”"))
            continue
        building_id, known = places.building(grid_id, record.building)
        if not known:
            problems.append(Problem(record.row, "楼栋", f"网格“{record.grid}”没有楼栋“{record.building}”"))
            continue
        placed.append((record, grid_id, building_id))
    return placed, problems


def _write(session: Session, community: Area, placed: Sequence[tuple[ResidentRow, int, int | None]]) -> None:
    now = now_utc()
    for start in range(0, len(placed), CHUNK):
        chunk = placed[start : start + CHUNK]
        ids = session.scalars(
            sa.insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {"openid": None, "nickname": record.name, "phone": record.phone, "imported_at": now}
                for record, _, _ in chunk
            ],
        ).all()
        session.execute(
            sa.insert(Household),
            [
                {
                    "user_id": user_id,
                    "community_id": community.id,
                    "grid_id": grid_id,
                    "building_id": building_id,
                    "building": record.building,
                    "unit": record.unit,
                    "room": record.room,
                    "note": record.note,
                    # Listed by the community's own staff: the address is as checked as it gets.
                    "verified": True,
                }
                for user_id, (record, grid_id, building_id) in zip(ids, chunk, strict=True)
            ],
        )
        session.execute(
            sa.insert(RoleMembership),
            [{"user_id": user_id, "role": Role.RESIDENT, "area_id": community.id} for user_id in ids],
        )


def import_resident_rows(
    session: Session,
    community: Area,
    header: Sequence[Any],
    rows: Sequence[tuple[int, Sequence[Any]]],
    *,
    progress: Progress | None = None,
) -> ImportOut:
    """Helper (flushes only): validate every row, then write them all, or raise ImportRejectedError."""
    checked = _validate(session, community, header, rows, progress)
    return all_or_none(checked, lambda placed: _write(session, community, placed))


def import_residents(rt: Runtime, actor: Actor, community_code: str, stream: IO[bytes]) -> ImportOut:
    """The community's secretary: import the residents sheet, all rows or none (errors as
    :func:`~app.community.imports.runner.import_as_secretary`)."""
    return import_as_secretary(rt, actor, community_code, stream, import_resident_rows, refusal=_ONLY_SECRETARY)


def import_residents_file(
    rt: Runtime, community_code: str, stream: IO[bytes], *, progress: Callable[[int], Progress] | None = None
) -> ImportOut:
    """Operators (CLI): the same import with no caller to check."""
    return import_as_operator(rt, community_code, stream, import_resident_rows, progress=progress)
