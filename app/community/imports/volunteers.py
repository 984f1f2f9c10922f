"""Importing a community's volunteers from Excel: each row becomes a volunteer of the community
with skills, a registry entry (技能特长信息库: capacity, party member, 双报到) and team memberships.

A phone nobody has yet makes a user without an openid, taken over on their first login that binds
the same phone (app/identity/takeover.py moves every row that points at them); with a 网格, they
get a household of that grid alone, which the ranking reads as where they live. A phone of one
existing user (a resident, a WeChat user, an imported person) gives that user the volunteer role
and adds the sheet's skills and teams; a registry entry and an address they already have are
theirs and are kept.
A phone already a volunteer of the community is an error, as for residents: an import never
updates a volunteer. All rows or none, in one transaction, written with multi-row INSERTs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, Skill
from app.community.imports.residents import Places
from app.community.imports.rows import Problem
from app.community.imports.runner import (
    CHUNK,
    ImportOut,
    Progress,
    all_or_none,
    import_as_operator,
    import_as_secretary,
    read_records,
)
from app.community.imports.volunteer_rows import VOLUNTEER_FIELDS, VolunteerRow, parse_volunteer
from app.core.clock import now_utc
from app.identity.actor import Actor
from app.identity.models import Household, RoleMembership, User
from app.identity.roles import Role
from app.runtime import Runtime
from app.volunteers.models import Team, TeamMember, UserSkill, VolunteerProfile

_ONLY_SECRETARY = "只有社区书记可以导入志愿者"


@dataclass(frozen=True)
class _Placed:
    record: VolunteerRow
    #: The existing user of that phone, or None for a new imported person.
    user_id: int | None
    skills: tuple[str, ...]
    team_ids: tuple[int, ...]
    grid_id: int | None


class _Catalogue:
    """The community's active skills (by code and by name) and its teams (by name)."""

    def __init__(self, session: Session, community: Area) -> None:
        skills = session.execute(
            sa.select(Skill.code, Skill.name).where(Skill.community_id == community.id, Skill.active.is_(True))
        ).all()
        self.skills = {name: code for code, name in skills} | {code: code for code, _ in skills}
        teams = session.execute(sa.select(Team.name, Team.id).where(Team.community_id == community.id))
        self.teams: dict[str, int] = {row[0]: row[1] for row in teams}


def _in_chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return (values[start : start + CHUNK] for start in range(0, len(values), CHUNK))


def _people_by_phone(
    session: Session, community_id: int, phones: Sequence[str]
) -> tuple[dict[str, list[int]], set[int]]:
    """The users (not deleted) of each phone, and which of them volunteer in the community."""
    users: dict[str, list[int]] = {}
    for chunk in _in_chunks(phones):
        for user_id, phone in session.execute(
            sa.select(User.id, User.phone).where(User.deleted_at.is_(None), User.phone.in_(chunk)).order_by(User.id)
        ):
            users.setdefault(phone or "", []).append(user_id)
    ids = [user_id for found in users.values() for user_id in found]
    volunteers: set[int] = set()
    for chunk in _in_chunks(ids):
        volunteers.update(
            session.scalars(
                sa.select(RoleMembership.user_id).where(
                    RoleMembership.area_id == community_id,
                    RoleMembership.role == Role.VOLUNTEER,
                    RoleMembership.user_id.in_(chunk),
                )
            )
        )
    return users, volunteers


def _place(record: VolunteerRow, catalogue: _Catalogue, places: Places, problems: list[Problem]) -> _Placed | None:
    before = len(problems)
    if record.grid and record.grid not in places.grids:
        problems.append(Problem(record.row, "网格", f"本社区没有网格“{record.grid}”"))
    unknown = [name for name in record.skills if name not in catalogue.skills]
    if unknown:
        problems.append(Problem(record.row, "技能", f"本社区的技能库中没有：{'、'.join(unknown)}"))
    missing = [name for name in record.teams if name not in catalogue.teams]
    if missing:
        problems.append(Problem(record.row, "服务队", f"本社区没有服务队：{'、'.join(missing)}"))
    if len(problems) > before:
        return None
    skills = tuple(dict.fromkeys(catalogue.skills[name] for name in record.skills))
    teams = tuple(catalogue.teams[name] for name in record.teams)
    return _Placed(record, None, skills, teams, places.grids.get(record.grid) if record.grid else None)


