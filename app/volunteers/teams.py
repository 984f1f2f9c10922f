"""Volunteer teams (志愿服务队) and their members."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import AreaKind
from app.areas.tree import get_area
from app.core.errors import InvalidInputError
from app.identity.models import User
from app.runtime import Runtime
from app.volunteers.models import Team, TeamMember


def add_team(rt: Runtime, community_code: str, name: str, member_openids: list[str]) -> Team:
    """Operators (CLI, demo): a volunteer team of existing users. Raises NotFoundError (unknown
    community), InvalidInputError (unknown member)."""
    with rt.db.write() as session:
        return create_team(session, community_code, name, member_openids)


def create_team(session: Session, community_code: str, name: str, member_openids: list[str]) -> Team:
    """Helper (flushes only): :func:`add_team` inside the caller's unit of work."""
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
