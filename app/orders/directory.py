"""The volunteer picker a dispatcher uses: a community's volunteers with their skills, their teams,
the orders they hold now, their capacity, response time, rating and party-member facts, filtered
and paged.

It lives with orders because the load is counted over orders (``app.volunteers`` sits below
``app.orders`` and may not read them); the ranking for one order is ``candidates.py``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor, community_for
from app.identity.models import RoleMembership, User
from app.identity.roles import Role
from app.identity.shapes import display_name
from app.orders.candidates import ACTIVE
from app.orders.models import Order
from app.orders.shapes import RatingSummary, Ref, VolunteerOut, VolunteerPage
from app.runtime import Runtime
from app.volunteers.models import Team, TeamMember, UserSkill, VolunteerProfile, VolunteerStats
from app.volunteers.profiles import DEFAULT_MAX_ACTIVE

#: Who picks volunteers: those who dispatch (a grid worker of any of the community's grids too).
PICKERS = (Role.SECRETARY, Role.GRID_WORKER)


def list_volunteers(
    rt: Runtime,
    actor: Actor,
    community: str,
    *,
    skill: str | None = None,
    q: str | None = None,
    team_id: int | None = None,
    limit: int,
    cursor: str | None,
) -> VolunteerPage:
    """Secretary or grid worker of the community: its volunteers in the order they joined Linli,
    narrowed to those with ``skill``, whose name contains ``q`` (never a phone: staff see no full
    numbers), or who belong to the community's team ``team_id``.

    Two statements whatever the size of the community: the page (each row's load counted from
    the orders index by assignee, its rating from the running figures), then the page's skills and
    teams together. Raises ForbiddenError (not a dispatcher anywhere), NotFoundError (unknown
    community, or another one).
    """
    after = decode_cursor(cursor)
    with rt.db.read() as session:
        area = community_for(session, actor, community, *PICKERS, refusal="只有社区书记或网格员可以查看志愿者")
        statement = _page(area.id, skill=skill, q=q, team_id=team_id).limit(limit + 1)
        if after is not None:
            statement = statement.where(RoleMembership.user_id > after)
        rows = session.execute(statement).all()
        page = rows[:limit]
        skills, teams = _skills_and_teams(session, area.id, [row.user_id for row in page])
    return VolunteerPage(
        items=[
            VolunteerOut(
                id=row.user_id,
                name=display_name(row.user_id, row.nickname),
                skills=skills.get(row.user_id, []),
                teams=teams.get(row.user_id, []),
                current_load=int(row.load),
                rating=RatingSummary(
                    average=round(row.score_sum / row.rated_count, 2) if row.rated_count else None,
                    count=row.rated_count or 0,
                ),
                max_active=row.max_active or DEFAULT_MAX_ACTIVE,
                response_minutes=round(row.accept_minutes_sum / row.accepted_count, 1) if row.accepted_count else None,
                party_member=bool(row.party_member),
                in_service=bool(row.in_service),
                employer_unit=row.employer_unit,
            )
            for row in page
        ],
        next_cursor=encode_cursor(page[-1].user_id) if len(rows) > limit else None,
    )


def _page(community_id: int, *, skill: str | None, q: str | None, team_id: int | None) -> sa.Select[Any]:
    """The community's volunteers in user order, as the index (area, role, user) holds them: the
    database walks it and stops at the page's end instead of sorting 100,000 memberships."""
    member = RoleMembership
    # Counted per row of the page only (the assignee index), not over every order of the community.
    load = (
        sa.select(sa.func.count())
        .select_from(Order)
        .where(Order.assignee_id == member.user_id, Order.status.in_(ACTIVE), Order.community_id == community_id)
        .correlate(member)
        .scalar_subquery()
    )
    columns: list[Any] = [
        member.user_id,
        User.nickname,
        VolunteerStats.rated_count,
        VolunteerStats.score_sum,
        VolunteerStats.accepted_count,
        VolunteerStats.accept_minutes_sum,
        VolunteerProfile.max_active,
        VolunteerProfile.party_member,
        VolunteerProfile.in_service,
        VolunteerProfile.employer_unit,
        load.label("load"),
    ]
    statement = (
        sa.select(*columns)
        .join(User, User.id == member.user_id)
        .outerjoin(VolunteerStats, VolunteerStats.user_id == member.user_id)
        .outerjoin(VolunteerProfile, VolunteerProfile.user_id == member.user_id)
        .where(member.area_id == community_id, member.role == Role.VOLUNTEER)
        .order_by(member.user_id)
    )
    if skill:
        statement = statement.where(
            sa.exists().where(UserSkill.user_id == member.user_id, UserSkill.skill == skill).correlate(member)
        )
    if q:
        # By name only: matching phone digits would let staff probe for a number they may not see.
        statement = statement.where(User.nickname.icontains(q, autoescape=True))
    if team_id is not None:
        # Walked from the team's members (their key is team, user: already in user order), so a
        # small team is found without visiting the community's other volunteers. Only the
        # community's own teams: another community's team id lists nobody.
        statement = statement.join(
            TeamMember, sa.and_(TeamMember.user_id == member.user_id, TeamMember.team_id == team_id)
        ).where(sa.exists().where(Team.id == team_id, Team.community_id == community_id))
    return statement


def _skills_and_teams(
    session: Session, community_id: int, user_ids: list[int]
) -> tuple[dict[int, list[str]], dict[int, list[Ref]]]:
    """The skills and the community's teams of ``user_ids``, in one statement of (kind, user, id, name) rows."""
    if not user_ids:
        return {}, {}
    rows = session.execute(
        sa.union_all(
            sa.select(
                sa.literal("s").label("kind"),
                UserSkill.user_id.label("user_id"),
                sa.literal(0).label("id"),
                UserSkill.skill.label("name"),
            ).where(UserSkill.user_id.in_(user_ids)),
            sa.select(sa.literal("t"), TeamMember.user_id, Team.id, Team.name)
            .join(Team, Team.id == TeamMember.team_id)
            .where(TeamMember.user_id.in_(user_ids), Team.community_id == community_id),
        ).order_by("user_id", "kind", "id", "name")
    ).all()
    skills: dict[int, list[str]] = {}
    teams: dict[int, list[Ref]] = {}
    for kind, user_id, group_id, name in rows:
        if kind == "s":
            skills.setdefault(user_id, []).append(name)
        else:
            teams.setdefault(user_id, []).append(Ref(id=group_id, name=name))
    return skills, teams
