"""Property companies serving a community, with the users who act for them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import AreaKind
from app.areas.tree import get_area
from app.identity.grants import assign_role
from app.identity.roles import Role
from app.property.models import PropertyCompany, PropertyCompanyStaff
from app.runtime import Runtime


def add_property_company(rt: Runtime, community_code: str, name: str, staff_openids: list[str]) -> PropertyCompany:
    """Operators (CLI, demo): a property company serving a community, with the users who act for
    it. Raises NotFoundError for an unknown community."""
    with rt.db.write() as session:
        return create_property_company(session, community_code, name, staff_openids)


def create_property_company(
    session: Session, community_code: str, name: str, staff_openids: list[str]
) -> PropertyCompany:
    """Helper (flushes only): :func:`add_property_company` inside the caller's unit of work."""
    community = get_area(session, community_code, kinds=[AreaKind.COMMUNITY])
    company = PropertyCompany(community_id=community.id, name=name)
    session.add(company)
    session.flush()
    for openid in staff_openids:
        user = assign_role(session, openid, Role.PROPERTY_COMPANY, community_code)
        session.add(PropertyCompanyStaff(company_id=company.id, user_id=user.id))
    session.flush()
    return company


def serves(session: Session, company_id: int, community_id: int) -> bool:
    """The company exists and serves ``community_id``."""
    company = session.get(PropertyCompany, company_id)
    return company is not None and company.community_id == community_id


def link_staff(session: Session, company_id: int, user_id: int) -> None:
    """Helper (flushes only): ``user_id`` acts for the company (once, however often it is asked)."""
    if session.get(PropertyCompanyStaff, (company_id, user_id)) is None:
        session.add(PropertyCompanyStaff(company_id=company_id, user_id=user_id))
        session.flush()


def unlink_staff_everywhere(session: Session, user_id: int) -> None:
    """Helper (flushes only): ``user_id`` acts for no property company any more (account deletion)."""
    session.execute(sa.delete(PropertyCompanyStaff).where(PropertyCompanyStaff.user_id == user_id))
    session.flush()
