"""Who holds a staff role where: the recipients of secretaries' and street admins' messages."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.identity.models import RoleMembership, User


def community_staff(session: Session, community_id: int, *roles: str) -> list[User]:
    """Users holding any of ``roles`` in the community itself (not its grids)."""
    return list(
        session.scalars(
            sa.select(User)
            .join(RoleMembership, RoleMembership.user_id == User.id)
            .where(RoleMembership.area_id == community_id, RoleMembership.role.in_(roles))
            .order_by(User.id)
            .distinct()
        )
    )
