"""Who holds a staff role where: the recipients of secretaries' and street admins' messages."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.identity.models import RoleMembership, User

#: Built once (every order posted asks it). Users whose id is among the holders rather than a
#: join made DISTINCT: DISTINCT over every column of the users sorted whole rows to drop the
#: duplicates of a user holding two of the roles.
_COMMUNITY_STAFF = (
    sa.select(User)
    .where(
        User.id.in_(
            sa.select(RoleMembership.user_id).where(
                RoleMembership.area_id == sa.bindparam("community_id"),
                RoleMembership.role.in_(sa.bindparam("roles", expanding=True)),
            )
        )
    )
    .order_by(User.id)
)


def community_staff(session: Session, community_id: int, *roles: str) -> list[User]:
    """Users holding any of ``roles`` in the community itself (not its grids), each once."""
    return list(session.scalars(_COMMUNITY_STAFF, {"community_id": community_id, "roles": list(roles)}))
