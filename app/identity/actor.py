"""Who is acting (Actor) and what areas their roles cover; the base of every permission check."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from app.areas.models import Area, AreaKind
from app.core.errors import ForbiddenError, UnauthenticatedError
from app.identity.models import RoleMembership, User
from app.identity.roles import Role


@dataclass(frozen=True, slots=True)
class Membership:
    """One role of the actor, with the communities it covers (a street role covers all of them)."""

    role: Role
    area_id: int
    area_code: str
    area_kind: AreaKind
    communities: frozenset[int]


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller, as services see them: plain values, no session attached."""

    user_id: int
    openid: str
    memberships: tuple[Membership, ...]

    def has_role(self, *roles: Role) -> bool:
        return any(m.role in roles for m in self.memberships)

    def communities_as(self, *roles: Role) -> frozenset[int]:
        """Community ids in which the actor holds any of ``roles``."""
        covered: set[int] = set()
        for membership in self.memberships:
            if membership.role in roles:
                covered |= membership.communities
        return frozenset(covered)

    def require(self, community_id: int, *roles: Role) -> None:
        """Raise ForbiddenError unless the actor holds one of ``roles`` in ``community_id``."""
        if community_id not in self.communities_as(*roles):
            raise ForbiddenError()


def load_actor(session: Session, user: User) -> Actor:
    """Build the Actor for ``user`` with two queries, whatever the number of roles."""
    rows = session.execute(
        sa.select(RoleMembership.role, Area.id, Area.code, Area.kind, Area.community_id)
        .join(Area, Area.id == RoleMembership.area_id)
        .where(RoleMembership.user_id == user.id)
        .order_by(RoleMembership.id)
    ).all()
    street_ids = [area_id for _role, area_id, _code, kind, _cid in rows if kind is AreaKind.STREET]
    by_street: dict[int, set[int]] = {street_id: set() for street_id in street_ids}
    if street_ids:
        for community_id, parent_id in session.execute(
            sa.select(Area.id, Area.parent_id).where(Area.kind == AreaKind.COMMUNITY, Area.parent_id.in_(street_ids))
        ):
            if parent_id is not None:
                by_street[parent_id].add(community_id)
    memberships = tuple(
        Membership(
            role=role,
            area_id=area_id,
            area_code=code,
            area_kind=kind,
            communities=frozenset(
                by_street[area_id] if kind is AreaKind.STREET else {community_id} if community_id is not None else ()
            ),
        )
        for role, area_id, code, kind, community_id in rows
    )
    return Actor(user_id=user.id, openid=user.openid, memberships=memberships)


def load_user(session: Session, user_id: int) -> User:
    """The user with roles, areas and household loaded; UnauthenticatedError if gone."""
    user = session.scalar(
        sa.select(User)
        .where(User.id == user_id)
        .options(selectinload(User.memberships).selectinload(RoleMembership.area), selectinload(User.household))
    )
    if user is None:
        raise UnauthenticatedError("账号不存在，请重新登录")
    return user
