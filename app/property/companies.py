"""Property companies serving a community, with the users who act for them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.areas.models import AreaKind
from app.areas.tree import get_area
from app.identity.grants import grant_role
from app.identity.roles import Role
from app.property.models import PropertyCompany, PropertyCompanyStaff


def add_property_company(session: Session, community_code: str, name: str, staff_openids: list[str]) -> PropertyCompany:
    """A property company serving a community, with the users who act for it (flush only)."""
    community = get_area(session, community_code, kinds=[AreaKind.COMMUNITY])
    company = PropertyCompany(community_id=community.id, name=name)
    session.add(company)
    session.flush()
    for openid in staff_openids:
        user = grant_role(session, openid, Role.PROPERTY_COMPANY, community_code)
        session.add(PropertyCompanyStaff(company_id=company.id, user_id=user.id))
    session.flush()
    return company
