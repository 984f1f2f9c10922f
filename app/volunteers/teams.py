"""Volunteer teams (志愿服务队) and their members: set up by operators (CLI, demo) and by the
community's secretary (API); listed for the community's staff, who dispatch to them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind
from app.areas.tree import get_area
from app.core.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor, community_for
from app.identity.models import RoleMembership, User
from app.identity.roles import Role
from app.identity.shapes import AreaRef, area_ref, display_name
from app.runtime import Runtime
from app.volunteers.models import Team, TeamMember
from app.volunteers.shapes import PersonRef, TeamOut, TeamPage

#: The longest team name (the column's length).
NAME_MAX = 64
#: Who sees a community's teams (they dispatch to them, or oversee those who do).
READERS = (Role.SECRETARY, Role.GRID_WORKER, Role.STREET_ADMIN)
_ONLY_STAFF = "只有社区工作人员可以查看服务队"
_ONLY_SECRETARY = "只有社区书记可以管理服务队"
_NO_TEAM = "找不到该服务队"


# -- operators (CLI, demo data): by codes and openids, no caller to check -------------------------


def add_team(
    rt: Runtime,
    community_code: str,
    name: str,
    *,
    leader_openid: str | None = None,
    member_openids: Sequence[str] = (),
) -> Team:
    """Operators (CLI): a volunteer team of the community's volunteers, the leader among its members.
    Raises NotFoundError (unknown community), InvalidInputError (a name too long, a user who is
    not a volunteer there), ConflictError (the name is taken in that community)."""
    with rt.db.write() as session:
        return create_team(session, community_code, name, member_openids, leader_openid=leader_openid)


def create_team(
    session: Session,
    community_code: str,
    name: str,
    member_openids: Sequence[str] = (),
    *,
    leader_openid: str | None = None,
) -> Team:
    """Helper (flushes only): :func:`add_team` inside the caller's unit of work."""
    community = get_area(session, community_code, kinds=[AreaKind.COMMUNITY])
    leader_id = _volunteer_by_openid(session, leader_openid, community.id) if leader_openid else None
    team = _new_team(session, community.id, name, leader_id)
    for openid in member_openids:
        _join(session, team.id, _volunteer_by_openid(session, openid, community.id))
    return team


def add_team_member(rt: Runtime, team_id: int, openid: str) -> Team:
    """Operators (CLI): ``openid``, a volunteer of the team's community, joins the team (once,
    however often it is asked). Raises NotFoundError (no such team), InvalidInputError."""
    with rt.db.write() as session:
        team = session.get(Team, team_id)
        if team is None:
            raise NotFoundError(_NO_TEAM, details={"team_id": team_id})
        _join(session, team.id, _volunteer_by_openid(session, openid, team.community_id))
        return team


def make_leader_by_openid(rt: Runtime, team_id: int, openid: str) -> Team:
    """Operators (CLI): ``openid``, a member of the team, becomes its leader. Raises NotFoundError
    (no such team), InvalidInputError (not a member, or not a volunteer there)."""
    with rt.db.write() as session:
        team = session.get(Team, team_id)
        if team is None:
            raise NotFoundError(_NO_TEAM, details={"team_id": team_id})
        _lead(session, team, _volunteer_by_openid(session, openid, team.community_id), "openid")
        return team


# -- the API: the community's staff read, its secretary writes --------------------------------------


def list_teams(rt: Runtime, actor: Actor, community: str, *, limit: int, cursor: str | None) -> TeamPage:
    """Secretary, grid worker (of any of its grids) or street admin of the community: its teams,
    oldest first, each with its leader and how many members it has; one statement for the page.
    Raises ForbiddenError (not staff anywhere), NotFoundError (unknown or another community)."""
    after = decode_cursor(cursor)
    with rt.db.read() as session:
        area = community_for(session, actor, community, *READERS, refusal=_ONLY_STAFF)
        statement = _teams_with_counts().where(Team.community_id == area.id).order_by(Team.id).limit(limit + 1)
        if after is not None:
            statement = statement.where(Team.id > after)
        rows = session.execute(statement).all()
    page = rows[:limit]
    place = area_ref(area)
    return TeamPage(
        items=[_out(row, place) for row in page],
        next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None,
    )