def _validate(
    session: Session,
    community: Area,
    header: Sequence[Any],
    rows: Sequence[tuple[int, Sequence[Any]]],
    progress: Progress | None,
) -> tuple[list[_Placed], list[Problem]]:
    records, problems = read_records(header, rows, VOLUNTEER_FIELDS, parse_volunteer, progress)
    catalogue, places = _Catalogue(session, community), Places(session, community)
    users, volunteers = _people_by_phone(session, community.id, [record.phone for record in records])
    placed: list[_Placed] = []
    for record in records:
        found = users.get(record.phone, [])
        if volunteers.intersection(found):
            problems.append(Problem(record.row, "手机号", "该手机号已是本社区的志愿者"))
        elif len(found) > 1:
            problems.append(Problem(record.row, "手机号", "该手机号属于多位用户，无法确定是哪一位"))
        entry = _place(record, catalogue, places, problems)
        if entry is not None and len(found) <= 1 and not volunteers.intersection(found):
            placed.append(dataclasses.replace(entry, user_id=found[0] if found else None))
    return placed, problems


def _existing(session: Session, column: Any, key: Any, user_ids: Sequence[int]) -> set[tuple[int, Any]]:
    """(user id, ``key``) pairs already on record for ``user_ids``."""
    pairs: set[tuple[int, Any]] = set()
    for chunk in _in_chunks(user_ids):
        pairs.update(
            (user_id, value) for user_id, value in session.execute(sa.select(column, key).where(column.in_(chunk)))
        )
    return pairs


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for chunk in _in_chunks(rows):
        session.execute(sa.insert(table), list(chunk))


def _skills(entry: _Placed) -> tuple[str, ...]:
    return entry.skills


def _teams(entry: _Placed) -> tuple[int, ...]:
    return entry.team_ids


def _write(session: Session, community: Area, placed: Sequence[_Placed]) -> None:
    now = now_utc()
    new = [entry for entry in placed if entry.user_id is None]
    ids: dict[int, int] = {entry.record.row: entry.user_id for entry in placed if entry.user_id is not None}
    for chunk in _in_chunks(new):
        made = session.scalars(
            sa.insert(User).returning(User.id, sort_by_parameter_order=True),
            [{"openid": None, "nickname": e.record.name, "phone": e.record.phone, "imported_at": now} for e in chunk],
        ).all()
        ids.update((entry.record.row, user_id) for entry, user_id in zip(chunk, made, strict=True))
    # The grid of someone new is where the ranking looks for "lives in the order's grid" (their
    # household, the grid alone); an existing user's address is theirs to give and is not touched.
    _insert(
        session,
        Household,
        [
            {"user_id": ids[e.record.row], "community_id": community.id, "grid_id": e.grid_id}
            for e in new
            if e.grid_id is not None
        ],
    )
    existing = [entry.user_id for entry in placed if entry.user_id is not None]
    profiled = {user_id for user_id, _ in _existing(session, VolunteerProfile.user_id, sa.true(), existing)}
    _insert(
        session,
        RoleMembership,
        [{"user_id": ids[e.record.row], "role": Role.VOLUNTEER, "area_id": community.id} for e in placed],
    )
    # Skills and teams an existing user has already are not added twice.
    for table, column, wanted in ((UserSkill, "skill", _skills), (TeamMember, "team_id", _teams)):
        had = _existing(session, table.user_id, getattr(table, column), existing)
        pairs = {(ids[e.record.row], value) for e in placed for value in wanted(e)} - had
        _insert(session, table, [{"user_id": user_id, column: value} for user_id, value in sorted(pairs)])
    _insert(
        session,
        VolunteerProfile,
        [
            {
                "user_id": ids[e.record.row],
                "max_active": e.record.max_active,
                "party_member": e.record.party_member,
                "in_service": e.record.employer_unit is not None,
                "employer_unit": e.record.employer_unit,
                "unit_hours": e.record.unit_hours,
            }
            for e in placed
            if ids[e.record.row] not in profiled
        ],
    )


def import_volunteer_rows(
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


def import_volunteers(rt: Runtime, actor: Actor, community_code: str, stream: IO[bytes]) -> ImportOut:
    """The community's secretary: import the volunteers sheet, all rows or none (errors as
    :func:`~app.community.imports.runner.import_as_secretary`)."""
    return import_as_secretary(rt, actor, community_code, stream, import_volunteer_rows, refusal=_ONLY_SECRETARY)


def import_volunteers_file(
    rt: Runtime, community_code: str, stream: IO[bytes], *, progress: Callable[[int], Progress] | None = None
) -> ImportOut:
    """Operators (CLI): the same import with no caller to check."""
    return import_as_operator(rt, community_code, stream, import_volunteer_rows, progress=progress)
