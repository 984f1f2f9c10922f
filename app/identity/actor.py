"""Who is acting (Actor) and what areas their roles cover; the base of every permission check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, selectinload

from app.areas.models import Area, AreaKind
from app.core.errors import ForbiddenError, NotFoundError, UnauthenticatedError
from app.identity.models import RevokedToken, RoleMembership, User
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

    def covers(self, community_id: int, grid_id: int | None, *roles: Role) -> bool:
        """The actor acts, in one of ``roles``, on what lies in ``community_id`` and ``grid_id``
        (an order, a household): the one rule of who works where.

        A role held for a community or a street covers all of it. A grid worker's role held for a
        grid covers that grid, and what has no grid yet (a new household, an order posted without
        one), so that somebody near sees it; not the community's other grids."""
        for membership in self.memberships:
            if membership.role not in roles or community_id not in membership.communities:
                continue
            if membership.area_kind is not AreaKind.GRID or grid_id in (None, membership.area_id):
                return True
        return False

    def grids_as(self, community_id: int, *roles: Role) -> frozenset[int] | None:
        """The grids of ``community_id`` the actor covers in ``roles``: None for all of them (a
        community-wide role), else the ids of the grids their roles are held for."""
        grids: set[int] = set()
        for membership in self.memberships:
            if membership.role not in roles or community_id not in membership.communities:
                continue
            if membership.area_kind is not AreaKind.GRID:
                return None
            grids.add(membership.area_id)
        return frozenset(grids)

    def require(self, community_id: int, *roles: Role) -> None:
        """Raise ForbiddenError unless the actor holds one of ``roles`` in ``community_id``."""
        if community_id not in self.communities_as(*roles):
            raise ForbiddenError()


def community_for(session: Session, actor: Actor, code: str, *roles: Role, refusal: str) -> Area:
    """The community ``code`` names, for an actor who holds one of ``roles`` there: the tenancy
    convention (docs/api.md, Errors) for a community's lists and set-up.

    ForbiddenError(refusal) when the actor holds none of ``roles`` anywhere, judged before any
    query so the answer is the same whatever the code names. NotFoundError when the code names no
    community or one the actor's roles do not cover: the same 404, so nobody learns that another
    tenant's community exists."""
    communities = actor.communities_as(*roles)
    if not communities:
        raise ForbiddenError(refusal)
    area = session.scalar(sa.select(Area).where(Area.code == code, Area.kind == AreaKind.COMMUNITY))
    if area is None or area.id not in communities:
        raise NotFoundError(f"找不到社区 {code}")
    return area


def _actor_query() -> Any:
    community = aliased(Area)
    return (
        sa.select(
            User.openid,
            User.token_generation,
            # Logging out of one device recorded the token's id: a primary-key probe, uncorrelated,
            # so the database runs it once per statement, not per row. NULL (a token without an id,
            # or no token) matches nothing.
            sa.exists().where(RevokedToken.jti == sa.bindparam("token_id", type_=sa.String())).label("token_revoked"),
            RoleMembership.id.label("membership_id"),
            RoleMembership.role,
            Area.id.label("area_id"),
            Area.code,
            Area.kind,
            Area.community_id,
            community.id.label("street_community_id"),
        )
        .select_from(User)
        .outerjoin(RoleMembership, RoleMembership.user_id == User.id)
        .outerjoin(Area, Area.id == RoleMembership.area_id)
        .outerjoin(
            community,
            sa.and_(Area.kind == AreaKind.STREET, community.parent_id == Area.id, community.kind == AreaKind.COMMUNITY),
        )
        .where(User.id == sa.bindparam("user_id"))
        .order_by(RoleMembership.id, community.id)
    )


#: Built once: every request runs it, and building it costs more CPU than running it.
_ACTOR_ROWS = _actor_query()


def _actor_rows(session: Session, user_id: int, token_id: str | None = None) -> list[sa.Row[Any]]:
    """One statement: the user, each role with its area, and for a street role the street's
    communities (one row per community), with whether ``token_id`` was revoked. A user with no role
    gives one row of NULL roles."""
    return list(session.execute(_ACTOR_ROWS, {"user_id": user_id, "token_id": token_id}))


def _actor(user_id: int, rows: list[sa.Row[Any]]) -> Actor:
    memberships: dict[int, Membership] = {}
    for row in rows:
        if row.membership_id is None:
            continue
        known = memberships.get(row.membership_id)
        if row.kind is AreaKind.STREET:
            street = frozenset({row.street_community_id} if row.street_community_id is not None else ())
            covered = street if known is None else known.communities | street
        else:
            covered = frozenset({row.community_id} if row.community_id is not None else ())
        memberships[row.membership_id] = Membership(
            role=row.role, area_id=row.area_id, area_code=row.code, area_kind=row.kind, communities=covered
        )
    return Actor(user_id=user_id, openid=rows[0].openid or "", memberships=tuple(memberships.values()))


def load_actor(session: Session, user: User) -> Actor:
    """The Actor for ``user``: one statement, whatever the number of roles."""
    return _actor(user.id, _actor_rows(session, user.id))


def actor_by_id(session: Session, user_id: int) -> Actor | None:
    """The Actor of ``user_id`` with the roles held now, in one statement; None if the user is gone.
    For a check made on someone's behalf with no token of theirs at hand (a photo link)."""
    rows = _actor_rows(session, user_id)
    return _actor(user_id, rows) if rows else None


def actor_for_token(session: Session, user_id: int, generation: int, token_id: str | None = None) -> Actor | None:
    """The Actor a token names, in one statement; None if the user is gone or the token was revoked:
    all of the user's at once (its generation is not the user's current one), or this one alone
    (its ``token_id`` is in ``revoked_tokens``)."""
    rows = _actor_rows(session, user_id, token_id)
    if not rows or rows[0].token_generation != generation or rows[0].token_revoked:
        return None
    return _actor(user_id, rows)


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