def register_team(rt: Runtime, actor: Actor, *, community: str, name: str, leader_id: int | None) -> TeamOut:
    """The community's secretary: a new team, its leader (a volunteer of the community) its first
    member. Raises ForbiddenError, NotFoundError, InvalidInputError (``leader_id`` is not a
    volunteer of the community), ConflictError (a team of that name exists there)."""
    with rt.db.write() as session:
        area = community_for(session, actor, community, Role.SECRETARY, refusal=_ONLY_SECRETARY)
        if leader_id is not None:
            _require_volunteer(session, leader_id, area.id, "leader_id")
        team = _new_team(session, area.id, name, leader_id)
        return _team_out(session, team)


def add_member(rt: Runtime, actor: Actor, team_id: int, volunteer_id: int) -> TeamOut:
    """The secretary of the team's community: the volunteer joins the team. Already a member: the
    same answer, nothing written (a retried tap is not an error). Raises ForbiddenError,
    NotFoundError (no such team, or another community's), InvalidInputError (``volunteer_id`` is
    not a volunteer of the team's community)."""
    with rt.db.write() as session:
        team = _managed_team(session, actor, team_id)
        _require_volunteer(session, volunteer_id, team.community_id, "volunteer_id")
        _join(session, team.id, volunteer_id)
        return _team_out(session, team)


def set_leader(rt: Runtime, actor: Actor, team_id: int, volunteer_id: int) -> TeamOut:
    """The secretary of the team's community: one of the team's members becomes its leader (the
    previous one stays a member). Raises ForbiddenError, NotFoundError (no such team, or another
    community's), InvalidInputError (``volunteer_id`` is not a member of the team)."""
    with rt.db.write() as session:
        team = _managed_team(session, actor, team_id)
        _lead(session, team, volunteer_id, "volunteer_id")
        return _team_out(session, team)


def remove_member(rt: Runtime, actor: Actor, team_id: int, volunteer_id: int) -> None:
    """The secretary of the team's community: the volunteer leaves the team (nothing to do if they
    were not in it). A leader who leaves is no longer its leader. Raises ForbiddenError,
    NotFoundError (no such team, or another community's)."""
    with rt.db.write() as session:
        team = _managed_team(session, actor, team_id)
        session.execute(sa.delete(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == volunteer_id))
        if team.leader_id == volunteer_id:
            team.leader_id = None
        session.flush()


# -- helpers --------------------------------------------------------------------------------------


def _managed_team(session: Session, actor: Actor, team_id: int) -> Team:
    """The team, for the secretary of its community. The role is judged before the team is looked
    at, so neither the 403 nor the 404 tells whether the team exists."""
    if not actor.communities_as(Role.SECRETARY):
        raise ForbiddenError(_ONLY_SECRETARY)
    team = session.get(Team, team_id)
    if team is None or team.community_id not in actor.communities_as(Role.SECRETARY):
        raise NotFoundError(_NO_TEAM)
    return team


def _new_team(session: Session, community_id: int, name: str, leader_id: int | None) -> Team:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInputError(
            f"服务队名称须为 1–{NAME_MAX} 个字", details={"fields": [{"field": "name", "problem": "length"}]}
        )
    taken = session.scalar(sa.select(Team.id).where(Team.community_id == community_id, Team.name == name))
    if taken is not None:
        raise _name_taken(name)
    team = Team(community_id=community_id, name=name, leader_id=leader_id)
    session.add(team)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        # Two secretaries creating the same name at once: the unique constraint decides, and the
        # loser hears what the check above would have told them (the caller's unit of work rolls back).
        raise _name_taken(name) from None
    if leader_id is not None:
        _join(session, team.id, leader_id)  # a leader who could not accept the team's orders would be odd
    return team


