"""Where a resident lives: placing the household, and staff verifying it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind
from app.areas.tree import get_area
from app.audit.models import AuditKind
from app.audit.record import record
from app.core.errors import ForbiddenError, InvalidInputError, NotFoundError
from app.identity.actor import Actor, load_user
from app.identity.models import Household, RoleMembership
from app.identity.roles import STAFF_ROLES, Role
from app.identity.shapes import HouseholdOut, area_ref
from app.runtime import Runtime


def household_out(household: Household) -> HouseholdOut:
    """The API shape of a household (its community and grid are loaded on access)."""
    return HouseholdOut(
        community=area_ref(household.community),
        grid=area_ref(household.grid) if household.grid else None,
        building=household.building,
        unit=household.unit,
        room=household.room,
        verified=household.verified,
    )


def _match_building(session: Session, grid: Area, label: str) -> Area | None:
    """The known building under ``grid`` that residents call ``label`` ("3" for 3栋 / 3号楼)."""
    if not label:
        return None
    names = {label, f"{label}栋", f"{label}号楼", f"{label}幢"}
    return session.scalar(
        sa.select(Area).where(Area.parent_id == grid.id, Area.kind == AreaKind.BUILDING, Area.name.in_(names))
    )


def place_household(
    session: Session, user_id: int, *, community: str, grid: str | None, building: str, unit: str, room: str
) -> None:
    """Helper for a use case (flushes only): the user lives here now and is a resident of that
    community, unverified. Raises NotFoundError / InvalidInputError for unknown or mismatched areas."""
    community_area = get_area(session, community, kinds=[AreaKind.COMMUNITY])
    grid_area = None
    if grid:
        grid_area = get_area(session, grid, kinds=[AreaKind.GRID])
        if grid_area.parent_id != community_area.id:
            raise InvalidInputError("网格不属于该社区", details={"grid": grid})
        if grid_area.retired:
            raise InvalidInputError("该网格已停用", details={"grid": grid})
    known_building = _match_building(session, grid_area, building) if grid_area else None
    user = load_user(session, user_id)
    household = user.household or Household(user_id=user.id, community_id=community_area.id)
    if household.community_id != community_area.id:
        # Moving out: the resident role follows the household to the new community.
        session.execute(
            sa.delete(RoleMembership).where(
                RoleMembership.user_id == user.id,
                RoleMembership.role == Role.RESIDENT,
                RoleMembership.area_id == household.community_id,
            )
        )
    household.community_id = community_area.id
    household.grid_id = grid_area.id if grid_area else None
    household.building_id = known_building.id if known_building else None
    household.building, household.unit, household.room = building, unit, room
    household.verified = False  # a changed address must be checked again
    session.add(household)
    already = session.scalar(
        sa.select(RoleMembership.id).where(
            RoleMembership.user_id == user.id,
            RoleMembership.role == Role.RESIDENT,
            RoleMembership.area_id == community_area.id,
        )
    )
    if already is None:
        session.add(RoleMembership(user_id=user.id, role=Role.RESIDENT, area_id=community_area.id))
    session.flush()


def verify_household(rt: Runtime, actor: Actor, user_id: int) -> HouseholdOut:
    """Community staff (secretary, grid worker, street admin): mark a resident's address as checked.

    Raises NotFoundError for an unknown user, one without a household, or one of another
    community (never revealed), ForbiddenError for a resident or volunteer.
    """
    staff_of = actor.communities_as(*STAFF_ROLES)
    if not staff_of:
        raise ForbiddenError("只有社区工作人员可以核实住址")
    with rt.db.write() as session:
        household = session.scalar(sa.select(Household).where(Household.user_id == user_id))
        # A grid worker verifies the households of their own grid only (Actor.covers).
        if household is None or not actor.covers(household.community_id, household.grid_id, *STAFF_ROLES):
            raise NotFoundError("找不到该住户")
        if not household.verified:
            household.verified = True
            record(
                session,
                AuditKind.HOUSEHOLD_VERIFIED,
                area_id=household.community_id,
                actor_id=actor.user_id,
                subject_id=household.user_id,
            )
        session.flush()
        return household_out(household)