def _lead(session: Session, team: Team, user_id: int, field: str) -> None:
    """Only a member leads: a leader who could not accept the team's orders would be odd."""
    if session.get(TeamMember, (team.id, user_id)) is None:
        raise InvalidInputError(
            "队长须是本服务队的队员", details={"fields": [{"field": field, "problem": "not a member"}]}
        )
    team.leader_id = user_id
    session.flush()


def _name_taken(name: str) -> ConflictError:
    return ConflictError(
        f"本社区已有名为「{name}」的服务队", details={"fields": [{"field": "name", "problem": "taken"}]}
    )


def _join(session: Session, team_id: int, user_id: int) -> None:
    if session.get(TeamMember, (team_id, user_id)) is None:
        session.add(TeamMember(team_id=team_id, user_id=user_id))
        session.flush()


def _is_volunteer(session: Session, user_id: int, community_id: int) -> bool:
    return (
        session.scalar(
            sa.select(RoleMembership.id).where(
                RoleMembership.user_id == user_id,
                RoleMembership.role == Role.VOLUNTEER,
                RoleMembership.area_id == community_id,
            )
        )
        is not None
    )


def _require_volunteer(session: Session, user_id: int, community_id: int, field: str) -> None:
    if not _is_volunteer(session, user_id, community_id):
        raise InvalidInputError(
            "该用户不是本社区的志愿者", details={"fields": [{"field": field, "problem": "not a volunteer here"}]}
        )


def _volunteer_by_openid(session: Session, openid: str, community_id: int) -> int:
    user_id = session.scalar(sa.select(User.id).where(User.openid == openid))
    if user_id is None or not _is_volunteer(session, user_id, community_id):
        raise InvalidInputError(f"用户 {openid} 不存在或不是本社区的志愿者", details={"openid": openid})
    return user_id


def _teams_with_counts() -> sa.Select[Any]:
    """Teams with their leader's nickname and their member count, counted per team by the
    database (the members' primary key), so a page is one statement whatever the teams hold."""
    members = (
        sa.select(sa.func.count())
        .select_from(TeamMember)
        .where(TeamMember.team_id == Team.id)
        .correlate(Team)
        .scalar_subquery()
    )
    return sa.select(
        Team.id,
        Team.name,
        Team.leader_id,
        Team.created_at,
        User.nickname.label("leader_nickname"),
        members.label("member_count"),
    ).outerjoin(User, User.id == Team.leader_id)


def _out(row: sa.Row[Any], community: AreaRef, members: list[PersonRef] | None = None) -> TeamOut:
    leader = (
        PersonRef(id=row.leader_id, name=display_name(row.leader_id, row.leader_nickname))
        if row.leader_id is not None
        else None
    )
    return TeamOut(
        id=row.id,
        community=community,
        name=row.name,
        leader=leader,
        member_count=int(row.member_count),
        members=members,
        created_at=row.created_at,
    )


def _team_out(session: Session, team: Team) -> TeamOut:
    """One team as the write endpoints answer it: with every member."""
    session.flush()
    row = session.execute(_teams_with_counts().where(Team.id == team.id)).one()
    members = session.execute(
        sa.select(User.id, User.nickname)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team.id)
        .order_by(User.id)
    ).all()
    community = session.get_one(Area, team.community_id)
    return _out(row, area_ref(community), [PersonRef(id=m.id, name=display_name(m.id, m.nickname)) for m in members])


def leave_teams(session: Session, user_id: int) -> None:
    """Helper (flushes only): the user is in no team any more and leads none (account deletion)."""
    session.execute(sa.delete(TeamMember).where(TeamMember.user_id == user_id))
    session.execute(
        sa.update(Team)
        .where(Team.leader_id == user_id)
        .values(leader_id=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
